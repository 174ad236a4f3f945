"""Errors that a person can act on: what went wrong, and what to do next."""

from __future__ import annotations

import re


class UnleakError(Exception):
    """An error meant for the user, with a hint on what to do next."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        # One line always: decoders' own messages (libheif, FFmpeg) may carry newlines.
        message = _one_line(message)
        super().__init__(message)
        self.message = message
        self.hint = _one_line(hint) if hint else hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class MediaError(UnleakError):
    """A file or URL could not be read as an image or video."""


class LimitExceeded(MediaError):
    """Media is larger than the configured limits (pixels, duration, file size)."""


class NotFound(UnleakError):
    """A case, bank item, source or notice does not exist."""


def _one_line(text: str) -> str:
    return re.sub(r"\s*[\r\n]+\s*", " ", text).strip()
