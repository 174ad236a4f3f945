"""Operations: Prometheus metrics and structured access logs that never hold a hash.

Every request is counted and timed under its route's template (`/c/bank/{bank_name}`), never
its raw path or query string: a lookup's query string is the hash a platform is checking, which
is exactly what must not end up in logs. uvicorn's own access log gets the same scrubbing when
someone turns it on.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.routing import Match

ACCESS_LOGGER = "unleak.serve.access"
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """One app's metrics, in a registry of its own."""

    def __init__(self, index_sizes: Callable[[], dict[str, int]]) -> None:
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
        self.registry.register(_IndexSizes(index_sizes))

    def lookup(self, signal_type: str, answer: object) -> None:
        self.lookups.labels(signal_type, "true" if answer else "false").inc()

    def render(self) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)


class _IndexSizes(Collector):
    def __init__(self, sizes: Callable[[], dict[str, int]]) -> None:
        self._sizes = sizes

    def collect(self) -> Iterable[GaugeMetricFamily]:
        gauge = GaugeMetricFamily("unleak_serve_index_size", "Signals in this worker's index", labels=["signal_type"])
        for name, size in self._sizes().items():
            gauge.add_metric([name], size)
        yield gauge


def route_of(request: Request) -> str:
    """The route's template; for a request refused before routing (401, 403, 413, 429), the
    template of the route it asked for. Never the raw path."""
    route = request.scope.get("route")
    if route is None:
        route = _find_route(request.app.router.routes, request.scope)
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
    log = access_logger() if access_log else None
    scrub_uvicorn_access_log()

    @app.middleware("http")
    async def observe(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        start = time.perf_counter()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            seconds = time.perf_counter() - start
            route = route_of(request)
            metrics.requests.labels(route, request.method, str(status)).inc()
            metrics.latency.labels(route, request.method).observe(seconds)
            if log is not None:
                key = getattr(request.state, "key", None)
                log.info(
                    "access",
                    extra={
                        "fields": {
                            "ts": round(time.time(), 3),
                            "client": request.client.host if request.client else "",
                            "method": request.method,
                            "route": route,
                            "status": status,
                            "ms": round(seconds * 1000, 2),
                            "key": key.name if key is not None else None,
                            "bytes_in": int(request.headers.get("content-length", "0") or 0)
                            if request.headers.get("content-length", "").isdigit()
                            else None,
                        }
                    },
                )

    @app.get("/metrics", include_in_schema=False)
    def prometheus() -> Response:
        return metrics.render()
