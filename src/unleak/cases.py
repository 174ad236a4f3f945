"""Cases: everything about one person or incident. A case owns its bank, sources, sightings,
captures, log (and the notices and recipients of later stages). `default` is used where none is named."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from unleak.errors import UnleakError
from unleak.evidence.log import append_record, ensure_key, verify_chain
from unleak.evidence.sightings import SightingStatus
from unleak.store import Store
from unleak.store.models import AppCaseSetting, BankItem, Capture, Case, LogRecord, Sighting, Source
from unleak.text import check_name


@dataclass
class CaseSummary:
    id: int
    name: str
    description: str
    created_at: datetime
    bank_items: int = 0
    sources: int = 0
    sightings: int = 0
    sightings_up: int = 0
    captures: int = 0
    log_records: int = 0
    last_scan_at: datetime | None = None
    minor: bool = False  # a minor's case: see set_case_minor

    def to_json(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["created_at"] = self.created_at.isoformat()
        d["last_scan_at"] = self.last_scan_at.isoformat() if self.last_scan_at else None
        return d


@dataclass
class CaseDetail(CaseSummary):
    log_head: str | None = None
    log_intact: bool = True
    log_problem: str | None = None
    hosts: dict[str, int] = field(default_factory=dict)  # host -> sightings still up
    key_fingerprint: str | None = None  # the signing key of the log's head: hand it over early
    key_since: int | None = None  # the record that introduced it

    def to_json(self) -> dict[str, Any]:
        return super().to_json()


def create_case(store: Store, name: str, description: str = "", *, minor: bool = False) -> CaseSummary:
    """A new case; an error if the name is taken. Its log starts with a `case_created` record.
    `minor` marks a minor's case (see set_case_minor)."""
    name = check_name(name, "case name", max_length=200)
    taken = UnleakError(f"a case named {name!r} already exists", hint="see `unleak case show NAME`")
    try:
        with store.session() as s:
            if s.scalar(select(Case.id).where(Case.name == name)) is not None:
                raise taken
            case = Case(name=name, description=description, minor=minor)
            s.add(case)
            s.flush()
            record: dict[str, Any] = {"name": name, "description": description}
            if minor:
                record["minor"] = True
            append_record(s, case.id, "case_created", record)
            return _summary(s, case)
    except IntegrityError:  # made by another process between the check and the insert
        raise taken from None


def _summary(s, case: Case, cls=CaseSummary):
    def count(model, *where) -> int:
        return s.scalar(select(func.count()).select_from(model).where(model.case_id == case.id, *where)) or 0

    return cls(
        id=case.id,
        name=case.name,
        description=case.description or "",
        created_at=case.created_at,
        bank_items=count(BankItem, BankItem.removed_at.is_(None)),
        sources=count(Source, Source.removed_at.is_(None)),
        sightings=count(Sighting),
        sightings_up=count(Sighting, Sighting.status == SightingStatus.UP),
        captures=count(Capture),
        log_records=count(LogRecord),
        last_scan_at=s.scalar(select(func.max(Source.last_scan_at)).where(Source.case_id == case.id)),
        minor=bool(case.minor),
    )


def case_summary(store: Store, name: str | None) -> CaseSummary:
    """One case's counts, without checking its log (`show_case` checks it: slower on a long log)."""
    with store.session() as s:
        return _summary(s, store.case(s, name))


def case_hosts(store: Store, name: str | None) -> dict[str, int]:
    """Host -> number of the case's sightings there (any status), most first."""
    with store.session() as s:
        case = store.case(s, name)
        return {
            host: n
            for host, n in s.execute(
                select(Sighting.host, func.count())
                .where(Sighting.case_id == case.id)
                .group_by(Sighting.host)
                .order_by(func.count().desc())
            )
        }


def set_case_minor(store: Store, name: str | None, minor: bool = True) -> CaseSummary:
    """Mark (or unmark) a case as a minor's. A minor's case goes to NCMEC's Take It Down and the IWF
    first, never drafts a DMCA notice, and its captures keep no media bytes (hashes, URLs and page
    text only). Captures taken before the mark keep what they hold. Logged."""
    with store.session() as s:
        case = store.case(s, name)
        if bool(case.minor) != minor:
            case.minor = minor
            append_record(s, case.id, "case.minor", {"minor": minor})
        s.flush()
        return _summary(s, case)


def is_minor_case(store: Store, name: str | None) -> bool:
    """Whether the case is marked as a minor's (`Case.minor`)."""
    with store.session() as s:
        return bool(store.case(s, name).minor)


def list_cases(store: Store) -> list[CaseSummary]:
    """Every case, oldest first, with its counts."""
    with store.session() as s:
        return [_summary(s, c) for c in s.scalars(select(Case).order_by(Case.id))]


def show_case(store: Store, name: str | None) -> CaseDetail:
    """One case (`default` when no name is given) with its counts and whether its log is intact."""
    with store.session() as s:
        case = store.case(s, name)  # NotFound naming the cases there are
        ensure_key(s, case.id)  # a case from before signing keys gets its key on first use, here too
        detail = _summary(s, case, CaseDetail)
        check = verify_chain(s, case.id)
        detail.log_head = check.head_hash if check.count else None
        detail.log_intact, detail.log_problem = check.ok, check.problem
        detail.key_fingerprint, detail.key_since = check.key_fingerprint, check.signed_from
        if detail.key_fingerprint is None:  # a broken log names no key: show the key file's
            from unleak.evidence.signing import case_fingerprint

            detail.key_fingerprint = case_fingerprint(case.id)
        for host, n in s.execute(
            select(Sighting.host, func.count())
            .where(Sighting.case_id == case.id, Sighting.status == SightingStatus.UP)
            .group_by(Sighting.host)
            .order_by(func.count().desc())
        ):
            detail.hosts[host] = n
        return detail


def get_case_setting(store: Store, case: str, key: str, default: str = "") -> str:
    with store.session() as s:
        c = store.case(s, case)
        v = s.scalar(select(AppCaseSetting.value).where(AppCaseSetting.case_id == c.id, AppCaseSetting.key == key))
        return default if v is None else v


def set_case_setting(store: Store, case: str, key: str, value: str) -> None:
    """Set a per-case app setting; the change is written to the case's evidence log."""
    with store.session() as s:
        c = store.case(s, case)
        row = s.scalar(select(AppCaseSetting).where(AppCaseSetting.case_id == c.id, AppCaseSetting.key == key))
        if row is None:
            s.add(AppCaseSetting(case_id=c.id, key=key, value=value))
        else:
            row.value = value
        append_record(s, c.id, "app.setting", {"key": key, "value": value})
