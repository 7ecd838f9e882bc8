"""Progress reporting shared by the CLI (tqdm), background jobs (status file) and pages.

A reporter is any callable ``report(done, total, message)``. Long-running core
functions take ``progress: ProgressFn | None`` and call it as work advances.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Protocol

from ._io import atomic_write_json


class ProgressFn(Protocol):
    def __call__(self, done: int, total: int, message: str = "") -> None: ...


def null_progress(done: int, total: int, message: str = "") -> None:
    """A reporter that does nothing."""


class TqdmProgress:
    """Reporter that drives a tqdm bar (CLI)."""

    def __init__(self, desc: str = "") -> None:
        from tqdm import tqdm

        self._tqdm = tqdm
        self._bar = None
        self._desc = desc

    def __call__(self, done: int, total: int, message: str = "") -> None:
        if self._bar is None or self._bar.total != total:
            if self._bar is not None:
                self._bar.close()
            self._bar = self._tqdm(total=total, desc=self._desc, unit="it")
        self._bar.n = done
        if message:
            self._bar.set_postfix_str(message[:60], refresh=False)
        self._bar.refresh()
        if done >= total:
            self._bar.close()
            self._bar = None


def close_open_bars() -> None:
    """Close every tqdm bar still open, so that a message printed next starts its own line.

    A command that fails mid-bar leaves its bar open (the traceback keeps it
    alive); the one error exit of :func:`core.cli.main` calls this before it
    prints ``error: ...``. Does nothing when tqdm was never imported.
    """
    import sys

    tqdm_module = sys.modules.get("tqdm")
    if tqdm_module is None:
        return
    for bar in list(getattr(tqdm_module.tqdm, "_instances", ())):
        bar.close()


class StatusFileProgress:
    """Reporter that writes ``{"done", "total", "message", "eta_s", ...}`` to a JSON file (background jobs)."""

    def __init__(self, path: str | Path, min_interval_s: float = 0.5, clock: Callable[[], float] = time.monotonic):
        self.path = Path(path)
        self._clock = clock
        self._start = clock()
        self._last = -1e9
        self._min = min_interval_s

    def __call__(self, done: int, total: int, message: str = "") -> None:
        now = self._clock()
        if done < total and now - self._last < self._min:
            return
        self._last = now
        elapsed = now - self._start
        eta = (elapsed / done * (total - done)) if done > 0 and total > 0 else None
        atomic_write_json({"done": int(done), "total": int(total), "message": message,
                           "elapsed_s": round(elapsed, 1), "eta_s": None if eta is None else round(eta, 1),
                           "updated": time.time()}, self.path)


#: what a job's progress counts, by the job's kind
KIND_UNITS: dict[str, str] = {"sweep": "epochs", "train": "epochs", "evaluate": "images", "clusters": "images",
                              "prepare-eila": "rows", "estimate-pose": "images", "demo-study": "steps"}
#: message starts of stages that count images whatever the job's kind (a sweep's frozen-backbone feature pass,
#: phase 2's activations, a feature cache filling up)
IMAGE_STAGES: tuple[str, ...] = ("frozen-backbone features", "computing features", "phase 2: activations")


def progress_unit(kind: str, message: str = "") -> str:
    """The unit a job's progress counts now: images during a feature pass, else the kind's own (``"steps"``)."""
    text = message or ""
    if text.startswith(IMAGE_STAGES) or (" cached, " in text and text.endswith(" to compute")):
        return "images"
    return KIND_UNITS.get(kind, "steps")


def eta_text(done: int, total: int, elapsed_s: float) -> str:
    """Human text like ``'120/900, ETA 3m 05s'``."""
    if done <= 0 or total <= 0:
        return f"{done}/{total}"
    rem = elapsed_s / done * (total - done)
    m, s = divmod(int(rem), 60)
    return f"{done}/{total}, ETA {m}m {s:02d}s"


def progress_for_cli(status_file: str | Path | None, desc: str = "") -> ProgressFn:
    """The reporter a CLI command should use: a status file for background jobs, else a tqdm bar."""
    return StatusFileProgress(status_file) if status_file else TqdmProgress(desc)
