"""`unleak app` on a helpline's server: logins locked after repeated failures (per account and per
client address, in the library), and sessions kept in the database (hashed), so they survive a
restart, are shared by several workers, expire and end at log-out."""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from _app import Browserless, live_app
from unleak import accounts
from unleak.accounts import LoginLocked, add_user, authenticate
from unleak.app.server import SESSION_COOKIE
from unleak.store.models import AppLoginFailure, AppSession, utcnow

PASSWORD = "alice-password-1"


def _age_failures(store, minutes: int) -> None:
    with store.session() as s:
        for f in s.scalars(select(AppLoginFailure)):
            f.at = f.at - timedelta(minutes=minutes)


def test_an_account_is_locked_after_five_failures_until_they_age_out(store, caplog):
    add_user(store, "alice", "caseworker", PASSWORD)
    add_user(store, "bob", "caseworker", "bob-password-12")
    caplog.set_level(logging.INFO, logger="unleak.accounts")
    for _ in range(accounts.MAX_FAILURES_PER_ACCOUNT):
        assert authenticate(store, "alice", "wrong-guess-123", "203.0.113.7") is None
    with pytest.raises(LoginLocked) as locked:
        authenticate(store, "alice", PASSWORD, "198.51.100.1")  # the right password, from elsewhere
    assert "too many failed logins" in str(locked.value) and "try again after" in str(locked.value)
    retry = locked.value.retry_at
    assert utcnow() + timedelta(minutes=14) < retry <= utcnow() + accounts.LOCK_WINDOW
    assert f"{retry:%H:%M} UTC" in str(locked.value)
    assert authenticate(store, "bob", "bob-password-12", "203.0.113.7") is not None  # others unaffected
    failed = [r.getMessage() for r in caplog.records if "failed login" in r.getMessage()]
    assert len(failed) == 5 and "'alice'" in failed[0] and "203.0.113.7" in failed[0]
    assert any("refused while locked" in r.getMessage() for r in caplog.records)
    assert not any(PASSWORD in r.getMessage() or "wrong-guess" in r.getMessage() for r in caplog.records)
    # an unknown name locks the same way, so a lockout does not tell which names exist
    for _ in range(accounts.MAX_FAILURES_PER_ACCOUNT):
        assert authenticate(store, "nobody", "whatever-123") is None
    with pytest.raises(LoginLocked):
        authenticate(store, "nobody", "whatever-123")
    _age_failures(store, 16)
    assert authenticate(store, "alice", PASSWORD) is not None
    # a success forgets the account's failures: four more do not lock it
    for _ in range(accounts.MAX_FAILURES_PER_ACCOUNT - 1):
        authenticate(store, "alice", "wrong-guess-123")
    assert authenticate(store, "alice", PASSWORD) is not None


def test_an_admin_lifts_a_lockout_from_the_command_line(cli):
    from unleak.store import open_store

    store = open_store()
    add_user(store, "alice", "caseworker", PASSWORD)
    for _ in range(accounts.MAX_FAILURES_PER_ACCOUNT):
        authenticate(store, "alice", "wrong-guess-123")
    with pytest.raises(LoginLocked):
        authenticate(store, "alice", PASSWORD)
    code, out, _ = cli("users", "unlock", "alice")
    assert code == 0 and "5 failed login(s) forgotten" in out
    assert authenticate(store, "alice", PASSWORD) is not None


def test_one_address_guessing_many_names_is_locked_out(store, monkeypatch):
    monkeypatch.setattr(accounts, "MAX_FAILURES_PER_ADDRESS", 4)
    add_user(store, "alice", "caseworker", PASSWORD)
    for i in range(4):
        assert authenticate(store, f"guess{i}", "wrong-guess-123", "203.0.113.9") is None
    with pytest.raises(LoginLocked):
        authenticate(store, "alice", PASSWORD, "203.0.113.9")
    assert authenticate(store, "alice", PASSWORD, "198.51.100.2") is not None


def test_the_login_page_says_when_to_try_again(store):
    add_user(store, "alice", "caseworker", PASSWORD)
    with live_app(store) as live:
        c = Browserless(live)
        for _ in range(accounts.MAX_FAILURES_PER_ACCOUNT):
            assert c.login("alice", "wrong-guess-123").status_code == 401
        r = c.login("alice", PASSWORD)
        assert r.status_code == 429 and 0 < int(r.headers["retry-after"]) <= 15 * 60
        assert "too many failed logins" in r.text and "try again after" in r.text and "UTC" in r.text
        assert c.get("/").url.path == "/login"  # no session was given
        c.close()


def test_sessions_survive_a_restart_are_shared_by_workers_and_stored_hashed(store):
    add_user(store, "alice", "admin", PASSWORD)
    with live_app(store) as first, live_app(store) as second:
        a = Browserless(first)
        assert a.login("alice", PASSWORD).status_code == 200
        token = a.http.cookies[SESSION_COOKIE]
        r = a.post("/cases", {"name": "alex"})
        assert r.url.path == "/c/alex"
        # another worker on the same database knows the session, its CSRF token and its messages
        b = Browserless(second)
        b.http.cookies.set(SESSION_COOKIE, token)
        assert b.get("/c/alex").status_code == 200
        b.csrf = a.csrf
        r = b.post("/c/alex/sources", {"kind": "urls", "targets": "https://example.org/a.jpg"})
        assert r.status_code == 200 and "example.org" in r.text
        b.close()
    with store.session() as s:
        rows = list(s.scalars(select(AppSession)))
    assert len(rows) == 1 and rows[0].actor == "alice"
    assert rows[0].token_sha256 == hashlib.sha256(token.encode()).hexdigest() and token not in rows[0].token_sha256
    with live_app(store) as restarted:  # a new process: the cookie still works
        a.live = restarted
        a.http.base_url = restarted.base
        assert a.get("/c/alex").status_code == 200
        assert a.post("/logout").url.path == "/login"
        assert accounts.count_sessions(store) == 0
        a.http.cookies.set(SESSION_COOKIE, token)
        assert a.get("/c/alex").url.path == "/login"  # logged out everywhere
    a.close()


def test_sessions_expire_and_end_when_the_account_is_disabled(store):
    from unleak.store.models import AppUser

    account = add_user(store, "alice", "admin", PASSWORD)
    token, _ = accounts.start_session(store, "alice", account)
    assert accounts.load_session(store, token) is not None
    assert accounts.load_session(store, token + "x") is None
    with store.session() as s:
        s.execute(update(AppSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert accounts.load_session(store, token) is None
    token, sess = accounts.start_session(store, "alice", account)  # purges the expired one
    assert accounts.count_sessions(store) == 1
    sess.revealed.add(7)
    sess.flash.append(("ok", "Saved."))
    accounts.save_session(store, sess)
    again = accounts.load_session(store, token)
    assert again is not None and again.revealed == {7} and again.flash == [("ok", "Saved.")]
    with store.session() as s:
        s.execute(update(AppUser).values(disabled=True))
    assert accounts.load_session(store, token) is None
