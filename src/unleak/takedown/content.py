"""A notice's text from its fields: one template per basis, each element cited.

`render_text` refuses an incomplete notice (the basis's completeness check), and then checks
the text it wrote still carries every element (a template edited wrongly fails here, not at the
recipient's desk).
"""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime

from unleak.takedown.bases import (
    AGENT,
    DEPICTED,
    OWNER,
    REPRESENTATIVE,
    ROLE_LABELS,
    IncompleteNotice,
    LegalBasis,
    Missing,
    contact_email,
    get_basis,
)
from unleak.takedown.languages import texts

WIDTH = 78
NOT_GIVEN = "(not given yet: a draft in this state cannot be confirmed)"

_INTRO = {
    "dmca": "This is a notification of claimed infringement under the Digital Millennium Copyright Act, "
    "17 U.S.C. §512(c)(3), sent to you as the service provider's designated agent. I ask you to "
    "remove, or disable access to, the infringing material identified below.",
    "dmca-512d": "This is a notification of claimed infringement under 17 U.S.C. §512(d)(3). Your search "
    "service refers or links users to the infringing material identified below; I ask you to "
    "remove, or disable access to, those references and links.",
    "take-it-down": "This is a request for removal of nonconsensual intimate visual depictions under section 3 "
    "of the TAKE IT DOWN Act (Pub. L. 119-12), about intimate visual depictions of {subject} "
    "published without consent at the locations identified below.",
    "dsa": "This is a notice under Article 16 of Regulation (EU) 2022/2065 (the Digital Services Act) about "
    "specific items of information on your service that I consider to be illegal content.",
    "uk-osa": "This is an intimate image content report under {citation}.",
    "ncii-policy": "I am reporting content on your service that breaches your policy on non-consensual intimate "
    "imagery, and ask you to remove it.",
    "search-delisting": "I ask you to remove from your search results the pages and images listed below, which "
    "show non-consensual intimate imagery.",
    "personal-info": "I ask you to remove from your search results the pages listed below, which show personal "
    "information about {subject} without their consent.",
}

_DEADLINE_SENTENCE = {
    "take-it-down": "Section 3(a)(3) requires a covered platform, upon receiving a valid request, to remove the "
    "depiction as soon as possible, but not later than 48 hours after receiving it, and to make "
    "reasonable efforts to identify and remove any known identical copies.",
    "uk-osa": "The Act requires the service to take this content down (together with content that is the same or "
    "substantially the same) as soon as reasonably practicable and no later than 48 hours after this "
    "report is received.",
    "dsa": "Article 16(4)-(6) requires you to confirm receipt of this notice without undue delay, to decide on it "
    "in a timely, diligent, non-arbitrary and objective manner, and to inform me of your decision and the "
    "possibilities for redress.",
    "dmca": "To keep the protection of 17 U.S.C. §512(c), a service provider must respond expeditiously to remove, "
    "or disable access to, the material.",
    "dmca-512d": "To keep the protection of 17 U.S.C. §512(d), a service provider must respond expeditiously to "
    "remove, or disable access to, the references or links.",
}


# How the text addresses a recipient that is not the platform itself (hosts.Party values).
ADDRESSED = {
    "registrar": "You receive this notice as the registrar of the domain {domain}, under which the content "
    "below is published; you do not host it. I ask you to forward this notice to the domain's registrant "
    "and to act under your abuse policy.",
    "hosting_provider": "You receive this notice as the hosting provider of the site at {domain} (its IP "
    "address is in your network). I ask you to forward this notice to your customer and to act under "
    "your acceptable use policy.",
    "cdn": "You receive this notice as the content delivery network in front of the site at {domain}. I ask "
    "you to forward it to the site's hosting provider and operator, without my contact details, and to "
    "act under your acceptable use policy.",
}
_PARTY_NAMES = {
    "registrar": "Registrar of {domain}",
    "hosting_provider": "Hosting provider of {domain}",
    "cdn": "Content delivery network for {domain}",
}


def capacity_text(claimant: dict, *, name_principal: bool = True, tr: dict | None = None) -> str:
    """The claimant's capacity, in words (in the notice's language with `tr`, languages.texts).
    `name_principal=False` leaves out whom a representative acts for (an NCII notice need not
    carry the victim's legal name)."""
    tr = tr or {}
    roles = [r for r in (claimant.get("roles") or []) if r in ROLE_LABELS]
    parts = [tr.get(r, ROLE_LABELS[r]) for r in roles]
    if set(roles) & {REPRESENTATIVE, AGENT} and claimant.get("on_behalf_of"):
        parts = [
            p
            + (
                f" ({claimant['on_behalf_of']})"
                if r == AGENT or (r == REPRESENTATIVE and name_principal and DEPICTED not in roles)
                else ""
            )
            for r, p in zip(roles, parts)
        ]
    return tr.get("and", " and ").join(parts) if parts else "(capacity not stated)"


def _ncii(basis_key: str) -> bool:
    return basis_key not in ("dmca", "dmca-512d", "dsa")


def subject_line(fields: dict) -> str:
    basis = get_basis(fields["basis"])
    n = len(fields.get("urls") or [])
    host = (fields.get("host") or {}).get("name") or (fields.get("host") or {}).get("domain", "")
    tr = texts(basis.key, fields.get("lang") or "en")
    if tr.get("subject") and not fields.get("follows"):
        return tr["subject"].format(n=n, host=host)
    follow = fields.get("follows")
    tail = f" (follow-up to notice #{follow['notice_id']}: content uploaded again)" if follow else ""
    return f"[{basis.short}] Removal request: {n} URL{'s' if n != 1 else ''} on {host}{tail}"


def _wrap(text: str, indent: str = "  ") -> str:
    out = []
    for para in text.split("\n"):
        out.append(
            textwrap.fill(
                para,
                WIDTH,
                initial_indent=indent,
                subsequent_indent=indent,
                break_long_words=False,
                break_on_hyphens=False,
            )
            if para.strip()
            else ""
        )
    return "\n".join(out)


def _section(title: str, citation: str, body: str) -> str:
    return f"{title} [{citation}]\n{body}\n"


def _el(basis: LegalBasis, key: str):
    return next(e for e in basis.elements if e.key == key)


def render_text(fields: dict, *, check: bool = True) -> str:
    """The notice as plain text. Refuses an incomplete notice, naming what is missing."""
    basis = get_basis(fields["basis"])
    if check:
        basis.require_complete(fields)
    c = fields["claimant"]
    citation = fields.get("citation") or {}
    cited = citation.get("text") or basis.citation
    tr = texts(basis.key, fields.get("lang") or "en")
    h = tr.get("h") or {}
    ctx = {"subject": _subject(c, tr), "citation": cited}
    host = fields.get("host") or {}
    recipient = fields.get("recipient") or {}
    party = recipient.get("party") or "platform"
    domain = host.get("domain") or host.get("name", "")
    date = fields.get("date") or datetime.now(UTC).isoformat()
    lines: list[str] = []
    lines.append(tr.get("title") or basis.title.upper())
    lines.append(
        f"{tr.get('legal_basis', 'Legal basis')}: {cited}"
        + ("" if citation.get("confirmed", True) else " " + tr.get("numbering", "(numbering to be confirmed)"))
    )
    lines.append(f"{tr.get('date', 'Date')}: {date[:10]}")
    to = _PARTY_NAMES[party].format(domain=domain) if party in _PARTY_NAMES else host.get("name") or domain
    if recipient.get("address"):
        to += f" <{recipient['address']}>" if recipient.get("channel") == "email" else f" ({recipient['address']})"
    lines.append(f"{tr.get('to', 'To')}: {to}")
    lines.append(f"{tr.get('from', 'From')}: {c.get('name', '')} <{contact_email(c)}>")
    if fields.get("reference"):
        lines.append(f"{tr.get('reference', 'Reference')}: {fields['reference']}")
    lines.append("")
    if party in ADDRESSED:
        lines.append(_wrap(ADDRESSED[party].format(domain=domain), ""))
        lines.append("")
    lines.append(_wrap((tr.get("intro") or _INTRO[basis.key]).format(**ctx), ""))
    lines.append("")
    escalates = fields.get("escalates")
    if escalates and party == "search_engine":
        sent = (escalates.get("sent_at") or "")[:16].replace("T", " ")
        lines.append(
            _wrap(
                tr.get(
                    "escalation_search",
                    "ESCALATION. I sent a removal notice for the content below to {host} on {sent} UTC; its deadline "
                    "passed, and the content is still available. I therefore ask you to remove it from your search "
                    "results.",
                ).format(host=escalates.get("host"), sent=sent),
                "",
            )
        )
        lines.append("")
    elif escalates:
        sent = (escalates.get("sent_at") or "")[:16].replace("T", " ")
        lines.append(
            _wrap(
                f"ESCALATION. I sent the notice below to {escalates.get('host')} on {sent} UTC; its deadline passed "
                "and the content is still available. I therefore ask you, as "
                + ("the next party able to act" if not party else party.replace("_", " "))
                + ", to act on it.",
                "",
            )
        )
        lines.append("")
    follow = fields.get("follows")
    if follow:
        sent = (follow.get("sent_at") or "")[:16].replace("T", " ")
        msg = f" (Message-ID {follow['message_id']})" if follow.get("message_id") else ""
        earlier = ", ".join(follow.get("urls") or [])
        lines.append(
            _wrap(
                f"FOLLOW-UP. This notice follows my notice #{follow['notice_id']} sent on {sent} UTC{msg}, "
                f"after which the content was removed from {earlier}. The same content has now been "
                "uploaded again at the location(s) below.",
                "",
            )
        )
        if basis.key == "take-it-down":
            lines.append(
                _wrap(
                    "Section 3(a)(3)(B) requires reasonable efforts to identify and remove any known identical copies.",
                    "",
                )
            )
        lines.append("")

    num = 0

    def sec(key: str, title: str, body: str) -> None:
        nonlocal num
        num += 1
        lines.append(_section(f"{num}. {title}", _el(basis, key).citation, body))

    urls = fields.get("urls") or []
    items = {i.get("url"): i for i in fields.get("items") or []}
    url_block = []
    for k, u in enumerate(urls, 1):
        url_block.append(f"  {k}. {u}")
        info = items.get(u)
        if info and (info.get("first_seen") or info.get("kind")):
            seen = (info.get("first_seen") or "")[:16].replace("T", " ")
            desc = info.get("kind") or "location"
            url_block.append(f"     ({desc}{', first seen ' + seen + ' UTC' if seen else ''})")
    url_text = "\n".join(url_block)
    if fields.get("locate_info"):
        url_text += "\n" + _wrap(fields["locate_info"], "     ")
    if host.get("kind") == "search" and (fields.get("queries") or fields.get("results_urls")):
        queries = [q.strip() for q in (fields.get("queries") or "").split(";") if q.strip()]
        results = [r.strip() for r in (fields.get("results_urls") or "").split() if r.strip()]
        if queries:
            url_text += f"\n  {tr.get('queries', 'Search queries that show them')}: " + "; ".join(
                f'"{q}"' for q in queries
            )
        if results:
            url_text += f"\n  {tr.get('results', 'Search results pages that show them')}:\n" + "\n".join(
                f"    {r}" for r in results
            )

    statements = fields.get("statements") or {}
    contact = _contact_block(c, basis.key, tr)
    capacity = capacity_text(c, name_principal=not _ncii(basis.key), tr=tr)

    if basis.key in ("dmca", "dmca-512d"):
        sec("work", h.get("work", "Copyrighted work(s) infringed"), _wrap(fields.get("work") or NOT_GIVEN))
        title = (
            "Infringing material to be removed, and where it is"
            if basis.key == "dmca"
            else "References and links to be removed, and where they are"
        )
        sec("material", h.get("material", title), url_text)
        sec("contact", h.get("contact", "Contact information of the complaining party"), contact)
        sec("good_faith", h.get("good_faith", "Statement of good faith"), _wrap(statements["good_faith"]))
        sec(
            "accuracy",
            h.get("accuracy", "Statement of accuracy, under penalty of perjury"),
            _wrap(statements["accuracy"]),
        )
        sig_key = "signature"
    elif basis.key == "take-it-down":
        sec(
            "identification",
            h.get("identification", "Identification and location of the intimate visual depiction(s)"),
            url_text,
        )
        gf = statements["good_faith"] + (f"\n{fields['details']}" if fields.get("details") else "")
        sec("good_faith", h.get("good_faith", "Statement that the depiction is not consensual"), _wrap(gf))
        sec("contact", h.get("contact", "Contact information"), contact)
        sig_key = "signature"
    elif basis.key == "dsa":
        sec(
            "explanation",
            tr.get("explanation", "Why this information is illegal content"),
            _wrap(fields.get("explanation") or NOT_GIVEN),
        )
        sec("location", tr.get("location", "Exact electronic location (URLs)"), url_text)
        sec(
            "name_email",
            tr.get("name_email", "Name and email address of the notifier"),
            f"  {c.get('name', '')}\n  {contact_email(c)}",
        )
        sec("bona_fide", tr.get("bona_fide", "Statement of bona fide belief"), _wrap(statements["bona_fide"]))
        sig_key = None
    elif basis.key == "uk-osa":
        sec(
            "declaration_present",
            h.get("declaration_present", "Declaration: intimate image content is present"),
            _wrap(statements["declaration_present"]),
        )
        sec(
            "declaration_subject",
            h.get("declaration_subject", "Declaration: made by the subject or on their behalf"),
            _wrap(
                statements["declaration_subject"] + " " + tr.get("i_am", "I am {capacity}.").format(capacity=capacity)
            ),
        )
        sec(
            "declaration_good_faith",
            h.get("declaration_good_faith", "Declaration: made in good faith and true"),
            _wrap(statements["declaration_good_faith"]),
        )
        sec("identification", h.get("identification", "Information identifying the content"), url_text)
        sec("contact", h.get("contact", "Contact details of the person making the report"), contact)
        sig_key = None
    elif basis.key == "personal-info":
        sec("identification", h.get("identification", "Pages that show the information"), url_text)
        body = tr.get("pages_show", "The pages show: {what}.").format(what=fields.get("info_kind") or NOT_GIVEN)
        if fields.get("doxxing"):
            body += "\n" + tr.get(
                "doxxing_line", "This information is shared to harm me or put me at risk (doxxing): {why}"
            ).format(why=fields["doxxing"])
        if fields.get("details"):
            body += f"\n{fields['details']}"
        sec("info_kind", h.get("info_kind", "What personal information is shown"), _wrap(body))
        sec(
            "name_email",
            h.get("name_email", "Who is asking"),
            f"  {c.get('name', '')}, {capacity}\n  {contact_email(c)}",
        )
        sec("accuracy", h.get("accuracy", "Accuracy"), _wrap(statements["accuracy"]))
        sig_key = None
    else:  # ncii-policy, search-delisting
        sec(
            "identification",
            h.get("identification")
            or ("Location of the content" if basis.key == "ncii-policy" else "Pages and images to delist"),
            url_text,
        )
        body = statements["nonconsensual"] + (f"\n{fields['details']}" if fields.get("details") else "")
        facts = fields.get("facts") or {}
        if facts.get("synthetic"):
            body += "\n" + tr.get(
                "synthetic", "The imagery is synthetic: digitally created or altered to depict a real person."
            )
        if basis.key == "search-delisting" and facts.get("sold") is False:
            body += "\n" + tr.get("not_sold", "The imagery was never sold or offered for payment.")
        sec("nonconsensual", h.get("nonconsensual", "What the content is"), _wrap(body))
        sec(
            "name_email",
            h.get("name_email", "Who is reporting"),
            f"  {c.get('name', '')}, {capacity}\n  {contact_email(c)}",
        )
        sec("accuracy", h.get("accuracy", "Accuracy"), _wrap(statements["accuracy"]))
        sig_key = None

    if basis.key in _DEADLINE_SENTENCE:
        lines.append(_wrap(tr.get("deadline") or _DEADLINE_SENTENCE[basis.key], ""))
        lines.append("")
    if fields.get("explanation") and basis.key not in ("dsa",):
        lines.append(_wrap(tr.get("further", "Further explanation") + ": " + fields["explanation"], ""))
        lines.append("")
    signature = (fields.get("signature") or c.get("signature") or "").strip()
    if sig_key:
        num += 1
        lines.append(
            _section(
                f"{num}. {tr.get('signature', 'Signature')}",
                _el(basis, sig_key).citation,
                f"  {signature}\n  {c.get('name', '')}, {capacity}",
            )
        )
    else:
        lines.append(tr.get("signed", "Signed,"))
        lines.append(f"  {signature or c.get('name', '')}")
        lines.append(f"  {c.get('name', '')}, {capacity}")
        lines.append("")
    lines.append(
        _wrap(
            tr.get("closing")
            or "Please reply to this address to confirm receipt and to tell me what action you have taken. "
            "I keep a record of this notice and will check whether the content is still available.",
            "",
        )
    )
    text = "\n".join(lines).rstrip() + "\n"
    if check:
        missing = verify_rendered(fields, text)
        if missing:
            raise IncompleteNotice(basis, missing)
    return text


def _subject(c: dict, tr: dict | None = None) -> str:
    tr = tr or {}
    roles = set(c.get("roles") or [])
    depicted = tr.get("subject_default", "the person depicted")
    if DEPICTED in roles or OWNER in roles:
        return c.get("name") or depicted
    if REPRESENTATIVE in roles:
        return tr.get("subject_rep", "the person I represent")  # never the victim's legal name in an NCII text
    return c.get("on_behalf_of") or c.get("name") or depicted


def _contact_block(c: dict, basis_key: str, tr: dict | None = None) -> str:
    """Only the contact fields the basis needs: a home address or phone number only in a DMCA
    notice (which asks for them), and there the contact for notices in their place when set."""
    tr = tr or {}
    rows = [c.get("name", "")]
    notice_contact = (c.get("notice_contact") or "").strip()
    if notice_contact:
        rows.append(f"{tr.get('contact_for_notice', 'Contact for this notice')}: {notice_contact}")
    elif basis_key in ("dmca", "dmca-512d"):
        if c.get("postal_address"):
            rows += [r.strip() for r in c["postal_address"].replace(";", "\n").splitlines() if r.strip()]
        if c.get("phone"):
            rows.append(f"{tr.get('telephone', 'Telephone')}: {c['phone']}")
    email = contact_email(c)
    if email and email not in notice_contact:
        rows.append(f"{tr.get('email', 'Email')}: {email}")
    return "\n".join("  " + r for r in rows if r)


def _norm(text: str) -> str:
    return " ".join(text.split())


def verify_rendered(fields: dict, text: str) -> list[Missing]:
    """Elements whose content is not in the rendered text (belt and braces over the template)."""
    basis = get_basis(fields["basis"])
    flat = _norm(text)
    c = fields["claimant"]
    problems: list[Missing] = []

    def need(key: str, value: str | None) -> None:
        if value and _norm(value) not in flat:
            el = _el(basis, key)
            problems.append(Missing(el.key, el.label, el.citation, "missing from the rendered text"))

    url_key = next(e.key for e in basis.elements if e.check.__name__ == "_urls")
    for u in fields.get("urls") or []:
        need(url_key, u)
    for key, statement in (fields.get("statements") or {}).items():
        if any(e.key == key for e in basis.elements):
            need(key, statement)
    sig = fields.get("signature") or c.get("signature") or ""
    if any(e.key == "signature" for e in basis.elements):
        need("signature", sig)
    for key in ("contact", "name_email"):
        if any(e.key == key for e in basis.elements):
            need(key, contact_email(c))
    if basis.key in ("dmca", "dmca-512d"):
        need("work", fields.get("work"))
    if basis.key == "dsa":
        need("explanation", fields.get("explanation"))
    if basis.key == "personal-info":
        need("info_kind", fields.get("info_kind"))
    return problems


def _country(c: dict) -> str:
    """The claimant's country as forms list it: its name, with the ISO code ("Germany (DE)")."""
    from unleak.takedown.countries import country_name

    code = (c.get("country") or "").strip()
    name = country_name(code)
    return f"{name} ({code.upper()})" if name else code


def _form_value(fields: dict, key: str, generic: dict[str, str]) -> str:
    """The value for one field of a host's own form (hosts.json `forms`): a key of the notice."""
    c = fields["claimant"]
    facts = fields.get("facts") or {}
    basis = get_basis(fields["basis"])
    if key.startswith("statement:"):
        return (fields.get("statements") or {}).get(key.split(":", 1)[1], "")
    simple = {
        "name": c.get("name", ""),
        "email": contact_email(c),
        "country": _country(c),
        "notice_contact": c.get("notice_contact", ""),
        "capacity": capacity_text(c, name_principal=not _ncii(basis.key)),
        "urls": "\n".join(fields.get("urls") or []),
        "queries": "\n".join(q.strip() for q in (fields.get("queries") or "").split(";") if q.strip()),
        "results_urls": fields.get("results_urls") or "",
        "explanation": fields.get("explanation") or "",
        "work": fields.get("work") or "",
        "details": fields.get("details") or "",
        "info_kind": fields.get("info_kind") or "",
        "doxxing": fields.get("doxxing") or "",
        "signature": (fields.get("signature") or c.get("signature") or ""),
    }
    if key in simple:
        return simple[key]
    if key in ("sold", "synthetic", "intimate") and key in facts:
        return "yes" if facts[key] else "no"
    if key in ("phone", "postal_address"):
        # Only where the law asks (DMCA), and never in place of a contact for notices.
        return c.get(key, "") if basis.key in ("dmca", "dmca-512d") and not c.get("notice_contact") else ""
    return generic.get(key, "")


def form_fields(fields: dict) -> list[tuple[str, str]]:
    """Values ready to paste into a host's web form: in the host's own order and labels where the
    directory lists its form's fields (`forms` in hosts.json, copied into the notice as `form`),
    else in the order such forms usually ask."""
    form = fields.get("form") or {}
    if form.get("fields"):
        rows = []
        for f in form["fields"]:
            label, key = str(f.get("label", "")), str(f.get("value", ""))
            value = _form_value(fields, key, {})
            rows.append((label, value or "(not known to unleak: fill in yourself, or leave empty)"))
        return rows
    return _generic_form_fields(fields)


def _generic_form_fields(fields: dict) -> list[tuple[str, str]]:
    basis = get_basis(fields["basis"])
    c = fields["claimant"]
    st = fields.get("statements") or {}
    dmca = basis.key in ("dmca", "dmca-512d")
    notice_contact = (c.get("notice_contact") or "").strip()
    home = dmca and not notice_contact  # a home address and phone only where the law asks for them
    rows = [
        ("Legal basis", f"{basis.title} — {(fields.get('citation') or {}).get('text') or basis.citation}"),
        ("Full name", c.get("name", "")),
        ("Email", contact_email(c)),
        ("Contact for this notice", notice_contact),
        ("Phone", c.get("phone", "") if home else ""),
        ("Postal address", c.get("postal_address", "") if home else ""),
        ("Your relationship to the content", capacity_text(c, name_principal=not _ncii(basis.key))),
        ("Acting on behalf of", c.get("on_behalf_of", "") if not _ncii(basis.key) else ""),
        ("URLs of the content (one per line)", "\n".join(fields.get("urls") or [])),
    ]
    facts = fields.get("facts") or {}
    if (fields.get("host") or {}).get("kind") == "search":
        rows.append(("Country", _country(c)))
        rows.append(
            (
                "Search queries that show the content",
                "\n".join(q.strip() for q in (fields.get("queries") or "").split(";") if q.strip()),
            )
        )
        rows.append(("Search results page URLs", fields.get("results_urls") or ""))
        if "sold" in facts:
            rows.append(("Was the content ever sold or paid for?", "yes" if facts["sold"] else "no"))
        if "synthetic" in facts:
            rows.append(
                (
                    "Is it synthetic (AI-generated or altered: the deepfake route)?",
                    "yes" if facts["synthetic"] else "no",
                )
            )
    if fields.get("info_kind"):
        rows.append(("Personal information shown", fields["info_kind"]))
    if fields.get("doxxing"):
        rows.append(("Is it shared to harm you (doxxing)? How?", fields["doxxing"]))
    if fields.get("work"):
        rows.append(("Description of the copyrighted work", fields["work"]))
    if fields.get("explanation"):
        rows.append(("Explanation", fields["explanation"]))
    if fields.get("details"):
        rows.append(("Additional information", fields["details"]))
    if fields.get("follows"):
        f = fields["follows"]
        rows.append(
            (
                "Earlier report",
                f"notice #{f['notice_id']} sent {(f.get('sent_at') or '')[:10]}: " + ", ".join(f.get("urls") or []),
            )
        )
    for key, text in st.items():
        label = next((e.label for e in basis.elements if e.key == key), key)
        rows.append((f"Statement: {label}", text))
    if fields.get("cdn_forward_details") is False:
        # Cloudflare's abuse form can forward the reporter's details to the site; never by default.
        rows.append(("Forward my contact details to the website owner?", "No (do not forward my details)"))
    rows.append(("Signature (type your full name)", (fields.get("signature") or c.get("signature") or "")))
    return [(k, v) for k, v in rows if v]
