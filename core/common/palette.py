"""One colour per group value on every figure, and other encodings for splits, measures and outcomes.

A group's colour depends only on its attribute and its name, never on which
other groups a chart happens to show, so "Black" has the same colour on the
Trade-offs bars, the Data page and the report, with or without the published
results:

* known group names (race, gender, the synthetic demo's skin tones) have fixed
  colours (:data:`GROUP_COLOURS`, case-insensitive);
* binned attributes with a known order (ITA skin tone, tertiles, age, pose)
  take a sequential ramp by position in that order (:data:`ORDERED_RAMP`);
* any other name takes :data:`OTHER_COLOURS` in the sorted order of *all* the
  attribute's values that the caller passes (the whole dataset or every run,
  not the subset on screen);
* a missing group is grey.

Splits, measures and paired outcomes never use these hues: they are shades of
grey told apart by pattern (:data:`SPLIT_STYLE`, :data:`OUTCOME_STYLE`), so the
same blue never means a group in one chart and a split in the next.
"""
from __future__ import annotations

from typing import Iterable, Mapping

from ..attributes import group_order, known_order

#: Fixed colours of known group names (keys lower-case). Colour-blind-safe hues (Okabe-Ito, Paul Tol).
GROUP_COLOURS: Mapping[str, str] = {
    # race (EiLA, FairFace, UTKFace)
    "black": "#0072B2", "white": "#E69F00", "mixed": "#009E73", "asian": "#CC79A7", "east asian": "#CC79A7",
    "southeast asian": "#882255", "indian": "#D55E00", "middle eastern": "#44AA99", "latino_hispanic": "#999933",
    "latino hispanic": "#999933", "latino": "#999933", "hispanic": "#999933", "others": "#6699CC",
    "other": "#6699CC",
    # the synthetic demo's skin-tone groups (light to dark)
    "light": "#DDAA33", "medium": "#BB5566", "dark": "#004488",
    # gender
    "female": "#AA3377", "male": "#228833", "woman": "#AA3377", "man": "#228833",
}
#: Colours of group names that are neither known nor ordered, in the sorted order of the attribute's values.
OTHER_COLOURS: tuple[str, ...] = ("#4477AA", "#EE6677", "#228833", "#CCBB44", "#66CCEE", "#AA3377", "#EE7733",
                                  "#009988", "#CC3311", "#33BBEE", "#EE3377", "#117733", "#882255", "#44AA99",
                                  "#999933", "#AA4499", "#DDCC77", "#332288")
#: Sequential ramp (light to dark) for binned attributes with a known order; spread over the bins.
ORDERED_RAMP: tuple[str, ...] = ("#F6C141", "#F1932D", "#E8601C", "#DC050C", "#A5170E", "#72190E")
MISSING_COLOUR = "#9E9E9E"
MISSING_NAMES = frozenset({"(missing)", "missing", "nan", "none", ""})
#: Splits: greys told apart by pattern (a bar's ``marker_color`` and ``marker_pattern_shape``).
SPLIT_STYLE: Mapping[str, tuple[str, str]] = {"train": ("#3B3B3B", ""), "validation": ("#8A8A8A", "/"),
                                              "test": ("#C8C8C8", ".")}
#: Paired outcomes (both right, only A, only B, both wrong): greys and patterns, light = good.
OUTCOME_STYLE: Mapping[str, tuple[str, str]] = {"both right": ("#D9D9D9", ""), "only A right": ("#8C8C8C", "/"),
                                                "only B right": ("#8C8C8C", "\\"), "both wrong": ("#2B2B2B", "")}
#: Line dashes for measures drawn in one chart (train vs validation curves, inertia vs silhouette).
MEASURE_DASH: Mapping[str, str] = {"train": "solid", "validation": "dash"}
MEASURE_COLOUR = "#333333"


def _key(value: object) -> str:
    return str(value).strip().lower()


def _base_attribute(attribute: str | None) -> str:
    return (attribute or "").strip().lower().replace(" ", "_")


def group_colours(attribute: str | None, values: Iterable[object]) -> dict[str, str]:
    """The colour of every value of ``attribute``, independent of which values a chart shows.

    Parameters
    ----------
    attribute : str or None
        Group attribute (``"race"``, ``"skin_tone"``, ``"race x gender"``...);
        decides the ordered ramp for binned attributes.
    values : iterable
        All values of the attribute in the data the page or report is about
        (a dataset, every run), not only those on screen: names that are
        neither known nor ordered are coloured in their sorted order here.

    Returns
    -------
    dict of str to str
        ``str(value)`` -> ``"#RRGGBB"``.
    """
    names = sorted({str(v) for v in values})
    order = known_order(_base_attribute(attribute))
    out: dict[str, str] = {}
    others = [n for n in names if _key(n) not in GROUP_COLOURS and _key(n) not in MISSING_NAMES
              and not (order and n in order)]
    for n in names:
        if _key(n) in MISSING_NAMES:
            out[n] = MISSING_COLOUR
        elif order and n in order:
            pos = list(order).index(n)
            out[n] = ORDERED_RAMP[round(pos * (len(ORDERED_RAMP) - 1) / max(1, len(order) - 1))]
        elif _key(n) in GROUP_COLOURS:
            out[n] = GROUP_COLOURS[_key(n)]
        else:
            out[n] = OTHER_COLOURS[others.index(n) % len(OTHER_COLOURS)]
    return out


def group_colour(attribute: str | None, value: object, values: Iterable[object] = ()) -> str:
    """The colour of one group ``value`` (see :func:`group_colours`; ``values`` adds the attribute's other values)."""
    return group_colours(attribute, [value, *values])[str(value)]


def split_style(split: str) -> tuple[str, str]:
    """``(grey, pattern)`` of a split; unknown splits are mid grey with a cross-hatch."""
    return SPLIT_STYLE.get(str(split).lower(), ("#A0A0A0", "x"))


def display_order(values: Iterable[object]) -> list[str]:
    """Group names in display order: known names in :data:`GROUP_COLOURS`' order (the demo's Light, Medium,
    Dark), else :func:`core.attributes.group_order` (binned attributes in their order, others sorted)."""
    names = list(dict.fromkeys(str(v) for v in values))
    known = list(GROUP_COLOURS)
    if names and all(_key(n) in GROUP_COLOURS or _key(n) in MISSING_NAMES for n in names):
        return sorted(names, key=lambda n: (_key(n) in MISSING_NAMES, known.index(_key(n))
                                            if _key(n) in GROUP_COLOURS else 0))
    return group_order(names)
