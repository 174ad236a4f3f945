"""Hash lists read for `unleak bank import`: our JSON, threatexchange's `type value` lines, or
bare PDQ hex. Untrusted input: every shape is checked, and every error is one clipped line.

Formats:
- `json`: `{"items": [{"label": str, "kind": "image"|"video"|"hash", "signals": [{"type": str,
  "value": str, "quality": int|null, "variant": str}]}]}` as `bank export` writes it;
- `te`: python-threatexchange's local-file exchange, `<type> <value>` a line (pdq, vpdq,
  video_md5, video_sha256, md5, sha256);
- `pdq`: one PDQ hash (64 hex digits) a line.
Lines starting with `#` and blank lines are skipped in the line formats.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from unleak.errors import UnleakError
from unleak.signals import signal_types, type_for_exchange_name
from unleak.text import clip, neutralize

FORMATS = ("json", "te", "pdq")
KINDS = ("image", "video", "hash")
MAX_LABEL = 500  # the bank's column
MAX_VARIANT = 60

_PDQ = re.compile(r"[0-9a-fA-F]{64}")


@dataclass
class Entry:
    """One bank item to be: a label, a kind and its signals (type, value, quality, variant)."""

    label: str
    kind: str
    signals: list[tuple[str, str, int | None, str]] = field(default_factory=list)


def show(value: object, limit: int = 80) -> str:
    """A value from the file as an error shows it: one line, clipped, nothing a terminal obeys."""
    text = value if isinstance(value, str) else json.dumps(value, default=str)[: limit + 1]
    return repr(clip(neutralize(text), limit))


def check_format(fmt: str | None) -> str | None:
    if fmt is None:
        return None
    name = fmt.strip().lower()
    if name not in FORMATS:
        raise UnleakError(f"unknown hash list format {show(fmt)}", hint=f"use one of {', '.join(FORMATS)}")
    return name


def guess_format(text: str) -> str:
    """json when it starts with `{`; pdq when every line is a bare PDQ hash; else te."""
    if text.lstrip().startswith("{"):
        return "json"
    lines = [line.strip() for line in text.splitlines()]
    lines = [line for line in lines if line and not line.startswith("#")]
    if lines and all(_PDQ.fullmatch(line) for line in lines):
        return "pdq"
    return "te"


def parse(text: str, fmt: str | None, *, label: str, where: str) -> list[Entry]:
    """The entries of a hash list; `where` names it in errors. Values are checked by the caller
    against their signal type; here only the shapes and the names."""
    fmt = check_format(fmt) or guess_format(text)
    if fmt == "json":
        return _parse_json(text, label, where)
    entries = []
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if fmt == "pdq":
            stype, value = "pdq", line
        else:
            te_type, _, value = line.partition(" ")
            found = type_for_exchange_name(te_type)
            if found is None:
                hint = f"each line is `<type> <hash>` with a type among {', '.join(sorted(exchange_names()))}"
                if _PDQ.fullmatch(te_type):
                    hint = "this looks like a bare PDQ list: give --format pdq"
                raise UnleakError(f"{where}:{n}: unknown signal type {show(te_type, 40)}", hint=hint)
            stype = found.name
        entries.append(Entry(label, "hash", [(stype, value.strip(), None, "")]))
    return entries


def _parse_json(text: str, label: str, where: str) -> list[Entry]:
    try:
        doc = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        detail = f"{exc.msg} at line {exc.lineno}" if isinstance(exc, json.JSONDecodeError) else "nested too deep"
        raise UnleakError(f"{where}: not an unleak bank file: invalid JSON ({detail})") from None

    def bad(what: str, hint: str | None = None) -> UnleakError:
        return UnleakError(
            f"{where}: not an unleak bank file: {what}", hint=hint or "write it with `unleak bank export`"
        )

    if not isinstance(doc, dict):
        raise bad(f"the top level is a {_type(doc)}, not an object")
    items = doc.get("items")
    if not isinstance(items, list):
        raise bad("no list of `items`" if items is None else f"`items` is a {_type(items)}, not a list")
    entries = []
    for i, it in enumerate(items, 1):
        at = f"item {i}"
        if not isinstance(it, dict):
            raise bad(f"{at} is a {_type(it)} ({show(it, 40)}), not an object")
        item_label = it.get("label") or label
        if not isinstance(item_label, str):
            raise bad(f"{at}: the label is a {_type(item_label)}, not text")
        if len(item_label) > MAX_LABEL:
            raise bad(f"{at}: the label {show(item_label, 40)} is {len(item_label):,} characters, over {MAX_LABEL}")
        kind = it.get("kind") or "hash"
        if kind not in KINDS:
            raise bad(f"{at}: kind {show(kind, 40)} is not one of {', '.join(KINDS)}")
        sigs = it.get("signals")
        if not isinstance(sigs, list):
            raise bad(f"{at}: `signals` is missing" if sigs is None else f"{at}: `signals` is a {_type(sigs)}")
        signals = []
        for j, sg in enumerate(sigs, 1):
            sat = f"{at}, signal {j}"
            if not isinstance(sg, dict):
                raise bad(f"{sat} is a {_type(sg)} ({show(sg, 40)}), not an object")
            stype, value = sg.get("type"), sg.get("value")
            quality, variant = sg.get("quality"), sg.get("variant") or ""
            if not isinstance(stype, str) or not isinstance(value, str):
                raise bad(f"{sat}: `type` and `value` must be text (got {_type(stype)} and {_type(value)})")
            if len(stype) > 20:
                raise bad(f"{sat}: signal type {show(stype, 40)} is not one unleak knows")
            if quality is not None and (isinstance(quality, bool) or not isinstance(quality, int)):
                raise bad(f"{sat}: `quality` is {show(quality, 20)}, not a whole number")
            if quality is not None and not 0 <= quality <= 100:
                raise bad(f"{sat}: `quality` is {quality}, not between 0 and 100")
            if not isinstance(variant, str) or len(variant) > MAX_VARIANT:
                raise bad(f"{sat}: `variant` is {show(variant, 40)}, not a short name")
            signals.append((stype, value, quality, variant))
        entries.append(Entry(item_label, kind, signals))
    return entries


def _type(value: object) -> str:
    return {
        dict: "object",
        list: "list",
        str: "string",
        int: "number",
        float: "number",
        bool: "true/false",
        type(None): "null",
    }.get(type(value), type(value).__name__)


def exchange_names() -> set[str]:
    """Every type name a hash list may use: ours and the threatexchange / HMA names."""
    return {n for t in signal_types() for n in (t.name, *t.exchange_names.values())}
