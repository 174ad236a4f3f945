"""Errors that a person can act on: what went wrong, and what to do next.

Every error unleak raises on purpose is an `UnleakError`: its `str()` is one line, the message
and then the hint in parentheses, and the CLI prints exactly that (never a traceback). Catch
`UnleakError` to handle them all, or a subclass for one kind:

    UnleakError            anything the user can act on (message + hint)
    ├── InvalidInput       a value given by the caller is malformed or out of range
    ├── ConfigError        the configuration (environment, settings, key files) is missing or wrong
    ├── NotFound           a case, bank item, source, notice or recipient does not exist
    ├── MediaError         a file or URL could not be read as an image or video
    │   └── LimitExceeded  media over the configured limits (pixels, duration, file size)
    ├── NetworkError       a network operation failed
    │   └── FetchError     a URL could not be fetched (`reason`, `status`)    [unleak.net.guard]
    │       └── Blocked    refused before connecting: SSRF guard, scheme, robots.txt
    └── EvidenceError      evidence could not be written, read or decrypted
        └── VerificationError  evidence does not verify: altered, missing, or out of order

Other modules define narrower subclasses where callers need them (take-down's
`IncompleteNotice`, `NotEntitled`, `SMTPError`; the index's `IndexFileError`); all derive from
`UnleakError`.
"""

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


class InvalidInput(UnleakError, ValueError):
    """A value given by the caller is malformed or out of range (a name, a mode, a threshold)."""


class ConfigError(UnleakError):
    """The configuration is missing or wrong: environment variables, settings, key files."""


class MediaError(UnleakError):
    """A file or URL could not be read as an image or video."""


class LimitExceeded(MediaError):
    """Media is larger than the configured limits (pixels, duration, file size)."""


class NotFound(UnleakError):
    """A case, bank item, source or notice does not exist."""


class NetworkError(UnleakError):
    """A network operation failed (fetching a URL, reaching a timestamp authority or mail server)."""


class EvidenceError(UnleakError):
    """Evidence could not be written, read or decrypted (captures, case keys, bundles, timestamps)."""


class VerificationError(EvidenceError):
    """Evidence does not verify: a capture, bundle file or log record was altered, is missing, or
    is out of order."""


def _one_line(text: str) -> str:
    return re.sub(r"\s*[\r\n]+\s*", " ", text).strip()
