"""Take-down commands: claimant, notice draft|show|edit|confirm|send|status|reply, verify, report, hosts.

A notice leaves only after the person confirmed it: `notice draft` shows each notice and asks
(or confirms with --yes after showing it, for scripts); `notice confirm ID` does the same for one
notice; `notice send` refuses anything unconfirmed.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from unleak import console as output
from unleak.errors import UnleakError

if TYPE_CHECKING:
    from unleak.takedown.claimant import ClaimantRecord
    from unleak.takedown.notices import NoticeView

JsonOption = typer.Option(False, "--json", help="One JSON object per line instead of tables.")
CaseArg = typer.Argument(None, help="Case name (the default case when omitted).")
CaseOpt = typer.Option(None, "--case", "-c", help="Case name, as an option (same as the argument).")
SignOpt = typer.Option(
    None, "--sign", help="Your name as it appears in the signature: confirms without asking for it (scripts)."
)
Understand512fOpt = typer.Option(
    False,
    "--i-understand-512f",
    help="Confirming several notices at once with a DMCA notice among them: you read each and know that "
    "knowingly misrepresenting infringement makes you liable for damages (17 U.S.C. §512(f)).",
)

notice_app = typer.Typer(help="Take-down notices: draft, review, confirm, send, track.", no_args_is_help=True)
claimant_app = typer.Typer(help="Who signs a case's notices, and in what capacity.", no_args_is_help=True)
hosts_app = typer.Typer(help="The directory of hosts and where they take notices.", no_args_is_help=True)


def _store():
    from unleak.store import open_store

    return open_store()


def _interactive(as_json: bool = False) -> bool:
    return not as_json and sys.stdin.isatty()


def _pairs(values: list[str] | None, what: str) -> dict[str, str]:
    out = {}
    for v in values or []:
        if "=" not in v:
            raise UnleakError(f"{what} {v!r} is not KEY=VALUE", hint=f"write e.g. {what} work='Original photo ...'")
        k, val = v.split("=", 1)
        out[k.strip()] = val
    return out


def _when(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise UnleakError(f"cannot read the time {value!r}", hint="use ISO 8601, e.g. 2026-06-01T14:00+02:00") from None
    if t.tzinfo is None:
        from unleak.takedown.deadlines import user_zone

        t = t.replace(tzinfo=user_zone())
    return t


def _local(t) -> str:
    from unleak.takedown.deadlines import format_local

    return format_local(t) if t else ""


# --- claimant ---------------------------------------------------------------------------------


@claimant_app.command("set")
def claimant_set(
    case: str | None = typer.Option(None, "--case", "-c", help="Case name (the default case when omitted)."),
    name: str | None = typer.Option(None, "--name", help="Full legal name of the person signing."),
    email: str | None = typer.Option(None, "--email", help="Email address for replies."),
    address: str | None = typer.Option(None, "--address", help="Postal address (lines separated by ';')."),
    phone: str | None = typer.Option(None, "--phone"),
    role: list[str] | None = typer.Option(
        None,
        "--role",
        help="depicted_person, authorised_representative, copyright_owner or agent (repeat for several).",
    ),
    on_behalf_of: str | None = typer.Option(None, "--on-behalf-of", help="Whom a representative or agent acts for."),
    signature: str | None = typer.Option(None, "--signature", help="Typed electronic signature (default /Name/)."),
    notice_contact: str | None = typer.Option(
        None,
        "--notice-contact",
        help="A contact for notices given instead of your own address (an agent, a lawyer, a helpline, "
        "a fresh email address). Recommended.",
    ),
    country: str | None = typer.Option(None, "--country", help="Your country (search delisting forms ask for it)."),
    as_json: bool = JsonOption,
) -> None:
    """Set who signs this case's notices (in a terminal with no options: asks for each field).
    Stored in the case; no passwords or secrets here."""
    from unleak.takedown.claimant import set_claimant

    changes = {
        "name": name,
        "email": email,
        "postal_address": address,
        "phone": phone,
        "roles": ",".join(role) if role else None,
        "on_behalf_of": on_behalf_of,
        "signature": signature,
        "notice_contact": notice_contact,
        "country": country,
    }
    if all(v is None for v in changes.values()):
        if not _interactive(as_json):
            raise UnleakError(
                "nothing to set: give the claimant's fields",
                hint="e.g. `unleak claimant set --name ... --email ... --role depicted_person` "
                "(run it in a terminal without options to be asked for each)",
            )
        changes = _ask_claimant(case)
    c = set_claimant(_store(), case, **changes)
    if as_json:
        output.emit_json(c.to_json())
    else:
        _print_claimant(c)


def _ask_claimant(case: str | None) -> dict[str, str | None]:
    """Ask for each claimant field, saying which notices need it and why. Enter keeps a field as is."""
    from unleak.takedown.claimant import FIELD_NEEDS, get_claimant

    current = get_claimant(_store(), case)
    have = current.to_json() if current else {}
    output.console.print(
        "Who signs this case's notices? Each field says which notices need it; press Enter to leave one as it is.",
        highlight=False,
    )
    out: dict[str, str | None] = {}
    for key in ("name", "roles", "email", "notice_contact", "on_behalf_of", "postal_address", "phone", "country"):
        now = have.get(key) or ""
        if isinstance(now, list):
            now = ",".join(now)
        answer = typer.prompt(
            f"{key.replace('_', ' ')} — {FIELD_NEEDS[key]}", default=now, show_default=bool(now)
        ).strip()
        out[key] = answer if answer != now else None
    return out


@claimant_app.command("show")
def claimant_show(case: str | None = typer.Option(None, "--case", "-c"), as_json: bool = JsonOption) -> None:
    """Show who signs this case's notices."""
    from unleak.takedown.claimant import get_claimant

    c = get_claimant(_store(), case)
    if c is None:
        raise UnleakError(
            "this case has no claimant yet",
            hint="set one with `unleak claimant set --name ... --email ... --role depicted_person`",
        )
    if as_json:
        output.emit_json(c.to_json())
    else:
        _print_claimant(c)


def _print_claimant(c: ClaimantRecord) -> None:
    from unleak.takedown.content import capacity_text

    output.table(
        "Claimant",
        ["field", "value"],
        [
            ("name", c.name),
            ("email", c.email),
            ("postal address", c.postal_address),
            ("phone", c.phone),
            ("acts as", capacity_text(c.to_json())),
            ("on behalf of", c.on_behalf_of),
            ("contact for notices", c.notice_contact),
            ("country", c.country),
            ("signature", c.signature),
        ],
    )


# --- drafting and review ------------------------------------------------------------------------


def _show_text(n: NoticeView) -> None:
    # Written plainly (no Rich wrapping), so neutralised here: URLs and contacts come from pages.
    from unleak.text import neutralize, one_line

    head = one_line(
        f"--- notice #{n.id} · {n.basis} · {n.host_name or n.host} "
        f"· {n.channel}: {n.recipient or '(no recipient yet)'} ---"
    )
    sys.stdout.write(f"\n{head}\n")
    sys.stdout.write(f"Subject: {one_line(n.subject)}\n\n{neutralize(n.body, one_line=False)}")
    sys.stdout.write(f"--- end of notice #{n.id} (text SHA-256 {n.content_sha256[:16]}…) ---\n")
    if n.recipient:
        sys.stdout.write(
            one_line(f"Recipient: {n.recipient} — {_source_label(n.recipient_source)}; a {n.recipient_party}") + "\n"
        )
    _show_found(n.id, list(n.found_contacts))
    if n.basis_reason:
        sys.stdout.write(one_line(f"Why {n.basis}: {n.basis_reason}") + "\n")
    if n.review_note:  # for the person, not part of the text that is sent
        sys.stdout.write(f"Before you confirm: {n.review_note}\n")
    sys.stdout.flush()


def _source_label(source: str) -> str:
    from unleak.takedown.hosts import SOURCE_LABELS

    return SOURCE_LABELS.get(source, source or "unknown source")


def _show_found(notice_id: int, found: list[dict]) -> None:
    from unleak.text import one_line

    if not found:
        return
    sys.stdout.write(f"Contacts found for notice #{notice_id}, not used unless you choose one (--to-found N):\n")
    for k, c in enumerate(found, 1):
        sys.stdout.write(
            one_line(f"  {k}. {c['address']} — {c.get('source_label') or _source_label(c['source'])}; a {c['party']}")
            + "\n"
        )


def _ask_missing(store, notice_id: int, missing: list[dict]) -> list[dict]:
    """Prompt for what the case does not know (interactive only)."""
    from unleak.takedown.bases import get_basis
    from unleak.takedown.drafting import update_notice
    from unleak.takedown.notices import get_notice

    n = get_notice(store, notice_id)
    basis = get_basis(n.basis)
    answers = {}
    if any(m["element"] == "recipient" for m in missing):
        _show_found(notice_id, list(n.found_contacts))
        where = typer.prompt(
            f"Where should notice #{notice_id} to {n.host_name} go (an email address or a form URL"
            + (", or the number of a contact found above" if n.found_contacts else "")
            + ")"
        ).strip()
        if where.isdigit() and n.found_contacts:
            from unleak.takedown.drafting import choose_found_contact

            choose_found_contact(store, notice_id, int(where))
        else:
            answers["recipient"] = where
    for m in missing:
        el = next((e for e in basis.elements if e.key == m["element"]), None)
        if el is not None and el.ask == "work":
            # Ownership and publication are the person's statements, item by item (never assumed).
            from unleak.store.models import Notice

            with store.session() as ses:
                labels = list((ses.get(Notice, notice_id).fields or {}).get("works") or [])
            for label in labels or [""]:
                what = f"'{label}'" if label else "the work(s)"
                answers[f"owner:{label}" if label else "owner"] = typer.prompt(
                    f"Who owns the copyright in {what}? (stated in the notice in your name)"
                )
                answers[f"published:{label}" if label else "published"] = typer.prompt(
                    f"Was {what} published before it was leaked? yes or no"
                )
        elif el is not None and el.ask == "intimate":
            answers["intimate"] = typer.prompt(
                f"Is the content intimate (nudity or sexual conduct)? yes or no [{el.citation}]"
            )
        elif el is not None and el.ask:
            answers[el.ask] = typer.prompt(f"{el.label} [{el.citation}]")
    if not answers:
        return [m.to_json() for m in get_notice(store, notice_id).missing]
    return [m.to_json() for m in update_notice(store, notice_id, answers)]


@notice_app.command("draft")
def notice_draft(
    case: str | None = CaseArg,
    case_opt: str | None = CaseOpt,
    basis: list[str] | None = typer.Option(
        None,
        "--basis",
        "-b",
        help="take-it-down, dmca, dsa, uk-osa, "
        "ncii-policy, search-delisting, personal-info, dmca-512d (repeat for several). "
        "Default: by the claimant's capacity.",
    ),
    search: bool = typer.Option(True, "--search/--no-search", help="Also draft delisting requests to search engines."),
    to: list[str] | None = typer.Option(
        None, "--to", help="HOST=ADDRESS: where to send for a host the directory does not know (email or form URL)."
    ),
    set_: list[str] | None = typer.Option(
        None,
        "--set",
        help="FIELD=VALUE for every drafted notice: work, explanation, details, locate_info, reference; and what "
        "you state (never assumed): intimate=yes|no, owner=NAME, published=yes|no (per item: owner:LABEL=NAME).",
    ),
    discover: bool = typer.Option(
        True, "--discover/--no-discover", help="Look for unknown hosts' abuse contacts (page, security.txt, RDAP)."
    ),
    yes: bool = typer.Option(
        False,
        "--yes",
        "-y",
        help="Confirm every complete notice after showing them all, with one typed name (in a terminal, "
        "or --sign): you confirm texts you are not asked about one by one.",
    ),
    sign: str | None = SignOpt,
    understand_512f: bool = Understand512fOpt,
    lang: str | None = typer.Option(
        None, "--lang", help="Language of the notices: en, es, fr, de or pt (default: the host's, else English)."
    ),
    to_found: list[str] | None = typer.Option(
        None,
        "--to-found",
        help="N or HOST=N: send to the N-th contact found (listed with its source) instead of none. "
        "A contact found on the leak page or in RDAP is never used without this choice.",
    ),
    out: Path | None = typer.Option(
        None, "--out", help="Write each notice as .txt, .eml, .pdf (and form fields) into this folder."
    ),
    as_json: bool = JsonOption,
) -> None:
    """Draft notices for the case's open sightings, grouped by host and legal basis, and review them."""
    case = case or case_opt
    from unleak.takedown.drafting import choose_found_contact, draft_notices
    from unleak.takedown.notices import get_notice

    store = _store()
    from unleak.cases import is_minor_case

    if is_minor_case(store, case) and not as_json:
        from unleak.takedown.minors import MINOR_FIRST

        output.warn(MINOR_FIRST)
    fetch = _discovery_fetch() if discover else None
    outcomes = draft_notices(
        store,
        case,
        bases=basis,
        search=search,
        answers={**_pairs(set_, "--set"), **({"lang": lang} if lang else {})},
        recipients=_pairs(to, "--to"),
        discover=fetch,
    )
    if not outcomes:
        output.console.print("No open sightings without a notice: nothing to draft.")
        return
    choices = _found_choices(to_found)
    interactive = _interactive(as_json)
    records, complete = [], []
    for o in outcomes:
        choice = choices.get(o.host.lower(), choices.get("")) if o.found_contacts else None
        if choice is not None:
            choose_found_contact(store, o.notice_id, choice)
        n = get_notice(store, o.notice_id)
        missing = [m.to_json() for m in n.missing]
        if missing and interactive:
            missing = _ask_missing(store, o.notice_id, missing)
            n = get_notice(store, o.notice_id)
        if interactive and o.basis == "take-it-down" and not o.updated and "details" not in (set_ or []):
            # §3(a)(1)(B)(iii): the statement includes any relevant information. Asked, optional.
            details = typer.prompt(
                "Any relevant information that helps the platform see the depiction was published without "
                "consent (e.g. who posted it, that you never agreed)? Enter to skip",
                default="",
                show_default=False,
            ).strip()
            if details:
                from unleak.takedown.drafting import update_notice

                missing = [m.to_json() for m in update_notice(store, o.notice_id, {"details": details})]
                n = get_notice(store, o.notice_id)
        if out:
            _write(store, o.notice_id, out)
        confirmed = False
        if not missing:
            if not as_json:
                _show_text(n)
            if yes:
                complete.append(n)
            elif interactive and sign is None:
                checked = f", and that {o.host_name} shows these URLs" if n.host_kind == "search" else ""
                typed = typer.prompt(
                    f"To confirm notice #{o.notice_id}, type your name as it appears in its signature "
                    f"(everything in it is stated in your name{checked}); Enter leaves it a draft",
                    default="",
                    show_default=False,
                )
                if typed.strip():
                    try:
                        _confirm(store, [n], typed, understand_512f=understand_512f)
                        confirmed = True
                    except UnleakError as exc:
                        output.error(f"notice #{o.notice_id} not confirmed: {exc.message}", exc.hint)
        elif not as_json:
            _show_found(o.notice_id, list(n.found_contacts))
        records.append(
            (o, n, missing, confirmed),
        )
    if complete:
        typed = sign if sign is not None else _ask_name(store, complete, interactive)
        _confirm(store, complete, typed, understand_512f=understand_512f, bulk=True, as_json=as_json)
    done = {n.id for n in complete}
    for o, n, missing, confirmed in records:
        record = {
            **o.to_json(),
            "channel": n.channel,
            "recipient": n.recipient,
            "missing": missing,
            "confirmed": confirmed or n.id in done,
            "content_sha256": n.content_sha256,
        }
        record["found_contacts"] = record.pop("found_contacts")  # added keys go last
        if as_json:
            output.emit_json(record)
        elif missing:
            output.warn(
                f"notice #{o.notice_id} ({o.basis}, {o.host_name}) is incomplete: "
                + "; ".join(
                    f"{m['label']} ({m['citation']})" + (f": {m['problem']}" if m["problem"] else "") for m in missing
                )
            )
            output.console.print(
                f"  fill it in with `unleak notice edit {o.notice_id} --set FIELD=VALUE` or `unleak claimant set`",
                highlight=False,
            )
        elif not record["confirmed"]:
            output.console.print(
                f"Notice #{o.notice_id} is a draft. Confirm it with "
                f"`unleak notice confirm {o.notice_id}` once you have read it.",
                highlight=False,
            )
    if not as_json:
        _status_table(store, case)


def _found_choices(values: list[str] | None) -> dict[str, int]:
    out = {}
    for v in values or []:
        host, _, number = v.rpartition("=")
        try:
            out[host.strip().lower()] = int(number)
        except ValueError:
            raise UnleakError(f"--to-found {v!r}: give N or HOST=N", hint="e.g. --to-found 1") from None
    return out


def _ask_name(store, notices: list, interactive: bool) -> str:
    from unleak.takedown.confirming import confirmation_request

    name = confirmation_request(store, [n.id for n in notices]).signature_name
    hint = f" ({name})" if name else ""
    if not interactive:
        raise UnleakError(
            "to confirm, type your name as it appears in the signature",
            hint=f"pass --sign 'Full Name'{hint}, after reading every notice",
        )
    return str(typer.prompt(f"To confirm, type your name as it appears in the signature{hint}"))


def _confirm(
    store, notices: list, typed: str, *, understand_512f: bool, bulk: bool | None = None, as_json: bool = False
) -> list:
    """The one confirmation rule (unleak.takedown.confirming), after the texts were shown."""
    from unleak.takedown.confirming import WARNING_512F, confirm_notices, needs_512f

    if needs_512f((n.basis for n in notices), len(notices), bulk=bulk) and not as_json:
        output.warn(WARNING_512F)
    return confirm_notices(
        store,
        {n.id: n.content_sha256 for n in notices},
        typed_name=typed,
        understand_512f=understand_512f,
        bulk=bulk,
    )


def _discovery_fetch():
    """Contact discovery through the guarded fetcher (public addresses only; errors become misses)."""
    from unleak.net.fetch import Fetcher, FetchPolicy
    from unleak.net.guard import FetchError
    from unleak.takedown.hosts import Fetched

    fetcher = Fetcher(FetchPolicy(retries=0, timeout=10))

    def fetch(url: str) -> Fetched:
        try:
            r = fetcher.fetch(url, kind="page")
            return Fetched(
                url, r.status, r.content_type or ("text/html" if r.sniffed == "html" else ""), r.body, r.final_url
            )
        except FetchError as exc:
            return Fetched(url, exc.status or 0, error=exc.message)

    return fetch


def _write(store, notice_id: int, out: Path) -> list[Path]:
    from unleak.takedown.notices import get_notice
    from unleak.takedown.render import build_email, form_text, render_pdf, write_outputs
    from unleak.takedown.smtp import load_smtp_settings, message_bytes

    n = get_notice(store, notice_id)
    from unleak.store.models import Notice

    with store.session() as s:
        fields = s.get(Notice, notice_id).fields
    eml = form = None
    if n.channel == "email":
        settings = load_smtp_settings()
        eml = message_bytes(
            build_email(
                subject=n.subject,
                body=n.body,
                to=n.recipient or "undisclosed",
                claimant=fields["claimant"],
                from_addr=settings.from_addr,
                notice_id=notice_id,
            )
        )
    else:
        form = form_text(fields, n.recipient)
    return write_outputs(
        out,
        f"notice-{notice_id}",
        subject=n.subject,
        body=n.body,
        eml=eml,
        pdf=render_pdf(n.subject, n.body),
        form=form,
    )


@notice_app.command("show")
def notice_show(
    notice_id: int = typer.Argument(..., help="Notice id (see `unleak notice status`)."),
    form: bool = typer.Option(False, "--form", help="Show the values to paste into the host's web form."),
    out: Path | None = typer.Option(None, "--out", help="Write .txt, .eml/.form.txt and .pdf into this folder."),
    as_json: bool = JsonOption,
) -> None:
    """Show a notice's full text, status, deadline and history."""
    from unleak.store.models import Notice
    from unleak.takedown.notices import get_notice
    from unleak.takedown.render import form_text

    store = _store()
    n = get_notice(store, notice_id)
    if as_json:
        output.emit_json(n.to_json())
        return
    if form:
        with store.session() as s:
            fields = s.get(Notice, notice_id).fields
        sys.stdout.write(form_text(fields, n.recipient or "(no form URL known)") + "\n")
    else:
        _show_text(n)
    rows = [
        ("status", n.status + (" (text confirmed)" if n.confirmed else "")),
        ("sent", _local(n.sent_at)),
        ("deadline", f"{_local(n.deadline_at)} {n.deadline_kind}".strip()),
        ("message", f"{n.message_id or ''} {('sha256 ' + n.message_sha256) if n.message_sha256 else ''}"),
        ("follows", f"notice #{n.follows_id}" if n.follows_id else ""),
    ]
    output.table(f"Notice #{notice_id}", ["", ""], [r for r in rows if r[1].strip()])
    if n.missing:
        output.warn("missing: " + "; ".join(f"{m.label} ({m.citation})" for m in n.missing))
    output.table(
        "URLs",
        ["url", "state", "removed", "why"],
        [(i.url, i.state, _local(i.removed_at), i.removal_reason) for i in n.items],
    )
    output.table("History", ["when", "what", "detail"], [(_local(e.at), e.kind, _brief(e.detail)) for e in n.events])
    if out:
        for p in _write(store, notice_id, out):
            output.console.print(f"wrote {p}", highlight=False)


def _brief(detail: dict) -> str:
    keep = {k: v for k, v in (detail or {}).items() if k not in ("urls", "deadline", "text_sha256", "sha256")}
    return ", ".join(f"{k}={v}" for k, v in keep.items() if v)[:120]


@notice_app.command("edit")
def notice_edit(
    notice_id: int = typer.Argument(...),
    set_: list[str] | None = typer.Option(
        None,
        "--set",
        help="FIELD=VALUE: work, explanation, details, locate_info, reference, recipient, signature; "
        "what you state: intimate=yes|no, owner=NAME, published=yes|no (per item: owner:LABEL=NAME).",
    ),
    to_found: int | None = typer.Option(
        None, "--to-found", help="Send to the N-th contact found for this notice (see `notice show`)."
    ),
    as_json: bool = JsonOption,
) -> None:
    """Fill in or change a draft (a confirmed notice that changes must be confirmed again)."""
    from unleak.takedown.drafting import choose_found_contact, update_notice
    from unleak.takedown.notices import get_notice

    store = _store()
    if to_found is not None:
        choose_found_contact(store, notice_id, to_found)
    if not set_ and to_found is None:
        raise UnleakError("nothing to change", hint="give --set FIELD=VALUE or --to-found N")
    missing = (
        update_notice(store, notice_id, _pairs(set_, "--set")) if set_ else list(get_notice(store, notice_id).missing)
    )
    if as_json:
        output.emit_json({"notice_id": notice_id, "missing": [m.to_json() for m in missing]})
    elif missing:
        output.warn("still missing: " + "; ".join(f"{m.label} ({m.citation})" for m in missing))
    else:
        output.console.print(
            f"Notice #{notice_id} is complete; read it with `unleak notice show {notice_id}` and "
            f"confirm it with `unleak notice confirm {notice_id}`.",
            highlight=False,
        )


@notice_app.command("confirm")
def notice_confirm(
    notice_ids: list[int] = typer.Argument(..., help="Notice ids."),
    sha256: str | None = typer.Option(
        None,
        "--sha256",
        help="Confirm only if the text is still the one with this SHA-256 (as shown by `notice show`).",
    ),
    quiet: bool = typer.Option(
        False, "--quiet", "-q", help="Do not print the texts again (you read them before: counts as confirming unread)."
    ),
    sign: str | None = SignOpt,
    understand_512f: bool = Understand512fOpt,
    as_json: bool = JsonOption,
) -> None:
    """Confirm notices after reading them: each text is shown, and you type your name as it appears
    in the signature; you state that everything in each is true."""
    from unleak.takedown.confirming import confirmation_request

    store = _store()
    req = confirmation_request(store, notice_ids, bulk=True if quiet or as_json else None)
    for n in req.notices:
        if not quiet and not as_json:
            _show_text(n)
        elif n.review_note:  # the text is not shown, but what to check first must be
            output.warn(n.review_note)
    shown = list(req.notices)
    if sha256 and len(shown) == 1 and shown[0].content_sha256 != sha256:
        from unleak.takedown.confirming import ConfirmationRefused

        raise ConfirmationRefused(
            f"notice #{shown[0].id} is not the text you reviewed",
            hint=f"review it again with `unleak notice show {shown[0].id}`",
        )
    typed = sign if sign is not None else _ask_name(store, shown, _interactive(as_json))
    done = _confirm(
        store, shown, typed, understand_512f=understand_512f, bulk=True if quiet or as_json else None, as_json=as_json
    )
    for v in done:
        if as_json:
            output.emit_json({"notice_id": v.id, "status": v.status, "content_sha256": v.content_sha256})
        else:
            output.console.print(
                f"Notice #{v.id} confirmed; send it with `unleak notice send {v.id}`.", highlight=False
            )


@notice_app.command("send")
def notice_send(
    notice_ids: list[int] | None = typer.Argument(None, help="Notice ids (or --all)."),
    all_: bool = typer.Option(False, "--all", help="Send every confirmed email notice of the case."),
    case: str | None = typer.Option(None, "--case", "-c"),
    submitted: bool = typer.Option(
        False, "--submitted", help="For web-form notices: you submitted the form; record it as sent (now, or --at)."
    ),
    at: str | None = typer.Option(
        None,
        "--at",
        help="With --submitted: when you really submitted the form (ISO 8601; your zone if none given). "
        "The deadline runs from then.",
    ),
    attach_pdf: bool = typer.Option(False, "--attach-pdf", help="Attach the notice as a PDF too."),
    as_json: bool = JsonOption,
) -> None:
    """Send confirmed notices by SMTP (or record a submitted web form). Unconfirmed notices never leave."""
    from sqlalchemy import select

    from unleak.store.models import Notice
    from unleak.takedown.sending import send_notice

    if at and not submitted:
        raise UnleakError("--at records when a web form was submitted", hint="use it with --submitted")
    submitted_at = _when(at)
    if submitted_at is not None and submitted_at > datetime.now(UTC):
        raise UnleakError(f"--at {at} is in the future", hint="give the time you submitted the form")
    store = _store()
    ids = list(notice_ids or [])
    if all_:
        with store.session() as s:
            c = store.case(s, case, create=False)
            ids += [
                n.id
                for n in s.scalars(
                    select(Notice)
                    .where(Notice.case_id == c.id, Notice.status == "confirmed", Notice.channel == "email")
                    .order_by(Notice.id)
                )
            ]
    if not ids:
        if all_:
            output.console.print(
                "No confirmed email notice is waiting to be sent "
                "(drafts must be confirmed first: `unleak notice confirm ID`).",
                highlight=False,
            )
            return
        raise UnleakError("no notice to send", hint="name notice ids, or --all for every confirmed email notice")
    failed = 0
    for nid in ids:
        try:
            r = send_notice(store, nid, submitted=submitted, attach_pdf=attach_pdf, submitted_at=submitted_at)
        except UnleakError as exc:
            failed += 1
            if as_json:
                output.emit_json({"notice_id": nid, "error": exc.message, "hint": exc.hint})
            else:
                output.error(f"notice #{nid}: {exc.message}", exc.hint)
            continue
        if as_json:
            output.emit_json(r.to_json())
        else:
            how = f"sent to {r.recipient}" if r.channel == "email" else f"recorded as submitted at {r.recipient}"
            output.console.print(
                f"Notice #{nid} {how} at {_local(r.sent_at)}; deadline {_local(r.deadline_at) or 'none'} "
                f"({r.deadline_rule}).",
                highlight=False,
            )
    if failed:
        raise typer.Exit(1)


@notice_app.command("escalate")
def notice_escalate(
    notice_id: int = typer.Argument(..., help="An overdue notice (see `unleak notice status`)."),
    as_json: bool = JsonOption,
) -> None:
    """Draft the next rung above an overdue notice: the site's hosting provider (or its CDN), then the
    registrar, then search delisting requests (Google, Bing) for what is still up. Each rung only
    after the previous deadline passed; confirmed and sent like any notice."""
    from unleak.takedown.escalation import escalate

    for n in escalate(_store(), notice_id, fetch=_discovery_fetch()):
        if as_json:
            output.emit_json(n.to_json())
            continue
        _show_text(n)
        output.console.print(
            f"Notice #{n.id} drafted to the {n.recipient_party.replace('_', ' ')}"
            + (f" ({n.recipient})" if n.recipient else ": no contact found; give one with `unleak notice edit`")
            + f". Read it, then `unleak notice confirm {n.id}`.",
            highlight=False,
        )


def _status_table(store, case: str | None, *, open_only: bool = False, as_json: bool = False) -> None:

    from unleak.takedown.deadlines import format_remaining
    from unleak.takedown.notices import notice_status

    now = datetime.now(UTC)
    rows = notice_status(store, case, now=now, include_closed=not open_only)
    if as_json:
        for r in rows:
            output.emit_json(r.to_json())
        return
    output.table(
        "Notices (overdue first)",
        ["id", "host", "basis", "status", "sent", "deadline", "", "removed"],
        [
            (
                r.id,
                r.host,
                r.basis,
                r.status + (" (follow-up)" if r.follows_id else ""),
                _local(r.sent_at),
                f"{_local(r.deadline_at)} {r.deadline_kind if r.deadline_at else ''}".strip(),
                ("OVERDUE " if r.overdue else "")
                + (
                    format_remaining(r.deadline_at, now)
                    if r.deadline_at and r.status not in ("removed", "refused")
                    else ""
                ),
                f"{r.removed}/{r.urls}",
            )
            for r in rows
        ],
    )


@notice_app.command("status")
def notice_status_cmd(
    case: str | None = CaseArg,
    case_opt: str | None = CaseOpt,
    open_only: bool = typer.Option(False, "--open", help="Hide removed and refused notices."),
    as_json: bool = JsonOption,
) -> None:
    """The case's notices, overdue first, with deadlines on your clock."""
    case = case or case_opt
    _status_table(_store(), case, open_only=open_only, as_json=as_json)


@notice_app.command("reply")
def notice_reply(
    notice_id: int = typer.Argument(...),
    status: str = typer.Argument(
        ...,
        help="acknowledged, removed, partially_removed, refused, no_answer, escalated, or counter_notice "
        "(the uploader's DMCA counter-notice: starts the 10-14 business-day restoration window).",
    ),
    text: str | None = typer.Option(None, "--text", help="What the host said."),
    file: Path | None = typer.Option(None, "--file", help="A file with the host's reply."),
    at: str | None = typer.Option(None, "--at", help="When the reply came (ISO 8601; default now)."),
    as_json: bool = JsonOption,
) -> None:
    """Record a host's reply (or an escalation) and move the notice to that status."""
    from unleak.takedown.replies import record_reply

    body = text or ""
    if file:
        body = file.read_text("utf-8", errors="replace")
    n = record_reply(_store(), notice_id, status, body, at=_when(at))
    if as_json:
        output.emit_json({"notice_id": notice_id, "status": n.status})
    else:
        output.console.print(f"Notice #{notice_id} is now {n.status}.", highlight=False)
        if n.counter_notice:
            from unleak.takedown.replies import counter_notice_text

            output.warn(counter_notice_text(n))


# --- verify, report, hosts ------------------------------------------------------------------------


def verify_command(
    case: str | None = CaseArg,
    case_opt: str | None = CaseOpt,
    rate: float | None = typer.Option(None, "--rate", help="Requests a second per host (default: the fetcher's)."),
    followups: bool = typer.Option(
        True, "--followups/--no-followups", help="Draft follow-up notices for re-uploads of removed items."
    ),
    as_json: bool = JsonOption,
) -> None:
    """Re-check every reported URL: record removals and times, and catch re-uploads."""
    case = case or case_opt
    from unleak.net.fetch import FetchPolicy
    from unleak.takedown.verify import verify_case

    policy = FetchPolicy(rate=rate) if rate is not None else None
    report = verify_case(_store(), case, policy=policy, draft_followups=followups)
    if as_json:
        output.emit_json(report.to_json())
        return
    output.table(
        "Removal checks",
        ["url", "state", "why", "notices"],
        [(c.url, c.state, c.reason, ", ".join(f"#{n}" for n in c.notices)) for c in report.checks],
    )
    for nid, old, new in report.status_changes:
        output.console.print(f"notice #{nid}: {old} -> {new}", highlight=False)
    for rs in report.restored:
        output.warn(
            f"restored by the host after the counter-notice: {rs.url} (notice #{rs.notice_id})"
            + (" — before the 10 business days of §512(g)(2)(C) had passed" if rs.early else "")
            + "; not a re-upload"
        )
    for r in report.reuploads:
        output.warn(
            f"re-upload of a removed item at {r.url} (earlier notice #{r.earlier_notice}); "
            f"follow-up draft(s): {', '.join('#' + str(x) for x in r.followups) or 'none'}"
        )
    output.console.print(f"{report.gone} gone, {report.up} still up, {report.errors} could not be checked.")


def report_command(
    case: str | None = CaseArg,
    case_opt: str | None = CaseOpt,
    chart: Path | None = typer.Option(None, "--chart", help="Write a chart of time to removal (.png or .svg)."),
    as_json: bool = JsonOption,
) -> None:
    """How fast each host acted: removal rate, median and 90th-percentile time to removal, overdue."""
    case = case or case_opt
    from unleak.takedown.report import TABLE_COLUMNS, table_rows, takedown_report, write_chart

    rep = takedown_report(_store(), case)
    if chart:
        write_chart(rep, chart)
    if as_json:
        output.emit_json({**rep.to_json(), "chart": str(chart) if chart else None})
        return
    output.table(f"Take-down by host and basis — case {rep.case}", TABLE_COLUMNS, table_rows(rep.by_host_basis))
    output.table("By host", TABLE_COLUMNS, table_rows(rep.by_host))
    output.table("By basis", TABLE_COLUMNS, table_rows(rep.by_basis))
    output.table("Case", TABLE_COLUMNS, table_rows([rep.total]))
    if chart:
        output.console.print(f"Chart written to {chart}", highlight=False)


@hosts_app.command("list")
def hosts_list(as_json: bool = JsonOption) -> None:
    """The shipped directory with your own entries (yours win)."""
    from unleak.takedown.hosts import HostDirectory

    d = HostDirectory.load()
    rows = []
    for e in sorted(d.entries.values(), key=lambda e: (e.kind, e.id)):
        if as_json:
            output.emit_json({**e.to_json(), "origin": e.origin})
            continue
        contacts = "; ".join(f"{k}: {v.get('email') or v.get('url')}" for k, v in e.contacts.items())
        rows.append(
            (e.id, e.name, e.kind, ", ".join(e.domains[:4]), contacts, e.origin, "yes" if e.confirmed else "to confirm")
        )
    if not as_json:
        output.table("Hosts", ["id", "name", "kind", "domains", "contacts", "from", "confirmed"], rows)


@hosts_app.command("show")
def hosts_show(url: str = typer.Argument(..., help="A URL or host name."), as_json: bool = JsonOption) -> None:
    """Who acts for a URL, per the directory."""
    from unleak.takedown.bases import BASES
    from unleak.takedown.hosts import HostDirectory

    e = HostDirectory.load().lookup(url)
    if e is None:
        raise UnleakError(
            f"{url} is not in the hosts directory",
            hint="`notice draft` looks for its abuse contact; or add it with `unleak hosts add`",
        )
    if as_json:
        output.emit_json({**e.to_json(), "origin": e.origin})
        return
    rows = [(b, (c := e.contact_for(b)) and c.channel, c and c.address) for b in BASES if e.contact_for(b)]
    output.table(
        f"{e.name} ({e.kind}, {e.origin}{', confirmed' if e.confirmed else ', to confirm'})",
        ["basis", "channel", "address"],
        rows,
    )
    if e.note:
        output.console.print(e.note, highlight=False)


@hosts_app.command("add")
def hosts_add(
    host_id: str = typer.Argument(..., help="An id for the entry (replaces an entry with the same id)."),
    name: str | None = typer.Option(None, "--name"),
    domain: list[str] | None = typer.Option(
        None, "--domain", help="Host names it covers (repeat); not needed for a shipped host."
    ),
    email: str | None = typer.Option(None, "--email", help="Abuse / designated agent email."),
    form: str | None = typer.Option(None, "--form", help="Web form URL."),
    basis: str | None = typer.Option(None, "--basis", help="Only for this basis (default: any)."),
    kind: str = typer.Option("host", "--kind", help="host, search or intermediary."),
) -> None:
    """Add or correct a host in your own hosts.json (it takes precedence over the shipped one)."""
    from unleak.takedown.hosts import HostDirectory, save_user_entry

    if not (email or form):
        raise UnleakError("give --email or --form")
    shipped = HostDirectory.load().get(host_id)
    if not domain and shipped is None:
        raise UnleakError(f"{host_id!r} is not a shipped host: give --domain", hint="e.g. --domain forum.example")
    contact = {"channel": "email", "email": email} if email else {"channel": "webform", "url": form}
    entry = {
        "id": host_id,
        "name": name or (shipped.name if shipped else host_id),
        "kind": kind if shipped is None or kind != "host" else shipped.kind,
        "domains": domain or (shipped.domains if shipped else []),
        "contacts": {basis or "default": contact},
        "confirmed": True,
        "note": "added by the user",
    }
    path = save_user_entry(entry)
    output.console.print(f"Saved {host_id} in {path}.", highlight=False)


@hosts_app.command("edit")
def hosts_edit(
    host_id: str = typer.Argument(..., help="The host's id (see `unleak hosts list`)."),
    name: str | None = typer.Option(None, "--name"),
    domain: list[str] | None = typer.Option(None, "--domain", help="Replace the host names it covers (repeat)."),
    email: str | None = typer.Option(None, "--email", help="Set the abuse / designated agent email."),
    form: str | None = typer.Option(None, "--form", help="Set the web form URL."),
    basis: str | None = typer.Option(None, "--basis", help="The contact is for this basis only (default: any)."),
    kind: str | None = typer.Option(None, "--kind", help="host, search or intermediary."),
    jurisdiction: str | None = typer.Option(None, "--jurisdiction"),
    note: str | None = typer.Option(None, "--note"),
    covered: bool | None = typer.Option(
        None, "--covered/--not-covered", help="Whether it is a covered platform under the TAKE IT DOWN Act §4(3)."
    ),
    source_url: str | None = typer.Option(None, "--source-url", help="The page you read this from."),
    as_json: bool = JsonOption,
) -> None:
    """Override only the fields given for a host, shipped or yours. The entry is unconfirmed until you
    check it against the host's own pages and run `unleak hosts confirm ID`."""
    from datetime import date

    from unleak.takedown.hosts import edit_user_entry

    if email and form:
        raise UnleakError("give --email or --form, not both")
    contact = None
    if email or form:
        contact = (
            basis or "default",
            {"channel": "email", "email": email} if email else {"channel": "webform", "url": form},
        )
    changes = {
        "name": name,
        "domains": domain or None,
        "kind": kind,
        "jurisdiction": jurisdiction,
        "note": note,
        "covered_platform": covered,
        "source_url": source_url,
        "read_on": date.today().isoformat() if source_url else None,
    }
    e = edit_user_entry(host_id, {k: v for k, v in changes.items() if v is not None}, contact=contact)
    if as_json:
        output.emit_json({**e.to_json(), "origin": e.origin})
    else:
        output.console.print(
            f"Saved {host_id} (unconfirmed: check it, then `unleak hosts confirm {host_id}`).", highlight=False
        )


@hosts_app.command("confirm")
def hosts_confirm(host_id: str = typer.Argument(...), as_json: bool = JsonOption) -> None:
    """You checked this host's entry against its own pages today: mark it confirmed."""
    from datetime import date

    from unleak.takedown.hosts import confirm_user_entry

    e = confirm_user_entry(host_id, date.today().isoformat())
    if as_json:
        output.emit_json({**e.to_json(), "origin": e.origin})
    else:
        output.console.print(f"{host_id} confirmed.", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(notice_app, name="notice")
    app.add_typer(claimant_app, name="claimant")
    app.add_typer(hosts_app, name="hosts")
    app.command("verify")(verify_command)
    app.command("report")(report_command)
