"""AppTest of the Trade-offs, Misclassified faces and Report pages on the published results and on tiny runs."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from _evaluation_data import make_run, synthetic_predictions
from tests._artifacts import private_artifacts

REPO = Path(__file__).resolve().parent.parent


def _page(name: str) -> AppTest:
    return AppTest.from_file(str(REPO / "pages" / name), default_timeout=120)


def _ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def _no_demo(artifacts: Path) -> Path:
    """Opt out of the automatic synthetic demo so an empty folder stays empty (fast)."""
    (artifacts / "datasets").mkdir(exist_ok=True)
    (artifacts / "datasets" / ".demo-removed").touch()
    return artifacts


@pytest.fixture(scope="module")
def tiny_runs_src(tmp_path_factory) -> Path:
    art = tmp_path_factory.mktemp("pages") / "artifacts"
    imgs = art.parent / "imgs"
    make_run(art, "run-a", synthetic_predictions(seed=1, skill=0.4, image_dir=imgs), "baseline")
    make_run(art, "run-b", synthetic_predictions(seed=2, skill=0.7, image_dir=imgs), "mixed")
    _no_demo(art)
    return art


@pytest.fixture()
def tiny_runs(tiny_runs_src: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return private_artifacts(tiny_runs_src, tmp_path, monkeypatch)


def _chart(at, key: str):
    return next(c for c in at.get("plotly_chart") if c.key == key)


def _element(at, key: str) -> dict:
    """The data a page sent to its element (a ``st.components.v2`` component) with key ``key``."""
    import json

    return json.loads(next(c for c in at.get("bidi_component") if c.proto.id.endswith(f"-{key}")).proto.json)


def test_tradeoffs_on_reference_results(artifacts: Path) -> None:
    at = _ok(_page("tradeoffs.py").run())
    assert len(at.get("plotly_chart")) == 2 and len(at.dataframe) == 1
    assert any("No trained runs" in i.value for i in at.info)
    assert any("Chen, Y. (2024)" in c.value for c in at.caption)
    table = at.dataframe[0].value
    assert "FER2013 only" in table.index and "12.20" in table.loc["FER2013 only", "% std published"]
    at.selectbox(key="to_family").select("Figure 8 (SFEW + EiLA)").run()
    _ok(at)
    assert list(at.dataframe[0].value.index) == ["SFEW only", "SFEW + 10% EiLA", "SFEW + 30% EiLA",
                                                 "SFEW + 50% EiLA", "SFEW + 100% EiLA"]


def test_tradeoffs_on_tiny_runs(tiny_runs: Path) -> None:
    at = _ok(_page("tradeoffs.py").run())
    leakage = [c.value for c in at.caption if c.value.startswith("Identity leakage")]
    assert len(leakage) == 1 and leakage[0].count("leakage not checked") == 1, leakage  # one line for both runs
    assert "2 runs (" in leakage[0], leakage
    # two evaluation sets (the tiny runs' and the published one): one table and one front each
    assert [h.value.split(" · ")[0] for h in at.header] == ["Synthetic", "EiLA test split as published by Chen (2024), TScIT 41"]
    tables = [d.value for d in at.dataframe if "n frames (persons)" in d.value.columns]
    runs_table, ref_table = tables
    names = list(runs_table.index)
    assert len(names) == 2 and {n.split(" · ")[0] for n in names} == {"baseline", "mixed"}
    assert "EiLA only" not in names and ref_table.loc["EiLA only", "n frames (persons)"] == "815 (persons not published)"
    assert any("Mixed" in w.value for w in at.warning)  # 2-person group flagged
    assert len(at.metric) == 3  # Δ accuracy, bootstrap p, McNemar p
    assert any(e.label.startswith("Provenance: baseline") for e in at.expander)
    assert any("lowest race group" in m.value for m in at.markdown)
    assert any("largest recall gap (points)" in d.value.columns for d in at.dataframe)
    at.selectbox(key="to_attr").select("gender").run()
    _ok(at)
    at.toggle(key="to_use_ref").set_value(False).run()
    _ok(at)
    tables = [d.value for d in at.dataframe if "n frames (persons)" in d.value.columns]
    assert len(at.header) == 1 and len(tables) == 1
    assert {n.split(" · ")[0] for n in tables[0].index} == {"baseline", "mixed"}
    assert any("Key findings" in e.label for e in at.expander)


def test_misclassified_without_runs_offers_to_evaluate(artifacts: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _no_demo(artifacts)
    at = _ok(_page("misclassified.py").run())
    assert any("No evaluated runs yet" in i.value for i in at.info)
    assert any(b.key == "mc_make_demo" for b in at.button)
    from core.data.demo import DemoConfig, ensure_demo

    ensure_demo(artifacts, config=DemoConfig(n_persons={"Light": 3, "Medium": 3, "Dark": 3}, images_per_person=7,
                                             image_size=32))
    started = []
    import core.runs.jobs

    monkeypatch.setattr(core.runs.jobs, "start_job", lambda spec, art: started.append(spec) or art)
    at = _ok(_page("misclassified.py").run())
    at.button(key="mc_eval_go").click().run()
    _ok(at)
    spec = started[0]
    assert spec.kind == "evaluate" and spec.config["model"] == "fer"
    assert spec.config["data"].endswith("manifest.parquet") and spec.parse().data == spec.config["data"]


def test_misclassified_on_tiny_runs(tiny_runs: Path) -> None:
    at = _ok(_page("misclassified.py").run())
    fx = _element(at, "mc_fx")  # the confusion matrix and the gallery, drawn by the browser from these
    assert fx["faces"]["rows"] and all(fx["thumbs"][row[4]] for row in fx["faces"]["rows"])
    assert 'class="cell"' in fx["faces"]["svg"] and fx["check"]["summary"].endswith("100% wrong · most confident first")
    at.session_state["mc_correct"] = "all"  # what a click on "Show: all" stores
    fx = _element(_ok(at.run()), "mc_fx")
    assert fx["faces"] is None and fx["thumbs"] is None  # the browser holds them: sent once per session
    at.session_state["mc_fx"] = {"need": "1"}  # what the element asks when it does not hold them (a new value)
    fx = _element(_ok(at.run()), "mc_fx")
    assert fx["faces"]["rows"] and fx["thumbs"]  # sent again, once
    assert _element(_ok(at.run()), "mc_fx")["faces"] is None
    assert fx["state"]["show"] == "all" and "100% wrong" not in fx["check"]["summary"]
    at.session_state["mc_cell"] = ("happy", "happy", fx["check"]["matrix_key"])  # what a click on a cell stores
    fx = _element(_ok(at.run()), "mc_fx")
    assert fx["check"]["cell"][:2] == ["happy", "happy"] and "0% wrong" in fx["check"]["summary"]
    assert fx["state"]["show"] == "all"  # the class filters wait (hidden) while the cell's faces are shown
    del at.session_state["mc_cell"]  # what "Clear cell filter" does
    fx = _element(_ok(at.run()), "mc_fx")
    assert fx["check"]["cell"] is None and "0% wrong" not in fx["check"]["summary"]
    at.session_state["mc_groups"] = ["Mixed"]
    fx = _element(_ok(at.run()), "mc_fx")
    # accuracy per group (Plotly) and the explorer's matrix; closed tabs are not computed
    assert [c.key for c in at.get("plotly_chart")] == ["mc_group_acc"] and not at.metric
    assert fx["check"]["title"] == "Mixed (n=12)" and fx["state"]["groups"] == ["Mixed"]
    assert fx["export"]["formats"][-1] == "html" and fx["export"]["download"] is None
    at.session_state["mc_fx"] = {"export": {"fmt": "html", "nonce": "1", "pane": ""}}  # a click on Export > HTML
    download = _element(_ok(at.run()), "mc_fx")["export"]["download"]
    assert download["name"] == "confusion_Mixed.html" and download["mime"] == "text/html" and download["b64"]
    assert _element(_ok(at.run()), "mc_fx")["export"]["download"] is None  # sent once
    at.session_state["mc_tab"] = "Pose × group"  # what a click on the tab stores
    _ok(at.run())
    pose = _element(at, "mc_pose")
    assert not at.get("plotly_chart") and pose["choice"] == "race" and set(pose["panes"]) == set(pose["options"])
    assert "Error rate by" in pose["panes"]["gender"] and "<table" in pose["panes"]["gender"]
    at.session_state["mc_pose_attr"] = "gender"  # what a click on "gender" stores
    pose = _element(_ok(at.run()), "mc_pose")
    assert pose["choice"] == "gender" and pose["panes"] is None  # drawn once, switched in the browser
    at.session_state["mc_tab"] = "Two runs side by side"
    _ok(at.run())
    assert {m.label for m in at.metric} == {"both right", "only A right", "only B right", "both wrong"}


def test_report_page_builds_downloads(tiny_runs: Path) -> None:
    at = _ok(_page("report.py").run())
    at.button(key="rp_build").click().run()
    _ok(at)
    assert len(at.get("download_button")) >= 5  # HTML, ZIP and one CSV per table
    assert any("HTML size" in c.value for c in at.caption)


def test_report_page_on_reference_only(artifacts: Path) -> None:
    _no_demo(artifacts)
    at = _ok(_page("report.py").run())
    assert any("published results only" in i.value for i in at.info)
    at.button(key="rp_build").click().run()
    _ok(at)
    assert len(at.get("download_button")) >= 4


def test_a_group_bar_clicked_on_tradeoffs_opens_that_groups_faces(tiny_runs: Path) -> None:
    """What a click on a run's bar hands over (pages/tradeoffs.py's OPEN_GROUP) filters the gallery to the group."""
    at = _ok(_page("tradeoffs.py").run())
    bars = next(c for c in at.get("plotly_chart") if c.key == "to_bars_0")
    assert bars.proto.spec and '"customdata"' in bars.proto.spec  # each bar names its group and configuration
    run_b = str(tiny_runs / "runs" / "run-b")
    at = _page("misclassified.py")
    at.session_state["mc_open_group"] = {"run": run_b, "attribute": "race", "group": "White"}
    _ok(at.run())
    assert at.session_state["mc_run"] == run_b and at.session_state["mc_groups"] == ["White"]
    fx = _element(at, "mc_fx")
    assert fx["state"]["cm_group"] == "White" and fx["check"]["title"].startswith("White (n=")
    assert any("opened from Trade-offs" in i.value for i in at.info)
    assert "mc_open_group" not in at.session_state


def test_misclassified_groups_filter_the_confusion_matrix_and_only_paired_runs_are_offered(tiny_runs: Path) -> None:
    other = synthetic_predictions(seed=3, skill=0.5)
    other["sample_id"] = "other-" + other["sample_id"]  # evaluated on other faces: nothing to pair with
    make_run(tiny_runs, "run-c", other, "other set")
    at = _page("misclassified.py")
    at.session_state["mc_run"] = str(tiny_runs / "runs" / "run-a")
    _ok(at.run())
    assert _element(at, "mc_fx")["check"]["title"] == "all groups (n=72)"
    at.session_state["mc_groups"] = ["Mixed"]
    assert _element(_ok(at.run()), "mc_fx")["check"]["title"] == "Mixed (n=12)"  # 2 Mixed persons x 6 frames
    at.session_state["mc_tab"] = "Two runs side by side"
    _ok(at.run())
    names = at.selectbox(key="mc_run_b").options
    assert any("mixed" in n for n in names) and not any("other set" in n for n in names), names
    assert "sample_id in common" not in " ".join(e.value for e in at.error)


def test_misclassified_cell_filter_belongs_to_the_matrix_it_was_clicked_on(tiny_runs: Path) -> None:
    at = _page("misclassified.py")
    at.session_state["mc_run"] = str(tiny_runs / "runs" / "run-a")
    fx = _element(_ok(at.run()), "mc_fx")
    assert fx["check"]["cell"] is None and len(fx["faces"]["svg"].split('class="cell"')) == 50
    at.session_state["mc_cell"] = ("happy", "happy", fx["check"]["matrix_key"])
    assert _element(_ok(at.run()), "mc_fx")["check"]["cell"][:2] == ["happy", "happy"]
    at.session_state["mc_groups"] = ["Mixed"]  # another matrix: the cell is not its cell
    fx = _element(_ok(at.run()), "mc_fx")
    assert fx["check"]["cell"] is None and fx["state"]["cell"] is None and fx["check"]["title"] == "Mixed (n=12)"
    at.session_state["mc_groups"] = []  # back to the matrix it was clicked on: shown again
    assert _element(_ok(at.run()), "mc_fx")["check"]["cell"][:2] == ["happy", "happy"]


def test_misclassified_filters_from_another_run_or_attribute_are_dropped(tiny_runs: Path) -> None:
    at = _page("misclassified.py")
    for key, value in {"mc_groups": ["Black", "Martian"], "mc_cm_group": "Venus", "mc_true": ["fear", "joy"],
                       "mc_correct": "sometimes"}.items():
        at.session_state[key] = value
    fx = _element(_ok(at.run()), "mc_fx")
    assert fx["state"] == {"groups": ["Black"], "cm_group": "the groups chosen above", "true": ["fear"], "pred": [],
                           "show": "wrong", "cell": None}
