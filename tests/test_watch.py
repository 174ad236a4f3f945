"""`unleak watch` runs the removal checks of `unleak verify` after each scan, over the generated
site; a failing check is reported and the watch goes on; --json keeps one object per sighting plus
one "check": "removal" object per removal check."""

from __future__ import annotations

import json

import pytest

from _site import load_site
from test_notice_fixtures import json_lines, use_smtp_sink

CASE = "watch"


_lines = json_lines


@pytest.fixture
def env(store, monkeypatch):
    yield from use_smtp_sink(store, monkeypatch)


def test_watch_records_the_removal_of_a_reported_url(env, cli, samples):
    from unleak.monitor.scan import ScanOptions, scan
    from unleak.monitor.sources import add_source
    from unleak.monitor.sources.base import SourceOptions
    from unleak.net.fetch import FetchPolicy

    store, sink = env
    protected = samples[:3]
    with load_site().generate_site(protected, samples[10:12]) as site:
        assert cli("protect", "--case", CASE, *protected)[0] == 0
        add_source(store, CASE, "crawl", [site.start_url], SourceOptions(depth=2, allow_networks=["127.0.0.1/32"]))
        scan(store, CASE, options=ScanOptions(policy=FetchPolicy(rate=None), concurrency=2))
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
        code, out, err = cli("notice", "draft", CASE, "--no-search", "--no-discover", "--set", "intimate=yes", "--json")
        assert code == 0, err
        [draft] = _lines(out)
        nid = draft["notice_id"]
        assert cli("notice", "confirm", str(nid), "-q", "--sign", "Alex Doe")[0] == 0
        assert cli("notice", "send", str(nid))[0] == 0 and len(sink.messages) == 1

        gone = next(iter(site.truth))
        site.take_down(gone, 410)
        code, out, err = cli("watch", "--case", CASE, "--times", "2", "--every", "0", "--rate", "0", "--json")
        assert code == 0, err
        lines = _lines(out)
        lines = [x for x in lines if x.get("check") != "summary"]  # one per cycle: what changed
        checks = [x for x in lines if x.get("check") == "removal"]
        assert len(checks) == 2  # one removal check per scan
        assert all("media_url" in x and "check" not in x for x in lines if x not in checks)  # sightings as before
        first = {c["url"]: c["state"] for c in checks[0]["checks"]}
        assert first[gone] == "gone" and list(first.values()).count("up") >= 2
        assert checks[0]["status_changes"] == [{"notice_id": nid, "from": "sent", "to": "partially_removed"}]
        assert checks[1]["status_changes"] == []  # recorded once

        code, out, _ = cli("notice", "show", str(nid), "--json")
        shown = _lines(out)[0]
        item = next(i for i in shown["items"] if i["url"] == gone)
        assert shown["status"] == "partially_removed" and item["state"] == "gone" and item["removed_at"]
        code, out, _ = cli("evidence", "log", "--case", CASE, "--json", "--last", "0")
        actions = [json.loads(x)["record"]["action"] for x in out.splitlines()]
        assert actions.count("removal.gone") >= 1 and actions.count("removal.check") == 2


def test_a_failing_removal_check_does_not_end_the_watch(cli, samples, tmp_path, monkeypatch):
    import unleak.takedown.verify as verify
    from unleak.demo.site import altered_copy
    from unleak.net.guard import FetchError

    calls: list[str | None] = []

    def failing(store, case=None, **kw):
        calls.append(case)
        raise FetchError("http://127.0.0.1:9/x.jpg: ConnectError: refused", reason="connect")

    monkeypatch.setattr(verify, "verify_case", failing)
    (tmp_path / "copy.jpg").write_bytes(altered_copy(samples[0], 0)[1])
    assert cli("protect", "--case", "wf", samples[0])[0] == 0
    assert cli("source", "add", "folder", tmp_path, "--case", "wf")[0] == 0
    code, out, err = cli("watch", "--case", "wf", "--every", "0", "--times", "2", "--json", "--verify", "off")
    assert code == 0, err
    assert calls == ["wf", "wf"]  # checked after each scan, and the second scan still ran
    assert err.count("removal check failed") == 2 and "ConnectError" in err
    assert [e["new"] for e in _lines(out) if "check" not in e] == [True, False]
