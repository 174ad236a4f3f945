"""The scan loop: visit a source's tasks, match every candidate, record sightings and capture them.

State lives in the database (a ScanRun and its ScanItems, the frontier), so a scan killed half-way
resumes where it stopped: a task is marked done in the same transaction that records what it
found, so nothing is lost and nothing is recorded twice (sightings are unique per URL and item).
Fetching, decoding and hashing run on worker threads; the database is written by one thread, in
frontier order: what a task found is recorded only after every earlier task's, so sightings are
numbered, printed and listed in the same order however the fetches overlap or whichever finishes first.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from sqlalchemy import Insert, func, insert, select, update
from sqlalchemy.orm import Session

from unleak.bank import Bank
from unleak.errors import MediaError, UnleakError
from unleak.evidence.capture import LocalFile, capture_sighting, remove_orphan_captures
from unleak.evidence.log import append_record, iso_utc
from unleak.evidence.sightings import SightingStatus, record_sighting, removed_by_url
from unleak.media.files import check_regular, read_regular
from unleak.monitor.sources.base import SourceKind, Task, TaskContext, get_source_kind
from unleak.monitor.sources.feed import feed_tasks
from unleak.monitor.sources.sitemap import sitemap_tasks
from unleak.net.fetch import Fetcher, FetchPolicy, FetchResult
from unleak.net.guard import Blocked, FetchError, NetworkPolicy, Resolver
from unleak.net.html import parse_page
from unleak.net.urls import url_key
from unleak.store import Store
from unleak.store.models import ScanItem, ScanRun, Sighting, Source
from unleak.timing import timed

if TYPE_CHECKING:
    from unleak.match import Matcher

log = logging.getLogger("unleak.monitor")

RESUBMITS = 5  # times a task whose process died is run again before it is recorded as failed
BUILTIN_KINDS = {"page", "media", "feed", "sitemap", "file"}
# hash, match, verify: the matcher's own phases (signals and variant hashes; look-ups; owner-side checks).
PHASES = ("fetch", "parse", "decode", "hash", "match", "verify", "capture", "db")
# Outcomes kept, finished, until an earlier task finishes (they are recorded in frontier order);
# beyond this many no new task starts until it does.
HOLD_BACK = 512


class ScanStatus(StrEnum):
    """A scan run's status (ScanRun.status)."""

    RUNNING = "running"  # started, not finished: the next scan of its source resumes it
    DONE = "done"
    FAILED = "failed"


class ItemStatus(StrEnum):
    """A scan item's status (ScanItem.status): what became of one fetched URL or file."""

    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"
    BLOCKED = "blocked"  # refused before any connection: SSRF guard, scheme or robots.txt
    SKIPPED = "skipped"  # fetched, but nothing to read in it


@dataclass
class ScanOptions:
    policy: FetchPolicy = field(default_factory=FetchPolicy)
    concurrency: int = 8
    capture: bool = True
    max_items: int | None = None  # stop after this many tasks in this call (the run stays resumable)
    resolver: Resolver | None = None  # for tests: a DNS hook
    transport: Any = None  # for tests: an httpx transport
    fast: bool = False
    verify: str = "auto"  # owner-side verification of matches against the originals: auto | on | off
    variants: bool = True  # content boxes and bank-side crops (see Matcher)
    precise: bool = False  # owner-side: register verified matches again with unleak.registration (slower)
    screenshot: bool = False  # a Chromium screenshot of each new sighting's page, when Chromium is installed
    cpu_slots: int = 0  # decode/hash/match at once (0: one per core); fetches overlap beyond this
    conditional: bool = False  # ETag / If-Modified-Since: an unchanged page or file costs one short request
    daily_cap: int | None = None  # at most this many requests a UTC day to any one host
    # Where tasks run: None, threads of this process; else a factory of an Executor (unleak.cluster's
    # runs them on Dask workers) that is given a VisitSpec and runs `visit_remote(spec, item_id, task)`.
    executor: Callable[[VisitSpec], Executor] | None = None
    # Per-host politeness shared by every process of a cluster: a factory (host, interval, concurrency)
    # -> gate (see unleak.net.fetch.Fetcher); None: per process.
    gates: Callable[[str, float, int], Any] | None = None


@dataclass(frozen=True)
class VisitSpec:
    """Everything a process needs to visit one scan's tasks: picklable, and no secret in it (no case
    key; the database URL has no password: a worker uses its own UNLEAK_DB when it has one)."""

    db_url: str
    case_id: int
    scan_id: int
    kind: str
    config_json: str
    allow: tuple[str, ...]
    policy: FetchPolicy
    fast: bool
    verify: str
    variants: bool
    cpu_slots: int
    gates: Callable[[str, float, int], Any] | None = None


@dataclass
class SightingEvent:
    """What `unleak scan --json` prints for each sighting found."""

    page_url: str | None
    media_url: str
    bank_id: int
    distance: int
    new: bool
    reupload: bool
    sighting_id: int
    signal: str
    label: str

    def to_json(self) -> dict[str, Any]:
        return {
            "page_url": self.page_url,
            "media_url": self.media_url,
            "bank_id": self.bank_id,
            "distance": self.distance,
            "new": self.new,
            "reupload": self.reupload,
            "sighting_id": self.sighting_id,
            "signal": self.signal,
        }


@dataclass
class ScanReport:
    scan_id: int
    source_id: int
    resumed: bool
    finished: bool
    stats: dict[str, Any]
    sightings: list[SightingEvent] = field(default_factory=list)


@dataclass
class Outcome:
    item_id: int
    task: Task
    status: ItemStatus = ItemStatus.DONE
    error: str | None = None
    http_status: int | None = None
    new_tasks: list[Task] = field(default_factory=list)
    matches: list[Any] = field(default_factory=list)
    media: FetchResult | LocalFile | None = None
    media_sha256: str | None = None
    kind_seen: str | None = None  # page | media | feed | sitemap | file
    nbytes: int = 0
    notes: list[str] = field(default_factory=list)
    unreachable: list[dict[str, str]] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)  # media known unchanged (a 304): seen again, not refetched
    timings: dict[str, float] = field(default_factory=dict)
    page: FetchResult | None = None  # a match's page, fetched where the task ran (cluster), for its capture
    page_error: str | None = None


class Scanner:
    """Scans the sources of one case. `on_sighting` is called for every sighting found."""

    def __init__(
        self,
        store: Store,
        case: str | None = None,
        options: ScanOptions | None = None,
        *,
        on_sighting: Callable[[SightingEvent], None] | None = None,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> None:
        self.store = store
        self.options = options or ScanOptions()
        self.on_sighting = on_sighting
        self.on_progress = on_progress
        self.bank = Bank(store, case)
        self.case_id, self.case_name = self.bank.case_id, self.bank.case_name
        self._matcher: Matcher | None = None
        self._labels: dict[int, str] = {}
        self._orphans_checked = False
        from unleak.monitor.conditional import HostBudget, ValidatorStore

        opts = self.options
        self.validators = ValidatorStore(store, self.case_id) if opts.conditional else None
        self.budget = HostBudget(store, opts.daily_cap) if opts.daily_cap else None
        self.robots: dict = {}  # robots.txt read once per host for all the sources this scanner scans

    @property
    def matcher(self) -> Matcher:
        if self._matcher is None:
            from unleak.match import Matcher

            opts = self.options
            self._matcher = Matcher(
                self.bank, fast=opts.fast, verify=opts.verify, variants=opts.variants, precise=opts.precise
            )
            self._labels = {it.id: it.label for it in self.bank.items()}
        return self._matcher

    # --- public --------------------------------------------------------------------------
    def scan_all(self) -> list[ScanReport]:
        with self.store.session() as s:
            ids = list(
                s.scalars(
                    select(Source.id)
                    .where(Source.case_id == self.case_id, Source.enabled.is_(True), Source.removed_at.is_(None))
                    .order_by(Source.id)
                )
            )
        if not ids:
            raise UnleakError(
                f"case {self.case_name!r} has no sources to scan", hint="add one with `unleak source add`"
            )
        return [self.scan_source(i) for i in ids]

    def scan_source(self, source_id: int) -> ScanReport:
        with self.store.session() as s:
            src = s.get(Source, source_id)
            if src is None or src.case_id != self.case_id or src.removed_at is not None:
                raise UnleakError(f"no source {source_id} in case {self.case_name!r}", hint="see `unleak source list`")
            kind, config = src.kind, json.loads(src.config)
            allow = json.loads(src.allow_networks)
            run = s.scalar(
                select(ScanRun)
                .where(ScanRun.source_id == source_id, ScanRun.status == ScanStatus.RUNNING)
                .order_by(ScanRun.id.desc())
                .limit(1)
            )
            resumed = run is not None
            plugin = get_source_kind(kind)
            if run is None:
                run = ScanRun(case_id=self.case_id, source_id=source_id)
                s.add(run)
                s.flush()
                seeds = list(plugin.seeds(config))
                self._insert_tasks(s, run.id, seeds, set())
                append_record(
                    s,
                    self.case_id,
                    "scan_started",
                    {"scan_id": run.id, "source_id": source_id, "kind": kind, "seeds": len(seeds)},
                )
            else:
                append_record(s, self.case_id, "scan_resumed", {"scan_id": run.id, "source_id": source_id})
            scan_id = run.id
            stats = _load_stats(run.stats)
            if not self._orphans_checked:  # once per scanner: files a killed scan wrote but never recorded
                self._orphans_checked = True
                removed = remove_orphan_captures(s, self.case_id)
                if removed:
                    log.info("removed %d capture file(s) a killed scan left unrecorded", len(removed))
                    stats["orphan_captures_removed"] = stats.get("orphan_captures_removed", 0) + len(removed)
        return _ScanRun(self, source_id, scan_id, plugin, config, allow, stats, resumed).run()

    # --- helpers used by _ScanRun --------------------------------------------------------
    @staticmethod
    def _insert_tasks(s: Session, scan_id: int, tasks: list[Task], known: set[str]) -> int:
        rows, added = [], 0
        for t in tasks:
            k = t.key
            if k in known:
                continue
            known.add(k)
            rows.append(
                {
                    "scan_id": scan_id,
                    "url_key": k,
                    "url": t.url,
                    "kind": t.kind,
                    "depth": t.depth,
                    "parent_url": t.parent_url,
                    "hints": json.dumps(t.hints) if t.hints else "{}",
                    "status": ItemStatus.PENDING,
                }
            )
        if not rows:
            return 0
        dialect = s.get_bind().dialect.name
        stmt: Insert
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            stmt = pg_insert(ScanItem).on_conflict_do_nothing(index_elements=["scan_id", "url_key"])
        elif dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            stmt = sqlite_insert(ScanItem).on_conflict_do_nothing(index_elements=["scan_id", "url_key"])
        else:  # pragma: no cover
            stmt = insert(ScanItem)
        for i in range(0, len(rows), 500):
            s.execute(stmt, rows[i : i + 500])
            added += len(rows[i : i + 500])
        return added


def _load_stats(text: str) -> dict[str, Any]:
    stats = {
        "pages": 0,
        "media": 0,
        "files": 0,
        "feeds": 0,
        "sitemaps": 0,
        "bytes": 0,
        "failed": 0,
        "blocked": 0,
        "skipped": 0,
        "sightings_new": 0,
        "sightings_seen": 0,
        "reuploads": 0,
        "removed": 0,
        "captures": 0,
        "timings": {p: 0.0 for p in PHASES},
        "refusals": [],
        "errors": [],
        "unreachable": [],
        "requests": 0,
        "not_modified": 0,
        "bytes_saved": 0,
    }
    try:
        stats.update(json.loads(text or "{}"))
    except ValueError:
        pass
    return stats


class _PageCache:
    """Recently fetched pages, for capturing them beside their media without fetching again."""

    def __init__(self, max_entries: int = 128, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.items: OrderedDict[str, FetchResult] = OrderedDict()
        self.max_entries, self.max_bytes, self.size = max_entries, max_bytes, 0
        self.lock = threading.Lock()

    def put(self, url: str, r: FetchResult) -> None:
        with self.lock:
            if url in self.items:
                return
            self.items[url] = r
            self.size += len(r.raw)
            while self.items and (len(self.items) > self.max_entries or self.size > self.max_bytes):
                _, old = self.items.popitem(last=False)
                self.size -= len(old.raw)

    def get(self, url: str) -> FetchResult | None:
        with self.lock:
            return self.items.get(url)


class _ScanRun:
    def __init__(
        self,
        scanner: Scanner,
        source_id: int,
        scan_id: int,
        plugin: type[SourceKind],
        config: dict[str, Any],
        allow: list[str],
        stats: dict[str, Any],
        resumed: bool,
    ) -> None:
        self.sc, self.source_id, self.scan_id = scanner, source_id, scan_id
        self.plugin, self.config, self.stats, self.resumed = plugin, config, stats, resumed
        opts = scanner.options
        self.fetcher = Fetcher(
            opts.policy,
            network=NetworkPolicy.allowing(allow),
            resolver=opts.resolver,
            transport=opts.transport,
            validators=scanner.validators,
            budget=scanner.budget,
            robots_cache=scanner.robots,
            gates=opts.gates,
        )
        self.visitor = Visitor(plugin, config, self.fetcher, lambda: scanner.matcher, cpu_slots=opts.cpu_slots)
        self.pages = self.visitor.pages
        self.spec: VisitSpec | None = None
        if opts.executor is not None:
            self.spec = VisitSpec(
                db_url=scanner.store.engine.url.set(password=None).render_as_string(hide_password=False),
                case_id=scanner.case_id,
                scan_id=scan_id,
                kind=plugin.name,
                config_json=json.dumps(config, sort_keys=True),
                allow=tuple(allow),
                policy=opts.policy,
                fast=opts.fast,
                verify=opts.verify,
                variants=opts.variants,
                cpu_slots=opts.cpu_slots,
                gates=opts.gates,
            )
        self.events: list[SightingEvent] = []
        self.known: set[str] = set()
        self.page_count = 0
        self.max_pages = int(config.get("max_pages") or 0) or None
        self.seen_sightings: list[int] = []
        self.duplicates = 0  # outcomes of tasks already recorded (a rerun after a worker died)

    def _submit(self, executor: Executor, item_id: int, task: Task) -> Future:
        if self.spec is not None:
            return executor.submit(visit_remote, self.spec, item_id, task)
        return executor.submit(self.visitor.visit, item_id, task)

    # --- the loop ------------------------------------------------------------------------
    def run(self) -> ScanReport:
        store, sc = self.sc.store, self.sc
        with store.session() as s:
            for k, kind in s.execute(select(ScanItem.url_key, ScanItem.kind).where(ScanItem.scan_id == self.scan_id)):
                self.known.add(k)
                self.page_count += kind == "page"
            total = len(self.known)
            done = (
                s.scalar(
                    select(func.count())
                    .select_from(ScanItem)
                    .where(ScanItem.scan_id == self.scan_id, ScanItem.status != ItemStatus.PENDING)
                )
                or 0
            )
        if self.spec is None:
            _ = sc.matcher  # build the index before the workers start
        else:  # the workers build it; the writer needs only the labels
            sc._labels = {it.id: it.label for it in sc.bank.items()}
        cursor = 0
        in_flight: dict[Future, tuple[int, Task]] = {}
        attempts: dict[int, int] = {}
        submitted: deque[int] = deque()  # item ids in frontier (id) order, not yet recorded
        finished_early: dict[int, Outcome] = {}  # done, waiting for an earlier item to finish
        buffered: list[Outcome] = []
        last_apply = time.monotonic()
        visited = 0
        limit = sc.options.max_items
        finished = False
        executor: Executor
        if sc.options.executor is not None and self.spec is not None:
            executor = sc.options.executor(self.spec)
        else:
            executor = ThreadPoolExecutor(max_workers=max(1, sc.options.concurrency), thread_name_prefix="scan")
        try:
            while True:
                want = sc.options.concurrency * 2 - len(in_flight)
                if len(finished_early) >= HOLD_BACK:  # one slow fetch holds the rest: wait for it
                    want = 0
                if want > 0 and (limit is None or visited < limit):
                    if limit is not None:
                        want = min(want, limit - visited)
                    with store.session() as s:
                        rows = list(
                            s.execute(
                                select(
                                    ScanItem.id,
                                    ScanItem.url,
                                    ScanItem.kind,
                                    ScanItem.depth,
                                    ScanItem.parent_url,
                                    ScanItem.hints,
                                )
                                .where(
                                    ScanItem.scan_id == self.scan_id,
                                    ScanItem.status == ItemStatus.PENDING,
                                    ScanItem.id > cursor,
                                )
                                .order_by(ScanItem.id)
                                .limit(want)
                            )
                        )
                    for item_id, url, kind, depth, parent, hints in rows:
                        cursor = item_id
                        task = Task(url, kind, depth, parent, json.loads(hints or "{}"))
                        in_flight[self._submit(executor, item_id, task)] = (item_id, task)
                        submitted.append(item_id)
                        visited += 1
                if not in_flight and buffered:
                    total += self._apply(buffered)
                    done += len(buffered)
                    buffered = []
                    continue
                if not in_flight:
                    finished = limit is None or visited < limit or not self._pending_left()
                    break
                ready, _ = wait(list(in_flight), return_when=FIRST_COMPLETED, timeout=0.25)
                for fut in ready:
                    item_id, task = in_flight.pop(fut)
                    try:
                        finished_early[item_id] = fut.result()
                    except Exception as exc:  # noqa: BLE001 - the task's process died (e.g. a killed worker)
                        # A visit catches its own errors; this is the machinery failing under it. Try
                        # again a few times (the item is still pending), then record it as failed.
                        n = attempts[item_id] = attempts.get(item_id, 0) + 1
                        if n < RESUBMITS:
                            log.warning("task %s lost (%s): running it again", task.url, type(exc).__name__)
                            in_flight[self._submit(executor, item_id, task)] = (item_id, task)
                        else:
                            o = Outcome(item_id, task, ItemStatus.FAILED)
                            o.error = f"the task failed {n} times under it: {type(exc).__name__}: {exc}"[:2000]
                            finished_early[item_id] = o
                while submitted and submitted[0] in finished_early:  # in frontier order, never as finished
                    buffered.append(finished_early.pop(submitted.popleft()))
                # Write in batches (fewer transactions), but soon enough to keep the workers fed.
                if buffered and (
                    len(buffered) >= 64
                    or len(in_flight) < sc.options.concurrency
                    or time.monotonic() - last_apply > 0.5
                ):
                    total += self._apply(buffered)
                    done += len(buffered)
                    buffered = []
                    last_apply = time.monotonic()
                    if sc.on_progress:
                        sc.on_progress(done, total)
        except BaseException:
            for fut in in_flight:
                fut.cancel()
            if isinstance(executor, ThreadPoolExecutor):
                executor.shutdown(wait=True, cancel_futures=True)
            else:  # a cluster's: its tasks are dropped with the client's futures
                executor.shutdown(wait=False)
            self.fetcher.close()
            raise
        executor.shutdown(wait=True)
        self.fetcher.close()
        if self.duplicates:
            self.stats["duplicates_skipped"] = self.stats.get("duplicates_skipped", 0) + self.duplicates
        return self._finish(finished)

    def _pending_left(self) -> bool:
        with self.sc.store.session() as s:
            return (
                s.scalar(
                    select(ScanItem.id)
                    .where(ScanItem.scan_id == self.scan_id, ScanItem.status == ItemStatus.PENDING)
                    .limit(1)
                )
                is not None
            )

    def _finish(self, finished: bool) -> ScanReport:
        sc = self.sc
        f = self.fetcher
        self.stats["requests"] += f.requests_sent
        self.stats["not_modified"] += f.not_modified
        self.stats["bytes_saved"] += f.bytes_saved
        self.stats["full_answers"] = self.stats.get("full_answers", 0) + f.full_answers
        f.requests_sent = f.not_modified = f.bytes_saved = f.full_answers = 0
        with sc.store.session() as s:
            if sc.validators is not None:
                sc.validators.flush(s)
            if sc.budget is not None:
                sc.budget.flush(s)
            run = s.get_one(ScanRun, self.scan_id)
            run.stats = json.dumps(self.stats, default=str)
            if finished:
                run.status = ScanStatus.DONE
                run.finished_at = datetime.now(UTC)
                src = s.get_one(Source, self.source_id)
                src.last_scan_at = run.finished_at
                summary = {k: v for k, v in self.stats.items() if k not in ("timings", "errors")}
                summary["refusals"] = self.stats["refusals"][:50]
                summary["errors"] = self.stats["errors"][:50]
                summary["unreachable"] = self.stats["unreachable"][:200]
                summary["sightings_seen_again"] = self.seen_sightings[:10_000]
                append_record(
                    s,
                    sc.case_id,
                    "scan",
                    {
                        "scan_id": self.scan_id,
                        "source_id": self.source_id,
                        "finished_at": iso_utc(run.finished_at),
                        **summary,
                    },
                )
        return ScanReport(self.scan_id, self.source_id, self.resumed, finished, self.stats, self.events)

    # --- applying outcomes (database thread) ---------------------------------------------
    def _apply(self, outcomes: list[Outcome]) -> int:
        added = 0
        t0 = time.perf_counter()
        timings = self.stats["timings"]
        new_tasks: list[Task] = []
        sc_validators = self.sc.validators
        unchanged: list[str] = []
        with self.sc.store.session() as s:
            for o in outcomes:
                # Claim the task in this transaction: an outcome of a task already recorded (run again
                # after its worker died, or by an earlier client) writes nothing, so no record is doubled.
                note = "; ".join(o.notes)[:2000] if o.notes else None
                claimed = s.execute(
                    update(ScanItem)
                    .where(ScanItem.id == o.item_id, ScanItem.status == ItemStatus.PENDING)
                    .values(status=o.status, error=o.error or note)
                )
                if claimed.rowcount != 1:  # type: ignore[attr-defined]
                    self.duplicates += 1
                    continue
                unchanged += [url_key(u) for u in o.unchanged]
                for phase, sec in o.timings.items():
                    timings[phase] = timings.get(phase, 0.0) + sec
                self.stats["bytes"] += o.nbytes
                if o.kind_seen:
                    key = {
                        "page": "pages",
                        "media": "media",
                        "file": "files",
                        "feed": "feeds",
                        "sitemap": "sitemaps",
                    }.get(o.kind_seen)
                    if key:
                        self.stats[key] += 1
                if o.status == ItemStatus.BLOCKED:
                    self.stats["blocked"] += 1
                    if len(self.stats["refusals"]) < 1000:
                        self.stats["refusals"].append({"url": o.task.url, "reason": o.error})
                elif o.status == ItemStatus.FAILED:
                    self.stats["failed"] += 1
                    if len(self.stats["errors"]) < 1000:
                        self.stats["errors"].append({"url": o.task.url, "error": o.error})
                    if sc_validators is not None and o.http_status is not None:
                        sc_validators.forget(o.task.url)
                    if o.http_status in (404, 410) and o.task.kind in ("media", "page"):
                        marked = removed_by_url(
                            s, self.sc.case_id, o.task.url, reason=f"HTTP {o.http_status}", http_status=o.http_status
                        )
                        self.stats["removed"] += len(marked)
                elif o.status == ItemStatus.SKIPPED:
                    self.stats["skipped"] += 1
                room = 1000 - len(self.stats["unreachable"])
                if o.unreachable and room > 0:
                    self.stats["unreachable"] += o.unreachable[:room]
                new_tasks += self._admit(o.new_tasks)
                if o.matches:
                    tc = time.perf_counter()
                    self._record_matches(s, o)
                    timings["capture"] = timings.get("capture", 0.0) + time.perf_counter() - tc
            if unchanged:  # still there, unchanged: seen again without fetching it again
                result = s.execute(
                    update(Sighting)
                    .where(
                        Sighting.case_id == self.sc.case_id,
                        Sighting.url_key.in_(unchanged),
                        Sighting.status == SightingStatus.UP,
                    )
                    .values(last_seen=datetime.now(UTC))
                )
                self.stats["sightings_seen"] += getattr(result, "rowcount", 0) or 0
            if sc_validators is not None:
                sc_validators.flush(s)
            if self.sc.budget is not None:
                self.sc.budget.flush(s)
            added += self.sc._insert_tasks(s, self.scan_id, new_tasks, self.known)
            run = s.get_one(ScanRun, self.scan_id)
            run.stats = json.dumps(self.stats, default=str)
        timings["db"] = timings.get("db", 0.0) + time.perf_counter() - t0
        return added

    def _admit(self, tasks: list[Task]) -> list[Task]:
        out = []
        for t in tasks:
            if t.kind == "page" and t.key not in self.known:
                if self.max_pages and self.page_count >= self.max_pages:
                    continue
                self.page_count += 1
            out.append(t)
        return out

    def _record_matches(self, s: Session, o: Outcome) -> None:
        media_url = o.task.url
        page_url = o.task.parent_url or o.task.hints.get("page_url")
        hints = o.task.hints
        for m in o.matches:
            match = m.to_json()
            match.pop("label", None)  # labels are the owner's; evidence names the bank id only
            change = record_sighting(
                s,
                self.sc.case_id,
                bank_id=m.bank_id,
                media_url=media_url,
                page_url=page_url,
                signal=m.signal,
                distance=m.distance,
                match=match,
                media_sha256=o.media_sha256,
                uploader=hints.get("uploader"),
                posted_at=hints.get("posted_at"),
                posted_raw=hints.get("posted_raw"),
                source_id=self.source_id,
            )
            sg = change.sighting
            if change.new:
                self.stats["sightings_new"] += 1
            else:
                self.stats["sightings_seen"] += 1
                self.seen_sightings.append(sg.id)
            if change.reupload:
                self.stats["reuploads"] += 1
            if (change.new or change.reupload) and self.sc.options.capture and o.media is not None:
                page = o.page or (self._page_for_capture(page_url) if page_url and self.spec is None else None)
                notes = list(o.notes)
                if page_url and page is None:
                    notes.append(o.page_error or f"the page {page_url} could not be fetched again for the capture")
                shot = None
                if self.sc.options.screenshot and page_url and not page_url.startswith("file:"):
                    from unleak.evidence.screenshot import take_screenshot

                    shot = take_screenshot(page_url, self.fetcher)
                    if shot is None:
                        notes.append("no screenshot: Chromium is not installed or failed")
                capture_sighting(s, sg, o.media, page, match=match, notes=notes, screenshot=shot)
                self.stats["captures"] += 1
            event = SightingEvent(
                page_url,
                media_url,
                m.bank_id,
                m.distance,
                change.new,
                change.reupload,
                sg.id,
                m.signal,
                self.sc._labels.get(m.bank_id, ""),
            )
            self.events.append(event)
            if self.sc.on_sighting:
                self.sc.on_sighting(event)

    def _page_for_capture(self, page_url: str) -> FetchResult | None:
        page = self.pages.get(page_url)
        if page is None and not page_url.startswith("file:"):
            try:
                page = self.fetcher.fetch(page_url, conditional=False)  # evidence: a real, full answer
            except FetchError as exc:
                log.warning("could not fetch %s again for its capture: %s", page_url, exc.message)
                return None
        return page


class Visitor:
    """Visits tasks: fetches, parses, decodes, hashes, matches and verifies. Writes nothing: what it
    found comes back as an Outcome, which the scan's one database writer records. Thread-safe; the
    same code runs in the scanning process's threads and on cluster workers (visit_remote)."""

    def __init__(
        self,
        plugin: type[SourceKind],
        config: dict[str, Any],
        fetcher: Fetcher,
        matcher: Callable[[], Matcher],
        *,
        cpu_slots: int = 0,
        keep_pages: bool = False,
    ) -> None:
        import os

        self.plugin, self.config, self.fetcher, self.matcher = plugin, config, fetcher, matcher
        self.policy = fetcher.policy
        self.ctx = TaskContext(fetcher, config)
        self.pages = _PageCache()
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        self.cpu = threading.Semaphore(cpu_slots or cores or 1)  # a worker pinned to one core: one
        self.keep_pages = keep_pages  # attach each match's page to its Outcome (the writer is elsewhere)

    def visit(self, item_id: int, task: Task) -> Outcome:
        o = Outcome(item_id, task)
        try:
            if task.kind not in BUILTIN_KINDS:
                ctx = TaskContext(self.fetcher, self.config)  # one per task: its own `unreachable` list
                try:
                    with timed(o.timings, "fetch"):
                        o.new_tasks = list(self.plugin.handle(ctx, task) or [])
                finally:
                    o.unreachable = ctx.missed
                o.kind_seen = task.kind
            elif task.kind == "file":
                self._visit_file(o)
            else:
                self._visit_url(o)
        except Blocked as exc:
            o.status, o.error = ItemStatus.BLOCKED, exc.message
        except FetchError as exc:
            o.status, o.error, o.http_status = ItemStatus.FAILED, exc.message, exc.status
        except MediaError as exc:
            o.status, o.error = ItemStatus.FAILED, str(exc)
        except UnleakError as exc:
            o.status, o.error = ItemStatus.FAILED, str(exc)
        except Exception as exc:  # a bug or a hostile input we did not foresee: keep going, say what
            log.exception("unexpected error on %s", task.url)
            o.status, o.error = ItemStatus.FAILED, f"unexpected {type(exc).__name__}: {exc}"
        return o

    def _visit_file(self, o: Outcome) -> None:
        path = Path(unquote(urlsplit(o.task.url).path))
        limit = self.policy.max_media_bytes
        with timed(o.timings, "fetch"):
            # The file may have changed since the folder was listed: never block on a FIFO now.
            size = check_regular(path).st_size
            if size > limit:
                raise MediaError(f"{path}: {size:,} bytes, over the limit of {limit:,}")
            data = read_regular(path, limit)
        o.kind_seen = "file"
        o.nbytes = len(data)
        self._match(o, LocalFile(o.task.url, data))

    def _visit_url(self, o: Outcome) -> None:
        task = o.task
        kind = "media" if task.kind == "media" else "page"
        with timed(o.timings, "fetch"):
            r = self.fetcher.fetch(task.url, kind=kind)
        o.nbytes = len(r.raw)
        sniffed = r.sniffed
        if r.not_modified and task.kind == "media":
            o.kind_seen, o.unchanged = "media", [task.url]
            return
        if sniffed in ("image", "video"):
            o.kind_seen = "media"
            self._match(o, r)
            return
        if task.kind == "media":
            o.status, o.kind_seen = ItemStatus.SKIPPED, "media"
            o.error = f"not an image or video (the content is {sniffed})"
            return
        if sniffed == "feed" or (task.kind == "feed" and sniffed != "html"):
            o.kind_seen = "feed"
            with timed(o.timings, "parse"):
                o.new_tasks = feed_tasks(task, r.body, r.final_url)
            return
        if sniffed == "sitemap" or (task.kind == "sitemap" and sniffed != "html"):
            o.kind_seen = "sitemap"
            with timed(o.timings, "parse"):
                o.new_tasks = sitemap_tasks(task, r.body)
            return
        if sniffed == "html":
            o.kind_seen = "page"
            if not r.not_modified:  # a capture needs the page as it was answered, not as kept
                self.pages.put(task.url, r)
            with timed(o.timings, "parse"):
                info = parse_page(r.body, r.final_url)
            o.notes += info.notes
            hints = {"page_url": task.url}
            for k in ("uploader", "posted_at", "posted_raw"):
                value = getattr(info, k) or task.hints.get(k)
                if value:
                    hints[k] = value
            validators = self.fetcher.validators
            for ref in info.media:
                if r.not_modified and validators is not None and validators.lookup(ref.url, "media") is not None:
                    o.unchanged.append(ref.url)  # an unchanged page, and its file was matched against this bank
                    continue
                o.new_tasks.append(Task(ref.url, "media", task.depth, task.url, dict(hints)))
            for link in info.links:
                if self.plugin.follow(self.config, task, link):
                    o.new_tasks.append(Task(link, "page", task.depth + 1, task.url))
            return
        o.status, o.kind_seen = ItemStatus.SKIPPED, "page"
        o.error = f"nothing to read here (the content is {sniffed})"

    def _match(self, o: Outcome, media_src: FetchResult | LocalFile) -> None:
        from unleak.media.sniff import MediaKind
        from unleak.signals import Media

        o.media = media_src
        with self.cpu, timed(o.timings, "decode"):
            media = Media(data=media_src.body, name=o.task.url)
            o.media_sha256 = media.digests()["sha256"]
            if media.kind is MediaKind.IMAGE:
                media.pixels()  # decode once, timed apart from hashing
        with self.cpu:
            result = self.matcher().match_media(media, timings=o.timings)
        o.matches = result.matches
        if not o.matches:
            o.media = None  # keep memory low: only matches are captured
        elif self.keep_pages:
            page_url = o.task.parent_url or o.task.hints.get("page_url")
            if page_url and not page_url.startswith("file:"):
                o.page = self.pages.get(page_url)
                if o.page is None:
                    try:
                        o.page = self.fetcher.fetch(page_url)
                    except FetchError as exc:
                        o.page_error = f"the page {page_url} could not be fetched again for the capture"
                        log.warning("could not fetch %s again for its capture: %s", page_url, exc.message)


# --- on a cluster worker ------------------------------------------------------------------------
# One store, one matcher per bank and one visitor per scan in each worker process, kept between
# tasks: the bank's index is built once per worker, and again only when the bank changes.
BANK_CHECK_SECONDS = (
    5.0  # (UNLEAK_BANK_CHECK_SECONDS) how often a worker asks whether the bank changed (protect, remove, import)
)
_worker_lock = threading.Lock()
_worker_stores: dict[str, Store] = {}
_worker_matchers: dict[tuple, _WorkerMatcher] = {}
_worker_visitors: OrderedDict[tuple, Visitor] = OrderedDict()


class _WorkerMatcher:
    """A worker's matcher of one bank, rebuilt when the bank's fingerprint changes."""

    def __init__(self, store: Store, spec: VisitSpec) -> None:
        self.store, self.spec = store, spec
        self.lock = threading.Lock()
        self.matcher: Matcher | None = None
        self.fingerprint: tuple | None = None
        self.checked = 0.0
        self.builds = 0

    def get(self) -> Matcher:
        with self.lock:
            now = time.monotonic()
            from unleak.config import env_number

            every = env_number("UNLEAK_BANK_CHECK_SECONDS", BANK_CHECK_SECONDS)
            if self.matcher is None or now - self.checked >= every:
                bank = Bank.by_id(self.store, self.spec.case_id)
                fp = bank.fingerprint()
                self.checked = now
                if fp != self.fingerprint or self.matcher is None:
                    from unleak.match import Matcher
                    from unleak.match.shared_index import shared_folder, shared_matcher

                    spec = self.spec
                    opts: dict[str, Any] = {"fast": spec.fast, "verify": spec.verify, "variants": spec.variants}
                    folder = shared_folder()  # the index memory-mapped from shared storage, or built here
                    self.matcher = shared_matcher(bank, folder, **opts) if folder else Matcher(bank, **opts)
                    self.fingerprint = fp
                    self.builds += 1
                    log.info("bank of case %d indexed on this worker (build %d)", spec.case_id, self.builds)
            return self.matcher


def worker_store(url: str) -> Store:
    """This process's store of the database at `url` (password-less; see VisitSpec), opened once."""
    import os

    own = os.environ.get("UNLEAK_DB")
    if own:  # the worker's own URL of the same database, with its password, comes first
        from sqlalchemy.engine import make_url

        if make_url(own).set(password=None).render_as_string(hide_password=False) == url:
            url = own
    store = _worker_stores.get(url)
    if store is None:
        store = _worker_stores[url] = Store(url)
    return store


def _bank_matcher(store: Store, spec: VisitSpec) -> _WorkerMatcher:
    mkey = (spec.db_url, spec.case_id, spec.fast, spec.verify, spec.variants)
    wm = _worker_matchers.get(mkey)
    if wm is None:
        wm = _worker_matchers[mkey] = _WorkerMatcher(store, spec)
    return wm


def warm_worker(spec: VisitSpec) -> int:
    """Build this worker's index of the spec's bank now (before a scan is timed); its build count."""
    with _worker_lock:
        wm = _bank_matcher(worker_store(spec.db_url), spec)
    wm.get()
    return wm.builds


def worker_visitor(spec: VisitSpec) -> Visitor:
    """This process's visitor of one scan (made on its first task)."""
    key: tuple = (spec.db_url, spec.case_id, spec.scan_id, spec.kind, spec.config_json, spec.allow, repr(spec.policy))
    key += (spec.fast, spec.verify, spec.variants, spec.cpu_slots)
    with _worker_lock:
        visitor = _worker_visitors.get(key)
        if visitor is None:
            store = worker_store(spec.db_url)
            wm = _bank_matcher(store, spec)
            fetcher = Fetcher(spec.policy, network=NetworkPolicy.allowing(list(spec.allow)), gates=spec.gates)
            config = json.loads(spec.config_json)
            visitor = Visitor(
                get_source_kind(spec.kind), config, fetcher, wm.get, cpu_slots=spec.cpu_slots, keep_pages=True
            )
            _worker_visitors[key] = visitor
            while len(_worker_visitors) > 8:  # scans long over (a running one's tasks keep it recent)
                _worker_visitors.popitem(last=False)
        else:
            _worker_visitors.move_to_end(key)
        return visitor


def visit_remote(spec: VisitSpec, item_id: int, task: Task) -> Outcome:
    """A task run on a cluster worker: visit it and return the Outcome (captures included) to the
    scanning process, which writes it. Nothing is written here."""
    return worker_visitor(spec).visit(item_id, task)


def scan(
    store: Store, case: str | None = None, source_id: int | None = None, options: ScanOptions | None = None, **kw: Any
) -> list[ScanReport]:
    """Scan one source, or every source of the case."""
    scanner = Scanner(store, case, options, **kw)
    return [scanner.scan_source(source_id)] if source_id is not None else scanner.scan_all()
