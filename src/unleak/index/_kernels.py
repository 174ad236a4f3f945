"""Numba kernels for Hamming-radius search over 256-bit hashes.

Hashes are handled as four native uint64 words (a view of the 32 packed bytes).
Every kernel is compiled with ``cache=True`` so the JIT cost is paid once per
machine, and ``nogil=True`` so a caller may run searches from threads.

The table kernels clamp every offset and slot they read from an index file, so
a corrupt (but well-sized) file can give wrong answers, never a crash; integrity
is the job of the checksums in :mod:`unleak.index._format`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic


def _intrinsic(fn: Callable[..., Any]) -> Callable[..., Any]:
    """numba's ``@intrinsic``, typed as jitted code calls it: without the typing context."""
    return intrinsic(fn)


@_intrinsic
def _ctpop(typingctx, x):  # type: ignore[no-untyped-def]
    """LLVM's popcount: one POPCNT instruction on x86-64."""
    if not isinstance(x, types.Integer):
        return None
    sig = types.uint64(types.uint64)

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        (val,) = args
        val = context.cast(builder, val, signature.args[0], types.uint64)
        fnty = ir.FunctionType(ir.IntType(64), [ir.IntType(64)])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.ctpop.i64")  # type: ignore[no-untyped-call]
        return builder.call(fn, [val])

    return sig, codegen


@_intrinsic
def _prefetch(typingctx, arr, idx):  # type: ignore[no-untyped-def]
    """Hint the CPU to fetch ``arr[idx]`` (1-d array) into cache; never faults."""
    if not isinstance(arr, types.Array) or arr.ndim != 1 or not isinstance(idx, types.Integer):
        return None
    sig = types.void(arr, idx)

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        aryty, idxty = signature.args
        ary = context.make_array(aryty)(context, builder, args[0])
        i = context.cast(builder, args[1], idxty, types.intp)
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [i], wraparound=False)  # type: ignore[no-untyped-call]
        i8p = ir.PointerType(ir.IntType(8))
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")  # type: ignore[no-untyped-call]
        builder.call(fn, [builder.bitcast(ptr, i8p), ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return sig, codegen


@njit(cache=True, inline="always")
def _dist(q0, q1, q2, q3, h):  # type: ignore[no-untyped-def]
    return _ctpop(q0 ^ h[0]) + _ctpop(q1 ^ h[1]) + _ctpop(q2 ^ h[2]) + _ctpop(q3 ^ h[3])


@njit(cache=True, inline="always")
def _chunk_key(w0, w1, w2, w3, off, width):  # type: ignore[no-untyped-def]
    """Bits [off, off+width) of the 256-bit value (w0..w3, LSB first), width <= 32."""
    j = off >> 6
    s = off & 63
    if j == 0:
        a = w0
        b = w1
    elif j == 1:
        a = w1
        b = w2
    elif j == 2:
        a = w2
        b = w3
    else:
        a = w3
        b = np.uint64(0)
    v = a >> np.uint64(s)
    if s + width > 64:
        v |= b << np.uint64(64 - s)
    return v & ((np.uint64(1) << np.uint64(width)) - np.uint64(1))


# ---------------------------------------------------------------------------
# tables
#
# Table i buckets the items by chunk i (w bits). Bucket k holds
# slots[i, start(k):start(k + 1)], where, with sh = the table's block shift,
#     start(k) = ckpt[cb + (k >> sh)] + rel[rb + k]
# ckpt (uint32) is the bucket start of every 2**sh-th bucket and rel (uint16)
# the offset from it: 2 bytes a bucket instead of 4, and ckpt is small enough to
# stay in cache. sh is the largest (<= 5) for which no block of 2**sh buckets
# holds more than 65535 items, so skewed banks fall back to smaller blocks.

MAX_SHIFT = 10
PF_DIST = 24  # how many probes/candidates ahead to prefetch: about the CPU's outstanding misses


@njit(cache=True, nogil=True)
def build_table(hashes, off, width, starts, keys, slots_row, tmp_keys):  # type: ignore[no-untyped-def]
    """Sort the items by one chunk: fills ``starts`` (2**w + 1) and ``slots_row``.

    Two passes keep the writes local: first a partition by the key's top bits
    (a few hundred write streams), then a counting sort within each partition,
    whose buckets fit in cache. Stable: equal keys keep slot order.
    """
    n = hashes.shape[0]
    size = starts.shape[0]
    hb = min(width, 10)
    lo_bits = width - hb
    nb = 1 << hb
    coarse = np.zeros(nb + 1, np.int64)
    for s in range(n):
        k = _chunk_key(hashes[s, 0], hashes[s, 1], hashes[s, 2], hashes[s, 3], off, width)
        keys[s] = np.uint32(k)
        coarse[(k >> lo_bits) + 1] += 1
    for b in range(nb):
        coarse[b + 1] += coarse[b]
    cur = coarse[:nb].copy()
    for s in range(n):
        k = keys[s]
        b = k >> lo_bits
        p = cur[b]
        tmp_keys[p] = k
        slots_row[p] = s
        cur[b] = p + 1
    for k in range(size):
        starts[k] = 0
    for p in range(n):
        starts[tmp_keys[p] + 1] += 1
    for k in range(1, size):
        starts[k] += starts[k - 1]
    for p in range(n):  # partitions are in key order, so this walks each one in turn
        k = tmp_keys[p]
        pos = starts[k]
        keys[pos] = slots_row[p]
        starts[k] = pos + 1
    for p in range(n):
        slots_row[p] = keys[p]
    for k in range(size - 1, 0, -1):
        starts[k] = starts[k - 1]
    starts[0] = 0


@njit(cache=True, nogil=True)
def pick_shift(starts):  # type: ignore[no-untyped-def]
    nb = starts.shape[0] - 1
    for sh in range(MAX_SHIFT, 0, -1):
        step = 1 << sh
        ok = True
        for b in range(0, nb, step):
            e = min(b + step, nb)
            if starts[e] - starts[b] > 65535:
                ok = False
                break
        if ok:
            return sh
    return 0


@njit(cache=True, nogil=True)
def compress_starts(starts, sh, ckpt, rel):  # type: ignore[no-untyped-def]
    size = starts.shape[0]
    for c in range(ckpt.shape[0]):
        ckpt[c] = starts[min(c << sh, size - 1)]
    for k in range(size):
        rel[k] = np.uint16(starts[k] - ckpt[k >> sh])


@njit(cache=True, nogil=True)
def check_tables(n, chunk_off, chunk_w, chunk_sh, ckpt_base, ckpt, rel_base, rel, slots, hashes):  # type: ignore[no-untyped-def]
    """Full structural check of loaded tables: returns an error code, 0 if sound."""
    m = chunk_off.shape[0]
    seen = np.zeros(n, dtype=np.uint8)
    for i in range(m):
        cb = ckpt_base[i]
        rb = rel_base[i]
        sh = chunk_sh[i]
        nb = np.int64(1) << chunk_w[i]
        prev = np.int64(0)
        for k in range(nb + 1):
            st = np.int64(ckpt[cb + (k >> sh)]) + np.int64(rel[rb + k])
            if k == 0 and st != 0:
                return 1
            if st < prev:
                return 2
            prev = st
        if prev != n:
            return 1
        for k in range(nb):
            s = np.int64(ckpt[cb + (k >> sh)]) + np.int64(rel[rb + k])
            e = np.int64(ckpt[cb + ((k + 1) >> sh)]) + np.int64(rel[rb + k + 1])
            for p in range(s, e):
                slot = slots[i, p]
                if slot >= n:
                    return 3
                if seen[slot] == i + 1:
                    return 4
                seen[slot] = i + 1
                kk = _chunk_key(
                    hashes[slot, 0], hashes[slot, 1], hashes[slot, 2], hashes[slot, 3], chunk_off[i], chunk_w[i]
                )
                if kk != k:
                    return 5
    return 0


# ---------------------------------------------------------------------------
# search


@njit(cache=True, inline="always")
def _report(queries, n_var, g, v, radius, thr, chunk_off, chunk_w, m, h, d, i):  # type: ignore[no-untyped-def]
    """For a live item within ``radius`` of variant ``v`` of group ``g``, retrieved by
    table ``i``: is this the probe that reports it, and with what distance and
    variant? Returns ``(report, best_distance, best_variant)``."""
    qi = g * n_var + v
    q0 = queries[qi, 0]
    q1 = queries[qi, 1]
    q2 = queries[qi, 2]
    q3 = queries[qi, 3]
    for i2 in range(i):
        t2 = thr[i2]
        if t2 < 0:
            continue
        if _ctpop(_chunk_key(q0 ^ h[0], q1 ^ h[1], q2 ^ h[2], q3 ^ h[3], chunk_off[i2], chunk_w[i2])) <= t2:
            return False, d, v
    best = d
    best_v = v
    for u in range(n_var):
        if u == v:
            continue
        qu = g * n_var + u
        du = _dist(queries[qu, 0], queries[qu, 1], queries[qu, 2], queries[qu, 3], h)
        if du > radius:
            continue
        if u < v:
            x0 = queries[qu, 0] ^ h[0]
            x1 = queries[qu, 1] ^ h[1]
            x2 = queries[qu, 2] ^ h[2]
            x3 = queries[qu, 3] ^ h[3]
            for i2 in range(m):
                t2 = thr[i2]
                if t2 < 0:
                    continue
                if _ctpop(_chunk_key(x0, x1, x2, x3, chunk_off[i2], chunk_w[i2])) <= t2:
                    return False, d, v
        if du < best or (du == best and u < best_v):
            best = du
            best_v = u
    return True, best, best_v


@njit(cache=True, nogil=True)
def mih_search(  # type: ignore[no-untyped-def]
    queries,  # (Q*G, 4) uint64, G consecutive variants per query group
    n_var,  # G
    radius,
    thr,  # (m,) int64, -1 = table not probed
    chunk_off,
    chunk_w,
    chunk_sh,
    ckpt_base,
    ckpt,
    rel_base,
    rel,
    slots_flat,  # (m * nslots,) uint32: the (m, nslots) table, flattened
    nslots,
    masks,  # flip masks, concatenated per table
    mask_ptr,  # (m+1,) into masks
    hashes,  # (n, 4) uint64
    hashes_flat,  # the same, flattened (for prefetching)
    alive,
    out_q,
    out_slot,
    out_dist,
    out_var,
    start_group,
):
    """Multi-index hashing search of groups of query variants in one segment.

    Done in stages so that the random reads within a stage are independent and
    the CPU overlaps them, each stage prefetching what the next one reads:
    bucket bounds of every probe, then the buckets' contents, then the
    candidates' hashes.

    A bank item is reported once per group, at the first (variant, table) probe
    that both retrieves it and belongs to a variant within ``radius``; its
    distance is the minimum over the group's variants. Returns
    ``(next_group, count)``; ``next_group < n_groups`` means the output is full.
    """
    n = hashes.shape[0]
    m = chunk_off.shape[0]
    n_groups = queries.shape[0] // n_var
    cap = out_q.shape[0]
    nprobe = mask_ptr[m]
    probe_tab = np.empty(nprobe, np.int64)
    for i in range(m):
        for j in range(mask_ptr[i], mask_ptr[i + 1]):
            probe_tab[j] = i
    pk = np.empty(nprobe, np.int64)
    ps = np.empty(nprobe, np.int64)
    pe = np.empty(nprobe, np.int64)
    ccap = 4096
    cand = np.empty(ccap, np.int64)
    ctab = np.empty(ccap, np.int64)
    count = 0
    for g in range(start_group, n_groups):
        count_at_start = count
        q0g = g * n_var
        for v in range(n_var):
            qi = q0g + v
            q0 = queries[qi, 0]
            q1 = queries[qi, 1]
            q2 = queries[qi, 2]
            q3 = queries[qi, 3]
            # an orientation equal to an earlier one finds nothing new
            dup = False
            for u in range(v):
                qu = q0g + u
                if queries[qu, 0] == q0 and queries[qu, 1] == q1 and queries[qu, 2] == q2 and queries[qu, 3] == q3:
                    dup = True
                    break
            if dup:
                continue
            # stage 1: the bucket of every probe
            for i in range(m):
                if thr[i] < 0:
                    continue
                key = np.int64(_chunk_key(q0, q1, q2, q3, chunk_off[i], chunk_w[i]))
                rb = rel_base[i]
                for j in range(mask_ptr[i], mask_ptr[i + 1]):
                    pk[j] = rb + (key ^ np.int64(masks[j]))
            # stage 2: bucket bounds (prefetching PF_DIST probes ahead)
            for j in range(min(PF_DIST, nprobe)):
                _prefetch(rel, pk[j])
            for j in range(nprobe):
                if j + PF_DIST < nprobe:
                    _prefetch(rel, pk[j + PF_DIST])
                i = probe_tab[j]
                k = pk[j] - rel_base[i]
                cb = ckpt_base[i]
                sh = chunk_sh[i]
                s = np.int64(ckpt[cb + (k >> sh)]) + np.int64(rel[rel_base[i] + k])
                e = np.int64(ckpt[cb + ((k + 1) >> sh)]) + np.int64(rel[rel_base[i] + k + 1])
                if e > nslots:
                    e = nslots
                ps[j] = i * nslots + s
                pe[j] = i * nslots + e if s < e else i * nslots + s
            # stage 3: candidates (prefetching the slots of PF_DIST probes ahead)
            nc = 0
            for j in range(min(PF_DIST, nprobe)):
                _prefetch(slots_flat, ps[j])
            for j in range(nprobe):
                if j + PF_DIST < nprobe:
                    _prefetch(slots_flat, ps[j + PF_DIST])
                s = ps[j]
                e = pe[j]
                if s >= e:
                    continue
                if nc + (e - s) > ccap:
                    while nc + (e - s) > ccap:
                        ccap *= 2
                    c2 = np.empty(ccap, np.int64)
                    t2 = np.empty(ccap, np.int64)
                    c2[:nc] = cand[:nc]
                    t2[:nc] = ctab[:nc]
                    cand = c2
                    ctab = t2
                i = probe_tab[j]
                for p in range(s, e):
                    slot = np.int64(slots_flat[p])
                    if slot < n:
                        cand[nc] = slot
                        ctab[nc] = i
                        nc += 1
            # stage 4: verify (prefetching PF_DIST candidates ahead)
            for c in range(min(PF_DIST, nc)):
                _prefetch(hashes_flat, cand[c] * 4)
            for c in range(nc):
                if c + PF_DIST < nc:
                    _prefetch(hashes_flat, cand[c + PF_DIST] * 4)
                slot = cand[c]
                h = hashes[slot]
                d = _dist(q0, q1, q2, q3, h)
                if d > radius:
                    continue
                if alive[slot] == 0:
                    continue
                ok, best, best_v = _report(queries, n_var, g, v, radius, thr, chunk_off, chunk_w, m, h, d, ctab[c])
                if not ok:
                    continue
                if count >= cap:
                    return g, count_at_start
                out_q[count] = g
                out_slot[count] = slot
                out_dist[count] = best
                out_var[count] = best_v
                count += 1
    return n_groups, count


@njit(cache=True, nogil=True)
def scan_search(queries, n_var, radius, hashes, alive, out_q, out_slot, out_dist, out_var, start_group):  # type: ignore[no-untyped-def]
    """Exhaustive scan (small segments, the append buffer, and large radii)."""
    n = hashes.shape[0]
    n_groups = queries.shape[0] // n_var
    cap = out_q.shape[0]
    count = 0
    for g in range(start_group, n_groups):
        count_at_start = count
        q0g = g * n_var
        for s in range(n):
            h = hashes[s]
            best = radius + 1
            best_v = 0
            for v in range(n_var):
                qi = q0g + v
                d = _dist(queries[qi, 0], queries[qi, 1], queries[qi, 2], queries[qi, 3], h)
                if d < best:
                    best = d
                    best_v = v
            if best <= radius and alive[s] != 0:
                if count >= cap:
                    return g, count_at_start
                out_q[count] = g
                out_slot[count] = s
                out_dist[count] = best
                out_var[count] = best_v
                count += 1
    return n_groups, count


@njit(cache=True, nogil=True)
def scan_block_search(queries, radius, hashes, alive, out_q, out_slot, out_dist, start_q):  # type: ignore[no-untyped-def]
    """Exhaustive scan, cache-blocked over the bank for batches of single queries."""
    n = hashes.shape[0]
    nq = queries.shape[0]
    cap = out_q.shape[0]
    count = 0
    qb = 64
    sb = 8192
    for q_lo in range(start_q, nq, qb):
        q_hi = min(q_lo + qb, nq)
        count_at_start = count
        for s_lo in range(0, n, sb):
            s_hi = min(s_lo + sb, n)
            for qi in range(q_lo, q_hi):
                q0 = queries[qi, 0]
                q1 = queries[qi, 1]
                q2 = queries[qi, 2]
                q3 = queries[qi, 3]
                for s in range(s_lo, s_hi):
                    d = _dist(q0, q1, q2, q3, hashes[s])
                    if d <= radius and alive[s] != 0:
                        if count >= cap:
                            return q_lo, count_at_start
                        out_q[count] = qi
                        out_slot[count] = s
                        out_dist[count] = d
                        count += 1
    return nq, count
