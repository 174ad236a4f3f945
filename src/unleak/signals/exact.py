"""Exact cryptographic hashes of the file's bytes: SHA-256, and MD5 (still exchanged for videos)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import ClassVar

from unleak.media.sniff import MediaKind
from unleak.signals.base import BankRow, Example, IndexHit, InvalidSignal, Signal, SignalType
from unleak.signals.indexes import ExactLookup
from unleak.signals.media import Media
from unleak.signals.samples import sample_media


class DigestIndex(ExactLookup):
    """A bank's digests of one exact type, found by binary search."""

    def __len__(self) -> int:
        return int(self.items.shape[0])

    def query(self, signal: Signal) -> list[IndexHit]:
        return [IndexHit(item_id, 0) for item_id in self.find(signal.value)]


class _ExactHash(SignalType):
    media = frozenset({MediaKind.IMAGE, MediaKind.VIDEO})
    threshold = 0
    exact = True
    hex_length: ClassVar[int]
    example_value: ClassVar[str]  # of the sample photo coffee.png

    @classmethod
    def compute(cls, media: Media, *, fast: bool = False) -> Signal:
        return Signal(cls.name, media.digests()[cls.name])

    @classmethod
    def distance(cls, a: str, b: str) -> int:
        return 0 if a.lower() == b.lower() else 1

    @classmethod
    def validate(cls, value: str) -> str:
        value = value.strip().lower()
        if not re.fullmatch(f"[0-9a-f]{{{cls.hex_length}}}", value):
            raise InvalidSignal(f"not a {cls.name} value ({cls.hex_length} hex digits): {value[:80]!r}")
        return value

    @classmethod
    def build_index(cls, rows: Sequence[BankRow]) -> DigestIndex:
        return DigestIndex(rows, cls.hex_length // 2)

    @classmethod
    def examples(cls) -> list[Example]:
        return [Example(cls.example_value, sample_media), Example("0" * cls.hex_length)]


class Sha256Signal(_ExactHash):
    name = "sha256"
    hex_length = 64
    exchange_names: ClassVar[Mapping[str, str]] = {"video": "video_sha256"}
    example_value = "cc02f8ca188b167c775a7101b5d767d1e71792cf762c33d6fa15a4599b5a8de7"


class Md5Signal(_ExactHash):
    name = "md5"
    hex_length = 32
    exchange_names: ClassVar[Mapping[str, str]] = {"video": "video_md5"}
    example_value = "f24210802e8d0690e0c1c2302f907cc4"
