"""PDQ, Meta's perceptual image hash, through `pdqhash` (the reference C++), hex as threatexchange writes it."""

from __future__ import annotations

import re

import numpy as np
import pdqhash

from unleak.media.sniff import MediaKind
from unleak.signals.base import Signal, SignalType
from unleak.signals.media import Media

# Fast mode: decode JPEG at a reduced DCT scale and hash at most this many pixels on the long side.
# PDQ reduces every image to 64x64 anyway; see bench/hash_throughput.py for the agreement this keeps.
FAST_DECODE_SIDE = 512
FAST_HASH_SIDE = 256

MIN_QUALITY = 50  # below this, PDQ hashes of flat images are unreliable (Meta's guidance)


def bits_to_hex(bits: np.ndarray) -> str:
    """256 0/1 values, most significant first, to 64 lower-case hex digits (threatexchange's form)."""
    return np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes().hex()


def hex_to_bytes(value: str) -> bytes:
    return bytes.fromhex(value)


_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


def hamming(a: str, b: str) -> int:
    x = np.frombuffer(bytes.fromhex(a), np.uint8) ^ np.frombuffer(bytes.fromhex(b), np.uint8)
    return int(_POPCOUNT[x].sum())


def hash_pixels(pixels: np.ndarray) -> tuple[str, int]:
    """PDQ of an H x W x 3 uint8 array: (hex, quality). Bit-identical to the reference."""
    bits, quality = pdqhash.compute(np.ascontiguousarray(pixels))
    return bits_to_hex(bits), int(quality)


def hash_pixels_dihedral(pixels: np.ndarray) -> tuple[list[str], int]:
    """PDQ of the 8 rotations and flips of the image, computed in one pass: (8 hex values, quality).

    The order is pdqhash's: original, rot90, rot180, rot270, flipX, flipY, flipPlus1, flipMinus1.
    """
    vectors, quality = pdqhash.compute_dihedral(np.ascontiguousarray(pixels))
    return [bits_to_hex(v) for v in vectors], int(quality)


def fast_pixels(media: Media) -> np.ndarray:
    """Pixels for fast mode: JPEG decoded at 1/2..1/8 scale, then box-reduced to FAST_HASH_SIDE."""
    from PIL import Image

    image = media.image(draft_size=(FAST_DECODE_SIDE, FAST_DECODE_SIDE))
    if image.mode not in ("L", "RGB"):
        image = image.convert("RGB")
    long_side = max(image.size)
    if long_side > FAST_HASH_SIDE:
        factor = long_side / FAST_HASH_SIDE
        size = (max(1, round(image.width / factor)), max(1, round(image.height / factor)))
        image = image.resize(size, Image.Resampling.BOX)
    array = np.asarray(image)
    if array.ndim == 2:
        array = np.repeat(array[..., np.newaxis], 3, axis=2)
    return array


class PdqSignal(SignalType):
    name = "pdq"
    media = frozenset({MediaKind.IMAGE})
    threshold = 31  # PDQ_CONFIDENT_MATCH_THRESHOLD, as in HMA and StopNCII

    @classmethod
    def compute(cls, media: Media, *, fast: bool = False) -> Signal:
        hex_value, quality = hash_pixels(fast_pixels(media) if fast else media.pixels())
        return Signal(cls.name, hex_value, quality)

    @classmethod
    def distance(cls, a: str, b: str) -> int:
        return hamming(a, b)

    @classmethod
    def validate(cls, value: str) -> str:
        value = value.strip().lower()
        if not re.fullmatch(r"[0-9a-f]{64}", value):
            raise ValueError(f"not a PDQ hash (64 hex digits): {value[:80]!r}")
        return value
