"""DMCA counter-notices (17 U.S.C. §512(g)): the status, the 10-14 business-day restoration window,
removal checks that tell a restored copy from a re-upload; and web-form submission times."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from test_notice_fixtures import FACTS, set_claimant
from test_notice_verify import CASE, SENT, add_site_sightings, fast_policy, site  # noqa: F401 (a fixture)
from unleak.errors import UnleakError
from unleak.takedown.deadlines import add_business_days, counter_notice_window


def _send_dmca(store, *, submitted_at=None) -> int:
    from unleak.takedown.drafting import confirm_notice, draft_notices
    from unleak.takedown.sending import send_notice

    [o] = draft_notices(
        store,
        CASE,
        bases=["dmca"],
        search=False,
        recipients={"127.0.0.1": "https://127.0.0.1/dmca-form"},
        answers=FACTS,
        now=SENT,
    )
    assert o.missing == [], o.missing
    confirm_notice(store, o.notice_id, typed_name="Alex Doe", now=SENT)
    send_notice(store, o.notice_id, submitted=True, now=SENT, submitted_at=submitted_at)
    return o.notice_id


def test_business_days_skip_weekends():
    friday = datetime(2026, 6, 5, 15, 0, tzinfo=UTC)
    assert add_business_days(friday, 1, UTC) == datetime(2026, 6, 8, 15, 0, tzinfo=UTC)  # Monday
    earliest, latest = counter_notice_window(friday, UTC)
    assert earliest == datetime(2026, 6, 19, 15, 0, tzinfo=UTC) and latest == datetime(2026, 6, 25, 15, 0, tzinfo=UTC)


def test_a_restored_copy_after_a_counter_notice_is_reported_as_such(store, site, samples):  # noqa: F811
    from unleak.takedown.notices import get_notice
    from unleak.takedown.replies import counter_notice_text, record_reply
    from unleak.takedown.verify import verify_case

    set_claimant(store, CASE, roles="copyright_owner,depicted_person")
    add_site_sightings(store, site, samples)
    nid = _send_dmca(store)
    m1 = next(iter(site.truth))
    path = m1.removeprefix(site.server.base)
    original = site.server.route(path).body
    site.take_down(m1, 410)
    verify_case(store, CASE, policy=fast_policy(), now=SENT + timedelta(hours=3))
    assert {i.url: i.state for i in get_notice(store, nid).items}[m1] == "gone"

    received = SENT + timedelta(days=1)
    n = record_reply(store, nid, "counter_notice", "Counter-notification from the uploader.", at=received)
    assert n.status == "counter_notice"
    earliest, latest = counter_notice_window(received)
    assert n.counter_notice == {
        "received_at": received.isoformat(),
        "restore_from": earliest.isoformat(),
        "restore_by": latest.isoformat(),
    }
    assert n.deadline_at == earliest  # counted down in `notice status`
    advice = counter_notice_text(n)
    assert "court order" in advice and "10 to 14 business days" in advice

    # The host puts the same file back at the same URL after the window opens.
    site.server.set(path, original, "image/jpeg")
    report = verify_case(store, CASE, policy=fast_policy(), now=earliest + timedelta(hours=2))
    # The file and the page that shows it again, both restored (not early: the window had opened).
    assert m1 in {r.url for r in report.restored} and len(report.restored) == 2
    assert all(r.notice_id == nid and not r.early for r in report.restored)
    assert report.reuploads == []  # not a re-upload: no follow-up notice
    after = get_notice(store, nid)
    assert after.status == "counter_notice" and any(e.kind == "restored" for e in after.events)
    assert m1 in {r["url"] for r in report.to_json()["restored"]}


def test_a_reupload_elsewhere_during_a_counter_notice_is_still_a_reupload(store, site, samples):  # noqa: F811
    from unleak.store.models import Sighting
    from unleak.takedown.replies import record_reply
    from unleak.takedown.verify import verify_case

    set_claimant(store, CASE, roles="copyright_owner,depicted_person")
    sightings = add_site_sightings(store, site, samples)
    nid = _send_dmca(store)
    m1 = next(iter(site.truth))
    site.take_down(m1, 410)
    verify_case(store, CASE, policy=fast_policy(), now=SENT + timedelta(hours=3))
    record_reply(store, nid, "counter_notice", at=SENT + timedelta(days=1))
    page, media = site.add_reupload(site.truth[m1])
    with store.session() as s:
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
    report = verify_case(store, CASE, policy=fast_policy(), now=SENT + timedelta(days=2))
    assert report.restored == [] and [r.url for r in report.reuploads] == [page]


def test_a_counter_notice_answers_only_a_dmca_notice(store, site, samples):  # noqa: F811
    from unleak.takedown.drafting import confirm_notice, draft_notices
    from unleak.takedown.replies import record_reply
    from unleak.takedown.sending import send_notice

    set_claimant(store, CASE)
    add_site_sightings(store, site, samples)
    [o] = draft_notices(
        store, CASE, search=False, recipients={"127.0.0.1": "https://127.0.0.1/f"}, answers=FACTS, now=SENT
    )
    confirm_notice(store, o.notice_id, typed_name="Alex Doe")
    send_notice(store, o.notice_id, submitted=True, now=SENT)
    with pytest.raises(UnleakError, match="counter-notice answers a DMCA notice"):
        record_reply(store, o.notice_id, "counter_notice")


def test_submitted_at_records_when_the_form_was_really_submitted(store, site, samples):  # noqa: F811
    from unleak.takedown.notices import get_notice

    set_claimant(store, CASE, roles="copyright_owner,depicted_person")
    add_site_sightings(store, site, samples)
    when = SENT - timedelta(hours=20)  # submitted yesterday evening, recorded this morning
    nid = _send_dmca(store, submitted_at=when)
    n = get_notice(store, nid)
    assert n.sent_at == when and n.deadline_at == when + timedelta(hours=72)


def test_cli_send_submitted_at(store, cli, monkeypatch):
    from test_notice_fixtures import add_sightings

    monkeypatch.setenv("UNLEAK_DB", store.url)
    monkeypatch.setenv("UNLEAK_TZ", "UTC")
    set_claimant(store, "web")
    add_sightings(store, "web", [("https://forum.example/t/1", "https://forum.example/m/1.jpg")])
    to = ("--to", "forum.example=https://forum.example/report", "--set", "intimate=yes")
    cli("notice", "draft", "web", "--no-search", "--no-discover", *to, "--yes", "--sign", "Alex Doe")
    with pytest.raises(UnleakError, match="use it with --submitted"):
        cli("notice", "send", "1", "--at", "2026-06-01T10:00")
    with pytest.raises(UnleakError, match="in the future"):
        cli("notice", "send", "1", "--submitted", "--at", "2999-01-01T10:00")
    code, out, _ = cli("notice", "send", "1", "--submitted", "--at", "2026-06-01T10:00Z", "--json")
    assert code == 0 and '"sent_at": "2026-06-01T10:00:00+00:00"' in out
