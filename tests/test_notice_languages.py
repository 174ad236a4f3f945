"""Notices in Spanish, French, German and Portuguese beside English, for every basis: chosen by
--lang or the host's language, every statutory element checked in that language (the same element
checks that validate English), marked unconfirmed."""

from __future__ import annotations

import pytest

from test_notice_fixtures import FACTS, add_sightings, set_claimant
from test_notice_templates import BREAK, CASES, _drop_statement, complete_fields
from unleak.takedown.bases import BASES, IncompleteNotice, get_basis
from unleak.takedown.content import render_text, subject_line, verify_rendered
from unleak.takedown.languages import DSA_TEXTS, LANGUAGES, notice_language, statement_phrases, texts
from unleak.takedown.notices import review_note

PAGES = [("https://forum.example/t/1", "https://forum.example/m/1.jpg")]


def test_language_is_the_requested_one_else_the_hosts_else_english():
    assert notice_language("de", "fr") == "de"
    assert notice_language(None, "fr-FR") == "fr"
    assert notice_language(None, "") == "en" and notice_language("xx", "") == "en"


@pytest.mark.parametrize("lang", [x for x in LANGUAGES if x != "en"])
def test_dsa_notice_in_each_language(store, lang):
    from unleak.takedown.drafting import draft_notices, update_notice
    from unleak.takedown.notices import get_notice

    case = f"dsa-{lang}"
    set_claimant(store, case)
    add_sightings(store, case, PAGES)
    answers = {**FACTS, "lang": lang}
    [o] = draft_notices(
        store, case, bases=["dsa"], search=False, answers=answers, recipients={"forum.example": "a@forum.example"}
    )
    # No English explanation is slipped into a notice in another language: the person writes it.
    assert [m.key for m in o.missing] == ["explanation"]
    assert update_notice(store, o.notice_id, {"explanation": "x" * 90}) == []
    n = get_notice(store, o.notice_id)
    flat = " ".join(n.body.split())
    assert DSA_TEXTS[lang]["statement"] in flat and DSA_TEXTS[lang]["intro"] in flat
    assert "bona fide belief" not in flat and "Please reply" not in flat
    assert "not confirmed" in n.review_note and "EUR-Lex" in n.review_note


def test_a_statement_edited_away_from_the_law_is_refused_in_its_language():
    fields = {
        "basis": "dsa",
        "lang": "de",
        "claimant": {"name": "Alex Doe", "email": "a@example.org", "roles": ["depicted_person"]},
        "urls": ["https://forum.example/t/1"],
        "explanation": "x" * 90,
    }
    fields["statements"] = get_basis("dsa").default_statements(fields)
    assert get_basis("dsa").check(fields) == []
    fields["statements"]["bona_fide"] = "Ich glaube, das stimmt."
    [m] = get_basis("dsa").check(fields)
    assert m.key == "bona_fide" and "gutem glauben" in m.problem


# --- every other basis in every language --------------------------------------------------------

OTHER = [x for x in LANGUAGES if x != "en"]
TRANSLATED = list(BASES)


def translated_fields(basis_key: str, lang: str) -> dict:
    fields = complete_fields(basis_key)
    fields["lang"] = lang
    fields["statements"] = get_basis(basis_key).default_statements(fields)
    return fields


@pytest.mark.parametrize("lang", OTHER)
@pytest.mark.parametrize("basis_key", TRANSLATED)
def test_every_basis_in_each_language_holds_every_statutory_element(basis_key, lang):
    basis = get_basis(basis_key)
    fields = translated_fields(basis_key, lang)
    english = basis.default_statements(complete_fields(basis_key))
    assert basis.check(fields) == []
    text = render_text(fields)
    assert verify_rendered(fields, text) == []
    flat = " ".join(text.split())
    tr = texts(basis_key, lang)
    assert tr["title"] in flat and subject_line(fields).startswith(tr["subject"].split("{")[0])
    for key, statement in fields["statements"].items():
        # The statement is in the notice's language, holds the phrases its element requires, and
        # the English one is not slipped in beside it.
        assert " ".join(statement.split()) in flat, key
        assert english[key] not in flat and statement != english[key], key
        for phrase in statement_phrases(basis_key, lang, key) or ():
            assert phrase in flat.lower(), (key, phrase)
    for url in URLS_T:
        assert url in text
    for el in basis.elements:
        if el.key in ("authority", "on_behalf_of", "intimate"):
            continue
        assert el.citation in text, f"{el.key}: {el.citation} not cited"
    if basis_key in ("dmca", "dmca-512d", "take-it-down"):
        assert "/Alex Doe/" in text
    if basis_key in ("take-it-down", "uk-osa"):
        assert "48" in tr["deadline"] and " ".join(tr["deadline"].split()) in flat
    assert "Please reply" not in flat and "Statement of" not in flat


URLS_T = ["https://host.example/post/17", "https://cdn.host.example/media/17.jpg"]


@pytest.mark.parametrize("lang", OTHER)
@pytest.mark.parametrize("basis_key,element", [c for c in CASES if c[0] in TRANSLATED])
def test_a_missing_element_is_refused_in_each_language(basis_key, element, lang):
    fields = translated_fields(basis_key, lang)
    (BREAK.get(element) or _drop_statement(element))(fields)
    assert [m.key for m in get_basis(basis_key).check(fields)] == [element]
    with pytest.raises(IncompleteNotice):
        render_text(fields)


STATEMENT_CASES = [
    (b.key, key, lang)
    for b in BASES.values()
    for key in b.statements
    for lang in OTHER
    if b.key in TRANSLATED and b.key != "dsa"
]


@pytest.mark.parametrize("basis_key,key,lang", STATEMENT_CASES)
def test_a_translated_statement_edited_away_from_its_wording_is_refused(basis_key, key, lang):
    fields = translated_fields(basis_key, lang)
    phrases = statement_phrases(basis_key, lang, key)
    assert phrases
    # The English statement in a Spanish notice, or the translation with its key phrase cut out.
    for edited in (get_basis(basis_key).statements[key], fields["statements"][key].lower().replace(phrases[-1], "")):
        fields["statements"][key] = edited
        [m] = get_basis(basis_key).check(fields)
        assert m.key == key and "must say" in m.problem


@pytest.mark.parametrize("lang", OTHER)
def test_a_representative_states_the_individuals_belief_in_each_language(lang):
    fields = complete_fields("take-it-down")
    fields["claimant"].update(roles=["authorised_representative"], on_behalf_of="Sam Roe", name="Pat Lee")
    fields["claimant"]["signature"] = "/Pat Lee/"
    fields["lang"] = lang
    fields["statements"] = get_basis("take-it-down").default_statements(fields)
    text = render_text(fields)
    assert texts("take-it-down", lang)["believer_rep"] in fields["statements"]["good_faith"]
    assert "Sam Roe" not in text and "1 Main Street" not in text


@pytest.mark.parametrize("basis_key", [b for b in TRANSLATED if b != "dsa"])
def test_a_translated_notice_is_marked_unconfirmed_at_review(basis_key):
    note = review_note("host", "Host", basis_key, "fr")
    assert "own translation, not confirmed" in note and "--lang en" in note
    assert "not confirmed" not in review_note("host", "Host", basis_key, "en")


@pytest.mark.parametrize("lang", OTHER)
def test_take_it_down_notice_drafted_in_the_requested_language(store, lang):
    from unleak.takedown.drafting import draft_notices
    from unleak.takedown.notices import get_notice

    case = f"tid-{lang}"
    set_claimant(store, case)
    add_sightings(store, case, PAGES)
    [o] = draft_notices(
        store,
        case,
        bases=["take-it-down"],
        search=False,
        answers={**FACTS, "lang": lang},
        recipients={"forum.example": "a@forum.example"},
    )
    assert o.missing == []
    n = get_notice(store, o.notice_id)
    flat = " ".join(n.body.split())
    assert texts("take-it-down", lang)["intro"].split("{")[0] in flat
    assert "good faith belief" not in flat
    assert n.subject.startswith("[TAKE IT DOWN Act]") and "own translation" in n.review_note


@pytest.mark.parametrize("lang", OTHER)
def test_search_rung_escalation_and_unconfirmed_numbering_are_in_the_notices_language(lang):
    fields = translated_fields("search-delisting", lang)
    fields["recipient"]["party"] = "search_engine"
    fields["escalates"] = {"notice_id": 1, "sent_at": "2026-06-01T12:00:00+00:00", "host": "Forum Example"}
    flat = " ".join(render_text(fields).split())
    assert texts("search-delisting", lang)["escalation_search"].split("{")[0] in flat and "ESCALATION" not in flat
    uk = translated_fields("uk-osa", lang)
    uk["citation"] = {"text": "Online Safety Act 2023, s.20A", "confirmed": False}
    text = render_text(uk)
    assert texts("uk-osa", lang)["numbering"] in text and "numbering to be confirmed" not in text
