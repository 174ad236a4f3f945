"""Owner-side verification: confirm or reject a candidate against the original itself.

When the originals are on the owner's machine, local features do what PDQ cannot: they
survive heavy crops, small rotations, overlays, frames and screenshots. For each candidate:

1. **Features.** SIFT (RootSIFT descriptors) on a grey copy at most ``WORK_SIDE`` pixels on
   its long side. The originals' features, and those of their mirror images (for flipped
   copies), are computed once per matcher.
2. **Shortlist.** Every candidate descriptor is looked up among all originals' descriptors at
   once (FLANN); originals that collect at least ``MIN_VOTES`` ratio-test votes are verified,
   the best ``MAX_SHORTLIST`` of them, plus any original that PDQ already put near.
3. **Geometry.** Descriptors are matched against that original alone (ratio test), and a
   similarity (scale, rotation, shift; mirror from step 1) is fitted by RANSAC.
4. **Decision.** The a-contrario number of false alarms (Moisan & Stival): under the
   hypothesis that the candidate is unrelated, each tentative match lands within the RANSAC
   tolerance of the fitted model with probability ``p = pi * eps^2 / A`` (A: the area the
   candidate's matched points spread over, so clustered points are not over-trusted). The
   chance that a model supported by k of n matches arises by accident is bounded by
   ``NFA = 2 * C(n, 2) * P(Binomial(n - 2, p) >= k - 2)`` (2 for the plain and mirrored
   pass, C(n, 2) for every minimal sample RANSAC could have drawn). NFA bounds the expected
   number of false acceptances per candidate-original pair: it is the false-match rate
   reported, and a match is accepted when NFA <= ``VERIFY_RATE`` (1e-8, a hundredth of the
   per-pair budget), with at least ``MIN_INLIERS`` inliers and, as a second safeguard that
   does not rely on the model, a positive photometric agreement (normalised correlation of
   the aligned images over the overlap >= ``MIN_NCC``).
5. **Transform.** An accepted match is registered precisely with
   :func:`unleak.registration.align.align` (crop box in the original, scale, rotation, flip, share of
   the original visible), the same registration the watermark tracer uses; when it declines,
   the similarity from step 3 is reported instead.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

WORK_SIDE = 640
N_FEATURES = 1500
RATIO = 0.8
MIN_VOTES = 4
MAX_SHORTLIST = 4
MIN_INLIERS = 6
MIN_NCC = 0.3
VERIFY_RATE = 1e-8
RANSAC_ITERS = 3000


def gray_work(pixels: np.ndarray, side: int = WORK_SIDE) -> tuple[np.ndarray, float]:
    """uint8 grey copy with the long side at most `side`, and the full -> work scale."""
    a = np.asarray(pixels)
    if a.ndim == 3:
        a = a[..., :3]
        g = cv2.cvtColor(np.ascontiguousarray(a), cv2.COLOR_RGB2GRAY) if a.shape[2] == 3 else a[..., 0]
    else:
        g = a
    h, w = g.shape[:2]
    s = min(1.0, side / max(h, w))
    if s < 1.0:
        g = cv2.resize(g, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(g), s


_SIFT: cv2.SIFT | None = None
_CLAHE = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8))


def _sift() -> cv2.SIFT:
    global _SIFT
    if _SIFT is None:
        _SIFT = cv2.SIFT.create(nfeatures=N_FEATURES, contrastThreshold=0.02)
    return _SIFT


@dataclass
class Features:
    """Keypoints (work-image coordinates) and RootSIFT descriptors of one image."""

    points: np.ndarray  # (n, 2) float32
    descriptors: np.ndarray  # (n, 128) float32
    gray: np.ndarray  # the work image
    scale: float  # full -> work
    full_shape: tuple[int, int]
    index: cv2.FlannBasedMatcher | None = None  # built for originals, which are matched many times

    def __len__(self) -> int:
        return len(self.points)


def extract(pixels: np.ndarray, *, mirror: bool = False) -> Features:
    a = np.asarray(pixels)
    gray, s = gray_work(a)
    if mirror:
        gray = np.ascontiguousarray(gray[:, ::-1])
    # Local contrast equalised, so that dim or flat photos (microscopy, night) still give features.
    kps, found = _sift().detectAndCompute(_CLAHE.apply(gray), None)
    des: npt.NDArray[np.float32]
    if found is None or len(kps) == 0:
        pts, des = np.zeros((0, 2), np.float32), np.zeros((0, 128), np.float32)
    else:
        pts = np.array([k.pt for k in kps], np.float32)
        des = np.array(found, dtype=np.float32)
        des /= des.sum(axis=1, keepdims=True) + 1e-7  # RootSIFT: L1, then square root
        des = np.sqrt(des)
    return Features(pts, des, gray, s, a.shape[:2])


def _flann(des: np.ndarray) -> cv2.FlannBasedMatcher:
    flann = cv2.FlannBasedMatcher({"algorithm": 1, "trees": 4}, {"checks": 64})
    flann.add([des])
    flann.train()
    return flann


def _ratio_matches(des_c: np.ndarray, des_o: np.ndarray, index: cv2.FlannBasedMatcher | None = None) -> np.ndarray:
    """(candidate index, original index) pairs that pass the ratio test."""
    if len(des_c) < 2 or len(des_o) < 2:
        return np.zeros((0, 2), np.int32)
    knn = index.knnMatch(des_c, k=2) if index is not None else cv2.BFMatcher(cv2.NORM_L2).knnMatch(des_c, des_o, k=2)
    pairs = [(m[0].queryIdx, m[0].trainIdx) for m in knn if len(m) == 2 and m[0].distance < RATIO * m[1].distance]
    return np.array(pairs, np.int32).reshape(-1, 2)


def _log_binom_tail(n: int, k: int, p: float) -> float:
    """log P(Binomial(n, p) >= k)."""
    if k <= 0:
        return 0.0
    if k > n:
        return -math.inf
    if p <= 0:
        return -math.inf
    if p >= 1:
        return 0.0
    terms = [
        math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * math.log(p) + (n - i) * math.log1p(-p)
        for i in range(k, n + 1)
    ]
    top = max(terms)
    return top + math.log(sum(math.exp(t - top) for t in terms))


def nfa(n_matches: int, inliers: int, p: float, tests: int = 2) -> float:
    """A-contrario number of false alarms of a similarity supported by `inliers` of `n_matches`."""
    if n_matches < 2 or inliers < 2:
        return float(tests)
    log_samples = math.log(n_matches * (n_matches - 1) / 2)
    value = math.log(tests) + log_samples + _log_binom_tail(n_matches - 2, inliers - 2, p)
    return math.exp(min(value, 0.0)) if value < 0 else min(1.0, math.exp(min(value, 50.0)))


@dataclass
class Verification:
    """The verdict on one candidate-original pair."""

    item_id: int
    accepted: bool
    false_match_rate: float
    inliers: int = 0
    matches: int = 0
    ncc: float | None = None
    flip: bool = False
    similarity: np.ndarray | None = None  # 3x3, original (full res) -> candidate (full res)
    transform: dict[str, Any] | None = None
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "verified": self.accepted,
            "inliers": self.inliers,
            "matches": self.matches,
            "false_match_rate": float(f"{self.false_match_rate:.3g}"),
        }
        if self.ncc is not None:
            out["ncc"] = round(self.ncc, 3)
        if self.transform is not None:
            out["transform"] = self.transform
        return out


def _mirror_matrix(width: int) -> np.ndarray:
    return np.array([[-1.0, 0, width - 1], [0, 1, 0], [0, 0, 1]])


def _scale(s: float) -> np.ndarray:
    return np.diag([s, s, 1.0])


def _ncc(original: Features, cand: Features, m_work: np.ndarray) -> float:
    """Correlation of the original warped onto the candidate (work grids) over their overlap."""
    h, w = cand.gray.shape
    src = original.gray.astype(np.float32)
    warped = cv2.warpAffine(src, m_work[:2], (w, h), flags=cv2.INTER_LINEAR, borderValue=0)
    covered = cv2.warpAffine(np.ones_like(src), m_work[:2], (w, h), flags=cv2.INTER_NEAREST, borderValue=0)
    mask = cv2.erode(covered, np.ones((5, 5), np.uint8)) > 0.5
    if mask.sum() < 400:
        return 0.0
    a = cv2.GaussianBlur(warped, (0, 0), 1.5)[mask]
    b = cv2.GaussianBlur(cand.gray.astype(np.float32), (0, 0), 1.5)[mask]
    a = a - a.mean()
    b = b - b.mean()
    den = math.sqrt(float((a * a).sum()) * float((b * b).sum()))
    return float((a * b).sum() / den) if den > 0 else 0.0


def _hull_area(points: np.ndarray) -> float:
    if len(points) < 3:
        return 0.0
    return float(cv2.contourArea(cv2.convexHull(points.astype(np.float32))))


def describe(matrix: np.ndarray, original_shape: tuple[int, int], candidate_shape: tuple[int, int]) -> dict[str, Any]:
    """Crop box, scale, rotation, flip and visible share of an original -> candidate map."""
    a = matrix[:2, :2]
    flip = bool(np.linalg.det(a) < 0)
    b = a @ np.diag([-1.0, 1.0]) if flip else a
    scale = math.sqrt(abs(np.linalg.det(b)))
    rotation = math.degrees(math.atan2(b[1, 0], b[0, 0]))
    oh, ow = original_shape
    ch, cw = candidate_shape
    inv = np.linalg.inv(matrix)
    corners = np.array([[0, 0, 1], [cw, 0, 1], [cw, ch, 1], [0, ch, 1]], float) @ inv.T
    poly = (corners[:, :2] / corners[:, 2:3]).astype(np.float32)
    if cv2.contourArea(poly, oriented=True) < 0:
        poly = poly[::-1].copy()
    frame = np.array([[0, 0], [ow, 0], [ow, oh], [0, oh]], np.float32)
    area, inter = cv2.intersectConvexConvex(frame, poly)
    box = (0, 0, 0, 0)
    if inter is not None and area > 0:
        inter = inter.reshape(-1, 2)
        x0, y0 = np.floor(inter.min(0))
        x1, y1 = np.ceil(inter.max(0))
        box = (int(max(0, x0)), int(max(0, y0)), int(min(ow, x1)), int(min(oh, y1)))
    return {
        "flip": flip,
        "scale": round(scale, 4),
        "rotation_deg": round(rotation, 2),
        "crop_box": list(box),
        "visible_fraction": round(min(1.0, float(area) / (ow * oh)), 4),
        "source": "similarity",
    }


class Verifier:
    """Verifies candidates against the originals of a bank, loaded through `load(item_id)`."""

    def __init__(
        self,
        load: Callable[[int], np.ndarray],
        item_ids: Iterable[int],
        *,
        rate: float = VERIFY_RATE,
        precise: bool = True,
    ) -> None:
        self.load = load
        self.item_ids = list(item_ids)
        self.rate = rate
        self.precise = precise  # register accepted matches with align() for the transform
        self._feats: dict[tuple[int, bool], Features] = {}
        self._pool: tuple[cv2.FlannBasedMatcher, np.ndarray] | None = None
        self._failed: set[int] = set()

    # --- originals ---------------------------------------------------------------------------
    def features(self, item_id: int, mirror: bool = False) -> Features | None:
        key = (item_id, mirror)
        if key not in self._feats:
            if item_id in self._failed:
                return None
            try:
                pixels = self.load(item_id)
            except Exception:  # noqa: BLE001 - a moved or unreadable original: cannot verify, never a crash
                self._failed.add(item_id)
                return None
            for m in (False, True):
                f = extract(pixels, mirror=m)
                if len(f) >= 2:
                    f.index = _flann(f.descriptors)
                self._feats[(item_id, m)] = f
        return self._feats[key]

    def _pool_index(self) -> tuple[cv2.FlannBasedMatcher, np.ndarray]:
        if self._pool is None:
            des, owner = [], []
            for item_id in self.item_ids:
                for mirror in (False, True):
                    f = self.features(item_id, mirror)
                    if f is not None and len(f):
                        des.append(f.descriptors)
                        owner.append(np.full(len(f), item_id * 2 + int(mirror), np.int64))
            flann = cv2.FlannBasedMatcher({"algorithm": 1, "trees": 4}, {"checks": 48})
            if des:
                flann.add([np.concatenate(des)])
                flann.train()
            self._pool = (flann, np.concatenate(owner) if owner else np.zeros(0, np.int64))
        return self._pool

    # --- candidates --------------------------------------------------------------------------
    def shortlist(self, cand: Features) -> dict[int, list[bool]]:
        """Originals (item id -> orientations: mirrored or not) that collect enough ratio-test
        votes among all originals' descriptors, the best MAX_SHORTLIST of them."""
        flann, owner = self._pool_index()
        if len(owner) < 2 or len(cand) < 2:
            return {}
        knn = flann.knnMatch(cand.descriptors, k=2)
        votes: dict[int, int] = {}
        for m in knn:
            if len(m) == 2 and m[0].distance < RATIO * m[1].distance:
                key = int(owner[m[0].trainIdx])
                votes[key] = votes.get(key, 0) + 1
        ranked = sorted((v, k) for k, v in votes.items() if v >= MIN_VOTES)[::-1]
        out: dict[int, list[bool]] = {}
        for _, key in ranked:
            if key // 2 in out or len(out) < MAX_SHORTLIST:
                out.setdefault(key // 2, []).append(bool(key % 2))
        return out

    def verify(
        self,
        item_id: int,
        candidate: np.ndarray,
        cand: Features | None = None,
        orientations: Iterable[bool] = (False, True),
    ) -> Verification:
        """Confirm or reject one candidate against one original (plain and/or mirrored)."""
        cand = cand if cand is not None else extract(candidate)
        best: Verification | None = None
        for mirror in sorted(set(orientations)):
            orig = self.features(item_id, mirror)
            if orig is None:
                return Verification(item_id, False, 1.0, reason="original not readable")
            v = self._verify_one(item_id, orig, cand, mirror)
            if best is None or v.false_match_rate < best.false_match_rate:
                best = v
            if best.accepted and not mirror:
                break
        assert best is not None
        if best.accepted:
            self._describe(best, candidate)
        return best

    def _verify_one(self, item_id: int, orig: Features, cand: Features, mirror: bool) -> Verification:
        pairs = _ratio_matches(cand.descriptors, orig.descriptors, orig.index)
        n = len(pairs)
        if n < MIN_INLIERS:
            return Verification(item_id, False, 1.0, matches=n, flip=mirror, reason="too few matches")
        src = orig.points[pairs[:, 1]]
        dst = cand.points[pairs[:, 0]]
        eps = max(2.0, 0.006 * max(cand.gray.shape))
        m, inl = cv2.estimateAffinePartial2D(
            src, dst, method=cv2.RANSAC, ransacReprojThreshold=eps, maxIters=RANSAC_ITERS, confidence=0.999
        )
        if m is None:
            return Verification(item_id, False, 1.0, matches=n, flip=mirror, reason="no model")
        inl = inl.ravel().astype(bool)
        k = int(inl.sum())
        s = math.sqrt(abs(np.linalg.det(m[:, :2])))
        if not (0.02 < s < 50):
            return Verification(item_id, False, 1.0, inliers=k, matches=n, flip=mirror, reason="degenerate scale")
        area = min(_hull_area(dst), float(cand.gray.shape[0] * cand.gray.shape[1]))
        area = max(area, 1.0)
        p = min(1.0, math.pi * eps * eps / area)
        rate = nfa(n, k, p)
        m_work = np.vstack([m, [0, 0, 1]])
        ncc = _ncc(orig, cand, m_work) if k >= MIN_INLIERS else None
        accepted = rate <= self.rate and k >= MIN_INLIERS and ncc is not None and ncc >= MIN_NCC
        # original full -> original work (-> mirrored work) -> candidate work -> candidate full
        full = np.linalg.inv(_scale(cand.scale)) @ m_work
        if mirror:
            full = full @ _mirror_matrix(orig.gray.shape[1])
        full = full @ _scale(orig.scale)
        reason = (
            ""
            if accepted
            else (
                "photometric disagreement" if rate <= self.rate and k >= MIN_INLIERS else "not enough geometric support"
            )
        )
        return Verification(
            item_id, accepted, rate, inliers=k, matches=n, ncc=ncc, flip=mirror, similarity=full, reason=reason
        )

    def _describe(self, v: Verification, candidate: np.ndarray) -> None:
        orig = self.features(v.item_id)
        if orig is None or v.similarity is None:
            return  # only accepted verdicts come here, and those have both
        cand_shape = np.asarray(candidate).shape[:2]
        v.transform = describe(v.similarity, orig.full_shape, cand_shape)
        if not self.precise:
            return
        from unleak.registration.align import align

        try:
            al = align(self.load(v.item_id), candidate, refine=False)
        except Exception:  # noqa: BLE001 - registration is a refinement: the similarity stands without it
            al = None
        if al is not None and al.flip == v.flip:
            v.transform = {
                "flip": al.flip,
                "scale": round(al.scale, 4),
                "rotation_deg": round(al.rotation_deg, 2),
                "crop_box": list(al.crop_box),
                "visible_fraction": round(al.visible_fraction, 4),
                "matrix": [[round(float(x), 6) for x in row] for row in al.matrix],
                "source": "align",
            }

    def verify_candidate(self, candidate: np.ndarray, also: Iterable[int] = ()) -> list[Verification]:
        """Shortlist the originals for one candidate and verify each; `also` adds items to check
        (those PDQ found near). Returns every verdict, accepted or not."""
        cand = extract(candidate)
        listed = self.shortlist(cand)
        known = set(self.item_ids)
        ids = [i for i in dict.fromkeys([*also, *listed]) if i in known]
        return [self.verify(i, candidate, cand, listed.get(i, (False, True))) for i in ids]
