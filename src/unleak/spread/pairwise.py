"""Does copy A explain copy B? Re-make B from A and measure what is left.

A copy made from A holds A's pixels, moved (crop, flip, scale, frame) and then compressed by the
copy's own encoder. So A is put into B's geometry (the two registrations to the original,
composed, and snapped to whole pixels when the step is a crop or a flip, where it is exact), B's
own JPEG quantisation table is applied to it, and the result is compared with B. The true parent
leaves almost nothing (what B's encoder did is redone); a grandparent leaves the parent's
compression noise, a sibling the sibling's own, a child its extra loss. This is direct evidence
between the two copies, not each one's distance to the original.
"""

from __future__ import annotations

import io
import math

import cv2
import numpy as np
from PIL import Image

from unleak.spread.features import Copy

SIM_CLIP = 24.0  # grey levels: added content weighs no more than this per pixel
TRIM = 0.98  # the share of best-explained pixels averaged (the edges of a map a pixel off)
NEAR_UNIT = 0.02  # a composed scale this close to 1 may be a pure crop/flip: snap to whole pixels
EXACT_UNIT = 0.003  # ... and this close, surely (else it is also tried as a resize)


def _affine(m: np.ndarray) -> tuple[float, float, float]:
    """(x scale with its sign, y scale, shear+rotation size) of a 3x3 matrix's linear part."""
    a = m[:2, :2] / m[2, 2]
    return float(a[0, 0]), float(a[1, 1]), float(abs(a[0, 1]) + abs(a[1, 0]))


def _jpeg(gray: np.ndarray, table: list[int] | None) -> np.ndarray:
    """Compress a grey image with a given luma quantisation table (natural order)."""
    if table is None:
        return gray.astype(np.float32)
    buf = io.BytesIO()
    Image.fromarray(np.clip(np.rint(gray), 0, 255).astype(np.uint8), "L").save(buf, "JPEG", qtables=[table])
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())), dtype=np.float32)


def _fit(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    if len(x) < 16 or float(x.std()) < 1e-3:
        return 1.0, 0.0
    g = float(np.cov(x, y, bias=True)[0, 1] / x.var())
    if not 0.8 < g < 1.25:  # a photometric change larger than this is not a re-encode
        return 1.0, float(np.median(y - x))
    return g, float(y.mean() - g * x.mean())


def _trimmed(err: np.ndarray) -> float:
    k = max(1, int(TRIM * err.size))
    return float(np.partition(err, k - 1)[:k].mean())


def remake_residual(a: Copy, b: Copy) -> float | None:
    """Mean grey-level difference left between B and A re-made into B (None: cannot be measured)."""
    if a.luma is None or b.luma is None or a.luma_matrix is None or b.luma_matrix is None:
        return None
    m = b.luma_matrix @ np.linalg.inv(a.luma_matrix)  # A's pixels -> B's pixels
    m = m / m[2, 2]
    sx, sy, off = _affine(m)
    out = []
    if abs(abs(sx) - 1) < NEAR_UNIT and abs(sy - 1) < NEAR_UNIT and off < NEAR_UNIT and sy > 0:
        out.append(_remake(a, b, *_snapped(a, b, m)))
    if max(abs(abs(sx) - 1), abs(sy - 1), off) > EXACT_UNIT:  # may be a resize: resample too
        out.append(_remake(a, b, *_resampled(a, b, m)))
    got = [v for v in out if v is not None]
    return min(got) if got else None


def _snapped(a: Copy, b: Copy, m: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
    """A crop and/or a flip: A's whole pixels, at the best of the offsets nearest the map."""
    assert a.luma is not None and b.luma is not None
    bh, bw = b.luma.shape
    ah, aw = a.luma.shape
    src = a.luma.astype(np.float32)
    target = b.luma.astype(np.float32)
    if m[0, 0] < 0:
        src = src[:, ::-1]
        m = m @ np.array([[-1.0, 0, aw - 1], [0, 1, 0], [0, 0, 1]])
    tx, ty = round(float(m[0, 2])), round(float(m[1, 2]))
    best: tuple[float, np.ndarray, np.ndarray] | None = None
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            x0, y0 = tx + dx, ty + dy  # A's (0, 0) lands at (x0, y0) in B
            bx0, by0, bx1, by1 = max(0, x0), max(0, y0), min(bw, x0 + aw), min(bh, y0 + ah)
            if bx1 - bx0 < 16 or by1 - by0 < 16:
                continue
            warped = np.zeros((bh, bw), np.float32)
            warped[by0:by1, bx0:bx1] = src[by0 - y0 : by1 - y0, bx0 - x0 : bx1 - x0]
            valid = np.zeros((bh, bw), bool)
            valid[by0:by1, bx0:bx1] = True
            e = float(np.abs(warped[valid] - target[valid]).mean())
            if best is None or e < best[0]:
                best = (e, warped, valid)
    return (None, None) if best is None else (best[1], best[2])


def _resampled(a: Copy, b: Copy, m: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
    """A resampled into B's grid (area-averaged first when it shrinks, as a downscale does)."""
    assert a.luma is not None and b.luma is not None
    bh, bw = b.luma.shape
    ah, aw = a.luma.shape
    src: np.ndarray = a.luma.astype(np.float32)
    scale = math.sqrt(abs(np.linalg.det(m[:2, :2])))
    if scale > 1.05:  # B would be finer than A: no parent makes that (measured elsewhere)
        return None, None
    if scale < 0.9:
        nw, nh = max(1, round(aw * scale)), max(1, round(ah * scale))
        src = cv2.resize(src, (nw, nh), interpolation=cv2.INTER_AREA)
        m = m @ np.array([[aw / nw, 0, 0.5 * aw / nw - 0.5], [0, ah / nh, 0.5 * ah / nh - 0.5], [0, 0, 1.0]])
    warped = cv2.warpPerspective(src, m, (bw, bh), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    cover = cv2.warpPerspective(np.ones(src.shape, np.float32), m, (bw, bh), flags=cv2.INTER_LINEAR)
    valid = cv2.erode((cover > 0.999).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    return warped, valid


def _remake(a: Copy, b: Copy, warped: np.ndarray | None, valid: np.ndarray | None) -> float | None:
    """B's encoder on A's pixels (B's own pixels where A has none: the same JPEG blocks), against B."""
    assert b.luma is not None
    if warped is None or valid is None:
        return None
    target = b.luma.astype(np.float32)
    if b.added is not None:  # what B added (or inherited) over the original is no one's residual
        valid = valid & ~b.added
    if b.shows is not None:  # nor its frame or bars
        valid = valid & b.shows
    if valid.sum() < 256:
        return None
    g, o = _fit(warped[valid], target[valid])
    remade = np.where(valid, g * warped + o, target)
    remade = _jpeg(remade, b.qtable if b.luma_exact else None)
    return _trimmed(np.minimum(np.abs(remade[valid] - target[valid]), SIM_CLIP))
