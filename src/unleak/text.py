"""Characters that can deceive a reader: one definition for checking what a user names and for
neutralising what a crawled page, an upload or an imported file says before it is shown.

Unsafe are the C0 controls (but for tab and newline where text may hold them), DEL, the C1
controls (U+0080-U+009F, which include the 8-bit CSI and OSC that terminals obey), and the
bidirectional overrides and isolates (U+202A-U+202E, U+2066-U+2069) that make text read in an
order other than it is stored ("invoice\u202egpj.exe"). Values are kept as they came in the
database and the evidence, where they are what the page said; they are neutralised at output.
"""

from __future__ import annotations

import re

_BIDI = "\u202a-\u202e\u2066-\u2069"
_UNSAFE = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}]")
_UNSAFE_ON_ONE_LINE = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}]")


def unsafe_characters(text: str, *, one_line: bool = True) -> list[str]:
    """The unsafe characters in `text`, as code points (U+001B, ...), in order, without repeats."""
    pattern = _UNSAFE_ON_ONE_LINE if one_line else _UNSAFE
    seen: dict[str, None] = {}
    for m in pattern.finditer(text):
        seen.setdefault(f"U+{ord(m.group()):04X}", None)
    return list(seen)


def check_name(name: str, what: str = "name", *, max_length: int | None = None) -> str:
    """A name the user gives (a case, recipient, host, source, account): stripped, non-empty, and
    free of control and bidi-override characters, and at most `max_length` characters when given.
    Raises `UnleakError` saying which it holds (the name clipped)."""
    from unleak.errors import UnleakError

    stripped = name.strip()
    if not stripped:
        raise UnleakError(f"the {what} is empty", hint=f"give a {what} with letters or digits")
    bad = [f"U+{ord(c):04X}" for c in dict.fromkeys(_UNSAFE_ON_ONE_LINE.findall(stripped))]
    if bad:
        raise UnleakError(
            f"the {what} {clip(neutralize(stripped))!r} holds control or text-direction characters ({', '.join(bad)})",
            hint="use printable characters only",
        )
    if max_length is not None and len(stripped) > max_length:
        raise UnleakError(
            f"the {what} {clip(stripped, 60)!r} is {len(stripped):,} characters long",
            hint=f"use at most {max_length}",
        )
    return stripped


def neutralize(text: str, *, one_line: bool = True) -> str:
    """`text` with every unsafe character shown as a visible escape (`\\x1b`, `\\u202e`), so that
    nothing is hidden, reordered or obeyed by a terminal, and nothing is silently lost.
    With `one_line`, newlines and tabs are escaped too."""
    pattern = _UNSAFE_ON_ONE_LINE if one_line else _UNSAFE
    return pattern.sub(_escape, text)


def one_line(text: str) -> str:
    """`text` for a single-line slot (a mail header, a table cell, a PDF title): every unsafe
    character escaped, CR and LF included, so that nothing can start a new line or header."""
    return neutralize(text, one_line=True)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> str:
    """A value for a CSV file unleak writes: neutralised, and with a leading apostrophe when it
    starts like a spreadsheet formula (= + - @, tab, CR), as OWASP's CSV-injection guidance
    says, so that a crawled handle such as "=HYPERLINK(...)" is shown, never evaluated."""
    if isinstance(value, (int, float)):  # numbers unleak computed, never a page's text
        return str(value)
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_START):
        text = "'" + text
    return neutralize(text)


_UNSAFE_BEYOND_JSON = re.compile(f"[\x7f-\x9f{_BIDI}]")


def json_text(dumped: str) -> str:
    """JSON text (from json.dumps) with DEL, the C1 controls and the bidi overrides written as
    \\u escapes, as json.dumps already writes the C0 controls: the value read back is the same,
    and a terminal showing the line is not driven by it."""
    return _UNSAFE_BEYOND_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", dumped)


def clip(text: str, limit: int = 200) -> str:
    """At most `limit` characters, with the number left out said at the end."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit:,} more characters)"


def _escape(m: re.Match[str]) -> str:
    code = ord(m.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
