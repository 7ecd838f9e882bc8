"""pages/_words.gui_message and pages/_tables: core's messages and tables as a researcher reads them."""
from __future__ import annotations

import pandas as pd
import pytest

from core.common._errors import DatasetExistsError, DataFormatError
from core.data.registry import register_dataset
from pages._tables import paired_groups_view
from pages._words import DATA_WIDGETS, PREPARE_WIDGETS, gui_message


def _manifest() -> pd.DataFrame:
    return pd.DataFrame([{"sample_id": f"s{i}", "path": f"/nowhere/{i}.png", "dataset": "X", "split": "train",
                          "label": "happy"} for i in range(3)])


def test_duplicate_name_hints_to_tick_replace(artifacts):
    register_dataset(_manifest(), "X", "manifest", {}, artifacts)
    with pytest.raises(DatasetExistsError) as exc:
        register_dataset(_manifest(), "X", "manifest", {}, artifacts)
    text = gui_message(exc.value, DATA_WIDGETS)
    assert "--" not in text and 'tick "Replace a registered dataset with the same name" to replace it' in text


def test_flags_become_fields_or_disappear():
    from core.data.registry import load_and_register

    with pytest.raises(DataFormatError) as exc:
        load_and_register("eila-crops", "/nowhere", "E", "/tmp/unused")
    assert gui_message(exc.value, DATA_WIDGETS).endswith("needs the EiLA demographics CSV (the demographics CSV "
                                                         "field)")
    assert gui_message("pass another --out or the same settings", PREPARE_WIDGETS) == \
        "choose another output folder or the same settings"
    assert gui_message("choose another name (--name / --register)") == "choose another name"


def test_a_corrupt_image_in_the_app_names_the_checkbox_and_no_python(tmp_path):
    from core.data.registry import load_and_register

    root = tmp_path / "faces" / "train" / "happy"
    root.mkdir(parents=True)
    (root / "broken.png").write_bytes(b"\x89PNG but no more")
    with pytest.raises(DataFormatError) as exc:
        load_and_register("folder", str(tmp_path / "faces"), "F", tmp_path / "artifacts")
    assert "--skip-bad-images" in str(exc.value) and "in Python" in str(exc.value)  # the command line's words
    text = gui_message(exc.value, DATA_WIDGETS)
    assert "broken.png" in text and "expected readable JPEG/PNG files" in text
    assert text.endswith('tick "Skip unreadable images" to leave them out and report them')
    assert "--" not in text and "Python" not in text


def test_a_flag_with_a_value_becomes_the_field_to_fill():
    from core.preprocess._detectors import _require_file

    for weights, said in ((None, "; enter it in the detector weights field"),
                          ("/nowhere/w.onnx", ". Enter an existing file in the detector weights field")):
        with pytest.raises(Exception) as exc:
            _require_file(weights, "yunet", "a YuNet .onnx file")
        text = gui_message(exc.value, PREPARE_WIDGETS)
        assert text.endswith(said) and "--" not in text and "Python" not in text, text
    assert gui_message("pass --replace to register the dataset again", DATA_WIDGETS) == \
        'tick "Replace a registered dataset with the same name" to register the dataset again'


def test_paired_table_has_words_and_percentages():
    groups = pd.DataFrame([{"group": "Dark", "n_samples": 196, "n_persons": 14, "low_n": False, "accuracy_a": 0.5561,
                            "accuracy_b": 0.668, "diff": 0.112, "ci_low": -0.002, "ci_high": 0.227, "p_value": 0.0545,
                            "mcnemar_p": 0.0357, "mcnemar_method": "exact binomial"}])
    view = paired_groups_view(groups)
    assert not {"low_n", "mcnemar_method", "n_samples"} & set(view.columns)
    row = view.iloc[0]
    assert (row["accuracy A"], row["B − A (points) [interval]"], row["images (persons)"]) == \
        ("55.6 %", "+11.2 [-0.2, +22.7]", "196 (14)")


def test_group_attributes_in_words() -> None:
    from pages._words import attribute_words

    assert attribute_words("skin_tone_tertile") == "skin tone (tertiles)"
    assert attribute_words("race x gender") == "race × gender" and attribute_words("race") == "race"
    assert attribute_words("head_pose") == "head pose"  # any other column: its underscores as spaces
