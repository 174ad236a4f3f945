"""The hash-chained evidence log: appends chain, and any alteration, removal or reordering is named.
A case's first record introduces its signing key, so the records a test appends start at 2."""

from __future__ import annotations

import itertools
import json

import pytest

from unleak.evidence.log import GENESIS, append_record, export_lines, verify_chain, verify_lines
from unleak.store.models import LogRecord


def _fill(store, n=5, case="c1"):
    with store.session() as s:
        case_id = store.case(s, case, create=True).id
        recs = [append_record(s, case_id, "test", {"i": i, "text": "é"}) for i in range(n)]
        return case_id, [(r.seq, r.hash, r.prev_hash) for r in recs]


def test_append_chains_records(store):
    case_id, recs = _fill(store)
    assert [r[0] for r in recs] == [2, 3, 4, 5, 6]
    with store.session() as s:
        first = s.query(LogRecord).filter_by(case_id=case_id, seq=1).one()
        assert first.action == "signing_key" and first.prev_hash == GENESIS and recs[0][2] == first.hash
    for a, b in itertools.pairwise(recs):
        assert b[2] == a[1]
    with store.session() as s:
        check = verify_chain(s, case_id)
        assert check.ok and check.count == 6 and check.head_hash == recs[-1][1]
        # a second case has its own chain (and its own key)
        other = store.case(s, "c2", create=True).id
        assert append_record(s, other, "x", {}).seq == 2


def test_export_lines_verify_and_tamper(store):
    case_id, _ = _fill(store, 6)
    with store.session() as s:
        lines = list(export_lines(s, case_id))
    assert verify_lines(lines).ok
    # alter a value inside record 3
    altered = list(lines)
    outer = json.loads(altered[2])
    outer["record"] = outer["record"].replace('"i":1', '"i":7')
    altered[2] = json.dumps(outer) + "\n"
    check = verify_lines(altered)
    assert not check.ok and check.bad_seq == 3 and "altered" in check.problem
    # remove record 4
    check = verify_lines(lines[:3] + lines[4:])
    assert not check.ok and check.bad_seq == 4 and "removed" in check.problem
    # swap records 2 and 3
    check = verify_lines([lines[0], lines[2], lines[1]] + lines[3:])
    assert not check.ok and check.bad_seq == 2
    # garbage line
    check = verify_lines(lines[:2] + ["{not json\n"] + lines[3:])
    assert not check.ok and check.bad_seq == 3


def test_database_tamper_is_detected(store):
    case_id, _ = _fill(store, 4)
    with store.session() as s:
        rec = s.query(LogRecord).filter_by(case_id=case_id, seq=2).one()
        rec.body = rec.body.replace('"i":0', '"i":9')
    with store.session() as s:
        check = verify_chain(s, case_id)
        assert not check.ok and check.bad_seq == 2


def test_unloggable_data_is_refused(store):
    with store.session() as s:
        case_id = store.case(s, "c", create=True).id
        with pytest.raises(TypeError):
            append_record(s, case_id, "bad", {"x": object()})
        with pytest.raises(ValueError):
            append_record(s, case_id, "bad", {"x": float("nan")})
        assert append_record(s, case_id, "ok", {}).seq == 2
