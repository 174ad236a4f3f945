"""`unleak app` for tests: the real server (uvicorn) in a thread on 127.0.0.1, and an HTTP client
that logs in and fills in each form's CSRF token, as a browser does."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn

from unleak.app import AppConfig, create_app
from unleak.store import Store

TOKEN = "test-login-token-0123456789"


@dataclass
class LiveApp:
    base: str
    store: Store
    app: object

    @property
    def login_url(self) -> str:
        return f"{self.base}/login?token={TOKEN}"


@contextmanager
def live_app(store: Store, roots: tuple[Path, ...] = (), host: str = "127.0.0.1") -> Iterator[LiveApp]:
    config = AppConfig(db_url=store.url, roots=roots, host=host, login_token=TOKEN)
    app = create_app(config, store)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield LiveApp(f"http://127.0.0.1:{port}", store, app)
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


class Browserless:
    """An HTTP client with a session: `get`, and `post` that adds the CSRF token of the last page."""

    def __init__(self, live: LiveApp) -> None:
        self.live = live
        self.http = httpx.Client(base_url=live.base, follow_redirects=True, timeout=60)
        self.csrf = ""

    def close(self) -> None:
        self.http.close()

    def _keep(self, r: httpx.Response) -> httpx.Response:
        m = re.search(r'name="csrf" value="([^"]+)"', r.text) if "html" in r.headers.get("content-type", "") else None
        if m:
            self.csrf = m.group(1)
        return r

    def login_token(self) -> httpx.Response:
        return self._keep(self.http.get(f"/login?token={TOKEN}"))

    def login(self, name: str, password: str) -> httpx.Response:
        form = self.http.get("/login").text
        token = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
        return self._keep(self.http.post("/login", data={"name": name, "password": password, "csrf": token}))

    def get(self, path: str, **kw) -> httpx.Response:
        return self._keep(self.http.get(path, **kw))

    def post(self, path: str, data: dict | None = None, files=None, csrf: str | None = None) -> httpx.Response:
        body = {"csrf": self.csrf if csrf is None else csrf, **(data or {})}
        return self._keep(self.http.post(path, data=body, files=files))

    def wait_job(self, r: httpx.Response, timeout: float = 120) -> str:
        """Follow a task page to its end (the event stream) and give its final page's text."""
        path = r.url.path
        assert "/jobs/" in path, r.text
        with self.http.stream("GET", path + "/events", timeout=timeout) as events:
            for line in events.iter_lines():
                if line.startswith("data:") and '"finished": true' in line:
                    break
        return self.get(path).text
