"""`unleak serve`'s API keys, roles, per-bank keys, revocation, the audit log, rate and size limits,
over real HTTP (uvicorn on 127.0.0.1), on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from conftest import PG_URL, _pg_available

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _db(kind: str, tmp_path: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'auth.db'}"
        return
    if not _pg_available():
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}")
    import psycopg

    schema = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    base = PG_URL.replace("postgresql://", "postgresql+psycopg://", 1)
    yield f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


# Key checks do not depend on the database but for the cross-process parts (revocation, the
# audit log, keys added by another process), which run on both in the main suite; the rest runs
# on PostgreSQL in the slow suite (argon2 makes each test a few seconds).
@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.slow)])
def db_url(request, tmp_path) -> Iterator[str]:
    yield from _db(request.param, tmp_path)


@pytest.fixture(params=["sqlite", "postgres"])
def db_url_both(request, tmp_path) -> Iterator[str]:
    yield from _db(request.param, tmp_path)


@contextmanager
def serving(db_url: str, **cfg_args) -> Iterator[httpx.Client]:
    """A real uvicorn on 127.0.0.1 in a thread of this process, over the store at `db_url`."""
    import uvicorn

    from unleak.serve import ServeConfig, create_app
    from unleak.store import open_store

    store = open_store(db_url)
    app = create_app(ServeConfig(**cfg_args), store)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(10)
        store.close()


def _cli(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`unleak ...` in its own process: another process than the server's, as in production."""
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), UNLEAK_DB=db_url)
    return subprocess.run([sys.executable, "-m", "unleak", *args], env=env, capture_output=True, text=True, timeout=120)


def _add_key(db_url: str, name: str, role: str, bank: str | None = None, rate: float | None = None) -> str:
    from unleak.serve_keys import add_key
    from unleak.store import open_store

    store = open_store(db_url)
    try:
        with store.session() as s:
            return add_key(s, name, role, bank=bank, rate_per_s=rate)[1]
    finally:
        store.close()


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _wait_for(predicate, seconds: float = 3.0) -> float:
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        if predicate():
            return time.monotonic() - start
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


PDQ_A = "a" * 64
PDQ_B = "b" * 63 + "a"


def test_open_until_a_key_exists_then_roles_gate_every_group(db_url):
    with serving(db_url) as h:
        # open, as HMA on loopback: no key, everything answers
        assert h.post("/c/banks", json={"name": "BANK_A"}).status_code == 201
        assert h.post("/c/bank/BANK_A/signal", json={"pdq": PDQ_A}).status_code == 200
        curator = _add_key(db_url, "ops", "curator")
        matcher = _add_key(db_url, "platform-x", "matcher")
        hasher = _add_key(db_url, "hashing-svc", "hasher")
        # a key now exists: within a second every request needs one
        waited = _wait_for(lambda: h.get("/c/banks").status_code == 401)
        assert waited <= 1.5
        r = h.get("/m/lookup", params={"signal_type": "pdq", "signal": PDQ_A})
        assert r.status_code == 401 and set(r.json()) == {"message"}
        assert r.headers["www-authenticate"].startswith("Bearer")
        # health and the API's description stay open (load balancers, clients' code generators)
        assert h.get("/status").text == "I-AM-ALIVE"
        assert h.get("/openapi/openapi.json").status_code == 200
        # wrong, malformed and foreign keys: 401
        for header in (
            f"Bearer {curator[:-2]}xx",
            "Bearer unleak_999_nope",
            "Bearer not-a-key",
            f"Basic {curator}",
            "Bearer",
        ):
            r = h.get("/c/banks", headers={"Authorization": header})
            assert r.status_code == 401 and r.json()["message"], header
        # roles gate /c, /m, /h as HMA's role flags do
        assert h.get("/c/banks", headers=_auth(curator)).json() == [{"name": "BANK_A", "matching_enabled_ratio": 1.0}]
        q = {"signal_type": "pdq", "signal": PDQ_A}
        found = h.get("/m/lookup", params=q, headers=_auth(matcher)).json()
        assert list(found) == ["BANK_A"]
        r = h.get("/m/lookup", params=q, headers=_auth(hasher))
        assert r.status_code == 403 and r.json() == {"message": "this key has no matcher role"}
        assert h.get("/c/banks", headers=_auth(matcher)).status_code == 403
        assert h.post("/c/banks", json={"name": "NOPE"}, headers=_auth(hasher)).status_code == 403
        assert h.post("/h/hash", headers=_auth(matcher), files={"photo": ("a", b"x")}).status_code == 403
        assert h.post("/h/hash", headers=_auth(hasher), files={"photo": ("a", b"x")}).status_code == 400  # in
        assert h.get("/c/bank/NOPE", headers=_auth(curator)).status_code == 404
        # a key used many times costs argon2 once: 30 lookups well under the 6 s argon2 would take
        start = time.monotonic()
        for _ in range(30):
            assert h.get("/m/lookup", params=q, headers=_auth(matcher)).status_code == 200
        assert time.monotonic() - start < 3.0


def test_keys_limited_to_one_bank(db_url):
    with serving(db_url) as h:
        for name in ("BANK_A", "BANK_B"):
            assert h.post("/c/banks", json={"name": name}).status_code == 201
            assert h.post(f"/c/bank/{name}/signal", json={"pdq": PDQ_A}).status_code == 200
        cur_a = _add_key(db_url, "curator-a", "curator", bank="BANK_A")
        match_a = _add_key(db_url, "matcher-a", "matcher", bank="BANK_A")
        _wait_for(lambda: h.get("/c/banks").status_code == 401)
        assert h.post("/c/bank/BANK_A/signal", json={"pdq": PDQ_B}, headers=_auth(cur_a)).status_code == 200
        r = h.post("/c/bank/BANK_B/signal", json={"pdq": PDQ_B}, headers=_auth(cur_a))
        assert r.status_code == 403 and r.json() == {"message": "this key is limited to bank BANK_A"}
        assert h.get("/c/banks", headers=_auth(cur_a)).status_code == 403  # other banks' names stay hidden
        assert h.post("/c/banks", json={"name": "BANK_C"}, headers=_auth(cur_a)).status_code == 403
        assert h.get("/c/signal_type", headers=_auth(cur_a)).status_code == 200
        # a bank-limited matcher sees matches from its bank only, whatever it asks for
        q = {"signal_type": "pdq", "signal": PDQ_A}
        assert list(h.get("/m/lookup", params=q, headers=_auth(match_a)).json()) == ["BANK_A"]
        assert h.get("/m/lookup", params={**q, "banks": "BANK_B"}, headers=_auth(match_a)).json() == {}
        raw = h.get("/m/raw_lookup", params=q, headers=_auth(match_a)).json()["matches"]
        assert len(raw) == 1


def test_revocation_reaches_a_running_server_within_a_second(db_url_both):
    db_url = db_url_both
    with serving(db_url) as h:
        token = _add_key(db_url, "leaving", "matcher")
        q = {"signal_type": "pdq", "signal": PDQ_A}
        assert h.get("/m/lookup", params=q, headers=_auth(token)).status_code == 200  # verified and cached
        out = _cli(db_url, "keys", "revoke", "leaving")
        assert out.returncode == 0 and "Revoked key leaving" in out.stdout, out.stderr
        waited = _wait_for(lambda: h.get("/m/lookup", params=q, headers=_auth(token)).status_code == 401)
        assert waited <= 1.2
        listed = json.loads(_cli(db_url, "keys", "list", "--revoked", "--json").stdout)
        assert [(k["name"], k["revoked_at"] is not None) for k in listed] == [("leaving", True)]
        assert "secret" not in json.dumps(listed) and token.split("_")[2] not in json.dumps(listed)
        # the server stays locked after its last key is revoked
        assert h.get("/c/banks").status_code == 401


def test_every_curator_action_is_audited(db_url_both):
    db_url = db_url_both
    with serving(db_url) as h:
        before = int(time.time()) - 1
        ops = _add_key(db_url, "ops", "curator")
        viewer = _add_key(db_url, "viewer", "curator", bank="SOME_BANK")
        _wait_for(lambda: h.get("/c/banks").status_code == 401)
        assert h.post("/c/banks", json={"name": "AUDITED"}, headers=_auth(ops)).status_code == 201
        cid = h.post("/c/bank/AUDITED/signal", json={"pdq": PDQ_A}, headers=_auth(ops)).json()["id"]
        assert h.delete(f"/c/bank/AUDITED/content/{cid}", headers=_auth(ops)).json() == {"deleted": 1}
        assert h.delete("/c/bank/AUDITED", headers=_auth(viewer)).status_code == 403
        h.get("/c/banks", headers=_auth(ops))  # reads are not actions
        log = h.get("/c/audit", params={"since": before}, headers=_auth(ops)).json()
        got = [(e["key"], e["method"], e["path"], e["bank"], e["status"]) for e in log]
        assert got == [
            ("ops", "POST", "/c/banks", None, 201),
            ("ops", "POST", "/c/bank/AUDITED/signal", "AUDITED", 200),
            ("ops", "DELETE", f"/c/bank/AUDITED/content/{cid}", "AUDITED", 200),
            ("viewer", "DELETE", "/c/bank/AUDITED", "AUDITED", 403),
        ]
        assert all(e["client"] == "127.0.0.1" for e in log)
        assert h.get("/c/audit", params={"since": int(time.time()) + 60}, headers=_auth(ops)).json() == []
        r = h.get("/c/audit", params={"since": "yesterday"}, headers=_auth(ops))
        assert r.status_code == 400 and "since" in r.json()["message"]
        assert h.get("/c/audit", headers=_auth(viewer)).status_code == 403  # a bank's curator sees no log
        out = _cli(db_url, "keys", "audit", "--since", str(before), "--json")
        assert [e["path"] for e in json.loads(out.stdout)] == [e["path"] for e in log]


def test_rate_and_size_limits(db_url):
    with serving(db_url, max_json_bytes=64 * 1024) as h:
        slow = _add_key(db_url, "slow", "matcher", rate=2)
        fast = _add_key(db_url, "fast", "matcher")
        q = {"signal_type": "pdq", "signal": PDQ_A}
        codes = [h.get("/m/lookup", params=q, headers=_auth(slow)).status_code for _ in range(6)]
        assert codes[:2] == [200, 200] and 429 in codes
        r = h.get("/m/lookup", params=q, headers=_auth(slow))
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1 and r.json()["message"]
        assert all(h.get("/m/lookup", params=q, headers=_auth(fast)).status_code == 200 for _ in range(6))
        time.sleep(1.1)
        assert h.get("/m/lookup", params=q, headers=_auth(slow)).status_code == 200  # refilled
        curator = _add_key(db_url, "ops", "curator")
        big = {"pdq": PDQ_A, "note": "x" * (100 * 1024)}
        r = h.post("/c/banks", json=big, headers=_auth(curator))
        assert r.status_code == 413 and r.json()["message"].startswith("Request body too large")

        def chunks():
            yield b'{"name": "'
            for _ in range(20):
                yield b"A" * 8192
            yield b'"}'

        r = h.post("/c/banks", content=chunks(), headers={**_auth(curator), "content-type": "application/json"})
        assert r.status_code == 413 and set(r.json()) == {"message"}
        assert h.get("/c/banks", headers=_auth(curator)).json() == []


def test_beyond_loopback_every_request_needs_a_key(tmp_path):
    db_url = f"sqlite:///{tmp_path / 'wide.db'}"
    with serving(db_url, beyond_loopback=True) as h:
        assert h.get("/status").text == "I-AM-ALIVE"
        assert h.get("/c/banks").status_code == 401  # no key defined: nothing but health answers
        assert h.get("/m/lookup", params={"signal_type": "pdq", "signal": PDQ_A}).status_code == 401
        token = _add_key(db_url, "ops", "curator")
        assert h.get("/c/banks", headers=_auth(token)).json() == []


def test_cli_keys_are_shown_once_and_names_checked(tmp_path):
    db_url = f"sqlite:///{tmp_path / 'cli.db'}"
    out = _cli(db_url, "keys", "add", "acme", "--role", "matcher", "--bank", "NCII_PHOTOS")
    assert out.returncode == 0, out.stderr
    token = out.stdout.strip().splitlines()[-1]
    assert token.startswith("unleak_1_") and len(token) > 40
    listed = _cli(db_url, "keys", "list").stdout
    assert "acme" in listed and "NCII_PHOTOS" in listed and token.split("_", 2)[2] not in listed
    for args, message in (
        (("keys", "add", "two words", "--role", "matcher"), "bad key name"),
        (("keys", "add", "x", "--role", "admin"), "unknown role admin"),
        (("keys", "add", "x", "--role", "matcher", "--bank", "lower"), "bad bank name"),
        (("keys", "add", "acme", "--role", "matcher"), "a key named acme exists"),
        (("keys", "revoke", "nobody"), "no live key"),
    ):
        out = _cli(db_url, *args)
        assert out.returncode == 1 and message in out.stderr and "Traceback" not in out.stderr, out.stderr


def test_a_new_key_arriving_on_many_connections_is_checked_once_or_twice(tmp_path, monkeypatch):
    """32 connections opened together with one key must not each run argon2 (64 MiB, ~0.2 s)."""
    from unleak import serve_keys
    from unleak.store.db import open_store

    store = open_store(f"sqlite:///{tmp_path / 'keys.db'}")
    with store.session() as s:
        _key, token = serve_keys.add_key(s, "platform", "matcher")
        s.commit()
    calls = []
    real = serve_keys.verify_secret

    def counted(stored: str, secret: str) -> bool:
        calls.append(1)
        time.sleep(0.05)  # as slow as a real check, so the others arrive while it runs
        return real(stored, secret)

    monkeypatch.setattr(serve_keys, "verify_secret", counted)
    checker = serve_keys.KeyChecker()
    found = []

    def check() -> None:
        with store.session() as s:
            found.append(checker.check(s, token))

    threads = [threading.Thread(target=check) for _ in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    store.close()
    assert len(found) == 32 and all(k is not None and k.name == "platform" for k in found)
    assert len(calls) <= 2  # the semaphore lets two checks run at once; the rest use their answer
