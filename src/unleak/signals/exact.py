"""Exact cryptographic hashes of the file's bytes: SHA-256, and MD5 (still exchanged for videos)."""

from __future__ import annotations

import re

from unleak.media.sniff import MediaKind
from unleak.signals.base import Signal, SignalType
from unleak.signals.media import Media


class _ExactHash(SignalType):
    media = frozenset({MediaKind.IMAGE, MediaKind.VIDEO})
    threshold = 0
    hex_length: int

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
            raise ValueError(f"not a {cls.name} value: {value[:80]!r}")
        return value


class Sha256Signal(_ExactHash):
    name = "sha256"
    hex_length = 64


class Md5Signal(_ExactHash):
    name = "md5"
    hex_length = 32
