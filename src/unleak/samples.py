"""Benign sample photos that ship inside PyPI packages, for the demo, tests and benchmarks.

Pictures of real people (scikit-image's astronaut, camera and lfw_subset, matplotlib's
grace_hopper) are left out on purpose.
"""

from __future__ import annotations

import os
from pathlib import Path

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
