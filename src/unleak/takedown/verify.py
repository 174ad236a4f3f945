"""Removal checks: re-fetch every reported URL, record what is gone and when, and catch re-uploads.

A URL counts as gone when it answers 404, 410 or 451, when it serves a removal page, when the
media there no longer matches the protected item, or (for a page) when the page no longer shows
the media. Anything else that prevents a check (refused by the SSRF guard or robots.txt, a
timeout, a 5xx) is recorded as "error": never as gone. Fetching goes through the monitor's
guarded fetcher, with the networks the sighting's source allows.

The time to removal of a URL is measured from the notice's send time to the first check that
found it gone (an upper bound; the last check that found it up is kept as the lower bound).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from unleak.store import Store
from unleak.store.models import Notice, NoticeEvent, NoticeItem, RemovalCheck, Sighting, Source
from unleak.takedown.drafting import draft_notices
from unleak.takedown.notices import AWAITING, ItemState, NoticeStatus, _log, _now

GONE_STATUSES = {404, 410, 451}
REMOVAL_PHRASES = (
    "has been removed",
    "was removed",
    "been taken down",
    "no longer available",
    "is not available",
    "content unavailable",
    "content is unavailable",
    "this content isn't available",
    "removed due to",
    "removed for violating",
    "removed because",
    "copyright claim",
    "dmca",
    "been deleted",
    "was deleted",
    "page not found",
    "does not exist",
    "account suspended",
    "video unavailable",
    "image not found",
)
_TEXT = re.compile(r"<(script|style)\b.*?</\1>|<[^>]+>", re.S | re.I)


@dataclass
class Probe:
    url: str
    state: str  # up | gone | error
    http_status: int | None = None
    reason: str = ""
    media: list[str] | None = None  # for a page: the media it shows


@dataclass
class CheckRow:
    url: str
    state: str
    reason: str
    http_status: int | None
    notices: list[int]

    def to_json(self) -> dict:
        return self.__dict__.copy()


@dataclass
class Reupload:
    sighting_id: int
    url: str
    bank_item_id: int
    earlier_notice: int
    followups: list[int] = field(default_factory=list)

    def to_json(self) -> dict:
        return self.__dict__.copy()


@dataclass
class Restored:
    """A removed copy back at the URL it was removed from, after the uploader's counter-notice: the
    host restored it (§512(g)(2)(C)), which is not a re-upload and gets no follow-up notice."""

    url: str
    notice_id: int
    restore_from: str | None  # the earliest day the host could lawfully restore it
    early: bool  # back before that day

    def to_json(self) -> dict:
        return self.__dict__.copy()


@dataclass
class VerifyReport:
    checked_at: datetime
    checks: list[CheckRow] = field(default_factory=list)
    status_changes: list[tuple[int, str, str]] = field(default_factory=list)  # (notice, from, to)
    reuploads: list[Reupload] = field(default_factory=list)
    restored: list[Restored] = field(default_factory=list)

    @property
    def gone(self) -> int:
        return sum(1 for c in self.checks if c.state == "gone")

    @property
    def up(self) -> int:
        return sum(1 for c in self.checks if c.state == "up")

    @property
    def errors(self) -> int:
        return sum(1 for c in self.checks if c.state == "error")

    def to_json(self) -> dict:
        return {
            "checked_at": self.checked_at.isoformat(),
            "gone": self.gone,
            "up": self.up,
            "errors": self.errors,
            "checks": [c.to_json() for c in self.checks],
            "status_changes": [{"notice_id": n, "from": a, "to": b} for n, a, b in self.status_changes],
            "reuploads": [r.to_json() for r in self.reuploads],
            "restored": [r.to_json() for r in self.restored],
        }


def looks_removed(html: bytes) -> str | None:
    """The removal phrase a page shows, if it shows one."""
    text = " ".join(_TEXT.sub(" ", html[:200_000].decode("utf-8", "replace")).lower().split())
    for phrase in REMOVAL_PHRASES:
        if phrase in text:
            return phrase
    return None


class Checker:
    """Fetches and judges URLs for one case; one fetcher per set of allowed networks."""

    def __init__(
        self,
        store: Store,
        case_name: str,
        *,
        policy=None,
        fetcher_for: Callable[[tuple[str, ...]], object] | None = None,
    ) -> None:
        from unleak.bank import Bank
        from unleak.match import Matcher

        self.matcher = Matcher(Bank(store, case_name))
        self.policy = policy
        self._fetcher_for = fetcher_for
        self._fetchers: dict[tuple[str, ...], object] = {}
        self._media_cache: dict[tuple[str, int], Probe] = {}

    def fetcher(self, networks: tuple[str, ...]):
        if networks not in self._fetchers:
            if self._fetcher_for is not None:
                self._fetchers[networks] = self._fetcher_for(networks)
            else:
                from unleak.net.fetch import Fetcher
                from unleak.net.guard import NetworkPolicy

                self._fetchers[networks] = Fetcher(self.policy, network=NetworkPolicy.allowing(networks))
        return self._fetchers[networks]

    def close(self) -> None:
        for f in self._fetchers.values():
            close = getattr(f, "close", None)
            if close:
                close()

    def _get(self, url: str, networks: tuple[str, ...], kind: str):
        from unleak.net.guard import Blocked, FetchError

        try:
            return self.fetcher(networks).fetch(url, kind=kind), None
        except Blocked as exc:
            return None, Probe(url, "error", None, f"not checked: {exc.message}")
        except FetchError as exc:
            if exc.status in GONE_STATUSES:
                return None, Probe(url, "gone", exc.status, f"HTTP {exc.status}")
            return None, Probe(url, "error", exc.status, exc.message[:280])

    def probe_media(
        self, url: str, bank_item_id: int, networks: tuple[str, ...], known_sha256: str | None = None
    ) -> Probe:
        key = (url, bank_item_id)
        if key in self._media_cache:
            return self._media_cache[key]
        r, failed = self._get(url, networks, "media")
        if failed:
            probe = failed
        elif r.sniffed in ("image", "video"):
            probe = self._judge_media(url, r, bank_item_id, known_sha256)
        elif r.sniffed in ("html", "text"):
            phrase = looks_removed(r.body)
            probe = Probe(
                url,
                "gone",
                r.status,
                f"removal page ({phrase!r})"
                if phrase
                else "no media at this URL any more" + (f" (now {r.final_url})" if r.final_url != url else ""),
            )
        else:
            probe = Probe(url, "gone", r.status, "no media at this URL any more")
        self._media_cache[key] = probe
        return probe

    def _judge_media(self, url: str, r, bank_item_id: int, known_sha256: str | None = None) -> Probe:
        import hashlib

        from unleak.errors import UnleakError
        from unleak.signals import Media

        if known_sha256 and hashlib.sha256(r.body).hexdigest() == known_sha256:
            # The very file that was matched when the sighting was recorded: no need to match again.
            return Probe(url, "up", r.status, "still serves the protected media (same SHA-256)")
        try:
            result = self.matcher.match_media(Media(data=r.body, name=url))
        except UnleakError as exc:
            return Probe(url, "error", r.status, f"could not read the media: {exc.message}"[:280])
        if any(m.bank_id == bank_item_id for m in result.matches):
            return Probe(url, "up", r.status, "still serves the protected media")
        return Probe(url, "gone", r.status, "the media here no longer matches the protected item")

    def probe_page(
        self, url: str, media_url: str, bank_item_id: int, networks: tuple[str, ...], known_sha256: str | None = None
    ) -> Probe:
        from unleak.net.html import parse_page

        r, failed = self._get(url, networks, "page")
        if failed:
            return failed
        if r.sniffed in ("image", "video"):  # the "page" is the media itself
            return self._judge_media(url, r, bank_item_id, known_sha256)
        phrase = looks_removed(r.body)
        if phrase:
            return Probe(url, "gone", r.status, f"removal page ({phrase!r})")
        info = parse_page(r.body, r.final_url or url)
        shown = [m.url for m in info.media]
        if media_url not in shown:
            moved = f" (redirected to {r.final_url})" if r.final_url and r.final_url != url else ""
            return Probe(url, "gone", r.status, "the page no longer shows the media" + moved, shown)
        media = self.probe_media(media_url, bank_item_id, networks, known_sha256)
        if media.state == "up":
            return Probe(url, "up", r.status, "the page still shows the protected media", shown)
        if media.state == "gone":
            return Probe(url, "gone", r.status, f"the media it shows is gone ({media.reason})", shown)
        return Probe(url, "error", r.status, f"page up; its media could not be checked: {media.reason}", shown)


def _networks(s: Session, source_id: int | None) -> tuple[str, ...]:
    if source_id is None:
        return ()
    src = s.get(Source, source_id)
    if src is None:
        return ()
    try:
        return tuple(sorted(json.loads(src.allow_networks or "[]")))
    except ValueError:
        return ()


def verify_case(
    store: Store,
    case: str | None = None,
    *,
    policy=None,
    fetcher_for=None,
    now: datetime | None = None,
    include_removed: bool = True,
    draft_followups: bool = True,
    directory=None,
) -> VerifyReport:
    """Re-check every URL of the case's sent notices; record removals, update statuses, and turn
    sightings of already-removed items into re-uploads with draft follow-up notices.

    `now` fixes the time recorded for the checks (tests); the fetches themselves are real.
    """
    checked_at = _now(now)
    report = VerifyReport(checked_at)
    with store.session() as s:
        case_row = store.case(s, case, create=False)
        case_id, case_name = case_row.id, case_row.name
        statuses = set(AWAITING) | ({"removed"} if include_removed else set())
        notices = list(
            s.scalars(
                select(Notice)
                .where(Notice.case_id == case_id, Notice.status.in_(statuses), Notice.sent_at.is_not(None))
                .order_by(Notice.id)
            )
        )
        # What to fetch: every reported URL once, with its sighting's media URL and allowed networks.
        targets: dict[str, tuple[str, str, int, tuple[str, ...], str | None]] = {}
        for n in notices:
            for it in n.items:
                sg = s.get(Sighting, it.sighting_id) if it.sighting_id else None
                media_url = it.media_url or (sg.media_url if sg else it.url)
                bank_id = it.bank_item_id or (sg.bank_item_id if sg else None)
                if bank_id is None or it.url in targets:
                    continue
                kind = "media" if it.url == media_url else "page"
                targets[it.url] = (
                    kind,
                    media_url,
                    bank_id,
                    _networks(s, sg.source_id if sg else None),
                    sg.media_sha256 if sg else None,
                )
    checker = Checker(store, case_name, policy=policy, fetcher_for=fetcher_for)
    probes: dict[str, Probe] = {}
    try:
        for url, (kind, media_url, bank_id, networks, sha) in targets.items():
            probes[url] = (
                checker.probe_media(url, bank_id, networks, sha)
                if kind == "media"
                else checker.probe_page(url, media_url, bank_id, networks, sha)
            )
    finally:
        checker.close()
    with store.session() as s:
        _record(s, case_id, probes, checked_at, report, include_removed)
    if draft_followups:
        _reuploads(store, case_id, case_name, checked_at, report, directory)
    return report


def _record(
    s: Session, case_id: int, probes: dict[str, Probe], at: datetime, report: VerifyReport, include_removed: bool
) -> None:
    statuses = set(AWAITING) | ({"removed"} if include_removed else set())
    notices = list(
        s.scalars(
            select(Notice)
            .where(Notice.case_id == case_id, Notice.status.in_(statuses), Notice.sent_at.is_not(None))
            .order_by(Notice.id)
        )
    )
    by_url: dict[str, list[int]] = {}
    touched_sightings: set[int] = set()
    for n in notices:
        for it in n.items:
            probe = probes.get(it.url)
            if probe is None:
                continue
            by_url.setdefault(it.url, []).append(n.id)
            reason = probe.reason if n.host_kind != "search" else f"{probe.reason} (at the source)"
            s.add(
                RemovalCheck(
                    item_id=it.id, at=at, state=probe.state, http_status=probe.http_status, reason=reason[:300]
                )
            )
            it.last_checked_at = at
            if probe.state == "up":
                if it.state == "gone" and n.status == NoticeStatus.COUNTER_NOTICE:
                    # Back at the same URL after a counter-notice: the host restored it.
                    it.state, it.removed_at, it.removal_reason = "up", None, ""
                    window = (n.fields or {}).get("counter_notice") or {}
                    start = window.get("restore_from")
                    early = bool(start and at < datetime.fromisoformat(start))
                    detail = {"url": it.url, "after": "counter_notice", "restore_from": start, "early": early}
                    s.add(NoticeEvent(notice_id=n.id, at=at, kind="restored", detail=detail))
                    _log(s, case_id, "removal.restored", {"notice_id": n.id, "at": at, **detail})
                    report.restored.append(Restored(it.url, n.id, start, early))
                elif it.state == "gone":  # back at the same URL after removal
                    it.state, it.removed_at, it.removal_reason = "up", None, ""
                    s.add(NoticeEvent(notice_id=n.id, at=at, kind="reappeared", detail={"url": it.url}))
                    _log(s, case_id, "removal.reappeared", {"notice_id": n.id, "url": it.url, "at": at})
                else:
                    it.state = "up"
                it.last_up_at = at
            elif probe.state == "gone" and it.state != "gone":
                it.state, it.removed_at, it.removal_reason = "gone", at, reason[:200]
                hours = (at - n.sent_at).total_seconds() / 3600 if n.sent_at else None
                _log(
                    s,
                    case_id,
                    "removal.gone",
                    {
                        "notice_id": n.id,
                        "url": it.url,
                        "at": at,
                        "reason": reason,
                        "http_status": probe.http_status,
                        "hours_since_sent": round(hours, 3) if hours is not None else None,
                    },
                )
            if it.sighting_id:
                touched_sightings.add(it.sighting_id)
        _update_status(s, n, at, report)
    for url, ids in by_url.items():
        p = probes[url]
        report.checks.append(CheckRow(url, p.state, p.reason, p.http_status, ids))
    _log(
        s,
        case_id,
        "removal.check",
        {
            "at": at,
            "urls": len(by_url),
            "gone": sum(1 for u in by_url if probes[u].state == "gone"),
            "up": sum(1 for u in by_url if probes[u].state == "up"),
            "errors": sum(1 for u in by_url if probes[u].state == "error"),
        },
    )
    # A sighting is removed when every URL reported for it is gone; back up: it reappeared.
    from unleak.evidence.sightings import mark_removed, record_sighting

    for sid in touched_sightings:
        sg = s.get(Sighting, sid)
        if sg is None:
            continue
        urls = [u for u in (sg.page_url, sg.media_url) if u and u in probes]
        states = [probes[u].state for u in urls]
        if states and all(st == "gone" for st in states):
            media = probes.get(sg.media_url) or probes[urls[0]]
            mark_removed(s, sg, reason=f"removal check: {media.reason}", http_status=media.http_status, when=at)
        elif any(st == "up" for st in states) and sg.status == "removed":
            record_sighting(
                s,
                case_id,
                bank_id=sg.bank_item_id,
                media_url=sg.media_url,
                page_url=sg.page_url,
                signal=sg.signal,
                distance=sg.distance,
                source_id=sg.source_id,
                seen_at=at,
            )


def _update_status(s: Session, n: Notice, at: datetime, report: VerifyReport) -> None:
    states = [it.state for it in n.items]
    old = NoticeStatus(n.status)
    if old == NoticeStatus.COUNTER_NOTICE:
        return  # the restoration window runs; what the checks find is recorded per URL
    if states and all(st == ItemState.GONE for st in states):
        new = NoticeStatus.REMOVED
    elif any(st == ItemState.GONE for st in states):
        new = NoticeStatus.PARTIALLY_REMOVED
    elif old in (NoticeStatus.REMOVED, NoticeStatus.PARTIALLY_REMOVED):
        new = NoticeStatus.ESCALATED  # what was removed came back: the host must act again
    elif old == NoticeStatus.SENT and n.deadline_at is not None and n.deadline_at < at:
        new = NoticeStatus.NO_ANSWER
    else:
        new = old
    if new == NoticeStatus.REMOVED:
        n.closed_at = max((it.removed_at for it in n.items if it.removed_at), default=at)
    elif n.closed_at is not None and new != NoticeStatus.REFUSED:
        n.closed_at = None
    if new != old:
        n.status = new.value
        s.add(NoticeEvent(notice_id=n.id, at=at, kind="status", detail={"from": old, "to": new, "by": "verify"}))
        _log(s, n.case_id, "notice.status", {"notice_id": n.id, "from": old, "to": new, "at": at, "by": "verify"})
        report.status_changes.append((n.id, old, new))


def _reuploads(store: Store, case_id: int, case_name: str, at: datetime, report: VerifyReport, directory) -> None:
    """Open sightings of items that were already taken down: re-uploads. Each gets a follow-up draft
    citing the notice that got the earlier copy removed."""
    found: list[tuple[int, int, str, str]] = []  # (sighting, earlier notice, basis, url)
    with store.session() as s:
        removed_items = list(
            s.execute(
                select(NoticeItem.bank_item_id, Notice.id, Notice.host, Notice.basis, Notice.host_kind)
                .join(Notice, Notice.id == NoticeItem.notice_id)
                .where(Notice.case_id == case_id, NoticeItem.state == "gone", Notice.host_kind != "search")
                .order_by(Notice.id)
            )
        )
        if not removed_items:
            return
        earlier_by_item: dict[int, list[tuple[int, str, str]]] = {}
        for bank_id, nid, host, basis, _kind in removed_items:
            if bank_id is not None:  # an item whose bank entry was deleted has no re-uploads to find
                earlier_by_item.setdefault(bank_id, []).append((nid, host, basis))
        open_rows = list(s.scalars(select(Sighting).where(Sighting.case_id == case_id, Sighting.status == "up")))
        for sg in open_rows:
            if sg.bank_item_id not in earlier_by_item:
                continue
            active = s.scalar(
                select(NoticeItem.id)
                .join(Notice, Notice.id == NoticeItem.notice_id)
                .where(
                    NoticeItem.sighting_id == sg.id,
                    NoticeItem.state != "gone",
                    Notice.status != "refused",
                    Notice.host_kind != "search",
                )
                .limit(1)
            )
            if active is not None:
                continue
            from unleak.takedown.hosts import HostDirectory, host_of

            directory = directory or HostDirectory.load()
            entry = directory.lookup(sg.page_url or sg.media_url)
            host_key = entry.id if entry else host_of(sg.page_url or sg.media_url)
            candidates = earlier_by_item[sg.bank_item_id]
            same_host = [c for c in candidates if c[1] == host_key]
            nid, _host, basis = (same_host or candidates)[-1]
            if not sg.reupload:
                sg.reupload = True
                sg.reupload_count = (sg.reupload_count or 0) + 1
            found.append((sg.id, nid, basis, sg.page_url or sg.media_url))
            _log(
                s,
                case_id,
                "reupload.found",
                {
                    "sighting_id": sg.id,
                    "url": sg.page_url or sg.media_url,
                    "media_url": sg.media_url,
                    "bank_item_id": sg.bank_item_id,
                    "earlier_notice": nid,
                    "at": at,
                },
            )
        if found:
            _log(s, case_id, "case.reopened", {"reason": "re-upload", "sightings": [f[0] for f in found], "at": at})
    for sid, nid, basis, url in found:
        try:
            outs = draft_notices(
                store,
                case_name,
                bases=[basis],
                search=False,
                sighting_ids=[sid],
                follows={sid: nid},
                directory=directory,
                now=at,
            )
        except Exception as exc:  # a follow-up that cannot be drafted must not hide the re-upload
            from unleak.errors import UnleakError

            if not isinstance(exc, UnleakError):
                raise
            outs = []
        with store.session() as s:
            bank_item = s.get_one(Sighting, sid).bank_item_id
        report.reuploads.append(Reupload(sid, url, bank_item, nid, [o.notice_id for o in outs]))
