"""End to end over the generated site: sightings found by a real scan -> notices drafted and
confirmed -> sent through a real SMTP server on 127.0.0.1 -> the site removes some URLs ->
`unleak verify` records removals and times -> a re-upload on another URL reopens the case with a
follow-up notice citing the first."""

from __future__ import annotations

import email
from email import policy
from pathlib import Path

import pytest

from _site import load_site
from test_notice_fixtures import json_lines, use_smtp_sink

CASE = "e2e"


_lines = json_lines


@pytest.fixture
def env(store, monkeypatch):
    monkeypatch.setenv("UNLEAK_TZ", "America/New_York")
    yield from use_smtp_sink(store, monkeypatch)


def _scan(store):
    from unleak.monitor.scan import ScanOptions, scan
    from unleak.net.fetch import FetchPolicy

    events = []
    scan(store, CASE, options=ScanOptions(policy=FetchPolicy(rate=None), concurrency=2), on_sighting=events.append)
    return events


def test_notices_sent_removals_verified_reupload_reopens(env, cli, samples, tmp_path):
    from unleak.monitor.sources import add_source
    from unleak.monitor.sources.base import SourceOptions

    store, sink = env
    protected = samples[:4]
    with load_site().generate_site(protected, samples[10:13]) as site:
        # Find and document: protect, watch the site, scan.
        assert cli("protect", "--case", CASE, *protected)[0] == 0
        add_source(store, CASE, "crawl", [site.start_url], SourceOptions(depth=2, allow_networks=["127.0.0.1/32"]))
        found = _scan(store)
        assert {e.media_url for e in found} == set(site.truth)

        # Who signs, and where this host takes notices.
        assert (
            cli(
                "claimant",
                "set",
                "--case",
                CASE,
                "--name",
                "Alex Doe",
                "--email",
                "alex@example.org",
                "--address",
                "1 Main Street; Springfield",
                "--role",
                "depicted_person",
            )[0]
            == 0
        )
        assert (
            cli(
                "hosts",
                "add",
                "gallery",
                "--name",
                "The Gallery",
                "--domain",
                "127.0.0.1",
                "--email",
                "abuse@gallery.test",
            )[0]
            == 0
        )

        # Draft: one notice to the host for every sighting, delisting requests to search engines.
        code, out, err = cli(
            "notice", "draft", CASE, "--no-discover", "--set", "intimate=yes", "--set", "sold=no", "--json"
        )
        assert code == 0, err
        drafts = {d["host"]: d for d in _lines(out)}
        assert set(drafts) == {"gallery", "google-search", "bing"}
        host_notice = drafts["gallery"]
        assert host_notice["basis"] == "take-it-down" and host_notice["missing"] == []
        assert set(site.truth) <= set(host_notice["urls"])
        nid = host_notice["notice_id"]

        # Review, confirm, send. Only the confirmed email notice leaves.
        code, out, _ = cli("notice", "show", str(nid))
        assert code == 0 and all(u in out for u in site.truth)
        assert cli("notice", "confirm", str(nid), "--quiet", "--sign", "Alex Doe")[0] == 0
        code, out, err = cli("notice", "send", "--all", "--case", CASE, "--json")
        assert code == 0, err
        [sent] = _lines(out)
        assert sent["notice_id"] == nid and sent["deadline_kind"] in ("statutory", "policy")
        assert len(sink.messages) == 1 and sink.messages[0].rcpt_tos == ["abuse@gallery.test"]
        body = email.message_from_bytes(sink.messages[0].data, policy=policy.default).get_body(("plain",)).get_content()
        assert all(u in body for u in site.truth)

        # The host removes two copies; a third page now shows a removal notice instead.
        removed = list(site.truth)[:2]
        for url in removed:
            site.take_down(url, 410)
        code, out, err = cli("verify", CASE, "--json", "--rate", "0")
        assert code == 0, err
        report = _lines(out)[0]
        states = {c["url"]: c["state"] for c in report["checks"]}
        assert all(states[u] == "gone" for u in removed)
        assert all(states[u] == "up" for u in list(site.truth)[2:])
        assert [c["to"] for c in report["status_changes"]] == ["partially_removed"]
        code, out, _ = cli("notice", "show", str(nid), "--json")
        shown = _lines(out)[0]
        items = {i["url"]: i for i in shown["items"]}
        for u in removed:
            assert items[u]["state"] == "gone" and items[u]["removed_at"] >= shown["sent_at"]

        code, out, _ = cli("report", CASE, "--json", "--chart", tmp_path / "removals.png")
        rep = _lines(out)[0]
        gallery = next(r for r in rep["by_host_basis"] if r["host"] == "The Gallery")
        assert gallery["notices_sent"] == 1 and gallery["urls_removed"] >= 2 and gallery["median_hours"] is not None
        assert Path(rep["chart"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

        # A removed copy comes back at another URL: the scan finds it, verify reopens the case.
        label = site.truth[removed[0]]
        _page, new_media = site.add_reupload(label)
        again = {e.media_url: e for e in _scan(store)}
        assert again[new_media].new and again[new_media].reupload
        code, out, err = cli("verify", CASE, "--json", "--rate", "0")
        assert code == 0, err
        [reup] = _lines(out)[0]["reuploads"]
        assert reup["earlier_notice"] == nid and len(reup["followups"]) == 1
        follow = reup["followups"][0]
        code, out, _ = cli("notice", "show", str(follow), "--json")
        fshown = _lines(out)[0]
        assert fshown["status"] == "draft" and fshown["follows_id"] == nid
        assert f"notice #{nid}" in fshown["body"] and new_media in fshown["body"] and removed[0] in fshown["body"]

        # The follow-up goes out like any notice: confirmed first, then threaded to the first message.
        assert cli("notice", "confirm", str(follow), "-q", "--sign", "Alex Doe")[0] == 0
        assert cli("notice", "send", str(follow))[0] == 0
        assert len(sink.messages) == 2
        second = email.message_from_bytes(sink.messages[1].data, policy=policy.default)
        first = email.message_from_bytes(sink.messages[0].data, policy=policy.default)
        assert "follow-up to notice" in second["Subject"]
        assert second["References"].strip() == first["Message-ID"].strip()

        code, out, _ = cli("notice", "status", CASE, "--json")
        statuses = {r["id"]: r["status"] for r in _lines(out)}
        assert statuses[nid] == "partially_removed" and statuses[follow] == "sent"

    # Everything is in the case's hash-chained evidence log, and the chain holds.
    from unleak.evidence.log import records, verify_chain
    from unleak.store.models import Case

    with store.session() as s:
        case = s.query(Case).filter_by(name=CASE).one()
        actions = [r.action for r in records(s, case.id)]
        assert verify_chain(s, case.id).ok
    for action in (
        "notice.confirm",
        "notice.send",
        "removal.gone",
        "sighting_removed",
        "reupload.found",
        "case.reopened",
    ):
        assert action in actions, action
    assert actions.count("notice.send") == 2
