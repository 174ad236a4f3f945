"""Watching hundreds of sources cheaply: conditional fetches and a daily cap per host.

`ValidatorStore` keeps what each URL answered last time (ETag, Last-Modified; a page's body,
compressed) so the next scan asks "changed since?": an unchanged page costs one short request
and a 304, and is read again from the kept body; an unchanged media file is not fetched nor
matched again, unless the bank changed since it was (`bank_mark`). `HostBudget` counts requests
per host per UTC day and refuses the ones over `watch --daily-cap`.

Both are used from the fetcher's worker threads; they write to the database only when the scan's
database thread calls `flush`.
"""

from __future__ import annotations

import threading
import zlib
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from unleak.net.fetch import Cached, FetchResult
from unleak.net.urls import url_key
from unleak.store.models import BankItem, FetchValidator, HostRequests

if TYPE_CHECKING:  # pragma: no cover
    from unleak.store import Store

MAX_KEPT_PAGE = 2 * 1024 * 1024  # pages larger than this are fetched in full every time


def bank_mark(s: Session, case_id: int) -> str:
    """Changes whenever an item is added to or removed from the case's bank."""
    count, top = s.execute(
        select(func.count(BankItem.id), func.max(BankItem.id)).where(BankItem.case_id == case_id)
    ).one()
    return f"{count}:{top or 0}"


class ValidatorStore:
    def __init__(self, db: Store, case_id: int) -> None:
        self.case_id = case_id
        self.lock = threading.Lock()
        self.rows: dict[str, Cached] = {}
        self.marks: dict[str, str] = {}
        self.pending: dict[str, tuple[Cached, str] | None] = {}
        with db.session() as s:
            self.mark = bank_mark(s, case_id)
            for key, etag, modified, body, nbytes, mark in s.execute(
                select(
                    FetchValidator.url_key,
                    FetchValidator.etag,
                    FetchValidator.last_modified,
                    FetchValidator.body,
                    FetchValidator.nbytes,
                    FetchValidator.bank_mark,
                ).where(FetchValidator.case_id == case_id)
            ):
                self.rows[key] = Cached(etag, modified, body, nbytes)
                self.marks[key] = mark

    def lookup(self, url: str, kind: str) -> Cached | None:
        key = url_key(url)
        with self.lock:
            row = self.rows.get(key)
            mark = self.marks.get(key)
        if row is None:
            return None
        if kind == "media":
            return row if mark == self.mark and row.body is None else None
        if row.body is None:
            return None
        try:
            return Cached(row.etag, row.last_modified, zlib.decompress(row.body), row.nbytes)
        except zlib.error:
            return None

    def store(self, url: str, kind: str, result: FetchResult) -> None:
        etag, modified = result.header("etag"), result.header("last-modified")
        if not (etag or modified) or result.redirects:
            return
        body = None
        if kind != "media":
            if len(result.body) > MAX_KEPT_PAGE:
                return
            body = zlib.compress(result.body, 6)
        row = Cached((etag or "")[:500] or None, (modified or "")[:100] or None, body, len(result.raw))
        key = url_key(url)
        with self.lock:
            self.rows[key] = row
            self.marks[key] = self.mark
            self.pending[key] = (row, self.mark)

    def forget(self, url: str) -> None:
        """A URL that failed (gone, say): ask for it in full next time."""
        key = url_key(url)
        with self.lock:
            if self.rows.pop(key, None) is not None:
                self.pending[key] = None

    def flush(self, s: Session) -> None:
        with self.lock:
            pending, self.pending = self.pending, {}
        if not pending:
            return
        keys = list(pending)
        existing: dict[str, FetchValidator] = {}
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            for v in s.scalars(
                select(FetchValidator).where(FetchValidator.case_id == self.case_id, FetchValidator.url_key.in_(chunk))
            ):
                existing[v.url_key] = v
        gone = [k for k, v in pending.items() if v is None and k in existing]
        if gone:
            s.execute(
                delete(FetchValidator).where(FetchValidator.case_id == self.case_id, FetchValidator.url_key.in_(gone))
            )
        now = datetime.now(UTC)
        for key, value in pending.items():
            if value is None:
                continue
            row, mark = value
            found = existing.get(key)
            v = found if found is not None else FetchValidator(case_id=self.case_id, url_key=key)
            if found is None:
                s.add(v)
            v.etag, v.last_modified, v.body, v.nbytes, v.bank_mark, v.updated_at = (
                row.etag,
                row.last_modified,
                row.body,
                row.nbytes,
                mark,
                now,
            )


def today() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d")


class HostBudget:
    """At most `cap` requests a UTC day to any one host, counted across scans and processes' runs."""

    def __init__(self, db: Store, cap: int) -> None:
        self.cap = cap
        self.lock = threading.Lock()
        self.day = today()
        self.used: dict[str, int] = {}
        self.added: dict[str, int] = {}
        with db.session() as s:
            for host, n in s.execute(
                select(HostRequests.host, HostRequests.requests).where(HostRequests.day == self.day)
            ):
                self.used[host] = n

    def take(self, host: str) -> bool:
        host = host.lower()
        with self.lock:
            if today() != self.day:  # a new day: the counts start again
                self.day, self.used, self.added = today(), {}, {}
            if self.used.get(host, 0) >= self.cap:
                return False
            self.used[host] = self.used.get(host, 0) + 1
            self.added[host] = self.added.get(host, 0) + 1
            return True

    def describe(self, host: str) -> str:
        return f"the daily cap of {self.cap:,} requests to {host} is reached: the rest waits for tomorrow (UTC)"

    def flush(self, s: Session) -> None:
        with self.lock:
            added, self.added, day = self.added, {}, self.day
        for host, n in added.items():
            row = s.get(HostRequests, (host, day))
            if row is None:
                s.add(HostRequests(host=host, day=day, requests=n))
            else:
                row.requests += n
