"""The generated test site (see unleak.demo.site), as fixtures and helpers for tests.

Reusable: `generate_site(...)` gives a running site on 127.0.0.1 whose URLs can be taken down
(`site.take_down(url, 410)`) and re-uploaded at new URLs (`site.add_reupload(label)`) while it runs.
"""

from __future__ import annotations

import socket

import httpx
import pytest

from unleak.demo.site import GeneratedSite, SiteServer, generate_site  # noqa: F401 (re-exported)

LOOPBACK = ["127.0.0.1/32"]


class RecordingTransport(httpx.HTTPTransport):
    """An httpx transport that records every request that reaches the network layer."""

    def __init__(self) -> None:
        super().__init__()
        self.hosts: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.hosts.append(request.url.host)
        return super().handle_request(request)


@pytest.fixture
def connections(monkeypatch):
    """Record every TCP connection attempt; refuse (and record) any that is not to loopback, so
    that a guard bug can never send traffic off this machine."""
    attempts: list[tuple[str, int]] = []
    real = socket.create_connection

    def create_connection(address, *args, **kwargs):
        attempts.append((address[0], address[1]))
        if address[0] not in ("127.0.0.1", "::1", "localhost"):
            raise ConnectionRefusedError(f"test refused a connection to {address[0]}")
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", create_connection)
    return attempts


@pytest.fixture(scope="module")
def small_site(samples):
    """Four protected photos (altered copies served), three unrelated ones."""
    with generate_site(samples[:4], samples[10:13]) as site:
        yield site
