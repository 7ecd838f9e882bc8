"""Dataset mixing: a base dataset plus a stratified fraction of another (the seed's Table 3).

:func:`mix` keeps every row of ``base`` and adds, for each of ``extra``'s train
and validation splits and each class, ``floor(fraction x class count)`` rows
drawn with a seed. ``extra``'s test split is never mixed in: it is the
evaluation set. With the EiLA training-set class counts of the seed's Table 9
this rule reproduces its Table 3 training sizes exactly (SFEW 891 + 10% EiLA =
1,373).

For a given seed the draws are nested: the rows of a 10% mix are also in the
30%, 50% and 100% mixes, so configurations differ only by the added rows.

:data:`TABLE3` lists the 11 configurations of the seed; :func:`build_mix`
turns a :class:`MixSpec` into a training manifest from registered datasets,
and :func:`evaluation_manifest` selects the evaluation split.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from .common._errors import DataFormatError
from .data.labels import EMOTIONS
from .data.manifest import validate_manifest

#: Splits of ``extra`` that are mixed into the training data.
MIXED_SPLITS: tuple[str, ...] = ("train", "validation")


def _floor_fraction(fraction: float, count: int) -> int:
    """``floor(fraction * count)`` without float round-off (0.29 * 100 is 29, not 28)."""
    return math.floor(Fraction(repr(float(fraction))) * count)


def _group_seed(seed: int, split: str, label: str) -> list[int]:
    digest = hashlib.sha1(f"{split}/{label}".encode()).digest()
    return [int(seed), int.from_bytes(digest[:4], "little")]


def mix(base: pd.DataFrame, extra: pd.DataFrame, fraction: float, seed: int = 0) -> pd.DataFrame:
    """Every row of ``base`` plus a per-split, per-class fraction of ``extra``.

    Parameters
    ----------
    base : pandas.DataFrame
        Manifest kept whole.
    extra : pandas.DataFrame
        Manifest sampled from; only its ``train`` and ``validation`` rows with a label are used.
    fraction : float
        In [0, 1]; for each (split, class) of ``extra``, ``floor(fraction x count)`` rows are added.
    seed : int
        Seed of the draw. The same seed gives the same rows, and a smaller
        fraction's rows are a subset of a larger fraction's.

    Returns
    -------
    pandas.DataFrame
        A validated manifest: ``base`` rows first (original order), then the
        drawn ``extra`` rows ordered by split, class and ``sample_id``.

    Raises
    ------
    ValueError
        ``fraction`` outside [0, 1] or a non-integer seed.
    DataFormatError
        Either table breaks the manifest schema, or the two share sample ids.
    """
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float, np.floating)) \
            or not 0.0 <= float(fraction) <= 1.0:
        raise ValueError(f"fraction must be a number in [0, 1], received {fraction!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"seed must be an integer, received {seed!r}")
    base = validate_manifest(base, "<base manifest>")
    extra = validate_manifest(extra, "<extra manifest>")
    pool = extra[extra["split"].isin(MIXED_SPLITS) & extra["label"].notna()]
    parts = [base]
    for split in MIXED_SPLITS:
        for label in EMOTIONS:
            group = pool[(pool["split"] == split) & (pool["label"] == label)].sort_values("sample_id")
            n = _floor_fraction(fraction, len(group))
            if n == 0:
                continue
            order = np.random.default_rng(_group_seed(seed, split, label)).permutation(len(group))
            parts.append(group.iloc[np.sort(order[:n])])
    out = pd.concat(parts, ignore_index=True)
    dup = out["sample_id"].duplicated(keep=False)
    if dup.any():
        raise DataFormatError(f"base and extra share {int(dup.sum() // 2)} sample id(s), e.g. "
                              f"{sorted(set(out.loc[dup, 'sample_id']))[:3]}; mix two different datasets",
                              "<mix>", "sample_id")
    return validate_manifest(out, "<mix>")


def mix_counts(manifest: pd.DataFrame) -> pd.DataFrame:
    """Rows per dataset, split and class (a small audit table of a mix)."""
    df = manifest[manifest["label"].notna()]
    return (df.groupby(["dataset", "split", "label"]).size().unstack("label", fill_value=0)
            .reindex(columns=list(EMOTIONS), fill_value=0))


@dataclass(frozen=True)
class MixSpec:
    """One training-data configuration: ``base`` plus ``fraction`` of ``extra``.

    Attributes
    ----------
    name : str
        Display name, e.g. ``"SFEW + 10% EiLA"``.
    base : str
        Registered dataset name (or a key of the mapping given to :func:`build_mix`).
    extra : str or None
        Dataset sampled from; None for a single-dataset configuration.
    fraction : float
        In [0, 1]; ignored (0) when ``extra`` is None.
    seed : int
        Seed of the draw.
    """

    name: str
    base: str
    extra: str | None = None
    fraction: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError(f"MixSpec.name must be a non-empty string, received {self.name!r}")
        if not isinstance(self.base, str) or not self.base:
            raise ValueError(f"MixSpec.base must be a dataset name, received {self.base!r}")
        if self.extra is not None and (not isinstance(self.extra, str) or not self.extra):
            raise ValueError(f"MixSpec.extra must be a dataset name or None, received {self.extra!r}")
        if isinstance(self.fraction, bool) or not isinstance(self.fraction, (int, float)) \
                or not 0.0 <= self.fraction <= 1.0:
            raise ValueError(f"MixSpec.fraction must be in [0, 1], received {self.fraction!r}")
        if self.extra is None and self.fraction:
            raise ValueError(f"MixSpec {self.name!r}: fraction {self.fraction} given without an extra dataset")
        if self.extra is not None and self.extra == self.base:
            raise ValueError(f"MixSpec {self.name!r}: base and extra are the same dataset {self.base!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ValueError(f"MixSpec.seed must be an integer, received {self.seed!r}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def parse(cls, text: str, seed: int = 0) -> "MixSpec":
        """Parse ``"BASE"`` or ``"BASE+EXTRA:FRACTION"`` (fraction in [0, 1] or a percentage like ``10%``).

        Raises
        ------
        ValueError
            Text that does not follow the pattern.
        """
        text = text.strip()
        if "+" not in text:
            return cls(name=f"{text} only", base=text, seed=seed)
        base, _, rest = text.partition("+")
        extra, sep, frac = rest.rpartition(":")
        if not sep or not base.strip() or not extra.strip():
            raise ValueError(f"expected 'BASE' or 'BASE+EXTRA:FRACTION' (e.g. 'SFEW+EiLA:0.1'), received {text!r}")
        try:
            value = float(frac.rstrip("%")) / (100.0 if frac.endswith("%") else 1.0)
        except ValueError:
            raise ValueError(f"fraction {frac!r} in {text!r} is not a number") from None
        base, extra = base.strip(), extra.strip()
        return cls(name=f"{base} + {_percent(value)} {extra}", base=base, extra=extra, fraction=value, seed=seed)


def _percent(fraction: float) -> str:
    pct = fraction * 100
    return f"{pct:g}%"


def table3_preset(eila: str = "EiLA", fer2013: str = "FER2013", sfew: str = "SFEW", seed: int = 0) -> list[MixSpec]:
    """The seed's 11 configurations (Table 3) over the given dataset names."""
    specs = [MixSpec("EiLA only", eila, seed=seed), MixSpec("FER2013 only", fer2013, seed=seed),
             MixSpec("SFEW only", sfew, seed=seed)]
    for base_label, base in (("SFEW", sfew), ("FER2013", fer2013)):
        for frac in (0.1, 0.3, 0.5, 1.0):
            specs.append(MixSpec(f"{base_label} + {_percent(frac)} EiLA", base, eila, frac, seed))
    return specs


#: The 11 configurations of the seed's Table 3 over datasets registered as EiLA, FER2013 and SFEW.
TABLE3: tuple[MixSpec, ...] = tuple(table3_preset())

#: Table 3 training/validation sizes as published, keyed by configuration name.
TABLE3_SIZES: dict[str, tuple[int, int]] = {
    "EiLA only": (4852, 1362), "FER2013 only": (28709, 7178), "SFEW only": (891, 431),
    "SFEW + 10% EiLA": (1373, 564), "SFEW + 30% EiLA": (2342, 837), "SFEW + 50% EiLA": (3316, 1111),
    "SFEW + 100% EiLA": (5743, 1793), "FER2013 + 10% EiLA": (29191, 7311), "FER2013 + 30% EiLA": (30160, 7584),
    "FER2013 + 50% EiLA": (31134, 7858), "FER2013 + 100% EiLA": (33561, 8540),
}

def build_mix(spec: MixSpec, datasets: Mapping[str, pd.DataFrame] | Callable[[str], pd.DataFrame]) -> pd.DataFrame:
    """The training manifest of one configuration: its ``train`` and ``validation`` rows.

    Parameters
    ----------
    spec : MixSpec
    datasets : mapping or callable
        Dataset name -> manifest (a dict, or a loader such as
        ``lambda n: core.data.registry.load_dataset(n, artifacts)``).

    Returns
    -------
    pandas.DataFrame
        Train and validation rows with a label (``base``'s test split, if any, is left out).

    Raises
    ------
    DataFormatError
        A dataset is unknown, or the mix has no training rows.
    """
    get = datasets.__getitem__ if isinstance(datasets, Mapping) else datasets
    try:
        base = get(spec.base)
        extra = get(spec.extra) if spec.extra is not None else None
    except KeyError as exc:
        raise DataFormatError(f"configuration {spec.name!r} needs dataset {exc.args[0]!r}, which is not available",
                              "<datasets>") from None
    out = base if extra is None else mix(base, extra, spec.fraction, spec.seed)
    out = out[out["split"].isin(MIXED_SPLITS) & out["label"].notna()].reset_index(drop=True)
    if not (out["split"] == "train").any():
        raise DataFormatError(f"configuration {spec.name!r} has no labelled train rows", f"<{spec.base}>")
    return out


def evaluation_manifest(manifest: pd.DataFrame, split: str = "test",
                        source: str | Path = "<evaluation>") -> pd.DataFrame:
    """Labelled rows of ``split`` (EiLA's test split in the seed's design).

    Raises
    ------
    DataFormatError
        When the split has no labelled rows; the message lists the splits present.
    """
    df = validate_manifest(manifest, source)
    out = df[(df["split"] == split) & df["label"].notna()].reset_index(drop=True)
    if out.empty:
        present = df.loc[df["label"].notna(), "split"].value_counts().to_dict()
        raise DataFormatError(f"no labelled rows in split {split!r} to evaluate on; labelled rows per split: "
                              f"{present}", source, "split")
    return out


def evaluation_overlap(specs: Sequence[MixSpec], eval_dataset: str, eval_split: str) -> str | None:
    """Why evaluating ``specs`` on ``eval_dataset``/``eval_split`` would test on training rows, or None.

    Every configuration trains on the train and validation rows of its base and
    (a fraction per class of) its extra dataset, so those splits of those datasets
    are never a fair evaluation set. The seed's Table 3 evaluates on EiLA's test split.

    Returns
    -------
    str or None
        A message naming the configurations that train on that split.
    """
    if eval_split not in MIXED_SPLITS:
        return None
    users = [s.name for s in specs if eval_dataset in (s.base, s.extra)]
    if not users:
        return None
    shown = ", ".join(users[:4]) + (f" and {len(users) - 4} more" if len(users) > 4 else "")
    return (f"{len(users)} configuration(s) ({shown}) train on {eval_dataset}'s {eval_split} rows; evaluating them "
            f"there measures memory, not generalisation. Evaluate on a split that is never mixed in (the test split)")


def spec_sizes(specs: Sequence[MixSpec], datasets: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Training and validation sizes of each configuration (compare with :data:`TABLE3_SIZES`)."""
    rows = []
    for spec in specs:
        m = build_mix(spec, datasets)
        rows.append({"configuration": spec.name, "train": int((m["split"] == "train").sum()),
                     "validation": int((m["split"] == "validation").sum())})
    return pd.DataFrame(rows)
