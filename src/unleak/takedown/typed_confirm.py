"""Confirming a notice by typing one's name as it appears in its signature (the app's confirm step).

Interim: the notices work makes this rule a library function of its own; until it lands, the app
calls `confirm_notice_typed`, which checks the typed name and then calls `confirm_notice`.
"""

from __future__ import annotations

from unleak.errors import InvalidInput
from unleak.store import Store
from unleak.store.models import Notice
from unleak.takedown.drafting import confirm_notice
from unleak.takedown.notices import NoticeView, _notice


def signature_name(signature: str) -> str:
    """The name in a typed signature: "/Alex Doe/" -> "Alex Doe"."""
    return " ".join(signature.strip().strip("/").split())


def check_typed_name(signature: str, typed: str) -> None:
    """Refuse unless `typed` is the signature's name exactly (spaces at the ends and runs of spaces aside)."""
    expected = signature_name(signature)
    if not expected:
        raise InvalidInput("this notice has no signature yet", hint="set the claimant's name first")
    if " ".join(typed.split()) != expected:
        raise InvalidInput(
            "the name you typed is not the name in the signature",
            hint="type your name exactly as it appears in the signature at the end of the notice",
        )


def confirm_notice_typed(store: Store, notice_id: int, typed_name: str, *, expected_sha256: str) -> NoticeView:
    """Confirm notice `notice_id` if `typed_name` is the name in its signature and its text is still
    the one with `expected_sha256` (the text that was shown)."""
    with store.session() as s:
        n: Notice = _notice(s, notice_id)
        signature = str((n.fields or {}).get("claimant", {}).get("signature") or "")
    check_typed_name(signature, typed_name)
    return confirm_notice(store, notice_id, expected_sha256=expected_sha256)
