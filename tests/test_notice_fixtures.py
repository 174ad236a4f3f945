"""Helpers shared by the take-down tests (no tests here): sightings in a store, a local SMTP server."""

from __future__ import annotations

import hashlib
import json
import socket
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime


def add_sightings(
    store, case: str, urls: list[tuple[str, str]], *, label: str = "private-01", first_seen: datetime | None = None
) -> list[int]:
    """Sightings of one protected item at (page URL, media URL) pairs; returns their ids."""
    from sqlalchemy import select

    from unleak.store.models import BankItem, Sighting

    first_seen = first_seen or datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
    ids = []
    with store.session() as s:
        c = store.case(s, case, create=True)
        digest = hashlib.sha256(label.encode()).hexdigest()  # one bank item per label, as per file
        item = s.scalar(select(BankItem).where(BankItem.case_id == c.id, BankItem.sha256 == digest))
        if item is None:
            item = BankItem(
                case_id=c.id, label=label, kind="image", path=f"/private/{label}.jpg", sha256=digest, size=1000
            )
            s.add(item)
            s.flush()
        for page, media in urls:
            from urllib.parse import urlsplit

            sg = Sighting(
                case_id=c.id,
                bank_item_id=item.id,
                url_key=hashlib.sha256(media.encode()).hexdigest(),
                media_url=media,
                page_url=page,
                host=urlsplit(page).hostname or "",
                signal="pdq",
                distance=4,
                first_seen=first_seen,
                last_seen=first_seen,
            )
            s.add(sg)
            s.flush()
            ids.append(sg.id)
    return ids


def set_claimant(store, case: str, **extra) -> None:
    from unleak.takedown.claimant import set_claimant as _set

    values = dict(
        name="Alex Doe",
        email="alex@example.org",
        postal_address="1 Main Street, Springfield",
        phone="+1 555 0100",
        roles="depicted_person",
    )
    values.update(extra)
    with store.session() as s:
        store.case(s, case, create=True)
    _set(store, case, **values)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    login: str | None = None


@dataclass
class MailSink:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps what it receives."""

    messages: list[Received] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    port: int = 0
    controller: object = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append(
                Received(
                    envelope.mail_from,
                    list(envelope.rcpt_tos),
                    envelope.original_content,
                    self.logins[-1] if self.logins else None,
                )
            )
        return "250 Message accepted for delivery"


def start_sink(*, tls_context=None, users: dict[str, str] | None = None) -> MailSink:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    sink = MailSink()
    kwargs = {}
    if tls_context is not None:
        kwargs.update(tls_context=tls_context, require_starttls=True)
    if users is not None:

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = (
                isinstance(auth_data, LoginPassword)
                and users.get(auth_data.login.decode()) == auth_data.password.decode()
            )
            if ok:
                sink.logins.append(auth_data.login.decode())
            return AuthResult(success=ok, handled=False)

        kwargs.update(authenticator=authenticator, auth_require_tls=tls_context is not None)
    for _ in range(5):
        port = free_port()
        controller = Controller(sink, hostname="127.0.0.1", port=port, ready_timeout=10, **kwargs)
        try:
            controller.start()
        except OSError:
            continue
        sink.port, sink.controller = port, controller
        return sink
    raise RuntimeError("could not start the SMTP test server")


def self_signed(tmp_path):
    """A certificate for 127.0.0.1 and a server TLS context that uses it."""
    import datetime as dt
    import ipaddress
    import ssl

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "unleak test SMTP")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "smtp-cert.pem", tmp_path / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert_path, key_path)
    return cert_path, ctx


def json_lines(out: str) -> list[dict]:
    """The JSON objects a `--json` command printed, one a line."""
    return [json.loads(x) for x in out.splitlines() if x.startswith("{")]


def use_smtp_sink(store, monkeypatch):
    """Point the CLI at `store` and at a local SMTP server; yields (store, sink), stops the server."""
    monkeypatch.setenv("UNLEAK_DB", store.url)
    sink = start_sink()
    for k, v in {
        "UNLEAK_SMTP_HOST": "127.0.0.1",
        "UNLEAK_SMTP_PORT": str(sink.port),
        "UNLEAK_SMTP_SECURITY": "none",
        "UNLEAK_SMTP_FROM": "helpline@unleak.test",
    }.items():
        monkeypatch.setenv(k, v)
    yield store, sink
    sink.controller.stop()


# What the person states when drafting (the tool never assumes it): the content is intimate, and
# for copyright notices who owns each work and whether it was published.
FACTS = {"intimate": "yes", "owner": "Alex Doe", "published": "no", "sold": "no"}
