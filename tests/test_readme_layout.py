"""The README's Layout section matches the tree: every part of core/ and every page is named, every name exists."""
from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def layout_block() -> str:
    """The code block under ``## Layout`` in README.md."""
    text = (REPO / "README.md").read_text()
    section = text.split("\n## Layout", 1)[1].split("\n## ", 1)[0]
    return section.split("```", 2)[1]


def named(block: str) -> set[str]:
    """File and folder names the block mentions (``x.py``, ``x/``)."""
    return set(re.findall(r"(?<![\w/.])([A-Za-z_][\w]*(?:\.py|/))", block))


def _in_tree(name: str) -> bool:
    stem = name.rstrip("/")
    hits = [p for p in REPO.rglob(stem) if ".venv" not in p.parts and ".git" not in p.parts]
    return any(p.is_dir() for p in hits) if name.endswith("/") else any(p.is_file() for p in hits)


def test_the_block_is_found_and_parsed() -> None:
    names = named(layout_block())
    assert {"core/", "pages/", "app.py"} <= names
    assert named("  a/  b.py, c.py (d.e) f/g.py") == {"a/", "b.py", "c.py", "f/"}


def test_every_part_of_core_and_every_page_is_named() -> None:
    names = named(layout_block())
    parts = [p for p in (REPO / "core").iterdir() if not p.name.startswith(("__", "."))]
    packages = [p for p in parts if (p / "__init__.py").is_file()]  # a folder left with only __pycache__ is not one
    expected = {p.name + "/" for p in packages} | {p.name for p in parts if p.suffix == ".py"}
    expected |= {p.name for p in (REPO / "pages").glob("*.py")}
    for package in packages:
        if package.name in {"common", "data", "models", "runs"}:  # the small packages list every module
            expected |= {m.name for m in package.glob("*.py") if not m.name.startswith("__")}
    missing = sorted(expected - names)
    assert not missing, f"README's Layout section does not name {missing}"


def test_every_name_in_the_block_exists() -> None:
    absent = sorted(n for n in named(layout_block()) if not _in_tree(n))
    assert not absent, f"README's Layout section names {absent}, which are not in the tree"
