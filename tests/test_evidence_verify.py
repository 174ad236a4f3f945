"""Verify names the first bad WARC record: a changed byte anywhere in a capture's WARC file is traced
to the record (gzip member) that holds it, and a record re-compressed after an edit fails its digest."""

from __future__ import annotations

import zlib
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from test_scan_e2e import _gzip_members
from unleak.evidence.capture import LocalFile, build_warc
from unleak.evidence.verify import _check_warc


def _warc(tmp_path: Path) -> tuple[Path, bytes, list[int]]:
    body = bytes(range(256)) * 8
    data, _ids = build_warc(LocalFile("file:///photos/leak.jpg", body), None, {"sighting_id": 1, "note": "é"})
    path = tmp_path / "c.warc.gz"
    path.write_bytes(data)
    return path, data, _gzip_members(data)


def test_every_flipped_byte_names_its_record(tmp_path):
    path, data, starts = _warc(tmp_path)
    assert _check_warc(path) == (None, 3, _check_warc(path)[2]) and len(starts) == 3
    for offset in range(len(data)):
        bad = bytearray(data)
        bad[offset] ^= 0x01
        path.write_bytes(bytes(bad))
        problem, _count, _ids = _check_warc(path)
        n = sum(1 for s in starts if s <= offset)
        assert problem and problem.startswith(f"WARC record {n} "), (offset, problem)
        assert f"at byte {starts[n - 1]}:" in problem


def test_a_record_recompressed_after_an_edit_fails_its_digest(tmp_path):
    """An edit that is re-compressed passes gzip's checks (the file's hash still differs): the record's
    WARC-Block-Digest catches it."""
    path, data, starts = _warc(tmp_path)
    member = zlib.decompress(data[starts[1] : starts[2]], 31)
    edited = member.replace(bytes(range(16)), b"x" * 16, 1)
    assert edited != member
    path.write_bytes(data[: starts[1]] + zlib.compress(edited, 9, wbits=31) + data[starts[2] :])
    problem, count, _ids = _check_warc(path)
    assert count == 1 and problem.startswith("WARC record 2 <urn:uuid:") and "digest" in problem, problem


def test_a_named_record_is_read_from_what_survives(tmp_path):
    """Damage late in a record's data: its headers still decompress, so its type and id are named
    when the log names that id."""
    path, data, starts = _warc(tmp_path)
    with open(path, "rb") as fh:
        resource = [r.rec_headers.get_header("WARC-Record-ID") for r in ArchiveIterator(fh)][1]
    bad = bytearray(data)
    bad[starts[2] - 12] ^= 0x01  # in record 2's compressed data, near its end
    path.write_bytes(bytes(bad))
    problem, _count, _ids = _check_warc(path, {resource})
    assert problem.startswith(f"WARC record 2 (resource {resource}) at byte {starts[1]}: its gzip data was altered")
    assert _check_warc(path, set())[0].startswith(f"WARC record 2 at byte {starts[1]}:")  # unknown id: not named
