"""Countries by what people type: every ISO 3166-1 country by its alpha-2 or alpha-3 code, its
short, official or common English name, or a usual alias ("UK", "USA", "Holland"), case, accents
and punctuation aside. An unknown one is refused, naming the closest matches.

The list (data/countries.json) is ISO 3166-1 as published in Debian's iso-codes, read through
pycountry once; it ships with unleak, so nothing is installed for it.
"""

from __future__ import annotations

import difflib
import json
import re
import unicodedata
from functools import cache
from importlib import resources

from unleak.errors import UnleakError

# Names people use that are not an ISO name, and the code they mean.
ALIASES = {
    "uk": "GB",
    "great britain": "GB",
    "britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "usa": "US",
    "america": "US",
    "united states of america": "US",
    "us of a": "US",
    "holland": "NL",
    "the netherlands": "NL",
    "czech republic": "CZ",
    "south korea": "KR",
    "korea": "KR",
    "north korea": "KP",
    "russia": "RU",
    "iran": "IR",
    "syria": "SY",
    "vietnam": "VN",
    "laos": "LA",
    "bolivia": "BO",
    "venezuela": "VE",
    "tanzania": "TZ",
    "moldova": "MD",
    "ivory coast": "CI",
    "cape verde": "CV",
    "swaziland": "SZ",
    "burma": "MM",
    "macedonia": "MK",
    "vatican": "VA",
    "vatican city": "VA",
    "turkey": "TR",
    "palestine": "PS",
    "kosovo": "XK",  # not in ISO 3166-1; the user-assigned code in common use
    "eu": "EU",  # the European Union as a whole (not a country; bases._region reads it)
    "european union": "EU",
}


class UnknownCountry(UnleakError):
    """A country name or code that is not in ISO 3166-1."""


def _norm(text: str) -> str:
    t = unicodedata.normalize("NFKD", text or "")
    t = "".join(ch for ch in t if not unicodedata.combining(ch)).casefold()
    t = re.sub(r"['\u2019]", "", t)  # "d'Ivoire" and "dIvoire" alike
    t = re.sub(r"[^\w\s]", " ", t)
    return " ".join(t.split())


@cache
def _table() -> tuple[dict[str, str], dict[str, str]]:
    """(normalised key -> alpha-2, alpha-2 -> short name)."""
    data = json.loads(resources.files("unleak.takedown").joinpath("data/countries.json").read_text("utf-8"))
    keys: dict[str, str] = {}
    names: dict[str, str] = {}
    for c in data["countries"]:
        code = c["alpha_2"]
        names[code] = c.get("common_name") or c["name"]
        for key in (code, c["alpha_3"], c["name"], c.get("official_name"), c.get("common_name")):
            if key:
                keys[_norm(key)] = code
        # "Korea, Republic of" is also typed "Republic of Korea"
        if "," in c["name"]:
            head, _, tail = c["name"].partition(",")
            keys[_norm(f"{tail} {head}")] = code
    for alias, code in ALIASES.items():
        keys.setdefault(_norm(alias), code)
    names.setdefault("XK", "Kosovo")
    names.setdefault("EU", "European Union")
    return keys, names


def lookup(text: str) -> str:
    """The ISO 3166-1 alpha-2 code of a country typed by code or name; refuses an unknown one,
    naming the closest matches."""
    keys, names = _table()
    t = _norm(text)
    if not t:
        raise UnknownCountry("no country given", hint="a name or an ISO code, e.g. 'Germany' or 'DE'")
    for candidate in (t, t.removeprefix("the ")):
        if candidate in keys:
            return keys[candidate]
    close = difflib.get_close_matches(t, [k for k in keys if len(k) > 3], n=3, cutoff=0.6)
    suggestions = list(dict.fromkeys(f"{names.get(keys[k], k)} ({keys[k]})" for k in close))
    raise UnknownCountry(
        f"unknown country {text.strip()[:60]!r}"
        + (f"; did you mean {' or '.join(suggestions)}?" if suggestions else ""),
        hint="give its English name or ISO 3166-1 code (e.g. 'Germany', 'DE' or 'DEU')",
    )


def country_name(code: str) -> str:
    """The short English name of an alpha-2 code ("" if unknown)."""
    return _table()[1].get((code or "").upper(), "")
