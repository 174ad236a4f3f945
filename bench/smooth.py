"""Generated smooth pictures: the low-texture content (flat colour, gradients, skin, sky) that
walls, skin and sky give real photos, and that local features barely describe.

Every picture is drawn from a seed alone (numpy and OpenCV only, a few milliseconds each), so
a corpus of thousands is rebuilt identically on any machine. Families:

- ``gradient``: a linear or radial blend of two or three colours, lightly dithered;
- ``shapes``: flat vector-like shapes (discs, rectangles, polygons) on a flat or graded ground;
- ``softfocus``: large defocused colour blobs, as a photo shot wide open;
- ``skin``: a warm-toned close-up of smooth shading (no face, no features: soft folds and light);
- ``sky``: a blue gradient with soft clouds;
- ``night``: a dark gradient with a few stars and a soft moon.

``plain gradient`` pictures carry no structure a crop could keep: a crop of one is expected to
be reported as inconclusive, never as a match to another picture.
"""

from __future__ import annotations

import cv2
import numpy as np

FAMILIES = ("gradient", "shapes", "softfocus", "skin", "sky", "night")


def _size(rng: np.random.Generator) -> tuple[int, int]:
    long_side = int(rng.integers(480, 721))
    aspect = float(rng.choice([4 / 3, 3 / 2, 1.0, 16 / 9, 3 / 4, 2 / 3]))
    w, h = (long_side, round(long_side / aspect)) if aspect >= 1 else (round(long_side * aspect), long_side)
    return h, w


def _field(rng: np.random.Generator, h: int, w: int, cells: int, octaves: int = 2) -> np.ndarray:
    """Smooth random field in [0, 1]: random values on a coarse grid, upsampled (bicubic)."""
    out = np.zeros((h, w), np.float32)
    amp = 1.0
    for o in range(octaves):
        n = cells * 2**o
        gh, gw = max(2, round(n * h / max(h, w))), max(2, round(n * w / max(h, w)))
        g = rng.random((gh, gw)).astype(np.float32)
        out += amp * cv2.resize(g, (w, h), interpolation=cv2.INTER_CUBIC)
        amp *= 0.45
    out -= out.min()
    return out / max(1e-6, float(out.max()))


def _blend(t: np.ndarray, colours: np.ndarray) -> np.ndarray:
    """Colours (k x 3) along t in [0, 1] (piecewise linear)."""
    stops = np.linspace(0, 1, len(colours))
    flat = np.clip(t, 0, 1).ravel()
    out = np.stack([np.interp(flat, stops, colours[:, c]) for c in range(3)], axis=-1)
    return out.reshape(*t.shape, 3).astype(np.float32)


def _finish(img: np.ndarray, rng: np.random.Generator, grain: float = 1.2) -> np.ndarray:
    img = img + grain * rng.standard_normal(img.shape, dtype=np.float32)  # sensor grain / dither
    return np.clip(img, 0, 255).astype(np.uint8)


def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    return x / max(1, w - 1), y / max(1, h - 1)


def gradient(rng: np.random.Generator) -> np.ndarray:
    h, w = _size(rng)
    x, y = _grid(h, w)
    cols = rng.uniform(20, 235, (int(rng.integers(2, 4)), 3)).astype(np.float32)
    if rng.random() < 0.5:
        a = rng.uniform(0, 2 * np.pi)
        t = (x - 0.5) * np.cos(a) + (y - 0.5) * np.sin(a)
        t = (t - t.min()) / max(1e-6, float(t.max() - t.min()))
    else:
        cx, cy = rng.uniform(0.1, 0.9, 2)
        t = np.sqrt((x - cx) ** 2 + (y - cy) ** 2)
        t = t / max(1e-6, float(t.max()))
    return _finish(_blend(t, cols), rng)


def shapes(rng: np.random.Generator) -> np.ndarray:
    h, w = _size(rng)
    x, y = _grid(h, w)
    base = rng.uniform(30, 230, (2, 3)).astype(np.float32)
    img = _blend(y if rng.random() < 0.5 else x, base)
    ss = 4  # drawn at 4x and reduced: anti-aliased edges like vector art
    for _ in range(int(rng.integers(3, 8))):
        mask = np.zeros((h * ss // 4, w * ss // 4), np.uint8)
        mh, mw = mask.shape
        kind = rng.integers(0, 3)
        cx, cy = int(rng.integers(0, mw)), int(rng.integers(0, mh))
        r = int(rng.uniform(0.08, 0.3) * min(mh, mw))
        if kind == 0:
            cv2.circle(mask, (cx, cy), r, 255, -1, cv2.LINE_AA)
        elif kind == 1:
            cv2.rectangle(mask, (cx - r, cy - r // 2), (cx + r, cy + r), 255, -1)
        else:
            pts = np.array(
                [[cx + rng.integers(-r, r), cy + rng.integers(-r, r)] for _ in range(int(rng.integers(3, 6)))]
            )
            cv2.fillPoly(mask, [pts.astype(np.int32)], 255, cv2.LINE_AA)
        m = cv2.resize(mask, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32)[..., None] / 255
        colour = rng.uniform(0, 255, 3).astype(np.float32)
        img = img * (1 - m) + colour * m
    return _finish(img, rng, 0.8)


def softfocus(rng: np.random.Generator) -> np.ndarray:
    h, w = _size(rng)
    sh, sw = h // 4, w // 4  # drawn at a quarter and enlarged: it is all blur anyway
    img = np.zeros((sh, sw, 3), np.float32) + rng.uniform(20, 120, 3).astype(np.float32)
    for _ in range(int(rng.integers(6, 16))):
        layer = np.zeros((sh, sw), np.float32)
        cx, cy = int(rng.integers(0, sw)), int(rng.integers(0, sh))
        cv2.circle(layer, (cx, cy), int(rng.uniform(0.05, 0.25) * max(sh, sw)), 1.0, -1, cv2.LINE_AA)
        layer = cv2.GaussianBlur(layer, (0, 0), rng.uniform(0.03, 0.08) * max(sh, sw))[..., None]
        img += layer * rng.uniform(30, 160, 3).astype(np.float32) * rng.uniform(0.4, 1.0)
    return _finish(cv2.resize(img, (w, h), interpolation=cv2.INTER_CUBIC), rng)


SKIN = np.array([[255, 224, 196], [234, 192, 160], [198, 144, 110], [141, 85, 60], [92, 56, 40]], np.float32)


def skin(rng: np.random.Generator) -> np.ndarray:
    h, w = _size(rng)
    k = int(rng.integers(0, len(SKIN) - 1))
    tones = SKIN[k : k + 2] * rng.uniform(0.9, 1.05)
    light = _field(rng, h, w, int(rng.integers(2, 4)))
    folds = _field(rng, h, w, int(rng.integers(3, 6)), 1)
    t = 0.7 * light + 0.3 * folds
    img = _blend(t, np.vstack([tones[1] * 0.75, tones[1], tones[0], tones[0] * 1.04]))
    return _finish(img, rng, 1.5)


def sky(rng: np.random.Generator) -> np.ndarray:
    h, w = _size(rng)
    _, y = _grid(h, w)
    top = np.array([rng.uniform(20, 80), rng.uniform(70, 140), rng.uniform(160, 230)], np.float32)
    bottom = np.array([rng.uniform(150, 220), rng.uniform(190, 235), rng.uniform(225, 255)], np.float32)
    img = _blend(y, np.stack([top, bottom]))
    cloud = _field(rng, h, w, int(rng.integers(3, 7)), 3)
    cover = rng.uniform(0.45, 0.75)
    c = np.clip((cloud - cover) / (1 - cover) * 2.2, 0, 1)[..., None]
    white = np.float32(rng.uniform(225, 250))
    img = img * (1 - c) + white * c
    return _finish(img, rng)


def night(rng: np.random.Generator) -> np.ndarray:
    h, w = _size(rng)
    _, y = _grid(h, w)
    top = rng.uniform(2, 20, 3).astype(np.float32)
    bottom = np.array([rng.uniform(15, 50), rng.uniform(15, 45), rng.uniform(40, 90)], np.float32)
    img = _blend(y, np.stack([top, bottom]))
    n = int(rng.integers(15, 120))
    stars = np.zeros((h, w), np.float32)
    xs, ys = rng.integers(0, w, n), rng.integers(0, h, n)
    stars[ys, xs] = rng.uniform(60, 255, n)
    stars = cv2.GaussianBlur(stars, (0, 0), 0.8) * 4
    img += stars[..., None]
    if rng.random() < 0.6:
        moon = np.zeros((h, w), np.float32)
        cv2.circle(moon, (int(rng.integers(0, w)), int(rng.integers(0, h // 2))), int(0.06 * max(h, w)), 1.0, -1)
        img += cv2.GaussianBlur(moon, (0, 0), 3.0)[..., None] * np.float32(200)
    return _finish(img, rng, 1.5)


MAKERS = {
    "gradient": gradient,
    "shapes": shapes,
    "softfocus": softfocus,
    "skin": skin,
    "sky": sky,
    "night": night,
}


def smooth_picture(family: str, seed: int | list[int]) -> np.ndarray:
    """One picture of `family` (see FAMILIES), RGB uint8, the same for the same seed."""
    return MAKERS[family](np.random.default_rng(seed))


def soft_focus(pixels: np.ndarray, sigma_share: float = 0.012) -> np.ndarray:
    """A photo defocused (a smooth photo from a textured one)."""
    s = sigma_share * max(pixels.shape[:2])
    return cv2.GaussianBlur(pixels, (0, 0), s)
