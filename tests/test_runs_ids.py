"""core.runs.ids: the one run id scheme; ids of existing run folders do not change."""
from __future__ import annotations

import hashlib
import json
import re

import pandas as pd
import pytest

from core.runs.ids import make_run_id
from core.training.config import TrainConfig
from core.training.runner import data_fingerprint, run_id_for

TRAIN = pd.DataFrame({"sample_id": ["a", "b", "c"], "path": ["a.png", "b.png", "c.png"],
                      "split": ["train", "train", "validation"], "label": ["happy", "sad", "happy"]})
EVALUATION = pd.DataFrame({"sample_id": ["t1", "t2"], "path": ["t1.png", "t2.png"], "split": ["test", "test"],
                           "label": ["sad", "neutral"]})


def test_training_run_ids_are_those_of_existing_run_folders():
    # computed with run_id_for before the id scheme moved to core.runs.ids: existing folders keep these names
    assert run_id_for("SFEW + 10% EiLA", TrainConfig(), TRAIN, EVALUATION) == "sfew-10-eila-46405bc8c8"
    assert run_id_for("SFEW + 10% EiLA", TrainConfig(precision="bfloat16", weights="random"), TRAIN,
                      EVALUATION) == "sfew-10-eila-dfdbc73c4b"


def test_settings_ids_are_the_digest_of_settings_and_data():
    settings = {"b": 2, "a": [1, 2]}
    h = hashlib.sha1(json.dumps(settings, sort_keys=True).encode())
    h.update(b"data-fingerprint")
    assert make_run_id("My Run", settings, "data-fingerprint") == f"my-run-{h.hexdigest()[:10]}"
    assert make_run_id("My Run", {"a": [1, 2], "b": 2}, "data-fingerprint") == make_run_id("My Run", settings,
                                                                                            "data-fingerprint")
    assert make_run_id("x", settings, "other") != make_run_id("x", settings, "data-fingerprint")
    cfg = TrainConfig(precision="bfloat16").to_dict()
    assert run_id_for("x", TrainConfig(precision="bfloat16"), TRAIN, EVALUATION) == \
        make_run_id("x", cfg, data_fingerprint(TRAIN, EVALUATION))


def test_ids_without_settings_are_time_stamped_and_unique():
    first, second = make_run_id("demo-study"), make_run_id("demo-study")
    assert re.fullmatch(r"demo-study-\d{8}-\d{6}-[0-9a-f]{6}", first)
    assert first != second
    assert re.fullmatch(r"eval-\d{8}-\d{6}-[0-9a-f]{6}", make_run_id("eval"))


@pytest.mark.parametrize("args, match", [(("///",), "no usable characters"),
                                         (("x", None, "rows"), "data identifies a run only with its settings"),
                                         (("x", [1, 2]), "settings must be a mapping, received list")])
def test_bad_inputs(args, match):
    with pytest.raises(ValueError, match=match):
        make_run_id(*args)
