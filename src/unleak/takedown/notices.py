"""Notices in the store: the claimant profile, drafting from sightings, review and confirmation,
sending, replies and status.

A notice leaves only after the person confirmed its exact text: confirmation stores the text's
SHA-256, and sending refuses anything that differs from what was confirmed. Every confirmation,
sending and reply goes into the case's hash-chained evidence log.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select, true, update
from sqlalchemy.orm import Session

from unleak import config
from unleak.errors import NotFound, UnleakError
from unleak.store import Store
from unleak.store.models import BankItem, Case, Claimant, Notice, NoticeEvent, NoticeItem, Sighting
from unleak.takedown.bases import (
    COPYRIGHT_ROLES,
    NCII_ROLES,
    OWNER,
    ROLES,
    LegalBasis,
    Missing,
    NotEntitled,
    default_basis,
    get_basis,
)
from unleak.takedown.content import render_text, subject_line
from unleak.takedown.hosts import Contact, FetchFn, HostDirectory, HostEntry, discover_contacts, host_of

STATUSES = (
    "draft",
    "confirmed",
    "sent",
    "acknowledged",
    "removed",
    "partially_removed",
    "refused",
    "no_answer",
    "escalated",
)
REPLY_STATUSES = ("acknowledged", "removed", "partially_removed", "refused", "no_answer", "escalated")
AWAITING = frozenset({"sent", "acknowledged", "partially_removed", "no_answer", "escalated"})
CLOSED = frozenset({"removed", "refused"})
SEARCH_REVIEW_NOTE = (
    "unleak has not checked that {engine} shows these URLs in its results (it cannot query "
    "search engines): search for them on {engine} first, and send this request only if it "
    "shows them. Confirming this notice states that you checked."
)
CLAIMANT_FIELDS = ("name", "email", "postal_address", "phone", "roles", "on_behalf_of", "signature")
ANSWER_FIELDS = ("work", "explanation", "details", "signature", "locate_info", "recipient", "reference")


def _now(now: datetime | None) -> datetime:
    when = now or datetime.now(UTC)
    if when.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    return when.astimezone(UTC)


def _log(s: Session, case_id: int, action: str, data: dict) -> None:
    from unleak.evidence.log import append_record

    append_record(s, case_id, action, data)


def _case(store: Store, s: Session, name: str | None) -> Case:
    return store.case(s, name, create=False)


# --- the claimant ------------------------------------------------------------------------------


def parse_roles(roles: Iterable[str] | str | None) -> list[str]:
    if roles is None:
        return []
    items = roles.split(",") if isinstance(roles, str) else list(roles)
    out = []
    for r in items:
        r = r.strip().lower().replace("-", "_").replace(" ", "_")
        r = {
            "authorized_representative": "authorised_representative",
            "representative": "authorised_representative",
            "owner": "copyright_owner",
            "depicted": "depicted_person",
            "subject": "depicted_person",
        }.get(r, r)
        if not r:
            continue
        if r not in ROLES:
            raise UnleakError(f"unknown role {r!r}", hint="roles: " + ", ".join(ROLES))
        if r not in out:
            out.append(r)
    return out


def claimant_dict(c: Claimant | None) -> dict:
    if c is None:
        return {k: ([] if k == "roles" else "") for k in CLAIMANT_FIELDS}
    return {
        "name": c.name,
        "email": c.email,
        "postal_address": c.postal_address,
        "phone": c.phone,
        "roles": parse_roles(c.roles),
        "on_behalf_of": c.on_behalf_of,
        "signature": c.signature,
    }


def get_claimant(store: Store, case: str | None = None) -> dict | None:
    with store.session() as s:
        case_row = _case(store, s, case)
        c = s.scalar(select(Claimant).where(Claimant.case_id == case_row.id))
        return claimant_dict(c) if c else None


def set_claimant(store: Store, case: str | None = None, **changes) -> dict:
    """Create or update the case's claimant. Only the fields given change. The typed signature
    defaults to "/Name/" (an electronic signature)."""
    unknown = set(changes) - set(CLAIMANT_FIELDS)
    if unknown:
        raise UnleakError(f"unknown claimant field(s): {', '.join(sorted(unknown))}")
    with store.session() as s:
        case_row = store.case(s, case)  # an unknown name is NotFound: claimant set does not open a case
        c = s.scalar(select(Claimant).where(Claimant.case_id == case_row.id))
        if c is None:
            c = Claimant(case_id=case_row.id)
            s.add(c)
        for key, value in changes.items():
            if value is None:
                continue
            if key == "roles":
                value = ",".join(parse_roles(value))
            setattr(c, key, str(value).strip())
        if not c.signature and c.name:
            c.signature = f"/{c.name}/"
        s.flush()
        _log(s, case_row.id, "claimant.set", {"fields": sorted(k for k, v in changes.items() if v is not None)})
        return claimant_dict(c)


# --- drafting ----------------------------------------------------------------------------------


@dataclass
class DraftOutcome:
    notice_id: int
    host: str
    host_name: str
    basis: str
    channel: str
    recipient: str
    urls: list[str]
    missing: list[Missing] = field(default_factory=list)
    updated: bool = False  # an existing draft was extended
    review_note: str = ""  # what the person must check before confirming (see review_note())

    def to_json(self) -> dict:
        return {
            "notice_id": self.notice_id,
            "host": self.host,
            "host_name": self.host_name,
            "basis": self.basis,
            "channel": self.channel,
            "recipient": self.recipient,
            "urls": self.urls,
            "missing": [m.to_json() for m in self.missing],
            "updated": self.updated,
            "review_note": self.review_note,
        }


def review_note(host_kind: str, host_name: str) -> str:
    """What the person must check themselves before confirming; shown at review, never sent.
    Delisting requests are drafted for every default engine, unchecked: see draft_notices."""
    return SEARCH_REVIEW_NOTE.format(engine=host_name) if host_kind == "search" else ""


@dataclass
class _Group:
    entry: HostEntry | None
    key: str
    name: str
    kind: str
    domain: str
    page_url: str | None = None
    sightings: list[Sighting] = field(default_factory=list)


def _operator(directory: HostDirectory, url: str) -> tuple[str, HostEntry | None, str]:
    entry = directory.lookup(url)
    domain = host_of(url)
    return (entry.id if entry else domain), entry, domain


def open_sightings(s: Session, case_id: int, sighting_ids: Iterable[int] | None = None) -> list[Sighting]:
    """Sightings still up, on the web (a copy found in a local folder has no host to notify)."""
    q = select(Sighting).where(Sighting.case_id == case_id, Sighting.status == "up")
    if sighting_ids is not None:
        q = q.where(Sighting.id.in_(list(sighting_ids)))
    return [
        sg
        for sg in s.scalars(q.order_by(Sighting.id))
        if (sg.page_url or sg.media_url or "").lower().startswith(("http://", "https://"))
    ]


def _covered(s: Session, sighting_id: int, host_key: str, basis: str) -> Notice | None:
    """A notice that already covers this sighting for this host and basis: not refused, and the
    content not already gone (a copy back at a removed URL needs a new, follow-up notice)."""
    return s.scalar(
        select(Notice)
        .join(NoticeItem, NoticeItem.notice_id == Notice.id)
        .where(
            NoticeItem.sighting_id == sighting_id,
            Notice.host == host_key,
            Notice.basis == basis,
            Notice.status != "refused",
            NoticeItem.state != "gone",
        )
        .limit(1)
    )


def _claimant_row(s: Session, case_id: int) -> Claimant:
    c = s.scalar(select(Claimant).where(Claimant.case_id == case_id))
    if c is None or not c.name:
        raise UnleakError(
            "this case has no claimant: who signs the notices, and in what capacity",
            hint="run `unleak claimant set --name ... --email ... --role depicted_person` "
            "(roles: " + ", ".join(ROLES) + ")",
        )
    return c


def _default_texts(basis: LegalBasis, claimant: dict, labels: list[str], kinds: set[str]) -> dict:
    roles = set(claimant.get("roles") or [])
    who = claimant.get("on_behalf_of") if not roles & {"depicted_person", OWNER} else claimant.get("name")
    who = who or claimant.get("name", "")
    what = " and ".join(sorted({"video" if k == "video" else "photograph" for k in kinds} or {"photograph"}))
    names = "; ".join(f"'{x}'" for x in labels if x) or "(private, unpublished)"
    out = {}
    if basis.key in ("dmca", "dmca-512d"):
        out["work"] = (
            f"Original, unpublished {what}(s) of which {who} owns the copyright, identified in my records "
            f"as: {names}. The material at the locations below reproduces them without authorisation."
        )
    if basis.key == "dsa":
        if roles & NCII_ROLES:
            out["explanation"] = (
                f"The items at these locations are intimate {what}(s) of {who}, published without {who}'s consent. "
                "Sharing intimate images of a person without their consent is a criminal offence in the Member "
                "States (see also Article 5 of Directive (EU) 2024/1385) and unlawfully processes special "
                "categories of personal data (Articles 6 and 9 GDPR). They match, by perceptual fingerprint, "
                f"private {what}s that {who} never published."
            )
        elif roles & COPYRIGHT_ROLES:
            out["explanation"] = (
                f"The items at these locations reproduce and make available to the public original {what}(s) of "
                f"which {who} owns the copyright, without authorisation, infringing the exclusive rights of "
                "reproduction and communication to the public (Articles 2 and 3 of Directive 2001/29/EC)."
            )
    return out


def draft_notices(
    store: Store,
    case: str | None = None,
    *,
    bases: Iterable[str] | None = None,
    search: bool = True,
    answers: dict | None = None,
    recipients: dict[str, str] | None = None,
    discover: FetchFn | None = None,
    directory: HostDirectory | None = None,
    sighting_ids: Iterable[int] | None = None,
    follows: dict[int, int] | None = None,
    now: datetime | None = None,
) -> list[DraftOutcome]:
    """Group the case's open sightings by host and legal basis and draft one notice per group.

    Fills in what the case knows (claimant, URLs, first-seen times, item labels, the host's
    contact); what it does not know is listed in each outcome's `missing`, to be given with
    `update_notice`. `recipients` maps a host key or domain to an address when the directory
    has none. `follows` maps a sighting id to an earlier notice it re-reports (re-uploads).
    """
    now = _now(now)
    directory = directory or HostDirectory.load()
    answers = {k: v for k, v in (answers or {}).items() if v is not None}
    recipients = {k.lower(): v for k, v in (recipients or {}).items()}
    wanted = [get_basis(b).key for b in bases] if bases else None
    outcomes: list[DraftOutcome] = []
    with store.session() as s:
        case_row = _case(store, s, case)
        claimant_row = _claimant_row(s, case_row.id)
        claimant = claimant_dict(claimant_row)
        roles = set(claimant["roles"])
        if wanted:
            for key in wanted:
                get_basis(key).require_entitled(roles)
        elif default_basis(roles, "host") is None:
            raise NotEntitled(
                "the claimant has no capacity set, so no legal basis applies",
                hint="run `unleak claimant set --role depicted_person` (or authorised_representative, "
                "copyright_owner, agent)",
            )
        sightings = open_sightings(s, case_row.id, sighting_ids)
        groups: dict[tuple[str, str], _Group] = {}
        for sg in sightings:
            page = sg.page_url or sg.media_url
            seen_ops: set[str] = set()
            for url in (page, sg.media_url):
                key, entry, domain = _operator(directory, url)
                if key in seen_ops:
                    continue
                seen_ops.add(key)
                kind = entry.kind if entry else "host"
                if kind == "search":
                    continue
                for basis_key in wanted or [default_basis(roles, "host")]:
                    basis = get_basis(basis_key)
                    if "host" not in basis.host_kinds:
                        continue
                    g = groups.setdefault(
                        (key, basis.key), _Group(entry, key, entry.name if entry else domain, "host", domain, page)
                    )
                    g.sightings.append(sg)
            if search:
                # Every default engine, without checking that it lists the URL: unleak cannot query search
                # engines. The review note (review_note()) asks the person to check before confirming.
                for engine in directory.search_engines():
                    for basis_key in wanted or [default_basis(roles, "search")]:
                        basis = get_basis(basis_key)
                        if "search" not in basis.host_kinds:
                            continue
                        g = groups.setdefault(
                            (engine.id, basis.key),
                            _Group(
                                engine,
                                engine.id,
                                engine.name,
                                "search",
                                engine.domains[0] if engine.domains else engine.id,
                            ),
                        )
                        g.sightings.append(sg)
        bank_items = {b.id: b for b in s.scalars(select(BankItem).where(BankItem.case_id == case_row.id))}
        for (host_key, basis_key), g in groups.items():
            basis = get_basis(basis_key)
            fresh = [sg for sg in g.sightings if _covered(s, sg.id, host_key, basis_key) is None]
            if not fresh:
                continue
            existing = s.scalar(
                select(Notice)
                .where(
                    Notice.case_id == case_row.id,
                    Notice.host == host_key,
                    Notice.basis == basis_key,
                    Notice.status == "draft",
                    Notice.follows_id.is_(None) if not follows else true(),
                )
                .order_by(Notice.id.desc())
                .limit(1)
            )
            follow_id = None
            if follows:
                ids = {follows.get(sg.id) for sg in fresh} - {None}
                follow_id = min(ids) if ids else None
            if follow_id is not None and existing is not None and existing.follows_id != follow_id:
                existing = None
            contact = _contact(g, basis_key, recipients, discover)
            if existing is None:
                notice = Notice(
                    case_id=case_row.id,
                    host=host_key,
                    host_name=g.name,
                    host_kind=g.kind,
                    basis=basis_key,
                    status="draft",
                    created_at=now,
                    follows_id=follow_id,
                    fields={},
                )
                s.add(notice)
                s.flush()
                updated = False
            else:
                notice, updated = existing, True
            for sg in fresh:
                for url in (sg.page_url, sg.media_url):
                    if url and not any(i.url == url for i in notice.items):
                        notice.items.append(
                            NoticeItem(
                                sighting_id=sg.id,
                                bank_item_id=sg.bank_item_id,
                                url=url,
                                media_url=sg.media_url,
                                state="reported",
                            )
                        )
            s.flush()
            fields = dict(notice.fields or {})
            labels, kinds = [], set()
            sighting_rows = {sg.id: sg for sg in g.sightings}
            for it in notice.items:
                b = bank_items.get(it.bank_item_id)
                if b and b.label not in labels:
                    labels.append(b.label)
                    kinds.add(b.kind)
            items_json = []
            for it in notice.items:
                sg = sighting_rows.get(it.sighting_id) or (s.get(Sighting, it.sighting_id) if it.sighting_id else None)
                items_json.append(
                    {
                        "url": it.url,
                        "kind": "web page" if sg is not None and it.url == sg.page_url else "media file",
                        "first_seen": sg.first_seen.isoformat() if sg else None,
                        "sighting_id": it.sighting_id,
                    }
                )
            fields.update(
                {
                    "basis": basis_key,
                    "case": case_row.name,
                    "date": now.isoformat(),
                    "host": {"id": host_key, "name": g.name, "kind": g.kind, "domain": g.domain},
                    "claimant": claimant,
                    "urls": [it.url for it in notice.items],
                    "items": items_json,
                }
            )
            if contact is not None and not (fields.get("recipient") or {}).get("address"):
                fields["recipient"] = contact.to_json()
            elif "recipient" not in fields:
                fields["recipient"] = {"channel": "email", "address": "", "source": "", "confirmed": False}
            for k, v in _default_texts(basis, claimant, labels, kinds).items():
                fields.setdefault(k, v)
            fields.update({k: v for k, v in answers.items() if k in ANSWER_FIELDS and k != "recipient"})
            if answers.get("recipient"):
                fields["recipient"] = _recipient_from_text(answers["recipient"])
            fields.setdefault("statements", {})
            fields["statements"] = {**basis.default_statements(fields), **(fields["statements"] or {})}
            if follow_id is not None:
                fields["follows"] = _follow_info(s, follow_id)
            fields.setdefault("reference", f"unleak case {case_row.name!r}, notice #{notice.id}")
            _store_rendering(notice, fields)
            s.add(
                NoticeEvent(
                    notice_id=notice.id,
                    at=now,
                    kind="drafted" if not updated else "extended",
                    detail={"urls": [it.url for it in notice.items]},
                )
            )
            _log(
                s,
                case_row.id,
                "notice.draft",
                {
                    "notice_id": notice.id,
                    "host": host_key,
                    "basis": basis_key,
                    "urls": [it.url for it in notice.items],
                    "follows": follow_id,
                },
            )
            outcomes.append(
                DraftOutcome(
                    notice.id,
                    host_key,
                    g.name,
                    basis_key,
                    fields["recipient"]["channel"],
                    fields["recipient"]["address"],
                    [it.url for it in notice.items],
                    missing_for(fields),
                    updated,
                    review_note(g.kind, g.name),
                )
            )
    return outcomes


def _recipient_from_text(text: str) -> dict:
    text = text.strip()
    if text.startswith(("http://", "https://")):
        return Contact("webform", text, "given", True).to_json()
    return Contact("email", text.removeprefix("mailto:"), "given", True).to_json()


def _contact(g: _Group, basis_key: str, recipients: dict[str, str], discover: FetchFn | None) -> Contact | None:
    for key in (g.key.lower(), g.domain.lower()):
        if key in recipients:
            c = _recipient_from_text(recipients[key])
            return Contact(c["channel"], c["address"], "given", True)
    if g.entry is not None:
        c = g.entry.contact_for(basis_key)
        if c is not None:
            return c
    if discover is not None and g.kind == "host":
        found = discover_contacts(g.domain, g.page_url, discover)
        if found:
            return found[0]
    return None


def _follow_info(s: Session, notice_id: int) -> dict:
    earlier = s.get(Notice, notice_id)
    if earlier is None:
        return {"notice_id": notice_id}
    return {
        "notice_id": earlier.id,
        "sent_at": earlier.sent_at.isoformat() if earlier.sent_at else None,
        "message_id": earlier.message_id,
        "basis": earlier.basis,
        "urls": [it.url for it in earlier.items],
    }


def missing_for(fields: dict) -> list[Missing]:
    basis = get_basis(fields["basis"])
    missing = basis.check(fields)
    if not (fields.get("recipient") or {}).get("address"):
        missing.append(
            Missing(
                "recipient",
                "where to send it: the host's abuse address or web form",
                "hosts directory",
                "no contact known for this host; give one with --to or add it with `unleak hosts add`",
            )
        )
    return missing


def content_hash(subject: str, body: str, recipient: dict) -> str:
    data = json.dumps(
        {"subject": subject, "body": body, "channel": recipient.get("channel"), "to": recipient.get("address")},
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def _store_rendering(notice: Notice, fields: dict) -> None:
    missing = missing_for(fields)
    fields["missing"] = [m.to_json() for m in missing]
    notice.fields = fields
    notice.subject = subject_line(fields)
    notice.body = render_text(fields, check=False)
    recipient = fields.get("recipient") or {}
    notice.channel = recipient.get("channel") or "email"
    notice.recipient = recipient.get("address") or ""
    new_hash = content_hash(notice.subject, notice.body, recipient)
    if notice.confirmed_sha256 and new_hash != notice.confirmed_sha256 and notice.status == "confirmed":
        # The text changed after the person confirmed it: the confirmation no longer holds.
        notice.status, notice.confirmed_sha256, notice.confirmed_at = "draft", None, None
    notice.content_sha256 = new_hash


def update_notice(store: Store, notice_id: int, answers: dict, *, now: datetime | None = None) -> list[Missing]:
    """Fill in or change a draft's fields (the answers to what drafting asked). Returns what is still
    missing. A confirmed notice whose text changes goes back to draft and must be confirmed again."""
    now = _now(now)
    with store.session() as s:
        notice = _notice(s, notice_id)
        if notice.status not in ("draft", "confirmed"):
            raise UnleakError(
                f"notice #{notice_id} is {notice.status}; only drafts can be changed", hint="draft a new notice instead"
            )
        fields = dict(notice.fields)
        unknown = set(answers) - set(ANSWER_FIELDS) - {"statements"}
        if unknown:
            raise UnleakError(
                f"unknown field(s): {', '.join(sorted(unknown))}", hint="fields: " + ", ".join(ANSWER_FIELDS)
            )
        for k, v in answers.items():
            if k == "recipient":
                fields["recipient"] = _recipient_from_text(v)
            elif k == "statements":
                fields["statements"] = {**fields.get("statements", {}), **v}
            else:
                fields[k] = v
        # The claimant profile may have changed since drafting.
        fields["claimant"] = claimant_dict(s.scalar(select(Claimant).where(Claimant.case_id == notice.case_id)))
        fields["statements"] = {**get_basis(notice.basis).default_statements(fields), **fields.get("statements", {})}
        _store_rendering(notice, fields)
        s.add(NoticeEvent(notice_id=notice.id, at=now, kind="edited", detail={"fields": sorted(answers)}))
        return missing_for(fields)


def _notice(s: Session, notice_id: int) -> Notice:
    notice = s.get(Notice, notice_id)
    if notice is None:
        raise NotFound(f"no notice #{notice_id}", hint="see `unleak notice status`")
    return notice


def get_notice(store: Store, notice_id: int) -> dict:
    with store.session() as s:
        n = _notice(s, notice_id)
        return notice_json(n)


def notice_json(n: Notice) -> dict:
    return {
        "id": n.id,
        "case_id": n.case_id,
        "host": n.host,
        "host_name": n.host_name,
        "host_kind": n.host_kind,
        "basis": n.basis,
        "channel": n.channel,
        "recipient": n.recipient,
        "status": n.status,
        "subject": n.subject,
        "body": n.body,
        "content_sha256": n.content_sha256,
        "confirmed": n.confirmed_sha256 is not None and n.confirmed_sha256 == n.content_sha256,
        "missing": (n.fields or {}).get("missing", []),
        "follows_id": n.follows_id,
        "review_note": review_note(n.host_kind, n.host_name or n.host),
        "message_id": n.message_id,
        "message_sha256": n.message_sha256,
        "created_at": n.created_at,
        "confirmed_at": n.confirmed_at,
        "sent_at": n.sent_at,
        "deadline_at": n.deadline_at,
        "deadline_kind": n.deadline_kind,
        "acknowledged_at": n.acknowledged_at,
        "closed_at": n.closed_at,
        "items": [
            {
                "id": i.id,
                "url": i.url,
                "state": i.state,
                "removed_at": i.removed_at,
                "removal_reason": i.removal_reason,
                "sighting_id": i.sighting_id,
            }
            for i in n.items
        ],
        "events": [{"at": e.at, "kind": e.kind, "detail": e.detail} for e in n.events],
    }


# --- confirmation and sending ----------------------------------------------------------------


def confirm_notice(
    store: Store, notice_id: int, *, expected_sha256: str | None = None, now: datetime | None = None
) -> dict:
    """The person has read this exact text and confirms it. Refuses an incomplete notice.

    `expected_sha256`, when given, must match the text shown to the person (so a notice that
    changed between showing and confirming is not confirmed by mistake).
    """
    now = _now(now)
    with store.session() as s:
        notice = _notice(s, notice_id)
        if notice.status not in ("draft", "confirmed"):
            raise UnleakError(f"notice #{notice_id} is already {notice.status}")
        fields = notice.fields
        missing = missing_for(fields)
        if missing:
            from unleak.takedown.bases import IncompleteNotice

            raise IncompleteNotice(get_basis(notice.basis), missing)
        body = render_text(fields, check=True)  # raises naming any missing element
        if body != notice.body:
            raise UnleakError(
                f"notice #{notice_id} changed since it was drafted",
                hint=f"review it again with `unleak notice show {notice_id}`",
            )
        if expected_sha256 and expected_sha256 != notice.content_sha256:
            raise UnleakError(
                f"notice #{notice_id} is not the text you reviewed",
                hint=f"review it again with `unleak notice show {notice_id}`",
            )
        notice.status, notice.confirmed_sha256, notice.confirmed_at = "confirmed", notice.content_sha256, now
        s.add(NoticeEvent(notice_id=notice.id, at=now, kind="confirmed", detail={"sha256": notice.content_sha256}))
        _log(
            s,
            notice.case_id,
            "notice.confirm",
            {
                "notice_id": notice.id,
                "content_sha256": notice.content_sha256,
                "basis": notice.basis,
                "host": notice.host,
            },
        )
        return notice_json(notice)


@dataclass
class SendOutcome:
    notice_id: int
    channel: str
    recipient: str
    sent_at: datetime
    deadline_at: datetime | None
    deadline_kind: str
    deadline_rule: str
    message_id: str | None = None
    message_sha256: str | None = None
    eml_path: str | None = None

    def to_json(self) -> dict:
        return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in self.__dict__.items()}


def notices_dir(case_id: int) -> Path:
    return config.private_dir(config.home() / "notices" / f"case-{case_id}")


def send_notice(
    store: Store,
    notice_id: int,
    *,
    smtp_settings=None,
    submitted: bool = False,
    attach_pdf: bool = False,
    now: datetime | None = None,
    clock=None,
) -> SendOutcome:
    """Send a confirmed notice by email, or record that its web form was submitted.

    Refuses a notice that was not confirmed, or whose text differs from what was confirmed.
    The deadline runs from the time the SMTP server accepted the message.
    """
    from unleak.takedown.deadlines import compute_deadline
    from unleak.takedown.render import build_email, render_pdf
    from unleak.takedown.smtp import load_smtp_settings, message_bytes, send

    with store.session() as s:
        notice = _notice(s, notice_id)
        if notice.status != "confirmed" or not notice.confirmed_sha256:
            raise UnleakError(
                f"notice #{notice_id} has not been confirmed (it is {notice.status}); "
                "a notice is sent only after the person has reviewed and confirmed it",
                hint=f"read it with `unleak notice show {notice_id}`, then `unleak notice confirm {notice_id}`",
            )
        recipient = (notice.fields or {}).get("recipient") or {}
        if content_hash(notice.subject, notice.body, recipient) != notice.confirmed_sha256:
            raise UnleakError(
                f"notice #{notice_id} differs from the text that was confirmed; not sent",
                hint=f"review and confirm it again: `unleak notice confirm {notice_id}`",
            )
        if notice.channel == "webform" and not submitted:
            raise UnleakError(
                f"{notice.host_name} takes notices through a web form: {notice.recipient}",
                hint=f"paste the fields from `unleak notice show {notice_id} --form`, submit the form, "
                f"then record it with `unleak notice send {notice_id} --submitted`",
            )
        # Claim the notice so two senders cannot both send it.
        claimed = s.execute(
            update(Notice).where(Notice.id == notice_id, Notice.status == "confirmed").values(status="sending")
        ).rowcount
        s.commit()
        if claimed != 1:
            raise UnleakError(f"notice #{notice_id} is being sent by another process")
        subject, body, to, claimant = notice.subject, notice.body, notice.recipient, notice.fields["claimant"]
        case_id, basis_key, follows_id = notice.case_id, notice.basis, notice.follows_id
        references = s.get(Notice, follows_id).message_id if follows_id and s.get(Notice, follows_id) else None
    try:
        message_id = message_sha = eml_path = None
        if notice.channel == "email":
            settings = smtp_settings or load_smtp_settings()
            when = _now(now) if now else None
            msg = build_email(
                subject=subject,
                body=body,
                to=to,
                claimant=claimant,
                from_addr=settings.from_addr,
                notice_id=notice_id,
                when=when,
                references=references,
                pdf=render_pdf(subject, body) if attach_pdf else None,
            )
            result = send(msg, settings, now=clock)
            sent_at = _now(now) if now else result.accepted_at
            message_id, message_sha = result.message_id, result.sha256
            path = notices_dir(case_id) / f"notice-{notice_id}.eml"
            config.write_private(path, message_bytes(msg))
            eml_path = str(path)
        else:
            sent_at = _now(now)
    except BaseException:
        with store.session() as s:
            s.execute(
                update(Notice).where(Notice.id == notice_id, Notice.status == "sending").values(status="confirmed")
            )
        raise
    deadline = compute_deadline(get_basis(basis_key), sent_at)
    with store.session() as s:
        notice = _notice(s, notice_id)
        notice.status, notice.sent_at = "sent", sent_at
        notice.message_id, notice.message_sha256 = message_id, message_sha
        notice.deadline_at, notice.deadline_kind = deadline.at, deadline.kind
        detail = {
            "channel": notice.channel,
            "to": notice.recipient,
            "message_id": message_id,
            "message_sha256": message_sha,
            "deadline": deadline.to_json(),
        }
        s.add(NoticeEvent(notice_id=notice.id, at=sent_at, kind="sent", detail=detail))
        _log(
            s,
            case_id,
            "notice.send",
            {
                "notice_id": notice.id,
                "basis": basis_key,
                "host": notice.host,
                "channel": notice.channel,
                "to": notice.recipient,
                "content_sha256": notice.content_sha256,
                "message_id": message_id,
                "message_sha256": message_sha,
                "sent_at": sent_at,
                "deadline_at": deadline.at,
                "deadline_kind": deadline.kind,
                "urls": [it.url for it in notice.items],
            },
        )
    return SendOutcome(
        notice_id,
        notice.channel,
        notice.recipient,
        sent_at,
        deadline.at,
        deadline.kind,
        deadline.rule,
        message_id,
        message_sha,
        eml_path,
    )


# --- replies and status -------------------------------------------------------------------------


def record_reply(store: Store, notice_id: int, status: str, text: str = "", *, at: datetime | None = None) -> dict:
    """Record the host's answer (or an escalation) and move the notice to `status`."""
    at = _now(at)
    status = status.replace("-", "_").replace(" ", "_")
    if status not in REPLY_STATUSES:
        raise UnleakError(f"unknown status {status!r}", hint="one of: " + ", ".join(REPLY_STATUSES))
    with store.session() as s:
        notice = _notice(s, notice_id)
        if notice.sent_at is None:
            raise UnleakError(f"notice #{notice_id} has not been sent", hint="only a sent notice can have a reply")
        previous = notice.status
        notice.status = status
        if status in ("acknowledged", "removed", "partially_removed", "refused") and notice.acknowledged_at is None:
            notice.acknowledged_at = at
        if status in CLOSED:
            notice.closed_at = at
        text_sha = hashlib.sha256(text.encode("utf-8")).hexdigest() if text else None
        s.add(
            NoticeEvent(
                notice_id=notice.id,
                at=at,
                kind="reply",
                detail={"status": status, "previous": previous, "text": text, "text_sha256": text_sha},
            )
        )
        _log(
            s,
            notice.case_id,
            "notice.reply",
            {"notice_id": notice.id, "status": status, "previous": previous, "at": at, "text_sha256": text_sha},
        )
        return notice_json(notice)


@dataclass
class StatusRow:
    id: int
    host: str
    basis: str
    status: str
    sent_at: datetime | None
    deadline_at: datetime | None
    deadline_kind: str
    overdue: bool
    urls: int
    removed: int
    follows_id: int | None

    def to_json(self) -> dict:
        return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in self.__dict__.items()}


def notice_status(
    store: Store, case: str | None = None, *, now: datetime | None = None, include_closed: bool = True
) -> list[StatusRow]:
    """The case's notices, overdue first (most overdue first), then by deadline, then drafts."""
    now = _now(now)
    rows = []
    with store.session() as s:
        case_row = _case(store, s, case)
        for n in s.scalars(select(Notice).where(Notice.case_id == case_row.id).order_by(Notice.id)):
            if not include_closed and n.status in CLOSED:
                continue
            overdue = bool(n.deadline_at and n.status in AWAITING and n.deadline_at < now)
            rows.append(
                StatusRow(
                    n.id,
                    n.host_name or n.host,
                    n.basis,
                    n.status,
                    n.sent_at,
                    n.deadline_at,
                    n.deadline_kind,
                    overdue,
                    len(n.items),
                    sum(1 for i in n.items if i.state == "gone"),
                    n.follows_id,
                )
            )
    far = datetime.max.replace(tzinfo=UTC)
    rows.sort(key=lambda r: (not r.overdue, r.status in CLOSED, r.deadline_at or far, r.id))
    return rows
