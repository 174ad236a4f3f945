"""The fetcher behaves: robots.txt, user agent, rate limits, retries, size limits, sniffing, redirects."""

from __future__ import annotations

import gzip
import time

import pytest

from _site import load_site
from unleak.demo.site import SiteServer
from unleak.net.fetch import USER_AGENT, Fetcher, FetchPolicy, sniff_content
from unleak.net.guard import Blocked, FetchError, NetworkPolicy
from unleak.net.robots import Robots

_site = load_site()
connections = _site.connections
LOOP = NetworkPolicy.allowing(_site.LOOPBACK)


def fetcher(**kw) -> Fetcher:
    kw.setdefault("rate", None)
    kw.setdefault("backoff", 0.01)
    return Fetcher(FetchPolicy(**kw), network=LOOP)


@pytest.fixture
def server():
    with SiteServer() as s:
        s.set(
            "/robots.txt",
            "User-agent: *\nDisallow: /private/\nAllow: /private/ok$\n\nUser-agent: otherbot\nDisallow: /\n",
            "text/plain",
        )
        yield s


def test_robots_rules():
    r = Robots.parse(
        "User-agent: *\nDisallow: /a\nAllow: /a/b\nDisallow: /*.gif$\n"
        "User-agent: unleak\nDisallow: /only-for-us\nCrawl-delay: 2\n",
        "unleak",
    )
    assert not r.allowed("http://h/only-for-us/x") and r.allowed("http://h/a") and r.crawl_delay == 2
    r = Robots.parse("User-agent: *\nDisallow: /a\nAllow: /a/b\nDisallow: /*.gif$\n", "unleak")
    assert not r.allowed("http://h/a/c") and r.allowed("http://h/a/b/c")
    assert not r.allowed("http://h/x/y.gif") and r.allowed("http://h/x/y.gif?v=1")
    assert Robots.parse("", "unleak").allowed("http://h/anything")


def test_robots_obeyed_and_user_agent_sent(server):
    server.set("/private/secret.html", "secret")
    server.set("/private/ok", "fine", "text/plain")
    server.set("/public.html", "<html><body>hi</body></html>")
    with fetcher() as f:
        with pytest.raises(Blocked) as exc:
            f.fetch(server.url("/private/secret.html"))
        assert exc.value.reason == "robots"
        assert f.fetch(server.url("/private/ok")).body == b"fine"
        r = f.fetch(server.url("/public.html"))
        assert r.sniffed == "html" and r.ip == "127.0.0.1" and r.status == 200
    assert "/private/secret.html" not in server.paths_requested()
    assert server.paths_requested().count("/robots.txt") == 1
    assert all(h["user-agent"] == USER_AGENT for _m, _p, h in server.requests)


def test_missing_robots_allows_and_failing_robots_disallows():
    with SiteServer() as s:
        s.set("/x", "x", "text/plain")
        with fetcher() as f:
            assert f.fetch(s.url("/x")).body == b"x"  # /robots.txt is 404: allowed
    with SiteServer() as s:
        s.set("/robots.txt", "oops", status=503)
        s.set("/x", "x", "text/plain")
        with fetcher(retries=1) as f:
            with pytest.raises(Blocked):
                f.fetch(s.url("/x"))
        assert "/x" not in s.paths_requested()


def test_per_host_rate_limit(server):
    server.set("/a", "a", "text/plain")
    with fetcher(rate=10.0) as f:
        f.fetch(server.url("/a"))  # robots + first request
        t = time.monotonic()
        for _ in range(5):
            f.fetch(server.url("/a"))
        assert time.monotonic() - t >= 0.45  # five requests at 10/s


def test_crawl_delay_slows_the_host():
    with SiteServer() as s:
        s.set("/robots.txt", "User-agent: *\nCrawl-delay: 0.3\n", "text/plain")
        s.set("/a", "a", "text/plain")
        with fetcher() as f:
            f.fetch(s.url("/a"))
            t = time.monotonic()
            f.fetch(s.url("/a"))
            f.fetch(s.url("/a"))
            assert time.monotonic() - t >= 0.55


def test_retries_with_backoff_then_success(server):
    calls = {"n": 0}

    def flaky(path):
        from unleak.demo.site import Route

        if path == "/flaky":
            calls["n"] += 1
            return Route(b"later", status=503, headers={"Retry-After": "0"}) if calls["n"] < 3 else Route(b"ok")
        return None

    server.fallback = flaky
    with fetcher(retries=3) as f:
        assert f.fetch(server.url("/flaky")).body == b"ok"
    assert calls["n"] == 3
    calls["n"] = -10
    with fetcher(retries=2) as f:
        with pytest.raises(FetchError) as exc:
            f.fetch(server.url("/flaky"))
    assert exc.value.status == 503


def test_connection_refused_is_retried_then_reported():
    with SiteServer() as s:
        port = s.port
    with fetcher(retries=2, obey_robots=False) as f:
        with pytest.raises(FetchError) as exc:
            f.fetch(f"http://127.0.0.1:{port}/gone")
    assert exc.value.reason == "connect"


def test_size_limits_while_streaming(server):
    server.set("/big.jpg", b"\xff\xd8\xff" + b"0" * 200_000, "image/jpeg")
    with fetcher(max_page_bytes=100_000, max_media_bytes=150_000) as f:
        with pytest.raises(FetchError) as exc:
            f.fetch(server.url("/big.jpg"), kind="media")
        assert exc.value.reason == "too_large"
    # a gzip bomb: small on the wire, huge unpacked
    bomb = gzip.compress(b"<html>" + b" " * 5_000_000)
    server.set("/bomb.html", bomb, headers={"Content-Encoding": "gzip"})
    with fetcher(max_page_bytes=1_000_000) as f:
        with pytest.raises(FetchError) as exc:
            f.fetch(server.url("/bomb.html"))
        assert exc.value.reason == "too_large"
        small = gzip.compress(b"<html><body>zipped</body></html>")
        server.set("/z.html", small, headers={"Content-Encoding": "gzip"})
        r = f.fetch(server.url("/z.html"))
        assert r.body.endswith(b"</html>") and r.raw == small


def test_content_is_sniffed_not_trusted(server, samples):
    jpeg = samples[0].read_bytes()
    server.set("/looks-like.html", jpeg, "text/html")
    server.set("/looks-like.jpg", "<!DOCTYPE html><html></html>", "image/jpeg")
    with fetcher() as f:
        assert f.fetch(server.url("/looks-like.html")).sniffed == "image"
        assert f.fetch(server.url("/looks-like.jpg")).sniffed == "html"
    assert sniff_content(b'<?xml version="1.0"?><rss version="2.0">') == "feed"
    assert sniff_content(b'<?xml version="1.0"?>\n<urlset xmlns="x">') == "sitemap"
    assert sniff_content(b"\x00\x01binary") == "other"


def test_redirects_followed_with_care(server):
    server.set("/target.html", "<html>here</html>")
    server.redirect("/r1", "/r2", 301)
    server.redirect("/r2", server.url("/target.html"), 302)
    server.redirect("/loop-a", "/loop-b")
    server.redirect("/loop-b", "/loop-a")
    server.redirect("/to-private", "/private/secret.html")
    server.redirect("/to-file", "file:///etc/passwd")
    with fetcher(max_redirects=3) as f:
        r = f.fetch(server.url("/r1"))
        assert r.final_url == server.url("/target.html") and [h.status for h in r.redirects] == [301, 302]
        with pytest.raises(FetchError, match=r"redirect loop|redirects"):
            f.fetch(server.url("/loop-a"))
        with pytest.raises(Blocked) as exc:
            f.fetch(server.url("/to-private"))
        assert exc.value.reason == "robots"
        with pytest.raises(Blocked) as exc:
            f.fetch(server.url("/to-file"))
        assert exc.value.reason == "scheme"


def test_http_errors_carry_the_status(server):
    server.remove("/gone.jpg", 410)
    with fetcher() as f:
        with pytest.raises(FetchError) as exc:
            f.fetch(server.url("/gone.jpg"))
    assert exc.value.status == 410 and exc.value.reason == "http"
