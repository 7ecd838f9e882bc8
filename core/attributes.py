"""Group attributes: the one place that knows how a table's rows fall into demographic (and pose) groups.

Evaluation (per-group accuracy), latent analysis (cluster composition) and the
pages (filters, "group by" boxes) all resolve attributes here.

Attributes
----------
A column of the table (``race``, ``gender``, ``dataset``, ``label``...), or one derived from other columns:

``skin_tone``
    The Individual Typology Angle (ITA) category of the ``skin_color`` hex
    value: the colour is converted from sRGB to CIELAB (D65) and
    ``ITA = atan2(L* - 50, b*)`` in degrees is binned with the standard
    dermatology thresholds (Chardon et al. 1991; Del Bino & Bernerd 2013):
    very light > 55 >= light > 41 >= intermediate > 28 >= tan > 10 >= brown > -30 >= dark.
``skin_tone_tertile``
    Data-dependent thirds of CIELAB lightness ``L*`` over the distinct colours
    present: ``lightest third``, ``middle third``, ``darkest third``.
``age_group``
    The ``age_group`` column when the table has one (FairFace's bins), else
    ``age`` in years binned as :data:`AGE_LABELS` (lower bound inclusive).
``pose``
    ``|yaw|`` bins (:data:`POSE_BINS`) when ``yaw`` has values, else the
    ``side_profile`` flag (``side profile`` / ``frontal``).
``a x b``
    An intersection, e.g. ``race x gender``; group names are ``"White / Female"``.

Group labels are text; a row without a value stays missing (None).
"""
from __future__ import annotations

import math
from typing import Callable, Iterable, Sequence

import numpy as np
import pandas as pd

from .common._errors import DataFormatError

SKIN_TONE_ITA_BINS: tuple[tuple[float, str], ...] = (
    (55.0, "very light"), (41.0, "light"), (28.0, "intermediate"), (10.0, "tan"), (-30.0, "brown"),
    (-math.inf, "dark"))
SKIN_TONE_ORDER: tuple[str, ...] = tuple(name for _, name in SKIN_TONE_ITA_BINS)
TERTILE_ORDER: tuple[str, ...] = ("lightest third", "middle third", "darkest third")
AGE_BINS: tuple[int, ...] = (0, 20, 40, 60, 200)
AGE_LABELS: tuple[str, ...] = ("0-19", "20-39", "40-59", "60+")
#: The side-profile threshold of face preprocessing (``core.preprocess.SIDE_PROFILE_YAW_DEG``, checked by a
#: test; not imported here because that package loads OpenCV): ``side_profile`` is ``|yaw| >= 45``.
SIDE_PROFILE_DEG = 45.0
#: |yaw| bins in degrees (lower bound inclusive). 45 is an edge, so "side profile" (``|yaw| >= 45``) is exactly
#: the union of the bins marked "side profile".
POSE_BINS: tuple[tuple[float, float, str], ...] = (
    (0.0, 15.0, "frontal (<15°)"), (15.0, 30.0, "15-30°"), (30.0, SIDE_PROFILE_DEG, "30-45°"),
    (SIDE_PROFILE_DEG, 60.0, "45-60° (side profile)"), (60.0, math.inf, "≥60° (side profile)"))
POSE_ORDER: tuple[str, ...] = tuple(name for _, _, name in POSE_BINS)
INTERSECTION_SEPARATOR = " x "
DERIVED_ATTRIBUTES: tuple[str, ...] = ("skin_tone", "skin_tone_tertile", "age_group", "pose")
#: What a predictions table is grouped by when nobody says otherwise, in display order.
GROUP_ATTRIBUTES: tuple[str, ...] = ("race", "gender", "skin_tone", "skin_tone_tertile", "race x gender",
                                     "dataset", "age_group")
#: Columns that identify samples (or carry raw values) rather than group them.
ID_COLUMNS = frozenset({"sample_id", "path", "dataset", "split", "label", "person", "video", "clip", "frame",
                        "row", "eila_person_id", "annotations", "skin_color"})
#: Known orders of group names (else groups sort alphabetically).
GROUP_ORDERS: tuple[tuple[str, ...], ...] = (SKIN_TONE_ORDER, TERTILE_ORDER, AGE_LABELS, POSE_ORDER)


def hex_to_lab(color: str) -> tuple[float, float, float]:
    """CIELAB ``(L*, a*, b*)`` of an sRGB ``#rrggbb`` colour under D65.

    Raises
    ------
    ValueError
        If ``color`` is not ``#rrggbb``.
    """
    s = str(color).strip()
    if len(s) != 7 or not s.startswith("#"):
        raise ValueError(f"expected a colour '#rrggbb', received {color!r}")
    rgb = np.array([int(s[i:i + 2], 16) for i in (1, 3, 5)], dtype=float) / 255.0
    lin = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    m = np.array([[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750],
                  [0.0193339, 0.1191920, 0.9503041]])
    xyz = m @ lin / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return (float(116 * f[1] - 16), float(500 * (f[0] - f[1])), float(200 * (f[1] - f[2])))


def ita_degrees(color: str) -> float:
    """Individual Typology Angle ``atan2(L* - 50, b*)`` in degrees of a ``#rrggbb`` colour."""
    lum, _, b = hex_to_lab(color)
    return float(math.degrees(math.atan2(lum - 50.0, b)))


def skin_tone_category(color: str) -> str:
    """ITA category (:data:`SKIN_TONE_ORDER`) of a ``#rrggbb`` colour."""
    ita = ita_degrees(color)
    for threshold, name in SKIN_TONE_ITA_BINS:
        if ita > threshold:
            return name
    return SKIN_TONE_ORDER[-1]


def age_group(age: pd.Series) -> pd.Series:
    """Age bin (:data:`AGE_LABELS`) of each age in years; missing or non-numeric ages stay missing."""
    years = pd.to_numeric(age, errors="coerce")
    s = pd.cut(years, bins=list(AGE_BINS), labels=list(AGE_LABELS), right=False).astype(object)
    return s.where(s.notna(), None)


def pose_bin(yaw: pd.Series) -> pd.Series:
    """Pose bin (:data:`POSE_BINS`) of each ``|yaw|``; missing yaw stays missing."""
    a = pd.to_numeric(yaw, errors="coerce").abs()
    out = pd.Series([None] * len(a), index=a.index, dtype=object)
    for lo, hi, name in POSE_BINS:
        out[(a >= lo) & (a < hi)] = name
    return out


def pose_groups(df: pd.DataFrame) -> tuple[pd.Series, str] | None:
    """Pose of each row: yaw bins when ``yaw`` has values, else the ``side_profile`` flag, else None."""
    if "yaw" in df.columns and df["yaw"].notna().any():
        return pose_bin(df["yaw"]).rename("pose"), "|yaw| bin"
    if "side_profile" in df.columns and df["side_profile"].notna().any():
        flag = _labels(df["side_profile"], lambda v: "side profile" if bool(v) else "frontal")
        return flag.rename("pose"), "side-profile flag"
    return None


def _skin_colors(df: pd.DataFrame, source: str) -> pd.Series:
    if "skin_color" not in df.columns or df["skin_color"].isna().all():
        raise DataFormatError("no 'skin_color' values; skin tone groups need '#rrggbb' colours", source)
    return df["skin_color"].astype(object)


def _labels(s: pd.Series, label: Callable[[object], str]) -> pd.Series:
    """``label(v)`` of each value, None where missing, as an object Series (``Series.map`` would infer pandas'
    string dtype, in which missing values become NaN)."""
    try:  # label each distinct value once (a derived attribute of thousands of rows has few values)
        codes, uniques = pd.factorize(s, use_na_sentinel=True)
    except TypeError:  # unhashable values (lists, dicts): one by one
        values = [None if pd.api.types.is_scalar(v) and pd.isna(v) else label(v) for v in s]
        return pd.Series(values, index=s.index, dtype=object, name=s.name)
    labels = np.array([label(v) for v in uniques] + [None], dtype=object)
    return pd.Series(labels[codes], index=s.index, dtype=object, name=s.name)


def _as_text(s: pd.Series) -> pd.Series:
    return _labels(s, str)


def _derived(df: pd.DataFrame, attribute: str, source: str) -> pd.Series | None:
    """A derived attribute's values (None when ``attribute`` is not derived)."""
    if attribute == "skin_tone":
        colors = _skin_colors(df, source)
        return _labels(colors, skin_tone_category)
    if attribute == "skin_tone_tertile":
        colors = _skin_colors(df, source)
        uniq = sorted({c for c in colors.dropna()})
        light = pd.Series({c: hex_to_lab(c)[0] for c in uniq})
        if light.nunique() < 3:
            raise DataFormatError(f"skin tone tertiles need at least 3 distinct colours, found {light.nunique()}",
                                  source, "skin_color")
        bins = pd.qcut(light, 3, labels=list(reversed(TERTILE_ORDER)))
        return _labels(colors, lambda c: str(bins[c]))
    if attribute == "age_group" and "age" in df.columns:
        return age_group(df["age"])
    if attribute == "pose":
        pose = pose_groups(df)
        if pose is None:
            raise DataFormatError("no 'yaw' or 'side_profile' values; pose groups need face preprocessing with "
                                  "pose estimation", source)
        return pose[0]
    return None


def resolve_attribute(df: pd.DataFrame, attribute: str, source: str = "<table>") -> pd.Series:
    """The group label (text) of every row for ``attribute`` (see the module docstring); missing stays None.

    Parameters
    ----------
    df : pandas.DataFrame
        A manifest, predictions table or any table with the attribute's columns.
    attribute : str
        A column, a derived attribute (:data:`DERIVED_ATTRIBUTES`) or an intersection such as ``race x gender``.
        A column of that name wins over the derived attribute.
    source : str
        Name of the table used in error messages.

    Returns
    -------
    pandas.Series
        Same index as ``df``, named ``attribute``, dtype object.

    Raises
    ------
    ValueError
        ``attribute`` is not a non-empty string.
    DataFormatError
        If the table has no column the attribute needs, naming ``source``.
    """
    if not isinstance(attribute, str) or not attribute.strip():
        raise ValueError(f"attribute must be a non-empty string, received {attribute!r}")
    if INTERSECTION_SEPARATOR in attribute:
        parts = [resolve_attribute(df, a.strip(), source) for a in attribute.split(INTERSECTION_SEPARATOR)]
        joined = parts[0].astype(object)
        for p in parts[1:]:
            joined = pd.Series([None if pd.isna(a) or pd.isna(b) else f"{a} / {b}" for a, b in zip(joined, p)],
                               index=df.index, dtype=object)
        return joined.rename(attribute)
    if attribute in df.columns:
        return _as_text(df[attribute]).rename(attribute)
    values = _derived(df, attribute, source)
    if values is not None:
        return _as_text(values).rename(attribute)
    raise DataFormatError(f"no column {attribute!r}; expected one of the table's columns, "
                          f"{list(DERIVED_ATTRIBUTES)} or an intersection like 'race x gender'; "
                          f"columns are {list(df.columns)}", source)


def attribute_values(df: pd.DataFrame, attribute: str) -> pd.Series | None:
    """:func:`resolve_attribute`, or None when the table cannot provide ``attribute`` or no row has a value."""
    try:
        s = resolve_attribute(df, attribute)
    except DataFormatError:
        return None
    return None if s.notna().sum() == 0 else s


def categorical_columns(df: pd.DataFrame, max_groups: int = 12) -> list[str]:
    """Columns of text, bool or category type with 2 to ``max_groups`` values (not ids, not ``prob_*``)."""
    out = []
    for c in df.columns:
        if c in ID_COLUMNS or str(c).startswith("prob_"):
            continue
        s = df[c]
        if (s.dtype == object or s.dtype == bool or isinstance(s.dtype, pd.CategoricalDtype)
                or pd.api.types.is_string_dtype(s)) and 2 <= s.nunique(dropna=True) <= max_groups:
            out.append(c)
    return out


def available_attributes(df: pd.DataFrame, wanted: Iterable[str] = GROUP_ATTRIBUTES,
                         min_groups: int = 2) -> list[str]:
    """The attributes among ``wanted`` that ``df`` provides with at least ``min_groups`` groups, in that order.

    Parameters
    ----------
    df : pandas.DataFrame
    wanted : iterable of str
        Candidate attributes in display order (default :data:`GROUP_ATTRIBUTES`); duplicates are dropped.
    min_groups : int
        Fewest distinct groups an attribute needs (2: there is something to compare).

    Returns
    -------
    list of str
    """
    out: list[str] = []
    for a in wanted:
        s = None if a in out else attribute_values(df, a)
        if s is not None and s.dropna().nunique() >= min_groups:
            out.append(a)
    return out


def group_order(groups: Iterable[str]) -> list[str]:
    """Group names in their natural order (skin tones light to dark, age and pose bins ascending), else sorted."""
    groups = list(groups)
    for order in GROUP_ORDERS:
        if set(groups) <= set(order):
            return [g for g in order if g in groups]
    return sorted(groups)


def known_order(attribute: str) -> Sequence[str] | None:
    """The full order of a binned attribute's groups (all bins, present or not), else None."""
    return {"skin_tone": SKIN_TONE_ORDER, "skin_tone_tertile": TERTILE_ORDER, "age_group": AGE_LABELS,
            "pose": POSE_ORDER}.get(attribute)
