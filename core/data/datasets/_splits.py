"""Split rules for EiLA: the seed's annotator-count rule (leaks persons) and a person-disjoint rule.

The seed assigns a frame to train / validation / test by how many annotators
labelled it (1 / 2 / 3). That keeps clips apart but not people: a person who
appears in several clips of a video can be in training and in test. On the
real annotations 4 of the 7 Black test persons (78.5 % of Black test frames)
are also in training. :func:`person_disjoint_split` assigns whole persons
(``person`` = ``EiLA:<video>/<Person Global Id>``, one individual across the
clips of a video) to splits instead, stratified by race.
"""
from __future__ import annotations

import warnings
from typing import Mapping

import numpy as np
import pandas as pd

#: The rule that produced the seed study's tables (its prose states the inverse).
SEED_CODE_SPLIT_RULE: dict[int, str] = {1: "train", 2: "validation", 3: "test"}
SEED_PROSE_SPLIT_RULE: dict[int, str] = {3: "train", 2: "validation", 1: "test"}
#: Split rules by name; ``person-disjoint`` is computed, the others map annotator counts.
SPLIT_RULES: tuple[str, ...] = ("seed", "seed-prose", "person-disjoint")
#: How each rule is shown wherever results are labelled by it.
SPLIT_RULE_LABELS: dict[str, str] = {
    "seed": "seed (annotator count; leaks persons)",
    "seed-prose": "seed prose (inverse annotator count; leaks persons)",
    "person-disjoint": "person-disjoint",
}
#: The seed's proportions of EiLA's rows (5,723 / 1,462 / 902 of 8,087), the person-disjoint targets.
SEED_VALIDATION_FRACTION = 1462 / 8087
SEED_TEST_FRACTION = 902 / 8087


def split_rule_mapping(rule: str | Mapping[int, str]) -> Mapping[int, str] | None:
    """Annotator-count mapping of a rule (``None`` for ``person-disjoint``).

    Raises
    ------
    ValueError
        Unknown rule name.
    """
    if not isinstance(rule, str):
        return rule
    if rule == "seed":
        return SEED_CODE_SPLIT_RULE
    if rule == "seed-prose":
        return SEED_PROSE_SPLIT_RULE
    if rule == "person-disjoint":
        return None
    raise ValueError(f"split_rule must be one of {list(SPLIT_RULES)} or a mapping of annotator count to split, "
                     f"received {rule!r}")


def split_rule_name(rule: str | Mapping[int, str]) -> str:
    """``seed``, ``seed-prose``, ``person-disjoint`` or ``custom`` for a mapping that is neither seed rule."""
    if isinstance(rule, str):
        split_rule_mapping(rule)
        return rule
    if dict(rule) == SEED_CODE_SPLIT_RULE:
        return "seed"
    if dict(rule) == SEED_PROSE_SPLIT_RULE:
        return "seed-prose"
    return "custom"


def _assign(frames: pd.Series, rng: np.random.Generator, targets: tuple[float, float],
            minimum: tuple[int, int]) -> dict[str, str]:
    """One randomized greedy assignment of a stratum's persons (``frames``: person -> n frames)."""
    n = len(frames)
    # never leave train empty; with few persons, test's minimum first, then validation's
    need = {"test": min(minimum[0], max(n - 1, 0))}
    need["validation"] = min(minimum[1], max(n - 1 - need["test"], 0))
    target = {"test": targets[0], "validation": targets[1]}
    got = {"test": 0, "validation": 0}
    count = {"test": 0, "validation": 0, "train": 0}
    out: dict[str, str] = {}

    def feasible(split: str, left: int) -> bool:
        c = dict(count)
        c[split] += 1
        short = sum(max(0, need[s] - c[s]) for s in need) + (0 if c["train"] else 1)
        return left >= short

    for k, i in enumerate(rng.permutation(n)):
        person, f = frames.index[i], int(frames.iloc[i])
        left = n - k - 1
        options = [s for s in need if count[s] < need[s]]
        options += [s for s in need if abs(got[s] + f - target[s]) < abs(got[s] - target[s])]
        split = next((s for s in options if feasible(s, left)), "train")
        if split != "train":
            got[split] += f
        count[split] += 1
        out[person] = split
    return out


def person_disjoint_split(manifest: pd.DataFrame, seed: int = 0, strata: str = "race",
                          validation_fraction: float = SEED_VALIDATION_FRACTION,
                          test_fraction: float = SEED_TEST_FRACTION, min_test_persons: int = 2,
                          min_validation_persons: int = 1, n_candidates: int = 400) -> pd.Series:
    """Assign whole persons to train / validation / test, stratified by ``strata``.

    For each stratum the persons are visited in a random order and each goes to
    test (then validation) while that brings the stratum's frames closer to its
    target share, after the minimum number of persons; the rest go to train.
    Of ``n_candidates`` such draws the one closest to the targets (overall and
    per stratum, relative error in frames) is kept, so the result is
    deterministic for a ``seed``.

    Parameters
    ----------
    manifest : pandas.DataFrame
        Rows with a ``person`` column (every row needs one) and ``strata``.
    seed : int
        Seed of the draws.
    strata : str
        Column stratified on (missing values form their own stratum).
    validation_fraction, test_fraction : float
        Target shares of the rows (default: the seed's 1,462 and 902 of 8,087).
    min_test_persons, min_validation_persons : int
        Persons each stratum puts in test and validation (fewer only when the
        stratum has too few persons; a warning says so).
    n_candidates : int
        Draws compared.

    Returns
    -------
    pandas.Series
        The split of every row, aligned to ``manifest.index``.

    Raises
    ------
    ValueError
        Missing person ids, a missing ``strata`` column or fractions out of range.
    """
    if "person" not in manifest.columns or manifest["person"].isna().any():
        n = len(manifest) if "person" not in manifest.columns else int(manifest["person"].isna().sum())
        raise ValueError(f"a person-disjoint split needs a person id on every row; {n} row(s) have none")
    if strata not in manifest.columns:
        raise ValueError(f"no column {strata!r} to stratify on; columns are {list(manifest.columns)}")
    if not (0 < test_fraction < 1 and 0 < validation_fraction < 1 and test_fraction + validation_fraction < 1):
        raise ValueError(f"expected fractions in (0, 1) summing below 1, received test={test_fraction}, "
                         f"validation={validation_fraction}")
    stratum = manifest[strata].astype(object).where(manifest[strata].notna(), "(missing)").astype(str)
    per_person = pd.DataFrame({"person": manifest["person"].astype(str), "stratum": stratum})
    if (per_person.groupby("person")["stratum"].nunique() > 1).any():
        raise ValueError(f"some persons have more than one {strata!r} value; cannot stratify by person")
    frames = {s: g.groupby("person").size().sort_index() for s, g in per_person.groupby("stratum")}
    for s, f in frames.items():
        if len(f) < min_test_persons + min_validation_persons + 1:
            warnings.warn(f"{strata} {s!r} has {len(f)} person(s): fewer than {min_test_persons} in test + "
                          f"{min_validation_persons} in validation + 1 in train", stacklevel=2)
    total = len(manifest)
    rng = np.random.default_rng(seed)
    best, best_score = None, np.inf
    for _ in range(n_candidates):
        assign: dict[str, str] = {}
        score = 0.0
        for s, f in frames.items():
            n_s = int(f.sum())
            part = _assign(f, rng, (test_fraction * n_s, validation_fraction * n_s),
                           (min_test_persons, min_validation_persons))
            assign.update(part)
            for split, frac in (("test", test_fraction), ("validation", validation_fraction)):
                got = sum(int(f[p]) for p, v in part.items() if v == split)
                score += 0.25 * abs(got - frac * n_s) / max(frac * total, 1.0)
        split_of = per_person["person"].map(assign)
        for split, frac in (("test", test_fraction), ("validation", validation_fraction)):
            score += abs(int((split_of == split).sum()) - frac * total) / max(frac * total, 1.0)
        if score < best_score:
            best, best_score = assign, score
    return per_person["person"].map(best).rename("split")


def apply_split_rule(manifest: pd.DataFrame, rule: str, seed: int = 0) -> pd.DataFrame:
    """A copy of an EiLA manifest with its ``split`` recomputed by ``rule``.

    Parameters
    ----------
    manifest : pandas.DataFrame
        EiLA rows (from annotations or crops): ``person`` and ``race`` for
        ``person-disjoint``, ``n_annotators`` for the annotator-count rules.
    rule : {"seed", "seed-prose", "person-disjoint"}
    seed : int
        Seed of the person-disjoint split.

    Returns
    -------
    pandas.DataFrame
        Same rows; ``attrs["split_rule"]`` records the rule and seed.

    Raises
    ------
    ValueError
        Unknown rule, or a manifest lacking what the rule needs (e.g. crops
        have no annotator counts: their seed split comes from their folders).
    """
    mapping = split_rule_mapping(rule)
    out = manifest.copy()
    if mapping is None:
        out["split"] = person_disjoint_split(out, seed=seed).to_numpy()
    elif "n_annotators" in out.columns:
        out["split"] = out["n_annotators"].map(mapping).to_numpy()
        if out["split"].isna().any():
            raise ValueError(f"{int(out['split'].isna().sum())} row(s) have an annotator count outside {rule!r}")
    else:
        raise ValueError(f"split rule {rule!r} maps annotator counts, but these rows have no 'n_annotators' "
                         "column; their split is kept as loaded (for crops: their folders)")
    out.attrs["split_rule"] = {"rule": split_rule_name(rule), "seed": int(seed) if mapping is None else None}
    return out


def split_rule_label(rule: str) -> str:
    """Display name of a split rule (:data:`SPLIT_RULE_LABELS`); the seed's is labelled as leaking persons."""
    return SPLIT_RULE_LABELS.get(rule, rule) if rule else "not recorded"
