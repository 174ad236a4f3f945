"""Optional screenshots of a sighting's page with headless Chromium (Debian's `chromium`), when installed.

Chromium never touches the network by itself: it is pointed at a proxy on 127.0.0.1 that serves
plain-HTTP requests through unleak's guarded fetcher (SSRF guard, robots.txt, rate limits) and
tunnels HTTPS (CONNECT) only to an address the guard has checked, pinned. Loopback is not bypassed
(`<-loopback>`), background networking is off, and WebRTC may not send UDP around the proxy.
The picture is the first 1280x3000 pixels of the page.
"""

from __future__ import annotations

import logging
import os
import select
import shutil
import socket
import subprocess
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from unleak.net.fetch import Fetcher
from unleak.net.guard import FetchError

log = logging.getLogger("unleak.monitor")
CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "chrome")
_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "content-encoding",
    "content-length",
}


def find_chromium() -> str | None:
    env = os.environ.get("UNLEAK_CHROMIUM")
    if env:
        return env if shutil.which(env) else None
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


class GuardedProxy:
    """An HTTP proxy on 127.0.0.1 whose every request goes through a Fetcher's guard."""

    def __init__(self, fetcher: Fetcher, *, tunnel_seconds: float = 60.0) -> None:
        self.fetcher = fetcher
        self.refused: list[tuple[str, str]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a) -> None:
                pass

            def do_GET(self) -> None:
                url = self.path
                try:
                    r = outer.fetcher.fetch(url)
                except FetchError as exc:
                    outer.refused.append((url, exc.message))
                    body = exc.message.encode()
                    self.send_response(exc.status or 403)
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                self.send_response(r.status)
                for k, v in r.headers:
                    if k.lower() not in _HOP_BY_HOP:
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(r.body)))
                self.end_headers()
                self.wfile.write(r.body)

            def do_CONNECT(self) -> None:
                host, _, port = self.path.rpartition(":")
                try:
                    ip = outer.fetcher.network.resolve(host, int(port), outer.fetcher.resolver)
                    upstream = socket.create_connection((ip, int(port)), timeout=10)
                except (FetchError, OSError, ValueError) as exc:
                    outer.refused.append((self.path, str(exc)))
                    self.send_response(403)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200, "Connection established")
                self.end_headers()
                _pipe(self.connection, upstream, tunnel_seconds)
                self.close_connection = True

        class Server(ThreadingHTTPServer):
            daemon_threads = True

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _pipe(a: socket.socket, b: socket.socket, seconds: float) -> None:
    import time

    end = time.monotonic() + seconds
    try:
        while time.monotonic() < end:
            ready, _, _ = select.select([a, b], [], [], 1.0)
            for s in ready:
                data = s.recv(65536)
                if not data:
                    return
                (b if s is a else a).sendall(data)
    except OSError:
        return
    finally:
        b.close()


def take_screenshot(
    url: str, fetcher: Fetcher, *, timeout: float = 60.0, size: tuple[int, int] = (1280, 3000)
) -> bytes | None:
    """PNG bytes of the page, or None when Chromium is not installed or fails (the reason is logged)."""
    chromium = find_chromium()
    if chromium is None:
        return None
    proxy = GuardedProxy(fetcher)
    with tempfile.TemporaryDirectory(prefix="unleak-shot-") as tmp:
        out = Path(tmp) / "shot.png"
        args = [
            chromium,
            "--headless=new",
            "--disable-gpu",
            "--hide-scrollbars",
            "--mute-audio",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--dns-prefetch-disable",
            "--disable-features=MediaRouter,OptimizationHints,Translate",
            "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
            f"--proxy-server={proxy.url}",
            "--proxy-bypass-list=<-loopback>",
            f"--user-data-dir={tmp}/profile",
            f"--window-size={size[0]},{size[1]}",
            f"--screenshot={out}",
            "--virtual-time-budget=5000",
            url,
        ]
        if os.geteuid() == 0:
            args.insert(1, "--no-sandbox")  # Chromium refuses to run its sandbox as root
        try:
            subprocess.run(args, timeout=timeout, capture_output=True, check=False)
        except (subprocess.TimeoutExpired, OSError) as exc:
            log.warning("screenshot of %s failed: %s", url, exc)
            return None
        finally:
            proxy.close()
        if not out.exists():
            log.warning("screenshot of %s failed: Chromium wrote no picture", url)
            return None
        return out.read_bytes()
