"""The reference index: an exhaustive numpy scan. Slow, obvious, and exact.

The tests check every faster index against this one, so it shares no search
code with them (no numba, no tables).
"""

from __future__ import annotations

from typing import Any, Self

import numpy as np
import numpy.typing as npt

from unleak.index import _format as F
from unleak.index._segment import Tables
from unleak.index._types import (
    DuplicateIdError,
    SearchResult,
    StrPath,
    all_distinct,
    as_hashes,
    as_ids,
    check_radius,
    group_queries,
)

_POP8 = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


def hamming_rows(bank: npt.NDArray[np.uint64], q: npt.NDArray[np.uint64]) -> npt.NDArray[np.int32]:
    """Hamming distance from one hash ``q`` (4 words) to every row of ``bank``."""
    x = np.bitwise_xor(bank, q)
    d: npt.NDArray[np.int32]  # numpy types reductions over a ufunc's output as Any
    if hasattr(np, "bitwise_count"):
        d = np.bitwise_count(x).sum(axis=1, dtype=np.int32)
    else:
        d = _POP8[x.view(np.uint8)].sum(axis=1, dtype=np.int32)
    return d


class BruteForceIndex:
    """Scan every live hash for every query."""

    _BLOCK = 1 << 20

    def __init__(self) -> None:
        self._ids = np.zeros(0, np.int64)
        self._hashes = np.zeros((0, 4), np.uint64)
        self._alive = np.zeros(0, bool)
        self._n = 0

    def __len__(self) -> int:
        return int(np.count_nonzero(self._alive[: self._n]))

    def __contains__(self, id_: object) -> bool:
        try:
            ids = as_ids([id_])
        except (ValueError, TypeError):
            return False
        return bool(np.any((self._ids[: self._n] == ids[0]) & self._alive[: self._n]))

    def nbytes(self) -> int:
        return int(self._ids.nbytes + self._hashes.nbytes + self._alive.nbytes)

    def ids(self) -> npt.NDArray[np.int64]:
        return np.sort(self._ids[: self._n][self._alive[: self._n]])

    def add(self, ids: Any, hashes: Any) -> None:
        ids = as_ids(ids)
        h = as_hashes(hashes)
        if ids.shape[0] != h.shape[0]:
            raise ValueError(f"{ids.shape[0]} ids for {h.shape[0]} hashes")
        k = ids.shape[0]
        if k == 0:
            return
        if not all_distinct(ids):
            raise DuplicateIdError("the same id is given twice in one add")
        live = self._ids[: self._n][self._alive[: self._n]]
        dup = np.isin(ids, live)
        if dup.any():
            raise DuplicateIdError(f"ids already in the index: {ids[dup][:5].tolist()}")
        need = self._n + k
        if need > self._ids.shape[0]:
            cap = max(need, 2 * self._ids.shape[0], 1024)
            self._ids = np.resize(self._ids, cap)
            self._hashes = np.resize(self._hashes, (cap, 4))
            alive = np.zeros(cap, bool)
            alive[: self._n] = self._alive[: self._n]
            self._alive = alive
        self._ids[self._n : need] = ids
        self._hashes[self._n : need] = h
        self._alive[self._n : need] = True
        self._n = need

    def remove(self, ids: Any) -> int:
        ids = as_ids(ids)
        hit = np.isin(self._ids[: self._n], ids) & self._alive[: self._n]
        self._alive[: self._n][hit] = False
        return int(np.count_nonzero(hit))

    def search(self, queries: Any, radius: int) -> SearchResult:
        return self._search(as_hashes(queries), 1, check_radius(radius))

    def search_dihedral(self, queries: Any, radius: int, variants: int = 8) -> SearchResult:
        return self._search(group_queries(queries, variants), variants, check_radius(radius))

    def _search(self, q: npt.NDArray[np.uint64], n_var: int, radius: int) -> SearchResult:
        qs, items, ds, vs = [], [], [], []
        n = self._n
        for lo in range(0, n, self._BLOCK):
            hi = min(n, lo + self._BLOCK)
            bank = self._hashes[lo:hi]
            alive = self._alive[lo:hi]
            for g in range(q.shape[0] // n_var):
                d = np.stack([hamming_rows(bank, q[g * n_var + v]) for v in range(n_var)])
                best = d.min(axis=0)
                hit = np.nonzero((best <= radius) & alive)[0]
                if hit.size:
                    qs.append(np.full(hit.size, g, np.int64))
                    items.append(self._ids[lo:hi][hit])
                    ds.append(best[hit])
                    vs.append(np.argmin(d[:, hit], axis=0))
        if not qs:
            return SearchResult.empty()
        return SearchResult.sorted_from(
            np.concatenate(qs), np.concatenate(items), np.concatenate(ds), np.concatenate(vs)
        )

    def save(self, path: StrPath) -> None:
        """Write the live items, sorted by id, in the index file format (no tables)."""
        alive = self._alive[: self._n]
        ids = self._ids[: self._n][alive]
        h = self._hashes[: self._n][alive]
        order = np.argsort(ids, kind="stable")
        F.write_index(
            path, F.IndexArrays(F.KIND_BRUTE, ids[order], h[order].view(np.uint8), Tables.empty(ids.shape[0]))
        )

    @classmethod
    def load(cls, path: StrPath, mmap: bool = True, verify: bool = True) -> Self:
        """Read any index file (tables, if any, are ignored)."""
        arr = F.read_index(path, mmap=mmap, verify=verify)
        index = cls()
        n = arr.ids.shape[0]
        index._ids = np.asarray(arr.ids)
        index._hashes = np.asarray(arr.hashes).view(np.uint64).reshape(n, 4)
        index._alive = np.ones(n, bool)
        index._n = n
        return index
