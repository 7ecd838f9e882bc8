"""core.evaluation.validation: the predictions-table check and the person column every evaluation module uses."""
from __future__ import annotations

import pandas as pd
import pytest

from core.common._errors import DataFormatError
from core.evaluation.validation import check_predictions, person_column


def _table() -> pd.DataFrame:
    return pd.DataFrame({"sample_id": ["a", "b", "c", "d", "e", "f"],
                         "true": ["happy", "sad", None, "angry", "happy", "neutral"],
                         "pred": ["happy", "happy", "sad", "angry", "sad", "neutral"],
                         "person": ["p1", "p1", "p2", "p2", None, "p3"]})


def test_unlabelled_rows_are_dropped_and_correct_is_recomputed() -> None:
    df = check_predictions(_table().assign(correct=False))
    assert df["sample_id"].tolist() == ["a", "b", "d", "e", "f"] and df.index.tolist() == [0, 1, 2, 3, 4]
    assert df["correct"].tolist() == [True, False, True, False, True] and df["correct"].dtype == bool
    assert df["correct"].mean() == pytest.approx(3 / 5)


def test_input_is_not_modified() -> None:
    table = _table()
    check_predictions(table)
    assert "correct" not in table.columns and len(table) == 6


def test_bad_tables_say_what_was_expected_and_received() -> None:
    with pytest.raises(DataFormatError, match=r"^<predictions>: expected a pandas DataFrame of predictions, "
                                              r"received list"):
        check_predictions([1, 2])  # type: ignore[arg-type]
    with pytest.raises(DataFormatError, match=r"^p\.csv: missing column\(s\) \['pred'\]; expected a predictions "
                                              r"table with columns sample_id, true, pred.*received \['sample_id', "
                                              r"'true', 'person'\]"):
        check_predictions(_table().drop(columns=["pred"]), source="p.csv")
    with pytest.raises(DataFormatError, match="no labelled rows"):
        check_predictions(_table().assign(true=None))
    with pytest.raises(DataFormatError, match=r"^p\.csv: column 'true': expected labels in \['angry', .*received "
                                              r"\['contempt'\]"):
        check_predictions(_table().assign(true="contempt"), source="p.csv")
    with pytest.raises(DataFormatError, match=r"column 'pred': .*received \['<missing>'\]"):
        check_predictions(_table().assign(pred=[None, "sad", "sad", "sad", "sad", "sad"]))


def test_person_column_rules() -> None:
    df = _table()
    assert person_column(df) == "person"
    assert person_column(df, False) is None
    assert person_column(df.assign(person=None)) is None        # present but empty
    assert person_column(df.drop(columns=["person"])) is None
    assert person_column(df.assign(who=["x"] * 6), "who") == "who"
    assert person_column(df.assign(who=None), "who") is None
    with pytest.raises(DataFormatError, match=r"no person column 'who'; columns are \['sample_id', 'true', 'pred', "
                                              r"'person'\]"):
        person_column(df, "who")
