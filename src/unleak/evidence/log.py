"""The append-only, hash-chained evidence and action log of a case.

Each record's body is canonical JSON (sorted keys, no spaces, UTF-8):

    {"action": "...", "case": "<case name>", "data": {...}, "prev": "<hash of record seq-1>",
     "seq": N, "time": "2026-01-02T03:04:05.678901Z", "v": 1}

and its hash is the SHA-256 of those bytes. The first record's `prev` is 64 zeros. A record
altered, removed, inserted or moved breaks the chain at that point, and `verify_chain` names it.
The body is stored verbatim, so verification never depends on re-serialising values.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from unleak.errors import NotFound
from unleak.store.models import Case, LogRecord

GENESIS = "0" * 64
FORMAT_VERSION = 1


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
    append retries on top of the new head.
    """
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound(f"no case with id {case_id}")
    if not isinstance(data, dict):
        raise TypeError("log data must be a dict")
    canonical_json(data)  # fail early, before touching the chain, on a value that cannot be logged
    sqlite = session.get_bind().dialect.name == "sqlite"
    for attempt in range(5):
        # Lock the case row so concurrent appenders queue instead of colliding. SQLite has no row
        # locks: a no-op write takes its database write lock before the head is read.
        if sqlite:
            session.execute(update(Case).where(Case.id == case_id).values(name=Case.name))
        else:
            session.execute(select(Case.id).where(Case.id == case_id).with_for_update())
        head = session.execute(
            select(LogRecord.seq, LogRecord.hash)
            .where(LogRecord.case_id == case_id)
            .order_by(LogRecord.seq.desc())
            .limit(1)
        ).first()
        seq, prev = (head[0] + 1, head[1]) if head else (1, GENESIS)
        now = datetime.now(UTC)
        body = canonical_json(
            {
                "v": FORMAT_VERSION,
                "seq": seq,
                "case": case.name,
                "time": iso_utc(now),
                "action": action,
                "data": data,
                "prev": prev,
            }
        )
        record = LogRecord(
            case_id=case_id, seq=seq, action=action, created_at=now, body=body, prev_hash=prev, hash=sha256_hex(body)
        )
        if sqlite:
            session.add(record)
            session.flush()
            return record
        try:
            with session.begin_nested():
                session.add(record)
                session.flush()
            return record
        except IntegrityError:
            if attempt == 4:
                raise
    raise AssertionError("unreachable")


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

    def __str__(self) -> str:
        if self.ok:
            return f"log intact: {self.count} record(s), head {self.head_hash}"
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
    """Check the case's chain as stored in the database."""
    rows = session.execute(
        select(LogRecord.body, LogRecord.hash).where(LogRecord.case_id == case_id).order_by(LogRecord.seq)
    )
    return verify_lines((body, h) for body, h in rows)


def export_lines(session: Session, case_id: int) -> Iterable[str]:
    """The log as JSON lines, one record each: {"hash": ..., "record": "<the exact hashed body>"}."""
    for body, h in session.execute(
        select(LogRecord.body, LogRecord.hash).where(LogRecord.case_id == case_id).order_by(LogRecord.seq)
    ):
        yield json.dumps({"hash": h, "record": body}, ensure_ascii=False) + "\n"
