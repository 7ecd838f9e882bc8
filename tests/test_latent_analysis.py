"""core.latent.analysis: the staged pipeline (embed and project, one k, probes) and its files, on tiny images
with a planted race structure and a model-free extractor (no TensorFlow)."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from core.attributes import attribute_values, available_attributes
from core.data.datasets import load_utkface
from core.latent import (ClusterConfig, EmbeddingConfig, Extractor, ProjectionConfig, analyse_clusters,
                         assignments_table, embed_and_project, run_cluster_analysis, write_analysis)
from core.latent.analysis import DEFAULT_ATTRIBUTES

PCA = ProjectionConfig(method="pca")


def _load(paths) -> np.ndarray:
    return np.stack([cv2.imread(str(p)).astype(np.float32).ravel() / 255.0 for p in paths])


#: Embeds an 8 x 8 image as its 192 pixel values: images that look alike are close.
PIXELS = Extractor(source="pixels", namespace="test-pixels-8", batch_fn=lambda batch: batch, load_fn=_load,
                   select=lambda arr: arr, input_size=8, weights_used="none", warning=None,
                   description="raw pixels (test)")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> pd.DataFrame:
    """24 images, 6 persons of 4 frames: 12 blue (White) and 12 red (Black), each with its own noise (two colours,
    not two brightnesses: the l2 normalisation before clustering would make those alike)."""
    folder = tmp_path_factory.mktemp("tiny")
    rng = np.random.default_rng(0)
    rows = []
    for i in range(24):
        race = "White" if i < 12 else "Black"
        colour = (200, 40, 40) if race == "White" else (40, 40, 200)
        img = np.clip(np.array(colour) + rng.normal(0, 10, (8, 8, 3)), 0, 255).astype(np.uint8)
        path = folder / f"{i}.png"
        cv2.imwrite(str(path), img)
        rows.append({"sample_id": f"s{i}", "path": str(path), "race": race,
                     "gender": "Female" if i % 2 else "Male", "age": 15 + 2 * i, "person": f"p{i // 4}"})
    return pd.DataFrame(rows)


def test_clusters_follow_the_planted_race_structure(tiny, tmp_path) -> None:
    messages: list[str] = []
    res = run_cluster_analysis(tiny, 2, EmbeddingConfig("fer"), PCA, k_values=(2, 3, 30), n_permutations=99,
                               artifacts=tmp_path, extractor=PIXELS, warm_up=False,
                               progress=lambda d, t, m="": messages.append(m))
    assert res.curves["k"].tolist() == [2, 3]  # 30 > n - 1 = 23 is dropped
    assert res.primary == "race" and res.settings["attributes"] == ["race", "gender", "age_group"]  # no label
    clusters = res.frame.groupby("race")["cluster"].agg(["nunique", "first"])
    assert clusters["nunique"].tolist() == [1, 1] and clusters["first"].nunique() == 2  # one cluster per race
    assert res.tests["race"].cramers_v == pytest.approx(1.0)
    assert sorted(res.kmeans.sizes) == [12, 12]
    assert list(res.frame.columns[:4]) == ["sample_id", "x", "y", "cluster"]
    assert {"path", "race", "gender", "age", "person", "age_group"} <= set(res.frame.columns)
    assert res.frame["age_group"].tolist()[:3] == ["0-19", "0-19", "0-19"] and res.frame["age_group"].iloc[-1] == (
        "60+")  # ages 15, 17, 19 ... 61
    assert res.embedding["source"] == "pixels" and messages[-1] == "done"
    assert any(m.startswith("embedding: ") for m in messages) and "testing race" in messages
    assert res.probes["race"].accuracy == pytest.approx(1.0)


def test_stages_reuse_the_space_for_another_k(tiny, tmp_path) -> None:
    space = embed_and_project(tiny, EmbeddingConfig("fer"), PCA, k_values=(2, 3, 4), artifacts=tmp_path,
                              extractor=PIXELS, warm_up=False)
    assert space.xy.shape == (24, 2) and space.k_values == [2, 3, 4]
    assert space.persons.tolist() == tiny["person"].tolist()
    assert space.embeddings.vectors.shape == (24, 192)
    three = analyse_clusters(space, 3, attributes=["gender"], n_permutations=99, probe=False)
    assert three.kmeans.k == 3 and list(three.tests) == ["gender"] and three.probes == {}
    assert three.settings["k_values"] == [2, 3, 4]
    no_persons = embed_and_project(tiny.drop(columns=["person"]), EmbeddingConfig("fer"), PCA, k_values=(2,),
                                   artifacts=tmp_path, extractor=PIXELS, warm_up=False)
    assert no_persons.persons is None and no_persons.embeddings.n_computed == 0  # embeddings came from the cache


def test_k_is_checked_before_anything_runs(tiny, tmp_path) -> None:
    with pytest.raises(ValueError, match=r"no k of \[30, 40\] is in \[2, n - 1\] = \[2, 23\]; 24 faces were given"):
        embed_and_project(tiny, k_values=(30, 40), artifacts=tmp_path, extractor=PIXELS, warm_up=False)
    with pytest.raises(ValueError, match="k must be between 2 and 23"):
        run_cluster_analysis(tiny, 24, artifacts=tmp_path, extractor=PIXELS, warm_up=False)


def test_without_attributes_only_clusters_are_computed(tiny, tmp_path) -> None:
    res = run_cluster_analysis(tiny[["sample_id", "path"]], 2, EmbeddingConfig("fer"), PCA, k_values=(2,),
                               n_permutations=99, artifacts=tmp_path, extractor=PIXELS, warm_up=False)
    s = res.summary()
    assert res.primary is None and s["attribute"] is None and s["composition"] == {} and s["chi2_p"] is None
    assert s["note"] == "no demographic attribute with at least 2 groups: only clusters were computed"
    assert list(assignments_table(res).columns) == ["sample_id", "cluster", "path"]


def test_written_files(tiny, tmp_path) -> None:
    res = run_cluster_analysis(tiny, 2, EmbeddingConfig("fer"), PCA, k_values=(2, 3), n_permutations=99,
                               artifacts=tmp_path, extractor=PIXELS, warm_up=False, clustering=ClusterConfig())
    summary_file = write_analysis(res, tmp_path / "out", extra={"dataset": "tiny"})
    out = tmp_path / "out"
    assert summary_file == out / "clusters.json"
    summary = json.loads(summary_file.read_text())
    assert summary["k"] == 2 and summary["n"] == 24 and summary["attribute"] == "race"
    assert summary["dataset"] == "tiny" and sum(summary["cluster_sizes"]) == 24
    assert set(summary["tests"]) == {"race", "gender", "age_group"}
    assert [row["k"] for row in summary["curves"]] == [2, 3]
    assign = pd.read_csv(out / "assignments.csv")
    assert list(assign.columns) == ["sample_id", "cluster", "path", "race", "gender", "age", "age_group", "person"]
    assert len(pd.read_parquet(out / "projection.parquet")) == 24
    assert pd.read_csv(out / "curves.csv")["k"].tolist() == [2, 3]
    comp = pd.read_csv(out / "composition_race.csv", index_col="cluster")
    assert {"All"} <= set(comp.index.astype(str))
    assert sorted(Path(p).name for p in out.glob("composition_*.csv")) == [
        "composition_age_group.csv", "composition_gender.csv", "composition_race.csv"]


def test_attributes_derived_from_manifest(utkface_dir):
    utk = load_utkface(utkface_dir)
    assert available_attributes(utk, DEFAULT_ATTRIBUTES) == ["race", "gender", "age_group"]  # no emotion label
    ages = attribute_values(utk, "age_group")
    assert set(ages.dropna()) <= {"0-19", "20-39", "40-59", "60+"} and ages.notna().all()
    assert attribute_values(utk, "skin_color") is None
