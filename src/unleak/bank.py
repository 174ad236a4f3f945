"""The bank: protected items and their signals, per case. Protect, list, remove, export, import.

Protected media is read where it lies; only its path, SHA-256 and fingerprints are stored.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, func, insert, or_, select

from unleak.errors import MediaError, NotFound, UnleakError
from unleak.media.files import iter_media_paths
from unleak.signals import Media, Signal, compute_signals, get_signal_type
from unleak.store import Store
from unleak.store.db import DEFAULT_CASE, insert_or_ignore
from unleak.store.models import BankItem, BankSignal, Case, utcnow
from unleak.text import clip, neutralize

if TYPE_CHECKING:
    from unleak.match.calibration import NullModel


@dataclass
class ProtectResult:
    path: str
    bank_id: int | None = None
    signals: dict[str, Signal] = field(default_factory=dict)
    error: str | None = None
    skipped: bool = False  # already protected, or refused below
    refused: str | None = None  # why not: the same media was removed from the case before
    weak_pdq: str | None = None  # why PDQ protects this item weakly (quality below MIN_QUALITY), if it does

    def to_json(self) -> dict:
        out = {
            "path": self.path,
            "bank_id": self.bank_id,
            "signals": signals_to_json(self.signals),
            "skipped": self.skipped,
            "refused": self.refused,
            "error": self.error,
        }
        if self.weak_pdq is not None:
            out["weak_pdq"] = self.weak_pdq
        return out


@dataclass
class CalibrateResult:
    case: str
    model: NullModel  # what matching in this case now uses: the fit, or the reference when that is stricter
    fitted: NullModel  # the tail of the person's photos as fitted
    reference: NullModel
    images: int
    distances: int
    flat: int = 0
    unreadable: int = 0

    def to_json(self) -> dict:
        from unleak.match.calibration import DEFAULT_TARGET

        def side(m: NullModel) -> dict:
            return {
                **m.to_json(),
                "rate_at": {str(t): float(f"{m.rate(t):.3g}") for t in (20, 31, 36, 40)},
                "threshold_at_target": m.threshold(DEFAULT_TARGET),
            }

        return {
            "case": self.case,
            "images": self.images,
            "distances": self.distances,
            "flat": self.flat,
            "unreadable": self.unreadable,
            "fitted": side(self.fitted),
            "reference": side(self.reference),
            "in_use": side(self.model),
            "uses_reference": (self.model.mean, self.model.sigma) == (self.reference.mean, self.reference.sigma),
        }


@dataclass
class ExportResult:
    written: int  # items (json) or lines (te, pdq)
    low_quality_left_out: int = 0  # PDQ hashes of known quality < MIN_QUALITY not written


def weak_pdq_reason(quality: int | None) -> str | None:
    """Why a PDQ hash of this quality protects weakly; None when it does not (or is unknown)."""
    from unleak.signals.pdq import MIN_QUALITY

    if quality is None or quality >= MIN_QUALITY:
        return None
    return (
        f"PDQ quality {quality} < {MIN_QUALITY}: too little texture (flat colour, gradient, soft focus) for "
        "PDQ to tell it from other flat pictures; python-threatexchange and HMA refuse such hashes, so "
        "te/pdq exports leave it out. Exact copies are still found by its SHA-256, altered ones by "
        "owner-side verification against the original"
    )


@dataclass
class Fingerprint:
    """What protecting a file computes before it touches the database: made where the CPU is (a
    cluster worker), recorded by `Bank.protect_one(..., computed=...)`."""

    path: str
    kind: str = ""
    sha256: str = ""
    signals: dict[str, Signal] = field(default_factory=dict)
    derived: list[Any] = field(default_factory=list)  # bank-side variants (PDQ crops and borders, vPDQ crops)
    error: str | None = None


def fingerprint_file(path: str, variants: bool = False) -> Fingerprint:
    """Fingerprint one file for protection (signals, and the bank-side variants when asked)."""
    fp = Fingerprint(path=path)
    try:
        media = Media.open(Path(path))
        fp.kind, fp.sha256 = media.kind.value, media.digests()["sha256"]
        fp.signals = compute_signals(media)
        if variants:
            fp.derived = _derived(media, fp.signals)
        fp.derived += te_derived(media, fp.signals)
    except UnleakError as exc:
        fp.error = str(exc)
    except OSError as exc:
        fp.error = f"{path}: {exc.strerror or exc}"
    return fp


def te_derived(media: Media, signals: dict[str, Signal]) -> list[Any]:
    """[python-threatexchange's differing PDQ of this file] (see `te_variant`), or []: always
    stored, so the same file matches on a platform that hashes it the python-threatexchange way."""
    from unleak.match.variants import te_variant

    pdq = signals.get("pdq")
    found = te_variant(media, pdq.value) if pdq is not None else None
    return [found] if found is not None else []


def _derived(media: Media, signals: dict[str, Signal]) -> list[Any]:
    """The bank-side variants of an original: PDQ of an image's crops and trimmed borders, vPDQ of
    a video's frames' centre crops (unleak.match.variants)."""
    from unleak.match.variants import bank_variants, video_bank_variants

    if "pdq" in signals:
        return bank_variants(media.pixels())
    if "vpdq" in signals:
        with media.as_file() as path:
            return video_bank_variants(str(path))
    return []


def signals_to_json(signals: dict[str, Signal]) -> dict:
    """The JSON contract's shape, each type's own (`pdq` + `pdq_quality`, vPDQ frames as a list, ...)."""
    out: dict = {}
    for name, sig in signals.items():
        out.update(get_signal_type(name).to_json(sig))
    return out


class Bank:
    """The protected signals of one case."""

    def __init__(self, store: Store, case: str | None = None, *, create: bool = False) -> None:
        """The bank of `case` (the default case when None). Protecting into a case that does not
        exist yet makes it (`create` makes it now); anything else on an unknown case is NotFound."""
        self.store = store
        self.case_name = case or DEFAULT_CASE
        self._case_id: int | None = None
        with store.session() as s:
            try:
                self._case_id = store.case(s, case, create=create).id
            except NotFound:
                pass  # made by the first protect; reading it first is an error (see case_id)

    @classmethod
    def by_id(cls, store: Store, case_id: int) -> Bank:
        """The bank of the case with this id (a cluster worker is told the id, not the name)."""
        with store.session() as s:
            name = s.scalar(select(Case.name).where(Case.id == case_id))
        if name is None:
            raise NotFound(f"no case with id {case_id}", hint="see `unleak case list`")
        return cls(store, name)

    def fingerprint(self) -> tuple:
        """Changes whenever the bank's matchable content does (a protect, a removal, an import):
        processes that keep an index of the bank compare it to know when to build it again."""
        with self.store.session() as s:
            items = s.execute(
                select(func.count(), func.max(BankItem.id), func.count(BankItem.removed_at)).where(
                    BankItem.case_id == self.case_id
                )
            ).one()
            signals = s.execute(
                select(func.count(), func.max(BankSignal.id))
                .select_from(BankSignal)
                .where(BankSignal.case_id == self.case_id, BankSignal.removed.is_(False))
            ).one()
        return (*items, *signals)

    @property
    def case_id(self) -> int:
        if self._case_id is None:
            with self.store.session() as s:
                self._case_id = self.store.case(s, self.case_name).id  # NotFound, naming the cases
        return self._case_id

    def _open_case(self) -> int:
        """The case's id, making the case if it does not exist yet (protecting starts its work)."""
        if self._case_id is None:
            self._case_id = self.store.write(lambda s: self.store.case(s, self.case_name, create=True).id)
        return self._case_id

    # --- protect -------------------------------------------------------------------------
    def protect(
        self,
        paths: Iterable[str | os.PathLike[str]],
        *,
        label: str | None = None,
        on_result: Callable[[ProtectResult], None] | None = None,
        variants: bool = False,
        features: bool = True,
    ) -> list[ProtectResult]:
        """Fingerprint each file and record it. Each file is committed on its own, so a crash
        loses at most the file in hand, and a rerun skips what is already protected.

        `variants`: also store the PDQ hashes of standard crops and of the image without its
        uniform borders (see unleak.match.variants), so that hash-only matching finds copies
        cropped to a square, 4:5, 9:16 or 16:9; for a video, the vPDQ of its frames' centre crops
        (a copy with 5-10 % cut from each border). Costs a few more PDQ hashes per photo; the
        `unleak protect` command turns it on by default (`--no-variants` to leave it off).

        `features`: also compute each image's local features for owner-side verification and
        keep them in the data folder (unleak.match.features), so that matching need not decode
        and analyse every original again; never exported."""
        results = []
        for path in iter_media_paths(paths):
            result = self.protect_one(path, label=label, variants=variants, features=features)
            results.append(result)
            if on_result:
                on_result(result)
        return results

    def protect_one(
        self,
        path: Path,
        *,
        label: str | None = None,
        variants: bool = False,
        features: bool = True,
        computed: Fingerprint | None = None,
    ) -> ProtectResult:
        """Protect one file. `computed`: its fingerprint made elsewhere (a cluster worker, see
        `fingerprint_file`); only the database work is done here."""
        result = ProtectResult(path=str(path))
        try:
            media: Media | None = None
            if computed is None:
                media = Media.open(path)
                sha256 = media.digests()["sha256"]
            elif computed.error is not None:
                raise MediaError(computed.error)
            else:
                sha256 = computed.sha256
            case_id = self._open_case()
            existing = self._item_with_digest(sha256)
            if existing is not None:
                bank_id, removed_at = existing
                result.skipped = True
                if removed_at is None:
                    result.bank_id = bank_id
                else:
                    result.refused = self._refusal(path, "sha256", bank_id, removed_at)
                return result
            signals = compute_signals(media) if media is not None else dict(computed.signals)  # type: ignore[union-attr]
            # A removed hash must never match again: protecting the same file (or a copy with the
            # same PDQ) again would bring it back under a new bank id.
            removed = self._removed_match(signals)
            if removed is not None:
                result.skipped, result.refused = True, self._refusal(path, *removed)
                return result
            derived = []
            if computed is not None:
                derived = list(computed.derived)
            elif variants and media is not None:
                derived = _derived(media, signals)
            if computed is None and media is not None:
                derived += te_derived(media, signals)
            values = {
                "case_id": case_id,
                "label": label or path.stem,
                "kind": media.kind.value if media is not None else computed.kind,  # type: ignore[union-attr]
                "path": str(path.resolve()),
                "sha256": sha256,
                "size": path.stat().st_size,
            }
            sig_rows = [(sig.type, sig.value, sig.quality, "") for sig in signals.values()]
            sig_rows += [(v.signal_type, v.value, v.quality, v.variant) for v in derived]

            def record(s) -> int | None:
                # Insert-or-get on (case, digest): another protect of the same file running at
                # the same time leaves one bank item, whichever of the two commits first.
                item_id = insert_or_ignore(s, BankItem, values, ["case_id", "sha256"])
                if item_id is not None:
                    s.execute(
                        insert(BankSignal),
                        [
                            {
                                "item_id": item_id,
                                "case_id": case_id,
                                "type": stype,
                                "value": value,
                                "quality": quality,
                                "variant": variant,
                                "removed": False,
                            }
                            for stype, value, quality, variant in sig_rows
                        ],
                    )
                return item_id

            item_id = self.store.write(record)
            if item_id is None:  # protected by another run meanwhile
                other_id, other_removed = self._item_with_digest(sha256) or (None, None)
                result.bank_id, result.skipped = other_id, True
                if other_id is not None and other_removed is not None:  # ... and removed since: refused
                    result.bank_id, result.refused = None, self._refusal(path, "sha256", other_id, other_removed)
                return result
            result.bank_id = item_id
            result.signals = signals
            if "pdq" in signals:
                result.weak_pdq = weak_pdq_reason(signals["pdq"].quality)
            if features and media is not None and media.kind.value == "image":
                _remember_features(sha256, media)
        except UnleakError as exc:
            result.error = str(exc)
        except OSError as exc:  # e.g. disk full while writing the database
            result.error = f"{path}: {exc.strerror or exc}"
        return result

    def _item_with_digest(self, sha256: str) -> tuple[int, datetime | None] | None:
        """(bank id, removal time) of the case's item with this SHA-256, if any."""
        with self.store.session() as s:
            row = s.execute(
                select(BankItem.id, BankItem.removed_at).where(
                    BankItem.case_id == self.case_id, BankItem.sha256 == sha256
                )
            ).first()
        return (row[0], row[1]) if row else None

    def _refusal(self, path: Path, sig_type: str, bank_id: int, removed_at: datetime) -> str:
        return (
            f"{path}: not protected: it has the same {sig_type} hash as bank item "
            f"{bank_id}, removed from case {self.case_name!r} on "
            f"{removed_at:%Y-%m-%d}, and removed items never match again "
            "(there is no undo; protect it in another case with --case if you must)"
        )

    def _removed_match(self, signals: dict[str, Signal]) -> tuple[str, int, datetime] | None:
        """(signal type, bank id, removal time) of a removed item with one of these exact values."""
        rank = {"sha256": 0, "pdq": 1, "vpdq": 2}  # the most telling first: same file, same picture
        with self.store.session() as s:
            rows = s.execute(
                select(BankSignal.type, BankItem.id, BankItem.removed_at)
                .join(BankItem, BankSignal.item_id == BankItem.id)
                .where(
                    BankSignal.case_id == self.case_id,
                    BankSignal.variant == "",
                    BankItem.removed_at.is_not(None),
                    or_(
                        *(
                            and_(BankSignal.type == t, BankSignal.value == sig.value)
                            for t, sig in signals.items()
                            if t in rank
                        )
                    ),
                )
            ).all()
        best = min(rows, key=lambda r: rank[r[0]], default=None)
        if best is None or best[2] is None:  # the query asks for removed items only
            return None
        return (best[0], best[1], best[2])

    # --- list / remove -----------------------------------------------------------------------
    def items(self, *, include_removed: bool = False) -> list[BankItem]:
        with self.store.session() as s:
            q = select(BankItem).where(BankItem.case_id == self.case_id).order_by(BankItem.id)
            if not include_removed:
                q = q.where(BankItem.removed_at.is_(None))
            items = list(s.scalars(q))
            for it in items:
                _ = it.signals  # load while the session is open
            return items

    def count(self) -> int:
        with self.store.session() as s:
            return (
                s.scalar(
                    select(func.count())
                    .select_from(BankItem)
                    .where(BankItem.case_id == self.case_id, BankItem.removed_at.is_(None))
                )
                or 0
            )

    def remove(self, bank_ids: Iterable[int]) -> int:
        """Stop matching these items. Their signals stay as tombstones so they cannot come back by import."""
        removed = 0
        with self.store.session() as s:
            for bank_id in bank_ids:
                item = s.get(BankItem, bank_id)
                if item is None or item.case_id != self.case_id:
                    raise NotFound(f"no bank item {bank_id} in case {self.case_name!r}", hint="see `unleak bank list`")
                if item.removed_at is None:
                    item.removed_at = utcnow()
                    for sig in item.signals:
                        sig.removed = True
                    removed += 1
        return removed

    def label_of(self, item_id: int) -> str:
        with self.store.session() as s:
            return s.scalar(select(BankItem.label).where(BankItem.id == item_id)) or ""

    def active_signals(self, signal_type: str, *, with_variants: bool = False) -> list[tuple]:
        """(signal id, bank item id, label, value) of every live signal of one type.

        Derived hashes (crops, trimmed borders: `variant` set) are left out unless
        `with_variants`, which also adds the variant name as a fifth field."""
        with self.store.session() as s:
            cols = [BankSignal.id, BankItem.id, BankItem.label, BankSignal.value]
            q = select(*cols, BankSignal.variant) if with_variants else select(*cols)
            q = (
                q.join(BankItem, BankSignal.item_id == BankItem.id)
                .where(
                    BankSignal.case_id == self.case_id,
                    BankSignal.type == signal_type,
                    BankSignal.removed.is_(False),
                    BankItem.removed_at.is_(None),
                )
                .order_by(BankSignal.id)
            )
            if not with_variants:
                q = q.where(BankSignal.variant == "")
            return [tuple(r) for r in s.execute(q)]

    def originals(self, kind: str = "image") -> dict[int, str]:
        """Bank item id -> path of every live protected item of this kind (image, video) whose file
        is recorded."""
        with self.store.session() as s:
            rows = s.execute(
                select(BankItem.id, BankItem.path).where(
                    BankItem.case_id == self.case_id,
                    BankItem.removed_at.is_(None),
                    BankItem.kind == kind,
                    BankItem.path.is_not(None),
                )
            )
            return {int(i): p for i, p in rows if p is not None}

    def original_digests(self) -> dict[int, str]:
        """Bank item id -> the SHA-256 recorded at protect time, of every live protected image: the
        key of its local features in the feature cache (unleak.match.features)."""
        with self.store.session() as s:
            rows = s.execute(
                select(BankItem.id, BankItem.sha256).where(
                    BankItem.case_id == self.case_id,
                    BankItem.removed_at.is_(None),
                    BankItem.kind == "image",
                )
            )
            return {int(i): d for i, d in rows if d}

    # --- calibration -------------------------------------------------------------------------
    def calibrate(self, paths: Iterable[str | os.PathLike[str]]) -> CalibrateResult:
        """Fit the PDQ false-match tail on the person's own unrelated images (`paths`: files or
        folders) against each other and this case's hashes, and keep it for the case: matching
        and its reported rates then use it. Never lighter-tailed than the reference, so a
        threshold never loosens. Fewer than MIN_CALIBRATION_IMAGES usable images is refused."""
        from unleak.errors import InvalidInput
        from unleak.match.calibration import MIN_CALIBRATION_IMAGES, REFERENCE_MODEL, fit_owner_tail
        from unleak.signals.pdq import MIN_QUALITY, hash_pixels
        from unleak.store.models import CaseCalibration

        own: list[str] = []
        seen = unreadable = flat = 0
        for path in iter_media_paths(paths):
            seen += 1
            try:
                media = Media.open(path)
                if media.kind.value != "image":
                    continue
                value, quality = hash_pixels(media.pixels())
            except UnleakError:
                unreadable += 1
                continue
            if quality < MIN_QUALITY:
                flat += 1  # PDQ never matches these: they say nothing about its tail
                continue
            own.append(value)
        if len(own) < MIN_CALIBRATION_IMAGES:
            raise InvalidInput(
                f"{len(own)} usable image(s) ({seen} file(s), {flat} too flat for PDQ, {unreadable} unreadable); "
                f"calibration needs at least {MIN_CALIBRATION_IMAGES}",
                hint="point it at a larger folder of your own photos that are not the protected ones",
            )
        bank_hashes = [r[3] for r in self.active_signals("pdq", with_variants=True)]
        fitted, model, n = fit_owner_tail(own, bank_hashes)
        case_id = self.case_id

        def record(s) -> None:
            row = s.get(CaseCalibration, case_id)
            if row is None:
                row = CaseCalibration(case_id=case_id)
                s.add(row)
            row.mean, row.sigma, row.images, row.distances, row.created_at = (
                model.mean,
                model.sigma,
                len(own),
                n,
                utcnow(),
            )
            row.fit_mean, row.fit_sigma = fitted.mean, fitted.sigma

        self.store.write(record)
        return CalibrateResult(
            self.case_name, self.null_model(), fitted, REFERENCE_MODEL, len(own), n, flat, unreadable
        )

    def null_model(self) -> NullModel:
        """The case's calibrated PDQ null model (`calibrate`), else the reference."""
        from unleak.match.calibration import REFERENCE_MODEL, NullModel
        from unleak.store.models import CaseCalibration

        with self.store.session() as s:
            row = s.get(CaseCalibration, self.case_id)
            if row is None:
                return REFERENCE_MODEL
            return NullModel(
                mean=row.mean, sigma=row.sigma, source=f"case {self.case_name}: fit on {row.images} images"
            )

    # --- export / import -------------------------------------------------------------------
    def export(self, out: Path, fmt: str = "json", *, include_low_quality: bool = False) -> int:
        """Write the live signals (see export_report); the number of items or lines written."""
        return self.export_report(out, fmt, include_low_quality=include_low_quality).written

    def export_report(self, out: Path, fmt: str = "json", *, include_low_quality: bool = False) -> ExportResult:
        """Write the live signals. Formats:
        - `json`: ours, with labels and every signal type (re-importable with labels);
        - `te`: python-threatexchange's local-file exchange: `<type> <value>` a line
          (pdq, vpdq, and video_md5 / video_sha256 for videos);
        - `pdq`: bare PDQ hex, one a line (for tools that take a typed list).
        `te` and `pdq` leave out PDQ hashes of known quality below MIN_QUALITY (50), which
        python-threatexchange and HMA refuse, unless `include_low_quality`; imported hashes of
        unknown quality are kept. The count left out is reported.
        """
        from unleak.match.variants import TE_VARIANT
        from unleak.signals.pdq import MIN_QUALITY

        items = self.items()
        lines: list[str] = []
        if fmt == "json":
            doc = {
                "format": "unleak-bank",
                "version": 1,
                "case": self.case_name,
                "items": [
                    {
                        "label": it.label,
                        "kind": it.kind,
                        "sha256": it.sha256,
                        "signals": [
                            {"type": sg.type, "value": sg.value, "quality": sg.quality, "variant": sg.variant}
                            for sg in it.signals
                            if not sg.removed
                        ],
                    }
                    for it in items
                ],
            }
            _atomic_write(out, json.dumps(doc, indent=1) + "\n")
            return ExportResult(len(items))
        left_out = 0
        for it in items:
            for sg in it.signals:
                # Derived hashes (crops, trimmed borders) travel only in our json format, which
                # names them: a plain list would make other tools match each at full weight.
                # The python-threatexchange reading ("te") is the same file's hash as other tools
                # compute it: it travels too.
                if sg.removed or (sg.variant and sg.variant != TE_VARIANT):
                    continue
                if sg.type == "pdq" and sg.quality is not None and sg.quality < MIN_QUALITY and not include_low_quality:
                    left_out += fmt in ("te", "pdq")
                    continue
                if fmt == "pdq" and sg.type == "pdq":
                    lines.append(sg.value)
                elif fmt == "te":
                    name = _exchange_name(sg.type, it.kind)
                    if name:
                        lines.append(f"{name} {sg.value}")
        if fmt not in ("te", "pdq"):
            raise UnleakError(f"unknown export format {fmt!r}", hint="use json, te or pdq")
        _atomic_write(out, "".join(line + "\n" for line in lines))
        return ExportResult(len(lines), left_out)

    def import_file(
        self,
        path: Path,
        fmt: str | None = None,
        *,
        label: str = "imported",
        on_progress: Callable[[int, int], None] | None = None,
    ) -> tuple[int, int]:
        """Load a hash list. Returns (added, refused). A value that was removed from this case is
        refused, so a removed hash can never come back through a round trip. `on_progress(done,
        total)` is called as items are written (a million-hash list takes a while)."""
        from unleak import hashlist
        from unleak.media.files import read_regular

        fmt = hashlist.check_format(fmt)  # a wrong --format is refused before the file is read
        where = clip(str(path), 200)
        try:
            data = read_regular(path, 2 * 1024**3)  # never blocks on a FIFO
        except UnleakError as exc:
            raise UnleakError(f"cannot read {exc.message}", hint=exc.hint) from None
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise UnleakError(
                f"{where}: not UTF-8 text (byte {exc.start:,} is {data[exc.start : exc.start + 1]!r})",
                hint="a hash list is text: json, te (`type value` lines) or bare PDQ hex lines",
            ) from None
        entries = [(e.label, e.kind, e.signals) for e in hashlist.parse(text, fmt, label=label, where=where)]
        self._open_case()  # importing a victim's hash list starts a case's work, as protecting does
        added = refused = 0
        with self.store.session() as s:
            # One query for what the case has (live or removed), then bulk inserts: a
            # million-hash list imports in one pass instead of a million look-ups.
            known = set(
                tuple(r)
                for r in s.execute(
                    select(BankSignal.type, BankSignal.value).where(BankSignal.case_id == self.case_id)
                ).all()
            )
            pending: list[tuple[str, str, list[tuple[str, str, int | None, str]]]] = []
            for item_label, kind, sigs in entries:
                clean = []
                for stype, value, quality, variant in sigs:
                    try:
                        value = get_signal_type(stype).validate(value)
                    except (ValueError, TypeError) as exc:
                        raise UnleakError(f"{where}: {clip(neutralize(str(exc)), 300)}") from None
                    if (stype, value) in known:
                        refused += 1  # already in the bank, or removed from it
                        continue
                    known.add((stype, value))
                    clean.append((stype, value, quality, variant))
                if clean:
                    pending.append((item_label, kind, clean))
            for start in range(0, len(pending), 5000):
                batch = pending[start : start + 5000]
                now = utcnow()
                ids = s.scalars(
                    insert(BankItem).returning(BankItem.id, sort_by_parameter_order=True),
                    [
                        {"case_id": self.case_id, "label": lbl, "kind": kind, "source": "import", "created_at": now}
                        for lbl, kind, _ in batch
                    ],
                ).all()
                rows = [
                    {
                        "item_id": item_id,
                        "case_id": self.case_id,
                        "type": stype,
                        "value": value,
                        "quality": quality,
                        "variant": variant or "",
                        "removed": False,
                    }
                    for item_id, (_, _, sigs) in zip(ids, batch)
                    for stype, value, quality, variant in sigs
                ]
                s.execute(insert(BankSignal), rows)
                added += len(rows)
                if on_progress:
                    on_progress(start + len(batch), len(pending))
        return added, refused


def _exchange_name(signal_type: str, kind: str) -> str | None:
    """The name threatexchange / HMA lists give this type for this kind of item; None: not exchanged
    (or a plug-in type that is no longer installed)."""
    try:
        return get_signal_type(signal_type).exchange_name(kind)
    except ValueError:
        return None


def _remember_features(sha256: str, media: Media) -> None:
    """Store a newly protected image's local features; a failure only means they are computed on
    first use instead."""
    from unleak.match.features import FeatureCache

    try:
        FeatureCache.default().put(sha256, media.pixels())
    except (OSError, UnleakError):
        pass


def _atomic_write(path: Path, text: str) -> None:
    """Write beside, then rename: a full disk or a crash never leaves half a file."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise UnleakError(
            f"cannot write {path}: {exc.strerror or exc}", hint="check free disk space and permissions"
        ) from None
