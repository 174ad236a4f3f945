"""Take it down and keep it down: hosts, legal bases and notices, sending, deadlines, removal checks.

    from unleak.takedown import (set_claimant, draft_notices, confirm_notices, send_notice,
                                 record_reply, notice_status, verify_case, takedown_report)

Confirming is one rule for every door (CLI, web app): see unleak.takedown.confirming.

The functions return frozen dataclasses (NoticeView, ClaimantRecord, DraftOutcome, SendOutcome,
StatusRow); each has `to_json()` for the CLI's --json records. Statuses, bases, roles, host kinds
and channels are StrEnums whose values are the strings stored and printed. `group_sightings`
is the pure core of drafting: sightings by host and basis -> notice drafts.

See docs/takedown.md for the bases, their required elements and the deadlines.
"""

from unleak.takedown.bases import BASES, BasisId, IncompleteNotice, LegalBasis, Missing, NotEntitled, Role, get_basis
from unleak.takedown.claimant import ClaimantRecord, get_claimant, set_claimant
from unleak.takedown.confirming import (
    WARNING_512F,
    ConfirmationRefused,
    ConfirmationRequest,
    confirm_notices,
    confirmation_request,
)
from unleak.takedown.deadlines import compute_deadline, format_local
from unleak.takedown.drafting import (
    DraftOutcome,
    NoticeDraft,
    SightingRef,
    choose_found_contact,
    confirm_notice,
    draft_notices,
    group_sightings,
    update_notice,
)
from unleak.takedown.hosts import Channel, HostDirectory, HostKind
from unleak.takedown.notices import ItemState, NoticeStatus, NoticeView, StatusRow, get_notice, notice_status
from unleak.takedown.replies import record_reply
from unleak.takedown.report import takedown_report, write_chart
from unleak.takedown.sending import SendOutcome, send_notice
from unleak.takedown.verify import verify_case

__all__ = [
    "BASES",
    "WARNING_512F",
    "BasisId",
    "Channel",
    "ClaimantRecord",
    "ConfirmationRefused",
    "ConfirmationRequest",
    "DraftOutcome",
    "HostDirectory",
    "HostKind",
    "IncompleteNotice",
    "ItemState",
    "LegalBasis",
    "Missing",
    "NotEntitled",
    "NoticeDraft",
    "NoticeStatus",
    "NoticeView",
    "Role",
    "SendOutcome",
    "SightingRef",
    "StatusRow",
    "choose_found_contact",
    "compute_deadline",
    "confirm_notice",
    "confirm_notices",
    "confirmation_request",
    "draft_notices",
    "format_local",
    "get_basis",
    "get_claimant",
    "get_notice",
    "group_sightings",
    "notice_status",
    "record_reply",
    "send_notice",
    "set_claimant",
    "takedown_report",
    "update_notice",
    "verify_case",
    "write_chart",
]
