"""The on-disk layout of an index: a fixed header, then raw arrays to memory-map.

All integers are little-endian. Offsets are from the start of the file.

======  =====================  ==================================================
offset  field                  meaning
======  =====================  ==================================================
0       magic ``8s``           ``b"UNLKHIX\\0"``
8       version ``u32``        1
12      kind ``u32``           0 = brute force (no tables), 1 = multi-index hash
16      n ``u64``              number of items (all live: files are compacted)
24      m ``u32``              number of chunk tables (0: none, search scans)
28      reserved ``u32``       0
32      header_crc ``u32``     CRC-32 of the whole header with this field zeroed
36      reserved ``u32``       0
40      sections               5 x (offset ``u64``, nbytes ``u64``, crc32 ``u32``,
                               reserved ``u32``): ids, hashes, ckpt, rel, slots
160     chunks                 m x (bit offset ``u32``, width ``u32``, block
                               shift ``u32``, reserved ``u32``)
...     zero padding           to ``HEADER_SIZE`` = 4096
======  =====================  ==================================================

Sections, each starting on a 4096-byte boundary:

- ids: ``int64[n]``, strictly increasing: the caller's item ids.
- hashes: ``uint8[n, 32]``: item ``s`` (its *slot*) has id ``ids[s]`` and hash
  ``hashes[s]``.
- ckpt: ``uint32``, per table ``(2**w >> sh) + 1`` entries, tables concatenated.
- rel: ``uint16``, per table ``2**w + 1`` entries, tables concatenated.
- slots: ``uint32[m, n]``.

Chunk ``i`` is bits ``[off_i, off_i + w_i)`` of the hash read as four
little-endian uint64 words (bit ``j`` is bit ``j % 64`` of word ``j // 64``);
chunks are disjoint and need not cover all 256 bits. Table ``i`` lists, for each
``w_i``-bit value ``k`` of chunk ``i``, the slots of the items having it:
``slots[i, start(k) : start(k + 1)]`` with
``start(k) = ckpt[cb_i + (k >> sh_i)] + rel[rb_i + k]`` (``cb_i``, ``rb_i``: the
sums of the earlier tables' lengths in ckpt and rel).

No pickle and no code: loading reads numbers only. Every size is checked against
the header and the file length before anything is mapped, and the CRCs (when
``verify``) catch flipped bits. The search kernels bound every index they read
from a file, so even a crafted file cannot make them read out of bounds.
"""

from __future__ import annotations

import os
import struct
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from unleak.index._segment import Tables
from unleak.index._types import HASH_BITS, IndexFileError, StrPath

MAGIC = b"UNLKHIX\0"
VERSION = 1
HEADER_SIZE = 4096
ALIGN = 4096
KIND_BRUTE = 0
KIND_MIH = 1
_HEAD = struct.Struct("<8sIIQIIII")  # magic, version, kind, n, m, reserved, crc, reserved
_SECTION = struct.Struct("<QQII")
_CHUNK = struct.Struct("<IIII")
_SECTIONS_AT = 40
SECTION_NAMES = ("ids", "hashes", "ckpt", "rel", "slots")
_CHUNKS_AT = _SECTIONS_AT + len(SECTION_NAMES) * _SECTION.size
_CRC_AT = 32
MAX_TABLES = (HEADER_SIZE - _CHUNKS_AT) // _CHUNK.size


@dataclass
class IndexArrays:
    """What a file holds; ``tables`` has m = 0 for the brute-force kind."""

    kind: int
    ids: npt.NDArray[np.int64]
    hashes: npt.NDArray[np.uint8]  # (n, 32)
    tables: Tables


def _crc(a: npt.NDArray[Any]) -> int:
    crc = 0
    flat = a.reshape(-1).view(np.uint8)
    step = 1 << 26
    for lo in range(0, flat.shape[0], step):
        crc = zlib.crc32(flat[lo : lo + step].data, crc)
    return crc


def _align(x: int) -> int:
    return (x + ALIGN - 1) // ALIGN * ALIGN


def write_index(path: StrPath, arr: IndexArrays) -> None:
    """Write atomically: a temporary file in the same folder, then rename."""
    n = int(arr.ids.shape[0])
    t = arr.tables
    m = int(t.chunk_off.shape[0])
    if m > MAX_TABLES:
        raise ValueError(f"at most {MAX_TABLES} tables")
    parts = [
        np.ascontiguousarray(arr.ids, dtype="<i8"),
        np.ascontiguousarray(arr.hashes, dtype=np.uint8).reshape(n, 32),
        np.ascontiguousarray(t.ckpt, dtype="<u4"),
        np.ascontiguousarray(t.rel, dtype="<u2"),
        np.ascontiguousarray(t.slots, dtype="<u4").reshape(m, n),
    ]
    header = bytearray(HEADER_SIZE)
    _HEAD.pack_into(header, 0, MAGIC, VERSION, arr.kind, n, m, 0, 0, 0)
    pos = HEADER_SIZE
    end = HEADER_SIZE
    layout = []
    for i, a in enumerate(parts):
        nbytes = int(a.nbytes)
        _SECTION.pack_into(header, _SECTIONS_AT + i * _SECTION.size, pos, nbytes, _crc(a), 0)
        layout.append((pos, a))
        end = pos + nbytes
        pos = _align(end)
    for i in range(m):
        _CHUNK.pack_into(
            header, _CHUNKS_AT + _CHUNK.size * i, int(t.chunk_off[i]), int(t.chunk_w[i]), int(t.chunk_sh[i]), 0
        )
    struct.pack_into("<I", header, _CRC_AT, zlib.crc32(bytes(header)))
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(header)
            for off, a in layout:
                f.seek(off)
                a.tofile(f)
            f.truncate(end)  # no padding after the last section: a cut file is always short
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def read_index(path: StrPath, mmap: bool = True, verify: bool = True) -> IndexArrays:
    path = Path(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            header = f.read(HEADER_SIZE)
    except OSError as e:
        raise IndexFileError(f"cannot read index file {path}: {e.strerror or e}") from e
    if len(header) < HEADER_SIZE:
        raise IndexFileError(f"{path} is not an unleak index: too short ({size} bytes)")
    magic, version, kind, n, m, _r0, crc, _r1 = _HEAD.unpack_from(header, 0)
    if magic != MAGIC:
        raise IndexFileError(f"{path} is not an unleak index (bad magic number)")
    if version != VERSION:
        raise IndexFileError(
            f"{path} is an index of format version {version}; this unleak reads version {VERSION}",
            hint="Upgrade unleak, or rebuild the index from the bank.",
        )
    zeroed = bytearray(header)
    struct.pack_into("<I", zeroed, _CRC_AT, 0)
    if zlib.crc32(bytes(zeroed)) != crc:
        raise IndexFileError(f"{path}: the index header is corrupt (checksum mismatch)")
    if kind not in (KIND_BRUTE, KIND_MIH) or m > MAX_TABLES or (kind == KIND_BRUTE and m != 0):
        raise IndexFileError(f"{path}: the index header is inconsistent (kind {kind}, {m} tables)")
    if n >= 1 << 32:
        raise IndexFileError(f"{path}: {n} items is more than an index segment holds")
    chunks = [_CHUNK.unpack_from(header, _CHUNKS_AT + _CHUNK.size * i) for i in range(m)]
    at = 0
    for o, w, sh, _ in chunks:
        if o < at or not 1 <= w <= 32 or o + w > HASH_BITS or sh > 10:
            raise IndexFileError(f"{path}: the index's chunk layout is invalid")
        at = o + w
    chunk_off = np.array([c[0] for c in chunks], dtype=np.int64)
    chunk_w = np.array([c[1] for c in chunks], dtype=np.int64)
    chunk_sh = np.array([c[2] for c in chunks], dtype=np.int64)
    n_ckpt = sum(Tables.ckpt_len(int(w), int(sh)) for w, sh in zip(chunk_w, chunk_sh))
    n_rel = sum((1 << int(w)) + 1 for w in chunk_w)
    expect = [n * 8, n * 32, n_ckpt * 4, n_rel * 2, m * n * 4]
    sections = []
    for i, name in enumerate(SECTION_NAMES):
        off, nbytes, scrc, _ = _SECTION.unpack_from(header, _SECTIONS_AT + i * _SECTION.size)
        if nbytes != expect[i] or off % ALIGN or off < HEADER_SIZE:
            raise IndexFileError(f"{path}: the {name} section has the wrong size or place")
        if off + nbytes > size:
            raise IndexFileError(
                f"{path} is truncated: the {name} section ends at byte {off + nbytes}, the file has {size}",
                hint="The file was cut short (disk full or an interrupted copy); copy it again or rebuild it.",
            )
        sections.append((off, nbytes, scrc))
    shapes: list[tuple[int, ...]] = [(n,), (n, 32), (n_ckpt,), (n_rel,), (m, n)]
    dtypes = [np.dtype(t) for t in ("<i8", np.uint8, "<u4", "<u2", "<u4")]
    arrays = []
    for (off, nbytes, scrc), shape, dt, name in zip(sections, shapes, dtypes, SECTION_NAMES):
        if nbytes == 0:
            a = np.zeros(shape, dtype=dt)
        elif mmap:
            a = np.memmap(path, dtype=dt, mode="r", offset=off, shape=shape)
        else:
            with open(path, "rb") as f:
                f.seek(off)
                a = np.fromfile(f, dtype=dt, count=int(np.prod(shape))).reshape(shape)
            if a.nbytes != nbytes:
                raise IndexFileError(f"{path} is truncated in the {name} section")
        if verify and _crc(a) != scrc:
            raise IndexFileError(f"{path}: the {name} section is corrupt (checksum mismatch)")
        arrays.append(a)
    ids = arrays[0]
    if n > 1 and not bool(np.all(ids[1:] > ids[:-1])):
        raise IndexFileError(f"{path}: the index's ids are not strictly increasing")
    return IndexArrays(kind, ids, arrays[1], Tables(chunk_off, chunk_w, chunk_sh, arrays[2], arrays[3], arrays[4]))
