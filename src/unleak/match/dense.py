"""Dense fallback of owner-side verification: copies of pictures with too little texture.

Local features need texture. A crop of a sky, a gradient, soft focus, skin or flat vector
shapes keeps too few keypoints for the geometric check of :mod:`unleak.match.verify`, and is
missed there. This module registers such a candidate to an original by its intensities
instead, and decides with its own bound on false acceptance.

1. **Which originals.** Only those that something points at: PDQ came near, or the feature
   shortlist voted for them (the verifier's list), and, for a candidate with few keypoints
   (fewer than ``LOW_TEXTURE``), every weakly textured original. Pairs where both sides are
   textured keep the features' verdict. The rest are ranked by a coarse search (the
   candidate's thumbnail searched in the original's at ``COARSE_SIDE`` pixels: a fraction of
   a millisecond each), and the best ``MAX_DENSE`` with a coarse fit >= ``COARSE_MIN`` get
   the full test.
2. **Registration.** The candidate, without uniform bars, is searched as a template in the
   original's grey work image at 20 scales, 5 angles and mirrored (the search of
   :func:`unleak.registration.align.align`), and the best maps are refined by affine ECC.
3. **Decision.** Two checks on the map, with the candidate at ``CHECK_SIDE`` pixels:

   - *photometric*: the tone-fitted correlation of the original warped onto the candidate is
     at least ``MIN_NCC`` and the map is pinned down (every map shifted, zoomed or turned by
     3 % fits at least twice worse: :func:`~unleak.registration.align.check_alignment`);
   - *structure*, the stated bound: the correlation ``r`` of the two images' band-pass
     (difference of Gaussians, two scales) over the overlap. Unrelated pictures give
     ``atanh(r) * sqrt(n_eff - 3) ~ N(0, 1)`` (Fisher), where ``n_eff`` is the number of
     independent samples in the overlap: its area over the candidate's band-pass correlation
     area (Bartlett). The number of false alarms is ``NFA = TESTS * Phi(-z)``, with
     ``TESTS`` counting every placement the search tried (positions x scales x angles x
     mirror x band scales) and every coarse search: a bound on the expected false acceptances
     per candidate-original pair. A match is accepted when NFA <= ``DENSE_RATE``, and NFA is
     the false-match rate reported.

   The search's smooth fit of a plain picture is not evidence: a crop of a plain gradient
   correlates with any gradient and fits anywhere. When the photometric check holds but the
   structure does not reach the bound (or the map is not pinned down), the verdict is
   *inconclusive* (``reason == "inconclusive"``): never a match, and told apart from a
   rejection so that the owner can look.

The test was checked on unrelated smooth pairs (generated gradients, flat shapes, skies, night
skies, skin tones and soft focus; bench/robustness.py): no accepted pair, see the README.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from unleak.match.verify import Features
from unleak.registration.align import (
    _dense_seeds,
    _fit_error,
    _perturbations,
    _scale_matrix,
    warp_original_to_candidate,
)

if TYPE_CHECKING:
    from unleak.match.verify import Verification, Verifier

LOW_TEXTURE = 200  # candidate keypoints below which the coarse search looks at every weak original
WEAK_ORIGINAL = 300  # originals with fewer keypoints than this are "weakly textured"
COARSE_SIDE = 64
COARSE_MIN = 0.75  # the coarse fit a pair needs before the full test
MAX_DENSE = 2
CHECK_SIDE = 320
BAND_SIGMAS = (1.5, 4.0)  # at CHECK_SIDE: fine edges (shapes, stars) and soft ones (clouds, folds)
MIN_NCC = 0.8
MIN_OVERLAP = 0.3
MAX_CONTRAST = 0.5
DENSE_RATE = 1e-8
# Placements the search tries: positions on the original at 192 px (at most 192 x 192) x
# 20 scales x 5 angles x 2 orientations x 3 seeds refined, x 2 band scales; a coarse search
# adds its own placements (64 x 64 x 8 scales x 2 orientations) per original searched.
TESTS = 192 * 192 * 20 * 5 * 2 * 3 * len(BAND_SIGMAS)
COARSE_TESTS = 64 * 64 * 8 * 2


@dataclass
class DenseResult:
    accepted: bool
    inconclusive: bool
    rate: float
    matrix: np.ndarray | None  # original work grid -> candidate work grid
    ncc: float
    contrast: float
    structure: float  # band-pass correlation r
    n_eff: float


def _phi_upper(z: float) -> float:
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def _band(gray: np.ndarray, sigma: float) -> np.ndarray:
    g = gray.astype(np.float32)
    return cv2.GaussianBlur(g, (0, 0), sigma) - cv2.GaussianBlur(g, (0, 0), 1.6 * sigma)


def _n_eff(band: np.ndarray, mask: np.ndarray) -> float:
    """Independent samples of a band-pass image over `mask`: area / correlation area, with the
    correlation area the sum of the squared normalised autocorrelation (Bartlett)."""
    x = np.where(mask, band - band[mask].mean(), 0).astype(np.float32)
    n = int(mask.sum())
    if n < 50 or float((x * x).sum()) <= 1e-9:
        return 0.0
    h, w = x.shape
    fh, fw = cv2.getOptimalDFTSize(2 * h), cv2.getOptimalDFTSize(2 * w)
    f = np.fft.rfft2(x, (fh, fw))
    ac = np.fft.irfft2(f * np.conj(f), (fh, fw))
    m = np.fft.rfft2(mask.astype(np.float32), (fh, fw))
    pairs = np.fft.irfft2(m * np.conj(m), (fh, fw))  # overlapping pixel pairs per lag
    ok = pairs > 0.25 * n  # lags with enough pairs to estimate
    rho = np.where(ok, ac / np.maximum(pairs, 1) / (ac[0, 0] / n), 0)
    area = float((rho[ok] ** 2).sum())
    return n / max(1.0, area)


def _structure(o_gray: np.ndarray, c_gray: np.ndarray, m_work: np.ndarray) -> tuple[float, float, float]:
    """Best band-pass correlation over the band scales, its n_eff, and its NFA."""
    ch, cw = c_gray.shape
    s = min(1.0, CHECK_SIDE / max(ch, cw))
    sw, sh = max(8, round(cw * s)), max(8, round(ch * s))
    scl = _scale_matrix(sw / cw, sh / ch) if s < 1 else np.eye(3)
    m = scl @ m_work
    c_s = cv2.resize(c_gray, (sw, sh), interpolation=cv2.INTER_AREA) if s < 1 else c_gray.astype(np.float32)
    o_w = warp_original_to_candidate(o_gray.astype(np.float32), m, (sh, sw))
    cov = warp_original_to_candidate(np.ones_like(o_gray, np.float32), m, (sh, sw)) > 0.999
    best = (0.0, 0.0, 1.0)
    for sigma in BAND_SIGMAS:
        mask = cv2.erode(cov.astype(np.uint8), np.ones((3, 3), np.uint8), iterations=max(1, round(2 * sigma))) > 0
        if mask.sum() < 400:
            continue
        a, b = _band(o_w, sigma), _band(c_s.astype(np.float32), sigma)
        av, bv = a[mask] - a[mask].mean(), b[mask] - b[mask].mean()
        den = math.sqrt(float(av @ av) * float(bv @ bv))
        if den <= 1e-9:
            continue
        r = float(av @ bv) / den
        n_eff = min(_n_eff(a, mask), _n_eff(b, mask))
        if n_eff <= 4 or r <= 0:
            continue
        z = math.atanh(min(r, 0.999999)) * math.sqrt(n_eff - 3)
        rate = min(1.0, TESTS * _phi_upper(z))
        if rate < best[2]:
            best = (r, n_eff, rate)
    return best


def _small(c_gray: np.ndarray, side: int) -> tuple[np.ndarray, np.ndarray]:
    ch, cw = c_gray.shape
    s = min(1.0, side / max(ch, cw))
    sw, sh = max(8, round(cw * s)), max(8, round(ch * s))
    scl = _scale_matrix(sw / cw, sh / ch) if s < 1 else np.eye(3)
    small = cv2.resize(c_gray, (sw, sh), interpolation=cv2.INTER_AREA) if s < 1 else c_gray
    return small.astype(np.float32), scl


def _ecc(o: np.ndarray, c: np.ndarray, h: np.ndarray, side: int) -> np.ndarray | None:
    """One affine ECC refinement of ``h`` (original -> candidate) with the candidate at `side`."""
    c_s, scl = _small(c, side)
    sh, sw = c_s.shape
    hs = scl @ h
    o_w = warp_original_to_candidate(o, hs, (sh, sw))
    cov = warp_original_to_candidate(np.ones_like(o), hs, (sh, sw)) > 0.999
    valid = cv2.erode(cov.astype(np.uint8), np.ones((5, 5), np.uint8))
    if valid.sum() < 200:
        return None
    warp: Any = np.eye(2, 3, dtype=np.float32)
    try:
        _, warp = cv2.findTransformECC(
            c_s, o_w, warp, cv2.MOTION_AFFINE, (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 40, 1e-5), valid, 3
        )
    except cv2.error:
        return None
    w3 = np.vstack([warp.astype(np.float64), [0, 0, 1]])
    try:
        new = np.linalg.inv(scl) @ np.linalg.inv(w3) @ hs
    except np.linalg.LinAlgError:
        return None
    return new / new[2, 2] if np.all(np.isfinite(new)) else None


def _check(o: np.ndarray, c: np.ndarray, h: np.ndarray) -> tuple[float, float, float]:
    """Tone-fitted correlation of the map, how pinned down it is (the map's residual over the
    best residual of the map moved by SHIFT: below 1 a local optimum, near 1 not located), and
    the share of the candidate it covers; with the candidate at CHECK_SIDE / 2."""
    c_s, scl = _small(c, CHECK_SIDE // 2)
    c_s = cv2.GaussianBlur(c_s, (0, 0), 1.0)
    sh, sw = c_s.shape
    base = scl @ h
    ones = np.ones_like(o)

    def warp(m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ow = warp_original_to_candidate(o, m, (sh, sw))
        cov = warp_original_to_candidate(ones, m, (sh, sw)) > 0.999
        return ow, cv2.erode(cov.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0

    ow0, cov0 = warp(base)
    e0, ncc = _fit_error(ow0, c_s, cov0)
    contrast = 0.0 if math.isfinite(e0) else math.inf
    for p in _perturbations(sw, sh):
        owk, covk = warp(p @ base)
        sel = cov0 & covk
        if sel.sum() < 0.5 * cov0.sum():
            continue
        ek, _ = _fit_error(owk, c_s, sel)
        eb, _ = _fit_error(ow0, c_s, sel)
        contrast = max(contrast, eb / max(ek, 1e-9))
    return float(ncc), float(contrast), float(cov0.mean())


def register(o_gray: np.ndarray, c_gray: np.ndarray, rate: float = DENSE_RATE) -> DenseResult:
    """Register a candidate to an original by intensities (both grey work images) and decide."""
    o = cv2.GaussianBlur(o_gray.astype(np.float32), (0, 0), 0.7)
    c = cv2.GaussianBlur(c_gray.astype(np.float32), (0, 0), 0.7)
    best: DenseResult | None = None
    for h0 in _dense_seeds(o, c, n=2):
        h1 = h0
        for side in (CHECK_SIDE // 2, CHECK_SIDE):
            r1 = _ecc(o, c, h1, side)
            if r1 is not None:
                h1 = r1
        ncc, contrast, overlap = _check(o, c, h1)
        photometric = overlap >= MIN_OVERLAP and ncc >= MIN_NCC and contrast <= MAX_CONTRAST
        r, n_eff, nfa = _structure(o_gray, c_gray, h1) if photometric or ncc >= 0.9 else (0.0, 0.0, 1.0)
        accepted = photometric and nfa <= rate
        plausible = overlap >= MIN_OVERLAP and ncc >= 0.9
        res = DenseResult(accepted, plausible and not accepted, nfa, h1, ncc, contrast, r, n_eff)
        if best is None or (res.accepted, -res.rate, res.inconclusive) > (best.accepted, -best.rate, best.inconclusive):
            best = res
        if accepted:
            break
    return best or DenseResult(False, False, 1.0, None, 0.0, math.inf, 0.0, 0.0)


def _coarse(gray: np.ndarray) -> np.ndarray:
    h, w = gray.shape
    s = COARSE_SIDE / max(h, w)
    small = cv2.resize(gray, (max(8, round(w * s)), max(8, round(h * s))), interpolation=cv2.INTER_AREA)
    return cv2.GaussianBlur(small.astype(np.float32), (0, 0), 0.8)


_THUMBS: weakref.WeakKeyDictionary[Features, np.ndarray] = weakref.WeakKeyDictionary()


def coarse_scores(cand_gray: np.ndarray, originals: dict[int, Features]) -> list[tuple[float, int]]:
    """Best normalised correlation of the candidate's thumbnail inside each original's (8 scales
    from filling it to a quarter of its side, and mirrored), best first."""
    out = []
    for item_id, f in originals.items():
        o_s = _THUMBS.get(f)
        if o_s is None:
            o_s = _THUMBS[f] = _coarse(f.gray)
        oh, ow = o_s.shape
        ch, cw = cand_gray.shape
        fit = min(ow / cw, oh / ch)  # candidate px -> original coarse px when filling it
        best = -1.0
        for k in range(8):
            s = fit * 0.82**k
            tw, th = round(cw * s), round(ch * s)
            if tw < 10 or th < 10:
                break
            tpl = cv2.GaussianBlur(
                cv2.resize(cand_gray, (tw, th), interpolation=cv2.INTER_AREA).astype(np.float32), (0, 0), 0.8
            )
            if float(tpl.std()) < 0.5:
                continue
            for t in (tpl, np.ascontiguousarray(tpl[:, ::-1])):
                best = max(best, float(cv2.minMaxLoc(cv2.matchTemplate(o_s, t, cv2.TM_CCOEFF_NORMED))[1]))
        out.append((best, item_id))
    return sorted(out, reverse=True)


def fallback(
    verifier: Verifier,
    candidate: np.ndarray,
    cand: Features,
    verdicts: list[Verification],
    pointed: Iterable[int],
) -> list[Verification]:
    """The verifier's verdicts, with the dense test tried on the originals `pointed` at (and,
    for a candidate with few keypoints, the best of a coarse search) when no verdict was
    accepted. Returns the verdicts, replaced or added where the dense test was run."""
    from unleak.match.verify import Verification, _scale, describe

    if any(v.accepted for v in verdicts):
        return verdicts
    # Pairs where features can decide (both textured) keep their verdict; the others are
    # ranked by the coarse search, and only a clear coarse fit gets the full test.
    low = len(cand) < LOW_TEXTURE
    pool: dict[int, Features] = {}
    for item_id in dict.fromkeys(pointed):
        f = verifier.features(item_id)
        if f is not None and (low or len(f) < WEAK_ORIGINAL):
            pool[item_id] = f
    if low:
        for item_id in verifier.item_ids:
            f = verifier.features(item_id)
            if f is not None and len(f) < WEAK_ORIGINAL:
                pool.setdefault(item_id, f)
    if not pool:
        return verdicts
    n_tests = 1.0 + COARSE_TESTS * len(pool) / TESTS
    ranked = coarse_scores(cand.gray, pool)
    order = [i for score, i in ranked if score >= COARSE_MIN][:MAX_DENSE]
    by_id = {v.item_id: k for k, v in enumerate(verdicts)}
    out = list(verdicts)
    for item_id in order:
        orig = pool[item_id]
        res = register(orig.gray, cand.gray, verifier.rate / n_tests)
        if res.matrix is None:
            continue
        rate = min(1.0, res.rate * n_tests)
        full = np.linalg.inv(_scale(cand.scale)) @ res.matrix @ _scale(orig.scale)
        flip = bool(np.linalg.det(res.matrix[:2, :2]) < 0)
        v = Verification(
            item_id,
            res.accepted,
            rate,
            ncc=res.ncc,
            flip=flip,
            similarity=full,
            reason="" if res.accepted else ("inconclusive" if res.inconclusive else "dense: not enough structure"),
        )
        if res.accepted:
            t = describe(full, orig.full_shape, np.asarray(candidate).shape[:2])
            t["source"] = "dense"
            v.transform = t
        if item_id in by_id:
            out[by_id[item_id]] = v
        else:
            out.append(v)
        if res.accepted:
            break
    return out
