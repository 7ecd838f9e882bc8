"""The library never imports Streamlit: checked on the source (every import statement in core/) and at run time."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

CORE = Path(__file__).resolve().parents[1] / "core"


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):  # function-local imports included
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_no_module_of_core_imports_streamlit():
    offenders = {str(p.relative_to(CORE.parent)): sorted(m for m in _imported_modules(p) if m.split(".")[0] ==
                                                         "streamlit")
                 for p in sorted(CORE.rglob("*.py"))}
    assert not {k: v for k, v in offenders.items() if v}, offenders


def test_importing_every_core_package_leaves_streamlit_unloaded():
    code = ("import sys, core, core.data.datasets, core.evaluation, core.latent, core.preprocess, core.training, "
            "core.cli; print('streamlit' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=CORE.parent, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "False"
