"""Real-browser smoke test: headless Debian chromium (Playwright) opens every page of a running app.

Starts ``streamlit run app.py`` on a free port with a temporary artifacts folder,
opens each page listed in ``app.PAGES`` by its URL path, waits for the script run
to finish, and fails on any Streamlit exception box, error alert or traceback.
Skips with a reason when /usr/bin/chromium or the playwright package is missing
(``.ci/run`` installs chromium with apt before ``make test``).
"""
from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

import pytest

from tests._app_pages import EXISTING, REPO, app_page_titles
from tests._browser import CHROMIUM, CHROMIUM_ARGS, problems as _problems, serve, settle as _settle

pytestmark = [pytest.mark.browser, pytest.mark.slow]
TITLES = app_page_titles()


def _serve(tmp_path_factory, artifacts: Path):
    """Start ``streamlit run app.py`` on ``artifacts``; yields its URL and stops it afterwards."""
    if not CHROMIUM.is_file():
        pytest.skip(f"no Debian chromium at {CHROMIUM} (install it with `apt-get install chromium`)")
    pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    with serve(REPO / "app.py", artifacts, tmp_path_factory.mktemp("browser_log") / "streamlit.log") as url:
        yield url


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    yield from _serve(tmp_path_factory, tmp_path_factory.mktemp("browser") / "artifacts")


@pytest.fixture(scope="module")
def runs_app(tmp_path_factory):
    """An app with two runs of the same configuration name on one set, one run on another set, one at chance."""
    sys.path.insert(0, str(REPO / "tests"))
    from _evaluation_data import make_training_run

    artifacts = tmp_path_factory.mktemp("browser_runs") / "artifacts"
    (artifacts / "datasets").mkdir(parents=True)
    (artifacts / "datasets" / ".demo-removed").touch()  # no demo: the runs below are all there is
    runs = {"twin_a": make_training_run(artifacts, "same-name-aaaaaa0001", "Same name", weights="random"),
            "twin_b": make_training_run(artifacts, "same-name-bbbbbb0002", "Same name", weights="imagenet"),
            "chance": make_training_run(artifacts, "chance-cccccc0003", "Chance level", skill=0.0),
            "other": make_training_run(artifacts, "other-set-dddddd0004", "Other set", eval_dataset="Other",
                                       weights="imagenet")}
    for url in _serve(tmp_path_factory, artifacts):
        yield url, artifacts, runs


def test_every_page_opens_without_errors(app_url, tmp_path):
    from playwright.sync_api import sync_playwright

    report: dict[str, list[str]] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1800})
            # the server's very first request is a deep link (a reload or bookmark): served by app.py's
            # navigation, not by Streamlit's pages/ directory mode (which lists helper files as pages)
            page.goto(f"{app_url}/train_or_load")
            _settle(page)
            links = page.locator('[data-testid="stSidebarNav"] [data-testid="stSidebarNavLink"]').all_inner_texts()
            nav = [text.strip().split("\n")[-1].strip() for text in links]  # the icon's name comes first
            assert nav == [title for _, title in TITLES], nav
            report["first request: /train_or_load"] = _problems(page)
            for file in EXISTING:  # home first: its first run draws the demo dataset
                url_path = "" if file == "pages/home.py" else Path(file).stem
                page.goto(f"{app_url}/{url_path}")
                _settle(page)
                report[file] = _problems(page)
                if file == "pages/data.py":
                    page.screenshot(path=str(tmp_path / "data_page.png"), full_page=True)
                    for tab in ("Add a dataset", "Prepare EiLA videos", "Datasets"):
                        page.get_by_role("tab", name=tab).click()
                        _settle(page, quiet_s=1.0)
                        report[file] += [f"[{tab}] {msg}" for msg in _problems(page)]
                    assert page.locator('[data-testid="stImage"]').count() > 0, "no sample faces on the Data page"
        finally:
            browser.close()
    assert (tmp_path / "data_page.png").stat().st_size > 10_000
    assert report and not any(report.values()), report


def _figures(page) -> list[list[dict]]:
    """Every plotly figure on the page: its traces' name, x and hover texts."""
    return page.evaluate("""() => Array.from(document.querySelectorAll('.js-plotly-plot')).map(d =>
        (d.data || []).map(t => ({name: t.name || '', type: t.type || '', x: Array.from(t.x || []).map(String),
                                  hover: Array.from(t.hovertext || []).map(String)})))""")


def _shots(tmp_path: Path) -> Path:
    shots = Path(os.environ.get("FERBIAS_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    return shots


@contextlib.contextmanager
def _page_at(url: str, path: str):
    """Chromium on the page ``path`` of ``url`` once its script run is over and it shows no error; yields
    (browser, page)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1800}, accept_downloads=True)
            page.goto(f"{url}/{path}")
            _settle(page)
            assert not _problems(page), _problems(page)
            yield browser, page
        finally:
            browser.close()


@contextlib.contextmanager
def _tradeoffs_page(url: str):
    """Chromium on the Trade-offs page of ``url`` once its six figures are drawn; yields (browser, page)."""
    with _page_at(url, "tradeoffs") as (browser, page):
        page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length >= 6", timeout=60_000)
        yield browser, page


def test_runs_are_told_apart_compared_like_with_like_and_reported_with_weights(runs_app, tmp_path):
    from core.evaluation.runs import read_run

    url, artifacts, runs = runs_app
    names = {k: read_run(p).display_name for k, p in runs.items()}
    shots = _shots(tmp_path)
    with _tradeoffs_page(url) as (browser, page):
        page.set_viewport_size({"width": 1400, "height": 9000})  # the app scrolls inside its main block
        _settle(page, quiet_s=1.5)
        page.screenshot(path=str(shots / "tradeoffs.png"), full_page=True)
        page.set_viewport_size({"width": 1400, "height": 1800})
        figs = _figures(page)
        bars = [f for f in figs if any(t["type"] == "bar" for t in f)]
        twin_bars = next(f for f in bars if any("Same name" in x for t in f for x in t["x"]))
        labels = sorted({x for t in twin_bars for x in t["x"] if "Same name" in x})
        assert len(labels) == 2, labels  # two runs, same configuration name: two distinct labelled bars
        assert all(names["twin_a"].split(" · ")[1] in x or names["twin_b"].split(" · ")[1] in x for x in labels)
        fronts = [f for f in figs if any(t["name"] == "Pareto front" for t in f)]
        assert len(fronts) == 3  # the Demo set, the Other set, the published numbers: one front each
        for f in fronts:
            hover = " ".join(h for t in f for h in t["hover"])
            in_fig = {k for k, n in names.items() if n in hover}
            assert not (in_fig & {"twin_a", "twin_b", "chance"} and "other" in in_fig), in_fig
            assert not (in_fig and "FER2013 only" in hover), in_fig
        demo = next(f for f in fronts if names["twin_a"] in " ".join(h for t in f for h in t["hover"]))
        off = next(t for t in demo if "not better than chance" in t["name"])
        assert any(names["chance"] in h for h in off["hover"])
        page.goto(f"{url}/report")
        _settle(page)
        page.get_by_role("button", name="Build report").click()
        _settle(page)
        assert not _problems(page), _problems(page)
        with page.expect_download() as dl:
            page.get_by_role("button", name="Download HTML report").click()
        report = tmp_path / "report.html"
        dl.value.save_as(str(report))
        html = report.read_text()
        assert '"toImageButtonOptions": {"format": "svg"' in html  # the report's figures export as SVG too
        section = html[html.index('id="provenance"'):html.index('id="results"')]
        for key, weights in (("twin_a", "random initialisation"), ("twin_b", "ImageNet"),
                             ("chance", "random initialisation"), ("other", "ImageNet")):
            card = section[section.index(names[key]):]
            card = card[:card.index("</table>")]
            assert f"<th>weights</th><td>{weights}</td>" in card, (key, card[:600])
        view = browser.new_page(viewport={"width": 1300, "height": 1800})
        view.goto(report.as_uri())
        view.wait_for_timeout(1500)
        view.screenshot(path=str(shots / "report.png"), full_page=True)
    assert (shots / "tradeoffs.png").stat().st_size > 10_000 and (shots / "report.png").stat().st_size > 10_000


def _bar_colours(page) -> list[dict[str, str]]:
    """Per plotly figure on the page: the colour of each group its bars name (trace name or customdata[0])."""
    return page.evaluate("""() => Array.from(document.querySelectorAll('.js-plotly-plot')).map(d => {
        const out = {};
        for (const t of (d.data || [])) {
            if (t.type !== 'bar' || !t.marker) continue;
            const c = t.marker.color;
            if (Array.isArray(c)) (t.customdata || []).forEach((cd, i) => { out[String(cd[0])] = String(c[i]); });
            else if (t.name) out[t.name] = String(c);
        }
        return out; })""")


def test_figures_export_as_svg_keep_group_colours_across_pages_and_a_bar_opens_its_faces(runs_app, tmp_path):
    url, artifacts, runs = runs_app
    shots = _shots(tmp_path)
    with _tradeoffs_page(url) as (browser, page):
        bars = next(c for c in _bar_colours(page) if "Black" in c)
        page.get_by_text("Published results (Chen 2024)").click()  # the toggle leaves every group's colour alone
        _settle(page)
        without = next(c for c in _bar_colours(page) if "Black" in c)
        assert {g: without[g] for g in bars if g in without} == {g: bars[g] for g in without if g in bars}, without
        page.get_by_text("Published results (Chen 2024)").click()
        _settle(page)
        page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length >= 6", timeout=60_000)
        # the chart's own camera button saves an SVG at publication size
        chart = page.locator('.js-plotly-plot').first
        chart.hover()
        with page.expect_download() as dl:
            chart.locator('.modebar-btn[data-title^="Download plot"]').click()
        svg = tmp_path / "camera.svg"
        dl.value.save_as(str(svg))
        assert dl.value.suggested_filename.endswith(".svg"), dl.value.suggested_filename
        text = svg.read_text()
        assert "<svg" in text[:500] and 'width="900"' in text[:2000]
        # the server-side export (headless Chromium in the app): SVG and PDF files
        page.locator('[data-testid="stPopover"] button').first.click()
        for fmt, head in (("SVG", "<svg"), ("PDF", "%PDF")):
            with page.expect_download(timeout=120_000) as dl:
                page.get_by_role("button", name=fmt, exact=True).first.click()
            out = tmp_path / f"server.{fmt.lower()}"
            dl.value.save_as(str(out))
            assert head.encode() in out.read_bytes()[:400], (fmt, out.read_bytes()[:200])
        page.keyboard.press("Escape")
        # a click on a run's bar opens that group's faces on the Misclassified faces page
        black = next(i for i, t in enumerate(page.evaluate(
            "() => document.querySelectorAll('.js-plotly-plot')[0].data.map(t => t.name)")) if t == "Black")
        box = page.locator('.js-plotly-plot').first.locator('.barlayer .trace').nth(black).locator(
            '.point path').first.bounding_box()
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)  # plotly hit-tests clicks
        page.wait_for_url("**/misclassified", timeout=60_000)
        _settle(page)
        assert not _problems(page), _problems(page)
        assert "opened from Trade-offs" in page.locator("body").inner_text()
        page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length >= 1", timeout=60_000)
        page.screenshot(path=str(shots / "misclassified_from_bar.png"), full_page=True)
        faces = next(c for c in _bar_colours(page) if "Black" in c)
        assert faces["Black"] == bars["Black"] and faces.get("White") == bars.get("White"), (faces, bars)
        # the confusion matrix (an SVG): a click on a cell filters the gallery to it and outlines it
        page.locator('.st-key-mc_fx g.cell[data-true="happy"][data-pred="happy"]').click()
        page.get_by_text("Gallery filtered to the clicked cell").wait_for(timeout=60_000)
        _settle(page)
        assert page.locator(".st-key-mc_fx rect.selected").count() == 1
        page.screenshot(path=str(shots / "misclassified_cell.png"), full_page=True)
        page.locator(".st-key-mc_fx button.fx-clear").click()
        page.get_by_text("Click a cell to show its faces").wait_for(timeout=60_000)
        _settle(page)
        assert page.locator(".st-key-mc_fx rect.selected").count() == 0 and not _problems(page)
        assert page.locator(".ferbias-fx").get_attribute("data-corrections") is None


#: Every cell of the explorer's matrix as the browser drew it.
_CELLS_JS = """() => Array.from(document.querySelectorAll('.st-key-mc_fx g.cell')).map(g => ({
    true: g.dataset.true, pred: g.dataset.pred, fill: g.querySelector('rect').getAttribute('fill'),
    text: g.querySelector('text').textContent, ink: g.querySelector('text').getAttribute('fill')}))"""


def _explorer_click(page, selector: str) -> None:
    """Click ``selector`` in the face explorer and wait for the app's rerun that confirms it."""
    page.locator(f".st-key-mc_fx {selector}").click()
    _settle(page, quiet_s=0.5)


def test_face_explorer_draws_at_a_click_what_the_app_computes(runs_app, tmp_path):
    """Filters, a cell, pages and an export in the explorer; its matrix coloured as the exported figure is; every
    state the browser drew at a click the same as the app's check of it (no correction)."""
    import pandas as pd

    from core.common.svg_heatmap import colour_at, colour_stops, text_colour
    from core.evaluation.plots import confusion_figure

    url = runs_app[0]
    shots = _shots(tmp_path)
    stops = colour_stops(confusion_figure(pd.DataFrame()).data[0])
    with _page_at(url, "misclassified") as (_, page):
        fx = page.locator(".ferbias-fx")
        _explorer_click(page, '.fx-filter[data-f="groups"] button[data-v="Black"]')
        assert "Black (n=" in fx.locator("svg > text").first.text_content()
        cells = page.evaluate(_CELLS_JS)
        assert len(cells) == 49
        rows: dict[str, list[dict]] = {}
        for c in cells:
            rows.setdefault(c["true"], []).append(c)
        for row in rows.values():  # the browser's colours are the figure's (share of the true class)
            total = sum(int(c["text"]) for c in row)
            for c in row:
                rgb = colour_at(stops, int(c["text"]) / total if total else 0.0)
                assert (c["fill"], c["ink"]) == (f"rgb({rgb[0]}, {rgb[1]}, {rgb[2]})", text_colour(rgb)), c
        _explorer_click(page, '.fx-filter[data-f="show"] button[data-v="all"]')
        summary = fx.locator(".fx-summary").inner_text()
        assert summary.endswith("most confident first") and "100% wrong" not in summary, summary
        _explorer_click(page, '.fx-filter[data-f="groups"] button[data-v="Black"]')  # none chosen: all groups
        if fx.locator(".fx-pager").is_visible():
            _explorer_click(page, "button.fx-next")
            assert fx.locator(".fx-page").inner_text().startswith("Page 2 of")
        page.screenshot(path=str(shots / "explorer_all.png"), full_page=True)
        page.locator('.st-key-mc_fx g.cell[data-true="fear"][data-pred="fear"]').focus()
        page.keyboard.press("Enter")  # a cell by keyboard
        _settle(page, quiet_s=0.5)
        assert fx.get_attribute("data-cell") == "1" and fx.locator(".fx-filters-right").is_hidden()
        assert "true fear" in fx.locator(".fx-cell-note").inner_text()
        _explorer_click(page, "button.fx-clear")
        assert fx.locator(".fx-filters-right").is_visible()
        fx.locator(".fx-export summary").click()
        with page.expect_download(timeout=120_000) as dl:
            fx.locator('.fx-export button[data-fmt="svg"]').click()
        out = tmp_path / "explorer.svg"
        dl.value.save_as(str(out))
        assert dl.value.suggested_filename == "confusion_all_groups.svg" and b"<svg" in out.read_bytes()[:500]
        assert fx.get_attribute("data-corrections") is None and not _problems(page), _problems(page)
        # the error rate by pose and group: another attribute's pane at a click
        page.get_by_role("tab", name="Pose × group").click()
        _settle(page)
        page.locator('.st-key-mc_pose button[data-v="gender"]').click()
        _settle(page, quiet_s=0.5)
        assert "and gender" in page.locator(".st-key-mc_pose svg > text").first.text_content()
        assert page.locator(".st-key-mc_pose table").count() == 1 and not _problems(page)
        page.screenshot(path=str(shots / "explorer_pose.png"), full_page=True)


@pytest.fixture(scope="module")
def small_demo_app(tmp_path_factory):
    """An app on a small synthetic demo (63 test faces) and no runs: the cheapest job to start is evaluating fer."""
    from core.data.demo import DemoConfig, ensure_demo

    artifacts = tmp_path_factory.mktemp("browser_jobs") / "artifacts"
    ensure_demo(artifacts, config=DemoConfig(n_persons={"Light": 6, "Medium": 6, "Dark": 6}, images_per_person=7,
                                             image_size=48))
    for url in _serve(tmp_path_factory, artifacts):
        yield url, artifacts


def test_jobs_panel_shows_a_finished_jobs_accuracy_without_a_reload(small_demo_app, tmp_path):
    import re

    from playwright.sync_api import sync_playwright

    url, artifacts = small_demo_app
    shots = Path(os.environ.get("FERBIAS_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1800})
            page.goto(f"{url}/misclassified")
            _settle(page)
            assert not _problems(page), _problems(page)
            page.locator(".st-key-mc_eval_go button").click()
            # the panel refreshes itself while the job runs and reruns the page when it ends: no page.reload()
            page.get_by_text(re.compile(r"accuracy \d+\.\d % \[\d+\.\d, \d+\.\d\] on \d+ images")).first.wait_for(
                timeout=600_000)
            _settle(page, quiet_s=1.5)
            assert not _problems(page), _problems(page)
            assert page.get_by_text("Gallery and confusion").count() > 0  # the finished run is on the page too
            page.screenshot(path=str(shots / "jobs_misclassified.png"), full_page=True)
            page.goto(f"{url}/train_or_load?tl_tab=Progress")  # a deep link opens the tab it names
            _settle(page)
            assert page.get_by_role("tab", name="Progress", selected=True).count() == 1
            assert page.get_by_text(re.compile(r"accuracy \d+\.\d % \[")).count() > 0
            page.screenshot(path=str(shots / "jobs_progress_tab.png"), full_page=True)
            for tab in ("Train", "Runs"):
                page.get_by_role("tab", name=tab).click()
                _settle(page, quiet_s=1.0)
                assert not _problems(page), (tab, _problems(page))
                page.screenshot(path=str(shots / f"train_or_load_{tab.lower()}.png"), full_page=True)
        finally:
            browser.close()


@pytest.fixture(scope="module")
def seeds_app(tmp_path_factory):
    """An app with two configurations trained with three training seeds each (metrics and predictions only)."""
    sys.path.insert(0, str(REPO / "tests"))
    from _evaluation_data import make_training_run

    artifacts = tmp_path_factory.mktemp("browser_seeds") / "artifacts"
    (artifacts / "datasets").mkdir(parents=True)
    (artifacts / "datasets" / ".demo-removed").touch()
    for name, skill, group in (("FER2013 only", 0.45, "fer2013-only-aaaa000001"),
                               ("FER2013 + 50% EiLA", 0.75, "fer2013-50-eila-bbbb000002")):
        for seed in range(3):
            run_id = f"{group.rsplit('-', 1)[0]}-{seed}{group[-10:-1]}"  # its own short id per seed
            make_training_run(artifacts, run_id, name, skill=skill + 0.05 * (seed - 1), seed=seed, seed_group=group)
    for url in _serve(tmp_path_factory, artifacts):
        yield url


def test_tradeoffs_shows_each_groups_accuracy_across_seeds(seeds_app, tmp_path):
    from playwright.sync_api import sync_playwright

    shots = _shots(tmp_path)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1800})
            page.goto(f"{seeds_app}/tradeoffs")
            _settle(page)
            assert not _problems(page), _problems(page)
            page.get_by_text("Spread across training seeds").first.wait_for(timeout=60_000)
            page.wait_for_function("Array.from(document.querySelectorAll('.js-plotly-plot')).some(d => "
                                   "(d.data || []).some(t => t.marker && t.marker.symbol === 'diamond'))",
                                   timeout=60_000)
            seed_fig = next(f for f in _figures(page) if any("seed" in h for t in f for h in t["hover"]))
            means = [t for t in seed_fig if any("mean" in h for h in t["hover"])]
            assert sorted(t["name"] for t in means) == ["Black", "Mixed", "White"] and all(len(t["x"]) == 2
                                                                                          for t in means)
            plot = page.locator(".js-plotly-plot").filter(has_text="across training seeds").first
            plot.scroll_into_view_if_needed()
            plot.screenshot(path=str(shots / "tradeoffs_seed_spread.png"))
            page.set_viewport_size({"width": 1400, "height": 7000})  # the app scrolls inside its main block
            _settle(page, quiet_s=1.5)
            page.screenshot(path=str(shots / "tradeoffs_seeds_page.png"), full_page=True)
        finally:
            browser.close()
    assert (shots / "tradeoffs_seed_spread.png").stat().st_size > 10_000

