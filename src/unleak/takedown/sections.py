"""A notice's text split at its statutory elements, so a reader sees which part satisfies which clause.

The renderer (`content.render_text`) writes each element as a numbered section headed
"N. Title [citation]"; this splits the text back at those headings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from unleak.takedown.bases import get_basis

_HEADING = re.compile(r"^(\d+)\. (.+) \[([^\]]+)\]$")


@dataclass(frozen=True)
class NoticeSection:
    title: str  # "" for the text before the first element (addressing, introduction)
    citation: str  # the clause the section satisfies, as the basis cites it
    element: str  # the element's label in the basis ("" when none matches)
    text: str


def notice_sections(body: str, basis_key: str) -> list[NoticeSection]:
    """The notice's text as sections: the opening, then one per statutory element, then the rest."""
    try:
        labels = {e.citation: e.label for e in get_basis(basis_key).elements}
    except Exception:  # noqa: BLE001 - an unknown basis: the sections are still shown, unlabelled
        labels = {}
    out: list[NoticeSection] = []
    title, citation = "", ""
    lines: list[str] = []
    for line in body.splitlines():
        m = _HEADING.match(line)
        if m:
            out.append(NoticeSection(title, citation, labels.get(citation, ""), "\n".join(lines).strip("\n")))
            title, citation, lines = f"{m.group(1)}. {m.group(2)}", m.group(3), []
        else:
            lines.append(line)
    out.append(NoticeSection(title, citation, labels.get(citation, ""), "\n".join(lines).strip("\n")))
    return [s for s in out if s.text or s.title]
