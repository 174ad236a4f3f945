"""Take it down and keep it down: hosts, legal bases and notices, sending, deadlines, removal checks.

    from unleak.takedown import (set_claimant, draft_notices, confirm_notice, send_notice,
                                 record_reply, notice_status, verify_case, takedown_report)

See docs/takedown.md for the bases, their required elements and the deadlines.
"""

from unleak.takedown.bases import BASES, IncompleteNotice, LegalBasis, NotEntitled, get_basis
from unleak.takedown.claimant import get_claimant, set_claimant
from unleak.takedown.deadlines import compute_deadline, format_local
from unleak.takedown.drafting import confirm_notice, draft_notices, update_notice
from unleak.takedown.hosts import HostDirectory
from unleak.takedown.notices import get_notice, notice_status
from unleak.takedown.replies import record_reply
from unleak.takedown.report import takedown_report, write_chart
from unleak.takedown.sending import send_notice
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
