"""Platform tokens, kept in `$UNLEAK_HOME/credentials.toml` and nowhere else.

    [reddit]
    token = "..."        # an OAuth bearer token (script app)
    [bluesky]
    token = "..."        # an access JWT, for endpoints the public AppView does not serve

The file must be readable by its owner only (mode 0600): a token is never written into a
source's settings, the bank, the evidence or the log; it is read when a scan sends a request,
sent only to the host it was asked for, and recorded as "[redacted]" in captures.
"""

from __future__ import annotations

import stat
import tomllib
from pathlib import Path

from unleak.config import home
from unleak.errors import UnleakError


def credentials_path() -> Path:
    return home() / "credentials.toml"


def platform_token(platform: str) -> str | None:
    """The token for `platform`, or None when the file or the entry is absent."""
    path = credentials_path()
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise UnleakError(f"cannot read {path}: {exc.strerror}") from None
    if not stat.S_ISREG(st.st_mode):
        raise UnleakError(f"{path} is not a regular file", hint='it should hold [platform] token = "..." entries')
    if st.st_mode & 0o077:
        raise UnleakError(
            f"{path} can be read by other users (mode {stat.S_IMODE(st.st_mode):o})",
            hint=f"make it private: chmod 600 {path}",
        )
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UnleakError(
            f"{path} is not valid TOML: {exc}", hint='each platform is [name] with token = "..."'
        ) from None
    entry = data.get(platform)
    token = entry.get("token") if isinstance(entry, dict) else None
    return token.strip() if isinstance(token, str) and token.strip() else None
