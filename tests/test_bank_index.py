"""The bank's signals as held for matching: every answer equals the brute-force comparison."""

from __future__ import annotations

import numpy as np
import pytest

from unleak.match.bank_index import ExactLookup, PdqBankIndex, VideoBankIndex
from unleak.signals import vpdq as vpdq_signal
from unleak.signals.pdq import hamming


def _flip(hex_value: str, bits: int, rng: np.random.Generator) -> str:
    raw = bytearray(bytes.fromhex(hex_value))
    for b in rng.choice(256, size=bits, replace=False):
        raw[b // 8] ^= 1 << (b % 8)
    return raw.hex()


def _random_hex(rng: np.random.Generator) -> str:
    return rng.integers(0, 256, 32, dtype=np.uint8).tobytes().hex()


def test_pdq_bank_index_equals_brute_force_with_variants():
    rng = np.random.default_rng(3)
    rows, sid = [], 100
    for item in range(1, 301):
        base = _random_hex(rng)
        for variant in ("", "trim", "crop:1x1", "crop:9x16")[: 1 + item % 4]:
            rows.append((sid, item, f"label-{item}", _flip(base, int(rng.integers(0, 40)), rng), variant))
            sid += int(rng.integers(1, 4))  # signal ids with gaps, as after removals
    rng.shuffle(rows)
    index = PdqBankIndex(rows)
    queries = [_flip(rows[i][3], int(rng.integers(0, 50)), rng) for i in range(0, len(rows), 7)] + [_random_hex(rng)]
    for radius in (0, 31, 64):
        got = index.search(queries, radius)
        for q, hits in zip(queries, got):
            want = sorted((r[1], r[4], hamming(q, r[3])) for r in rows if hamming(q, r[3]) <= radius)
            assert sorted(hits) == want
    item = rows[0][1]
    mine = [r for r in rows if r[1] == item]
    assert sorted(index.hashes_of_item(item)) == sorted((r[4], r[3]) for r in mine)
    assert index.counts(item) == (sum(r[4] == "trim" for r in mine), sum(r[4].startswith("crop:") for r in mine))
    assert index.counts(10_000) == (0, 0) and index.hashes_of_item(10_000) == []


def _video(rng: np.random.Generator, n: int) -> list[vpdq_signal.Frame]:
    frames = []
    for t in range(n):
        quality = int(rng.choice([20, 80, 100]))  # some frames too poor to count
        frames.append(vpdq_signal.Frame(_random_hex(rng), quality, float(t)))
    frames += frames[:2]  # repeated frames are counted once
    return frames


def _copy(frames: list[vpdq_signal.Frame], share: float, rng: np.random.Generator) -> list[vpdq_signal.Frame]:
    """A re-encoded copy: `share` of the frames within a few bits, the rest unrelated."""
    out = []
    for f in frames:
        near = rng.random() < share
        out.append(
            vpdq_signal.Frame(
                _flip(f.pdq, int(rng.integers(0, 20)), rng) if near else _random_hex(rng), f.quality, f.time
            )
        )
    return out


def test_video_bank_index_equals_vpdq_brute_force():
    rng = np.random.default_rng(5)
    bank = [_video(rng, int(rng.integers(3, 30))) for _ in range(60)]
    rows = [(1000 + v, 1 + v, f"video-{v}", vpdq_signal.frames_to_value(f)) for v, f in enumerate(bank)]
    index = VideoBankIndex(rows)
    queries = [_copy(bank[v], share, rng) for v in range(0, 60, 3) for share in (1.0, 0.85, 0.5)]
    queries.append(_video(rng, 10))  # unrelated
    queries.append(bank[7][:4] + _copy(bank[9], 1.0, rng))  # parts of two bank videos
    matched = 0
    for q in queries:
        want = [(1 + v, vpdq_signal.compare(q, b)) for v, b in enumerate(bank)]
        want = [(item, vm) for item, vm in want if vm.is_match()]
        got = [(item, vm) for item, vm, _ in index.match(q)]
        assert got == want
        matched += bool(got)
    assert 20 <= matched < len(queries), "the test should have both matches and misses"


def test_exact_lookup_compares_whole_digests():
    prefix = "ab" * 8
    digests = [prefix + f"{i:048x}" for i in range(5)] + ["00" * 32, "ff" * 32]
    rows = [(i, 10 + i, "", d) for i, d in enumerate(digests)]
    rows.append((99, 77, "", digests[2]))  # the same file protected in two items
    lookup = ExactLookup(rows, 32)
    assert sorted(lookup.find(digests[2])) == [12, 77]
    assert lookup.find(prefix + "f" * 48) == []  # shares the sorted key, not the digest
    assert lookup.find("ff" * 32) == [16]
    assert lookup.find("not hex") == [] and lookup.find("ab" * 16) == []
    assert ExactLookup([], 16).find("00" * 16) == []


@pytest.mark.parametrize("variants", [True, False])
def test_matcher_finds_the_video_through_the_index(store, tiny_video, other_video, samples, variants):
    from unleak.bank import Bank
    from unleak.match import Matcher
    from unleak.signals import Media

    bank = Bank(store, "videos")
    bank.protect([tiny_video, other_video, samples[5]])
    matcher = Matcher(bank, verify="off", variants=variants)
    assert matcher.videos.n_frames > 0
    result = matcher.match_media(Media.open(tiny_video))
    assert [m.label for m in result.matches] == ["clip"]
    best = result.matches[0]
    assert best.signal in ("sha256", "md5", "vpdq") and best.to_json()["false_match_rate"] <= 1e-6
