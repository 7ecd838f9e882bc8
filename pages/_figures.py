"""How every page shows a figure: :func:`show_figure` (re-exported by ``pages._ui``).

The chart's camera button saves an SVG at publication size
(:func:`core.common.figure_style.export_config`); an "Export" popover under the chart
offers SVG, PDF and PNG drawn on the server by headless Chromium
(:func:`core.common.figure_export.figure_bytes`, only computed when a button is
clicked, and without rerunning the page) and a standalone HTML file.

The browser gets :func:`core.common.figure_style.browser_figure` of the figure
(its template written in, a data revision), without Streamlit's theme and at a
pixel width, so that it draws each chart once; the exports use the figure itself.
"""
from __future__ import annotations

import base64
from typing import Any, Callable, Iterable, Mapping

import plotly.graph_objects as go
import streamlit as st

from core.common.figure_export import FORMATS, FigureExportError, browser_export_available, figure_bytes
from core.common.figure_style import PAPER_SIZE, PNG_SCALE, browser_figure, export_config, file_stem


#: What every Export menu says of its files' size.
SIZE_CAPTION = f"At publication size ({PAPER_SIZE[0]} x {PAPER_SIZE[1]} px; PNG at {PNG_SCALE}x)."


def _formats() -> list[str]:
    """The export formats this server can draw: SVG, PDF and PNG need Chromium; HTML always."""
    return ["svg", "pdf", "png", "html"] if browser_export_available() else ["html"]


def export_menu(fig: go.Figure, key: str, name: str, container: Any = None, *, camera: bool = False) -> None:
    """The Export popover of a figure: SVG, PDF and PNG at publication size and a standalone HTML file.

    Parameters
    ----------
    fig : plotly.graph_objects.Figure
        The figure the files are drawn from (only when a button is clicked).
    key : str
        Prefix of the popover's and its buttons' widget keys.
    name : str
        The files' name (made safe by :func:`core.common.figure_style.file_stem`).
    container : optional
        Where the popover goes (default: the page).
    camera : bool
        Whether the chart above is a Plotly chart with a camera button (which also saves an SVG); False for a
        chart the page draws itself, such as the SVG confusion matrix.
    """
    container = container if container is not None else st
    stem = file_stem(name)
    formats = _formats()
    with container.popover("Export", icon=":material/download:", key=f"{key}_export"):
        st.caption(SIZE_CAPTION + (" The chart's camera button also saves an SVG." if camera else ""))
        for fmt in formats:
            st.download_button(fmt.upper(), (lambda f=fmt: figure_bytes(fig, f, stem)),
                               file_name=f"{stem}.{fmt}", mime=FORMATS[fmt], key=f"{key}_export_{fmt}",
                               on_click="ignore", icon=":material/image:" if fmt != "html" else ":material/code:")
        if "svg" not in formats:
            st.caption("SVG, PDF and PNG files need Chromium on the server"
                       + ("; the camera button saves SVG." if camera else "."))


def export_payload(key: str, figures: Mapping[str, tuple[Callable[[], go.Figure], str]]) -> dict:
    """The Export menu of a chart an element draws in the browser itself (:mod:`pages._face_explorer`,
    :mod:`pages._chart_panes`): the same formats and sizes as :func:`export_menu`, a file drawn when asked for.

    The element's state ``export`` (``{"fmt", "nonce", "pane"}``, a new nonce per click) asks for a file of the
    figure ``figures[pane]``; the rerun it starts sends the file once (``download``: name, type, base64 content,
    or the error), and the element saves it.

    Parameters
    ----------
    key : str
        The element's key (its state holds the request).
    figures : mapping
        ``{pane: (function building the figure, file name)}``; ``""`` for an element with one chart. A figure is
        built only for a file.

    Returns
    -------
    dict
        ``{"formats", "caption", "download"}`` for the element's data.
    """
    formats = _formats()
    caption = SIZE_CAPTION
    if "svg" not in formats:
        caption += " SVG, PDF and PNG files need Chromium on the server."
    ask = (st.session_state.get(key) or {}).get("export")
    answered = f"{key}_export_answered"
    download = None
    if (isinstance(ask, dict) and ask.get("fmt") in formats and ask.get("pane", "") in figures
            and ask.get("nonce") != st.session_state.get(answered)):
        st.session_state[answered] = ask.get("nonce")
        build, name = figures[ask.get("pane", "")]
        stem = file_stem(name)
        download = {"nonce": ask.get("nonce"), "name": f"{stem}.{ask['fmt']}", "mime": FORMATS[ask["fmt"]]}
        try:
            download["b64"] = base64.b64encode(figure_bytes(build(), ask["fmt"], stem)).decode("ascii")
        except FigureExportError as exc:
            download["error"] = str(exc)
    return {"formats": formats, "caption": caption, "download": download}


def _selection_layout(fig: go.Figure, modes: list[str]) -> None:
    """Set the drag, click and hover modes Streamlit gives a selectable chart in the browser when its figure
    leaves them unset (setting them there draws the chart a second time)."""
    drag = fig.layout.dragmode or ("pan" if "points" in modes else "select" if "box" in modes else "lasso")
    click = "event" if drag in ("select", "lasso") else ("event+select" if "points" in modes else "none")
    fig.layout.update(dragmode=drag, clickmode=click, hovermode=fig.layout.hovermode or "closest")


def show_figure(fig: go.Figure, key: str, name: str, *, container: Any = None, on_select: str = "ignore",
                selection_mode: str | Iterable[str] = ("points", "box", "lasso"), export: bool = True,
                camera_name: str | None = None, width: int | None = None) -> Any:
    """Show ``fig`` with the publication export config and an Export popover; returns the chart's event.

    Parameters
    ----------
    fig : plotly.graph_objects.Figure
        Built by a ``core`` plots module.
    key : str
        The chart's widget key (the popover and its buttons derive theirs from it).
    name : str
        Figure name: the exported files' stem.
    container : Streamlit container, optional
        Where to draw (a column); ``st`` by default.
    on_select, selection_mode
        As :func:`streamlit.plotly_chart` (``"rerun"`` for clickable figures).
    export : bool
        Draw the Export popover (False for small charts repeated many times).
    camera_name : str, optional
        The camera button's file name when ``name`` changes with filters (default ``name``). The chart's Plotly
        config must stay the same from one rerun to the next: a changed config makes the browser draw the chart
        from scratch (Plotly.newPlot, about 0.1 s more on a laptop CPU) instead of updating it.
    width : int, optional
        Width in pixels (default: the figure's own, else the publication width :data:`PAPER_SIZE`); narrower
        where the column is. A chart stretched to its column is drawn twice in the browser (first before its
        column is measured), one of known width once.
    """
    where = container if container is not None else st
    shown = browser_figure(fig)  # drawn once in the browser, with the look of the exported figure (theme=None)
    if on_select != "ignore":
        _selection_layout(shown, [selection_mode] if isinstance(selection_mode, str) else list(selection_mode))
    px = int(width or fig.layout.width or PAPER_SIZE[0])
    if shown.layout.width != px:
        shown.layout.width = px
    event = where.plotly_chart(shown, key=key, config=export_config(camera_name or name), on_select=on_select,
                               selection_mode=selection_mode, theme=None, width=px)
    if export:
        export_menu(fig, key, name, where, camera=True)
    return event
