"""Where unleak keeps its data, and the limits it applies to media. Read from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs


def home() -> Path:
    """The data folder: `$UNLEAK_HOME`, else the platform's user data folder."""
    env = os.environ.get("UNLEAK_HOME")
    path = Path(env).expanduser() if env else Path(platformdirs.user_data_dir("unleak"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def database_url() -> str:
    """`$UNLEAK_DB` (e.g. postgresql://user@host/db), else SQLite in the data folder."""
    url = os.environ.get("UNLEAK_DB")
    if url:
        # SQLAlchemy needs the driver named; psycopg 3 is the one we ship.
        if url.startswith("postgresql://") or url.startswith("postgres://"):
            url = "postgresql+psycopg://" + url.split("://", 1)[1]
        return url
    return f"sqlite:///{home() / 'unleak.db'}"


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def _env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


@dataclass(frozen=True)
class MediaLimits:
    """Refuse media beyond these, before decoding it in full."""

    max_file_bytes: int = 2 * 1024**3
    max_image_pixels: int = 100_000_000
    max_video_seconds: float = 4 * 3600.0
    max_video_pixels: int = 3840 * 2160 * 2

    @classmethod
    def from_env(cls) -> MediaLimits:
        d = cls()
        return cls(
            max_file_bytes=_env_int("UNLEAK_MAX_FILE_BYTES", d.max_file_bytes),
            max_image_pixels=_env_int("UNLEAK_MAX_IMAGE_PIXELS", d.max_image_pixels),
            max_video_seconds=_env_float("UNLEAK_MAX_VIDEO_SECONDS", d.max_video_seconds),
            max_video_pixels=_env_int("UNLEAK_MAX_VIDEO_PIXELS", d.max_video_pixels),
        )
