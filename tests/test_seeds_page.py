"""Trade-offs' spread across training seeds on fabricated run folders (fast; the trained version is
tests/test_seed_spread.py): figure, table, across-seed sd column, verdict, and the one line without repeats."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from _evaluation_data import make_training_run

REPO = Path(__file__).resolve().parent.parent


def _artifacts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seeds: int, seed_groups: bool = True) -> Path:
    art = tmp_path / "artifacts"
    (art / "datasets").mkdir(parents=True)
    (art / "datasets" / ".demo-removed").touch()
    for name, skill, slug in (("A only", 0.45, "a-only"), ("B only", 0.8, "b-only")):
        for seed in range(seeds):  # run ids as a sweep gives them: a hash of each seed's settings
            make_training_run(art, f"{slug}-{seed}{slug[0]}{seed}{seed}00000{seed}", name, skill=skill + 0.05 * seed,
                              seed=seed, seed_group=f"{slug}-0{slug[0]}0000000" if seed_groups else None)
    monkeypatch.setenv("FERBIAS_ARTIFACTS", str(art))
    return art


def _page() -> AppTest:
    at = AppTest.from_file(str(REPO / "pages" / "tradeoffs.py"), default_timeout=120)
    at.session_state["to_use_ref"] = False
    return at


def _ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_three_seeds_show_points_means_table_column_and_verdict(tmp_path, monkeypatch) -> None:
    _artifacts(tmp_path, monkeypatch, 3)
    at = _ok(_page().run())
    fig = json.loads(next(c for c in at.get("plotly_chart") if c.key == "to_seed_fig_0").proto.spec)
    means = [t for t in fig["data"] if t["marker"].get("symbol") == "diamond"]
    dots = [t for t in fig["data"] if t["marker"].get("symbol") != "diamond"]
    assert sorted(t["name"] for t in means) == ["Black", "Mixed", "White"]
    assert all(len(t["y"]) == 6 for t in dots)  # 2 configurations x 3 seeds per group
    table = next(d.value for d in at.dataframe if "training seeds" in d.value.columns)
    assert table["training seeds"].tolist() == ["3 (0, 1, 2)"] * 2
    results = next(d.value for d in at.dataframe if "n frames (persons)" in d.value.columns)
    cols = results.columns.tolist()
    assert cols[cols.index("accuracy % [CI]") + 1] == "accuracy: across-seed sd"
    a = at.selectbox(key="to_cmp_a").value
    other = next(o for o in at.selectbox(key="to_cmp_b").options if o.split(" · ")[0] != a.split(" · ")[0])
    _ok(at.selectbox(key="to_cmp_b").select(other).run())
    verdict = next(m.value for m in at.markdown if m.value.startswith("**Across training seeds.**"))
    assert "means over seeds differ by" in verdict and "rough estimate" in verdict
    same = next(o for o in at.selectbox(key="to_cmp_b").options if o.split(" · ")[0] == a.split(" · ")[0])
    _ok(at.selectbox(key="to_cmp_b").select(same).run())
    assert any("same configuration trained with different seeds" in c.value for c in at.caption)


@pytest.mark.parametrize("seed_groups", [True, False])  # one seed each; runs from before seed groups
def test_one_seed_is_one_line_saying_how_to_get_a_spread(tmp_path, monkeypatch, seed_groups) -> None:
    _artifacts(tmp_path, monkeypatch, 1, seed_groups)
    at = _ok(_page().run())
    assert not any(h.value == "Spread across training seeds" for h in at.subheader)
    assert not any((c.key or "").startswith("to_seed") for c in at.get("plotly_chart"))
    assert sum("training seeds (repeats)" in c.value and "Train or load page" in c.value for c in at.caption) == 1
    assert all("across-seed" not in " ".join(d.value.columns) for d in at.dataframe)
