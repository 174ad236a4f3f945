"""Tell images from videos from everything else by their first bytes."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from unleak.errors import MediaError


class MediaKind(StrEnum):
    IMAGE = "image"
    VIDEO = "video"


_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}
_AVIF_BRANDS = {b"avif", b"avis"}

_EXTENSION_KIND = {
    **{
        e: MediaKind.IMAGE
        for e in (".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff", ".heic", ".heif", ".avif")
    },
    **{e: MediaKind.VIDEO for e in (".mp4", ".m4v", ".mov", ".webm", ".mkv", ".avi")},
}


def sniff_bytes(head: bytes) -> tuple[MediaKind, str] | None:
    """(kind, format) from the first 64 bytes, or None if it is not media we read."""
    if head.startswith(b"\xff\xd8\xff"):
        return MediaKind.IMAGE, "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return MediaKind.IMAGE, "png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return MediaKind.IMAGE, "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return MediaKind.IMAGE, "webp"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return MediaKind.VIDEO, "avi"
    if head[:2] == b"BM" and len(head) >= 14:
        return MediaKind.IMAGE, "bmp"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return MediaKind.IMAGE, "tiff"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return MediaKind.VIDEO, "webm" if b"webm" in head else "mkv"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _AVIF_BRANDS:
            return MediaKind.IMAGE, "avif"
        if brand in _HEIF_BRANDS:
            return MediaKind.IMAGE, "heif"
        if brand == b"qt  ":
            return MediaKind.VIDEO, "mov"
        return MediaKind.VIDEO, "mp4"
    return None


def sniff_file(path: Path) -> tuple[MediaKind, str]:
    """Sniff a file; a file that is not media, or that names itself media but is not, is an error."""
    from unleak.media.files import open_regular  # never blocks on a FIFO; a link loop is a MediaError

    with open_regular(path) as fh:
        head = fh.read(64)
    if not head:
        raise MediaError(f"{path}: the file is empty")
    found = sniff_bytes(head)
    if found is None:
        claimed = _EXTENSION_KIND.get(path.suffix.lower())
        if claimed is not None:
            raise MediaError(
                f"{path}: named like {claimed.value} ({path.suffix}) but its content is not a supported image or video",
                hint="the file may be corrupt, or another kind of file renamed",
            )
        raise MediaError(f"{path}: not a supported image or video")
    return found
