"""The escalation ladder for hosts that ignore a notice: the next party up, one rung at a time.

A platform that lets a notice's deadline pass without acting is not the only party that can act.
In order: the hosting provider of the site's servers (RDAP of the IP address block), or the CDN in
front of it (Cloudflare is detected by address; its abuse form can keep the reporter's details from
the site, and unleak's form values ask for that); then the registrar of the domain (RDAP of the
domain); then search engines, which can delist what stays up (the delisting requests `notice
draft` prepares). Each rung is drafted only when the previous rung's deadline has passed, addressed
to that kind of party, and like every notice it leaves only after the person confirms it.
"""

from __future__ import annotations

import ipaddress
import json
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from unleak.errors import UnleakError
from unleak.store import Store
from unleak.store.models import Case, Claimant, Notice, NoticeEvent, NoticeItem
from unleak.takedown.bases import BasisId, default_basis
from unleak.takedown.claimant import claimant_dict
from unleak.takedown.hosts import Contact, FetchFn, HostDirectory, Party, contacts_from_rdap, registrable
from unleak.takedown.notices import AWAITING, ItemState, NoticeStatus, NoticeView, _log, _notice, _now

# Cloudflare's published IPv4 ranges (https://www.cloudflare.com/ips-v4/, as known to unleak's
# authors; not re-checked from here) and the abuse form it documents.
CLOUDFLARE_RANGES = tuple(
    ipaddress.ip_network(n)
    for n in (
        "173.245.48.0/20",
        "103.21.244.0/22",
        "103.22.200.0/22",
        "103.31.4.0/22",
        "141.101.64.0/18",
        "108.162.192.0/18",
        "190.93.240.0/20",
        "188.114.96.0/20",
        "197.234.240.0/22",
        "198.41.128.0/17",
        "162.158.0.0/15",
        "104.16.0.0/13",
        "104.24.0.0/14",
        "172.64.0.0/13",
        "131.0.72.0/22",
    )
)
CLOUDFLARE_ABUSE_FORM = "https://abuse.cloudflare.com/"
LADDER = (Party.HOSTING, Party.CDN, Party.REGISTRAR)
ResolveFn = Callable[[str], list[str]]


def resolve_host(host: str) -> list[str]:
    """The host's IP addresses (empty when it does not resolve)."""
    try:
        return sorted({str(info[4][0]) for info in socket.getaddrinfo(host, 443, proto=socket.IPPROTO_TCP)})
    except OSError:
        return []


def is_cloudflare(ip: str) -> bool:
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(addr in net for net in CLOUDFLARE_RANGES if net.version == addr.version)


@dataclass(frozen=True)
class Rung:
    party: Party
    contact: Contact | None
    why: str


def ladder(domain: str, fetch: FetchFn, resolve: ResolveFn = resolve_host) -> list[Rung]:
    """The rungs above a site's operator, in order, each with the contact found (None: not found)."""
    rungs: list[Rung] = []
    ips = resolve(domain)
    if ips and is_cloudflare(ips[0]):
        rungs.append(
            Rung(
                Party.CDN,
                Contact("webform", CLOUDFLARE_ABUSE_FORM, "cdn-detected", False, Party.CDN),
                f"{domain} is served through Cloudflare ({ips[0]}): its abuse form reaches the hosting provider",
            )
        )
    else:
        contact = None
        if ips:
            r = fetch(f"https://rdap.org/ip/{ips[0]}")
            if r.error is None and r.status == 200:
                try:
                    found = contacts_from_rdap(json.loads(r.body), ip=True)
                except ValueError:
                    found = []
                contact = found[0] if found else None
        rungs.append(
            Rung(Party.HOSTING, contact, f"the network of {domain}'s address {ips[0] if ips else '(unresolved)'}")
        )
    r = fetch(f"https://rdap.org/domain/{registrable(domain)}")
    registrar = None
    if r.error is None and r.status == 200:
        try:
            found = contacts_from_rdap(json.loads(r.body))
        except ValueError:
            found = []
        registrar = found[0] if found else None
    rungs.append(Rung(Party.REGISTRAR, registrar, f"the registrar of {registrable(domain)}"))
    return rungs


class LadderExhausted(UnleakError):
    """Every party above the site (hosting provider or CDN, registrar) has had a notice."""


def escalate(
    store: Store,
    notice_id: int,
    *,
    fetch: FetchFn,
    resolve: ResolveFn = resolve_host,
    now: datetime | None = None,
    directory: HostDirectory | None = None,
) -> list[NoticeView]:
    """The next rung above an overdue notice: the hosting provider (or CDN), then the registrar
    (escalate_notice: one draft), then the search engines (escalate_to_search: one delisting
    request per default engine). Each only once the previous rung's deadline has passed."""
    try:
        return [escalate_notice(store, notice_id, fetch=fetch, resolve=resolve, now=now)]
    except LadderExhausted:
        return escalate_to_search(store, notice_id, now=now, directory=directory)


def _search_basis(first_basis: str, roles: set[str]) -> str:
    """The delisting basis that matches the first notice's: copyright (DMCA §512(d)) after a DMCA
    notice, else the search engines' NCII delisting; after a DSA notice, by the claimant's capacity."""
    if first_basis in (BasisId.DMCA, BasisId.DMCA_SEARCH):
        return BasisId.DMCA_SEARCH
    if first_basis == BasisId.DSA:
        return default_basis(roles, "search") or BasisId.SEARCH_DELISTING
    return BasisId.SEARCH_DELISTING


def escalate_to_search(
    store: Store,
    notice_id: int,
    *,
    now: datetime | None = None,
    directory: HostDirectory | None = None,
) -> list[NoticeView]:
    """The last rung: search delisting requests to the default search engines (Google, Bing) for the
    URLs of an escalated notice that are still up, once the previous rung's deadline has passed.
    What the person stated for the first notice (facts, language) carries over; what the search
    engines ask besides (search queries, whether the content was sold) is listed as missing."""
    from unleak.takedown.drafting import _store_rendering, draft_notices

    now = _now(now)
    with store.session() as s:
        first = _notice(s, notice_id)
        chain = [
            n
            for n in s.scalars(select(Notice).where(Notice.case_id == first.case_id).order_by(Notice.id))
            if n.id == first.id or (n.fields or {}).get("escalates", {}).get("notice_id") == first.id
        ]
        last = chain[-1]
        used = {(n.fields or {}).get("recipient", {}).get("party") for n in chain[1:]}
        if Party.SEARCH in used:
            raise UnleakError(
                f"every rung above {first.host} has been tried, search engines included",
                hint="see `unleak notice status`; a lawyer, the police or a helpline can take it further",
            )
        if last.sent_at is None:
            raise UnleakError(
                f"notice #{last.id} has not been sent yet",
                hint="escalate only once the previous notice was sent and its deadline passed",
            )
        if last.deadline_at is None or last.deadline_at > now or NoticeStatus(last.status) not in AWAITING:
            raise UnleakError(
                f"notice #{last.id} is not overdue (status {last.status}, deadline "
                f"{last.deadline_at.isoformat() if last.deadline_at else 'none'})",
                hint="the next rung is drafted when the previous deadline has passed without removal",
            )
        gone = {it.sighting_id for n in chain for it in n.items if it.state == ItemState.GONE}
        sighting_ids = sorted({it.sighting_id for it in first.items if it.sighting_id and it.sighting_id not in gone})
        case_name = s.get_one(Case, first.case_id).name
        claimant = s.scalar(select(Claimant).where(Claimant.case_id == first.case_id))
        roles = set(claimant_dict(claimant)["roles"]) if claimant is not None else set()
        first_fields = first.fields or {}
        answers: dict = {k: v for k, v in (first_fields.get("facts") or {}).items() if isinstance(v, bool)}
        if first_fields.get("lang"):
            answers["lang"] = first_fields["lang"]
        escalates = {
            "notice_id": first.id,
            "sent_at": first.sent_at.isoformat() if first.sent_at else None,
            "deadline_at": first.deadline_at.isoformat() if first.deadline_at else None,
            "host": first.host_name or first.host,
            "why": "the site and the parties above it let their deadlines pass: search engines can delist it",
        }
    if not sighting_ids:
        raise UnleakError(f"nothing of notice #{notice_id} is still up", hint="check again with `unleak notice check`")
    outcomes = draft_notices(
        store,
        case_name,
        bases=[_search_basis(first.basis, roles)],
        search=True,
        answers=answers,
        directory=directory,
        sighting_ids=sighting_ids,
        now=now,
    )
    if not outcomes:
        raise UnleakError(
            "delisting requests for these URLs already exist (drafted with the first notices)",
            hint="confirm and send them: `unleak notice status` lists them",
        )
    views = []
    with store.session() as s:
        for o in outcomes:
            notice = _notice(s, o.notice_id)
            fields = json.loads(json.dumps(notice.fields or {}))
            fields["recipient"] = {**(fields.get("recipient") or {}), "party": str(Party.SEARCH)}
            fields["escalates"] = escalates
            _store_rendering(notice, fields)
            s.add(NoticeEvent(notice_id=notice.id, at=now, kind="escalated", detail={"escalates": notice_id}))
            _log(
                s,
                notice.case_id,
                "notice.escalate",
                {"notice_id": notice_id, "draft": notice.id, "party": str(Party.SEARCH), "at": now},
            )
            s.flush()
            views.append(NoticeView.of(notice))
    return views


def escalate_notice(
    store: Store,
    notice_id: int,
    *,
    fetch: FetchFn,
    resolve: ResolveFn = resolve_host,
    now: datetime | None = None,
) -> NoticeView:
    """Draft the next rung above an overdue notice: the same URLs and basis, to the hosting provider
    (or CDN), then the registrar. Refused while the previous rung's deadline has not passed. The
    draft is confirmed and sent like any notice. Returns the new draft."""
    now = _now(now)
    with store.session() as s:
        first = _notice(s, notice_id)
        chain = [first] + list(s.scalars(select(Notice).where(Notice.case_id == first.case_id).order_by(Notice.id)))
        chain = [first] + [n for n in chain[1:] if (n.fields or {}).get("escalates", {}).get("notice_id") == first.id]
        last = chain[-1]
        if last.sent_at is None:
            raise UnleakError(
                f"notice #{last.id} has not been sent yet",
                hint="escalate only once the previous notice was sent and its deadline passed",
            )
        if last.deadline_at is None or last.deadline_at > now or NoticeStatus(last.status) not in AWAITING:
            raise UnleakError(
                f"notice #{last.id} is not overdue (status {last.status}, deadline "
                f"{last.deadline_at.isoformat() if last.deadline_at else 'none'})",
                hint="the next rung is drafted when the previous deadline has passed without removal",
            )
        used = {(n.fields or {}).get("recipient", {}).get("party") for n in chain[1:]}
        domain = (first.fields or {}).get("host", {}).get("domain") or first.host
    rungs = [r for r in ladder(domain, fetch, resolve) if r.party not in used]
    if not rungs:
        raise LadderExhausted(
            f"every rung above {domain} has been tried (hosting provider or CDN, registrar)",
            hint="`unleak notice escalate` drafts the last rung: search delisting requests for what stays up",
        )
    rung = rungs[0]
    with store.session() as s:
        first = _notice(s, notice_id)
        fields = json.loads(json.dumps(first.fields or {}))
        fields.pop("found_contacts", None)
        fields["recipient"] = (
            rung.contact.to_json()
            if rung.contact
            else {"channel": "email", "address": "", "source": "", "confirmed": False, "party": str(rung.party)}
        )
        fields["escalates"] = {
            "notice_id": first.id,
            "sent_at": first.sent_at.isoformat() if first.sent_at else None,
            "deadline_at": first.deadline_at.isoformat() if first.deadline_at else None,
            "host": first.host_name or first.host,
            "why": rung.why,
        }
        fields["reference"] = secrets.token_hex(5).upper()
        fields["date"] = now.isoformat()
        if rung.party == Party.CDN:
            fields["cdn_forward_details"] = False  # Cloudflare's form: do not forward my details to the site
        notice = Notice(
            case_id=first.case_id,
            host=f"{first.host}:{rung.party}",
            host_name=f"{rung.party.replace('_', ' ')} of {domain}",
            host_kind="host",
            basis=first.basis,
            status=NoticeStatus.DRAFT.value,
            created_at=now,
            fields={},
        )
        s.add(notice)
        s.flush()
        for it in first.items:
            notice.items.append(
                NoticeItem(
                    sighting_id=it.sighting_id,
                    bank_item_id=it.bank_item_id,
                    url=it.url,
                    media_url=it.media_url,
                    state="reported",
                )
            )
        from unleak.takedown.drafting import _store_rendering

        _store_rendering(notice, fields)
        s.add(
            NoticeEvent(
                notice_id=notice.id, at=now, kind="drafted", detail={"escalates": first.id, "party": rung.party}
            )
        )
        if first.status != NoticeStatus.ESCALATED:
            old = first.status
            first.status = NoticeStatus.ESCALATED.value
            s.add(
                NoticeEvent(
                    notice_id=first.id,
                    at=now,
                    kind="status",
                    detail={"from": old, "to": "escalated", "by": "escalation"},
                )
            )
        _log(
            s,
            first.case_id,
            "notice.escalate",
            {"notice_id": first.id, "draft": notice.id, "party": rung.party, "at": now},
        )
        s.flush()
        return NoticeView.of(notice)
