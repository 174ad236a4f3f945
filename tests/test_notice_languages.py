"""DSA notices in Spanish, French, German and Portuguese beside English: chosen by --lang or the
host's language, checked for the statutory statement in that language, marked unconfirmed."""

from __future__ import annotations

import pytest

from test_notice_fixtures import FACTS, add_sightings, set_claimant
from unleak.takedown.bases import get_basis
from unleak.takedown.languages import DSA_TEXTS, LANGUAGES, notice_language

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
