"""Delisting requests are drafted for every default search engine without checking that the engine
lists the URL (unleak cannot query search engines): the review tells the person to send each only
to an engine that shows the URL, and confirming states that they checked. The sent text is unchanged."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from test_notice_fixtures import add_sightings

PAGES = [("https://forum.example/t/1", "https://forum.example/m/1.jpg")]


def _lines(out: str) -> list[dict]:
    return [json.loads(x) for x in out.splitlines() if x.startswith("{")]


@pytest.fixture
def drafts(store, cli, monkeypatch) -> dict[str, dict]:
    monkeypatch.setenv("UNLEAK_DB", store.url)
    assert cli("case", "new", "s1")[0] == 0
    assert (
        cli(
            "claimant",
            "set",
            "-c",
            "s1",
            "--name",
            "Alex Doe",
            "--email",
            "alex@example.org",
            "--role",
            "depicted_person",
        )[0]
        == 0
    )
    add_sightings(store, "s1", PAGES)
    code, out, err = cli(
        "notice",
        "draft",
        "s1",
        "--to",
        "forum.example=abuse@forum.example",
        "--set",
        "intimate=yes",
        "--set",
        "sold=no",
        "--no-discover",
        "--json",
    )
    assert code == 0, err
    return {d["host"]: d for d in _lines(out)}


def test_delisting_review_says_to_check_the_engine_shows_the_url(cli, drafts):
    assert set(drafts) == {"forum.example", "google-search", "bing"}
    assert "search" not in drafts["forum.example"]["review_note"]  # a host's own copy needs no such check
    google = drafts["google-search"]
    assert "send this request only if it shows them" in google["review_note"]
    assert "Google Search" in google["review_note"]

    code, out, _ = cli("notice", "show", str(google["notice_id"]))
    assert code == 0 and "Before you confirm:" in out and "Confirming this notice states that you checked" in out
    # The note is for the person reviewing, never part of what is sent.
    code, out, _ = cli("notice", "show", str(google["notice_id"]), "--json")
    shown = _lines(out)[0]
    assert "has not checked" not in shown["body"] and shown["review_note"] == google["review_note"]

    # Confirming without the text shown still says what to check.
    code, _out, err = cli("notice", "confirm", str(drafts["bing"]["notice_id"]), "-q", "--sign", "Alex Doe")
    assert code == 0 and "Microsoft Bing" in err and "only if it shows them" in err


def test_interactive_confirmation_of_a_delisting_request_asks_about_the_engine(drafts, store, monkeypatch):
    import unleak.cli.notices as notices_cli
    from unleak.cli import app

    monkeypatch.setattr(notices_cli, "_interactive", lambda as_json=False: not as_json)
    add_sightings(store, "s1", [("https://forum.example/t/2", "https://forum.example/m/2.jpg")], label="private-02")
    result = CliRunner().invoke(
        app, ["notice", "draft", "s1", "--no-discover"], input="\n\n\n\n", catch_exceptions=False
    )
    assert result.exit_code == 0
    assert "stated in your name, and that Google Search shows these URLs" in result.stdout
    assert "stated in your name, and that Microsoft Bing shows these URLs" in result.stdout
