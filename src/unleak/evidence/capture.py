"""Captures: the page and the media of a sighting as WARC records, stored encrypted at rest.

One WARC file (gzip per record, WARC/1.1) per capture: a warcinfo record; request and response
records for the page and for the media (raw bytes as received, headers as received except
Transfer-Encoding, with WARC-IP-Address and a microsecond WARC-Date); a metadata record with the
sighting, the match and the redirects; and a screenshot resource record when one was taken.
Local files are captured as resource records.
"""

from __future__ import annotations

import dataclasses
import io
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from unleak import __version__
from unleak.evidence import crypto
from unleak.evidence.log import append_record, iso_utc, sha256_hex
from unleak.net.fetch import FetchResult
from unleak.store.models import Capture, Case, Sighting


@dataclass
class LocalFile:
    """A file found by a folder source (no HTTP exchange)."""

    url: str  # file:// URI
    body: bytes
    fetched_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    content_type: str = "application/octet-stream"


MINOR_NOTE = "a minor's case: media bytes and screenshots are not kept; hashes, URLs and page text only"


def withhold_body(r: FetchResult | LocalFile) -> Any:
    """The same exchange without its body (hashes are taken before): for a minor's case."""
    if isinstance(r, LocalFile):
        return dataclasses.replace(r, body=b"")
    headers = [(k, v) for k, v in r.headers if k.lower() not in ("content-length", "content-encoding")]
    return dataclasses.replace(r, raw=b"", body=b"", headers=headers)


def _warc_date(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _exchange(writer: WARCWriter, r: FetchResult, ids: dict[str, str], role: str) -> None:
    parts = urlsplit(r.final_url)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    date = _warc_date(r.fetched_at)
    req = writer.create_warc_record(
        r.final_url,
        "request",
        payload=io.BytesIO(b""),
        http_headers=StatusAndHeaders(f"GET {target} HTTP/1.1", list(r.request_headers), is_http_request=True),
        warc_headers_dict={"WARC-Date": date, "WARC-IP-Address": r.ip},
    )
    headers = [(k, v) for k, v in r.headers if k.lower() != "transfer-encoding"]
    if not any(k.lower() == "content-length" for k, _ in headers):
        headers.append(("Content-Length", str(len(r.raw))))
    version = "HTTP/1.1" if r.http_version.upper() in ("HTTP/1.1", "HTTP/2", "HTTP/2.0") else r.http_version
    resp = writer.create_warc_record(
        r.final_url,
        "response",
        payload=io.BytesIO(r.raw),
        http_headers=StatusAndHeaders(f"{r.status} {r.reason}".strip(), headers, protocol=version),
        warc_headers_dict={
            "WARC-Date": date,
            "WARC-IP-Address": r.ip,
            "WARC-Concurrent-To": req.rec_headers.get_header("WARC-Record-ID"),
        },
    )
    _write(writer, req)
    _write(writer, resp)
    ids[f"{role}_request"] = req.rec_headers.get_header("WARC-Record-ID")
    ids[f"{role}_response"] = resp.rec_headers.get_header("WARC-Record-ID")


def _write(writer: WARCWriter, record: Any) -> None:
    """Write one record and close the temporary file warcio buffered its content in."""
    try:
        writer.write_record(record)
    finally:
        stream = getattr(record, "raw_stream", None)
        if stream is not None:
            stream.close()


def build_warc(
    media: FetchResult | LocalFile,
    page: FetchResult | None,
    metadata: dict[str, Any],
    screenshot: bytes | None = None,
    *,
    filename: str = "capture.warc.gz",
) -> tuple[bytes, dict[str, str]]:
    """The WARC file's bytes and the ids of its records."""
    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=True, warc_version="WARC/1.1")
    ids: dict[str, str] = {}
    info = writer.create_warcinfo_record(
        filename,
        {
            "software": f"unleak/{__version__}",
            "format": "WARC File Format 1.1",
            "description": "evidence capture of a sighting of protected media",
        },
    )
    _write(writer, info)
    if page is not None:
        _exchange(writer, page, ids, "page")
    if isinstance(media, LocalFile):
        rec = writer.create_warc_record(
            media.url,
            "resource",
            payload=io.BytesIO(media.body),
            warc_content_type=media.content_type,
            warc_headers_dict={"WARC-Date": _warc_date(media.fetched_at)},
        )
        _write(writer, rec)
        ids["media_resource"] = rec.rec_headers.get_header("WARC-Record-ID")
    elif page is None or media.final_url != page.final_url:
        _exchange(writer, media, ids, "media")
    else:
        ids["media_response"] = ids.get("page_response", "")
    target = ids.get("media_response") or ids.get("media_resource")
    meta = writer.create_warc_record(
        getattr(media, "final_url", media.url),
        "metadata",
        payload=io.BytesIO(json.dumps(metadata, indent=1, sort_keys=True, default=str).encode()),
        warc_content_type="application/json",
        warc_headers_dict={"WARC-Concurrent-To": target} if target else None,
    )
    _write(writer, meta)
    ids["metadata"] = meta.rec_headers.get_header("WARC-Record-ID")
    if screenshot:
        shot = writer.create_warc_record(
            f"urn:screenshot:{page.final_url if page else metadata.get('page_url')}",
            "resource",
            payload=io.BytesIO(screenshot),
            warc_content_type="image/png",
        )
        _write(writer, shot)
        ids["screenshot"] = shot.rec_headers.get_header("WARC-Record-ID")
    return buf.getvalue(), ids


def capture_sighting(
    session: Session,
    sighting: Sighting,
    media: FetchResult | LocalFile,
    page: FetchResult | None,
    *,
    match: dict[str, Any],
    notes: list[str] | None = None,
    screenshot: bytes | None = None,
) -> Capture:
    """Write the sighting's WARC (encrypted at rest), record it, and log it.

    In a minor's case (`Case.minor`) no media bytes are kept: the WARC holds the hashes, the URLs,
    the headers and the page's text only, never the image or video, and no screenshot."""
    now = datetime.now(UTC)
    name = f"{now.strftime('%Y%m%dT%H%M%S')}-s{sighting.id}-{uuid.uuid4().hex[:8]}.warc.gz"
    media_sha = sha256_hex(media.body)
    page_sha = sha256_hex(page.raw) if page is not None else None
    case = session.get(Case, sighting.case_id)
    if case is not None and case.minor:
        media = withhold_body(media)
        if page is not None and page.sniffed != "html" and not page.content_type.startswith("text/"):
            page = withhold_body(page)
        screenshot = None
        notes = [*(notes or []), MINOR_NOTE]
    ip = getattr(media, "ip", None)
    metadata = {
        "sighting_id": sighting.id,
        "bank_id": sighting.bank_item_id,
        "media_url": sighting.media_url,
        "page_url": sighting.page_url,
        "host": sighting.host,
        "uploader": sighting.uploader,
        "posted_at": sighting.posted_at,
        "posted_raw": json.loads(sighting.match or "{}").get("posted_raw"),
        "match": match,
        "captured_at": iso_utc(now),
        "media_ip": ip,
        "page_ip": page.ip if page is not None else None,
        "media_sha256": media_sha,
        "page_body_sha256": page_sha,
        "media_redirects": [h.__dict__ for h in getattr(media, "redirects", [])],
        "page_redirects": [h.__dict__ for h in (page.redirects if page is not None else [])],
        "notes": notes or [],
    }
    warc, ids = build_warc(media, page, metadata, screenshot, filename=name)
    warc_sha = sha256_hex(warc)
    stored = crypto.write_encrypted(sighting.case_id, name, warc)
    details = {
        "record_ids": ids,
        "stored_file": stored.name,
        "stored_sha256": sha256_hex(stored.read_bytes()),
        "media_headers": getattr(media, "headers", []),
        "page_headers": page.headers if page is not None else [],
        "notes": notes or [],
    }
    cap = Capture(
        case_id=sighting.case_id,
        sighting_id=sighting.id,
        captured_at=now,
        warc_name=name,
        warc_sha256=warc_sha,
        page_sha256=page_sha,
        media_sha256=media_sha,
        ip=ip,
        screenshot_sha256=sha256_hex(screenshot) if screenshot else None,
        details=json.dumps(details, default=str),
    )
    session.add(cap)
    session.flush()
    append_record(
        session,
        sighting.case_id,
        "capture",
        {
            "capture_id": cap.id,
            "sighting_id": sighting.id,
            "warc": name,
            "warc_sha256": warc_sha,
            "media_url": sighting.media_url,
            "page_url": sighting.page_url,
            "media_sha256": media_sha,
            "page_sha256": page_sha,
            "ip": ip,
            "captured_at": iso_utc(now),
            "screenshot_sha256": sha256_hex(screenshot) if screenshot else None,
            "record_ids": ids,
        },
    )
    return cap


def read_capture(case_id: int, capture: Capture) -> bytes:
    """The plain WARC of a capture, checked against the SHA-256 recorded when it was taken."""
    from unleak.errors import VerificationError

    data = crypto.read_encrypted(case_id, capture.warc_name)
    if sha256_hex(data) != capture.warc_sha256:
        raise VerificationError(f"capture {capture.warc_name} does not match its recorded SHA-256")
    return data


# A capture file is written (encrypted, then renamed into place) before its row is committed with
# the scan's batch; a scan killed in between leaves a file no row names. Such a file is removed
# by a later scan once it is older than this, which no scan still running takes to commit a batch.
ORPHAN_AGE = timedelta(hours=1)
_SUFFIXES = (".warc.gz.enc", ".warc.gz.enc.tmp")


def remove_orphan_captures(session: Session, case_id: int, *, before: datetime | None = None) -> list[str]:
    """Delete the case's capture files that no capture row names and that were last written
    before `before` (default: an hour ago). A file with a row is never touched. The names removed."""
    folder = _captures_folder(case_id)
    if folder is None:
        return []
    cutoff = (before or datetime.now(UTC) - ORPHAN_AGE).timestamp()
    candidates = []
    for f in folder.iterdir():
        if not f.name.endswith(_SUFFIXES) or f.is_symlink() or not f.is_file():
            continue
        if f.stat().st_mtime < cutoff:
            candidates.append(f)
    if not candidates:
        return []
    # Rows are read after the files: a row committed meanwhile still protects its file.
    known = set(session.scalars(select(Capture.warc_name).where(Capture.case_id == case_id)))
    removed = []
    for f in candidates:
        warc = f.name[: f.name.index(".warc.gz.enc")] + ".warc.gz"
        if warc in known:
            continue
        f.unlink(missing_ok=True)
        removed.append(f.name)
    return removed


def _captures_folder(case_id: int) -> Path | None:
    """The case's capture folder when it exists (None before the first capture)."""
    from unleak import config

    folder = config.home() / "evidence" / str(case_id) / "captures"
    return folder if folder.is_dir() else None
