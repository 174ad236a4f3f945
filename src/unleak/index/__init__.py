"""Exact Hamming-radius search over packed 256-bit hashes (PDQ, vPDQ frames).

>>> import numpy as np
>>> from unleak.index import build_index
>>> rng = np.random.default_rng(0)
>>> bank = rng.integers(0, 256, size=(1000, 32), dtype=np.uint8)
>>> index = build_index(np.arange(1000), bank)
>>> hits = index.search(bank[:3], radius=31)
>>> hits.item.tolist(), hits.distance.tolist()
([0, 1, 2], [0, 0, 0])

Hashes are ``(n, 32)`` uint8 arrays holding the bytes of PDQ's 64-hex-digit
string (``bytes.fromhex(h)``), or their ``(n, 4)`` uint64 view. Ids are int64
chosen by the caller (bank signal row ids) and unique within an index.

vPDQ: index each frame hash as its own item, with an id that encodes the video
and the frame, e.g. ``video_row << 20 | frame_number`` (up to a million frames a
video), and decode ``item >> 20`` / ``item & 0xFFFFF`` from the results; remove a
video by removing all its frame ids.

Two implementations share the :class:`HammingIndex` interface:
:class:`MultiIndexHash` (fast, the default) and :class:`BruteForceIndex` (the
reference). Files (``save``/``load``/:func:`open_index`) are a documented binary
layout that memory-maps (see :mod:`unleak.index._format`); no pickle.
"""

from __future__ import annotations

from typing import Any, Literal

from unleak.index import _format
from unleak.index._types import (
    DuplicateIdError,
    HammingIndex,
    IndexFileError,
    SearchResult,
    StrPath,
    as_hashes,
    hashes_from_hex,
    hashes_to_hex,
)
from unleak.index.brute import BruteForceIndex
from unleak.index.mih import MultiIndexHash

__all__ = [
    "BruteForceIndex",
    "DuplicateIdError",
    "HammingIndex",
    "IndexFileError",
    "MultiIndexHash",
    "SearchResult",
    "as_hashes",
    "build_index",
    "hashes_from_hex",
    "hashes_to_hex",
    "open_index",
]

Kind = Literal["mih", "brute"]


def build_index(ids: Any, hashes: Any, kind: Kind = "mih", **options: Any) -> HammingIndex:
    """A new index holding ``hashes`` under ``ids`` (``kind``: "mih" or "brute")."""
    index: HammingIndex
    if kind == "mih":
        index = MultiIndexHash(**options)
    elif kind == "brute":
        index = BruteForceIndex(**options)
    else:
        raise ValueError(f"unknown index kind {kind!r}; use 'mih' or 'brute'")
    index.add(ids, hashes)
    return index


def open_index(path: StrPath, mmap: bool = True, verify: bool = True, **options: Any) -> HammingIndex:
    """Open an index file as the kind it was saved as."""
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError as e:
        raise IndexFileError(f"cannot read index file {path}: {e.strerror or e}") from e
    kind = int.from_bytes(head[12:16], "little") if len(head) == 16 else -1
    if kind == _format.KIND_BRUTE and head[:8] == _format.MAGIC:
        return BruteForceIndex.load(path, mmap=mmap, verify=verify)
    return MultiIndexHash.load(path, mmap=mmap, verify=verify, **options)
