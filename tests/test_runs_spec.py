"""core.runs.spec: RunSpec validation, JSON round trip, and flags parsed by each command's own parser."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.common._errors import DataFormatError
from core.cli import COMMANDS
from core.runs.spec import RUN_KINDS, RunSpec
from core.training._cli import config_from_args
from core.training.config import TrainConfig

CFG = TrainConfig(weights="random", input_size=64, phase1_learning_rate=3e-5, phase2_epochs=0, seed=7,
                  class_weight="balanced", feature_cache=False, precision="bfloat16")

#: one spec per kind, with the options the pages set (lists, switches, floats and paths included)
SPECS: dict[str, RunSpec] = {
    "train": RunSpec("train", {"base": "SFEW", "extra": "EiLA", "fraction": 0.1, "eval_dataset": "EiLA",
                               "split_rule": "person-disjoint", "split_seed": 3, "artifacts": Path("/tmp/a")}, CFG),
    "sweep": RunSpec("sweep", {"preset": "table3", "eila": "EiLA (mtcnn)", "fer2013": "FER", "sfew": "SFEW",
                               "only": ["SFEW", "SFEW + 10% EiLA"], "eval_dataset": "EiLA (mtcnn)",
                               "eval_split": "test", "artifacts": "/tmp/a"}, CFG.to_dict()),
    "evaluate": RunSpec("evaluate", {"model": "fer", "data": "/tmp/d/manifest.parquet", "name": "Demo",
                                     "split": "auto", "attributes": ["race", "race x gender"], "n_boot": 200,
                                     "label": "fer on Demo", "precision": "float32", "replace": True}),
    "clusters": RunSpec("clusters", {"data": "UTK", "k": 4, "method": "pca", "no_probe": True, "limit": 50,
                                     "out": "/tmp/c"}),
    "prepare-eila": RunSpec("prepare-eila", {"annotations": "/e/annotations.csv", "demographics": "/e/d.csv",
                                             "videos": "/e/videos", "out": "/tmp/p", "detector": "yunet",
                                             "weights": "/m/yunet.onnx", "size": 48, "color": "gray",
                                             "threshold": 0.6, "register": "EiLA (yunet)"}),
    "estimate-pose": RunSpec("estimate-pose", {"data": "EiLA", "detector": "mtcnn", "threshold": 0.55,
                                               "register": "EiLA", "artifacts": "/tmp/a"}),
    "demo-study": RunSpec("demo-study", {"out": "/tmp/r/demo-study-x", "artifacts": "/tmp/a", "epochs": 2,
                                         "learning_rate": 1e-3}),
}


def test_every_kind_is_a_command_and_has_an_example():
    assert set(RUN_KINDS) <= set(COMMANDS)
    assert sorted(SPECS) == sorted(RUN_KINDS)


@pytest.mark.parametrize("kind", RUN_KINDS)
def test_to_argv_is_parsed_by_the_commands_own_parser(kind):
    spec = SPECS[kind]
    args = spec.parse(["--status-file", "/tmp/p.json"])
    for dest, value in spec.config.items():
        assert getattr(args, dest) == (list(value) if isinstance(value, tuple) else value), dest
    assert args.status_file == "/tmp/p.json"
    if kind in ("train", "sweep"):
        assert config_from_args(args, check_weights=False) == CFG  # every training setting survives the flags
    else:
        assert spec.training is None


@pytest.mark.parametrize("kind", RUN_KINDS)
def test_json_round_trip(kind, tmp_path):
    spec = SPECS[kind]
    path = spec.save(tmp_path / "spec.json")
    back = RunSpec.load(path)
    assert back == spec and back.to_argv() == spec.to_argv()
    data = json.loads(path.read_text())
    assert data["kind"] == kind and ("training" in data) == (kind in ("train", "sweep"))
    assert RunSpec.from_json(spec.to_json()) == spec


def test_config_is_read_only_and_normalised():
    spec = SPECS["train"]
    assert spec.config["artifacts"] == "/tmp/a"  # a Path is stored as text
    assert SPECS["sweep"].config["only"] == ("SFEW", "SFEW + 10% EiLA")
    with pytest.raises(TypeError):
        spec.config["base"] = "FER"  # type: ignore[index]
    assert "limit" not in RunSpec("evaluate", {"model": "fer", "data": "x", "limit": None}).config


@pytest.mark.parametrize("kind, config, training, match", [
    ("latent", {}, None, r"kind must be one of \['train', 'sweep'"),
    ("register", {}, None, "kind must be one of"),
    ("evaluate", {"model": "fer", "data": "x", "bogus": 1}, None, r"unknown evaluate option\(s\) \['bogus'\]; "
                                                                    "expected some of"),
    ("evaluate", {"model": "fer"}, None, r"evaluate needs option\(s\) \['data'\]"),
    ("evaluate", {"model": "fer", "data": "x", "split": "everything"}, None,
     r"'split' \(--split\): expected one of \['auto'"),
    ("evaluate", {"model": "fer", "data": "x", "n_boot": "many"}, None, "expected an integer, received 'many'"),
    ("evaluate", {"model": "fer", "data": "x", "n_boot": True}, None, "expected a string or number"),
    ("evaluate", {"model": "fer", "data": "x", "replace": "yes"}, None, "is a switch: expected true or false"),
    ("evaluate", {"model": "fer", "data": "x", "attributes": "race"}, None, "expected a list, received 'race'"),
    ("evaluate", {"model": 3, "data": "x"}, None, "expected a string, received 3"),
    ("evaluate", ["model"], None, "config must be a mapping"),
    ("sweep", {"preset": "table3"}, None, "a sweep spec needs its training settings as a TrainConfig"),
    ("sweep", {"preset": "table3", "epochs1": 3}, TrainConfig(), r"training settings \['epochs1'\] go in the "
                                                                  "spec's TrainConfig"),
    ("sweep", {"preset": "table3"}, {"phase1_epochs": 0}, "phase1_epochs must be an integer >= 1"),
    ("evaluate", {"model": "fer", "data": "x"}, TrainConfig(), "only \\['train', 'sweep'\\] specs take training"),
])
def test_invalid_specs_say_what_was_expected(kind, config, training, match):
    with pytest.raises(ValueError, match=match):
        RunSpec(kind, config, training)


def test_every_training_setting_reaches_the_command_line():
    spec = RunSpec("train", {"base": "SFEW"}, TrainConfig(head_units=(64,), monitor="val_accuracy"))
    argv = spec.to_argv()
    assert argv[argv.index("--head-units") + 1] == "64" and "--monitor" in argv


@pytest.mark.parametrize("text, match", [
    ("{not json", "not valid JSON"),
    ("[1, 2]", r"expected a run spec object .*received list"),
    ('{"config": {}}', r"expected a run spec object .*with keys \['config'\]"),
    ('{"kind": "evaluate", "config": {"model": "fer", "data": "x"}, "extra": 1}', r"unknown key\(s\) \['extra'\]"),
    ('{"kind": "nope", "config": {}}', "kind must be one of"),
    ('{"kind": "demo-study", "config": {"epochz": 3}}', r"unknown demo-study option\(s\) \['epochz'\]"),
    ('{"kind": "sweep", "config": {"mix": ["A"]}, "training": {"phase1_epoch": 3}}',
     r"unknown training setting\(s\) \['phase1_epoch'\]"),
])
def test_load_errors_name_the_file(tmp_path, text, match):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(DataFormatError, match=match) as info:
        RunSpec.load(path)
    assert str(info.value).startswith(f"{path}: ")


def test_load_of_a_missing_file_names_it(tmp_path):
    with pytest.raises(DataFormatError, match="no such file; expected a run spec JSON file"):
        RunSpec.load(tmp_path / "missing.json")
