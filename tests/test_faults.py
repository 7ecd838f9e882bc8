"""Fault injection: a hostile user's inputs, kill -9, two jobs at once, corrupt artifacts, full and read-only disks.

Every case asserts the exit code, a one-line message naming the file / column /
flag at fault, no traceback, and that nothing finished-looking was lost or
changed (:func:`tests.faults_helpers.assert_nothing_lost`; its failures read
``LOST``). ``python tests/faults_run.py`` runs this file and prints
``faults tried=N handled=N lost=0``. Numbers in comments are the defects of
issue 12 each case reproduces.
"""
from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from core.common._io import file_sha1
from core.models.feature_cache import FeatureCache
from core.data.registry import get_dataset, list_datasets, load_dataset
from tests.faults_helpers import (FLUSH_EVERY_ROW, REPO, assert_nothing_lost, cli, cli_subprocess, fer2013_csv,
                                  fingerprint, kill_after, read_only_place, staging_left, tiny_tree, try_mount, umount,
                                  visible)
from tests._artifacts import private_artifacts
from tests.preprocess_video_fixture import eila_video  # noqa: F401 - module-scoped fixture

TRAIN_ARGS = ("--weights", "random", "--input-size", "32", "--epochs1", "1", "--epochs2", "0", "--batch-size", "8")


# ----------------------------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """An artifacts folder with a registered dataset 'Tiny', an evaluation run and a trained-run-looking folder."""
    from core.cli import main

    base = tmp_path_factory.mktemp("finished")
    art = base / "artifacts"
    data = tiny_tree(base / "tiny")
    assert main(["register", "--name", "Tiny", "--format", "folder", "--path", str(data),
                 "--artifacts", str(art)]) == 0
    assert main(["evaluate", "--model", "fer", "--data", "Tiny", "--n-boot", "20", "--label", "original",
                 "--out", str(art / "runs" / "eval-original"), "--artifacts", str(art)]) == 0
    trained = art / "runs" / "trained-original"
    shutil.copytree(art / "runs" / "eval-original", trained)
    (trained / "model.keras").write_bytes(b"stands for the weights of a trained run")
    (trained / "history.csv").write_text("epoch,loss\n0,1.0\n")
    return art


@pytest.fixture()
def arts(finished: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of :func:`finished` (also $FERBIAS_ARTIFACTS)."""
    return private_artifacts(finished, tmp_path, monkeypatch)


@pytest.fixture()
def read_only(tmp_path: Path):
    yield from read_only_place(tmp_path)


@pytest.fixture()
def full_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A folder on a disk with about 64 KiB free: a small tmpfs filled up, else free space reported as 64 KiB."""
    mnt = tmp_path / "small-disk"
    if try_mount(mnt, "size=2m"):
        filler = mnt / "filler.bin"
        with open(filler, "wb") as fh:
            try:
                fh.write(b"\0" * (2 * 2**20 - 64 * 2**10))
            except OSError:
                pass
        try:
            yield mnt / "artifacts"
        finally:
            umount(mnt)
        return
    import shutil as _shutil

    real = _shutil.disk_usage
    monkeypatch.setattr(_shutil, "disk_usage", lambda p: real(p)._replace(free=64 * 2**10))
    yield tmp_path / "artifacts"


def _tiny_eval_args(art: Path) -> tuple[str, ...]:
    return ("--model", "fer", "--data", "Tiny", "--n-boot", "20", "--artifacts", str(art))


# ------------------------------------------------------------------------- 1: finished runs are never rewritten
@pytest.mark.parametrize("run", ["eval-original", "trained-original"])
def test_evaluate_refuses_a_finished_run_folder(arts, capsys, monkeypatch, run):
    import core.models.classifier as classifier

    monkeypatch.setattr(classifier, "predict_manifest", lambda *a, **k: pytest.fail("predicted before refusing"))
    before = fingerprint(arts)
    out = arts / "runs" / run
    cli(capsys, "evaluate", *_tiny_eval_args(arts), "--out", out).refused("--out", str(out), "--replace")
    assert_nothing_lost(before, arts)


def test_evaluate_refuses_a_dataset_folder(arts, capsys):
    before = fingerprint(arts)
    cli(capsys, "evaluate", *_tiny_eval_args(arts), "--out", arts / "datasets" / "tiny").refused(
        "--out", "registered dataset")
    assert_nothing_lost(before, arts)


def test_evaluate_replace_swaps_in_a_complete_run(arts, capsys):
    out = arts / "runs" / "eval-original"
    res = cli(capsys, "evaluate", *_tiny_eval_args(arts), "--out", out, "--replace", "--label", "second")
    assert res.rc == 0, res.err
    assert json.loads((out / "config.json").read_text())["label"] == "second"
    assert staging_left(out.parent) == [] and "eval-original" in visible(out.parent)


# -------------------------------------------------------------- 3, 7: names normalised once, collisions refused
def test_register_refuses_an_existing_name(arts, capsys):
    before = fingerprint(arts)
    cli(capsys, "register", "--name", "Tiny", "--format", "folder", "--path", tiny_tree(arts.parent / "t2", seed=1),
        ).refused("'Tiny'", "already registered", "--replace")
    assert_nothing_lost(before, arts)


def test_register_replace_replaces_once_complete(arts, capsys):
    src = tiny_tree(arts.parent / "t2", per_class=1, seed=1)
    assert cli(capsys, "register", "--name", "Tiny", "--format", "folder", "--path", src, "--replace").rc == 0
    assert get_dataset("Tiny", arts).n_samples == 12 and staging_left(arts / "datasets") == []


def test_names_mapping_to_one_folder_collide(arts, capsys, tmp_path):
    src = tiny_tree(tmp_path / "evil")
    assert cli(capsys, "register", "--name", "EVIL", "--format", "folder", "--path", src).rc == 0
    before = fingerprint(arts)
    for name in ("../../evil", "evil"):
        cli(capsys, "register", "--name", name, "--format", "folder", "--path", src).refused(
            "evil", "already holds dataset 'EVIL'", "--name")
    cli(capsys, "register", "--name", "EVIL", "--format", "folder", "--path", src).refused("--replace")
    assert_nothing_lost(before, arts)
    assert not (arts.parent.parent / "evil").exists() and visible(arts / "datasets") == ["evil", "tiny"]


@pytest.mark.parametrize("name", ["", "...", "/", "  "])
def test_names_without_usable_characters(arts, capsys, tmp_path, name):
    before = fingerprint(arts)
    cli(capsys, "register", "--name", name, "--format", "folder", "--path", tiny_tree(tmp_path / "d")).refused(
        "--name", "no usable characters")
    assert_nothing_lost(before, arts)


def test_prepare_eila_refuses_a_registered_dataset_folder(arts, capsys, eila_dir, yunet_model, tmp_path):
    before = fingerprint(arts)
    (tmp_path / "videos").mkdir()
    cli(capsys, "prepare-eila", "--annotations", eila_dir / "annotations.csv", "--demographics",
        eila_dir / "demographics.csv", "--videos", tmp_path / "videos", "--detector", "yunet", "--weights",
        yunet_model, "--out", arts / "datasets" / "tiny").refused("--out", "registered dataset")
    assert_nothing_lost(before, arts)
    assert load_dataset("Tiny", arts).shape[0] == get_dataset("Tiny", arts).n_samples


def test_prepare_eila_register_name_taken_is_refused_before_work(arts, capsys, eila_video, yunet_model, tmp_path):
    before = fingerprint(arts)
    out = tmp_path / "out"
    cli(capsys, *_prepare_cli_args(eila_video, out, yunet_model), "--register", "Tiny").refused(
        "'Tiny'", "already registered", "--replace")
    assert not out.exists()
    assert_nothing_lost(before, arts)


def test_a_manifest_replaced_behind_info_json_is_named(arts, capsys):
    info = arts / "datasets" / "tiny" / "info.json"
    meta = json.loads(info.read_text())
    info.write_text(json.dumps({**meta, "n_samples": 999}))
    cli(capsys, "evaluate", *_tiny_eval_args(arts)).refused(str(info), "999", "--replace")


# ------------------------------------------------------------------ 2: fer2013 PNGs owned, keyed, validated
def test_fer2013_csvs_with_one_file_name_keep_their_own_images(arts, capsys, tmp_path):
    a = fer2013_csv(tmp_path / "a" / "fer2013.csv", value=7)
    b = fer2013_csv(tmp_path / "b" / "fer2013.csv", value=200)
    assert cli(capsys, "register", "--name", "FER A", "--format", "fer2013-csv", "--path", a).rc == 0
    assert cli(capsys, "register", "--name", "FER B", "--format", "fer2013-csv", "--path", b).rc == 0
    for name, value in (("FER A", 7), ("FER B", 200)):
        info, man = get_dataset(name, arts), load_dataset(name, arts)
        assert all(Path(p).is_relative_to(info.path / "fer2013_png") for p in man["path"])
        assert int(cv2.imread(man["path"].iloc[0], cv2.IMREAD_GRAYSCALE).mean()) == value
        assert set(man["dataset"]) == {name} and man["sample_id"].str.startswith(f"{name}:").all()
    assert staging_left(arts / "datasets") == []


@pytest.mark.parametrize("bad,needles", [("short", ("row 1", "2304", "received 2303")),
                                         ("256", ("row 1", "0-255", "received 256"))])
def test_fer2013_bad_rows_are_refused_and_leave_nothing(arts, capsys, tmp_path, bad, needles):
    csv = fer2013_csv(tmp_path / "fer2013.csv")
    assert cli(capsys, "register", "--name", "Good", "--format", "fer2013-csv", "--path", csv).rc == 0
    fer2013_csv(csv, bad=bad)  # same file name, now with a bad row: never registered from old PNGs
    before = fingerprint(arts)
    cli(capsys, "register", "--name", "Bad", "--format", "fer2013-csv", "--path", csv).refused(
        str(csv), "column 'pixels'", *needles)
    assert_nothing_lost(before, arts)
    assert visible(arts / "datasets") == ["good", "tiny"] and staging_left(arts / "datasets") == []
    assert not (arts / "cache" / "fer2013_png").exists() or not list((arts / "cache").rglob("*.png"))


def test_fer2013_missing_column_and_not_a_csv(arts, capsys, tmp_path):
    csv = tmp_path / "fer.csv"
    csv.write_text("emotion,Usage\n1,Training\n")
    cli(capsys, "register", "--name", "X", "--format", "fer2013-csv", "--path", csv).refused(str(csv), "pixels")
    binary = tmp_path / "binary.csv"
    binary.write_bytes(os.urandom(2048))
    cli(capsys, "register", "--name", "X", "--format", "fer2013-csv", "--path", binary).refused(str(binary))
    assert visible(arts / "datasets") == ["tiny"]


# ------------------------------------------------------------------------------------- 4: resume is exact
class Killed(BaseException):
    """Stands for kill -9: nothing after it runs (no cleanup, no later write)."""


def _die_after_writes(monkeypatch, k: int) -> None:
    import core.preprocess._runner as runner

    real, n = runner.atomic_write_parquet, {"calls": 0}

    def dying(df, path):
        n["calls"] += 1
        if n["calls"] > k:
            raise Killed()
        real(df, path)
        if n["calls"] == k:
            raise Killed()

    monkeypatch.setattr(runner, "atomic_write_parquet", dying)


def _prepared(out: Path) -> tuple[pd.DataFrame, dict[str, bytes], pd.DataFrame]:
    rows = pd.read_parquet(out / "rows.parquet").drop(columns=["crop_path", "detail"])
    crops = {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*.jpg"))}
    man = pd.read_parquet(out / "manifest.parquet").drop(columns=["path"])
    return rows, crops, man


def _assert_same_preparation(a: Path, b: Path) -> None:
    ra, ca, ma = _prepared(a)
    rb, cb, mb = _prepared(b)
    pd.testing.assert_frame_equal(ra, rb)
    pd.testing.assert_frame_equal(ma, mb)
    assert list(ca) == list(cb) and [k for k in ca if ca[k] != cb[k]] == []


@pytest.fixture(scope="module")
def mtcnn_fresh(eila_video, tmp_path_factory):
    from core.preprocess import prepare_eila
    from core.preprocess._pipeline import PrepareConfig

    out = tmp_path_factory.mktemp("mtcnn") / "fresh"
    cfg = PrepareConfig(detector="mtcnn", batch_size=2)
    prepare_eila(eila_video.annotations, eila_video.demographics, eila_video.videos, out, config=cfg, n_boot=20)
    return out, cfg


@pytest.mark.slow
@pytest.mark.parametrize("kills", [(1,), (5,), (1, 5)], ids=["mid-first-batch", "mid-later-batch", "killed-twice"])
def test_resume_after_kills_mid_batch_is_byte_identical(eila_video, mtcnn_fresh, tmp_path, monkeypatch, kills):
    from core.preprocess import prepare_eila

    fresh, cfg = mtcnn_fresh
    args = (eila_video.annotations, eila_video.demographics, eila_video.videos, tmp_path / "resumed")
    for k in kills:
        with monkeypatch.context() as m:
            _die_after_writes(m, k)
            with pytest.raises(Killed):
                prepare_eila(*args, config=cfg, n_boot=20, flush_every_s=0)
    prepare_eila(*args, config=cfg, n_boot=20)
    _assert_same_preparation(fresh, tmp_path / "resumed")


def test_resume_keeps_the_first_runs_batch_plan(eila_video, mtcnn_fresh, tmp_path, monkeypatch):
    from core.preprocess import prepare_eila
    from core.preprocess._pipeline import PrepareConfig

    fresh, cfg = mtcnn_fresh
    args = (eila_video.annotations, eila_video.demographics, eila_video.videos, tmp_path / "resumed")
    with monkeypatch.context() as m:
        _die_after_writes(m, 3)
        with pytest.raises(Killed):
            prepare_eila(*args, config=cfg, n_boot=20, flush_every_s=0)
    prepare_eila(*args, config=PrepareConfig(detector="mtcnn", batch_size=5), n_boot=20)  # another batch asked
    assert json.loads((tmp_path / "resumed" / "prepare.json").read_text())["plan"]["batch"] == 2
    _assert_same_preparation(fresh, tmp_path / "resumed")


def _prepare_cli_args(fix, out: Path, yunet: Path) -> tuple:
    return ("prepare-eila", "--annotations", fix.annotations, "--demographics", fix.demographics, "--videos",
            fix.videos, "--out", out, "--detector", "yunet", "--weights", yunet)


@pytest.fixture(scope="module")
def yunet_fresh(eila_video, yunet_model, tmp_path_factory):
    from core.cli import main

    out = tmp_path_factory.mktemp("yunet") / "fresh"
    assert main([str(a) for a in _prepare_cli_args(eila_video, out, yunet_model)]) == 0
    return out


@pytest.mark.slow
@pytest.mark.parametrize("points", [(2,), (1, 4)], ids=["kill9-once", "kill9-twice"])
def test_kill9_prepare_eila_then_resume_is_byte_identical(eila_video, yunet_model, yunet_fresh, tmp_path, points):
    out = tmp_path / "out"
    for n in points:  # SIGKILL right after the n-th resume-state write, in a real process
        res = cli_subprocess(*_prepare_cli_args(eila_video, out, yunet_model)[0:], "--status-file", tmp_path / "s",
                             prelude=FLUSH_EVERY_ROW + kill_after("core.preprocess._runner", "atomic_write_parquet", n))
        assert res.returncode == -9, res.stderr[-2000:]
        assert not (out / "manifest.parquet").exists()  # nothing finished-looking
    res = cli_subprocess(*_prepare_cli_args(eila_video, out, yunet_model))
    assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr[-2000:]
    assert not list(out.rglob(".*.tmp"))
    _assert_same_preparation(yunet_fresh, out)


def test_corrupt_resume_files_are_named(eila_video, yunet_model, yunet_fresh, tmp_path, capsys):
    out = tmp_path / "out"
    shutil.copytree(yunet_fresh, out)
    (out / "prepare.json").write_text('{"identity": {"size": 4')
    cli(capsys, *_prepare_cli_args(eila_video, out, yunet_model)).refused("prepare.json", "not valid JSON")
    shutil.copy(yunet_fresh / "prepare.json", out / "prepare.json")
    (out / "rows.parquet").write_bytes((yunet_fresh / "rows.parquet").read_bytes()[:100])
    cli(capsys, *_prepare_cli_args(eila_video, out, yunet_model)).refused("rows.parquet", "unreadable")


# ----------------------------------------------------------------- 5: feature-cache shards checked when read
def _images(root: Path, n: int) -> list[Path]:
    root.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        p = root / f"img{i}.png"
        cv2.imwrite(str(p), np.full((4, 4, 3), 10 * i, np.uint8))
        out.append(p)
    return out


def _load(paths):
    return np.stack([cv2.imread(str(p)).astype(np.float32) for p in paths])


def _mean(x):
    return x.mean(axis=(1, 2))


def _flip_a_value_byte(shard: Path) -> None:
    """Change one byte inside the stored array: the zip stays valid, its CRC (and the SHA-1) no longer match."""
    data = bytearray(shard.read_bytes())
    at = data.find(b"\x93NUMPY", data.find(b"values.npy")) + 128 + 4  # into the array (stored, not deflated)
    data[at] ^= 0xFF
    shard.write_bytes(bytes(data))


def _write_foreign_shard(cache: FeatureCache) -> None:
    np.savez(cache.dir / "shard-foreign.npz", keys=np.array(["k1", "k2"]), values=np.zeros((2, 5, 5)))


@pytest.mark.parametrize("damage", ["bad-crc", "truncated", "wrong-shape", "other-bytes"])
def test_bad_cache_shards_are_named_quarantined_and_recomputed(tmp_path, damage):
    paths = _images(tmp_path / "img", 6)
    cache = FeatureCache(tmp_path / "c", "toy")
    good = cache.compute(paths, _mean, _load, batch_size=2, flush_every=3)
    victim = max(cache.dir.glob("shard-*.npz"), key=lambda s: s.stat().st_size)  # the shard with most items
    with np.load(victim) as z:
        n_victim = len(z["keys"])
    if damage == "bad-crc":  # a shard from before checksums (no .sha1): its zip CRC is what catches it
        victim.with_name(victim.name + ".sha1").unlink()
        _flip_a_value_byte(victim)
    elif damage == "truncated":
        victim.write_bytes(victim.read_bytes()[:150])
    elif damage == "wrong-shape":
        with np.load(victim) as z:
            keys = z["keys"]
        victim.unlink()
        victim.with_name(victim.name + ".sha1").unlink()
        np.savez(victim, keys=keys, values=np.zeros((len(keys), 9, 9)))
    else:
        with np.load(victim) as z:
            keys, values = z["keys"], z["values"]
        np.savez(victim, keys=keys, values=values + 1)  # a valid shard whose bytes differ from its checksum
    fresh = FeatureCache(tmp_path / "c", "toy")
    with pytest.warns(UserWarning, match=victim.name):
        again = fresh.compute(paths, _mean, _load, batch_size=2)
    np.testing.assert_allclose(again, good)
    assert fresh.n_computed == n_victim  # only the damaged shard's items
    assert not victim.exists() and list((cache.dir / ".quarantine").glob(victim.name + ".*"))
    assert len(FeatureCache(tmp_path / "c", "toy")) == 6


def test_a_foreign_shard_of_another_shape_never_breaks_stacking(tmp_path):
    paths = _images(tmp_path / "img", 3)
    cache = FeatureCache(tmp_path / "c", "toy")
    cache.dir.mkdir(parents=True)
    keys = [file_sha1(p) for p in paths]
    np.savez(cache.dir / "shard-old.npz", keys=np.array(keys), values=np.zeros((3, 7)))
    with pytest.warns(UserWarning, match="shard-old.npz"):
        out = cache.compute(paths, _mean, _load, item_shape=(3,))
    np.testing.assert_allclose(out, _mean(_load(paths)))


_CONCURRENT = """
import sys, time, numpy as np, cv2
from core.models.feature_cache import FeatureCache
paths = sys.argv[2:]
def slow(x):
    time.sleep(0.3)
    return x.mean(axis=(1, 2))
c = FeatureCache(sys.argv[1], "toy")
c.compute(paths, slow, lambda ps: np.stack([cv2.imread(p).astype(np.float32) for p in ps]), batch_size=2)
print(c.n_computed)
"""


def test_two_trainings_at_once_compute_and_store_each_feature_once(tmp_path):
    paths = [str(p) for p in _images(tmp_path / "img", 6)]
    procs = [subprocess.Popen([sys.executable, "-c", _CONCURRENT, str(tmp_path / "c"), *paths], cwd=REPO,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    assert sorted(int(o[0].strip()) for o in outs) == [0, 6]  # the second waited and found everything cached
    assert len(list((tmp_path / "c" / "toy").glob("shard-*.npz"))) == 1


# ---------------------------------------------------------------- 5: corrupt runs never block unrelated work
def _plan(capsys, art: Path) -> tuple[str, str]:
    res = cli(capsys, "sweep", "--mix", "Tiny", "--eval-dataset", "Tiny", *TRAIN_ARGS, "--artifacts", art, "--plan")
    assert res.rc == 0, res.err
    line = next(ln.split() for ln in res.out.splitlines() if ln.strip().startswith("Tiny only"))
    return next(t for t in line if t.startswith("tiny-only-")), line[-1]  # the run id, finished


def test_sweep_plan_does_not_count_a_truncated_run_as_finished(arts, capsys):
    run_id, finished = _plan(capsys, arts)
    assert finished == "False"
    run = arts / "runs" / run_id
    shutil.copytree(arts / "runs" / "trained-original", run)
    assert _plan(capsys, arts)[1] == "True"
    preds = run / "predictions.parquet"
    preds.write_bytes(preds.read_bytes()[: preds.stat().st_size // 2])
    assert _plan(capsys, arts)[1] == "False"


def test_report_all_runs_skips_a_corrupt_run(arts, capsys, tmp_path):
    bad = arts / "runs" / "eval-broken"
    shutil.copytree(arts / "runs" / "eval-original", bad)
    (bad / "predictions.parquet").write_bytes(b"PAR1 truncated")
    (arts / "runs" / "no-config").mkdir()
    (arts / "runs" / "no-config" / "config.json").write_text("{")
    before = fingerprint(arts)
    res = cli(capsys, "report", "--all-runs", "--n-boot", "20", "--no-reference", "--out", tmp_path / "r.html",
              "--artifacts", arts)
    assert res.rc == 0, res.err
    assert "eval-broken" in res.err and "predictions.parquet" in res.err
    assert "original" in (tmp_path / "r.html").read_text()
    assert_nothing_lost(before, arts)


# ---------------------------------------------------------------------- 6: one bad info.json breaks nothing
@pytest.mark.parametrize("content,needle", [('{"name": "Other", "slu', "not valid JSON"),
                                            ('{"name": "Other", "slug": "other"}', "n_samples")])
def test_a_bad_info_json_is_named_and_skipped(arts, capsys, tmp_path, content, needle):
    other = arts / "datasets" / "other"
    shutil.copytree(arts / "datasets" / "tiny", other)
    (other / "info.json").write_text(content)
    with pytest.warns(UserWarning, match="info.json"):
        assert [d.name for d in list_datasets(arts)] == ["Tiny"]
    cli(capsys, "evaluate", "--model", "fer", "--data", "other", "--n-boot", "20").refused(
        str(other / "info.json"), needle)
    res = cli(capsys, "register", "--name", "Fresh", "--format", "folder", "--path", tiny_tree(tmp_path / "f"))
    assert res.rc == 0, res.err


def test_a_truncated_manifest_is_named(arts, capsys):
    man = arts / "datasets" / "tiny" / "manifest.parquet"
    man.write_bytes(man.read_bytes()[:64])
    cli(capsys, "evaluate", *_tiny_eval_args(arts)).refused("manifest.parquet")


# ------------------------------------------------------------------------ 7: bad models, images and names
def _save_model(path: Path, inputs: tuple[int, ...], output) -> Path:
    import keras

    x = keras.Input(inputs)
    y = output(keras.layers.Flatten()(x))
    keras.Model(x, y).save(path)
    return path


def test_a_model_whose_output_is_not_batch_by_7(arts, capsys, tmp_path):
    import keras

    model = _save_model(tmp_path / "odd.keras", (48, 48, 1),
                        lambda h: keras.layers.Reshape((4, 7))(keras.layers.Dense(28, activation="softmax")(h)))
    before = fingerprint(arts)
    cli(capsys, "evaluate", *_tiny_eval_args(arts)[2:], "--model", model).refused(str(model), "(batch, 7)",
                                                                                  "(None, 4, 7)")
    assert_nothing_lost(before, arts)


def test_a_small_input_model_is_accepted_with_a_warning(arts, capsys, tmp_path):
    import keras

    model = _save_model(tmp_path / "small.keras", (32, 32, 1), lambda h: keras.layers.Dense(7, "softmax")(h))
    with pytest.warns(UserWarning, match="32x32x1"):
        res = cli(capsys, "evaluate", *_tiny_eval_args(arts)[2:], "--model", model)
    assert res.rc == 0, res.err


@pytest.mark.parametrize("name,content,needle", [
    ("notes.keras", b"just some text", "not a Keras archive"),
    ("junk.h5", b"just some text", "not an HDF5 file"),
    ("missing.keras", None, "not found"),
])
def test_files_that_are_not_models(arts, capsys, tmp_path, name, content, needle):
    model = tmp_path / name
    if content is not None:
        model.write_bytes(content)
    res = cli(capsys, "evaluate", *_tiny_eval_args(arts)[2:], "--model", model).refused(str(model), needle)
    if content is not None:
        assert "not found" not in res.err  # the file exists


def test_a_corrupt_image_names_the_file_and_the_flag(arts, capsys, tmp_path):
    src = tiny_tree(tmp_path / "d")
    (src / "train" / "Sad" / "broken.png").write_bytes(b"\x89PNG but no more")
    cli(capsys, "register", "--name", "D", "--format", "folder", "--path", src).refused("broken.png",
                                                                                      "--skip-bad-images")
    res = cli(capsys, "register", "--name", "D", "--format", "folder", "--path", src, "--skip-bad-images")
    assert res.rc == 0 and "1 skipped" in res.out


def test_a_utkface_name_with_a_23_digit_age_is_skipped(arts, capsys, tmp_path):
    d = tmp_path / "utk"
    d.mkdir()
    img = np.full((8, 8, 3), 120, np.uint8)
    cv2.imwrite(str(d / "25_0_1_20170116174525125.jpg.chip.jpg"), img)
    cv2.imwrite(str(d / f"{'9' * 23}_0_1_20170116174525125.jpg.chip.jpg"), img)
    res = cli(capsys, "register", "--name", "UTK", "--format", "utkface", "--path", d)
    assert res.rc == 0, res.err
    assert get_dataset("UTK", arts).n_samples == 1 and "1 skipped" in res.out


def test_class_folders_with_trailing_spaces_are_said(arts, capsys, tmp_path):
    src = tiny_tree(tmp_path / "d", splits=("train",))
    shutil.copytree(src / "train" / "Happy", src / "train" / "Happy ")
    with pytest.warns(UserWarning, match="'Happy '.*spaces"):
        assert cli(capsys, "register", "--name", "Spaces", "--format", "folder", "--path", src / "train").rc == 0


def _demographics(eila_dir: Path, tmp_path: Path, edit) -> Path:
    d = pd.read_csv(eila_dir / "demographics.csv")
    d = edit(d)
    path = tmp_path / "demographics.csv"
    d.to_csv(path, index=False)
    return path


def test_an_empty_clip_id_cell_is_named(arts, capsys, eila_dir, tmp_path):
    def blank(d):
        d["Clip Id"] = d["Clip Id"].astype(object)
        d.loc[3, "Clip Id"] = None
        return d

    demo = _demographics(eila_dir, tmp_path, blank)
    cli(capsys, "register", "--name", "E", "--format", "eila-annotations", "--path", eila_dir / "annotations.csv",
        "--demographics", demo).refused(str(demo), "column 'Clip Id'", "line 5")


def test_a_duplicate_demographics_key_is_named(arts, capsys, eila_dir, tmp_path):
    demo = _demographics(eila_dir, tmp_path, lambda d: pd.concat([d, d.iloc[[2]]], ignore_index=True))
    d = pd.read_csv(eila_dir / "demographics.csv").iloc[2]
    cli(capsys, "register", "--name", "E", "--format", "eila-annotations", "--path", eila_dir / "annotations.csv",
        "--demographics", demo).refused(str(demo), repr(str(d["Video Tag"])), "lines [4,")


def test_train_with_an_unknown_base_names_base(arts, capsys):
    res = cli(capsys, "train", "--base", "Nope", *TRAIN_ARGS).refused("--base 'Nope'")
    assert "EiLA" not in res.err


def test_train_removes_stale_partial_folders(arts, capsys, monkeypatch):
    import core.training.runner as runner

    stale = arts / "runs" / ".partial-old-run-999999999"
    stale.mkdir()
    (stale / "history.csv").write_text("epoch\n0\n")
    monkeypatch.setattr(runner, "train_run", lambda *a, **k: runner.RunResult("x", arts / "runs" / "x", True, {}))
    assert cli(capsys, "train", "--base", "Tiny", "--eval-dataset", "Tiny", *TRAIN_ARGS).rc == 0
    assert not stale.exists()


# --------------------------------------------------------------------------- 7: read-only and full disks
@pytest.mark.parametrize("command", ["register", "demo", "evaluate", "train"])
def test_a_read_only_artifacts_folder_fails_before_any_work(arts, capsys, monkeypatch, read_only, tmp_path, command):
    import core.models.classifier as classifier

    monkeypatch.setattr(classifier, "predict_manifest", lambda *a, **k: pytest.fail("predicted before failing"))
    args = {"register": ("register", "--name", "T", "--format", "folder", "--path", tiny_tree(tmp_path / "d")),
            "demo": ("demo", "--images-per-person", "1"),
            "evaluate": ("evaluate", "--model", "fer", "--data", arts / "datasets" / "tiny" / "manifest.parquet"),
            "train": ("train", "--base", "Tiny", "--eval-dataset", "Tiny", *TRAIN_ARGS)}[command]
    if command == "train":  # registered data in a writable place, runs in an unwritable one
        import core.common.paths as paths

        monkeypatch.setattr(paths, "runs_dir", lambda a: read_only / "runs")
        res = cli(capsys, *args)
    else:
        res = cli(capsys, *args, "--artifacts", read_only)
    res.refused("cannot write", str(read_only))


def test_a_read_only_out_folder_for_prepare_eila(eila_video, yunet_model, read_only, capsys):
    cli(capsys, *_prepare_cli_args(eila_video, read_only / "out", yunet_model)).refused("--out", "cannot write")


def test_a_full_disk_stops_training_before_it_starts(arts, capsys, full_disk, monkeypatch):
    import core.common.paths as paths

    monkeypatch.setattr(paths, "runs_dir", lambda a: full_disk / "runs")
    cli(capsys, "train", "--base", "Tiny", "--eval-dataset", "Tiny", *TRAIN_ARGS).refused("MiB free", "MiB needed")


def test_a_full_disk_stops_prepare_eila_before_it_starts(eila_video, yunet_model, full_disk, capsys):
    cli(capsys, *_prepare_cli_args(eila_video, full_disk / "out", yunet_model)).refused("--out", "MiB free")
    assert not (full_disk / "out" / "rows.parquet").exists()


def _enospc(*a, **k):
    raise OSError(errno.ENOSPC, "No space left on device", str(a[-1]) if a else None)


def test_disk_full_mid_prepare_eila_is_one_line_and_half_nothing(eila_video, yunet_model, tmp_path, capsys,
                                                                 monkeypatch):
    import core.preprocess._runner as runner

    monkeypatch.setattr(runner, "atomic_write_parquet", _enospc)
    out = tmp_path / "out"
    cli(capsys, *_prepare_cli_args(eila_video, out, yunet_model)).refused("rows.parquet", "disk is full")
    assert not (out / "manifest.parquet").exists() and not list(out.rglob(".*.tmp"))


def test_disk_full_while_writing_an_evaluation_leaves_no_run(arts, capsys, monkeypatch):
    import core.evaluation.runs as runs

    monkeypatch.setattr(runs, "atomic_write_json", _enospc)
    before = fingerprint(arts)
    cli(capsys, "evaluate", *_tiny_eval_args(arts), "--out", arts / "runs" / "new").refused("disk is full")
    assert not (arts / "runs" / "new").exists() and staging_left(arts / "runs") == []
    assert_nothing_lost(before, arts)


# ---------------------------------------------------------------------------- kill -9 and two jobs at once
def test_kill9_while_registering_fer2013_leaves_no_dataset(arts, tmp_path):
    csv = fer2013_csv(tmp_path / "fer2013.csv", rows=40)
    before = fingerprint(arts)
    res = cli_subprocess("register", "--name", "Killed", "--format", "fer2013-csv", "--path", csv,
                         "--artifacts", arts, prelude=kill_after("core.data.datasets._fer2013_csv", "atomic_write_bytes",
                                                                 20))
    assert res.returncode == -9
    assert [d.name for d in list_datasets(arts)] == ["Tiny"] and visible(arts / "datasets") == ["tiny"]
    assert_nothing_lost(before, arts)
    res = cli_subprocess("register", "--name", "Killed", "--format", "fer2013-csv", "--path", csv,
                         "--artifacts", arts)
    assert res.returncode == 0 and get_dataset("Killed", arts).n_samples == 40, res.stderr[-2000:]


@pytest.mark.slow
def test_kill9_while_writing_an_evaluation_leaves_no_finished_looking_run(arts):
    before = fingerprint(arts)
    res = cli_subprocess("evaluate", *_tiny_eval_args(arts), "--out", arts / "runs" / "killed",
                         prelude=kill_after("core.evaluation.runs", "atomic_write_json", 1))
    assert res.returncode == -9
    assert not (arts / "runs" / "killed").exists()  # the half-written folder is hidden, never listed
    from core.evaluation.runs import list_runs

    assert sorted(r.run_id for r in list_runs(arts)) == ["eval-original", "trained-original"]
    assert_nothing_lost(before, arts)


def test_two_registrations_of_one_name_at_once(arts, tmp_path):
    srcs = [tiny_tree(tmp_path / f"s{i}", per_class=1, seed=i) for i in range(2)]
    procs = [subprocess.Popen([sys.executable, "-m", "core", "register", "--name", "Twin", "--format", "folder",
                               "--path", str(s), "--artifacts", str(arts)], cwd=REPO, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for s in srcs]
    outs = [p.communicate(timeout=120) for p in procs]
    codes = sorted(p.returncode for p in procs)
    assert codes == [0, 2], outs
    loser = next(o for p, o in zip(procs, outs) if p.returncode == 2)
    assert "already registered" in loser[1] and "Traceback" not in loser[1]
    assert len(load_dataset("Twin", arts)) == 12 and staging_left(arts / "datasets") == []


def test_no_warning_noise_in_a_clean_run(arts, capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        assert [d.name for d in list_datasets(arts)] == ["Tiny"]
