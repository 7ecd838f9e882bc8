"""The embedded default: a deterministic synthetic face dataset with a planted, documented bias.

Everything here is synthetic. Faces are drawn with OpenCV (:mod:`core.data._demo_faces`):
seven expressions made of mouth, brow and eye shapes, three skin-tone groups
(the ``race`` column holds the readable synthetic group names ``Light``,
``Medium``, ``Dark``; ``skin_color`` the person's hex skin colour), head yaw
from frontal to full profile (``yaw`` in degrees, negative = turned to the
viewer's left; ``side_profile`` is ``|yaw| >= 60``), occlusions (``occlusion``:
``none``, ``glasses``, ``sunglasses``), lighting changes and sensor noise
(``brightness``, ``noise_sigma``), and ``person`` ids (each person appears in
several images, all in one split). The dataset is named "Synthetic demo"; its
``dataset`` column is ``SyntheticDemo``; it is registered with ``synthetic=True``.

Planted bias (what the analysis pages should find)
--------------------------------------------------
1. Under-representation: by default the ``Dark`` group has 40 persons against
   64 for ``Light`` and 64 for ``Medium`` (24% of the persons and images; 20
   Dark persons in train against 32 per other group).
2. Subtler expressions: the expression intensity (how far mouth, brows and
   eyes move from the neutral face) averages 0.45 for ``Dark`` against 1.0 for
   the other groups (column ``intensity``), so expressions of the ``Dark``
   group are closer to neutral and to each other, and a model trained on this
   data is less accurate on that group.

Splits are by person and stratified by group: half of each group's persons
train, 15% validate, 35% test (14 Dark, 22 Light, 22 Medium test persons by
default), so a test split has enough persons per group for person-level
intervals that can tell the groups apart (``python -m core demo-study``
shows it: :mod:`core.training.demo_study`).

Nothing else differs by group on purpose: labels, gender, yaw, occlusions and
lighting are drawn from the same distributions for every group. Side effect of
drawing (as in photographs): mouth and nose lines are darker shades of the
skin, so they have less contrast on darker skin. Profile views hide the far
eye and foreshorten the mouth, so accuracy also drops with ``|yaw|``, equally
for every group.
"""
from __future__ import annotations

import json
import math
import shutil
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from ._demo_faces import OCCLUSIONS, SHAPE_KEYS, FaceSpec, draw_face, expression_shape
from ..common._io import locked, replacing_folder
from .datasets import LoadReport
from .labels import EMOTIONS
from .manifest import validate_manifest
from ..common.paths import datasets_dir
from ..common.progress import ProgressFn
from .registry import DatasetInfo, list_datasets, register_dataset, slugify

DEMO_NAME = "Synthetic demo"
DEMO_DATASET = "SyntheticDemo"
DEMO_FORMAT = "synthetic-demo"
DEMO_SLUG = slugify(DEMO_NAME)
GROUPS: tuple[str, ...] = ("Light", "Medium", "Dark")
SIDE_PROFILE_DEG = 60.0


_SKIN_PALETTES: dict[str, tuple[str, ...]] = {
    "Light": ("#f3d2c1", "#eac3a6", "#f1c9b0", "#e8bfa0", "#f5d7c4"),
    "Medium": ("#c68c53", "#b87c4b", "#c99064", "#a8734a", "#bd8358"),
    "Dark": ("#6b4226", "#5a3825", "#4a2f1f", "#7a4b2f", "#573522"),
}
_HAIR = ((25, 20, 18), (60, 40, 25), (110, 75, 40), (160, 120, 70), (90, 90, 90), (40, 30, 30))


@dataclass(frozen=True)
class DemoConfig:
    """Size and bias of the synthetic demo dataset.

    Parameters
    ----------
    n_persons : dict of str to int
        Persons per group (``Light``, ``Medium``, ``Dark``); each at least 3 so
        that every split gets one.
    images_per_person : int
        Images per person; expressions cycle through the 7 classes, so 14 gives
        every person each expression twice.
    image_size : int
        Side of the square RGB PNGs, 32-256.
    intensity : dict of str to float
        Mean expression intensity per group (0 neutral face, 1 full expression).
    split_fractions : tuple of float
        Fractions of each group's persons in train, validation, test (35% test:
        14 of the 40 default Dark persons, enough to tell groups apart).
    """

    n_persons: dict[str, int] = field(default_factory=lambda: {"Light": 64, "Medium": 64, "Dark": 40})
    images_per_person: int = 14
    image_size: int = 96
    intensity: dict[str, float] = field(default_factory=lambda: {"Light": 1.0, "Medium": 1.0, "Dark": 0.45})
    split_fractions: tuple[float, float, float] = (0.5, 0.15, 0.35)

    def __post_init__(self) -> None:
        for name, mapping in (("n_persons", self.n_persons), ("intensity", self.intensity)):
            if set(mapping) != set(GROUPS):
                raise ValueError(f"{name} must have exactly the groups {list(GROUPS)}, received {sorted(mapping)}")
        bad = {g: n for g, n in self.n_persons.items() if int(n) != n or n < 3}
        if bad:
            raise ValueError(f"n_persons must be integers >= 3 (one person per split at least), received {bad}")
        bad_i = {g: v for g, v in self.intensity.items() if not 0.0 < v <= 1.5}
        if bad_i:
            raise ValueError(f"intensity values must be in (0, 1.5], received {bad_i}")
        if int(self.images_per_person) != self.images_per_person or self.images_per_person < 1:
            raise ValueError(f"images_per_person must be a positive integer, received {self.images_per_person}")
        if not 32 <= self.image_size <= 256:
            raise ValueError(f"image_size must be within 32-256 pixels, received {self.image_size}")
        fr = self.split_fractions
        if len(fr) != 3 or min(fr) <= 0 or not math.isclose(sum(fr), 1.0, abs_tol=1e-6):
            raise ValueError(f"split_fractions must be 3 positive numbers summing to 1, received {fr}")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["n_persons"] = {g: int(self.n_persons[g]) for g in GROUPS}
        d["intensity"] = {g: float(self.intensity[g]) for g in GROUPS}
        d["split_fractions"] = [float(f) for f in self.split_fractions]
        return d


def describe_bias(config: DemoConfig | None = None) -> str:
    """One paragraph on the planted bias of ``config`` (stored with the registered dataset, shown by the app)."""
    c = config or DemoConfig()
    total = sum(c.n_persons.values())
    persons = ", ".join(f"{g} {c.n_persons[g]}" for g in GROUPS)
    intens = ", ".join(f"{g} {c.intensity[g]:g}" for g in GROUPS)
    return (f"Synthetic data with a planted bias. Persons per group (of {total}): {persons}. Mean expression "
            f"intensity (0 = neutral face, 1 = full expression): {intens}; a group with fewer persons and subtler "
            "expressions is expected to be recognised less accurately. Labels, gender, yaw, occlusions and "
            "lighting follow the same distributions in every group.")


def _hex_to_rgb(h: str) -> tuple[int, int, int]:
    return int(h[1:3], 16), int(h[3:5], 16), int(h[5:7], 16)


def persons_per_split(config: DemoConfig | None = None) -> dict[str, dict[str, int]]:
    """Persons of each group in each split (``{group: {"train": n, "validation": n, "test": n}}``)."""
    c = config or DemoConfig()
    out = {}
    for group in GROUPS:
        n = int(c.n_persons[group])
        n_test = max(1, round(n * c.split_fractions[2]))
        n_val = max(1, round(n * c.split_fractions[1]))
        out[group] = {"train": n - n_test - n_val, "validation": n_val, "test": n_test}
    return out


def _assign_splits(config: DemoConfig, seed: int) -> dict[tuple[str, int], str]:
    """Split each group's persons (never a person's images) into train/validation/test, stratified by group."""
    rng = np.random.default_rng([seed, 7919])
    out: dict[tuple[str, int], str] = {}
    counts = persons_per_split(config)
    for group in GROUPS:
        n = int(config.n_persons[group])
        n_test, n_val = counts[group]["test"], counts[group]["validation"]
        order = rng.permutation(n)
        for rank, k in enumerate(order):
            out[(group, int(k))] = "test" if rank < n_test else "validation" if rank < n_test + n_val else "train"
    return out


def _person(group: str, k: int, seed: int, gender: str) -> dict:
    rng = np.random.default_rng([seed, GROUPS.index(group), k, 1])
    skin = np.array(_hex_to_rgb(_SKIN_PALETTES[group][int(rng.integers(len(_SKIN_PALETTES[group])))]))
    skin = np.clip(skin + rng.integers(-8, 9, size=3), 0, 255)
    return {
        "gender": gender, "skin": tuple(int(c) for c in skin), "hair": _HAIR[int(rng.integers(len(_HAIR)))],
        "clothes": tuple(int(c) for c in rng.integers(30, 220, size=3)),
        "long_hair": bool(rng.random() < (0.75 if gender == "Female" else 0.1)),
        "quirk": {"curve": rng.normal(0, 0.1), "brow_raise": rng.normal(0, 0.15), "eye_open": rng.normal(0, 0.1),
                  "width": rng.normal(0, 0.08)},
        "label_offset": int(rng.integers(len(EMOTIONS))),
    }


def _yaw(rng: np.random.Generator) -> float:
    u = rng.random()
    mag = rng.uniform(0, 30) if u < 0.55 else rng.uniform(30, 60) if u < 0.8 else rng.uniform(60, 90)
    return float(round(mag * (1 if rng.random() < 0.5 else -1), 1))


def _image_spec(person: dict, label: str, mean_intensity: float, rng: np.random.Generator) -> tuple[FaceSpec, dict]:
    intensity = float(np.clip(mean_intensity * rng.uniform(0.85, 1.15), 0.05, 1.5))
    shape = expression_shape(label, intensity)
    for k in SHAPE_KEYS:
        shape[k] += person["quirk"].get(k, 0.0) + rng.normal(0, 0.06)
    bg = [tuple(int(c) for c in rng.integers(60, 200, size=3)) for _ in range(2)]
    spec = FaceSpec(skin=person["skin"], hair=person["hair"], clothes=person["clothes"], background=(bg[0], bg[1]),
                    long_hair=person["long_hair"], shape=shape, yaw_deg=_yaw(rng),
                    occlusion=str(rng.choice(OCCLUSIONS, p=[0.7, 0.2, 0.1])),
                    brightness=float(rng.uniform(0.6, 1.3)), light_angle=float(rng.uniform(0, 2 * math.pi)),
                    light_strength=float(rng.uniform(0, 0.3)), noise_sigma=float(rng.uniform(2, 10)),
                    blur=bool(rng.random() < 0.15))
    return spec, {"intensity": round(intensity, 3)}


def generate_demo(out_dir: str | Path, seed: int = 0, config: DemoConfig | None = None,
                  progress: ProgressFn | None = None) -> pd.DataFrame:
    """Draw the synthetic demo dataset into ``out_dir`` and return its manifest.

    Parameters
    ----------
    out_dir : str or Path
        Folder that receives ``images/<split>/<label>/<person>_<k>.png``.
    seed : int
        Seed of every random choice; the same seed and config give identical
        images and manifest.
    config : DemoConfig, optional
        Sizes and planted bias; :class:`DemoConfig` defaults when omitted.
    progress : callable, optional
        ``progress(done, total, message)``.

    Returns
    -------
    pandas.DataFrame
        Validated manifest (absolute paths) with ``race`` (skin-tone group),
        ``gender``, ``skin_color``, ``person``, ``yaw``, ``side_profile``,
        ``occlusion``, ``intensity``, ``brightness``, ``noise_sigma``;
        ``attrs['demo']`` holds the seed, config and bias description.
    """
    config = config or DemoConfig()
    if int(seed) != seed or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, received {seed!r}")
    out_dir = Path(out_dir).resolve()
    splits = _assign_splits(config, seed)
    persons = []
    for group in GROUPS:
        n = int(config.n_persons[group])
        genders = np.random.default_rng([seed, GROUPS.index(group), 2]).permutation(
            ["Male" if i % 2 == 0 else "Female" for i in range(n)])
        persons += [(group, k, _person(group, k, seed, str(genders[k]))) for k in range(n)]
    total = len(persons) * config.images_per_person
    rows: list[dict] = []
    for idx, (group, k, person) in enumerate(persons):
        pid = f"p{idx:03d}"
        split = splits[(group, k)]
        for j in range(config.images_per_person):
            rng = np.random.default_rng([seed, idx, j, 3])
            label = EMOTIONS[(person["label_offset"] + j) % len(EMOTIONS)]
            spec, extra = _image_spec(person, label, float(config.intensity[group]), rng)
            img = draw_face(spec, config.image_size, rng)
            path = out_dir / "images" / split / label / f"{pid}_{j:02d}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            if not cv2.imwrite(str(path), cv2.cvtColor(img, cv2.COLOR_RGB2BGR)):
                raise OSError(f"{path}: could not write PNG")
            rows.append({
                "sample_id": f"{DEMO_DATASET}:{pid}/{j:02d}", "path": str(path), "dataset": DEMO_DATASET,
                "split": split, "label": label, "race": group, "gender": person["gender"],
                "skin_color": "#{:02x}{:02x}{:02x}".format(*person["skin"]), "person": f"{DEMO_DATASET}:{pid}",
                "yaw": spec.yaw_deg, "side_profile": abs(spec.yaw_deg) >= SIDE_PROFILE_DEG,
                "occlusion": spec.occlusion, "brightness": round(spec.brightness, 3),
                "noise_sigma": round(spec.noise_sigma, 2), **extra,
            })
            if progress is not None and (len(rows) % 50 == 0 or len(rows) == total):
                progress(len(rows), total, "drawing synthetic faces")
    df = validate_manifest(pd.DataFrame(rows), source=out_dir)
    df.attrs["load_report"] = LoadReport(source=str(out_dir)).to_dict()
    df.attrs["demo"] = {"seed": int(seed), "config": config.to_dict(), "bias": describe_bias(config)}
    return df


def _source(seed: int, config: DemoConfig) -> dict[str, str]:
    return {"generator": "core.data.demo.generate_demo", "seed": str(int(seed)),
            "config": json.dumps(config.to_dict(), sort_keys=True), "bias": describe_bias(config)}


def find_demo(artifacts: str | Path) -> DatasetInfo | None:
    """The registered synthetic demo dataset, or None."""
    return next((i for i in list_datasets(Path(artifacts)) if i.slug == DEMO_SLUG), None)


def ensure_demo(artifacts: str | Path, seed: int = 0, config: DemoConfig | None = None, regenerate: bool = False,
                progress: ProgressFn | None = None) -> DatasetInfo:
    """Generate and register the synthetic demo once; later calls return the registered one.

    The dataset is drawn into a hidden staging folder, moved into place with a
    rename and registered last (``info.json`` is the commit point), under a
    file lock, so a crash or a concurrent call never leaves a half dataset
    registered; leftovers of an interrupted run are removed on the next call.

    Parameters
    ----------
    artifacts : str or Path
        Artifacts folder; the dataset goes to ``datasets/synthetic-demo/``.
    seed : int
        Generation seed.
    config : DemoConfig, optional
        When given and different from the registered demo's, the demo is
        regenerated; when omitted, a registered demo of the same seed is kept
        whatever its config, and a new one uses :class:`DemoConfig` defaults.
    regenerate : bool
        Draw it again even if it is registered.
    progress : callable, optional
        ``progress(done, total, message)`` while drawing.

    Returns
    -------
    DatasetInfo
        The registered dataset (``synthetic=True``); ``source['bias']`` describes
        the planted bias.
    """
    artifacts = Path(artifacts)
    root = datasets_dir(artifacts)
    wanted = _source(seed, config or DemoConfig())
    with locked(root / f".{DEMO_SLUG}.lock"):
        info = find_demo(artifacts)
        if (info is not None and not regenerate and _intact(info) and info.source.get("seed") == wanted["seed"]
                and (config is None or info.source.get("config") == wanted["config"])):
            return info
        for stale in root.glob(f".{DEMO_SLUG}.*-*"):  # interrupted earlier runs
            shutil.rmtree(stale, ignore_errors=True)
        final = root / DEMO_SLUG
        staging = root / f".{DEMO_SLUG}.partial-{uuid.uuid4().hex[:8]}"
        try:
            manifest = generate_demo(staging, seed=seed, config=config, progress=progress)
            manifest["path"] = [str(final / Path(p).relative_to(staging)) for p in manifest["path"]]
            with replacing_folder(staging, final):  # the previous complete dataset comes back if registering fails
                info = register_dataset(manifest, DEMO_NAME, DEMO_FORMAT, wanted, artifacts, synthetic=True)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return info


def _intact(info: DatasetInfo) -> bool:
    images = info.path / "images"
    return images.is_dir() and next(images.rglob("*.png"), None) is not None
