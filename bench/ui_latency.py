"""Interaction latency of the app in a real browser, against Streamlit's own floor.

Draws the synthetic demo into a temporary artifacts folder with four evaluation
runs on its test split (predictions drawn per skin-tone group, with the demo's
bias, so no model is trained or loaded), serves the app headless
(``streamlit run app.py --server.headless true``) and drives it in headless
Debian chromium (Playwright): ten typical interactions on Misclassified faces
and Trade-offs (filters, toggles, a confusion-cell click, a run switch, a tab,
a page switch), each timed in the page itself: from the pointerdown of the
click that changes a value (a pill, segment, button or matrix cell is that one
click; opening a select box's list is untimed: the browser's own, no round
trip) to the last change of the main block's DOM (React's elements, Plotly's
SVG, the face explorer's and the pose panes' DOM; a chart counts once it is
drawn, and Streamlit's marking of the rerun element as stale and fresh again
counts too), once the app has sent the end of a script run started by the
click (its websocket's ``script_finished`` message: the explorer, which draws
at the click, still waits for the app's rerun that confirms it), the page has
stayed unchanged for ``QUIET_MS`` and shows the expected text with no stale
element. Playwright's own work
around a click (actionability checks, waiting for stable frames) is not part
of either time. The same round trip is timed on a one-widget Streamlit page
(a button and a counter), Streamlit's floor on this machine, served the same
way and with the app's own Streamlit settings (``.streamlit/config.toml``:
no full garbage collection after each run). It is also timed with Streamlit's
default settings, for comparison only: there each run ends with a collection
that holds the GIL while the reply waits, which makes that floor slower (about
0.05-0.09 s instead of 0.03 s here) and a ratio against it smaller. Every
interaction is repeated ``--repeat`` times (alternating with the floors) and its
median is used.

Beside each interaction's time the bench prints, for information, its "run end":
the time from the same pointerdown to the end of the app's script run that the
click started, as the page saw it (the arrival of its ``script_finished``). For the
face explorer and the pose panes, which draw at the click, that is when the
app has confirmed what the browser drew; it is not part of the ratio.

The last line is ``ratio=<median interaction time / median floor time>``, the
floor served with the app's settings (goal <= 3).

Usage::

    .venv/bin/python bench/ui_latency.py [--repeat 3] [--shots DIR] [--keep]
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from core.data.labels import EMOTIONS  # noqa: E402
from tests._browser import CHROMIUM, CHROMIUM_ARGS, RUNNING_JS, serve, settle  # noqa: E402

FLOOR_APP = '''import streamlit as st
n = st.session_state.setdefault("n", 0)
if st.button("Click", key="floor"):
    st.session_state["n"] = n = n + 1
st.write(f"clicked {n}")
'''
#: per-run skill by skin-tone group: a run's chance of copying the true label
SKILLS = {"baseline": {"Light": 0.80, "Medium": 0.85, "Dark": 0.50},
          "more Dark faces": {"Light": 0.79, "Medium": 0.83, "Dark": 0.62},
          "stronger head": {"Light": 0.86, "Medium": 0.88, "Dark": 0.55},
          "frozen backbone": {"Light": 0.70, "Medium": 0.74, "Dark": 0.45}}


def demo_runs(artifacts: Path, n_boot: int = 200) -> list[Path]:
    """The demo dataset plus one evaluation run per entry of :data:`SKILLS` on its test split."""
    from core.data.demo import ensure_demo
    from core.evaluation.runs import write_evaluation
    from core.data.manifest import load_manifest

    info = ensure_demo(artifacts)
    rows = load_manifest(info.path / "manifest.parquet")
    rows = rows[rows["split"] == "test"].reset_index(drop=True)
    out = []
    for k, (name, skill) in enumerate(SKILLS.items()):
        rng = np.random.default_rng(k)
        copy = rng.random(len(rows)) < rows["race"].map(skill).to_numpy(float)
        pred = np.where(copy, rows["label"], rng.choice(EMOTIONS, len(rows)))
        probs = rng.dirichlet(np.ones(len(EMOTIONS)), len(rows)) * 0.5
        probs[np.arange(len(rows)), [EMOTIONS.index(p) for p in pred]] += 0.5
        preds = rows.assign(true=rows["label"], pred=pred, correct=rows["label"] == pred,
                            confidence=probs.max(axis=1), **{f"prob_{e}": probs[:, j] for j, e in enumerate(EMOTIONS)})
        preds["nll"] = -np.log(np.clip(probs[np.arange(len(rows)), [EMOTIONS.index(t) for t in preds["true"]]], 1e-7,
                                       1))
        run = artifacts / "runs" / f"bench-{k}"
        write_evaluation(preds, run, {"label": name, "model": f"bench-{k}", "model_name": name,
                                      "dataset": {"name": info.name, "path": str(info.path / "manifest.parquet")},
                                      "synthetic": True, "split": "test", "n_samples": int(len(preds))},
                         n_boot=n_boot)
        out.append(run)
    return out


#: How long the page must stay unchanged after the script run for the update to count as drawn.
QUIET_MS = 400

#: Installed in the page before each timed click: notes the pointerdown (or keydown) that starts the interaction
#: and the time of the last change below the main block after it (the DOM the update writes, Plotly's SVG
#: included). Nothing here forces a layout.
WATCH_JS = """() => {
    const w = window.__latency = {down: null, last: null};
    const start = () => { if (w.down === null) w.down = performance.now(); };
    document.addEventListener('pointerdown', start, {capture: true, once: true});
    document.addEventListener('keydown', start, {capture: true, once: true});
    w.observer = new MutationObserver(() => { if (w.down !== null) w.last = performance.now(); });
    w.observer.observe(document.querySelector('[data-testid="stMain"]'),
                       {subtree: true, childList: true, attributes: true, characterData: true});
}"""

#: Installed before the app's page loads: the time each websocket message reaches the page, in order (the bench
#: reads the one carrying the end of the run a click started).
WS_TIMES_JS = """(() => {
    const Native = window.WebSocket;
    window.WebSocket = class extends Native {
        constructor(...args) {
            super(...args);
            window.__wsTimes = [];
            this.addEventListener('message', () => window.__wsTimes.push(performance.now()));
        }
    };
})()"""

#: Once the run started by the click has finished: true when nothing in the main block changed for QUIET_MS, the
#: app is not running a script and no element is stale; the expected text is checked only then (reading
#: innerText forces a layout). Returns the seconds from the pointerdown to the last change.
DONE_JS = """([quiet, expect, gone, running]) => {
    const w = window.__latency;
    if (w.down === null || eval(running)()) return false;
    const app = document.querySelector('[data-testid="stApp"]');
    if (app.getAttribute('data-test-script-state') === 'running') return false;
    if (performance.now() - Math.max(w.down, w.last || 0) < quiet) return false;
    const text = document.querySelector('[data-testid="stMain"]').innerText;
    if ((expect && !text.includes(expect)) || (gone && text.includes(gone))) return false;
    w.observer.disconnect();
    return (Math.max(w.down, w.last || 0) - w.down) / 1000;
}"""


class ScriptRuns:
    """Counts the ``script_finished`` messages the app sends to ``page`` (any of its websockets): how the bench
    knows that the script or fragment run an interaction started is over, whatever the page shows. ``frames``
    says, for each message of the page's latest websocket in order, whether it was one (:data:`WS_TIMES_JS`
    notes when each reached the page)."""

    def __init__(self, page) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        self.finished, self.frames, self._msg = 0, [], ForwardMsg()
        page.on("websocket", self._socket)

    def _socket(self, ws) -> None:
        self.frames = []  # a new page load: its own message list
        ws.on("framereceived", self._frame)

    def _frame(self, payload) -> None:
        end = False
        if isinstance(payload, (bytes, bytearray)):
            self._msg.ParseFromString(bytes(payload))
            end = self._msg.WhichOneof("type") == "script_finished"
        self.frames.append(end)
        self.finished += end


class Pick:
    """Choose ``option`` in the select box or multiselect with widget key ``key``: opening the list is
    :meth:`prepare` (the browser's own, no round trip to the app), the timed click is the option's."""

    def __init__(self, key: str, option: str) -> None:
        self.key, self.option = key, option

    def prepare(self, page) -> None:
        page.locator(f".st-key-{self.key} input[role='combobox']").click()
        page.get_by_role("option", name=self.option, exact=True).wait_for(state="visible")

    def __call__(self, page) -> None:
        page.get_by_role("option", name=self.option, exact=True).click()


def timed(page, runs: ScriptRuns, action, expect: str | None = None, gone: str | None = None,
          timeout_s: float = 120.0) -> tuple[float, float | None]:
    """Seconds, measured in the page, from the pointerdown of ``action(page)``'s click to the last change of the
    main block after it, once the app has finished a script run started after the click (``runs``), the page
    then stayed unchanged for :data:`QUIET_MS`, shows ``expect`` and not ``gone``, with no stale element; and
    to the arrival of that run's end in the page (None where the page does not note message times). An
    action's ``prepare`` (opening a list) runs first, untimed."""
    if hasattr(action, "prepare"):
        action.prepare(page)
    page.evaluate(WATCH_JS)
    before, first = runs.finished, len(runs.frames)
    action(page)
    deadline = time.perf_counter() + timeout_s
    while runs.finished == before:
        if time.perf_counter() > deadline:
            raise TimeoutError(f"no script run finished within {timeout_s:.0f} s of the click")
        page.wait_for_timeout(10)  # lets Playwright deliver the websocket frames
    handle = page.wait_for_function(DONE_JS, arg=[QUIET_MS, expect, gone, RUNNING_JS],
                                    timeout=max(1.0, deadline - time.perf_counter()) * 1000, polling=50)
    end = next(i for i in range(first, len(runs.frames)) if runs.frames[i])
    done = page.evaluate("(i) => window.__wsTimes && window.__wsTimes.length > i ? "
                         "(window.__wsTimes[i] - window.__latency.down) / 1000 : null", end)
    return float(handle.json_value()), (None if done is None else float(done))


def _filter(name: str, option: str):
    """Click the option ``option`` of the face explorer's filter ``name`` (a pill or segment: one click)."""
    return lambda page: page.locator(f'.st-key-mc_fx .fx-filter[data-f="{name}"] button[data-v="{option}"]').click()


def _cell(page) -> None:
    """Click the confusion matrix cell true happy -> predicted happy."""
    page.locator('.st-key-mc_fx g.cell[data-true="happy"][data-pred="happy"]').click()


def interactions(runs: list[str], rep: int) -> list[tuple[str, str, str | None, object, str | None, str | None]]:
    """(name, page, tab, action, text to appear, text to go) of the ten timed interactions of repetition ``rep``."""
    run_b, run_a = runs[rep % 2], runs[rep % 2]  # another run each repetition: nothing cached by the browser
    return [
        ("Misclassified: Groups filter (Dark)", "misclassified", None, _filter("groups", "Dark"), "Dark (n=", None),
        ("Misclassified: Show correct", "misclassified", None, _filter("show", "correct"), "% wrong", None),
        ("Misclassified: True class filter (fear)", "misclassified", None, _filter("true", "fear"), None, None),
        ("Misclassified: confusion-cell click", "misclassified", None, _cell, "Gallery filtered to the clicked cell",
         None),
        ("Misclassified: clear the cell filter", "misclassified", None,
         lambda p: p.locator(".st-key-mc_fx button.fx-clear").click(), "Click a cell", None),
        ("Misclassified: pose table by gender", "misclassified", "Pose × group",
         lambda p: p.locator('.st-key-mc_pose .fx-choice button[data-v="gender"]').click(),
         "and gender", None),
        ("Misclassified: run B switch", "misclassified", "Two runs side by side", Pick("mc_run_b", run_b),
         f"B = {run_b}", None),
        ("Misclassified: run switch", "misclassified", None, Pick("mc_run", run_a), None, None),
        ("Trade-offs: published results off", "tradeoffs", None,
         lambda p: p.locator(".st-key-to_use_ref label").click(), None, "Published: Chen"),
        ("Page switch: Trade-offs -> Misclassified faces", "tradeoffs", None,
         lambda p: p.locator('[data-testid="stSidebarNav"]').get_by_text("Misclassified faces").click(),
         "Gallery and confusion", None),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="timings per interaction (median used)")
    parser.add_argument("--shots", type=Path, default=None, help="save a screenshot after each interaction here")
    parser.add_argument("--keep", action="store_true", help="keep the temporary artifacts folder (printed)")
    args = parser.parse_args(argv)
    if not CHROMIUM.is_file():
        print(f"skipped: no Debian chromium at {CHROMIUM} (apt-get install chromium)")
        return 0
    from playwright.sync_api import sync_playwright

    from core.evaluation.runs import read_run

    tmp = Path(tempfile.mkdtemp(prefix="ui_latency_"))
    artifacts = tmp / "artifacts"
    t0 = time.perf_counter()
    runs = [read_run(r).display_name for r in demo_runs(artifacts)]
    print(f"demo dataset and {len(runs)} runs in {time.perf_counter() - t0:.1f} s under {artifacts}")
    floors = {}  # the floor page served with the app's own Streamlit settings, and with Streamlit's defaults
    for kind, settings in (("floor", True), ("floor, Streamlit's default settings", False)):
        where = tmp / ("floor_app_settings" if settings else "floor_defaults")
        where.mkdir()
        (where / "floor.py").write_text(FLOOR_APP)
        if settings:  # .streamlit/config.toml is read from the folder streamlit runs in, as for the app
            (where / ".streamlit").mkdir()
            shutil.copy(ROOT / ".streamlit" / "config.toml", where / ".streamlit" / "config.toml")
        floors[kind] = where
    times: dict[str, list[float]] = {}
    confirmed: dict[str, list[float]] = {}  # to the end of the app's run the click started, for information
    with serve(ROOT / "app.py", artifacts, tmp / "app.log") as url, \
            serve(floors["floor"] / "floor.py", artifacts, tmp / "floor.log", cwd=floors["floor"]) as floor_url, \
            serve(floors["floor, Streamlit's default settings"] / "floor.py", artifacts, tmp / "floor_defaults.log",
                  cwd=floors["floor, Streamlit's default settings"]) as default_url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        app, floor, default = (browser.new_page(viewport={"width": 1400, "height": 1800}) for _ in range(3))
        app.add_init_script(WS_TIMES_JS)
        app_runs = ScriptRuns(app)
        floor_pages = {"floor": (floor, ScriptRuns(floor), floor_url),
                       "floor, Streamlit's default settings": (default, ScriptRuns(default), default_url)}
        for page, _, page_url in floor_pages.values():
            page.goto(page_url)
            settle(page, quiet_s=1.0)
        for rep in range(args.repeat):
            at = None
            for i, (name, path, tab, action, expect, gone) in enumerate(interactions(runs, rep)):
                if path != at or name.startswith(("Misclassified: run switch", "Trade-offs")):
                    app.goto(f"{url}/{path}")  # a page as opened (the filters before it are kept otherwise)
                    settle(app, quiet_s=1.0)
                    at = path
                if tab:
                    app.get_by_role("tab", name=tab).click()
                    settle(app, quiet_s=0.5)
                try:
                    content, done = timed(app, app_runs, action, expect, gone)
                    times.setdefault(name, []).append(content)
                    if done is not None:
                        confirmed.setdefault(name, []).append(max(content, done))
                except Exception as exc:  # noqa: BLE001 - say which interaction and go on
                    print(f"  {name}: failed ({type(exc).__name__}: {str(exc).splitlines()[0][:160]})")
                if args.shots and rep == 0:
                    args.shots.mkdir(parents=True, exist_ok=True)
                    app.screenshot(path=str(args.shots / f"latency_{i:02d}.png"), full_page=True)
                for kind, (page, page_runs, _) in floor_pages.items():
                    times.setdefault(kind, []).append(
                        timed(page, page_runs, lambda f: f.locator(".st-key-floor button").click(), "clicked")[0])
                    settle(page, quiet_s=0.3)
        browser.close()
    if not args.keep:
        shutil.rmtree(tmp, ignore_errors=True)
    floor_s = statistics.median(times.pop("floor"))
    default_s = statistics.median(times.pop("floor, Streamlit's default settings"))
    print(f"{'interaction':52s} {'median s':>9s} {'x floor':>8s} {'run end':>8s}  all (s)")
    medians = []
    for name, ts in times.items():
        if not ts:
            continue
        m = statistics.median(ts)
        medians.append(m)
        end = f"{statistics.median(confirmed[name]):8.3f}" if confirmed.get(name) else f"{'-':>8s}"
        print(f"{name:52s} {m:9.3f} {m / floor_s:8.2f} {end}  {' '.join(f'{t:.2f}' for t in ts)}")
    print(f"{'floor: one-widget page, the app settings':52s} {floor_s:9.3f} {1.0:8.2f}")
    print(f"{'floor: one-widget page, Streamlit defaults':52s} {default_s:9.3f} {default_s / floor_s:8.2f}")
    if len(medians) < 10:
        print(f"only {len(medians)} of 10 interactions could be timed")
    median = statistics.median(medians)
    print(f"median interaction {median:.3f} s, floor {floor_s:.3f} s; against the floor with Streamlit's default "
          f"settings (a full garbage collection after each run, which the app turns off): "
          f"{median / default_s:.2f}")
    ends = [statistics.median(v) for v in confirmed.values() if v]
    if len(ends) == len(medians):
        end = statistics.median(ends)
        print(f"for information: median time to the end of the app's run a click started {end:.3f} s "
              f"({end / floor_s:.2f} x floor; not the ratio)")
    print(f"ratio={median / floor_s:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
