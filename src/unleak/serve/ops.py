"""Operations: Prometheus metrics and structured access logs that never hold a hash.

Every request is counted and timed under its route's template (`/c/bank/{bank_name}`), never
its raw path or query string: a lookup's query string is the hash a platform is checking, which
is exactly what must not end up in logs. uvicorn's own access log gets the same scrubbing when
someone turns it on.

With several workers (`unleak serve --workers N`) the counts are kept in files of a private
run directory (prometheus_client's multiprocess mode), so `/metrics` reports the totals of every
worker, whichever worker answers it.
"""

from __future__ import annotations

import json
import logging
import os
import stat
import sys
import time
from collections.abc import Callable, Iterable, MutableMapping
from typing import Any

from fastapi import FastAPI
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest, values
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from unleak.errors import UnleakError

ACCESS_LOGGER = "unleak.serve.access"
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def check_run_dir(run_dir: str) -> str:
    """`run_dir` if it is what `unleak serve` made for its workers: a real directory (not a
    link), this user's, 0700. A worker reads its path from the environment: anything else could
    let another user read or forge the counts and buckets. Raises UnleakError."""
    try:
        st = os.lstat(run_dir)
    except OSError as exc:
        raise UnleakError(f"run directory {run_dir!r}: {exc.strerror}") from None
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or stat.S_IMODE(st.st_mode) != 0o700:
        raise UnleakError(
            f"run directory {run_dir!r} is not a directory of this user with mode 0700",
            hint="UNLEAK_SERVE_RUN_DIR is set by `unleak serve --workers N`; do not set it yourself",
        )
    return run_dir


def share_across_workers(run_dir: str) -> None:
    """Keep this process's counts in files under `run_dir` (0700, made empty by the parent for
    this run), where `/metrics` adds up every worker's. Call before any metric is made; the
    values class is switched here too, since prometheus_client reads its environment variable
    only when first imported."""
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = check_run_dir(run_dir)
    if not getattr(values.ValueClass, "_multiprocess", False):
        values.ValueClass = values.MultiProcessValue()


class Metrics:
    """One app's metrics, in a registry of its own; with `shared_dir`, every worker's totals."""

    def __init__(self, index_sizes: Callable[[], dict[str, int]], shared_dir: str | None = None) -> None:
        self.shared_dir = shared_dir
        if shared_dir is not None:
            share_across_workers(shared_dir)
        self._index_sizes = _IndexSizes(index_sizes)
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "unleak_serve_requests",
            "HTTP requests answered, by route template, method and status code",
            ("route", "method", "status"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "unleak_serve_request_seconds",
            "Time to answer, by route template and method",
            ("route", "method"),
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.lookups = Counter(
            "unleak_serve_lookups",
            "Lookups by signal type, and whether any bank matched",
            ("signal_type", "matched"),
            registry=self.registry,
        )
        self.registry.register(self._index_sizes)

    def lookup(self, signal_type: str, answer: object) -> None:
        self.lookups.labels(signal_type, "true" if answer else "false").inc()

    def render(self) -> Response:
        registry = self.registry
        if self.shared_dir is not None:
            from prometheus_client.multiprocess import MultiProcessCollector

            # Every worker's counts, summed (the files of workers that exited included);
            # the index sizes are this worker's, which every worker keeps alike.
            registry = CollectorRegistry()
            MultiProcessCollector(registry, path=self.shared_dir)
            registry.register(self._index_sizes)
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


class _IndexSizes(Collector):
    def __init__(self, sizes: Callable[[], dict[str, int]]) -> None:
        self._sizes = sizes

    def collect(self) -> Iterable[GaugeMetricFamily]:
        gauge = GaugeMetricFamily("unleak_serve_index_size", "Signals in this worker's index", labels=["signal_type"])
        for name, size in self._sizes().items():
            gauge.add_metric([name], size)
        yield gauge


def route_of(scope: MutableMapping[str, Any], router: Any) -> str:
    """The route's template; for a request refused before routing (401, 403, 413, 429), the
    template of the route it asked for. Never the raw path."""
    route = scope.get("route")
    if route is None:
        route = _find_route(router.routes, scope)
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "(no route)"


def _find_route(routes: Iterable[Any], scope: MutableMapping[str, Any]) -> Any:
    for candidate in routes:
        inner = getattr(candidate, "original_router", None)  # FastAPI's included routers
        if inner is not None:
            found = _find_route(inner.routes, scope)
            if found is not None:
                return found
            continue
        match, _ = candidate.matches(scope)
        if match is not Match.NONE:
            return candidate
    return None


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            return json.dumps(fields, separators=(",", ":"), ensure_ascii=True)
        return json.dumps({"msg": record.getMessage()}, ensure_ascii=True)


def access_logger() -> logging.Logger:
    """JSON lines on stderr (a log collector's input), set up once per process."""
    log = logging.getLogger(ACCESS_LOGGER)
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(_JsonFormatter())
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False
    return log


class ScrubQuery(logging.Filter):
    """uvicorn's access log records `"GET /m/lookup?signal=<hash> HTTP/1.1"`: keep the path only."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], args[2].split("?", 1)[0], *args[3:])
        return True


def scrub_uvicorn_access_log() -> None:
    log = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, ScrubQuery) for f in log.filters):
        log.addFilter(ScrubQuery())


def install(app: FastAPI, metrics: Metrics, *, access_log: bool) -> None:
    """Count, time and (optionally) log every request; serve `GET /metrics`."""
    app.add_middleware(Observe, metrics=metrics, log=access_logger() if access_log else None, routes=app.router)
    scrub_uvicorn_access_log()

    @app.get("/metrics", include_in_schema=False)
    def prometheus() -> Response:
        return metrics.render()


class Observe:
    """Counts, times and logs each request, as plain ASGI middleware (no per-request
    `Request`/`Response` objects, no task group)."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics, log: logging.Logger | None, routes: Any) -> None:
        self.app, self.metrics, self.log, self.routes = app, metrics, log, routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        recorded = False

        async def record_first(message: Message) -> None:
            # Counted when the answer starts (as it is timed): a client that reads /metrics right
            # after a request finds it there.
            nonlocal recorded
            if message["type"] == "http.response.start" and not recorded:
                recorded = True
                self._record(scope, message["status"], time.perf_counter() - start)
            await send(message)

        try:
            await self.app(scope, receive, record_first)
        finally:
            if not recorded:
                self._record(scope, 500, time.perf_counter() - start)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        route = route_of(scope, self.routes)
        # A client may send any method name: an unknown one would make a new series each time.
        method = scope["method"] if scope["method"] in HTTP_METHODS else "other"
        self.metrics.requests.labels(route, method, str(status)).inc()
        self.metrics.latency.labels(route, method).observe(seconds)
        if self.log is None:
            return
        key = scope.get("state", {}).get("key")
        length = b""
        for name, value in scope.get("headers", ()):
            if name.lower() == b"content-length":
                length = value
                break
        client = scope.get("client")
        self.log.info(
            "access",
            extra={
                "fields": {
                    "ts": round(time.time(), 3),
                    "pid": os.getpid(),  # which worker answered
                    "client": str(client[0]) if client else "",
                    "method": method,
                    "route": route,
                    "status": status,
                    "ms": round(seconds * 1000, 2),
                    "key": key.name if key is not None else None,
                    "bytes_in": int(length) if length.isdigit() else None,
                }
            },
        )
