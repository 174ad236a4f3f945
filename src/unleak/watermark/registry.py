"""The recipients of a case and the copies made for them, on top of the store.

The registry holds names, contacts, notes and a random ``code_id`` per recipient; the
codeword is derived from the case key and ``code_id`` whenever it is needed.
"""

from __future__ import annotations

import builtins
import csv
import hashlib
import io
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from unleak import config
from unleak.errors import NotFound, UnleakError
from unleak.media.files import open_regular, read_regular
from unleak.store import Store
from unleak.store.models import MarkedCopy, Recipient
from unleak.text import check_name, clip, neutralize

from . import DEFAULT_BOUND, MarkResult, TraceResult, mark_file, trace_file
from .keys import WatermarkKey, load_or_create

# Makes the copies for (code id, name) pairs, as `mark_file` does; a door passes another one (the
# cluster's) so that this flow does not depend on how the copies are made.
Marker = Callable[[Path, Path, WatermarkKey, Sequence[tuple[str, str]]], list[MarkResult]]


@dataclass(frozen=True)
class RecipientInfo:
    id: int
    name: str
    contact: str
    note: str
    code_id: str

    def to_json(self) -> dict:
        return {"id": self.id, "name": self.name, "contact": self.contact, "note": self.note}


def _info(r: Recipient) -> RecipientInfo:
    return RecipientInfo(r.id, r.name, r.contact, r.note, r.code_id)


MAX_NAME, MAX_CONTACT = 200, 300  # the registry's columns
MAX_CSV_BYTES = 50 * 1024 * 1024


def check_recipient(name: str, contact: str = "") -> tuple[str, str]:
    """A recipient's name (a handle may start with =, +, - or @: such values are neutralised where
    unleak writes CSV, not refused here) and contact, checked like every name a user gives."""
    name = check_name(name, "recipient name", max_length=MAX_NAME)
    contact = contact.strip()
    if contact:
        contact = check_name(contact, "contact", max_length=MAX_CONTACT)
    return name, contact


def read_recipients_csv(path: Path) -> list[tuple[str, str, str]]:
    """(name, contact, note) rows of a recipients CSV. Strict: an unterminated quote, a stray
    quote, a NUL byte, an over-long field, text that is not UTF-8 or a bad name is an error
    naming the line, never a silent merge of the rest of the file into one recipient."""
    where = clip(str(path), 200)
    try:
        data = read_regular(path, MAX_CSV_BYTES)
    except UnleakError as exc:
        if "no such file" in exc.message:
            raise NotFound(exc.message, hint=exc.hint) from None
        raise
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise UnleakError(
            f"{where}:{line}: not UTF-8 text", hint="save the file as CSV in UTF-8 (a spreadsheet's 'CSV UTF-8')"
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    start = 1
    try:
        header = next(reader, None)
        if header is None:
            raise UnleakError(f"{where}: the file is empty", hint="first line: name,contact,note")
        columns = {h.lower().strip(): i for i, h in reversed(list(enumerate(header)))}
        name_col = columns.get("name", columns.get("handle"))
        if name_col is None:
            raise UnleakError(f"{where}: no 'name' or 'handle' column", hint="first line: name,contact,note")
        contact_col, note_col = columns.get("contact"), columns.get("note")
        rows = []
        while True:
            start = reader.line_num + 1
            row = next(reader, None)
            if row is None:
                break
            if not any(cell.strip() for cell in row):
                continue

            def cell(i: int | None, row: list[str] = row) -> str:
                return row[i] if i is not None and i < len(row) else ""

            name, contact = cell(name_col), cell(contact_col)
            try:
                if name.strip():
                    name, contact = check_recipient(name, contact)
            except UnleakError as exc:
                raise UnleakError(f"{where}:{start}: {exc.message}", hint=exc.hint) from None
            rows.append((name, contact, cell(note_col)))
    except csv.Error as exc:
        raise UnleakError(f"{where}:{start}: not well-formed CSV: {_csv_problem(exc)}", hint=_CSV_HINT) from None
    return rows


_CSV_HINT = 'quote a field holding commas or quotes, and double the quotes inside it ("")'


def _csv_problem(exc: csv.Error) -> str:
    text = str(exc)
    if "unexpected end of data" in text:
        return "a quoted field is never closed"
    if "field larger than field limit" in text:
        return f"a field is over {csv.field_size_limit():,} characters"
    if "expected after" in text:
        return "a quote in the middle of a field"
    return clip(text, 100)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open_regular(path) as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class Registry:
    """Recipients, key and marked copies of one case."""

    def __init__(self, store: Store, case: str | None = None, *, home: Path | None = None) -> None:
        self.store = store
        with store.session() as s:
            c = store.case(s, case)
            self.case_id, self.case_name = c.id, c.name
        self.home = home or config.home()

    @property
    def key(self) -> WatermarkKey:
        return load_or_create(self.home, self.case_name)

    # --- recipients ------------------------------------------------------------------------
    def add(self, name: str, contact: str = "", note: str = "") -> RecipientInfo:
        name, contact = check_recipient(name, contact)
        _ = self.key  # create the case key on first use
        with self.store.session() as s:
            if s.scalar(select(Recipient).where(Recipient.case_id == self.case_id, Recipient.name == name)):
                raise UnleakError(
                    f"recipient {name!r} already exists in case {self.case_name!r}",
                    hint="names are unique per case; add a suffix",
                )
            r = Recipient(case_id=self.case_id, code_id=secrets.token_hex(16), name=name, contact=contact, note=note)
            s.add(r)
            s.flush()
            return _info(r)

    def add_many(self, rows: Iterable[tuple[str, str, str]]) -> tuple[list[RecipientInfo], list[str]]:
        """Add (name, contact, note) rows in one transaction; existing names are skipped."""
        _ = self.key
        added, skipped = [], []
        with self.store.session() as s:
            have = set(s.scalars(select(Recipient.name).where(Recipient.case_id == self.case_id)))
            for name, contact, note in rows:
                name = (name or "").strip()
                if name:
                    name, contact = check_recipient(name, contact or "")
                if not name or name in have:
                    skipped.append(name)
                    continue
                r = Recipient(
                    case_id=self.case_id,
                    code_id=secrets.token_hex(16),
                    name=name,
                    contact=contact or "",
                    note=note or "",
                )
                s.add(r)
                have.add(name)
                added.append(r)
            s.flush()
            return [_info(r) for r in added], skipped

    def import_csv(self, path: Path) -> tuple[list[RecipientInfo], list[str]]:
        """CSV with a header: name (or handle), contact, note. Other columns are ignored. A file
        that is not well-formed CSV, or a name that cannot be one, is refused whole, with its line."""
        return self.add_many(read_recipients_csv(path))

    def list(self) -> list[RecipientInfo]:
        with self.store.session() as s:
            rs = s.scalars(select(Recipient).where(Recipient.case_id == self.case_id).order_by(Recipient.id))
            return [_info(r) for r in rs]

    def resolve(self, names: Sequence[str] | None) -> builtins.list[RecipientInfo]:
        """The named recipients (all of the case's when none are named)."""
        everyone = self.list()
        if not names:
            if not everyone:
                raise UnleakError(f"case {self.case_name!r} has no recipients", hint="`unleak recipients add NAME`")
            return everyone
        by_name = {r.name: r for r in everyone}
        missing = [n for n in names if n not in by_name]
        if missing:
            shown = ", ".join(clip(neutralize(n), 60) for n in missing[:10])
            more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
            raise NotFound(f"unknown recipient(s): {shown}{more}", hint="see `unleak recipients list`")
        return [by_name[n] for n in names]

    # --- mark and trace -------------------------------------------------------------------
    def mark(
        self,
        original: Path,
        out_dir: Path,
        names: Sequence[str] | None = None,
        *,
        psnr_db: float | None = None,
        protect: bool = True,
        jobs: int = 1,
        marker: Marker | None = None,
    ) -> builtins.list[MarkResult]:
        """Marked copies for the recipients; records who got which, and protects the original
        in the bank so that a trace can find it without being told.

        With ``marker`` the copies are made by it (e.g. on a cluster's workers, with the key kept
        here: unleak.cluster.mark), else here with ``jobs`` processes."""
        recips = self.resolve(names)
        bank_id = None
        if protect:
            from unleak.bank import Bank

            res = Bank(self.store, self.case_name).protect_one(Path(original), variants=True)
            bank_id = res.bank_id
        pairs = [(r.code_id, r.name) for r in recips]
        if marker is not None:
            results = marker(Path(original), Path(out_dir), self.key, pairs)
        else:
            results = mark_file(Path(original), Path(out_dir), self.key, pairs, psnr_db=psnr_db, jobs=jobs)
        if all(m.error is not None for m in results):
            return results  # nothing was made (e.g. an unreadable original): nothing to record
        sha = _sha256(Path(original))
        with self.store.session() as s:
            for r, m in zip(recips, results):
                if m.error is None and m.path:
                    s.add(
                        MarkedCopy(
                            case_id=self.case_id,
                            recipient_id=r.id,
                            bank_item_id=bank_id,
                            original_path=str(Path(original).resolve()),
                            original_sha256=sha,
                            copy_path=str(Path(m.path).resolve()),
                            scheme=m.scheme,
                        )
                    )
        return results

    def find_original(self, leaked: Path) -> tuple[int | None, str, Path] | None:
        """The bank item a leaked copy matches (bank id, label, path), or None."""
        from unleak.bank import Bank
        from unleak.match import Matcher
        from unleak.signals import Media

        matcher = Matcher(Bank(self.store, self.case_name))
        result = matcher.match_media(Media.open(Path(leaked)))
        from unleak.store.models import BankItem

        with self.store.session() as s:
            for m in result.matches:
                item = s.get(BankItem, m.bank_id)
                if item is not None and item.path and Path(item.path).is_file():
                    return item.id, item.label, Path(item.path)
            # Fingerprints miss heavy crops: register the leak against each original that
            # marked copies were made from (owner-side, so the originals are at hand).
            rows = s.execute(
                select(MarkedCopy.original_path, MarkedCopy.bank_item_id)
                .where(MarkedCopy.case_id == self.case_id)
                .order_by(MarkedCopy.id.desc())
            ).all()
            labels = {i.id: i.label for i in s.scalars(select(BankItem).where(BankItem.case_id == self.case_id))}
        return self._find_by_alignment(Path(leaked), rows, labels)

    def _find_by_alignment(
        self, leaked: Path, rows: Sequence[tuple[str, int | None]], labels: Mapping[int, str]
    ) -> tuple[int | None, str, Path] | None:
        from unleak.media.sniff import MediaKind, sniff_file
        from unleak.registration.align import align

        from .imagefile import load_image

        if sniff_file(leaked)[0] is not MediaKind.IMAGE:
            return None
        cand = load_image(leaked, estimate_quality=False).pixels
        seen: set[str] = set()
        best: tuple[int, int | None, str, Path] | None = None
        for path, bank_id in rows:
            if path in seen or len(seen) >= 200:
                continue
            seen.add(path)
            p = Path(path)
            try:
                if not p.is_file() or sniff_file(p)[0] is not MediaKind.IMAGE:
                    continue
                # Features only: the slower registration without texture, tried on up to 200
                # originals, would cost seconds each when none matches.
                a = align(load_image(p, estimate_quality=False).pixels, cand, max_side=640, refine=False, dense=False)
            except UnleakError:
                continue
            if a is not None and a.inliers >= 20 and (best is None or a.inliers > best[0]):
                label = labels.get(bank_id, p.stem) if bank_id is not None else p.stem
                best = (a.inliers, bank_id, label, p)
        return None if best is None else best[1:]

    def schemes_of(self, original: Path) -> tuple[int, ...]:
        """The marking schemes recorded for copies of ``original`` (by content), newest first;
        every known scheme when none is recorded (an original marked elsewhere)."""
        from .spread import SCHEMES

        try:
            sha = _sha256(original)
        except OSError:
            return SCHEMES
        with self.store.session() as s:
            found = set(
                s.scalars(
                    select(MarkedCopy.scheme).where(
                        MarkedCopy.case_id == self.case_id, MarkedCopy.original_sha256 == sha
                    )
                ).all()
            )
        if not found:
            return SCHEMES
        return tuple(sorted({1 if v is None else int(v) for v in found}, reverse=True))

    def trace(
        self, leaked: Path, original: Path | None = None, *, bound: float = DEFAULT_BOUND
    ) -> tuple[TraceResult, dict | None]:
        """Trace a leaked file; returns the result with recipient *names*, and the original found."""
        found = None
        if original is None:
            hit = self.find_original(leaked)
            if hit is None:
                raise UnleakError(
                    f"{leaked}: no original in the bank of case {self.case_name!r} matches it",
                    hint="give the original with --original PATH",
                )
            bank_id, label, original = hit
            found = {"bank_id": bank_id, "label": label, "path": str(original)}
        else:
            found = {"bank_id": None, "label": None, "path": str(original)}
        recips = self.list()
        result = trace_file(
            Path(leaked),
            Path(original),
            self.key,
            [r.code_id for r in recips],
            bound=bound,
            schemes=self.schemes_of(Path(original)),
        )
        names = {r.code_id: r.name for r in recips}
        result.accused = [type(a)(names.get(a.recipient, a.recipient), a.score, a.p_innocent) for a in result.accused]
        return result, found
