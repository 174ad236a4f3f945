"""A host's answers to a sent notice (acknowledged, removed, refused, ...) and escalations: each
moves the notice to a new status and goes into the evidence log.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from unleak.errors import UnleakError
from unleak.store import Store
from unleak.store.models import NoticeEvent
from unleak.takedown.notices import CLOSED, REPLY_STATUSES, NoticeStatus, NoticeView, _log, _notice, _now

# The host answered (as opposed to no answer yet, or an escalation past it).
ANSWERED = frozenset(NoticeStatus(x) for x in ("acknowledged", "removed", "partially_removed", "refused"))


def record_reply(
    store: Store, notice_id: int, status: NoticeStatus | str, text: str = "", *, at: datetime | None = None
) -> NoticeView:
    """Record the host's answer (or an escalation) and move the notice to `status`."""
    at = _now(at)
    given = str(status).replace("-", "_").replace(" ", "_")
    if given not in REPLY_STATUSES:
        raise UnleakError(f"unknown status {given!r}", hint="one of: " + ", ".join(REPLY_STATUSES))
    status = NoticeStatus(given)
    with store.session() as s:
        notice = _notice(s, notice_id)
        if notice.sent_at is None:
            raise UnleakError(f"notice #{notice_id} has not been sent", hint="only a sent notice can have a reply")
        previous = notice.status
        notice.status = status.value
        if status in ANSWERED and notice.acknowledged_at is None:
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
        return NoticeView.of(notice)
