"""Drafting notices from sightings: group the case's open sightings by host and legal basis, fill
in what the case knows, list what it does not, and let the person review and confirm the text.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, true
from sqlalchemy.orm import Session

from unleak.errors import UnleakError
from unleak.store import Store
from unleak.store.models import BankItem, Claimant, Notice, NoticeEvent, NoticeItem, Sighting
from unleak.takedown.bases import (
    COPYRIGHT_ROLES,
    NCII_ROLES,
    OWNER,
    LegalBasis,
    Missing,
    NotEntitled,
    default_basis,
    get_basis,
)
from unleak.takedown.claimant import _claimant_row, claimant_dict
from unleak.takedown.content import render_text, subject_line
from unleak.takedown.hosts import Contact, FetchFn, HostDirectory, HostEntry, discover_contacts, host_of
from unleak.takedown.notices import _case, _log, _notice, _now, content_hash, notice_json, review_note

ANSWER_FIELDS = ("work", "explanation", "details", "signature", "locate_info", "recipient", "reference")


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
