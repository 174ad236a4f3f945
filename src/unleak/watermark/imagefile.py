"""Marking image pixels and image files (JPEG/PNG/WebP/HEIC out in the input's format and quality)."""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from unleak.atomicfile import write_atomically
from unleak.errors import MediaError
from unleak.registration.align import to_gray

from .code import bias_vector, recipient_code
from .keys import WatermarkKey
from .spread import SCHEME, apply_delta, embed_luma_delta, jnd_amplitude, layout, pattern, perceptual_mask, photo_tag

# IJG standard luminance quantisation table (quality 50), in natural order.
_STD_LUMA = np.array(
    [
        16,
        11,
        10,
        16,
        24,
        40,
        51,
        61,
        12,
        12,
        14,
        19,
        26,
        58,
        60,
        55,
        14,
        13,
        16,
        24,
        40,
        57,
        69,
        56,
        14,
        17,
        22,
        29,
        51,
        87,
        80,
        62,
        18,
        22,
        37,
        56,
        68,
        109,
        103,
        77,
        24,
        35,
        55,
        64,
        81,
        104,
        113,
        92,
        49,
        64,
        78,
        87,
        103,
        121,
        120,
        101,
        72,
        92,
        95,
        98,
        112,
        100,
        103,
        99,
    ],
    dtype=np.float64,
)


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


def mark_pixels(
    pixels: np.ndarray, key: WatermarkKey, recipient_id: str, *, psnr_db: float | None = None, scheme: int = SCHEME
) -> np.ndarray:
    """A marked copy (uint8, same shape) of an image array for one recipient."""
    return next(iter(mark_many(pixels, key, [recipient_id], psnr_db=psnr_db, scheme=scheme)))


def mark_many(
    pixels: np.ndarray,
    key: WatermarkKey,
    recipient_ids: Sequence[str],
    *,
    psnr_db: float | None = None,
    scheme: int = SCHEME,
):
    """Marked copies for several recipients; the mask and layout are computed once."""
    one = image_marker(pixels, key, psnr_db=psnr_db, scheme=scheme)
    for rid in recipient_ids:
        yield one(rid)


def image_marker(
    pixels: np.ndarray, key: WatermarkKey, *, psnr_db: float | None = None, scheme: int = SCHEME
) -> Callable[[str], np.ndarray]:
    """A function recipient id -> marked copy, with the per-photo work (mask, layout) done once.

    Thread-safe: copies for many recipients can be made in parallel threads (NumPy and
    OpenCV release the GIL in the heavy parts).

    ``scheme`` 2 (the default): the layout is the photo's own and the amplitude follows a local
    visibility threshold (``psnr_db`` is then a ceiling, reached only where texture allows);
    1: the layout of every photo of this size, amplitude normalised over the image.
    """
    pixels = np.asarray(pixels)
    if pixels.dtype != np.uint8:
        raise ValueError("mark_pixels expects uint8 pixels")
    luma = to_gray(pixels)
    p = bias_vector(key.secret, key.params)
    psnr = key.psnr_db if psnr_db is None else psnr_db
    target = 255.0 / 10 ** (psnr / 20)
    if scheme == 1:
        mask = perceptual_mask(luma)
        lay = layout(key.secret, luma.shape, key.params.length)

        def one_v1(rid: str) -> np.ndarray:
            delta = embed_luma_delta(lay, recipient_code(key.secret, rid, key.params, p), luma, psnr, mask)
            return apply_delta(pixels, delta)

        return one_v1
    if scheme != 2:
        raise ValueError(f"unknown watermark scheme {scheme}")
    amp = jnd_amplitude(luma, target)
    lay2 = layout(key.secret, luma.shape, key.params.length, photo_tag(key.secret, pixels))

    def one_v2(rid: str) -> np.ndarray:
        pat = pattern(lay2, recipient_code(key.secret, rid, key.params, p), luma.shape)
        return apply_delta(pixels, pat, amp)

    return one_v2


# --- WebP: lossless or lossy, and the lossy quality ------------------------------------------
def webp_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """The top-level RIFF chunks (fourcc, payload) of a WebP file; [] if it is not one."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return []
    out, pos = [], 12
    while pos + 8 <= len(data):
        n = int.from_bytes(data[pos + 4 : pos + 8], "little")
        out.append((data[pos : pos + 4], data[pos + 8 : pos + 8 + n]))
        pos += 8 + n + (n & 1)  # payloads are padded to an even size
    return out


class _BoolDecoder:
    """The boolean entropy decoder of VP8 (RFC 6386, section 7), enough to read the frame header."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 2
        self.value, self.range, self.bits = (data[0] << 8) | data[1], 255, 0

    def bit(self) -> int:
        split = 1 + ((self.range - 1) >> 1)  # probability 1/2: the header's literals
        if self.value >= split << 8:
            self.range -= split
            self.value -= split << 8
            bit = 1
        else:
            self.range, bit = split, 0
        while self.range < 128:
            self.value, self.range, self.bits = (self.value << 1) & 0xFFFF, self.range << 1, self.bits + 1
            if self.bits == 8:
                self.bits = 0
                if self.pos < len(self.data):
                    self.value |= self.data[self.pos]
                    self.pos += 1
        return bit

    def uint(self, n: int) -> int:
        v = 0
        for _ in range(n):
            v = (v << 1) | self.bit()
        return v

    def skip_signed(self, n: int) -> None:  # an optional signed field: flag, magnitude, sign
        if self.bit():
            self.uint(n + 1)


def vp8_base_quantiser(vp8: bytes) -> int | None:
    """The frame's base AC quantiser index (0-127) from a lossy WebP's "VP8 " chunk (RFC 6386 9.2-9.6)."""
    if len(vp8) < 12 or vp8[0] & 1 or vp8[3:6] != b"\x9d\x01\x2a":
        return None  # not a key frame
    d = _BoolDecoder(vp8[10:])
    d.uint(2)  # colour space, clamping
    if d.bit():  # segmentation
        update_map, update_data = d.bit(), d.bit()
        if update_data:
            d.bit()
            for _ in range(4):
                d.skip_signed(7)
            for _ in range(4):
                d.skip_signed(6)
        if update_map:
            for _ in range(3):
                if d.bit():
                    d.uint(8)
    d.uint(10)  # filter type, level, sharpness
    if d.bit() and d.bit():  # loop-filter deltas
        for _ in range(8):
            d.skip_signed(6)
    d.uint(2)  # partitions
    return d.uint(7)


def _encode(im: Image.Image, fmt: str, quality: int, args: dict) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **{**args, "quality": quality})
    return buf.getvalue()


def _search_quality(measure, target: float) -> int:
    """The quality 1-100 whose ``measure(q)`` (increasing in q) is closest to ``target``; binary search."""
    lo, hi, seen = 1, 100, {}
    while lo <= hi:
        q = (lo + hi) // 2
        seen[q] = measure(q)
        if seen[q] < target:
            lo = q + 1
        else:
            hi = q - 1
    return min(seen, key=lambda q: (abs(seen[q] - target), -q))


def estimate_webp_quality(im: Image.Image, vp8: bytes, args: dict) -> int | None:
    """The libwebp quality whose re-encode of the decoded image uses the file's base quantiser."""
    q0 = vp8_base_quantiser(vp8)
    if q0 is None:
        return None

    def neg_quantiser(q: int) -> float:  # the quantiser falls as the quality rises
        chunk = next((b for t, b in webp_chunks(_encode(im, "WEBP", q, args)) if t == b"VP8 "), b"")
        return -float(vp8_base_quantiser(chunk) or 0)

    return _search_quality(neg_quantiser, -q0)


def estimate_quality_by_size(im: Image.Image, fmt: str, size: int, args: dict) -> int:
    """The quality whose re-encode of the decoded image is closest in size to the file (HEIC, AVIF)."""
    return _search_quality(lambda q: len(_encode(im, fmt, q, args)), size)


@dataclass
class SourceImage:
    pixels: np.ndarray
    format: str  # JPEG | PNG | WEBP | HEIF
    mode: str
    save_args: dict


def load_image(path: Path, *, estimate_quality: bool = True) -> SourceImage:
    """Decode an image for marking, remembering how to write it back the same way.

    ``estimate_quality=False`` skips the (re-encoding) quality search of WebP and HEIC when
    only the pixels are needed.
    """
    from unleak.media.image import _load_plugins

    _load_plugins()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            im: Image.Image = Image.open(path)
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
    elif fmt in ("HEIF", "HEIC", "AVIF") and im.info.get("chroma") in (420, 422, 444):
        args["chroma"] = im.info["chroma"]
    elif fmt not in ("PNG", "WEBP"):
        fmt = "PNG"  # GIF/BMP/TIFF are written as PNG: lossless, marks intact
    mode = im.mode
    if mode not in ("L", "RGB", "RGBA", "LA"):
        im = im.convert("RGBA" if "A" in mode or "transparency" in im.info else "RGB")
        mode = im.mode
    if mode == "LA":
        im = im.convert("RGBA")
        mode = "RGBA"
    if fmt == "WEBP":
        chunks = dict(webp_chunks(Path(path).read_bytes()))
        if b"VP8L" in chunks:
            args["lossless"] = True
        else:
            args["quality"] = (estimate_quality and estimate_webp_quality(im, chunks.get(b"VP8 ", b""), args)) or 90
    elif fmt in ("HEIF", "HEIC", "AVIF"):
        args["quality"] = 90  # when it cannot be estimated (no encoder: writing will say so)
        if estimate_quality:
            try:
                args["quality"] = estimate_quality_by_size(
                    im, "HEIF" if fmt == "HEIC" else fmt, Path(path).stat().st_size, args
                )
            except (OSError, ValueError, KeyError):
                pass
    return SourceImage(np.asarray(im), fmt, mode, args)


_EXT = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "HEIF": ".heic", "HEIC": ".heic", "AVIF": ".avif"}


def save_image(pixels: np.ndarray, src: SourceImage, path: Path, *, mode: int | None = None, gid: int = -1) -> Path:
    """Write marked pixels in the source's format and quality, whole or not at all (see
    unleak.atomicfile: `mode` and `gid` are the copy's from its first byte)."""
    im = Image.fromarray(pixels, src.mode)
    fmt = src.format
    args = dict(src.save_args)
    if fmt == "JPEG" and im.mode == "RGBA":
        im = im.convert("RGB")
    buf = io.BytesIO()
    im.save(buf, format="HEIF" if fmt == "HEIC" else fmt, **args)
    return write_atomically(path, buf.getvalue(), mode=mode, gid=gid)


def extension_for(src: SourceImage) -> str:
    return _EXT.get(src.format, ".png")
