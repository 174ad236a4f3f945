"""Register a candidate image to its original (owner-side, informed).

Given the original and a copy that may have been cropped, scaled, rotated, mirrored,
letterboxed, framed (screenshot) or overlaid, :func:`align` finds the projective map from
the original's pixel grid to the candidate's, and :func:`warp_to_original` resamples the
candidate back into the original's geometry with a mask of the pixels it actually covers.

How: SIFT features on both images (at most ``max_side`` pixels on the long side), a ratio
test, RANSAC on a similarity (the usual case: crops, scales, rotations, frames), the same on
the mirrored candidate to detect flips, then a homography re-fit on the inliers when it is
clearly better, and finally ECC refinement on the overlapping area for sub-pixel accuracy
(watermark extraction and pixel-level verification need it).

Used by :mod:`unleak.watermark` (trace) and by owner-side match verification.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

__all__ = ["Alignment", "align", "to_gray", "warp_original_to_candidate", "warp_to_original"]


@dataclass(frozen=True)
class Alignment:
    """How an original maps onto a candidate.

    ``matrix`` is a 3x3 homography mapping ORIGINAL pixel coordinates ``(x, y, 1)`` to
    CANDIDATE pixel coordinates (pixel centres at integer coordinates, as OpenCV does).
    """

    matrix: np.ndarray
    inliers: int
    matches: int
    flip: bool
    rotation_deg: float
    scale: float
    crop_box: tuple[int, int, int, int]
    visible_fraction: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "matrix": [[float(v) for v in row] for row in self.matrix],
            "inliers": self.inliers,
            "matches": self.matches,
            "flip": self.flip,
            "rotation_deg": self.rotation_deg,
            "scale": self.scale,
            "crop_box": list(self.crop_box),
            "visible_fraction": self.visible_fraction,
        }


def to_gray(img: np.ndarray) -> np.ndarray:
    """uint8/float RGB(A) or grey array -> float32 grey (ITU-R 601 luma, as Pillow's 'L')."""
    a = np.asarray(img)
    if a.ndim == 3:
        if a.shape[2] == 4:
            a = a[:, :, :3]
        if a.shape[2] == 1:
            a = a[:, :, 0]
        else:
            a = a[:, :, 0] * 0.299 + a[:, :, 1] * 0.587 + a[:, :, 2] * 0.114
    return a.astype(np.float32, copy=False)


def _u8(gray: np.ndarray) -> np.ndarray:
    return np.clip(gray + 0.5, 0, 255).astype(np.uint8)


def _scale_matrix(fx: float, fy: float) -> np.ndarray:
    """Pixel-centre-correct map from a grid to the same grid resized by (fx, fy)."""
    return np.array([[fx, 0, 0.5 * fx - 0.5], [0, fy, 0.5 * fy - 0.5], [0, 0, 1.0]])


def _resize_max(gray: np.ndarray, max_side: int) -> tuple[np.ndarray, np.ndarray]:
    """Shrink so the long side is at most max_side; also return the full->small matrix."""
    h, w = gray.shape
    s = min(1.0, max_side / max(h, w))
    if max(h, w) < 480:  # small copies: enlarge so SIFT finds enough keypoints
        s = min(3.0, 640 / max(h, w))
    if s == 1.0:
        return gray, np.eye(3)
    nw, nh = max(1, round(w * s)), max(1, round(h * s))
    gray = cv2.resize(gray, (nw, nh), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC)
    return gray, _scale_matrix(nw / w, nh / h)


_LOCAL = threading.local()  # one SIFT object per thread: OpenCV detectors are not thread-safe


_Features = tuple[np.ndarray, np.ndarray | None]  # keypoint positions (n, 2), descriptors


def _features(gray_u8: np.ndarray) -> _Features:
    sift = getattr(_LOCAL, "sift", None)
    if sift is None:
        sift = _LOCAL.sift = cv2.SIFT.create(nfeatures=4000, contrastThreshold=0.02)
    kp, des = sift.detectAndCompute(gray_u8, None)
    pts = np.array([k.pt for k in kp], dtype=np.float32).reshape(-1, 2)
    return pts, des


_CACHE: dict[bytes, _Features] = {}
_CACHE_LOCK = threading.Lock()


def _features_cached(gray_u8: np.ndarray) -> _Features:
    """Features of an original, remembered: tracing many copies against one original is common."""
    import hashlib

    k = hashlib.blake2b(gray_u8.tobytes(), digest_size=16).digest() + bytes(str(gray_u8.shape), "ascii")
    with _CACHE_LOCK:
        hit = _CACHE.get(k)
    if hit is None:
        hit = _features(gray_u8)
        with _CACHE_LOCK:
            if len(_CACHE) >= 8:
                _CACHE.pop(next(iter(_CACHE)))
            _CACHE[k] = hit
    return hit


def _match(des_o: np.ndarray | None, des_c: np.ndarray | None, ratio: float = 0.8) -> np.ndarray:
    if des_o is None or des_c is None or len(des_o) < 2 or len(des_c) < 2:
        return np.zeros((0, 2), dtype=np.int32)
    matcher: cv2.DescriptorMatcher
    if len(des_o) > 800 and len(des_c) > 800:
        # Approximate nearest neighbours (kd-trees): several times faster than brute force.
        from unleak.match.features import seed_kd_trees

        matcher = cv2.FlannBasedMatcher({"algorithm": 1, "trees": 4}, {"checks": 64})
        seed_kd_trees()  # the trees are built by knnMatch below, from this thread's generator
    else:
        matcher = cv2.BFMatcher(cv2.NORM_L2)
    pairs = []
    for m in matcher.knnMatch(des_c, des_o, k=2):
        if len(m) == 2 and m[0].distance < ratio * m[1].distance:
            pairs.append((m[0].trainIdx, m[0].queryIdx))
    return np.array(pairs, dtype=np.int32).reshape(-1, 2)


def _similarity_ransac(src: np.ndarray, dst: np.ndarray, thresh: float) -> tuple[np.ndarray | None, np.ndarray]:
    if len(src) < 4:
        return None, np.zeros(len(src), bool)
    m, inl = cv2.estimateAffinePartial2D(
        src, dst, method=cv2.RANSAC, ransacReprojThreshold=thresh, maxIters=4000, confidence=0.999
    )
    if m is None:
        return None, np.zeros(len(src), bool)
    return np.vstack([m, [0, 0, 1]]), inl.ravel().astype(bool)


def _project(h: np.ndarray, pts: np.ndarray) -> np.ndarray:
    p: np.ndarray = np.hstack([pts, np.ones((len(pts), 1))]) @ h.T
    xy: np.ndarray = p[:, :2] / p[:, 2:3]
    return xy


def _describe(h: np.ndarray, orig_shape: tuple[int, int], cand_shape: tuple[int, int]) -> dict[str, Any]:
    a = h[:2, :2] / h[2, 2]
    flip = bool(np.linalg.det(a) < 0)
    if flip:
        a = a @ np.diag([-1.0, 1.0])
    scale = float(math.sqrt(abs(np.linalg.det(a))))
    rot = float(math.degrees(math.atan2(a[1, 0], a[0, 0])))
    oh, ow = orig_shape
    ch, cw = cand_shape
    # The candidate's frame mapped back onto the original, clipped to the original.
    try:
        hinv = np.linalg.inv(h)
    except np.linalg.LinAlgError:
        hinv = None
    box = (0, 0, 0, 0)
    frac = 0.0
    if hinv is not None:
        cand_poly = _project(hinv, np.array([[-0.5, -0.5], [cw - 0.5, -0.5], [cw - 0.5, ch - 0.5], [-0.5, ch - 0.5]]))
        orig_poly = np.array([[-0.5, -0.5], [ow - 0.5, -0.5], [ow - 0.5, oh - 0.5], [-0.5, oh - 0.5]])
        if np.all(np.isfinite(cand_poly)):
            cp = cand_poly.astype(np.float32)
            if cv2.contourArea(cp, oriented=True) < 0:
                cp = cp[::-1].copy()
            area, inter = cv2.intersectConvexConvex(orig_poly.astype(np.float32), cp)
            if inter is not None and area > 0:
                inter = inter.reshape(-1, 2)
                x0, y0 = np.floor(inter.min(0) + 0.5)
                x1, y1 = np.ceil(inter.max(0) + 0.5)
                box = (int(max(0, x0)), int(max(0, y0)), int(min(ow, x1)), int(min(oh, y1)))
                frac = float(min(1.0, area / (ow * oh)))
    return {"flip": flip, "scale": scale, "rotation_deg": rot, "crop_box": box, "visible_fraction": frac}


def _ecc_refine(o_gray: np.ndarray, c_gray: np.ndarray, h: np.ndarray, work_side: int = 768) -> np.ndarray | None:
    """Refine ``h`` (original -> candidate) with ECC on the candidate's grid (sub-pixel)."""
    ch, cw = c_gray.shape
    s = min(1.0, work_side / max(ch, cw))
    sw, sh = max(8, round(cw * s)), max(8, round(ch * s))
    scl = _scale_matrix(sw / cw, sh / ch) if s < 1 else np.eye(3)
    hs = scl @ h  # original -> scaled candidate
    c_s = cv2.resize(c_gray, (sw, sh), interpolation=cv2.INTER_AREA) if s < 1 else c_gray
    o_w = warp_original_to_candidate(o_gray, hs, (sh, sw))
    covered = warp_original_to_candidate(np.ones_like(o_gray), hs, (sh, sw)) > 0.999
    valid = cv2.erode(covered.astype(np.uint8), np.ones((5, 5), np.uint8))
    if valid.sum() < 400:
        return None
    warp: np.ndarray = np.eye(3, dtype=np.float32)
    crit = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 60, 1e-6)
    try:
        # template = candidate; input = pre-warped original. ECC finds W with
        # candidate(x) ~ o_w(W x): W maps candidate coords -> o_w (= candidate) coords.
        _, warp = cv2.findTransformECC(
            c_s.astype(np.float32), o_w.astype(np.float32), warp, cv2.MOTION_HOMOGRAPHY, crit, valid, 3
        )
    except cv2.error:
        return None
    # o_w(y) = o(hs^-1 y); candidate(x) ~ o(hs^-1 W x)  =>  new original->candidate = W^-1 hs
    new_hs = np.linalg.inv(warp.astype(np.float64)) @ hs
    new_h: np.ndarray = np.linalg.inv(scl) @ new_hs
    # Reject a refinement that drifted far (ECC diverged).
    corners = np.array([[0, 0], [o_gray.shape[1], 0], [0, o_gray.shape[0]], [o_gray.shape[1], o_gray.shape[0]]], float)
    drift = np.abs(_project(new_h, corners) - _project(h, corners)).max()
    if not np.isfinite(drift) or drift > 4.0 / s + 2:
        return None
    out: np.ndarray = new_h / new_h[2, 2]
    return out


def align(
    original: np.ndarray,
    candidate: np.ndarray,
    *,
    max_side: int = 1024,
    refine: bool = True,
    min_inliers: int = 12,
) -> Alignment | None:
    """Find the map from ``original`` to ``candidate`` pixel coordinates, or None.

    Both are HxW or HxWxC arrays (uint8 or float, RGB order). Works on at most
    ``max_side`` pixels per long side for feature matching; the returned matrix is in full
    resolution coordinates of both images. Returns None when fewer than ``min_inliers``
    geometric inliers support a map (the candidate is probably not a copy of this original).
    """
    o_full = to_gray(original)
    c_full = to_gray(candidate)
    o_small, so = _resize_max(o_full, max_side)
    c_small, sc = _resize_max(c_full, max_side)  # full -> small matrices
    pts_o, des_o = _features_cached(_u8(o_small))
    if des_o is None or len(pts_o) < min_inliers:
        return None
    best = None
    for flipped in (False, True):
        c_img = c_small[:, ::-1] if flipped else c_small
        pts_c, des_c = _features(_u8(np.ascontiguousarray(c_img)))
        pairs = _match(des_o, des_c)
        if len(pairs) < min_inliers:
            continue
        src = pts_o[pairs[:, 0]]
        dst = pts_c[pairs[:, 1]].copy()
        thresh = max(2.0, 0.004 * max(c_small.shape))
        # Fit in the mirrored frame (a similarity has no reflection), then compose the mirror.
        h, inl = _similarity_ransac(src, dst, thresh)
        if h is None:
            continue
        if flipped:
            mirror = np.array([[-1.0, 0, c_small.shape[1] - 1], [0, 1, 0], [0, 0, 1]])
            h = mirror @ h
            dst[:, 0] = (c_small.shape[1] - 1) - dst[:, 0]
        n_in = int(inl.sum())
        if best is None or n_in > best[1]:
            best = (h, n_in, len(pairs), src, dst, inl, thresh)
        if not flipped and n_in >= 60 and n_in >= 0.5 * len(pairs):
            break  # clearly unflipped: skip the mirrored pass
    if best is None or best[1] < min_inliers:
        return None
    h, n_in, n_match, src, dst, inl, thresh = best
    # A homography re-fit on the inliers when it explains them clearly better (perspective).
    if n_in >= 20:
        hh, inl_h = cv2.findHomography(src, dst, cv2.RANSAC, thresh)
        if hh is not None:
            e_sim = np.median(np.linalg.norm(_project(h, src[inl]) - dst[inl], axis=1))
            e_h = np.median(np.linalg.norm(_project(hh, src[inl]) - dst[inl], axis=1))
            if inl_h.sum() >= n_in and e_h < 0.6 * e_sim:
                h = hh
    # Back to full-resolution coordinates.
    h_full = np.linalg.inv(sc) @ h @ so
    h_full = h_full / h_full[2, 2]
    if refine:
        r = _ecc_refine(o_full, c_full, h_full)
        if r is not None:
            h_full = r
    d = _describe(h_full, o_full.shape, c_full.shape)
    return Alignment(matrix=h_full, inliers=n_in, matches=n_match, **d)


def warp_original_to_candidate(
    original: np.ndarray, matrix: np.ndarray, candidate_shape: tuple[int, int], border_value: float = 0.0
) -> np.ndarray:
    """Resample ``original`` onto the candidate's grid, anti-aliased when it shrinks."""
    a = matrix[:2, :2] / matrix[2, 2]
    s = math.sqrt(abs(np.linalg.det(a)))
    src: np.ndarray = np.asarray(original, dtype=np.float32)
    m = np.asarray(matrix, dtype=np.float64)
    if s < 0.9:
        # Pre-shrink with area averaging so the warp does not alias.
        h, w = src.shape[:2]
        nw, nh = max(1, round(w * s)), max(1, round(h * s))
        src = cv2.resize(src, (nw, nh), interpolation=cv2.INTER_AREA)
        m = m @ np.linalg.inv(_scale_matrix(nw / w, nh / h))
    ch, cw = candidate_shape[:2]
    return cv2.warpPerspective(
        src, m, (cw, ch), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=border_value
    )


def warp_to_original(
    candidate: np.ndarray, alignment: Alignment, original_shape: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Resample ``candidate`` into the original's geometry.

    Returns ``(image, mask)``: the image (float32, same channels as the candidate, HxW of
    ``original_shape``) and a boolean mask of the pixels the candidate really covers (a
    one-pixel margin is dropped so interpolation never mixes in the border).
    """
    oh, ow = original_shape[:2]
    src = np.asarray(candidate, dtype=np.float32)
    flags = cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP
    img = cv2.warpPerspective(src, alignment.matrix, (ow, oh), flags=flags, borderMode=cv2.BORDER_REPLICATE)
    ones = np.ones(src.shape[:2], np.float32)
    cov = cv2.warpPerspective(ones, alignment.matrix, (ow, oh), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)
    mask = cv2.erode((cov > 0.999).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    return img, mask
