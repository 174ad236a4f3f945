"""The user's files: found in folders and opened without ever blocking or looping.

A FIFO named `photo.jpg` would block `open()` until some other process writes to it, and a
device could be read forever; a symbolic link that points at itself cannot be opened at all.
So every file is looked at (`stat`) before it is opened, opened with O_NONBLOCK (it cannot
block even if the file was swapped for a FIFO since), and checked again on the open descriptor.
Special files (FIFOs, sockets, devices) are passed over with a note; a link loop or an
unreadable file is that one file's error, never the whole batch's.
"""

from __future__ import annotations

import errno
import logging
import os
import stat
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from unleak.errors import MediaError

log = logging.getLogger("unleak.files")
log.addHandler(logging.NullHandler())

OnSkip = Callable[[Path, str], None]

_KINDS = {
    stat.S_IFIFO: "a named pipe (FIFO)",
    stat.S_IFSOCK: "a socket",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
}


class SpecialFile(MediaError):
    """Not a regular file: a FIFO, socket or device. Passed over with a note, not a failure."""


def special_kind(mode: int) -> str | None:
    """What a special file is, in words; None for a regular file, folder or link."""
    return _KINDS.get(stat.S_IFMT(mode))


def _os_error(path: Path, exc: OSError) -> MediaError:
    if exc.errno == errno.ELOOP:
        return MediaError(f"{path}: a loop of symbolic links", hint="point the link at a real file")
    if exc.errno == errno.ENOENT:
        return MediaError(f"{path}: no such file", hint="check the path")
    if exc.errno in (errno.EACCES, errno.EPERM):
        return MediaError(f"{path}: permission denied", hint="check the file's permissions")
    if exc.errno == errno.EISDIR:
        return MediaError(f"{path}: is a folder, not a file")
    return MediaError(f"{path}: cannot be read: {exc.strerror or exc}")


def check_regular(path: Path) -> os.stat_result:
    """The file's status if it is a regular file (links followed); else a one-line `MediaError`
    (`SpecialFile` for a FIFO, socket or device)."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise _os_error(path, exc) from None
    _require_regular(path, st.st_mode)
    return st


def _require_regular(path: Path, mode: int) -> None:
    if stat.S_ISREG(mode):
        return
    if stat.S_ISDIR(mode):
        raise MediaError(f"{path}: is a folder, not a file")
    kind = special_kind(mode) or "not a regular file"
    raise SpecialFile(f"{path}: {kind}, not a regular file", hint="give a photo or video file")


def open_regular(path: Path) -> BinaryIO:
    """Open a regular file for reading; never blocks on a FIFO, even one swapped in after a check."""
    check_regular(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise _os_error(path, exc) from None
    try:
        _require_regular(path, os.fstat(fd).st_mode)
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


def read_regular(path: Path, limit: int | None = None) -> bytes:
    """A regular file's bytes; more than `limit` bytes is an error."""
    with open_regular(path) as fh:
        size = os.fstat(fh.fileno()).st_size
        if limit is not None and size > limit:
            raise MediaError(f"{path}: {size:,} bytes, over the limit of {limit:,}")
        data = fh.read()
    if limit is not None and len(data) > limit:  # it grew while read
        raise MediaError(f"{path}: over the limit of {limit:,} bytes")
    return data


def iter_media_paths(paths: Iterable[str | os.PathLike[str]], *, on_skip: OnSkip | None = None) -> Iterator[Path]:
    """Files named, and media files found recursively in folders named, in a stable order.

    In folders, hidden entries and files that do not look like media by name or content are
    passed over quietly;
    special files (FIFOs, sockets, devices), named or found, are passed over with a note to
    `on_skip(path, why)` (logged when None); a link loop is yielded, for its own error when
    opened. Links to folders are not followed (no cycles). A file named explicitly is always
    yielded unless special, so that a non-media file gets a clear error.
    """
    note = on_skip or (lambda p, why: log.warning("%s", why))
    for raw in paths:
        path = Path(raw).expanduser()
        try:
            st = os.stat(path)
        except OSError:
            yield path  # missing or a loop: its own error when opened
            continue
        if stat.S_ISDIR(st.st_mode):
            yield from _walk(path, note)
        elif special_kind(st.st_mode):
            note(path, f"{path}: {special_kind(st.st_mode)}, not a regular file: skipped")
        else:
            yield path


def _walk(top: Path, note: OnSkip) -> Iterator[Path]:
    from unleak.media.sniff import _EXTENSION_KIND

    def unreadable(exc: OSError) -> None:
        where = Path(exc.filename) if exc.filename else top
        note(where, f"{where}: folder cannot be read ({exc.strerror or exc}): skipped")

    for root, dirs, files in os.walk(top, onerror=unreadable):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.startswith("."):
                continue
            candidate = Path(root) / name
            named_media = candidate.suffix.lower() in _EXTENSION_KIND
            try:
                st = os.stat(candidate)
            except OSError as exc:
                # A loop is reported whatever its name; a dangling link only when it claims to be media.
                if exc.errno == errno.ELOOP or named_media:
                    yield candidate
                continue
            kind = special_kind(st.st_mode)
            if kind:
                note(candidate, f"{candidate}: {kind}, not a regular file: skipped")
            elif stat.S_ISREG(st.st_mode) and (named_media or _sniffs_as_media(candidate)):
                yield candidate


def _sniffs_as_media(path: Path) -> bool:
    from unleak.media.sniff import sniff_file

    try:
        sniff_file(path)
        return True
    except MediaError:
        return False
