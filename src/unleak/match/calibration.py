"""False-match rates of PDQ decisions, and the thresholds that hold them at a target.

The model. For two unrelated images, the PDQ distance D of one hash comparison is modelled in
its lower tail by a normal law, ``P(D <= t) = Phi((t + 0.5 - mean) / sigma)`` (the 0.5 is a
continuity correction: distances are integers). PDQ's bits are balanced (median threshold), so
the mean is 128; were the 256 bits independent, sigma would be 8 (a binomial). Real images
share coarse structure, so their tail is heavier: the sigma used is the larger of

- a tail fit on distances of unrelated pairs (:func:`fit_tail`), when the caller has some, and
- the reference ``REFERENCE_SIGMA = 19``: 2.4 times the binomial spread. It puts Meta's usual
  threshold 31 at 1.9e-7 per comparison and 36 at 7e-7 (measured on a held-out set:
  no unrelated pair within 31 and the nearest at 36 among some 1.2e5 pairs: consistent).

One candidate is compared to one bank item several times (8 orientations, trimmed regions,
bank-side crops). The rate that matters is per candidate-bank pair: the chance that ANY of
those comparisons falls within its threshold. It is bounded by the union bound,
``sum over groups of m_g * P(D <= t_g)``, where group g makes m_g comparisons at threshold
t_g. :func:`group_thresholds` splits the target rate (1e-6 by default) between the groups by
weight and gives each the largest threshold its share allows.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

DEFAULT_TARGET = 1e-6  # false matches per candidate-bank pair: the bound the matcher promises
PDQ_BITS = 256
PDQ_MEAN = 128.0
BINOMIAL_SIGMA = 8.0  # sqrt(256 / 4)
REFERENCE_SIGMA = 19.0


def _phi(z: float) -> float:
    """Standard normal lower tail, accurate far out (erfc, not 1 - erf)."""
    return 0.5 * math.erfc(-z / math.sqrt(2.0))


@dataclass(frozen=True)
class NullModel:
    """The distance distribution of unrelated PDQ hashes, in its lower tail."""

    mean: float = PDQ_MEAN
    sigma: float = REFERENCE_SIGMA
    source: str = "reference"

    def rate(self, t: float) -> float:
        """P(D <= t) for one comparison of unrelated hashes."""
        if t < 0:
            return 0.0
        return _phi((t + 0.5 - self.mean) / self.sigma)

    def threshold(self, rate: float) -> int:
        """The largest integer threshold t with rate(t) <= rate (-1 if none)."""
        t = -1
        while t + 1 <= PDQ_BITS and self.rate(t + 1) <= rate:
            t += 1
        return t

    def to_json(self) -> dict[str, Any]:
        return {"mean": self.mean, "sigma": self.sigma, "source": self.source}


REFERENCE_MODEL = NullModel()


def fit_tail(
    distances: Iterable[int] | np.ndarray,
    *,
    quantiles: tuple[float, ...] = (1e-4, 1e-3, 1e-2, 0.05),
    floor: NullModel | None = REFERENCE_MODEL,
) -> NullModel:
    """Fit the normal tail to distances of unrelated pairs (one per comparison).

    The fit is a line through the empirical lower quantiles against the normal quantiles
    (a probit plot restricted to the tail, so the bulk cannot make the tail look light).
    Quantiles below 10 / n are left out as too noisy. With ``floor`` (the default), the
    returned model is never lighter-tailed than the floor: extrapolation far below the data
    should err on the side of fewer matches.
    """
    d = np.sort(np.asarray(list(distances) if not isinstance(distances, np.ndarray) else distances, dtype=float))
    n = len(d)
    qs = [q for q in quantiles if q * n >= 10]
    if n < 100 or len(qs) < 2:
        if floor is None:
            raise ValueError("need at least 100 distances (and 10 below the lowest quantile) to fit a tail")
        return floor
    x = np.array([_probit(q) for q in qs])
    y = np.array([np.quantile(d, q) + 0.5 for q in qs])
    sigma, mean = np.polyfit(x, y, 1)
    fitted = NullModel(mean=float(mean), sigma=float(max(sigma, 1e-6)), source=f"fit on {n} distances")
    if floor is None:
        return fitted
    # Keep whichever model gives the higher rate at the thresholds that matter (20..40).
    if all(fitted.rate(t) <= floor.rate(t) for t in (20, 31, 40)):
        return floor
    return fitted


def _probit(q: float) -> float:
    """Inverse of the standard normal lower tail (bisection on erfc: no SciPy needed)."""
    lo, hi = -40.0, 40.0
    for _ in range(200):
        mid = (lo + hi) / 2
        if _phi(mid) < q:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


@dataclass(frozen=True)
class Group:
    """Comparisons of one kind between a candidate and one bank item."""

    name: str
    comparisons: int  # at most this many per candidate-bank pair
    weight: float  # share of the target rate given to this group
    threshold: int | None = None  # fixed threshold (its cost is still counted)


@dataclass
class Calibration:
    """Thresholds per comparison group, and the rate they give."""

    model: NullModel
    target: float
    thresholds: dict[str, int] = field(default_factory=dict)
    comparisons: dict[str, int] = field(default_factory=dict)

    def rate(self, used: Mapping[str, int] | None = None) -> float:
        """Union bound on the false-match rate per candidate-bank pair, for the comparisons made
        (group -> count; all groups at their maximum when omitted)."""
        used = self.comparisons if used is None else used
        return sum(n * self.model.rate(self.thresholds[g]) for g, n in used.items() if n and g in self.thresholds)

    def match_rate(self, group: str, distance: int, used: Mapping[str, int] | None = None) -> float:
        """The rate reported with a match at `distance` in `group`: the chance that an unrelated
        item comes as near through this group, plus what the other groups could add."""
        used = self.comparisons if used is None else used
        own = used.get(group, 1) * self.model.rate(distance)
        others = sum(
            n * self.model.rate(self.thresholds[g]) for g, n in used.items() if g != group and g in self.thresholds
        )
        return min(1.0, own + others)

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model.to_json(),
            "target": self.target,
            "thresholds": dict(self.thresholds),
            "comparisons": dict(self.comparisons),
            "rate": self.rate(),
        }


def group_thresholds(
    groups: Iterable[Group], *, target: float = DEFAULT_TARGET, model: NullModel = REFERENCE_MODEL
) -> Calibration:
    """Give each group the largest threshold that keeps m_g * P(D <= t_g) within its share.

    Groups with a fixed threshold are charged first; the rest of the target is split among the
    others in proportion to their weights. The result's ``rate()`` is <= target, or a
    ValueError says which fixed threshold is too loose.
    """
    groups = list(groups)
    cal = Calibration(model=model, target=target)
    fixed_cost = 0.0
    for g in groups:
        cal.comparisons[g.name] = g.comparisons
        if g.threshold is not None:
            cal.thresholds[g.name] = g.threshold
            fixed_cost += g.comparisons * model.rate(g.threshold)
    left = target - fixed_cost
    if left < 0:
        raise ValueError(f"fixed thresholds alone give {fixed_cost:.2g} per pair, over the target {target:.2g}")
    free = [g for g in groups if g.threshold is None and g.comparisons > 0]
    total_w = sum(g.weight for g in free) or 1.0
    for g in free:
        share = left * g.weight / total_w
        cal.thresholds[g.name] = model.threshold(share / g.comparisons)
    for g in groups:
        if g.comparisons == 0 and g.name not in cal.thresholds:
            cal.thresholds[g.name] = -1
    return cal


MIN_CALIBRATION_IMAGES = 500  # fewer cannot show a tail at the rates that matter


def _bits(hexes: list[str]) -> np.ndarray:
    return np.unpackbits(np.array([np.frombuffer(bytes.fromhex(h), np.uint8) for h in hexes]).reshape(-1, 32), axis=1)


def pair_distances(own: list[str], bank: list[str] = (), *, chunk: int = 256) -> np.ndarray:  # type: ignore[assignment]
    """PDQ distances of every pair of the owner's unrelated hashes and of each of them with each
    bank hash: the comparisons an unrelated candidate of theirs would make."""
    a = _bits(own).astype(np.int16) if own else np.zeros((0, 256), np.int16)
    b = _bits(list(bank)).astype(np.int16) if bank else np.zeros((0, 256), np.int16)
    out: list[np.ndarray] = []
    for i in range(0, len(a), chunk):
        block = a[i : i + chunk]
        # Hamming distance of 0/1 vectors: |x| + |y| - 2 x.y
        d = block.sum(1)[:, None] + a.sum(1)[None, :] - 2 * (block @ a.T)
        rows = np.arange(i, i + len(block))[:, None]
        out.append(d[rows < np.arange(len(a))[None, :]])  # each pair once
        if len(b):
            out.append((block.sum(1)[:, None] + b.sum(1)[None, :] - 2 * (block @ b.T)).ravel())
    return np.concatenate(out) if out else np.zeros(0, np.int64)


def fit_owner_tail(own: list[str], bank: list[str] = ()) -> tuple[NullModel, NullModel, int]:  # type: ignore[assignment]
    """(the tail fitted on an owner's unrelated images (PDQ hashes) as it is, the model to use:
    that fit floored at the reference so that it never loosens a threshold, the number of
    distances seen). Fewer than MIN_CALIBRATION_IMAGES hashes is a ValueError."""
    if len(own) < MIN_CALIBRATION_IMAGES:
        raise ValueError(f"{len(own)} usable images; calibration needs at least {MIN_CALIBRATION_IMAGES}")
    d = pair_distances(own, list(bank))
    raw = fit_tail(d, floor=None)
    used = REFERENCE_MODEL if all(raw.rate(t) <= REFERENCE_MODEL.rate(t) for t in (20, 31, 40)) else raw
    return raw, used, len(d)
