"""Sending a confirmed notice by SMTP (or recording that its web form was submitted), and starting
its deadline. Nothing leaves that differs from the text the person confirmed.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import update
from sqlalchemy.engine import CursorResult

from unleak import config
from unleak.errors import UnleakError
from unleak.store import Store
from unleak.store.models import Notice, NoticeEvent
from unleak.takedown.bases import get_basis
from unleak.takedown.hosts import Channel
from unleak.takedown.notices import NoticeStatus, _log, _notice, _now, content_hash


@dataclass(frozen=True)
class SendOutcome:
    """A notice sent (or its web form recorded as submitted), and the deadline that started."""

    notice_id: int
    channel: Channel
    recipient: str
    sent_at: datetime
    deadline_at: datetime | None
    deadline_kind: str
    deadline_rule: str
    message_id: str | None = None
    message_sha256: str | None = None
    eml_path: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The `notice send --json` record (times in ISO 8601)."""
        return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in dataclasses.asdict(self).items()}


def notices_dir(case_id: int) -> Path:
    return config.private_dir(config.home() / "notices" / f"case-{case_id}")


def send_notice(
    store: Store,
    notice_id: int,
    *,
    smtp_settings=None,
    submitted: bool = False,
    attach_pdf: bool = False,
    now: datetime | None = None,
    clock=None,
    submitted_at: datetime | None = None,
) -> SendOutcome:
    """Send a confirmed notice by email, or record that its web form was submitted.

    Refuses a notice that was not confirmed, or whose text differs from what was confirmed.
    The deadline runs from receipt: the time the SMTP server accepted the message, or for a web
    form the time it was submitted (`submitted_at`, when the person records it later; default now).
    """
    from unleak.takedown.deadlines import compute_deadline
    from unleak.takedown.render import build_email, render_pdf
    from unleak.takedown.smtp import load_smtp_settings, message_bytes, send

    with store.session() as s:
        notice = _notice(s, notice_id)
        if notice.status != NoticeStatus.CONFIRMED or not notice.confirmed_sha256:
            raise UnleakError(
                f"notice #{notice_id} has not been confirmed (it is {notice.status}); "
                "a notice is sent only after the person has reviewed and confirmed it",
                hint=f"read it with `unleak notice show {notice_id}`, then `unleak notice confirm {notice_id}`",
            )
        recipient = (notice.fields or {}).get("recipient") or {}
        if content_hash(notice.subject, notice.body, recipient) != notice.confirmed_sha256:
            raise UnleakError(
                f"notice #{notice_id} differs from the text that was confirmed; not sent",
                hint=f"review and confirm it again: `unleak notice confirm {notice_id}`",
            )
        if submitted_at is not None and (notice.channel != Channel.WEBFORM or not submitted):
            raise UnleakError(
                "a submission time is recorded only for a web-form notice sent with --submitted",
                hint="an email notice's time is when the mail server accepted it",
            )
        if notice.channel == Channel.WEBFORM and not submitted:
            raise UnleakError(
                f"{notice.host_name} takes notices through a web form: {notice.recipient}",
                hint=f"paste the fields from `unleak notice show {notice_id} --form`, submit the form, "
                f"then record it with `unleak notice send {notice_id} --submitted`",
            )
        # Claim the notice so two senders cannot both send it.
        claim = update(Notice).where(Notice.id == notice_id, Notice.status == NoticeStatus.CONFIRMED.value)
        # An UPDATE answers with a cursor result, which has the row count.
        claimed = cast("CursorResult[Any]", s.execute(claim.values(status=NoticeStatus.SENDING.value))).rowcount
        s.commit()
        if claimed != 1:
            raise UnleakError(f"notice #{notice_id} is being sent by another process")
        subject, body, to, claimant = notice.subject, notice.body, notice.recipient, notice.fields["claimant"]
        case_id, basis_key, follows_id = notice.case_id, notice.basis, notice.follows_id
        earlier = s.get(Notice, follows_id) if follows_id else None
        references = earlier.message_id if earlier else None
    try:
        message_id = message_sha = eml_path = None
        if notice.channel == Channel.EMAIL:
            settings = smtp_settings or load_smtp_settings()
            when = _now(now) if now else None
            msg = build_email(
                subject=subject,
                body=body,
                to=to,
                claimant=claimant,
                from_addr=settings.from_addr,
                notice_id=notice_id,
                when=when,
                references=references,
                pdf=render_pdf(subject, body) if attach_pdf else None,
            )
            result = send(msg, settings, now=clock)
            sent_at = _now(now) if now else result.accepted_at
            message_id, message_sha = result.message_id, result.sha256
            path = notices_dir(case_id) / f"notice-{notice_id}.eml"
            config.write_private(path, message_bytes(msg))
            eml_path = str(path)
        else:
            sent_at = _now(submitted_at or now)
    except BaseException:
        with store.session() as s:
            s.execute(
                update(Notice)
                .where(Notice.id == notice_id, Notice.status == NoticeStatus.SENDING.value)
                .values(status=NoticeStatus.CONFIRMED.value)
            )
        raise
    deadline = compute_deadline(get_basis(basis_key), sent_at)
    with store.session() as s:
        notice = _notice(s, notice_id)
        notice.status, notice.sent_at = NoticeStatus.SENT.value, sent_at
        notice.message_id, notice.message_sha256 = message_id, message_sha
        notice.deadline_at, notice.deadline_kind = deadline.at, deadline.kind
        detail = {
            "channel": notice.channel,
            "to": notice.recipient,
            "message_id": message_id,
            "message_sha256": message_sha,
            "deadline": deadline.to_json(),
        }
        s.add(NoticeEvent(notice_id=notice.id, at=sent_at, kind="sent", detail=detail))
        _log(
            s,
            case_id,
            "notice.send",
            {
                "notice_id": notice.id,
                "basis": basis_key,
                "host": notice.host,
                "channel": notice.channel,
                "to": notice.recipient,
                "content_sha256": notice.content_sha256,
                "message_id": message_id,
                "message_sha256": message_sha,
                "sent_at": sent_at,
                "deadline_at": deadline.at,
                "deadline_kind": deadline.kind,
                "urls": [it.url for it in notice.items],
            },
        )
    return SendOutcome(
        notice_id,
        Channel(notice.channel),
        notice.recipient,
        sent_at,
        deadline.at,
        deadline.kind,
        deadline.rule,
        message_id,
        message_sha,
        eml_path,
    )
