"""What stands in front of every route: API keys and roles, rate limits, body size limits, and
the curator audit log. Thin: the decisions are `unleak.serve_keys`'s."""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from unleak import platform_banks as pb
from unleak import serve_keys as ks
from unleak.store.db import Store


class BodyTooLarge(pb.TooLarge):
    pass


class BodyLimit:
    """413 for a body over the limit: uploads (multipart) get the upload limit plus room for the
    form's other fields, every other body `max_json_bytes`. Declared lengths are refused before
    reading; chunked bodies are counted as they arrive."""

    def __init__(self, app: ASGIApp, max_upload: int, max_json: int) -> None:
        self.app, self.max_upload, self.max_json = app, max_upload, max_json

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        multipart = headers.get(b"content-type", b"").startswith(b"multipart/form-data")
        limit = self.max_upload + 1024 * 1024 if multipart else self.max_json
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            response = JSONResponse({"message": f"Request body too large: over {limit:,} bytes"}, status_code=413)
            await response(scope, receive, send)
            return
        seen, over = 0, False

        async def counted() -> Message:
            nonlocal seen, over
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    over = True
                    raise BodyTooLarge(f"Request body too large: over {limit:,} bytes")
            return message

        async def answer(message: Message) -> None:
            # A route's body parser may turn the error into its own 400: the 413 wins.
            if not over:
                await send(message)
            elif message["type"] == "http.response.start":
                await too_large(scope, receive, send)

        too_large = JSONResponse({"message": f"Request body too large: over {limit:,} bytes"}, status_code=413)
        await self.app(scope, counted, answer)


class RateLimiter:
    """A token bucket per key: `rate` requests a second on average, bursts of a second's worth."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[int, tuple[float, float]] = {}  # key id -> (tokens, at)

    def allow(self, key_id: int, rate: float) -> float:
        """0 when allowed, else the seconds until the next request would be."""
        burst = max(1.0, rate)
        now = time.monotonic()
        with self._lock:
            tokens, at = self._buckets.get(key_id, (burst, now))
            tokens = min(burst, tokens + (now - at) * rate)
            if tokens >= 1.0:
                self._buckets[key_id] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key_id] = (tokens, now)
            return (1.0 - tokens) / rate


def _refuse(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"message": message}, status_code=status, headers=headers)


def install(app: FastAPI, store: Store, *, beyond_loopback: bool, rate_per_s: float | None) -> ks.KeyChecker:
    """Put keys, roles, rate limits and the audit log in front of `app`'s routes."""
    checker = ks.KeyChecker()
    limiter = RateLimiter()

    def keys_required() -> bool:
        with store.session() as s:
            return checker.keys_required(s, beyond_loopback)

    def check(token: str) -> ks.KeyInfo | None:
        with store.session() as s:
            return checker.check(s, token)

    def audit(key: ks.KeyInfo | None, method: str, path: str, status: int, client: str) -> None:
        with store.session() as s:
            ks.record(s, key, method, path, status, client)

    @app.middleware("http")
    async def guard(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        path, method = request.url.path, request.method
        request.state.key = None
        if ks.role_for(path) is None:
            return await call_next(request)
        token = ks.token_from_header(request.headers.get("authorization"))
        if token is None and request.headers.get("authorization"):
            return _refuse(401, "malformed Authorization header: send 'Authorization: Bearer <key>'", _CHALLENGE)
        if token is None:
            required = checker.known_required(beyond_loopback)
            if required is None:
                required = await run_in_threadpool(keys_required)
            if required:
                return _refuse(401, "an API key is required: send 'Authorization: Bearer <key>'", _CHALLENGE)
            key = None
        else:
            key = checker.cached(token) or await run_in_threadpool(check, token)
            if key is None:
                return _refuse(401, "invalid or revoked API key", _CHALLENGE)
            why = ks.refusal(key, method, path)
            client = request.client.host if request.client else ""
            if why is not None:
                if ks.is_curator_action(method, path):
                    await run_in_threadpool(audit, key, method, path, 403, client)
                return _refuse(403, why)
            rate = key.rate_per_s or rate_per_s
            if rate:
                wait = limiter.allow(key.id, rate)
                if wait > 0:
                    return _refuse(429, "too many requests for this key", {"Retry-After": str(max(1, round(wait)))})
        request.state.key = key
        if not ks.is_curator_action(method, path):
            return await call_next(request)
        client = request.client.host if request.client else ""
        try:
            response = await call_next(request)
        except Exception:
            await run_in_threadpool(audit, key, method, path, 500, client)
            raise
        await run_in_threadpool(audit, key, method, path, response.status_code, client)
        return response

    return checker


_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="unleak serve"'}


def bank_scope(request: Request, wanted: set[str] | None) -> set[str] | None:
    """The banks a lookup may answer from: those asked for, within the key's one bank if limited."""
    key: Any = getattr(request.state, "key", None)
    if key is None or key.bank is None:
        return wanted
    return {key.bank} if wanted is None else wanted & {key.bank}
