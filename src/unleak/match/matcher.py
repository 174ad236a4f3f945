"""Match candidates against a bank, with every registered signal type through the index it provides
(exact hashes by lookup, vPDQ by frames, a plug-in's type by its own index). PDQ gets more, in
two modes (see docs/matching.md):
- hash-only: the candidate's PDQ, its 7 other orientations and its content boxes against the
  bank's hashes and their derived variants (crops, trimmed borders), each group of comparisons
  at the threshold that keeps the false-match rate per candidate-bank pair <= 1e-6
  (unleak.match.calibration);
- owner-side: when the originals are on this machine, candidates that come near (a loose PDQ
  radius) or that local features point to are confirmed or rejected against the original
  itself (unleak.match.verify), and a confirmed match reports the transform.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, MutableMapping
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast

from unleak.errors import InvalidInput, UnleakError
from unleak.match.calibration import DEFAULT_TARGET, REFERENCE_MODEL, Calibration, Group, NullModel, group_thresholds
from unleak.media.files import iter_media_paths
from unleak.signals import (
    IndexHit,
    Media,
    Signal,
    SignalIndex,
    SignalType,
    compute_signals,
    get_signal_type,
    signal_types,
)
from unleak.signals.indexes import PdqBankIndex
from unleak.signals.pdq import MIN_QUALITY, PdqSignal, hamming
from unleak.signals.vpdq import VideoBankIndex, VpdqSignal, parse_frames, usable
from unleak.timing import timed

if TYPE_CHECKING:
    import numpy as np

    from unleak.match.variants import QueryHashes


class VerifyMode(StrEnum):
    """Owner-side verification of matches against the original files."""

    AUTO = "auto"  # when the originals are reachable
    ON = "on"  # required: an error when none is reachable
    OFF = "off"  # hash-only matching


class BankSignals(Protocol):
    """What the matcher reads from a bank (unleak.bank.Bank is one); match does not import the bank
    because the bank's protect step uses match.variants."""

    def active_signals(self, signal_type: str, *, with_variants: bool = False) -> list[tuple[Any, ...]]: ...
    def originals(self) -> dict[int, str]: ...
    def label_of(self, item_id: int) -> str: ...


MIN_REPORTED_RATE = 1e-12
LOOSE_RADIUS = 64  # owner-side: bank items whose PDQ comes this near are verified against the original
# Shares of the per-pair budget left after the plain comparison, by comparison group.
GROUP_WEIGHTS = {"dihedral": 0.25, "trim": 0.45, "crop": 0.30}
# How a video match names the bank's derived vPDQ it met (unleak.match.variants.VIDEO_BANK_CROPS).
VIDEO_BANK_WORDS = {"scaled": "", "scaled:half": "between frames", "crop:90": "bank crop:90", "crop:80": "bank crop:80"}


@dataclass
class Match:
    bank_id: int
    label: str
    signal: str
    distance: int
    quality: int | None = None
    query_match_percent: float | None = None  # vPDQ only
    bank_match_percent: float | None = None
    variant: str | None = None  # PDQ: which comparison matched, e.g. "plain", "dihedral:flipx", "crop:1x1<full"
    false_match_rate: float | None = None  # estimated chance per candidate-bank pair that this is unrelated
    verified: bool | None = None  # owner-side: confirmed against the original (None: not checked)
    inliers: int | None = None
    transform: dict[str, Any] | None = None  # owner-side: crop box, scale, rotation, flip, visible fraction

    def to_json(self) -> dict[str, Any]:
        out = {
            k: v for k, v in asdict(self).items() if v is not None or k in ("bank_id", "label", "signal", "distance")
        }
        if self.false_match_rate is not None:  # floored: the models say nothing sensible below
            out["false_match_rate"] = float(f"{max(self.false_match_rate, MIN_REPORTED_RATE):.3g}")
        return out


@dataclass
class MatchResult:
    path: str
    matches: list[Match] = field(default_factory=list)
    signals: dict[str, Signal] = field(default_factory=dict)
    error: str | None = None
    # Owner-side: items the candidate may be a crop of, but too plain to tell (never a match).
    inconclusive: list[int] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "matches": [m.to_json() for m in self.matches], "error": self.error}
        if self.inconclusive:
            out["inconclusive"] = list(self.inconclusive)
        return out


def comparison_groups(
    plain_threshold: int, n_dihedral: int, n_query_boxes: int, n_bank_boxes: int, n_crops: int
) -> list[Group]:
    """The comparisons between one candidate and one bank item with these hash counts, by group:
    what `group_thresholds` calibrates (here and in `unleak serve`'s variants=true)."""
    return [
        Group("plain", 1, 0.0, threshold=plain_threshold),
        Group("dihedral", n_dihedral, GROUP_WEIGHTS["dihedral"]),
        Group("trim", (1 + n_query_boxes) * (1 + n_bank_boxes) - 1, GROUP_WEIGHTS["trim"]),
        Group("crop", (1 + n_query_boxes) * n_crops, GROUP_WEIGHTS["crop"]),
    ]


def comparison_group(query_kind: str, bank_variant: str) -> str | None:
    """Which calibrated group a (query hash, bank hash) comparison belongs to; None: not compared."""
    if bank_variant.startswith("crop:"):
        return "crop" if query_kind in ("full", "box") else None
    if query_kind == "dihedral":
        return "dihedral" if bank_variant == "" else None
    if query_kind == "full" and bank_variant == "":
        return "plain"
    return "trim"  # a content box against the whole original, or either against its trimmed variants


def _reachable_videos(bank: BankSignals) -> dict[int, str]:
    """The bank's protected videos that are on this machine (none when the bank cannot say)."""
    try:
        paths = bank.originals(kind="video")  # type: ignore[call-arg]
    except TypeError:
        return {}
    return {i: p for i, p in paths.items() if Path(p).is_file()}


class Matcher:
    """Matches media against one bank. Build once, match many.

    Hash-only variants, each switchable: `dihedral`, the candidate's 7 other orientations;
    `boxes`, its content boxes (trimmed borders, letterbox, screenshot frame); `bank_variants`,
    the bank's derived hashes (crops, trimmed borders). `variants=False` turns off the last two. `verify`: "auto" verifies against the
    originals when any is reachable on this machine, "on" requires them, "off" is hash-only.
    Thresholds are calibrated so that each reported match's false-match rate, per
    candidate-bank pair, is at most `target_rate` (the plain comparison keeps `pdq_threshold`).
    `null_model`: the PDQ false-match tail; by default the bank's own (`Bank.null_model()`, fitted
    by `unleak calibrate`), else the reference.
    `precise`: owner-side, register each verified match again with unleak.registration.align
    for a refined matrix (costs 0.3-0.7 s a match); otherwise the verifier's similarity is reported.
    """

    def __init__(
        self,
        bank: BankSignals,
        *,
        fast: bool = False,
        dihedral: bool = True,
        variants: bool = True,
        boxes: bool | None = None,
        bank_variants: bool | None = None,
        verify: VerifyMode | str = VerifyMode.AUTO,
        pdq_threshold: int = PdqSignal.threshold,
        target_rate: float = DEFAULT_TARGET,
        null_model: NullModel | None = None,
        originals: dict[int, str] | None = None,
        precise: bool = False,
    ) -> None:
        try:
            mode = VerifyMode(verify)
        except ValueError:
            raise InvalidInput(f"unknown verify mode {verify!r}", hint="use auto, on or off") from None
        self.bank = bank
        self.fast = fast
        self.dihedral = dihedral
        self.boxes = variants if boxes is None else boxes
        self.bank_variants = variants if bank_variants is None else bank_variants
        self.pdq_threshold = pdq_threshold
        if null_model is None:  # the case's own calibration (`unleak calibrate`), else the reference
            own = getattr(bank, "null_model", None)
            null_model = own() if callable(own) else REFERENCE_MODEL
        self.null_model = null_model
        # Every registered signal type's bank values, in the index its type provides. PDQ's keeps
        # the derived hashes (crops, trimmed borders) for the calibrated path below.
        self.indexes: dict[str, SignalIndex] = {}
        for stype in signal_types():
            rows = bank.active_signals(stype.name, with_variants=stype is PdqSignal and self.bank_variants)
            self.indexes[stype.name] = stype.build_index(rows)
            del rows
        self.pdq = cast(PdqBankIndex, self.indexes[PdqSignal.name])
        self.videos = cast(VideoBankIndex, self.indexes[VpdqSignal.name])
        # The videos' derived vPDQ (centre crops of their frames), each compared like a video.
        by_variant: dict[str, list[tuple[Any, ...]]] = {}
        if self.bank_variants and len(self.videos):
            for r in bank.active_signals(VpdqSignal.name, with_variants=True):
                if r[4]:
                    by_variant.setdefault(r[4], []).append(r[:4])
        self.video_derived = {name: VideoBankIndex(rows) for name, rows in sorted(by_variant.items())}
        self._derived_frames: dict[int, int] = {}  # bank item -> usable frames of its derived vPDQ
        for rows in by_variant.values():
            for row in rows:
                n = len(usable(parse_frames(row[3])))
                self._derived_frames[row[1]] = self._derived_frames.get(row[1], 0) + n
        self._labels: dict[int, str] = {}
        self.verifier = None
        self.video_verifier = None
        if mode is not VerifyMode.OFF:
            paths = originals if originals is not None else bank.originals()
            reachable = {i: p for i, p in paths.items() if Path(p).is_file()}
            videos = _reachable_videos(bank) if originals is None else {}
            if videos:
                from unleak.match.verify import VERIFY_RATE
                from unleak.match.video_verify import VideoVerifier

                self.video_verifier = VideoVerifier(videos, rate=VERIFY_RATE, precise=precise)
            if reachable:
                from unleak.match.features import FeatureCache
                from unleak.match.verify import VERIFY_RATE, Verifier

                digests_of = getattr(bank, "original_digests", None)
                digests = digests_of() if callable(digests_of) and originals is None else None
                self.verifier = Verifier(
                    lambda i: Media.open(reachable[i]).pixels(),
                    sorted(reachable),
                    precise=precise,
                    cache=FeatureCache.default() if digests else None,
                    digests={i: d for i, d in (digests or {}).items() if i in reachable},
                )
                target_rate = target_rate - VERIFY_RATE  # the verification stage takes its share
            elif self.video_verifier is not None:
                target_rate = target_rate - VERIFY_RATE  # the verification stage takes its share
            elif mode is VerifyMode.ON:
                raise UnleakError(
                    "owner-side verification needs the original files, and none of this bank's is reachable",
                    hint="run it where the originals are, or use --verify off for hash-only matching",
                )
        self.target_rate = target_rate
        self._cal: dict[tuple[int, int, int, int], Calibration] = {}
        self.radius = null_model.threshold(target_rate)  # no single comparison may go further
        # The plain comparison keeps `pdq_threshold` unless that alone would break the target rate:
        # then it is tightened to spend half the budget, so a stricter --target-rate is always met.
        self.plain_threshold = pdq_threshold
        if null_model.rate(pdq_threshold) > target_rate:
            self.plain_threshold = min(pdq_threshold, null_model.threshold(target_rate / 2))
        try:
            self.calibration(7 if dihedral else 0, 0, 0, 0)
        except ValueError as exc:
            raise InvalidInput(
                f"PDQ threshold {pdq_threshold} is too loose for the target rate {target_rate:g}: {exc}",
                hint="use a looser --target-rate",
            ) from None

    @property
    def mode(self) -> str:
        return "owner-side" if self.verifier is not None or self.video_verifier is not None else "hash-only"

    def calibration(self, n_dihedral: int, n_query_boxes: int, n_bank_boxes: int, n_crops: int) -> Calibration:
        """Thresholds per comparison group for one candidate-bank pair with these hash counts."""
        key = (n_dihedral, n_query_boxes, n_bank_boxes, n_crops)
        if key not in self._cal:
            groups = comparison_groups(self.plain_threshold, *key)
            self._cal[key] = group_thresholds(groups, target=self.target_rate, model=self.null_model)
        return self._cal[key]

    def match_media(self, media: Media, timings: MutableMapping[str, float] | None = None) -> MatchResult:
        """Match one candidate. `timings`, if given, gains the seconds spent in each phase:
        `hash` (signals and query-side variant hashes), `match` (look-ups), `verify` (owner-side)."""
        result = MatchResult(path=media.name)
        with timed(timings, "hash"):
            signals = compute_signals(media, fast=self.fast)
        result.signals = signals
        best: dict[int, Match] = {}

        def keep(m: Match) -> None:
            if m.bank_id not in best or m.distance < best[m.bank_id].distance:
                best[m.bank_id] = m

        # Exact types first: a copy of the very file is reported as such, whatever else matches.
        for stype in sorted(signal_types(media.kind), key=lambda t: not t.exact):
            sig = signals.get(stype.name)
            if sig is None:
                continue
            if stype is PdqSignal:  # rotations, content boxes, bank crops, owner-side verification
                for m in self._match_pdq(media, sig, timings, result.inconclusive):
                    exact = best.get(m.bank_id)
                    if exact is not None and get_signal_type(exact.signal).exact:
                        exact.verified, exact.transform, exact.inliers = m.verified, m.transform, m.inliers
                    else:
                        keep(m)
                continue
            if not stype.usable(sig):
                continue
            with timed(timings, "match"):
                hits = self.indexes[stype.name].query(sig)
            for hit in hits:
                m = self._match_from_hit(stype, sig, hit)
                # Every signal answers to the target rate, not only PDQ's calibrated groups.
                if m.false_match_rate is None or m.false_match_rate <= self.target_rate:
                    keep(m)
        vsig = signals.get(VpdqSignal.name)
        if vsig is not None and (self.dihedral or self.boxes) and len(self.videos):
            for m in self._match_video_variants(media, vsig, timings):
                best.setdefault(m.bank_id, m)  # a plain match (or an exact one) is reported as such
        if self.video_verifier is not None and vsig is not None:
            with timed(timings, "verify"):
                self._verify_video(media, best)
        result.matches = sorted(best.values(), key=lambda m: (m.distance, m.bank_id))
        return result

    def _verify_video(self, media: Media, best: dict[int, Match]) -> None:
        """Owner-side, videos: confirm or reject the hash matches on key frames, and add the
        originals that key frames alone are confirmed against (a copy no hash finds)."""
        assert self.video_verifier is not None
        try:
            with media.as_file() as path:
                verdicts = self.video_verifier.verify(path, also=sorted(best))
        except UnleakError:  # the hash matches stand, unverified
            return
        for v in verdicts:
            m = best.get(v.item_id)
            if m is not None:
                m.verified = v.accepted
                if v.accepted:
                    m.inliers, m.transform = v.inliers, v.transform
                    m.false_match_rate = min(m.false_match_rate or 1.0, v.false_match_rate)
            elif v.accepted:
                best[v.item_id] = Match(
                    v.item_id,
                    self._label(v.item_id),
                    "local",
                    256,  # no frame hash came near
                    None,
                    variant="verified key frames",
                    false_match_rate=v.false_match_rate,
                    verified=True,
                    inliers=v.inliers,
                    transform=v.transform,
                )

    def _match_video_variants(
        self, media: Media, plain: Signal, timings: MutableMapping[str, float] | None
    ) -> list[Match]:
        """vPDQ of derived videos of the candidate, each compared by vPDQ's rule with the bank's plain
        vPDQ and with its derived vPDQ (the originals' frames whole and centre-cropped). Each
        derived video's frames are reduced first (`video_view`), as the bank's derived ones are:
        - "scaled": its frames whole (a copy shrunk: fine textures alias differently);
        - "mirrored": its frames mirrored;
        - "letterbox": its frames without uniform bars (the video's content box: the smallest
          holding every frame's content), and mirrored;
        - "screen": only the part that moves (a screen recording's played video inside the still
          player chrome), and mirrored;
        - the plain candidate against the bank's crops (a copy trimmed at every border).
        The false-match bound counts every frame comparison made for the pair (the plain video's
        included, the bank's crops included) and must meet the target rate."""
        from unleak.match.variants import (
            Box,
            frame_content_box,
            motion_box,
            motion_frame,
            video_content_box,
            video_view,
        )
        from unleak.signals.vpdq import Frame, hash_video_views

        boxes: list[Box] = []
        moving: list[np.ndarray] = []
        size: list[tuple[int, int]] = []

        def views(rgb: np.ndarray) -> dict[str, np.ndarray]:
            if self.boxes:
                size[:] = [(rgb.shape[1], rgb.shape[0])]
                box = frame_content_box(rgb)
                if box is not None:
                    boxes.append(box)
                moving.append(motion_frame(rgb))
            out = {"scaled": video_view(rgb)} if self.boxes else {}
            if self.dihedral:
                out["mirrored"] = video_view(rgb[:, ::-1])
            return out

        found: dict[str, list[Frame]] = {"": parse_frames(plain.value)}
        try:
            with timed(timings, "hash"), media.as_file() as path:
                found.update(hash_video_views(path, views))
                cut: dict[str, Box] = {}
                if size:
                    bars = video_content_box(boxes, *size[0])
                    screen = motion_box(moving, *size[0])
                    if bars is not None:
                        cut["letterbox"] = bars
                    if screen is not None and screen != bars:
                        cut["screen"] = screen
                if cut:  # a second decode, only for videos with bars or a still frame around them

                    def cuts(rgb: np.ndarray) -> dict[str, np.ndarray]:
                        out = {}
                        for name, box in cut.items():
                            out[name] = video_view(box.crop(rgb))
                            if self.dihedral:
                                out[f"{name} mirrored"] = out[name][:, ::-1]
                        return out

                    found.update(hash_video_views(path, cuts))
        except UnleakError:  # the plain vPDQ was computed: its matches stand
            return []
        n_query = sum(len(usable(v)) for v in found.values())
        out: dict[int, Match] = {}
        with timed(timings, "match"):
            indexes = [("", self.videos), *self.video_derived.items()]
            for name, frames in found.items():
                for bank_variant, index in indexes:
                    if not name and not bank_variant:
                        continue  # the plain comparison: matched already
                    # what the copy is, in words: "mirrored", "letterbox, bank crop:80", "scaled, between frames"
                    variant = ", ".join(
                        filter(None, [name or "plain", VIDEO_BANK_WORDS.get(bank_variant, bank_variant)])
                    )
                    for item_id, vm, _n in index.match(frames):
                        n_bank = len(usable(parse_frames(self._video_value(item_id))))
                        n_bank += self._derived_frames.get(item_id, 0)
                        rate = min(1.0, n_query * n_bank * self.null_model.rate(vm.median_distance))
                        if rate > self.target_rate or (item_id in out and out[item_id].distance <= vm.median_distance):
                            continue
                        out[item_id] = Match(
                            item_id,
                            self._label(item_id),
                            VpdqSignal.name,
                            vm.median_distance,
                            plain.quality,
                            round(float(vm.query_match_percent), 1),
                            round(float(vm.bank_match_percent), 1),
                            variant=variant,
                            false_match_rate=rate,
                        )
        return list(out.values())

    def _video_value(self, item_id: int) -> str:
        """The plain vPDQ value of a bank video ("[]" when it has none)."""
        import numpy as np

        pos = np.flatnonzero(self.videos.items == item_id)
        return self.videos.values[int(pos[0])] if len(pos) else "[]"

    def _match_pdq(
        self,
        media: Media,
        pdq: Signal,
        timings: MutableMapping[str, float] | None,
        inconclusive: list[int] | None = None,
    ) -> list[Match]:
        from unleak.match.variants import query_hashes
        from unleak.signals.pdq import fast_pixels

        with timed(timings, "hash"):
            pixels = fast_pixels(media) if self.fast else media.pixels()
            qh = query_hashes(pixels, dihedral=self.dihedral, boxes=self.boxes)
        queries: list[tuple[str, str, str]] = []  # (kind, name, hex)
        if qh.full.quality >= MIN_QUALITY:
            queries.append(("full", "", qh.full.value))
            queries += [("dihedral", v.variant, v.value) for v in qh.dihedral]
        queries += [("box", v.variant, v.value) for v in qh.boxes]
        n_dihedral = sum(1 for k, _, _ in queries if k == "dihedral")
        n_boxes = sum(1 for k, _, _ in queries if k == "box")
        radius = max(self.radius, LOOSE_RADIUS) if self.verifier is not None else self.radius
        # Per bank item, per group: the nearest comparison (distance, description).
        near: dict[int, dict[str, tuple[int, str]]] = {}
        nearest: dict[int, int] = {}
        with timed(timings, "match"):
            found = self.pdq.search([q[2] for q in queries], radius)
        for (kind, name, _), hits in zip(queries, found):
            for item_id, bank_variant, dist in hits:
                nearest[item_id] = min(dist, nearest.get(item_id, 999))
                group = comparison_group(kind, bank_variant)
                if group is None:
                    continue
                desc = {"plain": "plain", "dihedral": f"dihedral:{name}"}.get(
                    group, f"query:{name or 'full'}/bank:{bank_variant or 'full'}"
                )
                if group not in near.setdefault(item_id, {}) or dist < near[item_id][group][0]:
                    near[item_id][group] = (dist, desc)
        matches: dict[int, Match] = {}
        for item_id, groups in near.items():
            nb, nc = self.pdq.counts(item_id)
            cal = self.calibration(n_dihedral, n_boxes, nb, nc)
            used = {
                "plain": 1 if qh.full.quality >= MIN_QUALITY else 0,
                "dihedral": n_dihedral,
                "trim": (1 + n_boxes) * (1 + nb) - 1,
                "crop": (1 + n_boxes) * nc,
            }
            accepted = [(d, g, desc) for g, (d, desc) in groups.items() if d <= cal.thresholds.get(g, -1)]
            if not accepted:
                continue
            d, _g, desc = min(accepted)
            rate = sum(n * self.null_model.rate(min(d, cal.thresholds[grp])) for grp, n in used.items() if n)
            label = self._label(item_id)
            matches[item_id] = Match(item_id, label, "pdq", d, pdq.quality, variant=desc, false_match_rate=rate)
        if self.verifier is not None:
            with timed(timings, "verify"):
                self._verify(media, qh, nearest, matches, inconclusive)
        return list(matches.values())

    def _match_from_hit(self, stype: type[SignalType], sig: Signal, hit: IndexHit) -> Match:
        """A match found by a type's own index, with the false-match rate the type allows."""
        details = dict(hit.details)
        if stype.exact:  # the same bytes: by chance far less likely than any rate reported, so the floor
            rate: float | None = 0.0
        elif "pdq_comparisons" in details:  # union bound: some PDQ pair of the two within the median distance
            rate = min(1.0, details["pdq_comparisons"] * self.null_model.rate(hit.distance))
        else:
            rate = details.get("false_match_rate")
        return Match(
            hit.item_id,
            self._label(hit.item_id),
            stype.name,
            hit.distance,
            None if stype.exact else sig.quality,
            details.get("query_match_percent"),
            details.get("bank_match_percent"),
            false_match_rate=rate,
        )

    def _label(self, item_id: int) -> str:
        if item_id not in self._labels:  # only matched items' labels are ever loaded
            self._labels[item_id] = self.bank.label_of(item_id)
        return self._labels[item_id]

    def _verify(
        self,
        media: Media,
        qh: QueryHashes,
        nearest: dict[int, int],
        matches: dict[int, Match],
        inconclusive: list[int] | None = None,
    ) -> None:
        """Owner-side: confirm or reject the near items and those local features point to."""
        if self.verifier is None:
            return
        also = sorted(set(nearest) | set(matches), key=lambda i: nearest.get(i, 999))
        for v in self.verifier.verify_candidate(media.pixels(), also=also):
            m = matches.get(v.item_id)
            if v.reason == "inconclusive" and m is None and inconclusive is not None:
                inconclusive.append(v.item_id)
            if m is not None:
                m.verified = v.accepted
                if v.accepted:
                    m.inliers, m.transform = v.inliers, v.transform
                    m.false_match_rate = min(m.false_match_rate or 1.0, v.false_match_rate)
            elif v.accepted:
                dist = nearest.get(v.item_id)
                if dist is None:  # compare directly: the item was outside the search radius
                    mine = [qh.full.value] + [h.value for h in qh.dihedral + qh.boxes]
                    dist = min(
                        (hamming(a, b) for a in mine for _, b in self.pdq.hashes_of_item(v.item_id)), default=256
                    )
                matches[v.item_id] = Match(
                    v.item_id,
                    self._label(v.item_id),
                    "local",
                    dist,
                    qh.full.quality,
                    variant="verified",
                    false_match_rate=v.false_match_rate,
                    verified=True,
                    inliers=v.inliers,
                    transform=v.transform,
                )

    def match_paths(self, paths: Iterable[str | os.PathLike[str]]) -> Iterator[MatchResult]:
        for raw in paths:
            if isinstance(raw, str) and raw.lower().startswith(("http://", "https://")):
                yield from self.match_url(raw)
                continue
            for path in iter_media_paths([raw]):
                try:
                    yield self.match_media(Media.open(path))
                except UnleakError as exc:
                    yield MatchResult(path=str(path), error=str(exc))

    def match_url(self, url: str) -> Iterator[MatchResult]:
        """A URL, fetched through the guarded fetcher (SSRF guard, robots.txt, size limits; see
        unleak.net.fetch): the media itself, or each image and video its page shows."""
        from unleak.net.fetch import media_from_url

        try:
            found = media_from_url(url)
        except UnleakError as exc:
            yield MatchResult(path=url, error=str(exc))
            return
        for media_url, data in found:
            try:
                yield self.match_media(Media(data=data, name=media_url))
            except UnleakError as exc:
                yield MatchResult(path=media_url, error=str(exc))
