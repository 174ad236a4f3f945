"""Take it down and keep it down: hosts, legal bases and notices, sending, deadlines, removal checks.

    from unleak.takedown import (set_claimant, draft_notices, confirm_notice, send_notice,
                                 record_reply, notice_status, verify_case, takedown_report)

See docs/takedown.md for the bases, their required elements and the deadlines.
"""

from unleak.takedown.bases import BASES, IncompleteNotice, LegalBasis, NotEntitled, get_basis
from unleak.takedown.deadlines import compute_deadline, format_local
from unleak.takedown.hosts import HostDirectory
from unleak.takedown.notices import (
    confirm_notice,
    draft_notices,
    get_claimant,
    get_notice,
    notice_status,
    record_reply,
    send_notice,
    set_claimant,
    update_notice,
)
from unleak.takedown.report import takedown_report, write_chart
from unleak.takedown.verify import verify_case

__all__ = [
    "BASES",
    "HostDirectory",
    "IncompleteNotice",
    "LegalBasis",
    "NotEntitled",
    "compute_deadline",
    "confirm_notice",
    "draft_notices",
    "format_local",
    "get_basis",
    "get_claimant",
    "get_notice",
    "notice_status",
    "record_reply",
    "send_notice",
    "set_claimant",
    "takedown_report",
    "update_notice",
    "verify_case",
    "write_chart",
]
