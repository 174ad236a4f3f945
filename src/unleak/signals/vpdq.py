"""vPDQ, Meta's video hash: PDQ of one frame a second, through the `vpdq` package (reference C++).

A value is threatexchange's serialisation: a JSON list of "pdq_hex,quality,seconds" strings.
Two videos match by vPDQ's rule: the share of (deduplicated, quality >= 50) frames of each that
has a frame of the other within PDQ distance 31.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from unleak.errors import MediaError
from unleak.media.sniff import MediaKind
from unleak.signals.base import Signal, SignalType
from unleak.signals.media import Media
from unleak.signals.pdq import PdqSignal

SECONDS_PER_HASH = 1.0
FRAME_QUALITY_MIN = 50
FRAME_DISTANCE_MAX = 31
QUERY_MATCH_PERCENT = 80.0  # threatexchange/HMA defaults
BANK_MATCH_PERCENT = 0.0


@dataclass(frozen=True)
class Frame:
    pdq: str
    quality: int
    time: float

    def __str__(self) -> str:
        return f"{self.pdq},{self.quality},{self.time:.3}"


@dataclass(frozen=True)
class VideoMatch:
    query_match_percent: float
    bank_match_percent: float
    median_distance: int

    def is_match(self, query_pct: float = QUERY_MATCH_PERCENT, bank_pct: float = BANK_MATCH_PERCENT) -> bool:
        return self.query_match_percent >= query_pct and self.bank_match_percent >= bank_pct


def parse_frames(value: str) -> list[Frame]:
    frames = []
    for item in json.loads(value or "[]"):
        pdq_hex, quality, seconds = str(item).split(",")
        frames.append(Frame(PdqSignal.validate(pdq_hex), int(quality), float(seconds)))
    return frames


def frames_to_value(frames: list[Frame]) -> str:
    return json.dumps([str(f) for f in frames])


def usable(frames: list[Frame]) -> list[Frame]:
    """Deduplicated frames of usable quality, the ones vPDQ's matching rule counts."""
    seen: set[str] = set()
    kept = []
    for f in frames:
        if f.pdq not in seen and f.quality >= FRAME_QUALITY_MIN:
            seen.add(f.pdq)
            kept.append(f)
    return kept


def _packed(frames: list[Frame]) -> np.ndarray:
    return np.frombuffer(b"".join(bytes.fromhex(f.pdq) for f in frames), np.uint8).reshape(-1, 32)


def compare(query: list[Frame], bank: list[Frame]) -> VideoMatch:
    """vPDQ's brute-force comparison, vectorised."""
    q, b = usable(query), usable(bank)
    if not q or not b:
        return VideoMatch(0.0, 0.0, 256)
    qa, ba = _packed(q), _packed(b)
    xor = qa[:, None, :] ^ ba[None, :, :]
    dist = np.unpackbits(xor, axis=2).sum(axis=2)
    hits = dist <= FRAME_DISTANCE_MAX
    q_pct = 100.0 * hits.any(axis=1).sum() / len(q)
    b_pct = 100.0 * hits.any(axis=0).sum() / len(b)
    matched = dist[hits]
    median = int(np.median(matched)) if matched.size else int(dist.min())
    return VideoMatch(q_pct, b_pct, median)


def hash_video(path, seconds_per_hash: float = SECONDS_PER_HASH) -> list[Frame]:
    import vpdq as vpdq_lib

    try:
        features = vpdq_lib.computeHash(str(path), seconds_per_hash=seconds_per_hash)
    except Exception as exc:  # the binding raises plain exceptions for unreadable input
        raise MediaError(f"{path}: cannot hash video: {exc}", hint="the file may be corrupt") from None
    return [Frame(f.hex, int(f.quality), round(float(f.timestamp), 3)) for f in features]


class VpdqSignal(SignalType):
    name = "vpdq"
    media = frozenset({MediaKind.VIDEO})
    threshold = FRAME_DISTANCE_MAX

    @classmethod
    def compute(cls, media: Media, *, fast: bool = False) -> Signal:
        media.check_video()
        with media.as_file() as path:
            frames = hash_video(path)
        if not frames:
            raise MediaError(f"{media.name}: no frame of the video could be decoded")
        quality = int(np.median([f.quality for f in frames]))
        return Signal(cls.name, frames_to_value(frames), quality)

    @classmethod
    def distance(cls, a: str, b: str) -> int:
        """100 minus the share of `a`'s frames found in `b` (0 means every frame matched)."""
        return round(100 - compare(parse_frames(a), parse_frames(b)).query_match_percent)

    @classmethod
    def validate(cls, value: str) -> str:
        try:
            return frames_to_value(parse_frames(value))
        except (ValueError, json.JSONDecodeError) as exc:
            raise ValueError(f"not a vPDQ value: {exc}") from None
