"""A fetch has a total deadline: a server that sends one byte a second, in its headers or its
body, cannot hold a fetch (or a scan) beyond it; and a redirect the fetcher cannot follow is a
refusal, never an httpx exception."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from _site import load_site
from unleak.demo.site import SiteServer
from unleak.errors import UnleakError
from unleak.net.fetch import Fetcher, FetchPolicy
from unleak.net.guard import Blocked, FetchError, NetworkPolicy

LOOP = NetworkPolicy.allowing(load_site().LOOPBACK)


class TrickleServer:
    """Answers every request on 127.0.0.1 one byte a second: in the headers or in the body."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.stop = threading.Event()
        self.requests = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def url(self, path: str = "/slow") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:  # closed
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            try:
                conn.recv(65536)
                self.requests += 1
                head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000\r\n\r\n"
                if self.where == "body":
                    conn.sendall(head)
                    trickle = b"<html>" + b"x" * 100000
                else:
                    trickle = head.replace(b"\r\n\r\n", b"\r\n" + b"X-Slow: " + b"y" * 100000)
                for byte in trickle:
                    if self.stop.is_set():
                        return
                    conn.sendall(bytes([byte]))
                    self.stop.wait(1.0)
            except OSError:
                return

    def __enter__(self) -> TrickleServer:
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.sock.close()


@pytest.mark.parametrize("where", ["body", "headers"])
def test_one_byte_a_second_ends_within_the_deadline(where):
    with (
        TrickleServer(where) as server,
        Fetcher(
            FetchPolicy(rate=None, obey_robots=False, retries=2, backoff=0.01, page_deadline=2.0), network=LOOP
        ) as f,
    ):
        t = time.monotonic()
        with pytest.raises(FetchError) as exc:
            f.fetch(server.url())
        took = time.monotonic() - t
    assert 1.9 <= took < 3.5, took
    assert exc.value.reason == "deadline"
    assert "gave up after 2 s" in exc.value.message and "UNLEAK_FETCH_DEADLINE_PAGE" in (exc.value.hint or "")
    assert server.requests == 1  # a deadline is not retried


def test_media_has_its_own_deadline_and_both_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("UNLEAK_FETCH_DEADLINE_PAGE", "30")
    monkeypatch.setenv("UNLEAK_FETCH_DEADLINE_MEDIA", "1.5")
    policy = FetchPolicy(rate=None, obey_robots=False, retries=0)
    assert (policy.page_deadline, policy.media_deadline) == (30.0, 1.5)
    with TrickleServer("body") as server, Fetcher(policy, network=LOOP) as f:
        t = time.monotonic()
        with pytest.raises(FetchError, match="deadline for fetching a media") as exc:
            f.fetch(server.url("/video.mp4"), kind="media")
        assert time.monotonic() - t < 3.0
    assert "UNLEAK_FETCH_DEADLINE_MEDIA" in (exc.value.hint or "")
    monkeypatch.delenv("UNLEAK_FETCH_DEADLINE_PAGE")
    monkeypatch.delenv("UNLEAK_FETCH_DEADLINE_MEDIA")
    assert (FetchPolicy().page_deadline, FetchPolicy().media_deadline) == (60.0, 600.0)


@pytest.mark.parametrize("value", ["abc", "-5", "0", "nan", "inf", "1e999x"])
def test_a_bad_deadline_in_the_environment_is_one_line(monkeypatch, value):
    monkeypatch.setenv("UNLEAK_FETCH_DEADLINE_PAGE", value)
    with pytest.raises(UnleakError) as exc:
        FetchPolicy()
    assert "$UNLEAK_FETCH_DEADLINE_PAGE" in exc.value.message and "\n" not in str(exc.value)


def test_the_deadline_leaves_a_normal_fetch_alone():
    with SiteServer() as s:
        s.set("/a.html", "<html>" + "x" * 200_000, "text/html")
        with Fetcher(FetchPolicy(rate=None, page_deadline=5.0), network=LOOP) as f:
            for _ in range(3):
                assert len(f.fetch(s.url("/a.html")).body) > 200_000


@pytest.mark.parametrize(
    "location", ["data:text/html,<script>alert(1)</script>", "data:,x", "javascript:alert(1)", "mailto:a@b.c"]
)
def test_a_redirect_to_data_or_javascript_is_refused(location):
    refused = []
    with SiteServer() as s:
        s.set("/r", "", status=302, headers={"Location": location})
        with Fetcher(FetchPolicy(rate=None), network=LOOP, on_refusal=lambda u, why: refused.append(why)) as f:
            with pytest.raises(Blocked) as exc:
                f.fetch(s.url("/r"))
    assert exc.value.reason == "scheme"
    scheme = location.split(":")[0]
    assert f"redirected to {location[:20]}" in exc.value.message.replace("'", "")
    assert f"refused {scheme}:" in exc.value.message and refused


def test_scan_goes_on_past_a_trickling_server(store, samples, monkeypatch):
    from unleak.bank import Bank
    from unleak.monitor.scan import Scanner, ScanOptions
    from unleak.monitor.sources import SourceOptions, add_source

    Bank(store, "slow").protect(samples[:1])
    monkeypatch.setenv("UNLEAK_FETCH_DEADLINE_PAGE", "3")  # the photo is media: it has 600 s
    with TrickleServer("body") as slow, SiteServer() as site:
        site.set("/p.html", '<html><body><img src="/photo.png"></body></html>', "text/html")
        site.set("/photo.png", samples[0].read_bytes(), "image/png")
        src = add_source(
            store,
            "slow",
            "urls",
            [slow.url("/a.html"), site.url("/p.html")],
            SourceOptions(allow_networks=["127.0.0.1/32"]),
        )
        options = ScanOptions(policy=FetchPolicy(rate=None, retries=0, obey_robots=False), verify="off")
        t = time.monotonic()
        report = Scanner(store, "slow", options).scan_source(src.id)
        took = time.monotonic() - t
    assert took < 30
    assert report.finished and len(report.sightings) == 1, report.stats
    assert report.stats["failed"] == 1
    [error] = report.stats["errors"]
    assert error["url"] == slow.url("/a.html") and "gave up after 3 s" in error["error"]
