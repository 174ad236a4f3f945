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
ANSWERED = frozenset(
    NoticeStatus(x) for x in ("acknowledged", "removed", "partially_removed", "refused", "counter_notice")
)
COUNTER_NOTICE_GUIDANCE = (
    "The uploader sent a counter-notice (17 U.S.C. §512(g)(3)). The host may put the material back "
    "{earliest} at the earliest and must by {latest} (10 to 14 business days after receiving it, "
    "§512(g)(2)(C); public holidays can move these later), unless before then you tell the host that "
    "you have filed an action seeking a court order to restrain the uploader. Talk to a lawyer now if "
    "you mean to go to court; `unleak verify` tells a restored copy from a new upload."
)


def counter_notice_text(view: NoticeView) -> str:
    """What a counter-notice means and what to do, with the window on the user's clock."""
    from unleak.takedown.deadlines import format_local

    window = view.counter_notice or {}
    earliest = datetime.fromisoformat(window["restore_from"]) if window.get("restore_from") else None
    latest = datetime.fromisoformat(window["restore_by"]) if window.get("restore_by") else None
    return COUNTER_NOTICE_GUIDANCE.format(earliest=format_local(earliest), latest=format_local(latest))


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
        window: dict = {}
        if status == NoticeStatus.COUNTER_NOTICE:
            if notice.basis not in ("dmca", "dmca-512d"):
                raise UnleakError(
                    f"notice #{notice_id} is a {notice.basis} notice; a counter-notice answers a DMCA notice "
                    "(17 U.S.C. §512(g))",
                    hint="record the host's answer as refused or acknowledged instead",
                )
            from unleak.takedown.deadlines import counter_notice_window

            earliest, latest = counter_notice_window(at)
            window = {
                "received_at": at.isoformat(),
                "restore_from": earliest.isoformat(),
                "restore_by": latest.isoformat(),
            }
            notice.fields = {**(notice.fields or {}), "counter_notice": window}
            # What the status table counts down to: the first day the host may restore it.
            notice.deadline_at, notice.deadline_kind = earliest, "statutory"
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
                detail={
                    "status": status,
                    "previous": previous,
                    "text": text,
                    "text_sha256": text_sha,
                    **({"window": window} if window else {}),
                },
            )
        )
        _log(
            s,
            notice.case_id,
            "notice.reply",
            {
                "notice_id": notice.id,
                "status": status,
                "previous": previous,
                "at": at,
                "text_sha256": text_sha,
                **({"counter_notice_window": window} if window else {}),
            },
        )
        return NoticeView.of(notice)
