"""The hosts directory (shipped data + the user's entries) and contact discovery for unknown hosts."""

from __future__ import annotations

import json

import pytest

from _site import load_site
from test_notice_fixtures import FACTS
from unleak.takedown.bases import BASES
from unleak.takedown.hosts import (
    Fetched,
    HostDirectory,
    contacts_from_html,
    contacts_from_rdap,
    contacts_from_security_txt,
    discover_contacts,
    host_of,
    save_user_entry,
)


def test_shipped_directory_is_well_formed():
    d = HostDirectory.load()
    assert len(d.entries) >= 15
    for e in d.entries.values():
        assert e.kind in ("host", "search", "intermediary") and e.name
        for basis, c in e.contacts.items():
            assert basis == "default" or basis in BASES, (e.id, basis)
            assert (c["channel"] == "email" and "@" in c["email"]) or (
                c["channel"] == "webform" and c["url"].startswith("https://")
            ), (e.id, basis)
        assert e.confirmed is False  # shipped entries are marked as needing confirmation
    engines = {e.id for e in d.search_engines()}
    assert engines == {"google-search", "bing"}


@pytest.mark.parametrize(
    "url,expected",
    [
        ("https://www.reddit.com/r/x/comments/1", "reddit"),
        ("https://i.redd.it/abc.jpg", "reddit"),
        ("https://pbs.twimg.com/media/a.jpg", "x"),
        ("https://scontent.cdninstagram.com/v/x.jpg", "instagram"),
        ("https://drive.google.com/file/d/1", "google-hosted"),
        ("https://notreddit.com/", None),
    ],
)
def test_lookup_by_host_and_parent_domains(url, expected):
    e = HostDirectory.load().lookup(url)
    assert (e.id if e else None) == expected


def test_user_entries_win_over_shipped_ones(tmp_path):
    path = tmp_path / "hosts.json"
    save_user_entry(
        {
            "id": "reddit",
            "name": "Reddit (my contact)",
            "domains": ["reddit.com"],
            "contacts": {"default": {"channel": "email", "email": "legal@reddit.example"}},
            "confirmed": True,
        },
        path,
    )
    d = HostDirectory.load(path)
    e = d.lookup("https://old.reddit.com/x")
    assert e.origin == "user" and e.contact_for("take-it-down").address == "legal@reddit.example"
    assert json.loads(path.read_text())["hosts"][0]["id"] == "reddit"


def test_contact_for_basis_falls_back_to_default():
    e = HostDirectory.load().get("discord")
    assert e.contact_for("dmca").address == "copyright@discord.com"
    assert e.contact_for("take-it-down").channel == "webform"


def test_host_of():
    assert host_of("https://www.Example.com:8443/a") == "example.com"
    assert host_of("127.0.0.1:8080/x") == "127.0.0.1"


def test_contacts_from_html_prefers_abuse_addresses():
    html = (
        '<a href="mailto:hello@site.example">hi</a><a href="mailto:abuse@site.example?subject=x">Report abuse</a>'
        '<a href="/legal/dmca">DMCA</a><a href="/about">About</a><a href="javascript:x">report</a>'
    )
    found = contacts_from_html(html, "https://site.example/post/1")
    assert found[0].address == "abuse@site.example" and found[0].channel == "email"
    assert any(c.address == "https://site.example/legal/dmca" for c in found)
    assert not any("about" in c.address or "javascript" in c.address for c in found)


def test_security_txt_and_rdap_parsing():
    sec = (
        "# comment\nContact: mailto:security@site.example\nContact: https://site.example/report\nExpires: 2030-01-01\n"
    )
    assert [c.address for c in contacts_from_security_txt(sec)] == [
        "security@site.example",
        "https://site.example/report",
    ]
    rdap = {
        "entities": [
            {
                "roles": ["registrar"],
                "entities": [
                    {
                        "roles": ["abuse"],
                        "vcardArray": [
                            "vcard",
                            [["version", {}, "text", "4.0"], ["email", {}, "text", "abuse@registrar.example"]],
                        ],
                    }
                ],
            }
        ]
    }
    assert [c.address for c in contacts_from_rdap(rdap)] == ["abuse@registrar.example"]


def test_discovery_through_the_guarded_fetcher_on_a_local_site():
    from unleak.net.fetch import Fetcher, FetchPolicy
    from unleak.net.guard import FetchError, NetworkPolicy

    server = load_site().SiteServer()
    try:
        server.set("/robots.txt", "User-agent: *\nAllow: /\n", "text/plain")
        page = server.set(
            "/post/1.html",
            '<html><body><img src="/m/1.jpg">'
            '<footer><a href="/report-content">Report content</a></footer></body></html>',
        )
        server.set("/.well-known/security.txt", "Contact: mailto:abuse@local.example\n", "text/plain")
        fetcher = Fetcher(
            FetchPolicy(rate=None, retries=0, timeout=5), network=NetworkPolicy.allowing(["127.0.0.1/32"])
        )

        def fetch(url: str) -> Fetched:
            try:
                r = fetcher.fetch(url)
                return Fetched(url, r.status, r.content_type or "text/html", r.body, r.final_url)
            except FetchError as exc:
                return Fetched(url, exc.status or 0, error=exc.message)

        found = discover_contacts("127.0.0.1", page, fetch, rdap=False)
        fetcher.close()
        assert found[0].address == "abuse@local.example" and found[0].source == "security.txt"
        assert any(c.address == server.url("/report-content") and c.source == "page" for c in found)
        # The default, public-only fetcher refuses this host: discovery finds nothing and does not raise.
        public = Fetcher(FetchPolicy(retries=0, timeout=5))

        def public_fetch(url: str) -> Fetched:
            try:
                r = public.fetch(url)
                return Fetched(url, r.status, r.content_type, r.body, r.final_url)
            except FetchError as exc:
                return Fetched(url, exc.status or 0, error=exc.message)

        assert discover_contacts("127.0.0.1", page, public_fetch, rdap=False) == []
        public.close()
    finally:
        server.close()


def test_draft_uses_a_discovered_contact(store):
    from test_notice_fixtures import add_sightings, set_claimant
    from unleak.takedown.drafting import draft_notices

    set_claimant(store, "disc")
    add_sightings(store, "disc", [("https://unknown.example/p/1", "https://unknown.example/m/1.jpg")])

    def fetch(url: str) -> Fetched:
        if url.endswith("/.well-known/security.txt"):
            return Fetched(url, 200, "text/plain", b"Contact: mailto:abuse@unknown.example\n", url)
        return Fetched(url, 404, error="not found")

    [out] = draft_notices(store, "disc", search=False, discover=fetch, answers=FACTS)
    assert out.recipient == "abuse@unknown.example" and out.channel == "email" and out.missing == []


def _leak_site(security_txt: bool = False, rdap: bool = True):
    """A leak page whose only mailto: is the uploader's; RDAP names the registrar."""
    page = b'<html><body>Posted by <a href="mailto:uploader@leaks.example">me</a></body></html>'
    registrar = {
        "entities": [{"roles": ["abuse"], "vcardArray": ["vcard", [["email", {}, "text", "abuse@registrar.example"]]]}]
    }

    def fetch(url: str) -> Fetched:
        if url == "https://leaks.example/p/1":
            return Fetched(url, 200, "text/html", page, url)
        if security_txt and url.endswith("/.well-known/security.txt"):
            return Fetched(url, 200, "text/plain", b"Contact: mailto:abuse@leaks.example\n", url)
        if rdap and url.startswith("https://rdap.org/domain/"):
            return Fetched(url, 200, "application/rdap+json", json.dumps(registrar).encode(), url)
        return Fetched(url, 404, error="not found")

    return fetch


def test_a_mailto_on_the_leak_page_is_never_the_recipient_without_an_explicit_choice(store):
    from test_notice_fixtures import add_sightings, set_claimant
    from unleak.takedown.drafting import choose_found_contact, draft_notices

    set_claimant(store, "leak")
    add_sightings(store, "leak", [("https://leaks.example/p/1", "https://leaks.example/m/1.jpg")])
    [out] = draft_notices(store, "leak", search=False, discover=_leak_site(), answers=FACTS)
    assert out.recipient == ""  # neither the uploader's address nor the registrar's is used by itself
    assert [m.key for m in out.missing] == ["recipient"] and "--to-found" in out.missing[0].problem
    found = {c["address"]: c for c in out.found_contacts}
    assert found["uploader@leaks.example"]["source"] == "page"
    assert "may belong to the uploader" in found["uploader@leaks.example"]["source_label"]
    assert found["abuse@registrar.example"]["party"] == "registrar"
    # The person chooses the registrar: the text is addressed to a registrar, not to "your platform".
    number = [c["address"] for c in out.found_contacts].index("abuse@registrar.example") + 1
    view = choose_found_contact(store, out.notice_id, number)
    assert view.recipient == "abuse@registrar.example" and view.recipient_party == "registrar"
    assert "Registrar of leaks.example" in view.body and "as the registrar of the domain leaks.example" in view.body
    assert view.missing == ()


def test_the_sites_own_security_txt_is_used_and_the_page_mailto_only_offered(store):
    from test_notice_fixtures import add_sightings, set_claimant
    from unleak.takedown.drafting import draft_notices

    set_claimant(store, "leak2")
    add_sightings(store, "leak2", [("https://leaks.example/p/1", "https://leaks.example/m/1.jpg")])
    [out] = draft_notices(store, "leak2", search=False, discover=_leak_site(security_txt=True), answers=FACTS)
    assert out.recipient == "abuse@leaks.example"
    assert [c["address"] for c in out.found_contacts] == ["uploader@leaks.example"]


def test_every_shipped_entry_carries_its_source_and_stays_unconfirmed():
    d = HostDirectory.load()
    for e in d.entries.values():
        if e.origin != "shipped":
            continue
        assert e.source_url.startswith("https://"), e.id
        assert e.confirmed is False and e.read_on == "", e.id  # not read from here: a person checks it
    for needed in ("fansly", "snapchat", "pinterest", "bluesky", "duckduckgo", "yandex", "xvideos", "spankbang"):
        assert d.get(needed) is not None, needed


def test_ncii_reports_are_not_sent_to_copyright_forms():
    d = HostDirectory.load()
    assert d.get("instagram").contact_for("take-it-down") is None  # the old id was Facebook's form
    assert d.get("facebook").contact_for("take-it-down").address.endswith("567360146613371")
    for host in ("onlyfans", "mega"):
        assert d.get(host).contact_for("take-it-down") is None and d.get(host).contact_for("dmca") is not None


def test_hosts_edit_overrides_only_the_fields_given_and_confirm_marks_checked(tmp_path):
    from unleak.takedown.hosts import confirm_user_entry, edit_user_entry

    path = tmp_path / "hosts.json"
    e = edit_user_entry(
        "reddit",
        {"note": "checked the form"},
        contact=("ncii-policy", {"channel": "webform", "url": "https://r.example/f"}),
        path=path,
    )
    shipped = HostDirectory.load().get("reddit")
    assert e.domains == shipped.domains and e.name == shipped.name  # the rest is kept
    assert (
        e.contacts["ncii-policy"]["url"] == "https://r.example/f"
        and e.contacts["default"] == shipped.contacts["default"]
    )
    assert e.note == "checked the form" and e.confirmed is False
    d = HostDirectory.load(path)
    assert (
        d.get("reddit").origin == "user"
        and d.lookup("https://www.reddit.com/r/x").contact_for("ncii-policy").address == "https://r.example/f"
    )
    c = confirm_user_entry("reddit", "2026-06-01", path=path)
    assert c.confirmed and HostDirectory.load(path).get("reddit").confirmed
    with pytest.raises(Exception, match="needs --domain"):
        edit_user_entry("nowhere", {"note": "x"}, path=path)


def test_hosts_add_needs_no_domain_for_a_shipped_host(cli, monkeypatch, tmp_path):
    monkeypatch.setenv("UNLEAK_HOME", str(tmp_path))
    assert cli("hosts", "add", "fansly", "--form", "https://fansly.example/report")[0] == 0
    _code, out, _ = cli("hosts", "show", "https://fansly.com/post/1", "--json")
    shown = json.loads(out.splitlines()[0])
    assert shown["contacts"]["default"]["url"] == "https://fansly.example/report" and "fansly.com" in shown["domains"]
    from unleak.errors import UnleakError

    with pytest.raises(UnleakError, match="give --domain"):
        cli("hosts", "add", "brand-new", "--email", "abuse@new.example")
    assert cli("hosts", "edit", "fansly", "--not-covered", "--source-url", "https://fansly.com/tos")[0] == 0
    assert cli("hosts", "confirm", "fansly")[0] == 0


def test_take_it_down_goes_only_to_covered_platforms():
    from unleak.takedown.drafting import SightingRef, group_sightings
    from unleak.takedown.hosts import HostEntry

    d = HostDirectory(
        [
            HostEntry("mail", "Webmail", domains=["mail.example"], covered_platform=False),
            HostEntry("forum", "Forum", domains=["forum.example"], covered_platform=True),
        ]
    )
    refs = [SightingRef(1, "https://mail.example/m/1", None), SightingRef(2, "https://forum.example/t/1", None)]
    plans = group_sightings(refs, d, roles={"depicted_person"}, search=False)
    assert {(p.target.key, p.basis) for p in plans} == {("mail", "ncii-policy"), ("forum", "take-it-down")}


def test_a_hosts_own_form_fields_are_filled_in_its_order(store, tmp_path, monkeypatch):
    from test_notice_fixtures import add_sightings, set_claimant
    from unleak.store.models import Notice
    from unleak.takedown.content import form_fields
    from unleak.takedown.drafting import draft_notices

    monkeypatch.setenv("UNLEAK_HOME", str(tmp_path))
    save_user_entry(
        {
            "id": "formhost",
            "name": "Form Host",
            "domains": ["formhost.example"],
            "contacts": {"default": {"channel": "webform", "url": "https://formhost.example/report"}},
            "forms": {
                "take-it-down": {
                    "url": "https://formhost.example/report",
                    "source_url": "https://formhost.example/help/report",
                    "read_on": "2026-06-01",
                    "fields": [
                        {"label": "Your email", "value": "email"},
                        {"label": "Links to the content", "value": "urls"},
                        {"label": "Your good-faith statement", "value": "statement:good_faith"},
                        {"label": "Home address", "value": "postal_address"},
                        {"label": "Favourite colour", "value": "colour"},
                    ],
                }
            },
        }
    )
    set_claimant(store, "forms")
    add_sightings(store, "forms", [("https://formhost.example/p/1", "https://formhost.example/m/1.jpg")])
    [o] = draft_notices(store, "forms", search=False, answers=FACTS)
    with store.session() as s:
        rows = form_fields(s.get(Notice, o.notice_id).fields)
    assert [label for label, _ in rows] == [
        "Your email",
        "Links to the content",
        "Your good-faith statement",
        "Home address",
        "Favourite colour",
    ]
    values = dict(rows)
    assert (
        values["Your email"] == "alex@example.org" and "https://formhost.example/p/1" in values["Links to the content"]
    )
    assert "good faith belief" in values["Your good-faith statement"]
    assert "Main Street" not in values["Home address"]  # not for a TAKE IT DOWN request
    assert values["Favourite colour"].startswith("(not known to unleak")
