"""Marking image pixels and image files (JPEG/PNG/WebP/HEIC out in the input's format and quality)."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image

from unleak.errors import MediaError
from unleak.match.align import to_gray

from .code import bias_vector, recipient_code
from .keys import WatermarkKey
from .spread import apply_delta, embed_luma_delta, layout, perceptual_mask

# IJG standard luminance quantisation table (quality 50), in natural order.
_STD_LUMA = np.array([
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99], dtype=np.float64)


def estimate_jpeg_quality(image: Image.Image) -> int | None:
    """The IJG quality (1-100) whose luminance table is closest to the file's, or None."""
    q = getattr(image, "quantization", None)
    if not q or 0 not in q:
        return None
    table = np.asarray(q[0], dtype=np.float64)
    best, err = None, float("inf")
    for quality in range(1, 101):
        scale = 5000 / quality if quality < 50 else 200 - 2 * quality
        std = np.clip(np.floor((_STD_LUMA * scale + 50) / 100), 1, 255)
        # Pillow gives the table in natural order (it de-zigzags); compare sorted too, order-proof.
        e = min(np.abs(std - table).sum(), np.abs(np.sort(std) - np.sort(table)).sum())
        if e < err:
            best, err = quality, e
    return best


def mark_pixels(pixels: np.ndarray, key: WatermarkKey, recipient_id: str, *, psnr_db: float | None = None) -> np.ndarray:
    """A marked copy (uint8, same shape) of an image array for one recipient."""
    return next(iter(mark_many(pixels, key, [recipient_id], psnr_db=psnr_db)))


def mark_many(pixels: np.ndarray, key: WatermarkKey, recipient_ids: Sequence[str], *, psnr_db: float | None = None):
    """Marked copies for several recipients; the mask and layout are computed once."""
    pixels = np.asarray(pixels)
    if pixels.dtype != np.uint8:
        raise ValueError("mark_pixels expects uint8 pixels")
    luma = to_gray(pixels)
    mask = perceptual_mask(luma)
    lay = layout(key.secret, luma.shape, key.params.length)
    p = bias_vector(key.secret, key.params)
    psnr = key.psnr_db if psnr_db is None else psnr_db
    for rid in recipient_ids:
        delta = embed_luma_delta(lay, recipient_code(key.secret, rid, key.params, p), luma, psnr, mask)
        yield apply_delta(pixels, delta)


@dataclass
class SourceImage:
    pixels: np.ndarray
    format: str  # JPEG | PNG | WEBP | HEIF
    mode: str
    save_args: dict


def load_image(path: Path) -> SourceImage:
    """Decode an image for marking, remembering how to write it back the same way."""
    from unleak.media.image import _load_plugins

    _load_plugins()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            im = Image.open(path)
            im.load()
    except (OSError, ValueError, SyntaxError) as exc:
        raise MediaError(f"{path}: cannot read the image: {exc}") from None
    fmt = (im.format or "PNG").upper()
    args: dict = {}
    for k in ("icc_profile", "exif"):
        if im.info.get(k):
            args[k] = im.info[k]
    if fmt == "JPEG":
        from PIL import JpegImagePlugin

        args["quality"] = estimate_jpeg_quality(im) or 90
        sampling = JpegImagePlugin.get_sampling(im)
        if sampling >= 0:
            args["subsampling"] = sampling
    elif fmt == "WEBP":
        head = path.read_bytes()[:64]
        if b"VP8L" in head:
            args["lossless"] = True
        else:
            args["quality"] = 90
    elif fmt in ("HEIF", "HEIC", "AVIF"):
        args["quality"] = 90
    elif fmt != "PNG":
        fmt = "PNG"  # GIF/BMP/TIFF are written as PNG: lossless, marks intact
    mode = im.mode
    if mode not in ("L", "RGB", "RGBA", "LA"):
        im = im.convert("RGBA" if "A" in mode or "transparency" in im.info else "RGB")
        mode = im.mode
    if mode == "LA":
        im = im.convert("RGBA")
        mode = "RGBA"
    return SourceImage(np.asarray(im), fmt, mode, args)


_EXT = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "HEIF": ".heic", "HEIC": ".heic", "AVIF": ".avif"}


def save_image(pixels: np.ndarray, src: SourceImage, path: Path) -> Path:
    """Write marked pixels in the source's format and quality."""
    im = Image.fromarray(pixels, src.mode)
    fmt = src.format
    args = dict(src.save_args)
    if fmt == "JPEG" and im.mode == "RGBA":
        im = im.convert("RGB")
    buf = io.BytesIO()
    im.save(buf, format="HEIF" if fmt == "HEIC" else fmt, **args)
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(buf.getvalue())
    tmp.replace(path)
    return path


def extension_for(src: SourceImage) -> str:
    return _EXT.get(src.format, ".png")
