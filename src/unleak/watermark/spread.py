"""Spread-spectrum embedding of a codeword in the low/mid-frequency luma of an image.

Layout. The image is seen through a *work grid* of ``GRID`` pixels on its long side. The
band of 2-D DCT-II coefficients of that grid with normalised radius
``rho = sqrt((kx/Nx)^2 + (ky/Ny)^2)`` in ``[RHO_LO, RHO_HI]`` is shuffled with the case key;
coefficient ``n`` of the shuffled band carries code position ``n mod m`` with a keyed
random sign (a chip). ``RHO_HI = 0.2`` keeps the mark below 0.4x the Nyquist frequency of
a copy shrunk to 25 %, and well inside the few lowest DCT coefficients of each JPEG block.

Pattern. ``P = upsample(IDCT(C))`` where ``C`` holds ``chip * (2 X_i - 1)`` on the band.
The mark added to every colour channel is ``alpha * M * P``: ``M`` is a smooth perceptual
mask (local contrast of the original: stronger in texture, weaker in flat areas), ``alpha``
sets the mean squared error to the target PSNR.

Informed extraction. The caller gives the residual ``r`` (leaked copy minus the
photometrically fitted original, in the original's geometry) and per-pixel weights.
``z_i = sum_{band n -> i} chip_n * DCT(downsample(M * w * r))_n`` is the matched filter of
the mark; it is linear in ``r``, so averaging copies averages their codewords.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import cv2
import numpy as np
from scipy.fft import dctn, idctn

from .code import keyed_rng

GRID = 512
RHO_LO = 0.008
RHO_HI = 0.2


@dataclass(frozen=True)
class Layout:
    grid: tuple[int, int]  # (rows, cols) of the work grid
    rows: np.ndarray  # band coefficient row indices, in keyed order
    cols: np.ndarray
    chips: np.ndarray  # +-1 per band coefficient
    bit: np.ndarray  # code position carried by each band coefficient
    length: int

    @property
    def norm(self) -> float:
        """RMS of an unmasked pattern on the grid (fixed, code independent)."""
        return math.sqrt(len(self.rows) / (self.grid[0] * self.grid[1]))


def grid_shape(h: int, w: int) -> tuple[int, int]:
    s = GRID / max(h, w)
    return max(16, round(h * s)), max(16, round(w * s))


# The marking scheme, recorded with every marked copy so that a copy is traced the way it was
# made. 1: one layout per case and image size, mask normalised over the whole image.
# 2: one layout per case and *photo* (keyed by the original's digest, see photo_tag), and a
# local just-noticeable-difference mask (see jnd_amplitude). The code stays per recipient.
SCHEME = 2
SCHEMES = (2, 1)  # every scheme a tracer knows, newest first


def photo_tag(key: bytes, pixels: np.ndarray) -> bytes:
    """HMAC of the original's pixels under the case key: the per-photo part of the layout.

    Computed from the decoded pixels (shape and bytes), so the owner's original file gives it
    back at trace time; without the key it says nothing about the photo.
    """
    import hashlib
    import hmac

    a = np.ascontiguousarray(pixels)
    digest = hashlib.sha256(str(a.shape).encode("ascii") + a.tobytes()).digest()
    return hmac.new(bytes(key), b"unleak-photo/" + digest, hashlib.sha256).digest()[:16]


@functools.lru_cache(maxsize=32)
def _layout_cached(key: bytes, grid: tuple[int, int], length: int, photo: bytes = b"") -> Layout:
    gh, gw = grid
    ky, kx = np.meshgrid(np.arange(gh), np.arange(gw), indexing="ij")
    rho = np.sqrt((kx / gw) ** 2 + (ky / gh) ** 2)
    sel = (rho >= RHO_LO) & (rho <= RHO_HI)
    rows, cols = ky[sel], kx[sel]
    rng = keyed_rng(key, f"layout/{gh}x{gw}" + (f"/{photo.hex()}" if photo else ""))
    order = rng.permutation(len(rows))
    rows, cols = rows[order], cols[order]
    chips = rng.integers(0, 2, len(rows)) * 2 - 1
    bit = np.arange(len(rows)) % length
    for a in (rows, cols, chips, bit):
        a.setflags(write=False)
    return Layout((gh, gw), rows, cols, chips.astype(np.float64), bit, length)


def layout(key: bytes, shape: tuple[int, int], length: int, photo: bytes = b"") -> Layout:
    """The keyed band layout for an image of ``shape`` (h, w) and a code of ``length``;
    ``photo`` (a :func:`photo_tag`) makes it the photo's own (scheme 2), empty = scheme 1."""
    return _layout_cached(bytes(key), grid_shape(*shape[:2]), length, bytes(photo))


# --- scheme 2: a local just-noticeable-difference model ---------------------------------------
JND_FLOOR = 1.0  # RMS grey levels allowed where the picture is flat (local sd < 2)
JND_TEXTURE = 0.6  # extra RMS allowed per grey level of local standard deviation (contrast masking)
JND_FLAT_SD = 1.5  # local standard deviation (grey levels) below which a region counts as flat


def _local_sd(luma: np.ndarray) -> tuple[np.ndarray, float]:
    """Local standard deviation (Gaussian window, about 5 px at 1024 px), on a grid of at most
    1024 px, and the scale of that grid."""
    h, w = luma.shape
    s = min(1.0, 1024 / max(h, w))
    small = (
        cv2.resize(luma, (max(8, round(w * s)), max(8, round(h * s))), interpolation=cv2.INTER_AREA) if s < 1 else luma
    ).astype(np.float32)
    mu = cv2.GaussianBlur(small, (0, 0), 2.0)
    var = cv2.GaussianBlur(small * small, (0, 0), 2.0) - mu * mu
    return np.sqrt(np.maximum(var, 0)), s


def jnd_amplitude(luma: np.ndarray, target_rms: float) -> np.ndarray:
    """Per-pixel RMS amplitude of the mark in grey levels (float32, HxW), scheme 2.

    The shape is the contrast-masking curve of scheme 1 (``(sd + 2) ** 0.6``: more in texture),
    scaled so the whole image reaches ``target_rms``, but never above the local visibility
    threshold ``JND_FLOOR + JND_TEXTURE * sd`` (smoothed, so that the cap itself makes no
    edge): a flat sky gets at most 1 grey level RMS, whatever the rest of the photo allows,
    and a mostly flat photo is marked more weakly rather than visibly. Near black and white
    the amplitude fades as in scheme 1 (additions would be clipped).
    """
    h, w = luma.shape
    sd, s = _local_sd(luma)
    sigma = 6.0 * max(1.0, min(h, w) * s / 512)
    shape = cv2.GaussianBlur((sd + 2.0) ** 0.6, (0, 0), sigma)
    # The cap follows the local contrast from below: the minimum over a neighbourhood (so the
    # mark of a textured area does not spill into the flat area beside it), then smoothed.
    k = max(3, round(sigma) | 1)
    sd_min = cv2.erode(sd, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * k + 1, 2 * k + 1)))
    cap = cv2.GaussianBlur(JND_FLOOR + JND_TEXTURE * np.maximum(sd_min - JND_FLAT_SD, 0), (0, 0), sigma / 2)
    lum = cv2.resize(luma, (sd.shape[1], sd.shape[0]), interpolation=cv2.INTER_AREA) if s < 1 else luma
    fade = cv2.GaussianBlur(np.clip(np.minimum(lum, 255 - lum) / 12.0, 0.15, 1.0).astype(np.float32), (0, 0), 3.0)
    # The largest gain with RMS(min(gain * shape, cap) * fade) <= target (bisection).
    lo, hi = 0.0, 64.0 * target_rms / max(float(np.sqrt(np.mean(shape * shape))), 1e-6)
    for _ in range(30):
        mid = 0.5 * (lo + hi)
        a = np.minimum(mid * shape, cap) * fade
        if float(np.sqrt(np.mean(a * a))) > target_rms:
            hi = mid
        else:
            lo = mid
    amp = (np.minimum(lo * shape, cap) * fade).astype(np.float32)
    if s < 1:
        amp = cv2.resize(amp, (w, h), interpolation=cv2.INTER_LINEAR)
    return amp


def perceptual_mask(luma: np.ndarray) -> np.ndarray:
    """Smooth local-contrast mask, mean square 1: more mark in texture, less in flat areas."""
    h, w = luma.shape
    s = min(1.0, 1024 / max(h, w))
    small = (
        cv2.resize(luma, (max(8, round(w * s)), max(8, round(h * s))), interpolation=cv2.INTER_AREA) if s < 1 else luma
    )
    small = small.astype(np.float32)
    mu = cv2.GaussianBlur(small, (0, 0), 2.0)
    var = cv2.GaussianBlur(small * small, (0, 0), 2.0) - mu * mu
    sd = np.sqrt(np.maximum(var, 0))
    m: np.ndarray = (sd + 2.0) ** 0.6
    m = cv2.GaussianBlur(m, (0, 0), 6.0 * max(1.0, min(h, w) * s / 512))
    if s < 1:
        m = cv2.resize(m, (w, h), interpolation=cv2.INTER_LINEAR)
    # Fade out near saturation, where additions would be clipped anyway.
    lum = luma.astype(np.float32)
    fade = np.clip(np.minimum(lum, 255 - lum) / 12.0, 0.15, 1.0)
    m = m * cv2.GaussianBlur(fade, (0, 0), 3.0)
    return (m / np.sqrt(np.mean(m * m))).astype(np.float32)


def pattern(lay: Layout, code: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Unit-RMS band pattern of a codeword (0/1 or soft values in [-1, 1]) at ``shape``."""
    code = np.asarray(code)
    sym = (2.0 * code - 1.0) if code.dtype == np.uint8 or code.dtype == bool else code.astype(np.float64)
    c = np.zeros(lay.grid, np.float64)
    c[lay.rows, lay.cols] = lay.chips * sym[lay.bit]
    g = idctn(c, norm="ortho") / lay.norm
    h, w = shape[:2]
    return cv2.resize(g.astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)


def embed_luma_delta(
    lay: Layout, code: np.ndarray, luma: np.ndarray, psnr_db: float, mask: np.ndarray | None = None
) -> np.ndarray:
    """The luma change (float32, HxW) that marks ``luma`` with ``code`` at ``psnr_db``."""
    if mask is None:
        mask = perceptual_mask(luma)
    d = mask * pattern(lay, code, luma.shape)
    target = 255.0 / 10 ** (psnr_db / 20)
    rms = float(np.sqrt(np.mean(d * d)))
    return (d * (target / max(rms, 1e-9))).astype(np.float32)


def apply_delta(pixels: np.ndarray, delta: np.ndarray, gain: np.ndarray | None = None) -> np.ndarray:
    """Add a luma change (``delta``, times ``gain`` when given) to every colour channel of a
    uint8 image (alpha untouched), rounded once and clipped to 0..255.

    In OpenCV's saturating 8-bit arithmetic, the change offset by 128: at 12 MP the memory
    traffic is the cost, and this touches the image about half as often as 16-bit integers."""
    d: np.ndarray = np.ascontiguousarray(delta, dtype=np.float32)
    if gain is not None:
        d = np.asarray(cv2.multiply(d, np.ascontiguousarray(gain, dtype=np.float32)))
    # round(d) + 128 (OpenCV rounds half to even, as np.rint), exact while |d| < 127.5.
    d8 = cv2.add(d, 128.0, dtype=cv2.CV_8U)  # type: ignore[call-overload]  # a scalar is allowed
    lo, hi, _, _ = cv2.minMaxLoc(d8)
    px = np.ascontiguousarray(pixels)
    if lo == 0 or hi == 255:  # a change beyond the offset's range: the plain way
        a = px.astype(np.int16)
        r = np.rint(d).astype(np.int16)
        if a.ndim == 2:
            a += r
        else:
            a[:, :, : (3 if a.shape[2] >= 3 else 1)] += r[:, :, None]
        return np.clip(a, 0, 255).astype(np.uint8)
    if px.ndim == 2 or px.shape[2] == 1:
        planes = d8.reshape(px.shape)
    else:
        c = px.shape[2]
        ch = 3 if c >= 3 else 1
        if c == 3:
            planes = cv2.cvtColor(d8, cv2.COLOR_GRAY2RGB)
        else:
            planes = cv2.merge([d8] * ch + [np.full_like(d8, 128)] * (c - ch))
    out: np.ndarray = cv2.addWeighted(px, 1.0, planes, 1.0, -128.0)
    return out.reshape(px.shape)


def correlate(lay: Layout, weighted_residual: np.ndarray) -> np.ndarray:
    """Matched filter: soft value per code position from a (weighted) residual image."""
    gh, gw = lay.grid
    small = cv2.resize(weighted_residual.astype(np.float32), (gw, gh), interpolation=cv2.INTER_AREA)
    coef = dctn(small.astype(np.float64), norm="ortho")
    v = coef[lay.rows, lay.cols] * lay.chips
    return np.bincount(lay.bit, weights=v, minlength=lay.length)


def scheme_layout_and_mask(
    key: bytes,
    pixels: np.ndarray,
    luma: np.ndarray,
    length: int,
    scheme: int,
    target_rms: float,
    shape: tuple[int, int] | None = None,
) -> tuple[Layout, np.ndarray]:
    """The layout and the perceptual weights (mean square 1) of ``scheme`` for an original.

    ``luma`` may be the original's luma shrunk (the weights are smooth; they come out at its
    size); ``shape`` is then the original's own (h, w), which sets the layout."""
    shape = luma.shape[:2] if shape is None else shape
    if scheme == 1:
        return layout(key, shape, length), perceptual_mask(luma)
    if scheme == 2:
        amp = jnd_amplitude(luma, target_rms)
        m = amp / max(float(np.sqrt(np.mean(amp * amp))), 1e-9)
        return layout(key, shape, length, photo_tag(key, pixels)), m.astype(np.float32)
    raise ValueError(f"unknown watermark scheme {scheme}")
