"""The app's Streamlit settings (``.streamlit/config.toml``) and what they assume of the pages."""
from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _bare_expressions(path: Path) -> list[str]:
    """``file:line`` of every statement that is a bare value (not a call, yield or await, nor the docstring of
    the module or of a function): what Streamlit's magic would write to the page (a class's docstring too)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        for field in ("body", "orelse", "finalbody"):
            body = getattr(node, field, None)
            if not isinstance(body, list):
                continue
            for i, stmt in enumerate(body):
                if not isinstance(stmt, ast.Expr) or isinstance(stmt.value, (ast.Call, ast.Await, ast.Yield,
                                                                             ast.YieldFrom)):
                    continue
                if i == 0 and isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef)) \
                        and field == "body" and isinstance(stmt.value, ast.Constant) \
                        and isinstance(stmt.value.value, str):
                    continue  # a docstring magic leaves alone
                found.append(f"{path.name}:{stmt.lineno}")
    return found


def test_settings_turn_off_the_collection_after_each_run_and_magic() -> None:
    runner = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["runner"]
    assert runner == {"postScriptGC": False, "magicEnabled": False}


def test_no_page_relies_on_magic() -> None:
    """With magic off a bare value on its own line shows nothing: no script Streamlit runs (the app and its pages;
    helpers such as ``pages/_ui.py`` are imported, which magic never touched) may have one."""
    files = [ROOT / "app.py", *sorted(p for p in (ROOT / "pages").glob("*.py") if not p.name.startswith("_"))]
    assert len(files) > 5
    assert [where for f in files for where in _bare_expressions(f)] == []


def test_the_check_finds_a_bare_value(tmp_path: Path) -> None:
    page = tmp_path / "probe.py"
    page.write_text('"""doc"""\nimport streamlit as st\nx = 1\nx\nst.write(x)\nif x:\n    "shown by magic"\n'
                    'def f():\n    """doc"""\nclass C:\n    """shown by magic"""\n')
    assert _bare_expressions(page) == ["probe.py:4", "probe.py:7", "probe.py:11"]
