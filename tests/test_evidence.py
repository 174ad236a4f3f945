"""Captures: WARC records with IP, headers and hashes; encrypted at rest with a per-case key;
the log stays a single chain under concurrent appends."""

from __future__ import annotations

import io
import os
import stat
import threading

import pytest
from sqlalchemy import select
from warcio.archiveiterator import ArchiveIterator

from unleak.bank import Bank
from unleak.demo.site import generate_site
from unleak.errors import UnleakError
from unleak.evidence import crypto
from unleak.evidence.capture import read_capture
from unleak.evidence.log import append_record, verify_chain
from unleak.monitor.scan import Scanner, ScanOptions
from unleak.monitor.sources import SourceOptions, add_source
from unleak.net.fetch import FetchPolicy
from unleak.store.models import Capture, Sighting


@pytest.fixture
def captured(store, samples):
    with generate_site(samples[:1], []) as site:
        Bank(store, "ev").protect(samples[:1])
        src = add_source(store, "ev", "urls", [site.pages[1]], SourceOptions(allow_networks=["127.0.0.1/32"]))
        Scanner(store, "ev", ScanOptions(policy=FetchPolicy(rate=None), verify="off")).scan_source(src.id)
        media_url = list(site.truth)[0]
        media = site.server.route(media_url.removeprefix(site.server.base)).body
        with store.session() as s:
            cap = s.scalar(select(Capture))
            sighting = s.get(Sighting, cap.sighting_id)
            yield cap, sighting, media, site


def test_capture_is_a_complete_warc(captured):
    cap, sighting, media, _site = captured
    warc = read_capture(cap.case_id, cap)
    records = {}
    for rec in ArchiveIterator(io.BytesIO(warc), check_digests=True):
        body = rec.content_stream().read()
        assert rec.digest_checker.passed is not False
        records.setdefault(rec.rec_type, []).append((rec, body))
    assert set(records) == {"warcinfo", "request", "response", "metadata"}
    responses = {r.rec_headers.get_header("WARC-Target-URI"): (r, b) for r, b in records["response"]}
    rec, body = responses[sighting.media_url]
    assert body == media and rec.rec_headers.get_header("WARC-IP-Address") == "127.0.0.1"
    assert rec.http_headers.get_header("Content-Type") == "image/jpeg"
    assert "Z" in rec.rec_headers.get_header("WARC-Date") and "." in rec.rec_headers.get_header("WARC-Date")
    _page_rec, page_body = responses[sighting.page_url]
    assert b"<img" in page_body
    meta = records["metadata"][0][1].decode()
    assert sighting.media_url in meta and cap.media_sha256 in meta and "@user0" in meta
    assert cap.ip == "127.0.0.1" and len(cap.warc_sha256) == 64 and len(cap.page_sha256) == 64


def test_captures_are_encrypted_at_rest(captured):
    cap, _sighting, media, _site = captured
    folder = crypto.case_folder(cap.case_id)
    key = folder / "case.key"
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    stored = (folder / "captures" / (cap.warc_name + ".enc")).read_bytes()
    assert media[1000:1064] not in stored and b"WARC/1.1" not in stored and b"http://" not in stored
    # altered at rest: refused, and said so
    path = folder / "captures" / (cap.warc_name + ".enc")
    path.write_bytes(stored[:-1] + bytes([stored[-1] ^ 1]))
    with pytest.raises(UnleakError, match="altered"):
        read_capture(cap.case_id, cap)
    # swapped for another file of the same case: the name is bound in, so refused too
    path.write_bytes(crypto.encrypt(cap.case_id, "another.warc.gz", b"x"))
    with pytest.raises(UnleakError):
        read_capture(cap.case_id, cap)


def test_concurrent_appends_keep_one_chain(store):
    with store.session() as s:
        case_id = store.case(s, "busy", create=True).id
    errors = []

    def writer(n: int) -> None:
        try:
            for i in range(15):
                with store.session() as s:
                    append_record(s, case_id, "test", {"writer": n, "i": i})
        except Exception as exc:  # noqa: BLE001 - pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with store.session() as s:
        check = verify_chain(s, case_id)
    assert check.ok and check.count == 46  # the key's introduction, then 3 x 15
