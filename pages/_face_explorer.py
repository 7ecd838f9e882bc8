"""The confusion matrix and the gallery of Misclassified faces as one element drawn in the browser.

:func:`face_explorer` sends the browser every face the page's outer filters keep
(group, classes, caption, thumbnail: the thumbnails once per run and session) and
the state of its own filters. The browser draws those filters (Groups,
Confusion matrix of, True and Predicted class, Show), the matrix of the chosen
groups and the gallery of the chosen faces, and draws them again at the click
on a filter or on a matrix cell, before the app's rerun; the rerun then
confirms it. The filters are not Streamlit widgets: their values wait in plain
session keys (:data:`FILTER_KEYS`, which a deep link can set), and Python stays
the truth: each run also sends what :func:`explorer_check` computes for that
state (the faces shown, the matrix, its title, the summary line). Where the browser's own view differs, it draws
the app's and counts the difference (``data-corrections`` on the element,
which the browser test requires to stay absent).

A click on a cell is stored in ``st.session_state[CELL]`` as ``(true, pred,
matrix key)``: the cell belongs to the matrix it was clicked on, and another
matrix (other groups or outer filters) shows no cell.

The thumbnails of a run travel once per session, all of them: about 4-5 KB a
face at 96 px (3.8 MB for the demo's 812 test faces, drawn in 0.24 s on a laptop
CPU), so a run of tens of thousands of faces makes the first view of a run slow.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd
import streamlit as st

from core.attributes import resolve_attribute
from core.common.svg_heatmap import SELECTED
from core.data.labels import EMOTIONS
from core.evaluation.explore import caption
from pages._face_explorer_js import CSS, JS
from pages._ui import _thumbnail

CELL = "mc_cell"  #: session key of the clicked cell: (true, pred, matrix key)
ALL_CHOSEN = "the groups chosen above"  #: the "Confusion matrix of" option that follows the Groups filter
SHOW_OPTIONS = ("wrong", "correct", "all")
_COMPONENT = st.components.v2.component("ferbias_face_explorer", js=JS, css=CSS, isolate_styles=False)


def labels_of(pre: pd.DataFrame) -> list[str]:
    """The class names of the matrix and the rows: the seven emotions, then any other label found, sorted."""
    found = set(pre["true"].astype(str)) | set(pre["pred"].astype(str))
    return list(EMOTIONS) + sorted(found - set(EMOTIONS))


@dataclass(frozen=True)
class Faces:
    """The faces the page's outer filters keep, in gallery order (most confident first), as the explorer gets them.

    Attributes
    ----------
    pre : pandas.DataFrame
        The predictions rows.
    labels : list of str
        Class names, in the matrix's order (:func:`labels_of`).
    rows : list of list
        One ``[group, true index, pred index, caption, path, file name]`` per row (what the browser gets).
    persons : dict or None
        Persons per group (None: no person ids or no attribute).
    group : numpy.ndarray
        Each row's group as text (None: no group); ``true`` and ``pred``: each row's class indices in ``labels``.
    """

    pre: pd.DataFrame
    labels: list[str]
    rows: list[list[Any]]
    persons: dict[str, int] | None
    group: np.ndarray
    true: np.ndarray
    pred: np.ndarray


def explorer_faces(pre: pd.DataFrame, attribute: str | None) -> Faces:
    """:class:`Faces` of ``pre`` (already filtered and sorted) grouped by ``attribute`` (None: no groups)."""
    labels = labels_of(pre)
    group = resolve_attribute(pre, attribute) if attribute else pd.Series(None, index=pre.index, dtype=object)
    text = np.array([None if pd.isna(g) else str(g) for g in group], dtype=object)
    index = {name: i for i, name in enumerate(labels)}
    t = np.array([index[str(v)] for v in pre["true"]], dtype=int)
    p = np.array([index[str(v)] for v in pre["pred"]], dtype=int)
    paths = pre["path"].astype(str).tolist() if "path" in pre.columns else [""] * len(pre)
    rows = [[g, int(ti), int(pi), caption(r), path, path.replace("\\", "/").rsplit("/", 1)[-1] or "(no file)"]
            for g, ti, pi, (_, r), path in zip(text, t, p, pre.iterrows(), paths)]
    persons = None
    if attribute and "person" in pre.columns:
        persons = {str(g): int(n) for g, n in pre.groupby(group)["person"].nunique().items()}
    return Faces(pre, labels, rows, persons, text, t, p)


def chosen_groups(groups: Sequence[str], cm_group: str, group_vals: Sequence[str]) -> list[str]:
    """The groups the matrix (and the gallery) show: the one chosen for the matrix, else the Groups filter."""
    return [cm_group] if cm_group in group_vals else list(groups)


def matrix_key(ctx: str, chosen: Sequence[Any]) -> str:
    """Which matrix a cell was clicked on: the outer filters (``ctx``) and the chosen groups."""
    return ctx + "|" + "\x01".join(map(str, chosen))


def explorer_check(faces: Faces, ctx: str, groups: Sequence[str], cm_group: str, group_vals: Sequence[str],
                   true: Sequence[str], pred: Sequence[str], show: str, cell: tuple[str, str, str] | None) -> dict:
    """What the explorer shows for a state, computed here: the positions in ``faces`` of the faces shown, the
    matrix counts (rows true, columns predicted, in ``faces.labels`` order), the matrix title (``name``: its
    groups; ``title``: with their number of faces), the summary line
    and the valid cell (None when it belongs to another matrix). Groups are compared as text, as the browser does.

    The same rules as :func:`core.evaluation.explore.filter_predictions` (``tests/test_face_explorer.py`` holds
    the two equal), on arrays: this runs at every click, before the element's update is sent.

    Raises
    ------
    ValueError
        If ``show`` is not one of :data:`SHOW_OPTIONS`.
    """
    if show not in SHOW_OPTIONS:
        raise ValueError(f"show must be one of {SHOW_OPTIONS}, received {show!r}")
    chosen = chosen_groups(groups, cm_group, group_vals)
    single = len(chosen) == 1 and chosen[0] == cm_group
    title = str(cm_group) if single else (", ".join(map(str, chosen)) or "all groups")
    base = np.isin(faces.group, list(chosen)) if chosen else np.ones(len(faces.group), dtype=bool)
    key = matrix_key(ctx, chosen)
    valid = cell if cell is not None and len(cell) == 3 and cell[2] == key else None
    index = {name: i for i, name in enumerate(faces.labels)}
    if valid:
        keep = base & (faces.true == index.get(valid[0], -1)) & (faces.pred == index.get(valid[1], -1))
    else:
        keep = base.copy()
        if true:
            keep &= np.isin(faces.true, [index[c] for c in true if c in index])
        if pred:
            keep &= np.isin(faces.pred, [index[c] for c in pred if c in index])
        if show != "all":
            keep &= (faces.true == faces.pred) == (show == "correct")
    n = len(faces.labels)
    counts = np.bincount(faces.true[base] * n + faces.pred[base], minlength=n * n).reshape(n, n)
    shown = np.flatnonzero(keep)
    wrong = float((faces.true[shown] != faces.pred[shown]).mean()) if len(shown) else 0.0
    summary = f"{len(shown)} faces · {wrong:.0%} wrong · most confident first" if len(shown) else ""
    return {"shown": shown.tolist(), "counts": counts.tolist(), "name": title,
            "title": f"{title} (n={int(base.sum())})",
            "summary": summary, "matrix_key": key, "cell": list(valid) if valid else None}


@st.cache_resource(show_spinner="Drawing the thumbnails...", max_entries=4)
def run_thumbnails(run: str, mtime: float, paths: tuple[str, ...], size: int) -> dict[str, str | None]:
    """Every face of a run as a ``data:`` URL thumbnail (None: unreadable), by path; drawn once per run."""
    return {p: _thumbnail(p, size) for p in dict.fromkeys(paths)}


#: Where the explorer's filters wait in ``st.session_state`` (plain keys, which a deep link can set too).
FILTER_KEYS = {"groups": "mc_groups", "cm_group": "mc_cm_group", "true": "mc_true", "pred": "mc_pred",
               "show": "mc_correct"}


def _filters_changed(key: str) -> None:
    value = (st.session_state.get(key) or {}).get("filters")
    if isinstance(value, dict):
        for name, session_key in FILTER_KEYS.items():
            if name in value:
                st.session_state[session_key] = value[name]


def read_filters(group_vals: Sequence[str], class_options: Sequence[str]) -> dict:
    """The explorer's filters from ``st.session_state``, as text (as the browser compares them), each checked
    against its options: a value from another run or attribute is dropped, an unknown single choice falls back
    to its default."""
    ss = st.session_state
    values = set(map(str, group_vals))
    groups = [str(g) for g in (ss.get(FILTER_KEYS["groups"]) or []) if str(g) in values]
    cm = str(ss.get(FILTER_KEYS["cm_group"], ALL_CHOSEN))
    true, pred = ([c for c in class_options if c in set(map(str, ss.get(FILTER_KEYS[k]) or []))]
                  for k in ("true", "pred"))
    show = ss.get(FILTER_KEYS["show"], SHOW_OPTIONS[0])
    return {"groups": groups, "cm_group": cm if cm in values else ALL_CHOSEN,
            "true": true, "pred": pred, "show": show if show in SHOW_OPTIONS else SHOW_OPTIONS[0]}


def unsent(key: str, tokens: Mapping[str, str]) -> set[str]:
    """Which parts of what element ``key`` keeps in the browser (``{part: token}``) to send with this run: those
    whose token changed since they were last sent to this session, or all of them when the element asks again
    (its ``need`` state, a new value each time it finds a part missing). Records them as sent."""
    sent_key, answered_key = f"{key}_sent", f"{key}_answered"
    sent = st.session_state.get(sent_key) or {}
    need = (st.session_state.get(key) or {}).get("need")
    resend = bool(need) and need != st.session_state.get(answered_key)
    st.session_state[sent_key] = dict(tokens)
    if resend:
        st.session_state[answered_key] = need
    return {part for part, token in tokens.items() if resend or sent.get(part) != token}


def _cell_clicked(key: str) -> None:
    value = (st.session_state.get(key) or {}).get("cell")
    if isinstance(value, (list, tuple)) and len(value) == 3:
        st.session_state[CELL] = tuple(str(v) for v in value)
    else:
        st.session_state.pop(CELL, None)


def face_explorer(data: dict, key: str, ctx: str, faces: Callable[[], dict], thumbs_token: str,
                  thumbs: Callable[[], dict]) -> None:
    """Mount the explorer (see :mod:`pages._face_explorer_js` for what the browser reads).

    What the browser keeps between runs is sent once: the faces of the outer filters when they change (``ctx``),
    the thumbnails once per run (``thumbs_token``); the browser asks for them again if it does not hold them
    (its ``need`` state, a new value each time).

    Parameters
    ----------
    data : dict
        This run's state, its check, and the filters' options and session keys, as the page builds them.
    key : str
        The element's key.
    ctx : str
        Names the outer filters' faces; ``faces()`` returns them (rows, labels, persons, matrix template).
    faces : callable
        Called only when the browser does not hold ``ctx``'s faces.
    thumbs_token : str
        Names the run whose thumbnails the browser needs.
    thumbs : callable
        Returns those thumbnails (by path); only called when the browser does not hold them.
    """
    send = unsent(key, {"faces": ctx, "thumbs": thumbs_token})
    payload = dict(data, ctx=ctx, thumbs_token=thumbs_token, selected_colour=SELECTED,
                   faces=faces() if "faces" in send else None, thumbs=thumbs() if "thumbs" in send else None)
    _COMPONENT(data=payload, key=key, on_cell_change=lambda: _cell_clicked(key), on_need_change=lambda: None,
               on_filters_change=lambda: _filters_changed(key), on_export_change=lambda: None,
               width="stretch", height="content")
