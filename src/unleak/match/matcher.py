"""Match candidates against a bank: exact hashes by lookup, PDQ through the Hamming index, vPDQ by frames."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from unleak.bank import Bank, iter_media_paths
from unleak.errors import UnleakError
from unleak.media.sniff import MediaKind
from unleak.signals import Media, Signal, compute_signals, get_signal_type
from unleak.signals import vpdq as vpdq_signal
from unleak.signals.pdq import MIN_QUALITY, PdqSignal


@dataclass
class Match:
    bank_id: int
    label: str
    signal: str
    distance: int
    quality: int | None = None
    query_match_percent: float | None = None  # vPDQ only
    bank_match_percent: float | None = None

    def to_json(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None or k in ("bank_id", "label", "signal", "distance")}


@dataclass
class MatchResult:
    path: str
    matches: list[Match] = field(default_factory=list)
    signals: dict[str, Signal] = field(default_factory=dict)
    error: str | None = None

    def to_json(self) -> dict:
        return {"path": self.path, "matches": [m.to_json() for m in self.matches], "error": self.error}


class PdqBankIndex:
    """The live PDQ signals of a bank in a Hamming index, item ids kept beside."""

    def __init__(self, rows: list[tuple[int, int, str, str]]) -> None:
        from unleak.index import build_index

        self.signal_ids = np.array([r[0] for r in rows], dtype=np.int64)
        self.item_of = {r[0]: (r[1], r[2]) for r in rows}
        hashes = np.frombuffer(b"".join(bytes.fromhex(r[3]) for r in rows), np.uint8).reshape(-1, 32)
        self.index = build_index(self.signal_ids, hashes)

    def search(self, hex_values: list[str], radius: int) -> list[list[tuple[int, int]]]:
        """For each query: (signal id, distance) of every bank hash within `radius`."""
        queries = np.frombuffer(b"".join(bytes.fromhex(h) for h in hex_values), np.uint8).reshape(-1, 32)
        out: list[list[tuple[int, int]]] = [[] for _ in hex_values]
        if len(self.signal_ids) == 0 or len(hex_values) == 0:
            return out
        result = self.index.search(queries, radius)
        for q, item, dist in zip(result.query, result.item, result.distance):
            out[int(q)].append((int(item), int(dist)))
        return out


class Matcher:
    """Matches media against one bank. Build once, match many."""

    def __init__(self, bank: Bank, *, fast: bool = False, dihedral: bool = True,
                 pdq_threshold: int = PdqSignal.threshold) -> None:
        self.bank = bank
        self.fast = fast
        self.dihedral = dihedral
        self.pdq_threshold = pdq_threshold
        self.exact: dict[tuple[str, str], list[tuple[int, str]]] = {}
        for stype in ("sha256", "md5"):
            for _sid, item_id, label, value in bank.active_signals(stype):
                self.exact.setdefault((stype, value), []).append((item_id, label))
        self.pdq = PdqBankIndex(bank.active_signals("pdq"))
        self.videos = [(item_id, label, vpdq_signal.parse_frames(value))
                       for _sid, item_id, label, value in bank.active_signals("vpdq")]

    def match_media(self, media: Media) -> MatchResult:
        result = MatchResult(path=media.name)
        signals = compute_signals(media, fast=self.fast)
        result.signals = signals
        best: dict[int, Match] = {}

        def keep(m: Match) -> None:
            if m.bank_id not in best or m.distance < best[m.bank_id].distance:
                best[m.bank_id] = m

        for stype in ("sha256", "md5"):
            for item_id, label in self.exact.get((stype, signals[stype].value), []):
                keep(Match(item_id, label, stype, 0))
        if media.kind is MediaKind.IMAGE:
            pdq = signals["pdq"]
            if pdq.quality is not None and pdq.quality >= MIN_QUALITY:
                for m in self._match_pdq(media, pdq):
                    keep(m)
        else:
            frames = vpdq_signal.parse_frames(signals["vpdq"].value)
            for item_id, label, bank_frames in self.videos:
                vm = vpdq_signal.compare(frames, bank_frames)
                if vm.is_match():
                    keep(Match(item_id, label, "vpdq", vm.median_distance, signals["vpdq"].quality,
                               round(vm.query_match_percent, 1), round(vm.bank_match_percent, 1)))
        result.matches = sorted(best.values(), key=lambda m: (m.distance, m.bank_id))
        return result

    def _match_pdq(self, media: Media, pdq: Signal) -> list[Match]:
        queries = [pdq.value]
        if self.dihedral:
            from unleak.signals.pdq import fast_pixels, hash_pixels_dihedral

            pixels = fast_pixels(media) if self.fast else media.pixels()
            queries = hash_pixels_dihedral(pixels)[0]
        found: dict[int, int] = {}
        for hits in self.pdq.search(queries, self.pdq_threshold):
            for signal_id, dist in hits:
                found[signal_id] = min(dist, found.get(signal_id, 999))
        matches = []
        for signal_id, dist in found.items():
            item_id, label = self.pdq.item_of[signal_id]
            matches.append(Match(item_id, label, "pdq", dist, pdq.quality))
        return matches

    def match_paths(self, paths: Iterable[str | os.PathLike[str]]) -> Iterator[MatchResult]:
        for path in iter_media_paths(paths):
            try:
                yield self.match_media(Media.open(path))
            except UnleakError as exc:
                yield MatchResult(path=str(path), error=str(exc))
