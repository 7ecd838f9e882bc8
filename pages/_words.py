"""Messages of :mod:`core` as the pages show them: the widget to use instead of a command-line flag.

Core's messages serve the command line and the app alike, so they name flags
(``--replace``, ``(--demographics)``). A page passes the widgets that set those
options; :func:`gui_message` says "tick ..." or names the field instead, and
drops a flag the page has no widget for.
"""
from __future__ import annotations

import re
from typing import Mapping

_FLAG = r"--[a-z][a-z0-9-]*"
_PASS = re.compile(rf"\bpass ({_FLAG}) to ")
_PAREN = re.compile(rf"\s*\(({_FLAG}(?:\s*/\s*{_FLAG})*)\)")
_ANOTHER = re.compile(rf"\bpass another ({_FLAG})")
_BARE = re.compile(rf"`?({_FLAG})`?")
_WITH = re.compile(rf"\b([Pp])ass (it|an existing file) with ({_FLAG}) [A-Z]+")
_PYTHON = re.compile(r"\s*\([^()]*\bin Python\)")  # "(weights=... in Python)": not for the app

#: the Data page's "Add a dataset" widgets by the flag core names
DATA_WIDGETS: dict[str, str] = {
    "--replace": 'tick "Replace a registered dataset with the same name"',
    "--demographics": "the demographics CSV field",
    "--name": "the name field",
    "--register": "the name field",
    "--skip-bad-images": 'tick "Skip unreadable images"',
}
#: the Data page's "Prepare EiLA videos" widgets
PREPARE_WIDGETS: dict[str, str] = {"--out": "the output folder", "--register": "the name to register it under",
                                   "--replace": 'tick "Replace"', "--weights": "the detector weights field"}


def gui_message(message: object, widgets: Mapping[str, str] | None = None) -> str:
    """``message`` with each command-line flag replaced by the widget that sets it (or left out).

    Parameters
    ----------
    message : object
        A core message or exception (``str()`` is taken).
    widgets : mapping, optional
        Flag (``"--replace"``) -> how the page says it (``'tick "Replace ..."'``).

    Returns
    -------
    str
    """
    widgets = dict(widgets or {})
    text = str(message)

    def passed(m: re.Match) -> str:  # "or pass --replace to replace it" -> "or tick "Replace ..." to replace it"
        return f"{widgets[m.group(1)]} to " if m.group(1) in widgets else ""

    def paren(m: re.Match) -> str:  # "(--demographics)" -> "(the demographics CSV field)"
        named = [widgets[f.strip()] for f in m.group(1).split("/") if f.strip() in widgets]
        return f" ({named[0]})" if named else ""

    def another(m: re.Match) -> str:  # "pass another --out" -> "choose another output folder"
        return "choose another " + widgets.get(m.group(1), "value").removeprefix("the ")

    def bare(m: re.Match) -> str:  # "--out DIR: exists" -> "the output folder DIR: exists"
        return widgets.get(m.group(1), "this option")

    def with_value(m: re.Match) -> str:  # "pass it with --weights PATH" -> "enter it in the detector weights field"
        widget = widgets.get(m.group(3))
        return f"{'E' if m.group(1) == 'P' else 'e'}nter {m.group(2)}" + (f" in {widget}" if widget else "")

    text = _WITH.sub(with_value, _PYTHON.sub("", text))
    return _BARE.sub(bare, _ANOTHER.sub(another, _PAREN.sub(paren, _PASS.sub(passed, text))))


#: group attributes as a widget says them (the column names stay in tables and files)
_ATTRIBUTE_WORDS: dict[str, str] = {"skin_tone": "skin tone", "skin_tone_tertile": "skin tone (tertiles)",
                                    "age_group": "age group", "race x gender": "race × gender"}


def attribute_words(attribute: str) -> str:
    """``"skin_tone_tertile"`` -> ``"skin tone (tertiles)"``: a group attribute in words for a widget."""
    return _ATTRIBUTE_WORDS.get(attribute, str(attribute).replace("_", " "))
