"""Drawing of one synthetic face with OpenCV (used by :mod:`core.data.demo`).

A face is drawn from a :class:`FaceSpec`: identity (skin, hair, clothes,
gender), expression shape parameters, head yaw, occlusion and lighting. Facial
features sit on a vertical cylinder around the head's axis, so turning the head
(yaw) moves and foreshortens them and hides the far eye in profile, where the
nose sticks out of the silhouette. The image is drawn at twice its size and
reduced with area interpolation (anti-aliasing); lighting and sensor noise are
applied last.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

#: Expression shape offsets from neutral at full intensity (1.0). Keys:
#: ``curve`` mouth-corner lift (+ smile, - frown), ``open`` mouth opening,
#: ``width`` mouth width change, ``asym`` one-sided upper-lip raise,
#: ``brow_raise`` brow height, ``brow_tilt`` inner-brow lift (+ sad/fear, - angry),
#: ``eye_open`` eye opening change, ``wrinkle`` nose wrinkles.
EXPRESSION_SHAPES: dict[str, dict[str, float]] = {
    "neutral": {},
    "happy": {"curve": 1.0, "open": 0.3, "width": 0.2, "eye_open": -0.3, "brow_raise": 0.1},
    "sad": {"curve": -0.9, "width": -0.1, "brow_tilt": 1.0, "brow_raise": 0.15, "eye_open": -0.25},
    "angry": {"curve": -0.25, "width": -0.25, "brow_tilt": -1.1, "brow_raise": -0.6, "eye_open": -0.15},
    "surprise": {"open": 1.0, "width": -0.3, "brow_raise": 1.1, "eye_open": 0.7},
    "fear": {"open": 0.45, "width": 0.3, "curve": -0.35, "brow_raise": 0.6, "brow_tilt": 0.7, "eye_open": 0.55},
    "disgust": {"asym": 0.9, "curve": -0.3, "wrinkle": 1.0, "brow_raise": -0.4, "brow_tilt": -0.5,
                "eye_open": -0.4, "open": 0.15},
}
SHAPE_KEYS: tuple[str, ...] = ("curve", "open", "width", "asym", "brow_raise", "brow_tilt", "eye_open", "wrinkle")
OCCLUSIONS: tuple[str, ...] = ("none", "glasses", "sunglasses")

Color = tuple[int, int, int]


@dataclass(frozen=True)
class FaceSpec:
    """Everything needed to draw one face (colours are RGB 0-255)."""

    skin: Color
    hair: Color
    clothes: Color
    background: tuple[Color, Color]
    long_hair: bool
    shape: dict[str, float]
    yaw_deg: float
    occlusion: str
    brightness: float
    light_angle: float
    light_strength: float
    noise_sigma: float
    blur: bool

    def __post_init__(self) -> None:
        if not -90.0 <= self.yaw_deg <= 90.0:
            raise ValueError(f"yaw_deg must be within [-90, 90], received {self.yaw_deg}")
        if self.occlusion not in OCCLUSIONS:
            raise ValueError(f"occlusion must be one of {OCCLUSIONS}, received {self.occlusion!r}")
        unknown = set(self.shape) - set(SHAPE_KEYS)
        if unknown:
            raise ValueError(f"unknown shape parameter(s) {sorted(unknown)}; expected {SHAPE_KEYS}")


def expression_shape(label: str, intensity: float) -> dict[str, float]:
    """Shape parameters of ``label`` at ``intensity`` (0 = neutral face, 1 = full expression)."""
    if label not in EXPRESSION_SHAPES:
        raise ValueError(f"unknown expression {label!r}; expected one of {sorted(EXPRESSION_SHAPES)}")
    return {k: intensity * EXPRESSION_SHAPES[label].get(k, 0.0) for k in SHAPE_KEYS}


def _shade(color: Color, factor: float) -> Color:
    return tuple(int(np.clip(c * factor, 0, 255)) for c in color)  # type: ignore[return-value]


class _Canvas:
    """Projection of head-cylinder coordinates onto the image for one yaw."""

    def __init__(self, size: int, yaw_deg: float):
        self.s = size
        self.cx, self.cy = 0.5 * size, 0.5 * size
        self.a, self.b = 0.27 * size, 0.35 * size  # head half-width, half-height
        self.yaw = math.radians(yaw_deg)

    def x(self, phi: float, radius: float = 1.0) -> float:
        return self.cx + self.a * radius * math.sin(phi + self.yaw)

    def facing(self, phi: float) -> float:
        """cos of the surface angle to the viewer: > 0 is visible, 1 faces the camera."""
        return math.cos(phi + self.yaw)

    def pt(self, phi: float, dy: float, radius: float = 1.0) -> tuple[int, int]:
        return int(round(self.x(phi, radius) * 16)), int(round((self.cy + dy * self.s) * 16))


_SHIFT = 4  # cv2 fixed-point sub-pixel bits (coordinates are multiplied by 16)


def _poly(img: np.ndarray, pts: list[tuple[int, int]], color: Color, thickness: int, closed: bool = False) -> None:
    cv2.polylines(img, [np.array(pts, np.int32)], closed, color, thickness, cv2.LINE_AA, _SHIFT)


def _ellipse(img: np.ndarray, center: tuple[float, float], axes: tuple[float, float], color: Color,
             thickness: int = -1, angle: float = 0.0, start: float = 0.0, end: float = 360.0) -> None:
    c = (int(round(center[0] * 16)), int(round(center[1] * 16)))
    ax = (max(1, int(round(axes[0] * 16))), max(1, int(round(axes[1] * 16))))
    cv2.ellipse(img, c, ax, angle, start, end, color, thickness, cv2.LINE_AA, _SHIFT)


def _draw_ear(img: np.ndarray, cv: _Canvas, side: int, skin: Color) -> None:
    phi = side * math.pi / 2
    f = cv.facing(phi)
    if f < -0.35:
        return
    x = cv.x(phi, 1.0 if f > 0.2 else 1.04)
    _ellipse(img, (x, cv.cy - 0.01 * cv.s), (0.035 * cv.s * (0.45 + 0.55 * max(f, 0)), 0.075 * cv.s),
             _shade(skin, 0.88))
    if f > 0.2:
        _ellipse(img, (x, cv.cy - 0.01 * cv.s), (0.015 * cv.s * f, 0.045 * cv.s), _shade(skin, 0.7), 1)


def _draw_hair(img: np.ndarray, cv: _Canvas, hair: Color, back: float) -> None:
    """Hair cap on top; on a turned head also the back of the head behind the visible ear."""
    s = cv.s
    _ellipse(img, (cv.cx + back, cv.cy - 0.17 * s), (cv.a * 1.06, cv.b * 0.6), hair, -1, 0, 180, 360)
    if abs(math.sin(cv.yaw)) < 0.3:
        return
    side = -1 if cv.yaw > 0 else 1  # the ear that faces the camera
    x_ear = cv.x(side * math.pi / 2)
    head = np.zeros(img.shape[:2], np.uint8)
    _ellipse(head, (cv.cx + back * 0.3, cv.cy), (cv.a * 1.04, cv.b * 1.02), (255,))
    yy, xx = np.mgrid[0:img.shape[0], 0:img.shape[1]]
    bulge = 1.5 * s * ((yy - cv.cy + 0.05 * s) / s) ** 2  # hairline curves back above and below the ear
    region = (head > 0) & ((xx - x_ear) * side > 0.03 * s + bulge) & (yy < cv.cy + 0.16 * s)
    img[region] = hair


def _draw_eye(img: np.ndarray, cv: _Canvas, side: int, sh: dict[str, float], spec: FaceSpec) -> None:
    phi0, dy = side * 0.42, -0.07
    f = cv.facing(phi0)
    if f < 0.12:
        return
    xl, xr = cv.x(phi0 - 0.16), cv.x(phi0 + 0.16)
    xc, half_w = 0.5 * (xl + xr), max(0.5 * abs(xr - xl), 1.0)
    yc = cv.cy + dy * cv.s
    open_ = 0.045 * cv.s * float(np.clip(1.0 + sh["eye_open"], 0.15, 2.0))
    s = cv.s
    # brow: inner end towards the nose; tilt lifts the inner end
    by = yc - 0.075 * s - 0.045 * s * sh["brow_raise"] - 0.25 * open_
    inner, outer = cv.x(phi0 - side * 0.2), cv.x(phi0 + side * 0.2)
    brow = [(inner, by - 0.04 * s * sh["brow_tilt"]), (0.5 * (inner + outer), by - 0.012 * s),
            (outer, by + 0.01 * s * sh["brow_tilt"])]
    _poly(img, [(int(px * 16), int(py * 16)) for px, py in brow], spec.hair, max(2, int(0.025 * s)))
    if spec.occlusion == "sunglasses":
        _ellipse(img, (xc, yc), (half_w * 1.35, 0.07 * s), (22, 22, 28))
        _ellipse(img, (xc, yc), (half_w * 1.35, 0.07 * s), (5, 5, 5), max(1, int(0.012 * s)))
        return
    _ellipse(img, (xc, yc), (half_w, open_), (245, 245, 240))
    gaze = 0.35 * half_w * math.sin(cv.yaw)
    iris_r = min(0.024 * s, open_ * 0.95, half_w * 0.6)
    _ellipse(img, (xc + gaze, yc), (iris_r * (0.6 + 0.4 * f), iris_r), (60, 40, 30))
    _ellipse(img, (xc + gaze, yc), (iris_r * 0.45, iris_r * 0.45), (10, 10, 10))
    _ellipse(img, (xc, yc), (half_w, open_), (25, 20, 20), max(1, int(0.01 * s)), 0, 180, 360)
    if spec.occlusion == "glasses":
        _ellipse(img, (xc, yc), (half_w * 1.45, 0.075 * s), (30, 30, 30), max(1, int(0.012 * s)))


def _draw_glasses_bridge(img: np.ndarray, cv: _Canvas, spec: FaceSpec) -> None:
    if spec.occlusion == "none":
        return
    visible = [side for side in (-1, 1) if cv.facing(side * 0.42) >= 0.12]
    color, t = (30, 30, 30) if spec.occlusion == "glasses" else (5, 5, 5), max(1, int(0.012 * cv.s))
    if len(visible) == 2:
        _poly(img, [cv.pt(-0.2, -0.075), cv.pt(0.2, -0.075)], color, t)
    for side in visible:  # temple arm towards the visible ear
        if cv.facing(side * math.pi / 2) > 0.1:
            _poly(img, [cv.pt(side * 0.62, -0.07), cv.pt(side * 1.45, -0.05)], color, t)


def _draw_nose(img: np.ndarray, cv: _Canvas, sh: dict[str, float], skin: Color) -> None:
    s = cv.s
    tip_x = cv.x(0.0) + 0.11 * s * math.sin(cv.yaw)
    tip_y = cv.cy + 0.08 * s
    base = (cv.x(0.0), cv.cy - 0.04 * s)
    pts = [base, (tip_x, tip_y), (cv.x(0.0) + 0.02 * s * math.sin(cv.yaw), tip_y + 0.02 * s)]
    if abs(cv.yaw) > 0.6:  # profile: filled nose silhouette over the background
        poly = np.array([(int(px * 16), int(py * 16)) for px, py in pts], np.int32)
        cv2.fillPoly(img, [poly], skin, cv2.LINE_AA, _SHIFT)
    _poly(img, [(int(px * 16), int(py * 16)) for px, py in pts], _shade(skin, 0.62), max(1, int(0.012 * s)))
    for side in (-1, 1):
        if cv.facing(side * 0.12) > 0.2:
            _ellipse(img, (cv.x(side * 0.1), tip_y + 0.008 * s), (0.012 * s, 0.007 * s), _shade(skin, 0.45))
    if sh["wrinkle"] > 0.05:
        w = float(np.clip(sh["wrinkle"], 0, 1.5))
        for k in range(3):
            y = cv.cy - 0.03 * s + k * 0.018 * s
            _poly(img, [(int(cv.x(-0.08) * 16), int(y * 16)), (int(cv.x(0.08) * 16), int((y - 0.01 * s * w) * 16))],
                  _shade(skin, 1.0 - 0.3 * w), max(1, int(0.008 * s)))


def _draw_mouth(img: np.ndarray, cv: _Canvas, sh: dict[str, float], skin: Color) -> None:
    s = cv.s
    half = 0.36 * float(np.clip(1.0 + sh["width"], 0.4, 1.6))
    ts = np.linspace(-1.0, 1.0, 15)
    ys0 = cv.cy + 0.2 * s
    curve, open_, asym = sh["curve"], max(sh["open"], 0.0), sh["asym"]
    upper, lower = [], []
    for t in ts:
        phi = t * half
        if cv.facing(phi) < 0.08:
            continue
        x = cv.x(phi, 0.97)
        lift = 0.05 * s * curve * t * t + 0.035 * s * asym * max(t, 0.0) * (1 - abs(t) * 0.3)
        gap = 0.08 * s * open_ * (1 - t * t)
        upper.append((x, ys0 - lift - 0.35 * gap))
        lower.append((x, ys0 - lift + gap))
    if len(upper) < 2:
        return
    lip = _shade(skin, 0.6)
    if open_ > 0.05:
        poly = upper + lower[::-1]
        cv2.fillPoly(img, [np.array([(int(px * 16), int(py * 16)) for px, py in poly], np.int32)], (70, 20, 25),
                     cv2.LINE_AA, _SHIFT)
        _poly(img, [(int(px * 16), int(py * 16)) for px, py in poly], lip, max(1, int(0.018 * s)), closed=True)
    else:
        _poly(img, [(int(px * 16), int(py * 16)) for px, py in upper], lip, max(2, int(0.022 * s)))


def draw_face(spec: FaceSpec, size: int, rng: np.random.Generator) -> np.ndarray:
    """Draw ``spec`` as a ``size`` x ``size`` RGB uint8 image.

    Parameters
    ----------
    spec : FaceSpec
        Identity, expression, pose, occlusion and lighting.
    size : int
        Output side in pixels (drawn at twice the size, then reduced).
    rng : numpy.random.Generator
        Source of the sensor noise (the only randomness here).

    Returns
    -------
    numpy.ndarray
        ``(size, size, 3)`` uint8, RGB.
    """
    s = 2 * size
    cv = _Canvas(s, spec.yaw_deg)
    top, bottom = np.array(spec.background[0], np.float32), np.array(spec.background[1], np.float32)
    ramp = np.linspace(0.0, 1.0, s, dtype=np.float32)[:, None, None]
    img = np.ascontiguousarray(np.broadcast_to(top + (bottom - top) * ramp, (s, s, 3)).astype(np.uint8))
    # shoulders, neck, long hair behind the head
    _ellipse(img, (cv.cx, 1.02 * s), (0.42 * s, 0.2 * s), spec.clothes)
    cv2.rectangle(img, (int(cv.cx - 0.09 * s), int(cv.cy + 0.2 * s)), (int(cv.cx + 0.09 * s), int(0.9 * s)),
                  _shade(spec.skin, 0.8), -1, cv2.LINE_AA)
    back = -math.sin(cv.yaw) * 0.06 * s
    if spec.long_hair:
        _ellipse(img, (cv.cx + back, cv.cy + 0.06 * s), (cv.a * 1.22, cv.b * 1.08), spec.hair)
    for side in (-1, 1):
        if cv.facing(side * math.pi / 2) <= 0.2:
            _draw_ear(img, cv, side, spec.skin)
    _ellipse(img, (cv.cx + back * 0.3, cv.cy), (cv.a, cv.b), spec.skin)
    _draw_hair(img, cv, spec.hair, back)
    for side in (-1, 1):
        if cv.facing(side * math.pi / 2) > 0.2:
            _draw_ear(img, cv, side, spec.skin)
    sh = {k: float(spec.shape.get(k, 0.0)) for k in SHAPE_KEYS}
    for side in (-1, 1):
        _draw_eye(img, cv, side, sh, spec)
    _draw_glasses_bridge(img, cv, spec)
    _draw_nose(img, cv, sh, spec.skin)
    _draw_mouth(img, cv, sh, spec.skin)
    small = cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA)
    if spec.blur:
        small = cv2.GaussianBlur(small, (3, 3), 0.8)
    return _apply_lighting(small, spec, rng)


def _apply_lighting(img: np.ndarray, spec: FaceSpec, rng: np.random.Generator) -> np.ndarray:
    n = img.shape[0]
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float32) / max(n - 1, 1) - 0.5
    direction = math.cos(spec.light_angle) * xx + math.sin(spec.light_angle) * yy
    gain = spec.brightness * (1.0 + 2.0 * spec.light_strength * direction)
    out = img.astype(np.float32) * gain[:, :, None]
    out += rng.normal(0.0, spec.noise_sigma, size=out.shape).astype(np.float32)
    return np.clip(out, 0, 255).astype(np.uint8)
