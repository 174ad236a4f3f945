"""`unleak watch` over hundreds of sources: each source on its own schedule, one cycle at a time,
and a summary of what changed since the last cycle.

A source is due when it was never scanned, or when its own interval (`source add --every`), else
the watch's, has passed since its last scan. A cycle scans the due sources with conditional
fetches (an unchanged page or file costs one short request) and, when asked, a cap on requests
per host per day.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from unleak.monitor.scan import Scanner, ScanOptions, ScanReport, SightingEvent
from unleak.store import Store
from unleak.store.models import Source


@dataclass
class SourceDue:
    source_id: int
    kind: str
    name: str
    every: float
    due_in: float  # seconds; 0 or less: due now
    own: bool  # on its own schedule (source add --every), not the watch's


def schedule(store: Store, case: str | None, default_every: float, now: datetime | None = None) -> list[SourceDue]:
    """Every enabled source of the case, with when it is next due."""
    now = now or datetime.now(UTC)
    out = []
    with store.session() as s:
        c = store.case(s, case)
        rows = s.execute(
            select(Source.id, Source.kind, Source.name, Source.every_seconds, Source.last_scan_at)
            .where(Source.case_id == c.id, Source.enabled.is_(True), Source.removed_at.is_(None))
            .order_by(Source.id)
        )
        for sid, kind, name, every, last in rows:
            interval = every if every is not None else default_every
            due_in = -1.0 if last is None else interval - (now - last).total_seconds()
            out.append(SourceDue(sid, kind, name, interval, due_in, every is not None))
    return out


@dataclass
class WatchSummary:
    """One cycle: what was scanned, and what changed since the last cycle."""

    started_at: datetime
    seconds: float
    sources: int  # the case's sources
    scanned: int  # the ones that were due
    changed: list[int] = field(default_factory=list)  # sources with a page or file that changed (or is new)
    unchanged: list[int] = field(default_factory=list)  # every answer a 304
    new_sightings: int = 0
    reuploads: int = 0
    removed: int = 0
    unreachable: int = 0
    requests: int = 0
    not_modified: int = 0
    bytes: int = 0
    bytes_saved: int = 0
    capped: int = 0  # requests refused by the daily cap
    next_due_in: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "check": "summary",
            "started_at": self.started_at.isoformat(),
            "seconds": round(self.seconds, 3),
            "sources": self.sources,
            "scanned": self.scanned,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "new_sightings": self.new_sightings,
            "reuploads": self.reuploads,
            "removed": self.removed,
            "unreachable": self.unreachable,
            "requests": self.requests,
            "not_modified": self.not_modified,
            "bytes": self.bytes,
            "bytes_saved": self.bytes_saved,
            "capped": self.capped,
            "next_due_in": None if self.next_due_in is None else round(self.next_due_in, 1),
        }


def watch_cycle(
    store: Store,
    case: str | None,
    options: ScanOptions,
    default_every: float,
    *,
    first: bool = False,
    on_sighting: Callable[[SightingEvent], None] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> tuple[WatchSummary, list[ScanReport]]:
    """Scan the sources that are due; say what changed. The `first` cycle of a watch scans every
    source without a schedule of its own, as a watch always did when it started."""
    import time

    started, t0 = datetime.now(UTC), time.monotonic()
    plan = schedule(store, case, default_every, started)
    if not plan:
        from unleak.errors import UnleakError

        raise UnleakError("the case has no sources to watch", hint="add one with `unleak source add`")
    due = [d for d in plan if d.due_in <= 0 or (first and not d.own)]
    scanner = Scanner(store, case, options, on_sighting=on_sighting, on_progress=on_progress)
    reports = [scanner.scan_source(d.source_id) for d in due]
    summary = WatchSummary(started, 0.0, len(plan), len(due))
    for r in reports:
        st = r.stats
        fresh = st.get("full_answers", 0)
        (summary.changed if fresh > 0 or st["sightings_new"] or st["removed"] else summary.unchanged).append(
            r.source_id
        )
        summary.new_sightings += st["sightings_new"]
        summary.reuploads += st["reuploads"]
        summary.removed += st["removed"]
        summary.unreachable += len(st.get("unreachable", []))
        summary.requests += st["requests"]
        summary.not_modified += st["not_modified"]
        summary.bytes += st["bytes"]
        summary.bytes_saved += st["bytes_saved"]
        summary.capped += sum(1 for x in st["refusals"] if "daily cap" in str(x.get("reason")))
    summary.seconds = time.monotonic() - t0
    after = schedule(store, case, default_every)
    summary.next_due_in = min((d.due_in for d in after), default=None)
    return summary, reports
