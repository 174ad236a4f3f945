"""vPDQ, Meta's video hash: PDQ of one frame a second, through the `vpdq` package (reference C++).

A value is threatexchange's serialisation: a JSON list of "pdq_hex,quality,seconds" strings.
Two videos match by vPDQ's rule: the share of (deduplicated, quality >= 50) frames of each that
has a frame of the other within PDQ distance 31.

Fast mode (`hash_video_fast`) decodes with PyAV and tells the decoder to skip the frames nothing
else refers to and that are not hashed (libavcodec's skip_frame=NONREF), then hashes the same
frames, converted to RGB the same way (swscale, SWS_AREA), with the numba PDQ of pdq_fast. On our
test video its frame hashes, qualities and times equal the vpdq package's; see docs/hashing.md.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from unleak.errors import MediaError
from unleak.index import build_index
from unleak.media.sniff import MediaKind
from unleak.signals.base import BankRow, Example, IndexHit, InvalidSignal, Signal, SignalType
from unleak.signals.indexes import pack_hex
from unleak.signals.media import Media
from unleak.signals.pdq import PdqSignal

if TYPE_CHECKING:
    import av.video.stream

SECONDS_PER_HASH = 1.0
FRAME_QUALITY_MIN = 50
FRAME_DISTANCE_MAX = 31
QUERY_MATCH_PERCENT = 80.0  # threatexchange/HMA defaults
BANK_MATCH_PERCENT = 0.0
FRAME_BITS = 20  # frame ids in the index: video position << 20 | frame number (a million frames a video)


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
    """Frames from the stored text form; anything else is refused (InvalidSignal, a ValueError)."""
    items = json.loads(value or "[]")
    if not isinstance(items, list):  # "7", "null", "{}" are JSON too
        raise InvalidSignal(f"not a vPDQ value (a JSON list of frames): {value[:80]!r}")
    frames = []
    for item in items:
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


def hash_video(path: str | os.PathLike[str], seconds_per_hash: float = SECONDS_PER_HASH) -> list[Frame]:
    import vpdq as vpdq_lib

    try:
        features = vpdq_lib.computeHash(str(path), seconds_per_hash=seconds_per_hash)
    except Exception as exc:  # noqa: BLE001 - the binding raises plain exceptions for unreadable input
        raise MediaError(f"{path}: cannot hash video: {exc}", hint="the file may be corrupt") from None
    return [Frame(f.hex, int(f.quality), round(float(f.timestamp), 3)) for f in features]


def _frame_rate(stream: av.video.stream.VideoStream) -> float:
    """The rate vpdq uses: the stream's average frame rate, else the real base frame rate."""
    rate = stream.average_rate or stream.base_rate or stream.guessed_rate
    return float(rate) if rate else 0.0


def hash_video_fast(path: str | os.PathLike[str], seconds_per_hash: float = SECONDS_PER_HASH) -> list[Frame]:
    """vPDQ frames like `hash_video`, faster: frames that are neither hashed nor referenced are not decoded.

    vpdq hashes every frame whose display-order number n has n % int(seconds_per_hash * fps) == 0.
    A first pass reads the packets' presentation times (no decoding) to give each packet its
    display-order number; the second pass lets the decoder drop non-reference frames unless
    they are to be hashed. If a stream lacks presentation times, every frame is decoded.
    """
    return hash_video_views(path, lambda rgb: {"": rgb}, seconds_per_hash).get("", [])


FrameViews = Callable[[np.ndarray], Mapping[str, np.ndarray]]


def hash_video_views(
    path: str | os.PathLike[str],
    views: FrameViews,
    seconds_per_hash: float = SECONDS_PER_HASH,
    *,
    phase: float = 0.0,
) -> dict[str, list[Frame]]:
    """vPDQ frames of derived videos, by name: `views` turns each hashed frame (RGB) into named
    pictures (e.g. the frame mirrored, or without its bars), each hashed as a frame of that name's
    video at the frame's time. `{"": rgb}` gives `hash_video_fast`'s frames, bit for bit.
    `phase`: hash the frames this many seconds after vPDQ's (e.g. half-way between them)."""
    import av

    from unleak.signals import pdq_fast

    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            stream = container.streams.video[0]
            pts = [p.pts for p in container.demux(stream) if p.size]
        known = [t for t in pts if t is not None]
        # display-order number by presentation time, when every packet has a distinct one
        number: dict[int | None, int] | None = None
        if len(set(known)) == len(pts):
            number = {t: i for i, t in enumerate(sorted(known))}
        found: dict[str, list[Frame]] = {}
        with av.open(str(path), metadata_errors="ignore") as container:
            stream = container.streams.video[0]
            fps = _frame_rate(stream)
            if fps <= 0:
                raise MediaError(f"{path}: the video has no frame rate", hint="the file may be corrupt")
            every = max(1, int(seconds_per_hash * fps))
            shift = int(phase * fps) % every
            codec = stream.codec_context
            codec.thread_type = "SLICE"  # frame threads would apply skip_frame to later packets
            decoded = 0
            for packet in container.demux(stream):
                if number is not None and packet.size:
                    codec.skip_frame = "DEFAULT" if (number[packet.pts] - shift) % every == 0 else "NONREF"
                for frame in codec.decode(packet if packet.size else None):
                    n = number.get(frame.pts) if number is not None else decoded
                    decoded += 1
                    if n is None or (n - shift) % every:
                        continue
                    rgb = frame.to_ndarray(format="rgb24", interpolation="AREA")  # as vpdq's sws_scale
                    seconds = float(np.float32(n) / np.float32(fps))  # vpdq: float frame number / fps
                    for name, view in views(rgb).items():
                        pdq_hex, quality = pdq_fast.hash_luma(np.ascontiguousarray(view))
                        found.setdefault(name, []).append(Frame(pdq_hex, quality, round(seconds, 3)))
    except (av.error.FFmpegError, ValueError, RuntimeError, OSError) as exc:  # PyAV's errors on bad input
        raise MediaError(f"{path}: cannot hash video: {exc}", hint="the file may be corrupt") from None
    except IndexError:
        raise MediaError(f"{path}: has no video stream") from None
    for frames in found.values():
        frames.sort(key=lambda f: f.time)
    return found


class VideoBankIndex:
    """The live vPDQ signals of a bank: each usable frame hash indexed under (video, frame)."""

    def __init__(self, rows: Sequence[BankRow]) -> None:
        self.items = np.fromiter((r[1] for r in rows), np.int64, len(rows))
        self.values = [r[3] for r in rows]  # parsed again only for the videos a query hits
        ids: list[int] = []
        hexes: list[str] = []
        for v, value in enumerate(self.values):
            for f, frame in enumerate(usable(parse_frames(value))[: 1 << FRAME_BITS]):
                ids.append(v << FRAME_BITS | f)
                hexes.append(frame.pdq)
        self.n_frames = len(ids)
        self.index = build_index(np.array(ids, np.int64), pack_hex(hexes)) if ids else None

    def __len__(self) -> int:
        return len(self.values)

    def candidates(self, frames: list[Frame]) -> list[int]:
        """Positions of the bank videos that have a frame within vPDQ's frame distance of a query frame.

        Any video that vPDQ's rule can match is among them (a match needs a shared frame), so
        comparing only these in full gives exactly the brute force's answer."""
        query = usable(frames)
        if self.index is None or not query:
            return []
        hits = self.index.search(pack_hex(f.pdq for f in query), FRAME_DISTANCE_MAX)
        return sorted(set((hits.item >> FRAME_BITS).tolist()))

    def query(self, signal: Signal) -> list[IndexHit]:
        """The bank videos that match by vPDQ's rule, at their median frame distance."""
        frames = parse_frames(signal.value)
        n_query = len(usable(frames))
        return [
            IndexHit(
                item_id,
                vm.median_distance,
                {
                    "query_match_percent": round(vm.query_match_percent, 1),
                    "bank_match_percent": round(vm.bank_match_percent, 1),
                    "pdq_comparisons": n_query * n_bank,
                },
            )
            for item_id, vm, n_bank in self.match(frames)
        ]

    def match(self, frames: list[Frame]) -> list[tuple[int, VideoMatch, int]]:
        """(bank item id, comparison, usable bank frames) of every bank video that matches by vPDQ's rule."""
        out = []
        for v in self.candidates(frames):
            bank_frames = parse_frames(self.values[v])
            vm = compare(frames, bank_frames)
            if vm.is_match():
                out.append((int(self.items[v]), vm, len(usable(bank_frames))))
        return out


class VpdqSignal(SignalType):
    name = "vpdq"
    media = frozenset({MediaKind.VIDEO})
    threshold = FRAME_DISTANCE_MAX
    exchange_names: ClassVar[Mapping[str, str]] = {"video": "vpdq", "hash": "vpdq"}

    @classmethod
    def compute(cls, media: Media, *, fast: bool = False) -> Signal:
        media.check_video()
        with media.as_file() as path:
            frames = hash_video_fast(path) if fast else hash_video(path)
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
            frames = parse_frames(value)
            if not frames:
                raise ValueError("it has no frames")
            return frames_to_value(frames)
        except (ValueError, TypeError, json.JSONDecodeError) as exc:
            raise InvalidSignal(f'not a vPDQ value (a JSON list of "pdq,quality,seconds"): {exc}') from None

    @classmethod
    def is_match(cls, a: str, b: str, threshold: int | None = None) -> bool:
        """vPDQ's rule with `a` as the query (80% of its usable frames within PDQ distance 31 of one
        of `b`'s), not a cut-off on `distance`; so `threshold` is not used."""
        return compare(parse_frames(a), parse_frames(b)).is_match()

    @classmethod
    def build_index(cls, rows: Sequence[BankRow]) -> VideoBankIndex:
        """Every usable frame hash in a Hamming index; whole videos compared only when a frame is near."""
        return VideoBankIndex(rows)

    @classmethod
    def examples(cls) -> list[Example]:
        frames = [
            "8c629e779a663698b9a33866c026726c21a679f61eb6e1f8c79ba7e23c8299e0,100,0.0",
            "5feb5321f01da156898e2bf629a5d3438412cdbd23f48942464526315db33ffd,100,1.0",
        ]
        return [Example(json.dumps(frames)), Example(json.dumps(frames[:1]))]

    @classmethod
    def to_json(cls, signal: Signal) -> dict[str, Any]:
        """Frames as a list of objects (the JSON contract), not the exchange's compact strings."""
        frames = [{"pdq": f.pdq, "quality": f.quality, "time": f.time} for f in parse_frames(signal.value)]
        return {"vpdq": frames, "vpdq_quality": signal.quality}

    @classmethod
    def summary(cls, signal: Signal) -> str:
        return f"{len(parse_frames(signal.value))} frames"
