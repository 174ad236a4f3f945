"""Accounts of `unleak app`: who may log in, in which role, and which cases each may open.

Two roles: an `admin` opens every case and manages accounts; a `caseworker` opens only the cases
assigned to them. Passwords go through `unleak.auth` (argon2id), as `unleak serve`'s keys do. Every
action taken in the app is written to the case's evidence log with the account's name as its actor
(`unleak.evidence.log.acting_as`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select

from unleak import auth
from unleak.errors import InvalidInput, NotFound, UnleakError
from unleak.store import Store
from unleak.store.models import AppCaseAccess, AppLoginFailure, AppSession, AppUser, Case, utcnow
from unleak.text import check_name

ROLES = ("admin", "caseworker")

log = logging.getLogger("unleak.accounts")

# Lockout: this many failed logins within LOCK_WINDOW refuse further tries until the oldest of them
# leaves the window. Per account name (known or not, so a lockout does not tell which names exist)
# and, more loosely, per client address (one address guessing many names).
LOCK_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_ADDRESS = 20
SESSION_LIFETIME = timedelta(hours=12)


class LoginLocked(UnleakError):
    """Too many failed logins: `retry_at` says when the next try will be heard."""

    def __init__(self, message: str, retry_at: datetime) -> None:
        self.retry_at = retry_at
        super().__init__(message, hint=f"try again after {retry_at:%H:%M} UTC, or ask an admin")


# A constant hash to verify against when the name is unknown, so that a wrong name costs as long
# as a wrong password and timing does not tell which names exist.
_DUMMY_HASH: str | None = None


@dataclass(frozen=True)
class Account:
    id: int
    name: str
    role: str
    created_at: datetime
    cases: tuple[str, ...] = ()

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "name": self.name,
            "role": self.role,
            "created_at": self.created_at.isoformat(),
            "cases": list(self.cases),
        }


def _account(s, u: AppUser) -> Account:
    names = s.scalars(
        select(Case.name).join(AppCaseAccess, AppCaseAccess.case_id == Case.id).where(AppCaseAccess.user_id == u.id)
    )
    return Account(u.id, u.name, u.role, u.created_at, tuple(sorted(names)))


def add_user(store: Store, name: str, role: str, password: str) -> Account:
    """A new account; its password is checked (`auth.check_password`) and stored only as a hash."""
    name = check_name(name, "account name", max_length=100)
    if role not in ROLES:
        raise InvalidInput(f"unknown role {role!r}", hint="use admin or caseworker")
    auth.check_password(password)
    digest = auth.hash_secret(password)
    with store.session() as s:
        if s.scalar(select(AppUser.id).where(AppUser.name == name)) is not None:
            raise UnleakError(f"an account named {name!r} already exists", hint="choose another name")
        u = AppUser(name=name, role=role, password_hash=digest)
        s.add(u)
        s.flush()
        return _account(s, u)


def list_users(store: Store) -> list[Account]:
    with store.session() as s:
        return [_account(s, u) for u in s.scalars(select(AppUser).order_by(AppUser.id))]


def has_accounts(store: Store) -> bool:
    with store.session() as s:
        return s.scalar(select(AppUser.id).limit(1)) is not None


def _user(s, name: str) -> AppUser:
    u = s.scalar(select(AppUser).where(AppUser.name == name))
    if u is None:
        raise NotFound(f"no such account {name[:100]!r}", hint="see `unleak users list`")
    return u


def assign_case(store: Store, name: str, case: str) -> Account:
    """Let a caseworker open a case (idempotent)."""
    with store.session() as s:
        u = _user(s, name)
        c = store.case(s, case)
        if s.scalar(select(AppCaseAccess.id).where(AppCaseAccess.user_id == u.id, AppCaseAccess.case_id == c.id)):
            return _account(s, u)
        s.add(AppCaseAccess(user_id=u.id, case_id=c.id))
        s.flush()
        return _account(s, u)


def _locked_until(s, key: str, limit: int, now: datetime) -> datetime | None:
    times = list(
        s.scalars(
            select(AppLoginFailure.at)
            .where(AppLoginFailure.key == key, AppLoginFailure.at > now - LOCK_WINDOW)
            .order_by(AppLoginFailure.at.desc())
            .limit(limit)
        )
    )
    if len(times) < limit:
        return None
    return times[-1] + LOCK_WINDOW  # the oldest of the last `limit` failures leaves the window then


def login_lock(store: Store, name: str, address: str | None = None) -> datetime | None:
    """When logins as `name` (or from `address`) will be heard again, or None if they are now."""
    now = utcnow()
    with store.session() as s:
        until = [_locked_until(s, f"account:{name[:100]}", MAX_FAILURES_PER_ACCOUNT, now)]
        if address:
            until.append(_locked_until(s, f"address:{address[:100]}", MAX_FAILURES_PER_ADDRESS, now))
    found = [u for u in until if u is not None]
    return max(found) if found else None


def authenticate(store: Store, name: str, password: str, address: str | None = None) -> Account | None:
    """The account if `password` is its password; None otherwise (same time either way).

    Raises `LoginLocked` (checked before the password, so a locked account tells nothing about it)
    after too many failures for this name or from this client `address`; each failure and each
    lockout is logged (logger `unleak.accounts`) with the name and address, never the password."""
    global _DUMMY_HASH
    until = login_lock(store, name, address)
    if until is not None:
        log.warning("login refused while locked: account %r from %s until %s", name[:100], address, until)
        minutes = max(1, int((until - utcnow()).total_seconds() // 60) + 1)
        raise LoginLocked(
            f"too many failed logins for this account or from this address; logins are refused for about "
            f"{minutes} more minute{'s' if minutes != 1 else ''}",
            retry_at=until,
        )
    with store.session() as s:
        u = s.scalar(select(AppUser).where(AppUser.name == name))
        ok = False
        if u is None or u.disabled:
            if _DUMMY_HASH is None:
                _DUMMY_HASH = auth.hash_secret("unleak-no-such-account")
            auth.verify_secret(_DUMMY_HASH, password)
        else:
            ok = auth.verify_secret(u.password_hash, password)
        if not ok:
            s.execute(delete(AppLoginFailure).where(AppLoginFailure.at <= utcnow() - LOCK_WINDOW))  # aged out
            s.add(AppLoginFailure(key=f"account:{name[:100]}"))
            if address:
                s.add(AppLoginFailure(key=f"address:{address[:100]}"))
            s.flush()
            log.warning("failed login: account %r from %s", name[:100], address)
            return None
        assert u is not None
        s.execute(delete(AppLoginFailure).where(AppLoginFailure.key == f"account:{u.name}"))
        if auth.needs_rehash(u.password_hash):
            u.password_hash = auth.hash_secret(password)
        log.info("login: account %r from %s", u.name, address)
        return _account(s, u)


def clear_login_failures(store: Store, name: str) -> int:
    """Lift a lockout of `name` (an admin's door); how many failures were forgotten."""
    with store.session() as s:
        n = s.execute(delete(AppLoginFailure).where(AppLoginFailure.key == f"account:{name[:100]}"))
        return int(getattr(n, "rowcount", 0) or 0)


# --- sessions -------------------------------------------------------------------------------------
# A session's token is 256 random bits, given only to the browser (in its cookie); the database keeps
# its SHA-256. A slow password hash (argon2) is for guessable secrets; nobody can guess 2^256, so a
# fast hash loses nothing and lets every request find its session by an index lookup.


@dataclass
class WebSession:
    """A logged-in browser: who (`actor`: an account name, or "owner" for the one-time link),
    its CSRF token, the copies it chose to reveal, and messages to show on its next page."""

    token_sha256: str
    actor: str
    account: Account | None
    csrf: str
    created: datetime
    expires: datetime
    revealed: set[int] = field(default_factory=set)
    flash: list[tuple[str, str]] = field(default_factory=list)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def start_session(store: Store, actor: str, account: Account | None = None) -> tuple[str, WebSession]:
    """A new session: (the token for the cookie, the session). Expired sessions are purged."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    sess = WebSession(_token_hash(token), actor[:100], account, secrets.token_urlsafe(32), now, now + SESSION_LIFETIME)
    with store.session() as s:
        s.execute(delete(AppSession).where(AppSession.expires_at <= now))
        s.add(
            AppSession(
                token_sha256=sess.token_sha256,
                actor=sess.actor,
                user_id=account.id if account else None,
                csrf=sess.csrf,
                created_at=now,
                expires_at=sess.expires,
                state="{}",
            )
        )
    return token, sess


def load_session(store: Store, token: str) -> WebSession | None:
    """The session of a cookie's token; None if unknown, expired, or its account disabled since."""
    if not token or len(token) > 200:
        return None
    with store.session() as s:
        row = s.scalar(select(AppSession).where(AppSession.token_sha256 == _token_hash(token)))
        if row is None or row.expires_at <= utcnow():
            return None
        account = None
        if row.user_id is not None:
            u = s.get(AppUser, row.user_id)
            if u is None or u.disabled:
                return None
            account = _account(s, u)
        state = json.loads(row.state or "{}")
        return WebSession(
            row.token_sha256,
            row.actor,
            account,
            row.csrf,
            row.created_at,
            row.expires_at,
            {int(i) for i in state.get("revealed", [])},
            [(str(k), str(m)) for k, m in state.get("flash", [])],
        )


def save_session(store: Store, sess: WebSession) -> None:
    """Write back what the session chose to reveal and its pending messages."""
    state = json.dumps({"revealed": sorted(sess.revealed), "flash": sess.flash})
    with store.session() as s:
        row = s.scalar(select(AppSession).where(AppSession.token_sha256 == sess.token_sha256))
        if row is not None:
            row.state = state


def end_session(store: Store, token: str) -> bool:
    """Log out: forget the session (True if there was one)."""
    with store.session() as s:
        n = s.execute(delete(AppSession).where(AppSession.token_sha256 == _token_hash(token)))
        return bool(getattr(n, "rowcount", 0))


def count_sessions(store: Store) -> int:
    with store.session() as s:
        return int(s.scalar(select(func.count(AppSession.id)).where(AppSession.expires_at > utcnow())) or 0)


def get_account(store: Store, name: str) -> Account | None:
    with store.session() as s:
        u = s.scalar(select(AppUser).where(AppUser.name == name))
        return _account(s, u) if u is not None and not u.disabled else None


def may_open(store: Store, account: Account | None, case: str) -> bool:
    """Whether `account` may open `case` (None: the machine's own person, who opens every case)."""
    if account is None or account.is_admin:
        return True
    with store.session() as s:
        c = s.scalar(select(Case).where(Case.name == case))
        if c is None:
            return False
        u = s.scalar(select(AppUser).where(AppUser.name == account.name))
        if u is None or u.disabled:
            return False
        return (
            s.scalar(select(AppCaseAccess.id).where(AppCaseAccess.user_id == u.id, AppCaseAccess.case_id == c.id))
            is not None
        )


def visible_cases(store: Store, account: Account | None) -> list[str]:
    """The names of the cases `account` may open, oldest first."""
    with store.session() as s:
        q = select(Case.name).order_by(Case.id)
        if account is not None and not account.is_admin:
            q = q.join(AppCaseAccess, AppCaseAccess.case_id == Case.id).join(
                AppUser, AppUser.id == AppCaseAccess.user_id
            )
            q = q.where(AppUser.name == account.name)
        return list(s.scalars(q))
