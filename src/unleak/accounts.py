"""Accounts of `unleak app`: who may log in, in which role, and which cases each may open.

Two roles: an `admin` opens every case and manages accounts; a `caseworker` opens only the cases
assigned to them. Passwords go through `unleak.auth` (argon2id), as `unleak serve`'s keys do. Every
action taken in the app is written to the case's evidence log with the account's name as its actor
(`unleak.evidence.log.acting_as`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from unleak import auth
from unleak.errors import InvalidInput, NotFound, UnleakError
from unleak.store import Store
from unleak.store.models import AppCaseAccess, AppUser, Case
from unleak.text import check_name

ROLES = ("admin", "caseworker")

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


def authenticate(store: Store, name: str, password: str) -> Account | None:
    """The account if `password` is its password; None otherwise (same time either way)."""
    global _DUMMY_HASH
    with store.session() as s:
        u = s.scalar(select(AppUser).where(AppUser.name == name))
        if u is None or u.disabled:
            if _DUMMY_HASH is None:
                _DUMMY_HASH = auth.hash_secret("unleak-no-such-account")
            auth.verify_secret(_DUMMY_HASH, password)
            return None
        if not auth.verify_secret(u.password_hash, password):
            return None
        if auth.needs_rehash(u.password_hash):
            u.password_hash = auth.hash_secret(password)
        return _account(s, u)


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
