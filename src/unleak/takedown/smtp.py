"""Sending notices by SMTP. The password never enters the database.

Settings come from [smtp] in takedown.toml, overridden by environment variables:

    UNLEAK_SMTP_HOST, UNLEAK_SMTP_PORT, UNLEAK_SMTP_SECURITY (starttls | ssl | none),
    UNLEAK_SMTP_USER, UNLEAK_SMTP_FROM, UNLEAK_SMTP_CA_FILE, UNLEAK_SMTP_TIMEOUT

The password comes from `$UNLEAK_SMTP_PASSWORD`, else from a file readable by its owner only
(mode 0600 or stricter): `$UNLEAK_SMTP_PASSWORD_FILE`, `password_file` in [smtp], or
`smtp-password` in the data folder. Plain (unencrypted) SMTP is allowed to this machine only.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import smtplib
import socket
import ssl
import stat
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

from unleak import config
from unleak.errors import UnleakError


class SMTPError(UnleakError):
    """The message could not be handed to the SMTP server."""


@dataclass(frozen=True)
class SMTPSettings:
    host: str = ""
    port: int = 0
    security: str = "starttls"  # starttls | ssl | none
    username: str = ""
    from_addr: str = ""
    password_file: str = ""
    ca_file: str = ""
    timeout: float = 30.0

    @property
    def effective_port(self) -> int:
        return self.port or {"ssl": 465, "starttls": 587}.get(self.security, 25)

    def describe(self) -> str:
        who = f"{self.username}@" if self.username else ""
        return f"smtp://{who}{self.host}:{self.effective_port} ({self.security})"


def load_smtp_settings(settings: dict | None = None) -> SMTPSettings:
    from unleak.takedown.deadlines import load_settings

    raw = dict((load_settings() if settings is None else settings).get("smtp") or {})
    env = {
        "host": "UNLEAK_SMTP_HOST",
        "port": "UNLEAK_SMTP_PORT",
        "security": "UNLEAK_SMTP_SECURITY",
        "username": "UNLEAK_SMTP_USER",
        "from_addr": "UNLEAK_SMTP_FROM",
        "ca_file": "UNLEAK_SMTP_CA_FILE",
        "password_file": "UNLEAK_SMTP_PASSWORD_FILE",
        "timeout": "UNLEAK_SMTP_TIMEOUT",
    }
    for key, var in env.items():
        if os.environ.get(var):
            raw[key] = os.environ[var]
    if "from" in raw and "from_addr" not in raw:
        raw["from_addr"] = raw.pop("from")
    if "password" in raw:
        raise UnleakError(
            "takedown.toml holds an SMTP password",
            hint="remove it; put the password in $UNLEAK_SMTP_PASSWORD or a file with mode 0600 named by password_file",
        )
    security = str(raw.get("security", "starttls")).lower()
    if security not in ("starttls", "ssl", "none"):
        raise UnleakError(f"unknown SMTP security {security!r}", hint="use starttls, ssl or none")
    try:
        return SMTPSettings(
            host=str(raw.get("host", "")),
            port=int(raw.get("port", 0) or 0),
            security=security,
            username=str(raw.get("username", raw.get("user", ""))),
            from_addr=str(raw.get("from_addr", "")),
            password_file=str(raw.get("password_file", "")),
            ca_file=str(raw.get("ca_file", "")),
            timeout=float(raw.get("timeout", 30)),
        )
    except ValueError as exc:
        raise UnleakError(f"bad SMTP setting: {exc}", hint="port and timeout are numbers") from None


def read_password(settings: SMTPSettings) -> str | None:
    """The SMTP password: from the environment, else from an owner-only file. None if there is none."""
    if os.environ.get("UNLEAK_SMTP_PASSWORD"):
        return os.environ["UNLEAK_SMTP_PASSWORD"]
    candidates = [settings.password_file] if settings.password_file else [str(config.home() / "smtp-password")]
    for name in candidates:
        path = Path(name).expanduser()
        if not path.exists():
            if settings.password_file:
                raise UnleakError(
                    f"the SMTP password file {path} does not exist",
                    hint="create it with mode 0600, or set $UNLEAK_SMTP_PASSWORD",
                )
            continue
        mode = path.stat().st_mode
        if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise UnleakError(
                f"the SMTP password file {path} can be read by others (mode {stat.S_IMODE(mode):04o})",
                hint=f"run: chmod 600 {path}",
            )
        return path.read_text("utf-8").strip("\r\n")
    return None


def _is_local(host: str) -> bool:
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        try:
            return all(ipaddress.ip_address(info[4][0]).is_loopback for info in socket.getaddrinfo(host, None))
        except (OSError, ValueError):
            return False


@dataclass
class SendResult:
    message_id: str
    sha256: str  # of the exact bytes handed to the server
    accepted_at: datetime
    refused: dict
    server: str
    size: int

    def to_json(self) -> dict:
        return {
            "message_id": self.message_id,
            "sha256": self.sha256,
            "accepted_at": self.accepted_at.isoformat(),
            "refused": self.refused,
            "server": self.server,
            "size": self.size,
        }


def message_bytes(msg: EmailMessage) -> bytes:
    """The canonical bytes of a message (CRLF line ends, as sent on the wire)."""
    from email import policy

    return msg.as_bytes(policy=policy.SMTP)


def send(msg: EmailMessage, settings: SMTPSettings, *, now=None) -> SendResult:
    """Hand one message to the SMTP server; every recipient must be accepted."""
    if not settings.host:
        raise SMTPError(
            "no SMTP server is configured",
            hint="set [smtp] host in takedown.toml in the data folder, or $UNLEAK_SMTP_HOST (see docs/takedown.md)",
        )
    if settings.security == "none" and not _is_local(settings.host):
        raise SMTPError(
            f"refusing to send over unencrypted SMTP to {settings.host}",
            hint='use security = "starttls" or "ssl"; plain SMTP is allowed only to this machine',
        )
    password = read_password(settings)
    if settings.username and password is None:
        raise SMTPError(
            f"no SMTP password for {settings.username}",
            hint="set $UNLEAK_SMTP_PASSWORD or write it to a file with mode 0600 (password_file)",
        )
    data = message_bytes(msg)
    recipients = [a for h in ("To", "Cc", "Bcc") for a in _addresses(msg, h)]
    sender = settings.from_addr or _addresses(msg, "From")[0]
    context = ssl.create_default_context(cafile=settings.ca_file or None)
    try:
        if settings.security == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                settings.host, settings.effective_port, timeout=settings.timeout, context=context
            )
        else:
            client = smtplib.SMTP(settings.host, settings.effective_port, timeout=settings.timeout)
        with client:
            client.ehlo()
            if settings.security == "starttls":
                client.starttls(context=context)
                client.ehlo()
            if settings.username:
                client.login(settings.username, password or "")
            refused = client.sendmail(sender, recipients, data)
            accepted_at = (now or (lambda: datetime.now(UTC)))()
    except smtplib.SMTPAuthenticationError as exc:
        raise SMTPError(
            f"the SMTP server refused the login: {exc.smtp_code} {exc.smtp_error!r}",
            hint="check the user name and password",
        ) from None
    except smtplib.SMTPRecipientsRefused as exc:
        raise SMTPError(
            f"the SMTP server refused every recipient: {exc.recipients}", hint="check the recipient address"
        ) from None
    except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
        raise SMTPError(
            f"could not send through {settings.describe()}: {exc}",
            hint="check the server, port and security settings; nothing was recorded as sent",
        ) from None
    if refused:
        raise SMTPError(f"the SMTP server refused some recipients: {refused}", hint="check the addresses")
    return SendResult(
        message_id=msg["Message-ID"],
        sha256=hashlib.sha256(data).hexdigest(),
        accepted_at=accepted_at,
        refused=dict(refused),
        server=settings.describe(),
        size=len(data),
    )


def _addresses(msg: EmailMessage, header: str) -> list[str]:
    from email.utils import getaddresses

    return [addr for _, addr in getaddresses(msg.get_all(header, [])) if addr]


SMTP_ENV = {
    "host": "UNLEAK_SMTP_HOST",
    "port": "UNLEAK_SMTP_PORT",
    "security": "UNLEAK_SMTP_SECURITY",
    "username": "UNLEAK_SMTP_USER",
    "from_addr": "UNLEAK_SMTP_FROM",
    "ca_file": "UNLEAK_SMTP_CA_FILE",
    "password_file": "UNLEAK_SMTP_PASSWORD_FILE",
    "timeout": "UNLEAK_SMTP_TIMEOUT",
}


def smtp_overridden() -> dict[str, str]:
    """The settings the environment overrides (field: variable): saving them in takedown.toml has no
    effect while the variable is set, and a settings page should say so."""
    out = {k: v for k, v in SMTP_ENV.items() if os.environ.get(v)}
    if os.environ.get("UNLEAK_SMTP_PASSWORD"):
        out["password"] = "UNLEAK_SMTP_PASSWORD"
    return out


def _toml_value(value: object) -> str:
    import json

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(str(value), ensure_ascii=False)  # a JSON string is a TOML basic string


def save_smtp_settings(settings: SMTPSettings, password: str | None = None, *, forget_password: bool = False) -> Path:
    """Write `settings` as the [smtp] table of takedown.toml (the file `load_smtp_settings` reads;
    its other tables and keys are kept), and `password`, if given, to the owner-only password file
    (`password_file`, else `smtp-password` in the data folder; mode 0600), never into the TOML.
    `forget_password` deletes that file. Returns the path of takedown.toml."""
    import tomllib

    from unleak.takedown.deadlines import settings_path

    if settings.security not in ("starttls", "ssl", "none"):
        raise UnleakError(f"unknown SMTP security {settings.security!r}", hint="use starttls, ssl or none")
    if not 0 <= settings.port <= 65535:
        raise UnleakError(f"SMTP port {settings.port} is out of range", hint="use a number from 1 to 65535")
    if not 0 < settings.timeout <= 600:
        raise UnleakError("the SMTP timeout must be between 0 and 600 seconds", hint="30 is usual")
    for name in ("host", "username", "from_addr", "password_file", "ca_file"):
        if any(ch in getattr(settings, name) for ch in "\r\n\x00"):
            raise UnleakError(f"the SMTP {name.replace('_', ' ')} holds a line break", hint="give it on one line")
    path = settings_path()
    old = path.read_text("utf-8") if path.exists() else ""
    # keep every line outside the [smtp] table as it is (comments included)
    kept: list[str] = []
    in_smtp = False
    for line in old.splitlines():
        head = line.strip()
        if head.startswith("[") and not head.startswith("[["):
            in_smtp = head.split("#")[0].strip() == "[smtp]"
        if not in_smtp:
            kept.append(line)
    table = ["[smtp]"]
    for key in ("host", "port", "security", "username", "from_addr", "password_file", "ca_file", "timeout"):
        value = getattr(settings, key)
        if value not in ("", 0) or key == "security":
            table.append(f"{key} = {_toml_value(value)}")
    text = "\n".join([*kept, "", *table] if any(x.strip() for x in kept) else table) + "\n"
    try:
        tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UnleakError(f"cannot update {path}: {exc}", hint="fix the TOML syntax of the file first") from None
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, "utf-8")
    os.replace(tmp, path)
    pw_path = Path(settings.password_file).expanduser() if settings.password_file else config.home() / "smtp-password"
    if forget_password:
        pw_path.unlink(missing_ok=True)
    elif password:
        if "\n" in password or "\r" in password:
            raise UnleakError("the SMTP password holds a line break", hint="give it on one line")
        pw_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(pw_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(password)
        os.chmod(pw_path, 0o600)
    return path


def has_saved_password(settings: SMTPSettings) -> bool:
    """Whether a password is set (in the environment or the password file), without reading it out."""
    if os.environ.get("UNLEAK_SMTP_PASSWORD"):
        return True
    pw_path = Path(settings.password_file).expanduser() if settings.password_file else config.home() / "smtp-password"
    return pw_path.exists()


def send_test_message(to: str, settings: SMTPSettings | None = None) -> SendResult:
    """Send a short test message to `to` with the current (or given) settings."""
    from email.utils import make_msgid

    settings = settings or load_smtp_settings()
    to = to.strip()
    if not to or "@" not in to or any(ch in to for ch in "\r\n,;<> "):
        raise UnleakError(f"{to[:100]!r} is not an e-mail address", hint="give one address, like you@example.org")
    msg = EmailMessage()
    msg["From"] = settings.from_addr or f"unleak@{settings.host or 'localhost'}"
    msg["To"] = to
    msg["Subject"] = "unleak: test message"
    msg["Message-ID"] = make_msgid(domain="unleak.invalid")
    msg.set_content("This is a test message from unleak. Your SMTP settings work: notices can be sent.\n")
    return send(msg, settings)
