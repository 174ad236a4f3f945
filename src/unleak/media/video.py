"""Video probing and frame decoding through PyAV, with limits on size and duration."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from unleak.config import MediaLimits
from unleak.errors import LimitExceeded, MediaError


@dataclass(frozen=True)
class VideoInfo:
    width: int
    height: int
    duration: float  # seconds
    fps: float
    codec: str
    has_audio: bool


def _open(path: Path):
    import av

    try:
        return av.open(str(path), metadata_errors="ignore")
    except Exception as exc:  # noqa: BLE001 - whatever FFmpeg or PyAV raise for a bad file, it is this file's problem
        raise MediaError(f"{path}: cannot open video: {exc}", hint="the file may be corrupt or incomplete") from None


def probe_video(path: Path, limits: MediaLimits | None = None) -> VideoInfo:
    """Read a video's header and check it against the limits, without decoding frames."""
    limits = limits or MediaLimits.from_env()
    size = os.path.getsize(path)
    if size > limits.max_file_bytes:
        raise LimitExceeded(
            f"{path}: file is {size:,} bytes, over the limit of {limits.max_file_bytes:,}",
            hint="raise UNLEAK_MAX_FILE_BYTES if this file is genuine",
        )
    if _declares_more_than_it_holds(path, size):
        raise MediaError(
            f"{path}: the file is truncated (its header declares more data than it holds)",
            hint="the file may be an incomplete download or copy",
        )
    with _open(path) as container:
        if not container.streams.video:
            raise MediaError(f"{path}: has no video stream")
        stream = container.streams.video[0]
        if stream.codec_context is None:  # FFmpeg has no decoder for what the header names
            raise MediaError(
                f"{path}: the video codec is unknown or unreadable (corrupt header?)", hint="the file may be corrupt"
            )
        width, height = stream.codec_context.width, stream.codec_context.height
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / 1_000_000
        else:
            duration = 0.0
        fps = float(stream.average_rate or stream.guessed_rate or 0)
        info = VideoInfo(width, height, duration, fps, stream.codec_context.name, bool(container.streams.audio))
        pix_fmt = stream.codec_context.pix_fmt
    if width * height > limits.max_video_pixels:
        raise LimitExceeded(
            f"{path}: {width}x{height} frames are over the limit of {limits.max_video_pixels:,} pixels",
            hint="raise UNLEAK_MAX_VIDEO_PIXELS if this video is genuine",
        )
    if duration > limits.max_video_seconds:
        raise LimitExceeded(
            f"{path}: {duration:.0f} s long, over the limit of {limits.max_video_seconds:.0f} s",
            hint="raise UNLEAK_MAX_VIDEO_SECONDS if this video is genuine",
        )
    if width <= 0 or height <= 0:
        raise MediaError(f"{path}: the video stream has no frame size (corrupt header?)")
    if pix_fmt is None:
        # FFmpeg found no decodable first frame to learn it from; vpdq would hand the unknown
        # pixel format to swscale, which aborts the whole process instead of raising.
        raise MediaError(
            f"{path}: no frame of the video can be decoded (corrupt stream?)", hint="the file may be corrupt"
        )
    return info


def _declares_more_than_it_holds(path: Path, size: int) -> bool:
    """Whether the container's own size fields reach past the end of the file: a cut-off copy.

    FFmpeg decodes what is there of a cut-off Matroska/WebM (or fast-start MP4) without a word,
    so this is checked from the top-level structure: MP4/MOV boxes, the Matroska Segment, RIFF.
    Anything this cannot parse is left for FFmpeg to judge.
    """
    try:
        with open(path, "rb") as fh:
            head = fh.read(12)
            if head[:4] == b"\x1a\x45\xdf\xa3":
                fh.seek(4)
                fh.seek(_ebml_size(fh)[0], 1)  # past the EBML header
                if fh.read(4) != b"\x18\x53\x80\x67":  # Segment
                    return False
                length, unknown = _ebml_size(fh)
                return not unknown and fh.tell() + length > size
            if head[:4] == b"RIFF":
                return int.from_bytes(head[4:8], "little") + 8 > size
            if head[4:8] == b"ftyp":
                pos = 0
                while pos + 8 <= size:
                    fh.seek(pos)
                    box = fh.read(16)
                    length = int.from_bytes(box[:4], "big")
                    if length == 1:  # 64-bit size follows the type
                        length = int.from_bytes(box[8:16], "big")
                    if length < 8:  # 0: runs to the end of the file; less: not a box, FFmpeg decides
                        return False
                    pos += length
                return pos > size
    except (OSError, ValueError):
        pass
    return False


def _ebml_size(fh: BinaryIO) -> tuple[int, bool]:
    """An EBML variable-length size: (value, whether it is the 'unknown size' marker)."""
    first = fh.read(1)
    if not first or first[0] == 0:
        raise ValueError("bad EBML size")
    n = 8 - first[0].bit_length() + 1  # leading zero bits + 1 = length in bytes
    value = first[0] & ((1 << (8 - n)) - 1)
    for byte in fh.read(n - 1):
        value = (value << 8) | byte
    return value, value == (1 << (7 * n)) - 1


def iter_frames(
    path: Path, every_seconds: float = 1.0, limits: MediaLimits | None = None
) -> Iterator[tuple[float, np.ndarray]]:
    """Yield (time in seconds, H x W x 3 RGB frame), one frame every `every_seconds` (0: all)."""
    probe_video(path, limits)
    limit_seconds = (limits or MediaLimits.from_env()).max_video_seconds
    next_time = 0.0
    with _open(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        try:
            for frame in container.decode(stream):
                t = float(frame.time) if frame.time is not None else next_time
                if t > limit_seconds:
                    break
                if every_seconds and t + 1e-6 < next_time:
                    continue
                next_time = t + every_seconds
                yield t, frame.to_ndarray(format="rgb24")
        except Exception as exc:  # noqa: BLE001 - FFmpeg errors, and PyAV's ValueError for frames it cannot convert
            raise MediaError(
                f"{path}: cannot decode video frame: {exc}", hint="the file may be corrupt or truncated"
            ) from None


def key_frame(data: bytes, limits: MediaLimits | None = None, *, tries: int = 5) -> np.ndarray:
    """An H x W x 3 RGB key frame of the video in `data`, decoded in memory (never written to disk):
    the first of the first `tries` key frames that is not a plain fade (black or one colour), else
    the last of them. Only key frames are decoded, so this is cheap even for a long video."""
    import io

    import av

    limits = limits or MediaLimits.from_env()
    if len(data) > limits.max_file_bytes:
        raise LimitExceeded(
            f"video is {len(data):,} bytes, over the limit of {limits.max_file_bytes:,}",
            hint="raise UNLEAK_MAX_FILE_BYTES if this file is genuine",
        )
    chosen: np.ndarray | None = None
    try:
        with av.open(io.BytesIO(data), mode="r", metadata_errors="ignore") as container:
            if not container.streams.video:
                raise MediaError("the file has no video stream")
            stream = container.streams.video[0]
            ctx = stream.codec_context
            if ctx is None:
                raise MediaError("the video codec is unknown or unreadable")
            if ctx.width * ctx.height > limits.max_video_pixels:
                raise LimitExceeded(f"video frames of {ctx.width}x{ctx.height} are over the pixel limit")
            ctx.skip_frame = "NONKEY"
            for n, frame in enumerate(container.decode(stream)):
                chosen = frame.to_ndarray(format="rgb24")
                if float(chosen.std()) > 8.0 or n + 1 >= tries:
                    break
    except MediaError:
        raise
    except Exception as exc:  # noqa: BLE001 - FFmpeg's and PyAV's errors for a bad file
        raise MediaError(f"cannot decode the video: {exc}", hint="the file may be corrupt or truncated") from None
    if chosen is None:
        raise MediaError("the video holds no frame")
    return chosen
