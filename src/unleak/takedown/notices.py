"""The notice record: its statuses, reading one notice or a case's notices, and the helpers the
take-down modules share (the clock, the evidence log, the text's hash).

A notice leaves only after the person confirmed its exact text: confirmation stores the text's
SHA-256, and sending refuses anything that differs from what was confirmed. Every confirmation,
sending and reply goes into the case's hash-chained evidence log.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from unleak.errors import NotFound
from unleak.store import Store
from unleak.store.models import Case, Notice
from unleak.takedown.bases import Missing
from unleak.takedown.hosts import HostKind


class NoticeStatus(StrEnum):
    """Where a notice stands. The values are what the store and the JSON output hold."""

    DRAFT = "draft"
    CONFIRMED = "confirmed"
    SENDING = "sending"  # claimed by one sender, for the moment of sending
    SENT = "sent"
    ACKNOWLEDGED = "acknowledged"
    REMOVED = "removed"
    PARTIALLY_REMOVED = "partially_removed"
    REFUSED = "refused"
    NO_ANSWER = "no_answer"
    ESCALATED = "escalated"
    COUNTER_NOTICE = "counter_notice"  # the uploader answered a DMCA notice under §512(g)


class ItemState(StrEnum):
    """Where one reported URL stands, per the last removal check."""

    REPORTED = "reported"
    UP = "up"
    GONE = "gone"


STATUSES = tuple(st for st in NoticeStatus if st is not NoticeStatus.SENDING)
# What a host may answer (or the person may record) once a notice was sent.
REPLY_STATUSES = tuple(
    NoticeStatus(x)
    for x in ("acknowledged", "removed", "partially_removed", "refused", "no_answer", "escalated", "counter_notice")
)
# Sent and not yet settled: removal checks run and deadlines count.
AWAITING = frozenset(
    NoticeStatus(x) for x in ("sent", "acknowledged", "partially_removed", "no_answer", "escalated", "counter_notice")
)
CLOSED = frozenset({NoticeStatus.REMOVED, NoticeStatus.REFUSED})
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


DMCA_PRIVACY_WARNING = (
    "A DMCA notice is usually forwarded to the uploader and published, with your name and contact details, in "
    "the Lumen database (lumendatabase.org). Consider a contact for notices instead of your own address and "
    "phone (an agent, a lawyer, a helpline, a fresh email address): `unleak claimant set --notice-contact ...`."
)


TAKE_IT_DOWN_COVERED = (
    "The TAKE IT DOWN Act binds only covered platforms (§4(3)): public websites and apps that primarily "
    "host user-generated content, not email services or internet providers. Check that {host} is one; "
    "otherwise use --basis ncii-policy."
)


def review_note(host_kind: str, host_name: str, basis: str = "", lang: str = "") -> str:
    """What the person must check themselves before confirming; shown at review, never sent.
    Delisting requests are drafted for every default engine, unchecked: see draft_notices.
    A DMCA notice carries the warning that it reaches the uploader and Lumen."""
    notes = [SEARCH_REVIEW_NOTE.format(engine=host_name)] if host_kind == HostKind.SEARCH else []
    if basis in ("dmca", "dmca-512d"):
        notes.append(DMCA_PRIVACY_WARNING)
    if basis == "take-it-down":
        notes.append(TAKE_IT_DOWN_COVERED.format(host=host_name))
    if lang and lang != "en":
        from unleak.takedown.languages import unconfirmed_note

        note = unconfirmed_note(basis, lang)
        if note:
            notes.append(note)
    return " ".join(notes)


def content_hash(subject: str, body: str, recipient: dict) -> str:
    data = json.dumps(
        {"subject": subject, "body": body, "channel": recipient.get("channel"), "to": recipient.get("address")},
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class NoticeItemView:
    id: int
    url: str
    state: ItemState
    removed_at: datetime | None
    removal_reason: str
    sighting_id: int | None


@dataclass(frozen=True)
class NoticeEventView:
    at: datetime
    kind: str
    detail: dict[str, Any]


@dataclass(frozen=True)
class NoticeView:
    """One notice as the person reviews it: text, recipient, status, deadline, URLs and history."""

    id: int
    case_id: int
    host: str
    host_name: str
    host_kind: str
    basis: str
    channel: str
    recipient: str
    status: NoticeStatus
    subject: str
    body: str
    content_sha256: str
    confirmed: bool  # the current text is the one the person confirmed
    missing: tuple[Missing, ...]
    follows_id: int | None
    review_note: str  # what to check before confirming; never part of the text sent
    message_id: str | None
    message_sha256: str | None
    created_at: datetime | None
    confirmed_at: datetime | None
    sent_at: datetime | None
    deadline_at: datetime | None
    deadline_kind: str
    acknowledged_at: datetime | None
    closed_at: datetime | None
    items: tuple[NoticeItemView, ...]
    events: tuple[NoticeEventView, ...]
    recipient_source: str = ""  # where the recipient came from: directory, given, security.txt, page, rdap...
    recipient_party: str = ""  # the kind of party it reaches: platform, hosting_provider, registrar, cdn, ...
    found_contacts: tuple[dict, ...] = ()  # offered, used only when the person chooses one
    counter_notice: dict | None = None  # §512(g): received_at, restore_from, restore_by (ISO times)
    basis_reason: str = ""  # why this basis was chosen (shown at review, never sent)

    @classmethod
    def of(cls, n: Notice) -> NoticeView:
        return cls(
            id=n.id,
            case_id=n.case_id,
            host=n.host,
            host_name=n.host_name,
            host_kind=n.host_kind,
            basis=n.basis,
            channel=n.channel,
            recipient=n.recipient,
            status=NoticeStatus(n.status),
            subject=n.subject,
            body=n.body,
            content_sha256=n.content_sha256,
            confirmed=n.confirmed_sha256 is not None and n.confirmed_sha256 == n.content_sha256,
            missing=tuple(Missing.from_json(m) for m in (n.fields or {}).get("missing", [])),
            follows_id=n.follows_id,
            review_note=review_note(n.host_kind, n.host_name or n.host, n.basis, (n.fields or {}).get("lang", "")),
            recipient_source=((n.fields or {}).get("recipient") or {}).get("source", ""),
            recipient_party=((n.fields or {}).get("recipient") or {}).get("party", "")
            or ("search_engine" if n.host_kind == HostKind.SEARCH else "platform"),
            found_contacts=tuple((n.fields or {}).get("found_contacts") or ()),
            counter_notice=(n.fields or {}).get("counter_notice"),
            basis_reason=(n.fields or {}).get("basis_reason", ""),
            message_id=n.message_id,
            message_sha256=n.message_sha256,
            created_at=n.created_at,
            confirmed_at=n.confirmed_at,
            sent_at=n.sent_at,
            deadline_at=n.deadline_at,
            deadline_kind=n.deadline_kind,
            acknowledged_at=n.acknowledged_at,
            closed_at=n.closed_at,
            items=tuple(
                NoticeItemView(i.id, i.url, ItemState(i.state), i.removed_at, i.removal_reason, i.sighting_id)
                for i in n.items
            ),
            events=tuple(NoticeEventView(e.at, e.kind, e.detail) for e in n.events),
        )

    def to_json(self) -> dict[str, Any]:
        """The `notice show --json` record. Times stay datetimes: the CLI's encoder writes them."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["missing"] = [m.to_json() for m in self.missing]
        out["items"] = [{f.name: getattr(i, f.name) for f in dataclasses.fields(i)} for i in self.items]
        out["events"] = [{f.name: getattr(e, f.name) for f in dataclasses.fields(e)} for e in self.events]
        out["found_contacts"] = list(self.found_contacts)
        return out


def get_notice(store: Store, notice_id: int) -> NoticeView:
    with store.session() as s:
        return NoticeView.of(_notice(s, notice_id))


@dataclass(frozen=True)
class StatusRow:
    id: int
    host: str
    basis: str
    status: NoticeStatus
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
                    NoticeStatus(n.status),
                    n.sent_at,
                    n.deadline_at,
                    n.deadline_kind,
                    overdue,
                    len(n.items),
                    sum(1 for i in n.items if i.state == ItemState.GONE),
                    n.follows_id,
                )
            )
    far = datetime.max.replace(tzinfo=UTC)
    rows.sort(key=lambda r: (not r.overdue, r.status in CLOSED, r.deadline_at or far, r.id))
    return rows
