"""Trace: soft bits of a leaked copy -> accusation scores -> who, with what false-accusation bound."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from unleak.registration.align import Alignment, align, shrink, to_gray

from . import code as _code
from .extract import residual, soft_bits
from .keys import WatermarkKey
from .spread import SCHEME, SCHEMES, scheme_layout_and_mask

DEFAULT_BOUND = 1e-6
WORK_SIDE = 1024  # long side at which the residual is formed (twice the layout's grid)


@dataclass(frozen=True)
class Accusation:
    recipient: str  # recipient id as given to the tracer
    score: float  # standardised score: S_j / ||z|| (about N(0,1) for an innocent)
    p_innocent: float  # bound on P(some innocent recipient scores this high), all recipients counted

    def to_json(self) -> dict:
        return {"recipient": self.recipient, "score": round(self.score, 3), "p_innocent": self.p_innocent}


@dataclass
class TraceResult:
    """What a leaked copy says. ``accused`` is empty unless the evidence clears the bound."""

    accused: list[Accusation] = field(default_factory=list)
    conclusive: bool = False
    recipients: int = 0
    bound: float = DEFAULT_BOUND
    best_score: float | None = None  # the top standardised score, accused or not
    best_p_innocent: float | None = None
    alignment: Alignment | None = None
    frames: int = 0  # video: frames used
    reason: str = ""  # why nothing is concluded, in words ("" when conclusive)
    # ... and as a code: "not_aligned" (the copy could not be registered to the original),
    # "weak_mark" (registered, but no recipient clears the bound), "no_recipients"; None when
    # conclusive.
    reason_code: str | None = None
    scheme: int | None = None  # the marking scheme whose reading is reported
    scores: np.ndarray | None = field(default=None, repr=False)  # standardised, per recipient
    soft_bits: np.ndarray | None = field(default=None, repr=False)  # the normalised z scored against

    def to_json(self) -> dict:
        return {
            "accused": [a.to_json() for a in self.accused],
            "conclusive": self.conclusive,
            "recipients": self.recipients,
            "bound": self.bound,
            "best_score": None if self.best_score is None else round(self.best_score, 3),
            "best_p_innocent": self.best_p_innocent,
            "reason": self.reason_code,
            "detail": self.reason,
        }


def prepare_soft_bits(z: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Remove the part of z explained by the biases (what averaging copies leaves): any
    function of (z, p) keeps the innocent's score distribution, and this one sharpens it."""
    b = 2 * p - 1
    z = z - (z @ b) / (b @ b) * b
    n = math.sqrt(float(z @ z))
    return z / n if n > 0 else z


def accuse(
    z: np.ndarray,
    key: WatermarkKey,
    recipients: Sequence[str],
    *,
    bound: float = DEFAULT_BOUND,
    tests: int = 1,
    codes: np.ndarray | None = None,
) -> TraceResult:
    """Score every recipient against soft bits ``z``; accuse those whose bound clears ``bound``.

    ``p_innocent`` = tests x N x Chernoff bound on one innocent's score (N = number of
    recipients scored; ``tests`` = how many readings of the copy are tried, e.g. one per
    marking scheme, of which the best is kept), i.e. a bound on the chance that *any*
    innocent recipient scores as high in any of them.
    """
    n = len(recipients)
    result = TraceResult(recipients=n, bound=bound)
    if n == 0:
        result.reason = "no recipients to score"
        result.reason_code = "no_recipients"
        return result
    p = _code.bias_vector(key.secret, key.params)
    zn = prepare_soft_bits(np.asarray(z, dtype=np.float64), p)
    if not np.any(zn):
        result.reason = "no mark signal could be read"
        result.reason_code = "weak_mark"
        return result
    if codes is None:
        codes = _code.recipient_codes(key.secret, list(recipients), key.params)
    s = _code.scores(zn, codes, p)
    result.scores = s
    result.soft_bits = zn
    order = np.argsort(-s)
    top = order[: min(n, 64)]
    logt = _code.chernoff_log_tail(s[top], zn, p)
    log_n = math.log(n) + math.log(max(1, tests))
    acc = []
    for j, lt in zip(top, logt):
        p_inn = math.exp(min(0.0, lt + log_n))
        if p_inn <= bound:
            acc.append(Accusation(str(recipients[j]), float(s[j]), p_inn))
    result.best_score = float(s[order[0]])
    result.best_p_innocent = math.exp(min(0.0, float(logt[0]) + log_n))
    result.accused = acc
    result.conclusive = bool(acc)
    if not acc:
        result.reason_code = "weak_mark"
        result.reason = (
            f"no recipient clears the bound: best score {result.best_score:.2f}, "
            f"chance an innocent scores as high {result.best_p_innocent:.2g} > {bound:g}"
        )
    return result


def not_aligned(recipients: int, bound: float, reason: str) -> TraceResult:
    """The result when the copy could not be registered to its original."""
    return TraceResult(recipients=recipients, bound=bound, reason=reason, reason_code="not_aligned")


def extract_image(
    original: np.ndarray,
    leaked: np.ndarray,
    key: WatermarkKey,
    alignment: Alignment | None = None,
    *,
    scheme: int = SCHEME,
) -> tuple[np.ndarray | None, Alignment | None]:
    """Soft bits from a leaked image given its original (aligns first unless given)."""
    zs, al = extract_image_schemes(original, leaked, key, alignment, schemes=(scheme,))
    return (None if zs is None else zs[scheme]), al


def extract_image_schemes(
    original: np.ndarray,
    leaked: np.ndarray,
    key: WatermarkKey,
    alignment: Alignment | None = None,
    *,
    schemes: Sequence[int] = SCHEMES,
) -> tuple[dict[int, np.ndarray] | None, Alignment | None]:
    """Soft bits per marking scheme (the residual is formed once)."""
    o = to_gray(original)
    c = to_gray(leaked)
    if alignment is None:
        alignment = align(o, c)
    if alignment is None:
        return None, None
    # The mark lives far below the Nyquist frequency of a WORK_SIDE grid: the residual is
    # formed there (a 12 MP copy costs what a 1 MP one does), in the shrunk images' coordinates.
    o_s, so = shrink(o, WORK_SIDE)
    c_s, sc = shrink(c, WORK_SIDE)
    m = sc @ alignment.matrix @ np.linalg.inv(so)
    rw, _w = residual(o_s, c_s, replace(alignment, matrix=m / m[2, 2]))
    target = 255.0 / 10 ** (key.psnr_db / 20)
    out = {}
    for s in schemes:
        lay, mask = scheme_layout_and_mask(
            key.secret, np.asarray(original), o_s, key.params.length, s, target, shape=o.shape
        )
        out[s] = soft_bits(lay, mask, rw)
    return out, alignment


def trace_pixels(
    original: np.ndarray,
    leaked: np.ndarray,
    key: WatermarkKey,
    recipients: Sequence[str],
    *,
    bound: float = DEFAULT_BOUND,
    alignment: Alignment | None = None,
    schemes: Sequence[int] = SCHEMES,
) -> TraceResult:
    """Trace a leaked image (pixels) against its original (pixels).

    ``schemes``: the marking schemes the copy may have been made with (see
    :data:`~unleak.watermark.spread.SCHEME`; by default every known one). Each is read; the
    reading with the strongest evidence is kept, and its bound counts every reading tried.
    """
    zs, al = extract_image_schemes(original, leaked, key, alignment, schemes=schemes)
    if zs is None:
        return not_aligned(len(recipients), bound, "the copy could not be aligned to the original")
    best: TraceResult | None = None
    codes = _code.recipient_codes(key.secret, list(recipients), key.params) if recipients else None
    for sc, z in zs.items():
        r = accuse(z, key, recipients, bound=bound, tests=len(zs), codes=codes)
        r.scheme = sc
        if best is None or (r.best_p_innocent or 1.0) < (best.best_p_innocent or 1.0):
            best = r
    assert best is not None
    best.alignment = al
    return best
