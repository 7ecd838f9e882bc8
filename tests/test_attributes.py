"""core.attributes: skin tone (ITA, tertiles), age and pose bins, intersections, attribute discovery."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from core import attributes
from core.common._errors import DataFormatError
from core.attributes import (AGE_LABELS, POSE_BINS, POSE_ORDER, SIDE_PROFILE_DEG, SKIN_TONE_ORDER, TERTILE_ORDER,
                             age_group, attribute_values, available_attributes, categorical_columns, group_order,
                             hex_to_lab, ita_degrees, known_order, pose_bin, pose_groups, resolve_attribute,
                             skin_tone_category)


def test_hex_to_lab_matches_reference_values() -> None:
    # sRGB D65 reference values: pure red is L*=53.24, a*=80.09, b*=67.20; mid grey #808080 is L*=53.59, a*=b*=0
    assert hex_to_lab("#ff0000") == pytest.approx((53.2408, 80.0925, 67.2032), abs=1e-3)
    assert hex_to_lab("#808080") == pytest.approx((53.585, 0.0, 0.0), abs=1e-3)
    assert hex_to_lab("#000000") == (0.0, 0.0, 0.0)
    assert hex_to_lab("#ffffff")[0] == pytest.approx(100, abs=1e-3)
    assert hex_to_lab(" #FF0000 ") == hex_to_lab("#ff0000")  # case and surrounding spaces do not matter


@pytest.mark.parametrize("bad", ["red", "#fff", "ff0000", "#ff00000", ""])
def test_hex_to_lab_rejects_what_is_not_rrggbb(bad: str) -> None:
    with pytest.raises(ValueError, match=r"expected a colour '#rrggbb', received " + repr(bad)):
        hex_to_lab(bad)


def test_ita_from_its_definition() -> None:
    # greys have b* = 0, so ITA = atan2(L* - 50, 0): +90 above L* = 50, -90 below
    assert ita_degrees("#808080") == pytest.approx(90, abs=1e-3)
    assert ita_degrees("#000000") == pytest.approx(-90)
    # red: atan2(53.24 - 50, 67.20) = 2.76 degrees
    assert ita_degrees("#ff0000") == pytest.approx(math.degrees(math.atan2(3.2408, 67.2032)), abs=1e-3)
    assert ita_degrees("#5a3b2c") < -30 < ita_degrees("#c8a07d")


def test_skin_tone_categories_of_known_colours() -> None:
    assert skin_tone_category("#ffffff") == "very light"   # ITA 90
    assert skin_tone_category("#c8a07d") == "intermediate"  # ITA 38.0
    assert skin_tone_category("#ff0000") == "brown"        # ITA 2.8
    assert skin_tone_category("#3b2219") == "dark"         # ITA -71.9
    assert skin_tone_category("#000000") == "dark"         # ITA -90


@pytest.mark.parametrize("ita, expected", [
    (55.01, "very light"), (55.0, "light"), (41.01, "light"), (41.0, "intermediate"), (28.0, "tan"),
    (10.01, "tan"), (10.0, "brown"), (-29.99, "brown"), (-30.0, "dark"), (-90.0, "dark")])
def test_skin_tone_thresholds_are_upper_inclusive(monkeypatch: pytest.MonkeyPatch, ita: float,
                                                  expected: str) -> None:
    # very light > 55 >= light > 41 >= intermediate > 28 >= tan > 10 >= brown > -30 >= dark
    monkeypatch.setattr(attributes, "ita_degrees", lambda color: ita)
    assert skin_tone_category("#000000") == expected


def test_age_bins_are_lower_inclusive_and_missing_stays_missing() -> None:
    ages = pd.Series([0, 19, 19.5, 20, 39.9, 40, 60, 199, 200, -1, "x", None])
    assert age_group(ages).tolist() == ["0-19", "0-19", "0-19", "20-39", "20-39", "40-59", "60+", "60+",
                                        None, None, None, None]


def test_pose_bins() -> None:
    assert pose_bin(pd.Series([0, -20, 40, 45, 80, np.nan])).tolist() == [
        "frontal (<15°)", "15-30°", "30-45°", "45-60° (side profile)", "≥60° (side profile)", None]
    assert pose_bin(pd.Series([14.99, 15, -30, 44.99, 60])).tolist() == [
        "frontal (<15°)", "15-30°", "30-45°", "30-45°", "≥60° (side profile)"]


def test_side_profile_is_a_union_of_pose_bins() -> None:
    from core.preprocess import SIDE_PROFILE_YAW_DEG

    assert SIDE_PROFILE_DEG == SIDE_PROFILE_YAW_DEG
    yaw = pd.Series(np.linspace(-90, 90, 721))
    side = {name for lo, _, name in POSE_BINS if lo >= SIDE_PROFILE_DEG}
    assert (pose_bin(yaw).isin(side) == (yaw.abs() >= SIDE_PROFILE_YAW_DEG)).all()


def test_pose_groups_prefer_yaw_then_the_side_profile_flag() -> None:
    df = pd.DataFrame({"yaw": [5.0, 50.0, np.nan], "side_profile": [True, False, None]})
    pose, what = pose_groups(df)
    assert what == "|yaw| bin" and pose.name == "pose"
    assert pose.tolist() == ["frontal (<15°)", "45-60° (side profile)", None]
    flag, what = pose_groups(df.assign(yaw=np.nan))
    assert what == "side-profile flag" and flag.tolist() == ["side profile", "frontal", None]
    assert pose_groups(df.drop(columns=["yaw", "side_profile"])) is None
    assert pose_groups(pd.DataFrame({"side_profile": [None, None]})) is None


def test_resolve_attribute_columns_are_text_and_keep_the_index() -> None:
    df = pd.DataFrame({"race": ["White", None, "Black"], "level": [1, 2, None]}, index=[10, 11, 12])
    race = resolve_attribute(df, "race")
    assert race.name == "race" and race.index.tolist() == [10, 11, 12] and race.dtype == object
    assert race.tolist() == ["White", None, "Black"]
    assert resolve_attribute(df, "level").tolist() == ["1.0", "2.0", None]


def test_resolve_attribute_intersection_is_missing_when_a_part_is() -> None:
    df = pd.DataFrame({"race": ["White", "Black", None, "Black"], "gender": ["Female", "Male", "Male", None]})
    inter = resolve_attribute(df, "race x gender")
    assert inter.name == "race x gender"
    assert inter.tolist() == ["White / Female", "Black / Male", None, None]
    three = resolve_attribute(df.assign(age=[25, 70, 30, 10]), "race x gender x age_group")
    assert three.tolist() == ["White / Female / 20-39", "Black / Male / 60+", None, None]


def test_derived_attributes_and_a_column_wins_over_derivation() -> None:
    df = pd.DataFrame({"skin_color": ["#ffffff", "#808080", "#000000", None, "#000000"],
                       "age": [5, 30, 45, 70, None]})
    assert resolve_attribute(df, "skin_tone").tolist() == ["very light", "very light", "dark", None, "dark"]
    assert resolve_attribute(df, "skin_tone_tertile").tolist() == [
        "lightest third", "middle third", "darkest third", None, "darkest third"]
    assert resolve_attribute(df, "age_group").tolist() == ["0-19", "20-39", "40-59", "60+", None]
    fairface = df.assign(age_group=["3-9", "20-29", "40-49", "70+", "20-29"])  # FairFace's own bins
    assert resolve_attribute(fairface, "age_group").tolist() == ["3-9", "20-29", "40-49", "70+", "20-29"]
    own = df.assign(skin_tone=["a", "b", "c", "d", "e"])
    assert resolve_attribute(own, "skin_tone").tolist() == ["a", "b", "c", "d", "e"]
    pose = resolve_attribute(pd.DataFrame({"yaw": [-70.0, 20.0]}), "pose")
    assert pose.tolist() == ["≥60° (side profile)", "15-30°"]


def test_resolve_attribute_errors_say_what_was_expected_and_received() -> None:
    df = pd.DataFrame({"race": ["White"], "skin_color": ["#ffffff"]})
    for bad in ("", "  ", None, 3):
        with pytest.raises(ValueError, match=r"attribute must be a non-empty string, received " + repr(bad)):
            resolve_attribute(df, bad)  # type: ignore[arg-type]
    with pytest.raises(DataFormatError, match=r"^preds\.csv: no column 'religion'; expected one of the table's "
                                              r"columns.*'skin_tone'.*columns are \['race', 'skin_color'\]"):
        resolve_attribute(df, "religion", source="preds.csv")
    with pytest.raises(DataFormatError, match=r"^t: no 'skin_color' values"):
        resolve_attribute(df.drop(columns=["skin_color"]), "skin_tone", source="t")
    with pytest.raises(DataFormatError, match=r"no 'skin_color' values"):
        resolve_attribute(df.assign(skin_color=None), "skin_tone")
    two = pd.DataFrame({"skin_color": ["#ffffff", "#000000", "#000000"]})
    with pytest.raises(DataFormatError, match=r"column 'skin_color': skin tone tertiles need at least 3 distinct "
                                              r"colours, found 2"):
        resolve_attribute(two, "skin_tone_tertile")
    with pytest.raises(DataFormatError, match=r"no 'yaw' or 'side_profile' values"):
        resolve_attribute(df, "pose")
    with pytest.raises(DataFormatError, match=r"no column 'religion'"):
        resolve_attribute(df, "race x religion")


def test_attribute_values_is_none_when_unavailable_or_empty() -> None:
    df = pd.DataFrame({"race": ["White", "Black"], "gender": [None, None]})
    assert attribute_values(df, "race").tolist() == ["White", "Black"]
    assert attribute_values(df, "gender") is None       # no row has a value
    assert attribute_values(df, "skin_tone") is None    # no skin_color column
    assert attribute_values(df, "religion") is None


def test_available_attributes_keeps_order_and_needs_min_groups() -> None:
    df = pd.DataFrame({"race": ["White", "Black", "White"], "gender": ["Male", "Male", "Male"],
                       "skin_color": ["#ffffff", "#808080", "#000000"], "dataset": ["a", "b", None]})
    assert available_attributes(df) == ["race", "skin_tone", "skin_tone_tertile", "race x gender", "dataset"]
    assert available_attributes(df, min_groups=3) == ["skin_tone_tertile"]
    assert available_attributes(df, ["gender", "race", "race", "pose"]) == ["race"]  # duplicates dropped
    assert available_attributes(df, ["gender"], min_groups=1) == ["gender"]


def test_categorical_columns_leave_out_ids_probabilities_and_numbers() -> None:
    df = pd.DataFrame({"race": ["a", "b", "c"], "flag": [True, False, True], "one": ["x", "x", "x"],
                       "many": ["p", "q", "r"], "age": [1, 2, 3], "person": ["p1", "p2", "p3"],
                       "prob_happy": ["h", "l", "h"], "cat": pd.Categorical(["u", "v", "u"])})
    assert categorical_columns(df) == ["race", "flag", "many", "cat"]
    assert categorical_columns(df, max_groups=2) == ["flag", "cat"]


def test_group_order_uses_known_orders_else_sorts() -> None:
    assert group_order(["dark", "very light", "tan"]) == ["very light", "tan", "dark"]
    assert group_order(["60+", "0-19", "40-59"]) == ["0-19", "40-59", "60+"]
    assert group_order(["darkest third", "lightest third"]) == ["lightest third", "darkest third"]
    assert group_order(["≥60° (side profile)", "frontal (<15°)"]) == ["frontal (<15°)", "≥60° (side profile)"]
    assert group_order(["White", "Black", "Asian"]) == ["Asian", "Black", "White"]
    assert group_order(["dark", "White"]) == ["White", "dark"]  # not all of one known order: sorted


def test_known_order_of_binned_attributes() -> None:
    assert known_order("skin_tone") == SKIN_TONE_ORDER == (
        "very light", "light", "intermediate", "tan", "brown", "dark")
    assert known_order("skin_tone_tertile") == TERTILE_ORDER
    assert known_order("age_group") == AGE_LABELS == ("0-19", "20-39", "40-59", "60+")
    assert known_order("pose") == POSE_ORDER
    assert known_order("race") is None


def test_missing_group_labels_are_none_in_an_object_series() -> None:
    # Series.map infers pandas' string dtype (pandas >= 3), in which None becomes NaN; the documented contract
    # is text labels with None for missing, dtype object
    df = pd.DataFrame({"race": ["White", None, "Black"], "skin_color": ["#ffffff", None, "#000000"],
                       "side_profile": [True, None, False], "yaw": np.nan})
    for attribute in ("race", "skin_tone", "race x skin_tone"):
        s = resolve_attribute(df, attribute)
        assert s.dtype == object and s[1] is None
    flag, _ = pose_groups(df)
    assert flag.dtype == object and flag.tolist() == ["side profile", None, "frontal"]
