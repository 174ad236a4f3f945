"""A fetcher that behaves: guarded, polite, bounded.

- SSRF guard on every hop: the host is resolved, every address checked (see guard.py), and the
  connection goes to the checked address with the Host header and TLS SNI set to the name.
- robots.txt obeyed (RFC 9309), its Crawl-delay honoured; our user agent says who we are.
- Per-host rate limit and concurrency; retries with exponential backoff on transient failures
  (connection errors, 429, 5xx), honouring Retry-After up to a cap.
- Size limits enforced while streaming (Content-Length is checked first, then the bytes counted).
- A total deadline per fetch (redirects and retries included, waiting for a polite turn not):
  every socket read and write is bounded by the time left, so a server that trickles one byte
  a second, in its headers or its body, cannot hold a worker beyond it.
- Redirects followed by hand: at most `max_redirects`, http(s) only, each target checked again.
- Content type sniffed from the bytes; the Content-Type header is kept only as a hint.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import httpcore
import httpx

from unleak import __version__ as _version
from unleak.config import env_number
from unleak.media.sniff import sniff_bytes
from unleak.net.guard import Blocked, FetchError, NetworkPolicy, Resolver
from unleak.net.robots import Robots
from unleak.text import clip

log = logging.getLogger("unleak.monitor")
log.addHandler(logging.NullHandler())  # refusals are reported by the scan; configure logging to see each

USER_AGENT_TOKEN = "unleak"
USER_AGENT = f"unleak/{_version} (finds copies of leaked private media for the person they belong to; obeys robots.txt)"
REDIRECT_CODES = {301, 302, 303, 307, 308}
RETRY_CODES = {429, 500, 502, 503, 504}


@dataclass
class FetchPolicy:
    """How the fetcher behaves. The defaults are polite; the benchmark lifts `rate`."""

    user_agent: str = USER_AGENT
    rate: float | None = 1.0  # requests a second per host; None or 0: no limit
    per_host_concurrency: int = 2
    max_page_bytes: int = 5 * 1024 * 1024
    max_media_bytes: int = 200 * 1024 * 1024
    max_robots_bytes: int = 512 * 1024
    timeout: float = 20.0
    max_redirects: int = 5
    retries: int = 3
    backoff: float = 0.5
    max_retry_after: float = 60.0
    max_crawl_delay: float = 30.0
    obey_robots: bool = True
    # Total seconds for one fetch, redirects and retries included: $UNLEAK_FETCH_DEADLINE_PAGE
    # and $UNLEAK_FETCH_DEADLINE_MEDIA, else 60 s for a page (robots.txt, feeds, sitemaps) and
    # 600 s for media (200 MB at a slow 3 Mbit/s).
    page_deadline: float = field(default_factory=lambda: env_number("UNLEAK_FETCH_DEADLINE_PAGE", 60.0, minimum=0.1))
    media_deadline: float = field(default_factory=lambda: env_number("UNLEAK_FETCH_DEADLINE_MEDIA", 600.0, minimum=0.1))

    def deadline_for(self, kind: str) -> float:
        return self.media_deadline if kind == "media" else self.page_deadline


@dataclass
class Hop:
    url: str
    status: int
    location: str | None
    ip: str


@dataclass
class FetchResult:
    """One successful fetch, with what evidence needs: raw body, headers, IP, time, redirects."""

    url: str  # as asked
    final_url: str
    status: int
    reason: str
    http_version: str
    headers: list[tuple[str, str]]  # as received
    request_headers: list[tuple[str, str]]
    raw: bytes  # the body as it came over the wire (after de-chunking), possibly gzip
    body: bytes  # content-decoded
    ip: str
    port: int
    fetched_at: datetime
    elapsed: float
    redirects: list[Hop] = field(default_factory=list)
    sniffed: str = "other"  # html | feed | sitemap | image | video | text | other
    not_modified: bool = False  # a 304 to a conditional request: `body` is the one kept from before (pages)
    saved_bytes: int = 0  # on a 304, the size of the body that did not have to come again

    def header(self, name: str) -> str | None:
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return None

    @property
    def content_type(self) -> str:
        return (self.header("content-type") or "").split(";")[0].strip().lower()


def sniff_content(body: bytes, content_type: str = "") -> str:
    """What the bytes are, judged from the bytes (the header only breaks ties between text kinds)."""
    media = sniff_bytes(body[:64])
    if media is not None:
        return media[0].value
    head = body[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if (
        head.startswith(b"<?xml")
        or head.startswith(b"<rss")
        or head.startswith(b"<feed")
        or head.startswith(b"<urlset")
        or head.startswith(b"<sitemapindex")
    ):
        if b"<urlset" in head or b"<sitemapindex" in head:
            return "sitemap"
        if b"<rss" in head or b"<feed" in head or b"<rdf:rdf" in head:
            return "feed"
        return "html" if b"<html" in head else "other"
    for marker in (
        b"<!doctype html",
        b"<html",
        b"<head",
        b"<body",
        b"<!--",
        b"<title",
        b"<meta",
        b"<div",
        b"<p",
        b"<a ",
        b"<img",
        b"<script",
        b"<table",
        b"<h1",
    ):
        if head.startswith(marker):
            return "html"
    if b"\x00" not in head[:512]:
        try:
            head[:512].decode("utf-8")
            return "html" if "html" in content_type else "text"
        except UnicodeDecodeError:
            pass
    return "other"


class _HostGate:
    """Per-host rate limit (minimum spacing between request starts) and concurrency."""

    def __init__(self, host: str, interval: float, concurrency: int) -> None:
        self.interval = interval
        self.semaphore = threading.BoundedSemaphore(max(1, concurrency))
        self.lock = threading.Lock()
        self.next_start = 0.0

    def wait_turn(self) -> None:
        with self.lock:
            now = time.monotonic()
            start = max(now, self.next_start)
            self.next_start = start + self.interval
        if start > now:
            time.sleep(start - now)


class _Deadline:
    """The time by which one fetch must be over; time spent waiting for a polite turn is added back."""

    def __init__(self, seconds: float, kind: str) -> None:
        self.seconds, self.kind = seconds, kind
        self.at = time.monotonic() + seconds

    def remaining(self) -> float:
        return self.at - time.monotonic()

    def expired(self) -> bool:
        return self.remaining() <= 0

    def error(self, url: str) -> FetchError:
        var = "UNLEAK_FETCH_DEADLINE_MEDIA" if self.kind == "media" else "UNLEAK_FETCH_DEADLINE_PAGE"
        return FetchError(
            f"{clip(url, 300)}: gave up after {self.seconds:g} s, the deadline for fetching a {self.kind}",
            hint=f"the server is too slow or holds the connection; ${var} sets the deadline",
            reason="deadline",
        )


# The deadline of the request this thread is making, read by the sockets below: httpx's own
# timeouts bound each read, not their sum.
_current = threading.local()


def _bounded(timeout: float | None, timeout_error: type[Exception]) -> float | None:
    deadline: _Deadline | None = getattr(_current, "deadline", None)
    if deadline is None:
        return timeout
    left = deadline.remaining()
    if left <= 0:
        raise timeout_error("the fetch's deadline has passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _bounded(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _bounded(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None) -> httpcore.NetworkStream:
        return _DeadlineStream(
            self._stream.start_tls(ssl_context, server_hostname, _bounded(timeout, httpcore.ConnectTimeout))
        )

    def get_extra_info(self, info: str):
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self, backend: httpcore.NetworkBackend) -> None:
        self._backend = backend

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        stream = self._backend.connect_tcp(
            host, port, _bounded(timeout, httpcore.ConnectTimeout), local_address, socket_options
        )
        return _DeadlineStream(stream)

    def connect_unix_socket(self, path, timeout=None, socket_options=None):  # pragma: no cover - not used
        return _DeadlineStream(self._backend.connect_unix_socket(path, timeout, socket_options))

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


def _transport(limits: httpx.Limits) -> httpx.BaseTransport:
    """httpx's transport, its sockets bounded by the fetch's deadline. httpx has no public way to
    give its connection pool a network backend; without one, the deadline is still checked
    between reads (a trickle in the headers is then bounded only by the read timeout)."""
    transport = httpx.HTTPTransport(limits=limits, trust_env=False)
    pool = getattr(transport, "_pool", None)
    if pool is not None and hasattr(pool, "_network_backend"):
        pool._network_backend = _DeadlineBackend(pool._network_backend)
    else:  # pragma: no cover - another httpx
        log.warning("httpx %s: socket reads are not bounded by the fetch deadline", httpx.__version__)
    return transport


@dataclass
class Cached:
    """What a conditional fetch knows of a URL from before."""

    etag: str | None
    last_modified: str | None
    body: bytes | None  # a page's body, to read again on a 304; None for media
    nbytes: int


class Validators(Protocol):
    """Where ETag / Last-Modified are kept between scans (see unleak.monitor.conditional)."""

    def lookup(self, url: str, kind: str) -> Cached | None: ...

    def store(self, url: str, kind: str, result: FetchResult) -> None: ...


class RequestBudget(Protocol):
    """A cap on requests per host (`watch --daily-cap`): `take` is asked before each request."""

    def take(self, host: str) -> bool: ...

    def describe(self, host: str) -> str: ...


class Fetcher:
    """Fetch URLs safely. Thread-safe; share one per scan. Use as a context manager or `close()`."""

    def __init__(
        self,
        policy: FetchPolicy | None = None,
        *,
        network: NetworkPolicy | None = None,
        resolver: Resolver | None = None,
        transport: httpx.BaseTransport | None = None,
        on_refusal: Callable[[str, str], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        validators: Validators | None = None,
        budget: RequestBudget | None = None,
        robots_cache: dict[str, Robots] | None = None,
        gates: Callable[[str, float, int], Any] | None = None,
    ) -> None:
        """`gates`: (host, interval, concurrency) -> a gate like _HostGate (`semaphore`, a context
        manager; `wait_turn()`; `interval`), to share a host's rate and concurrency with other
        processes (unleak.cluster's are Dask's); by default each Fetcher keeps its own."""
        self.policy = policy or FetchPolicy()
        self.validators = validators
        self.budget = budget
        self.not_modified = 0
        self.bytes_saved = 0
        self.full_answers = 0  # fetches answered in full (not 304), robots.txt aside
        self._make_gate = gates or _HostGate
        self.network = network or NetworkPolicy()
        self.resolver = resolver
        self.on_refusal = on_refusal
        self._sleep = sleep
        self._transport = transport
        self._clients: OrderedDict[str, httpx.Client] = OrderedDict()
        self._gates: dict[str, Any] = {}
        self._robots: dict[str, Robots] = robots_cache if robots_cache is not None else {}
        self._robots_locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()
        self.requests_sent = 0

    # --- lifecycle -----------------------------------------------------------------------
    def close(self) -> None:
        with self._lock:
            for c in self._clients.values():
                c.close()
            self._clients.clear()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _client(self, host: str) -> httpx.Client:
        # One client per host name: a pooled TLS connection is never reused for another name.
        with self._lock:
            client = self._clients.get(host)
            if client is None:
                limits = httpx.Limits(max_connections=self.policy.per_host_concurrency * 2, max_keepalive_connections=4)
                client = httpx.Client(
                    timeout=httpx.Timeout(self.policy.timeout),
                    follow_redirects=False,
                    trust_env=False,
                    transport=self._transport or _transport(limits),
                    limits=limits,
                    event_hooks={"response": [_note_location]},
                )
                self._clients[host] = client
                if len(self._clients) > 64:
                    _, old = self._clients.popitem(last=False)
                    old.close()
            else:
                self._clients.move_to_end(host)
            return client

    def _gate(self, host: str) -> Any:
        with self._lock:
            gate = self._gates.get(host)
            if gate is None:
                rate = self.policy.rate
                gate = self._make_gate(host, 1.0 / rate if rate else 0.0, self.policy.per_host_concurrency)
                self._gates[host] = gate
            return gate

    # --- public --------------------------------------------------------------------------
    def fetch(
        self,
        url: str,
        *,
        max_bytes: int | None = None,
        kind: str = "page",
        headers: dict[str, str] | None = None,
        conditional: bool = True,
    ) -> FetchResult:
        """GET a URL, following redirects with care. Raises Blocked (nothing was sent) or FetchError.

        With `validators`, a URL fetched before is asked for with If-None-Match / If-Modified-Since
        (unless `conditional` is False, as for a capture): a 304 comes back as `not_modified`, with
        the page's earlier body (a media file's is empty: it was matched already).

        `headers` are added to the request (an API's Accept, a platform token, If-None-Match);
        an Authorization header is sent only to the URL's own host, never after a redirect to
        another, and is recorded as "[redacted]" in the result's request headers."""
        limit = max_bytes or (self.policy.max_media_bytes if kind == "media" else self.policy.max_page_bytes)
        kind = "media" if kind == "media" else "page"
        deadline = _Deadline(self.policy.deadline_for(kind), kind)
        cached = self.validators.lookup(url, kind) if self.validators is not None and conditional else None
        if cached is not None:
            headers = dict(headers or {})
            if cached.etag:
                headers["If-None-Match"] = cached.etag
            if cached.last_modified:
                headers["If-Modified-Since"] = cached.last_modified
        try:
            result = self._fetch(url, limit, deadline, check_robots=self.policy.obey_robots, extra=headers)
        except Blocked as exc:
            log.warning("refused %s: %s", url, exc.message)
            if self.on_refusal:
                self.on_refusal(url, exc.message)
            raise
        if result.status == 304 and cached is not None:
            result.not_modified, result.saved_bytes = True, cached.nbytes
            result.body = cached.body or b""
            result.sniffed = sniff_content(result.body, result.content_type) if result.body else "other"
            with self._lock:
                self.not_modified += 1
                self.bytes_saved += cached.nbytes
        else:
            with self._lock:
                self.full_answers += 1
            if self.validators is not None and result.status == 200:
                self.validators.store(url, kind, result)
        return result

    def post(self, url: str, body: bytes, content_type: str, *, max_bytes: int = 1024 * 1024) -> FetchResult:
        """POST once (no redirects, no retries), through the same guard: for services the user names,
        such as a timestamp authority."""
        u = self._check_url(url)
        port = u.port or (443 if u.scheme == "https" else 80)
        try:
            ip = self.network.resolve(u.host, port, self.resolver)
        except Blocked as exc:
            log.warning("refused %s: %s", url, exc.message)
            raise
        host_header = u.host if u.port is None else f"{u.host}:{u.port}"
        client = self._client(u.host)
        extensions = {"sni_hostname": u.host} if u.scheme == "https" else {}
        deadline = _Deadline(self.policy.page_deadline, "page")
        _current.deadline = deadline
        try:
            response = client.post(
                u.copy_with(host=ip),
                content=body,
                extensions=extensions,
                headers={"Host": host_header, "User-Agent": self.policy.user_agent, "Content-Type": content_type},
            )
        except httpx.HTTPError as exc:
            if deadline.expired():
                raise deadline.error(url) from None
            raise FetchError(f"{url}: {type(exc).__name__}: {exc}", reason="connect") from None
        except httpx.InvalidURL as exc:
            raise FetchError(f"{url}: {exc}", reason="url") from None
        finally:
            _current.deadline = None
        if len(response.content) > max_bytes:
            raise FetchError(f"{url}: answer over {max_bytes:,} bytes", reason="too_large")
        if response.status_code >= 400:
            raise FetchError(f"{url}: HTTP {response.status_code}", reason="http", status=response.status_code)
        return FetchResult(
            url=url,
            final_url=url,
            status=response.status_code,
            reason=response.reason_phrase,
            http_version=response.http_version,
            headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in response.headers.raw],
            request_headers=[],
            raw=response.content,
            body=response.content,
            ip=ip,
            port=port,
            fetched_at=datetime.now(UTC),
            elapsed=0.0,
        )

    def robots_allowed(self, url: str) -> bool:
        return self._robots_for(httpx.URL(url)).allowed(url)

    # --- internals -----------------------------------------------------------------------
    def _check_url(self, url: str) -> httpx.URL:
        try:
            u = httpx.URL(url)
        except (httpx.InvalidURL, TypeError, ValueError) as exc:
            raise Blocked(f"not a valid URL: {url[:200]!r} ({exc})", reason="url") from None
        if u.scheme not in ("http", "https"):
            raise Blocked(
                f"refused {u.scheme or 'schemeless'}: URL {url[:200]!r}: only http and https are fetched",
                reason="scheme",
            )
        if not u.host:
            raise Blocked(f"no host in URL {url[:200]!r}", reason="url")
        if u.userinfo:
            raise Blocked(f"refused URL with credentials in it: {u.copy_with(userinfo=None)}", reason="url")
        return u

    def _fetch(
        self, url: str, limit: int, deadline: _Deadline, *, check_robots: bool, extra: dict[str, str] | None = None
    ) -> FetchResult:
        hops: list[Hop] = []
        first_host: str | None = None
        current = url
        seen = set()
        for _ in range(self.policy.max_redirects + 1):
            if deadline.expired():
                raise deadline.error(url)
            try:
                u = self._check_url(current)
                port = u.port or (443 if u.scheme == "https" else 80)
                ip = self.network.resolve(u.host, port, self.resolver)  # raises Blocked before any connection
                if check_robots:
                    robots = self._robots_for(u, deadline)
                    if not robots.allowed(str(u)):
                        raise Blocked(f"robots.txt of {u.host} disallows {u}", reason="robots")
            except Blocked as exc:
                if hops:  # say where the redirect pointed, not only why that was refused
                    raise Blocked(
                        f"redirected to {current[:300]}: {exc.message}", hint=exc.hint, reason=exc.reason
                    ) from None
                raise
            first_host = first_host or u.host
            headers = extra
            if extra and u.host != first_host:  # a token is for the host it was given for
                headers = {k: v for k, v in extra.items() if k.lower() != "authorization"}
            result = self._get_with_retries(u, ip, limit, deadline, headers)
            if result.status in REDIRECT_CODES and result.header("location"):
                location = str(u.join(result.header("location") or ""))
                hops.append(Hop(str(u), result.status, location, result.ip))
                if location in seen:
                    raise FetchError(f"redirect loop at {location}", reason="redirect")
                seen.add(location)
                current = location
                continue
            result.url, result.redirects = url, hops
            if result.status >= 400:
                wait = (result.header("retry-after") or "").strip()
                raise FetchError(
                    f"{result.final_url}: HTTP {result.status} {result.reason}".rstrip(),
                    reason="http",
                    status=result.status,
                    retry_after=float(wait) if wait.isdigit() else None,
                    body=result.body[:4096],
                )
            return result
        raise FetchError(f"{url}: more than {self.policy.max_redirects} redirects", reason="redirect")

    def _robots_for(self, u: httpx.URL, deadline: _Deadline | None = None) -> Robots:
        origin = f"{u.scheme}://{u.netloc.decode('ascii')}"
        with self._lock:
            lock = self._robots_locks.setdefault(origin, threading.Lock())
        with lock:
            robots = self._robots.get(origin)
            if robots is not None:  # read already, maybe by another fetcher sharing the cache
                if robots.crawl_delay:
                    gate = self._gate(u.host)
                    gate.interval = max(gate.interval, min(robots.crawl_delay, self.policy.max_crawl_delay))
                return robots
            robots_url = f"{origin}/robots.txt"
            # robots.txt is a page; fetched on the way to another URL, it also ends by that one's deadline
            own = _Deadline(self.policy.page_deadline, "page")
            if deadline is not None and deadline.at < own.at:
                own = deadline
            try:
                r = self._fetch(robots_url, self.policy.max_robots_bytes, own, check_robots=False)
                robots = Robots.parse(r.body.decode("utf-8", "replace"), USER_AGENT_TOKEN)
            except Blocked:
                raise
            except FetchError as exc:
                if exc.status is not None and 400 <= exc.status < 500:
                    robots = Robots(allow_all=True)  # no robots.txt: everything allowed
                else:
                    # RFC 9309: when robots.txt is unreachable, assume everything is disallowed.
                    log.warning("robots.txt of %s unreachable (%s): not crawling it", origin, exc.message)
                    robots = Robots(disallow_all=True)
            self._robots[origin] = robots
            if robots.crawl_delay:
                gate = self._gate(u.host)
                gate.interval = max(gate.interval, min(robots.crawl_delay, self.policy.max_crawl_delay))
            return robots

    def _get_with_retries(
        self, u: httpx.URL, ip: str, limit: int, deadline: _Deadline, extra: dict[str, str] | None = None
    ) -> FetchResult:
        attempt = 0
        while True:
            try:
                result = self._get_once(u, ip, limit, deadline, extra)
            except FetchError as exc:
                if exc.reason != "connect" or attempt >= self.policy.retries:
                    raise
                delay = self.policy.backoff * (2**attempt)
            else:
                if result.status not in RETRY_CODES or attempt >= self.policy.retries:
                    return result
                delay = self.policy.backoff * (2**attempt)
                retry_after = result.header("retry-after")
                if retry_after and retry_after.strip().isdigit():
                    delay = max(delay, float(retry_after.strip()))
                delay = min(delay, self.policy.max_retry_after)
            attempt += 1
            delay *= 1 + random.random() * 0.25
            if delay >= deadline.remaining():
                raise deadline.error(str(u))
            self._sleep(delay)

    def _get_once(
        self, u: httpx.URL, ip: str, limit: int, deadline: _Deadline, extra: dict[str, str] | None = None
    ) -> FetchResult:
        host = u.host
        port = u.port or (443 if u.scheme == "https" else 80)
        pinned = u.copy_with(host=ip)
        host_header = host if u.port is None else f"{host}:{u.port}"
        if ":" in host and not host.startswith("["):
            host_header = f"[{host}]" + ("" if u.port is None else f":{u.port}")
        headers = {
            "Host": host_header,
            "User-Agent": self.policy.user_agent,
            "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,image/*,video/*;q=0.8,*/*;q=0.5",
            "Accept-Encoding": "gzip, deflate",
        }
        for k, v in (extra or {}).items():
            if k.lower() not in ("host", "user-agent", "accept-encoding"):
                headers[k] = v
        extensions = {"sni_hostname": host} if u.scheme == "https" else {}
        if self.budget is not None and not self.budget.take(host):
            raise Blocked(self.budget.describe(host), hint="the cap is set by watch --daily-cap", reason="daily_cap")
        gate = self._gate(host)
        queued = time.monotonic()
        with gate.semaphore:
            gate.wait_turn()
            deadline.at += time.monotonic() - queued  # politeness is ours: it does not count against the server
            started = time.monotonic()
            fetched_at = datetime.now(UTC)
            _current.deadline = deadline
            try:
                return self._exchange(u, ip, port, pinned, headers, extensions, limit, deadline, started, fetched_at)
            finally:
                _current.deadline = None

    def _exchange(
        self,
        u: httpx.URL,
        ip: str,
        port: int,
        pinned: httpx.URL,
        headers: dict[str, str],
        extensions: dict[str, str],
        limit: int,
        deadline: _Deadline,
        started: float,
        fetched_at: datetime,
    ) -> FetchResult:
        client = self._client(u.host)
        request = client.build_request("GET", pinned, headers=headers, extensions=extensions)
        try:
            with self._lock:
                self.requests_sent += 1
            response = client.send(request, stream=True)
        except httpx.TimeoutException as exc:
            if deadline.expired():
                raise deadline.error(str(u)) from None
            raise FetchError(f"{u}: timed out ({type(exc).__name__})", reason="connect") from None
        except httpx.TransportError as exc:
            raise FetchError(f"{u}: {type(exc).__name__}: {exc}", reason="connect") from None
        except httpx.InvalidURL as exc:
            # httpx builds the next request of a redirect even when not following it, and a
            # Location such as data:... or javascript:... cannot be one.
            location = request.extensions.get("unleak_location")
            if location is None:
                raise FetchError(f"{u}: {exc}", reason="url") from None
            where = f"{u} redirected to {clip(str(location), 300)!r}"
            try:
                self._check_url(str(location))
            except Blocked as refused:  # data:, javascript:, file: ... say so
                raise Blocked(f"{where}: {refused.message}", reason=refused.reason) from None
            raise FetchError(f"{where}: not a URL that can be fetched ({exc})", reason="redirect") from None
        try:
            declared = response.headers.get("content-length")
            if declared and declared.strip().isdigit() and int(declared) > limit:
                raise FetchError(
                    f"{u}: {int(declared):,} bytes declared, over the limit of {limit:,}",
                    hint="raise the source's size limit if this is genuine",
                    reason="too_large",
                )
            chunks, total = [], 0
            if response.status_code not in REDIRECT_CODES:
                for chunk in response.iter_raw():
                    if deadline.expired():
                        raise deadline.error(str(u))
                    total += len(chunk)
                    if total > limit:
                        raise FetchError(
                            f"{u}: over the size limit of {limit:,} bytes while downloading",
                            hint="raise the source's size limit if this is genuine",
                            reason="too_large",
                        )
                    chunks.append(chunk)
        except httpx.TimeoutException:
            if deadline.expired():
                raise deadline.error(str(u)) from None
            raise FetchError(f"{u}: timed out while reading", reason="connect") from None
        except httpx.TransportError as exc:
            raise FetchError(f"{u}: connection broken while reading ({exc})", reason="connect") from None
        finally:
            response.close()
        raw = b"".join(chunks)
        encoding = (response.headers.get("content-encoding") or "").strip().lower()
        body = _decode(raw, encoding, limit, str(u))
        resp_headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in response.headers.raw]
        req_headers = [
            (k.decode("latin-1"), "[redacted]" if k.lower() == b"authorization" else v.decode("latin-1"))
            for k, v in request.headers.raw
        ]
        result = FetchResult(
            url=str(u),
            final_url=str(u),
            status=response.status_code,
            reason=response.reason_phrase,
            http_version=response.http_version,
            headers=resp_headers,
            request_headers=req_headers,
            raw=raw,
            body=body,
            ip=ip,
            port=port,
            fetched_at=fetched_at,
            elapsed=time.monotonic() - started,
        )
        result.sniffed = sniff_content(body, result.content_type) if body else "other"
        return result


def _note_location(response: httpx.Response) -> None:
    """Keep a redirect's Location on the request, for the error when httpx cannot parse it."""
    location = response.headers.get("location")
    if location is not None:
        response.request.extensions["unleak_location"] = location


def _decode(raw: bytes, encoding: str, limit: int, label: str) -> bytes:
    """Undo gzip/deflate with the same size limit (a small gzip can unpack to gigabytes)."""
    if encoding in ("", "identity"):
        return raw
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise FetchError(f"{label}: unsupported Content-Encoding {encoding!r}", reason="encoding")
    try:
        d = zlib.decompressobj(47 if encoding != "deflate" else zlib.MAX_WBITS)
        out = d.decompress(raw, limit + 1)
        if len(out) > limit or d.unconsumed_tail:
            raise FetchError(f"{label}: decompresses to over {limit:,} bytes", reason="too_large")
        return out
    except zlib.error:
        if encoding == "deflate":  # some servers send raw deflate
            try:
                d = zlib.decompressobj(-zlib.MAX_WBITS)
                out = d.decompress(raw, limit + 1)
                if len(out) <= limit and not d.unconsumed_tail:
                    return out
            except zlib.error:
                pass
        raise FetchError(f"{label}: body is not valid {encoding}", reason="encoding") from None


def fetch_url(
    url: str, *, allow_networks: Iterable[str] = (), policy: FetchPolicy | None = None, kind: str = "media"
) -> FetchResult:
    """One guarded fetch, for `unleak match URL` and re-checks."""
    with Fetcher(policy, network=NetworkPolicy.allowing(allow_networks)) as f:
        return f.fetch(url, kind=kind)


def media_from_url(
    url: str, *, allow_networks: Iterable[str] | None = None, policy: FetchPolicy | None = None, max_media: int = 50
) -> list[tuple[str, bytes]]:
    """(URL, bytes) of the media at a URL: the URL itself when it is an image or video, else the media
    its HTML page shows (at most `max_media`). Fetched through the guarded fetcher; private networks
    are refused unless allowed here or in $UNLEAK_ALLOW_NETWORKS (comma-separated CIDRs)."""
    import os

    from unleak.errors import MediaError
    from unleak.net.html import parse_page

    if allow_networks is None:
        allow_networks = [n.strip() for n in os.environ.get("UNLEAK_ALLOW_NETWORKS", "").split(",") if n.strip()]
    with Fetcher(policy, network=NetworkPolicy.allowing(allow_networks)) as f:
        r = f.fetch(url, kind="media")
        if r.sniffed in ("image", "video"):
            return [(url, r.body)]
        if r.sniffed != "html":
            raise MediaError(f"{url}: not an image, video or web page (the content is {r.sniffed})")
        out = []
        for ref in parse_page(r.body, r.final_url).media[:max_media]:
            try:
                m = f.fetch(ref.url, kind="media")
            except FetchError as exc:
                log.warning("skipped %s: %s", ref.url, exc.message)
                continue
            if m.sniffed in ("image", "video"):
                out.append((ref.url, m.body))
        if not out:
            raise MediaError(f"{url}: the page shows no image or video that could be fetched")
        return out
