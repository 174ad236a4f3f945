"""Who must act on a sighting: the host's operator and its abuse or designated-agent contact.

A directory of well-known platforms ships as data (takedown/data/hosts.json); the user's own
hosts.json in the data folder adds entries or overrides shipped ones (same `id`). For a host in
neither, contacts are looked for on the page itself, in its security.txt (RFC 9116) and in the
domain's RDAP record, through the guarded fetcher; anything found is a suggestion to confirm.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from unleak import config
from unleak.errors import UnleakError
from unleak.text import check_name

_MAILTO = re.compile(r"mailto:([^\"'?>\s]+)", re.I)
_EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b")
_ABUSE_WORDS = (
    "abuse",
    "dmca",
    "copyright",
    "takedown",
    "take-down",
    "legal",
    "report",
    "removal",
    "privacy",
    "trust",
    "safety",
    "complaint",
)
_LINK = re.compile(r"<a\b[^>]*href\s*=\s*[\"']([^\"']+)[\"'][^>]*>(.*?)</a>", re.I | re.S)
_TAGS = re.compile(r"<[^>]+>")


class HostKind(StrEnum):
    """What a directory entry is; a notice goes to a host or a search engine."""

    HOST = "host"
    SEARCH = "search"
    INTERMEDIARY = "intermediary"  # a CDN or other service in front of a host


class Channel(StrEnum):
    EMAIL = "email"
    WEBFORM = "webform"


class Party(StrEnum):
    """The kind of party a notice is addressed to; the text says which (see content.ADDRESSED)."""

    PLATFORM = "platform"  # the service the content is on
    HOSTING = "hosting_provider"  # hosts the site's servers (found from its IP address)
    REGISTRAR = "registrar"  # registered the site's domain name
    CDN = "cdn"  # a content delivery network in front of the site
    SEARCH = "search_engine"


SOURCE_LABELS = {
    "directory": "the hosts directory",
    "shipped": "the hosts directory",
    "user": "your hosts.json",
    "given": "given by you",
    "page": "found on the leak page itself: it may belong to the uploader",
    "security.txt": "the site's security.txt",
    "rdap": "RDAP record of the domain: the registrar",
    "rdap-ip": "RDAP record of the site's IP address block: the hosting provider",
}
# Sources a recipient may be taken from without the person choosing it. A contact found on the
# page may be the uploader's; the registrar or hosting provider is a different party.
AUTOMATIC_SOURCES = frozenset({"directory", "shipped", "user", "given", "security.txt"})


@dataclass
class Contact:
    channel: str  # email | webform
    address: str  # email address or form URL
    source: str = "directory"  # directory | user | page | security.txt | rdap | rdap-ip | given
    confirmed: bool = False
    party: str = Party.PLATFORM

    def to_json(self) -> dict:
        return {
            "channel": self.channel,
            "address": self.address,
            "source": self.source,
            "confirmed": self.confirmed,
            "party": str(self.party),
            "source_label": SOURCE_LABELS.get(self.source, self.source),
        }

    @classmethod
    def from_json(cls, d: dict) -> Contact:
        return cls(
            d.get("channel", "email"),
            d.get("address", ""),
            d.get("source", ""),
            bool(d.get("confirmed")),
            d.get("party") or Party.PLATFORM,
        )


@dataclass
class HostEntry:
    id: str
    name: str
    kind: str = "host"  # host | search | intermediary
    domains: list[str] = field(default_factory=list)
    contacts: dict[str, dict] = field(default_factory=dict)  # basis key or "default" -> {channel, email|url}
    jurisdiction: str = ""
    confirmed: bool = False
    default_delisting: bool = False
    note: str = ""
    origin: str = "shipped"  # shipped | user | discovered
    # TAKE IT DOWN Act §4(3): a public website or app primarily for user-generated content. False for
    # email services, ISPs and search engines; None when unleak does not know.
    covered_platform: bool | None = None
    language: str = ""  # the language its notices are written in (languages.LANGUAGES), "" for English
    source_url: str = ""  # the page the entry was read from
    read_on: str = ""  # the date it was read (ISO)
    forms: dict[str, dict] = field(default_factory=dict)  # basis -> {"url", "fields": [...], "source_url", ...}

    @classmethod
    def from_json(cls, d: dict, origin: str) -> HostEntry:
        if not d.get("id"):
            raise UnleakError("a hosts.json entry has no id", hint='give every entry a unique "id"')
        return cls(
            id=d["id"],
            name=d.get("name", d["id"]),
            kind=d.get("kind", "host"),
            domains=[x.lower().strip(".") for x in d.get("domains", [])],
            contacts=d.get("contacts", {}),
            jurisdiction=d.get("jurisdiction", ""),
            confirmed=bool(d.get("confirmed", False)),
            default_delisting=bool(d.get("default_delisting", False)),
            note=d.get("note", ""),
            origin=origin,
            covered_platform=d.get("covered_platform"),
            language=d.get("language", ""),
            source_url=d.get("source_url", ""),
            read_on=d.get("read_on", ""),
            forms=d.get("forms", {}),
        )

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "domains": self.domains,
            "contacts": self.contacts,
            "jurisdiction": self.jurisdiction,
            "confirmed": self.confirmed,
            "default_delisting": self.default_delisting,
            "note": self.note,
            "covered_platform": self.covered_platform,
            "language": self.language,
            "source_url": self.source_url,
            "read_on": self.read_on,
            "forms": self.forms,
        }

    @property
    def party(self) -> Party:
        return {"search": Party.SEARCH, "intermediary": Party.CDN}.get(self.kind, Party.PLATFORM)

    def contact_for(self, basis: str) -> Contact | None:
        c = self.contacts.get(basis) or self.contacts.get("default")
        if not c:
            return None
        if c.get("channel") == "email" and c.get("email"):
            return Contact("email", c["email"], self.origin, self.confirmed, self.party)
        if c.get("url"):
            return Contact("webform", c["url"], self.origin, self.confirmed, self.party)
        return None


def user_hosts_path() -> Path:
    return config.home() / "hosts.json"


def host_of(url_or_host: str) -> str:
    """The lower-case host name of a URL (or of a bare host), without port or a leading www."""
    text = url_or_host.strip()
    host = (urlsplit(text).hostname if "://" in text else text.split("/")[0].rsplit(":", 1)[0]) or ""
    host = host.lower().strip(".")
    return host[4:] if host.startswith("www.") else host


class HostDirectory:
    """The shipped directory plus the user's entries (theirs win on the same id)."""

    def __init__(self, entries: Iterable[HostEntry]) -> None:
        self.entries: dict[str, HostEntry] = {}
        for e in entries:
            self.entries[e.id] = e

    @classmethod
    def load(cls, user_path: Path | None = None) -> HostDirectory:
        shipped = json.loads(resources.files("unleak.takedown").joinpath("data/hosts.json").read_text("utf-8"))
        entries = [HostEntry.from_json(d, "shipped") for d in shipped["hosts"]]
        path = user_path or user_hosts_path()
        if path.exists():
            try:
                user = json.loads(path.read_text("utf-8"))
            except (OSError, ValueError) as exc:
                raise UnleakError(f"cannot read {path}: {exc}", hint="fix the JSON or remove the file") from None
            entries += [
                HostEntry.from_json(d, "user") for d in (user.get("hosts", []) if isinstance(user, dict) else user)
            ]
        return cls(entries)

    def lookup(self, url_or_host: str) -> HostEntry | None:
        """The entry whose domain is the host or a parent of it (the longest match wins)."""
        host = host_of(url_or_host)
        best: tuple[int, HostEntry] | None = None
        for e in self.entries.values():
            for d in e.domains:
                d2 = d[4:] if d.startswith("www.") else d
                if not (host == d2 or host.endswith("." + d2)):
                    continue
                if best is None or len(d2) > best[0] or (len(d2) == best[0] and e.origin == "user"):
                    best = (len(d2), e)
        return best[1] if best else None

    def search_engines(self, *, default_only: bool = True) -> list[HostEntry]:
        return [e for e in self.entries.values() if e.kind == "search" and (e.default_delisting or not default_only)]

    def get(self, entry_id: str) -> HostEntry | None:
        return self.entries.get(entry_id)


def save_user_entry(entry: dict, path: Path | None = None) -> Path:
    """Add or replace one entry (by id) in the user's hosts.json."""
    path = path or user_hosts_path()
    for key in ("id", "name"):
        if entry.get(key) is not None:
            entry[key] = check_name(str(entry[key]), f"host {key}", max_length=200)
    entry["domains"] = [check_name(str(d), "host domain", max_length=253) for d in entry.get("domains", [])]
    data: dict[str, Any] = {"hosts": []}
    if path.exists():
        data = json.loads(path.read_text("utf-8"))
        if isinstance(data, list):
            data = {"hosts": data}
    HostEntry.from_json(entry, "user")  # validate
    data["hosts"] = [h for h in data.get("hosts", []) if h.get("id") != entry["id"]] + [entry]
    config.private_dir(path.parent)
    return config.write_private(path, (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))


EDITABLE = ("name", "kind", "domains", "jurisdiction", "note", "covered_platform", "source_url", "read_on")


def edit_user_entry(
    entry_id: str,
    changes: dict[str, Any],
    *,
    contact: tuple[str, dict] | None = None,
    path: Path | None = None,
    directory: HostDirectory | None = None,
) -> HostEntry:
    """Override only the fields given for one host (shipped or yours), in your hosts.json.

    `changes` holds fields of EDITABLE; `contact` is (basis or "default", {"channel", "email"|"url"}).
    An edited entry is unconfirmed until a person checks it (`confirm_user_entry`)."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise UnleakError(f"unknown host field(s): {', '.join(sorted(unknown))}", hint="fields: " + ", ".join(EDITABLE))
    directory = directory or HostDirectory.load(path)
    current = directory.get(entry_id)
    if current is None and not changes.get("domains"):
        raise UnleakError(
            f"no host {entry_id!r} in the directory", hint="a new host needs --domain (see `unleak hosts list`)"
        )
    entry: dict[str, Any] = (
        current.to_json() if current is not None else {"id": entry_id, "name": entry_id, "kind": "host"}
    )
    for key, value in changes.items():
        if value is not None:
            entry[key] = value
    if contact is not None:
        entry["contacts"] = {**dict(entry.get("contacts") or {}), contact[0]: contact[1]}
    entry["confirmed"] = False
    entry.pop("confirmed_on", None)
    save_user_entry(entry, path)
    return HostEntry.from_json(entry, "user")


def confirm_user_entry(entry_id: str, on: str, *, path: Path | None = None) -> HostEntry:
    """A person checked this host's entry against its pages today: mark it confirmed (in your hosts.json)."""
    current = HostDirectory.load(path).get(entry_id)
    if current is None:
        raise UnleakError(f"no host {entry_id!r} in the directory", hint="see `unleak hosts list`")
    entry = {**current.to_json(), "confirmed": True, "confirmed_on": on}
    save_user_entry(entry, path)
    return HostEntry.from_json(entry, "user")


# --- discovery for hosts not in the directory ------------------------------------------------


def contacts_from_html(html: str, base_url: str) -> list[Contact]:
    """mailto: addresses and report/abuse/DMCA links on a page, abuse-looking ones first."""
    found: list[Contact] = []
    seen: set[str] = set()
    for addr in _MAILTO.findall(html):
        addr = addr.strip().lower()
        if _EMAIL.fullmatch(addr) and addr not in seen:
            seen.add(addr)
            found.append(Contact("email", addr, "page"))
    for href, text in _LINK.findall(html):
        label = _TAGS.sub(" ", text).lower()
        if href.lower().startswith(("mailto:", "javascript:", "#")):
            continue
        if any(w in label or w in href.lower() for w in _ABUSE_WORDS):
            url = urljoin(base_url, href)
            if url not in seen and url.startswith(("http://", "https://")):
                seen.add(url)
                found.append(Contact("webform", url, "page"))
    return sorted(found, key=lambda c: (not _abuse_like(c.address), c.channel != "email"))


def _abuse_like(address: str) -> bool:
    return any(w in address.lower() for w in ("abuse", "dmca", "copyright", "legal", "takedown", "report"))


def contacts_from_security_txt(text: str) -> list[Contact]:
    """`Contact:` fields of a security.txt (RFC 9116), in the order given."""
    out = []
    for line in text.splitlines():
        if line.lower().startswith("contact:"):
            value = line.split(":", 1)[1].strip()
            if value.lower().startswith("mailto:"):
                out.append(Contact("email", value[7:], "security.txt"))
            elif value.startswith(("https://", "http://")):
                out.append(Contact("webform", value, "security.txt"))
    return out


def contacts_from_rdap(data: dict, *, ip: bool = False) -> list[Contact]:
    """Email addresses of the entities with the `abuse` role in an RDAP domain or IP record: a
    domain's record names its registrar, an address block's the hosting provider."""
    source, party = ("rdap-ip", Party.HOSTING) if ip else ("rdap", Party.REGISTRAR)
    out: list[Contact] = []

    def walk(entities: list) -> None:
        for ent in entities or []:
            if "abuse" in (ent.get("roles") or []):
                for prop in (ent.get("vcardArray") or [None, []])[1] or []:
                    if isinstance(prop, list) and prop and prop[0] == "email" and len(prop) >= 4:
                        out.append(Contact("email", str(prop[3]), source, False, party))
            walk(ent.get("entities") or [])

    walk(data.get("entities") or [])
    return out


@dataclass
class Fetched:
    """The little the discovery and verification code needs from a fetch."""

    url: str
    status: int
    content_type: str = ""
    body: bytes = b""
    final_url: str = ""
    error: str | None = None  # set when nothing came back (refused, unreachable, blocked)


FetchFn = Callable[[str], Fetched]


def discover_contacts(host: str, page_url: str | None, fetch: FetchFn, *, rdap: bool = True) -> list[Contact]:
    """Look for the host's abuse contact: the page, security.txt, then RDAP. Never raises on the network."""
    found: list[Contact] = []
    if page_url:
        r = fetch(page_url)
        if r.error is None and r.status == 200 and "html" in r.content_type:
            found += contacts_from_html(r.body.decode("utf-8", "replace"), r.final_url or page_url)
    base = _origin(page_url) if page_url else f"https://{host}"
    for path in ("/.well-known/security.txt", "/security.txt"):
        r = fetch(base + path)
        if r.error is None and r.status == 200:
            sec = contacts_from_security_txt(r.body.decode("utf-8", "replace"))
            if sec:
                found += sec
                break
    if rdap and not any(c.channel == "email" and c.source in AUTOMATIC_SOURCES for c in found):
        r = fetch(f"https://rdap.org/domain/{registrable(host)}")
        if r.error is None and r.status == 200:
            try:
                found += contacts_from_rdap(json.loads(r.body))
            except ValueError:
                pass
    unique: dict[tuple[str, str], Contact] = {}
    for c in found:
        unique.setdefault((c.channel, c.address.lower()), c)
    return sorted(
        unique.values(),
        key=lambda c: (c.source not in AUTOMATIC_SOURCES, not _abuse_like(c.address), c.channel != "email"),
    )


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def registrable(host: str) -> str:
    """A rough registrable domain (last two labels, three for common two-level suffixes)."""
    labels = host.split(".")
    if len(labels) >= 3 and labels[-2] in {"co", "com", "org", "net", "ac", "gov"} and len(labels[-1]) == 2:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])
