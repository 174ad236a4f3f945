"""The SMTP settings page of `unleak app`: admins (or the person who started the app) write the
settings `takedown.toml` holds, through the library; the password goes to an owner-only file and is
never shown again; a test message reaches the SMTP sink; a caseworker may not open the page."""

from __future__ import annotations

import stat
import tomllib

import pytest

from _app import Browserless, live_app
from test_notice_fixtures import start_sink
from unleak.accounts import add_user
from unleak.errors import UnleakError
from unleak.takedown.smtp import SMTP_ENV, SMTPSettings, load_smtp_settings, read_password, save_smtp_settings

SECRET = "s3cret-smtp-passw0rd"


@pytest.fixture(autouse=True)
def _no_smtp_env(monkeypatch):
    for var in [*SMTP_ENV.values(), "UNLEAK_SMTP_PASSWORD", "UNLEAK_TAKEDOWN_CONFIG"]:
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def sink():
    s = start_sink()
    yield s
    s.controller.stop()


def test_saving_keeps_the_rest_of_takedown_toml_and_the_password_out_of_it(_isolated_home):
    toml = _isolated_home / "takedown.toml"
    toml.write_text('timezone = "Europe/Paris"\n# my note\n[smtp]\nhost = "old.example"\n[response_times]\nx = 3\n')
    save_smtp_settings(SMTPSettings(host="mail.example.org", port=587, username="me", from_addr="me@ex.org"), SECRET)
    text = toml.read_text()
    data = tomllib.loads(text)
    assert data["timezone"] == "Europe/Paris" and data["response_times"] == {"x": 3} and "# my note" in text
    assert data["smtp"]["host"] == "mail.example.org" and "old.example" not in text and SECRET not in text
    got = load_smtp_settings()
    assert (got.host, got.port, got.username, got.from_addr) == ("mail.example.org", 587, "me", "me@ex.org")
    pw = _isolated_home / "smtp-password"
    assert stat.S_IMODE(pw.stat().st_mode) == 0o600 and read_password(got) == SECRET
    save_smtp_settings(got)  # no password given: the saved one is kept
    assert read_password(got) == SECRET
    save_smtp_settings(got, forget_password=True)
    assert read_password(got) is None
    with pytest.raises(UnleakError, match="security"):
        save_smtp_settings(SMTPSettings(host="x", security="tls13"))
    with pytest.raises(UnleakError, match="line break"):
        save_smtp_settings(SMTPSettings(host='x"\n[evil]'))
    assert load_smtp_settings().host == "mail.example.org"


def test_settings_page_saves_hides_the_password_and_sends_a_test(store, sink, monkeypatch):
    with live_app(store) as live:
        c = Browserless(live)
        c.login_token()
        r = c.get("/settings/smtp")
        assert r.status_code == 200 and "none saved" in r.text
        r = c.post(
            "/settings/smtp",
            {
                "host": "127.0.0.1",
                "port": str(sink.port),
                "security": "none",
                "from_addr": "notices@unleak.test",
                "password": SECRET,
                "timeout": "10",
            },
        )
        assert r.status_code == 200 and "SMTP settings saved" in r.text
        assert SECRET not in r.text and "one is saved" in r.text
        assert load_smtp_settings().port == sink.port and read_password(load_smtp_settings()) == SECRET
        r = c.post("/settings/smtp/test", {"to": "caseworker@unleak.test"})
        assert r.status_code == 200 and "Test message accepted" in r.text, r.text[-800:]
        assert len(sink.messages) == 1 and sink.messages[0].rcpt_tos == ["caseworker@unleak.test"]
        assert sink.messages[0].mail_from == "notices@unleak.test"
        r = c.post("/settings/smtp/test", {"to": "not an address"})
        assert r.status_code == 400 and "is not an e-mail address" in r.text
        monkeypatch.setenv("UNLEAK_SMTP_HOST", "env.example")
        assert "UNLEAK_SMTP_HOST" in c.get("/settings/smtp").text
        c.close()


def test_a_caseworker_may_not_change_the_settings(store):
    add_user(store, "sam", "caseworker", "sam-password-12")
    with live_app(store) as live:
        c = Browserless(live)
        c.login("sam", "sam-password-12")
        assert "E-mail settings" not in c.get("/").text
        assert c.get("/settings/smtp").status_code == 403
        assert c.post("/settings/smtp", {"host": "evil.example"}).status_code == 403
        assert c.post("/settings/smtp/test", {"to": "a@b.example"}).status_code == 403
        c.close()
    assert load_smtp_settings().host == ""
