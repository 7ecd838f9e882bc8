"""End to end on the synthetic demo: a sweep of 2 configurations x 3 training seeds, then the seed spread on the
Trade-offs page (figure, table column, comparison verdict) and in the HTML report.

Smallest settings (random weights, 32 px, 1 epoch, no phase 2) on a small demo; the features are cached once
per configuration and reused by every seed.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.cli import main
from core.data.demo import DEMO_NAME, DemoConfig, ensure_demo
from core.data.registry import load_dataset, register_dataset
from core.evaluation.report import build_report
from core.evaluation.runs import list_runs
from core.evaluation.seeds import group_seed_spread, seed_sd_table
from tests._artifacts import private_artifacts

pytestmark = pytest.mark.slow  # trains 6 tiny runs (about 80 s on 2 cores)

REPO = Path(__file__).resolve().parent.parent
SMALL = DemoConfig(n_persons={"Light": 3, "Medium": 3, "Dark": 3}, images_per_person=7, image_size=48)
TINY = ["--weights", "random", "--input-size", "32", "--epochs1", "1", "--epochs2", "0", "--batch-size", "8",
        "--eval-dataset", DEMO_NAME]


@pytest.fixture(scope="module")
def seed_runs_src(tmp_path_factory) -> Path:
    art = tmp_path_factory.mktemp("seeds") / "artifacts"
    ensure_demo(art, config=SMALL)
    demo = load_dataset(DEMO_NAME, art)
    half = demo[demo["person"].isin(sorted(demo["person"].unique())[::2])].assign(dataset="Half demo")
    half["sample_id"] = "half:" + half["sample_id"].astype(str)
    register_dataset(half.reset_index(drop=True), "Half demo", "manifest", {}, art)
    assert main(["sweep", "--mix", DEMO_NAME, "--mix", "Half demo", "--seeds", "3", *TINY,
                 "--artifacts", str(art)]) == 0
    return art


@pytest.fixture()
def seed_runs(seed_runs_src: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return private_artifacts(seed_runs_src, tmp_path, monkeypatch)


def test_sweep_with_three_seeds_gives_two_seed_groups_of_three(seed_runs_src: Path) -> None:
    runs = [r for r in list_runs(seed_runs_src) if r.kind == "training"]
    assert len(runs) == 6
    table = seed_sd_table(runs, "race")
    assert table["n_seeds"].tolist() == [3, 3] and table["accuracy_sd"].notna().all()
    seeds = {json.loads((r.path / "config.json").read_text())["training"]["seed"] for r in runs}
    assert seeds == {0, 1, 2}
    spread = group_seed_spread(runs, "race")
    assert set(spread["group"]) == {"Light", "Medium", "Dark"} and (spread["n_seeds"] == 3).all()


def _seed_table(at: AppTest):
    return next(d.value for d in at.dataframe if "training seeds" in d.value.columns)


def _ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_tradeoffs_shows_the_seed_spread_and_the_verdict(seed_runs: Path) -> None:
    at = AppTest.from_file(str(REPO / "pages" / "tradeoffs.py"), default_timeout=180)
    at.session_state["to_use_ref"] = False
    _ok(at.run())
    assert any(h.value == "Spread across training seeds" for h in at.subheader)
    fig = next(c for c in at.get("plotly_chart") if c.key == "to_seed_fig_0")
    spec = json.loads(fig.proto.spec)
    means = [t for t in spec["data"] if t["marker"].get("symbol") == "diamond"]
    assert sorted(t["name"] for t in means) == ["Dark", "Light", "Medium"]
    assert all(len(t["y"]) == 2 for t in means)  # two configurations
    seed_table = _seed_table(at)
    assert set(seed_table["training seeds"]) == {"3 (0, 1, 2)"}
    assert seed_table["accuracy % (mean ± across-seed sd)"].str.contains(" ± ").all()
    results = next(d.value for d in at.dataframe if "n frames (persons)" in d.value.columns)
    assert results["accuracy: across-seed sd"].str.endswith("(3 seeds)").all()
    a = at.selectbox(key="to_cmp_a").value
    other = next(o for o in at.selectbox(key="to_cmp_b").options if o.split(" · ")[0] != a.split(" · ")[0])
    _ok(at.selectbox(key="to_cmp_b").select(other).run())
    assert any(m.value.startswith("**Across training seeds.** ") and "means over seeds differ by" in m.value for m in at.markdown)
    assert any("Welch t" in c.value for c in at.caption)


def test_a_chosen_seed_brings_its_siblings(seed_runs: Path) -> None:
    at = AppTest.from_file(str(REPO / "pages" / "tradeoffs.py"), default_timeout=180)
    at.session_state["to_use_ref"] = False
    at.session_state["to_runs"] = [str(r.path) for r in list_runs(seed_runs) if r.config["training"]["seed"] == 0][:1]
    _ok(at.run())
    assert any(h.value == "Spread across training seeds" for h in at.subheader)
    assert len(_seed_table(at)) == 1  # its 3 seeds, one row


def test_one_seed_says_in_one_line_how_to_get_a_spread(seed_runs: Path) -> None:
    import shutil

    for r in list_runs(seed_runs):
        if r.config["training"]["seed"] != 0:
            shutil.rmtree(r.path)
    at = AppTest.from_file(str(REPO / "pages" / "tradeoffs.py"), default_timeout=180)
    at.session_state["to_use_ref"] = False
    _ok(at.run())
    assert not any(h.value == "Spread across training seeds" for h in at.subheader)
    assert not any(c.key and c.key.startswith("to_seed") for c in at.get("plotly_chart"))
    assert sum('set "training seeds (repeats)" on the Train or load page' in c.value for c in at.caption) == 1


def test_report_has_the_seed_spread_table(seed_runs: Path) -> None:
    runs = [r for r in list_runs(seed_runs) if r.kind == "training"]
    bundle = build_report(runs, include_reference=False, n_boot=200)
    assert "Spread across training seeds" in bundle.html and "accuracy % (mean ± across-seed sd)" in bundle.html
    assert "3 (0, 1, 2)" in bundle.html and "across training seeds" in bundle.html.lower()
    assert not bundle.tables["seeds"].empty and set(bundle.tables["seeds"]["n_seeds"]) == {3}
    assert "accuracy: across-seed sd" in bundle.html and "(3 seeds)" in bundle.html
    assert "Across training seeds: mean accuracy A" in bundle.html  # a comparison of the two configurations
    assert "same configuration trained with different seeds" in bundle.html  # a comparison of two seeds
