"""Deadlines with fixed clocks: computed in UTC from the send time, across zones and DST changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from unleak.takedown.bases import get_basis
from unleak.takedown.deadlines import add_wall_days, compute_deadline, format_local, format_remaining, parse_period

UTC = UTC
NY = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
BERLIN = ZoneInfo("Europe/Berlin")
TOKYO = ZoneInfo("Asia/Tokyo")


def test_take_it_down_is_48_hours_statutory():
    sent = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    d = compute_deadline(get_basis("take-it-down"), sent, zone=NY, settings={})
    assert d.at == datetime(2026, 6, 3, 12, 0, tzinfo=UTC)
    assert d.kind == "statutory" and "§3(a)(3)" in d.rule


def test_take_it_down_before_the_duty_applies_is_only_an_expectation():
    sent = datetime(2026, 5, 18, 23, 0, tzinfo=UTC)  # the duty applies from 19 May 2026
    d = compute_deadline(get_basis("take-it-down"), sent, zone=NY, settings={})
    assert d.kind == "policy" and d.at == sent + timedelta(hours=48) and "2026-05-19" in d.note


def test_48_hours_across_spring_forward_is_48_elapsed_hours():
    # 01:30 EST on the Saturday before clocks go forward (14 March 2027, 02:00 -> 03:00).
    sent = datetime(2027, 3, 13, 1, 30, tzinfo=NY)
    d = compute_deadline(get_basis("take-it-down"), sent, zone=NY, settings={})
    assert d.at - sent.astimezone(UTC) == timedelta(hours=48)
    local = d.at.astimezone(NY)
    assert (local.day, local.hour, local.minute) == (15, 2, 30)  # the wall clock moved an hour on
    assert format_local(d.at, NY) == "2027-03-15 02:30 EDT (UTC-04:00)"


def test_48_hours_across_autumn_fall_back_in_london():
    sent = datetime(2026, 10, 24, 9, 0, tzinfo=LONDON)  # BST; clocks go back on 25 October 2026
    d = compute_deadline(get_basis("uk-osa"), sent, zone=LONDON, settings={"uk_osa": {"commencement": "2026-06-01"}})
    assert d.kind == "statutory"
    assert d.at == datetime(2026, 10, 26, 8, 0, tzinfo=UTC)
    assert format_local(d.at, LONDON) == "2026-10-26 08:00 GMT (UTC+00:00)"


def test_policy_days_keep_the_wall_clock_across_dst():
    sent = datetime(2026, 3, 25, 9, 0, tzinfo=BERLIN)  # CET; CEST from 29 March
    d = compute_deadline(get_basis("dsa"), sent, zone=BERLIN, settings={})
    assert d.kind == "policy"
    assert d.at.astimezone(BERLIN).replace(tzinfo=None) == datetime(2026, 4, 1, 9, 0)
    assert d.at - sent == timedelta(days=7, hours=-1)  # one hour less actually elapses
    assert d.at == datetime(2026, 4, 1, 7, 0, tzinfo=UTC)


def test_policy_days_depend_on_the_users_zone():
    sent = datetime(2026, 3, 25, 12, 0, tzinfo=UTC)
    in_berlin = compute_deadline(get_basis("dsa"), sent, zone=BERLIN, settings={})
    in_tokyo = compute_deadline(get_basis("dsa"), sent, zone=TOKYO, settings={})  # no DST in Tokyo
    assert in_tokyo.at == sent + timedelta(days=7)
    assert in_berlin.at == sent + timedelta(days=7, hours=-1)


def test_wall_day_landing_in_the_skipped_hour_moves_forward():
    start = datetime(2026, 3, 7, 2, 30, tzinfo=NY)  # 8 March 2026 02:00-03:00 does not exist in New York
    end = add_wall_days(start.astimezone(UTC), 1, NY)
    assert end == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)
    assert end.astimezone(NY).strftime("%H:%M %Z") == "03:30 EDT"


def test_wall_day_landing_in_the_repeated_hour_takes_the_first():
    start = datetime(2026, 10, 31, 1, 30, tzinfo=NY)  # 1 November 2026 01:00-02:00 happens twice
    end = add_wall_days(start.astimezone(UTC), 1, NY)
    assert end == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT, the first 01:30


def test_policy_times_are_configurable_and_statutory_ones_are_not():
    sent = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    settings = {"response_times": {"dmca": "5d", "ncii-policy": "24h", "take-it-down": "96h"}}
    assert compute_deadline(get_basis("dmca"), sent, zone=UTC, settings=settings).at == sent + timedelta(days=5)
    assert compute_deadline(get_basis("ncii-policy"), sent, zone=UTC, settings=settings).at == sent + timedelta(
        hours=24
    )
    tida = compute_deadline(get_basis("take-it-down"), sent, zone=UTC, settings=settings)
    assert tida.at == sent + timedelta(hours=48) and tida.kind == "statutory"


def test_default_policy_times_are_stated():
    sent = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    d = compute_deadline(get_basis("dmca"), sent, zone=UTC, settings={})
    assert d.kind == "policy" and "expeditiously" in d.rule and d.at == sent + timedelta(hours=72)


def test_same_instant_shown_on_each_users_clock():
    at = datetime(2026, 6, 3, 12, 0, tzinfo=UTC)
    assert format_local(at, TOKYO) == "2026-06-03 21:00 JST (UTC+09:00)"
    assert format_local(at, ZoneInfo("America/Los_Angeles")) == "2026-06-03 05:00 PDT (UTC-07:00)"
    assert format_local(at, UTC) == "2026-06-03 12:00 (UTC+00:00)"


def test_remaining_and_overdue():
    now = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    assert format_remaining(now + timedelta(hours=50), now) == "in 2d 2h"
    assert format_remaining(now - timedelta(minutes=90), now) == "overdue by 1h 30m"


def test_naive_send_time_refused():
    with pytest.raises(ValueError):
        compute_deadline(get_basis("dsa"), datetime(2026, 1, 1), zone=UTC, settings={})


def test_periods_parse():
    assert (
        parse_period("72h") == (72.0, None) and parse_period("7d") == (None, 7) and parse_period("36") == (36.0, None)
    )


def test_user_zone_from_environment(monkeypatch):
    from unleak.takedown.deadlines import user_zone

    monkeypatch.setenv("UNLEAK_TZ", "Asia/Tokyo")
    assert str(user_zone({})) == "Asia/Tokyo"
    monkeypatch.setenv("UNLEAK_TZ", "Mars/Olympus")
    from unleak.errors import UnleakError

    with pytest.raises(UnleakError, match="unknown time zone"):
        user_zone({})


def test_status_lists_overdue_first_with_fixed_clock(store):
    """Three notices sent at different times under different bases: at a fixed 'now' the overdue
    ones come first (most overdue first), then the rest by deadline, then drafts."""
    from test_notice_fixtures import FACTS, add_sightings, set_claimant
    from unleak.takedown.drafting import confirm_notice, draft_notices
    from unleak.takedown.notices import notice_status
    from unleak.takedown.sending import send_notice

    set_claimant(store, "dl", roles="depicted_person,copyright_owner")
    add_sightings(
        store,
        "dl",
        [
            ("https://a.example/1", "https://a.example/1.jpg"),
            ("https://b.example/1", "https://b.example/1.jpg"),
            ("https://c.example/1", "https://c.example/1.jpg"),
            ("https://d.example/1", "https://d.example/1.jpg"),
        ],
    )
    to = {h: f"https://{h}/report" for h in ("a.example", "b.example", "c.example", "d.example")}
    t0 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
    plan = {
        "a.example": ("take-it-down", t0),  # due t0+48h
        "b.example": ("dmca", t0 - timedelta(hours=30)),  # due t0+42h (policy 72h)
        "c.example": ("dsa", t0),
    }  # due t0+7d
    ids = {}
    for host, (basis, sent) in plan.items():
        [o] = [
            o
            for o in draft_notices(
                store, answers=FACTS, case="dl", bases=[basis], search=False, recipients=to, now=sent
            )
            if o.host == host
        ]
        confirm_notice(store, o.notice_id, typed_name="Alex Doe", now=sent)
        out = send_notice(store, o.notice_id, submitted=True, now=sent)
        ids[host] = o.notice_id
        assert out.deadline_at is not None
    now = t0 + timedelta(hours=50)
    rows = notice_status(store, "dl", now=now)
    sent_rows = [r for r in rows if r.sent_at]
    assert [r.id for r in sent_rows] == [ids["b.example"], ids["a.example"], ids["c.example"]]
    assert [r.overdue for r in sent_rows] == [True, True, False]
    assert rows[-1].status == "draft" and not rows[-1].overdue
    assert {r.deadline_kind for r in sent_rows} == {"statutory", "policy"}


def test_uk_osa_48_hours_are_statutory_only_from_the_configured_commencement():
    sent = datetime(2026, 10, 24, 9, 0, tzinfo=UTC)
    unset = compute_deadline(get_basis("uk-osa"), sent, settings={})
    assert unset.kind == "policy" and "no commencement date" in unset.note
    before = compute_deadline(get_basis("uk-osa"), sent, settings={"uk_osa": {"commencement": "2027-01-01"}})
    assert before.kind == "policy" and "2027-01-01" in before.note
    after = compute_deadline(get_basis("uk-osa"), sent, settings={"uk_osa": {"commencement": "2026-06-01"}})
    assert after.kind == "statutory" and after.at == sent + timedelta(hours=48)
