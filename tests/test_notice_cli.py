"""The take-down commands, scripted (non-interactive), on both database back ends."""

from __future__ import annotations

import email
import json
from email import policy

import pytest
from typer.testing import CliRunner

from test_notice_fixtures import add_sightings, start_sink

PAGES = [
    ("https://forum.example/t/1", "https://forum.example/m/1.jpg"),
    ("https://img.example/v/9", "https://img.example/f/9.jpg"),
]


def _lines(out: str) -> list[dict]:
    return [json.loads(x) for x in out.splitlines() if x.startswith("{")]


@pytest.fixture
def env(store, monkeypatch, tmp_path):
    monkeypatch.setenv("UNLEAK_DB", store.url)
    monkeypatch.setenv("UNLEAK_TZ", "Europe/Berlin")
    sink = start_sink()
    monkeypatch.setenv("UNLEAK_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("UNLEAK_SMTP_PORT", str(sink.port))
    monkeypatch.setenv("UNLEAK_SMTP_SECURITY", "none")
    monkeypatch.setenv("UNLEAK_SMTP_FROM", "helpline@unleak.test")
    yield store, sink
    sink.controller.stop()


def test_scripted_flow_draft_confirm_send_status_reply_report(cli, env, tmp_path):
    store, sink = env
    assert cli("case", "new", "c1")[0] == 0
    code, out, _ = cli(
        "claimant",
        "set",
        "--case",
        "c1",
        "--name",
        "Alex Doe",
        "--email",
        "alex@example.org",
        "--address",
        "1 Main Street; Springfield",
        "--phone",
        "+1 555 0100",
        "--role",
        "depicted_person",
        "--json",
    )
    assert code == 0 and _lines(out)[0]["signature"] == "/Alex Doe/"
    add_sightings(store, "c1", PAGES)
    code, out, _ = cli(
        "notice",
        "draft",
        "c1",
        "--to",
        "forum.example=abuse@forum.example",
        "--to",
        "img.example=https://img.example/report",
        "--set",
        "intimate=yes",
        "--set",
        "sold=no",
        "--no-discover",
        "--json",
    )
    assert code == 0
    drafts = _lines(out)
    by_host = {d["host"]: d for d in drafts}
    assert set(by_host) == {"forum.example", "img.example", "google-search", "bing"}
    assert all(not d["confirmed"] and d["missing"] == [] for d in drafts)  # nothing confirmed without asking
    assert (
        by_host["google-search"]["basis"] == "search-delisting" and by_host["forum.example"]["basis"] == "take-it-down"
    )
    forum = by_host["forum.example"]["notice_id"]

    # Nothing leaves before confirmation.
    code, out, _ = cli("notice", "send", "--all", "--case", "c1")
    assert code == 0 and "must be confirmed first" in out and sink.messages == []
    code, out, _ = cli("notice", "send", str(forum), "--json")
    assert code == 1 and "has not been confirmed" in _lines(out)[0]["error"] and sink.messages == []

    # Confirming shows the full text and takes the name as it appears in the signature.
    from unleak.errors import UnleakError

    with pytest.raises(UnleakError, match="type your name as it appears in the signature"):
        cli("notice", "confirm", str(forum))  # no terminal to type in, no --sign: not confirmed
    with pytest.raises(UnleakError, match="does not match the signature"):
        cli("notice", "confirm", str(forum), "--sign", "Alex")
    code, out, _ = cli("notice", "confirm", str(forum), "--sign", "alex  doe")
    assert code == 0 and "https://forum.example/m/1.jpg" in out and "not consensual" in out
    code, out, _ = cli("notice", "send", "--all", "--case", "c1", "--json")
    assert code == 0
    sent = _lines(out)
    assert [s["notice_id"] for s in sent] == [forum] and len(sink.messages) == 1
    msg = email.message_from_bytes(sink.messages[0].data, policy=policy.default)
    assert msg["To"] == "abuse@forum.example" and "https://forum.example/t/1" in msg.get_body(("plain",)).get_content()
    assert sent[0]["deadline_kind"] in ("statutory", "policy")

    # A web-form host: show the fields, then record the submission.
    form_id = by_host["img.example"]["notice_id"]
    code, out, _ = cli("notice", "show", str(form_id), "--form")
    assert code == 0 and "Open the form: https://img.example/report" in out and "== Full name ==" in out
    assert cli("notice", "confirm", str(form_id), "--quiet", "--sign", "Alex Doe")[0] == 0
    code, out, _ = cli("notice", "send", str(form_id), "--json")
    assert code == 1 and "web form" in _lines(out)[0]["error"]
    assert cli("notice", "send", str(form_id), "--submitted")[0] == 0
    assert len(sink.messages) == 1

    code, out, _ = cli("notice", "status", "c1", "--json")
    rows = _lines(out)
    assert {r["status"] for r in rows} == {"sent", "draft"} and rows[0]["status"] == "sent"
    code, out, _ = cli("notice", "status", "c1")
    assert code == 0 and "(UTC+0" in out  # deadlines shown on the user's clock (Europe/Berlin)

    assert cli("notice", "reply", str(forum), "removed", "--text", "We removed it.")[0] == 0
    code, out, _ = cli("notice", "show", str(forum), "--json")
    shown = _lines(out)[0]
    assert shown["status"] == "removed" and any(e["kind"] == "reply" for e in shown["events"])

    chart = tmp_path / "chart.svg"
    code, out, _ = cli("report", "c1", "--chart", chart, "--json")
    rep = _lines(out)[0]
    assert code == 0 and rep["total"]["notices_sent"] == 2 and chart.read_text().lstrip().startswith("<?xml")
    code, out, _ = cli("report", "c1")
    assert code == 0 and "By host" in out

    out_dir = tmp_path / "files"
    assert cli("notice", "show", str(forum), "--out", out_dir)[0] == 0
    assert (out_dir / f"notice-{forum}.eml").exists() and (out_dir / f"notice-{forum}.pdf").read_bytes()[:5] == b"%PDF-"


def test_draft_with_yes_confirms_after_showing(cli, env):
    store, _sink = env
    assert cli("case", "new", "c2")[0] == 0
    cli("claimant", "set", "--case", "c2", "--name", "Alex Doe", "--email", "alex@example.org", "--role", "depicted")
    add_sightings(store, "c2", PAGES[:1])
    code, out, _ = cli(
        "notice",
        "draft",
        "c2",
        "--no-search",
        "--no-discover",
        "--to",
        "forum.example=abuse@forum.example",
        "--set",
        "intimate=yes",
        "--yes",
        "--sign",
        "Alex Doe",
    )
    assert code == 0 and "--- notice #" in out and "Subject: [TAKE IT DOWN Act]" in out
    code, out, _ = cli("notice", "status", "c2", "--json")
    assert [r["status"] for r in _lines(out)] == ["confirmed"]


def test_incomplete_notice_asks_and_is_not_confirmed_even_with_yes(cli, env):
    store, _ = env
    assert cli("case", "new", "c3")[0] == 0
    cli(
        "claimant",
        "set",
        "--case",
        "c3",
        "--name",
        "Alex Doe",
        "--email",
        "alex@example.org",
        "--role",
        "copyright_owner",
    )
    add_sightings(store, "c3", PAGES[:1])
    _code, out, _err = cli("notice", "draft", "c3", "--basis", "dsa", "--no-search", "--no-discover", "--yes", "--json")
    [d] = _lines(out)
    # The tool states no fact of its own: who owns the work and whether it was published are asked.
    assert {m["element"] for m in d["missing"]} == {"recipient", "explanation"} and not d["confirmed"]
    nid = d["notice_id"]
    _code, out, _ = cli(
        "notice",
        "edit",
        str(nid),
        "--set",
        "recipient=abuse@forum.example",
        "--set",
        "owner=Alex Doe",
        "--set",
        "published=no",
        "--json",
    )
    assert _lines(out)[0]["missing"] == []
    _code, out, _ = cli("notice", "show", str(nid))
    assert "'private-01': copyright owned by Alex Doe; not published before." in " ".join(out.split())
    assert cli("notice", "confirm", str(nid), "-q", "--sign", "Alex Doe")[0] == 0


def test_dmca_refused_for_the_depicted_person_with_a_steer(cli, env):
    store, _ = env
    assert cli("case", "new", "c4")[0] == 0
    cli(
        "claimant",
        "set",
        "--case",
        "c4",
        "--name",
        "Alex Doe",
        "--email",
        "alex@example.org",
        "--role",
        "depicted_person",
    )
    add_sightings(store, "c4", PAGES[:1])
    from unleak.takedown.bases import NotEntitled

    with pytest.raises(NotEntitled) as info:
        cli("notice", "draft", "c4", "--basis", "dmca", "--no-discover")
    assert "copyright owner" in info.value.message and "take-it-down" in info.value.hint


def test_hosts_directory_commands(cli, env):
    _code, out, _ = cli("hosts", "list", "--json")
    ids = {h["id"] for h in _lines(out)}
    assert {"google-search", "bing", "reddit", "x"} <= ids
    _code, out, _ = cli("hosts", "show", "https://i.redd.it/abc.jpg", "--json")
    assert _lines(out)[0]["id"] == "reddit"
    assert cli("hosts", "add", "forum", "--domain", "forum.example", "--email", "legal@forum.example")[0] == 0
    _code, out, _ = cli("hosts", "show", "https://www.forum.example/t/1", "--json")
    assert _lines(out)[0]["contacts"]["default"]["email"] == "legal@forum.example"


def test_main_turns_refusals_into_one_line(tmp_path):
    import os
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "unleak", "notice", "send", "42"],
        capture_output=True,
        text=True,
        env={**os.environ, "UNLEAK_HOME": str(tmp_path)},
    )
    assert proc.returncode == 1 and "no notice #42" in proc.stderr and "Traceback" not in proc.stderr


def test_interactive_review_asks_for_the_missing_and_for_confirmation(env, monkeypatch):
    """At a terminal, draft asks for what it lacks, shows each notice and asks before confirming it."""
    import unleak.cli.notices as notices_cli
    from unleak.cli import app

    store, sink = env
    monkeypatch.setattr(notices_cli, "_interactive", lambda as_json=False: not as_json)
    runner = CliRunner()
    assert runner.invoke(app, ["case", "new", "c5"]).exit_code == 0
    runner.invoke(
        app,
        [
            "claimant",
            "set",
            "-c",
            "c5",
            "--name",
            "Alex Doe",
            "--email",
            "alex@example.org",
            "--role",
            "depicted_person",
        ],
        catch_exceptions=False,
    )
    add_sightings(store, "c5", PAGES[:1])
    # No contact known for forum.example: it asks; then it shows the notice and asks; we say no.
    result = runner.invoke(
        app,
        ["notice", "draft", "--case", "c5", "--no-search", "--no-discover"],
        input="abuse@forum.example\nyes\nI never agreed to its publication.\n\n",
        catch_exceptions=False,
    )
    assert result.exit_code == 0
    assert "Where should notice" in result.stdout and "Is the content intimate" in result.stdout
    assert "type your name as it appears in its signature" in result.stdout
    assert "abuse@forum.example" in result.stdout and "Subject: [TAKE IT DOWN Act]" in result.stdout
    assert "Any relevant information" in result.stdout and "I never agreed to its publication." in result.stdout
    status = runner.invoke(app, ["notice", "status", "c5", "--json"], catch_exceptions=False).stdout
    [row] = _lines(status)
    assert row["status"] == "draft" and sink.messages == []
    # Typing the name as in the signature confirms exactly the text shown.
    add_sightings(store, "c5", [("https://forum.example/t/7", "https://forum.example/m/7.jpg")], label="private-02")
    result = runner.invoke(
        app, ["notice", "draft", "c5", "--no-search", "--no-discover"], input="Alex Doe\n", catch_exceptions=False
    )
    assert result.exit_code == 0
    rows = _lines(runner.invoke(app, ["notice", "status", "c5", "--json"], catch_exceptions=False).stdout)
    assert [r["status"] for r in rows] == ["confirmed"] and rows[0]["urls"] == 4
