"""The media the built-in signal types' examples are computed from: a photo that ships with scikit-image."""

from __future__ import annotations

from unleak.signals.media import Media


def sample_media() -> Media:
    """scikit-image's coffee.png (a cup of coffee; a dependency of unleak, so always present)."""
    from unleak.samples import sample_images

    path = next((p for p in sample_images() if p.name == "coffee.png"), None)
    if path is None:  # pragma: no cover - scikit-image is a dependency
        raise FileNotFoundError("scikit-image's sample photo coffee.png is not installed")
    return Media.open(path)
