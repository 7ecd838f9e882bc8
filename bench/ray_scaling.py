"""Ray feature extraction vs the local pass, then heads of the 11 Table 3 configurations x 3 seeds: 1 vs 2 workers.

The data are bench/sweep_speed.py's scaled-down synthetic copy of the seed's
datasets (48x48 PNGs of random texture with the class counts of its Tables 7-9,
mixed by the real :func:`core.mixing.table3_preset` rules), plus a small EiLA
test split to evaluate on. Frozen-backbone moments are cached once before
anything is timed (``--input-size`` 64 by default: the heads see 2 x 2048
moments whatever the input size). Then the same sweep
(:func:`core.training.sweep.run_sweep` with ``seeds=3`` and a
:class:`core.runs.executors.RayExecutor`: one task of one CPU per run, the driver
writing each run folder) is timed end to end on a Ray head started with
``--num-cpus 1`` and on one with ``--num-cpus 2``, each from an empty runs
folder, worker start-up included.

Before the heads, feature extraction: the frozen-backbone moments of the same
images (``--extract-images`` real faces of ``--faces``, the shared UTKFace crops
by default, else the synthetic union) with the same backbone (ResNet50V2,
random weights, ``--extract-size`` px, float32), each pass from a cold cache:
locally by :func:`core.training.features.compute_moments` (TensorFlow on both
cores, the product's local pass) and on a local 2-CPU Ray head by the same call
with a :class:`~core.runs.executors.RayExecutor` (the product's Ray pass: one
actor of one CPU per cluster CPU, each building the backbone once). Two passes
on each side over the two halves of the images: the first includes Ray's
start-up (connect, start the actors, build and trace their models), the second
is a further pass through the same executor on the workers already started
(the speed a long extraction runs at once started: a sweep extracts all its
images in one pass).
It prints both, and ``extraction: local X img/s, ray Y img/s, fraction=Y/X`` of
the second pass, and checks that both caches hold the same keys and values.

Every Ray head is started by ``ray start --head`` and used once ``ray status``
lists its CPUs (as a cluster a user starts beforehand), so its boot is not timed.

The last line printed is ``ratio=<1-worker time / 2-worker time>`` (with
``--extraction-only``, the extraction line).
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from core.data.labels import EMOTIONS  # noqa: E402
from sweep_speed import TRAIN_COUNTS, make_dataset  # noqa: E402


def make_test_split(root: Path, per_class: int, rng: np.random.Generator) -> pd.DataFrame:
    """A small labelled EiLA test split (random texture), the preset's evaluation set."""
    rows = []
    for label in EMOTIONS:
        folder = root / "EiLA" / "test" / label
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            path = folder / f"{i:05d}.png"
            cv2.imwrite(str(path), cv2.GaussianBlur(rng.integers(0, 256, (48, 48), dtype=np.uint8), (5, 5), 0))
            rows.append({"sample_id": f"EiLA:test/{label}/{i}", "path": str(path), "dataset": "EiLA",
                         "split": "test", "label": label})
    return pd.DataFrame(rows)


class Head:
    """``ray start --head --block --num-cpus N`` on 127.0.0.1 in its own process group."""

    def __init__(self, cpus: int) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        ray = Path(sys.executable).with_name("ray")
        self.proc = subprocess.Popen([str(ray), "start", "--head", "--block", "--node-ip-address", "127.0.0.1",
                                      "--port", str(self.port), "--num-cpus", str(cpus), "--include-dashboard=false",
                                      "--disable-usage-stats"], env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0"},
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 180
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the Ray head did not start") from None
                time.sleep(0.5)
        self.address = f"127.0.0.1:{self.port}"
        # ready = `ray status` lists the node's CPUs: a cluster a user starts beforehand, not one still booting
        # (connecting while the head boots took 6-7 s instead of 0.8 s here, and that is not extraction time)
        while subprocess.run([str(ray), "status", "--address", self.address], capture_output=True,
                             text=True).stdout.count("CPU") == 0:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the Ray head did not become ready") from None
            time.sleep(0.5)

    def stop(self) -> None:
        for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 30)):
            try:
                os.killpg(self.proc.pid, sig)
                self.proc.wait(timeout=wait)
                return
            except ProcessLookupError:
                return
            except subprocess.TimeoutExpired:
                continue


def measure_extraction(paths: list[str], size: int, work: Path, what: str) -> float:
    """Local vs Ray throughput of the frozen-backbone moments of ``paths``; prints and returns the fraction.

    Two passes on each side, each over its own half of ``paths`` from a cold cache: the first pays Ray's
    start-up (connecting, starting the actors, each building and tracing its model), the second is a further
    pass through the same executor, on the workers the first started: Ray's throughput once running,
    which is what a long extraction sees after its start-up. Returns the second pass's fraction.
    """
    from core.models.backbones import load_backbone
    from core.models.feature_cache import FeatureCache
    from core.runs.executors import RayExecutor
    from core.training.features import compute_moments

    half = len(paths) // 2
    passes = (paths[:half], paths[half:2 * half])
    backbone = load_backbone("resnet50v2", size, "random", seed=0)
    local_s, ray_s, local, on_ray = [], [], [], []
    for part in passes:
        t = time.perf_counter()
        local.append(compute_moments(part, backbone, work / "local", 32)[0])
        local_s.append(time.perf_counter() - t)
    head = Head(2)
    try:
        with RayExecutor(head.address) as ex:
            for part in passes:
                t = time.perf_counter()
                arr, stats = compute_moments(part, backbone, work / "ray", 32, executor=ex)
                ray_s.append(time.perf_counter() - t)
                on_ray.append(arr)
    finally:
        head.stop()
    a, b = (FeatureCache(work / side, stats["namespace"]) for side in ("local", "ray"))
    assert sorted(a._load_index()) == sorted(b._load_index())  # (identical images are one key)
    diff = max(float(np.max(np.abs(r - x)) / max(float(np.max(np.abs(x))), 1e-12)) for r, x in zip(on_ray, local))
    print(f"extraction of 2 x {half} {what} (ResNet50V2 @ {size}px random weights, float32, cold caches, 2 actors x "
          f"1 CPU): same cache keys, largest relative difference {diff:.1e}", flush=True)
    print(f"extraction, first pass (Ray start-up included): local {local_s[0]:.1f}s, ray {ray_s[0]:.1f}s, "
          f"fraction {local_s[0] / ray_s[0]:.2f} (start-up about {ray_s[0] - ray_s[1]:.1f}s, once per job)",
          flush=True)
    print(f"extraction, both passes: local {sum(local_s):.1f}s, ray {sum(ray_s):.1f}s, "
          f"fraction {sum(local_s) / sum(ray_s):.2f}", flush=True)
    fraction = local_s[1] / ray_s[1]
    print(f"extraction, running workers (second pass): local {half / local_s[1]:.1f} img/s, ray "
          f"{half / ray_s[1]:.1f} img/s, fraction={fraction:.2f}", flush=True)
    return fraction


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=0.02, help="fraction of the seed's dataset sizes")
    ap.add_argument("--input-size", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--workdir", default=None, help="where to write data, cache and runs (default: a temp folder)")
    ap.add_argument("--faces", default="/work/shared/data/utkface",
                    help="folder of face images for the extraction measurement (absent: the synthetic images)")
    ap.add_argument("--extract-images", type=int, default=1200, help="split into two passes")
    ap.add_argument("--extract-size", type=int, default=112)
    ap.add_argument("--extraction-only", action="store_true",
                    help="measure the feature extraction only (its line is then the last; no ratio)")
    args = ap.parse_args(argv)

    from core.runs.executors import RayExecutor
    from core.mixing import build_mix, table3_preset
    from core.common.paths import cache_dir, runs_dir
    from core.training import TrainConfig
    from core.training.features import compute_moments
    from core.training.model import load_backbone_for
    from core.training.sweep import run_sweep

    tmp = tempfile.TemporaryDirectory(prefix="ray_scaling-") if args.workdir is None else None
    work = Path(tmp.name if tmp else args.workdir)
    rng = np.random.default_rng(0)
    data = {n: make_dataset(work / "data", n, args.scale, rng) for n in TRAIN_COUNTS}
    evaluation = make_test_split(work / "data", 10, rng)
    specs = table3_preset()
    cfg = TrainConfig(weights="random", input_size=args.input_size, phase1_epochs=args.epochs, phase2_epochs=0)
    artifacts = work / "artifacts"
    union = sorted({p for s in specs for p in build_mix(s, data)["path"]} | set(evaluation["path"]))
    faces = sorted(str(f) for f in Path(args.faces).glob("*.jpg")) if Path(args.faces).is_dir() else []
    measure_extraction((faces or union)[:args.extract_images], args.extract_size, work / "extraction",
                       "real faces of " + args.faces if faces else "synthetic images")
    if args.extraction_only:
        return 0
    t = time.perf_counter()
    compute_moments(union, load_backbone_for(cfg), cache_dir(artifacts) / "features", cfg.cache_batch_size)
    print(f"scale {args.scale}: {len(union)} distinct images, moments cached in {time.perf_counter() - t:.1f}s "
          f"(not timed below); {len(specs)} configurations x {args.seeds} seeds, {cfg.phase1_epochs} epochs, "
          f"ResNet50V2 @ {cfg.input_size}px random weights", flush=True)

    times = {}
    for cpus in (1, 2):
        head = Head(cpus)
        try:
            t = time.perf_counter()
            with RayExecutor(head.address) as ex:
                results = run_sweep(specs, data, evaluation, cfg, artifacts, "table3", seeds=args.seeds, executor=ex)
            times[cpus] = time.perf_counter() - t
        finally:
            head.stop()
        trained = sum(not r.skipped for r in results)
        print(f"{cpus} worker(s): {trained} runs trained in {times[cpus]:.1f}s "
              f"({times[cpus] / max(trained, 1):.2f}s per run, worker start-up included)", flush=True)
        shutil.rmtree(runs_dir(artifacts))  # the next cluster trains every run again
    if tmp is not None:
        tmp.cleanup()
    print(f"ratio={times[1] / times[2]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
