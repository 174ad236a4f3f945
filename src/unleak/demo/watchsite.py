"""Many small sources on one loopback server that answers conditional requests as real servers
do (ETag and Last-Modified; 304 Not Modified to If-None-Match / If-Modified-Since), and counts
the requests and the body bytes it sends. For `bench/watch.py` and the watch tests.

Source i is the page /s/i.html showing /m/i-0.jpg and /m/i-1.jpg; `change(i)` makes its page
show a new file (a changed source); `plant(i, jpeg)` serves a given file as its first image.
"""

from __future__ import annotations

import hashlib
import io
import threading
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
from PIL import Image


def noise_jpeg(seed: int, side: int = 160) -> bytes:
    """A small JPEG of smooth random colour fields, different for each seed."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)
    image = Image.fromarray(small).resize((side, side), Image.Resampling.BICUBIC)
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=85)
    return buf.getvalue()


class ConditionalSite:
    def __init__(self, sources: int, *, conditional: bool = True) -> None:
        self.n = sources
        self.conditional = conditional
        self.version = [0] * sources
        self.files: dict[str, bytes] = {}
        self.stamp = formatdate(1_767_225_600, usegmt=True)
        self.lock = threading.Lock()
        self.requests = 0
        self.not_modified = 0
        self.body_bytes = 0
        self.per_path: dict[str, int] = {}
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                body, ctype = site.answer(self.path)
                with site.lock:
                    site.requests += 1
                    site.per_path[self.path] = site.per_path.get(self.path, 0) + 1
                if body is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
                if site.conditional and (
                    self.headers.get("If-None-Match") == etag
                    or (
                        self.headers.get("If-None-Match") is None
                        and self.headers.get("If-Modified-Since") == site.stamp
                    )
                ):
                    with site.lock:
                        site.not_modified += 1
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                if site.conditional:
                    self.send_header("ETag", etag)
                    self.send_header("Last-Modified", site.stamp)
                self.end_headers()
                self.wfile.write(body)
                with site.lock:
                    site.body_bytes += len(body)

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 256

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, name="watch-site", daemon=True).start()

    def page_url(self, i: int) -> str:
        return f"{self.base}/s/{i}.html"

    def media_path(self, i: int, j: int) -> str:
        return f"/m/{i}-{j}-v{self.version[i]}.jpg" if j == 1 and self.version[i] else f"/m/{i}-{j}.jpg"

    def answer(self, path: str) -> tuple[bytes | None, str]:
        if path.startswith("/s/") and path.endswith(".html"):
            try:
                i = int(path[3:-5])
            except ValueError:
                return None, ""
            if not 0 <= i < self.n:
                return None, ""
            imgs = "".join(f'<img src="{self.media_path(i, j)}">' for j in (0, 1))
            page = f"<!DOCTYPE html><html><head><title>source {i}</title></head><body><h1>Gallery {i}</h1>{imgs}"
            page += "<p>" + "Words about the pictures. " * 40 + "</p></body></html>"
            return page.encode(), "text/html; charset=utf-8"
        if path.startswith("/m/") and path.endswith(".jpg"):
            with self.lock:
                if path not in self.files:
                    self.files[path] = noise_jpeg(int(hashlib.sha256(path.encode()).hexdigest()[:8], 16))
                return self.files[path], "image/jpeg"
        return None, ""

    def change(self, i: int) -> None:
        """Source i now shows a new second file."""
        with self.lock:
            self.version[i] += 1

    def plant(self, i: int, jpeg: bytes) -> str:
        """Serve `jpeg` as source i's first file; its URL."""
        path = self.media_path(i, 0)
        with self.lock:
            self.files[path] = jpeg
        return self.base + path

    def counters(self) -> tuple[int, int, int]:
        with self.lock:
            return self.requests, self.not_modified, self.body_bytes

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> ConditionalSite:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
