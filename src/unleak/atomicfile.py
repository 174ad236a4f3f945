"""Write a file whole or not at all: a unique temporary name next to it (created exclusively, its
mode and group set before any byte is written), fsync, then rename over the final name.

A task run twice, two writers, or a kill at any point never leave a partial file, nor one that was
readable by others for a moment, under the final name."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path


def write_atomically(path: Path, data: bytes, *, mode: int | None = None, gid: int = -1) -> Path:
    """Write `data` to `path`. `mode`: the file's mode (else 0666 less the umask, as open() does);
    `gid`: its group (-1: the folder's or the process's, as usual)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.part")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600 if mode is not None else 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            if gid >= 0:
                os.fchown(f.fileno(), -1, gid)
            if mode is not None:
                os.fchmod(f.fileno(), mode)  # after the chown, which may clear mode bits
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)
    return path


def fsync_dir(folder: Path) -> None:
    """Make a rename in `folder` durable (best effort: not every file system allows it)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
