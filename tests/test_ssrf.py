"""The SSRF guard refuses before connecting: metadata and private addresses, names that resolve
inside, redirects inside. Nothing is fetched, and the reason is logged."""

from __future__ import annotations

import logging

import pytest

from _site import load_site

_site = load_site()
LOOPBACK, RecordingTransport, connections = _site.LOOPBACK, _site.RecordingTransport, _site.connections
from unleak.monitor.demo_site import SiteServer
from unleak.monitor.fetch import Fetcher, FetchPolicy
from unleak.monitor.guard import Blocked, NetworkPolicy

FAST = FetchPolicy(rate=None, retries=0, timeout=5)


@pytest.mark.parametrize("url, words", [
    ("http://169.254.169.254/latest/meta-data/", "link-local"),
    ("http://10.0.0.1/x.jpg", "private"),
    ("http://[::ffff:10.0.0.1]/x.jpg", "private"),
    ("http://[fd00::1]/", "private"),
    ("http://0.0.0.0/", "not a public"),
    ("http://127.0.0.1/", "loopback"),
    ("http://localhost/", "loopback"),
])
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


def test_name_resolving_to_loopback_is_refused_without_allowance(connections):
    transport = RecordingTransport()
    resolved = []

    def resolver(host, port):
        resolved.append(host)
        return ["127.0.0.1"]

    with Fetcher(FAST, transport=transport, resolver=resolver) as f:
        with pytest.raises(Blocked) as exc:
            f.fetch("http://innocent-looking.example/photo.jpg")
    assert "innocent-looking.example resolves to 127.0.0.1" in exc.value.message
    assert resolved == ["innocent-looking.example"] and transport.hosts == [] and connections == []


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
        assert any("10.0.0.1" in r.message for r in caplog.records)


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


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/x", "gopher://x/", "javascript:alert(1)",
                                 "http://user:pw@example.com/"])
def test_other_schemes_and_credentials_are_refused(url, connections):
    with Fetcher(FAST) as f:
        with pytest.raises(Blocked):
            f.fetch(url)
    assert connections == []
