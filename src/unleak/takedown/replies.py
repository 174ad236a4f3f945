"""A host's answers to a sent notice (acknowledged, removed, refused, ...) and escalations: each
moves the notice to a new status and goes into the evidence log.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from unleak.errors import UnleakError
from unleak.store import Store
from unleak.store.models import NoticeEvent
from unleak.takedown.notices import CLOSED, REPLY_STATUSES, _log, _notice, _now, notice_json


def record_reply(store: Store, notice_id: int, status: str, text: str = "", *, at: datetime | None = None) -> dict:
    """Record the host's answer (or an escalation) and move the notice to `status`."""
    at = _now(at)
    status = status.replace("-", "_").replace(" ", "_")
    if status not in REPLY_STATUSES:
        raise UnleakError(f"unknown status {status!r}", hint="one of: " + ", ".join(REPLY_STATUSES))
    with store.session() as s:
        notice = _notice(s, notice_id)
        if notice.sent_at is None:
            raise UnleakError(f"notice #{notice_id} has not been sent", hint="only a sent notice can have a reply")
        previous = notice.status
        notice.status = status
        if status in ("acknowledged", "removed", "partially_removed", "refused") and notice.acknowledged_at is None:
            notice.acknowledged_at = at
        if status in CLOSED:
            notice.closed_at = at
        text_sha = hashlib.sha256(text.encode("utf-8")).hexdigest() if text else None
        s.add(
            NoticeEvent(
                notice_id=notice.id,
                at=at,
                kind="reply",
                detail={"status": status, "previous": previous, "text": text, "text_sha256": text_sha},
            )
        )
        _log(
            s,
            notice.case_id,
            "notice.reply",
            {"notice_id": notice.id, "status": status, "previous": previous, "at": at, "text_sha256": text_sha},
        )
        return notice_json(notice)
