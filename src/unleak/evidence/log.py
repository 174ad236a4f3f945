"""The append-only, hash-chained evidence and action log of a case.

Each record's body is canonical JSON (sorted keys, no spaces, UTF-8):

    {"action": "...", "case": "<case name>", "data": {...}, "prev": "<hash of record seq-1>",
     "seq": N, "time": "2026-01-02T03:04:05.678901Z", "v": 1}

and its hash is the SHA-256 of those bytes. The first record's `prev` is 64 zeros. A record
altered, removed, inserted or moved breaks the chain at that point, and `verify_chain` names it.
The body is stored verbatim, so verification never depends on re-serialising values.

Every record's hash is also signed with the case's Ed25519 key (`unleak.evidence.signing`). The
first record a case writes with a key is a `signing_key` record holding its public key; records
before it (written before cases had keys) stay unsigned, and a new key file is introduced the same way.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from unleak.errors import NotFound
from unleak.evidence import signing
from unleak.store.models import Case, LogRecord

GENESIS = "0" * 64
FORMAT_VERSION = 1

# Who is acting: set by a door that knows its user (`unleak app`'s accounts); records written while
# it is set carry it in their data as "actor". The CLI sets none (the machine's owner acts).
_ACTOR: ContextVar[str | None] = ContextVar("unleak_log_actor", default=None)


@contextmanager
def acting_as(actor: str | None) -> Iterator[None]:
    """Within this block (this thread or task), every record appended names `actor` as its actor."""
    token = _ACTOR.set(actor)
    try:
        yield
    finally:
        _ACTOR.reset(token)


def current_actor() -> str | None:
    return _ACTOR.get()


def canonical_json(obj: Any) -> str:
    """The one serialisation that is hashed: sorted keys, compact, UTF-8, no NaN."""
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=_json_default
    )


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(f"cannot log a value of type {type(value).__name__}")


def iso_utc(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def sha256_hex(data: bytes | str) -> str:
    return hashlib.sha256(data.encode("utf-8") if isinstance(data, str) else data).hexdigest()


def append_record(session: Session, case_id: int, action: str, data: dict) -> LogRecord:
    """Append one record to the case's log in the caller's transaction and return it.

    Appends to one case are serialised (a row lock on the case on PostgreSQL; SQLite has one
    writer), and the (case, seq) unique constraint makes a forked chain impossible: a racing
    append retries on top of the new head. The record is signed with the case's key; when the head is
    not signed by that key, a `signing_key` record introducing it comes first.
    """
    if not isinstance(data, dict):
        raise TypeError("log data must be a dict")
    canonical_json(data)  # fail early, before touching the chain, on a value that cannot be logged
    record = _append(session, case_id, action, data)
    assert record is not None
    return record


def ensure_key(session: Session, case_id: int) -> LogRecord | None:
    """Introduce the case's signing key in its log now unless the head is already signed by it (so a
    case from before keys has its fingerprint on record before it next writes); the new record or None."""
    return _append(session, case_id, None, {})


def _append(session: Session, case_id: int, action: str | None, data: dict) -> LogRecord | None:
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound(f"no case with id {case_id}")
    key = signing.case_signing_key(case_id)
    public = signing.public_raw(key)
    sqlite = session.get_bind().dialect.name == "sqlite"
    for attempt in range(5):
        # Lock the case row so concurrent appenders queue instead of colliding. SQLite has no row
        # locks: a no-op write takes its database write lock before the head is read.
        if sqlite:
            session.execute(update(Case).where(Case.id == case_id).values(name=Case.name))
        else:
            session.execute(select(Case.id).where(Case.id == case_id).with_for_update())
        top = session.execute(
            select(LogRecord.seq, LogRecord.hash, LogRecord.signature)
            .where(LogRecord.case_id == case_id)
            .order_by(LogRecord.seq.desc())
            .limit(1)
        ).first()
        seq, prev = (top[0] + 1, top[1]) if top else (1, GENESIS)
        new: list[LogRecord] = []
        # The head not signed by this key: a new case, one from before keys, or a replaced key file.
        # Introduce the key first, in a record it signs itself.
        if top is None or not signing.signed_by(key, top[1], top[2]):
            replaces = _signer(session, case_id, top[1], top[2]) if top is not None and top[2] else None
            intro = signing.intro_data(public, replaces=replaces, unsigned_before=top is not None and top[2] is None)
            new.append(_record(case_id, case.name, seq, prev, signing.INTRO_ACTION, intro, key))
            seq, prev = seq + 1, new[-1].hash
        if action is not None:
            actor = _ACTOR.get()
            logged = {**data, "actor": actor} if actor is not None and "actor" not in data else data
            new.append(_record(case_id, case.name, seq, prev, action, logged, key))
        if not new:
            return None
        if sqlite:
            session.add_all(new)
            session.flush()
            return new[-1]
        try:
            with session.begin_nested():
                session.add_all(new)
                session.flush()
            return new[-1]
        except IntegrityError:
            if attempt == 4:
                raise
    raise AssertionError("unreachable")


def _record(case_id: int, case_name: str, seq: int, prev: str, action: str, data: dict, key) -> LogRecord:
    now = datetime.now(UTC)
    body = canonical_json(
        {
            "v": FORMAT_VERSION,
            "seq": seq,
            "case": case_name,
            "time": iso_utc(now),
            "action": action,
            "data": data,
            "prev": prev,
        }
    )
    digest = sha256_hex(body)
    return LogRecord(
        case_id=case_id,
        seq=seq,
        action=action,
        created_at=now,
        body=body,
        prev_hash=prev,
        hash=digest,
        signature=signing.sign_hash(key, digest),
    )


def _signer(session: Session, case_id: int, head_hash: str, head_sig: str) -> str | None:
    """The fingerprint of the key that signed the head (the key being replaced), if the log names it."""
    for body in session.scalars(
        select(LogRecord.body)
        .where(LogRecord.case_id == case_id, LogRecord.action == signing.INTRO_ACTION)
        .order_by(LogRecord.seq.desc())
    ):
        try:
            public = bytes.fromhex(json.loads(body)["data"]["public_key"])
        except (ValueError, KeyError, TypeError):
            continue
        if signing.verify_hash(public, head_hash, head_sig):
            return signing.fingerprint(public)
    return None


def head(session: Session, case_id: int) -> LogRecord | None:
    return session.scalar(select(LogRecord).where(LogRecord.case_id == case_id).order_by(LogRecord.seq.desc()).limit(1))


def records(session: Session, case_id: int) -> list[LogRecord]:
    return list(session.scalars(select(LogRecord).where(LogRecord.case_id == case_id).order_by(LogRecord.seq)))


def count(session: Session, case_id: int) -> int:
    return session.scalar(select(func.count()).select_from(LogRecord).where(LogRecord.case_id == case_id)) or 0


@dataclass
class ChainCheck:
    """The outcome of checking a chain: ok, how many records, the head, and the first problem."""

    ok: bool
    count: int = 0
    head_hash: str = GENESIS
    bad_seq: int | None = None
    problem: str | None = None
    records: list[dict] = field(default_factory=list, repr=False)  # parsed bodies, in order
    key_fingerprint: str | None = None  # the key that signs the head (checked by verify_chain)
    signed_from: int | None = None  # the record that introduced it

    def __str__(self) -> str:
        if self.ok:
            signed = (
                f"; signed from record {self.signed_from} by {self.key_fingerprint}"
                + (f" (records 1-{self.signed_from - 1}: unsigned, before the key)" if self.signed_from > 1 else "")
                if self.key_fingerprint and self.signed_from
                else ""
            )
            return f"log intact: {self.count} record(s), head {self.head_hash}{signed}"
        return f"log broken at record {self.bad_seq}: {self.problem}"


def verify_lines(lines: Iterable[str | tuple[str, str]]) -> ChainCheck:
    """Check a chain given as log lines: each either a JSON object {"hash": ..., "record": <body>}
    (the export's log.jsonl) or a (body, stored hash) pair. Stops at the first bad record."""
    prev, expected_seq, case_name = GENESIS, 1, None
    parsed: list[dict] = []
    n = 0
    for lineno, line in enumerate(lines, 1):
        if isinstance(line, tuple):
            body, stored = line
        else:
            if not line.strip():
                continue
            try:
                outer = json.loads(line)
                body, stored = outer["record"], outer["hash"]
                if not isinstance(body, str) or not isinstance(stored, str):
                    raise TypeError("record and hash must be strings")
            except (ValueError, KeyError, TypeError) as exc:
                return ChainCheck(
                    False,
                    n,
                    prev,
                    expected_seq,
                    f"record {expected_seq} (line {lineno}) is not a log line ({exc})",
                    parsed,
                )
        actual = sha256_hex(body)
        try:
            rec = json.loads(body)
            seq = rec["seq"]
        except (ValueError, KeyError, TypeError):
            return ChainCheck(
                False,
                n,
                prev,
                expected_seq,
                f"record {expected_seq} (line {lineno}): the record body is not valid JSON",
                parsed,
            )
        # An altered record is named by its place in the chain: its own seq may be what was altered.
        label = (
            f"{seq} ({rec.get('action', '?')})"
            if seq == expected_seq
            else f"{expected_seq} (line {lineno}, which now claims to be record {seq})"
        )
        if actual != stored:
            return ChainCheck(
                False,
                n,
                prev,
                expected_seq,
                f"record {label} was altered: its SHA-256 is {actual}, the log says {stored}",
                parsed,
            )
        if canonical_json(rec) != body:
            return ChainCheck(False, n, prev, expected_seq, f"record {label} is not in canonical form", parsed)
        if seq != expected_seq:
            return ChainCheck(
                False,
                n,
                prev,
                expected_seq,
                f"expected record {expected_seq} but found record {seq}: records were "
                f"{'removed' if seq > expected_seq else 'reordered or repeated'}",
                parsed,
            )
        if rec.get("prev") != prev:
            return ChainCheck(
                False,
                n,
                prev,
                seq,
                f"record {label} does not follow record {seq - 1} "
                "(its prev hash differs): the chain was cut, reordered or spliced",
                parsed,
            )
        if case_name is None:
            case_name = rec.get("case")
        elif rec.get("case") != case_name:
            return ChainCheck(
                False, n, prev, seq, f"record {label} belongs to case {rec.get('case')!r}, not {case_name!r}", parsed
            )
        parsed.append(rec)
        prev, expected_seq, n = actual, expected_seq + 1, n + 1
    return ChainCheck(True, n, prev, None, None, parsed)


def verify_chain(session: Session, case_id: int) -> ChainCheck:
    """Check the case's chain as stored in the database, and each record's signature."""
    rows = list(
        session.execute(
            select(LogRecord.body, LogRecord.hash, LogRecord.signature)
            .where(LogRecord.case_id == case_id)
            .order_by(LogRecord.seq)
        )
    )
    check = verify_lines((body, h) for body, h, _sig in rows)
    if not check.ok:
        return check
    sigs = signing.check_signatures(check.records, [h for _b, h, _s in rows], [sig for _b, _h, sig in rows])
    if not sigs.ok:
        return ChainCheck(False, check.count, check.head_hash, sigs.bad_seq, sigs.problem, check.records)
    check.key_fingerprint, check.signed_from = sigs.head_key, sigs.signed_from
    return check


def export_line(body: str, digest: str, signature: str | None) -> str:
    """One line of a bundle's log.jsonl, in its one accepted form."""
    return json.dumps({"hash": digest, "record": body, "sig": signature}, ensure_ascii=False) + "\n"


def export_lines(session: Session, case_id: int) -> Iterable[str]:
    """The log as JSON lines, one record each: {"hash": ..., "record": "<the exact hashed body>",
    "sig": "<Ed25519 signature of the hash's bytes, hex>" or null}."""
    for body, h, sig in session.execute(
        select(LogRecord.body, LogRecord.hash, LogRecord.signature)
        .where(LogRecord.case_id == case_id)
        .order_by(LogRecord.seq)
    ):
        yield export_line(body, h, sig)
