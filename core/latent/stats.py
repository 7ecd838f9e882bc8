"""Do clusters follow a demographic attribute? Composition tables, independence tests and a linear probe.

The second seed read "White individuals dominate every cluster" as model bias,
but with 54% White faces in the data every cluster is expected to be mostly
White. The questions that separate the two are answered here:

* :func:`composition`: cluster x group counts and row percentages (the seed's
  Table I), next to the overall share of each group and the *lift* (row share /
  overall share; 1 everywhere means clusters ignore the attribute).
* :func:`independence_test`: chi-square test of independence, Cramér's V
  (plain and bias-corrected), adjusted mutual information and a permutation
  p-value. With person ids the permutation shuffles the attribute across
  **persons** (each person keeps all its frames): race is a property of a
  person, and frames of one person land in the same clusters, so shuffling
  frame by frame (and the chi-square p, which assumes independent frames)
  finds "dependence" in nearly every data set where there is none
  (``bench/calibration.py``: 40 persons x 20 frames). The frame-level chi-square
  p is then reported as not valid (``chi2_valid`` False).
* :func:`linear_probe`: how well a cross-validated logistic regression reads
  the attribute from the embedding, against the majority-class baseline (a
  clustering can ignore race while the embedding still encodes it). Folds are
  always grouped by person, so the probe cannot succeed by recognising people.

Missing person ids follow :mod:`core.common._clusters` (each such frame its own person).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd

from ..common._clusters import fill_missing_ids
from .projection import check_vectors, normalize_vectors, reduce_pca


@dataclass(frozen=True)
class Composition:
    """Cluster x group table.

    Attributes
    ----------
    attribute : str
    counts : pandas.DataFrame
        Index cluster, one column per group, plus ``n`` (row total).
    row_percent : pandas.DataFrame
        Same shape without ``n``; each row sums to 100.
    overall_percent : pandas.Series
        Share of each group in all rows used (percent).
    lift : pandas.DataFrame
        ``row_percent / overall_percent`` (1 = the group's share in the cluster equals its overall share).
    n_missing : int
        Rows left out because the attribute is missing.
    """

    attribute: str
    counts: pd.DataFrame
    row_percent: pd.DataFrame
    overall_percent: pd.Series
    lift: pd.DataFrame
    n_missing: int

    def table(self, decimals: int = 1) -> pd.DataFrame:
        """Display table: ``n`` then the row percentages, and an ``All`` row with the overall shares."""
        pct = self.row_percent.round(decimals)
        out = pd.concat([self.counts[["n"]], pct], axis=1)
        out.index = [str(c) for c in out.index]
        out.index.name = "cluster"
        out.loc["All"] = [int(self.counts["n"].sum()), *self.overall_percent.round(decimals).tolist()]
        out["n"] = out["n"].astype(int)
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: ``groups``, ``clusters`` and nested ``{cluster: {group: value}}`` tables."""
        key = lambda i: str(i)  # noqa: E731 - JSON object keys are strings
        return {
            "attribute": self.attribute,
            "groups": [str(g) for g in self.row_percent.columns],
            "clusters": [key(c) for c in self.counts.index],
            "counts": {key(c): {str(g): int(v) for g, v in row.items() if g != "n"}
                       for c, row in self.counts.iterrows()},
            "n": {key(c): int(v) for c, v in self.counts["n"].items()},
            "row_percent": {key(c): {str(g): round(float(v), 4) for g, v in row.items()}
                            for c, row in self.row_percent.iterrows()},
            "overall_percent": {str(g): round(float(v), 4) for g, v in self.overall_percent.items()},
            "lift": {key(c): {str(g): round(float(v), 4) for g, v in row.items()} for c, row in self.lift.iterrows()},
            "n_missing": int(self.n_missing),
        }


def _aligned(clusters: Sequence[Any], groups: Sequence[Any], attribute: str) -> tuple[np.ndarray, np.ndarray, int]:
    c = np.asarray(clusters)
    g = pd.Series(list(groups), dtype=object)
    if len(c) != len(g):
        raise ValueError(f"clusters and {attribute} must have the same length, received {len(c)} and {len(g)}")
    keep = g.notna().to_numpy() & (g.astype(str).str.len() > 0).to_numpy()
    return c[keep], g[keep].astype(str).to_numpy(), int((~keep).sum())


def composition(clusters: Sequence[Any], groups: Sequence[Any], attribute: str = "race",
                group_order: Sequence[str] | None = None) -> Composition:
    """Counts and row percentages of each group within each cluster.

    Parameters
    ----------
    clusters : sequence
        Cluster label per sample.
    groups : sequence
        Attribute value per sample; missing values are left out and counted.
    attribute : str
        Name used in messages and output.
    group_order : sequence of str, optional
        Column order (groups absent from the data get zero columns); default sorted.

    Raises
    ------
    ValueError
        Different lengths or no row with a value.
    """
    c, g, n_missing = _aligned(clusters, groups, attribute)
    if len(c) == 0:
        raise ValueError(f"no sample has a value for {attribute!r}; cannot build a composition table")
    counts = pd.crosstab(pd.Series(c, name="cluster"), pd.Series(g, name=attribute))
    order = list(group_order) if group_order is not None else sorted(counts.columns)
    order += [x for x in counts.columns if x not in order]
    counts = counts.reindex(columns=order, fill_value=0)
    counts.columns.name = attribute
    row_pct = counts.div(counts.sum(axis=1), axis=0) * 100.0
    overall = counts.sum(axis=0) / counts.to_numpy().sum() * 100.0
    lift = row_pct.div(overall.replace(0, np.nan), axis=1)
    counts = counts.assign(n=counts.sum(axis=1))
    return Composition(attribute=attribute, counts=counts, row_percent=row_pct, overall_percent=overall, lift=lift,
                       n_missing=n_missing)


@dataclass(frozen=True)
class IndependenceResult:
    """Tests of independence between cluster membership and an attribute (see :func:`independence_test`)."""

    attribute: str
    n: int
    n_missing: int
    n_clusters: int
    n_groups: int
    chi2: float
    dof: int
    chi2_p: float
    cramers_v: float
    cramers_v_corrected: float
    ami: float
    permutation_p: float
    n_permutations: int
    min_expected: float
    share_expected_below_5: float
    permutation_unit: str = "frame"
    n_persons: int | None = None
    n_missing_persons: int = 0
    chi2_valid: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def _chi2_of_tables(tables: np.ndarray) -> np.ndarray:
    """Pearson chi-square of each ``(..., r, k)`` table with its own margins (zero-expected cells skipped)."""
    n = tables.sum(axis=(-2, -1), keepdims=True)
    expected = tables.sum(-1, keepdims=True) * tables.sum(-2, keepdims=True) / np.where(n > 0, n, 1)
    safe = np.where(expected > 0, expected, 1.0)
    return np.where(expected > 0, (tables - expected) ** 2 / safe, 0.0).sum(axis=(-2, -1))


def _permuted_chi2(c_codes: np.ndarray, g_codes: np.ndarray, r: int, k: int, n_permutations: int,
                   seed: int, units: np.ndarray | None = None, chunk: int = 200) -> np.ndarray:
    """Chi-square statistics of ``n_permutations`` shuffles of the attribute, in vectorised chunks.

    ``units`` (codes ``0..U-1``, one per frame) shuffles the attribute across
    units (persons): unit ``u`` keeps its frames and takes the attribute of
    unit ``perm[u]``; ``g_codes`` must then be constant within each unit.
    Without units, frames are shuffled.
    """
    rng = np.random.default_rng(seed)
    if units is None:
        units = np.arange(len(g_codes))
    n_units = int(units.max()) + 1
    unit_group = np.zeros(n_units, dtype=int)
    unit_group[units] = g_codes
    per_unit = np.zeros((n_units, r))
    np.add.at(per_unit, (units, c_codes), 1.0)
    out = []
    for start in range(0, n_permutations, chunk):
        m = min(chunk, n_permutations - start)
        perms = np.argsort(rng.random((m, n_units)), axis=1)
        onehot = np.eye(k)[unit_group[perms]]  # (m, U, k)
        tables = np.einsum("ur,muk->mrk", per_unit, onehot)
        out.append(_chi2_of_tables(tables))
    return np.concatenate(out)


def independence_test(clusters: Sequence[Any], groups: Sequence[Any], attribute: str = "race",
                      n_permutations: int = 999, seed: int = 0,
                      persons: Sequence[Any] | None = None) -> IndependenceResult:
    """Chi-square test, Cramér's V, adjusted mutual information and permutation p-value.

    Parameters
    ----------
    clusters, groups : sequence
        Cluster label and attribute value per sample (missing values left out).
    attribute : str
    n_permutations : int
        Shuffles of the attribute for the permutation p-value (0 to skip, then NaN).
    seed : int
    persons : sequence, optional
        Person id per sample. When given and the attribute is constant within
        every person, the permutation shuffles the attribute across persons
        (``permutation_unit="person"``) and ``chi2_valid`` is False (frames of a
        person are not independent). An attribute that varies within persons
        (e.g. the emotion label) is shuffled by frame, and ``chi2_valid`` is
        False too. Missing ids: each such frame its own person.

    Returns
    -------
    IndependenceResult
        ``chi2``, ``chi2_p``, ``dof`` and the expected counts behind ``min_expected`` from
        :func:`scipy.stats.chi2_contingency` (``correction=False``: Pearson's statistic without Yates'
        correction); ``cramers_v`` from :func:`scipy.stats.contingency.association` (``method="cramer"``);
        ``cramers_v_corrected`` is Bergsma's (2013) bias correction (scipy has none).
        ``permutation_p = (1 + #{chi2_perm >= chi2}) / (1 + n_permutations)``, the definition of
        :func:`scipy.stats.permutation_test` (``permutation_type="pairings"``, ``alternative="greater"``) for
        a randomised test; scipy differs only in its random stream (another p-value for the same seed,
        within Monte Carlo error of this one), its tie tolerance (relative, ``100 * eps * chi2``, here an
        absolute 1e-9) and in enumerating every permutation without the ``+1`` when ``n_permutations``
        reaches their number.

    Raises
    ------
    ValueError
        Fewer than 2 clusters or 2 groups among the rows with a value.
    """
    from scipy.stats import chi2_contingency
    from scipy.stats.contingency import association
    from sklearn.metrics import adjusted_mutual_info_score

    if n_permutations < 0:
        raise ValueError(f"n_permutations must be >= 0, received {n_permutations}")
    ids_all = None
    if persons is not None:
        if len(persons) != len(groups):
            raise ValueError(f"persons and {attribute} must have the same length, received {len(persons)} and "
                             f"{len(groups)}")
        kept = pd.Series(list(groups), dtype=object)
        kept = (kept.notna() & (kept.astype(str).str.len() > 0)).to_numpy()
        ids_all, n_missing_p = fill_missing_ids(np.asarray(list(persons), dtype=object)[kept], None, "person")
    c, g, n_missing = _aligned(clusters, groups, attribute)
    c_codes, c_uni = pd.factorize(pd.Series(c), sort=True)
    g_codes, g_uni = pd.factorize(pd.Series(g), sort=True)
    r, k, n = len(c_uni), len(g_uni), len(c)
    if r < 2 or k < 2:
        raise ValueError(f"independence test needs at least 2 clusters and 2 {attribute} groups among the "
                         f"{n} samples with a value, received {r} cluster(s) and {k} group(s)")
    # every row and column of the table has a sample (codes come from the values present), so no margin is 0
    table = np.bincount(c_codes * k + g_codes, minlength=r * k).reshape(r, k)
    stat, chi2_p, dof, expected = chi2_contingency(table, correction=False)  # Pearson, no Yates correction
    stat = float(stat)
    v = float(association(table, method="cramer", correction=False))
    phi2c = max(0.0, stat / n - (k - 1) * (r - 1) / (n - 1)) if n > 1 else 0.0
    rc, kc = r - (r - 1) ** 2 / (n - 1), k - (k - 1) ** 2 / (n - 1)
    denom = min(rc - 1, kc - 1)
    v_corr = float(np.sqrt(phi2c / denom)) if denom > 0 else float("nan")
    units, unit_name, n_persons = None, "frame", None
    if ids_all is not None:
        u_codes = pd.factorize(pd.Series(ids_all))[0]
        n_persons = int(u_codes.max()) + 1
        constant = pd.DataFrame({"u": u_codes, "g": g_codes}).groupby("u")["g"].nunique().max() == 1
        if constant:
            units, unit_name = u_codes, "person"
    perm_p = float("nan")
    if n_permutations:
        # Not scipy.stats.permutation_test: it draws its shuffles with Generator.permuted, another random stream
        # than these (argsort of uniforms), so the same seed gives other shuffles and other p-values (0.28 instead
        # of the pinned 0.278 in tests/test_latent_stats.py); its p-value definition is the same, see the docstring.
        perm_stats = _permuted_chi2(c_codes, g_codes, r, k, n_permutations, seed, units)
        perm_p = float((1 + np.sum(perm_stats >= stat - 1e-9)) / (1 + n_permutations))
    return IndependenceResult(
        attribute=attribute, n=int(n), n_missing=n_missing, n_clusters=r, n_groups=k, chi2=float(stat), dof=int(dof),
        chi2_p=float(chi2_p), cramers_v=v, cramers_v_corrected=v_corr,
        ami=float(adjusted_mutual_info_score(g_codes, c_codes)), permutation_p=float(perm_p),
        n_permutations=int(n_permutations), min_expected=float(expected.min()),
        share_expected_below_5=float((expected < 5).mean()), permutation_unit=unit_name, n_persons=n_persons,
        n_missing_persons=int(n_missing_p) if ids_all is not None else 0, chi2_valid=ids_all is None)


@dataclass(frozen=True)
class ProbeResult:
    """Cross-validated logistic-regression probe of an attribute from the embedding.

    ``accuracy`` and ``balanced_accuracy`` are fold means of
    :func:`sklearn.model_selection.cross_validate` (``*_std`` their standard
    deviation across folds, ddof=0); ``baseline_accuracy`` is the fold mean of
    :class:`sklearn.dummy.DummyClassifier` (``strategy="most_frequent"``: the
    majority class of each training fold, ties to the first in sorted order,
    scored on its test fold) on the same folds; chance balanced accuracy is
    ``1 / n_classes``.
    """

    attribute: str
    n: int
    n_classes: int
    classes: tuple[str, ...]
    folds: int
    grouped_by: str | None
    accuracy: float
    accuracy_std: float
    balanced_accuracy: float
    balanced_accuracy_std: float
    baseline_accuracy: float
    chance_balanced_accuracy: float
    n_persons: int | None = None
    n_missing_persons: int = 0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["classes"] = list(self.classes)
        return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in d.items()}


def linear_probe(vectors: np.ndarray, groups: Sequence[Any], attribute: str = "race", folds: int = 5,
                 persons: Sequence[Any] | None = None, pca_dims: int | None = 128, C: float = 1.0,
                 seed: int = 0) -> ProbeResult:
    """How well the attribute can be read linearly from the embedding.

    Parameters
    ----------
    vectors : numpy.ndarray
        ``(n, d)`` embeddings.
    groups : sequence
        Attribute per sample (missing values left out).
    attribute : str
    folds : int
        Stratified cross-validation folds (lowered to the smallest group size, at least 2).
    persons : sequence, optional
        Person id per sample. Folds are always grouped by person
        (:class:`~sklearn.model_selection.StratifiedGroupKFold`), so the probe
        cannot succeed by recognising individuals; a sample without an id (or
        every sample, when ``persons`` is None) is its own person.
    pca_dims : int or None
        Keep this many principal components of the standardised embedding
        before the regression (fitted once on all rows, without labels, so no
        label information crosses folds); None uses every dimension (slower).
    C : float
        Inverse L2 regularisation strength of the logistic regression.
    seed : int

    Returns
    -------
    ProbeResult

    Raises
    ------
    ValueError
        Mismatched lengths, fewer than 2 groups, or a group with a single sample.
    """
    from sklearn.dummy import DummyClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedGroupKFold, cross_val_score, cross_validate
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = check_vectors(vectors)
    g = pd.Series(list(groups), dtype=object)
    if len(g) != len(x):
        raise ValueError(f"{attribute} has {len(g)} values for {len(x)} embedding rows")
    keep = g.notna().to_numpy()
    x, y = x[keep], g[keep].astype(str).to_numpy()
    counts = pd.Series(y).value_counts()
    if len(counts) < 2:
        raise ValueError(f"linear probe needs at least 2 {attribute} groups, received {list(counts.index)}")
    if counts.min() < 2:
        raise ValueError(f"every {attribute} group needs at least 2 samples for cross-validation; "
                         f"{counts.idxmin()!r} has {int(counts.min())}")
    x = reduce_pca(normalize_vectors(x, "standardize"), pca_dims, seed)
    k = int(max(2, min(folds, counts.min())))
    if persons is not None and len(persons) != len(g):
        raise ValueError(f"persons has {len(persons)} values for {len(g)} embedding rows")
    p, n_missing_p = fill_missing_ids(None if persons is None else np.asarray(list(persons), dtype=object)[keep],
                                      int(keep.sum()), "person")
    if p is None:
        p = np.arange(len(y)).astype(str)
    splits = list(StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed).split(x, y, groups=p))
    probe = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=2000))
    scores = cross_validate(probe, x, y, cv=splits, scoring=("accuracy", "balanced_accuracy"), error_score="raise")
    acc, bacc = scores["test_accuracy"], scores["test_balanced_accuracy"]
    base = cross_val_score(DummyClassifier(strategy="most_frequent"), x, y, cv=splits, scoring="accuracy",
                           error_score="raise")
    return ProbeResult(attribute=attribute, n=int(len(y)), n_classes=int(len(counts)),
                       classes=tuple(sorted(counts.index)), folds=k,
                       grouped_by="person" if n_missing_p < len(y) else "frame (no person ids)",
                       n_persons=int(pd.Series(p).nunique()), n_missing_persons=int(n_missing_p),
                       accuracy=float(np.mean(acc)), accuracy_std=float(np.std(acc)),
                       balanced_accuracy=float(np.mean(bacc)), balanced_accuracy_std=float(np.std(bacc)),
                       baseline_accuracy=float(np.mean(base)), chance_balanced_accuracy=1.0 / len(counts))
