"""Where a page's job runs: this machine (the default) or a Ray cluster, as job options.

One widget group shared by every page that starts work that can run on Ray
(Train or load, Latent). It returns the options of the command's
``--executor`` / ``--address`` (:func:`core.runs.executors.add_executor_options`)
to put in the job's :class:`~core.runs.spec.RunSpec` config: nothing for this
machine, so a local job's spec is the same as before the setting existed.
"""
from __future__ import annotations

import os
from typing import Any

import streamlit as st

from core.runs.executors import ADDRESS_ENV, check_address

_WHERE = {"local": "this machine", "ray": "a Ray cluster"}


def executor_settings(key: str, container: Any = st) -> dict[str, str] | None:
    """Radio "where the work runs" and, for Ray, the cluster's address.

    Parameters
    ----------
    key : str
        Prefix of the widget keys (one per page).
    container : streamlit container
        Where the widgets go.

    Returns
    -------
    dict or None
        ``{}`` for this machine, else ``{"executor": "ray", "address": ADDRESS}``;
        ``None`` for an invalid address (reported on the page): start nothing.
    """
    where = container.radio("where the work runs", list(_WHERE), format_func=_WHERE.get, horizontal=True,
                            key=f"{key}_executor",
                            help="A Ray cluster runs each configuration and seed (or each shard of images) as its "
                                 "own task; the results are the same as on this machine. See the README's cluster "
                                 "section for setting one up.")
    if where == "local":
        return {}
    default = os.environ.get(ADDRESS_ENV, "auto")
    address = container.text_input("cluster address", value=default, key=f"{key}_address",
                                   help="'auto' (the cluster this machine belongs to), 'host:port' of a running "
                                        "cluster's head, or 'local' (a cluster started for this job only)")
    try:
        return {"executor": "ray", "address": check_address(address)}
    except ValueError as exc:
        container.error(f"Cluster address: {exc}.")
        return None
