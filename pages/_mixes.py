"""Train or load's custom mixes: ordinary widgets for base, extra and fractions, and the sizes they give.

A configuration is a :class:`core.mixing.MixSpec`; the preview counts rows with
:func:`core.mixing.build_mix` itself, so it shows the floor rule's exact sizes.
"""
from __future__ import annotations

from typing import Callable, Sequence

import pandas as pd
import streamlit as st

from core.data.labels import EMOTIONS
from core.mixing import MixSpec, build_mix, mix_counts


def role_defaults(names: list[str], roles: Sequence[str]) -> dict[str, str] | None:
    """A distinct registered dataset for each preset role, found by name (``EiLA crops`` for EiLA), or None."""
    found: dict[str, str] = {}
    for role in roles:
        match = [n for n in names if n.lower().startswith(role.lower()) and n not in found.values()]
        if not match:
            return None
        found[role] = match[0]
    return found


#: fractions of the extra dataset offered by the mix editor (the seed's 10 / 30 / 50 / 100 % and a few more)
MIX_PERCENTS = (0, 5, 10, 20, 30, 50, 75, 100)


def mix_editor(names: list[str]) -> list[MixSpec]:
    """Custom mixes from ordinary widgets: base datasets x (base only, base + p % of an extra dataset)."""
    c1, c2, c3 = st.columns([2, 2, 3])
    bases = c1.multiselect("base dataset(s)", names, default=names[:1], key="tl_mix_bases",
                           help="Each base dataset is trained on in full (its train and validation rows).")
    extra = c2.selectbox("extra dataset (optional)", ["(none)", *names], key="tl_mix_extra",
                         help="Mixed into each base at the fractions on the right.")
    percents = c3.multiselect("fractions of the extra dataset", MIX_PERCENTS, default=[0], key="tl_mix_percents",
                              format_func=lambda p: "base only (0 %)" if p == 0 else f"{p} %",
                              disabled=extra == "(none)",
                              help="Per split and class of the extra dataset, floor(fraction x rows) rows are added "
                                   "(the seed's Table 3 uses 10, 30, 50 and 100 %).")
    specs: list[MixSpec] = []
    for base in bases:
        for p in ([0] if extra == "(none)" else sorted(percents)):
            if p and extra == base:
                st.warning(f"{base} is both the base and the extra dataset: mixing a dataset into itself is "
                           "skipped.")
                continue
            specs.append(MixSpec.parse(base if p == 0 else f"{base}+{extra}:{p / 100:g}"))
    if not specs:
        st.info("Choose at least one base dataset (and, with an extra dataset, at least one fraction).")
    return specs


def mix_text(spec: MixSpec) -> str:
    return spec.base if spec.extra is None else f"{spec.base}+{spec.extra}:{spec.fraction:g}"


@st.cache_data(show_spinner=False, max_entries=16)
def mix_preview(specs: tuple[MixSpec, ...], _manifest: Callable[[str], pd.DataFrame], stamp: tuple) -> pd.DataFrame:
    """Train + validation rows per class of each configuration, as :func:`core.mixing.build_mix` draws them.

    ``_manifest`` gives a registered dataset's manifest by name (not hashed); ``stamp`` (names and creation
    times of the registered datasets) keys the cache with ``specs``.
    """
    rows = {}
    for spec in specs:
        counts = mix_counts(build_mix(spec, _manifest)).groupby(level="split").sum()
        per_class = counts.reindex(["train", "validation"], fill_value=0).sum()
        rows[spec.name] = {**{e: int(per_class.get(e, 0)) for e in EMOTIONS},
                           "train": int(counts.loc["train"].sum()) if "train" in counts.index else 0,
                           "validation": int(counts.loc["validation"].sum()) if "validation" in counts.index else 0}
    return pd.DataFrame.from_dict(rows, orient="index")
