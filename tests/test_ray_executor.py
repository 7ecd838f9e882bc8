"""Sweeps, feature extraction and clusters on a real Ray cluster started on this machine: results equal local ones.

A session fixture starts ``ray start --head`` on 127.0.0.1 (a free port, 2 CPUs,
no dashboard) and stops that cluster at the end, also when a test fails. The
data are a small synthetic demo and half of it registered as a second dataset:
2 configurations x 2 training seeds at the smallest settings (random weights,
32 px, 1 epoch, no phase 2), trained first locally in a fresh process (which must
never import Ray nor start a Ray process), then through ``--address``. The
frozen-backbone moments and the ``clusters`` embeddings computed in shards by
Ray actors are compared with those of the local pass (same cache keys, equal
values), at the smallest settings on a few dozen demo faces.
"""
from __future__ import annotations

import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from core.cli import main
from core.data.demo import DEMO_NAME, DemoConfig, ensure_demo
from core.models.feature_cache import FeatureCache
from core.runs.executors import ADDRESS_ENV, RayExecutor
from core.data.registry import load_dataset, register_dataset

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
SMALL = DemoConfig(n_persons={"Light": 4, "Medium": 4, "Dark": 3}, images_per_person=7, image_size=48)
TINY = ["--weights", "random", "--input-size", "32", "--epochs1", "1", "--epochs2", "0", "--batch-size", "8",
        "--eval-dataset", DEMO_NAME]
SWEEP = ["sweep", "--mix", DEMO_NAME, "--mix", "Half demo", "--seeds", "2", *TINY]
TRAIN = ["train", "--base", "Half demo", "--seed", "7", *TINY]
#: config.json keys that record when and how long, not what
TIMING_KEYS = {"created", "duration_s", "timings_s"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Head:
    """A Ray head started by ``ray start --head --block`` in its own process group; :meth:`address` waits for it."""

    def __init__(self) -> None:
        self.port = _free_port()
        ray = Path(sys.executable).with_name("ray")
        # --block: this process owns the cluster, so stopping its group stops this cluster only
        self.proc = subprocess.Popen([str(ray), "start", "--head", "--block", "--node-ip-address", "127.0.0.1",
                                      "--port", str(self.port), "--num-cpus", "2", "--include-dashboard=false",
                                      "--disable-usage-stats"], env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0"},
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)

    def address(self) -> str:
        deadline = time.monotonic() + 180
        while True:
            if self.proc.poll() is not None:
                pytest.fail(f"ray start --head exited with {self.proc.returncode}: "
                            f"{self.proc.stderr.read().decode()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return f"127.0.0.1:{self.port}"
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("the Ray head did not listen within 180 s")
                time.sleep(0.5)

    def stop(self) -> None:
        for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 30)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.proc.wait(timeout=wait)
                return
            except subprocess.TimeoutExpired:
                continue


@pytest.fixture(scope="session")
def ray_head():
    """A 2-CPU Ray head on 127.0.0.1 at a free port, starting while other fixtures run; stopped at the end."""
    head = _Head()
    try:
        yield head
    finally:
        head.stop()


@pytest.fixture()
def ray_cluster(ray_head: _Head) -> str:
    """``host:port`` of the session's Ray head, once it listens."""
    return ray_head.address()


@pytest.fixture(scope="module")
def local_runs(tmp_path_factory) -> Path:
    """Artifacts with the demo and 'Half demo'; the local runs (in a fresh process) moved to ``runs_local``."""
    art = tmp_path_factory.mktemp("ray") / "artifacts"
    ensure_demo(art, config=SMALL)
    demo = load_dataset(DEMO_NAME, art)
    half = demo[demo["person"].isin(sorted(demo["person"].unique())[::2])].assign(dataset="Half demo")
    half["sample_id"] = "half:" + half["sample_id"].astype(str)
    register_dataset(half.reset_index(drop=True), "Half demo", "manifest", {}, art)
    code = f"""
import json, sys, psutil
from core.cli import main
rcs = [main({SWEEP!r} + ['--artifacts', {str(art)!r}]), main({TRAIN!r} + ['--artifacts', {str(art)!r}])]
children = [p.name() for p in psutil.Process().children(recursive=True)]
print(json.dumps({{"rcs": rcs, "ray_imported": "ray" in sys.modules, "children": children}}))
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=600,
                         env={**os.environ, "FERBIAS_ARTIFACTS": str(art)})
    assert out.returncode == 0, out.stderr[-3000:]
    state = json.loads(out.stdout.strip().splitlines()[-1])
    assert state == {"rcs": [0, 0], "ray_imported": False, "children": []}  # the local default starts no Ray
    (art / "runs").rename(art / "runs_local")
    (art / "cache").rename(art / "cache_local")  # the Ray side starts from a cold feature cache too
    return art


def _weights(model: Path) -> dict[str, np.ndarray]:
    with zipfile.ZipFile(model) as z, h5py.File(io.BytesIO(z.read("model.weights.h5")), "r") as h:
        out: dict[str, np.ndarray] = {}
        h.visititems(lambda name, obj: out.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None)
        return out


def _architecture(config: bytes) -> object:
    """A Keras model config without ``shared_object_id`` (a memory address of the process that saved it)."""
    def strip(v: object) -> object:
        if isinstance(v, dict):
            return {k: strip(x) for k, x in v.items() if k != "shared_object_id"}
        return [strip(x) for x in v] if isinstance(v, list) else v
    return strip(json.loads(config))


def assert_same_run(a: Path, b: Path) -> None:
    """Two run folders hold the same run: files, settings, history, weights (float tolerance), predictions."""
    assert sorted(f.name for f in a.iterdir()) == sorted(f.name for f in b.iterdir())
    for f in sorted(a.iterdir()):
        g = b / f.name
        if f.suffix == ".json":
            ja, jb = json.loads(f.read_text()), json.loads(g.read_text())
            if f.name == "config.json":
                ja, jb = ({k: v for k, v in j.items() if k not in TIMING_KEYS} for j in (ja, jb))
                for j in (ja, jb):  # how many images this run's process computed, not what it used
                    j.get("feature_cache", {}).pop("n_computed", None)
            assert ja == jb, f.name
        elif f.suffix == ".parquet":
            pd.testing.assert_frame_equal(pd.read_parquet(f), pd.read_parquet(g), check_exact=False, rtol=1e-6)
        elif f.name == "history.csv":
            ha, hb = (pd.read_csv(p).drop(columns="seconds") for p in (f, g))
            pd.testing.assert_frame_equal(ha, hb, check_exact=False, rtol=1e-6)
        elif f.suffix == ".keras":
            wa, wb = _weights(f), _weights(g)
            assert sorted(wa) == sorted(wb) and len(wa) > 10
            for k in wa:
                np.testing.assert_allclose(wa[k], wb[k], rtol=1e-5, atol=1e-6, err_msg=k)
            with zipfile.ZipFile(f) as za, zipfile.ZipFile(g) as zb:  # the same architecture
                assert _architecture(za.read("config.json")) == _architecture(zb.read("config.json"))
        else:
            raise AssertionError(f"unexpected file {f.name} in a run folder")
    a_pred, b_pred = (pd.read_parquet(p / "predictions.parquet") for p in (a, b))
    assert (a_pred["pred"] == b_pred["pred"]).all()  # identical predicted labels


def test_sweep_on_ray_writes_the_local_run_folders(ray_head: _Head, local_runs: Path, ray_cluster: str,
                                                   capsys: pytest.CaptureFixture) -> None:
    art = local_runs
    assert main([*SWEEP, "--executor", "ray", "--address", ray_cluster, "--artifacts", str(art)]) == 0
    out = capsys.readouterr().out
    assert out.count("trained  ") == 4
    local = sorted(p.name for p in (art / "runs_local").iterdir() if p.name.startswith(("synthetic", "half")))
    ray_runs = sorted(p.name for p in (art / "runs").iterdir())
    assert len(ray_runs) == 4 and set(ray_runs) <= set(local)  # same ids: the seed is part of the id
    groups = {}
    for name in ray_runs:
        assert_same_run(art / "runs_local" / name, art / "runs" / name)
        cfg = json.loads((art / "runs" / name / "config.json").read_text())
        groups.setdefault(cfg["seed_group"], []).append(cfg["training"]["seed"])
    assert sorted(sorted(v) for v in groups.values()) == [[0, 1], [0, 1]]  # two configurations, each with seeds 0 and 1

    # an interrupted sweep resumes: remove one finished run, run again; the others are kept untouched
    gone = art / "runs" / ray_runs[0]
    kept = {n: (art / "runs" / n / "model.keras").stat().st_mtime_ns for n in ray_runs[1:]}
    for f in gone.iterdir():
        f.unlink()
    gone.rmdir()
    assert main([*SWEEP, "--executor", "ray", "--address", ray_cluster, "--artifacts", str(art)]) == 0
    out = capsys.readouterr().out
    assert out.count("kept     ") == 3 and out.count("trained  ") == 1
    assert {n: (art / "runs" / n / "model.keras").stat().st_mtime_ns for n in kept} == kept
    assert_same_run(art / "runs_local" / gone.name, gone)
    assert not [p for p in (art / "runs").iterdir() if p.name.startswith(".")]  # no partial folder left


def test_train_on_ray_from_the_environment_address(ray_head: _Head, local_runs: Path, ray_cluster: str,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ADDRESS_ENV, ray_cluster)
    art = local_runs
    before = set((art / "runs").iterdir()) if (art / "runs").exists() else set()
    assert main([*TRAIN, "--executor", "ray", "--artifacts", str(art)]) == 0
    new = sorted(set((art / "runs").iterdir()) - before)
    assert len(new) == 1
    assert_same_run(art / "runs_local" / new[0].name, new[0])


def _cached(root: Path, namespace: str) -> dict[str, np.ndarray]:
    cache = FeatureCache(root, namespace)
    return cache.get_many(list(cache._load_index()))


def test_moments_on_ray_equal_the_local_ones(ray_head: _Head, local_runs: Path, ray_cluster: str,
                                             tmp_path: Path) -> None:
    from core.models.backbones import load_backbone
    from core.training.features import compute_moments

    paths = sorted(load_dataset(DEMO_NAME, local_runs)["path"])[:40]
    backbone = load_backbone("resnet50v2", 32, "random", seed=3)
    local, local_stats = compute_moments(paths, backbone, tmp_path / "local", 8)
    seen: list[tuple[int, int]] = []
    with RayExecutor(ray_cluster) as ex:
        first, stats = compute_moments(paths[:30], backbone, tmp_path / "ray", 8,
                                       lambda d, t, m="": seen.append((d, t)), executor=ex)
        kept = ex.kept_actors()
        second, stats_second = compute_moments(paths[30:], backbone, tmp_path / "ray", 8, executor=ex)
        assert len(kept) == 2 and ex.kept_actors() == kept  # the second pass reused the started workers
        again, stats_again = compute_moments(paths, backbone, tmp_path / "ray", 8, executor=ex)
        assert list(ex.map(json.dumps, [([1],)])) == [(0, "[1]")] and ex.kept_actors() == []  # tasks free the CPUs
    assert stats["namespace"] == local_stats["namespace"] and local_stats["n_computed"] == 40
    assert stats["n_computed"] == 30 and stats_second["n_computed"] == 10
    assert seen[0] == (0, 30) and seen[-1] == (30, 30) and len(seen) >= 3  # progress as shards finish
    on_ray = np.concatenate([first, second])
    np.testing.assert_allclose(on_ray, local, rtol=1e-5, atol=1e-6)
    a, b = _cached(tmp_path / "local", stats["namespace"]), _cached(tmp_path / "ray", stats["namespace"])
    assert sorted(a) == sorted(b) and len(a) == 40  # the same content keys in the same namespace
    for k in a:
        np.testing.assert_allclose(b[k], a[k], rtol=1e-5, atol=1e-6)
    assert stats_again["n_computed"] == 0 and np.array_equal(again, on_ray)  # nothing is sent when all is cached


CLUSTERS = ["clusters", "--data", DEMO_NAME, "--backbone", "resnet50", "--weights", "random", "--input-size", "32",
            "--precision", "float32", "--k", "3", "--k-min", "2", "--k-max", "4", "--method", "pca",
            "--n-permutations", "19", "--no-probe", "--batch-size", "16"]


def test_clusters_on_ray_give_the_local_result(ray_head: _Head, local_runs: Path, ray_cluster: str,
                                               tmp_path: Path) -> None:
    art = local_runs
    assert main([*CLUSTERS, "--artifacts", str(art), "--out", str(tmp_path / "local")]) == 0
    info = json.loads((tmp_path / "local" / "clusters.json").read_text())
    namespace = info["embedding"]["namespace"]
    features = art / "cache" / "features"
    shutil.move(features / namespace, tmp_path / "local_cache")  # the Ray run starts from a cold cache
    assert main([*CLUSTERS, "--artifacts", str(art), "--out", str(tmp_path / "ray"), "--executor", "ray",
                 "--address", ray_cluster]) == 0
    ray_info = json.loads((tmp_path / "ray" / "clusters.json").read_text())
    assert ray_info["embedding"]["namespace"] == namespace and ray_info["embedding"]["n_computed"] == 77
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "ray" / "assignments.csv"),
                                  pd.read_csv(tmp_path / "local" / "assignments.csv"))  # the same clusters
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "ray" / "projection.parquet"),
                                  pd.read_parquet(tmp_path / "local" / "projection.parquet"), check_exact=False,
                                  rtol=1e-4, atol=1e-5)
    assert ray_info["composition"] == info["composition"]
    shutil.move(tmp_path / "local_cache", tmp_path / "lc" / namespace)
    a, b = _cached(tmp_path / "lc", namespace), _cached(features, namespace)
    assert sorted(a) == sorted(b) and len(a) == 77
    for k in a:
        np.testing.assert_allclose(b[k], a[k], rtol=1e-5, atol=1e-6)


def test_clusters_with_a_bad_address_stop_before_any_work(tmp_path: Path,
                                                          capsys: pytest.CaptureFixture) -> None:
    nobody = f"127.0.0.1:{_free_port()}"  # nothing listens there once the socket is closed
    for address, expected in ((nobody, f"no Ray cluster at {nobody}"), ("nohost", "host:port")):
        out = tmp_path / address.replace(":", "_")
        code = main([*CLUSTERS, "--artifacts", str(tmp_path / "art"), "--out", str(out), "--executor", "ray",
                     "--address", address])
        assert code == 2 and expected in capsys.readouterr().err
        assert not out.exists() and not (tmp_path / "art").exists()  # nothing was read, computed or written
