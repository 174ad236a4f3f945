"""Countries by name or code: every ISO 3166-1 country is recognised; an unknown one is refused with
the closest matches; the claimant's country is saved as its code and drives the basis."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from test_notice_fixtures import set_claimant
from unleak.takedown.bases import choose_basis, country_code
from unleak.takedown.countries import UnknownCountry, country_name, lookup

COUNTRIES = json.loads(resources.files("unleak.takedown").joinpath("data/countries.json").read_text("utf-8"))[
    "countries"
]


def test_the_list_is_all_of_iso_3166_1():
    codes = {c["alpha_2"] for c in COUNTRIES}
    assert len(codes) == len(COUNTRIES) == 249
    assert {"DE", "BR", "NZ", "CI", "KR", "TW", "AQ", "VA"} <= codes


@pytest.mark.parametrize("c", COUNTRIES, ids=lambda c: c["alpha_2"])
def test_every_country_by_code_and_name(c):
    code = c["alpha_2"]
    assert lookup(code) == lookup(code.lower()) == lookup(c["alpha_3"]) == code
    assert lookup(c["name"]) == lookup(c["name"].upper()) == code
    for key in ("official_name", "common_name"):
        if c.get(key):
            assert lookup(c[key]) == code


@pytest.mark.parametrize(
    "typed,code",
    [
        ("Germany", "DE"),
        ("  united   kingdom ", "GB"),
        ("UK", "GB"),
        ("England", "GB"),
        ("USA", "US"),
        ("United States of America", "US"),
        ("Côte d'Ivoire", "CI"),
        ("cote divoire", "CI"),
        ("Ivory Coast", "CI"),
        ("Republic of Korea", "KR"),
        ("South Korea", "KR"),
        ("the Netherlands", "NL"),
        ("Holland", "NL"),
        ("Czechia", "CZ"),
        ("Czech Republic", "CZ"),
        ("Bolivia", "BO"),
        ("Russia", "RU"),
        ("Türkiye", "TR"),
        ("Turkey", "TR"),
        ("Taiwan", "TW"),
        ("Åland Islands", "AX"),
    ],
)
def test_names_people_type(typed, code):
    assert lookup(typed) == code


def test_an_unknown_country_is_refused_naming_close_matches():
    with pytest.raises(UnknownCountry) as info:
        lookup("Germny")
    assert "Germany (DE)" in info.value.message and "did you mean" in info.value.message
    with pytest.raises(UnknownCountry, match="Portugal"):
        lookup("Portugl")
    with pytest.raises(UnknownCountry) as info:
        lookup("Atlantis Prime Zzz")
    assert "unknown country 'Atlantis Prime Zzz'" in info.value.message and info.value.hint
    assert country_code("Germny") == ""  # the basis chooser treats it as not given


def test_country_names_and_basis_by_any_eu_country_name():
    assert country_name("DE") == "Germany" and country_name("zz") == ""
    assert choose_basis({"depicted_person"}, "host", country="Slovenia")[0] == "dsa"
    assert choose_basis({"depicted_person"}, "host", country="Northern Ireland")[0] == "uk-osa"
    assert choose_basis({"depicted_person"}, "host", country="Brazil")[0] == "take-it-down"


def test_claimant_country_is_saved_as_its_code_and_an_unknown_one_refused(store):
    from unleak.takedown.claimant import get_claimant

    set_claimant(store, "ctry", country="côte d'ivoire")
    assert get_claimant(store, "ctry").country == "CI"
    with pytest.raises(UnknownCountry, match="France"):
        set_claimant(store, "ctry", country="Frence")
    assert get_claimant(store, "ctry").country == "CI"  # nothing saved
