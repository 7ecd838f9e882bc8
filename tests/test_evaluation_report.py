"""Run folders, explorer helpers and the self-contained HTML report."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from _evaluation_data import make_run, synthetic_predictions
from core.common._errors import DataFormatError
from core.cli import main
from core.attributes import pose_groups, resolve_attribute
from core.evaluation.explore import error_rate_table, filter_predictions
from core.evaluation.report import build_report
from core.evaluation.runs import list_runs, load_predictions, read_run


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory) -> tuple[Path, Path, Path]:
    art = tmp_path_factory.mktemp("rep") / "artifacts"
    imgs = art.parent / "imgs"
    a = make_run(art, "run-a", synthetic_predictions(seed=1, skill=0.4, image_dir=imgs), "baseline")
    b = make_run(art, "run-b", synthetic_predictions(seed=2, skill=0.7, image_dir=imgs), "mixed")
    return art, a, b


def test_run_folders(two_runs, tmp_path) -> None:
    art, a, b = two_runs
    runs = list_runs(art)
    assert {r.label for r in runs} == {"baseline", "mixed"} and all(r.kind == "evaluation" for r in runs)
    assert {"config.json", "metrics.json", "predictions.parquet", "versions.json"} <= {p.name for p in a.iterdir()}
    m = json.loads((a / "metrics.json").read_text())
    assert set(m["groups"]) == {"race", "gender"} and 0 <= m["accuracy"] <= 1
    trained = art / "runs" / "trained"
    trained.mkdir()
    (trained / "config.json").write_text(json.dumps({"name": "SFEW + 10% EiLA", "classes": [], "created": 1.0}))
    (trained / "model.keras").write_bytes(b"")
    info = read_run(trained)
    assert info.kind == "training" and info.label == "SFEW + 10% EiLA" and not info.has_predictions
    assert len(list_runs(art, with_predictions=True)) == 2
    with pytest.raises(DataFormatError, match="no predictions"):
        load_predictions(trained)
    with pytest.raises(DataFormatError, match="config.json"):
        read_run(tmp_path)
    (trained / "model.keras").unlink()
    (trained / "config.json").unlink()
    trained.rmdir()


def test_explore_helpers() -> None:
    df = synthetic_predictions(seed=3)
    wrong_black = filter_predictions(df, "race", ["Black"], correctness="wrong")
    assert len(wrong_black) == int(((df["race"] == "Black") & ~df["correct"]).sum())
    cell = filter_predictions(df, true=["happy"], pred=["happy"])
    assert (cell["true"] == "happy").all() and (cell["pred"] == "happy").all()
    side = filter_predictions(df, side_profile=True, yaw_range=(60, 90))
    assert side["side_profile"].all() and (side["yaw"].abs() >= 60).all()
    with pytest.raises(DataFormatError, match="side_profile"):
        filter_predictions(df.drop(columns=["side_profile"]), side_profile=True)
    pose, what = pose_groups(df)
    table = error_rate_table(df, resolve_attribute(df, "race"), pose, n_boot=100)
    assert what == "|yaw| bin" and table["n_samples"].sum() == len(df)
    assert table.loc[table["row"] == "Mixed", "low_n"].all()
    assert table["col"].iloc[0] == "frontal (<15°)"


def test_html_report_is_self_contained(two_runs, tmp_path) -> None:
    _, a, b = two_runs
    bundle = build_report([a, b], include_reference=True, attributes=["race", "gender"], n_boot=200)
    html = bundle.html
    assert not re.search(r"<script[^>]*\bsrc\s*=", html, re.IGNORECASE)
    assert "<script" in html and "Plotly" in html
    assert "Chen, Y. (2024)" in html and "FER2013 only" in html and "baseline · run-a" in html
    assert "Paired: baseline · run-a" in html and "McNemar" in html and "Dataset audit" in html
    assert "backbone precision" in html and "float32" in html  # runs made before the setting: float32
    assert html.index("Key findings") < html.index("Provenance") < html.index("Results by evaluation set")
    assert "the lowest race group is" in html and "Recall of each emotion by group" in html
    text = re.sub(r"<script.*?</script>", "", html, flags=re.DOTALL)  # plotly.js and figure data aside
    assert ".partial" not in text and str(a.parent) not in text and "{&#34;" not in text and '{"' not in text
    assert "Synthetic demo only (A)" not in text and "(A) vs" in text
    assert {"overall", "groups", "fairness", "comparisons", "per_class", "audit", "recall", "provenance"} <= set(
        bundle.tables)
    g = bundle.tables["groups"]
    assert {"ci_low", "ci_high", "n_samples", "n_persons", "low_n", "evaluation_set"} <= set(g.columns)
    assert {n.split(" · ")[0] for n in g["configuration"]} >= {"baseline", "mixed", "FER2013 only"}
    files = bundle.write(tmp_path / "r.html", tmp_path / "csv")
    assert (tmp_path / "csv" / "groups.csv").is_file() and len(files) == 1 + len(bundle.tables)


def test_html_report_escapes_text_and_inlines_its_style() -> None:
    html = build_report([], include_reference=True, n_boot=50, title="FER <b>Bias</b> & co").html
    assert "<title>FER &lt;b&gt;Bias&lt;/b&gt; &amp; co</title>" in html and "<b>Bias" not in html
    assert "<style>body{font-family:system-ui" in html and "details{margin:.3em 0}</style>" in html
    assert "No runs in this report: only the published results." in html


def test_report_cli(two_runs, tmp_path) -> None:
    _, a, b = two_runs
    out = tmp_path / "report.html"
    rc = main(["report", "--runs", str(a), str(b), "--out", str(out), "--csv-dir", str(tmp_path / "t"),
               "--n-boot", "100", "--attributes", "race"])
    assert rc == 0 and out.is_file() and (tmp_path / "t" / "fairness.csv").is_file()
    assert "<script src" not in out.read_text()
    assert main(["report", "--runs", str(tmp_path), "--out", str(out)]) == 2
