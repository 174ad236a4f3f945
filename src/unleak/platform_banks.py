"""Platform banks: named collections of hashes a platform matches its uploads against (HMA's banks).

A platform bank is not a victim's case. It lives in its own tables, so nothing done to it can
delete a case's items, sightings or evidence; a case's hashes reach a platform bank only when
its owner publishes them (`publish_case`). Names, ids, JSON shapes and error messages follow
Meta's Hasher-Matcher-Actioner (HMA), so HMA clients work unchanged against `unleak serve`.

Every change that affects matching is written to an append-only log (`platform_changes`) in the
same transaction; `PlatformMatcher` replays it before answering, so an added or removed hash is
matched, or not, on the very next request, in every server process, without rebuilding. A watch
tells a server when there is anything to replay, so an idle store costs a lookup no query: SQLite's
`PRAGMA data_version` (`SqliteWatch`), PostgreSQL's `LISTEN/NOTIFY` (`PgWatch`).
"""

from __future__ import annotations

import functools
import hashlib
import json
import random
import re
import select as io_select
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
from sqlalchemy import delete, event, func, select, text
from sqlalchemy.orm import Session

from unleak.config import MediaLimits
from unleak.errors import LimitExceeded, MediaError, UnleakError
from unleak.index import MultiIndexHash, hashes_from_hex
from unleak.match.variants import BANK_BOXES, BANK_CROPS, TE_VARIANT
from unleak.media.sniff import MediaKind
from unleak.signals.media import Media
from unleak.signals.pdq import MIN_QUALITY, PdqSignal, hash_te_compatible
from unleak.signals.vpdq import FRAME_BITS, FRAME_DISTANCE_MAX, Frame, VpdqSignal, parse_frames, usable
from unleak.signals.vpdq import compare as compare_videos
from unleak.store.models import (
    BankItem,
    BankSignal,
    Capture,
    Case,
    PlatformBank,
    PlatformChange,
    PlatformContent,
    PlatformFeedback,
    PlatformFlood,
    PlatformMatchSeen,
    PlatformSignal,
    PlatformSignalType,
    Sighting,
)

if TYPE_CHECKING:
    from unleak.match.calibration import Calibration

BANK_NAME = re.compile(r"[A-Z_][A-Z0-9_]*")
MAX_NOTE = 255
MAX_DISABLE_SECONDS = 5 * 365 * 24 * 3600  # HMA: disable_until_ts at most five years ahead
ENABLED, DISABLED = 1, 0


class PlatformError(UnleakError):
    """A request a platform bank refuses; `status` is the HTTP code HMA answers with."""

    status = 400


class BadRequest(PlatformError):
    status = 400


class Forbidden(PlatformError):
    status = 403


class Missing(PlatformError):
    status = 404


class TooLarge(PlatformError):
    status = 413


# --- signal and content types, by HMA's names ------------------------------------------------


@dataclass(frozen=True)
class HmaSignalType:
    """A signal type as HMA names and validates it; `exact` types match on equality only."""

    name: str
    pattern: re.Pattern[str]
    error: str
    lower: bool  # python-threatexchange lower-cases MD5s but refuses upper-case PDQ
    threshold: int
    exact: bool
    video: bool = False  # vPDQ: a list of frame hashes, matched by vPDQ's rule

    def validate(self, value: object) -> str:
        if not isinstance(value, str):
            raise BadRequest(f"invalid signal: {self.error}")
        if self.video:
            try:
                return VpdqSignal.validate(value)
            except ValueError:
                raise BadRequest(f"invalid signal: {self.error}") from None
        v = value.strip().lower() if self.lower else value
        if not self.pattern.fullmatch(v):
            raise BadRequest(f"invalid signal: {self.error}")
        return v


SIGNAL_TYPES: dict[str, HmaSignalType] = {
    "pdq": HmaSignalType(
        "pdq", re.compile(r"[0-9a-f]{64}"), "invalid PDQ hash", False, PdqSignal.threshold, exact=False
    ),
    "video_md5": HmaSignalType("video_md5", re.compile(r"[0-9a-f]{32}"), "invalid MD5 hash", True, 0, exact=True),
    # vPDQ (HMA has no working video similarity by default): the value is python-threatexchange's
    # serialisation, a JSON list of "pdq_hex,quality,seconds" strings.
    "vpdq": HmaSignalType(
        "vpdq", re.compile(""), "invalid vPDQ hash", False, FRAME_DISTANCE_MAX, exact=False, video=True
    ),
}
CONTENT_TYPES: dict[str, tuple[str, ...]] = {"photo": ("pdq",), "video": ("video_md5", "vpdq")}


def signal_type(name: object) -> HmaSignalType:
    if not isinstance(name, str) or name not in SIGNAL_TYPES:
        raise BadRequest(f"No such SignalType '{name}'")
    return SIGNAL_TYPES[name]


def content_type(name: object) -> str:
    if not isinstance(name, str) or name not in CONTENT_TYPES:
        raise BadRequest(f"No such ContentType '{name}'; known: {', '.join(CONTENT_TYPES)}")
    return name


def signal_type_ratios(s: Session) -> dict[str, float]:
    """Each signal type's enabled_ratio (1.0 unless set)."""
    stored = {
        name: ratio for name, ratio in s.execute(select(PlatformSignalType.name, PlatformSignalType.enabled_ratio))
    }
    return {name: stored.get(name, 1.0) for name in SIGNAL_TYPES}


def update_signal_type(s: Session, name: str, payload: object) -> dict[str, object]:
    """HMA's `PUT /c/signal_type/<name>` `{"enabled_ratio": float}`. A type's ratio is applied as
    a bank's is, with the same coin flip per request (0.0: the type is never matched)."""
    st = signal_type(name)
    if not isinstance(payload, dict) or set(payload) - {"enabled_ratio"} or "enabled_ratio" not in payload:
        raise BadRequest('Expected {"enabled_ratio": <number between 0.0 and 1.0>}')
    ratio = _ratio(payload["enabled_ratio"], None, 1.0)
    _lock_log(s)
    row = s.get(PlatformSignalType, st.name)
    if row is None:
        s.add(PlatformSignalType(name=st.name, enabled_ratio=ratio))
    else:
        row.enabled_ratio = ratio
    s.add(PlatformChange(op="stype", type=st.name, value=repr(ratio)))
    s.flush()
    return {"name": st.name, "enabled_ratio": ratio}


# --- banks -------------------------------------------------------------------------------------


def check_bank_name(name: object) -> str:
    if not isinstance(name, str) or len(name) > 200 or not BANK_NAME.fullmatch(name):
        raise BadRequest("Bank names must be UPPER_WITH_UNDERSCORE")
    return name


def _ratio(enabled_ratio: object, enabled: object, default: float) -> float:
    if enabled is not None:
        if not isinstance(enabled, bool):
            raise BadRequest("enabled must be true or false")
        return 1.0 if enabled else 0.0
    if enabled_ratio is None:
        return default
    if isinstance(enabled_ratio, bool) or not isinstance(enabled_ratio, int | float):
        raise BadRequest("enabled_ratio must be a number between 0.0 and 1.0")
    ratio = float(enabled_ratio)
    if not 0.0 <= ratio <= 1.0:
        raise BadRequest("enabled_ratio must be between 0.0 and 1.0")
    return ratio


def bank_json(bank: PlatformBank) -> dict[str, object]:
    """HMA's bank object; unleak's safety settings are added only when set, so a plain bank
    looks exactly as HMA's does."""
    out: dict[str, object] = {"name": bank.name, "matching_enabled_ratio": bank.enabled_ratio}
    if bank.negative:
        out["negative"] = True
    if bank.pdq_threshold is not None:
        out["pdq_threshold"] = bank.pdq_threshold
    if bank.flood_max_distinct is not None:
        out["flood"] = {"max_distinct": bank.flood_max_distinct, "window_s": bank.flood_window_s}
    return out


MAX_FLOOD_WINDOW = 30 * 24 * 3600
_UNSET = object()


def apply_safety(bank: PlatformBank, settings: Mapping[str, object]) -> None:
    """unleak's bank settings from a request body: `negative` (bool), `pdq_threshold` (0..31, or
    null for HMA's 31), `flood` ({"max_distinct": n >= 1, "window_s": 1..30 days}, or null: off)."""
    negative = settings.get("negative", _UNSET)
    if negative is not _UNSET:
        if not isinstance(negative, bool):
            raise BadRequest("negative must be true or false")
        bank.negative = negative
    threshold = settings.get("pdq_threshold", _UNSET)
    if threshold is not _UNSET:
        if threshold is not None and (
            isinstance(threshold, bool) or not isinstance(threshold, int) or not 0 <= threshold <= PdqSignal.threshold
        ):
            raise BadRequest(f"pdq_threshold must be an integer from 0 to {PdqSignal.threshold}, or null")
        bank.pdq_threshold = threshold
    flood = settings.get("flood", _UNSET)
    if flood is not _UNSET:
        if flood is None:
            bank.flood_max_distinct = bank.flood_window_s = None
            return
        if not isinstance(flood, dict) or set(flood) != {"max_distinct", "window_s"}:
            raise BadRequest('flood must be {"max_distinct": <n>, "window_s": <seconds>} or null')
        n, w = flood["max_distinct"], flood["window_s"]
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 10**9:
            raise BadRequest("flood.max_distinct must be a positive integer")
        if isinstance(w, bool) or not isinstance(w, int) or not 1 <= w <= MAX_FLOOD_WINDOW:
            raise BadRequest(f"flood.window_s must be from 1 to {MAX_FLOOD_WINDOW} seconds")
        bank.flood_max_distinct, bank.flood_window_s = n, w


def list_banks(s: Session) -> list[PlatformBank]:
    return list(s.scalars(select(PlatformBank).order_by(PlatformBank.name)))


def get_bank(s: Session, name: str) -> PlatformBank:
    bank = s.scalar(select(PlatformBank).where(PlatformBank.name == name))
    if bank is None:
        raise Missing("bank not found")
    return bank


def create_bank(
    s: Session,
    name: object,
    enabled_ratio: object = None,
    enabled: object = None,
    safety: Mapping[str, object] | None = None,
) -> PlatformBank:
    name = check_bank_name(name)
    ratio = _ratio(enabled_ratio, enabled, 1.0)
    if s.scalar(select(PlatformBank.id).where(PlatformBank.name == name)) is not None:
        raise Forbidden("Bank already exists")
    bank = PlatformBank(name=name, enabled_ratio=ratio, negative=False)
    apply_safety(bank, safety or {})
    s.add(bank)
    s.flush()
    return bank


def update_bank(
    s: Session,
    name: str,
    new_name: object = None,
    enabled_ratio: object = None,
    enabled: object = None,
    safety: Mapping[str, object] | None = None,
) -> PlatformBank:
    bank = get_bank(s, name)
    apply_safety(bank, safety or {})
    if new_name is not None and new_name != bank.name:
        new_name = check_bank_name(new_name)
        if s.scalar(select(PlatformBank.id).where(PlatformBank.name == new_name)) is not None:
            raise Forbidden("Bank already exists")
        bank.name = new_name
    bank.enabled_ratio = _ratio(enabled_ratio, enabled, bank.enabled_ratio)
    _lock_log(s)
    s.add(PlatformChange(op="bank", content_id=bank.id))  # servers forget the rows they keep of it
    s.flush()
    return bank


def delete_bank(s: Session, name: str) -> None:
    """Remove the bank and its hashes (from the index at once). A missing bank is not an error (HMA)."""
    bank = s.scalar(select(PlatformBank).where(PlatformBank.name == name))
    if bank is None:
        return
    _lock_log(s)
    ids = list(s.scalars(select(PlatformContent.id).where(PlatformContent.bank_id == bank.id)))
    _log_removes(s, ids)
    s.execute(delete(PlatformSignal).where(PlatformSignal.content_id.in_(_ids_subquery(bank.id))))
    s.execute(delete(PlatformContent).where(PlatformContent.bank_id == bank.id))
    s.delete(bank)
    s.flush()


def _ids_subquery(bank_id: int):
    return select(PlatformContent.id).where(PlatformContent.bank_id == bank_id).scalar_subquery()


# --- content -----------------------------------------------------------------------------------


def _check_note(note: object) -> str | None:
    if note is None:
        return None
    if not isinstance(note, str) or len(note) > MAX_NOTE:
        raise BadRequest(f"note must be text of at most {MAX_NOTE} characters")
    return note


def check_metadata(metadata: object) -> str | None:
    """HMA's content metadata: an object with only content_id, content_uri and json; stored as JSON."""
    if metadata is None:
        return None
    if isinstance(metadata, str):
        try:
            metadata = json.loads(metadata)
        except ValueError:
            raise BadRequest("metadata must be a JSON object") from None
    if not isinstance(metadata, dict):
        raise BadRequest("metadata must be a JSON object")
    extra = set(metadata) - {"content_id", "content_uri", "json"}
    if extra:
        raise BadRequest(f"metadata has unknown keys: {', '.join(sorted(map(str, extra)))}")
    for key in ("content_id", "content_uri"):
        if metadata.get(key) is not None and not isinstance(metadata[key], str):
            raise BadRequest(f"metadata.{key} must be a string")
    return json.dumps(metadata)


def check_signals(signals: Mapping[str, object]) -> dict[str, str]:
    """Validated {type: value}; at least one, every type known, every value canonical."""
    if not signals:
        raise BadRequest("No signals given")
    return {name: signal_type(name).validate(value) for name, value in signals.items()}


def add_content(
    s: Session,
    bank_name: str,
    signals: dict[str, str],
    *,
    note: object = None,
    metadata: object = None,
    original_media_uri: str | None = None,
) -> PlatformContent:
    """One content item with its signals (already validated by `check_signals`)."""
    bank = get_bank(s, bank_name)
    note_text = _check_note(note)
    meta = check_metadata(metadata)
    _lock_log(s)
    content = PlatformContent(
        bank_id=bank.id, disable_until_ts=ENABLED, note=note_text, original_media_uri=original_media_uri, meta=meta
    )
    s.add(content)
    s.flush()
    for name, value in signals.items():
        s.add(PlatformSignal(content_id=content.id, type=name, value=value))
        s.add(PlatformChange(op="add", content_id=content.id, type=name, value=value))
    s.flush()
    return content


MAX_ID = 2**63 - 1


def _content(s: Session, content_id: int) -> PlatformContent | None:
    """The content item with this id; None also for ids no database column can hold."""
    if not 0 < content_id <= MAX_ID:
        return None
    return s.get(PlatformContent, content_id)


def get_content(s: Session, bank_name: str, content_id: int) -> PlatformContent:
    bank = get_bank(s, bank_name)
    content = _content(s, content_id)
    if content is None or content.bank_id != bank.id:
        raise Missing("content not found")
    return content


def content_signals(s: Session, content_id: int) -> dict[str, str]:
    rows = s.execute(select(PlatformSignal.type, PlatformSignal.value).where(PlatformSignal.content_id == content_id))
    return {t: v for t, v in rows if not t.startswith(VARIANT_PREFIX)}


def content_json(
    s: Session, content: PlatformContent, *, include_signals: bool = False, include_metadata: bool = True
) -> dict[str, object]:
    """HMA's content object; optional keys that have no value are left out, not null."""
    bank = s.get(PlatformBank, content.bank_id)
    assert bank is not None
    out: dict[str, object] = {"id": content.id, "bank": bank_json(bank), "disable_until_ts": content.disable_until_ts}
    if content.original_media_uri:
        out["original_media_uri"] = content.original_media_uri
    if include_signals:
        out["signals"] = content_signals(s, content.id)
    if include_metadata and content.meta:
        out["metadata"] = json.loads(content.meta)
    if content.note is not None:
        out["note"] = content.note
    return out


def update_content(
    s: Session, bank_name: str, content_id: int, *, disable_until_ts: object = None, note: object = None
) -> PlatformContent:
    content = get_content(s, bank_name, content_id)
    if disable_until_ts is not None:
        if isinstance(disable_until_ts, bool) or not isinstance(disable_until_ts, int):
            raise BadRequest("disable_until_ts must be an integer")
        if disable_until_ts < 0 or disable_until_ts > time.time() + MAX_DISABLE_SECONDS:
            raise BadRequest("disable_until_ts must be 0, 1 or a time at most five years from now")
        content.disable_until_ts = disable_until_ts
        _lock_log(s)
        s.add(PlatformChange(op="state", content_id=content.id))
    if note is not None:
        content.note = _check_note(note)
    s.flush()
    return content


def delete_content(s: Session, bank_name: str, content_id: int) -> int:
    """1 when removed (and unmatchable from the next request on), 0 when there was none."""
    bank = s.scalar(select(PlatformBank).where(PlatformBank.name == bank_name))
    content = _content(s, content_id)
    if bank is None or content is None or content.bank_id != bank.id:
        return 0
    _lock_log(s)
    _log_removes(s, [content.id])
    s.execute(delete(PlatformSignal).where(PlatformSignal.content_id == content.id))
    s.delete(content)
    s.flush()
    return 1


def is_enabled(disable_until_ts: int, now: float | None = None) -> bool:
    if disable_until_ts == ENABLED:
        return True
    if disable_until_ts == DISABLED:
        return False
    return disable_until_ts <= (time.time() if now is None else now)


# --- publishing a case, resetting --------------------------------------------------------------

# unleak's signal names (by item kind) to HMA's; the same pairs `unleak bank export --format te` writes.
_PUBLISHED = {
    ("pdq", "image"): "pdq",
    ("pdq", "hash"): "pdq",
    ("md5", "video"): "video_md5",
    ("vpdq", "video"): "vpdq",
}


# A published item's bank-side PDQ variants (centre crops, trimmed borders) are stored as its
# signals of type `variant:<name>` (`variant:crop:4x5`): never logged for the HMA index, never in
# HMA's answers or signal lists; `/m/lookup?variants=true` compares them (`BankSideVariants`).
VARIANT_PREFIX = "variant:"


# Bank-side variants `protect` computes: only these travel (an imported JSON bank may name others,
# of any length and meaning, which calibration would miscount).
_PUBLISHED_VARIANTS = frozenset(BANK_CROPS) | frozenset(BANK_BOXES)


def publish_case(s: Session, case_name: str, bank_name: str) -> int:
    """Copy a case's live hashes into a platform bank, created if needed; items already published
    there are skipped. Returns the number of items added.

    An item's python-threatexchange reading (`te` variant) becomes content of its own, so HMA's
    plain lookup of the hash a python-threatexchange client computes finds it; its other bank-side
    variants travel as `variant:` signals, compared only by `/m/lookup?variants=true`."""
    case = s.scalar(select(Case).where(Case.name == case_name))
    if case is None:
        raise UnleakError(f"no case named {case_name!r}", hint="see `unleak case list`")
    check_bank_name(bank_name)
    bank = s.scalar(select(PlatformBank).where(PlatformBank.name == bank_name)) or create_bank(s, bank_name)
    rows = s.execute(
        select(BankSignal.item_id, BankSignal.type, BankSignal.value, BankSignal.variant, BankItem.kind)
        .join(BankItem, BankItem.id == BankSignal.item_id)
        .where(
            BankSignal.case_id == case.id,
            BankSignal.removed.is_(False),
            BankItem.removed_at.is_(None),
        )
        .order_by(BankSignal.item_id, BankSignal.id)
    )
    by_item: dict[int, dict[str, str]] = {}
    te_of: dict[int, str] = {}
    variants_of: dict[int, list[tuple[str, str]]] = {}
    for item_id, type_, value, variant, kind in rows:
        name = _PUBLISHED.get((type_, kind))
        if not name:
            continue
        if not variant:
            by_item.setdefault(item_id, {}).setdefault(name, value)
        elif name == "pdq" and variant == TE_VARIANT:
            te_of[item_id] = value
        elif name == "pdq" and variant in _PUBLISHED_VARIANTS:
            variants_of.setdefault(item_id, []).append((variant, value))
    existing: set[tuple[str, str]] = {
        (t, v)
        for t, v in s.execute(
            select(PlatformSignal.type, PlatformSignal.value)
            .join(PlatformContent, PlatformContent.id == PlatformSignal.content_id)
            .where(PlatformContent.bank_id == bank.id)
        )
    }
    added = 0
    for item_id, signals in by_item.items():
        if not any((t, v) in existing for t, v in signals.items()):
            content = add_content(s, bank.name, check_signals(dict(signals)))
            existing.update(signals.items())
            added += 1
            for variant, value in variants_of.get(item_id, []):
                s.add(PlatformSignal(content_id=content.id, type=VARIANT_PREFIX + variant, value=value))
        te = te_of.get(item_id)
        if te is not None and ("pdq", te) not in existing:
            # Its own content: HMA's answers name one hash per content and type.
            note = "python-threatexchange's reading of a palette, CMYK or bilevel file of this case"
            add_content(s, bank.name, {"pdq": te}, note=note)
            existing.add(("pdq", te))
    return added


def parse_te(lines: Iterable[str]) -> list[tuple[str, str]]:
    """`(signal_type, value)` of each `<signal_type> <value>` line (python-threatexchange's
    local-file format, what `unleak bank export --format te` writes; a vPDQ value holds spaces).
    Types this server does not serve are skipped; a bad value refuses the whole list."""
    out: list[tuple[str, str]] = []
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        type_name, _, value = line.partition(" ")
        value = value.strip()
        if not value:
            raise BadRequest(f"line {number}: expected '<signal_type> <value>'")
        if type_name in SIGNAL_TYPES:
            try:
                out.append((type_name, SIGNAL_TYPES[type_name].validate(value)))
            except BadRequest as exc:
                raise BadRequest(f"line {number}: {exc.message}") from None
    return out


def load_te_list(s: Session, bank_name: str, lines: Iterable[str]) -> int:
    """Add each line of a te list (`parse_te`) as its own content item."""
    get_bank(s, bank_name)
    items = parse_te(lines)
    for type_name, value in items:
        add_content(s, bank_name, {type_name: value})
    return len(items)


def factory_reset(s: Session) -> None:
    """Empty every platform bank, with ids counting from 1 again. Refused while any case holds
    sightings or evidence (this is for test servers, never for a store that documents a leak)."""
    if s.scalar(select(func.count()).select_from(Sighting)) or s.scalar(select(func.count()).select_from(Capture)):
        raise Forbidden(
            "factory reset refused: this store holds a case with sightings or evidence",
            hint="use a separate database (UNLEAK_DB) for a test server",
        )
    _lock_log(s)
    if s.get_bind().dialect.name == "postgresql":
        s.execute(text("TRUNCATE platform_signals, platform_content, platform_banks RESTART IDENTITY"))
    else:
        for model in (PlatformSignal, PlatformContent, PlatformBank):
            s.execute(delete(model))
        s.execute(text("DELETE FROM sqlite_sequence WHERE name = 'platform_content'"))
    s.add(PlatformChange(op="reset"))
    s.flush()


# --- the change log ----------------------------------------------------------------------------


def _lock_log(s: Session) -> None:
    # PostgreSQL hands out sequence numbers before commit, so two writers could commit out of
    # order and a reader that has seen the later one would skip the earlier. Writers take turns;
    # SQLite serialises writers anyway.
    if s.get_bind().dialect.name == "postgresql":
        s.execute(text("LOCK TABLE platform_changes IN SHARE ROW EXCLUSIVE MODE"))
        # Delivered to every listening server only if and when this transaction commits.
        s.execute(text(f"NOTIFY {NOTIFY_CHANNEL}"))
        # This process's own watches learn of it at commit, before any notification arrives.
        event.listen(s, "after_commit", _committed_here, once=True)


NOTIFY_CHANNEL = "unleak_platform_changes"


class _LocalCommits:
    count = 0  # change-log commits made by this process (only ever grows)


def _committed_here(_session: Session) -> None:
    _LocalCommits.count += 1


def _log_removes(s: Session, content_ids: list[int]) -> None:
    for cid in content_ids:
        s.add(PlatformChange(op="remove", content_id=cid))


# --- matching ----------------------------------------------------------------------------------


class SqliteWatch:
    """Whether anything was committed to a SQLite store since the last call, by any connection of
    any process, without reading a table (`PRAGMA data_version` on a connection of its own, which
    never writes). Lets every lookup skip the change-log query when nothing changed."""

    def __init__(self, path: str) -> None:
        import sqlite3

        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        self._version: int | None = None

    def changed(self) -> bool:
        # Read before the caller queries the log: a commit in between is seen by that query and
        # again by the next call (replay is idempotent), never missed.
        with self._lock:
            version = int(self._conn.execute("PRAGMA data_version").fetchone()[0])
            changed, self._version = version != self._version, version
        return changed

    def unchanged(self) -> bool:
        """Nothing committed since the last `changed()`; does not move the mark."""
        with self._lock:
            return (
                self._version is not None
                and int(self._conn.execute("PRAGMA data_version").fetchone()[0]) == self._version
            )

    def close(self) -> None:
        with self._lock:
            self._conn.close()


class PgWatch:
    """Whether anything was committed to the change log of a PostgreSQL store since the last call,
    without a query: one dedicated connection per process `LISTEN`s on `NOTIFY_CHANNEL` in a
    background thread (every writer of the log `NOTIFY`s it in its own transaction, so it is
    delivered only on commit). Fails safe: until it listens, after a notification, on reconnecting
    and after any error the store counts as changed, and the caller reads the log."""

    POLL_S = 1.0  # how often the thread looks up from waiting (to stop, and to check the link)
    PING_EVERY = 10  # polls between two `SELECT 1`s on an idle connection
    RETRY_S = 1.0
    PROBE_S = 5.0  # how long a new connection's own test notification may take

    def __init__(self, conninfo: str) -> None:
        self._conninfo = conninfo
        self._lock = threading.Lock()
        self._stale = True
        self._listening = False
        self._local = _LocalCommits.count
        self.backend_pid = 0  # of the listening connection, once connected
        self._fd = -1  # its socket, while listening
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="unleak-listen", daemon=True)
        self._thread.start()

    def _mark(self, *, listening: bool | None = None) -> None:
        with self._lock:
            self._stale = True
            if listening is not None:
                self._listening = listening

    def _run(self) -> None:
        import psycopg

        while not self._stop.is_set():
            try:
                with psycopg.connect(
                    self._conninfo,
                    autocommit=True,
                    connect_timeout=5,
                    keepalives=1,
                    keepalives_idle=10,
                    keepalives_interval=5,
                    keepalives_count=3,
                ) as conn:
                    conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    self.backend_pid = conn.info.backend_pid
                    # Prove that notifications reach this connection (a pooler in transaction
                    # mode accepts LISTEN and delivers nothing): until then, stay not listening.
                    probe = f"probe {self.backend_pid} {time.monotonic_ns()}"
                    conn.execute("SELECT pg_notify(%s, %s)", (NOTIFY_CHANNEL, probe))
                    deadline, seen = time.monotonic() + self.PROBE_S, False
                    while not seen and (left := deadline - time.monotonic()) > 0:
                        for n in conn.notifies(timeout=left, stop_after=1):
                            seen = n.payload == probe
                    if not seen:
                        raise ConnectionError("notifications do not arrive")
                    self._fd = conn.fileno()
                    self._mark(listening=True)  # whatever was committed before LISTEN: read the log
                    try:
                        idle = 0
                        while not self._stop.is_set():
                            if io_select.select([self._fd], [], [], self.POLL_S)[0]:
                                # Stale as soon as anything arrives, before it is read: a lookup
                                # between the two must not answer from memory.
                                self._mark()
                                for _ in conn.notifies(timeout=0.0):
                                    pass
                                idle = 0
                            else:
                                idle += 1
                            if idle >= self.PING_EVERY:
                                conn.execute("SELECT 1")  # a dead link raises here, not silently
                                self._mark()  # a notification may have come in with its answer
                                idle = 0
                    finally:
                        with self._lock:  # before the connection (and its fd) closes
                            self._stale, self._listening, self._fd = True, False, -1
            except Exception:  # noqa: BLE001 - any failure: stale until listening again
                pass
            finally:
                self._mark(listening=False)
            self._stop.wait(self.RETRY_S)

    def _pending(self) -> bool:
        """Under the lock: a notification has arrived that the thread has not taken yet (the
        thread may be waiting for the interpreter while a lookup runs)."""
        fd = self._fd
        return fd < 0 or bool(io_select.select([fd], [], [], 0)[0])

    def changed(self) -> bool:
        # Cleared before the caller reads the log: a notification arriving meanwhile marks it
        # stale again and the next call reads the log once more (replay is idempotent).
        local = _LocalCommits.count
        with self._lock:
            changed = self._stale or not self._listening or local != self._local or self._pending()
            self._stale, self._local = False, local
        return changed

    def unchanged(self) -> bool:
        """Nothing committed since the last `changed()`; does not move the mark."""
        with self._lock:
            return self._listening and not self._stale and _LocalCommits.count == self._local and not self._pending()

    def listening(self) -> bool:
        with self._lock:
            return self._listening

    def close(self) -> None:
        self._stop.set()
        self._thread.join(self.POLL_S + 6)


def watch_for(s: Session) -> SqliteWatch | PgWatch | None:
    """A `SqliteWatch` for a SQLite store on a file, a `PgWatch` for PostgreSQL, else None (the
    log is queried before every lookup)."""
    url = s.get_bind().engine.url
    if url.get_backend_name() == "postgresql":
        return PgWatch(url.set(drivername="postgresql").render_as_string(hide_password=False))
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return SqliteWatch(url.database)


@dataclass(frozen=True)
class Hit:
    content_id: int
    distance: int


_CHANGES_SQL = text("SELECT seq, op, content_id, type, value FROM platform_changes WHERE seq > :seq ORDER BY seq")


MAX_KEPT_ROWS = 200_000  # content rows a server keeps in memory (about 200 bytes each)


def _log_position(s: Session) -> int:
    return int(s.scalar(select(func.coalesce(func.max(PlatformChange.seq), 0))) or 0)


def pdq_arrays(s: Session, chunk: int = 100_000) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint8]]:
    """Every stored PDQ signal as (content ids, ``(n, 32)`` uint8 hashes), read in chunks: a
    bank of ten million hashes never becomes ten million Python strings at once."""
    query = select(PlatformSignal.content_id, PlatformSignal.value).where(PlatformSignal.type == "pdq")
    result = s.connection().execution_options(stream_results=True).execute(query)
    ids: list[npt.NDArray[np.int64]] = []
    hashes: list[npt.NDArray[np.uint8]] = []
    while rows := result.fetchmany(chunk):
        ids.append(np.fromiter((r[0] for r in rows), np.int64, len(rows)))
        hashes.append(np.frombuffer(bytes.fromhex("".join(r[1] for r in rows)), np.uint8).reshape(-1, 32))
    if not ids:
        return np.zeros(0, np.int64), np.zeros((0, 32), np.uint8)
    return np.concatenate(ids), np.concatenate(hashes)


@dataclass(frozen=True)
class SharedIndex:
    """A PDQ index file that every worker maps (one copy in memory, whatever the worker count),
    and the change-log position it holds: each worker replays the log from there."""

    path: Path
    seq: int


def write_pdq_index(s: Session, path: Path) -> SharedIndex:
    """Write every stored PDQ hash to an index file (`unleak.index`'s format, which maps)."""
    seq = _log_position(s)
    ids, hashes = pdq_arrays(s)
    index = MultiIndexHash()
    if ids.shape[0]:
        index.add(ids, hashes)
    del ids, hashes
    index.save(path)
    return SharedIndex(path, seq)


class PlatformMatcher:
    """The in-memory indexes of one server process, kept current by replaying the change log.

    PDQ goes into unleak's exact Hamming index (`MultiIndexHash`) under the content id; exact
    types (video_md5) into a dict. Thread-safe: one lock around index reads and writes.
    """

    def __init__(self, watch: SqliteWatch | PgWatch | None = None) -> None:
        self._lock = threading.Lock()
        self._watch = watch
        self._pdq = MultiIndexHash()
        self._frames = MultiIndexHash()  # vPDQ frames under content id << FRAME_BITS | frame number
        self._videos: dict[int, list[Frame]] = {}
        self._exact: dict[str, dict[str, set[int]]] = {}
        self._of: dict[int, list[tuple[str, str]]] = {}  # content id -> its (type, value), PDQ aside
        self._seq = 0
        self.type_ratio: dict[str, float] = {}
        self.loaded = False
        self.built_to = -1  # unix time of the newest change applied
        # content id -> its row (bank settings, disable_until_ts), read from the store once and
        # forgotten when the change log says it changed: a lookup that matches needs no query.
        self._rows: dict[int, _Row] = {}
        self._rows_epoch = 0  # bumped on every forgetting: a read that raced one is not kept

    def load(self, s: Session, pdq_file: SharedIndex | None = None) -> None:
        """Build from the store, or map the PDQ index from `pdq_file` (written once by
        `write_pdq_index` for every worker) and replay the log from where it was written. The
        log position is read first and replay is idempotent, so a change committed meanwhile is
        applied once whether or not the snapshot saw it."""
        with self._lock:
            self._frames, self._videos = MultiIndexHash(), {}
            self._exact, self._of = {}, {}
            self._forget_rows()
            self.type_ratio = signal_type_ratios(s)
            if pdq_file is None:
                self._seq = _log_position(s)
                self._pdq = MultiIndexHash()
                ids, hashes = pdq_arrays(s)
                if ids.shape[0]:
                    self._pdq.add(ids, hashes)
            else:
                self._seq = pdq_file.seq
                self._pdq = MultiIndexHash.load(pdq_file.path, mmap=True, verify=False)
                # A big mapped segment is never merged into: that would copy it into this worker.
                self._pdq.max_merge = max(len(self._pdq) - 1, 1 << 20)
            rows = s.execute(
                select(PlatformSignal.content_id, PlatformSignal.type, PlatformSignal.value).where(
                    PlatformSignal.type != "pdq"
                )
            )
            for cid, type_, value in rows:
                if type_ == "vpdq":
                    self._add_video(cid, value)
                elif type_ in SIGNAL_TYPES:
                    self._exact.setdefault(type_, {}).setdefault(value, set()).add(cid)
                self._of.setdefault(cid, []).append((type_, value))
            # The first search compiles the index's kernels (seconds without a JIT cache): pay it
            # here, before the server says it is ready, not on a platform's first request.
            _warm_up()
            # And on this index's own arrays (a mapped file's are read-only: other kernel types).
            self._pdq.search(np.zeros((1, 32), np.uint8), radius=PdqSignal.threshold)
            self.loaded = True
            self.built_to = int(time.time())
        self.sync(s)

    def sync(self, s: Session) -> None:
        """Apply the changes logged since the last sync (by any process)."""
        if self._watch is not None and self.loaded and not self._watch.changed():
            return  # nothing was committed to the store since the last look: no query
        # Plain SQL on the session's connection: this runs before every answer, so it stays cheap.
        rows = s.connection().execute(_CHANGES_SQL, {"seq": self._seq}).fetchall()
        with self._lock:
            for seq, op, cid, type_, value in rows:
                if seq <= self._seq:
                    continue
                if op == "add":
                    self._add(cid, type_, value)
                elif op == "remove":
                    self._remove(cid)
                    self._forget_rows(cid)
                elif op == "reset":
                    self._pdq, self._exact, self._of = MultiIndexHash(), {}, {}  # unmaps a shared file
                    self._frames, self._videos = MultiIndexHash(), {}
                    self._forget_rows()
                elif op == "state":
                    self._forget_rows(cid)
                elif op == "bank":
                    self._forget_rows()
                elif op == "stype":
                    self.type_ratio[type_] = float(value)
                self._seq = seq
                self.built_to = int(time.time())

    def _forget_rows(self, cid: int | None = None) -> None:
        """Under the lock: drop one kept row, or all."""
        self._rows_epoch += 1
        if cid is None:
            self._rows = {}
        else:
            self._rows.pop(cid, None)

    def rows(self, s: Session, ids: list[int]) -> dict[int, _Row]:
        """`_content_rows` for these ids, from memory where kept (call after `sync`)."""
        with self._lock:
            have = {cid: row for cid in ids if (row := self._rows.get(cid)) is not None}
            epoch = self._rows_epoch
        missing = [cid for cid in ids if cid not in have]
        if not missing:
            return have
        fresh = _content_rows(s, missing)
        with self._lock:
            if epoch == self._rows_epoch:  # nothing forgotten meanwhile: what was read is current
                if len(self._rows) + len(fresh) > MAX_KEPT_ROWS:
                    self._rows = {}
                self._rows.update(fresh)
        return {**have, **fresh}

    def current(self) -> bool:
        """The index and kept rows hold every committed change, known without a query."""
        return self.loaded and self._watch is not None and self._watch.unchanged()

    def close(self) -> None:
        """Stop watching the store (closes the watch's own connection)."""
        if self._watch is not None:
            self._watch.close()

    def kept_rows(self, ids: list[int]) -> dict[int, _Row] | None:
        """The kept rows of all these ids, or None when any is not kept."""
        with self._lock:
            rows = {cid: row for cid in ids if (row := self._rows.get(cid)) is not None}
        return rows if len(rows) == len(ids) else None

    def _add(self, cid: int, type_: str, value: str) -> None:
        if type_ == "pdq":
            # One PDQ an item (as HMA): replaying an add already applied leaves the same state.
            self._pdq.remove([cid])
            self._pdq.add(np.asarray([cid], np.int64), hashes_from_hex([value]))
            return
        if (type_, value) in self._of.get(cid, []):
            return
        if type_ == "vpdq":
            self._add_video(cid, value)
        elif type_ in SIGNAL_TYPES:
            self._exact.setdefault(type_, {}).setdefault(value, set()).add(cid)
        self._of.setdefault(cid, []).append((type_, value))

    def _add_video(self, cid: int, value: str) -> None:
        if cid in self._videos:
            self._remove_video(cid)
        frames = usable(parse_frames(value))[: 1 << FRAME_BITS]
        self._videos[cid] = frames
        if frames:
            ids = np.asarray([cid << FRAME_BITS | i for i in range(len(frames))], np.int64)
            self._frames.add(ids, hashes_from_hex([f.pdq for f in frames]))

    def _remove_video(self, cid: int) -> None:
        frames = self._videos.pop(cid, [])
        if frames:
            self._frames.remove([cid << FRAME_BITS | i for i in range(len(frames))])

    def _remove(self, cid: int) -> None:
        self._pdq.remove([cid])  # PDQ items are not in `_of`: a 10M bank would not fit there
        for type_, value in self._of.pop(cid, []):
            if type_ == "vpdq":
                self._remove_video(cid)
            else:
                ids = self._exact.get(type_, {}).get(value)
                if ids is not None:
                    ids.discard(cid)
                    if not ids:
                        del self._exact[type_][value]

    def size(self, type_name: str) -> int:
        with self._lock:
            if type_name == "pdq":
                return len(self._pdq)
            if type_name == "vpdq":
                return len(self._videos)
            return sum(len(ids) for ids in self._exact.get(type_name, {}).values())

    def query(self, st: HmaSignalType, value: str) -> list[Hit]:
        """Every indexed item within the type's threshold, nearest first (then by id)."""
        with self._lock:
            if st.exact:
                return [Hit(cid, 0) for cid in sorted(self._exact.get(st.name, {}).get(value, ()))]
            if st.video:
                return self._query_video(value)
            # A writable buffer: a read-only query array would make the kernels compile anew.
            query = np.frombuffer(bytearray.fromhex(value), np.uint8).reshape(1, 32)
            found = self._pdq.search(query, radius=st.threshold)
        return [Hit(int(i), int(d)) for i, d in zip(found.item.tolist(), found.distance.tolist())]

    def _query_video(self, value: str) -> list[Hit]:
        """Videos that match by vPDQ's rule (80% of the query's usable frames within distance 31
        of one of theirs), at their median frame distance; only videos sharing a near frame are
        compared in full, which gives the brute force's answer."""
        query = usable(parse_frames(value))
        if not query or not len(self._frames):
            return []
        found = self._frames.search(hashes_from_hex([f.pdq for f in query]), radius=FRAME_DISTANCE_MAX)
        hits = []
        for cid in sorted({int(i) >> FRAME_BITS for i in found.item.tolist()}):
            vm = compare_videos(query, self._videos.get(cid, []))
            if vm.is_match():
                hits.append(Hit(cid, vm.median_distance))
        return hits


def _warm_up() -> None:
    rng = np.random.default_rng(0)
    scratch = MultiIndexHash(buffer_size=64)
    scratch.add(np.arange(200), rng.integers(0, 256, (200, 32), dtype=np.uint8))  # segments and a buffer
    scratch.search(rng.integers(0, 256, (1, 32), dtype=np.uint8), radius=PdqSignal.threshold)


@dataclass(frozen=True)
class _Row:
    bank: str
    ratio: float
    disable_until_ts: int
    negative: bool
    threshold: int | None
    flood_max: int | None
    flood_window: int | None


def _content_rows(s: Session, ids: list[int]) -> dict[int, _Row]:
    """content id -> its bank's settings and its own state, for the ids still in the store."""
    if not ids:
        return {}
    rows = s.execute(
        select(
            PlatformContent.id,
            PlatformBank.name,
            PlatformBank.enabled_ratio,
            PlatformContent.disable_until_ts,
            PlatformBank.negative,
            PlatformBank.pdq_threshold,
            PlatformBank.flood_max_distinct,
            PlatformBank.flood_window_s,
        )
        .join(PlatformBank, PlatformBank.id == PlatformContent.bank_id)
        .where(PlatformContent.id.in_(ids))
    )
    return {
        cid: _Row(name, ratio, ts, bool(neg), thr, fmax, fwin) for cid, name, ratio, ts, neg, thr, fmax, fwin in rows
    }


def raw_lookup(
    s: Session, matcher: PlatformMatcher, type_name: object, value: object, banks: set[str] | None = None
) -> list[Hit]:
    """HMA's raw lookup: every match, enabled or not, optionally only from the named banks."""
    st = signal_type(type_name)
    v = st.validate(value)
    matcher.sync(s)
    hits = matcher.query(st, v)
    if banks is not None:
        rows = matcher.rows(s, [h.content_id for h in hits])
        hits = [h for h in hits if h.content_id in rows and rows[h.content_id].bank in banks]
    return hits


def lookup(
    s: Session,
    matcher: PlatformMatcher,
    type_name: object,
    value: object,
    *,
    banks: set[str] | None = None,
    seed: str | None = None,
    bypass_coinflip: bool = False,
    explain: bool = False,
) -> dict[str, object]:
    """HMA's lookup: {bank: [{"bank_content_id", "distance" (a string)}]} from enabled content of
    banks that pass one coin flip per request (`seed` makes it repeatable).

    unleak's safety rules on top: a bank's own `pdq_threshold`; a match in a negative bank vetoes
    every other bank's (the answer is `{}`); an item of a flood-protected bank that matches more
    distinct lookups than allowed in its window is disabled pending review. `explain` adds an
    "explain" key saying what was held back and why."""
    st = signal_type(type_name)
    v = st.validate(value)
    matcher.sync(s)
    hits = matcher.query(st, v)
    return _answer(s, matcher, st, v, hits, {}, banks, seed, bypass_coinflip, explain)


def lookup_in_memory(
    matcher: PlatformMatcher,
    type_name: object,
    value: object,
    *,
    banks: set[str] | None = None,
    seed: str | None = None,
    explain: bool = False,
) -> dict[str, object] | None:
    """`lookup`'s answer when it needs no store at all (nothing committed since the last sync,
    every matched row kept, no flood-protected bank matched), else None: call `lookup`. Cheap
    enough to run on a server's event loop."""
    if not matcher.current():
        return None
    st = signal_type(type_name)
    if st.video:
        return None  # comparing videos frame by frame is not for an event loop
    v = st.validate(value)
    hits = matcher.query(st, v)
    rows = matcher.kept_rows([h.content_id for h in hits])
    if rows is None or any(r.flood_max is not None for r in rows.values()):
        return None
    return _answer(None, matcher, st, v, hits, {}, banks, seed, False, explain, rows=rows)


def raw_lookup_in_memory(
    matcher: PlatformMatcher, type_name: object, value: object, banks: set[str] | None = None
) -> list[Hit] | None:
    """`raw_lookup`'s answer when it needs no store (as `lookup_in_memory`), else None."""
    if not matcher.current():
        return None
    st = signal_type(type_name)
    if st.video:
        return None
    hits = matcher.query(st, st.validate(value))
    if banks is None:
        return hits
    rows = matcher.kept_rows([h.content_id for h in hits])
    if rows is None:
        return None
    return [h for h in hits if rows[h.content_id].bank in banks]


def _answer(
    s: Session | None,
    matcher: PlatformMatcher,
    st: HmaSignalType,
    v: str,
    hits: list[Hit],
    extra: Mapping[int, Mapping[str, object]],
    banks: set[str] | None,
    seed: str | None,
    bypass_coinflip: bool,
    explain: bool,
    rows: dict[int, _Row] | None = None,
) -> dict[str, object]:
    if rows is None:
        assert s is not None
        rows = matcher.rows(s, [h.content_id for h in hits])
    now = time.time()
    # HMA's coin flip, `random.Random(seed).random()`; without a seed that is just a random number,
    # and seeding a new generator from the OS costs more than the whole index search.
    coinflip = 0.0 if bypass_coinflip else random.random() if seed is None else random.Random(seed).random()
    out: dict[str, object] = {}
    why: dict[str, object] = {}
    type_ratio = matcher.type_ratio.get(st.name, 1.0)
    if type_ratio < coinflip or type_ratio == 0.0:
        return {"explain": {"signal_type_disabled": st.name}} if explain else out

    def within(hit: Hit, row: _Row) -> bool:
        return row.threshold is None or st.name != "pdq" or hit.distance <= row.threshold

    live = [(h, rows[h.content_id]) for h in sorted(hits, key=lambda h: h.content_id) if h.content_id in rows]
    veto = [(h, r) for h, r in live if r.negative and within(h, r) and is_enabled(r.disable_until_ts, now)]
    if veto:
        if explain:
            h, r = veto[0]
            out["explain"] = {
                "negative_match": {"bank": r.bank, "bank_content_id": h.content_id, "distance": str(h.distance)},
                "reason": "the upload matches an entry of a negative bank, which vetoes every other bank's match",
            }
        return out
    held: list[dict[str, object]] = []
    found: dict[str, list[dict[str, object]]] = {}
    for hit, row in live:
        if row.negative or not is_enabled(row.disable_until_ts, now) or row.ratio < coinflip:
            continue
        if banks is not None and row.bank not in banks:
            continue
        if not within(hit, row):
            held.append({"bank": row.bank, "bank_content_id": hit.content_id, "reason": "over the bank's threshold"})
            continue
        if row.flood_max is not None and s is not None and _flooded(s, hit.content_id, row, st.name, v):
            held.append({"bank": row.bank, "bank_content_id": hit.content_id, "reason": "flood: disabled for review"})
            continue
        match = {"bank_content_id": hit.content_id, "distance": str(hit.distance), **extra.get(hit.content_id, {})}
        found.setdefault(row.bank, []).append(match)
    out.update(found)
    if explain:
        why["held_back"] = held
        out["explain"] = why
    return out


class BankSideVariants:
    """The bank-side PDQ variants of published case items (`variant:` signals: centre crops,
    trimmed borders), compared only by `/m/lookup?variants=true`, so HMA's own answers never see
    them. Kept current from the change log, as `PlatformMatcher` is: an item's variants are read
    when its `add` shows (written in the same transaction), dropped on its `remove`, and all on a
    `reset`. Content ids are never reused (signal row ids may be, on SQLite), so a variant can
    never answer for another item."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        self._index = MultiIndexHash()
        self._of: dict[int, tuple[int, str]] = {}  # index key -> (content id, variant name)
        self._keys: dict[int, list[int]] = {}  # content id -> its index keys
        self._counts: dict[int, tuple[int, int]] = {}  # content id -> (boxes, crops)
        self._next = 0  # index keys are this object's own: never reused
        self._seq = -1  # change-log position; -1: not loaded

    def refresh(self, s: Session) -> None:
        with self._lock:
            if self._seq < 0:
                # The log position first: a change committed meanwhile is replayed, and skipped
                # if the snapshot already holds it.
                self._seq = int(s.scalar(select(func.coalesce(func.max(PlatformChange.seq), 0))) or 0)
                self._load(s, None)
            rows = s.connection().execute(_CHANGES_SQL, {"seq": self._seq}).fetchall()
            added: set[int] = set()
            for seq, op, cid, _type, _value in rows:
                if op == "add" and cid not in self._keys:
                    added.add(cid)
                elif op == "remove":
                    added.discard(cid)
                    self._drop(cid)
                elif op == "reset":  # content ids start again at 1
                    self._reset()
                    added.clear()
                self._seq = max(self._seq, seq)
            if added:
                self._load(s, added)

    def _load(self, s: Session, content_ids: set[int] | None) -> None:
        """Under the lock: add the variants of these content ids (None: of all content)."""
        query = select(PlatformSignal.content_id, PlatformSignal.type, PlatformSignal.value).where(
            PlatformSignal.type.startswith(VARIANT_PREFIX)
        )
        if content_ids is None:
            found = list(s.execute(query))
        else:
            ids, found = sorted(content_ids), []
            for i in range(0, len(ids), 500):  # bounded IN lists
                found += s.execute(query.where(PlatformSignal.content_id.in_(ids[i : i + 500]))).all()
        rows = [r for r in found if r[0] not in self._keys]
        keys, values = [], []
        for cid, type_, value in rows:
            name = type_[len(VARIANT_PREFIX) :]
            key, self._next = self._next, self._next + 1
            keys.append(key)
            values.append(value)
            self._of[key] = (cid, name)
            self._keys.setdefault(cid, []).append(key)
            boxes, crops = self._counts.get(cid, (0, 0))
            crop = name.startswith("crop:")
            self._counts[cid] = (boxes + (not crop), crops + crop)
        if keys:
            self._index.add(np.asarray(keys, np.int64), hashes_from_hex(values))

    def _drop(self, cid: int) -> None:
        """Under the lock: forget one content item's variants."""
        keys = self._keys.pop(cid, [])
        if keys:
            self._index.remove(keys)
        for key in keys:
            del self._of[key]
        self._counts.pop(cid, None)

    def query(self, value: str, radius: int) -> list[tuple[int, str, int]]:
        """(content id, variant name, distance) of each stored variant within `radius`."""
        with self._lock:
            if not len(self._index):
                return []
            found = self._index.search(hashes_from_hex([value]), radius=radius)
            return [(*self._of[int(i)], int(d)) for i, d in zip(found.item.tolist(), found.distance.tolist())]

    def counts(self, content_id: int) -> tuple[int, int]:
        """(trimmed-border variants, centre-crop variants) stored for this content."""
        with self._lock:
            return self._counts.get(content_id, (0, 0))


@functools.lru_cache(maxsize=512)
def _variant_calibration(n_dihedral: int, n_boxes: int, n_bank_boxes: int, n_crops: int) -> Calibration:
    """Thresholds per comparison group for these counts, as `unleak match` calibrates them."""
    from unleak.match.calibration import DEFAULT_TARGET, REFERENCE_MODEL, group_thresholds
    from unleak.match.matcher import comparison_groups

    groups = comparison_groups(PdqSignal.threshold, n_dihedral, n_boxes, n_bank_boxes, n_crops)
    return group_thresholds(groups, target=DEFAULT_TARGET, model=REFERENCE_MODEL)


def lookup_variants(
    s: Session,
    matcher: PlatformMatcher,
    data: bytes,
    limits: MediaLimits | None = None,
    *,
    banks: set[str] | None = None,
    seed: str | None = None,
    bypass_coinflip: bool = False,
    explain: bool = False,
    bank_side: BankSideVariants | None = None,
) -> dict[str, object]:
    """`/m/lookup?variants=true` for a photo: unleak's hash-only variants of the upload (its 8
    orientations and its content boxes: screenshots, letterboxes, borders) and, with `bank_side`,
    the bank-side variants of published case items (centre crops, trimmed borders), each group
    with the threshold that keeps the false-match rate per upload-item pair within 1e-6 (as
    `unleak match`). Every match gains "variant" (which comparison found it: "plain",
    "dihedral:rot90", "query:trim", "bank:crop:4x5", ...) and "false_match_rate", which counts
    every comparison made with that item; "distance" stays a string."""
    from unleak.match.calibration import REFERENCE_MODEL
    from unleak.match.matcher import MIN_REPORTED_RATE, comparison_group
    from unleak.match.variants import query_hashes

    limits = limits or MediaLimits.from_env()
    media = _open_media(data, limits)
    try:
        if media.kind is not MediaKind.IMAGE:
            raise BadRequest("variants=true applies to photos")
        qh = query_hashes(media.pixels())
    except LimitExceeded as exc:
        raise TooLarge(exc.message) from None
    except MediaError as exc:
        raise BadRequest(exc.message) from None
    queries: list[tuple[str, str, str]] = []  # (kind, name, hex), as `unleak match` names them
    if qh.full.quality >= MIN_QUALITY:
        queries.append(("full", "", qh.full.value))
        queries += [("dihedral", v.variant, v.value) for v in qh.dihedral]
    queries += [("box", v.variant, v.value) for v in qh.boxes]
    if not queries:
        raise BadRequest("invalid signal: invalid PDQ hash")  # quality < 50, as HMA answers
    n_dihedral = sum(1 for q in queries if q[0] == "dihedral")
    n_boxes = sum(1 for q in queries if q[0] == "box")
    st = SIGNAL_TYPES["pdq"]
    matcher.sync(s)
    if bank_side is not None:
        bank_side.refresh(s)
    near: dict[int, dict[str, tuple[int, str]]] = {}  # content id -> group -> nearest (distance, description)

    def seen(cid: int, group: str | None, dist: int, desc: str) -> None:
        if group is not None and (group not in near.setdefault(cid, {}) or dist < near[cid][group][0]):
            near[cid][group] = (dist, desc)

    for kind, name, value in queries:
        group = comparison_group(kind, "")
        desc = {"plain": "plain", "dihedral": f"dihedral:{name}"}.get(group or "", f"query:{name}")
        for hit in matcher.query(st, value):
            seen(hit.content_id, group, hit.distance, desc)
        if bank_side is not None and kind != "dihedral":
            for cid, variant, dist in bank_side.query(value, st.threshold):
                where = f"bank:{variant}" if kind == "full" else f"query:{name}/bank:{variant}"
                seen(cid, comparison_group(kind, variant), dist, where)
    extra: dict[int, dict[str, object]] = {}
    hits = []
    full = 1 if qh.full.quality >= MIN_QUALITY else 0
    for cid, groups in near.items():
        nb, nc = bank_side.counts(cid) if bank_side is not None else (0, 0)
        cal = _variant_calibration(n_dihedral, n_boxes, nb, nc)
        used = {"plain": full, "dihedral": n_dihedral, "trim": (1 + n_boxes) * (1 + nb) - 1, "crop": (1 + n_boxes) * nc}
        accepted = [(d, desc) for g, (d, desc) in groups.items() if d <= cal.thresholds.get(g, -1)]
        if not accepted:
            continue
        d, desc = min(accepted)
        rate = sum(n * REFERENCE_MODEL.rate(min(d, cal.thresholds[g])) for g, n in used.items() if n)
        extra[cid] = {"variant": desc, "false_match_rate": float(f"{max(rate, MIN_REPORTED_RATE):.3g}")}
        hits.append(Hit(cid, d))
    answer = _answer(s, matcher, st, qh.full.value, hits, extra, banks, seed, bypass_coinflip, explain)
    return {"pdq": answer}


def _flooded(s: Session, content_id: int, row: _Row, type_name: str, value: str) -> bool:
    """Count this lookup against the item; True (and the item disabled, listed at /c/flood) when
    it has now matched more distinct lookups than its bank allows in the window."""
    assert row.flood_max is not None and row.flood_window is not None
    digest = hashlib.sha256(f"{type_name}:{value}".encode()).hexdigest()
    since = datetime.fromtimestamp(time.time() - row.flood_window, UTC)
    seen = PlatformMatchSeen
    known = s.scalar(
        select(seen.id).where(seen.content_id == content_id, seen.query_digest == digest, seen.at >= since).limit(1)
    )
    if known is None:
        s.add(seen(content_id=content_id, query_digest=digest))
        s.flush()
    distinct = int(
        s.scalar(
            select(func.count(func.distinct(seen.query_digest))).where(seen.content_id == content_id, seen.at >= since)
        )
        or 0
    )
    if distinct <= row.flood_max:
        return False
    content = s.get(PlatformContent, content_id)
    if content is not None and content.disable_until_ts != DISABLED:
        content.disable_until_ts = DISABLED
        _lock_log(s)
        s.add(PlatformChange(op="state", content_id=content_id))
        s.add(PlatformFlood(content_id=content_id, bank=row.bank, distinct_uploads=distinct, window_s=row.flood_window))
        s.flush()
    return True


def flood_list(s: Session) -> list[dict[str, object]]:
    """Items flood protection disabled, newest first, with their state now (a curator re-enables
    one with `PUT .../content/<id> {"disable_until_ts": 1}` or deletes it)."""
    rows = s.execute(
        select(PlatformFlood, PlatformContent.disable_until_ts)
        .outerjoin(PlatformContent, PlatformContent.id == PlatformFlood.content_id)
        .order_by(PlatformFlood.id.desc())
        .limit(1000)
    )
    return [
        {
            "bank": f.bank,
            "bank_content_id": f.content_id,
            "distinct_uploads": f.distinct_uploads,
            "window_s": f.window_s,
            "at": int(f.at.timestamp()),
            "disable_until_ts": ts,
            "state": "deleted" if ts is None else ("pending_review" if ts == DISABLED else "re-enabled"),
        }
        for f, ts in rows
    ]


VERDICTS = ("confirmed", "false_positive")


def add_feedback(s: Session, payload: object, *, key_name: str = "", bank_scope: str | None = None) -> PlatformFeedback:
    """A platform's verdict on a match: `{"bank_content_id", "signal_type", "signal", "verdict",
    "note"?}`. The item must exist (in `bank_scope`'s bank, for a key limited to one)."""
    if not isinstance(payload, dict):
        raise BadRequest("Expected a JSON object")
    extra = set(payload) - {"bank_content_id", "signal_type", "signal", "verdict", "note"}
    if extra:
        raise BadRequest(f"unknown fields: {', '.join(sorted(map(str, extra)))[:200]}")
    cid = payload.get("bank_content_id")
    if isinstance(cid, bool) or not isinstance(cid, int):
        raise BadRequest("bank_content_id must be an integer")
    st = signal_type(payload.get("signal_type"))
    value = st.validate(payload.get("signal"))
    verdict = payload.get("verdict")
    if verdict not in VERDICTS:
        raise BadRequest(f"verdict must be one of {', '.join(VERDICTS)}")
    note = _check_note(payload.get("note"))
    content = _content(s, cid)
    bank = s.get(PlatformBank, content.bank_id) if content is not None else None
    if content is None or bank is None or (bank_scope is not None and bank.name != bank_scope):
        raise Missing("content not found")
    row = PlatformFeedback(
        content_id=cid, bank=bank.name, signal_type=st.name, signal=value, verdict=verdict, note=note, key_name=key_name
    )
    s.add(row)
    s.flush()
    return row


def feedback_list(s: Session, bank: str | None = None, limit: int = 1000) -> list[dict[str, object]]:
    q = select(PlatformFeedback).order_by(PlatformFeedback.id.desc()).limit(max(1, min(limit, 10_000)))
    if bank is not None:
        q = q.where(PlatformFeedback.bank == bank)
    return [
        {
            "id": f.id,
            "bank": f.bank,
            "bank_content_id": f.content_id,
            "signal_type": f.signal_type,
            "signal": f.signal,
            "verdict": f.verdict,
            **({"note": f.note} if f.note is not None else {}),
            "key": f.key_name or None,
            "at": int(f.at.timestamp()),
        }
        for f in s.scalars(q)
    ]


def compare(signals: object) -> dict[str, list[object]]:
    """HMA's compare: {type: [h1, h2]} -> {type: [matches, {"distance": int}]}."""
    if not isinstance(signals, dict) or not signals:
        raise BadRequest("Expected a JSON object of signal type to a list of two signals")
    out: dict[str, list[object]] = {}
    for name, pair in signals.items():
        st = signal_type(name)
        if not isinstance(pair, list) or len(pair) != 2:
            raise BadRequest(f"Expected a list of exactly two {name} signals")
        a, b = (st.validate(x) for x in pair)
        if st.video:
            out[name] = [bool(VpdqSignal.is_match(a, b)), {"distance": int(VpdqSignal.distance(a, b))}]
            continue
        distance = int(a != b) if st.exact else PdqSignal.distance(a, b)
        out[name] = [distance <= st.threshold, {"distance": distance}]
    return out


def index_status(s: Session, matcher: PlatformMatcher) -> dict[str, dict[str, object]]:
    matcher.sync(s)
    return {
        name: {
            "present": matcher.loaded,
            "built_to": matcher.built_to if matcher.loaded else -1,
            "size": matcher.size(name),
        }
        for name in SIGNAL_TYPES
    }


def signal_type_index(s: Session, matcher: PlatformMatcher) -> dict[str, dict[str, object]]:
    """HMA's /c/signal_type/index: the database and the index agree once synced (never out of date)."""
    matcher.sync(s)
    out: dict[str, dict[str, object]] = {}
    for name in SIGNAL_TYPES:
        db_size = int(
            s.scalar(select(func.count()).select_from(PlatformSignal).where(PlatformSignal.type == name)) or 0
        )
        newest = s.scalar(
            select(func.max(PlatformContent.created_at))
            .join(PlatformSignal, PlatformSignal.content_id == PlatformContent.id)
            .where(PlatformSignal.type == name)
        )
        out[name] = {
            "db_size": db_size,
            "index_size": matcher.size(name),
            "index_out_of_date": False,
            "newest_db_item": int(newest.timestamp()) if newest else -1,
            "index_built_to": matcher.built_to,
        }
    return out


# --- hashing uploads ---------------------------------------------------------------------------

DEFAULT_MAX_UPLOAD = 100 * 1024 * 1024  # HMA's MAX_REMOTE_FILE_SIZE default


def hash_media(
    data: bytes, content_type_name: str | None, types: Iterable[str] | None = None, limits: MediaLimits | None = None
) -> dict[str, str]:
    """HMA's hashes of an upload: {"pdq": hex} for a photo (python-threatexchange's exact pipeline,
    "" when quality < 50, as HMA does), {"video_md5": hex} for a video. `content_type_name` None:
    taken from the bytes. Refuses empty, unreadable, truncated, oversized and bomb files (4xx)."""
    limits = limits or MediaLimits.from_env()
    media = _open_media(data, limits)
    kind_type = "photo" if media.kind is MediaKind.IMAGE else "video"
    ct = content_type(content_type_name) if content_type_name else kind_type
    if ct != kind_type:
        raise BadRequest(f"the {ct} field holds a {kind_type}, not a {ct}")
    wanted = list(CONTENT_TYPES[ct])
    if types is not None:
        asked = [signal_type(t).name for t in types]
        wanted = [t for t in wanted if t in asked]
        if not wanted:
            raise BadRequest(f"none of the signal types {', '.join(asked)} applies to {ct}")
    out: dict[str, str] = {}
    try:
        for name in wanted:
            if name == "pdq":
                hex_value, quality = hash_te_compatible(media)
                out[name] = hex_value if quality >= MIN_QUALITY else ""
            elif name == "video_md5":
                media.check_video()
                out[name] = media.digests()["md5"]
            elif name == "vpdq":
                out[name] = VpdqSignal.compute(media, fast=True).value
    except LimitExceeded as exc:
        raise TooLarge(exc.message) from None
    except MediaError as exc:
        raise BadRequest(exc.message) from None
    return out


def _open_media(data: bytes, limits: MediaLimits) -> Media:
    if not data:
        raise BadRequest("the uploaded file is empty")
    if len(data) > limits.max_file_bytes:
        raise TooLarge(f"the file is {len(data):,} bytes, over the limit of {limits.max_file_bytes:,}")
    try:
        return Media(data=data, name="upload", limits=limits)
    except LimitExceeded as exc:
        raise TooLarge(exc.message) from None
    except MediaError as exc:
        raise BadRequest(exc.message) from None


def fetch_media(url: str, *, allow_networks: Iterable[str] = (), max_bytes: int = DEFAULT_MAX_UPLOAD) -> bytes:
    """The bytes at a media URL, through unleak's guarded fetcher: http(s) only, private and
    loopback addresses refused (unless allowed), size bounded while streaming."""
    from unleak.net.fetch import Fetcher, FetchPolicy
    from unleak.net.guard import FetchError, NetworkPolicy

    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise BadRequest("url must be an http or https URL")
    policy = FetchPolicy(rate=None, retries=0, max_media_bytes=max_bytes)
    try:
        with Fetcher(policy, network=NetworkPolicy.allowing(allow_networks)) as fetcher:
            return fetcher.fetch(url, kind="media").body
    except FetchError as exc:
        if exc.reason == "too_large":
            raise TooLarge(f"Content too large: {exc.message}") from None
        raise BadRequest(f"Failed to fetch URL: {exc.message}") from None
