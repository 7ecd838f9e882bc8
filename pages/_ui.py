"""Small Streamlit helpers shared by every page: artifacts folder, cached dataset access, widgets.

Pages import them with ``from pages._ui import ...`` (the repository root is on
``sys.path`` under ``streamlit run app.py``). Nothing here computes science;
it only reads files through :mod:`core` and renders.
"""
from __future__ import annotations

import base64
import threading
import time
from pathlib import Path
from typing import Callable, Generic, Iterable, Sequence, TypeVar

import cv2
import pandas as pd
import streamlit as st

from core.attributes import categorical_columns
from core.data.images import thumbnail
from core.data.manifest import load_manifest
from core.common.paths import datasets_dir, default_artifacts_dir, runs_dir
from core.common.progress import eta_text
from core.data.registry import DatasetInfo, list_datasets
from pages._figures import show_figure  # noqa: F401  (every page shows its figures through it)

T = TypeVar("T")

#: Marker written when the user removes the demo, so that it is not drawn again behind their back.
DEMO_OPT_OUT = ".demo-removed"


def run_through_app() -> None:
    """Re-run through ``app.py``'s navigation when Streamlit ran this page file on its own.

    Until a server has run ``app.py`` once, Streamlit treats ``pages/`` as a
    multipage-v1 pages directory: when the first request after the server starts
    is a deep link (``/train_or_load``, a reload or a bookmark), it runs
    ``pages/train_or_load.py`` alone, without the app's navigation, titles and
    wide layout, and lists every file of ``pages/`` (helpers included) in the
    sidebar. Every page calls this first; it clears the flag as ``st.navigation``
    itself does on its first call, and reruns, so the same URL is served by the
    app. Does nothing when the flag is absent (another Streamlit version).
    """
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:
        return
    if getattr(PagesManager, "uses_pages_directory", None):
        PagesManager.uses_pages_directory = False
        st.rerun()


IMAGENET_STATUS = "imagenet_status"  #: session key: {backbone: (usable, why)}, checked once per session


def imagenet_status(backbone: str) -> tuple[bool, str]:
    """Whether ImageNet weights of ``backbone`` can be had here, and why (a cached file or a quick request to
    Keras' download server), checked once per session and backbone
    (:func:`core.models.backbones.imagenet_weights_status`)."""
    from core.models.backbones import imagenet_weights_status

    known = st.session_state.setdefault(IMAGENET_STATUS, {})
    if backbone not in known:
        known[backbone] = imagenet_weights_status(backbone)
    return known[backbone]


def artifacts_dir() -> Path:
    """The artifacts folder of this app (``$FERBIAS_ARTIFACTS`` or ``<repo>/artifacts``), created if missing."""
    path = default_artifacts_dir()
    path.mkdir(parents=True, exist_ok=True)
    return path


def _datasets_stamp(artifacts: Path) -> tuple:
    root = datasets_dir(artifacts)
    if not root.is_dir():
        return ()
    return tuple(sorted((d.name, (d / "info.json").stat().st_mtime_ns) for d in root.iterdir()
                        if (d / "info.json").is_file()))


@st.cache_data(show_spinner=False, max_entries=16)
def _cached_datasets(artifacts: str, stamp: tuple) -> list[DatasetInfo]:
    return list_datasets(Path(artifacts))


def registered_datasets(artifacts: Path) -> list[DatasetInfo]:
    """Registered datasets, cached until a dataset folder's ``info.json`` changes."""
    return _cached_datasets(str(artifacts), _datasets_stamp(artifacts))


@st.cache_data(show_spinner=False, max_entries=8)
def _cached_manifest(path: str, slug: str, mtime_ns: int) -> pd.DataFrame:
    return load_manifest(path)


def load_dataset_manifest(info: DatasetInfo) -> pd.DataFrame:
    """The manifest of a registered dataset, cached by (slug, file modification time)."""
    path = info.path / "manifest.parquet"
    return _cached_manifest(str(path), info.slug, path.stat().st_mtime_ns)


def dataset_label(info: DatasetInfo) -> str:
    """``"Name (1,204 samples, synthetic)"`` for select boxes and tables."""
    extra = ", synthetic" if info.synthetic else ""
    return f"{info.name} ({info.n_samples:,} samples{extra})"


def dataset_selectbox(label: str, datasets: Sequence[DatasetInfo], key: str, help: str | None = None,
                      container=st) -> DatasetInfo | None:
    """A select box over ``datasets``; returns the chosen one (None when there are none)."""
    if not datasets:
        container.info("No dataset is registered yet: add one on the Data page.")
        return None
    by_slug = {d.slug: d for d in datasets}  # slugs keep the choice stable when datasets come and go
    slug = container.selectbox(label, list(by_slug), format_func=lambda s: dataset_label(by_slug[s]), key=key,
                               help=help)
    return by_slug.get(slug)


#: Up to this many options a filter is a row of pills (each one click, all visible); more go in a multiselect.
MAX_PILLS = 12


def choose_many(label: str, options: Sequence[T], key: str, none_means: str, container=st,
                help: str | None = None) -> list[T]:
    """A filter of any number of ``options``; choosing none means all of them (``none_means`` says so).

    A few options are pills: one click to choose or drop one, and a cheaper update in
    the browser than a multiselect's (no list to open, about 15 ms less per change on a
    laptop CPU). More than :data:`MAX_PILLS` go in a multiselect.
    """
    if len(options) <= MAX_PILLS:
        return container.pills(f"{label} (none chosen: {none_means})", list(options), selection_mode="multi",
                               key=key, help=help, wrap=True) or []
    return container.multiselect(label, list(options), key=key, placeholder=none_means, help=help)


#: Up to this many options (and this many characters in all) a choice of one is a segmented control.
MAX_SEGMENTS, MAX_SEGMENT_CHARS = 6, 64


def choose_one(label: str, options: Sequence[T], key: str, container=st, help: str | None = None,
               format_func: Callable[[T], str] = str) -> T:
    """A required choice of one of ``options`` (the first by default).

    A few short options are a segmented control: all visible, one click (no list to
    open). Longer or more options go in a select box.
    """
    options = list(options)
    if len(options) <= MAX_SEGMENTS and sum(len(format_func(o)) for o in options) <= MAX_SEGMENT_CHARS:
        if st.session_state.get(key, options[0]) not in options:  # a value from other options (another run)
            st.session_state.pop(key, None)
        return container.segmented_control(label, options, default=options[0], required=True, key=key, help=help,
                                           format_func=format_func, wrap=True)
    return container.selectbox(label, options, key=key, help=help, format_func=format_func)


def synthetic_badge(synthetic: bool, container=st) -> None:
    """An orange "Synthetic data" badge for datasets that are not real faces."""
    if synthetic:
        container.badge("Synthetic data", icon=":material/science:", color="orange",
                        help="Drawn faces generated by this app, with a planted, documented bias. Not real people.")


def demo_opted_out(artifacts: Path) -> bool:
    """True when the user removed the synthetic demo (it is then not redrawn automatically)."""
    return (datasets_dir(artifacts) / DEMO_OPT_OUT).is_file()


def set_demo_opt_out(artifacts: Path, opted_out: bool) -> None:
    marker = datasets_dir(artifacts) / DEMO_OPT_OUT
    if opted_out:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()
    elif marker.exists():
        marker.unlink()


def generate_demo_with_progress(artifacts: Path, regenerate: bool = False, seed: int = 0, config=None) -> DatasetInfo:
    """Draw (or redraw) the synthetic demo with a visible progress bar."""
    from core.data.demo import ensure_demo

    bar = st.progress(0.0, text="Drawing the synthetic demo faces...")

    def report(done: int, total: int, message: str = "") -> None:
        bar.progress(min(done / max(total, 1), 1.0), text=f"Drawing the synthetic demo faces: {done}/{total}")

    with st.spinner("Generating the synthetic demo dataset (a few seconds, once)..."):
        info = ensure_demo(artifacts, seed=seed, config=config, regenerate=regenerate, progress=report)
    bar.empty()
    set_demo_opt_out(artifacts, False)
    _cached_datasets.clear()
    return info


def ensure_default_dataset(artifacts: Path) -> DatasetInfo | None:
    """Make sure the embedded synthetic demo exists (unless the user removed it); returns it or None."""
    from core.data.demo import find_demo

    info = find_demo(artifacts)
    if info is not None or demo_opted_out(artifacts):
        return info
    return generate_demo_with_progress(artifacts)


def count_runs(artifacts: Path) -> int:
    """Number of run folders under ``<artifacts>/runs`` (training or evaluation results)."""
    root = runs_dir(artifacts)
    if not root.is_dir():
        return 0
    return sum(1 for d in root.iterdir() if d.is_dir() and not d.name.startswith((".", "_"))
               and any((d / f).is_file() for f in ("config.json", "metrics.json", "predictions.parquet")))


def group_columns(df: pd.DataFrame, max_values: int = 12) -> list[str]:
    """Columns that make sensible groups: race and gender first, then small categorical columns."""
    first = [c for c in ("race", "gender") if c in df.columns and df[c].notna().any()]
    return first + [c for c in categorical_columns(df, max_values) if c not in first]


@st.cache_resource(show_spinner=False, max_entries=4096)
def _thumbnail(path: str, size: int) -> str | None:
    """The thumbnail as a ``data:`` URL, JPEG-encoded once (strings are immutable, so shared, not copied).

    JPEG at quality 90 is a third of a PNG's bytes and a sixth of its encoding time
    for a face; as a ``data:`` URL it travels with the gallery's element, so the
    browser draws the gallery without fetching each face from the server.
    """
    img = thumbnail(path, size)
    if img is None:
        return None
    ok, jpg = cv2.imencode(".jpg", cv2.cvtColor(img, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])
    return "data:image/jpeg;base64," + base64.b64encode(jpg.tobytes()).decode("ascii") if ok else None


def image_grid(paths: Iterable[str], captions: Iterable[str] | None = None, size: int = 96, container=st) -> int:
    """Thumbnails with captions as ONE image-list element; unreadable files are named below. Returns how many
    were shown.

    One element (not a column per face) keeps a rerun cheap in the browser: the
    thumbnails wrap to the width of the page or column.

    Parameters
    ----------
    paths : iterable of str
        Image files.
    captions : iterable of str, optional
        One caption per image.
    size : int
        Longest side of each thumbnail in pixels.
    """
    paths = list(paths)
    captions = list(captions) if captions is not None else [""] * len(paths)
    thumbs, caps, unreadable = [], [], []
    for path, cap in zip(paths, captions):
        thumb = _thumbnail(str(path), size)
        if thumb is None:
            unreadable.append(Path(path).name or "(no file)")
        else:
            thumbs.append(thumb)
            caps.append(cap or " ")
    if thumbs:
        container.image(thumbs, caption=caps, width=size)  # data: URLs, sent as they are
    if unreadable:
        container.caption(f"Cannot read {len(unreadable)} image file(s): " + ", ".join(unreadable[:8])
                          + (" …" if len(unreadable) > 8 else ""))
    return len(thumbs)


def show_load_report(report: dict, container=st) -> None:
    """What a loader left out: excluded labels and skipped files/rows (never silently)."""
    if not report:
        return
    excluded, skipped = report.get("excluded_labels") or {}, report.get("skipped") or []
    if not excluded and not skipped:
        container.caption("Nothing was left out when this dataset was loaded.")
        return
    if excluded:
        container.warning("Excluded labels (outside the 7 classes): "
                          + ", ".join(f"{k}: {v}" for k, v in sorted(excluded.items())))
    if skipped:
        container.warning(f"{len(skipped)} file(s) or row(s) were skipped.")
        container.dataframe(pd.DataFrame(skipped, columns=["file or row", "reason"]), hide_index=True,
                            width="stretch")


def provenance_card(prov, container=st, expanded: bool = False, key: str | None = None) -> None:
    """A run's provenance (:class:`core.evaluation.provenance.Provenance`) as an expander: loud warnings first.

    The rows are a static table (``st.table``): a few lines of text need no interactive grid, and a grid per
    run costs the browser a quarter of a second to draw on every page that shows runs.
    """
    icon = ":material/warning:" if prov.warnings else ":material/info:"
    with container.expander(f"Provenance: {prov.display_name} · weights {prov.weights}", expanded=expanded,
                            icon=icon, key=key):
        for w in prov.warnings:
            st.warning(w, icon=":material/warning:")
        st.table(pd.DataFrame(prov.rows(), columns=["", "value"]), hide_index=True, hide_header=True,
                 border="horizontal")


def result_provenance(results, container=st, key_prefix: str = "prov") -> None:
    """Provenance cards of the runs among ``results`` (published rows carry a citation instead)."""
    for i, r in enumerate(results):
        if getattr(r, "provenance", None) is not None:
            provenance_card(r.provenance, container, key=f"{key_prefix}_{i}")


class ComputedOnce(Generic[T]):
    """A value computed by the first caller of :meth:`get`; later callers receive it.

    Return one from an ``st.cache_resource`` function keyed by the computation's
    arguments to cache a computation that draws its progress on the page. A
    function decorated with ``st.cache_data`` or ``st.cache_resource`` cannot
    draw it: Streamlit replays what a cached function drew on every cache hit,
    and cannot replay updates of a bar created outside the function. A
    computation that raises (or is stopped by a rerun) leaves the holder empty,
    so the next call tries again.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._done = False
        self._value: T | None = None

    def get(self, compute: Callable[[], T]) -> tuple[T, bool]:
        """The value, computing it with ``compute()`` the first time; and whether this call computed it."""
        with self._lock:  # a second session asking meanwhile waits for the first one's result
            if self._done:
                return self._value, False  # type: ignore[return-value]
            self._value = compute()
            self._done = True
            return self._value, True


class StepProgress:
    """A :mod:`core.common.progress` reporter drawing on one ``st.progress`` bar, with an ETA per step.

    Messages of the form ``"step: detail"`` (as the :mod:`core.latent` stages
    send) restart the clock when the step changes; a message without a colon is
    a step of its own (``total <= 1``: no count is shown).

    Parameters
    ----------
    bar
        The element returned by ``st.progress``.
    clock : callable
        Seconds, monotonic (tests pass a fake clock).
    """

    def __init__(self, bar, clock: Callable[[], float] = time.monotonic) -> None:
        self._bar = bar
        self._clock = clock
        self._step: str | None = None
        self._t0 = clock()

    def __call__(self, done: int, total: int, message: str = "") -> None:
        step, _, detail = message.partition(": ")
        if step != self._step:
            self._step, self._t0 = step, self._clock()
        text = step[:1].upper() + step[1:]
        if total > 1:
            text += f": {eta_text(done, total, self._clock() - self._t0)}" + (f" ({detail})" if detail else "")
        elif detail:
            text += f": {detail}"
        self._bar.progress(min(max(done / max(total, 1), 0.0), 1.0), text=text or "Working...")

