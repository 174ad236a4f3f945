"""On PostgreSQL a server learns of changes to the bank through LISTEN/NOTIFY: an idle store costs
a lookup no change-log query, and a change committed by another process is matched within a
second; when the listening connection is lost, lookups read the log until it listens again."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import event

from unleak import platform_banks as pb

pytestmark = pytest.mark.postgres

PDQ = "f" * 32 + "0" * 32
OTHER = "0" * 32 + "f" * 32
SRC = str(Path(__file__).resolve().parents[1] / "src")


@pytest.fixture
def pg_store(pg_url):
    from unleak.store import open_store

    store = open_store(pg_url)
    yield store
    store.close()


def _wait(cond, timeout: float = 10.0) -> float:
    start = time.monotonic()
    while not cond():
        assert time.monotonic() - start < timeout, "timed out"
        time.sleep(0.005)
    return time.monotonic() - start


class _Log:
    """Counts the statements that read the change log, on every connection of the store."""

    def __init__(self, store) -> None:
        self.reads = 0
        self.statements = 0
        self._engine = store.engine
        event.listen(self._engine, "before_cursor_execute", self._seen)

    def _seen(self, conn, cursor, statement, *args) -> None:
        self.statements += 1
        self.reads += "platform_changes" in statement

    def close(self) -> None:
        event.remove(self._engine, "before_cursor_execute", self._seen)


def _matcher(store) -> pb.PlatformMatcher:
    with store.session() as s:
        m = pb.PlatformMatcher(watch=pb.watch_for(s))
        m.load(s)
    assert isinstance(m._watch, pb.PgWatch)
    _wait(m._watch.listening)
    return m


def _lookup(store, m: pb.PlatformMatcher, value: str = PDQ) -> dict:
    with store.session() as s:
        return pb.lookup(s, m, "pdq", value)


def _add_elsewhere(pg_url: str, bank: str, value: str) -> int:
    """Adds a hash from another process; returns its content id once committed."""
    code = (
        "import sys\n"
        "from unleak.store import open_store\n"
        "from unleak import platform_banks as pb\n"
        "store = open_store(sys.argv[1])\n"
        "with store.session() as s:\n"
        "    cid = pb.add_content(s, sys.argv[2], {'pdq': sys.argv[3]}).id\n"
        "store.close()\n"
        "print(cid)\n"
    )
    env = {**os.environ, "PYTHONPATH": SRC}
    out = subprocess.run([sys.executable, "-c", code, pg_url, bank, value], env=env, capture_output=True, check=True)
    return int(out.stdout)


def test_an_idle_store_costs_a_lookup_no_change_log_query(pg_store, pg_url):
    with pg_store.session() as s:
        pb.create_bank(s, "IDLE", None, None)
        cid = pb.add_content(s, "IDLE", {"pdq": PDQ}).id
    worker = _matcher(pg_store)
    log = _Log(pg_store)
    try:
        answer = {"IDLE": [{"bank_content_id": cid, "distance": "0"}]}
        assert _lookup(pg_store, worker) == answer  # reads the log once: the listener just started
        log.reads = 0
        for _ in range(20):
            assert _lookup(pg_store, worker) == answer
        assert log.reads == 0
        # and the event loop's path answers from memory, with no statement at all
        before = log.statements
        assert pb.lookup_in_memory(worker, "pdq", PDQ) == answer
        assert log.statements == before

        # another process adds a hash: seen within a second, the in-memory path steps aside
        new = _add_elsewhere(pg_url, "IDLE", OTHER)
        took = _wait(lambda: _lookup(pg_store, worker, OTHER) != {}, timeout=1.0)
        assert _lookup(pg_store, worker, OTHER) == {"IDLE": [{"bank_content_id": new, "distance": "0"}]}
        assert log.reads >= 1
        assert took < 1.0
        # and once applied, idle again
        log.reads = 0
        for _ in range(5):
            assert _lookup(pg_store, worker, OTHER) != {}
        assert log.reads == 0
    finally:
        log.close()
        worker.close()


def test_a_change_made_in_this_process_shows_on_the_very_next_lookup(pg_store):
    with pg_store.session() as s:
        pb.create_bank(s, "HERE", None, None)
    worker = _matcher(pg_store)
    try:
        assert _lookup(pg_store, worker) == {}
        with pg_store.session() as s:
            cid = pb.add_content(s, "HERE", {"pdq": PDQ}).id
        # no waiting for the notification: the commit itself marks this process's watches
        assert _lookup(pg_store, worker) == {"HERE": [{"bank_content_id": cid, "distance": "0"}]}
        with pg_store.session() as s:
            pb.delete_content(s, "HERE", cid)
        assert pb.lookup_in_memory(worker, "pdq", PDQ) is None
        assert _lookup(pg_store, worker) == {}
    finally:
        worker.close()


def test_a_rolled_back_change_wakes_no_one(pg_store):
    with pg_store.session() as s:
        pb.create_bank(s, "BACK", None, None)
    worker = _matcher(pg_store)
    try:
        _lookup(pg_store, worker)
        assert worker.current()
        with pytest.raises(RuntimeError), pg_store.session() as s:
            pb.add_content(s, "BACK", {"pdq": PDQ})
            raise RuntimeError("abandoned")
        time.sleep(0.3)
        assert worker.current()
        assert _lookup(pg_store, worker) == {}
    finally:
        worker.close()


def test_a_lost_listener_fails_safe_and_listens_again(pg_store, pg_url):
    import psycopg

    with pg_store.session() as s:
        pb.create_bank(s, "LOST", None, None)
    worker = _matcher(pg_store)
    log = _Log(pg_store)
    try:
        _lookup(pg_store, worker)
        watch = worker._watch
        assert isinstance(watch, pb.PgWatch)
        first = watch.backend_pid
        base = pg_url.replace("postgresql+psycopg://", "postgresql://", 1)
        with psycopg.connect(base, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (first,))
        _wait(lambda: not watch.listening(), timeout=5)
        # meanwhile every lookup reads the log
        log.reads = 0
        assert not worker.current()
        _lookup(pg_store, worker)
        _lookup(pg_store, worker)
        assert log.reads >= 1
        # it connects again (and reads the log once more, whatever it missed)
        _wait(lambda: watch.listening() and watch.backend_pid != first, timeout=10)
        assert _lookup(pg_store, worker) == {}
        assert worker.current()  # listening again: no log read until something changes
        new = _add_elsewhere(pg_url, "LOST", PDQ)
        _wait(lambda: _lookup(pg_store, worker) != {}, timeout=1.0)
        assert _lookup(pg_store, worker) == {"LOST": [{"bank_content_id": new, "distance": "0"}]}
        assert worker.current()
    finally:
        log.close()
        worker.close()


def test_a_listener_that_cannot_prove_delivery_never_skips_the_log(pg_store, monkeypatch):
    # as behind a pooler that accepts LISTEN and delivers nothing: its own test notification
    # does not come back in time, so it never counts as listening
    monkeypatch.setattr(pb.PgWatch, "PROBE_S", 0.0)
    with pg_store.session() as s:
        pb.create_bank(s, "DEAF", None, None)
    with pg_store.session() as s:
        worker = pb.PlatformMatcher(watch=pb.watch_for(s))
        worker.load(s)
    log = _Log(pg_store)
    try:
        time.sleep(1.0)
        watch = worker._watch
        assert isinstance(watch, pb.PgWatch)
        assert watch.backend_pid and not watch.listening()  # it connected, and was not believed
        log.reads = 0
        for _ in range(3):
            assert _lookup(pg_store, worker) == {}
        assert log.reads == 3
        assert not worker.current()
    finally:
        log.close()
        worker.close()
