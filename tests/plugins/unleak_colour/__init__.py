"""A toy signal type plug-in for the tests: a colour histogram, which survives any reshuffling of
the pixels (and nothing else unleak has does). Registered through the entry-point group
`unleak.signal_types` by tests/test_signal_plugin.py, as an installed package would be."""

from __future__ import annotations

import io
import re

import numpy as np

from unleak.media.sniff import MediaKind
from unleak.signals import Example, InvalidSignal, Media, Signal, SignalType

BINS = 8  # per channel: 24 bytes, 48 hex digits
EXAMPLE = "2a2a2a2a2a2a00002c2c282c2c2800001640553f15000000"  # what gradient_png() gives


def gradient_png() -> bytes:
    """A small generated picture (the example's media)."""
    from PIL import Image

    y, x = np.mgrid[0:64, 0:96]
    pixels = np.stack([x * 2, y * 3, (x + y) % 256], axis=2).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "PNG")
    return buf.getvalue()


class ColourHistogram(SignalType):
    name = "colour_histogram"
    media = frozenset({MediaKind.IMAGE})
    threshold = 6  # summed differences, in 1/255 of the pixels

    @classmethod
    def compute(cls, media: Media, *, fast: bool = False) -> Signal:
        pixels = media.pixels().reshape(-1, 3)
        counts = [np.bincount(pixels[:, c] // (256 // BINS), minlength=BINS) for c in range(3)]
        shares = np.rint(np.concatenate(counts) * 255 / len(pixels)).astype(np.uint8)
        return Signal(cls.name, shares.tobytes().hex())

    @classmethod
    def distance(cls, a: str, b: str) -> int:
        x = np.frombuffer(bytes.fromhex(a), np.uint8).astype(int)
        y = np.frombuffer(bytes.fromhex(b), np.uint8).astype(int)
        return int(np.abs(x - y).sum())

    @classmethod
    def validate(cls, value: str) -> str:
        value = value.strip().lower()
        if not re.fullmatch(f"[0-9a-f]{{{6 * BINS}}}", value):
            raise InvalidSignal(f"not a colour_histogram value ({6 * BINS} hex digits): {value[:80]!r}")
        return value

    @classmethod
    def examples(cls) -> list[Example]:
        return [
            Example(EXAMPLE, lambda: Media(data=gradient_png(), name="gradient.png")),
            Example("ff" + "00" * 7 + "ff" + "00" * 7 + "ff" + "00" * 7),
        ]
