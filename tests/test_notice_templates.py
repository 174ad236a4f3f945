"""Each legal basis: a complete notice carries every required element; one missing any is refused,
naming the element and its provision."""

from __future__ import annotations

import copy

import pytest

from unleak.takedown.bases import BASES, IncompleteNotice, NotEntitled, get_basis
from unleak.takedown.content import form_fields, render_text, verify_rendered

URLS = ["https://host.example/post/17", "https://cdn.host.example/media/17.jpg"]


def complete_fields(basis_key: str) -> dict:
    basis = get_basis(basis_key)
    roles = ["copyright_owner"] if basis_key.startswith("dmca") else ["depicted_person"]
    if basis_key == "dsa":
        roles = ["depicted_person"]
    fields = {
        "basis": basis_key,
        "host": {"id": "host.example", "name": "Host Example", "kind": "host", "domain": "host.example"},
        "recipient": {"channel": "email", "address": "abuse@host.example"},
        "claimant": {
            "name": "Alex Doe",
            "email": "alex@example.org",
            "postal_address": "1 Main Street; Springfield",
            "phone": "+1 555 0100",
            "roles": roles,
            "on_behalf_of": "",
            "signature": "/Alex Doe/",
        },
        "urls": list(URLS),
        "work": "Original unpublished photograph 'garden-03', taken by me in 2025.",
        "explanation": "These are intimate photographs of Alex Doe shared without consent; sharing them is a "
        "criminal offence under national law and processes special-category data unlawfully.",
        "date": "2026-05-20T10:00:00+00:00",
        "facts": {"intimate": True, "sold": False},
        "queries": "alex doe leaked; alex doe photos",
        "info_kind": "home address and mobile phone number",
    }
    fields["statements"] = basis.default_statements(fields)
    return fields


# How to take each element out of an otherwise complete notice.
def _drop_statement(key):
    def f(fields):
        del fields["statements"][key]

    return f


def _no_signature(fields):
    fields["claimant"]["signature"] = ""


def _no_urls(fields):
    fields["urls"] = []


def _no_contact(fields):
    c = fields["claimant"]
    c["email"] = c["phone"] = c["postal_address"] = ""


def _no_email(fields):
    fields["claimant"]["email"] = ""


def _wrong_capacity(fields):
    fields["claimant"]["roles"] = ["depicted_person"] if fields["basis"].startswith("dmca") else ["copyright_owner"]


def _representative_for_nobody(fields):
    fields["claimant"]["roles"] = ["agent"] if fields["basis"].startswith("dmca") else ["authorised_representative"]
    fields["claimant"]["on_behalf_of"] = ""


BREAK = {
    "signature": _no_signature,
    "work": lambda f: f.update(work=""),
    "material": _no_urls,
    "identification": _no_urls,
    "location": _no_urls,
    "contact": _no_contact,
    "name_email": _no_email,
    "explanation": lambda f: f.update(explanation=""),
    "authority": _wrong_capacity,
    "on_behalf_of": _representative_for_nobody,
    "intimate": lambda f: f["facts"].pop("intimate"),
    "search_location": lambda f: f.update(queries=""),
    "not_sold": lambda f: f["facts"].pop("sold"),
    "info_kind": lambda f: f.update(info_kind=""),
}

CASES = [(b.key, el.key) for b in BASES.values() for el in b.elements]


@pytest.mark.parametrize("basis_key", list(BASES))
def test_complete_notice_has_every_element(basis_key):
    basis = get_basis(basis_key)
    fields = complete_fields(basis_key)
    assert basis.check(fields) == []
    text = render_text(fields)
    assert verify_rendered(fields, text) == []
    assert basis.citation.split(",")[0] in text
    for url in URLS:
        assert url in text
    flat = " ".join(text.split())
    for key, statement in fields["statements"].items():
        assert " ".join(statement.split()) in flat, key
    assert "alex@example.org" in text
    for el in basis.elements:
        if el.key in ("authority", "on_behalf_of", "intimate"):
            continue  # the signer's capacity, or a fact the person stated: not a section of its own
        assert el.citation in text, f"{el.key}: {el.citation} not cited"
    assert ("the copyright owner" if basis_key.startswith("dmca") else "the person depicted") in text
    if basis_key in ("dmca", "dmca-512d", "take-it-down"):
        assert "/Alex Doe/" in text  # the signature the law asks for
    if basis_key.startswith("dmca"):
        assert "under penalty of perjury" in text and "good faith belief" in text and "garden-03" in text
    if basis_key == "take-it-down":
        assert "not consensual" in text and "48 hours" in text
    if basis_key == "uk-osa":
        assert "48 hours" in text and "I declare" in text
    if basis_key == "dsa":
        assert "bona fide belief" in text and "accurate and complete" in text


@pytest.mark.parametrize("basis_key,element", CASES)
def test_missing_element_is_refused_and_named(basis_key, element):
    basis = get_basis(basis_key)
    fields = complete_fields(basis_key)
    breaker = BREAK.get(element) or _drop_statement(element)
    breaker(fields)
    missing = basis.check(fields)
    assert [m.key for m in missing] == [element]
    with pytest.raises(IncompleteNotice) as info:
        render_text(fields)
    label = next(e.label for e in basis.elements if e.key == element)
    citation = next(e.citation for e in basis.elements if e.key == element)
    assert label in info.value.message and citation in info.value.message
    assert [m.key for m in info.value.missing] == [element]


@pytest.mark.parametrize(
    "basis_key,key,phrase",
    [
        ("dmca", "accuracy", "under penalty of perjury"),
        ("dmca", "good_faith", "good faith belief"),
        ("take-it-down", "good_faith", "not consensual"),
        ("dsa", "bona_fide", "accurate and complete"),
        ("uk-osa", "declaration_subject", "subject of"),
    ],
)
def test_statement_edited_away_from_the_law_is_refused(basis_key, key, phrase):
    fields = complete_fields(basis_key)
    fields["statements"][key] = fields["statements"][key].replace(phrase, "something else")
    with pytest.raises(IncompleteNotice, match=phrase):
        render_text(fields)


def test_every_url_must_be_exact():
    fields = complete_fields("take-it-down")
    fields["urls"] = ["host.example/post/17"]
    missing = get_basis("take-it-down").check(fields)
    assert missing[0].key == "identification" and "exact" in missing[0].problem


def test_dsa_explanation_must_be_substantiated():
    fields = complete_fields("dsa")
    fields["explanation"] = "illegal"
    missing = get_basis("dsa").check(fields)
    assert [m.key for m in missing] == ["explanation"] and "substantiate" in missing[0].problem


def test_dmca_only_for_the_copyright_owner_or_agent_and_others_are_steered():
    with pytest.raises(NotEntitled) as info:
        get_basis("dmca").require_entitled({"depicted_person"})
    assert "take-it-down" in info.value.hint and "copyright_owner" in info.value.hint
    get_basis("dmca").require_entitled({"depicted_person", "copyright_owner"})
    with pytest.raises(NotEntitled):
        get_basis("take-it-down").require_entitled({"copyright_owner"})
    get_basis("dsa").require_entitled({"copyright_owner"})  # anyone may notify under the DSA


def test_agent_names_the_owner_they_act_for():
    fields = complete_fields("dmca")
    fields["claimant"].update(roles=["agent"], on_behalf_of="Sam Roe")
    fields["statements"] = get_basis("dmca").default_statements(fields)
    assert "an agent authorised to act for the copyright owner (Sam Roe)" in render_text(fields)


def test_take_it_down_by_a_representative_states_the_individuals_belief_without_home_address_or_name():
    fields = complete_fields("take-it-down")
    fields["claimant"].update(roles=["authorised_representative"], on_behalf_of="Sam Roe")
    fields["statements"] = get_basis("take-it-down").default_statements(fields)
    text = render_text(fields)
    flat = " ".join(text.split())
    assert "The identifiable individual depicted, on whose behalf I act, has a good faith belief" in flat
    assert "not consensual" in flat and "I have a good faith belief" not in flat
    # Information sufficient to contact: the email; never the home address or phone, nor the victim's name.
    assert "alex@example.org" in text
    assert "Main Street" not in text and "555" not in text and "Sam Roe" not in text
    assert "authorised representative of the person depicted" in text


@pytest.mark.parametrize("basis_key", ["take-it-down", "uk-osa", "dsa", "ncii-policy", "search-delisting"])
def test_only_dmca_carries_home_address_and_phone(basis_key):
    text = render_text(complete_fields(basis_key))
    rows = dict(form_fields(complete_fields(basis_key)))
    assert "Main Street" not in text and "555 0100" not in text
    assert "Postal address" not in rows and "Phone" not in rows


def test_dmca_carries_the_address_or_the_contact_for_notices_in_its_place():
    fields = complete_fields("dmca")
    assert "Main Street" in render_text(fields)
    fields["claimant"]["notice_contact"] = "Helpline Legal, notices@helpline.example"
    text = render_text(fields)
    assert "Main Street" not in text and "555 0100" not in text
    assert "Contact for this notice: Helpline Legal, notices@helpline.example" in text


def test_uk_osa_report_holds_each_s20a_2_element():
    fields = complete_fields("uk-osa")
    flat = " ".join(render_text(fields).split())
    for letter, phrase in [
        ("a", "I declare that intimate image content of Alex Doe is present on your service"),
        ("b", "I declare that this report is made by the subject of the content, or by a person acting on behalf"),
        ("c", "made in good faith and is, to the best of my knowledge and belief, true"),
        ("d", URLS[0]),
        ("e", "alex@example.org"),
    ]:
        assert phrase in flat, letter
        assert f"s.20A(2)({letter})" in flat, letter


def test_uk_osa_citation_is_configurable_and_says_whether_confirmed():
    from unleak.takedown.deadlines import uk_osa_citation

    fields = complete_fields("uk-osa")
    fields["citation"] = uk_osa_citation({})
    assert not fields["citation"]["confirmed"]
    assert "(numbering to be confirmed)" in render_text(fields)
    fields["citation"] = uk_osa_citation(
        {"uk_osa": {"citation": "Online Safety Act 2023, s.66X", "citation_confirmed": True}}
    )
    text = render_text(fields)
    assert "Online Safety Act 2023, s.66X" in text and "to be confirmed" not in text


@pytest.mark.parametrize("basis_key", ["take-it-down", "uk-osa", "ncii-policy", "search-delisting"])
def test_intimate_is_stated_by_the_person_never_assumed(basis_key):
    fields = complete_fields(basis_key)
    fields["facts"] = {"sold": False}
    assert "intimate" in [m.key for m in get_basis(basis_key).check(fields)]
    fields["facts"] = {"intimate": False, "sold": False}
    [m] = get_basis(basis_key).check(fields)
    assert m.key == "intimate" and "does not apply" in m.problem


def test_a_signature_that_does_not_name_the_signer_never_validates():
    fields = complete_fields("dmca")
    fields["claimant"]["name"] = "Jordan Smith"  # the signer changed; the signature still reads /Alex Doe/
    [m] = get_basis("dmca").check(fields)
    assert m.key == "signature" and "does not name the signer" in m.problem
    with pytest.raises(IncompleteNotice):
        render_text(fields)


def test_rendered_text_is_checked_for_every_element():
    fields = complete_fields("dmca")
    text = render_text(fields)
    broken = text.replace(URLS[1], "")
    assert [m.key for m in verify_rendered(fields, broken)] == ["material"]


def test_follow_up_cites_the_earlier_notice():
    fields = complete_fields("take-it-down")
    fields["follows"] = {
        "notice_id": 4,
        "sent_at": "2026-06-01T08:00:00+00:00",
        "message_id": "<a@b>",
        "urls": ["https://host.example/post/1"],
    }
    text = render_text(fields)
    assert "notice #4 sent on 2026-06-01 08:00 UTC" in text and "https://host.example/post/1" in text
    assert "identical copies" in text


def test_form_fields_hold_every_value_to_paste():
    fields = complete_fields("search-delisting")
    rows = dict(form_fields(fields))
    assert rows["Full name"] == "Alex Doe" and rows["Email"] == "alex@example.org"
    assert rows["URLs of the content (one per line)"].splitlines() == URLS
    assert any(k.startswith("Statement:") for k in rows)


def test_source_text_is_not_altered_by_a_bad_field_copy():
    fields = complete_fields("dsa")
    snapshot = copy.deepcopy(fields)
    render_text(fields)
    assert fields == snapshot


def test_docs_table_names_every_element_of_every_basis():
    from pathlib import Path

    doc = (Path(__file__).parents[1] / "docs" / "takedown.md").read_text("utf-8")
    for b in BASES.values():
        for el in b.elements:
            assert f"| `{b.key}` | {el.label.replace('|', '/')} | {el.citation} |" in doc, (b.key, el.key)


def test_search_delisting_holds_every_field_the_forms_ask_for():
    fields = complete_fields("search-delisting")
    fields["host"] = {"id": "google-search", "name": "Google Search", "kind": "search", "domain": "google.com"}
    fields["claimant"]["country"] = "DE"
    fields["results_urls"] = "https://www.google.com/search?q=alex+doe+leaked"
    fields["facts"]["synthetic"] = True
    rows = dict(form_fields(fields))
    assert rows["Country"] == "Germany (DE)" and rows["Search queries that show the content"].splitlines() == [
        "alex doe leaked",
        "alex doe photos",
    ]
    assert rows["Search results page URLs"].startswith("https://www.google.com/search")
    assert rows["Was the content ever sold or paid for?"] == "no"
    assert rows["Is it synthetic (AI-generated or altered: the deepfake route)?"] == "yes"
    text = " ".join(render_text(fields).split())
    assert '"alex doe leaked"' in text and "never sold" in text and "synthetic" in text
    fields["facts"]["sold"] = True  # paid content is excluded from the NCII forms
    [m] = get_basis("search-delisting").check(fields)
    assert m.key == "not_sold" and "dmca-512d" in m.problem


def test_dmca_512d_names_the_search_query_or_results_page():
    fields = complete_fields("dmca-512d")
    fields["host"] = {"id": "bing", "name": "Microsoft Bing", "kind": "search", "domain": "bing.com"}
    assert '"alex doe leaked"' in render_text(fields)
    fields["queries"] = ""
    assert [m.key for m in get_basis("dmca-512d").check(fields)] == ["search_location"]
