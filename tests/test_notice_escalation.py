"""How a notice becomes escalated: a removed copy comes back at the same URL (the removal check
escalates when nothing is gone any more), or the person escalates an overdue notice by hand."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from _site import load_site
from test_notice_fixtures import set_claimant
from test_notice_verify import CASE, SENT, add_site_sightings, fast_policy, send_all


@pytest.fixture
def site(samples):
    with load_site().generate_site(samples[:3], samples[10:12]) as s:
        yield s


def test_copy_back_at_the_same_url_escalates_the_notice(store, site, samples):
    from unleak.evidence.log import records
    from unleak.store.models import Notice, NoticeEvent, Sighting
    from unleak.takedown.verify import verify_case

    set_claimant(store, CASE)
    sightings = add_site_sightings(store, site, samples)
    [nid] = send_all(store)
    m1 = next(iter(site.truth))
    path = m1.removeprefix(site.server.base)
    served = site.server.route(path)
    site.take_down(m1, 410)
    first = verify_case(store, CASE, policy=fast_policy(), now=SENT + timedelta(hours=4))
    assert first.status_changes == [(nid, "sent", "partially_removed")]

    site.server.set(path, served.body, served.content_type)  # the host put it back
    again = verify_case(store, CASE, policy=fast_policy(), now=SENT + timedelta(hours=20))
    assert again.status_changes == [(nid, "partially_removed", "escalated")]
    with store.session() as s:
        n = s.get(Notice, nid)
        assert n.status == "escalated" and n.closed_at is None
        assert all(i.state == "up" and i.removed_at is None for i in n.items)
        kinds = [e.kind for e in s.query(NoticeEvent).filter_by(notice_id=nid)]
        assert "reappeared" in kinds
        assert s.get(Sighting, sightings[m1]).status == "up"
        logged = [json.loads(r.body) for r in records(s, n.case_id)]
        assert "removal.reappeared" in [r["action"] for r in logged]
        [change] = [r["data"] for r in logged if r["action"] == "notice.status" and r["data"]["to"] == "escalated"]
        assert change["notice_id"] == nid and change["from"] == "partially_removed"

    # Escalated is still awaiting the host: the next check that finds it gone records the removal.
    site.take_down(m1, 404)
    third = verify_case(store, CASE, policy=fast_policy(), now=SENT + timedelta(hours=30))
    assert third.status_changes == [(nid, "escalated", "partially_removed")]


def test_overdue_notice_escalated_by_the_person_stays_tracked(store, site, samples):
    from unleak.takedown.notices import notice_status
    from unleak.takedown.replies import record_reply
    from unleak.takedown.verify import verify_case

    set_claimant(store, CASE)
    add_site_sightings(store, site, samples)
    [nid] = send_all(store)
    late = SENT + timedelta(hours=49)  # past the 48 hours
    shown = record_reply(store, nid, "escalated", "Reported to the regulator", at=late)
    assert shown.status == "escalated" and shown.closed_at is None
    [row] = notice_status(store, CASE, now=late)
    assert row.status == "escalated" and row.overdue  # still listed first while nothing is removed
    m1 = next(iter(site.truth))
    site.take_down(m1, 410)
    report = verify_case(store, CASE, policy=fast_policy(), now=late + timedelta(hours=1))
    assert report.status_changes == [(nid, "escalated", "partially_removed")]
