"""PDQ in numba, computed only where PDQ looks: the fast mode of the `pdq` signal.

Meta's PDQ (pdq/cpp/hashing/pdqhashing.cpp) turns an image into float luma
(0.299 R + 0.587 G + 0.114 B), blurs it with a Jarosz tent (two passes of box filters
along rows then columns, window ceil(n / 128)), keeps the 64 x 64 samples at
int((i + 0.5) * n / 64), takes the 16 x 16 lowest non-DC DCT coefficients and sets a
bit where a coefficient is above their median.

The blur and the decimation are linear, so each of the 64 sampled rows and columns is a
fixed weighted sum of a band of input rows and columns. We build those weights once per
image size and apply them directly: about 2 multiply-adds per pixel instead of PDQ's
four full-image filter passes. The weights reproduce the reference's clipped box windows at
the borders; only the floating-point order differs, so at full resolution the hash equals
`pdqhash.compute` on all the sample images we test (tests/test_pdq_fast.py).

The same weights also work from a JPEG decoded at 1/2, 1/4 or 1/8 scale by libjpeg's DCT
scaling: a reduced pixel stands for the mean of an s x s block, so the weight of a reduced
pixel is the sum of the full-resolution weights of the pixels it covers. That keeps the
geometry of the full-resolution hash (window size, sample positions, borders) and is why
fast mode agrees with the exact hash far better than hashing the reduced image as it is.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import numba
import numpy as np

from unleak.config import MediaLimits
from unleak.errors import LimitExceeded

PDQ_SIDE = 64
MIN_HASHABLE_DIM = 5  # the reference returns an all-zero hash of quality 0 below this

# Fast mode decodes a JPEG at the smallest DCT scale (1/2, 1/4, 1/8) at which PDQ's tent window,
# ceil(side / 128) full-resolution pixels, still spans this many reduced pixels: 1/8 at 12 MP,
# 1/2 at 1 MP. unleak.signals.pdq.FAST_WINDOW_PIXELS is what PdqSignal passes.
FAST_WINDOW_PIXELS = 3


def _dct_matrix() -> np.ndarray:
    """The reference's 16 x 64 DCT matrix, rounded to float32 the way the C++ stores it."""
    scale = np.float32(np.sqrt(2.0 / 64.0))
    i = np.arange(1, 17, dtype=np.float64)[:, None]
    j = np.arange(64, dtype=np.float64)[None, :]
    return (np.float64(scale) * np.cos((np.pi / 2.0 / 64.0) * i * (2 * j + 1))).astype(np.float32)


_DCT = _dct_matrix()


def jarosz_window(old: int, new: int = PDQ_SIDE) -> int:
    """computeJaroszFilterWindowSize: a half of old/new, rounded up (each of the two passes)."""
    return (old + 2 * new - 1) // (2 * new)


@numba.njit(cache=True, nogil=True)
def _axis_weights(n, scale):  # type: ignore[no-untyped-def]  # numba types it when it compiles it
    w = (n + 2 * PDQ_SIDE - 1) // (2 * PDQ_SIDE)  # computeJaroszFilterWindowSize
    half = (w + 2) // 2  # box1DFloat: 7 -> 4, 8 -> 5
    left = w - half  # box1DFloat's out[k] is the mean of in[k - left .. k + right], clipped
    right = half - 1
    reduced = (n + scale - 1) // scale
    starts = np.empty(PDQ_SIDE, dtype=np.int64)
    ends = np.empty(PDQ_SIDE, dtype=np.int64)
    for i in range(PDQ_SIDE):
        c = int(((i + 0.5) * n) / PDQ_SIDE)  # decimateFloat samples centres, not corners
        kmin, kmax = max(c - left, 0), min(c + right, n - 1)
        starts[i] = max(kmin - left, 0) // scale
        ends[i] = min(kmax + right, n - 1) // scale
    width = int((ends - starts).max()) + 1
    weights = np.zeros((PDQ_SIDE, width), dtype=np.float64)
    full = np.zeros(n, dtype=np.float64)
    for i in range(PDQ_SIDE):
        c = int(((i + 0.5) * n) / PDQ_SIDE)
        kmin, kmax = max(c - left, 0), min(c + right, n - 1)
        jmin, jmax = max(kmin - left, 0), min(kmax + right, n - 1)
        full[jmin : jmax + 1] = 0.0
        for k in range(kmin, kmax + 1):  # the second box averages the first box's outputs
            lo, hi = max(k - left, 0), min(k + right, n - 1)
            inv = 1.0 / (hi - lo + 1)
            for j in range(lo, hi + 1):
                full[j] += inv
        count = kmax - kmin + 1
        for j in range(jmin, jmax + 1):  # a reduced pixel is the mean of `scale` pixels
            weights[i, j // scale - starts[i]] += full[j] / count
    return starts, weights, reduced


@lru_cache(maxsize=512)
def axis_weights(full: int, scale: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Weights of PDQ's blur-and-decimate along one axis of `full` pixels.

    Returns (starts, weights): output i (0..63) is sum_t weights[i, t] * x[starts[i] + t],
    where x has ceil(full / scale) pixels, each the mean of `scale` full-resolution pixels.
    """
    starts, weights, _ = _axis_weights(full, scale)
    starts.setflags(write=False)
    weights.setflags(write=False)
    return starts, weights


@numba.njit(cache=True, nogil=True)
def _downsample(img, ys, yw, xs, xw):  # type: ignore[no-untyped-def]  # numba types it when it compiles it
    """64 x 64 float32 samples of the blurred luma of `img` (H x W grey, or H x W x C RGB[A])."""
    h, w = img.shape[0], img.shape[1]
    rgb = img.ndim == 3
    acc = np.zeros((PDQ_SIDE, w), dtype=np.float64)
    row = np.empty(w, dtype=np.float64)
    band = yw.shape[1]
    first = 0
    for r in range(h):
        while first < PDQ_SIDE and ys[first] + band <= r:
            first += 1
        if first == PDQ_SIDE or ys[first] > r:
            continue
        if rgb:
            for c in range(w):
                # pdqhash rounds the float64 luma to float32 before hashing
                row[c] = np.float32(img[r, c, 0] * 0.299 + img[r, c, 1] * 0.587 + img[r, c, 2] * 0.114)
        else:
            for c in range(w):
                row[c] = img[r, c]
        for i in range(first, PDQ_SIDE):
            if ys[i] > r:
                break
            t = r - ys[i]
            if t < band:
                wt = yw[i, t]
                if wt != 0.0:
                    out = acc[i]
                    for c in range(w):
                        out[c] += wt * row[c]
    result = np.empty((PDQ_SIDE, PDQ_SIDE), dtype=np.float32)
    band_x = xw.shape[1]
    for i in range(PDQ_SIDE):
        for j in range(PDQ_SIDE):
            s = 0.0
            x0 = xs[j]
            for t in range(band_x):
                if x0 + t < w:
                    s += xw[j, t] * acc[i, x0 + t]
            result[i, j] = np.float32(s)
    return result


@numba.njit(cache=True, nogil=True)
def _quality(a):  # type: ignore[no-untyped-def]  # numba types it when it compiles it
    """pdqImageDomainQualityMetric, with the reference's float32 arithmetic and truncations."""
    total = 0
    hundred = np.float32(100.0)
    scale = np.float32(255.0)
    for i in range(63):
        for j in range(64):
            d = int(((a[i, j] - a[i + 1, j]) * hundred) / scale)
            total += abs(d)
    for i in range(64):
        for j in range(63):
            d = int(((a[i, j] - a[i, j + 1]) * hundred) / scale)
            total += abs(d)
    q = total // 90
    return min(q, 100)


@numba.njit(cache=True, nogil=True)
def _dct16(a, d):  # type: ignore[no-untyped-def]  # numba types it when it compiles it
    """B = D A D^T, keeping coefficients (1..16) x (1..16); float32 out like the reference."""
    t = np.zeros((16, 64), dtype=np.float64)
    for i in range(16):
        for k in range(64):
            dik = np.float64(d[i, k])
            for j in range(64):
                t[i, j] += dik * a[k, j]
    b = np.empty((16, 16), dtype=np.float32)
    for i in range(16):
        for j in range(16):
            s = 0.0
            for k in range(64):
                s += t[i, k] * d[j, k]
            b[i, j] = np.float32(s)
    return b


@numba.njit(cache=True, nogil=True)
def _torben(m):  # type: ignore[no-untyped-def]  # numba types it when it compiles it
    """Torben Mogensen's median, as the reference thresholds with it (the lower median of 256)."""
    n = m.size
    lo = m[0]
    hi = m[0]
    for i in range(1, n):
        if m[i] < lo:
            lo = m[i]
        if m[i] > hi:
            hi = m[i]
    half = (n + 1) // 2
    while True:
        guess = np.float32((lo + hi) / np.float32(2.0))
        less = 0
        greater = 0
        equal = 0
        maxlt = lo
        mingt = hi
        for i in range(n):
            v = m[i]
            if v < guess:
                less += 1
                if v > maxlt:
                    maxlt = v
            elif v > guess:
                greater += 1
                if v < mingt:
                    mingt = v
            else:
                equal += 1
        if less <= half and greater <= half:
            break
        elif less > greater:
            hi = maxlt
        else:
            lo = mingt
    if less >= half:
        return maxlt
    elif less + equal >= half:
        return guess
    return mingt


@numba.njit(cache=True, nogil=True)
def _pdq_float(img, ys, yw, xs, xw, d):  # type: ignore[no-untyped-def]  # numba types it when it compiles it
    a = _downsample(img, ys, yw, xs, xw)
    return _dct16(a, d), _quality(a)


def _bits_hex(dct16: np.ndarray) -> str:
    """Bit k = 16 i + j is set when B[i, j] > median; hex is w[15]..w[0], as threatexchange writes it."""
    flat = np.ascontiguousarray(dct16, dtype=np.float32).ravel()
    bits = flat > _torben(flat)
    return np.packbits(bits[::-1]).tobytes().hex()


def pdq_float(luma: np.ndarray, full_size: tuple[int, int] | None = None) -> tuple[np.ndarray, int]:
    """16 x 16 float32 PDQ coefficients and quality of `luma` (H x W grey or H x W x 3/4 RGB[A], uint8).

    `full_size` = (width, height) of the image `luma` was reduced from by JPEG DCT scaling
    (1/2, 1/4 or 1/8); the hash then follows the full-resolution geometry.
    """
    if luma.dtype != np.uint8 or luma.ndim not in (2, 3):
        raise TypeError(f"PDQ needs H x W or H x W x C uint8 pixels, not {luma.ndim}-d {luma.dtype}")
    if luma.ndim == 3 and luma.shape[2] < 3:
        luma = luma[:, :, 0]
    h, w = luma.shape[:2]
    full_w, full_h = full_size if full_size is not None else (w, h)
    if full_h < MIN_HASHABLE_DIM or full_w < MIN_HASHABLE_DIM:
        return np.zeros((16, 16), np.float32), 0  # all-zero hash, as the reference gives
    sx, sy = _scale_of(full_w, w), _scale_of(full_h, h)
    ys, yw = axis_weights(full_h, sy)
    xs, xw = axis_weights(full_w, sx)
    # one compiled specialisation per ndim: keep the layout C-contiguous
    dct: np.ndarray
    dct, quality = _pdq_float(np.ascontiguousarray(luma), ys, yw, xs, xw, _DCT)
    return dct, int(quality)


def _scale_of(full: int, have: int) -> int:
    for scale in (1, 2, 4, 8):
        if -(-full // scale) == have:
            return scale
    raise ValueError(f"{have} pixels is not {full} scaled by 1/2, 1/4 or 1/8")


def hash_luma(luma: np.ndarray, full_size: tuple[int, int] | None = None) -> tuple[str, int]:
    """PDQ (hex, quality) of uint8 pixels; see `pdq_float`. All-zero hash below 5 x 5 pixels."""
    coeffs, quality = pdq_float(luma, full_size)
    return _bits_hex(coeffs), int(quality)


# The reference's sign patterns for the 8 rotations and flips, applied in the DCT domain
# (pdqhashing.cpp dct16OriginalTo*). Order as pdqhash.compute_dihedral returns them.
_I, _J = np.meshgrid(np.arange(16), np.arange(16), indexing="ij")


def _dihedral(b: np.ndarray) -> list[np.ndarray]:
    odd_i, odd_j, odd_ij = (_I & 1) == 1, (_J & 1) == 1, ((_I + _J) & 1) == 1
    return [
        b,
        np.where(odd_j, b, -b).T,  # rot90: B[j][i] = +-A[i][j], minus where j is even
        np.where(odd_ij, -b, b),  # rot180
        np.where(odd_i, b, -b).T,  # rot270
        np.where(odd_i, b, -b),  # flipX
        np.where(odd_j, b, -b),  # flipY
        b.T,  # flipPlus1
        np.where(odd_ij, -b, b).T,  # flipMinus1
    ]


def hash_luma_dihedral(luma: np.ndarray, full_size: tuple[int, int] | None = None) -> tuple[list[str], int]:
    """PDQ of the 8 rotations and flips, in pdqhash.compute_dihedral's order: (8 hex values, quality)."""
    coeffs, quality = pdq_float(luma, full_size)
    return [_bits_hex(v) for v in _dihedral(coeffs)], int(quality)


class FastImage(NamedTuple):
    """Pixels for fast mode and the full-resolution size they stand for."""

    pixels: np.ndarray  # uint8: H x W luma, or H x W x 3/4 RGB[A] at full resolution
    full_size: tuple[int, int]  # (width, height)


def fast_scale(width: int, height: int, window_pixels: int = FAST_WINDOW_PIXELS) -> int:
    """The DCT scale denominator (1, 2, 4 or 8) fast mode decodes a width x height JPEG at."""
    window = min(jarosz_window(width), jarosz_window(height))
    for scale in (8, 4, 2):
        if scale * window_pixels <= window:
            return scale
    return 1


def decode_jpeg_fast(
    source: Path | bytes,
    *,
    limits: MediaLimits | None = None,
    name: str | None = None,
    window_pixels: int = FAST_WINDOW_PIXELS,
) -> FastImage:
    """Decode only the luma (the JPEG's Y channel) of a JPEG, at the scale `fast_scale` picks.

    Skipping the chroma and colour conversion and using libjpeg's DCT scaling makes this
    several times cheaper than a full decode. Non-YCbCr JPEGs (CMYK, ...) come back as RGB.
    Same limits and errors as `unleak.media.decode_image`.
    """
    from unleak.media.image import binary, decoding, open_within_limits

    limits = limits or MediaLimits.from_env()
    label = name or (str(source) if isinstance(source, Path) else "image")
    if isinstance(source, bytes) and len(source) > limits.max_file_bytes:
        raise LimitExceeded(
            f"{label}: file is {len(source):,} bytes, over the limit of {limits.max_file_bytes:,}",
            hint="raise UNLEAK_MAX_FILE_BYTES if this file is genuine",
        )
    with decoding(label), binary(source) as fh:
        image = open_within_limits(fh, limits, label)
        width, height = image.size
        scale = fast_scale(width, height, window_pixels)
        if image.format == "JPEG":
            # draft() picks the largest scale whose output is at least the size asked for
            image.draft("L", (width // scale, height // scale))
        image.load()
    if image.mode not in ("L", "RGB", "RGBA"):
        image = image.convert("RGB")
    return FastImage(np.asarray(image), (width, height))


def hash_fast(image: FastImage) -> tuple[str, int]:
    return hash_luma(image.pixels, image.full_size)


def hash_fast_dihedral(image: FastImage) -> tuple[list[str], int]:
    return hash_luma_dihedral(image.pixels, image.full_size)
