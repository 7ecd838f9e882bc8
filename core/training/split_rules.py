"""EiLA split rules for training: registered EiLA datasets re-split on the fly (``--split-rule``).

A Table 3 sweep can run with the seed's rule (annotator count; it leaks persons
into the test split) or the person-disjoint rule. The registered manifest is
re-split only when the rule asked for differs from the one it was registered
with; every run records the rule (``config.json`` ``data.split_rule``), so
results can be grouped by it.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pandas as pd

from ..data.datasets import apply_split_rule

#: The rule of an EiLA dataset registered before rules were recorded (the loaders' default).
DEFAULT_RULE = "seed"


def is_eila(manifest: pd.DataFrame) -> bool:
    """Whether every row is EiLA (the datasets a split rule applies to)."""
    return "dataset" in manifest.columns and len(manifest) > 0 and bool((manifest["dataset"] == "EiLA").all())


def resplit(manifest: pd.DataFrame, registered: dict[str, Any], rule: str | None,
            seed: int = 0) -> tuple[pd.DataFrame, dict[str, Any] | None]:
    """The manifest under ``rule`` and what was applied (None for a non-EiLA manifest).

    Parameters
    ----------
    manifest : pandas.DataFrame
        A registered dataset's manifest.
    registered : dict
        Its ``info.json`` source (``split_rule``, ``split_seed`` when recorded).
    rule : {"seed", "seed-prose", "person-disjoint"} or None
        None keeps the registered split.
    seed : int
        Seed of the person-disjoint split.

    Raises
    ------
    ValueError
        A rule the rows cannot be re-split by (crops have no annotator counts).
    """
    if not is_eila(manifest):
        return manifest, None
    have = str(registered.get("split_rule") or DEFAULT_RULE)
    have_seed = int(registered.get("split_seed") or 0) if have == "person-disjoint" else None
    want = rule or have
    want_seed = int(seed) if want == "person-disjoint" else None
    if rule is None or (want, want_seed) == (have, have_seed):
        return manifest, {"split_rule": have, "split_seed": have_seed}
    if want == DEFAULT_RULE and "n_annotators" not in manifest.columns:
        raise ValueError(f"this EiLA dataset was registered with the {have!r} split and has no annotator counts to "
                         "recompute the seed's rule; register it again with the seed's rule")
    return apply_split_rule(manifest, want, seed=int(seed)), {"split_rule": want, "split_seed": want_seed}


class SplitRuleLoader:
    """Callable ``name -> manifest`` over registered datasets, applying one split rule to the EiLA ones.

    ``rules`` maps each EiLA dataset loaded to the rule and seed applied.
    """

    def __init__(self, load: Callable[[str], pd.DataFrame], source: Callable[[str], dict[str, Any]],
                 rule: str | None = None, seed: int = 0) -> None:
        self._load, self._source, self.rule, self.seed = load, source, rule, int(seed)
        self._cache: dict[str, pd.DataFrame] = {}
        self.rules: dict[str, dict[str, Any]] = {}

    def __call__(self, name: str) -> pd.DataFrame:
        if name not in self._cache:
            df, applied = resplit(self._load(name), self._source(name), self.rule, self.seed)
            if applied is not None:
                self.rules[name] = applied
            self._cache[name] = df
        return self._cache[name]

    def record(self) -> dict[str, Any]:
        """``{"split_rule": ..., "split_seed": ...}`` of the EiLA data used (``{}`` when none was EiLA)."""
        applied = {(r["split_rule"], r["split_seed"]) for r in self.rules.values()}
        if not applied:
            return {}
        if len(applied) == 1:
            rule, seed = applied.pop()
            return {"split_rule": rule, "split_seed": seed}
        return {"split_rule": " + ".join(sorted(r for r, _ in applied)), "split_seed": None}


def registered_loader(artifacts: Path, rule: str | None = None, seed: int = 0) -> SplitRuleLoader:
    """A :class:`SplitRuleLoader` over the datasets registered under ``artifacts``."""
    from ..data.registry import get_dataset, load_dataset

    return SplitRuleLoader(lambda n: load_dataset(n, artifacts), lambda n: get_dataset(n, artifacts).source,
                           rule, seed)
