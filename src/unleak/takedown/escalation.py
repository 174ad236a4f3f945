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
from unleak.store.models import Notice, NoticeEvent, NoticeItem
from unleak.takedown.hosts import Contact, FetchFn, Party, contacts_from_rdap, registrable
from unleak.takedown.notices import AWAITING, NoticeStatus, NoticeView, _log, _notice, _now

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
        raise UnleakError(
            f"every rung above {domain} has been tried (hosting provider or CDN, registrar)",
            hint="what stays up can still be delisted from search engines: `unleak notice draft --basis search-delisting`",
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
