"""Where unleak keeps its data, and the limits it applies to media. Read from the environment."""

from __future__ import annotations

import math
import os
import stat
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import platformdirs

# The data folder holds the bank's hashes, the paths and labels of private media, captures and the
# claimant's address: it is the owner's alone (folders 0700, files 0600), whatever the umask.
PRIVATE_DIR, PRIVATE_FILE = 0o700, 0o600
# What unleak keeps there. Only these are tightened on start, so a $UNLEAK_HOME pointed at a
# folder that also holds other things never has those changed.
DATA_NAMES = (
    "unleak.db",
    "unleak.db-wal",
    "unleak.db-shm",
    "unleak.db-journal",
    "evidence",
    "notices",
    "watermark-keys",
    "hosts.json",
    "takedown.toml",
    "smtp-password",
    "features",
)
_checked: set[Path] = set()

N = TypeVar("N", int, float)


def home() -> Path:
    """The data folder: `$UNLEAK_HOME`, else the platform's user data folder. Made private on
    first use in a process; an existing one that others could read is fixed, with a note."""
    env = os.environ.get("UNLEAK_HOME")
    path = Path(env).expanduser() if env else Path(platformdirs.user_data_dir("unleak"))
    if path not in _checked or not path.is_dir():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.mkdir(mode=PRIVATE_DIR, exist_ok=True)
        fixed = make_private(path)
        if fixed:
            sys.stderr.write(
                f"note: {fixed} item(s) of the data folder {path} could be read by other users; "
                f"made them private (folders 0700, files 0600)\n"
            )
        _checked.add(path)
    return path


def make_private(home_dir: Path) -> int:
    """Take group and other permissions away from the data folder and what unleak keeps in it
    (symlinks are left alone). Returns how many entries were changed."""
    fixed = _tighten(home_dir, is_dir=True)
    for name in DATA_NAMES:
        top = home_dir / name
        if not top.exists() or top.is_symlink():
            continue
        if not top.is_dir():
            fixed += _tighten(top, is_dir=False)
            continue
        fixed += _tighten(top, is_dir=True)
        for root, dirs, files in os.walk(top):
            for d in dirs:
                fixed += _tighten(Path(root, d), is_dir=True)
            for f in files:
                fixed += _tighten(Path(root, f), is_dir=False)
    return fixed


def _tighten(path: Path, *, is_dir: bool) -> int:
    try:
        st = os.lstat(path)
        if stat.S_ISLNK(st.st_mode) or not stat.S_IMODE(st.st_mode) & 0o077:
            return 0
        os.chmod(path, PRIVATE_DIR if is_dir else stat.S_IMODE(st.st_mode) & PRIVATE_DIR)
        return 1
    except OSError:  # not ours to change (another owner) or gone meanwhile: leave it
        return 0


def private_dir(path: Path) -> Path:
    """`path` made as a folder, each missing level 0700 (mkdir's mode skips the parents it makes)."""
    missing = []
    p = path
    while not p.exists():
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        d.mkdir(mode=PRIVATE_DIR, exist_ok=True)
    return path


def write_private(path: Path, data: bytes) -> Path:
    """Write a file readable by its owner only (0600): beside it first, then renamed over it."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    try:
        os.fchmod(fd, PRIVATE_FILE)  # a leftover .tmp keeps its old mode through O_TRUNC
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)
    os.replace(tmp, path)
    return path


def database_url() -> str:
    """`$UNLEAK_DB` (e.g. postgresql://user@host/db), else SQLite in the data folder."""
    url = os.environ.get("UNLEAK_DB")
    if url:
        # SQLAlchemy needs the driver named; psycopg 3 is the one we ship.
        if url.startswith("postgresql://") or url.startswith("postgres://"):
            url = "postgresql+psycopg://" + url.split("://", 1)[1]
        return url
    db = home() / "unleak.db"
    if not db.exists():
        # Made 0600 before SQLite opens it: SQLite gives its -wal and -shm files the database's mode.
        os.close(os.open(db, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE))
    return f"sqlite:///{db}"


def env_number(name: str, default: N, *, minimum: N | None = None) -> N:
    """A numeric setting from the environment: `default` when unset or empty, else the value as
    the default's type (a whole number where the default is one). A value that is not such a
    number, or is below `minimum` (0 unless given), is a one-line error naming the variable."""
    from unleak.errors import UnleakError
    from unleak.text import clip, neutralize

    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    kind = type(default)
    lowest = 0 if minimum is None else minimum
    try:
        value = kind(raw)
    except (ValueError, OverflowError):
        value = None
    if value is None or not math.isfinite(value) or value < lowest:
        what = "a whole number" if kind is int else "a number"
        raise UnleakError(
            f"${name} is {clip(neutralize(raw), 40)!r}: it must be {what} of at least {lowest:,}",
            hint=f"unset it to use the default, {default}",
        )
    return value


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
            max_file_bytes=env_number("UNLEAK_MAX_FILE_BYTES", d.max_file_bytes),
            max_image_pixels=env_number("UNLEAK_MAX_IMAGE_PIXELS", d.max_image_pixels),
            max_video_seconds=env_number("UNLEAK_MAX_VIDEO_SECONDS", d.max_video_seconds),
            max_video_pixels=env_number("UNLEAK_MAX_VIDEO_PIXELS", d.max_video_pixels),
        )
