"""Figures as files for a paper: SVG, PDF, PNG (drawn by headless Chromium) and standalone HTML.

Kaleido is not installed here, so :func:`figure_bytes` renders with plotly.js
itself inside headless Chromium (through Playwright): ``Plotly.toImage`` gives
the SVG and PNG, and the PDF is Chromium printing that SVG on a page of the
figure's size (vector, fonts kept). HTML needs no browser. Chromium is looked
up at ``$FERBIAS_CHROMIUM``, then ``/usr/bin/chromium``; without it (or
without the playwright package) :func:`browser_export_available` is False and
:func:`figure_bytes` raises :class:`FigureExportError` for SVG, PDF and PNG.
"""
from __future__ import annotations

import base64
import importlib.util
import os
import urllib.parse
from pathlib import Path

import plotly.graph_objects as go
import plotly.io as pio

from ._errors import FerBiasError
from .figure_style import PAPER_SIZE, PNG_SCALE, export_config

FORMATS: dict[str, str] = {"svg": "image/svg+xml", "pdf": "application/pdf", "png": "image/png",
                           "html": "text/html"}
_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run"]


class FigureExportError(FerBiasError):
    """A figure cannot be written in the requested format here."""


def chromium_path() -> Path | None:
    """The Chromium executable used for SVG, PDF and PNG, or None when there is none."""
    for candidate in (os.environ.get("FERBIAS_CHROMIUM"), "/usr/bin/chromium"):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


def browser_export_available() -> bool:
    """Whether SVG, PDF and PNG can be drawn here (Chromium and the playwright package)."""
    return importlib.util.find_spec("playwright") is not None and chromium_path() is not None


def figure_html(fig: go.Figure, name: str, width: int | None = None, height: int | None = None) -> str:
    """Standalone HTML of ``fig`` (plotly.js inlined, opens offline; its camera button saves SVG)."""
    return pio.to_html(fig, include_plotlyjs=True, full_html=True, config=export_config(name, width, height))


def figure_bytes(fig: go.Figure, fmt: str, name: str = "figure", width: int | None = None,
                 height: int | None = None) -> bytes:
    """``fig`` as a file at publication size.

    Parameters
    ----------
    fig : plotly.graph_objects.Figure
        The figure as shown in the app.
    fmt : {"svg", "pdf", "png", "html"}
        File format; PNG is drawn at :data:`core.common.figure_style.PNG_SCALE` times the size.
    name : str
        Figure name (HTML export button file name).
    width, height : int, optional
        Size in CSS pixels (default :data:`core.common.figure_style.PAPER_SIZE`).

    Returns
    -------
    bytes
        The file's content.

    Raises
    ------
    ValueError
        Unknown ``fmt``.
    FigureExportError
        SVG, PDF or PNG requested without Chromium and playwright.
    """
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {sorted(FORMATS)}; received {fmt!r}")
    w, h = int(width or PAPER_SIZE[0]), int(height or PAPER_SIZE[1])
    if fmt == "html":
        return figure_html(fig, name, w, h).encode("utf-8")
    if not browser_export_available():
        raise FigureExportError(f"{fmt.upper()} export draws the figure in headless Chromium, and there is none "
                                "here (install chromium, or set FERBIAS_CHROMIUM); use the chart's camera button "
                                "(SVG) or the HTML file instead")
    from playwright.sync_api import sync_playwright

    page_html = pio.to_html(fig, include_plotlyjs=True, full_html=True, div_id="figure",
                            config={"staticPlot": True}, default_width=f"{w}px", default_height=f"{h}px")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium_path()), args=_ARGS)
        try:
            page = browser.new_page(viewport={"width": w + 40, "height": h + 40})
            page.set_content(page_html, wait_until="load")
            page.wait_for_function("window.Plotly && document.getElementById('figure')._fullLayout")
            image = "svg" if fmt == "pdf" else fmt
            url = page.evaluate("([f, w, h, s]) => Plotly.toImage(document.getElementById('figure'), "
                                "{format: f, width: w, height: h, scale: s})",
                                [image, w, h, PNG_SCALE if fmt == "png" else 1])
            head, _, data = url.partition(",")
            raw = base64.b64decode(data) if head.endswith(";base64") else urllib.parse.unquote(data).encode("utf-8")
            if fmt != "pdf":
                return raw
            page.set_content("<html><body style='margin:0'>" + raw.decode("utf-8") + "</body></html>")
            return page.pdf(width=f"{w}px", height=f"{h}px", print_background=True,
                            margin={"top": "0", "right": "0", "bottom": "0", "left": "0"}, page_ranges="1")
        finally:
            browser.close()
