"""A server keeps the content rows a lookup needs in memory; a change made through any other
process (another worker, the CLI) still shows in the very next lookup."""

from __future__ import annotations

import time

from unleak import platform_banks as pb

PDQ = "f" * 32 + "0" * 32


def _matcher(store) -> pb.PlatformMatcher:
    with store.session() as s:
        m = pb.PlatformMatcher(watch=pb.watch_for(s))
        m.load(s)
    return m


def _lookup(store, m: pb.PlatformMatcher, value: str = PDQ) -> dict:
    with store.session() as s:
        return pb.lookup(s, m, "pdq", value)


def test_kept_rows_follow_changes_made_elsewhere(store):
    with store.session() as s:
        pb.create_bank(s, "KEPT", None, None)
        cid = pb.add_content(s, "KEPT", {"pdq": PDQ}).id
    worker = _matcher(store)
    try:
        _follow_changes(store, worker, cid)
    finally:
        worker.close()


def _follow_changes(store, worker: pb.PlatformMatcher, cid: int) -> None:
    assert _lookup(store, worker) == {"KEPT": [{"bank_content_id": cid, "distance": "0"}]}
    assert cid in worker._rows  # the next matching lookup reads no row from the store

    # disabled by another process: gone from the next answer; enabled again: back
    with store.session() as s:
        pb.update_content(s, "KEPT", cid, disable_until_ts=pb.DISABLED)
    assert _lookup(store, worker) == {}
    with store.session() as s:
        pb.update_content(s, "KEPT", cid, disable_until_ts=int(time.time()) + 3600)
    assert _lookup(store, worker) == {}
    with store.session() as s:
        pb.update_content(s, "KEPT", cid, disable_until_ts=pb.ENABLED)
    assert _lookup(store, worker) == {"KEPT": [{"bank_content_id": cid, "distance": "0"}]}

    # the bank renamed, its threshold tightened, disabled: each shows at once
    with store.session() as s:
        pb.update_bank(s, "KEPT", "RENAMED")
    assert _lookup(store, worker) == {"RENAMED": [{"bank_content_id": cid, "distance": "0"}]}
    near = format(int(PDQ, 16) ^ 0b111, "064x")  # 3 bits away
    assert _lookup(store, worker, near) == {"RENAMED": [{"bank_content_id": cid, "distance": "3"}]}
    with store.session() as s:
        pb.update_bank(s, "RENAMED", safety={"pdq_threshold": 2})
    assert _lookup(store, worker, near) == {}
    assert _lookup(store, worker) == {"RENAMED": [{"bank_content_id": cid, "distance": "0"}]}
    with store.session() as s:
        pb.update_bank(s, "RENAMED", enabled=False)
    assert _lookup(store, worker) == {}

    # deleted, then the id's row is not served from memory
    with store.session() as s:
        pb.update_bank(s, "RENAMED", enabled=True)
        pb.delete_content(s, "RENAMED", cid)
    assert _lookup(store, worker) == {}
    assert cid not in worker._rows


def test_in_memory_answer_only_when_nothing_changed(tmp_path):
    from unleak.store import open_store

    store = open_store(f"sqlite:///{tmp_path / 'unleak.db'}")
    try:
        with store.session() as s:
            pb.create_bank(s, "FAST", None, None)
            cid = pb.add_content(s, "FAST", {"pdq": PDQ}).id
        worker = _matcher(store)
        assert pb.lookup_in_memory(worker, "pdq", PDQ) is None  # the row is not kept yet
        answer = {"FAST": [{"bank_content_id": cid, "distance": "0"}]}
        assert _lookup(store, worker) == answer
        assert pb.lookup_in_memory(worker, "pdq", PDQ) == answer
        assert pb.lookup_in_memory(worker, "pdq", PDQ, banks={"OTHER"}) == {}
        with store.session() as s:  # another process disables it: no answer from memory
            pb.update_content(s, "FAST", cid, disable_until_ts=pb.DISABLED)
        assert pb.lookup_in_memory(worker, "pdq", PDQ) is None
        assert _lookup(store, worker) == {}
        assert pb.lookup_in_memory(worker, "pdq", PDQ) == {}
        worker.close()
    finally:
        store.close()


def test_workers_map_one_index_file_and_follow_changes(store, tmp_path):
    """Several workers map the PDQ index written once (no copy each); what changes later reaches
    every one of them through the change log, on top of the mapped file."""
    import numpy as np

    near = format(int(PDQ, 16) ^ 0b11, "064x")
    later = "1" * 64
    with store.session() as s:
        pb.create_bank(s, "SHARED", None, None)
        first = pb.add_content(s, "SHARED", {"pdq": PDQ}).id
        second = pb.add_content(s, "SHARED", {"pdq": "0" * 64}).id
        shared = pb.write_pdq_index(s, tmp_path / "pdq.uix")
    workers = []
    for _ in range(2):
        with store.session() as s:
            w = pb.PlatformMatcher(watch=pb.watch_for(s))
            w.load(s, shared)
            workers.append(w)
    try:
        for w in workers:
            assert isinstance(w._pdq._segments[0].hashes.base, np.memmap)  # mapped, not read in
            assert w.size("pdq") == 2
            assert _lookup(store, w, near) == {"SHARED": [{"bank_content_id": first, "distance": "2"}]}
        with store.session() as s:
            pb.delete_content(s, "SHARED", first)
            added = pb.add_content(s, "SHARED", {"pdq": later}).id
        for w in workers:
            assert _lookup(store, w, near) == {}
            assert _lookup(store, w, later) == {"SHARED": [{"bank_content_id": added, "distance": "0"}]}
            assert _lookup(store, w, "0" * 64) == {"SHARED": [{"bank_content_id": second, "distance": "0"}]}
            assert w.size("pdq") == 2
    finally:
        for w in workers:
            w.close()
