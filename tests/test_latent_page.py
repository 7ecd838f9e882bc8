"""AppTest of pages/latent.py on a tiny registered dataset of real UTKFace faces (fer embeddings, PCA)."""
from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core.data.datasets import load_utkface
from core.latent import ClusterConfig, EmbeddingConfig, ProjectionConfig, run_cluster_analysis, select_rows
from core.data.registry import load_dataset, register_dataset
from pages._ui import ComputedOnce, StepProgress

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


def test_imagenet_weights_that_cannot_be_downloaded_are_said_before_the_button(tiny, artifacts):
    at = AppTest.from_file(str(PAGE), default_timeout=60)
    at.session_state["imagenet_status"] = {"resnet50": (False, "URLError: offline")}  # what offline finds
    at.run()
    assert not at.exception
    warning = " ".join(w.value for w in at.warning)
    assert "ImageNet weights for resnet50 cannot be downloaded here" in warning and "URLError: offline" in warning
    assert "random weights under Weights" in warning and "--weights" not in warning  # the widget, not a flag
    assert at.button(key="lat_go").disabled
    at.button(key="lat_use_random").click().run()
    assert at.selectbox(key="lat_weights").value == "random"
    assert not at.warning and not at.button(key="lat_go").disabled
    assert "Embed and cluster" in _texts(at)


def test_weights_that_fail_to_load_after_the_button_are_said_in_words(tiny, artifacts, monkeypatch):
    import pages._latent_stages as stages
    from core.common._errors import WeightsUnavailableError
    from core.models.backbones import WEIGHTS_ALTERNATIVES

    def fails(config):
        raise WeightsUnavailableError(f"ImageNet weights for resnet50 could not be loaded (Exception: URL fetch "
                                      f"failure); {WEIGHTS_ALTERNATIVES}")

    monkeypatch.setattr(stages, "build_extractor", fails)
    at = AppTest.from_file(str(PAGE), default_timeout=60)
    at.session_state["imagenet_status"] = {"resnet50": (True, "downloadable")}  # the quick check said yes
    at.run()
    at.button(key="lat_go").click().run()
    assert not at.exception
    error = " ".join(e.value for e in at.error)
    assert "could not be loaded (Exception: URL fetch failure)" in error and "random weights under Weights" in error
    assert "--weights" not in error
    assert [s.state for s in at.status] == ["error"]  # the progress box does not stay "running"
    assert at.button(key="lat_use_random")


@pytest.mark.slow
def test_latent_page_embeds_clusters_and_tests(tiny, artifacts):
    at = AppTest.from_file(str(PAGE), default_timeout=180)
    at.session_state["imagenet_status"] = {"resnet50": (True, "cached")}  # the default model, as online
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

    again = AppTest.from_file(str(PAGE), default_timeout=180)  # a new session: the space comes from the cache
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


def _array(value) -> np.ndarray:
    """A plotly JSON array: a list, or a typed array ``{"dtype", "bdata"}`` (base64)."""
    if isinstance(value, dict):
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"]).astype(float)
    return np.asarray(value, dtype=float)


def _metric(at: AppTest, label_start: str) -> str:
    return next(m.value for m in at.metric if m.label.startswith(label_start))


@pytest.mark.slow
def test_latent_page_shows_the_numbers_of_run_cluster_analysis(tiny, artifacts):
    """The page runs the stages of ``python -m core clusters``: same tables for the same settings."""
    at = AppTest.from_file(str(PAGE), default_timeout=180)
    at.run()
    at.selectbox(key="lat_model").set_value("fer")
    at.selectbox(key="lat_method").set_value("pca")
    at.number_input(key="lat_nperm").set_value(99)
    at.number_input(key="lat_seed").set_value(3)
    at.run()
    at.button(key="lat_go").click().run()
    at.number_input(key="lat_k").set_value(3).run()
    assert not at.exception, at.exception

    rows = select_rows(load_dataset("UTK tiny", artifacts), 40, 3)
    cli = run_cluster_analysis(rows, 3, EmbeddingConfig("fer", precision="float32", seed=3),
                               ProjectionConfig(method="pca", normalize="l2", seed=3),
                               ClusterConfig(normalize="l2", pca_dims=50, seed=3), k_values=range(2, 11),
                               n_permutations=99, artifacts=artifacts)
    for attribute in ("race", "gender"):
        at.selectbox(key="lat_attr").set_value(attribute).run()
        assert not at.exception, at.exception
        page_table = at.dataframe[0].value
        cli_table = cli.compositions[attribute].table()
        assert list(page_table.index.astype(str)) == list(cli_table.index.astype(str))
        assert list(page_table.columns) == list(cli_table.columns)
        np.testing.assert_allclose(page_table.to_numpy(dtype=float), cli_table.to_numpy(dtype=float))
        test, probe = cli.tests[attribute], cli.probes[attribute]
        assert _metric(at, "Cramér") == f"{test.cramers_v:.2f}"
        assert _metric(at, "perm. p") == (f"{test.permutation_p:.0e}" if test.permutation_p < 1e-3
                                          else f"{test.permutation_p:.3f}")
        assert _metric(at, "probe accuracy") == f"{probe.accuracy:.1%}"
        assert _metric(at, "balanced accuracy") == f"{probe.balanced_accuracy:.1%}"
    traces = [t for c in at.get("plotly_chart") for t in json.loads(c.proto.spec)["data"]]
    for curve in ("inertia", "silhouette"):
        trace = next(t for t in traces if t.get("name") == curve)
        np.testing.assert_allclose(_array(trace["x"]), cli.curves["k"])
        np.testing.assert_allclose(_array(trace["y"]), cli.curves[curve], rtol=1e-6)

class _Bar:
    def __init__(self) -> None:
        self.calls: list[tuple[float, str]] = []

    def progress(self, value: float, text: str = "") -> None:
        self.calls.append((value, text))


def test_step_progress_restarts_the_eta_per_step():
    clock = iter([0.0, 0.0, 0.0, 10.0, 10.0, 10.0, 12.0]).__next__  # init, then per call: step start, now
    bar = _Bar()
    report = StepProgress(bar, clock=clock)
    report(0, 100, "embedding: 0 cached, 100 to compute")
    report(50, 100, "embedding: computing features")
    report(0, 1, "projecting (pca)")
    report(1, 4, "clustering: KMeans k=2")
    assert bar.calls[0] == (0.0, "Embedding: 0/100 (0 cached, 100 to compute)")
    assert bar.calls[1] == (0.5, "Embedding: 50/100, ETA 0m 10s (computing features)")
    assert bar.calls[2] == (0.0, "Projecting (pca)")
    assert bar.calls[3] == (0.25, "Clustering: 1/4, ETA 0m 06s (KMeans k=2)")


def test_computed_once_computes_once_and_retries_after_an_error():
    holder: ComputedOnce[int] = ComputedOnce()
    calls = []

    def failing() -> int:
        calls.append("fail")
        raise ValueError("no")

    with pytest.raises(ValueError):
        holder.get(failing)
    assert holder.get(lambda: calls.append("ok") or 7) == (7, True)
    assert holder.get(lambda: calls.append("again") or 8) == (7, False)
    assert calls == ["fail", "ok"]
