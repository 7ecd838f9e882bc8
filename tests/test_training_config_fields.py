"""TrainConfig's fields are the one source of the CLI training options and the page's settings.

Every init field has a flag on ``python -m core train``/``sweep`` (its metadata) and
is either set by a page widget or listed as not on the page; a config touching
every field survives ``training_argv`` -> the real parser -> ``config_from_args``;
a field added to a subclass is on the command line with no other edit (only its
widget is then missing); and the running page builds its config from its widgets.
"""
from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import pages._train_settings as settings
from core.cli import build_parser
from core.data.labels import EMOTIONS
from core.data.registry import register_dataset
from core.training._cli import add_training_options, config_from_args, training_argv
from core.training.config import TrainConfig, not_an_option, option
from pages._train_settings import NOT_ON_PAGE, TRAINING_WIDGETS

REPO = Path(__file__).resolve().parent.parent


def _init_fields(config: type[TrainConfig] = TrainConfig) -> list[dataclasses.Field]:
    return [f for f in dataclasses.fields(config) if f.init]


def _other_value(f: dataclasses.Field):
    """A valid value of ``f`` other than its default, derived from the default and the declared choices."""
    d, choices = f.default, f.metadata.get("choices")
    if choices:
        return next(c for c in choices if c != d)
    if isinstance(d, bool):
        return not d
    if isinstance(d, tuple):
        return d[:-1] or (d[0] + 1,)
    if isinstance(d, int):
        return d + 1
    if isinstance(d, float):
        return d / 2 if d else 0.5
    return {"weights": "random"}.get(f.name, f"{d}-other")


def _everything_changed(config: type[TrainConfig] = TrainConfig) -> TrainConfig:
    cfg = config(**{f.name: _other_value(f) for f in _init_fields(config)})
    assert all(getattr(cfg, f.name) != f.default for f in _init_fields(config))
    return cfg


def test_every_init_field_declares_a_flag_and_the_others_say_why():
    flags = [f.metadata.get("flag") for f in _init_fields()]
    assert all(flags), [f.name for f in _init_fields() if not f.metadata.get("flag")]
    assert len(set(flags)) == len(flags)
    for f in dataclasses.fields(TrainConfig):
        if not f.init:
            assert f.metadata["flag"] is None and f.metadata["why"], f.name
    assert [f.name for f in dataclasses.fields(TrainConfig) if not f.init] == ["loss"]


@pytest.mark.parametrize("command", [["train", "--base", "B"], ["sweep", "--mix", "B"]])
def test_a_config_touching_every_field_round_trips_through_the_real_parser(command):
    cfg = _everything_changed()
    argv = training_argv(cfg)
    assert all(f.metadata["flag"] in argv for f in _init_fields())
    args = build_parser(command[0]).parse_args([*command, *argv])
    assert config_from_args(args, check_weights=False) == cfg


def test_defaults_write_no_options_and_parse_back_to_the_seeds_recipe():
    assert training_argv(TrainConfig()) == []
    args = build_parser("train").parse_args(["train", "--base", "B"])
    assert config_from_args(args, check_weights=False) == TrainConfig()
    changed = TrainConfig(feature_cache=False, phase1_learning_rate=1e-3, head_units=(64, 32))
    assert training_argv(changed) == ["--head-units", "64", "32", "--lr1", "0.001", "--no-feature-cache"]
    with pytest.raises(TypeError, match="cfg must be a TrainConfig, received dict"):
        training_argv({"seed": 1})


def test_choices_are_the_tuples_the_config_validates():
    parser = build_parser("train")
    for f in _init_fields():
        choices = f.metadata.get("choices")
        if not choices:
            continue
        for c in choices:
            TrainConfig(**{f.name: c})
        with pytest.raises(ValueError, match=f.name):
            TrainConfig(**{f.name: "not-a-choice"})
        with pytest.raises(SystemExit):
            parser.parse_args(["train", "--base", "B", f.metadata["flag"], "not-a-choice"])


def test_every_field_is_a_page_widget_or_listed_as_not_on_the_page():
    names = {f.name for f in _init_fields()}
    assert set(TRAINING_WIDGETS).isdisjoint(NOT_ON_PAGE)
    assert set(TRAINING_WIDGETS) | set(NOT_ON_PAGE) == names
    assert all(isinstance(why, str) and why for why in NOT_ON_PAGE.values())


@dataclasses.dataclass(frozen=True)
class _WithNewSettings(TrainConfig):
    """TrainConfig plus two settings declared the way a new field would be: one edit each."""

    label_smoothing: float = option(0.0, "--label-smoothing", "label smoothing of the loss")
    flip: bool = option(False, "--flip", "random horizontal flips")


def test_a_new_field_is_on_the_command_line_with_no_other_edit():
    parser = argparse.ArgumentParser()
    add_training_options(parser, _WithNewSettings)
    assert "label smoothing of the loss" in parser.format_help() and "--flip" in parser.format_help()
    args = parser.parse_args(["--label-smoothing", "0.1", "--flip", "--epochs1", "3"])
    cfg = config_from_args(args, check_weights=False, config=_WithNewSettings)
    assert cfg == _WithNewSettings(label_smoothing=0.1, flip=True, phase1_epochs=3)
    assert training_argv(cfg) == ["--epochs1", "3", "--label-smoothing", "0.1", "--flip"]
    every = _everything_changed(_WithNewSettings)
    assert config_from_args(parser.parse_args(training_argv(every)), False, _WithNewSettings) == every
    # ... and the page check names exactly what is left: its widget (or a reason it is not on the page)
    missing = {f.name for f in _init_fields(_WithNewSettings)} - set(TRAINING_WIDGETS) - set(NOT_ON_PAGE)
    assert missing == {"label_smoothing", "flip"}
    assert not hasattr(TrainConfig(), "label_smoothing")  # the real class is untouched


def test_a_switch_flag_must_say_which_way_it_turns():
    with pytest.raises(ValueError, match="needs a flag starting with '--no-', received '--cache'"):
        option(True, "--cache")
    with pytest.raises(ValueError, match="needs a flag not starting with '--no-'"):
        option(False, "--no-flip")
    with pytest.raises(ValueError, match="flag must start with '--', received 'epochs'"):
        option(1, "epochs")
    with pytest.raises(ValueError, match="needs the reason"):
        not_an_option("")


def test_the_page_builds_its_config_from_the_widgets(artifacts, monkeypatch):
    """Every widget of TRAINING_WIDGETS, changed on the running page, lands in the TrainConfig it builds."""
    rows = [{"sample_id": f"F:{s}/{e}/{i}", "path": f"/nowhere/{s}/{e}/{i}.png", "dataset": "Faces", "split": s,
             "label": e} for s in ("train", "validation", "test") for e in EMOTIONS for i in range(3)]
    register_dataset(pd.DataFrame(rows), "Faces", "manifest", {}, artifacts)
    built: list = []
    real = settings.training_settings
    monkeypatch.setattr(settings, "training_settings", lambda: built.append(real()) or built[-1])
    monkeypatch.setenv("FERBIAS_ARTIFACTS", str(artifacts))
    monkeypatch.chdir(REPO)
    at = AppTest.from_file(str(REPO / "pages" / "train_or_load.py"), default_timeout=120).run()
    assert not at.exception and built[-1] == TrainConfig()
    changed = {"weights": "random", "input_size": 64, "batch_size": 16, "seed": 3, "phase1_epochs": 2,
               "phase2_epochs": 1, "phase1_learning_rate": 1e-3, "phase2_learning_rate": 1e-4, "unfreeze_layers": 5,
               "class_weight": "balanced", "phase2_mode": "full", "feature_cache": False, "precision": "bfloat16"}
    assert set(changed) == set(TRAINING_WIDGETS)  # every widget is exercised
    at.selectbox(key="tl_weights").set_value("random")
    for key, value in (("tl_size", 64), ("tl_batch", 16), ("tl_seed", 3), ("tl_e1", 2), ("tl_e2", 1),
                       ("tl_lr1", 1e-3), ("tl_lr2", 1e-4), ("tl_unfreeze", 5)):
        at.number_input(key=key).set_value(value)
    for key, value in (("tl_cw", "balanced"), ("tl_p2", "full"), ("tl_precision", "bfloat16")):
        at.selectbox(key=key).set_value(value)
    at.toggle(key="tl_cache").set_value(False)
    at.run()
    assert not at.exception
    assert built[-1] == TrainConfig(**changed)
