"""Sending notices through a real SMTP server on 127.0.0.1 (aiosmtpd) and checking what arrived."""

from __future__ import annotations

import email
import hashlib
import os
from email import policy

import pytest
from sqlalchemy import text

from test_notice_fixtures import FACTS, add_sightings, self_signed, set_claimant, start_sink
from unleak.errors import UnleakError
from unleak.takedown.drafting import confirm_notice, draft_notices, update_notice
from unleak.takedown.sending import send_notice
from unleak.takedown.smtp import SMTPError, SMTPSettings, load_smtp_settings, read_password

PAGES = [
    ("https://forum.example/t/1", "https://forum.example/m/1.jpg"),
    ("https://forum.example/t/2", "https://forum.example/m/2.jpg"),
]


@pytest.fixture
def sink():
    s = start_sink()
    yield s
    s.controller.stop()


def _drafted(store, case="smtp"):
    set_claimant(store, case)
    add_sightings(store, case, PAGES)
    [out] = draft_notices(
        store, answers=FACTS, case=case, search=False, recipients={"forum.example": "abuse@forum.example"}
    )
    return out.notice_id


def test_confirmed_notice_arrives_and_is_logged_with_its_hash(store, sink):
    from unleak.evidence.log import records, verify_chain
    from unleak.store.models import Notice

    nid = _drafted(store)
    confirm_notice(store, nid, typed_name="Alex Doe")
    settings = SMTPSettings(host="127.0.0.1", port=sink.port, security="none", from_addr="notices@unleak.test")
    out = send_notice(store, nid, smtp_settings=settings)
    assert len(sink.messages) == 1
    got = sink.messages[0]
    assert got.mail_from == "notices@unleak.test" and got.rcpt_tos == ["abuse@forum.example"]
    assert hashlib.sha256(got.data).hexdigest() == out.message_sha256
    msg = email.message_from_bytes(got.data, policy=policy.default)
    assert msg["Message-ID"].strip() == out.message_id
    # Nothing in the headers names the case or the tool (a notice may reach the uploader).
    # The sending account here is notices@unleak.test; the case is named "smtp".
    headers = "\n".join(f"{k}: {v}" for k, v in msg.items()).lower().replace("unleak.test", "")
    body = msg.get_body(("plain",)).get_content().lower()
    assert "unleak" not in headers and "smtp" not in headers and "smtp" not in body and "unleak" not in body
    assert "alex@example.org" in msg["Reply-To"] and msg["Subject"].startswith("[TAKE IT DOWN Act]")
    body = msg.get_body(("plain",)).get_content()
    for page, media in PAGES:
        assert page in body and media in body
    assert "/Alex Doe/" in body and "not consensual" in body
    with open(out.eml_path, "rb") as fh:
        assert hashlib.sha256(fh.read()).hexdigest() == out.message_sha256
    with store.session() as s:
        n = s.get(Notice, nid)
        assert (
            n.status == "sent" and n.message_sha256 == out.message_sha256 and n.deadline_kind in ("statutory", "policy")
        )
        logged = [r for r in records(s, n.case_id) if r.action == "notice.send"]
        assert len(logged) == 1 and out.message_sha256 in logged[0].body
        assert verify_chain(s, n.case_id).ok


def test_unconfirmed_notice_is_never_sent(store, sink):
    nid = _drafted(store)
    settings = SMTPSettings(host="127.0.0.1", port=sink.port, security="none", from_addr="n@unleak.test")
    with pytest.raises(UnleakError, match="has not been confirmed"):
        send_notice(store, nid, smtp_settings=settings)
    assert sink.messages == []


def test_text_changed_after_confirmation_is_not_sent(store, sink):
    from unleak.store.models import Notice

    nid = _drafted(store)
    confirm_notice(store, nid, typed_name="Alex Doe")
    with store.session() as s:  # tampering behind the API's back
        s.get(Notice, nid).body += "\nP.S. something the person never saw"
    settings = SMTPSettings(host="127.0.0.1", port=sink.port, security="none", from_addr="n@unleak.test")
    with pytest.raises(UnleakError, match="differs from the text that was confirmed"):
        send_notice(store, nid, smtp_settings=settings)
    assert sink.messages == []


def test_editing_a_confirmed_notice_voids_the_confirmation(store):
    nid = _drafted(store)
    confirm_notice(store, nid, typed_name="Alex Doe")
    update_notice(store, nid, {"details": "The photos were taken privately in 2024 and never shared."})
    with pytest.raises(UnleakError, match="has not been confirmed"):
        send_notice(store, nid, smtp_settings=SMTPSettings(host="127.0.0.1", port=1, security="none"))


def test_failed_send_records_nothing_and_can_be_retried(store, sink):
    from unleak.store.models import Notice

    nid = _drafted(store)
    confirm_notice(store, nid, typed_name="Alex Doe")
    dead = SMTPSettings(host="127.0.0.1", port=sink.port + 1 if sink.port < 65535 else 1, security="none", timeout=3)
    with pytest.raises(SMTPError, match="nothing was recorded as sent"):
        send_notice(store, nid, smtp_settings=dead)
    with store.session() as s:
        assert s.get(Notice, nid).status == "confirmed"
    send_notice(
        store,
        nid,
        smtp_settings=SMTPSettings(host="127.0.0.1", port=sink.port, security="none", from_addr="n@unleak.test"),
    )
    assert len(sink.messages) == 1


def test_starttls_with_login_password_from_an_owner_only_file(store, tmp_path, monkeypatch):
    cert, ctx = self_signed(tmp_path)
    sink = start_sink(tls_context=ctx, users={"helpline": "s3cret-pw"})
    try:
        pw = tmp_path / "smtp-password"
        pw.write_text("s3cret-pw\n")
        os.chmod(pw, 0o644)
        monkeypatch.delenv("UNLEAK_SMTP_PASSWORD", raising=False)
        settings = SMTPSettings(
            host="127.0.0.1",
            port=sink.port,
            security="starttls",
            username="helpline",
            from_addr="helpline@unleak.test",
            password_file=str(pw),
            ca_file=str(cert),
        )
        nid = _drafted(store)
        confirm_notice(store, nid, typed_name="Alex Doe")
        with pytest.raises(UnleakError, match="can be read by others"):
            send_notice(store, nid, smtp_settings=settings)
        os.chmod(pw, 0o600)
        send_notice(store, nid, smtp_settings=settings)
        assert len(sink.messages) == 1 and sink.messages[0].login == "helpline"
        # The password is nowhere in the database.
        with store.session() as s:
            for table in ("notices", "notice_events", "claimants", "log_records"):
                for row in s.execute(text(f"SELECT * FROM {table}")):
                    assert "s3cret-pw" not in repr(tuple(row))
    finally:
        sink.controller.stop()


def test_wrong_password_is_a_clear_error(store, tmp_path, monkeypatch):
    cert, ctx = self_signed(tmp_path)
    sink = start_sink(tls_context=ctx, users={"helpline": "right"})
    try:
        monkeypatch.setenv("UNLEAK_SMTP_PASSWORD", "wrong")
        settings = SMTPSettings(
            host="127.0.0.1", port=sink.port, security="starttls", username="helpline", ca_file=str(cert)
        )
        nid = _drafted(store)
        confirm_notice(store, nid, typed_name="Alex Doe")
        with pytest.raises(SMTPError, match="refused the login"):
            send_notice(store, nid, smtp_settings=settings)
        assert sink.messages == []
    finally:
        sink.controller.stop()


def test_plain_smtp_only_to_this_machine():
    from unleak.takedown.render import build_email
    from unleak.takedown.smtp import send

    msg = build_email(subject="s", body="b", to="a@b.example", claimant={"name": "A", "email": "a@c.example"})
    with pytest.raises(SMTPError, match="unencrypted"):
        send(msg, SMTPSettings(host="192.0.2.10", port=25, security="none"))


def test_settings_from_file_and_environment(tmp_path, monkeypatch):
    conf = tmp_path / "takedown.toml"
    conf.write_text(
        '[smtp]\nhost = "mail.example"\nport = 2525\nsecurity = "ssl"\nusername = "me"\nfrom = "me@example.org"\n'
    )
    monkeypatch.setenv("UNLEAK_TAKEDOWN_CONFIG", str(conf))
    s = load_smtp_settings()
    assert (s.host, s.port, s.security, s.username, s.from_addr) == (
        "mail.example",
        2525,
        "ssl",
        "me",
        "me@example.org",
    )
    monkeypatch.setenv("UNLEAK_SMTP_PORT", "465")
    assert load_smtp_settings().port == 465
    conf.write_text('[smtp]\nhost = "mail.example"\npassword = "oops"\n')
    with pytest.raises(UnleakError, match="holds an SMTP password"):
        load_smtp_settings()


def test_password_from_environment_first(monkeypatch, tmp_path):
    monkeypatch.setenv("UNLEAK_SMTP_PASSWORD", "from-env")
    assert read_password(SMTPSettings(password_file=str(tmp_path / "none"))) == "from-env"
