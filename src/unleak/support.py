"""Help for a person whose images leaked: a first-48-hours checklist and support services by country.

Kept as data (unleak/data/support.json), each service with the page its details come from and the
date they were checked, so that a correction is one edit and the pages never hold these facts.
A minor's case puts the services for minors (NCMEC's Take It Down, the IWF) first.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True)
class Service:
    country: str
    name: str
    what: str
    url: str
    phone: str
    audience: str  # minors | adults | all
    source: str
    checked: str


@dataclass(frozen=True)
class Step:
    step: str
    detail: str


@cache
def _data() -> dict:
    return json.loads(resources.files("unleak").joinpath("data/support.json").read_text("utf-8"))


def checklist() -> list[Step]:
    """The first-48-hours checklist, in order."""
    return [Step(d["step"], d["detail"]) for d in _data()["checklist"]]


_MINORS_FIRST = ("NCMEC Take It Down", "Internet Watch Foundation (IWF)")


def support_services(*, minor: bool = False, country: str | None = None) -> list[Service]:
    """Support services, those of `country` (ISO code) and international ones first. For a minor's
    case, services for adults only are left out and Take It Down and the IWF come first."""
    out = [
        Service(d["country"], d["name"], d["what"], d["url"], d["phone"], d["for"], d["source"], d["checked"])
        for d in _data()["services"]
    ]
    if minor:
        out = [s for s in out if s.audience != "adults"]

    def rank(s: Service) -> tuple:
        first = s.name in _MINORS_FIRST if minor else False
        home = country is not None and s.country in (country.upper(), "INT")
        return (not first, not home, s.country, s.name)

    return sorted(out, key=rank)
