"""One chart (and its table) per option, switched in the browser at once: :func:`chart_panes`.

The Misclassified faces page shows the error rate by pose and group for one group
attribute at a time. Every attribute's pane (its heatmap as SVG, a caption and
its table, drawn in Python) is sent once per run and session; a click on an
option shows that pane at once and sends the choice to the app (state
``choice``, copied to ``st.session_state[choice_key]``), whose rerun of the
fragment holding the element confirms it. The Export menu gives the chosen
pane's Plotly figure (:func:`pages._figures.export_payload`).
"""
from __future__ import annotations

from typing import Callable, Mapping, Sequence

import streamlit as st

from pages._face_explorer import unsent
from pages._face_explorer_js import EXPORT_CSS, EXPORT_JS

_JS = EXPORT_JS + r"""
const store = {};  // panes by token: sent once per run and session

function draw(root) {
  const d = root.__data, panes = store[d.token];
  const options = `<p class="fx-label">${esc(d.label)}</p><div class="fx-options">` + d.options.map((o, i) =>
    `<button type="button" data-v="${esc(o)}" aria-pressed="${o === root.__choice}"${o === root.__choice ? ' class="on"' : ""}>` +
    `${esc(d.labels[i])}</button>`).join("") + "</div>";
  const box = root.querySelector(".fx-choice");
  if (box.__html !== options) { box.innerHTML = options; box.__html = options; }
  const pane = root.querySelector(".fx-pane");
  const key = d.token + "\u0001" + root.__choice;
  if (pane.__key !== key) { pane.innerHTML = panes[root.__choice]; pane.__key = key; }
}

export default function (component) {
  const { data, setStateValue, parentElement } = component;
  let root = parentElement.querySelector("div.ferbias-panes");
  if (!root) {
    root = document.createElement("div");
    root.className = "ferbias-panes";
    root.innerHTML = '<div class="fx-choice fx-filter"></div><div class="fx-pane"></div><div class="fx-export-box"></div>';
    parentElement.appendChild(root);
    root.querySelector(".fx-choice").addEventListener("click", (event) => {
      const b = event.target.closest("button[data-v]");
      if (!b || b.dataset.v === root.__choice) return;
      root.__choice = b.dataset.v;
      setStateValue("choice", b.dataset.v);  // sent from Streamlit's zero-delay timer: drawn from the next one
      setTimeout(() => { draw(root); root.__export(); }, 0);
    });
  }
  if (data.panes) store[data.token] = data.panes;
  if (!store[data.token]) { setStateValue("need", `${Date.now()}`); return; }  // not held here: ask again
  root.__data = data;
  root.__choice = data.choice;
  root.__export = () => drawExport(root.querySelector(".fx-export-box"), data.export, setStateValue, root.__choice);
  draw(root);
  root.__export();
}
"""

_CSS = EXPORT_CSS + """
.ferbias-panes { font-size: 0.875rem; }
.ferbias-panes p.fx-label { margin: 0 0 0.25rem; color: rgb(49, 51, 63); }
.ferbias-panes .fx-options { display: flex; flex-wrap: wrap; gap: 0; margin-bottom: 0.75rem; }
.ferbias-panes .fx-options button { font: inherit; border: 1px solid rgba(49, 51, 63, 0.2); background: #fff;
  padding: 0.25rem 0.75rem; min-height: 2rem; cursor: pointer; margin-left: -1px; }
.ferbias-panes .fx-options button:first-child { border-radius: 0.5rem 0 0 0.5rem; margin-left: 0; }
.ferbias-panes .fx-options button:last-child { border-radius: 0 0.5rem 0.5rem 0; }
.ferbias-panes .fx-options button.on { background: rgba(255, 75, 75, 0.1); border-color: #ff4b4b; color: #ff4b4b;
  position: relative; }
.ferbias-panes .fx-caption { color: rgba(49, 51, 63, 0.6); margin: 0.25rem 0 0.5rem; }
.ferbias-panes table { border-collapse: collapse; margin-top: 0.5rem; }
.ferbias-panes th, .ferbias-panes td { text-align: left; padding: 0.25rem 0.75rem; border-bottom: 1px solid rgba(49, 51, 63, 0.1); }
.ferbias-panes th { font-weight: 600; color: rgba(49, 51, 63, 0.6); }
"""
_COMPONENT = st.components.v2.component("ferbias_chart_panes", js=_JS, css=_CSS, isolate_styles=False)


def _chosen(key: str, choice_key: str) -> None:
    value = (st.session_state.get(key) or {}).get("choice")
    if isinstance(value, str):
        st.session_state[choice_key] = value


def chart_panes(label: str, options: Sequence[str], labels: Sequence[str], choice: str, token: str,
                panes: Callable[[], Mapping[str, str]], export: dict, key: str, choice_key: str) -> None:
    """Show the pane of ``choice`` under a row of ``options``; the others a click away, drawn at once.

    Parameters
    ----------
    label : str
        What the options are (shown above them).
    options, labels : sequence of str
        The options and their words.
    choice : str
        The option shown (one of ``options``).
    token : str
        Names the panes: the browser keeps them by it, and gets them again only when it does not hold them.
    panes : callable
        Returns ``{option: HTML}`` (an SVG, captions, a table), escaped by its maker; called only when the
        browser does not hold ``token``'s panes.
    export : dict
        :func:`pages._figures.export_payload` for this element, its figures keyed by option.
    key : str
        The element's key.
    choice_key : str
        Where the choice waits in ``st.session_state`` (a plain key).

    Raises
    ------
    ValueError
        If ``choice`` is not one of ``options``, or ``labels`` does not have one entry per option.
    """
    if choice not in options or len(labels) != len(options):
        raise ValueError(f"expected choice among {list(options)} and one label per option, received {choice!r} and "
                         f"{len(labels)} labels")
    send = unsent(key, {"panes": token})
    _COMPONENT(data={"label": label, "options": list(options), "labels": list(labels), "choice": choice,
                     "token": token, "panes": dict(panes()) if send else None, "export": export},
               key=key, on_choice_change=lambda: _chosen(key, choice_key), on_need_change=lambda: None,
               on_export_change=lambda: None, width="stretch", height="content")
