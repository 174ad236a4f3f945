"""unleak.index: the fast index returns exactly what brute force returns.

Banks: uniform random hashes, clusters of near-duplicates (seeds with a few bits
flipped), a skewed bank (many copies of a few hashes, so buckets are uneven),
and PDQ hashes of real photos (crops, resizes, rotations of scikit-image's
sample pictures) with their 8 orientations.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from unleak.errors import UnleakError
from unleak.index import (
    BruteForceIndex,
    DuplicateIdError,
    HammingIndex,
    IndexFileError,
    MultiIndexHash,
    SearchResult,
    as_hashes,
    build_index,
    hashes_from_hex,
    hashes_to_hex,
    open_index,
)

RADII = (0, 10, 31, 52)


def flip_bits(rng: np.random.Generator, hashes: np.ndarray, max_flips: int) -> np.ndarray:
    """Copies of ``hashes`` (uint8 (n, 32)) with 0..max_flips random bits flipped each."""
    bits = np.unpackbits(hashes, axis=1)
    for row in bits:
        k = int(rng.integers(0, max_flips + 1))
        row[rng.choice(256, size=k, replace=False)] ^= 1
    return np.packbits(bits, axis=1)


def unique_ids(rng: np.random.Generator, n: int, high: int) -> np.ndarray:
    ids = np.unique(rng.integers(0, high, 2 * n))[:n]
    return rng.permutation(ids)


def random_hashes(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.integers(0, 256, size=(n, 32), dtype=np.uint8)


def clustered_bank(rng: np.random.Generator, seeds: int, per_seed: int, max_flips: int) -> np.ndarray:
    base = random_hashes(rng, seeds)
    return flip_bits(rng, np.repeat(base, per_seed, axis=0), max_flips)


def queries_near(rng: np.random.Generator, bank: np.ndarray, n: int, max_flips: int = 60) -> np.ndarray:
    near = flip_bits(rng, bank[rng.integers(0, len(bank), n)], max_flips)
    return np.concatenate([near, random_hashes(rng, max(1, n // 10))])


def assert_same(fast: SearchResult, ref: SearchResult) -> None:
    assert len(fast) == len(ref)
    np.testing.assert_array_equal(fast.query, ref.query)
    np.testing.assert_array_equal(fast.item, ref.item)
    np.testing.assert_array_equal(fast.distance, ref.distance)


def both(ids: np.ndarray, hashes: np.ndarray, **options) -> tuple[MultiIndexHash, BruteForceIndex]:
    fast = MultiIndexHash(**options)
    ref = BruteForceIndex()
    fast.add(ids, hashes)
    ref.add(ids, hashes)
    return fast, ref


@pytest.fixture(scope="module")
def real_pdq() -> tuple[np.ndarray, np.ndarray]:
    """PDQ hashes of real photos: for each of 4 images, crops, resizes and rotations
    (near-duplicate clusters), plus the 8 orientation hashes of each variant."""
    pdqhash = pytest.importorskip("pdqhash")
    skimage = pytest.importorskip("skimage")
    from PIL import Image

    folder = Path(os.path.dirname(skimage.__file__)) / "data"
    names = ["coffee.png", "chelsea.png", "rocket.jpg", "brick.png"]  # no pictures of people
    single, dihedral = [], []
    for name in names:
        img = Image.open(folder / name).convert("RGB")
        w, h = img.size
        variants = [img]
        for f in (0.97, 0.9, 0.8, 0.65):
            cw, ch = int(w * f), int(h * f)
            variants.append(img.crop(((w - cw) // 2, (h - ch) // 2, (w - cw) // 2 + cw, (h - ch) // 2 + ch)))
            variants.append(img.crop((0, 0, cw, ch)))
        for s in (0.5, 0.25, 0.12):
            variants.append(img.resize((max(8, int(w * s)), max(8, int(h * s)))))
        for angle in (2, 5, 10):
            variants.append(img.rotate(angle))
        for v in variants:
            arr = np.asarray(v)
            bits, _ = pdqhash.compute(arr)
            single.append(np.packbits(np.asarray(bits, dtype=np.uint8)))
            dbits, _ = pdqhash.compute_dihedral(arr)
            dihedral.append(np.packbits(np.asarray(dbits, dtype=np.uint8), axis=1))
    return np.array(single), np.array(dihedral)


# -- exactness ---------------------------------------------------------------


@pytest.mark.parametrize("radius", RADII)
def test_random_bank_matches_brute_force(radius: int) -> None:
    rng = np.random.default_rng(1)
    bank = random_hashes(rng, 30_000)
    ids = unique_ids(rng, 30_000, 10**9)
    fast, ref = both(ids, bank)
    q = queries_near(rng, bank, 150)
    assert_same(fast.search(q, radius), ref.search(q, radius))


@pytest.mark.parametrize("radius", RADII)
def test_clustered_bank_matches_brute_force(radius: int) -> None:
    rng = np.random.default_rng(2)
    bank = clustered_bank(rng, seeds=300, per_seed=80, max_flips=24)
    fast, ref = both(np.arange(len(bank)) * 7 - 5000, bank)
    q = queries_near(rng, bank, 120, max_flips=40)
    res = fast.search(q, radius)
    assert_same(res, ref.search(q, radius))
    if radius >= 31:
        assert len(res) > 1000  # clusters make many matches per query


def test_skewed_bank_many_copies() -> None:
    """70,000 copies of one hash overflow a table block: the tables fall back to
    finer checkpoints and stay exact."""
    rng = np.random.default_rng(3)
    one = random_hashes(rng, 1)
    bank = np.concatenate(
        [np.repeat(one, 70_000, axis=0), flip_bits(rng, np.repeat(one, 5_000, axis=0), 8), random_hashes(rng, 5_000)]
    )
    fast, ref = both(np.arange(len(bank)), bank)
    assert min(int(s) for s in fast._segments[0].chunk_sh) < 5
    fast.check()
    q = np.concatenate([one, flip_bits(rng, np.repeat(one, 3, axis=0), 20), random_hashes(rng, 3)])
    for radius in (0, 10, 31):
        assert_same(fast.search(q, radius), ref.search(q, radius))


@pytest.mark.parametrize("radius", RADII)
def test_real_image_hashes(real_pdq, radius: int) -> None:
    single, dihedral = real_pdq
    rng = np.random.default_rng(4)
    filler = random_hashes(rng, 20_000)
    bank = np.concatenate([single, dihedral.reshape(-1, 32), filler])
    fast, ref = both(np.arange(len(bank)), bank)
    q = np.concatenate([single, flip_bits(rng, single, 20)])
    res = fast.search(q, radius)
    assert_same(res, ref.search(q, radius))
    if radius == 31:  # crops and resizes of one photo find each other
        assert len(res) > 2 * len(single)


@pytest.mark.parametrize("radius", (10, 31, 52))
def test_dihedral_search_equals_brute_force_over_8_orientations(real_pdq, radius: int) -> None:
    _single, dihedral = real_pdq
    rng = np.random.default_rng(5)
    # the bank holds one (random) orientation of half the variants, plus filler
    pick = rng.integers(0, 8, len(dihedral))
    stored = dihedral[np.arange(len(dihedral)), pick][::2]
    bank = np.concatenate([stored, random_hashes(rng, 20_000), clustered_bank(rng, 20, 50, 12)])
    fast, ref = both(np.arange(len(bank)), bank, buffer_size=4096)
    queries = np.concatenate([dihedral, np.stack([flip_bits(rng, d, 6) for d in dihedral[:10]])])
    got = fast.search_dihedral(queries, radius)
    want = ref.search_dihedral(queries, radius)
    assert_same(got, want)
    # and the reference itself: the min over the 8 orientations, searched one by one
    flat = ref.search(queries.reshape(-1, 32), radius)
    best: dict[tuple[int, int], int] = {}
    for q, item, d in zip(flat.query.tolist(), flat.item.tolist(), flat.distance.tolist()):
        key = (q // 8, item)
        best[key] = min(best.get(key, 999), d)
    assert got.pairs() == {(g, i, d) for (g, i), d in best.items()}
    # the variant reported is one at that distance
    qd = queries.reshape(len(queries), 8, 32)
    for g, i, d, v in zip(got.query[:200], got.item[:200], got.distance[:200], got.variant[:200]):
        x = np.unpackbits(qd[g, v] ^ bank[i]).sum()
        assert x == d
    if radius == 31:
        assert len(got) >= len(stored)  # every stored orientation is found from its image


def test_dihedral_identical_orientations_dedupe() -> None:
    rng = np.random.default_rng(6)
    bank = random_hashes(rng, 5000)
    fast, ref = both(np.arange(5000), bank)
    q = np.repeat(bank[:20][:, None, :], 8, axis=1)  # a symmetric image: 8 equal hashes
    q[:, 3] = random_hashes(rng, 20)
    assert_same(fast.search_dihedral(q, 31), ref.search_dihedral(q, 31))
    assert len(fast.search_dihedral(q, 0)) >= 20


# -- updates -----------------------------------------------------------------


def test_interleaved_adds_and_removes_match_brute_force() -> None:
    """Small buffers force the buffer, several segments, merges and tombstones."""
    rng = np.random.default_rng(7)
    fast = MultiIndexHash(buffer_size=512, merge_ratio=2.0)
    ref = BruteForceIndex()
    pool = clustered_bank(rng, 200, 60, 20)
    next_id = 0
    live: list[int] = []
    for step in range(30):
        k = int(rng.integers(1, 1500)) if step % 3 else int(rng.integers(1, 20))
        ids = np.arange(next_id, next_id + k)
        next_id += k
        h = pool[rng.integers(0, len(pool), k)]
        fast.add(ids, h)
        ref.add(ids, h)
        live.extend(ids.tolist())
        if step % 2:
            gone = rng.choice(live, size=min(len(live), int(rng.integers(1, 400))), replace=False)
            assert fast.remove(gone) == ref.remove(gone)
            live = sorted(set(live) - set(gone.tolist()))
        assert len(fast) == len(ref) == len(live)
        q = queries_near(rng, pool, 30, 30)
        for radius in (0, 31) if step % 5 else RADII:
            assert_same(fast.search(q, radius), ref.search(q, radius))
    assert len(fast.segment_sizes) >= 1
    fast.compact()
    assert len(fast.segment_sizes) == 1
    q = queries_near(rng, pool, 50, 30)
    assert_same(fast.search(q, 31), ref.search(q, 31))
    np.testing.assert_array_equal(fast.ids(), np.sort(np.array(live)))


def test_removed_hash_never_matches_again(tmp_path: Path) -> None:
    rng = np.random.default_rng(8)
    bank = random_hashes(rng, 40_000)
    index = build_index(np.arange(40_000), bank)
    target = bank[123:124]
    assert 123 in index.search(target, 0).item
    assert index.remove([123]) == 1
    assert index.remove([123]) == 0
    assert 123 not in index
    for radius in RADII:
        assert 123 not in index.search(target, radius).item
    index.save(tmp_path / "a.idx")
    again = MultiIndexHash.load(tmp_path / "a.idx")
    assert 123 not in again and len(again) == 39_999
    assert 123 not in again.search(target, 31).item
    # remove after load (mmap'd, read-only arrays) and re-add with a new hash
    assert again.remove([124, 125]) == 2
    assert not {124, 125} & set(again.search(bank[124:126], 31).item.tolist())
    again.add([123], bank[7:8])
    hits = again.search(bank[7:8], 0)
    assert set(hits.item.tolist()) == {7, 123}
    assert 123 not in again.search(target, 0).item


def test_add_validates_ids() -> None:
    index = MultiIndexHash()
    h = random_hashes(np.random.default_rng(9), 3)
    index.add([1, 2, 3], h)
    with pytest.raises(DuplicateIdError):
        index.add([3], h[:1])
    with pytest.raises(DuplicateIdError):
        index.add([10, 10], h[:2])
    with pytest.raises(ValueError):
        index.add([4, 5], h[:1])
    with pytest.raises(ValueError):
        index.add([4], np.zeros((1, 31), np.uint8))
    assert len(index) == 3
    index.remove([3])
    index.add([3], h[:1])  # an id can come back after removal
    assert set(index.search(h[:1], 0).item.tolist()) == {1, 3}


def test_single_add_and_remove_take_effect_at_once() -> None:
    rng = np.random.default_rng(10)
    bank = random_hashes(rng, 50_000)
    index = build_index(np.arange(50_000), bank)
    new = random_hashes(rng, 1)
    index.add([10**12], new)
    assert index.search(new, 0).item.tolist() == [10**12]
    index.remove([10**12])
    assert len(index.search(new, 0)) == 0


def test_empty_cases(tmp_path: Path) -> None:
    for index in (MultiIndexHash(), BruteForceIndex()):
        assert len(index) == 0
        res = index.search(np.zeros((2, 32), np.uint8), 31)
        assert len(res) == 0
        assert len(index.search(np.zeros((0, 32), np.uint8), 31)) == 0
        assert index.remove([1, 2]) == 0
        index.save(tmp_path / "e.idx")
        assert len(open_index(tmp_path / "e.idx")) == 0


def test_protocol_and_inputs() -> None:
    rng = np.random.default_rng(11)
    bank = random_hashes(rng, 100)
    for kind in ("mih", "brute"):
        index = build_index(np.arange(100), bank, kind=kind)
        assert isinstance(index, HammingIndex)
        hexes = hashes_to_hex(bank[:3])
        assert hashes_from_hex(hexes).tolist() == bank[:3].tolist()
        a = index.search(hexes, 5)
        b = index.search(bank[:3].view(np.uint64), 5)
        c = index.search(bank[0].tobytes(), 5)
        assert a.pairs() == b.pairs() and c.pairs() == {(0, 0, 0)}
        assert a.for_query(1).item.tolist() == [1]
    with pytest.raises(ValueError):
        build_index([1], bank[:1], kind="nope")
    with pytest.raises(ValueError):
        MultiIndexHash().search(bank[:1], -1)
    assert as_hashes(bank).shape == (100, 4)


# -- files -------------------------------------------------------------------


@pytest.mark.parametrize("mmap", (True, False))
def test_save_load_roundtrip(tmp_path: Path, mmap: bool) -> None:
    rng = np.random.default_rng(12)
    bank = clustered_bank(rng, 500, 40, 16)
    ids = unique_ids(rng, len(bank), 10**7) - 10**6
    fast, ref = both(ids, bank, buffer_size=1000)
    fast.add([10**9], bank[:1])  # something in the buffer too
    ref.add([10**9], bank[:1])
    path = tmp_path / "bank.idx"
    fast.save(path)
    loaded = open_index(path, mmap=mmap)
    assert isinstance(loaded, MultiIndexHash)
    loaded.check()
    if mmap:
        assert isinstance(loaded._segments[0].slots, np.memmap)
    assert len(loaded) == len(ref)
    q = queries_near(rng, bank, 60, 30)
    for radius in RADII:
        assert_same(loaded.search(q, radius), ref.search(q, radius))
    # the reference saves and loads too
    ref.save(tmp_path / "ref.idx")
    ref2 = open_index(tmp_path / "ref.idx", mmap=mmap)
    assert isinstance(ref2, BruteForceIndex)
    assert_same(ref2.search(q, 31), ref.search(q, 31))
    # a brute-force file opened as the fast index builds its tables
    assert_same(MultiIndexHash.load(tmp_path / "ref.idx").search(q, 31), ref.search(q, 31))
    # no pickle anywhere in the file
    assert b"\x80\x04\x95" not in path.read_bytes()[:4096]


def _saved(tmp_path: Path) -> Path:
    rng = np.random.default_rng(13)
    path = tmp_path / "x.idx"
    build_index(np.arange(5000), random_hashes(rng, 5000)).save(path)
    return path


def test_truncated_file_gives_clear_error(tmp_path: Path) -> None:
    path = _saved(tmp_path)
    data = path.read_bytes()
    for cut in (len(data) - 1000, 5000, 100, 0):
        path.write_bytes(data[:cut])
        with pytest.raises(IndexFileError) as err:
            open_index(path)
        assert isinstance(err.value, UnleakError) and isinstance(err.value, ValueError)
        assert "truncated" in str(err.value) or "too short" in str(err.value)


def test_corrupt_file_gives_clear_error(tmp_path: Path) -> None:
    path = _saved(tmp_path)
    data = bytearray(path.read_bytes())
    cases = {
        "magic": (0, b"NOTANIDX"),
        "header": (16, b"\xff"),  # n: caught by the header checksum
        "slots": (len(data) - 10, b"\x01\x02"),
        "hashes": (4096 + (5000 * 8 + 4095) // 4096 * 4096 + 17, b"\x55"),
    }
    for name, (at, patch) in cases.items():
        bad = bytearray(data)
        bad[at : at + len(patch)] = bytes(b ^ 0xA5 for b in patch) if name != "magic" else patch
        path.write_bytes(bytes(bad))
        with pytest.raises(IndexFileError) as err:
            open_index(path)
        assert err.value.hint
        msg = str(err.value)
        assert ("magic" in msg) if name == "magic" else ("corrupt" in msg)
    with pytest.raises(IndexFileError):
        open_index(tmp_path / "missing.idx")
    # a future version says so
    bad = bytearray(data)
    bad[8] = 9
    path.write_bytes(bytes(bad))
    with pytest.raises(IndexFileError, match="version"):
        open_index(path)


def test_unverified_corrupt_tables_never_crash(tmp_path: Path) -> None:
    """verify=False skips the checksums: garbage tables give wrong answers, not a crash."""
    path = _saved(tmp_path)
    data = bytearray(path.read_bytes())
    rng = np.random.default_rng(14)
    start = 4096 + ((5000 * 8 + 4095) // 4096) * 4096 + ((5000 * 32 + 4095) // 4096) * 4096
    garbage = rng.integers(0, 256, len(data) - start, dtype=np.uint8).tobytes()
    data[start:] = garbage
    path.write_bytes(bytes(data))
    with pytest.raises(IndexFileError):
        open_index(path)
    index = MultiIndexHash.load(path, verify=False)
    res = index.search(random_hashes(rng, 50), 52)
    assert len(res) >= 0
    with pytest.raises(IndexFileError):
        index.check()


def test_max_merge_bounds_automatic_merges_and_huge_radius() -> None:
    rng = np.random.default_rng(15)
    bank = random_hashes(rng, 6000)
    index = MultiIndexHash(buffer_size=1000, merge_ratio=1.0, max_merge=2500)
    ref = BruteForceIndex()
    for lo in range(0, 6000, 500):
        index.add(np.arange(lo, lo + 500), bank[lo : lo + 500])
        ref.add(np.arange(lo, lo + 500), bank[lo : lo + 500])
    assert max(index.segment_sizes) <= 2500 and len(index.segment_sizes) >= 2
    q = queries_near(rng, bank, 40, 30)
    assert_same(index.search(q, 31), ref.search(q, 31))
    assert len(index.search(q[:2], 300)) == 2 * 6000  # radius past 256: everything
    index.compact()
    assert index.segment_sizes == [6000]
    assert_same(index.search(q, 31), ref.search(q, 31))
