"""AppTest of pages/latent.py on a tiny registered dataset of real UTKFace faces (fer embeddings, PCA)."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core.datasets import load_utkface
from core.registry import register_dataset

PAGE = Path(__file__).resolve().parent.parent / "pages" / "latent.py"


@pytest.fixture()
def tiny(utkface_dir, artifacts):
    manifest = load_utkface(utkface_dir).groupby("race").head(8).reset_index(drop=True)  # 40 faces
    register_dataset(manifest, "UTK tiny", "utkface", {"path": str(utkface_dir)}, artifacts)
    run = artifacts / "runs" / "eval-tiny"
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"kind": "evaluation", "label": "tiny eval"}))
    half = manifest.head(20)
    pd.DataFrame({"sample_id": half["sample_id"], "true": ["happy"] * 20,
                  "pred": ["happy", "sad"] * 10}).to_parquet(run / "predictions.parquet")
    return manifest


def _texts(at: AppTest) -> str:
    return " ".join(str(e.value) for e in list(at.caption) + list(at.info) + list(at.markdown) + list(at.warning))


def test_latent_page_embeds_clusters_and_tests(tiny, artifacts):
    at = AppTest.from_file(str(PAGE), default_timeout=180)
    at.run()
    assert not at.exception
    assert "Embed and cluster" in _texts(at)  # nothing heavy runs before the button
    at.selectbox(key="lat_model").set_value("fer")
    at.selectbox(key="lat_method").set_value("pca")
    at.number_input(key="lat_nperm").set_value(99)
    at.run()
    at.button(key="lat_go").click().run()
    assert not at.exception, at.exception
    assert any("Cramér" in m.label for m in at.metric)
    comp = at.dataframe[0].value
    assert list(comp.index)[-1] == "All" and int(comp.loc["All", "n"]) == 40
    assert "40 faces" in _texts(at) and "conv2d_7" in _texts(at)
    precision = at.selectbox(key="lat_precision")
    assert precision.value == "bfloat16" and precision.disabled  # backbones only: the fer model runs float32
    assert "float32" in _texts(at)

    at.number_input(key="lat_k").set_value(3).run()  # a new k reuses the cached embedding
    assert not at.exception
    assert len(at.dataframe[0].value) == 4  # 3 clusters + All
    assert "40 computed by the model" in _texts(at)

    at.selectbox(key="lat_colour").set_value("correct (a run's predictions)").run()
    assert not at.exception
    assert "20 of 40 faces have a prediction" in _texts(at)
    at.selectbox(key="lat_attr").set_value("gender").run()
    assert not at.exception
    at.toggle(key="lat_hover").set_value(True).run()  # faces-on-hover chart
    assert not at.exception

    again = AppTest.from_file(str(PAGE), default_timeout=180)  # a new session: embeddings come from the disk cache
    again.run()
    again.selectbox(key="lat_model").set_value("fer")
    again.selectbox(key="lat_method").set_value("pca")
    again.run()
    again.button(key="lat_go").click().run()
    assert not again.exception
    assert "0 computed by the model" in _texts(again)


def test_latent_page_reports_bad_data(utkface_dir, artifacts, tmp_path):
    manifest = load_utkface(utkface_dir).head(6).reset_index(drop=True)
    manifest.loc[2, "path"] = str(tmp_path / "deleted.jpg")
    register_dataset(manifest, "broken", "utkface", {"path": str(utkface_dir)}, artifacts)
    at = AppTest.from_file(str(PAGE), default_timeout=120)
    at.run()
    at.selectbox(key="lat_model").set_value("fer")
    at.run()
    at.button(key="lat_go").click().run()
    assert not at.exception
    assert any("deleted.jpg" in str(e.value) for e in at.error)
