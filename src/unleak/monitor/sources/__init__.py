"""Sources: where candidates come from. Add, list and remove them per case.

A new kind is one module with a `SourceKind` subclass (see base.py), declaring the options it
takes as `OptionSpec`s. A package makes it known through the `unleak.source_kinds` entry points
(`name = package.module:Class`); in-process, `@register` does the same.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from unleak.errors import NotFound, UnleakError
from unleak.evidence.log import append_record
from unleak.monitor.sources.base import (
    ENTRY_POINT_GROUP,
    OptionSpec,
    SourceKind,
    SourceOptions,
    Task,
    get_source_kind,
    register,
    reload_plugins,
    source_kinds,
    url_key,
)
from unleak.net.guard import NetworkPolicy
from unleak.store import Store
from unleak.store.models import Source, utcnow
from unleak.text import check_name

__all__ = [
    "ENTRY_POINT_GROUP",
    "OptionSpec",
    "SourceInfo",
    "SourceKind",
    "SourceOptions",
    "Task",
    "add_source",
    "get_source_kind",
    "list_sources",
    "register",
    "reload_plugins",
    "remove_source",
    "source_kinds",
    "url_key",
]


@dataclass
class SourceInfo:
    id: int
    case: str
    kind: str
    name: str
    config: dict[str, Any]
    allow_networks: list[str]
    created_at: datetime
    last_scan_at: datetime | None
    every_seconds: float | None = None  # its own watch schedule; None: the watch's

    def to_json(self) -> dict[str, Any]:
        return {
            "source_id": self.id,
            "case": self.case,
            "kind": self.kind,
            "name": self.name,
            "config": self.config,
            "allow_networks": self.allow_networks,
            "created_at": self.created_at.isoformat(),
            "last_scan_at": self.last_scan_at.isoformat() if self.last_scan_at else None,
            "every_seconds": self.every_seconds,
        }


def _info(src: Source, case_name: str) -> SourceInfo:
    return SourceInfo(
        src.id,
        case_name,
        src.kind,
        src.name,
        json.loads(src.config),
        json.loads(src.allow_networks),
        src.created_at,
        src.last_scan_at,
        src.every_seconds,
    )


def add_source(
    store: Store,
    case: str | None,
    kind: str,
    targets: list[str],
    options: SourceOptions | None = None,
    *,
    name: str | None = None,
    every: float | None = None,
) -> SourceInfo:
    """Check and record a source; logged in the case's evidence log. `every` (seconds) is how often
    `unleak watch` scans it; without it, the watch's own interval."""
    options = options or SourceOptions()
    if every is not None and not (60 <= every <= 365 * 86400) and every != 0:
        raise UnleakError(f"--every {every:g} s is out of range", hint="between 1m and 365d (or 0: every cycle)")
    if name is not None:
        name = check_name(name, "source name", max_length=500)
    plugin = get_source_kind(kind)
    plugin.option_values(options)  # an option the kind does not declare is an error, even if configure ignores it
    config = plugin.configure(list(targets), options)
    NetworkPolicy.allowing(options.allow_networks)  # validate the CIDRs now
    with store.session() as s:
        c = store.case(s, case)
        src = Source(
            case_id=c.id,
            kind=kind,
            name=name or plugin.describe(config)[:500],
            config=json.dumps(config),
            allow_networks=json.dumps(list(options.allow_networks)),
            every_seconds=every,
        )
        s.add(src)
        s.flush()
        append_record(
            s,
            c.id,
            "source_added",
            {
                "source_id": src.id,
                "kind": kind,
                "config": config,
                "allow_networks": list(options.allow_networks),
                **({"every_seconds": every} if every is not None else {}),
            },
        )
        return _info(src, c.name)


def list_sources(store: Store, case: str | None) -> list[SourceInfo]:
    """The places the case watches."""
    with store.session() as s:
        c = store.case(s, case)
        rows = s.scalars(select(Source).where(Source.case_id == c.id, Source.removed_at.is_(None)).order_by(Source.id))
        return [_info(r, c.name) for r in rows]


def get_source(store: Store, case: str | None, source_id: int) -> SourceInfo:
    with store.session() as s:
        c = store.case(s, case)
        src = s.get(Source, source_id)
        if src is None or src.case_id != c.id or src.removed_at is not None:
            raise NotFound(f"no source {source_id} in case {c.name!r}", hint="see `unleak source list`")
        return _info(src, c.name)


def remove_source(store: Store, case: str | None, source_id: int) -> None:
    """Stop watching a source. Its sightings and captures stay: evidence is never deleted."""
    with store.session() as s:
        c = store.case(s, case)
        src = s.get(Source, source_id)
        if src is None or src.case_id != c.id or src.removed_at is not None:
            raise NotFound(f"no source {source_id} in case {c.name!r}", hint="see `unleak source list`")
        src.removed_at = utcnow()
        src.enabled = False
        append_record(s, c.id, "source_removed", {"source_id": src.id})
