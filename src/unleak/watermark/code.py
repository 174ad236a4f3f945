"""Collusion-resistant fingerprinting code (Tardos, Škorić's symmetric score) and its keys.

Everything here is derived from one secret per case (32 random bytes):

* the bias vector ``p`` (shared by all recipients of a case): ``p_i = sin^2(r_i)`` with
  ``r_i`` uniform on ``[asin(sqrt(t)), pi/2 - asin(sqrt(t))]`` (the arcsine law cut at ``t``);
* recipient ``j``'s codeword: ``X_ji = 1`` iff ``U_ji < p_i`` with ``U_j`` drawn from a
  generator seeded by ``HMAC-SHA256(case_key, "recipient/" + recipient_id)``.

So the registry stores the case key and the recipients' ids only, never a codeword.

Accusation (informed soft decoding). The tracer reads one soft value ``z_i`` per code
position from the leaked copy. The symmetric Tardos score of recipient ``j`` is
``S_j = sum_i z_i * u_ji`` with ``u_ji = (X_ji - p_i) / sqrt(p_i (1 - p_i))``; with hard
``z_i = +-1`` this is exactly Škorić's symmetric score.

False-accusation bound. For a recipient whose copy did not contribute to the leak, ``X_j`` is
independent of ``z`` (it comes from a keyed pseudo-random function of a different input),
so given ``z`` and ``p`` the ``u_ji`` are independent, mean 0, variance 1, two-valued. The
Chernoff bound is then rigorous and exact to compute:

    P(S_j >= s | z, p) <= min_{lam >= 0} exp(-lam s) * prod_i E[exp(lam z_i u_i)]
    E[exp(lam z u)] = p exp(lam z sqrt((1-p)/p)) + (1-p) exp(-lam z sqrt(p/(1-p)))

and a union bound over the N recipients gives ``P(any innocent scores >= s) <= N * bound``.
No Gaussian approximation is needed (the Gaussian model ``S_j / ||z|| ~ N(0, 1)`` is used
only to report the empirical check in the benchmark).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass

import numpy as np

__all__ = [
    "CodeParams",
    "bias_vector",
    "centered_code",
    "chernoff_log_tail",
    "keyed_rng",
    "new_case_key",
    "recipient_code",
    "recipient_codes",
    "scores",
]

_VERSION = b"unleak-wm/v1/"


@dataclass(frozen=True)
class CodeParams:
    """Code length and bias cut-off (fixed per case, stored next to the key)."""

    length: int = 1024
    cutoff: float = 0.02


def new_case_key() -> bytes:
    """A fresh 256-bit case secret."""
    return secrets.token_bytes(32)


def _seed(key: bytes, label: str) -> int:
    return int.from_bytes(hmac.new(key, _VERSION + label.encode("utf-8"), hashlib.sha256).digest(), "big")


def keyed_rng(key: bytes, label: str) -> np.random.Generator:
    """A numpy generator seeded by HMAC-SHA256(key, label): deterministic, key-dependent."""
    return np.random.Generator(np.random.PCG64(_seed(key, label)))


def bias_vector(key: bytes, params: CodeParams = CodeParams()) -> np.ndarray:
    """The case's Tardos biases p_i (arcsine law, cut off at ``params.cutoff``)."""
    t = params.cutoff
    lo = math.asin(math.sqrt(t))
    r = keyed_rng(key, "bias").uniform(lo, math.pi / 2 - lo, params.length)
    return np.sin(r) ** 2


def recipient_code(
    key: bytes, recipient_id: str, params: CodeParams = CodeParams(), p: np.ndarray | None = None
) -> np.ndarray:
    """Recipient's binary codeword (uint8 0/1, length ``params.length``)."""
    if p is None:
        p = bias_vector(key, params)
    u = keyed_rng(key, "recipient/" + recipient_id).random(params.length)
    return (u < p).astype(np.uint8)


def recipient_codes(key: bytes, recipient_ids: list[str], params: CodeParams = CodeParams()) -> np.ndarray:
    """Codewords of many recipients, one row each."""
    p = bias_vector(key, params)
    out = np.empty((len(recipient_ids), params.length), np.uint8)
    for n, rid in enumerate(recipient_ids):
        out[n] = recipient_code(key, rid, params, p)
    return out


def centered_code(codes: np.ndarray, p: np.ndarray) -> np.ndarray:
    """u = (X - p) / sqrt(p (1 - p)): mean 0, variance 1 per position for an innocent."""
    return (codes.astype(np.float64) - p) / np.sqrt(p * (1 - p))


def scores(z: np.ndarray, codes: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Symmetric (Škorić) soft accusation scores of each codeword row given soft bits z."""
    return centered_code(codes, p) @ z


def _log_mgf(lam: np.ndarray, z: np.ndarray, p: np.ndarray) -> np.ndarray:
    """log E[exp(lam * sum z_i u_i)] for an innocent, for each lam (vectorised)."""
    a = np.sqrt((1 - p) / p)  # value of u when X = 1 (prob p)
    b = -np.sqrt(p / (1 - p))  # value of u when X = 0
    lz = np.asarray(lam, dtype=np.float64)[:, None] * z[None, :]
    return np.logaddexp(np.log(p) + lz * a, np.log1p(-p) + lz * b).sum(axis=1)


def chernoff_log_tail(s: np.ndarray, z: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Natural log of the Chernoff bound on P(S_innocent >= s | z, p), for each s.

    Any lam >= 0 gives a valid bound; we take the best on a grid, then polish it with a
    few golden-section steps around the grid minimum. Returns 0 (bound 1) for s <= 0.
    """
    s = np.atleast_1d(np.asarray(s, dtype=np.float64))
    zn = float(np.sqrt(np.sum(z * z)))
    out = np.zeros_like(s)
    if zn == 0:
        return out
    # In units of the innocent's standard deviation the optimum lam is about t/zn.
    t_max = max(1.0, float(np.max(s)) / zn * 1.5 + 1.0)
    grid = np.linspace(0.0, t_max, 241) / zn
    k = _log_mgf(grid, z, p)
    vals = k[None, :] - grid[None, :] * s[:, None]
    best = vals.min(axis=1)
    idx = vals.argmin(axis=1)
    # Polish those that matter (small bounds) with golden-section search on [grid[i-1], grid[i+1]].
    step = grid[1] - grid[0]
    for n in np.nonzero(best < math.log(1e-3))[0]:
        lo, hi = max(0.0, grid[idx[n]] - step), grid[idx[n]] + step
        g = (math.sqrt(5) - 1) / 2
        for _ in range(30):
            x1, x2 = hi - g * (hi - lo), lo + g * (hi - lo)
            f1, f2 = _log_mgf(np.array([x1, x2]), z, p) - np.array([x1, x2]) * s[n]
            if f1 < f2:
                hi = x2
            else:
                lo = x1
        x = (lo + hi) / 2
        best[n] = min(best[n], float(_log_mgf(np.array([x]), z, p)[0] - x * s[n]))
    out = np.minimum(0.0, best)
    out[s <= 0] = 0.0
    return out
