"""Legal bases for a take-down notice: who may use each, its required elements, its deadline.

Each basis lists the elements its law (or the platform's policy) requires, with the provision
that requires it. `check(fields)` names every element a notice lacks; `require_complete` refuses
to go on while any is missing. The texts are templates, not legal advice: the person sending a
notice confirms every statement in it, and false statements carry legal risk.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from unleak.errors import UnleakError


class Role(StrEnum):
    """A capacity in which a claimant acts (the `roles` of a claimant)."""

    DEPICTED = "depicted_person"
    REPRESENTATIVE = "authorised_representative"
    OWNER = "copyright_owner"
    AGENT = "agent"


class BasisId(StrEnum):
    """The legal bases a notice can rest on (their keys in BASES, the store and the JSON output)."""

    DMCA = "dmca"
    DMCA_SEARCH = "dmca-512d"
    TAKE_IT_DOWN = "take-it-down"
    DSA = "dsa"
    UK_OSA = "uk-osa"
    NCII_POLICY = "ncii-policy"
    SEARCH_DELISTING = "search-delisting"
    PERSONAL_INFO = "personal-info"


DEPICTED, REPRESENTATIVE, OWNER, AGENT = Role.DEPICTED, Role.REPRESENTATIVE, Role.OWNER, Role.AGENT
ROLES = tuple(Role)
ROLE_LABELS: dict[str, str] = {  # by Role (a StrEnum: its members are their strings)
    DEPICTED: "the person depicted",
    REPRESENTATIVE: "an authorised representative of the person depicted",
    OWNER: "the copyright owner",
    AGENT: "an agent authorised to act for the copyright owner",
}
NCII_ROLES = frozenset({DEPICTED, REPRESENTATIVE})
COPYRIGHT_ROLES = frozenset({OWNER, AGENT})

_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.I)


class IncompleteNotice(UnleakError):
    """A notice lacks an element its legal basis requires."""

    def __init__(self, basis: LegalBasis, missing: list[Missing]) -> None:
        names = "; ".join(f"{m.label} ({m.citation}){': ' + m.problem if m.problem else ''}" for m in missing)
        super().__init__(
            f"the {basis.short} notice is missing a required element: {names}",
            hint="fill it in (`unleak notice draft` asks for it, or pass --set FIELD=VALUE), "
            "or complete the claimant profile with `unleak claimant set`",
        )
        self.basis = basis
        self.missing = missing


class NotEntitled(UnleakError):
    """The claimant does not act in a capacity this basis allows."""


@dataclass(frozen=True)
class Missing:
    key: str
    label: str
    citation: str
    problem: str = ""

    def to_json(self) -> dict:
        return {"element": self.key, "label": self.label, "citation": self.citation, "problem": self.problem}

    @classmethod
    def from_json(cls, d: dict) -> Missing:
        return cls(d["element"], d["label"], d["citation"], d.get("problem", ""))


@dataclass(frozen=True)
class Element:
    """A required element: a key, a readable label, the provision that requires it, and its test.

    `check` returns None when the fields satisfy it, else what is wrong. `ask` names the field
    the person fills in when it is missing (None: it comes from the claimant profile or sightings).
    """

    key: str
    label: str
    citation: str
    check: Callable[[dict], str | None]
    ask: str | None = None


@dataclass(frozen=True)
class DeadlineRule:
    """How long the recipient has. Statutory rules are law; policy rules are expectations (configurable).

    `hours` counts elapsed time; `days` counts calendar days on the user's wall clock.
    `statutory_from` is the date (ISO, UTC) a statutory duty starts to apply; before it the rule
    is treated as a policy expectation.
    """

    kind: str  # statutory | policy
    hours: float | None = None
    days: int | None = None
    citation: str = ""
    note: str = ""
    statutory_from: str | None = None
    config_key: str | None = None  # key in [response_times] of takedown.toml (policy rules only)
    # A table of takedown.toml whose `commencement` (ISO date) starts the statutory duty; unset,
    # the rule counts as an expectation (the duty's start is not known).
    commencement_key: str | None = None


@dataclass(frozen=True)
class LegalBasis:
    key: BasisId
    short: str
    title: str
    citation: str
    jurisdiction: str
    host_kinds: frozenset[str]
    roles: frozenset[str]
    steer: str
    elements: tuple[Element, ...]
    deadline: DeadlineRule
    statements: dict[str, str] = field(default_factory=dict)  # element key -> statement template
    needs_confirmation: str = ""  # anything about this basis we could not confirm

    def check(self, fields: dict) -> list[Missing]:
        """Every required element the fields lack, in the order the law lists them."""
        out = []
        for el in self.elements:
            try:
                problem = el.check(fields)
            except (KeyError, TypeError, AttributeError):
                problem = "not given"
            if problem is not None:
                out.append(Missing(el.key, el.label, el.citation, "" if problem == "not given" else problem))
        return out

    def require_complete(self, fields: dict) -> None:
        missing = self.check(fields)
        if missing:
            raise IncompleteNotice(self, missing)

    def entitled(self, roles: set[str] | frozenset[str]) -> bool:
        return bool(self.roles & set(roles))

    def require_entitled(self, roles: set[str] | frozenset[str]) -> None:
        if not self.entitled(roles):
            have = ", ".join(ROLE_LABELS.get(r, r) for r in sorted(roles)) or "no capacity set"
            need = " or ".join(ROLE_LABELS[r] for r in sorted(self.roles))
            raise NotEntitled(
                f"a {self.short} notice may only be sent by {need}; the claimant is: {have}", hint=self.steer
            )

    def default_statements(self, fields: dict) -> dict[str, str]:
        from unleak.takedown.languages import texts

        tr = texts(self.key, fields.get("lang") or "en")
        ctx = _statement_context(fields, tr)
        templates = {**self.statements, **(tr.get("statements") or {})}
        return {k: v.format(**ctx) for k, v in templates.items()}


# --- element tests ---------------------------------------------------------------------------


def _nonempty(path: str) -> Callable[[dict], str | None]:
    def check(fields: dict) -> str | None:
        value = _get(fields, path)
        return None if isinstance(value, str) and value.strip() else "not given"

    return check


def _get(fields: dict, path: str):
    value = fields
    for part in path.split("."):
        value = value[part]
    return value


def signature_name(signature: str) -> str:
    """The name a typed signature holds: "/Alex Doe/" -> "Alex Doe" (slashes and spacing dropped)."""
    return " ".join(unicodedata.normalize("NFKC", signature).strip().strip("/").split())


def _fold(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def signature_names_signer(signature: str, name: str) -> bool:
    """Whether a typed signature names the signer (case and spacing aside)."""
    return bool(_fold(name)) and _fold(name) in _fold(signature_name(signature))


def _signature(fields: dict) -> str | None:
    c = fields["claimant"]
    sig = (fields.get("signature") or c.get("signature") or "").strip()
    if not sig:
        return "not given"
    if not c.get("name", "").strip():
        return "the signer's name is not given"
    if not signature_names_signer(sig, c["name"]):
        return (
            f"the signature {sig!r} does not name the signer {c['name']!r}; "
            "set one that does with `unleak claimant set --signature`"
        )
    return None


def _urls(fields: dict) -> str | None:
    urls = fields.get("urls") or []
    if not urls:
        return "no URL given"
    bad = [u for u in urls if not _URL.match(u)]
    return f"not an exact http(s) URL: {', '.join(bad)}" if bad else None


def _statement(key: str, *phrases: str) -> Callable[[dict], str | None]:
    """The statement is present and still says what the law requires (an edited-away phrase fails)."""

    def check(fields: dict) -> str | None:
        from unleak.takedown.languages import statement_phrases

        text = (fields.get("statements") or {}).get(key, "")
        if not text.strip():
            return "not given"
        low = " ".join(text.lower().split())
        # In a translated notice, the phrases of its language (languages.py).
        need = statement_phrases(fields.get("basis") or "", fields.get("lang") or "en", key) or phrases
        absent = [p for p in need if p not in low]
        return f"the statement must say: {', '.join(repr(p) for p in absent)}" if absent else None

    return check


_EMAIL_IN = re.compile(r"[^@\s<>,;()]+@[^@\s<>,;()]+\.[^@\s<>,;()]+")


def contact_email(claimant: dict) -> str:
    """The address a notice gives for replies: the contact for notices when it holds an email
    address (an agent, a lawyer, a helpline, a fresh address), else the claimant's own."""
    m = _EMAIL_IN.search(claimant.get("notice_contact") or "")
    return m.group(0) if m else (claimant.get("email") or "").strip()


def _statement_in_language(key: str) -> Callable[[dict], str | None]:
    """Like _statement, with the phrases of the notice's language (languages.DSA_TEXTS)."""

    def check(fields: dict) -> str | None:
        from unleak.takedown.languages import dsa_phrases

        return _statement(key, *dsa_phrases(fields.get("lang") or "en"))(fields)

    return check


def _email(fields: dict) -> str | None:
    e = contact_email(fields["claimant"])
    if not e:
        return "no email address"
    return None if _EMAIL.match(e) else f"{e!r} is not an email address"


def _contact_any(fields: dict) -> str | None:
    """Information sufficient to contact the sender: an email address (theirs, or the contact for
    notices). A home address or phone number is never needed here, so never used."""
    c = fields["claimant"]
    if contact_email(c):
        return _email(fields)
    if (c.get("notice_contact") or "").strip():
        return None
    return "no email address (or contact for notices: `unleak claimant set --notice-contact`)"


def _contact_dmca(fields: dict) -> str | None:
    """§512(c)(3)(A)(iv): such as an address, telephone number, and, if available, an email address.

    unleak asks for the email address (notices go by email) and a postal address, telephone
    number or a contact for notices (an agent's or lawyer's address) besides.
    """
    c = fields["claimant"]
    problem = _email(fields)
    if problem:
        return problem
    if not (c.get("postal_address", "").strip() or c.get("phone", "").strip() or c.get("notice_contact", "").strip()):
        return "a postal address, telephone number or contact for notices is needed as well as the email address"
    return None


def _name_and_email(fields: dict) -> str | None:
    if not fields["claimant"].get("name", "").strip():
        return "no name"
    return _email(fields)


def _authority(roles: frozenset[str]) -> Callable[[dict], str | None]:
    def check(fields: dict) -> str | None:
        have = set(fields["claimant"].get("roles") or [])
        if have & roles:
            return None
        return "the claimant must be " + " or ".join(ROLE_LABELS[r] for r in sorted(roles))

    return check


def _on_behalf(fields: dict) -> str | None:
    """A representative or agent names who they act for."""
    c = fields["claimant"]
    roles = set(c.get("roles") or [])
    if roles & {REPRESENTATIVE, AGENT} and not roles & {DEPICTED, OWNER} and not c.get("on_behalf_of", "").strip():
        return "name the person (or rights owner) you act for (claimant --on-behalf-of)"
    return None


def _explanation(min_chars: int) -> Callable[[dict], str | None]:
    def check(fields: dict) -> str | None:
        text = (fields.get("explanation") or "").strip()
        if not text:
            return "not given"
        if len(text) < min_chars:
            return f"too short to substantiate the claim ({len(text)} characters; say why the content is illegal)"
        return None

    return check


def _stated(key: str, label: str) -> Callable[[dict], str | None]:
    """A fact only the person can state (that the content is intimate): asked, never assumed."""

    def check(fields: dict) -> str | None:
        value = (fields.get("facts") or {}).get(key)
        if value is True:
            return None
        if value is False:
            return f"you stated that the content is not {label}: this basis does not apply; choose another"
        return f"not stated: say whether the content is {label} (`--set {key}=yes`)"

    return check


def _search_location(fields: dict) -> str | None:
    """Where the references appear: the search queries that show them, or the results pages."""
    if (fields.get("queries") or "").strip() or (fields.get("results_urls") or "").strip():
        return None
    return "name the search queries (--set queries='...; ...') or the results pages (--set results_urls=...)"


def _not_sold(fields: dict) -> str | None:
    value = (fields.get("facts") or {}).get("sold")
    if value is False:
        return None
    if value is True:
        return (
            "you stated the content was sold or paid for: search engines' NCII forms exclude it; "
            "a copyright owner can use --basis dmca-512d"
        )
    return "not stated: say whether the content was ever sold or paid for (`--set sold=no`)"


def _statement_context(fields: dict, tr: dict | None = None) -> dict[str, str]:
    """The words a statement template is filled with; `tr` the translated texts (languages.texts)."""
    tr = tr or {}
    c = fields.get("claimant") or {}
    roles = set(c.get("roles") or [])
    if DEPICTED in roles or OWNER in roles:
        subject = c.get("name", "")
    elif REPRESENTATIVE in roles:
        # not their legal name: a notice can be forwarded to the uploader
        subject = tr.get("subject_rep", "the person I represent")
    else:
        subject = c.get("on_behalf_of") or c.get("name", "")
    believer = (
        tr.get("believer_self", "I have")
        if DEPICTED in roles or not roles & {REPRESENTATIVE}
        else tr.get("believer_rep", "The identifiable individual depicted, on whose behalf I act, has")
    )
    return {
        "name": c.get("name", ""),
        "subject": subject or tr.get("subject_default", "the person depicted"),
        "on_behalf_of": c.get("on_behalf_of", ""),
        "believer": believer,
    }


# --- the bases -------------------------------------------------------------------------------

DMCA_STEER = (
    "a DMCA notice is for the copyright owner (for a photo, usually whoever took it, including "
    "a selfie's subject) or their agent. If that is you, add the role with `unleak claimant set "
    "--role copyright_owner`. Otherwise use a basis for non-consensual intimate imagery: "
    "--basis take-it-down (US), dsa (EU), uk-osa (UK) or ncii-policy (the platform's own policy)."
)
NCII_STEER = (
    "this basis is for the person depicted or their authorised representative. A rights owner "
    "who is neither can use --basis dmca; anyone may send an EU notice with --basis dsa."
)

_DMCA_ELEMENTS_COMMON_HEAD = (
    Element(
        "signature",
        "physical or electronic signature of a person authorised to act for the owner",
        "17 U.S.C. §512(c)(3)(A)(i)",
        _signature,
    ),
    Element(
        "work",
        "identification of the copyrighted work(s) claimed to be infringed",
        "17 U.S.C. §512(c)(3)(A)(ii)",
        _nonempty("work"),
        ask="work",
    ),
)
_DMCA_ELEMENTS_COMMON_TAIL = (
    Element(
        "contact",
        "information reasonably sufficient to contact the complaining party",
        "17 U.S.C. §512(c)(3)(A)(iv)",
        _contact_dmca,
    ),
    Element(
        "good_faith",
        "statement of good-faith belief that the use is not authorised by the owner, its agent, or the law",
        "17 U.S.C. §512(c)(3)(A)(v)",
        _statement("good_faith", "good faith belief", "not authorized by the copyright owner, its agent, or the law"),
    ),
    Element(
        "accuracy",
        "statement that the notification is accurate and, under penalty of perjury, that "
        "the sender is authorised to act for the owner",
        "17 U.S.C. §512(c)(3)(A)(vi)",
        _statement("accuracy", "accurate", "under penalty of perjury", "authorized to act on behalf of the owner"),
    ),
    Element(
        "authority",
        "the sender is the copyright owner or authorised to act for them",
        "17 U.S.C. §512(c)(3)(A)(i), (vi)",
        _authority(COPYRIGHT_ROLES),
    ),
    Element("on_behalf_of", "the owner an agent acts for", "17 U.S.C. §512(c)(3)(A)(vi)", _on_behalf),
)
_DMCA_STATEMENTS = {
    "good_faith": "I have a good faith belief that use of the material in the manner complained of is not "
    "authorized by the copyright owner, its agent, or the law.",
    "accuracy": "I swear that the information in this notification is accurate, and under penalty of perjury, "
    "that I am authorized to act on behalf of the owner of an exclusive right that is allegedly "
    "infringed.",
}

DMCA = LegalBasis(
    key=BasisId.DMCA,
    short="DMCA §512(c)",
    title="Notification of claimed infringement (DMCA)",
    citation="17 U.S.C. §512(c)(3)(A)",
    jurisdiction="US",
    host_kinds=frozenset({"host"}),
    roles=COPYRIGHT_ROLES,
    steer=DMCA_STEER,
    elements=_DMCA_ELEMENTS_COMMON_HEAD
    + (
        Element(
            "material",
            "identification of the infringing material to be removed, and information "
            "reasonably sufficient to locate it (its exact URLs)",
            "17 U.S.C. §512(c)(3)(A)(iii)",
            _urls,
        ),
    )
    + _DMCA_ELEMENTS_COMMON_TAIL,
    deadline=DeadlineRule(
        "policy",
        hours=72,
        citation='17 U.S.C. §512(c)(1)(C) ("expeditiously")',
        note="no fixed statutory period; the host must act expeditiously to keep its safe harbour",
        config_key="dmca",
    ),
    statements=_DMCA_STATEMENTS,
)

DMCA_SEARCH = LegalBasis(
    key=BasisId.DMCA_SEARCH,
    short="DMCA §512(d)",
    title="Notification of claimed infringement: links in search results (DMCA)",
    citation="17 U.S.C. §512(d)(3), applying §512(c)(3)(A)",
    jurisdiction="US",
    host_kinds=frozenset({"search"}),
    roles=COPYRIGHT_ROLES,
    steer=DMCA_STEER,
    elements=_DMCA_ELEMENTS_COMMON_HEAD
    + (
        Element(
            "material",
            "identification of the reference or link to the infringing material that is to be "
            "removed, and information reasonably sufficient to locate that reference or link",
            "17 U.S.C. §512(d)(3)",
            _urls,
        ),
        Element(
            "search_location",
            "where the references or links appear: the search queries or results pages that show them",
            "17 U.S.C. §512(d)(3)",
            _search_location,
            ask="queries",
        ),
    )
    + _DMCA_ELEMENTS_COMMON_TAIL,
    deadline=DeadlineRule(
        "policy",
        hours=7 * 24,
        citation='17 U.S.C. §512(d)(3) ("expeditiously")',
        note="no fixed statutory period",
        config_key="dmca-512d",
    ),
    statements=_DMCA_STATEMENTS,
)

TAKE_IT_DOWN = LegalBasis(
    key=BasisId.TAKE_IT_DOWN,
    short="TAKE IT DOWN Act",
    title="Removal request: nonconsensual intimate visual depiction",
    citation="TAKE IT DOWN Act, Pub. L. 119-12, §3(a)(1)(B) (notice and removal)",
    jurisdiction="US",
    host_kinds=frozenset({"host"}),
    roles=NCII_ROLES,
    steer=NCII_STEER,
    elements=(
        Element(
            "signature",
            "physical or electronic signature of the identifiable individual or an authorised "
            "person acting on their behalf",
            "Pub. L. 119-12, §3(a)(1)(B)(i)",
            _signature,
        ),
        Element(
            "identification",
            "identification of, and information reasonably sufficient to locate, the "
            "intimate visual depiction (its exact URLs)",
            "Pub. L. 119-12, §3(a)(1)(B)(ii)",
            _urls,
        ),
        Element(
            "intimate",
            "the person states that the content is an intimate visual depiction (asked, never assumed)",
            "Pub. L. 119-12, §3(a)(1)(A), §4",
            _stated("intimate", "intimate (nudity or sexual conduct)"),
            ask="intimate",
        ),
        Element(
            "good_faith",
            "brief statement that the identifiable individual has a good faith belief that the depiction "
            "is not consensual, with any relevant information",
            "Pub. L. 119-12, §3(a)(1)(B)(iii)",
            _statement("good_faith", "good faith belief", "not consensual"),
        ),
        Element(
            "contact",
            "information sufficient to contact the individual or their authorised representative",
            "Pub. L. 119-12, §3(a)(1)(B)(iv)",
            _contact_any,
        ),
        Element(
            "authority",
            "the request comes from the identifiable individual or a person authorised to act on their behalf",
            "Pub. L. 119-12, §3(a)(1)(A)(ii)",
            _authority(NCII_ROLES),
        ),
    ),
    deadline=DeadlineRule(
        "statutory",
        hours=48,
        citation="Pub. L. 119-12, §3(a)(3)",
        note="remove as soon as possible, and no later than 48 hours after receiving a valid "
        "request, and make reasonable efforts to remove known identical copies",
        statutory_from="2026-05-19T00:00:00+00:00",
        config_key="take-it-down",
    ),
    needs_confirmation="the element wording follows the enrolled text of S.146 (Pub. L. 119-12) as unleak's authors "
    "read it; it could not be checked against the official text from here",
    statements={
        "good_faith": "{believer} a good faith belief that the intimate visual depiction(s) identified in this "
        "request are not consensual.",
    },
)

DSA = LegalBasis(
    key=BasisId.DSA,
    short="DSA Art. 16",
    title="Notice of illegal content (EU Digital Services Act, Art. 16)",
    citation="Regulation (EU) 2022/2065, Art. 16(2)",
    jurisdiction="EU",
    host_kinds=frozenset({"host"}),
    roles=frozenset(ROLES),
    steer="",
    elements=(
        Element(
            "explanation",
            "a sufficiently substantiated explanation of why the information is illegal content",
            "Reg. (EU) 2022/2065, Art. 16(2)(a)",
            _explanation(80),
            ask="explanation",
        ),
        Element(
            "location",
            "a clear indication of the exact electronic location of the information: the exact URLs",
            "Reg. (EU) 2022/2065, Art. 16(2)(b)",
            _urls,
        ),
        Element(
            "name_email",
            "the name and email address of the person submitting the notice",
            "Reg. (EU) 2022/2065, Art. 16(2)(c)",
            _name_and_email,
        ),
        Element(
            "bona_fide",
            "a statement confirming the bona fide belief that the information and allegations "
            "are accurate and complete",
            "Reg. (EU) 2022/2065, Art. 16(2)(d)",
            _statement_in_language("bona_fide"),
        ),
    ),
    deadline=DeadlineRule(
        "policy",
        days=7,
        citation="Reg. (EU) 2022/2065, Art. 16(4)-(6)",
        note="no fixed period: notices must be processed in a timely, diligent, non-arbitrary "
        "and objective manner; receipt confirmed without undue delay",
        config_key="dsa",
    ),
    statements={
        "bona_fide": "I confirm my bona fide belief that the information and allegations contained in this notice "
        "are accurate and complete.",
    },
)

UK_OSA_CITATION = "Online Safety Act 2023, s.20A"
UK_OSA_CITATION_NOTE = (
    "the intimate image content report provision as set out in Lords amendment 257A of 16 April 2026 "
    "(Crime and Policing Bill); not confirmed as enacted: set [uk_osa] citation and citation_confirmed = true "
    "in takedown.toml once it is"
)

UK_OSA = LegalBasis(
    key=BasisId.UK_OSA,
    short="UK OSA intimate image content report",
    title="Intimate image content report (UK Online Safety Act 2023)",
    citation=UK_OSA_CITATION,
    jurisdiction="UK",
    host_kinds=frozenset({"host", "search"}),
    roles=NCII_ROLES,
    steer=NCII_STEER,
    elements=(
        Element(
            "intimate",
            "the person states that the content is intimate image content",
            "Online Safety Act 2023, s.20A(2)(a)",
            _stated("intimate", "intimate image content"),
            ask="intimate",
        ),
        Element(
            "declaration_present",
            "(a) declaration that intimate image content is present on the service",
            "Online Safety Act 2023, s.20A(2)(a)",
            _statement("declaration_present", "i declare", "intimate image content"),
        ),
        Element(
            "declaration_subject",
            "(b) declaration that the report is made by the subject of the content or someone acting on their behalf",
            "Online Safety Act 2023, s.20A(2)(b)",
            _statement("declaration_subject", "i declare", "subject of"),
        ),
        Element(
            "declaration_good_faith",
            "(c) declaration that the report is made in good faith and is, to the best of the reporter's "
            "knowledge and belief, true",
            "Online Safety Act 2023, s.20A(2)(c)",
            _statement("declaration_good_faith", "good faith", "best of my knowledge and belief", "true"),
        ),
        Element(
            "identification",
            "(d) information sufficient to identify the content (its exact URLs)",
            "Online Safety Act 2023, s.20A(2)(d)",
            _urls,
        ),
        Element(
            "contact",
            "(e) information sufficient to contact the person making the report",
            "Online Safety Act 2023, s.20A(2)(e)",
            _contact_any,
        ),
        Element(
            "authority",
            "the reporter is the subject of the content or acts on their behalf",
            "Online Safety Act 2023, s.20A(2)(b)",
            _authority(NCII_ROLES),
        ),
    ),
    deadline=DeadlineRule(
        "statutory",
        hours=48,
        citation="Online Safety Act 2023, s.10(3A) / s.27 duties on an intimate image content report (as amended)",
        note="take down as soon as reasonably practicable and no later than 48 hours after the "
        "report is received, with copies that are the same or substantially the same",
        config_key="uk-osa",
        commencement_key="uk_osa",
    ),
    statements={
        "declaration_present": "I declare that intimate image content of {subject} is present on your service at "
        "the locations listed in this report.",
        "declaration_subject": "I declare that this report is made by the subject of the content, or by a person "
        "acting on behalf of the subject of the content.",
        "declaration_good_faith": "I declare that this report is made in good faith and is, to the best of my "
        "knowledge and belief, true.",
    },
    needs_confirmation="s.20A and its (a)-(e) follow Lords amendment 257A of 16 April 2026 as summarised to unleak's "
    "authors; the official text could not be checked from here. Confirm the enacted section number, its wording, the "
    "commencement date and any regulations on the report's requirements; set them in [uk_osa] of takedown.toml",
)

NCII_POLICY = LegalBasis(
    key=BasisId.NCII_POLICY,
    short="platform NCII policy",
    title="Report under the platform's non-consensual intimate imagery policy",
    citation="the platform's terms of service / community guidelines on non-consensual intimate imagery",
    jurisdiction="policy",
    host_kinds=frozenset({"host"}),
    roles=NCII_ROLES,
    steer=NCII_STEER,
    elements=(
        Element("identification", "the exact URLs of the content", "platform NCII policy", _urls),
        Element("name_email", "name and email address of the reporter", "platform NCII policy", _name_and_email),
        Element(
            "nonconsensual",
            "statement that the content is intimate and shared without consent",
            "platform NCII policy",
            _statement("nonconsensual", "without", "consent"),
        ),
        Element(
            "accuracy",
            "statement that the report is accurate",
            "platform NCII policy",
            _statement("accuracy", "accurate"),
        ),
        Element(
            "authority",
            "the reporter is the person depicted or acts on their behalf",
            "platform NCII policy",
            _authority(NCII_ROLES),
        ),
        Element(
            "intimate",
            "the person states that the content is intimate",
            "platform NCII policy",
            _stated("intimate", "intimate (nudity or sexual conduct)"),
            ask="intimate",
        ),
    ),
    deadline=DeadlineRule(
        "policy",
        hours=72,
        note="each platform's own service level; set yours in takedown.toml",
        config_key="ncii-policy",
    ),
    statements={
        "nonconsensual": "The content at these locations shows {subject} in an intimate or sexual manner and was "
        "shared without their consent, in breach of your policy on non-consensual intimate imagery.",
        "accuracy": "The information in this report is accurate to the best of my knowledge.",
    },
)

SEARCH_DELISTING = LegalBasis(
    key=BasisId.SEARCH_DELISTING,
    short="search delisting request",
    title="Request to remove non-consensual intimate imagery from search results",
    citation="the search engine's policy on non-consensual explicit or intimate personal imagery",
    jurisdiction="policy",
    host_kinds=frozenset({"search"}),
    roles=NCII_ROLES,
    steer=NCII_STEER,
    elements=(
        Element("identification", "the exact URLs of the pages (and images) to delist", "search engine policy", _urls),
        Element("name_email", "name and email address of the requester", "search engine policy", _name_and_email),
        Element(
            "nonconsensual",
            "statement that the imagery is intimate and published without consent",
            "search engine policy",
            _statement("nonconsensual", "without", "consent"),
        ),
        Element(
            "accuracy",
            "statement that the request is accurate",
            "search engine policy",
            _statement("accuracy", "accurate"),
        ),
        Element(
            "authority",
            "the requester is the person depicted or acts on their behalf",
            "search engine policy",
            _authority(NCII_ROLES),
        ),
        Element(
            "not_sold",
            "the person states the content was not sold or paid for (the NCII forms exclude paid content)",
            "search engine policy",
            _not_sold,
            ask="sold",
        ),
        Element(
            "intimate",
            "the person states that the imagery is intimate",
            "search engine policy",
            _stated("intimate", "intimate (nudity or sexual conduct)"),
            ask="intimate",
        ),
    ),
    deadline=DeadlineRule(
        "policy",
        days=7,
        note="each search engine's own service level; set yours in takedown.toml",
        config_key="search-delisting",
    ),
    statements={
        "nonconsensual": "The pages listed show intimate imagery of {subject} published without their consent. "
        "Please remove them, and the images, from your search results.",
        "accuracy": "The information in this request is accurate to the best of my knowledge.",
    },
)


def _info_kind(fields: dict) -> str | None:
    """Which personal information the pages show: the person says (the forms ask for the kind)."""
    text = (fields.get("info_kind") or "").strip()
    if not text:
        return (
            "not given: say what the pages show (--set info_kind='home address, phone number'), e.g. contact "
            "details, an ID number, bank or card numbers, login credentials, medical records"
        )
    return None


PERSONAL_INFO = LegalBasis(
    key=BasisId.PERSONAL_INFO,
    short="personal information removal request",
    title="Request to remove personal information from search results",
    citation="the search engine's policy on personal information (contact details, ID numbers, doxxing)",
    jurisdiction="policy",
    host_kinds=frozenset({"search"}),
    roles=NCII_ROLES,
    steer="this request is for the person whose information it is, or their authorised representative "
    "(who explains their authority in the request: --set details=...)",
    elements=(
        Element(
            "identification", "the exact URLs of the pages that show the information", "search engine policy", _urls
        ),
        Element(
            "search_location",
            "the search results pages or queries that show them",
            "search engine policy",
            _search_location,
            ask="queries",
        ),
        Element(
            "info_kind",
            "which personal information the pages show (contact details, ID numbers, ...), as the person states it",
            "search engine policy",
            _info_kind,
            ask="info_kind",
        ),
        Element("name_email", "name and email address of the requester", "search engine policy", _name_and_email),
        Element(
            "accuracy",
            "statement that the request is accurate",
            "search engine policy",
            _statement("accuracy", "accurate"),
        ),
        Element(
            "authority",
            "the requester is the person the information is about or acts on their behalf",
            "search engine policy",
            _authority(NCII_ROLES),
        ),
    ),
    deadline=DeadlineRule(
        "policy",
        days=7,
        note="each search engine's own service level; set yours in takedown.toml",
        config_key="personal-info",
    ),
    statements={
        "accuracy": "The information in this request is accurate to the best of my knowledge.",
    },
)

BASES: dict[str, LegalBasis] = {
    b.key: b for b in (DMCA, DMCA_SEARCH, TAKE_IT_DOWN, DSA, UK_OSA, NCII_POLICY, SEARCH_DELISTING, PERSONAL_INFO)
}


def get_basis(key: str) -> LegalBasis:
    try:
        return BASES[key]
    except KeyError:
        raise UnleakError(f"unknown legal basis {key!r}", hint="one of: " + ", ".join(BASES)) from None


def default_basis(roles: set[str], host_kind: str) -> BasisId | None:
    """The basis to use when the person names none: NCII law for the depicted, copyright for owners."""
    if roles & NCII_ROLES:
        return BasisId.SEARCH_DELISTING if host_kind == "search" else BasisId.TAKE_IT_DOWN
    if roles & COPYRIGHT_ROLES:
        return BasisId.DMCA_SEARCH if host_kind == "search" else BasisId.DMCA
    return None


EU_COUNTRIES = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "HR",
        "CY",
        "CZ",
        "DK",
        "EE",
        "FI",
        "FR",
        "DE",
        "GR",
        "IE",
        "IT",
        "LV",
        "LT",
        "LU",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SK",
        "SI",
        "ES",
        "SE",
    ]
)


def country_code(text: str) -> str:
    """An ISO 3166-1 alpha-2 code from what people type ("de", "Germany", "DEU", "UK" -> "GB");
    "" if unknown (countries.lookup refuses it instead, naming close matches)."""
    from unleak.takedown.countries import UnknownCountry, lookup

    try:
        return lookup(text)
    except UnknownCountry:
        return ""


def _region(code: str) -> str:
    code = code.upper()
    if code == "EU" or code in EU_COUNTRIES:
        return "EU"
    if code in ("GB", "UK"):
        return "UK"
    return "US" if code == "US" else ""


def choose_basis(
    roles: set[str] | frozenset[str],
    host_kind: str,
    *,
    country: str = "",
    host_jurisdiction: str = "",
    covered: bool | None = None,
    sold: bool | None = None,
) -> tuple[BasisId | None, str]:
    """The basis to use when the person names none, and why (shown at review).

    Copyright first where the content was sold and the person owns it (a creator's paid content:
    search engines' NCII forms exclude it). Otherwise NCII law for the depicted, chosen by the
    person's country, else the host's: DSA in the EU, UK OSA in the UK, TAKE IT DOWN for US
    covered platforms; a service that is not a covered platform gets its own NCII policy.
    """
    search = host_kind == "search"
    owner = bool(roles & COPYRIGHT_ROLES)
    if sold and owner:
        key = BasisId.DMCA_SEARCH if search else BasisId.DMCA
        return key, "the content was sold and you own its copyright: paid content goes by copyright (DMCA)"
    if roles & NCII_ROLES:
        if search:
            return BasisId.SEARCH_DELISTING, "a search engine: its own delisting request for intimate imagery"
        region = _region(country_code(country)) if country else ""
        where = f"your country ({country_code(country)})" if region else ""
        if not region:
            region = _region(host_jurisdiction)
            where = f"the host's jurisdiction ({host_jurisdiction})" if region else ""
        if region == "EU":
            return BasisId.DSA, f"{where} is in the EU: a notice under Art. 16 of the Digital Services Act"
        if region == "UK":
            return BasisId.UK_OSA, f"{where} is the UK: an intimate image content report under the Online Safety Act"
        if covered is False:
            return BasisId.NCII_POLICY, (
                "not a covered platform under the TAKE IT DOWN Act (§4(3)): a report under its own NCII policy"
            )
        why = f"{where} is the US" if region == "US" else "no EU or UK connection known"
        return BasisId.TAKE_IT_DOWN, f"{why}: a removal request under the TAKE IT DOWN Act"
    if owner:
        key = BasisId.DMCA_SEARCH if search else BasisId.DMCA
        return key, "you act as the copyright owner (or their agent): a DMCA notice"
    return None, ""
