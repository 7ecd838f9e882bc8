"""The face explorer's Python side (pages/_face_explorer.py): the faces it sends, and the check it sends with each
state, held equal to core.evaluation.explore.filter_predictions (the browser's own view is checked against it in
tests/test_browser.py)."""
from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from _evaluation_data import synthetic_predictions
from core.data.labels import EMOTIONS
from core.evaluation.explore import filter_predictions
from pages._face_explorer import (ALL_CHOSEN, SHOW_OPTIONS, chosen_groups, explorer_check, explorer_faces, labels_of,
                                  matrix_key)

CTX = "run|1.0|all|race|(None, None, ())"
GROUPS = ["Black", "Mixed", "White"]


@pytest.fixture(scope="module")
def pre() -> pd.DataFrame:
    df = synthetic_predictions(seed=4, skill=0.5)
    return df.sort_values("confidence", ascending=False, kind="stable")


def _expected(pre: pd.DataFrame, groups, cm_group, true, pred, show, cell):
    """The same state through filter_predictions: positions of the faces shown, and the base the matrix counts."""
    chosen = chosen_groups(groups, cm_group, GROUPS)
    base = filter_predictions(pre, "race", chosen)
    if cell is not None and cell[2] == matrix_key(CTX, chosen):
        shown = filter_predictions(base, None, None, [cell[0]], [cell[1]], "all")
    else:
        shown = filter_predictions(base, None, None, true, pred, show)
    return pre.index.get_indexer(shown.index).tolist(), base


def test_faces_carry_each_row_in_gallery_order(pre: pd.DataFrame) -> None:
    faces = explorer_faces(pre, "race")
    assert len(faces.rows) == len(pre) == len(faces.group)
    first = faces.rows[0]
    assert first[0] == pre["race"].iloc[0] and EMOTIONS[first[1]] == pre["true"].iloc[0]
    assert EMOTIONS[first[2]] == pre["pred"].iloc[0] and "→" in first[3]
    assert faces.persons == {"Black": 4, "Mixed": 2, "White": 6}
    no_groups = explorer_faces(pre, None)
    assert set(no_groups.group) == {None} and no_groups.persons is None


def test_labels_outside_the_seven_emotions_come_after_them(pre: pd.DataFrame) -> None:
    odd = pre.assign(pred=pre["pred"].where(pre.index % 5 != 0, "contempt"))
    assert labels_of(odd) == [*EMOTIONS, "contempt"]
    faces = explorer_faces(odd, "race")
    check = explorer_check(faces, CTX, [], ALL_CHOSEN, GROUPS, [], [], "all", None)
    assert np.array(check["counts"]).shape == (8, 8) and np.array(check["counts"])[:, 7].sum() == (odd["pred"] ==
                                                                                                  "contempt").sum()


@pytest.mark.parametrize("groups,cm_group", [([], ALL_CHOSEN), (["Mixed"], ALL_CHOSEN), (["Black", "White"], ALL_CHOSEN),
                                             (["Black"], "White"), ([], "Mixed")])
def test_the_check_is_filter_predictions_for_every_state(pre: pd.DataFrame, groups, cm_group) -> None:
    faces = explorer_faces(pre, "race")
    chosen = chosen_groups(groups, cm_group, GROUPS)
    key = matrix_key(CTX, chosen)
    cells = [None, ("happy", "sad", key), ("fear", "fear", key), ("happy", "happy", "another matrix")]
    for true, pred, show, cell in itertools.product([[], ["fear"], ["happy", "sad"]], [[], ["neutral"]],
                                                    SHOW_OPTIONS, cells):
        check = explorer_check(faces, CTX, groups, cm_group, GROUPS, true, pred, show, cell)
        shown, base = _expected(pre, groups, cm_group, true, pred, show, cell)
        assert check["shown"] == shown, (groups, cm_group, true, pred, show, cell)
        counts = pd.crosstab(base["true"], base["pred"]).reindex(index=EMOTIONS, columns=EMOTIONS, fill_value=0)
        assert check["counts"] == counts.to_numpy().tolist()
        assert check["cell"] == (list(cell) if cell is not None and cell[2] == key else None)
        assert check["title"] == f"{check['name']} (n={len(base)})" and check["matrix_key"] == key
        if shown:
            wrong = (~pre.iloc[shown]["correct"]).mean()
            assert check["summary"] == f"{len(shown)} faces · {wrong:.0%} wrong · most confident first"
        else:
            assert check["summary"] == ""


def test_the_title_names_the_groups_of_the_matrix(pre: pd.DataFrame) -> None:
    faces = explorer_faces(pre, "race")
    title = lambda groups, cm: explorer_check(faces, CTX, groups, cm, GROUPS, [], [], "wrong", None)["title"]  # noqa
    assert title([], ALL_CHOSEN) == f"all groups (n={len(pre)})"
    assert title(["Black", "White"], ALL_CHOSEN) == "Black, White (n=60)"  # 4 + 6 persons x 6 frames
    assert title(["Black"], "Mixed") == "Mixed (n=12)"  # the matrix's own group wins over the Groups filter


def test_a_state_outside_the_options_is_refused(pre: pd.DataFrame) -> None:
    faces = explorer_faces(pre, "race")
    with pytest.raises(ValueError, match="show must be one of"):
        explorer_check(faces, CTX, [], ALL_CHOSEN, GROUPS, [], [], "right", None)
