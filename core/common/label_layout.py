"""Where to put the text labels of scatter points so that none covers another label or a marker.

Plotly places a point's text at one of nine positions around its marker
(``textposition``) and never moves it out of another's way. :func:`place_labels`
chooses that position for each labelled point, in pixels of a plot area of a
given size: the label's box must stay inside the plot area and overlap no other
label, no marker and no other box that must stay clear (an axis annotation).

Sizes are estimated, not measured (no browser here): Arial's widest common
characters are about 0.6 em, a line of text 1.3 em. A plot drawn wider than the
size given only moves points further apart horizontally, so a layout found for
the narrowest expected plot area holds for wider ones.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

#: Plotly's positions around a marker, in the order they are tried (after a point's preferred one).
POSITIONS = ("top left", "top right", "bottom left", "bottom right", "top center", "bottom center",
             "middle left", "middle right")
CHAR_EM, LINE_EM = 0.6, 1.3  #: width of a character and height of a line, in font sizes

Box = tuple[float, float, float, float]  #: (left, top, right, bottom) in pixels, y down


def text_size(text: str, font_size: float) -> tuple[float, float]:
    """Width and height in pixels of Plotly text (``<br>`` breaks lines) at ``font_size``."""
    lines = str(text).split("<br>")
    return CHAR_EM * font_size * max(len(line) for line in lines), LINE_EM * font_size * len(lines)


def label_box(x: float, y: float, size: tuple[float, float], position: str, gap: float) -> Box:
    """The box of a label of ``size`` at ``position`` around a marker at pixel ``(x, y)``.

    ``gap`` is how far Plotly keeps the text from the marker's centre (about the marker's radius).

    Raises
    ------
    ValueError
        If ``position`` is not one of :data:`POSITIONS`.
    """
    if position not in POSITIONS:
        raise ValueError(f"position must be one of {POSITIONS}, received {position!r}")
    w, h = size
    vertical, horizontal = position.split()
    top = {"top": y - gap - h, "middle": y - h / 2, "bottom": y + gap}[vertical]
    left = {"left": x - gap - w, "center": x - w / 2, "right": x + gap}[horizontal]
    return left, top, left + w, top + h


def overlap(a: Box, b: Box) -> float:
    """The area two boxes share (0 when they only touch)."""
    return max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))


def to_pixels(x: Sequence[float], y: Sequence[float], x_range: tuple[float, float], y_range: tuple[float, float],
              width: float, height: float) -> np.ndarray:
    """Data coordinates as pixels of a plot area ``width`` x ``height`` (origin top left, y down).

    Raises
    ------
    ValueError
        If a range is empty or reversed.
    """
    if not (x_range[1] > x_range[0] and y_range[1] > y_range[0]):
        raise ValueError(f"ranges must increase, received x {x_range} and y {y_range}")
    px = (np.asarray(x, float) - x_range[0]) / (x_range[1] - x_range[0]) * width
    py = (y_range[1] - np.asarray(y, float)) / (y_range[1] - y_range[0]) * height
    return np.column_stack([px, py])


def place_labels(points: np.ndarray, labelled: Sequence[int], sizes: Sequence[tuple[float, float]],
                 width: float, height: float, marker_radius: float, preferred: Sequence[str] | None = None,
                 keep_clear: Sequence[Box] = ()) -> list[str] | None:
    """A position from :data:`POSITIONS` for each labelled point, or None when some label fits nowhere.

    Labels are placed one after the other, in the order given, each at the first position (its preferred one
    first) whose box lies inside the plot area and overlaps no label placed before, no marker and no box of
    ``keep_clear``.

    Parameters
    ----------
    points : numpy.ndarray
        Every marker's pixel position, shape ``(n, 2)`` (:func:`to_pixels`); unlabelled ones are obstacles.
    labelled : sequence of int
        Rows of ``points`` that get a label, in the order they are placed.
    sizes : sequence of (float, float)
        Each label's width and height in pixels (:func:`text_size`), in the order of ``labelled``.
    width, height : float
        The plot area in pixels.
    marker_radius : float
        Half a marker's size in pixels; labels keep this far from a marker's centre.
    preferred : sequence of str, optional
        Each label's first position to try.
    keep_clear : sequence of Box
        Other boxes no label may cover.

    Returns
    -------
    list of str or None

    Raises
    ------
    ValueError
        If ``sizes`` or ``preferred`` do not have one entry per labelled point.
    """
    if len(sizes) != len(labelled) or (preferred is not None and len(preferred) != len(labelled)):
        raise ValueError(f"expected one size (and preferred position) per labelled point ({len(labelled)}), "
                         f"received {len(sizes)} sizes and {None if preferred is None else len(preferred)} positions")
    r = marker_radius
    markers = [(float(x) - r, float(y) - r, float(x) + r, float(y) + r) for x, y in points]
    taken: list[Box] = []
    chosen: list[str] = []
    for k, (i, size) in enumerate(zip(labelled, sizes)):
        order = ([preferred[k]] if preferred is not None else []) + list(POSITIONS)
        for position in dict.fromkeys(order):
            box = label_box(float(points[i][0]), float(points[i][1]), size, position, r)
            inside = box[0] >= 0 and box[1] >= 0 and box[2] <= width and box[3] <= height
            if inside and not any(overlap(box, other) > 0 for other in (*taken, *markers, *keep_clear)):
                taken.append(box)
                chosen.append(position)
                break
        else:
            return None
    return chosen
