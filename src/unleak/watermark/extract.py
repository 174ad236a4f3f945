"""Informed soft-bit extraction: align, undo the geometry and the tone change, subtract.

Steps (all on luma):
1. the original is resampled onto the candidate's grid (anti-aliased), so both carry the
   same blur from the attacker's resizing; the residual is formed there;
2. the tone curve (brightness, contrast, gamma) is fitted by a robust cubic of the original's
   luma on unsaturated pixels; the residual is divided by its slope;
3. outliers (overlays, logos, text) are clipped and down-weighted by the local residual power;
4. the residual goes back to the original's geometry and through the matched filter.
"""

from __future__ import annotations

import cv2
import numpy as np

from unleak.registration.align import Alignment, to_gray, warp_original_to_candidate, warp_to_original

from .spread import Layout, correlate


def _tone_fit(o: np.ndarray, c: np.ndarray, sel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fit c ~ f(o) (cubic, robust); return f(o) and f'(o) on the whole grid."""
    x = o[sel].astype(np.float64) / 255.0
    y = c[sel].astype(np.float64)
    if len(x) > 200_000:
        idx = np.linspace(0, len(x) - 1, 200_000).astype(np.int64)
        x, y = x[idx], y[idx]
    coef = np.polyfit(x, y, 1)
    for _ in range(2):
        res = y - np.polyval(coef, x)
        s = 1.4826 * np.median(np.abs(res)) + 1e-6
        keep = np.abs(res) < 4 * s + 1
        deg = 3 if keep.sum() > 1000 else 1
        coef = np.polyfit(x[keep], y[keep], deg)
    xo = o.astype(np.float64) / 255.0
    f = np.polyval(coef, xo)
    df = np.polyval(np.polyder(coef), xo) / 255.0
    return f.astype(np.float32), df.astype(np.float32)


def residual(original: np.ndarray, candidate: np.ndarray, alignment: Alignment) -> tuple[np.ndarray, np.ndarray]:
    """Residual luma (mark + noise) in the original's geometry, and its per-pixel weight."""
    o = to_gray(original)
    c = to_gray(candidate)
    ch, cw = c.shape
    o_c = warp_original_to_candidate(o, alignment.matrix, (ch, cw))
    cover = warp_original_to_candidate(np.ones_like(o), alignment.matrix, (ch, cw)) > 0.999
    cover = cv2.erode(cover.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    unsat = (c > 1.5) & (c < 253.5)
    sel = cover & unsat
    if sel.sum() < 500:
        return np.zeros_like(o), np.zeros_like(o)
    f, df = _tone_fit(o_c, c, sel)
    ok = sel & (df > 0.25) & (df < 4.0)
    r = np.where(ok, (c - f) / np.where(ok, df, 1.0), 0.0).astype(np.float32)
    # Overlays and other local damage: clip, then weight by inverse local residual power.
    s = 1.4826 * float(np.median(np.abs(r[ok]))) + 0.5
    r = np.clip(r, -5 * s, 5 * s)
    okf = ok.astype(np.float32)
    k = max(3.0, 0.02 * max(ch, cw))
    p2 = cv2.GaussianBlur(r * r, (0, 0), k) / np.maximum(cv2.GaussianBlur(okf, (0, 0), k), 1e-3)
    wgt = okf / (p2 + 0.25)
    # Back to the original's geometry (the candidate grid may be smaller, rotated, mirrored).
    stack = np.dstack([r * wgt, wgt]).astype(np.float32)
    back, inside = warp_to_original(stack, alignment, o.shape)
    rw = np.where(inside, back[:, :, 0], 0.0).astype(np.float32)
    w = np.where(inside, np.maximum(back[:, :, 1], 0.0), 0.0).astype(np.float32)
    # Weight density changes with scale: pixels of a shrunk copy count for more original pixels,
    # which the resampling already accounts for; nothing else to normalise here.
    return rw, w


def soft_bits(lay: Layout, mask: np.ndarray, weighted_residual: np.ndarray) -> np.ndarray:
    """Matched-filter soft values per code position (mask = the original's perceptual mask)."""
    return correlate(lay, mask * weighted_residual)
