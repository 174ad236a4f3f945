"""`unleak watch` over many sources: conditional fetches (an unchanged source costs one request, a
304), what changed since the last cycle, a schedule per source, and a daily cap per host."""

from __future__ import annotations

import json

import pytest

from unleak.bank import Bank
from unleak.demo.site import altered_copy
from unleak.demo.watchsite import ConditionalSite
from unleak.evidence.sightings import list_sightings
from unleak.monitor.scan import ScanOptions
from unleak.monitor.sources import SourceOptions, add_source
from unleak.monitor.watch import schedule, watch_cycle
from unleak.net.fetch import FetchPolicy

LOOP = SourceOptions(allow_networks=["127.0.0.1/32"])


def _opts(**kw) -> ScanOptions:
    return ScanOptions(policy=FetchPolicy(rate=None, retries=0), verify="off", concurrency=4, conditional=True, **kw)


def test_an_unchanged_cycle_costs_one_request_per_source_and_a_change_is_found(store, samples):
    Bank(store, "ws").protect(samples[:2])
    with ConditionalSite(6) as site:
        planted = site.plant(2, altered_copy(samples[0], 0, 384)[1])
        for i in range(6):
            add_source(store, "ws", "urls", [site.page_url(i)], LOOP)
        first, _ = watch_cycle(store, "ws", _opts(), 0, first=True)
        assert first.scanned == 6 and first.new_sightings == 1 and len(first.changed) == 6
        [sighting] = list_sightings(store, "ws")
        assert sighting.media_url == planted
        seen_before = sighting.last_seen

        r0, n0, b0 = site.counters()
        second, _ = watch_cycle(store, "ws", _opts(), 0)
        r1, n1, b1 = site.counters()
        assert r1 - r0 == 6 + 1 and n1 - n0 == 6  # one 304 per source, and robots.txt once
        assert b1 - b0 == 0 and second.bytes_saved > 0  # no body came again
        assert second.changed == [] and len(second.unchanged) == 6 and second.new_sightings == 0
        [again] = list_sightings(store, "ws")
        assert again.last_seen > seen_before  # an unchanged copy is still seen, without being fetched

        site.change(4)
        site.plant(5, altered_copy(samples[1], 1, 384)[1])  # the same page, its file replaced
        third, reports = watch_cycle(store, "ws", _opts(), 0)
        assert third.changed == [reports[4].source_id]
        requests = {r.source_id: r.stats["requests"] for r in reports}
        assert requests[reports[4].source_id] == 3  # the page and its new file (200s), its old file (a 304)
        assert requests[reports[3].source_id] == 1  # unchanged: the page's 304 only
        # a file replaced under an unchanged page is found when the bank changes (it is asked again then)
        Bank(store, "ws").protect(samples[2:3])
        watch_cycle(store, "ws", _opts(), 0)
        assert len(list_sightings(store, "ws")) == 2


def test_a_source_on_its_own_schedule_waits_and_the_daily_cap_holds_across_cycles(store, samples):
    Bank(store, "wd").protect(samples[:1])
    with ConditionalSite(3) as site:
        slow = add_source(store, "wd", "urls", [site.page_url(0)], LOOP, every=3600)
        fast = add_source(store, "wd", "urls", [site.page_url(1)], LOOP)
        first, _ = watch_cycle(store, "wd", _opts(daily_cap=4), 0, first=True)
        assert first.scanned == 2
        plan = {d.source_id: d for d in schedule(store, "wd", 0)}
        assert plan[slow.id].due_in > 3500 and plan[fast.id].due_in <= 0
        # robots.txt and three requests per source: the cap of 4 is reached in the first cycle
        assert first.capped >= 1 and site.counters()[0] == 4
        second, reports = watch_cycle(store, "wd", _opts(daily_cap=4), 0)
        assert second.scanned == 1 and [r.source_id for r in reports] == [fast.id]
        assert site.counters()[0] == 4  # nothing more sent today
        assert any("daily cap of 4 requests to 127.0.0.1" in r["reason"] for r in reports[0].stats["refusals"])


def test_watch_cli_prints_what_changed_and_takes_every_and_a_cap(cli, samples):
    with ConditionalSite(2) as site:
        assert cli("protect", "--case", "wc", samples[0])[0] == 0
        for i in range(2):
            code, out, err = cli(
                "source",
                "add",
                "urls",
                site.page_url(i),
                "--case",
                "wc",
                "--allow-network",
                "127.0.0.1/32",
                "--every",
                "2h",
                "--json",
            )
            assert code == 0, err
            assert json.loads(out)["every_seconds"] == 7200
        code, out, err = cli(
            "watch",
            "--case",
            "wc",
            "--every",
            "0",
            "--times",
            "1",
            "--rate",
            "0",
            "--json",
            "--verify",
            "off",
            "--daily-cap",
            "100",
        )
        assert code == 0, err
        [summary] = [json.loads(x) for x in out.splitlines() if '"summary"' in x]
        assert summary["scanned"] == 2 and summary["requests"] == 7 and 0 < summary["next_due_in"] <= 7200
        code, out, err = cli("watch", "--case", "wc", "--every", "0", "--times", "1", "--rate", "0", "--verify", "off")
        assert code == 0 and "0 of 2 source(s) due" in out


@pytest.mark.parametrize("every", ["59s", "400d"])
def test_a_schedule_out_of_range_is_refused(cli, every):
    assert cli("case", "new", "we")[0] == 0
    from unleak.errors import UnleakError

    with pytest.raises(UnleakError, match="out of range"):
        cli("source", "add", "urls", "https://example.com/", "--case", "we", "--every", every)
