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
5. **Transform.** An accepted match reports the similarity from step 3 (crop box in the
   original, scale, rotation, flip, share of the original visible, the 3x3 matrix); with
   ``precise`` it is registered again with :func:`unleak.registration.align.align`, the
   registration the watermark tracer uses (several SIFT passes at 1024 px and a decode of the
   original: 0.3-0.7 s a match, so `unleak match` and `unleak scan` leave it off).

When no pair is accepted and one side has too little texture for step 3 (skies, gradients,
soft focus), :func:`unleak.match.dense.fallback` tries a dense registration with its own
bound on false acceptance.

The originals' features come from the feature cache (:mod:`unleak.match.features`): computed at
protect time, or on first use for older banks, and never again. A flipped copy is matched by
mirroring the candidate's descriptors (an exact permutation of SIFT's bins), not by a second set
of features per original; the shortlist searches a saved kd-tree over the ``POOL_PER_ITEM``
strongest descriptors of every original.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

if TYPE_CHECKING:
    from unleak.match.features import FeatureCache

WORK_SIDE = 640
N_FEATURES = 1500
RATIO = 0.8
MIN_VOTES = 4
MAX_SHORTLIST = 4
MIN_INLIERS = 6
MIN_NCC = 0.3
VERIFY_RATE = 1e-8
RANSAC_ITERS = 3000
SCREEN_NFA = 1.0  # the shortlist keeps an original whose votes agree on a similarity beyond chance (NFA < 1)
SCREEN_ITERS = 500
COARSE_MIN_SIDE = 320  # work images smaller than this skip the coarse pass (cheap in full; halving loses them)


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
CLAHE = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8))


def sift() -> cv2.SIFT:
    global _SIFT
    if _SIFT is None:
        _SIFT = cv2.SIFT.create(nfeatures=N_FEATURES, contrastThreshold=0.02)
    return _SIFT


class Features:
    """Keypoints (work-image coordinates) and RootSIFT descriptors of one image. An original's
    grey work image (for the photometric check) may be loaded only when first needed."""

    def __init__(
        self,
        points: np.ndarray,
        descriptors: np.ndarray,
        gray: np.ndarray | Callable[[], np.ndarray],
        scale: float,
        full_shape: tuple[int, int],
        work_shape: tuple[int, int],
        *,
        raw: np.ndarray | None = None,
        response: np.ndarray | None = None,
    ) -> None:
        self.points = points  # (n, 2) float32
        self.descriptors = descriptors  # (n, 128) float32, RootSIFT
        self._gray = gray
        self.scale = scale  # full -> work
        self.full_shape = full_shape
        self.work_shape = work_shape
        self.raw = raw  # (n, 128) uint8 SIFT, kept for originals (the shortlist's pool)
        self.response = response
        self.index: cv2.FlannBasedMatcher | None = None  # built for originals, which are matched many times

    @property
    def gray(self) -> np.ndarray:
        """The work image (uint8 grey)."""
        if callable(self._gray):
            self._gray = self._gray()
        return self._gray

    def __len__(self) -> int:
        return len(self.points)

    def mirrored(self) -> Features:
        """The features of the horizontally mirrored image, without a second SIFT pass."""
        from unleak.match.features import MIRROR_PERMUTATION

        pts = self.points.copy()
        pts[:, 0] = (self.work_shape[1] - 1) - pts[:, 0]
        gray = self._gray
        return Features(
            pts,
            np.ascontiguousarray(self.descriptors[:, MIRROR_PERMUTATION]),
            (lambda: np.ascontiguousarray(self.gray[:, ::-1]))
            if callable(gray)
            else np.ascontiguousarray(gray[:, ::-1]),
            self.scale,
            self.full_shape,
            self.work_shape,
        )

    @classmethod
    def from_arrays(cls, z: dict[str, np.ndarray]) -> Features:
        """From a feature cache's stored arrays (unleak.match.features)."""
        from unleak.match.features import root_sift

        fh, fw, wh, ww = (int(x) for x in z["shape"])
        jpg = z["gray"]

        def gray() -> np.ndarray:
            g = cv2.imdecode(jpg, cv2.IMREAD_GRAYSCALE) if len(jpg) else None
            return g if g is not None and g.shape == (wh, ww) else np.zeros((wh, ww), np.uint8)

        return cls(
            np.asarray(z["points"], np.float32).reshape(-1, 2),
            root_sift(z["descriptors"]),
            gray,
            float(z["scale"][0]),
            (fh, fw),
            (wh, ww),
            raw=z["descriptors"],
            response=z["response"],
        )


def extract(pixels: np.ndarray, *, mirror: bool = False) -> Features:
    a = np.asarray(pixels)
    gray, s = gray_work(a)
    if mirror:
        gray = np.ascontiguousarray(gray[:, ::-1])
    return features_of(gray, s, a.shape[:2])


def features_of(gray: np.ndarray, scale: float, full_shape: tuple[int, ...], *, coarse: bool = False) -> Features:
    """The features of a grey work image (`gray_work`). `coarse`: SIFT on the work image halved,
    in work-image coordinates. SIFT doubles its input before anything else, so this leaves out
    only the finest scale, at a quarter of the cost: a first pass that spares most candidates
    the full one."""
    from unleak.match.features import raw_sift, root_sift

    # Local contrast equalised (in raw_sift), so that dim or flat photos (microscopy, night) still give features.
    if coarse:
        h, w = gray.shape
        half = cv2.resize(gray, (max(1, w // 2), max(1, h // 2)), interpolation=cv2.INTER_AREA)
        pts, raw, resp = raw_sift(half)
        fx, fy = w / half.shape[1], h / half.shape[0]
        pts = ((pts + 0.5) * np.array([fx, fy], np.float32) - 0.5).astype(np.float32)
    else:
        pts, raw, resp = raw_sift(gray)
    h0, w0 = full_shape[:2]
    return Features(pts, root_sift(raw), gray, scale, (h0, w0), (gray.shape[0], gray.shape[1]), raw=raw, response=resp)


def _flann(des: np.ndarray) -> cv2.FlannBasedMatcher:
    from unleak.registration.align import seed_kd_trees

    flann = cv2.FlannBasedMatcher({"algorithm": 1, "trees": 4}, {"checks": 64})
    flann.add([des])
    seed_kd_trees()  # the same original gives the same trees, so the same matches, on any thread
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
        "matrix": [[round(float(x), 6) for x in row] for row in matrix],
        "source": "similarity",
    }


def screen(src: np.ndarray, dst: np.ndarray, work_shape: tuple[int, int]) -> int:
    """How many of the shortlist's votes (original -> candidate points) one similarity explains,
    or 0 when that many would agree by chance (a-contrario NFA not below ``SCREEN_NFA``, as in
    the decision but loose: it only spares the full check of an original nothing points to)."""
    n = len(src)
    if n < 3:
        return 0
    eps = max(2.0, 0.006 * max(work_shape))
    m, inl = cv2.estimateAffinePartial2D(
        src, dst, method=cv2.RANSAC, ransacReprojThreshold=eps, maxIters=SCREEN_ITERS, confidence=0.999
    )
    if m is None:
        return 0
    k = int(inl.sum())
    area = max(1.0, min(_hull_area(dst), float(work_shape[0] * work_shape[1])))
    return k if nfa(n, k, min(1.0, math.pi * eps * eps / area)) < SCREEN_NFA else 0


class Verifier:
    """Verifies candidates against the originals of a bank, loaded through `load(item_id)`.

    `cache` and `digests` (item id -> the SHA-256 the bank recorded): the originals' features and
    the shortlist's pool are read from the feature cache (unleak.match.features), computed and
    stored there on first use; without them, everything is computed in memory."""

    def __init__(
        self,
        load: Callable[[int], np.ndarray],
        item_ids: Iterable[int],
        *,
        rate: float = VERIFY_RATE,
        precise: bool = True,
        cache: FeatureCache | None = None,
        digests: dict[int, str] | None = None,
    ) -> None:
        self.load = load
        self.item_ids = list(item_ids)
        self.rate = rate
        self.precise = precise  # register accepted matches with align() for the transform
        # The coarse pass and the shortlist's geometric screen; off, every candidate gets the full
        # pass and every original with MIN_VOTES votes is checked (as before; for benchmarks).
        self.screen = True
        self.cache = cache if digests else None
        self.digests = digests or {}
        self._feats: dict[int, Features] = {}
        self._pool: tuple[cv2.flann.Index | None, np.ndarray, np.ndarray] | None = None
        self._failed: set[int] = set()

    # --- originals ---------------------------------------------------------------------------
    def features(self, item_id: int) -> Features | None:
        """The original's features (cached), or None when it cannot be read."""
        if item_id not in self._feats:
            if item_id in self._failed:
                return None
            try:
                digest = self.digests.get(item_id)
                if self.cache is not None and digest:
                    z = self.cache.ensure(digest, lambda: self.load(item_id))
                    if z is None:
                        raise ValueError("feature cache unreadable")
                    f = Features.from_arrays(z)
                else:
                    f = extract(self.load(item_id))
            except Exception:  # noqa: BLE001 - a moved or unreadable original: cannot verify, never a crash
                self._failed.add(item_id)
                return None
            self._feats[item_id] = f
        return self._feats[item_id]

    def _index_of(self, orig: Features) -> cv2.FlannBasedMatcher | None:
        if orig.index is None and len(orig) >= 2:
            orig.index = _flann(orig.descriptors)
        return orig.index

    def _pool_index(self) -> tuple[cv2.flann.Index | None, np.ndarray, np.ndarray]:
        """The shortlist's kd-tree over the strongest descriptors of every original, each
        descriptor's item id and its keypoint's position in the original's work image; read from
        the feature cache when it has this bank's pool."""
        if self._pool is not None:
            return self._pool
        from unleak.match.features import FeatureCache, strongest

        key = None
        if self.cache is not None:
            key = FeatureCache.pool_key(self.digests[i] for i in self.item_ids if i in self.digests)
            saved = self.cache.load_pool(key)
            if saved is not None:
                _des, owner, points, names, index = saved
                by_digest = {d: i for i, d in self.digests.items()}
                ids = np.array([by_digest.get(n, -1) for n in names], np.int64)
                self._pool = (index, ids[owner] if len(owner) else np.zeros(0, np.int64), points)
                return self._pool
        raws, owners, where, names = [], [], [], []
        for item_id in self.item_ids:
            f = self.features(item_id)
            if f is None or not len(f) or f.raw is None or f.response is None:
                continue
            keep = strongest(f.response)
            raws.append(f.raw[keep])
            where.append(f.points[keep])
            owners.append(np.full(len(keep), len(names), np.int64))
            names.append(self.digests.get(item_id, str(item_id)))
        if not raws or sum(len(r) for r in raws) < 2:
            self._pool = (None, np.zeros(0, np.int64), np.zeros((0, 2), np.float32))
            return self._pool
        raw, owner, pts = np.concatenate(raws), np.concatenate(owners), np.concatenate(where)
        if self.cache is not None and key is not None:
            index = self.cache.save_pool(key, raw, owner, pts, names)
        else:
            from unleak.match.features import POOL_TREES, root_sift
            from unleak.registration.align import seed_kd_trees

            seed_kd_trees()
            index = cv2.flann.Index(root_sift(raw), {"algorithm": 1, "trees": POOL_TREES})
        by_name = {n: i for i, n in zip(self.item_ids, [self.digests.get(i, str(i)) for i in self.item_ids])}
        ids = np.array([by_name[n] for n in names], np.int64)
        self._pool = (index, ids[owner], pts)
        return self._pool

    # --- candidates --------------------------------------------------------------------------
    def shortlist(self, cand: Features, mirrored: Features | None = None) -> dict[int, list[bool]]:
        """Originals (item id -> orientations of the candidate: mirrored or not) that collect
        enough ratio-test votes among all originals' strongest descriptors, and whose votes agree
        on one similarity more than chance would (``screen``), the best MAX_SHORTLIST of them."""
        index, owner, points = self._pool_index()
        if index is None or len(owner) < 2 or len(cand) < 2:
            return {}
        mirrored = mirrored if mirrored is not None else cand.mirrored()
        ranked: list[tuple[int, int, int]] = []  # (consistent votes, votes, item * 2 + mirrored)
        for flag, f in ((0, cand), (1, mirrored)):
            idx, dist = index.knnSearch(f.descriptors, 2, params={"checks": 48})
            good = np.flatnonzero(dist[:, 0] < (RATIO * RATIO) * dist[:, 1])  # squared distances
            items = owner[idx[good, 0]]
            for item in np.unique(items):
                sel = good[items == item]
                if item < 0 or len(sel) < MIN_VOTES:
                    continue
                k = screen(points[idx[sel, 0]], f.points[sel], f.work_shape) if self.screen else len(sel)
                if k:
                    ranked.append((k, len(sel), int(item) * 2 + flag))
        out: dict[int, list[bool]] = {}
        for _, _, key in sorted(ranked, reverse=True):
            if key // 2 in out or len(out) < MAX_SHORTLIST:
                out.setdefault(key // 2, []).append(bool(key % 2))
        return out

    def verify(
        self,
        item_id: int,
        candidate: np.ndarray,
        cand: Features | None = None,
        orientations: Iterable[bool] = (False, True),
        mirrored: Features | None = None,
    ) -> Verification:
        """Confirm or reject one candidate against one original (the candidate plain and/or mirrored)."""
        cand = cand if cand is not None else extract(candidate)
        orig = self.features(item_id)
        if orig is None:
            return Verification(item_id, False, 1.0, reason="original not readable")
        best: Verification | None = None
        for mirror in sorted(set(orientations)):
            if mirror and mirrored is None:
                mirrored = cand.mirrored()
            v = self._verify_one(item_id, orig, cand, mirrored if mirror else None)
            if best is None or v.false_match_rate < best.false_match_rate:
                best = v
            if best.accepted and not mirror:
                break
        assert best is not None
        if best.accepted:
            self._describe(best, candidate)
        return best

    def _verify_one(self, item_id: int, orig: Features, cand: Features, mirrored: Features | None) -> Verification:
        """`mirrored`: match the mirrored candidate's features (a flipped copy) instead of its own."""
        mirror = mirrored is not None
        c = mirrored if mirrored is not None else cand
        pairs = _ratio_matches(c.descriptors, orig.descriptors, self._index_of(orig))
        n = len(pairs)
        if n < MIN_INLIERS:
            return Verification(item_id, False, 1.0, matches=n, flip=mirror, reason="too few matches")
        src = orig.points[pairs[:, 1]]
        dst = c.points[pairs[:, 0]]
        eps = max(2.0, 0.006 * max(cand.work_shape))
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
        area = min(_hull_area(dst), float(cand.work_shape[0] * cand.work_shape[1]))
        area = max(area, 1.0)
        p = min(1.0, math.pi * eps * eps / area)
        rate = nfa(n, k, p)
        # original work -> (mirrored) candidate work -> candidate work
        m_work = np.vstack([m, [0, 0, 1]])
        if mirror:
            m_work = _mirror_matrix(cand.work_shape[1]) @ m_work
        ncc = _ncc(orig, cand, m_work) if k >= MIN_INLIERS and rate <= self.rate else None
        accepted = rate <= self.rate and k >= MIN_INLIERS and ncc is not None and ncc >= MIN_NCC
        # original full -> original work -> candidate work -> candidate full
        full = np.linalg.inv(_scale(cand.scale)) @ m_work @ _scale(orig.scale)
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
        (those PDQ found near). Returns every verdict, accepted or not.

        A coarse pass comes first (``extract(coarse=True)``, a quarter of the cost): when it puts
        no original on the shortlist and PDQ put none near, no original is checked, and the full
        pass is not made. Otherwise the full pass decides, as it would alone, over the originals
        either pass lists."""
        from unleak.match.dense import LOW_TEXTURE, fallback

        known = set(self.item_ids)
        near = [i for i in dict.fromkeys(also) if i in known]
        a = np.asarray(candidate)
        gray, s = gray_work(a)
        listed: dict[int, list[bool]] = {}
        if self.screen and min(gray.shape) >= COARSE_MIN_SIDE:
            coarse = features_of(gray, s, a.shape, coarse=True)
            listed = self.shortlist(coarse)
            # Nothing points anywhere and the picture has texture enough for features to decide
            # (so the dense test, below, would not run either): done.
            if not listed and not near and len(coarse) >= LOW_TEXTURE:
                return []
        cand = features_of(gray, s, a.shape)
        mirrored = cand.mirrored()
        for i, flags in self.shortlist(cand, mirrored).items():
            listed[i] = sorted(set(listed.get(i, [])) | set(flags))
        ids = [i for i in dict.fromkeys([*near, *listed]) if i in known]
        verdicts = [self.verify(i, candidate, cand, listed.get(i, (False, True)), mirrored) for i in ids]
        # Too little texture for local features: the dense test, with its own bound (match.dense).
        return fallback(self, candidate, cand, verdicts, ids)
