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

KD_TREE_SEED = 0x5EED


def seed_kd_trees() -> None:
    """Seed OpenCV's random generator of this thread before building FLANN's randomised kd-trees.

    The trees (and so which approximate neighbours a search finds, hence a verification's
    matches and inliers) come from that generator, whose state is whatever the thread drew
    before: another match, another test, or, in a scan's thread pool, whichever task landed on
    the thread. Seeded first, the same descriptors always build the same trees."""
    cv2.setRNGSeed(KD_TREE_SEED)


__all__ = [
    "Alignment",
    "AlignmentCheck",
    "align",
    "check_alignment",
    "content_box",
    "shrink",
    "to_gray",
    "warp_original_to_candidate",
    "warp_to_original",
]


@dataclass(frozen=True)
class AlignmentCheck:
    """Evidence that a map is right, from pixels rather than features.

    ``ncc``: correlation of the (lightly blurred) original warped onto the candidate with the
    candidate, over the overlap. ``contrast``: the residual power of the map divided by the
    smallest residual power among the same map shifted by ``SHIFT`` of the candidate's size
    in eight directions (after the same tone fit): below 1 the map is a local optimum, near 0
    it is pinned down; near 1 the picture is too plain to tell where it goes.
    """

    ncc: float
    contrast: float
    overlap: float  # share of the candidate covered by the original


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
    # How it was found: "features" (SIFT + RANSAC), "scale" (the copy is the whole original,
    # resized) or "dense" (intensity search + ECC, for pictures without texture); and the
    # check it passed (see :func:`check_alignment`), None when not computed.
    method: str = "features"
    check: AlignmentCheck | None = None

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


def _ecc_refine(
    o_gray: np.ndarray, c_gray: np.ndarray, h: np.ndarray, work_side: int = 768, motion: int = cv2.MOTION_HOMOGRAPHY
) -> np.ndarray | None:
    """Refine ``h`` (original -> candidate) with ECC on the candidate's grid (sub-pixel).

    ``motion``: a homography after features; an affine map for pictures without texture,
    where the homography's two extra degrees of freedom are poorly determined and drift.
    """
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
    warp: np.ndarray = np.eye(3 if motion == cv2.MOTION_HOMOGRAPHY else 2, 3, dtype=np.float32)
    crit = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 60, 1e-6)
    try:
        # template = candidate; input = pre-warped original. ECC finds W with
        # candidate(x) ~ o_w(W x): W maps candidate coords -> o_w (= candidate) coords.
        _, warp = cv2.findTransformECC(c_s.astype(np.float32), o_w.astype(np.float32), warp, motion, crit, valid, 3)
    except cv2.error:
        return None
    if warp.shape[0] == 2:
        warp = np.vstack([warp, [0, 0, 1]]).astype(np.float32)
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


# --- pixel-level check and registration without texture --------------------------------------
SHIFT = 0.03  # perturbation of the check: 3 % of the candidate's size, a 3 % zoom, 2 degrees
CHECK_SIDE = 320  # the check and the dense search work with the candidate at this long side
# A map found by the dense search (or from too few features) is accepted when the overlap
# correlates and every perturbed map fits clearly worse; the pure-scale map of a copy with the
# original's aspect is accepted when it correlates and no perturbed map fits better (a plain
# gradient fits anywhere: the copy then is most likely the whole picture, resized).
MIN_NCC_DENSE, MAX_CONTRAST_DENSE = 0.8, 0.5
MIN_NCC_SCALE, MAX_CONTRAST_SCALE = 0.9, 1.1
MIN_OVERLAP = 0.3
MIN_NCC_PLAIN = 0.98  # the pure-scale map as a last resort when nothing else is pinned down


def _about_centre(m: np.ndarray, cw: float, ch: float) -> np.ndarray:
    cx, cy = (cw - 1) / 2, (ch - 1) / 2
    t = np.array([[1, 0, cx], [0, 1, cy], [0, 0, 1.0]])
    ti = np.array([[1, 0, -cx], [0, 1, -cy], [0, 0, 1.0]])
    out: np.ndarray = t @ m @ ti
    return out


def _perturbations(cw: int, ch: int) -> list[np.ndarray]:
    """Maps of the candidate's grid onto itself: 8 shifts, 2 zooms, 2 rotations (see SHIFT)."""
    d = SHIFT * max(cw, ch)
    out = []
    for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (1, -1), (-1, 1), (-1, -1)):
        out.append(np.array([[1, 0, dx * d], [0, 1, dy * d], [0, 0, 1.0]]))
    for z in (1 + SHIFT, 1 / (1 + SHIFT)):
        out.append(_about_centre(np.diag([z, z, 1.0]), cw, ch))
    for deg in (-2.0, 2.0):
        r = math.radians(deg)
        out.append(
            _about_centre(np.array([[math.cos(r), -math.sin(r), 0], [math.sin(r), math.cos(r), 0], [0, 0, 1]]), cw, ch)
        )
    return out


def _fit_error(o_w: np.ndarray, c: np.ndarray, sel: np.ndarray) -> tuple[float, float]:
    """Residual power of c ~ a * o_w + b over ``sel``, and the correlation of the two."""
    x = o_w[sel].astype(np.float64)
    y = c[sel].astype(np.float64)
    if len(x) < 50:
        return float("inf"), 0.0
    x = x - x.mean()
    y = y - y.mean()
    sxx, syy, sxy = float(x @ x), float(y @ y), float(x @ y)
    if sxx <= 1e-9 or syy <= 1e-9:
        return float(np.mean(y * y)), 0.0
    err = (syy - sxy * sxy / sxx) / len(x)
    return float(err), sxy / math.sqrt(sxx * syy)


def _small_candidate(c_full: np.ndarray, side: int) -> tuple[np.ndarray, np.ndarray]:
    ch, cw = c_full.shape
    s = min(1.0, side / max(ch, cw))
    if s < 1:
        sw, sh = max(8, round(cw * s)), max(8, round(ch * s))
        c_s = cv2.resize(c_full, (sw, sh), interpolation=cv2.INTER_AREA)
        return cv2.GaussianBlur(c_s, (0, 0), 1.0), _scale_matrix(sw / cw, sh / ch)
    return cv2.GaussianBlur(c_full, (0, 0), 1.0), np.eye(3)


def check_alignment(original: np.ndarray, candidate: np.ndarray, matrix: np.ndarray) -> AlignmentCheck:
    """How well ``matrix`` (original -> candidate) explains the candidate's pixels.

    Works with the candidate at ``CHECK_SIDE`` pixels and the original warped onto it, both
    lightly blurred, and a linear tone fit (brightness and contrast changes are allowed).
    See :class:`AlignmentCheck` for the figures and the module constants for the thresholds.
    """
    o, so = shrink(to_gray(original), ALIGN_SIDE)  # a 12 MP original is blurred and warped 13 times
    c_s, scl = _small_candidate(to_gray(candidate), CHECK_SIDE)
    matrix = np.asarray(matrix, np.float64) @ np.linalg.inv(so)
    sh, sw = c_s.shape
    o_b = cv2.GaussianBlur(o, (0, 0), max(0.5, 1.0 / max(1e-6, _scale_of(scl @ matrix))))
    base = scl @ np.asarray(matrix, np.float64)
    ones = np.ones_like(o)

    def warp(m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ow = warp_original_to_candidate(o_b, m, (sh, sw))
        cov = warp_original_to_candidate(ones, m, (sh, sw)) > 0.999
        return ow, cv2.erode(cov.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0

    ow0, cov0 = warp(base)
    e0, ncc = _fit_error(ow0, c_s, cov0)
    overlap = float(cov0.mean())
    # Each perturbed map is compared with the map on the pixels both cover.
    contrast = 0.0 if math.isfinite(e0) else float("inf")
    for p in _perturbations(sw, sh):
        owk, covk = warp(p @ base)
        sel = cov0 & covk
        if sel.sum() < 0.5 * cov0.sum():
            continue
        ek, _ = _fit_error(owk, c_s, sel)
        eb, _ = _fit_error(ow0, c_s, sel)
        contrast = max(contrast, eb / max(ek, 1e-9))
    return AlignmentCheck(ncc=float(ncc), contrast=float(contrast), overlap=overlap)


def _scale_of(m: np.ndarray) -> float:
    a = m[:2, :2] / m[2, 2]
    return float(math.sqrt(abs(np.linalg.det(a))))


def _accept(chk: AlignmentCheck, lenient: bool) -> bool:
    if chk.overlap < MIN_OVERLAP:
        return False
    if lenient:
        return chk.ncc >= MIN_NCC_SCALE and chk.contrast <= MAX_CONTRAST_SCALE
    return chk.ncc >= MIN_NCC_DENSE and chk.contrast <= MAX_CONTRAST_DENSE


def _ecc_step(o_gray: np.ndarray, c_gray: np.ndarray, h: np.ndarray, side: int, motion: int) -> np.ndarray | None:
    """One ECC refinement of ``h`` at ``side`` pixels (no drift limit: the caller checks)."""
    ch, cw = c_gray.shape
    s = min(1.0, side / max(ch, cw))
    sw, sh = max(8, round(cw * s)), max(8, round(ch * s))
    scl = _scale_matrix(sw / cw, sh / ch) if s < 1 else np.eye(3)
    hs = scl @ h
    c_s = cv2.resize(c_gray, (sw, sh), interpolation=cv2.INTER_AREA) if s < 1 else c_gray
    o_w = warp_original_to_candidate(o_gray, hs, (sh, sw))
    covered = warp_original_to_candidate(np.ones_like(o_gray), hs, (sh, sw)) > 0.999
    valid = cv2.erode(covered.astype(np.uint8), np.ones((5, 5), np.uint8))
    if valid.sum() < 400:
        return None
    warp: Any = np.eye(3 if motion == cv2.MOTION_HOMOGRAPHY else 2, 3, dtype=np.float32)
    crit = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 200, 1e-7)
    try:
        _, warp = cv2.findTransformECC(c_s.astype(np.float32), o_w.astype(np.float32), warp, motion, crit, valid, 5)
    except cv2.error:
        return None
    w3 = warp.astype(np.float64) if warp.shape[0] == 3 else np.vstack([warp.astype(np.float64), [0, 0, 1]])
    try:
        new_h = np.linalg.inv(scl) @ np.linalg.inv(w3) @ hs
    except np.linalg.LinAlgError:
        return None
    if not np.all(np.isfinite(new_h)):
        return None
    out: np.ndarray = new_h / new_h[2, 2]
    return out


def content_box(gray: np.ndarray) -> tuple[int, int, int, int]:
    """The box of a picture without uniform bars (letterbox, pillarbox, a plain frame):
    ``(x0, y0, x1, y1)``; at most three quarters of each side is taken off."""
    return _trim_borders(to_gray(gray))


def _trim_borders(c: np.ndarray) -> tuple[int, int, int, int]:
    """The candidate's box without uniform bars (letterbox, frame): (x0, y0, x1, y1)."""
    h, w = c.shape

    def flat(v: np.ndarray) -> bool:
        return float(v.std()) < 1.5

    y0, y1, x0, x1 = 0, h, 0, w
    while y1 - y0 > h // 4 and flat(c[y0, x0:x1]) and abs(float(c[y0].mean()) - float(c[0].mean())) < 3:
        y0 += 1
    while y1 - y0 > h // 4 and flat(c[y1 - 1, x0:x1]) and abs(float(c[y1 - 1].mean()) - float(c[-1].mean())) < 3:
        y1 -= 1
    while x1 - x0 > w // 4 and flat(c[y0:y1, x0]) and abs(float(c[:, x0].mean()) - float(c[:, 0].mean())) < 3:
        x0 += 1
    while x1 - x0 > w // 4 and flat(c[y0:y1, x1 - 1]) and abs(float(c[:, x1 - 1].mean()) - float(c[:, -1].mean())) < 3:
        x1 -= 1
    return x0, y0, x1, y1


DENSE_SIDE = 192  # the original's long side in the dense search
DENSE_ROTATIONS = (0.0, -5.0, 5.0, -10.0, 10.0)
DENSE_ZOOMS = 20  # candidate scales searched: 5 % apart, from "the whole original" to 2.5x


def _dense_seeds(o_full: np.ndarray, c_full: np.ndarray, n: int = 3) -> list[np.ndarray]:
    """Maps (original -> candidate) from a multi-scale, multi-angle intensity search, best first.

    The candidate (without uniform bars) is searched as a template in the original, rotated
    by each of ``DENSE_ROTATIONS`` and mirrored, at ``DENSE_ZOOMS`` scales (normalised
    correlation of lightly blurred intensities): a crop, a resize, a small rotation or a flip
    of a picture without features lands within a few pixels, which ECC then refines.
    """
    oh, ow = o_full.shape
    ko = min(1.0, DENSE_SIDE / max(oh, ow))
    osw, osh = max(8, round(ow * ko)), max(8, round(oh * ko))
    o_s = cv2.GaussianBlur(cv2.resize(o_full, (osw, osh), interpolation=cv2.INTER_AREA), (0, 0), 1.0)
    x0, y0, x1, y1 = _trim_borders(cv2.GaussianBlur(c_full, (0, 0), 1.0))
    c_t = c_full[y0:y1, x0:x1]
    th_, tw_ = c_t.shape
    s_fit = max(tw_ / ow, th_ / oh)  # candidate px per original px when the template fills the original
    found: list[tuple[float, np.ndarray]] = []
    for flip in (False, True):
        c_f = np.ascontiguousarray(c_t[:, ::-1]) if flip else c_t
        for deg in DENSE_ROTATIONS:
            r = cv2.getRotationMatrix2D(((osw - 1) / 2, (osh - 1) / 2), deg, 1.0)
            rad = math.radians(deg)
            nw = math.ceil(osw * abs(math.cos(rad)) + osh * abs(math.sin(rad)))
            nh = math.ceil(osw * abs(math.sin(rad)) + osh * abs(math.cos(rad)))
            r[0, 2] += (nw - osw) / 2
            r[1, 2] += (nh - osh) / 2
            o_r = cv2.warpAffine(o_s, r, (nw, nh), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
            r3 = np.vstack([r, [0, 0, 1.0]])
            best: tuple[float, np.ndarray] | None = None
            for k in range(DENSE_ZOOMS):
                s = s_fit * 1.05**k
                kc = ko / s  # template px per candidate px
                tw, th = round(tw_ * kc), round(th_ * kc)
                if tw < 16 or th < 16 or tw > nw or th > nh:
                    continue
                tpl = cv2.GaussianBlur(cv2.resize(c_f, (tw, th), interpolation=cv2.INTER_AREA), (0, 0), 1.0)
                if float(tpl.std()) < 1e-3:
                    continue
                res = cv2.matchTemplate(o_r, tpl, cv2.TM_CCOEFF_NORMED)
                _, score, _, loc = cv2.minMaxLoc(res)
                if best is not None and score <= best[0]:
                    continue
                # Template corners <-> candidate pixels and original pixels.
                t_pts = np.array([[0.0, 0.0], [tw - 1.0, 0.0], [0.0, th - 1.0]])
                cand = (t_pts + 0.5) * np.array([tw_ / tw, th_ / th]) - 0.5
                if flip:
                    cand[:, 0] = (tw_ - 1) - cand[:, 0]
                cand += np.array([x0, y0])
                in_r = t_pts + np.array(loc, float)
                in_s = _project(np.linalg.inv(r3), in_r)
                in_o = (in_s + 0.5) / np.array([osw / ow, osh / oh]) - 0.5
                m = cv2.getAffineTransform(in_o.astype(np.float32), cand.astype(np.float32))
                best = (float(score), np.vstack([m.astype(np.float64), [0, 0, 1.0]]))
            if best is not None:
                found.append(best)
    found.sort(key=lambda t: -t[0])
    return [m for _, m in found[:n]]


def _refine_dense(o_full: np.ndarray, c_full: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Coarse-to-fine affine ECC from a rough map: 160, 320 and 640 px."""
    for side in (160, 320, 768):
        r = _ecc_step(o_full, c_full, h, side, cv2.MOTION_AFFINE)
        if r is not None:
            h = r
    return h


def _refine_plain(o_full: np.ndarray, c_full: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Sub-pixel affine ECC at 768 px from a map known to within a pixel or two; kept only
    when it moves no corner of the candidate by more than 2 % of its size."""
    r = _ecc_step(o_full, c_full, h, 768, cv2.MOTION_AFFINE)
    if r is None:
        return h
    ch, cw = c_full.shape
    try:
        corners = _project(np.linalg.inv(h), np.array([[0, 0], [cw - 1, 0], [0, ch - 1], [cw - 1, ch - 1]], float))
    except np.linalg.LinAlgError:
        return h
    drift = float(np.abs(_project(r, corners) - _project(h, corners)).max())
    return r if np.isfinite(drift) and drift <= 0.02 * max(ch, cw) else h


def _same_aspect(o_shape: tuple[int, int], c_shape: tuple[int, int], tol: float = 0.015) -> bool:
    (oh, ow), (ch, cw) = o_shape, c_shape
    return abs((cw / ch) / (ow / oh) - 1) <= tol


def _finish(
    o_full: np.ndarray, c_full: np.ndarray, h: np.ndarray, method: str, chk: AlignmentCheck | None, n_in: int, n_m: int
) -> Alignment:
    d = _describe(h, o_full.shape, c_full.shape)
    return Alignment(matrix=h, inliers=n_in, matches=n_m, **d, method=method, check=chk)


def align(
    original: np.ndarray,
    candidate: np.ndarray,
    *,
    max_side: int = 1024,
    refine: bool = True,
    min_inliers: int = 12,
    dense: bool = True,
) -> Alignment | None:
    """Find the map from ``original`` to ``candidate`` pixel coordinates, or None.

    Both are HxW or HxWxC arrays (uint8 or float, RGB order). In order:

    1. when the candidate has the original's aspect (1.5 %), the pure resize (and its mirror)
       is checked against the pixels (:func:`check_alignment`: correlation >= 0.9 and no
       perturbed map fits better); the untouched, re-encoded or resized copy of any picture,
       textured or not, is registered here without features;
    2. SIFT features (at most ``max_side`` pixels per long side), ratio test, RANSAC on a
       similarity (and on the mirrored candidate), a homography when clearly better; at least
       ``min_inliers`` inliers;
    3. (``dense``) for pictures without enough texture: a multi-scale, multi-angle intensity
       search (see :func:`_dense_seeds`) and the few features found, each refined by
       coarse-to-fine ECC and accepted only when the check is clear (correlation >= 0.8 and
       every perturbed map fits at least twice worse);
    4. when nothing passed but the pure resize correlates >= 0.98, that map: the picture is
       too plain for any map to be pinned down (a clear sky), and the whole picture resized
       is the likeliest. A wrong map here costs nothing worse than an unreadable mark.

    The returned matrix is in full-resolution coordinates of both images; ``method`` says
    which step found it. Returns None when nothing passes: the candidate is probably not a
    copy of this original, or too plain to tell where it goes.

    Both images are first shrunk to at most ``ALIGN_SIDE`` pixels (every step works at 1024
    pixels or less): a 12 MP original is resampled once, not at every step.
    """
    o_full = to_gray(original)
    c_full = to_gray(candidate)
    side = max(ALIGN_SIDE, max_side)
    o_w, so = shrink(o_full, side)
    c_w, sc = shrink(c_full, side)
    al = _align_gray(o_w, c_w, max_side=max_side, refine=refine, min_inliers=min_inliers, dense=dense)
    if al is None or (o_w is o_full and c_w is c_full):
        return al
    h = np.linalg.inv(sc) @ al.matrix @ so
    h = h / h[2, 2]
    d = _describe(h, o_full.shape, c_full.shape)
    return Alignment(matrix=h, inliers=al.inliers, matches=al.matches, **d, method=al.method, check=al.check)


ALIGN_SIDE = 1536  # registration works with both images at most this size (long side)


def shrink(gray: np.ndarray, side: int) -> tuple[np.ndarray, np.ndarray]:
    """``gray`` shrunk (area averaging) so its long side is at most ``side``, and the
    full -> shrunk pixel map; the array itself and the identity when already small enough."""
    h, w = gray.shape[:2]
    if max(h, w) <= side:
        return gray, np.eye(3)
    s = side / max(h, w)
    nw, nh = max(1, round(w * s)), max(1, round(h * s))
    return cv2.resize(gray, (nw, nh), interpolation=cv2.INTER_AREA), _scale_matrix(nw / w, nh / h)


def _align_gray(
    o_full: np.ndarray, c_full: np.ndarray, *, max_side: int, refine: bool, min_inliers: int, dense: bool
) -> Alignment | None:
    """:func:`align` on grey images already at the working size."""
    fallback: tuple[float, np.ndarray, AlignmentCheck] | None = None
    if dense and _same_aspect(o_full.shape, c_full.shape):
        (oh, ow), (ch, cw) = o_full.shape, c_full.shape
        plain = _scale_matrix(cw / ow, ch / oh)
        mirror = np.array([[-1.0, 0, cw - 1], [0, 1, 0], [0, 0, 1]])
        tried = []
        for hm in (plain, mirror @ plain):
            chk = check_alignment(o_full, c_full, hm)
            if chk.ncc >= MIN_NCC_PLAIN and (fallback is None or chk.ncc > fallback[2].ncc):
                fallback = (chk.contrast, hm, chk)
            if _accept(chk, lenient=True):
                tried.append((chk.contrast, hm, chk))
                if chk.contrast < MAX_CONTRAST_DENSE:
                    break  # clearly this one: skip the mirror
        if tried:
            _, h_full, chk = min(tried, key=lambda t: t[0])
            if refine:
                h_full = _refine_plain(o_full, c_full, h_full)
            return _finish(o_full, c_full, h_full, "scale", chk, 0, 0)
    o_small, so = _resize_max(o_full, max_side)
    c_small, sc = _resize_max(c_full, max_side)  # full -> small matrices
    pts_o, des_o = _features_cached(_u8(o_small))
    best = None
    seed = None  # the best map from too few features: a seed for the dense step
    for flipped in (False, True) if des_o is not None and len(pts_o) >= 4 else ():
        c_img = c_small[:, ::-1] if flipped else c_small
        pts_c, des_c = _features(_u8(np.ascontiguousarray(c_img)))
        pairs = _match(des_o, des_c)
        if len(pairs) < 4:
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
        if len(pairs) < min_inliers:
            if n_in >= 4 and (seed is None or n_in > seed[1]):
                seed = (h, n_in)
            continue
        if best is None or n_in > best[1]:
            best = (h, n_in, len(pairs), src, dst, inl, thresh)
        if not flipped and n_in >= 60 and n_in >= 0.5 * len(pairs):
            break  # clearly unflipped: skip the mirrored pass
    if best is not None and best[1] >= min_inliers:
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
        return _finish(o_full, c_full, h_full, "features", None, n_in, n_match)
    if best is not None and (seed is None or best[1] > seed[1]):
        seed = (best[0], best[1])
    if not dense:
        return None
    seeds = _dense_seeds(o_full, c_full)
    if seed is not None:
        s_full = np.linalg.inv(sc) @ seed[0] @ so
        seeds.insert(0, s_full / s_full[2, 2])
    accepted = []
    for h0 in seeds:
        h1 = _refine_dense(o_full, c_full, h0)
        chk = check_alignment(o_full, c_full, h1)
        if _accept(chk, lenient=False):
            accepted.append((chk.contrast, h1, chk))
            if chk.contrast < 0.25:
                break
    if accepted:
        _, h_full, chk = min(accepted, key=lambda t: t[0])
    elif fallback is not None:
        # Nothing pinned down, but the whole picture resized correlates almost perfectly: a
        # picture too plain to locate (a clear sky, a gradient) is taken as the whole of it.
        _, h_full, chk = fallback
    else:
        return None
    method = "dense" if accepted else "scale"
    if refine and not accepted:
        h_full = _refine_plain(o_full, c_full, h_full)
    return _finish(o_full, c_full, h_full, method, chk, 0, 0)


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
