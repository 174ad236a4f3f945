"""Shared types of the Hamming indexes: inputs, results, the interface, errors."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from os import PathLike
from typing import Any, Protocol, Self, runtime_checkable

import numpy as np
import numpy.typing as npt

from unleak.errors import UnleakError

HASH_BITS = 256
HASH_BYTES = 32
HASH_WORDS = 4

StrPath = str | PathLike[str]


class IndexFileError(UnleakError, ValueError):
    """An index file is missing, truncated, corrupt or of an unknown version."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(
            message, hint=hint or "Rebuild the index from the bank: it can always be rebuilt from the hashes."
        )


class DuplicateIdError(UnleakError, ValueError):
    """An id given to ``add`` is already live in the index."""


def as_hashes(hashes: Any) -> npt.NDArray[np.uint64]:
    """Packed 256-bit hashes as a C-contiguous ``(n, 4)`` uint64 array.

    Accepts ``(n, 32)`` or ``(32,)`` uint8 (the bytes of the 64-hex-digit PDQ
    string, ``bytes.fromhex(h)``), ``(n, 4)`` uint64 (a view of those bytes),
    ``bytes``, or a sequence of 64-digit hex strings.
    """
    if isinstance(hashes, (bytes, bytearray, memoryview)):
        hashes = np.frombuffer(bytes(hashes), dtype=np.uint8)
    elif isinstance(hashes, str):
        hashes = hashes_from_hex([hashes])
    elif not isinstance(hashes, np.ndarray):
        seq = list(hashes)
        if seq and isinstance(seq[0], str):
            hashes = hashes_from_hex(seq)
        else:
            hashes = np.asarray(seq)
            if hashes.size == 0:
                hashes = np.zeros((0, HASH_BYTES), dtype=np.uint8)
    arr = np.asarray(hashes)
    if arr.dtype == np.uint8:
        if arr.ndim == 1:
            arr = arr.reshape(1, -1)
        if arr.ndim != 2 or arr.shape[1] != HASH_BYTES:
            raise ValueError(f"uint8 hashes must have shape (n, 32), got {arr.shape}")
        return np.ascontiguousarray(arr).view(np.uint64)
    if arr.dtype == np.uint64:
        if arr.ndim == 1:
            arr = arr.reshape(1, -1)
        if arr.ndim != 2 or arr.shape[1] != HASH_WORDS:
            raise ValueError(f"uint64 hashes must have shape (n, 4), got {arr.shape}")
        return np.ascontiguousarray(arr)
    raise ValueError(f"hashes must be uint8 (n, 32) or uint64 (n, 4), got dtype {arr.dtype}")


def hashes_from_hex(hexes: Sequence[str]) -> npt.NDArray[np.uint8]:
    """64-digit hex strings (PDQ's text form) to an ``(n, 32)`` uint8 array."""
    out = np.empty((len(hexes), HASH_BYTES), dtype=np.uint8)
    for i, h in enumerate(hexes):
        b = bytes.fromhex(h)
        if len(b) != HASH_BYTES:
            raise ValueError(f"hash {i} has {len(b) * 8} bits, expected 256")
        out[i] = np.frombuffer(b, dtype=np.uint8)
    return out


def hashes_to_hex(hashes: Any) -> list[str]:
    """The inverse of :func:`hashes_from_hex`."""
    arr = as_hashes(hashes).view(np.uint8)
    return [bytes(row).hex() for row in arr]


def as_ids(ids: Any) -> npt.NDArray[np.int64]:
    arr = np.asarray(ids)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.size == 0:
        return np.zeros(0, dtype=np.int64)
    if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"ids must be a 1-d array of integers, got {arr.dtype} {arr.shape}")
    if arr.dtype == np.uint64 and arr.size and int(arr.max()) > np.iinfo(np.int64).max:
        raise ValueError("ids must fit in int64")
    return np.ascontiguousarray(arr, dtype=np.int64)


def all_distinct(ids: npt.NDArray[np.int64]) -> bool:
    """True when no id repeats (O(n) for increasing ids, else one sort)."""
    if ids.shape[0] < 2:
        return True
    if bool(np.all(ids[1:] > ids[:-1])):
        return True
    s = np.sort(ids)
    return not bool(np.any(s[1:] == s[:-1]))


def check_radius(radius: int) -> int:
    r = int(radius)
    if r < 0:
        raise ValueError(f"radius must be >= 0, got {radius}")
    return min(r, HASH_BITS)


@dataclass(frozen=True)
class SearchResult:
    """Matches of a batch search, sorted by query, then distance, then item.

    ``query[k]`` is the row of the query (for :meth:`search_dihedral`, the
    original query: the group of orientations), ``item[k]`` the matching id and
    ``distance[k]`` the Hamming distance. ``variant[k]`` is the orientation (row
    within the group) nearest to the item; 0 for plain searches.
    """

    query: npt.NDArray[np.int64]
    item: npt.NDArray[np.int64]
    distance: npt.NDArray[np.int32]
    variant: npt.NDArray[np.int8]

    def __len__(self) -> int:
        return int(self.query.shape[0])

    @classmethod
    def empty(cls) -> SearchResult:
        return cls(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int32), np.zeros(0, np.int8))

    @classmethod
    def sorted_from(
        cls,
        query: npt.NDArray[Any],
        item: npt.NDArray[Any],
        distance: npt.NDArray[Any],
        variant: npt.NDArray[Any] | None = None,
    ) -> SearchResult:
        query = np.asarray(query, dtype=np.int64)
        item = np.asarray(item, dtype=np.int64)
        distance = np.asarray(distance, dtype=np.int32)
        variant = np.zeros(len(query), np.int8) if variant is None else np.asarray(variant, dtype=np.int8)
        order = np.lexsort((item, distance, query))
        return cls(query[order], item[order], distance[order], variant[order])

    def pairs(self) -> set[tuple[int, int, int]]:
        """``{(query, item, distance)}``: handy for comparing indexes."""
        return set(zip(self.query.tolist(), self.item.tolist(), self.distance.tolist()))

    def for_query(self, q: int) -> SearchResult:
        lo, hi = np.searchsorted(self.query, [q, q + 1])
        return SearchResult(self.query[lo:hi], self.item[lo:hi], self.distance[lo:hi], self.variant[lo:hi])


@runtime_checkable
class HammingIndex(Protocol):
    """Radius search in Hamming space over packed 256-bit hashes, keyed by int64 ids.

    ``add`` and ``remove`` take effect at once; a removed id never matches again
    (until it is added again, with whatever hash it then has).
    """

    def add(self, ids: Any, hashes: Any) -> None: ...

    def remove(self, ids: Any) -> int: ...

    def search(self, queries: Any, radius: int) -> SearchResult: ...

    def search_dihedral(self, queries: Any, radius: int, variants: int = 8) -> SearchResult: ...

    def __len__(self) -> int: ...

    def __contains__(self, id_: object) -> bool: ...

    def save(self, path: StrPath) -> None: ...

    @classmethod
    def load(cls, path: StrPath, mmap: bool = True, verify: bool = True) -> Self: ...


def group_queries(queries: Any, variants: int) -> npt.NDArray[np.uint64]:
    """Dihedral queries as ``(n_groups * variants, 4)`` uint64, groups contiguous.

    Accepts ``(n, variants, 32)`` uint8 / ``(n, variants, 4)`` uint64 arrays or
    flat arrays whose rows are already grouped ``variants`` at a time.
    """
    if variants < 1:
        raise ValueError("variants must be >= 1")
    arr = np.asarray(queries) if isinstance(queries, np.ndarray) else queries
    if isinstance(arr, np.ndarray) and arr.ndim == 3:
        if arr.shape[1] != variants:
            raise ValueError(f"expected {variants} variants per query, got shape {arr.shape}")
        arr = arr.reshape(arr.shape[0] * arr.shape[1], arr.shape[2])
    q = as_hashes(arr)
    if q.shape[0] % variants:
        raise ValueError(f"{q.shape[0]} query rows is not a multiple of {variants} variants")
    return q
