"""Per-recipient forensic watermarks: mark one copy per recipient, trace a leak to its source.

Public API::

    key = WatermarkKey.generate()                       # one per case (keys.load_or_create)
    marked = mark_pixels(pixels, key, recipient_id)     # uint8 array in, uint8 array out
    results = mark_file(path, out_dir, key, [(recipient_id, "alice"), ...])
    result = trace_pixels(original, leaked, key, recipient_ids)     # TraceResult
    result = trace_file(leaked_path, original_path, key, recipient_ids)

See docs/watermark.md for the scheme and the false-accusation bound.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from unleak.errors import MediaError, UnleakError
from unleak.media.sniff import MediaKind, sniff_file

from .code import CodeParams
from .imagefile import extension_for, image_marker, load_image, mark_pixels, save_image
from .keys import DEFAULT_PSNR_DB, WatermarkKey, key_path, load_or_create
from .spread import SCHEME, SCHEMES
from .trace import DEFAULT_BOUND, Accusation, TraceResult, accuse, not_aligned, trace_pixels

VIDEO_SCHEME = 1  # videos keep one layout for every frame of every video

__all__ = [
    "DEFAULT_BOUND",
    "DEFAULT_PSNR_DB",
    "SCHEME",
    "Accusation",
    "CodeParams",
    "MarkResult",
    "TraceResult",
    "WatermarkKey",
    "accuse",
    "key_path",
    "load_or_create",
    "mark_file",
    "mark_pixels",
    "trace_file",
    "trace_pixels",
]


@dataclass
class MarkResult:
    recipient: str  # the label given for the recipient (name or handle)
    path: str | None
    error: str | None = None
    scheme: int | None = None  # the marking scheme of the copy (None when none was made)

    def to_json(self) -> dict:
        return {"recipient": self.recipient, "path": self.path, "error": self.error, "scheme": self.scheme}


def _safe_name(label: str) -> str:
    s = re.sub(r"[^A-Za-z0-9._-]+", "_", label).strip("._")
    return s[:80] or "recipient"


def mark_file(
    original: Path,
    out_dir: Path,
    key: WatermarkKey,
    recipients: Sequence[tuple[str, str]],
    *,
    psnr_db: float | None = None,
    jobs: int = 1,
) -> list[MarkResult]:
    """One marked copy of ``original`` per ``(recipient_id, label)`` into ``out_dir``.

    ``jobs``: copies made at once (threads; the per-photo work is done once). Results come
    back in the order of ``recipients`` whatever ``jobs`` is.

    Images keep their format and quality (JPEG from the quantisation tables, WebP lossless
    or lossy with its quantiser, HEIC by file size); videos keep their container
    (MP4/MOV/WebM) and audio. A failure for one recipient is reported in its result and does
    not stop the others; an unreadable original gives every recipient that error.
    """
    original = Path(original)
    try:
        kind, fmt = sniff_file(original)
        src = load_image(original) if kind is MediaKind.IMAGE else None
        out_dir.mkdir(parents=True, exist_ok=True)
    except (UnleakError, OSError) as exc:  # an unreadable original: every recipient gets the error
        msg = str(exc) if isinstance(exc, UnleakError) else f"{original}: {exc.strerror or exc}"
        return [MarkResult(label, None, msg) for _, label in recipients]
    stem = original.stem
    if src is not None:
        ext = extension_for(src)
        one = image_marker(src.pixels, key, psnr_db=psnr_db, scheme=SCHEME)

        def mark_image(item: tuple[str, str]) -> MarkResult:
            rid, label = item
            dst = out_dir / f"{stem}.{_safe_name(label)}{ext}"
            px = one(rid)
            try:
                save_image(px, src, dst)
                return MarkResult(label, str(dst), scheme=SCHEME)
            except (OSError, ValueError) as exc:
                return MarkResult(label, None, f"cannot write {dst}: {exc}")

        return _run(mark_image, recipients, jobs)
    from .video import mark_video

    ext = {"mov": ".mov", "webm": ".webm"}.get(fmt, ".mp4")

    def mark_one_video(item: tuple[str, str]) -> MarkResult:
        rid, label = item
        dst = out_dir / f"{stem}.{_safe_name(label)}{ext}"
        try:
            mark_video(original, dst, key, rid, psnr_db=psnr_db, threads=1 if jobs > 1 else 0)
            return MarkResult(label, str(dst), scheme=VIDEO_SCHEME)
        except (UnleakError, OSError, ValueError) as exc:
            return MarkResult(label, None, str(exc))

    return _run(mark_one_video, recipients, jobs)


def _run(fn, items: Sequence[tuple[str, str]], jobs: int) -> list[MarkResult]:
    if jobs <= 1 or len(items) <= 1:
        return [fn(x) for x in items]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(jobs, len(items))) as ex:
        return list(ex.map(fn, items))


def _pixels(path: Path) -> np.ndarray:
    return load_image(path, estimate_quality=False).pixels


def trace_file(
    leaked: Path,
    original: Path,
    key: WatermarkKey,
    recipients: Sequence[str],
    *,
    bound: float = DEFAULT_BOUND,
    schemes: Sequence[int] = SCHEMES,
) -> TraceResult:
    """Trace a leaked image or video file against its original file.

    ``schemes``: the marking schemes copies of this original were made with (images; videos
    are all scheme 1); every one is read and counted in the bound.
    """
    kind_l, _ = sniff_file(Path(leaked))
    kind_o, _ = sniff_file(Path(original))
    if kind_l is not kind_o:
        raise MediaError(
            f"{leaked} is an {kind_l.value} but {original} is an {kind_o.value}",
            hint="give the original the leak was made from",
        )
    if kind_l is MediaKind.IMAGE:
        return trace_pixels(
            _pixels(Path(original)), _pixels(Path(leaked)), key, recipients, bound=bound, schemes=schemes or SCHEMES
        )
    from .video import extract_video

    z, al, frames = extract_video(Path(original), Path(leaked), key)
    if z is None:
        return not_aligned(len(recipients), bound, "the video could not be aligned to the original")
    result = accuse(z, key, recipients, bound=bound)
    result.alignment, result.frames = al, frames
    return result
