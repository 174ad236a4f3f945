"""The notice record: its statuses, reading one notice or a case's notices, and the helpers the
take-down modules share (the clock, the evidence log, the text's hash).

A notice leaves only after the person confirmed its exact text: confirmation stores the text's
SHA-256, and sending refuses anything that differs from what was confirmed. Every confirmation,
sending and reply goes into the case's hash-chained evidence log.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from unleak.errors import NotFound
from unleak.store import Store
from unleak.store.models import Case, Notice

STATUSES = (
    "draft",
    "confirmed",
    "sent",
    "acknowledged",
    "removed",
    "partially_removed",
    "refused",
    "no_answer",
    "escalated",
)
REPLY_STATUSES = ("acknowledged", "removed", "partially_removed", "refused", "no_answer", "escalated")
AWAITING = frozenset({"sent", "acknowledged", "partially_removed", "no_answer", "escalated"})
CLOSED = frozenset({"removed", "refused"})
SEARCH_REVIEW_NOTE = (
    "unleak has not checked that {engine} shows these URLs in its results (it cannot query "
    "search engines): search for them on {engine} first, and send this request only if it "
    "shows them. Confirming this notice states that you checked."
)


def _now(now: datetime | None) -> datetime:
    when = now or datetime.now(UTC)
    if when.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    return when.astimezone(UTC)


def _log(s: Session, case_id: int, action: str, data: dict) -> None:
    from unleak.evidence.log import append_record

    append_record(s, case_id, action, data)


def _case(store: Store, s: Session, name: str | None) -> Case:
    return store.case(s, name, create=False)


def _notice(s: Session, notice_id: int) -> Notice:
    notice = s.get(Notice, notice_id)
    if notice is None:
        raise NotFound(f"no notice #{notice_id}", hint="see `unleak notice status`")
    return notice


def review_note(host_kind: str, host_name: str) -> str:
    """What the person must check themselves before confirming; shown at review, never sent.
    Delisting requests are drafted for every default engine, unchecked: see draft_notices."""
    return SEARCH_REVIEW_NOTE.format(engine=host_name) if host_kind == "search" else ""


def content_hash(subject: str, body: str, recipient: dict) -> str:
    data = json.dumps(
        {"subject": subject, "body": body, "channel": recipient.get("channel"), "to": recipient.get("address")},
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def get_notice(store: Store, notice_id: int) -> dict:
    with store.session() as s:
        n = _notice(s, notice_id)
        return notice_json(n)


def notice_json(n: Notice) -> dict:
    return {
        "id": n.id,
        "case_id": n.case_id,
        "host": n.host,
        "host_name": n.host_name,
        "host_kind": n.host_kind,
        "basis": n.basis,
        "channel": n.channel,
        "recipient": n.recipient,
        "status": n.status,
        "subject": n.subject,
        "body": n.body,
        "content_sha256": n.content_sha256,
        "confirmed": n.confirmed_sha256 is not None and n.confirmed_sha256 == n.content_sha256,
        "missing": (n.fields or {}).get("missing", []),
        "follows_id": n.follows_id,
        "review_note": review_note(n.host_kind, n.host_name or n.host),
        "message_id": n.message_id,
        "message_sha256": n.message_sha256,
        "created_at": n.created_at,
        "confirmed_at": n.confirmed_at,
        "sent_at": n.sent_at,
        "deadline_at": n.deadline_at,
        "deadline_kind": n.deadline_kind,
        "acknowledged_at": n.acknowledged_at,
        "closed_at": n.closed_at,
        "items": [
            {
                "id": i.id,
                "url": i.url,
                "state": i.state,
                "removed_at": i.removed_at,
                "removal_reason": i.removal_reason,
                "sighting_id": i.sighting_id,
            }
            for i in n.items
        ],
        "events": [{"at": e.at, "kind": e.kind, "detail": e.detail} for e in n.events],
    }


@dataclass
class StatusRow:
    id: int
    host: str
    basis: str
    status: str
    sent_at: datetime | None
    deadline_at: datetime | None
    deadline_kind: str
    overdue: bool
    urls: int
    removed: int
    follows_id: int | None

    def to_json(self) -> dict:
        return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in self.__dict__.items()}


def notice_status(
    store: Store, case: str | None = None, *, now: datetime | None = None, include_closed: bool = True
) -> list[StatusRow]:
    """The case's notices, overdue first (most overdue first), then by deadline, then drafts."""
    now = _now(now)
    rows = []
    with store.session() as s:
        case_row = _case(store, s, case)
        for n in s.scalars(select(Notice).where(Notice.case_id == case_row.id).order_by(Notice.id)):
            if not include_closed and n.status in CLOSED:
                continue
            overdue = bool(n.deadline_at and n.status in AWAITING and n.deadline_at < now)
            rows.append(
                StatusRow(
                    n.id,
                    n.host_name or n.host,
                    n.basis,
                    n.status,
                    n.sent_at,
                    n.deadline_at,
                    n.deadline_kind,
                    overdue,
                    len(n.items),
                    sum(1 for i in n.items if i.state == "gone"),
                    n.follows_id,
                )
            )
    far = datetime.max.replace(tzinfo=UTC)
    rows.sort(key=lambda r: (not r.overdue, r.status in CLOSED, r.deadline_at or far, r.id))
    return rows
