"""Removal checks over the generated test site: gone (410, removal page, media no longer matching),
still up, could-not-check (never counted as gone), and re-uploads turned into follow-up drafts."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from _site import load_site
from test_notice_fixtures import FACTS, set_claimant

CASE = "verify"
SENT = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def site(samples):
    with load_site().generate_site(samples[:3], samples[10:12]) as s:
        yield s


def media_to_page(site) -> dict[str, str]:
    from unleak.net.html import parse_page

    out = {}
    for page in site.pages:
        route = site.server.route(page.removeprefix(site.server.base))
        for m in parse_page(route.body, page).media:
            out.setdefault(m.url, page)
    return out


def add_site_sightings(store, site, samples, *, case=CASE) -> dict[str, int]:
    """Protect the originals and record a sighting per served copy (as the monitor would)."""
    from unleak.bank import Bank
    from unleak.store.models import BankItem, Sighting, Source

    Bank(store, case).protect(samples[:3])
    pages = media_to_page(site)
    ids = {}
    with store.session() as s:
        c = store.case(s, case)
        src = Source(
            case_id=c.id,
            kind="crawl",
            name="test site",
            config=json.dumps({"targets": [site.start_url]}),
            allow_networks=json.dumps(["127.0.0.1/32"]),
        )
        s.add(src)
        s.flush()
        items = {b.label: b.id for b in s.scalars(select(BankItem).where(BankItem.case_id == c.id))}
        for media, label in site.truth.items():
            sg = Sighting(
                case_id=c.id,
                bank_item_id=items[label],
                source_id=src.id,
                url_key=hashlib.sha256(media.encode()).hexdigest(),
                media_url=media,
                page_url=pages.get(media),
                host="127.0.0.1",
                signal="pdq",
                distance=10,
                media_sha256=hashlib.sha256(site.server.route(media.removeprefix(site.server.base)).body).hexdigest(),
                first_seen=SENT - timedelta(days=1),
                last_seen=SENT - timedelta(days=1),
            )
            s.add(sg)
            s.flush()
            ids[media] = sg.id
    return ids


def fast_policy():
    from unleak.net.fetch import FetchPolicy

    return FetchPolicy(rate=None, retries=0, timeout=10)


def send_all(store, case=CASE, recipient="https://127.0.0.1/report-form") -> list[int]:
    from unleak.takedown.drafting import confirm_notice, draft_notices
    from unleak.takedown.sending import send_notice

    outs = draft_notices(store, answers=FACTS, case=case, search=False, recipients={"127.0.0.1": recipient}, now=SENT)
    for o in outs:
        assert o.missing == [], o.missing
        confirm_notice(store, o.notice_id, typed_name="Alex Doe", now=SENT)
        send_notice(store, o.notice_id, submitted=True, now=SENT)
    return [o.notice_id for o in outs]


def test_removals_recorded_with_reasons_and_times(store, site, samples):
    from unleak.store.models import Notice, RemovalCheck, Sighting
    from unleak.takedown.verify import verify_case

    set_claimant(store, CASE)
    sightings = add_site_sightings(store, site, samples)
    [nid] = send_all(store)
    pages = media_to_page(site)
    m1, m2, m3 = list(site.truth)
    site.take_down(m1, 410)  # media gone: its page now shows a dead image
    site.server.set(
        pages[m2].removeprefix(site.server.base),
        "<html><body><h1>Sorry</h1><p>This post has been removed for violating our rules.</p></body></html>",
    )
    report = verify_case(store, CASE, policy=fast_policy(), now=SENT + timedelta(hours=5))
    states = {c.url: (c.state, c.reason) for c in report.checks}
    assert states[m1] == ("gone", "HTTP 410")
    assert states[pages[m1]][0] == "gone" and "media it shows is gone" in states[pages[m1]][1]
    assert states[pages[m2]][0] == "gone" and "removal page" in states[pages[m2]][1]
    assert states[m2][0] == "up"  # the file itself is still served: not removed
    assert states[m3][0] == "up" and states[pages[m3]][0] == "up"
    assert report.status_changes == [(nid, "sent", "partially_removed")]
    with store.session() as s:
        n = s.get(Notice, nid)
        assert n.status == "partially_removed"
        gone = {i.url: i for i in n.items if i.state == "gone"}
        assert set(gone) == {m1, pages[m1], pages[m2]}
        assert all(i.removed_at == SENT + timedelta(hours=5) for i in gone.values())
        assert s.get(Sighting, sightings[m1]).status == "removed"
        assert s.get(Sighting, sightings[m2]).status == "up"
        assert len(list(s.scalars(select(RemovalCheck)))) == 6

    # Later: the third copy is replaced by an unrelated image, and the second file goes too.
    other = site.server.route(site.distractors[0].removeprefix(site.server.base)).body
    site.server.set(m3.removeprefix(site.server.base), other, "image/jpeg")
    site.take_down(m2, 404)
    report = verify_case(store, CASE, policy=fast_policy(), now=SENT + timedelta(hours=30))
    states = {c.url: (c.state, c.reason) for c in report.checks}
    assert states[m3] == ("gone", "the media here no longer matches the protected item")
    assert states[m2] == ("gone", "HTTP 404")
    with store.session() as s:
        n = s.get(Notice, nid)
        assert n.status == "removed" and n.closed_at == SENT + timedelta(hours=30)
        first = {i.url: i.removed_at for i in n.items}
        assert first[m1] == SENT + timedelta(hours=5)  # the first removal time is kept
        assert all(s.get(Sighting, sid).status == "removed" for sid in sightings.values())


def test_what_cannot_be_checked_is_never_counted_as_gone(store, site, samples):
    from unleak.takedown.verify import Checker

    set_claimant(store, CASE)
    add_site_sightings(store, site, samples)
    checker = Checker(store, CASE, policy=fast_policy())
    try:
        blocked = checker.probe_media(site.disallowed[1], 1, ("127.0.0.1/32",))  # robots.txt forbids it
        assert blocked.state == "error" and "robots.txt" in blocked.reason
        ssrf = checker.probe_media(site.truth and next(iter(site.truth)), 1, ())  # loopback not allowed
        assert ssrf.state == "error" and "refused" in ssrf.reason
        site.server.set("/flaky.jpg", b"busy", status=503)
        flaky = checker.probe_media(site.server.url("/flaky.jpg"), 1, ("127.0.0.1/32",))
        assert flaky.state == "error" and flaky.http_status == 503
    finally:
        checker.close()


def test_overdue_notice_with_nothing_removed_becomes_no_answer(store, site, samples):
    from unleak.store.models import Notice
    from unleak.takedown.notices import notice_status
    from unleak.takedown.verify import verify_case

    set_claimant(store, CASE)
    add_site_sightings(store, site, samples)
    [nid] = send_all(store)
    rows = notice_status(store, CASE, now=SENT + timedelta(hours=49))
    assert rows[0].id == nid and rows[0].overdue
    verify_case(store, CASE, policy=fast_policy(), now=SENT + timedelta(hours=49))
    with store.session() as s:
        assert s.get(Notice, nid).status == "no_answer"


def test_reupload_after_removal_reopens_with_a_follow_up_draft(store, site, samples):
    from unleak.store.models import Notice, Sighting
    from unleak.takedown.verify import verify_case

    set_claimant(store, CASE)
    sightings = add_site_sightings(store, site, samples)
    [nid] = send_all(store)
    m1 = next(iter(site.truth))
    site.take_down(m1, 410)
    verify_case(store, CASE, policy=fast_policy(), now=SENT + timedelta(hours=3))
    label = site.truth[m1]
    page, media = site.add_reupload(label)
    with store.session() as s:  # the monitor finds it again (as a scan would record it)
        old = s.get(Sighting, sightings[m1])
        s.add(
            Sighting(
                case_id=old.case_id,
                bank_item_id=old.bank_item_id,
                source_id=old.source_id,
                url_key=hashlib.sha256(media.encode()).hexdigest(),
                media_url=media,
                page_url=page,
                host="127.0.0.1",
                signal="pdq",
                distance=8,
            )
        )
    report = verify_case(store, CASE, policy=fast_policy(), now=SENT + timedelta(days=3))
    assert len(report.reuploads) == 1
    r = report.reuploads[0]
    assert r.earlier_notice == nid and r.url == page and len(r.followups) == 1
    with store.session() as s:
        follow = s.get(Notice, r.followups[0])
        assert follow.follows_id == nid and follow.status == "draft"
        assert f"notice #{nid}" in follow.body and media in follow.body and m1 in follow.body
        assert s.get(Sighting, r.sighting_id).reupload
        from unleak.evidence.log import records

        actions = [x.action for x in records(s, follow.case_id)]
        assert "reupload.found" in actions and "case.reopened" in actions
    # Running again does not draft it twice.
    again = verify_case(store, CASE, policy=fast_policy(), now=SENT + timedelta(days=3, hours=1))
    assert again.reuploads == []
