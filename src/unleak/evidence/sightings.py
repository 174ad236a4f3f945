"""Sightings: one per (media URL, protected item) in a case. Seen again: updated. Back after removal:
flagged as a re-upload. Every change is logged in the evidence log."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from unleak.evidence.log import append_record, iso_utc
from unleak.net.urls import url_key
from unleak.store import Store
from unleak.store.models import BankItem, Capture, Sighting


class SightingStatus(StrEnum):
    """Whether a sighting's media is still where it was seen (Sighting.status)."""

    UP = "up"
    REMOVED = "removed"


@dataclass
class SightingChange:
    sighting: Sighting
    new: bool
    reupload: bool  # back after removal, or a new URL for an item whose earlier sighting was removed


def record_sighting(
    session: Session,
    case_id: int,
    *,
    bank_id: int,
    media_url: str,
    page_url: str | None,
    signal: str,
    distance: int,
    match: dict[str, Any] | None = None,
    media_sha256: str | None = None,
    uploader: str | None = None,
    posted_at: str | None = None,
    posted_raw: str | None = None,
    source_id: int | None = None,
    seen_at: datetime | None = None,
) -> SightingChange:
    """Create or update the sighting of `bank_id` at `media_url`, in the caller's transaction.

    `posted_at` is a post time that parsed as one; `posted_raw` is what the page said, kept in the
    sighting's `match` details and in the log (raw, as evidence; neutralised wherever shown)."""
    now = seen_at or datetime.now(UTC)
    key = url_key(media_url)
    existing = session.scalar(
        select(Sighting).where(Sighting.case_id == case_id, Sighting.url_key == key, Sighting.bank_item_id == bank_id)
    )
    if existing is not None:
        existing.last_seen = now
        existing.distance = min(existing.distance, distance)
        existing.uploader = existing.uploader or uploader
        existing.posted_at = existing.posted_at or posted_at
        if posted_raw and not _posted_raw(existing):
            existing.match = json.dumps(
                {**json.loads(existing.match or "{}"), "posted_raw": posted_raw}, sort_keys=True
            )
        if existing.status == SightingStatus.REMOVED:
            existing.status = SightingStatus.UP
            existing.removed_at = None
            existing.reupload = True
            existing.reupload_count += 1
            append_record(
                session,
                case_id,
                "sighting_reappeared",
                {
                    "sighting_id": existing.id,
                    "bank_id": bank_id,
                    "media_url": media_url,
                    "page_url": page_url,
                    "seen_at": iso_utc(now),
                    "times_back": existing.reupload_count,
                    "media_sha256": media_sha256,
                },
            )
            return SightingChange(existing, False, True)
        return SightingChange(existing, False, False)
    # A re-upload: this item was taken down somewhere before (still down, or back since).
    removed_before = list(
        session.scalars(
            select(Sighting.id).where(
                Sighting.case_id == case_id,
                Sighting.bank_item_id == bank_id,
                (Sighting.status == SightingStatus.REMOVED) | (Sighting.reupload_count > 0),
            )
        )
    )
    s = Sighting(
        case_id=case_id,
        bank_item_id=bank_id,
        source_id=source_id,
        url_key=key,
        media_url=media_url,
        page_url=page_url,
        host=(urlsplit(media_url).hostname or "")[:255],
        signal=signal,
        distance=distance,
        match=json.dumps({**(match or {}), **({"posted_raw": posted_raw} if posted_raw else {})}, sort_keys=True),
        media_sha256=media_sha256,
        uploader=uploader,
        posted_at=posted_at,
        first_seen=now,
        last_seen=now,
        reupload=bool(removed_before),
    )
    session.add(s)
    session.flush()
    append_record(
        session,
        case_id,
        "sighting",
        {
            "sighting_id": s.id,
            "bank_id": bank_id,
            "media_url": media_url,
            "page_url": page_url,
            "host": s.host,
            "signal": signal,
            "distance": distance,
            "match": match or {},
            "media_sha256": media_sha256,
            "uploader": uploader,
            "posted_at": posted_at,
            "posted_raw": posted_raw,
            "first_seen": iso_utc(now),
            "source_id": source_id,
            "reupload_of": removed_before,
        },
    )
    return SightingChange(s, True, bool(removed_before))


def _posted_raw(sighting: Sighting) -> str | None:
    """What the page gave as the post time, as it gave it (None when it gave nothing)."""
    try:
        value = json.loads(sighting.match or "{}").get("posted_raw")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


def mark_removed(
    session: Session, sighting: Sighting, *, reason: str, http_status: int | None = None, when: datetime | None = None
) -> bool:
    """Record that a sighting's media is no longer there. False if it was already marked removed."""
    if sighting.status == SightingStatus.REMOVED:
        return False
    when = when or datetime.now(UTC)
    sighting.status = SightingStatus.REMOVED
    sighting.removed_at = when
    append_record(
        session,
        sighting.case_id,
        "sighting_removed",
        {
            "sighting_id": sighting.id,
            "media_url": sighting.media_url,
            "reason": reason,
            "http_status": http_status,
            "removed_at": iso_utc(when),
            "up_since": iso_utc(sighting.first_seen),
        },
    )
    return True


def removed_by_url(
    session: Session, case_id: int, media_url: str, *, reason: str, http_status: int | None = None
) -> list[int]:
    """Mark every live sighting at this media URL removed; the ids marked."""
    marked = []
    for s in session.scalars(
        select(Sighting).where(Sighting.case_id == case_id, Sighting.url_key == url_key(media_url))
    ):
        if mark_removed(session, s, reason=reason, http_status=http_status):
            marked.append(s.id)
    return marked


@dataclass
class SightingView:
    id: int
    bank_id: int
    label: str
    page_url: str | None
    media_url: str
    host: str
    signal: str
    distance: int
    uploader: str | None
    posted_at: str | None
    status: str
    first_seen: datetime
    last_seen: datetime
    removed_at: datetime | None
    reupload: bool
    reupload_count: int
    captures: list[dict[str, Any]]
    posted_raw: str | None = None  # the page's post-time text as it was, whether or not it parsed

    def to_json(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        for k in ("first_seen", "last_seen", "removed_at"):
            d[k] = iso_utc(d[k]) if d[k] else None
        return d


def list_sightings(store: Store, case: str | None, *, status: str | None = None) -> list[SightingView]:
    """The case's sightings with their captures; only those with `status` (up, removed, ...) when given."""
    return page_sightings(store, case, status=status, limit=None)[0]


def page_sightings(
    store: Store,
    case: str | None,
    *,
    status: str | None = None,
    host: str | None = None,
    bank_id: int | None = None,
    reupload: bool | None = None,
    offset: int = 0,
    limit: int | None = 50,
) -> tuple[list[SightingView], int]:
    """One page of the case's sightings (oldest first), filtered by status, host, protected item and
    whether it is a re-upload, and how many match in all. `limit=None` gives them all."""
    with store.session() as s:
        c = store.case(s, case)
        where = [Sighting.case_id == c.id]
        if status:
            where.append(Sighting.status == status)
        if host:
            where.append(Sighting.host == host)
        if bank_id is not None:
            where.append(Sighting.bank_item_id == bank_id)
        if reupload is not None:
            where.append(Sighting.reupload.is_(reupload))
        total = s.scalar(select(func.count()).select_from(Sighting).where(*where)) or 0
        q = (
            select(Sighting, BankItem.label)
            .join(BankItem, BankItem.id == Sighting.bank_item_id)
            .where(*where)
            .order_by(Sighting.id)
        )
        if limit is not None:
            q = q.offset(max(0, offset)).limit(limit)
        rows = list(s.execute(q))
        caps: dict[int, list[dict[str, Any]]] = {}
        capq = select(Capture).where(Capture.case_id == c.id).order_by(Capture.id)
        if limit is not None:
            capq = capq.where(Capture.sighting_id.in_([si.id for si, _ in rows]))
        for cap in s.scalars(capq):
            caps.setdefault(cap.sighting_id, []).append(
                {
                    "capture_id": cap.id,
                    "captured_at": iso_utc(cap.captured_at),
                    "warc": cap.warc_name,
                    "warc_sha256": cap.warc_sha256,
                    "ip": cap.ip,
                }
            )
        views = [
            SightingView(
                si.id,
                si.bank_item_id,
                label,
                si.page_url,
                si.media_url,
                si.host,
                si.signal,
                si.distance,
                si.uploader,
                si.posted_at,
                si.status,
                si.first_seen,
                si.last_seen,
                si.removed_at,
                si.reupload,
                si.reupload_count,
                caps.get(si.id, []),
                posted_raw=_posted_raw(si),
            )
            for si, label in rows
        ]
        return views, total
