"""The synthetic demo: deterministic, split by person, labelled synthetic, and biased exactly as documented."""
from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

import core.data.demo as demo
from core.cli import main
from core.data.demo import GROUPS, DemoConfig, describe_bias, ensure_demo, find_demo, generate_demo, persons_per_split
from core.data.labels import EMOTIONS
from core.data.registry import list_datasets, load_dataset

SMALL = DemoConfig(n_persons={"Light": 3, "Medium": 3, "Dark": 3}, images_per_person=7, image_size=48)


@pytest.fixture(scope="module")
def default_demo(tmp_path_factory) -> pd.DataFrame:
    """The default demo (what the app registers on first run), drawn once for this module."""
    return generate_demo(tmp_path_factory.mktemp("demo"), seed=0)


def _digest(paths) -> str:
    h = hashlib.sha1()
    for p in paths:
        h.update(Path(p).read_bytes())
    return h.hexdigest()


def test_default_demo_contents(default_demo):
    df = default_demo
    assert len(df) == (64 + 64 + 40) * 14
    assert set(df["dataset"]) == {"SyntheticDemo"} and set(df["race"]) == set(GROUPS)
    assert set(df["label"]) == set(EMOTIONS) and set(df["gender"]) == {"Male", "Female"}
    assert df["skin_color"].str.match(r"^#[0-9a-f]{6}$").all()
    assert df.groupby("person").size().min() >= 7  # several images per person
    assert df["yaw"].abs().min() < 5 and df["yaw"].abs().max() > 85  # frontal to full profile
    assert (df["side_profile"] == (df["yaw"].abs() >= demo.SIDE_PROFILE_DEG)).all()
    assert 0.1 < df["side_profile"].mean() < 0.4
    assert set(df["occlusion"]) == {"none", "glasses", "sunglasses"}
    assert df["brightness"].std() > 0.1 and df["noise_sigma"].min() > 0
    img = cv2.imread(df["path"].iloc[0], cv2.IMREAD_UNCHANGED)
    assert img.shape == (96, 96, 3) and img.std() > 10
    assert df.attrs["demo"]["bias"] == describe_bias(DemoConfig())


def test_persons_never_cross_splits(default_demo):
    splits_per_person = default_demo.groupby("person")["split"].nunique()
    assert (splits_per_person == 1).all()
    # every group has persons in every split, so each split can be analysed per group
    assert (default_demo.groupby(["race", "split"])["person"].nunique() >= 2).all()
    # stratified by group, with enough test persons per group for person-level intervals (>= 10 Dark)
    counts = default_demo.groupby(["race", "split"])["person"].nunique().unstack()
    assert counts.to_dict(orient="index") == persons_per_split()
    assert counts.loc["Dark", "test"] == 14 and counts.loc["Light", "test"] == counts.loc["Medium", "test"] == 22


def test_bias_is_planted_as_documented(default_demo):
    df = default_demo
    persons = df.groupby("race")["person"].nunique()
    assert persons.to_dict() == {"Light": 64, "Medium": 64, "Dark": 40}  # under-represented group
    train = df[df["split"] == "train"].groupby("race")["person"].nunique()
    assert train.to_dict() == {"Light": 32, "Medium": 32, "Dark": 20}  # also in what a model learns from
    intensity = df.groupby("race")["intensity"].mean()
    assert abs(intensity["Dark"] - 0.45) < 0.05 and abs(intensity["Light"] - 1.0) < 0.05
    assert abs(intensity["Medium"] - 1.0) < 0.05
    # nothing else differs by group on purpose: label, occlusion and pose mixes match
    for col in ("label", "occlusion", "side_profile"):
        shares = pd.crosstab(df["race"], df[col], normalize="index")
        assert (shares.max() - shares.min()).max() < 0.12, col
    # darker skin colours for the darker group
    lum = df.drop_duplicates("person").assign(
        lum=lambda d: d["skin_color"].map(lambda h: sum(int(h[i:i + 2], 16) for i in (1, 3, 5))))
    assert lum.groupby("race")["lum"].mean().sort_values().index.tolist() == ["Dark", "Medium", "Light"]


def test_a_model_does_worse_on_the_subtle_group(default_demo):
    """What the analysis pages should find: a linear classifier on HOG features is worst on 'Dark'."""
    from sklearn.linear_model import RidgeClassifier
    from sklearn.preprocessing import StandardScaler

    df = default_demo
    hog = cv2.HOGDescriptor((64, 64), (16, 16), (8, 8), (8, 8), 9)
    feats = np.array([hog.compute(cv2.resize(cv2.imread(p, cv2.IMREAD_GRAYSCALE), (64, 64))).ravel()
                      for p in df["path"]])
    train = (df["split"] == "train").to_numpy()
    scaler = StandardScaler().fit(feats[train])
    clf = RidgeClassifier(alpha=100.0).fit(scaler.transform(feats[train]), df.loc[train, "label"])
    held = df[~train].assign(correct=clf.predict(scaler.transform(feats[~train])) == df.loc[~train, "label"])
    acc = held.groupby("race")["correct"].mean()
    assert acc["Light"] > 0.4 and acc["Medium"] > 0.4  # expressions are learnable
    assert acc["Dark"] < min(acc["Light"], acc["Medium"]) - 0.15
    by_pose = held.groupby("side_profile")["correct"].mean()
    assert by_pose[True] < by_pose[False]  # profiles are harder


def test_generation_is_deterministic(tmp_path):
    a = generate_demo(tmp_path / "a", seed=3, config=SMALL)
    b = generate_demo(tmp_path / "b", seed=3, config=SMALL)
    c = generate_demo(tmp_path / "c", seed=4, config=SMALL)
    rel = lambda df, root: df.assign(path=df["path"].map(lambda p: str(Path(p).relative_to(root))))  # noqa: E731
    pd.testing.assert_frame_equal(rel(a, tmp_path / "a"), rel(b, tmp_path / "b"))
    assert _digest(a["path"]) == _digest(b["path"])
    assert _digest(a["path"]) != _digest(c["path"])
    assert len(a) == 9 * 7 and set(a.groupby("person")["label"].nunique()) == {7}


@pytest.mark.parametrize("kwargs, words", [
    ({"n_persons": {"Light": 3, "Medium": 3}}, "exactly the groups"),
    ({"n_persons": {"Light": 3, "Medium": 3, "Dark": 2}}, ">= 3"),
    ({"intensity": {"Light": 1.0, "Medium": 1.0, "Dark": 0.0}}, "intensity"),
    ({"image_size": 16}, "image_size"),
    ({"split_fractions": (0.5, 0.5, 0.5)}, "split_fractions"),
])
def test_config_is_validated(kwargs, words):
    with pytest.raises(ValueError, match=words):
        DemoConfig(**kwargs)


def test_ensure_demo_registers_once_as_synthetic(artifacts):
    info = ensure_demo(artifacts, config=SMALL)
    assert info.name == "Synthetic demo" and info.synthetic and info.n_samples == 63
    assert "planted bias" in info.source["bias"] and info.source["seed"] == "0"
    again = ensure_demo(artifacts)  # config None: keep what is registered
    assert again.created == info.created
    assert ensure_demo(artifacts, config=SMALL).created == info.created
    df = load_dataset("Synthetic demo", artifacts)
    assert all(Path(p).is_file() and Path(p).is_relative_to(info.path) for p in df["path"])
    redo = ensure_demo(artifacts, config=SMALL, regenerate=True)
    assert redo.created > info.created
    assert sorted(p.name for p in (artifacts / "datasets").iterdir()) == [
        ".synthetic-demo.lock", ".synthetic-demo.register.lock", "synthetic-demo"]  # lock files, one dataset


def test_crash_midway_never_leaves_a_half_dataset(artifacts, monkeypatch):
    real = demo.draw_face
    calls = {"n": 0}

    def failing(spec, size, rng):
        calls["n"] += 1
        if calls["n"] > 20:
            raise RuntimeError("simulated crash")
        return real(spec, size, rng)

    monkeypatch.setattr(demo, "draw_face", failing)
    with pytest.raises(RuntimeError, match="simulated crash"):
        ensure_demo(artifacts, config=SMALL)
    assert find_demo(artifacts) is None and list_datasets(artifacts) == []
    monkeypatch.setattr(demo, "draw_face", real)
    first = ensure_demo(artifacts, config=SMALL)
    calls["n"] = 0
    monkeypatch.setattr(demo, "draw_face", failing)
    with pytest.raises(RuntimeError):
        ensure_demo(artifacts, config=SMALL, regenerate=True)
    kept = find_demo(artifacts)  # a failed regeneration keeps the complete old dataset
    assert kept is not None and kept.created == first.created
    assert all(Path(p).is_file() for p in load_dataset("Synthetic demo", artifacts)["path"])
    monkeypatch.setattr(demo, "draw_face", real)

    def failing_register(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(demo, "register_dataset", failing_register)  # fails after the new images moved in
    with pytest.raises(OSError, match="disk full"):
        ensure_demo(artifacts, config=SMALL, regenerate=True)
    kept = find_demo(artifacts)
    assert kept is not None and kept.created == first.created
    assert all(Path(p).is_file() for p in load_dataset("Synthetic demo", artifacts)["path"])
    assert sorted(p.name for p in (artifacts / "datasets").iterdir()) == [
        ".synthetic-demo.lock", ".synthetic-demo.register.lock", "synthetic-demo"]  # lock files, one dataset


def test_demo_cli(artifacts, capsys):
    args = ["demo", "--artifacts", str(artifacts), "--n-persons", "Light=3", "Medium=3", "Dark=3",
            "--images-per-person", "7", "--image-size", "48"]
    assert main(args) == 0
    assert "registered 'Synthetic demo' (synthetic): 63 images" in capsys.readouterr().out
    assert main(["demo", "--artifacts", str(artifacts), "--n-persons", "Dark=1"]) == 2
    assert ">= 3" in capsys.readouterr().err
    assert find_demo(artifacts).n_samples == 63  # a rejected config changes nothing
