"""The fast exact index: multi-index hashing over a log of immutable segments.

Layout (an LSM tree in miniature):

- an **append buffer** of up to ``buffer_size`` items, searched by a plain scan
  (16k hashes = 512 KiB, a few microseconds a query);
- **segments** (:class:`~unleak.index._segment.Segment`), each with its own
  multi-index hash tables sized for its item count. A full buffer becomes a
  segment; when the newest segment grows to within ``merge_ratio`` of the one
  before it, the two are rebuilt as one, so there are O(log n) segments and each
  item is rebuilt O(log n) times.

``add`` and ``remove`` take effect at once. ``remove`` marks a tombstone (O(log n)
per segment); a removed item is never reported again, and tombstones are
dropped when segments merge, on :meth:`MultiIndexHash.compact` and on ``save``.
"""

from __future__ import annotations

from typing import Any, Self

import numpy as np
import numpy.typing as npt

from unleak.index import _format as F
from unleak.index._segment import Segment, Tables, default_layout
from unleak.index._types import (
    DuplicateIdError,
    IndexFileError,
    SearchResult,
    StrPath,
    all_distinct,
    as_hashes,
    as_ids,
    check_radius,
    group_queries,
)


class MultiIndexHash:
    """Exact Hamming-radius search over 256-bit hashes by multi-index hashing.

    Parameters
    ----------
    buffer_size:
        Items kept in the scanned append buffer before it is turned into a
        segment. Bigger makes single adds cheaper on average and searches slower.
    merge_ratio:
        Merge the newest segment into the previous one once it holds at least
        ``1 / merge_ratio`` as many live items.
    max_merge:
        Do not merge automatically into segments bigger than this (bounds the
        worst-case time of one ``add``); call :meth:`compact` when idle instead.
        ``None``: no bound.
    tables, width:
        Number of chunk tables per segment and bits per chunk; ``None`` lets a
        cost model pick them for each segment's size (about ``log2(n)`` bits).
    """

    def __init__(
        self,
        *,
        buffer_size: int = 16384,
        merge_ratio: float = 4.0,
        max_merge: int | None = None,
        tables: int | None = None,
        width: int | None = None,
    ) -> None:
        if buffer_size < 1:
            raise ValueError("buffer_size must be >= 1")
        self.buffer_size = int(buffer_size)
        self.merge_ratio = float(merge_ratio)
        self.max_merge = max_merge
        self.tables = tables
        self.width = width
        self._segments: list[Segment] = []
        self._buf_ids = np.empty(self.buffer_size, np.int64)
        self._buf_hashes = np.empty((self.buffer_size, 4), np.uint64)
        self._buf_alive = np.empty(self.buffer_size, np.uint8)
        self._buf_n = 0
        self._buf_live = 0

    # -- size -----------------------------------------------------------------

    def __len__(self) -> int:
        return sum(s.n_alive for s in self._segments) + self._buf_live

    def __contains__(self, id_: object) -> bool:
        try:
            ids = as_ids([id_])
        except (ValueError, TypeError):
            return False
        return bool(self._present(ids)[0])

    def __repr__(self) -> str:
        sizes = [s.n_alive for s in self._segments]
        return f"MultiIndexHash({len(self)} items, segments={sizes}, buffer={self._buf_live})"

    @property
    def segment_sizes(self) -> list[int]:
        return [s.n for s in self._segments]

    def nbytes(self) -> int:
        """Bytes held by the index's arrays (memory-mapped ones included)."""
        buf = self._buf_ids.nbytes + self._buf_hashes.nbytes + self._buf_alive.nbytes
        return buf + sum(s.nbytes() for s in self._segments)

    def ids(self) -> npt.NDArray[np.int64]:
        """All live ids, ascending."""
        parts = [s.live_items()[0] for s in self._segments]
        parts.append(self._buf_ids[: self._buf_n][self._buf_alive[: self._buf_n] != 0])
        return np.sort(np.concatenate(parts)) if parts else np.zeros(0, np.int64)

    # -- updates --------------------------------------------------------------

    def _present(self, ids: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        hit = np.zeros(ids.shape[0], dtype=bool)
        for s in self._segments:
            hit |= s.find_live(ids) >= 0
        if self._buf_live:
            b = self._buf_n
            live = self._buf_ids[:b][self._buf_alive[:b] != 0]
            hit |= np.isin(ids, live)
        return hit

    def add(self, ids: Any, hashes: Any) -> None:
        """Add items; an id already in the index raises :class:`DuplicateIdError`."""
        ids = as_ids(ids)
        h = as_hashes(hashes)
        if ids.shape[0] != h.shape[0]:
            raise ValueError(f"{ids.shape[0]} ids for {h.shape[0]} hashes")
        k = ids.shape[0]
        if k == 0:
            return
        if not all_distinct(ids):
            raise DuplicateIdError("the same id is given twice in one add")
        present = self._present(ids)
        if present.any():
            dup = ids[present][:5].tolist()
            raise DuplicateIdError(f"ids already in the index: {dup}; remove them first to replace their hashes")
        if k >= self.buffer_size:
            self._push(Segment.build(ids, h, self.tables, self.width))
            return
        if self._buf_n + k > self.buffer_size:
            self._freeze()
        b = self._buf_n
        self._buf_ids[b : b + k] = ids
        self._buf_hashes[b : b + k] = h
        self._buf_alive[b : b + k] = 1
        self._buf_n += k
        self._buf_live += k
        if self._buf_n == self.buffer_size:
            self._freeze()

    def remove(self, ids: Any) -> int:
        """Remove items by id at once; returns how many were live. Unknown ids are ignored."""
        ids = as_ids(ids)
        if ids.shape[0] == 0:
            return 0
        removed = 0
        for s in self._segments:
            removed += s.kill(s.find_live(ids))
        if self._buf_live:
            b = self._buf_n
            hit = np.isin(self._buf_ids[:b], ids) & (self._buf_alive[:b] != 0)
            nh = int(np.count_nonzero(hit))
            if nh:
                self._buf_alive[:b][hit] = 0
                self._buf_live -= nh
                removed += nh
        self._segments = [s for s in self._segments if s.n_alive > 0]
        return removed

    def _freeze(self) -> None:
        b = self._buf_n
        if b == 0:
            return
        keep = self._buf_alive[:b] != 0
        ids = self._buf_ids[:b][keep]
        h = self._buf_hashes[:b][keep]
        self._buf_n = 0
        self._buf_live = 0
        if ids.shape[0]:
            self._push(Segment.build(ids, h, self.tables, self.width))

    def _push(self, seg: Segment) -> None:
        self._segments.append(seg)
        self._segments.sort(key=lambda s: -s.n_alive)
        while len(self._segments) >= 2:
            a, b = self._segments[-2], self._segments[-1]
            total = a.n_alive + b.n_alive
            if b.n_alive * self.merge_ratio < a.n_alive:
                break
            if self.max_merge is not None and total > self.max_merge:
                break
            self._segments[-2:] = [_merge([a, b], self.tables, self.width)]
            self._segments.sort(key=lambda s: -s.n_alive)

    def compact(self) -> None:
        """Merge the buffer and all segments into one segment without tombstones."""
        parts = [s for s in self._segments if s.n_alive]
        b = self._buf_n
        if self._buf_live:
            keep = self._buf_alive[:b] != 0
            ids = self._buf_ids[:b][keep]
            parts.append(Segment(ids, self._buf_hashes[:b][keep].copy()))
        self._buf_n = 0
        self._buf_live = 0
        if len(parts) == 1:
            p = parts[0]
            wanted = default_layout(p.n)[0] if self.tables is None else self.tables
            if p.n_alive == p.n and p.m == wanted:
                self._segments = parts
                return
        self._segments = [_merge(parts, self.tables, self.width)] if parts else []

    # -- search ---------------------------------------------------------------

    def search(self, queries: Any, radius: int) -> SearchResult:
        """All (query row, item id, distance) with distance <= radius."""
        return self._search(as_hashes(queries), 1, check_radius(radius))

    def search_dihedral(self, queries: Any, radius: int, variants: int = 8) -> SearchResult:
        """Search groups of ``variants`` orientation hashes of each query.

        ``queries`` is ``(n, variants, 32)`` uint8 (as from
        ``pdqhash.compute_dihedral``), or a flat array with each query's rows
        contiguous. An item is reported once per query, with the smallest
        distance over the orientations and which orientation gave it.
        """
        return self._search(group_queries(queries, variants), variants, check_radius(radius))

    def _search(self, q: npt.NDArray[np.uint64], n_var: int, radius: int) -> SearchResult:
        qs: list[np.ndarray] = []
        items: list[np.ndarray] = []
        ds: list[np.ndarray] = []
        vs: list[np.ndarray] = []
        for s in self._segments:
            g, slot, d, v = s.search(q, n_var, radius)
            if g.shape[0]:
                qs.append(g)
                items.append(np.asarray(s.ids)[slot])
                ds.append(d)
                vs.append(v)
        if self._buf_live:
            b = self._buf_n
            seg = Segment(self._buf_ids[:b], self._buf_hashes[:b], alive=self._buf_alive[:b])
            g, slot, d, v = seg.search(q, n_var, radius)
            if g.shape[0]:
                qs.append(g)
                items.append(self._buf_ids[slot])
                ds.append(d)
                vs.append(v)
        if not qs:
            return SearchResult.empty()
        return SearchResult.sorted_from(
            np.concatenate(qs), np.concatenate(items), np.concatenate(ds), np.concatenate(vs)
        )

    # -- files ----------------------------------------------------------------

    def save(self, path: StrPath) -> None:
        """Compact, then write the index file (see :mod:`unleak.index._format`)."""
        self.compact()
        if self._segments:
            s = self._segments[0]
            arr = F.IndexArrays(F.KIND_MIH, np.asarray(s.ids), np.asarray(s.hashes).view(np.uint8), s.tables)
        else:
            arr = F.IndexArrays(F.KIND_MIH, np.zeros(0, np.int64), np.zeros((0, 32), np.uint8), Tables.empty(0))
        F.write_index(path, arr)

    @classmethod
    def load(cls, path: StrPath, mmap: bool = True, verify: bool = True, **options: Any) -> Self:
        """Open an index file; with ``mmap`` the arrays stay on disk, paged in on use.

        ``verify`` checks every section's CRC-32 (reads the whole file once).
        Without it, loading is O(1); a damaged file can then give wrong answers
        but never crash (the search kernels bound every read).
        """
        arr = F.read_index(path, mmap=mmap, verify=verify)
        index = cls(**options)
        n = arr.ids.shape[0]
        if n == 0:
            return index
        hashes = arr.hashes.view(np.uint64)
        if arr.tables.chunk_off.shape[0] == 0:
            index._segments = [Segment.build(np.asarray(arr.ids), np.asarray(hashes), index.tables, index.width)]
        else:
            index._segments = [Segment(arr.ids, hashes, arr.tables)]
        return index

    def check(self) -> None:
        """Full structural check of every segment's tables (slow: reads everything)."""
        for s in self._segments:
            code = s.check()
            if code:
                raise IndexFileError(f"index tables are inconsistent (check code {code})")


def _merge(parts: list[Segment], tables: int | None, width: int | None) -> Segment:
    ids_l, h_l = zip(*(p.live_items() for p in parts))
    ids = np.concatenate(ids_l)
    h = np.concatenate(h_l)
    return Segment.build(ids, h, tables, width)
