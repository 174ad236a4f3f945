"""Drafting notices from sightings: group the case's open sightings by host and legal basis, fill
in what the case knows, list what it does not, and let the person review and confirm the text.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from unleak.errors import UnleakError
from unleak.store import Store
from unleak.store.models import BankItem, Claimant, Notice, NoticeEvent, NoticeItem, Sighting
from unleak.takedown.bases import (
    COPYRIGHT_ROLES,
    DEPICTED,
    NCII_ROLES,
    REPRESENTATIVE,
    BasisId,
    LegalBasis,
    Missing,
    NotEntitled,
    choose_basis,
    default_basis,
    get_basis,
)
from unleak.takedown.claimant import claimant_dict, require_claimant
from unleak.takedown.content import render_text, subject_line
from unleak.takedown.deadlines import uk_osa_citation
from unleak.takedown.hosts import (
    AUTOMATIC_SOURCES,
    Channel,
    Contact,
    FetchFn,
    HostDirectory,
    HostEntry,
    HostKind,
    discover_contacts,
    host_of,
)
from unleak.takedown.notices import (
    ItemState,
    NoticeStatus,
    NoticeView,
    _case,
    _log,
    _notice,
    _now,
    content_hash,
    review_note,
)

ANSWER_FIELDS = (
    "work",
    "explanation",
    "details",
    "signature",
    "locate_info",
    "recipient",
    "reference",
    "lang",  # the notice's language (languages.LANGUAGES)
    "queries",  # search queries that show the content (delisting, §512(d))
    "results_urls",  # search results pages that show it
    "info_kind",  # which personal information the pages show (personal-info delisting)
    "doxxing",  # why it is shared to harm (personal-info delisting: the forms' doxxing route)
)
# Facts only the person can state; the tool never writes them of its own. `owner` and `published`
# may differ per protected item: `owner:LABEL=...`, `published:LABEL=no`.
FACT_FIELDS = ("intimate", "owner", "published", "sold", "synthetic")
_YES = {"yes", "y", "true", "1"}
_NO = {"no", "n", "false", "0"}


def _yes_no(value: Any, what: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise UnleakError(f"{what}={value!r}: answer yes or no", hint=f"e.g. --set {what}=yes")


def is_fact_key(key: str) -> bool:
    return key.partition(":")[0] in FACT_FIELDS


def apply_facts(fields: dict, answers: Mapping[str, Any]) -> None:
    """The person's statements of fact from `answers` into `fields["facts"]` (per item where a
    key is `FACT:LABEL`)."""
    facts = dict(fields.get("facts") or {})
    items = {k: dict(v) for k, v in (facts.get("items") or {}).items()}
    for key, value in answers.items():
        base, _, label = key.partition(":")
        if base not in FACT_FIELDS or value is None:
            continue
        val: Any = _yes_no(value, key) if base in ("intimate", "published", "sold", "synthetic") else str(value).strip()
        if label:
            items.setdefault(label.strip(), {})[base] = val
        else:
            facts[base] = val
    facts["items"] = items
    fields["facts"] = facts


def work_from_facts(fields: dict) -> str:
    """The copyrighted works as the person stated them, item by item; "" until every item's owner
    and publication were stated (the tool never asserts either)."""
    facts = fields.get("facts") or {}
    labels = fields.get("works") or []
    if not labels:
        labels = ["the original photograph(s) or video(s) reproduced at the locations below"]
    lines = []
    for k, label in enumerate(labels, 1):
        item = {
            **{x: facts[x] for x in ("owner", "published") if x in facts},
            **(facts.get("items") or {}).get(label, {}),
        }
        if not item.get("owner") or "published" not in item:
            return ""
        published = "published before" if item["published"] else "not published before"
        lines.append(f"{k}. '{label}': copyright owned by {item['owner']}; {published}.")
    return "The work(s), as I state them:\n" + "\n".join(lines)


@dataclass(frozen=True)
class DraftOutcome:
    """A notice drafted (or an open draft extended): where it goes, its URLs, what it still lacks."""

    notice_id: int
    host: str
    host_name: str
    basis: BasisId
    channel: Channel
    recipient: str
    urls: list[str]
    missing: list[Missing] = field(default_factory=list)
    updated: bool = False  # an existing draft was extended
    review_note: str = ""  # what the person must check before confirming (see review_note())
    # Contacts discovery found that are not used without the person choosing one (`--to-found N`):
    # each with its source and the kind of party it reaches.
    found_contacts: list[dict] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The `notice draft --json` record (before the CLI adds whether it was confirmed)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["missing"] = [m.to_json() for m in self.missing]
        return out


# --- grouping: a pure function over plain values ---------------------------------------------


@dataclass(frozen=True)
class SightingRef:
    """What grouping needs to know of a sighting (a plain value, not a database row)."""

    id: int
    page_url: str | None
    media_url: str | None
    bank_item_id: int | None = None


@dataclass(frozen=True)
class Target:
    """Who a notice goes to: a host (an operator in the directory, else the bare domain) or a search engine."""

    key: str  # the directory entry's id, else the domain
    name: str
    kind: HostKind
    domain: str
    entry: HostEntry | None = field(default=None, compare=False)
    page_url: str | None = None  # the first page seen there: where contact discovery starts


@dataclass(frozen=True)
class OpenDraft:
    """A draft already in the case that new sightings for the same host and basis extend."""

    notice_id: int
    host: str
    basis: str
    urls: tuple[str, ...] = ()
    follows_id: int | None = None


@dataclass(frozen=True)
class DraftItem:
    url: str
    sighting_id: int
    bank_item_id: int | None
    media_url: str | None


@dataclass(frozen=True)
class NoticeDraft:
    """One notice to draft or extend: a target, a basis, and the URLs it gains (none it already has)."""

    target: Target
    basis: BasisId
    sightings: tuple[SightingRef, ...]  # not yet covered by a notice for this target and basis
    new_items: tuple[DraftItem, ...]
    extends: int | None = None  # the open draft these are added to; None: a new notice
    follows_id: int | None = None  # the earlier notice these (re-uploaded) sightings were reported in
    reason: str = ""  # why this basis (shown at review)


def _host_target(directory: HostDirectory, url: str, page_url: str | None) -> Target:
    entry = directory.lookup(url)
    domain = host_of(url)
    # A host is notified as a host, whatever else the directory says it is (an intermediary too).
    return Target(
        entry.id if entry else domain, entry.name if entry else domain, HostKind.HOST, domain, entry, page_url
    )


def group_sightings(
    sightings: Iterable[SightingRef],
    directory: HostDirectory,
    *,
    roles: Collection[str],
    bases: Sequence[str] | None = None,
    search: bool = True,
    covered: Collection[tuple[int, str, str]] = (),
    open_drafts: Iterable[OpenDraft] = (),
    follows: Mapping[int, int] | None = None,
    country: str = "",
    sold: bool | None = None,
) -> list[NoticeDraft]:
    """Sightings by host and legal basis -> one notice draft per (target, basis), in order of first sighting.

    A sighting goes to the operator of its page and of its media file (once when they are the same)
    under each basis given (default: by the claimant's `roles`), and with `search` to every default
    search engine too, unchecked (unleak cannot query search engines: see review_note()).
    Without `bases`, the basis is chosen by who and where (bases.choose_basis: the claimant's
    `country`, the host's jurisdiction, whether it is a covered platform, whether the content was
    `sold`); each draft's `reason` says why. `covered` holds (sighting id, target key, basis) already in a live notice: such a sighting is
    left out. A group whose sightings are all covered yields nothing. New URLs extend the latest
    open draft for the same target and basis (without repeating a URL it has); `follows` maps a
    re-uploaded sighting to the earlier notice its follow-up refers to.
    """
    role_set = set(roles)
    wanted = [get_basis(b).key for b in bases] if bases else None
    reasons: dict[tuple[str, BasisId], str] = {}

    def bases_for(kind: HostKind, entry: HostEntry | None = None) -> list[BasisId]:
        if wanted:
            return [b for b in wanted if kind in get_basis(b).host_kinds]
        default, why = choose_basis(
            role_set,
            kind,
            country=country,
            host_jurisdiction=entry.jurisdiction if entry else "",
            covered=entry.covered_platform if entry else None,
            sold=sold,
        )
        if default:
            reasons[(entry.id if entry else "", default)] = why
        return [default] if default and kind in get_basis(default).host_kinds else []

    search_bases = bases_for(HostKind.SEARCH)
    groups: dict[tuple[str, BasisId], tuple[Target, list[SightingRef]]] = {}
    for sg in sightings:
        page = sg.page_url or sg.media_url
        if not page:
            continue
        seen: set[str] = set()
        for url in (page, sg.media_url):
            if not url:
                continue
            target = _host_target(directory, url, page)
            if target.key in seen:
                continue
            seen.add(target.key)
            if target.entry is not None and target.entry.kind == HostKind.SEARCH:
                continue
            for basis_key in bases_for(HostKind.HOST, target.entry):
                groups.setdefault((target.key, basis_key), (target, []))[1].append(sg)
        if search:
            for engine in directory.search_engines():
                target = Target(
                    engine.id,
                    engine.name,
                    HostKind.SEARCH,
                    engine.domains[0] if engine.domains else engine.id,
                    engine,
                )
                for basis_key in search_bases:
                    groups.setdefault((target.key, basis_key), (target, []))[1].append(sg)
    covered_set = set(covered)
    drafts = sorted(open_drafts, key=lambda d: d.notice_id, reverse=True)  # the latest first
    out: list[NoticeDraft] = []
    for (key, basis_key), (target, members) in groups.items():
        fresh = [sg for sg in members if (sg.id, key, basis_key) not in covered_set]
        if not fresh:
            continue
        follow_id = None
        if follows:
            ids = {follows[sg.id] for sg in fresh if sg.id in follows}
            follow_id = min(ids) if ids else None
        # Follow-ups are kept apart from first notices unless this run drafts follow-ups.
        existing = next(
            (d for d in drafts if d.host == key and d.basis == basis_key and (follows or d.follows_id is None)),
            None,
        )
        if follow_id is not None and existing is not None and existing.follows_id != follow_id:
            existing = None
        have = set(existing.urls if existing else ())
        items = []
        for sg in fresh:
            for url in (sg.page_url, sg.media_url):
                if url and url not in have:
                    have.add(url)
                    items.append(DraftItem(url, sg.id, sg.bank_item_id, sg.media_url))
        out.append(
            NoticeDraft(
                target,
                basis_key,
                tuple(fresh),
                tuple(items),
                existing.notice_id if existing else None,
                follow_id,
                reasons.get((target.entry.id if target.entry else "", basis_key))
                or (f"you chose --basis {basis_key}" if wanted else ""),
            )
        )
    return out


# --- drafting in the store -------------------------------------------------------------------


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


def _covered(s: Session, sightings: Mapping[int, Sighting]) -> set[tuple[int, str, str]]:
    """(sighting, host, basis) already in a notice: not refused, and the content not already gone
    (a copy back at a removed URL needs a new, follow-up notice)."""
    if not sightings:
        return set()
    q = (
        select(NoticeItem.sighting_id, Notice.host, Notice.basis)
        .join(Notice, NoticeItem.notice_id == Notice.id)
        .where(
            NoticeItem.sighting_id.in_(list(sightings)),
            Notice.status != NoticeStatus.REFUSED.value,
            NoticeItem.state != ItemState.GONE.value,
        )
    )
    return {(sid, host, basis) for sid, host, basis in s.execute(q) if sid is not None}


def _open_drafts(s: Session, case_id: int) -> list[OpenDraft]:
    q = select(Notice).where(Notice.case_id == case_id, Notice.status == NoticeStatus.DRAFT.value)
    return [OpenDraft(n.id, n.host, n.basis, tuple(it.url for it in n.items), n.follows_id) for n in s.scalars(q)]


def _default_texts(basis: LegalBasis, fields: dict) -> dict:
    """Texts built only from what the case knows and what the person stated (fields["facts"])."""
    claimant = fields["claimant"]
    roles = set(claimant.get("roles") or [])
    facts = fields.get("facts") or {}
    out = {}
    if basis.key in ("dmca", "dmca-512d"):
        work = work_from_facts(fields)
        if work:
            out["work"] = work
    if basis.key == "dsa" and (fields.get("lang") or "en") == "en":
        who = "the person I represent" if REPRESENTATIVE in roles and DEPICTED not in roles else "me"
        if roles & NCII_ROLES and facts.get("intimate") is True:
            out["explanation"] = (
                f"The items at these locations are intimate images of {who}, published without consent. "
                "Sharing intimate images of a person without their consent is a criminal offence in the Member "
                "States (see also Article 5 of Directive (EU) 2024/1385) and unlawfully processes special "
                "categories of personal data (Articles 6 and 9 GDPR)."
            )
        elif roles & COPYRIGHT_ROLES and work_from_facts(fields):
            out["explanation"] = (
                "The items at these locations reproduce and make available to the public the copyrighted work(s) "
                "described below without authorisation, infringing the exclusive rights of reproduction and "
                "communication to the public (Articles 2 and 3 of Directive 2001/29/EC).\n" + work_from_facts(fields)
            )
    return out


def _apply_defaults(basis: LegalBasis, fields: dict, *, given: Mapping[str, Any]) -> None:
    """Fill the texts built from facts; a text the person wrote is never replaced."""
    derived = set(fields.get("derived") or [])
    for k, v in _default_texts(basis, fields).items():
        if k in given:
            continue
        if k not in fields or k in derived:
            fields[k] = v
            derived.add(k)
    fields["derived"] = sorted(derived - set(given))


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
        claimant_row = require_claimant(s, case_row.id)
        claimant = claimant_dict(claimant_row)
        roles = set(claimant["roles"])
        if case_row.minor:  # a minor's case never drafts a DMCA notice, asked for or by default
            from unleak.takedown.minors import refuse_dmca_for_minor

            refuse_dmca_for_minor(wanted)
            roles -= set(COPYRIGHT_ROLES)
        if wanted:
            for key in wanted:
                get_basis(key).require_entitled(roles)
        elif default_basis(roles, HostKind.HOST) is None:
            raise NotEntitled(
                "the claimant has no capacity set, so no legal basis applies",
                hint="run `unleak claimant set --role depicted_person` (or authorised_representative, "
                "copyright_owner, agent)",
            )
        rows = open_sightings(s, case_row.id, sighting_ids)
        by_id = {sg.id: sg for sg in rows}
        refs = [SightingRef(sg.id, sg.page_url, sg.media_url, sg.bank_item_id) for sg in rows]
        plans = group_sightings(
            refs,
            directory,
            roles=roles,
            bases=wanted,
            search=search,
            covered=_covered(s, by_id),
            open_drafts=_open_drafts(s, case_row.id),
            follows=follows,
            country=claimant.get("country") or "",
            sold=_yes_no(answers["sold"], "sold") if "sold" in answers else None,
        )
        bank_items = {b.id: b for b in s.scalars(select(BankItem).where(BankItem.case_id == case_row.id))}
        for plan in plans:
            target, basis_key, follow_id = plan.target, plan.basis, plan.follows_id
            basis = get_basis(basis_key)
            contact, found = _contact(target, basis_key, recipients, discover)
            if plan.extends is None:
                notice = Notice(
                    case_id=case_row.id,
                    host=target.key,
                    host_name=target.name,
                    host_kind=str(target.kind),
                    basis=basis_key,
                    status=str(NoticeStatus.DRAFT),
                    created_at=now,
                    follows_id=follow_id,
                    fields={},
                )
                s.add(notice)
                s.flush()
                updated = False
            else:
                notice, updated = _notice(s, plan.extends), True
            for item in plan.new_items:
                notice.items.append(
                    NoticeItem(
                        sighting_id=item.sighting_id,
                        bank_item_id=item.bank_item_id,
                        url=item.url,
                        media_url=item.media_url,
                        state=str(ItemState.REPORTED),
                    )
                )
            s.flush()
            fields = dict(notice.fields or {})
            labels: list[str] = []
            for it in notice.items:
                b = bank_items.get(it.bank_item_id) if it.bank_item_id is not None else None
                if b and b.label and b.label not in labels:
                    labels.append(b.label)
            items_json = []
            for it in notice.items:
                sg = (by_id.get(it.sighting_id) or s.get(Sighting, it.sighting_id)) if it.sighting_id else None
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
                    "date": now.isoformat(),
                    "works": labels,
                    "host": {"id": target.key, "name": target.name, "kind": str(target.kind), "domain": target.domain},
                    "claimant": claimant,
                    "urls": [it.url for it in notice.items],
                    "items": items_json,
                }
            )
            if found:
                fields["found_contacts"] = [c.to_json() for c in found]
            if contact is not None and not (fields.get("recipient") or {}).get("address"):
                fields["recipient"] = contact.to_json()
            elif "recipient" not in fields:
                fields["recipient"] = {"channel": "email", "address": "", "source": "", "confirmed": False}
            if target.entry is not None:
                form = target.entry.forms.get(basis_key) or target.entry.forms.get("default")
                if form:  # the host's own form fields, to fill in its order (with their source)
                    fields["form"] = form
            from unleak.takedown.languages import notice_language, texts

            host_lang = target.entry.language if target.entry is not None else ""
            fields["lang"] = notice_language(answers.get("lang") or fields.get("lang"), host_lang)
            if not texts(basis_key, fields["lang"]):
                fields["lang"] = "en"  # a basis with no translation is written in English
            if follow_id is not None and not fields.get("facts"):
                earlier = s.get(Notice, follow_id)  # the same content again: what the person stated holds
                if earlier is not None and (earlier.fields or {}).get("facts"):
                    fields["facts"] = dict(earlier.fields["facts"])
            apply_facts(fields, answers)
            fields.update({k: v for k, v in answers.items() if k in ANSWER_FIELDS and k not in ("recipient", "lang")})
            _apply_defaults(basis, fields, given=answers)
            if basis_key == BasisId.UK_OSA:
                fields["citation"] = uk_osa_citation()
            if plan.reason:
                fields["basis_reason"] = plan.reason
            if answers.get("recipient"):
                fields["recipient"] = _recipient_from_text(answers["recipient"])
            fields.setdefault("statements", {})
            fields["statements"] = {**basis.default_statements(fields), **(fields["statements"] or {})}
            if follow_id is not None:
                fields["follows"] = _follow_info(s, follow_id)
            # A neutral reference: never the case's name, nor the tool's.
            fields.setdefault("reference", secrets.token_hex(5).upper())
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
                    "host": target.key,
                    "basis": basis_key,
                    "urls": [it.url for it in notice.items],
                    "follows": follow_id,
                },
            )
            outcomes.append(
                DraftOutcome(
                    notice.id,
                    target.key,
                    target.name,
                    basis_key,
                    Channel(fields["recipient"]["channel"]),
                    fields["recipient"]["address"],
                    [it.url for it in notice.items],
                    missing_for(fields),
                    updated,
                    review_note(target.kind, target.name, basis_key, fields.get("lang", "")),
                    [c.to_json() for c in found],
                )
            )
    return outcomes


def _recipient_from_text(text: str) -> dict:
    text = text.strip()
    if text.startswith(("http://", "https://")):
        return Contact(Channel.WEBFORM, text, "given", True).to_json()
    return Contact(Channel.EMAIL, text.removeprefix("mailto:"), "given", True).to_json()


def _contact(
    target: Target, basis_key: str, recipients: dict[str, str], discover: FetchFn | None
) -> tuple[Contact | None, list[Contact]]:
    """The recipient to use, and the contacts found that only the person may choose.

    A contact given by the person or listed in the directory is used; of what discovery finds, only
    the site's own security.txt is. A contact found on the leak page (often the uploader's) or in
    RDAP (the registrar, the hosting provider: other parties) is offered, never used by itself.
    """
    for key in (target.key.lower(), target.domain.lower()):
        if key in recipients:
            given = _recipient_from_text(recipients[key])
            return Contact(given["channel"], given["address"], "given", True), []
    if target.entry is not None:
        listed = target.entry.contact_for(basis_key)
        if listed is not None:
            return listed, []
    if discover is not None and target.kind == HostKind.HOST:
        found = discover_contacts(target.domain, target.page_url, discover)
        auto = next((c for c in found if c.source in AUTOMATIC_SOURCES), None)
        return auto, [c for c in found if c is not auto]
    return None, []


def choose_found_contact(store: Store, notice_id: int, number: int, *, now: datetime | None = None) -> NoticeView:
    """Make the `number`-th (from 1) contact found for a draft its recipient: the person's explicit
    choice of a contact unleak does not use by itself. The text is addressed to that party."""
    now = _now(now)
    with store.session() as s:
        notice = _notice(s, notice_id)
        if notice.status not in (NoticeStatus.DRAFT, NoticeStatus.CONFIRMED):
            raise UnleakError(f"notice #{notice_id} is {notice.status}; only drafts can be changed")
        fields = dict(notice.fields)
        found = fields.get("found_contacts") or []
        if not 1 <= number <= len(found):
            raise UnleakError(
                f"notice #{notice_id} has no found contact number {number}"
                + (f" (it has {len(found)})" if found else " (none was found)"),
                hint=f"see them with `unleak notice show {notice_id}`",
            )
        chosen = {**found[number - 1], "chosen": True}
        fields["recipient"] = chosen
        _store_rendering(notice, fields)
        s.add(NoticeEvent(notice_id=notice.id, at=now, kind="edited", detail={"recipient": chosen}))
        return NoticeView.of(notice)


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
        found = fields.get("found_contacts") or []
        problem = "no contact known for this host; give one with --to or add it with `unleak hosts add`"
        if found:
            problem = (
                "contacts were found but none is used without your choice: "
                + "; ".join(
                    f"{k}. {c['address']} ({c.get('source_label') or c['source']})" for k, c in enumerate(found, 1)
                )
                + "; choose one with --to-found N, or give one with --to"
            )
        missing.append(
            Missing("recipient", "where to send it: the host's abuse address or web form", "hosts directory", problem)
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
    if notice.confirmed_sha256 and new_hash != notice.confirmed_sha256 and notice.status == NoticeStatus.CONFIRMED:
        # The text changed after the person confirmed it: the confirmation no longer holds.
        notice.status, notice.confirmed_sha256, notice.confirmed_at = NoticeStatus.DRAFT.value, None, None
    notice.content_sha256 = new_hash


def update_notice(store: Store, notice_id: int, answers: dict, *, now: datetime | None = None) -> list[Missing]:
    """Fill in or change a draft's fields (the answers to what drafting asked). Returns what is still
    missing. A confirmed notice whose text changes goes back to draft and must be confirmed again."""
    now = _now(now)
    with store.session() as s:
        notice = _notice(s, notice_id)
        if notice.status not in (NoticeStatus.DRAFT, NoticeStatus.CONFIRMED):
            raise UnleakError(
                f"notice #{notice_id} is {notice.status}; only drafts can be changed", hint="draft a new notice instead"
            )
        fields = dict(notice.fields)
        unknown = {k for k in answers if not is_fact_key(k)} - set(ANSWER_FIELDS) - {"statements"}
        if unknown:
            raise UnleakError(
                f"unknown field(s): {', '.join(sorted(unknown))}",
                hint="fields: " + ", ".join(ANSWER_FIELDS + FACT_FIELDS),
            )
        apply_facts(fields, answers)
        if "lang" in answers:
            from unleak.takedown.languages import LANGUAGES

            if answers["lang"] not in LANGUAGES:
                raise UnleakError(f"unknown language {answers['lang']!r}", hint="one of: " + ", ".join(LANGUAGES))
            fields["statements"] = {}  # re-derived in the new language below
        for k, v in answers.items():
            if is_fact_key(k):
                continue
            if k == "recipient":
                fields["recipient"] = _recipient_from_text(v)
            elif k == "statements":
                fields["statements"] = {**fields.get("statements", {}), **v}
            else:
                fields[k] = v
        # The claimant profile may have changed since drafting.
        fields["claimant"] = claimant_dict(s.scalar(select(Claimant).where(Claimant.case_id == notice.case_id)))
        basis = get_basis(notice.basis)
        _apply_defaults(basis, fields, given=answers)
        fields["statements"] = {**basis.default_statements(fields), **fields.get("statements", {})}
        _store_rendering(notice, fields)
        s.add(NoticeEvent(notice_id=notice.id, at=now, kind="edited", detail={"fields": sorted(answers)}))
        return missing_for(fields)


def confirm_notice(
    store: Store,
    notice_id: int,
    *,
    typed_name: str,
    expected_sha256: str | None = None,
    now: datetime | None = None,
) -> NoticeView:
    """Confirm one notice by the one rule (`confirming.confirm_notices`): the person read this
    text (`expected_sha256`, the SHA-256 of the text shown; default: the current text) and typed
    their name as it appears in its signature."""
    from unleak.takedown.confirming import confirm_notices

    if expected_sha256 is None:
        with store.session() as s:
            expected_sha256 = _notice(s, notice_id).content_sha256
    return confirm_notices(store, {notice_id: expected_sha256}, typed_name=typed_name, now=now)[0]


def unreported_count(store: Store, case: str | None) -> int:
    """How many of the case's copies still up on the web are in no notice yet (none, or only in
    refused ones, or only for a URL where the content had gone): what `notice draft` would take up."""
    from sqlalchemy import exists, func, or_

    with store.session() as s:
        c = store.case(s, case)
        covered = (
            select(NoticeItem.id)
            .join(Notice, NoticeItem.notice_id == Notice.id)
            .where(
                NoticeItem.sighting_id == Sighting.id,
                Notice.status != NoticeStatus.REFUSED.value,
                NoticeItem.state != ItemState.GONE.value,
            )
        )
        web = or_(
            *(col.ilike(f"{p}%") for col in (Sighting.page_url, Sighting.media_url) for p in ("http://", "https://"))
        )
        q = select(func.count()).where(Sighting.case_id == c.id, Sighting.status == "up", web, ~exists(covered))
        return s.scalar(q) or 0
