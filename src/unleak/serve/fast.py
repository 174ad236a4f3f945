"""The hot path: `GET /m/lookup` and `GET /m/raw_lookup` by hash, answered without FastAPI.

A platform calls these on every upload. FastAPI's routing, parameter validation and response
serialisation cost more than the index search itself, so this plain ASGI layer, placed inside
the key, rate-limit, size-limit and metrics middleware (which see every request as before),
answers the common case itself: a known signal type, a valid hash, plain parameters, and an
answer the server holds in memory (`platform_banks.lookup_in_memory`). Anything else, from a
bad hash to `?url=` or a store changed since the last look, goes on to the FastAPI route, which
stays the one definition of the API. tests/test_serve_fast.py holds the two to the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Receive, Scope, Send

from unleak import platform_banks as pb
from unleak.serve import guard

try:  # the same bytes as FastAPI's `json.dumps(..., separators=(",", ":"))` for these answers
    import orjson

    def _dumps(obj: object) -> bytes:
        return orjson.dumps(obj)

except ImportError:  # pragma: no cover - orjson is optional

    def _dumps(obj: object) -> bytes:
        return json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


LOOKUP, RAW_LOOKUP = "/m/lookup", "/m/raw_lookup"
# The parameters the fast path understands; any other (url, explain, variants, ...) goes on.
_LOOKUP_PARAMS = frozenset({"signal_type", "signal", "banks", "seed"})
_RAW_PARAMS = frozenset({"signal_type", "signal", "banks", "include_distance"})
_BOOL = {"true": True, "false": False}


class FastLookup:
    """Answers `GET /m/lookup` and `GET /m/raw_lookup` by hash from memory, else passes on."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        matcher: pb.PlatformMatcher,
        on_lookup: Callable[[str, object], None],
        routes: Any,
    ) -> None:
        self.app, self.matcher, self.on_lookup, self.routes = app, matcher, on_lookup, routes
        self._route: dict[str, Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            path = scope["path"]
            if path in (LOOKUP, RAW_LOOKUP):
                body = self._answer(path, scope)
                if body is not None:
                    # The route's template, as FastAPI's router leaves it for the metrics.
                    scope["route"] = self._route_of(path)
                    await send(
                        {
                            "type": "http.response.start",
                            "status": 200,
                            "headers": [
                                (b"content-length", str(len(body)).encode()),
                                (b"content-type", b"application/json"),
                            ],
                        }
                    )
                    await send({"type": "http.response.body", "body": body})
                    return
        await self.app(scope, receive, send)

    def _answer(self, path: str, scope: Scope) -> bytes | None:
        """The answer's body, or None when the FastAPI route should answer."""
        params: dict[str, str] = {}
        for k, v in _pairs(scope["query_string"].decode("latin-1")):
            if k in params or not v:
                return None  # repeated or empty: the route's own parsing decides
            params[k] = v
        signal_type, signal = params.get("signal_type"), params.get("signal")
        if signal_type not in pb.SIGNAL_TYPES or signal is None:
            return None
        key = scope.get("state", {}).get("key")
        banks = params.get("banks")
        wanted = guard.banks_for_key(key, set(banks.split(",")) if banks else None)
        try:
            if path == LOOKUP:
                if not params.keys() <= _LOOKUP_PARAMS:
                    return None
                found = pb.lookup_in_memory(self.matcher, signal_type, signal, banks=wanted, seed=params.get("seed"))
                if found is None:
                    return None
                self.on_lookup(signal_type, found)
                return _dumps(found)
            if not params.keys() <= _RAW_PARAMS:
                return None
            distance = _BOOL.get(params.get("include_distance", "false"))
            if distance is None:
                return None
            hits = pb.raw_lookup_in_memory(self.matcher, signal_type, signal, wanted)
        except pb.PlatformError:
            return None  # a bad hash: the route answers it, with its own message
        if hits is None:
            return None
        if distance:
            return _dumps({"matches": [{"bank_content_id": h.content_id, "distance": str(h.distance)} for h in hits]})
        return _dumps({"matches": [h.content_id for h in hits]})

    def _route_of(self, path: str) -> Any:
        route = self._route.get(path)
        if route is None:
            route = self._route[path] = _find_get(self.routes.routes, path)
        return route


def _pairs(query: str) -> list[tuple[str, str]]:
    """The query's (name, value) pairs as Starlette reads them (`parse_qsl`), by a plain split
    when there is nothing to decode."""
    if "%" in query or "+" in query:
        return parse_qsl(query, keep_blank_values=True)
    return [(k, v) for k, _, v in (part.partition("=") for part in query.split("&") if part)]


def _find_get(routes: Any, path: str) -> Any:
    """The GET route of this path, looking into FastAPI's included routers."""
    for r in routes:
        inner = getattr(r, "original_router", None)
        if inner is not None:
            found = _find_get(inner.routes, path)
            if found is not None:
                return found
        elif getattr(r, "path", None) == path and "GET" in (getattr(r, "methods", None) or ()):
            return r
    return None
