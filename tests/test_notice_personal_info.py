"""Google's and Bing's personal-information (non-intimate: contact details, doxxing) removal requests
as a delisting route: the fields their forms ask for, in their order, each entry unconfirmed with its
source URL and date; the request holds what the person states and nothing they did not."""

from __future__ import annotations

import pytest

from test_notice_fixtures import add_sightings, set_claimant
from unleak.takedown.bases import get_basis
from unleak.takedown.hosts import HostDirectory

PAGES = [("https://people-finder.example/p/alex", "")]


def test_google_and_bing_list_the_route_unconfirmed_with_source_and_date():
    d = HostDirectory.load()
    for engine in ("google-search", "bing"):
        e = d.get(engine)
        assert e is not None and e.contacts["personal-info"]["channel"] == "webform"
        form = e.forms["personal-info"]
        assert form["confirmed"] is False and form["source_url"].startswith("https://") and "read_on" in form
        values = [f["value"] for f in form["fields"]]
        assert {"country", "name", "email", "urls", "info_kind", "doxxing", "queries", "capacity"} <= set(values)
    assert d.get("google-search").forms["personal-info"]["read_on"] == "2026-12-01"


def test_personal_info_request_asks_what_the_pages_show_and_never_whether_intimate(store):
    from unleak.takedown.drafting import draft_notices, update_notice
    from unleak.takedown.notices import get_notice

    set_claimant(store, "pi", country="Germany", notice_contact="notices@helpline.example")
    add_sightings(store, "pi", PAGES)
    outs = draft_notices(store, "pi", bases=["personal-info"])
    assert {o.host for o in outs} >= {"google-search", "bing"} and all(o.basis == "personal-info" for o in outs)
    google = next(o for o in outs if o.host == "google-search")
    assert [m.key for m in google.missing] == ["search_location", "info_kind"]
    assert "intimate" not in {m.key for m in google.missing}
    assert (
        update_notice(
            store,
            google.notice_id,
            {
                "queries": "alex doe address",
                "info_kind": "home address and mobile phone number",
                "doxxing": "posted with a call to visit my home",
            },
        )
        == []
    )
    n = get_notice(store, google.notice_id)
    flat = " ".join(n.body.split())
    assert "The pages show: home address and mobile phone number." in flat and "doxxing" in flat
    assert "https://people-finder.example/p/alex" in flat and '"alex doe address"' in flat
    assert "1 Main Street" not in flat and "555" not in flat  # no home address or phone of the requester
    assert n.recipient.startswith("https://support.google.com/")


def test_personal_info_form_values_follow_googles_form():
    from unleak.takedown.content import form_fields

    form = HostDirectory.load().get("google-search").forms["personal-info"]
    fields = {
        "basis": "personal-info",
        "host": {"id": "google-search", "name": "Google Search", "kind": "search", "domain": "google.com"},
        "claimant": {"name": "Alex Doe", "email": "a@example.org", "roles": ["depicted_person"], "country": "DE"},
        "urls": ["https://people-finder.example/p/alex"],
        "queries": "alex doe address; alex doe phone",
        "info_kind": "home address",
        "doxxing": "shared with threats",
        "form": form,
    }
    fields["statements"] = get_basis("personal-info").default_statements(fields)
    rows = form_fields(fields)
    assert [label for label, _ in rows] == [f["label"] for f in form["fields"]]
    values = dict(rows)
    assert values["Country of residence"] == "Germany (DE)"
    assert values["What personal information do you want removed?"] == "home address"
    assert values["Search terms that show them (your name, aliases)"].splitlines() == [
        "alex doe address",
        "alex doe phone",
    ]


@pytest.mark.parametrize("roles", [["copyright_owner"], ["agent"]])
def test_only_the_person_or_their_representative_may_ask(roles):
    assert not get_basis("personal-info").entitled(set(roles))
