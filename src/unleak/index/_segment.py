"""One immutable run of items with its multi-index hash tables, plus tombstones.

A segment stores its items sorted by id (so an id is found by binary search),
their hashes, and ``m`` tables: table ``i`` buckets every item by chunk ``i`` of
its hash (``w_i`` bits), in compressed-sparse-row form (``offsets``/``slots``).

Search uses the generalised pigeonhole principle: if ``d(q, h) <= r`` and the
chunk thresholds ``t_i`` satisfy ``sum(t_i + 1) >= r + 1``, then some chunk ``i``
has ``d_i(q, h) <= t_i``. So probing, in each table, every bucket within ``t_i``
of the query's chunk and checking the full distance of what is found is exact.
A table with ``t_i = -1`` is skipped, which is why small radii are cheap.
"""

from __future__ import annotations

import itertools
import math
from functools import cache, lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt

from unleak.index import _kernels as K
from unleak.index._types import HASH_BITS

# Relative costs for choosing between probing and scanning: a probe reads a
# bucket boundary and the bucket (about two cache misses), a candidate one
# random 32-byte read, a scanned item a sequential 32-byte read.
COST_PROBE = 1.0
COST_CANDIDATE = 2.0
COST_SCAN = 0.06
MAX_WIDTH = 24
TABLE_ENTRIES_PER_ITEM = 16
MIN_WIDTH = 8


DESIGN_RADIUS = 31  # PDQ's usual match threshold: the radius layouts are tuned for


def default_layout(n: int, radius: int = DESIGN_RADIUS) -> tuple[int, int]:
    """``(tables, width)`` minimising the estimated cost of a search at ``radius``.

    Chunks of about log2(n) bits are MIH's optimum; the cost model picks among
    widths near it. Chunks need not cover all 256 bits: the pigeonhole argument
    only needs them disjoint.
    """
    best: tuple[float, int, int] | None = None
    for w in range(MIN_WIDTH, MAX_WIDTH + 1):
        m = HASH_BITS // w
        if w > MIN_WIDTH and m * (1 << w) > TABLE_ENTRIES_PER_ITEM * max(n, 4096):
            break  # tables much bigger than the data stop paying for themselves
        widths = np.full(m, w, dtype=np.int64)
        _, cost = plan_thresholds(widths, n, radius)
        cost += m * (1 << w) * 1e-7  # a whisker of memory cost breaks near-ties toward smaller tables
        if best is None or cost < best[0]:
            best = (cost, m, w)
    assert best is not None
    return best[1], best[2]


def chunk_layout(m: int, width: int | None = None) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """``m`` disjoint chunks of ``width`` bits (default: widths within 1 covering all 256)."""
    if not 1 <= m <= HASH_BITS:
        raise ValueError(f"table count must be in 1..256, got {m}")
    if width is None:
        small, extra = divmod(HASH_BITS, m)
        widths = np.array([small + 1 if i < extra else small for i in range(m)], dtype=np.int64)
    else:
        if m * width > HASH_BITS:
            raise ValueError(f"{m} chunks of {width} bits do not fit in 256 bits")
        widths = np.full(m, width, dtype=np.int64)
    if widths.max() > 32:
        raise ValueError(f"{m} tables make chunks wider than 32 bits")
    offs = np.concatenate([[0], np.cumsum(widths)[:-1]]).astype(np.int64)
    return offs, widths


@cache
def ball_size(w: int, t: int) -> int:
    return sum(math.comb(w, k) for k in range(0, min(t, w) + 1)) if t >= 0 else 0


@lru_cache(maxsize=256)
def flip_masks(w: int, t: int) -> npt.NDArray[np.uint32]:
    """All w-bit masks with at most t bits set, in increasing order."""
    out = [0]
    for k in range(1, min(t, w) + 1):
        for bits in itertools.combinations(range(w), k):
            v = 0
            for b in bits:
                v |= 1 << b
            out.append(v)
    arr = np.array(sorted(out), dtype=np.uint32)
    arr.setflags(write=False)
    return arr


def plan_thresholds(widths: npt.NDArray[np.int64], n: int, radius: int) -> tuple[npt.NDArray[np.int64], float]:
    """Per-table thresholds with ``sum(t_i + 1) >= radius + 1``, greedily cheapest.

    Returns the thresholds and the estimated cost (same units as ``n * COST_SCAN``).
    """
    m = len(widths)
    t = np.full(m, -1, dtype=np.int64)
    need = radius + 1
    if need > int(np.sum(widths)) + m:
        return t, math.inf

    def cost(i: int, ti: int) -> float:
        w = int(widths[i])
        return ball_size(w, ti) * (COST_PROBE + COST_CANDIDATE * n / float(1 << w))

    total = 0.0
    for _ in range(need):
        best_i, best_c = -1, math.inf
        for i in range(m):
            if t[i] >= widths[i]:
                continue
            c = cost(i, int(t[i]) + 1) - cost(i, int(t[i]))
            if c < best_c:
                best_i, best_c = i, c
        t[best_i] += 1
        total += best_c
    return t, total


class Segment:
    """Items sorted by id, their hashes, tombstones and (optionally) MIH tables."""

    __slots__ = (
        "_plans",
        "alive",
        "chunk_off",
        "chunk_sh",
        "chunk_w",
        "ckpt",
        "ckpt_base",
        "hashes",
        "ids",
        "n_alive",
        "rel",
        "rel_base",
        "slots",
    )

    def __init__(
        self,
        ids: npt.NDArray[np.int64],
        hashes: npt.NDArray[np.uint64],
        tables: Tables | None = None,
        alive: npt.NDArray[np.uint8] | None = None,
    ) -> None:
        self.ids = ids
        self.hashes = hashes
        n = ids.shape[0]
        self.alive = np.ones(n, dtype=np.uint8) if alive is None else alive
        self.n_alive = int(np.count_nonzero(self.alive)) if alive is not None else n
        t = tables if tables is not None else _NO_TABLES  # scan only (a buffer, searched often)
        self.chunk_off = t.chunk_off
        self.chunk_w = t.chunk_w
        self.chunk_sh = t.chunk_sh
        self.ckpt = t.ckpt
        self.rel = t.rel
        self.slots = t.slots
        self.ckpt_base, self.rel_base = t.bases() if tables is not None else _NO_BASES
        self._plans: dict[int, Any] = {}

    @property
    def n(self) -> int:
        return int(self.ids.shape[0])

    @property
    def m(self) -> int:
        return int(self.chunk_off.shape[0])

    @property
    def tables(self) -> Tables:
        return Tables(self.chunk_off, self.chunk_w, self.chunk_sh, self.ckpt, self.rel, self.slots)

    @classmethod
    def build(
        cls,
        ids: npt.NDArray[np.int64],
        hashes: npt.NDArray[np.uint64],
        tables: int | None = None,
        width: int | None = None,
    ) -> Segment:
        """Build from items (ids unique; any order). ``tables=0`` means scan only.

        ``tables``/``width`` fix the layout (``width`` alone: ``256 // width``
        tables); by default :func:`default_layout` picks it for the item count.
        """
        if ids.shape[0] < 2 or bool(np.all(ids[1:] > ids[:-1])):
            ids = np.array(ids, dtype=np.int64)
            hashes = np.array(hashes, dtype=np.uint64)
        else:
            order = np.argsort(ids, kind="stable")
            ids = np.ascontiguousarray(ids[order])
            hashes = np.ascontiguousarray(hashes[order])
        n = ids.shape[0]
        if n >= 1 << 32:
            raise ValueError("a segment holds fewer than 2**32 items")
        if tables == 0 or n == 0:
            return cls(ids, hashes)
        if tables is None and width is None:
            m, w = default_layout(n)
            chunk_off, chunk_w = chunk_layout(m, w)
        elif width is None:
            chunk_off, chunk_w = chunk_layout(int(tables))  # type: ignore[arg-type]
        else:
            chunk_off, chunk_w = chunk_layout(int(tables or HASH_BITS // width), int(width))
        return cls(ids, hashes, Tables.build(hashes, chunk_off, chunk_w))

    def nbytes(self) -> int:
        return int(
            self.ids.nbytes
            + self.hashes.nbytes
            + self.alive.nbytes
            + self.ckpt.nbytes
            + self.rel.nbytes
            + self.slots.nbytes
        )

    # -- ids ------------------------------------------------------------------

    def find_live(self, ids: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Positions of the live items among ``ids`` (-1 where absent or removed)."""
        if self.n == 0:
            return np.full(ids.shape, -1, dtype=np.int64)
        pos = np.searchsorted(self.ids, ids)
        pos = np.minimum(pos, self.n - 1)
        hit = (self.ids[pos] == ids) & (self.alive[pos] != 0)
        return np.where(hit, pos, -1).astype(np.int64)

    def kill(self, pos: npt.NDArray[np.int64]) -> int:
        pos = pos[pos >= 0]
        if pos.size == 0:
            return 0
        pos = np.sort(pos)
        pos = pos[np.concatenate((np.ones(1, bool), pos[1:] != pos[:-1]))]
        pos = pos[self.alive[pos] != 0]
        if not self.alive.flags.writeable:
            self.alive = np.array(self.alive)
        self.alive[pos] = 0
        self.n_alive -= int(pos.size)
        return int(pos.size)

    def live_items(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint64]]:
        if self.n_alive == self.n:
            return np.asarray(self.ids), np.asarray(self.hashes)
        keep = self.alive != 0
        return np.asarray(self.ids)[keep], np.asarray(self.hashes)[keep]

    # -- search ---------------------------------------------------------------

    def plan(self, radius: int) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """(thresholds, flip masks, mask pointers) for probing, or None when scanning is cheaper."""
        if self.m == 0:
            return None
        plan = self._plans.get(radius, False)
        if plan is False:
            thr, cost = plan_thresholds(self.chunk_w, self.n, radius)
            plan = None if cost >= self.n * COST_SCAN else (thr, *_masks_for(self.chunk_w, thr))
            self._plans[radius] = plan
        return plan  # type: ignore[no-any-return]

    def search(self, queries: npt.NDArray[np.uint64], n_var: int, radius: int) -> tuple[np.ndarray, ...]:
        """``(group, slot, distance, variant)`` arrays of the live matches."""
        if self.n_alive == 0 or queries.shape[0] == 0:
            return _empty()
        plan = self.plan(radius)
        if plan is None:
            if n_var == 1:
                return _run_block_scan(queries, radius, self.hashes, self.alive)
            return _run(K.scan_search, queries.shape[0] // n_var, queries, n_var, radius, self.hashes, self.alive)
        thr, masks, mask_ptr = plan
        return _run(
            K.mih_search,
            queries.shape[0] // n_var,
            queries,
            n_var,
            radius,
            thr,
            self.chunk_off,
            self.chunk_w,
            self.chunk_sh,
            self.ckpt_base,
            self.ckpt,
            self.rel_base,
            self.rel,
            self.slots.reshape(-1),
            self.n,
            masks,
            mask_ptr,
            self.hashes,
            self.hashes.reshape(-1),
            self.alive,
        )

    def check(self) -> int:
        """Full structural check of the tables: 0 if sound, else an error code."""
        if self.m == 0:
            return 0
        return int(
            K.check_tables(
                self.n,
                self.chunk_off,
                self.chunk_w,
                self.chunk_sh,
                self.ckpt_base,
                self.ckpt,
                self.rel_base,
                self.rel,
                self.slots,
                self.hashes,
            )
        )


class Tables:
    """The multi-index hash tables of a segment (see :mod:`unleak.index._kernels`)."""

    __slots__ = ("chunk_off", "chunk_sh", "chunk_w", "ckpt", "rel", "slots")

    def __init__(
        self,
        chunk_off: npt.NDArray[np.int64],
        chunk_w: npt.NDArray[np.int64],
        chunk_sh: npt.NDArray[np.int64],
        ckpt: npt.NDArray[np.uint32],
        rel: npt.NDArray[np.uint16],
        slots: npt.NDArray[np.uint32],
    ) -> None:
        self.chunk_off = chunk_off
        self.chunk_w = chunk_w
        self.chunk_sh = chunk_sh
        self.ckpt = ckpt
        self.rel = rel
        self.slots = slots

    @classmethod
    def empty(cls, n: int) -> Tables:
        z = np.zeros(0, np.int64)
        return cls(z, z, z, np.zeros(0, np.uint32), np.zeros(0, np.uint16), np.zeros((0, n), np.uint32))

    @staticmethod
    def ckpt_len(w: int, sh: int) -> int:
        return ((1 << w) >> sh) + 1

    def bases(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        cl = [self.ckpt_len(int(w), int(sh)) for w, sh in zip(self.chunk_w, self.chunk_sh)]
        rl = [(1 << int(w)) + 1 for w in self.chunk_w]
        return (
            np.concatenate([[0], np.cumsum(cl)]).astype(np.int64),
            np.concatenate([[0], np.cumsum(rl)]).astype(np.int64),
        )

    @classmethod
    def build(
        cls, hashes: npt.NDArray[np.uint64], chunk_off: npt.NDArray[np.int64], chunk_w: npt.NDArray[np.int64]
    ) -> Tables:
        n = hashes.shape[0]
        m = chunk_off.shape[0]
        slots = np.empty((m, n), dtype=np.uint32)
        rel = np.empty(sum((1 << int(w)) + 1 for w in chunk_w), dtype=np.uint16)
        keys = np.empty(n, dtype=np.uint32)
        tmp = np.empty(n, dtype=np.uint32)
        shifts = np.zeros(m, np.int64)
        ckpts = []
        at = 0
        starts = np.empty(0, np.uint32)
        for i in range(m):
            w = int(chunk_w[i])
            if starts.shape[0] != (1 << w) + 1:
                starts = np.empty((1 << w) + 1, dtype=np.uint32)
            K.build_table(hashes, int(chunk_off[i]), w, starts, keys, slots[i], tmp)
            sh = int(K.pick_shift(starts))
            ckpt = np.empty(cls.ckpt_len(w, sh), np.uint32)
            K.compress_starts(starts, sh, ckpt, rel[at : at + (1 << w) + 1])
            at += (1 << w) + 1
            shifts[i] = sh
            ckpts.append(ckpt)
        return cls(chunk_off, chunk_w, shifts, np.concatenate(ckpts) if ckpts else np.zeros(0, np.uint32), rel, slots)


_NO_TABLES = Tables.empty(0)
_NO_BASES = _NO_TABLES.bases()


def _masks_for(widths: npt.NDArray[np.int64], thr: npt.NDArray[np.int64]) -> tuple[np.ndarray, np.ndarray]:
    key = (tuple(int(w) for w in widths), tuple(int(t) for t in thr))
    return _masks_cached(key)


@lru_cache(maxsize=64)
def _masks_cached(key: tuple[tuple[int, ...], tuple[int, ...]]) -> tuple[np.ndarray, np.ndarray]:
    widths, thr = key
    parts = [flip_masks(w, t) if t >= 0 else np.zeros(0, np.uint32) for w, t in zip(widths, thr)]
    ptr = np.concatenate([[0], np.cumsum([len(p) for p in parts])]).astype(np.int64)
    masks = np.concatenate(parts).astype(np.uint32) if parts else np.zeros(0, np.uint32)
    return masks, ptr


def _empty() -> tuple[np.ndarray, ...]:
    return (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int32), np.zeros(0, np.int8))


def _run(
    kernel: Any, n_groups: int, queries: np.ndarray, n_var: int, radius: int, *rest: Any
) -> tuple[np.ndarray, ...]:
    """Call a kernel, growing its output buffers until every group fits."""
    cap = max(1024, 4 * n_groups)
    outs: list[tuple[np.ndarray, ...]] = []
    start = 0
    while start < n_groups:
        oq = np.empty(cap, np.int64)
        os_ = np.empty(cap, np.int64)
        od = np.empty(cap, np.int32)
        ov = np.empty(cap, np.int8)
        nxt, cnt = kernel(queries, n_var, radius, *rest, oq, os_, od, ov, start)
        outs.append((oq[:cnt], os_[:cnt], od[:cnt], ov[:cnt]))
        if nxt < n_groups and nxt == start and cnt == 0:
            cap *= 4  # one group alone overflows: grow
        elif nxt < n_groups:
            cap *= 2
        start = nxt
    if len(outs) == 1:
        return outs[0]
    return tuple(np.concatenate([o[i] for o in outs]) for i in range(4))


def _run_block_scan(queries: np.ndarray, radius: int, hashes: np.ndarray, alive: np.ndarray) -> tuple[np.ndarray, ...]:
    nq = queries.shape[0]
    cap = max(1024, 4 * nq)
    outs = []
    start = 0
    while start < nq:
        oq = np.empty(cap, np.int64)
        os_ = np.empty(cap, np.int64)
        od = np.empty(cap, np.int32)
        nxt, cnt = K.scan_block_search(queries, radius, hashes, alive, oq, os_, od, start)
        outs.append((oq[:cnt], os_[:cnt], od[:cnt], np.zeros(cnt, np.int8)))
        if nxt < nq:
            cap *= 4
        start = nxt
    if len(outs) == 1:
        return outs[0]
    return tuple(np.concatenate([o[i] for o in outs]) for i in range(4))
