"""Phase 1 of the seed's 11 configurations (Table 3): full pipeline vs cached, at the paper's settings.

Paper settings: ResNet50V2 at 224x224x3, 15 epochs, batch size 32, validation
every epoch. The data are a scaled-down synthetic copy of the seed's datasets
created here (48x48 grayscale PNGs of random texture, every image distinct, with
the class counts of its Tables 7-9 and the validation sizes of Table 3 times
``--scale``), mixed by the real :func:`core.mixing.table3_preset` rules.

Cached: measured end to end from a cold cache, with the product's functions:
frozen-backbone moments for the union of all configurations' images (each
image once), then 11 heads trained for 15 epochs with per-epoch validation by
one :class:`core.training.head_fit.CachedHeadTrainer`, as ``run_sweep`` does.

Full pipeline (the seed's way: backbone forward on every image every epoch):
EXTRAPOLATED from measured steps. ``--steps`` training steps of 32 images and
validation steps of 64 images are timed through the full model (decoding
included, first call excluded) and multiplied by the number of steps the 11
configurations x 15 epochs need. ``--check-epoch`` also runs one real full epoch
of the smallest configuration to compare with the extrapolation.

``--precision bfloat16`` computes the cached side's moments in bfloat16
(OpenVINO, :mod:`core.models._precision`); the full pipeline stays float32.

The last line printed is ``ratio=<full time / cached time>``.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from core.data.labels import EMOTIONS  # noqa: E402

#: Training class counts of the seed's Tables 7-9 (EMOTIONS order) and validation sizes of its Table 3.
TRAIN_COUNTS: dict[str, tuple[int, ...]] = {
    "FER2013": (3995, 436, 4097, 7215, 4965, 4830, 3171),
    "SFEW": (178, 52, 78, 184, 144, 161, 94),
    "EiLA": (944, 96, 76, 1053, 2516, 122, 45),
}
VAL_TOTALS: dict[str, int] = {"FER2013": 7178, "SFEW": 431, "EiLA": 1362}


def make_dataset(root: Path, name: str, scale: float, rng: np.random.Generator) -> pd.DataFrame:
    """Write a scaled synthetic copy of one dataset and return its manifest."""
    counts = np.asarray(TRAIN_COUNTS[name], float)
    rows = []
    for split, per_class in (("train", counts * scale),
                             ("validation", counts / counts.sum() * VAL_TOTALS[name] * scale)):
        for label, k in zip(EMOTIONS, per_class):
            folder = root / name / split / label
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(max(1, int(round(k)))):
                img = cv2.GaussianBlur(rng.integers(0, 256, (48, 48), dtype=np.uint8), (5, 5), 0)
                path = folder / f"{i:05d}.png"
                cv2.imwrite(str(path), img)
                rows.append({"sample_id": f"{name}:{split}/{label}/{i}", "path": str(path), "dataset": name,
                             "split": split, "label": label})
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=0.1, help="fraction of the seed's dataset sizes")
    ap.add_argument("--input-size", type=int, default=224)
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--steps", type=int, default=6, help="timed full-pipeline training steps")
    ap.add_argument("--check-epoch", action="store_true", help="also run one real full epoch to check")
    ap.add_argument("--precision", choices=["float32", "bfloat16"], default="float32",
                    help="precision of the cached side's backbone moments (the full pipeline is float32, the seed's way)")
    ap.add_argument("--workdir", default=None, help="where to write data and cache (default: a temp folder)")
    args = ap.parse_args(argv)

    import keras

    from core.models.backbones import load_rgb_batch
    from core.mixing import build_mix, table3_preset
    from core.training import TrainConfig
    from core.training.data import image_loader
    from core.training.features import compute_moments
    from core.training.head_fit import CachedHeadTrainer, train_head_cached
    from core.training.loop import Streams, fit_streams
    from core.training.model import build_model, head_names, load_backbone_for

    tmp = tempfile.TemporaryDirectory(prefix="sweep_speed-") if args.workdir is None else None
    work = Path(tmp.name if tmp else args.workdir)
    rng = np.random.default_rng(0)
    data = {n: make_dataset(work / "data", n, args.scale, rng) for n in TRAIN_COUNTS}
    specs = table3_preset()
    mixes = {s.name: build_mix(s, data) for s in specs}
    cfg = TrainConfig(weights="random", input_size=args.input_size, phase1_epochs=args.epochs, phase2_epochs=0,
                      batch_size=args.batch_size, cache_batch_size=args.batch_size, precision=args.precision)
    sizes = {n: (int((m["split"] == "train").sum()), int((m["split"] == "validation").sum())) for n, m in mixes.items()}
    print(f"scale {args.scale}: {sum(len(d) for d in data.values())} distinct images; ResNet50V2 @ {cfg.input_size}px,"
          f" {cfg.phase1_epochs} epochs, batch {cfg.batch_size}; cached side in {cfg.precision}, full pipeline float32")
    for n, (tr, va) in sizes.items():
        print(f"  {n:<22} train {tr:>5}  validation {va:>5}")

    # ---- cached: cold cache, measured end to end ----
    t_all = time.perf_counter()
    backbone = load_backbone_for(cfg)
    t_load = time.perf_counter() - t_all
    union = sorted({p for m in mixes.values() for p in m["path"]})
    t = time.perf_counter()
    union_moments, stats = compute_moments(union, backbone, work / "cache", cfg.cache_batch_size,
                                           precision=cfg.precision)
    t_feat = time.perf_counter() - t
    print(f"cached: backbone load {t_load:.1f}s; moments of {len(union)} images ({stats['n_computed']} computed) "
          f"{t_feat:.1f}s ({len(union) / t_feat:.1f} img/s)")
    t = time.perf_counter()
    full_model = build_model(cfg, backbone)
    initial_head = {n: full_model.get_layer(n).get_weights() for n in head_names(cfg)}
    trainer = CachedHeadTrainer(cfg, int(union_moments.shape[-1]))  # as run_sweep: one trainer for all
    t_heads = time.perf_counter() - t
    print(f"  model and head trainer built in {t_heads:.1f}s")
    for name, m in mixes.items():
        t = time.perf_counter()
        for n, w in initial_head.items():  # every configuration starts from the same initial head
            full_model.get_layer(n).set_weights(w)
        streams_data = Streams.from_manifest(m, cfg)
        ptr, pva = streams_data.train["path"].tolist(), streams_data.val["path"].tolist()
        moments, _ = compute_moments(ptr + pva, backbone, work / "cache", cfg.cache_batch_size, precision=cfg.precision)
        hist, trainer = train_head_cached(full_model, streams_data, moments, cfg, [], trainer)
        dt = time.perf_counter() - t
        t_heads += dt
        print(f"  head {name:<22} {dt:6.1f}s  final loss {hist['loss'][-1]:.3f}")
    cached_total = t_load + t_feat + t_heads
    print(f"cached total (measured): {cached_total:.1f}s")

    # ---- full pipeline: measured steps, extrapolated ----
    paths = union[: (args.steps + 1) * cfg.batch_size]
    y = keras.utils.to_categorical(np.arange(cfg.batch_size) % len(EMOTIONS), len(EMOTIONS))
    full_model.train_on_batch(load_rgb_batch(paths[:cfg.batch_size], cfg.input_size), y)  # warm-up (tracing)
    t = time.perf_counter()
    for k in range(1, args.steps + 1):
        full_model.train_on_batch(load_rgb_batch(paths[k * cfg.batch_size:(k + 1) * cfg.batch_size], cfg.input_size), y)
    t_step = (time.perf_counter() - t) / args.steps
    vb = max(cfg.batch_size, 64)
    yv = keras.utils.to_categorical(np.arange(vb) % len(EMOTIONS), len(EMOTIONS))
    full_model.test_on_batch(load_rgb_batch(union[:vb], cfg.input_size), yv)
    t = time.perf_counter()
    for k in range(1, 3):
        full_model.test_on_batch(load_rgb_batch(union[k * vb:(k + 1) * vb], cfg.input_size), yv)
    t_val = (time.perf_counter() - t) / 2
    print(f"full: measured {t_step:.2f}s per training step of {cfg.batch_size} images, "
          f"{t_val:.2f}s per validation step of {vb} ({args.steps} + 2 timed steps after warm-up)")
    full_total = t_load
    for name, (tr, va) in sizes.items():
        per_epoch = math.ceil(tr / cfg.batch_size) * t_step + math.ceil(va / vb) * t_val
        full_total += cfg.phase1_epochs * per_epoch
        print(f"  full {name:<22} extrapolated {cfg.phase1_epochs * per_epoch:8.1f}s")
    print(f"full-pipeline total (EXTRAPOLATED from the measured steps): {full_total:.1f}s "
          f"= {full_total / 3600:.2f} h")
    if args.check_epoch:
        name = min(sizes, key=lambda n: sum(sizes[n]))
        d = Streams.from_manifest(mixes[name], cfg)
        ptr, pva = d.train["path"].tolist(), d.val["path"].tolist()
        t = time.perf_counter()
        streams = d.pair(image_loader(ptr, cfg.input_size), image_loader(pva, cfg.input_size), cfg, 1)
        fit_streams(full_model, streams, 0, 1, [])
        real = time.perf_counter() - t
        est = math.ceil(len(ptr) / cfg.batch_size) * t_step + math.ceil(len(pva) / vb) * t_val
        print(f"check: one real full epoch of {name!r} took {real:.1f}s (incl. tracing); extrapolation says {est:.1f}s")
    if tmp is not None:
        tmp.cleanup()
    print(f"ratio={full_total / cached_total:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
