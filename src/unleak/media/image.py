"""Image decoding with Pillow (+HEIF/AVIF plugins), checked against size limits before decoding."""

from __future__ import annotations

import io
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageFile

from unleak.config import MediaLimits
from unleak.errors import LimitExceeded, MediaError

# Truncated files are errors, never silently half-decoded.
ImageFile.LOAD_TRUNCATED_IMAGES = False
# We check pixel counts ourselves, with a clearer message; Pillow's own guard stays as a backstop.
Image.MAX_IMAGE_PIXELS = None

_plugins_loaded = False


def _load_plugins() -> None:
    global _plugins_loaded
    if _plugins_loaded:
        return
    try:
        import pillow_heif

        pillow_heif.register_heif_opener()
    except ImportError:  # pragma: no cover - optional at run time
        pass
    try:
        import pillow_avif  # noqa: F401  (registers the AVIF plugin on import)
    except ImportError:  # pragma: no cover
        pass
    _plugins_loaded = True


@contextmanager
def decoding(label: str) -> Iterator[None]:
    """Turn whatever a decoder raises for bad input into a MediaError that names the file."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    except MediaError:
        raise
    except Image.DecompressionBombError as exc:
        raise LimitExceeded(f"{label}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - decoders raise many kinds; see below
        # Decoders and their plugins raise all sorts for bad input (OSError, SyntaxError, struct
        # errors, the AVIF/HEIF bindings' RuntimeError, ...): any of them is this file's problem.
        reason = str(exc) or type(exc).__name__
        if "truncated" in reason.lower():
            reason = "the file is truncated"
        raise MediaError(
            f"{label}: cannot decode image: {reason}", hint="the file may be corrupt or incomplete"
        ) from None


def binary(source: Path | bytes) -> BinaryIO:
    """The file to decode, opened by us so it is closed when we are done, decoded or not.

    Pillow keeps a file it opened itself open after load() when the image has several frames
    (GIF, TIFF, APNG, ...), and a failed decode leaves it to the garbage collector: a scan meets
    thousands of such files.
    """
    return io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb")


def open_within_limits(fh: BinaryIO, limits: MediaLimits, label: str) -> Image.Image:
    """Open (not decode) an image and refuse it if it has more pixels than the limit allows."""
    image = Image.open(fh)
    pixels = image.width * image.height
    if pixels > limits.max_image_pixels:
        raise LimitExceeded(
            f"{label}: {image.width}x{image.height} is {pixels:,} pixels, over the limit of "
            f"{limits.max_image_pixels:,} (possible decompression bomb)",
            hint="raise UNLEAK_MAX_IMAGE_PIXELS if this image is genuine",
        )
    return image


def decode_image(
    source: Path | bytes,
    *,
    limits: MediaLimits | None = None,
    draft_size: tuple[int, int] | None = None,
    name: str | None = None,
) -> Image.Image:
    """Open and fully decode an image, or raise MediaError saying why not.

    `draft_size` lets JPEG decode at 1/2, 1/4 or 1/8 scale (libjpeg DCT scaling): the fast mode.
    The file is closed when this returns, decoded or not; only the first frame is read.
    """
    _load_plugins()
    limits = limits or MediaLimits.from_env()
    label = name or (str(source) if isinstance(source, Path) else "image")
    size = os.path.getsize(source) if isinstance(source, Path) else len(source)
    if size > limits.max_file_bytes:
        raise LimitExceeded(
            f"{label}: file is {size:,} bytes, over the limit of {limits.max_file_bytes:,}",
            hint="raise UNLEAK_MAX_FILE_BYTES if this file is genuine",
        )
    with decoding(label), binary(source) as fh:
        image = open_within_limits(fh, limits, label)
        if draft_size is not None and image.format == "JPEG":
            image.draft("RGB", draft_size)
        image.load()
    return image


def image_to_array(image: Image.Image) -> np.ndarray:
    """H x W x 3 (or 4) uint8 pixels, the way python-threatexchange hands them to PDQ.

    L and RGB(A) pass as they are (grey is repeated into three channels); every other mode
    (palette, CMYK, 16-bit, LA, ...) is converted to RGB first, so PDQ sees real colours.
    """
    if image.mode not in ("L", "RGB", "RGBA"):
        image = image.convert("RGB")
    array = np.asarray(image)
    if array.ndim == 2:
        array = np.repeat(array[..., np.newaxis], 3, axis=2)
    return array
