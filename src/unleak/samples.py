"""Benign sample photos that ship inside PyPI packages, for the demo, tests and benchmarks.

Pictures of real people (scikit-image's astronaut, camera and lfw_subset, matplotlib's
grace_hopper) are left out on purpose.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

_EXCLUDED = {"astronaut.png", "camera.png", "grace_hopper.jpg", "lfw_subset.npy"}
# Photographs and scans with texture; synthetic charts and tiny icons are left out.
_SKIMAGE = [
    "brick.png",
    "cell.png",
    "chelsea.png",
    "coffee.png",
    "coins.png",
    "color.png",
    "grass.png",
    "gravel.png",
    "horse.png",
    "hubble_deep_field.jpg",
    "ihc.png",
    "microaneurysms.png",
    "moon.png",
    "motorcycle_left.png",
    "motorcycle_right.png",
    "page.png",
    "retina.jpg",
    "rocket.jpg",
    "text.png",
    "clock_motion.png",
    "chessboard_RGB.png",
    "logo.png",
    "phantom.png",
]
_SKLEARN = ["china.jpg", "flower.jpg"]
_MATPLOTLIB = ["Minduka_Present_Blue_Pack.png", "logo2.png"]


def _package_dir(module: str) -> Path | None:
    try:
        mod = __import__(module, fromlist=["__file__"])
    except ImportError:
        return None
    if mod.__file__ is None:  # a namespace package: no folder of its own
        return None
    return Path(os.path.dirname(mod.__file__))


def sample_images() -> list[Path]:
    """Paths of the sample photos available on this machine, in a stable order."""
    found: list[Path] = []
    skimage_data = _package_dir("skimage.data")
    if skimage_data:
        found += [skimage_data / n for n in _SKIMAGE]
    sklearn_images = _package_dir("sklearn.datasets.images")
    if sklearn_images:
        found += [sklearn_images / n for n in _SKLEARN]
    try:
        import matplotlib

        mpl = Path(matplotlib.get_data_path()) / "sample_data"
        found += [mpl / n for n in _MATPLOTLIB]
    except ImportError:
        pass
    return [p for p in found if p.is_file() and p.name not in _EXCLUDED]


SMOOTH_KINDS = ("sky", "clouds", "gradient", "lake", "soft")


def smooth_image(kind: str, seed: int, size: tuple[int, int] = (768, 512)) -> np.ndarray:
    """A generated photo with little texture (uint8 RGB, ``size`` = (width, height)).

    ``sky``: a clear sky, brighter near the horizon; ``clouds``: a sky with soft clouds;
    ``gradient``: a two-colour diagonal gradient; ``lake``: sky over its darker reflection;
    ``soft``: a sample photo out of focus. Each has a camera's faint sensor noise (0.8 grey
    levels); the hard cases for registration and for an invisible mark.
    """
    import cv2

    w, h = size
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    t = yy / max(h - 1, 1)

    def soft_noise(sigma: float) -> np.ndarray:
        n = cv2.GaussianBlur(rng.standard_normal((h, w)).astype(np.float32), (0, 0), sigma)
        return n / (n.std() + 1e-6)

    top = rng.uniform([40, 80, 150], [90, 130, 210])
    bottom = rng.uniform([170, 190, 215], [215, 225, 245])
    if kind == "soft":
        photos = [p for p in sample_images() if p.suffix in (".png", ".jpg")]
        if photos:
            from PIL import Image

            im = Image.open(photos[seed % len(photos)]).convert("RGB").resize((w, h), Image.Resampling.BICUBIC)
            base = cv2.GaussianBlur(np.asarray(im, np.float32), (0, 0), max(w, h) / 80)
        else:  # no sample photos installed: blurred blobs
            base = np.dstack([127 + 50 * soft_noise(max(w, h) / 20) for _ in range(3)])
    elif kind == "gradient":
        a = rng.uniform(0, 2 * np.pi)
        u = (xx * np.cos(a) + yy * np.sin(a)) / np.hypot(w, h) + 0.5
        u = np.clip(u, 0, 1)[:, :, None]
        base = (1 - u) * rng.uniform(30, 120, 3) + u * rng.uniform(140, 240, 3)
    else:
        base = (1 - t[:, :, None]) * top + t[:, :, None] * bottom
        if kind in ("clouds", "lake"):
            c = np.clip(soft_noise(max(w, h) / 25) * 0.8 - 0.2, 0, None) ** 1.5
            base = base + 45 * c[:, :, None] * (1 - 0.3 * t[:, :, None])
        if kind == "lake":
            hz = int(h * rng.uniform(0.5, 0.65))
            refl = base[hz - 1 :: -1][: h - hz] * 0.7 + np.array([5, 15, 20])
            base[hz:] = refl + 1.5 * soft_noise(3)[hz:, :, None] * (refl.shape[0] and 1)
    base = base + 0.8 * rng.standard_normal(base.shape[:2] + (3,)).astype(np.float32)
    return np.clip(np.rint(base), 0, 255).astype(np.uint8)
