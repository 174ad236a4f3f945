"""What a person looks at: blurred thumbnails of found copies and a case's timeline.

Thumbnails are made in memory from the capture (decrypted in memory only, never written to disk)
and blurred here, on the server: a blur applied by the browser would still send the picture.
"""

from __future__ import annotations

import io
import warnings
from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from PIL import Image, ImageFilter
from sqlalchemy import select

from unleak.errors import MediaError, NotFound, UnleakError
from unleak.store import Store
from unleak.store.models import Capture, LogRecord, Notice, Sighting

THUMB_SIDE = 240


def _media_payload(warc: bytes, media_url: str) -> bytes | None:
    """The media bytes a capture's WARC holds for `media_url` (a response or resource record)."""
    from warcio.archiveiterator import ArchiveIterator

    fallback = None
    for rec in ArchiveIterator(io.BytesIO(warc)):
        if rec.rec_type not in ("response", "resource"):
            continue
        uri = rec.rec_headers.get_header("WARC-Target-URI") or ""
        if uri.startswith("urn:screenshot:"):
            continue
        body = rec.content_stream().read()
        if uri == media_url:
            return body
        fallback = body
    return fallback


def _video_frame(payload: bytes) -> Image.Image | None:
    """A key frame of a captured video, decoded in memory (the capture is never written decrypted)."""
    from unleak.media.sniff import MediaKind, sniff_bytes
    from unleak.media.video import key_frame

    kind = sniff_bytes(payload[:64])
    if kind is None or kind[0] != MediaKind.VIDEO:
        return None
    try:
        return Image.fromarray(key_frame(payload))
    except (MediaError, UnleakError):
        return None


def sighting_thumbnail(store: Store, case: str, sighting_id: int, *, blur: bool = True) -> bytes | None:
    """A JPEG thumbnail of the copy found at sighting `sighting_id` (blurred unless `blur` is
    False), from its first capture (for a video, a key frame); None when there is no capture or
    nothing in it decodes."""
    from unleak.evidence.capture import read_capture
    from unleak.media.image import decode_image

    with store.session() as s:
        c = store.case(s, case)
        si = s.get(Sighting, sighting_id)
        if si is None or si.case_id != c.id:
            raise NotFound(f"no sighting {sighting_id} in case {c.name!r}")
        cap = s.scalars(select(Capture).where(Capture.sighting_id == si.id).order_by(Capture.id).limit(1)).first()
        if cap is None:
            return None
        warc = read_capture(c.id, cap)
        media_url = si.media_url
    payload = _media_payload(warc, media_url)
    if not payload:
        return None
    image: Image.Image | None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            image = decode_image(payload, name="capture").convert("RGB")
    except (MediaError, OSError, UnleakError):
        image = _video_frame(payload)
    if image is None:
        return None  # nothing an image or video decoder reads
    image.thumbnail((THUMB_SIDE, THUMB_SIDE))
    if blur:
        # Pixelate then blur: nothing of the picture's detail survives, only its colours.
        small = image.resize((max(1, image.width // 16), max(1, image.height // 16)), Image.Resampling.BILINEAR)
        image = small.resize(image.size, Image.Resampling.NEAREST).filter(ImageFilter.GaussianBlur(8))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


@dataclass
class Timeline:
    """Per day: copies found by host, removals, notices sent."""

    found: dict[str, Counter[date]] = field(default_factory=dict)  # host -> day -> copies first seen
    removed: Counter[date] = field(default_factory=Counter)
    notices_sent: Counter[date] = field(default_factory=Counter)

    @property
    def days(self) -> list[date]:
        all_days: set[date] = set(self.removed) | set(self.notices_sent)
        for per_day in self.found.values():
            all_days |= set(per_day)
        return sorted(all_days)


def case_timeline(store: Store, case: str) -> Timeline:
    """Copies found per day and host, removals and notices sent, from the case's records."""
    t = Timeline()
    with store.session() as s:
        c = store.case(s, case)
        for host, first_seen, removed_at in s.execute(
            select(Sighting.host, Sighting.first_seen, Sighting.removed_at).where(Sighting.case_id == c.id)
        ):
            t.found.setdefault(host or "(no host)", Counter())[first_seen.date()] += 1
            if removed_at is not None:
                t.removed[removed_at.date()] += 1
        for sent_at in s.scalars(select(Notice.sent_at).where(Notice.case_id == c.id, Notice.sent_at.is_not(None))):
            if sent_at is not None:
                t.notices_sent[sent_at.date()] += 1
    return t


def timeline_svg(timeline: Timeline, *, max_hosts: int = 6) -> bytes:
    """The timeline as an SVG chart (matplotlib; no script in it): stacked bars of copies found per
    host and day, lines for removals and notices sent."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    days = timeline.days
    fig = Figure(figsize=(8, 3.2))
    ax = fig.add_subplot()
    if not days:
        ax.text(0.5, 0.5, "Nothing found yet", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
    else:
        totals = sorted(timeline.found.items(), key=lambda kv: -sum(kv[1].values()))
        shown = totals[:max_hosts]
        rest: Counter[date] = Counter()
        for _, per_day in totals[max_hosts:]:
            rest.update(per_day)
        if rest:
            shown.append(("other hosts", rest))
        x = list(range(len(days)))
        edges = [i - 0.5 for i in range(len(days) + 1)]
        bottom = [0] * len(days)
        for host, per_day in shown:
            values = [per_day.get(d, 0) for d in days]
            top = [b + v for b, v in zip(bottom, values)]
            # one filled step artist per host, not a patch per bar: fast with many days
            ax.stairs(top, edges, baseline=bottom, fill=True, label=f"found on {host}")
            bottom = top
        ax.plot(x, [timeline.removed.get(d, 0) for d in days], "k--o", label="removed")
        ax.plot(x, [timeline.notices_sent.get(d, 0) for d in days], "g-^", label="notices sent")
        step = max(1, len(days) // 10)
        ax.set_xticks(x[::step], [d.isoformat() for d in days][::step], rotation=30, ha="right", fontsize=8)
        ax.set_ylabel("per day")
        ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    out = io.BytesIO()
    with matplotlib.rc_context({"svg.fonttype": "none"}):  # text as text, not glyph outlines: smaller, faster
        fig.savefig(out, format="svg", metadata={"Date": None})
    return out.getvalue()


def log_head(store: Store, case: str) -> tuple[int, str | None]:
    """The number of records in the case's log and its head hash (to note down)."""
    from unleak.evidence.log import head

    with store.session() as s:
        c = store.case(s, case)
        h = head(s, c.id)
        n = s.scalar(select(LogRecord.seq).where(LogRecord.case_id == c.id).order_by(LogRecord.seq.desc()).limit(1))
        return (n or 0), (h.hash if h else None)
