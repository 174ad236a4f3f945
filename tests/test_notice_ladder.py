"""The escalation ladder: the hosting provider (or Cloudflare) after the platform's deadline, then
the registrar, each only when the previous deadline passed, addressed to that party."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from test_notice_fixtures import FACTS, add_sightings, set_claimant
from unleak.errors import UnleakError
from unleak.takedown.hosts import Fetched

SENT = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _rdap(email: str) -> bytes:
    return json.dumps(
        {"entities": [{"roles": ["abuse"], "vcardArray": ["vcard", [["email", {}, "text", email]]]}]}
    ).encode()


def fetch(url: str) -> Fetched:
    if url.startswith("https://rdap.org/ip/"):
        return Fetched(url, 200, "application/rdap+json", _rdap("abuse@hosting.example"), url)
    if url.startswith("https://rdap.org/domain/"):
        return Fetched(url, 200, "application/rdap+json", _rdap("abuse@registrar.example"), url)
    return Fetched(url, 404, error="not found")


def _sent(store, case: str) -> int:
    from unleak.takedown.drafting import confirm_notice, draft_notices
    from unleak.takedown.sending import send_notice

    set_claimant(store, case)
    add_sightings(store, case, [("https://forum.example/t/1", "https://forum.example/m/1.jpg")])
    [o] = draft_notices(
        store, case, search=False, recipients={"forum.example": "https://forum.example/report"}, answers=FACTS
    )
    confirm_notice(store, o.notice_id, typed_name="Alex Doe")
    send_notice(store, o.notice_id, submitted=True, now=SENT)
    return o.notice_id


def test_each_rung_after_the_previous_deadline(store):
    from unleak.store.models import Notice
    from unleak.takedown.escalation import escalate_notice
    from unleak.takedown.notices import get_notice

    nid = _sent(store, "ladder")
    with pytest.raises(UnleakError, match="not overdue"):
        escalate_notice(store, nid, fetch=fetch, resolve=lambda h: ["198.51.100.7"], now=SENT + timedelta(hours=1))
    later = SENT + timedelta(days=3)  # the 48 hours passed with nothing removed
    hosting = escalate_notice(store, nid, fetch=fetch, resolve=lambda h: ["198.51.100.7"], now=later)
    assert hosting.recipient == "abuse@hosting.example" and hosting.recipient_party == "hosting_provider"
    flat = " ".join(hosting.body.split())
    assert "as the hosting provider of the site at forum.example" in flat and "ESCALATION" in flat
    assert "https://forum.example/m/1.jpg" in flat and get_notice(store, nid).status == "escalated"
    # The registrar only once the hosting provider's own deadline passed.
    with pytest.raises(UnleakError, match="has not been sent"):
        escalate_notice(store, nid, fetch=fetch, resolve=lambda h: ["198.51.100.7"], now=later)
    with store.session() as s:  # the hosting provider got it (by mail, as any notice) and let 72 hours pass
        row = s.get(Notice, hosting.id)
        row.status, row.sent_at, row.deadline_at = "sent", later, later + timedelta(hours=72)
    with pytest.raises(UnleakError, match="not overdue"):
        escalate_notice(store, nid, fetch=fetch, resolve=lambda h: ["198.51.100.7"], now=later + timedelta(hours=1))
    registrar = escalate_notice(
        store, nid, fetch=fetch, resolve=lambda h: ["198.51.100.7"], now=later + timedelta(days=4)
    )
    assert registrar.recipient == "abuse@registrar.example" and registrar.recipient_party == "registrar"
    assert "as the registrar of the domain forum.example" in " ".join(registrar.body.split())


def test_cloudflare_is_detected_and_its_form_keeps_the_reporter_private(store):
    from unleak.store.models import Notice
    from unleak.takedown.content import form_fields
    from unleak.takedown.escalation import escalate_notice

    nid = _sent(store, "cf")
    cdn = escalate_notice(store, nid, fetch=fetch, resolve=lambda h: ["104.16.1.1"], now=SENT + timedelta(days=3))
    assert cdn.recipient == "https://abuse.cloudflare.com/" and cdn.recipient_party == "cdn"
    assert "content delivery network in front of the site at forum.example" in " ".join(cdn.body.split())
    with store.session() as s:
        rows = dict(form_fields(s.get(Notice, cdn.id).fields))
    assert rows["Forward my contact details to the website owner?"].startswith("No")


def _overdue(store, notice_id: int, at: datetime) -> None:
    """The rung's notice was sent at `at` and its deadline (72 hours) passed unanswered."""
    from unleak.store.models import Notice

    with store.session() as s:
        row = s.get(Notice, notice_id)
        row.status, row.sent_at, row.deadline_at = "sent", at, at + timedelta(hours=72)


def test_search_engines_are_the_last_rung_for_what_is_still_up(store):
    from unleak.store.models import Notice, NoticeItem
    from unleak.takedown.drafting import confirm_notice, draft_notices
    from unleak.takedown.escalation import escalate
    from unleak.takedown.sending import send_notice

    case = "ladder-search"
    set_claimant(store, case, country="US")
    add_sightings(
        store,
        case,
        [("https://forum.example/t/1", "https://forum.example/m/1.jpg"), ("https://forum.example/t/2", "")],
    )
    [o] = draft_notices(
        store, case, search=False, recipients={"forum.example": "https://forum.example/report"}, answers=FACTS
    )
    confirm_notice(store, o.notice_id, typed_name="Alex Doe")
    send_notice(store, o.notice_id, submitted=True, now=SENT)
    nid = o.notice_id
    with store.session() as s:  # the second page was taken down; the first stays up
        for it in s.get(Notice, nid).items:
            if it.url == "https://forum.example/t/2":
                s.get(NoticeItem, it.id).state = "gone"
    resolve = lambda h: ["198.51.100.7"]  # noqa: E731
    t = SENT + timedelta(days=3)
    [hosting] = escalate(store, nid, fetch=fetch, resolve=resolve, now=t)
    _overdue(store, hosting.id, t)
    [registrar] = escalate(store, nid, fetch=fetch, resolve=resolve, now=t + timedelta(days=4))
    assert registrar.recipient_party == "registrar"
    # Not before the registrar's own deadline has passed.
    with pytest.raises(UnleakError, match="has not been sent"):
        escalate(store, nid, fetch=fetch, resolve=resolve, now=t + timedelta(days=5))
    _overdue(store, registrar.id, t + timedelta(days=4))
    with pytest.raises(UnleakError, match="not overdue"):
        escalate(store, nid, fetch=fetch, resolve=resolve, now=t + timedelta(days=5))
    drafts = escalate(store, nid, fetch=fetch, resolve=resolve, now=t + timedelta(days=9))
    assert {d.host_kind for d in drafts} == {"search"} and len(drafts) >= 2
    assert {d.recipient_party for d in drafts} == {"search_engine"}
    assert {d.basis for d in drafts} == {"search-delisting"}
    names = " ".join(d.host_name for d in drafts)
    assert "Google" in names and "Bing" in names
    for d in drafts:
        flat = " ".join(d.body.split())
        assert "ESCALATION" in flat and "remove it from your search results" in flat
        assert "https://forum.example/t/1" in flat and "https://forum.example/t/2" not in flat
        assert d.status == "draft"  # drafted, not sent: confirmed like any notice
    # The ladder ends there.
    for d in drafts:
        _overdue(store, d.id, t + timedelta(days=9))
    with pytest.raises(UnleakError, match="search engines included"):
        escalate(store, nid, fetch=fetch, resolve=resolve, now=t + timedelta(days=20))
