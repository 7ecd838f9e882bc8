"""Do the app's intervals and tests keep their promise? Simulations of EiLA-like designs, as one table.

Usage::

    .venv/bin/python bench/calibration.py [--draws N] [--latent-draws M]

Each cell simulates ``N`` data sets (deterministic seeds) and runs the very
functions the app uses (:mod:`core.evaluation.uncertainty`,
:mod:`core.evaluation.compare`, :mod:`core.evaluation.disparity`,
:func:`core.latent.independence_test`).

Design: frames per person are drawn (with replacement) from the real EiLA test
split (frames per person of the 21 test persons, computed from
``../shared/data/eila/annotations.csv`` when present; otherwise the same 21
counts, measured on that file and stored in :data:`EILA_TEST_FRAMES_FALLBACK`).
Each person's accuracy is drawn from a Beta distribution with the group's true
mean and a between-person sd of 0.1 or 0.2; frames are Bernoulli given the person.

Sections (rows):

* ``accuracy``: nominal 95 % interval of one group's accuracy, 2..20 persons,
  true mean 0.3 / 0.5 / 0.7 / 0.85: ``coverage`` and ``mean_width``.
* ``paired``: interval of the accuracy difference of two runs on the same
  frames (run B = run A + 0.05 per person, plus person noise; frames of both
  runs correlated): ``coverage``, ``mean_width``.
* ``disparity``: three groups of 7 / 2 / 12 persons. ``null``: no true
  difference; ``false_claim`` = share of intervals excluding 0 (std, gap) or 1
  (ratio). ``std=0.15``: true means 0.45 / 0.30 / 0.60 (sd 0.15, gap 0.30,
  ratio 0.5): ``coverage``. The raw seed std's average is shown for contrast.
* ``latent``: 40 persons x 20 frames, person-specific embedding clusters
  (person centre ~ N(0, I_8), frames = centre + N(0, 0.3^2)), k = 4 clusters,
  race a person-level attribute (20 / 20 persons); ``false_claim`` = share of
  p < 0.05 without a race effect (size), ``power`` with race shifting the
  person centre by 1.5 or 3 sd; next to the frame-level chi-square p it replaces.

The LAST line is ``coverage_min=<x>``: the smallest accuracy coverage over all cells.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.evaluation.disparity import corrected_spread_arrays, sampling_variances  # noqa: E402
from core.evaluation.uncertainty import accuracy_bounds, ratio_bounds  # noqa: E402

#: Frames per person of EiLA's 21 test persons (seed split rule), measured on the real annotations.csv.
EILA_TEST_FRAMES_FALLBACK = np.array([73, 20, 57, 22, 39, 4, 4, 32, 38, 167, 130, 23, 20, 14, 88, 32, 42, 34, 33,
                                      6, 24])
SDS = (0.1, 0.2)
MEANS = (0.3, 0.5, 0.7, 0.85)
SIZES = tuple(range(2, 21))
DISPARITY_SIZES = (7, 2, 12)
CONFIDENCE = 0.95


def eila_frames(data: Path = ROOT.parent / "shared" / "data") -> tuple[np.ndarray, str]:
    """Frames per person of the EiLA test split, and where they came from."""
    ann, demo = data / "eila" / "annotations.csv", data / "eila" / "demographics.csv"
    if ann.exists() and demo.exists():
        from core.data.datasets._eila import load_eila_annotations

        df = load_eila_annotations(ann, demo)
        counts = df[df["split"] == "test"].groupby("person").size().to_numpy()
        return counts, f"{ann} (test split, {counts.size} persons)"
    return EILA_TEST_FRAMES_FALLBACK, "fallback: EiLA test frames per person stored in bench/calibration.py"


def person_accuracies(rng: np.random.Generator, shape: tuple[int, ...], mean: float, sd: float) -> np.ndarray:
    """Beta-distributed person accuracies with the given mean and sd."""
    c = mean * (1 - mean) / sd ** 2 - 1
    if c <= 0:
        raise ValueError(f"sd {sd} is too large for mean {mean}")
    return rng.beta(mean * c, (1 - mean) * c, size=shape)


def draw_group(rng: np.random.Generator, frames: np.ndarray, draws: int, persons: int, mean: float,
               sd: float) -> tuple[np.ndarray, np.ndarray]:
    """Correct frames and frames per person, ``(draws, persons)`` each."""
    n = rng.choice(frames, size=(draws, persons))
    k = rng.binomial(n, person_accuracies(rng, (draws, persons), mean, sd))
    return k.astype(float), n.astype(float)


def accuracy_rows(frames: np.ndarray, draws: int, seed: int = 1) -> list[dict]:
    rows = []
    for i, sd in enumerate(SDS):
        for j, mean in enumerate(MEANS):
            for persons in SIZES:
                rng = np.random.default_rng([seed, i, j, persons])
                k, n = draw_group(rng, frames, draws, persons, mean, sd)
                _, lo, hi, _ = accuracy_bounds(k, n, CONFIDENCE)
                rows.append({"section": "accuracy", "design": f"sd={sd} mean={mean}", "persons": persons,
                             "coverage": float(np.mean((lo <= mean) & (mean <= hi))),
                             "mean_width": float(np.mean(hi - lo))})
    return rows


def paired_rows(frames: np.ndarray, draws: int, seed: int = 2, delta: float = 0.05, noise: float = 0.05,
                rho: float = 0.7) -> list[dict]:
    """Run B's person accuracy = clip(A's + delta + N(0, noise)); a frame's outcomes share a uniform with
    probability ``rho`` (runs agree more than chance). Truth: the population mean of B - A."""
    rows = []
    for i, sd in enumerate(SDS):
        for j, mean in enumerate((0.3, 0.5, 0.7)):
            big = np.random.default_rng([seed, i, j, 999])
            pa_big = person_accuracies(big, (400_000,), mean, sd)
            truth = float(np.mean(np.clip(pa_big + delta + big.normal(0, noise, pa_big.size), 0.01, 0.99) - pa_big))
            for persons in SIZES:
                rng = np.random.default_rng([seed, i, j, persons])
                n = rng.choice(frames, size=(draws, persons))
                pa = person_accuracies(rng, (draws, persons), mean, sd)
                pb = np.clip(pa + delta + rng.normal(0, noise, pa.shape), 0.01, 0.99)
                both = rho * np.minimum(pa, pb) + (1 - rho) * pa * pb
                cells = np.stack([both, pa - both, pb - both, 1 - pa - pb + both], -1)
                counts = rng.multinomial(n, np.clip(cells, 0, None) / np.clip(cells, 0, None).sum(-1, keepdims=True))
                y = (counts[..., 0] + counts[..., 2]) - (counts[..., 0] + counts[..., 1])
                _, lo, hi, _, _ = ratio_bounds(y, n, CONFIDENCE, bounds=(-1.0, 1.0), min_ss=1.0)
                rows.append({"section": "paired", "design": f"sd={sd} mean={mean} diff={truth:.3f}",
                             "persons": persons, "coverage": float(np.mean((lo <= truth) & (truth <= hi))),
                             "mean_width": float(np.mean(hi - lo))})
    return rows


def disparity_rows(frames: np.ndarray, draws: int, seed: int = 3) -> list[dict]:
    rows = []
    designs = {"null": (0.45, 0.45, 0.45), "std=0.15": (0.45, 0.30, 0.60)}
    for i, sd in enumerate(SDS):
        for j, (name, means) in enumerate(designs.items()):
            rng = np.random.default_rng([seed, i, j])
            ks, ns = zip(*(draw_group(rng, frames, draws, p, m, sd) for p, m in zip(DISPARITY_SIZES, means)))
            acc, var = sampling_variances(ks, ns)
            r = corrected_spread_arrays(acc, var, CONFIDENCE)
            raw = acc.std(-1, ddof=1).mean()
            true = {"std": float(np.std(means, ddof=1)), "gap": max(means) - min(means),
                    "ratio": min(means) / max(means)}
            for key in ("std", "gap", "ratio"):
                lo, hi = r[f"{key}_corrected_ci_low"], r[f"{key}_corrected_ci_high"]
                row = {"section": "disparity", "design": f"sd={sd} {name} {key} (7/2/12 persons)", "persons": 21,
                       "mean_width": float(np.mean(hi - lo)),
                       "estimate_mean": float(np.mean(r[f"{key}_corrected"])), "true": true[key]}
                if key == "std":
                    row["raw_std_mean"] = float(raw)
                if name == "null":
                    row["false_claim"] = float(np.mean(hi < 1 - 1e-9 if key == "ratio" else lo > 1e-9))
                else:
                    t = true[key]
                    row["coverage"] = float(np.mean((lo <= t + 1e-9) & (t - 1e-9 <= hi)))
                rows.append(row)
    return rows


def lloyd(x: np.ndarray, k: int, rng: np.random.Generator, iterations: int = 15) -> np.ndarray:
    """Plain k-means (Lloyd's iterations from k random rows): a fast stand-in for the app's KMeans."""
    centres = x[rng.choice(len(x), k, replace=False)]
    labels = np.zeros(len(x), dtype=int)
    for _ in range(iterations):
        labels = ((x[:, None, :] - centres[None]) ** 2).sum(-1).argmin(1)
        centres = np.array([x[labels == j].mean(0) if (labels == j).any() else centres[j] for j in range(k)])
    return labels


def latent_rows(draws: int, permutations: int = 199, seed: int = 4, persons: int = 40, frames: int = 20,
                k: int = 4, dim: int = 8, effects: tuple[float, ...] = (0.0, 1.5, 3.0)) -> list[dict]:
    """k-means clusters of person-clustered embeddings; race (2 groups, half the persons) is a person-level
    property. ``effects``: race shifts the person's embedding centre by that many sd along one axis."""
    from core.latent.stats import independence_test

    rows = []
    for j, effect in enumerate(effects):
        p_person, p_frame = [], []
        for d in range(draws):
            rng = np.random.default_rng([seed, j, d])
            race = rng.permutation(np.repeat(["Black", "White"], persons // 2))
            centres = rng.normal(0, 1, (persons, dim))
            centres[:, 0] += effect * (race == "Black")
            x = np.repeat(centres, frames, axis=0) + rng.normal(0, 0.3, (persons * frames, dim))
            ids = np.repeat([f"p{i}" for i in range(persons)], frames)
            labels = lloyd(x, k, rng)
            groups = np.repeat(race, frames)
            res = independence_test(labels, groups, "race", n_permutations=permutations, seed=d, persons=ids)
            p_person.append(res.permutation_p)
            p_frame.append(res.chi2_p)
        key = "false_claim" if effect == 0 else "power"
        name = "no race effect" if effect == 0 else f"race effect {effect:g} sd"
        rows.append({"section": "latent", "design": f"{name}: person permutation p", "persons": persons,
                     key: float(np.mean(np.array(p_person) < 0.05))})
        rows.append({"section": "latent", "design": f"{name}: frame chi-square p (invalid)", "persons": persons,
                     key: float(np.mean(np.array(p_frame) < 0.05))})
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--draws", type=int, default=4000, help="simulated data sets per accuracy/paired/disparity cell")
    ap.add_argument("--latent-draws", type=int, default=200, help="simulated data sets per latent cell")
    ap.add_argument("--out", default=None, help="also write the table as CSV here")
    args = ap.parse_args(argv)
    start = time.perf_counter()
    frames, origin = eila_frames()
    print(f"frames per person from {origin}: median {int(np.median(frames))}, range {frames.min()}-{frames.max()}")
    rows = accuracy_rows(frames, args.draws) + paired_rows(frames, args.draws) + disparity_rows(frames, args.draws)
    if args.latent_draws:
        rows += latent_rows(args.latent_draws)
    table = pd.DataFrame(rows)
    if args.out:
        table.to_csv(args.out, index=False)
    with pd.option_context("display.max_rows", None, "display.width", 200):
        acc = table[table["section"] == "accuracy"]
        wide = acc.pivot(index="persons", columns="design", values="coverage")
        print("accuracy coverage (rows: persons)\n" + wide.round(3).to_string())
        print("accuracy mean width\n" + acc.pivot(index="persons", columns="design",
                                                  values="mean_width").round(3).to_string())
        pr = table[table["section"] == "paired"]
        print("paired difference coverage\n" + pr.pivot(index="persons", columns="design",
                                                        values="coverage").round(3).to_string())
        print("paired difference mean width\n" + pr.pivot(index="persons", columns="design",
                                                          values="mean_width").round(3).to_string())
        rest = table[table["section"].isin(["disparity", "latent"])].dropna(axis=1, how="all")
        print(rest.round(3).to_string(index=False))
    summary = {
        "accuracy coverage min": acc["coverage"].min(),
        "accuracy width max at 20 persons": acc.loc[acc["persons"] == 20, "mean_width"].max(),
        "paired coverage min": pr["coverage"].min(),
        "disparity false claims max": table.loc[table["section"] == "disparity", "false_claim"].max(),
        "disparity coverage min": table.loc[table["section"] == "disparity", "coverage"].min(),
    }
    if args.latent_draws:
        lat = table[(table["section"] == "latent") & table["design"].str.contains("person permutation")]
        summary["latent false claims (person permutation)"] = lat["false_claim"].max()
        for _, row in lat.dropna(subset=["power"]).iterrows():
            summary[f"latent power, {row['design']}"] = row["power"]
    for k, v in summary.items():
        print(f"{k}: {v:.3f}")
    print(f"wall time {time.perf_counter() - start:.1f} s")
    print(f"coverage_min={acc['coverage'].min():.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
