"""What stands in front of every route: API keys and roles, rate limits, body size limits, and
the curator audit log. Thin: the decisions are `unleak.serve_keys`'s."""

from __future__ import annotations

import fcntl
import logging
import mmap
import os
import struct
import threading
import time
from typing import Protocol

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from unleak import platform_banks as pb
from unleak import serve_keys as ks
from unleak.serve import ops
from unleak.store.db import Store

log = logging.getLogger(__name__)


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
                too_large = JSONResponse({"message": f"Request body too large: over {limit:,} bytes"}, status_code=413)
                await too_large(scope, receive, send)

        await self.app(scope, counted, answer)


def take_token(tokens: float, at: float, now: float, rate: float) -> tuple[float, float]:
    """One request against a token bucket of `rate` a second (bursts of a second's worth) that
    held `tokens` at time `at`: (tokens left, seconds to wait: 0 when allowed)."""
    burst = max(1.0, rate)
    tokens = min(burst, tokens + max(0.0, now - at) * rate)
    if tokens >= 1.0:
        return tokens - 1.0, 0.0
    return tokens, (1.0 - tokens) / rate


class RateLimiter:
    """A token bucket per key: `rate` requests a second on average, bursts of a second's worth."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[int, tuple[float, float]] = {}  # key id -> (tokens, at)

    def allow(self, key_id: int, rate: float) -> float:
        """0 when allowed, else the seconds until the next request would be."""
        now = time.monotonic()
        with self._lock:
            tokens, at = self._buckets.get(key_id, (max(1.0, rate), now))
            tokens, wait = take_token(tokens, at, now, rate)
            self._buckets[key_id] = (tokens, now)
            return wait


class Limiter(Protocol):
    def allow(self, key_id: int, rate: float) -> float: ...


class SharedRateLimiter:
    """`RateLimiter`'s buckets in one file that every worker maps, so a key limited to R requests
    a second gets about R across all workers, not N x R. A slot a key: (key id, tokens, time),
    found by open addressing, read and written under an fcntl lock: a few microseconds a request,
    no database. The clock is the machine's monotonic one, the same in every process."""

    SLOTS = 8192
    _SLOT = struct.Struct("<qdd")

    def __init__(self, path: str) -> None:
        size = self.SLOTS * self._SLOT.size
        # Never through a link planted in the run directory.
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        if os.fstat(self._fd).st_size < size:
            os.ftruncate(self._fd, size)  # zeros: every slot empty (key ids start at 1)
        self._map = mmap.mmap(self._fd, size)
        self._lock = threading.Lock()  # fcntl locks are per process: threads take this first
        self._full_logged = False

    def allow(self, key_id: int, rate: float) -> float:
        """0 when allowed, else the seconds until the next request would be."""
        with self._lock:
            fcntl.lockf(self._fd, fcntl.LOCK_EX)
            try:
                now = time.monotonic()
                offset = self._slot(key_id)
                if offset is None:
                    if not self._full_logged:
                        self._full_logged = True
                        log.warning("rate limits: all %d slots are taken; other keys are not limited", self.SLOTS)
                    return 0.0  # every slot taken by other keys: not limited rather than refused
                found, tokens, at = self._SLOT.unpack_from(self._map, offset)
                if found != key_id:
                    tokens, at = max(1.0, rate), now
                tokens, wait = take_token(tokens, at, now, rate)
                self._SLOT.pack_into(self._map, offset, key_id, tokens, now)
                return wait
            finally:
                fcntl.lockf(self._fd, fcntl.LOCK_UN)

    def _slot(self, key_id: int) -> int | None:
        """The offset of this key's slot, or of the empty slot it takes; None when all are taken."""
        for probe in range(self.SLOTS):
            offset = ((key_id + probe) % self.SLOTS) * self._SLOT.size
            (found,) = struct.unpack_from("<q", self._map, offset)
            if found in (key_id, 0):
                return offset
        return None


RATE_FILE = "rate-limits"


def rate_limiter(run_dir: str | None) -> Limiter:
    """The limiter for this process: shared by every worker through `run_dir` when there are
    several (`unleak serve --workers N`), else this process's own."""
    if run_dir is None:
        return RateLimiter()
    return SharedRateLimiter(os.path.join(ops.check_run_dir(run_dir), RATE_FILE))


def _refuse(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"message": message}, status_code=status, headers=headers)


def install(
    app: FastAPI, store: Store, *, beyond_loopback: bool, rate_per_s: float | None, run_dir: str | None = None
) -> ks.KeyChecker:
    """Put keys, roles, rate limits and the audit log in front of `app`'s routes; with `run_dir`,
    rate limits hold across the workers sharing it."""
    checker = ks.KeyChecker()
    limiter = rate_limiter(run_dir)
    app.add_middleware(
        Guard, store=store, checker=checker, beyond_loopback=beyond_loopback, rate_per_s=rate_per_s, limiter=limiter
    )
    return checker


class Guard:
    """Keys, roles, rate limits and the curator audit log, as plain ASGI middleware (no
    per-request `Request`/`Response` objects, no task group: a lookup pays only for the check).
    The key a request was let in with is left in `scope["state"]["key"]` (`request.state.key`)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        store: Store,
        checker: ks.KeyChecker,
        beyond_loopback: bool,
        rate_per_s: float | None,
        limiter: Limiter | None = None,
    ) -> None:
        self.app, self.store, self.checker = app, store, checker
        self.beyond_loopback, self.rate_per_s = beyond_loopback, rate_per_s
        self.limiter = limiter or RateLimiter()

    def _keys_required(self) -> bool:
        with self.store.session() as s:
            return self.checker.keys_required(s, self.beyond_loopback)

    def _check(self, token: str) -> ks.KeyInfo | None:
        with self.store.session() as s:
            return self.checker.check(s, token)

    def _audit(self, key: ks.KeyInfo | None, method: str, path: str, status: int, client: str) -> None:
        with self.store.session() as s:
            ks.record(s, key, method, path, status, client)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        state["key"] = None
        path, method = scope["path"], scope["method"]
        if ks.role_for(path) is None:
            await self.app(scope, receive, send)
            return
        authorization: str | None = None
        for name, value in scope.get("headers", ()):
            if name.lower() == b"authorization":
                authorization = value.decode("latin-1")
                break
        refusal = await self._refusal(scope, method, path, authorization)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        if not ks.is_curator_action(method, path):
            await self.app(scope, receive, send)
            return
        audited = False

        async def audit_first(message: Message) -> None:
            # Written before the client sees the answer: a client that reads the audit log right
            # after an action finds it there.
            nonlocal audited
            if message["type"] == "http.response.start" and not audited:
                audited = True
                await run_in_threadpool(self._audit, state["key"], method, path, message["status"], _client(scope))
            await send(message)

        try:
            await self.app(scope, receive, audit_first)
        except Exception:
            if not audited:
                await run_in_threadpool(self._audit, state["key"], method, path, 500, _client(scope))
            raise

    async def _refusal(self, scope: Scope, method: str, path: str, authorization: str | None) -> JSONResponse | None:
        """The answer refusing this request, or None (the key, if any, is then in the scope)."""
        token = ks.token_from_header(authorization)
        if token is None and authorization:
            return _refuse(401, "malformed Authorization header: send 'Authorization: Bearer <key>'", _CHALLENGE)
        if token is None:
            required = self.checker.known_required(self.beyond_loopback)
            if required is None:
                required = await run_in_threadpool(self._keys_required)
            if required:
                return _refuse(401, "an API key is required: send 'Authorization: Bearer <key>'", _CHALLENGE)
            return None
        key = self.checker.cached(token) or await run_in_threadpool(self._check, token)
        if key is None:
            return _refuse(401, "invalid or revoked API key", _CHALLENGE)
        why = ks.refusal(key, method, path)
        if why is not None:
            if ks.is_curator_action(method, path):
                await run_in_threadpool(self._audit, key, method, path, 403, _client(scope))
            return _refuse(403, why)
        rate = key.rate_per_s or self.rate_per_s
        if rate:
            wait = self.limiter.allow(key.id, rate)
            if wait > 0:
                return _refuse(429, "too many requests for this key", {"Retry-After": str(max(1, round(wait)))})
        scope["state"]["key"] = key
        return None


def _client(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else ""


_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="unleak serve"'}


def bank_scope(request: Request, wanted: set[str] | None) -> set[str] | None:
    """The banks a lookup may answer from: those asked for, within the key's one bank if limited."""
    return banks_for_key(getattr(request.state, "key", None), wanted)


def banks_for_key(key: ks.KeyInfo | None, wanted: set[str] | None) -> set[str] | None:
    """`bank_scope` for the key a request was let in with."""
    if key is None or key.bank is None:
        return wanted
    return {key.bank} if wanted is None else wanted & {key.bank}
