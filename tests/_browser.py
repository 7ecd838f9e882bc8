"""Serving the app to headless chromium: shared by the browser test and ``bench/ui_latency.py``.

``serve`` starts ``streamlit run <app> --server.headless true`` on a free port
with its own artifacts folder; ``settle`` waits until a page's script run is
over; ``problems`` lists the exception boxes, error alerts and tracebacks a
page shows.
"""
from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Iterator

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
#: true while Streamlit runs a script (or a fragment) or shows elements of the previous run
RUNNING_JS = ("() => document.querySelector('[data-testid=\"stStatusWidget\"]') !== null"
              " || document.querySelector('[data-stale=\"true\"]') !== null")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 90.0) -> None:
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


@contextlib.contextmanager
def serve(app: Path, artifacts: Path, log_path: Path, cwd: Path = REPO) -> Iterator[str]:
    """Run ``streamlit run app`` headless on a free port with ``$FERBIAS_ARTIFACTS=artifacts``; yields its URL.

    The server's output goes to ``log_path``; its last 3,000 characters are printed when it stops.
    """
    port = free_port()
    env = dict(os.environ, FERBIAS_ARTIFACTS=str(artifacts))
    with open(log_path, "w+") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(app), "--server.headless", "true", "--server.port",
             str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none"], cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_healthy(url, proc)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
            log.seek(0)
            print(log.read()[-3000:])


def settle(page, timeout: float = 240.0, quiet_s: float = 2.5) -> None:
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


def problems(page) -> list[str]:
    """Exception boxes, error alerts, tracebacks and "Page not found" on the page."""
    out = [f"exception: {t}" for t in page.locator('[data-testid="stException"]').all_inner_texts()]
    out += [f"error: {t}" for t in page.locator('[data-testid="stAlertContentError"]').all_inner_texts()]
    body = page.locator("body").inner_text()
    if "Traceback (most recent call last)" in body:
        out.append("traceback in page text")
    if "Page not found" in body:
        out.append("page not found")
    return out
