"""The page files of app.PAGES, read from app.py without running it (shared by the AppTest and browser tests)."""
from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _pages_entries() -> list[tuple]:
    tree = ast.parse((REPO / "app.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", None) == "PAGES":
            return list(ast.literal_eval(node.value))
    raise AssertionError("app.py has no PAGES list")


def app_pages() -> list[str]:
    """Page files listed in ``app.PAGES``, in navigation order."""
    return [entry[0] for entry in _pages_entries()]


def app_page_titles() -> list[tuple[str, str]]:
    """(file, navigation title) of the pages of ``app.PAGES`` whose file exists."""
    return [(entry[0], entry[1]) for entry in _pages_entries() if (REPO / entry[0]).is_file()]


#: Pages of app.PAGES whose file exists (pages are added by several issues).
EXISTING: list[str] = [p for p in app_pages() if (REPO / p).is_file()]
