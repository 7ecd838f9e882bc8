"""core.evaluation.identity: display names, rename and notes in label.json, a restorable trash."""
from __future__ import annotations

import json
import time

import pytest

from _evaluation_data import make_training_run as _training_run
from core import DataFormatError
from core.evaluation import identity
from core.evaluation.runs import list_runs, read_run


def test_short_id_is_the_digest_or_random_part() -> None:
    assert identity.short_id("sfew-only-3f9a1c77d0") == "3f9a1c"
    assert identity.short_id("eval-20250101-120000-ab12cd") == "ab12cd"
    assert identity.short_id("run-a") == "run-a"             # last part too short: the last 6 characters
    assert identity.short_id("my_run_id_x") == "n_id_x"      # no '-' part that is alphanumeric


def test_display_names_are_label_short_id_and_local_minute() -> None:
    created = time.mktime((2026, 12, 2, 7, 15, 30, 0, 0, -1))
    assert identity.display_name("SFEW + 10% EiLA", "sfew-3f9a1c77d0", created) == (
        "SFEW + 10% EiLA · 3f9a1c · 2026-12-02 07:15")
    same = identity.unique_names([("1", "x", "r-abcdef1", created), ("2", "x", "r-abcdef2", created),
                                  ("3", "y", "r-abcdef3", created)])
    # 1 and 2 share label, short id and minute: the full run id tells them apart; 3 keeps its short name
    assert same == {"1": "x · r-abcdef1 · 2026-12-02 07:15", "2": "x · r-abcdef2 · 2026-12-02 07:15",
                    "3": "y · abcdef · 2026-12-02 07:15"}


def test_read_meta_defaults_and_unreadable_files(tmp_path) -> None:
    assert identity.read_meta(tmp_path) == {"label": None, "notes": ""}
    (tmp_path / identity.META_FILE).write_text("{not json")
    assert identity.read_meta(tmp_path) == {"label": None, "notes": ""}
    (tmp_path / identity.META_FILE).write_text(json.dumps({"label": "", "notes": None}))
    assert identity.read_meta(tmp_path) == {"label": None, "notes": ""}


def test_display_names_rename_notes_and_restorable_trash(tmp_path):
    art = tmp_path / "artifacts"
    a = _training_run(art, "sfew-only-aaaaaa1111", "SFEW only")
    b = _training_run(art, "sfew-only-bbbbbb2222", "SFEW only")
    names = {r.display_name for r in list_runs(art)}
    assert len(names) == 2 and all(n.startswith("SFEW only · ") for n in names)
    before = {f.name: f.read_bytes() for f in a.iterdir()}
    meta = identity.rename_run(a, "  my   baseline ")
    assert meta["label"] == "my baseline" and json.loads((a / identity.META_FILE).read_text())["label"] == (
        "my baseline")
    identity.set_notes(a, "seed 0, first try")
    info = read_run(a)
    assert info.label == "my baseline" and info.notes == "seed 0, first try" and info.configuration == "SFEW only"
    assert all((a / n).read_bytes() == v for n, v in before.items())  # the run's own files never change
    identity.rename_run(a, "")
    assert read_run(a).label == "SFEW only" and read_run(a).notes == "seed 0, first try"
    with pytest.raises(ValueError, match="a run label has at most 120 characters, received 121"):
        identity.rename_run(a, "x" * 121)
    trashed = identity.delete_run(b, art)
    assert not b.exists() and trashed.parent == identity.trash_dir(art) and len(list_runs(art)) == 1
    assert trashed.name.startswith(b.name + identity.TRASH_SUFFIX)
    assert identity.trashed_runs(art) == [trashed] and identity.original_run_id(trashed) == b.name
    assert identity.restore_run(trashed, art) == b and b.is_dir() and not identity.trashed_runs(art)
    again = identity.delete_run(b, art)
    _training_run(art, b.name, "SFEW only")
    with pytest.raises(DataFormatError, match="exists again"):
        identity.restore_run(again, art)
    with pytest.raises(DataFormatError, match="not a run folder; expected a config.json inside"):
        identity.rename_run(tmp_path, "x")
    with pytest.raises(DataFormatError, match="not a run in the trash; expected a folder under"):
        identity.restore_run(a, art)


def test_deleting_twice_in_one_second_keeps_both(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    art = tmp_path / "artifacts"
    monkeypatch.setattr(identity.time, "strftime", lambda fmt, *a: "20261202-071500")
    first = identity.delete_run(_training_run(art, "r-aaaaaa1111", "r"), art)
    second = identity.delete_run(_training_run(art, "r-aaaaaa1111", "r"), art)
    assert first.name == "r-aaaaaa1111__20261202-071500" and second.name == "r-aaaaaa1111__20261202-071500-1"
    assert identity.original_run_id(second) == "r-aaaaaa1111" and len(identity.trashed_runs(art)) == 2
    assert identity.trashed_runs(tmp_path / "nowhere") == []
