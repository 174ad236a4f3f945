"""Properties of unleak.index, checked by hypothesis against a plain-Python reference.

The reference is a dict {id: 256-bit int} and ``int.bit_count``: it shares no code with the
index. Banks are near-duplicate clusters (a few seeds with bits flipped) so that every radius
from 0 to 256 has hits and misses; queries are bank hashes with bits flipped, and random ones.
Small buffers, forced table layouts and saves/loads push the segment, merge and file paths.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from unleak.index import BruteForceIndex, MultiIndexHash, SearchResult, open_index

QUICK = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

hash_int = st.integers(min_value=0, max_value=(1 << 256) - 1)


def to_bytes(h: int) -> bytes:
    return h.to_bytes(32, "big")


def to_array(hashes: list[int]) -> np.ndarray:
    """(n, 32) uint8 in PDQ's byte order (the bytes of the 64-digit hex string)."""
    return np.frombuffer(b"".join(to_bytes(h) for h in hashes), dtype=np.uint8).reshape(-1, 32)


@st.composite
def near(draw: st.DrawFn, seeds: list[int], max_flips: int = 70) -> int:
    """A seed with up to ``max_flips`` distinct bits flipped."""
    base = draw(st.sampled_from(seeds))
    flips = draw(st.sets(st.integers(0, 255), max_size=max_flips))
    for b in flips:
        base ^= 1 << b
    return base


@st.composite
def banks(draw: st.DrawFn, max_size: int = 60) -> tuple[list[int], list[int]]:
    """(seeds, bank hashes): clusters around a few seeds, plus stray random hashes."""
    seeds = draw(st.lists(hash_int, min_size=1, max_size=4))
    items = draw(st.lists(st.one_of(near(seeds), hash_int), min_size=0, max_size=max_size))
    return seeds, items


def expected(model: dict[int, int], queries: list[int], radius: int) -> list[tuple[int, int, int]]:
    """(query row, id, distance) with distance <= radius, sorted as SearchResult is."""
    out = []
    for qi, q in enumerate(queries):
        for id_, h in model.items():
            d = (q ^ h).bit_count()
            if d <= radius:
                out.append((qi, d, id_))
    return [(qi, id_, d) for qi, d, id_ in sorted(out)]


def rows(result: SearchResult) -> list[tuple[int, int, int]]:
    return list(zip(result.query.tolist(), result.item.tolist(), result.distance.tolist()))


def fresh_indexes() -> list[MultiIndexHash | BruteForceIndex]:
    """The default index, one whose tiny buffer makes many segments and merges, one with a
    forced table layout, and the brute-force reference implementation."""
    return [
        MultiIndexHash(),
        MultiIndexHash(buffer_size=4, merge_ratio=2.0),
        MultiIndexHash(buffer_size=8, tables=3, width=12),
        BruteForceIndex(),
    ]


@QUICK
@given(data=st.data(), bank=banks(), radius=st.one_of(st.integers(0, 80), st.integers(0, 256)))
def test_search_equals_brute_force(data: st.DataObject, bank: tuple[list[int], list[int]], radius: int) -> None:
    seeds, items = bank
    queries = data.draw(st.lists(st.one_of(near(seeds), hash_int), min_size=1, max_size=8), label="queries")
    ids = data.draw(st.lists(st.integers(-(2**40), 2**40), min_size=len(items), max_size=len(items), unique=True))
    model = dict(zip(ids, items))
    want = expected(model, queries, radius)
    for index in fresh_indexes():
        if items:
            index.add(np.array(ids, dtype=np.int64), to_array(items))
        assert rows(index.search(to_array(queries), radius)) == want, type(index).__name__


# One step of an add/remove sequence: add k new hashes, remove some ids (known or not),
# compact, or save and reopen.
steps = st.one_of(
    st.tuples(st.just("add"), st.integers(1, 12)),
    st.tuples(st.just("remove"), st.integers(0, 6)),
    st.tuples(st.just("compact"), st.just(0)),
    st.tuples(st.just("reopen"), st.just(0)),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), seeds=st.lists(hash_int, min_size=1, max_size=3), plan=st.lists(steps, max_size=10))
def test_add_remove_sequences_equal_brute_force(
    tmp_path: Path, data: st.DataObject, seeds: list[int], plan: list[tuple[str, int]]
) -> None:
    index: MultiIndexHash | BruteForceIndex
    index = MultiIndexHash(buffer_size=5, merge_ratio=2.0)
    model: dict[int, int] = {}
    next_id = 0
    queries = data.draw(st.lists(near(seeds), min_size=1, max_size=4), label="queries")
    radius = data.draw(st.integers(0, 90), label="radius")
    for step, (op, k) in enumerate(plan):
        if op == "add":
            new = data.draw(st.lists(near(seeds), min_size=k, max_size=k), label=f"add {step}")
            ids = list(range(next_id, next_id + k))
            next_id += k
            index.add(np.array(ids, dtype=np.int64), to_array(new))
            model.update(zip(ids, new))
        elif op == "remove":
            pool = sorted(model) + [next_id + 1000]  # an id never added is ignored
            gone = data.draw(st.lists(st.sampled_from(pool), max_size=k, unique=True), label=f"remove {step}")
            assert index.remove(np.array(gone, dtype=np.int64)) == sum(1 for i in gone if i in model)
            for i in gone:
                model.pop(i, None)
        elif op == "compact":
            index.compact()
        else:
            path = tmp_path / f"seq{step}.uidx"
            index.save(path)
            loaded = open_index(path)
            assert isinstance(loaded, MultiIndexHash)
            index = loaded
        assert len(index) == len(model)
        assert rows(index.search(to_array(queries), radius)) == expected(model, queries, radius), (step, op)
    assert sorted(index.ids().tolist()) == sorted(model)


@QUICK
@given(data=st.data(), bank=banks(max_size=30), radius=st.integers(0, 90))
def test_dihedral_search_reports_each_item_once_at_its_nearest_variant(
    data: st.DataObject, bank: tuple[list[int], list[int]], radius: int
) -> None:
    seeds, items = bank
    n_var = data.draw(st.integers(1, 8), label="variants")
    groups = data.draw(
        st.lists(st.lists(near(seeds), min_size=n_var, max_size=n_var), min_size=1, max_size=3), label="groups"
    )
    model = dict(enumerate(items))
    want = []
    for g, variants in enumerate(groups):
        for id_, h in model.items():
            dists = [(q ^ h).bit_count() for q in variants]
            d = min(dists)
            if d <= radius:
                want.append((g, d, id_, dists.index(d)))  # ties go to the first orientation
    want.sort()
    flat = to_array([q for variants in groups for q in variants])
    for index in fresh_indexes():
        if items:
            index.add(np.arange(len(items)), to_array(items))
        r = index.search_dihedral(flat, radius, variants=n_var)
        got = list(zip(r.query.tolist(), r.distance.tolist(), r.item.tolist(), r.variant.tolist()))
        assert got == want, type(index).__name__
