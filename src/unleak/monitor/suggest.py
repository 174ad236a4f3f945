"""Accounts seen posting protected media, as candidate sources to watch.

Every sighting with an uploader names an account that posted a protected item. Its other posts
are where more copies are likely: `suggest_sources` lists, for each such account, the source
that would read them on the same platform, and the same handle on the other platforms unleak
reads (marked unverified: another person may hold that name there). Nothing is added until
`accept_suggestion` is called with the candidate's number (`unleak source suggest --accept N`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from unleak.errors import NotFound
from unleak.monitor.sources import SourceInfo, SourceOptions, add_source
from unleak.store import Store
from unleak.store.models import Sighting, Source

_REDDIT_USER = re.compile(r"u/([A-Za-z0-9_-]{3,20})")
_BSKY = re.compile(r"@([a-z0-9][a-z0-9.-]*\.[a-z]{2,})", re.IGNORECASE)
_FEDI = re.compile(r"@([A-Za-z0-9_.-]{1,64})@([A-Za-z0-9.-]+(?::\d+)?)")
_PLAIN = re.compile(r"[A-Za-z0-9_-]{3,20}")


@dataclass
class Candidate:
    number: int
    kind: str
    target: str
    reasons: list[str]
    sightings: list[int]
    verified: bool  # the account itself was seen posting; False: the same name elsewhere
    api_base: str | None = None
    allow_networks: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "candidate": self.number,
            "kind": self.kind,
            "target": self.target,
            "verified": self.verified,
            "reasons": self.reasons,
            "sightings": self.sightings,
        }


def _accounts(kind: str, uploader: str) -> tuple[tuple[str, str] | None, str | None]:
    """(the source reading this account's posts, or None; the bare handle, for other platforms)."""
    if kind == "reddit":
        m = _REDDIT_USER.fullmatch(uploader)
        return (("reddit", uploader), m.group(1)) if m else (None, None)
    if kind == "activitypub":
        m = _FEDI.fullmatch(uploader)
        return (("activitypub", uploader), m.group(1)) if m else (None, None)
    if kind == "bluesky":
        m = _BSKY.fullmatch(uploader)
        return (("bluesky", uploader), m.group(1).split(".")[0]) if m else (None, None)
    name = uploader.strip().lstrip("@")
    return None, name if _PLAIN.fullmatch(name) else None


def suggest_sources(store: Store, case: str | None) -> list[Candidate]:
    """Candidates, most protected items posted first; numbered for `accept_suggestion`."""
    with store.session() as s:
        c = store.case(s, case)
        sources = {src.id: src for src in s.scalars(select(Source).where(Source.case_id == c.id))}
        watched = set()
        for src in sources.values():
            if src.removed_at is None:
                for t in json.loads(src.config).get("targets") or []:
                    watched.add((src.kind, str(t).lower()))
        rows = s.execute(
            select(Sighting.id, Sighting.uploader, Sighting.source_id, Sighting.bank_item_id)
            .where(Sighting.case_id == c.id, Sighting.uploader.is_not(None))
            .order_by(Sighting.id)
        ).all()
    found: dict[tuple[str, str], dict[str, Any]] = {}

    def note(key: tuple[str, str], sid: int, item: int, reason: str, verified: bool, src: Source | None) -> None:
        entry = found.setdefault(
            key, {"sightings": [], "items": set(), "reasons": [], "verified": verified, "src": src}
        )
        entry["sightings"].append(sid)
        entry["items"].add(item)
        entry["verified"] = entry["verified"] or verified
        if reason not in entry["reasons"]:
            entry["reasons"].append(reason)

    for sid, uploader, source_id, item in rows:
        seen_by = sources.get(source_id) if source_id is not None else None
        kind = seen_by.kind if seen_by is not None else "unknown"
        own, bare = _accounts(kind, str(uploader))
        where = f"{kind} source {source_id}" if seen_by is not None else "a sighting"
        if own is not None:
            note(own, sid, item, f"{uploader} posted protected media (seen by {where})", True, seen_by)
        if bare:
            others = {"reddit": f"u/{bare}", "bluesky": f"@{bare}.bsky.social"}
            for other_kind, target in others.items():
                if other_kind != kind:
                    reason = f"the same handle as {uploader} on {kind} (unverified: it may be someone else)"
                    note((other_kind, target), sid, item, reason, False, None)
    out = []
    for (kind, target), e in found.items():
        if (kind, target.lower()) in watched:
            continue
        reasons = [f"{len(e['items'])} protected item(s) in {len(e['sightings'])} sighting(s)", *e["reasons"]]
        src = e["src"]
        config = json.loads(src.config) if src is not None else {}
        out.append(
            Candidate(
                0,
                kind,
                target,
                reasons,
                sorted(e["sightings"]),
                bool(e["verified"]),
                config.get("api_base"),
                json.loads(src.allow_networks) if src is not None else [],
            )
        )
    out.sort(key=lambda c: (not c.verified, -len(c.sightings), c.kind, c.target.lower()))
    for i, cand in enumerate(out, 1):
        cand.number = i
    return out


def accept_suggestion(store: Store, case: str | None, number: int, *, every: float | None = None) -> SourceInfo:
    """Add candidate `number` of `suggest_sources` as a source (on the same server, with the same
    allowed networks, as the source that saw it)."""
    candidates = suggest_sources(store, case)
    chosen = next((c for c in candidates if c.number == number), None)
    if chosen is None:
        raise NotFound(f"no candidate {number}", hint="see `unleak source suggest` for the current list")
    options = SourceOptions(allow_networks=list(chosen.allow_networks), api_base=chosen.api_base)
    name = f"suggested: {chosen.target} ({chosen.reasons[1] if len(chosen.reasons) > 1 else chosen.reasons[0]})"
    return add_source(store, case, chosen.kind, [chosen.target], options, name=name[:500], every=every)
