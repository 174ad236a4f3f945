"""API keys, roles and the curator audit log of `unleak serve`.

A key is made with a role (`hasher` for /h, `matcher` for /m, `curator` for /c, as HMA's role
flags), optionally limited to one platform bank. It is printed once; the store keeps only its
argon2id hash (`unleak.auth`, shared with the web app's accounts), in its own table. Clients send
it as `Authorization: Bearer <key>`.

Checking an argon2 hash costs about 0.2 s, which is the point for a stolen table but far too much
for every lookup, so `KeyChecker` keeps successful checks in memory, keyed by a SHA-256 of the
token (never the token itself), and re-reads the key's row at most once a second, so a
revocation by any process (`unleak keys revoke`) takes effect within a second on every worker.

Whether a server needs keys: on loopback with no key defined it runs open, as HMA does; once any
key has been made, or whenever it listens beyond loopback, every request but health checks needs
one (`require_key`).
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from unleak.auth import hash_secret, new_token, split_token, verify_secret
from unleak.errors import InvalidInput, NotFound
from unleak.store.models import ServeAudit, ServeKey, utcnow

ROLES = ("hasher", "matcher", "curator")
TOKEN_PREFIX = "unleak"
KEY_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}")
# Paths every client may reach without a key: health checks (load balancers) and the API's shape.
METRICS_PATH = "/metrics"
OPEN_PATHS = frozenset({"/", "/status", "/status/live", "/site-map", "/openapi/openapi.json"})
_BANK_PATH = re.compile(r"^/c/bank/([^/]+)(?:/|$)")
# A bank-limited curator may still read what every client needs to build requests.
_SHARED_CURATOR_READS = frozenset({"/c/signal_type", "/c/content_type", "/c/signal_type/index"})


@dataclass(frozen=True)
class KeyInfo:
    """What a request's key allows: its roles and, when limited, its one bank."""

    id: int
    name: str
    roles: tuple[str, ...]
    bank: str | None
    rate_per_s: float | None


def parse_roles(text: str) -> tuple[str, ...]:
    roles = tuple(dict.fromkeys(r.strip() for r in text.split(",") if r.strip()))
    unknown = [r for r in roles if r not in ROLES]
    if unknown or not roles:
        raise InvalidInput(f"unknown role {', '.join(unknown) or '(none)'}", f"use one or more of {', '.join(ROLES)}")
    return roles


def _info(key: ServeKey) -> KeyInfo:
    return KeyInfo(key.id, key.name, tuple(key.role.split(",")), key.bank, key.rate_per_s)


def add_key(
    s: Session, name: str, roles: str | Iterable[str], bank: str | None = None, rate_per_s: float | None = None
) -> tuple[ServeKey, str]:
    """A new key: `(row, token)`. The token is shown once; only its secret's hash is stored."""
    from unleak.platform_banks import PlatformError, check_bank_name

    if not KEY_NAME.fullmatch(name):
        raise InvalidInput(
            f"bad key name {name[:40]!r}", "use letters, digits and . _ @ - (up to 100), e.g. the platform's name"
        )
    role_text = parse_roles(roles if isinstance(roles, str) else ",".join(roles))
    if bank is not None:
        try:
            check_bank_name(bank)
        except PlatformError:
            raise InvalidInput(f"bad bank name {bank[:40]!r}", "bank names are UPPER_WITH_UNDERSCORE") from None
    if rate_per_s is not None and not rate_per_s > 0:
        raise InvalidInput("the rate must be above 0 requests a second")
    if s.scalar(select(ServeKey.id).where(ServeKey.name == name, ServeKey.revoked_at.is_(None))) is not None:
        raise InvalidInput(f"a key named {name} exists", "revoke it first (`unleak keys revoke`) or pick another name")
    key = ServeKey(name=name, role=",".join(role_text), bank=bank, secret_hash="", rate_per_s=rate_per_s)
    s.add(key)
    s.flush()
    token, secret = new_token(TOKEN_PREFIX, key.id)
    key.secret_hash = hash_secret(secret)
    s.flush()
    return key, token


def list_keys(s: Session, *, include_revoked: bool = False) -> list[ServeKey]:
    q = select(ServeKey).order_by(ServeKey.id)
    if not include_revoked:
        q = q.where(ServeKey.revoked_at.is_(None))
    return list(s.scalars(q))


def revoke_key(s: Session, name_or_id: str) -> ServeKey:
    """Revoke a live key by name (or id); refused within a second by every server."""
    q = select(ServeKey).where(ServeKey.revoked_at.is_(None))
    if name_or_id.isdigit():
        q = q.where(ServeKey.id == int(name_or_id))
    else:
        q = q.where(ServeKey.name == name_or_id)
    key = s.scalar(q)
    if key is None:
        raise NotFound(f"no live key {name_or_id!r}", "see `unleak keys list`")
    key.revoked_at = utcnow()
    s.flush()
    for checker in list(_CHECKERS):
        checker.forget(key.id)
    return key


def any_keys(s: Session) -> bool:
    """Whether a key was ever made here (revoked ones count: the server stays locked)."""
    return s.scalar(select(ServeKey.id).limit(1)) is not None


def key_json(key: ServeKey) -> dict[str, object]:
    return {
        "id": key.id,
        "name": key.name,
        "roles": key.role.split(","),
        "bank": key.bank,
        "rate_per_s": key.rate_per_s,
        "created_at": key.created_at.isoformat(timespec="seconds"),
        "revoked_at": key.revoked_at.isoformat(timespec="seconds") if key.revoked_at else None,
    }


# --- checking a request ------------------------------------------------------------------------


def token_from_header(value: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None."""
    if not value:
        return None
    scheme, _, token = value.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > 200:
        return None
    return token


_CHECKERS: list[KeyChecker] = []


class KeyChecker:
    """Checks tokens against the store, remembering successful checks (see the module doc)."""

    def __init__(self, recheck_s: float = 1.0, max_entries: int = 10_000) -> None:
        self.recheck_s = recheck_s
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._ok: dict[bytes, tuple[KeyInfo, float]] = {}
        # argon2 takes 64 MiB and ~0.2 s: at most two at once, so wrong keys cannot starve a server.
        self._argon = threading.BoundedSemaphore(2)
        self._locked_since: float | None = None  # when a key was first seen to exist
        self._open_checked = 0.0
        _CHECKERS.append(self)

    def forget(self, key_id: int) -> None:
        with self._lock:
            self._ok = {k: v for k, v in self._ok.items() if v[0].id != key_id}

    def cached(self, token: str) -> KeyInfo | None:
        """The key of a token checked less than `recheck_s` ago, without touching the store."""
        entry = self._ok.get(hashlib.sha256(token.encode()).digest())
        if entry is not None and time.monotonic() - entry[1] < self.recheck_s:
            return entry[0]
        return None

    def check(self, s: Session, token: str) -> KeyInfo | None:
        """The live key this token is, or None (unknown, wrong secret, revoked)."""
        digest = hashlib.sha256(token.encode()).digest()
        now = time.monotonic()
        entry = self._ok.get(digest)
        if entry is not None:
            if now - entry[1] < self.recheck_s:
                return entry[0]
            revoked = s.scalar(select(ServeKey.revoked_at).where(ServeKey.id == entry[0].id))
            with self._lock:
                if revoked is not None:
                    self._ok.pop(digest, None)
                    return None
                self._ok[digest] = (entry[0], now)
            return entry[0]
        parts = split_token(token, TOKEN_PREFIX)
        if parts is None:
            return None
        key = s.get(ServeKey, parts[0])
        if key is None or key.revoked_at is not None or not key.secret_hash:
            return None
        with self._argon:
            # Connections that arrive together with one new key (a client opening its pool, a
            # restart) wait here for one check, instead of each paying for argon2.
            entry = self._ok.get(digest)
            if entry is not None and entry[0].id == key.id and time.monotonic() - entry[1] < self.recheck_s:
                return entry[0]
            if not verify_secret(key.secret_hash, parts[1]):
                return None
        info = _info(key)
        with self._lock:
            if len(self._ok) >= self.max_entries:
                self._ok.clear()
            self._ok[digest] = (info, time.monotonic())
        return info

    def known_required(self, beyond_loopback: bool) -> bool | None:
        """Whether requests need a key, when that is known without the store; else None."""
        if beyond_loopback or self._locked_since is not None:
            return True
        if time.monotonic() - self._open_checked < self.recheck_s:
            return False
        return None

    def keys_required(self, s: Session, beyond_loopback: bool) -> bool:
        """Whether requests need a key: beyond loopback always; else once any key exists (looked
        up at most once a second while none does, and never again once one does)."""
        known = self.known_required(beyond_loopback)
        if known is not None:
            return known
        self._open_checked = time.monotonic()
        if any_keys(s):
            self._locked_since = self._open_checked
            return True
        return False


def role_for(path: str) -> str | None:
    """The role a path needs, or None for the open health and discovery paths."""
    if path in OPEN_PATHS:
        return None
    if path.startswith("/h/") or path == "/h":
        return "hasher"
    if path.startswith("/m/") or path == "/m":
        return "matcher"
    if path == METRICS_PATH:
        return "any"  # a key of any role (a scraper's), once keys are required
    return "curator"  # /c, /dev, /metrics and anything unknown: the most trusted role


def bank_of(path: str) -> str | None:
    m = _BANK_PATH.match(path)
    return m.group(1) if m else None


def refusal(key: KeyInfo, method: str, path: str) -> str | None:
    """Why `key` may not make this request (the 403 message), or None when it may."""
    role = role_for(path)
    if role is None or role == "any":
        return None
    if role not in key.roles:
        return f"this key has no {role} role"
    if key.bank is None or role != "curator":
        return None  # a bank-limited matcher is limited in the lookups' answers
    if method == "GET" and path in _SHARED_CURATOR_READS:
        return None
    if bank_of(path) != key.bank:
        return f"this key is limited to bank {key.bank}"
    return None


# --- the audit log -----------------------------------------------------------------------------

MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def is_curator_action(method: str, path: str) -> bool:
    return method in MUTATING and role_for(path) == "curator"


def record(s: Session, key: KeyInfo | None, method: str, path: str, status: int, client: str = "") -> ServeAudit:
    """Write one curator action to the audit log (the path only: query strings may hold hashes)."""
    row = ServeAudit(
        key_id=key.id if key else None,
        key_name=key.name if key else "",
        method=method[:10],
        path=path[:2000],
        bank=(bank_of(path) or "")[:200] or None,
        status=status,
        client=client[:64],
    )
    s.add(row)
    s.flush()
    return row


def parse_since(value: object) -> datetime | None:
    """`since` as a Unix time or an ISO 8601 time (UTC when no zone is given); None for absent."""
    if value is None or value == "":
        return None
    numeric = isinstance(value, int | float) and not isinstance(value, bool)
    if numeric or (isinstance(value, str) and re.fullmatch(r"\d{1,12}(\.\d+)?", value)):
        seconds = float(value)  # type: ignore[arg-type]
    elif isinstance(value, str):
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            raise InvalidInput(
                f"since must be a Unix time or an ISO 8601 time, not {value[:40]!r}", "e.g. since=2026-12-01T00:00:00Z"
            ) from None
        return when if when.tzinfo else when.replace(tzinfo=UTC)
    else:
        raise InvalidInput("since must be a Unix time or an ISO 8601 time")
    if seconds > 253402300799:
        raise InvalidInput("since is too far in the future")
    return datetime.fromtimestamp(seconds, UTC)


def audit_since(s: Session, since: datetime | None = None, limit: int = 1000) -> list[ServeAudit]:
    """Curator actions at or after `since`, oldest first, at most `limit`."""
    q = select(ServeAudit).order_by(ServeAudit.id)
    if since is not None:
        q = q.where(ServeAudit.at >= since)
    return list(s.scalars(q.limit(max(1, min(limit, 10_000)))))


def audit_json(row: ServeAudit) -> dict[str, object]:
    return {
        "id": row.id,
        "at": row.at.isoformat(timespec="seconds"),
        "ts": int(row.at.timestamp()),
        "key": row.key_name or None,
        "key_id": row.key_id,
        "method": row.method,
        "path": row.path,
        "bank": row.bank,
        "status": row.status,
        "client": row.client,
    }


def now_utc() -> datetime:
    return datetime.now(UTC)
