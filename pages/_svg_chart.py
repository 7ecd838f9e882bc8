"""An SVG chart on the page, its cells clickable if asked: :func:`svg_chart`.

A Streamlit component (``st.components.v2``) drawn in the page's own DOM (so
the app's styles and the page's observers reach it): it puts an SVG that
:mod:`core` drew (:func:`core.common.svg_heatmap.heatmap_svg`) into the page,
replacing it only when it changed. With ``on_click``, a click on (or Enter on)
one of its ``<g data-true=... data-pred=...>`` cells sends that cell back as a
trigger, which reruns the fragment holding the chart like any widget.
"""
from __future__ import annotations

from typing import Callable

import streamlit as st

_JS = """
export default function (component) {
  const { data, setTriggerValue, parentElement } = component;
  let box = parentElement.querySelector("div.ferbias-svg");
  if (!box) {
    box = document.createElement("div");
    box.className = "ferbias-svg";
    parentElement.appendChild(box);
    const send = (event) => {
      const cell = box.dataset.clickable === "1" && event.target.closest("[data-true]");
      if (cell) setTriggerValue("cell", [cell.dataset.true, cell.dataset.pred]);
    };
    box.addEventListener("click", send);
    box.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") { event.preventDefault(); send(event); }
    });
  }
  const clickable = data.clickable ? "1" : "0";
  if (box.dataset.clickable !== clickable) box.dataset.clickable = clickable;  // no DOM write when unchanged
  if (box.__svg !== data.svg) {  // a rerun that leaves the chart as it was leaves the page as it was
    box.innerHTML = data.svg;
    box.__svg = data.svg;
  }
}
"""
_CSS = """
.ferbias-svg[data-clickable="1"] g.cell { cursor: pointer; }
.ferbias-svg[data-clickable="1"] g.cell:hover rect, .ferbias-svg g.cell:focus rect { stroke: #222; stroke-width: 1.5; }
.ferbias-svg g.cell:focus { outline: none; }
"""
_COMPONENT = st.components.v2.component("ferbias_svg_chart", js=_JS, css=_CSS, isolate_styles=False)


def svg_chart(svg: str, key: str, width: int, on_click: Callable[[tuple[str, str]], None] | None = None) -> None:
    """Show ``svg``; with ``on_click``, a click on a cell calls ``on_click((true, pred))`` before the rerun.

    Parameters
    ----------
    svg : str
        An SVG document; clickable cells carry ``data-true`` and ``data-pred``.
    key : str
        The component's widget key.
    width : int
        Width in pixels.
    on_click : callable, optional
        Called with the clicked cell, as a widget's ``on_change`` is: before the rerun it starts.
    """
    def clicked() -> None:
        value = (st.session_state.get(key) or {}).get("cell")
        if on_click is not None and isinstance(value, (list, tuple)) and len(value) == 2:
            on_click((str(value[0]), str(value[1])))

    _COMPONENT(data={"svg": svg, "clickable": on_click is not None}, key=key, on_cell_change=clicked, width=width,
               height="content")
