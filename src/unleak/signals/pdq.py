"""PDQ, Meta's perceptual image hash, through `pdqhash` (the reference C++), hex as threatexchange writes it."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import pdqhash

from unleak.errors import MediaError
from unleak.media.image import Image
from unleak.media.sniff import MediaKind
from unleak.signals.base import BankRow, Example, InvalidSignal, Signal, SignalType
from unleak.signals.indexes import PdqBankIndex
from unleak.signals.media import Media
from unleak.signals.samples import sample_media

if TYPE_CHECKING:
    from unleak.signals.pdq_fast import FastImage

# Fast mode (candidates only, never what is protected or exported): JPEGs are decoded as luma at
# 1/2, 1/4 or 1/8 scale, the smallest at which PDQ's tent window (ceil(side / 128) pixels) still
# spans FAST_WINDOW_PIXELS reduced pixels, and hashed by the numba PDQ in pdq_fast, which keeps
# the full-resolution geometry. Other formats are decoded in full and hashed by the same kernel
# (bit-identical to pdqhash on our samples). docs/hashing.md gives the measured agreement.
FAST_WINDOW_PIXELS = 3

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


def fast_image(media: Media) -> FastImage:
    """What fast mode hashes: a JPEG's luma at reduced scale, any other image in full. Cached on `media`."""
    from unleak.signals import pdq_fast  # numba loads on first use: the CLI starts faster

    if media._fast_pixels is not None:
        return media._fast_pixels
    if media.kind is not MediaKind.IMAGE:
        raise MediaError(f"{media.name}: is a video, not an image")
    if media.format == "jpeg":
        image = pdq_fast.decode_jpeg_fast(
            media.source, limits=media.limits, name=media.name, window_pixels=FAST_WINDOW_PIXELS
        )
    else:
        pixels = media.pixels()
        image = pdq_fast.FastImage(pixels, (pixels.shape[1], pixels.shape[0]))
    media._fast_pixels = image
    return image


def fast_hash(media: Media) -> tuple[str, int]:
    """Fast-mode PDQ (hex, quality): for scanning candidates; close to, not always equal to, the exact hash."""
    from unleak.signals import pdq_fast

    return pdq_fast.hash_fast(fast_image(media))


def fast_hash_dihedral(media: Media) -> tuple[list[str], int]:
    """Fast-mode PDQ of the 8 rotations and flips, in `hash_pixels_dihedral`'s order."""
    from unleak.signals import pdq_fast

    return pdq_fast.hash_fast_dihedral(fast_image(media))


def fast_pixels(media: Media) -> np.ndarray:
    """H x W x 3 uint8 pixels fast mode reads (for JPEG: the luma at reduced scale, as grey).

    Kept for callers that hash pixels themselves. Hashing these with `hash_pixels` ignores the
    full-resolution geometry and agrees less well with the exact hash than `fast_hash` and
    `fast_hash_dihedral`, which should be preferred.
    """
    array = fast_image(media).pixels
    if array.ndim == 2:
        array = np.repeat(array[..., np.newaxis], 3, axis=2)
    return array


class PdqSignal(SignalType):
    name = "pdq"
    media = frozenset({MediaKind.IMAGE})
    threshold = 31  # PDQ_CONFIDENT_MATCH_THRESHOLD, as in HMA and StopNCII
    min_quality = MIN_QUALITY
    exchange_names: ClassVar[Mapping[str, str]] = {"image": "pdq", "hash": "pdq"}

    @classmethod
    def compute(cls, media: Media, *, fast: bool = False) -> Signal:
        hex_value, quality = fast_hash(media) if fast else hash_pixels(media.pixels())
        return Signal(cls.name, hex_value, quality)

    @classmethod
    def distance(cls, a: str, b: str) -> int:
        return hamming(a, b)

    @classmethod
    def validate(cls, value: str) -> str:
        value = value.strip().lower()
        if not re.fullmatch(r"[0-9a-f]{64}", value):
            raise InvalidSignal(f"not a PDQ hash (64 hex digits): {value[:80]!r}")
        return value

    @classmethod
    def build_index(cls, rows: Sequence[BankRow]) -> PdqBankIndex:
        """A multi-index Hamming index (unleak.index) over the hashes and their derived variants."""
        return PdqBankIndex(rows, cls.threshold)

    @classmethod
    def examples(cls) -> list[Example]:
        # coffee.png's hash as python-threatexchange's pdq_from_file gives it
        coffee = "8c629e779a663698b9a33866c026726c21a679f61eb6e1f8c79ba7e23c8299e0"
        return [Example(coffee, sample_media, quality=100), Example("f" * 64), Example("0" * 64)]


def te_pixels(image: Image.Image) -> np.ndarray:
    """Pixels exactly as python-threatexchange hands them to PDQ (`pdq_hasher`), for HMA compatibility.

    Unlike `image_to_array` it does not convert palette, CMYK or bilevel images to RGB: it hashes
    their raw arrays as python-threatexchange does, so hashes of such files agree with HMA's (and
    differ from the hash of the picture read correctly).
    """
    if image.mode in ("LA", "I;16"):
        image = image.convert("RGB")
    array = np.asarray(image)
    if array.dtype not in (np.uint8, np.bool_):
        # 32-bit integer ("I") and float ("F") images: pdqhash refuses their arrays, so
        # python-threatexchange gives no hash for them either.
        raise MediaError(f"python-threatexchange reads no PDQ from a {image.mode!r} image")
    if array.ndim == 2:
        array = np.concatenate([array[..., np.newaxis]] * 3, axis=2)
    return array


def hash_te_compatible(media: Media) -> tuple[str, int]:
    """PDQ (hex, quality) bit-identical to python-threatexchange's `PdqSignal.hash_from_bytes`,
    decoded under unleak's size and pixel limits."""
    hex_value, quality = hash_pixels(te_pixels(media.image()))
    return hex_value, quality
