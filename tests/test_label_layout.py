"""Point labels that cover no other label and no marker: boxes, pixels and the placement."""
from __future__ import annotations

import numpy as np
import pytest

from core.common.label_layout import POSITIONS, label_box, overlap, place_labels, text_size, to_pixels


def test_a_label_box_sits_beside_its_marker_on_the_side_named():
    x, y, size = 100.0, 50.0, (40.0, 13.0)
    left, top, right, bottom = label_box(x, y, size, "top left", gap=5)
    assert (right, bottom) == (95, 45) and (right - left, bottom - top) == size
    left, top, right, bottom = label_box(x, y, size, "bottom right", gap=5)
    assert (left, top) == (105, 55)
    left, top, right, bottom = label_box(x, y, size, "middle left", gap=5)
    assert right == 95 and (top + bottom) / 2 == y
    left, top, right, bottom = label_box(x, y, size, "top center", gap=5)
    assert (left + right) / 2 == x and bottom == 45
    for position in POSITIONS:  # never over its own marker (a square of half-size ``gap``)
        assert overlap(label_box(x, y, size, position, 5), (95, 45, 105, 55)) == 0
    with pytest.raises(ValueError, match="position must be one of"):
        label_box(x, y, size, "top", 5)


def test_text_size_counts_the_longest_line_and_the_lines():
    w, h = text_size("abc<br>abcdef", 10)
    assert w == pytest.approx(6 * 6) and h == pytest.approx(2 * 13)


def test_pixels_put_the_range_corners_at_the_plot_corners():
    px = to_pixels([0, 10, 5], [0, 100, 50], (0, 10), (0, 100), 500, 300)
    assert px.tolist() == [[0, 300], [500, 0], [250, 150]]
    with pytest.raises(ValueError, match="ranges must increase"):
        to_pixels([1], [1], (2, 2), (0, 1), 10, 10)


def _boxes(points, labelled, sizes, positions, gap):
    return [label_box(*points[i], s, p, gap) for i, s, p in zip(labelled, sizes, positions)]


def test_far_apart_points_keep_their_preferred_positions():
    points = np.array([[100.0, 200.0], [400.0, 100.0]])
    placed = place_labels(points, [0, 1], [(60, 13)] * 2, 500, 300, 6, preferred=["top right", "top left"])
    assert placed == ["top right", "top left"]


def test_a_label_that_would_leave_the_plot_goes_to_another_side():
    points = np.array([[5.0, 5.0]])  # in the top left corner: only below and to the right fits
    assert place_labels(points, [0], [(60, 13)], 500, 300, 6, preferred=["top left"]) == ["bottom right"]


def test_close_points_get_labels_that_cover_nothing_or_none_when_there_is_no_room():
    points = np.array([[200.0, 100.0], [212.0, 92.0], [230.0, 110.0]])  # three markers within 30 px
    long = [(150.0, 26.0)] * 2
    assert overlap(*_boxes(points, [0, 1], long, ["top left"] * 2, 7)) > 0  # one side for all would collide
    placed = place_labels(points, [0, 1], long, 500, 300, 7, preferred=["top left"] * 2)
    assert placed is not None
    boxes = _boxes(points, [0, 1], long, placed, 7)
    assert overlap(*boxes) == 0
    markers = [(x - 7, y - 7, x + 7, y + 7) for x, y in points]
    assert all(overlap(b, m) == 0 for b in boxes for m in markers)
    crowded = np.array([[250.0, 150.0], [265.0, 150.0], [235.0, 150.0], [250.0, 135.0], [250.0, 165.0],
                        [235.0, 135.0], [265.0, 135.0], [235.0, 165.0], [265.0, 165.0]])
    assert place_labels(crowded, [0], [(150.0, 26.0)], 500, 300, 7) is None  # boxed in on every side
    numbers = place_labels(points, [0, 1], [(6.0, 13.0)] * 2, 500, 300, 7)
    assert numbers is not None
    assert overlap(*_boxes(points, [0, 1], [(6.0, 13.0)] * 2, numbers, 7)) == 0


def test_boxes_to_keep_clear_are_kept_clear():
    points = np.array([[450.0, 250.0]])
    clear = [(380.0, 200.0, 500.0, 243.0)]  # above the point: an axis annotation
    placed = place_labels(points, [0], [(40, 13)], 500, 300, 7, preferred=["top left"], keep_clear=clear)
    assert placed is not None and placed[0].startswith(("bottom", "middle"))
    assert overlap(label_box(450, 250, (40, 13), placed[0], 7), clear[0]) == 0


def test_one_size_per_labelled_point_is_required():
    with pytest.raises(ValueError, match="one size"):
        place_labels(np.zeros((2, 2)), [0, 1], [(1, 1)], 10, 10, 1)
    with pytest.raises(ValueError, match="one size"):
        place_labels(np.zeros((2, 2)), [0, 1], [(1, 1)] * 2, 10, 10, 1, preferred=["top left"])
