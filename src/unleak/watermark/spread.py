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


@functools.lru_cache(maxsize=32)
def _layout_cached(key: bytes, grid: tuple[int, int], length: int) -> Layout:
    gh, gw = grid
    ky, kx = np.meshgrid(np.arange(gh), np.arange(gw), indexing="ij")
    rho = np.sqrt((kx / gw) ** 2 + (ky / gh) ** 2)
    sel = (rho >= RHO_LO) & (rho <= RHO_HI)
    rows, cols = ky[sel], kx[sel]
    rng = keyed_rng(key, f"layout/{gh}x{gw}")
    order = rng.permutation(len(rows))
    rows, cols = rows[order], cols[order]
    chips = rng.integers(0, 2, len(rows)) * 2 - 1
    bit = np.arange(len(rows)) % length
    for a in (rows, cols, chips, bit):
        a.setflags(write=False)
    return Layout((gh, gw), rows, cols, chips.astype(np.float64), bit, length)


def layout(key: bytes, shape: tuple[int, int], length: int) -> Layout:
    """The keyed band layout for an image of ``shape`` (h, w) and a code of ``length``."""
    return _layout_cached(bytes(key), grid_shape(*shape[:2]), length)


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


def apply_delta(pixels: np.ndarray, delta: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
    """Add a luma change to every colour channel of a uint8 image (alpha untouched)."""
    a = pixels.astype(np.float32)
    if a.ndim == 2:
        a = a + delta
    else:
        ch = 3 if a.shape[2] >= 3 else 1
        a[:, :, :ch] += delta[:, :, None]
    return np.clip(np.rint(a), 0, 255).astype(np.uint8)


def correlate(lay: Layout, weighted_residual: np.ndarray) -> np.ndarray:
    """Matched filter: soft value per code position from a (weighted) residual image."""
    gh, gw = lay.grid
    small = cv2.resize(weighted_residual.astype(np.float32), (gw, gh), interpolation=cv2.INTER_AREA)
    coef = dctn(small.astype(np.float64), norm="ortho")
    v = coef[lay.rows, lay.cols] * lay.chips
    return np.bincount(lay.bit, weights=v, minlength=lay.length)
