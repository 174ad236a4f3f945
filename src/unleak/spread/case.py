"""The spread of a case's items: each copy's media from its evidence capture, measured against the
protected original where it lies on this machine, the estimated tree, and a per-host timeline."""

from __future__ import annotations

import io
import json
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select

from unleak.errors import InvalidInput, UnleakError
from unleak.evidence.capture import read_capture
from unleak.evidence.log import iso_utc
from unleak.evidence.report import SpreadSection
from unleak.spread.features import Copy, Reference, describe_image, describe_video, reference, thumbs
from unleak.spread.tree import Lineage, estimate
from unleak.store import Store
from unleak.store.models import BankItem, Capture, Sighting

STATEMENT = (
    "This is an estimate, not a finding: it orders the copies by what can be measured (how each "
    "copy is cropped, scaled, flipped, compressed and added to, and when it was posted and first "
    "seen), and each edge says how sure it is. The first public copy is the earliest upload found; "
    "its uploader is not necessarily the person who leaked the media."
)
VIDEO_FPS = 4.0  # frames a second read from videos to find which part of the original a clip shows


@dataclass
class SpreadCopy:
    """One sighting as the tree shows it."""

    sighting: int
    host: str
    uploader: str | None
    posted_at: str | None
    first_seen: datetime
    removed_at: datetime | None
    url: str


@dataclass
class ItemSpread:
    item: int
    lineage: Lineage
    sightings: dict[int, SpreadCopy]
    timeline: list[dict[str, Any]]
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        lin = self.lineage
        nodes = []
        for c in lin.nodes:
            s = self.sightings[c.id]
            nodes.append(
                {
                    "sighting": c.id,
                    "same_file": c.ids[1:],
                    "host": s.host,
                    "uploader": s.uploader,
                    "posted_at": s.posted_at,
                    "first_seen": iso_utc(s.first_seen),
                    "measured": c.facts(),
                    "basis": "registered" if c.registered else ("video" if c.kind == "video" else "hash, size, time"),
                }
            )
        return {
            "item": self.item,
            "root": lin.root,
            "root_confidence": round(lin.root_confidence, 3),
            "root_reasons": lin.root_reasons,
            "edges": [e.to_json() for e in lin.edges],
            "nodes": nodes,
            "timeline": self.timeline,
            "notes": self.notes,
            "statement": STATEMENT,
        }


def _hours(when: datetime) -> float:
    return when.timestamp() / 3600.0


def _post_time(s: Sighting) -> float:
    """Hours: the page's post time when it parsed and is not after the first sighting, else the first sighting."""
    seen = _hours(s.first_seen)
    if s.posted_at:
        try:
            posted = datetime.fromisoformat(s.posted_at.replace("Z", "+00:00"))
            if posted.tzinfo is not None:
                return min(seen, _hours(posted))
        except ValueError:
            pass
    return seen


def _media_from_warc(warc: bytes, details: str) -> bytes | None:
    """The media payload of a capture's WARC (the record its details name)."""
    from warcio.archiveiterator import ArchiveIterator

    try:
        ids = json.loads(details or "{}").get("record_ids") or {}
    except ValueError:
        return None
    want = ids.get("media_response") or ids.get("media_resource")
    if not want:
        return None
    for rec in ArchiveIterator(io.BytesIO(warc)):
        if rec.rec_headers.get_header("WARC-Record-ID") == want:
            data: bytes = rec.content_stream().read()
            return data
    return None


def _image_array(data: bytes) -> np.ndarray | None:
    from unleak.media.image import decode_image

    try:
        return np.asarray(decode_image(data).convert("RGB"))
    except (UnleakError, OSError, ValueError):
        return None


def _video_frames(data: bytes | Path) -> list[np.ndarray] | None:
    from unleak.media.video import iter_frames

    try:
        if isinstance(data, Path):
            return [f for _, f in iter_frames(data, 1.0 / VIDEO_FPS)]
        with tempfile.NamedTemporaryFile(suffix=".video") as fh:
            fh.write(data)
            fh.flush()
            return [f for _, f in iter_frames(Path(fh.name), 1.0 / VIDEO_FPS)]
    except (UnleakError, OSError, ValueError):
        return None


def spread_case(store: Store, case: str | None, *, item: int | None = None, media: bool = True) -> list[ItemSpread]:
    """The estimated spread of each protected item of the case that has sightings (or of `item`).

    `media=False` uses only what the sightings hold (hashes, sizes, times): fast, and less sure."""
    with store.session() as s:
        c = store.case(s, case, create=False)
        q = select(Sighting).where(Sighting.case_id == c.id).order_by(Sighting.id)
        if item is not None:
            if s.get(BankItem, item) is None or s.get_one(BankItem, item).case_id != c.id:
                raise InvalidInput(f"item {item} is not in case {c.name}", hint="see `unleak bank list --case CASE`")
            q = q.where(Sighting.bank_item_id == item)
        rows = list(s.scalars(q))
        items = {i.id: i for i in s.scalars(select(BankItem).where(BankItem.case_id == c.id))}
        caps: dict[int, Capture] = {}
        for cap in s.scalars(select(Capture).where(Capture.case_id == c.id).order_by(Capture.id)):
            caps.setdefault(cap.sighting_id, cap)
        by_item: dict[int, list[Sighting]] = {}
        for si in rows:
            by_item.setdefault(si.bank_item_id, []).append(si)
        out = []
        for bank_id in sorted(by_item):
            out.append(_item_spread(c.id, items[bank_id], by_item[bank_id], caps, media))
        if item is not None and not out:
            out.append(ItemSpread(item, estimate([]), {}, [], ["no sightings of this item yet"]))
        return out


def _item_spread(
    case_id: int, bank: BankItem, sightings: list[Sighting], caps: dict[int, Capture], media: bool
) -> ItemSpread:
    notes: list[str] = []
    original: Reference | np.ndarray | None = None  # a photo's reference, or a video's frame thumbnails
    if media and bank.path and Path(bank.path).is_file():
        if bank.kind == "image":
            arr = _image_array(Path(bank.path).read_bytes())
            original = reference(arr) if arr is not None else None
        elif bank.kind == "video":
            frames = _video_frames(Path(bank.path))
            original = thumbs(frames) if frames else None
    if media and original is None:
        notes.append("the protected original is not on this machine: copies are compared with each other only")
    copies: list[Copy] = []
    no_media = 0
    for si in sightings:
        data = None
        cap = caps.get(si.id)
        if media and cap is not None:
            try:
                data = _media_from_warc(read_capture(case_id, cap), cap.details)
            except (UnleakError, OSError, ValueError):
                data = None
        t = _post_time(si)
        copy: Copy | None = None
        if data is not None and bank.kind == "video":
            frames = _video_frames(data)
            if frames:
                copy = describe_video(
                    [si.id],
                    frames,
                    VIDEO_FPS,
                    original=original if isinstance(original, np.ndarray) else None,
                    original_fps=VIDEO_FPS,
                    size=len(data),
                    time=t,
                    sha256=si.media_sha256,
                )
        elif data is not None:
            arr = _image_array(data)
            if arr is not None:
                ref = original if isinstance(original, Reference) else None
                copy = describe_image(
                    [si.id], arr, ref, data=data, time=t, sha256=si.media_sha256, bank_distance=si.distance
                )
        if copy is None:
            no_media += 1
            copy = Copy(
                ids=[si.id],
                kind=bank.kind if bank.kind in ("image", "video") else "image",
                sha256=si.media_sha256,
                time=t,
                bank_distance=si.distance,
            )
        copies.append(copy)
    if no_media:
        notes.append(
            f"{no_media} cop{'y has' if no_media == 1 else 'ies have'} no captured media: "
            "their edges rest on hash distances, sizes and times, and say so"
        )
    lineage = estimate(copies)
    views = {
        si.id: SpreadCopy(si.id, si.host, si.uploader, si.posted_at, si.first_seen, si.removed_at, si.media_url)
        for si in sightings
    }
    return ItemSpread(bank.id, lineage, views, timeline(sightings), notes)


def timeline(sightings: list[Sighting]) -> list[dict[str, Any]]:
    """Per host: first seen, removed (when every copy there is down), and re-uploads, by first seen."""
    hosts: dict[str, list[Sighting]] = {}
    for si in sightings:
        hosts.setdefault(si.host, []).append(si)
    out = []
    for host, ss in hosts.items():
        up = [si for si in ss if si.status != "removed"]
        removed = [si.removed_at for si in ss if si.removed_at is not None]
        out.append(
            {
                "host": host,
                "first_seen": iso_utc(min(si.first_seen for si in ss)),
                "removed_at": iso_utc(max(removed)) if removed and not up else None,
                "reuploads": sum(si.reupload_count for si in ss)
                + sum(1 for si in ss if si.reupload and not si.reupload_count),
                "copies": len(ss),
                "still_up": len(up),
            }
        )
    out.sort(key=lambda h: (h["first_seen"], h["host"]))
    return out


def sighting_fields(spreads: list[ItemSpread]) -> dict[int, dict[str, Any]]:
    """Per sighting, the lineage fields of the evidence bundle's sightings.json."""
    out: dict[int, dict[str, Any]] = {}
    for sp in spreads:
        parents = {e.child: e for e in sp.lineage.edges}
        for sid in sp.sightings:
            e = parents.get(sid)
            out[sid] = {
                "derived_from": e.parent if e else None,
                "derived_confidence": round(e.confidence, 3) if e else None,
                "derived_how": e.how if e else None,
                "first_public_copy": sid == sp.lineage.root,
            }
    return out


def bundle_section(store: Store, case: str, folder: Path) -> SpreadSection | None:
    """The evidence bundle's spread section (pass to export_bundle(spread=...)); writes spread.png."""
    spreads = [sp for sp in spread_case(store, case) if sp.lineage.nodes]
    if not spreads:
        return None
    from unleak.spread.render import figure_bytes

    (folder / "spread.png").write_bytes(figure_bytes(spreads, "png"))
    items = []
    for sp in spreads:
        lin = sp.lineage
        host = {sid: v.host for sid, v in sp.sightings.items()}
        title = f"Item {sp.item}: likely first public copy sighting {lin.root} ({lin.root_confidence:.0%} sure)"
        edges = [
            (f"#{e.parent} {host[e.parent]}", f"#{e.child} {host[e.child]}", e.how, f"{e.confidence:.0%}", e.basis)
            for e in lin.edges
        ]
        hosts = [
            (t["host"], t["first_seen"], t["removed_at"] or "still up", t["reuploads"], t["copies"])
            for t in sp.timeline
        ]
        items.append((title, lin.root_reasons + sp.notes, edges, hosts))
    return SpreadSection(STATEMENT, items, sighting_fields(spreads), "spread.png")


__all__ = ["STATEMENT", "ItemSpread", "bundle_section", "sighting_fields", "spread_case", "timeline"]
