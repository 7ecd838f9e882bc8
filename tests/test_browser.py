"""Real-browser smoke test: headless Debian chromium (Playwright) opens every page of a running app.

Starts ``streamlit run app.py`` on a free port with a temporary artifacts folder,
opens each page listed in ``app.PAGES`` by its URL path, waits for the script run
to finish, and fails on any Streamlit exception box, error alert or traceback.
Skips with a reason when /usr/bin/chromium or the playwright package is missing
(``.ci/run`` installs chromium with apt before ``make test``).
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests._app_pages import EXISTING, REPO, app_page_titles

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]

pytestmark = pytest.mark.browser
TITLES = app_page_titles()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 90.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"streamlit did not become healthy at {url} within {timeout:.0f} s")


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    if not CHROMIUM.is_file():
        pytest.skip(f"no Debian chromium at {CHROMIUM} (install it with `apt-get install chromium`)")
    pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    artifacts = tmp_path_factory.mktemp("browser") / "artifacts"
    port = _free_port()
    env = dict(os.environ, FERBIAS_ARTIFACTS=str(artifacts))
    log = open(tmp_path_factory.mktemp("browser_log") / "streamlit.log", "w+")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none"], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.seek(0)
        print(log.read()[-3000:])
        log.close()


def _settle(page, timeout: float = 240.0, quiet_s: float = 2.5) -> None:
    """Wait until the page shows content and no script run is in progress for ``quiet_s`` seconds."""
    deadline, quiet_since = time.time() + timeout, None
    while time.time() < deadline:
        running = page.locator('[data-testid="stStatusWidget"]').count() > 0
        ready = page.locator('[data-testid="stMain"] [data-testid="stElementContainer"]').count() > 0
        if ready and not running:
            quiet_since = quiet_since or time.time()
            if time.time() - quiet_since >= quiet_s:
                return
        else:
            quiet_since = None
        time.sleep(0.25)
    raise TimeoutError(f"{page.url} still running after {timeout:.0f} s")


def _problems(page) -> list[str]:
    out = [f"exception: {t}" for t in page.locator('[data-testid="stException"]').all_inner_texts()]
    out += [f"error: {t}" for t in page.locator('[data-testid="stAlertContentError"]').all_inner_texts()]
    body = page.locator("body").inner_text()
    if "Traceback (most recent call last)" in body:
        out.append("traceback in page text")
    if "Page not found" in body:
        out.append("page not found")
    return out


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
