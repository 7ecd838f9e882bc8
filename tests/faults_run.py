"""Run the fault-injection suite and print ``faults tried=N handled=N lost=N`` (for reviewers).

Usage: ``.venv/bin/python tests/faults_run.py [extra pytest arguments]``. Each test
case of ``tests/test_faults.py`` is one fault tried; it is handled when the
case passes (exit code, message naming the file/column/flag, no traceback,
nothing finished-looking lost or changed). A failure whose message starts with
``LOST`` (:func:`tests.faults_helpers.assert_nothing_lost`) counts as lost data.
Skipped cases (real data absent) are not counted as tried. Exits 0 only when
every fault tried was handled.
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def main(argv: list[str]) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "faults.xml"
        subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(REPO / "tests" /
                        "test_faults.py"), f"--junitxml={report}", *argv], cwd=REPO)
        cases = ET.parse(report).getroot().iter("testcase")
        tried = handled = lost = 0
        for case in cases:
            if case.find("skipped") is not None:
                continue
            tried += 1
            bad = [e for tag in ("failure", "error") for e in case.findall(tag)]
            if not bad:
                handled += 1
            elif any("LOST" in ((e.get("message") or "") + (e.text or "")) for e in bad):
                lost += 1
    print(f"faults tried={tried} handled={handled} lost={lost}")
    return 0 if tried and tried == handled else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
