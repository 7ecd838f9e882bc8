"""Helpers of the fault-injection suite (tests/test_faults.py): CLI calls, snapshots, tiny data, hostile disks."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from core.common._io import file_sha1
from core.cli import main

TRACEBACK = "Traceback (most recent call last)"
REPO = Path(__file__).resolve().parent.parent
EMOTION_FOLDERS = ("Angry", "Happy", "Neutral", "Sad")


@dataclass
class Outcome:
    """What one CLI call gave."""

    rc: int
    out: str
    err: str

    def refused(self, *needles: str, rc: int = 2) -> "Outcome":
        """Assert a clean refusal: exit code, one ``error:`` line naming every needle, no traceback."""
        assert self.rc == rc, f"exit {self.rc}, expected {rc}; stderr: {self.err[-2000:]}"
        errors = [ln for ln in self.err.splitlines() if ln.startswith("error:")]
        assert len(errors) == 1, f"expected one error line, got: {self.err[-2000:]}"
        for n in needles:
            assert n in errors[0], f"{n!r} not in {errors[0]!r}"
        assert TRACEBACK not in self.err
        return self


def cli(capsys, *args: object) -> Outcome:
    """Run ``python -m core`` in this process (an exception escaping is a failed fault case)."""
    capsys.readouterr()
    rc = main([str(a) for a in args])
    got = capsys.readouterr()
    assert TRACEBACK not in got.err
    return Outcome(rc, got.out, got.err)


def cli_subprocess(*args: object, prelude: str = "", env: dict | None = None,
                   timeout: float = 300) -> subprocess.CompletedProcess:
    """Run the CLI in a fresh interpreter; ``prelude`` is Python run first (fault injection such as SIGKILL)."""
    code = prelude + "\nimport sys\nfrom core.cli import main\nsys.exit(main(sys.argv[1:]))\n"
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})})


def kill_after(module: str, function: str, n: int) -> str:
    """Prelude that SIGKILLs the process right after the ``n``-th call of ``module.function`` (kill -9)."""
    return (f"import os, signal\nimport {module} as _m\n_real = _m.{function}\n_n = [0]\n"
            f"def _dying(*a, **k):\n    r = _real(*a, **k)\n    _n[0] += 1\n"
            f"    if _n[0] >= {n}:\n        os.kill(os.getpid(), signal.SIGKILL)\n    return r\n"
            f"_m.{function} = _dying\n")


#: Prelude making prepare-eila write its resume state after every row (so kill points fall between rows).
FLUSH_EVERY_ROW = ("import core.preprocess._runner as _r\n_init = _r.FrameRunner.__init__\n"
                   "def _every_row(self, *a, **k):\n    _init(self, *a, **k)\n    self.flush_every_s = 0.0\n"
                   "_r.FrameRunner.__init__ = _every_row\n")


def fingerprint(root: Path) -> dict[str, str]:
    """SHA-1 of every visible file under ``root`` (hidden staging/lock files excluded)."""
    out = {}
    root = Path(root)
    if not root.exists():
        return out
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root)
        if p.is_file() and not any(part.startswith(".") for part in rel.parts):
            out[rel.as_posix()] = file_sha1(p)
    return out


def assert_nothing_lost(before: dict[str, str], root: Path) -> None:
    """Every file seen before is still there with the same bytes (``LOST`` marks data loss for the summary)."""
    after = fingerprint(root)
    lost = [k for k in before if k not in after]
    changed = [k for k in before if k in after and after[k] != before[k]]
    if lost or changed:
        raise AssertionError(f"LOST: missing {lost[:5]}, changed {changed[:5]}")


def visible(folder: Path) -> list[str]:
    """Names of the non-hidden entries of a folder."""
    folder = Path(folder)
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) if folder.is_dir() else []


def staging_left(folder: Path) -> list[str]:
    """Hidden staging/partial folders left in ``folder`` (lock files are fine)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".") and p.is_dir()
                  and (".staging-" in p.name or ".partial-" in p.name))


def tiny_tree(root: Path, splits: tuple[str, ...] = ("train", "validation", "test"), per_class: int = 2,
              size: int = 16, seed: int = 0) -> Path:
    """A folder dataset of distinct small noise PNGs: ``root/<split>/<Emotion>/<i>.png``."""
    rng = np.random.default_rng(seed)
    for split in splits:
        for emotion in EMOTION_FOLDERS:
            d = root / split / emotion
            d.mkdir(parents=True, exist_ok=True)
            for i in range(per_class):
                cv2.imwrite(str(d / f"{i}.png"), rng.integers(0, 256, (size, size), dtype=np.uint8))
    return root


def fer2013_csv(path: Path, rows: int = 4, value: int = 7, bad: str | None = None) -> Path:
    """A FER2013 CSV; ``bad`` = ``"short"`` (a 2,303-pixel row) or ``"256"`` (a pixel of 256) in row 1."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["emotion,pixels,Usage"]
    for i in range(rows):
        px = [str(value)] * 2304
        if i == 1 and bad == "short":
            px = px[:-1]
        if i == 1 and bad == "256":
            px[100] = "256"
        lines.append(f"{i % 7},{' '.join(px)},{'Training' if i % 2 == 0 else 'PublicTest'}")
    path.write_text("\n".join(lines) + "\n")
    return path


def try_mount(target: Path, options: str) -> bool:
    """Mount a tmpfs at ``target`` (root in a container that allows it); False when not permitted."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    target.mkdir(parents=True, exist_ok=True)
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(target)], capture_output=True)
    return res.returncode == 0


def umount(target: Path) -> None:
    subprocess.run(["umount", "-l", str(target)], capture_output=True)


def read_only_place(tmp_path: Path) -> Iterator[Path]:
    """A folder path nobody (root included) can write: a read-only tmpfs, else a path under a regular file."""
    mnt = tmp_path / "ro-mount"
    if try_mount(mnt, "ro,size=1m"):
        try:
            yield mnt / "artifacts"
        finally:
            umount(mnt)
        return
    blocker = tmp_path / "a-file-not-a-folder"
    blocker.write_text("this is a file")
    yield blocker / "artifacts"
