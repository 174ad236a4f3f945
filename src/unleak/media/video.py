"""Video probing and frame decoding through PyAV, with limits on size and duration."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

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
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise MediaError(f"{path}: cannot open video: {exc}",
                         hint="the file may be corrupt or incomplete") from None


def probe_video(path: Path, limits: MediaLimits | None = None) -> VideoInfo:
    """Read a video's header and check it against the limits, without decoding frames."""
    limits = limits or MediaLimits.from_env()
    size = os.path.getsize(path)
    if size > limits.max_file_bytes:
        raise LimitExceeded(f"{path}: file is {size:,} bytes, over the limit of {limits.max_file_bytes:,}",
                            hint="raise UNLEAK_MAX_FILE_BYTES if this file is genuine")
    with _open(path) as container:
        if not container.streams.video:
            raise MediaError(f"{path}: has no video stream")
        stream = container.streams.video[0]
        width, height = stream.codec_context.width, stream.codec_context.height
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / 1_000_000
        else:
            duration = 0.0
        fps = float(stream.average_rate or stream.guessed_rate or 0)
        info = VideoInfo(width, height, duration, fps, stream.codec_context.name,
                         bool(container.streams.audio))
    if width * height > limits.max_video_pixels:
        raise LimitExceeded(f"{path}: {width}x{height} frames are over the limit of "
                            f"{limits.max_video_pixels:,} pixels",
                            hint="raise UNLEAK_MAX_VIDEO_PIXELS if this video is genuine")
    if duration > limits.max_video_seconds:
        raise LimitExceeded(f"{path}: {duration:.0f} s long, over the limit of {limits.max_video_seconds:.0f} s",
                            hint="raise UNLEAK_MAX_VIDEO_SECONDS if this video is genuine")
    if width <= 0 or height <= 0:
        raise MediaError(f"{path}: the video stream has no frame size (corrupt header?)")
    return info


def iter_frames(path: Path, every_seconds: float = 1.0,
                limits: MediaLimits | None = None) -> Iterator[tuple[float, np.ndarray]]:
    """Yield (time in seconds, H x W x 3 RGB frame), one frame every `every_seconds` (0: all)."""
    import av

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
        except av.error.FFmpegError as exc:
            raise MediaError(f"{path}: cannot decode video frame: {exc}",
                             hint="the file may be corrupt or truncated") from None
