"""The one write-to-temp-then-rename helper and the folder swap of core.common._io."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from core.common._io import atomic_write, atomic_write_bytes, atomic_write_json, replace_folder, replacing_folder
from core.data.manifest import atomic_write_parquet


def test_atomic_write_keeps_the_old_file_when_the_write_fails(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "a.json"
    assert atomic_write_json({"x": 1}, target) == target and json.loads(target.read_text()) == {"x": 1}

    def half_then_crash(tmp: Path) -> None:
        tmp.write_text('{"x": ')
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(target, half_then_crash)
    assert json.loads(target.read_text()) == {"x": 1}
    assert sorted(p.name for p in target.parent.iterdir()) == ["a.json"]  # no temporary file left


def test_writers_share_the_helper(tmp_path: Path) -> None:
    atomic_write_bytes(b"\x00\x01", tmp_path / "b.bin")
    atomic_write_parquet(pd.DataFrame({"a": [1, 2]}), tmp_path / "t.parquet")
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\x01"
    assert pd.read_parquet(tmp_path / "t.parquet")["a"].tolist() == [1, 2]
    seen = []
    atomic_write(tmp_path / "c.npz", lambda tmp: seen.append(tmp.name), prefix=".shard-", suffix=".npz")
    assert seen[0].startswith(".shard-") and seen[0].endswith(".npz") and (tmp_path / "c.npz").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.bin", "c.npz", "t.parquet"]


def _folder(path: Path, text: str) -> Path:
    path.mkdir(parents=True)
    (path / "f.txt").write_text(text)
    return path


def test_replacing_folder_puts_the_previous_folder_back_when_the_block_fails(tmp_path: Path) -> None:
    final = _folder(tmp_path / "data", "old")
    staging = _folder(tmp_path / ".data.partial", "new")
    with pytest.raises(RuntimeError, match="register failed"):
        with replacing_folder(staging, final) as moved:
            assert moved == final and (final / "f.txt").read_text() == "new"
            raise RuntimeError("register failed")
    assert (final / "f.txt").read_text() == "old" and (staging / "f.txt").read_text() == "new"
    with replacing_folder(staging, final):
        pass
    assert (final / "f.txt").read_text() == "new" and not staging.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]  # the previous folder is gone
    assert replace_folder(_folder(tmp_path / ".s2", "newer"), final) == final
    assert (final / "f.txt").read_text() == "newer" and sorted(p.name for p in tmp_path.iterdir()) == ["data"]
