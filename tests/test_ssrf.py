"""The SSRF guard refuses before connecting: metadata and private addresses, names that resolve
inside, redirects inside. Nothing is fetched, and the reason is logged."""

from __future__ import annotations

import json
import logging

import pytest

from _site import load_site
from unleak.demo.site import SiteServer
from unleak.net.fetch import Fetcher, FetchPolicy
from unleak.net.guard import Blocked, NetworkPolicy

_site = load_site()
LOOPBACK, RecordingTransport, connections, small_site = (
    _site.LOOPBACK,
    _site.RecordingTransport,
    _site.connections,
    _site.small_site,
)

FAST = FetchPolicy(rate=None, retries=0, timeout=5)


@pytest.mark.parametrize(
    "url, words",
    [
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://10.0.0.1/x.jpg", "private"),
        ("http://[::ffff:10.0.0.1]/x.jpg", "private"),
        ("http://[fd00::1]/", "private"),
        ("http://0.0.0.0/", "not a public"),
        ("http://127.0.0.1/", "loopback"),
        ("http://localhost/", "loopback"),
    ],
)
def test_forbidden_addresses_are_never_contacted(url, words, connections, caplog):
    transport = RecordingTransport()
    refusals = []
    with Fetcher(FAST, transport=transport, on_refusal=lambda u, why: refusals.append((u, why))) as f:
        with caplog.at_level(logging.WARNING, "unleak.monitor"):
            with pytest.raises(Blocked) as exc:
                f.fetch(url)
    assert exc.value.reason == "ssrf"
    assert words in exc.value.message or words in str(exc.value)
    assert transport.hosts == [] and connections == []
    assert refusals and refusals[0][0] == url
    assert any("refused" in r.message and url in r.message for r in caplog.records)


def test_name_resolving_to_loopback_is_refused_without_allowance(connections, caplog):
    transport = RecordingTransport()
    resolved = []

    def resolver(host, port):
        resolved.append(host)
        return ["127.0.0.1"]

    url = "http://innocent-looking.example/photo.jpg"
    with Fetcher(FAST, transport=transport, resolver=resolver) as f:
        with caplog.at_level(logging.WARNING, "unleak.monitor"):
            with pytest.raises(Blocked) as exc:
                f.fetch(url)
    assert "innocent-looking.example resolves to 127.0.0.1" in exc.value.message
    assert resolved == ["innocent-looking.example"] and transport.hosts == [] and connections == []
    assert [r.getMessage() for r in caplog.records if r.name == "unleak.monitor"] == [
        f"refused {url}: refused to connect: innocent-looking.example resolves to 127.0.0.1 is a loopback address"
    ]


def test_name_with_one_private_address_among_public_ones_is_refused(connections):
    with Fetcher(FAST, resolver=lambda h, p: ["93.184.216.34", "10.1.2.3"]) as f:
        with pytest.raises(Blocked):
            f.fetch("http://split-horizon.example/")
    assert connections == []


def test_redirect_to_private_address_is_refused(connections, caplog):
    with SiteServer() as server:
        server.set("/robots.txt", "", "text/plain")
        server.redirect("/go", "http://10.0.0.1/secret.jpg")
        server.redirect("/meta", "http://169.254.169.254/latest/meta-data/", 307)
        transport = RecordingTransport()
        with Fetcher(FAST, network=NetworkPolicy.allowing(LOOPBACK), transport=transport) as f:
            for path in ("/go", "/meta"):
                with caplog.at_level(logging.WARNING, "unleak.monitor"):
                    with pytest.raises(Blocked) as exc:
                        f.fetch(server.url(path))
                assert exc.value.reason == "ssrf"
        assert set(transport.hosts) == {"127.0.0.1"}
        assert {a for a, _p in connections} == {"127.0.0.1"}
        assert server.paths_requested().count("/go") == 1
        assert any(
            "redirected to http://10.0.0.1/secret.jpg" in r.message and "private" in r.message for r in caplog.records
        )


def test_allowed_network_pins_the_checked_address(connections):
    """The connection goes to the address that was checked: a second DNS answer never counts."""
    answers = iter([["127.0.0.1"], ["10.0.0.1"], ["10.0.0.1"], ["10.0.0.1"]])
    calls = []

    def rebinding_resolver(host, port):
        calls.append(host)
        return next(answers)

    with SiteServer() as server:
        server.set("/robots.txt", "", "text/plain")
        server.set("/x", "hello", "text/plain")
        policy = FetchPolicy(rate=None, retries=0, obey_robots=False)
        with Fetcher(policy, network=NetworkPolicy.allowing(LOOPBACK), resolver=rebinding_resolver) as f:
            r = f.fetch(f"http://rebind.example:{server.port}/x")
            assert r.body == b"hello" and r.ip == "127.0.0.1"
            with pytest.raises(Blocked):  # the next lookup answers 10.0.0.1: refused, not connected
                f.fetch(f"http://rebind.example:{server.port}/x")
        host_headers = [h.get("host") for _m, p, h in server.requests if p == "/x"]
        assert host_headers == [f"rebind.example:{server.port}"]
    assert {a for a, _p in connections} == {"127.0.0.1"}


@pytest.mark.parametrize(
    "url",
    ["file:///etc/passwd", "ftp://example.com/x", "gopher://x/", "javascript:alert(1)", "http://user:pw@example.com/"],
)
def test_other_schemes_and_credentials_are_refused(url, connections):
    with Fetcher(FAST) as f:
        with pytest.raises(Blocked):
            f.fetch(url)
    assert connections == []


# --- at scan level: a crawled page of the generated site -----------------------------------


def _scan_refusals(store, case, start_url, allow, resolver, caplog):
    from unleak.bank import Bank
    from unleak.evidence.log import records
    from unleak.monitor.scan import Scanner, ScanOptions
    from unleak.monitor.sources import SourceOptions, add_source

    Bank(store, case, create=True)  # the case exists; its bank is empty (nothing needs to match)
    src = add_source(store, case, "crawl", [start_url], SourceOptions(depth=1, allow_networks=allow))
    with caplog.at_level(logging.WARNING, "unleak.monitor"):
        report = Scanner(store, case, ScanOptions(policy=FAST, verify="off", resolver=resolver)).scan_source(src.id)
    assert report.finished and report.stats["failed"] == 0, report.stats["errors"]
    refused = {r["url"]: r["reason"] for r in report.stats["refusals"]}
    assert report.stats["blocked"] == len(refused)
    logged = {r.getMessage() for r in caplog.records if r.name == "unleak.monitor"}
    assert logged == {f"refused {u}: {why}" for u, why in refused.items()}
    with store.session() as s:
        scan_rec = [r for r in records(s, store.case(s, case).id) if r.action == "scan"][-1]
    assert json.loads(scan_rec.body)["data"]["refusals"] == report.stats["refusals"]
    return refused


def test_scan_of_a_page_pointing_inside_fetches_nothing_there(store, small_site, connections, caplog):
    """Media at 169.254.169.254, 10.0.0.1, ::ffff:192.168.0.1, a name resolving to a private address,
    and redirects on the (allowed) site to private and link-local addresses: all refused, each logged
    with its reason, in the scan's stats and in its evidence-log record."""
    from unleak.demo.site import PRIVATE_NAME

    site = small_site
    before = len(site.server.paths_requested())

    def resolver(host, port):
        assert host == PRIVATE_NAME, host  # every other host is an address: nothing else is looked up
        return ["192.168.7.7"]

    refused = _scan_refusals(store, "inside", site.ssrf_url, LOOPBACK, resolver, caplog)
    expected = {
        "http://169.254.169.254/latest/meta-data/": "refused to connect: 169.254.169.254 is a link-local address",
        "http://10.0.0.1/x.jpg": "refused to connect: 10.0.0.1 is a private address",
        f"http://{PRIVATE_NAME}/x.jpg": f"refused to connect: {PRIVATE_NAME} resolves to 192.168.7.7 is a private address",
        "http://[::ffff:192.168.0.1]/v.mp4": "refused to connect: ::ffff:192.168.0.1 is a private address",
        site.server.url(
            "/media/inside.jpg"
        ): "redirected to http://10.0.0.1/secret.jpg: refused to connect: 10.0.0.1 is a private address",
        site.server.url("/inside.html"): "redirected to http://169.254.169.254/latest/meta-data/: refused to "
        "connect: 169.254.169.254 is a link-local address",
    }
    for url, why in expected.items():
        assert refused.get(url, "").startswith(why), (url, refused.get(url))
    assert set(refused) == set(expected)
    assert {a for a, _p in connections} == {"127.0.0.1"}  # only the site itself
    assert sorted(set(site.server.paths_requested()[before:])) == [
        "/inside.html",
        "/media/inside.jpg",
        "/robots.txt",
        "/ssrf.html",
    ]


def test_scan_of_a_name_resolving_to_loopback_without_allowance(store, small_site, connections, caplog):
    """The generated site's page, reached by a name that resolves to 127.0.0.1, on a source that does
    not allow loopback: refused before any connection, and the reason logged and recorded."""
    before = len(small_site.server.paths_requested())
    url = f"http://gallery.test:{small_site.server.port}/ssrf.html"
    refused = _scan_refusals(store, "noloop", url, [], lambda host, port: ["127.0.0.1"], caplog)
    assert refused == {url: "refused to connect: gallery.test resolves to 127.0.0.1 is a loopback address"}
    assert connections == [] and small_site.server.paths_requested()[before:] == []
