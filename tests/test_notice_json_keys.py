"""The take-down commands' --json records keep their keys, in order: scripts read them.

Adding a key is allowed (add it here and to the changelog); renaming or removing one is not.
"""

from __future__ import annotations

import json

import pytest

from test_notice_fixtures import add_sightings

CLAIMANT = [
    "name",
    "email",
    "postal_address",
    "phone",
    "roles",
    "on_behalf_of",
    "signature",
    "notice_contact",
    "country",
]
DRAFT = [
    "notice_id",
    "host",
    "host_name",
    "basis",
    "channel",
    "recipient",
    "urls",
    "missing",
    "updated",
    "review_note",
    "confirmed",
    "content_sha256",
    "found_contacts",
]
MISSING = ["element", "label", "citation", "problem"]
NOTICE = [
    "id",
    "case_id",
    "host",
    "host_name",
    "host_kind",
    "basis",
    "channel",
    "recipient",
    "status",
    "subject",
    "body",
    "content_sha256",
    "confirmed",
    "missing",
    "follows_id",
    "review_note",
    "message_id",
    "message_sha256",
    "created_at",
    "confirmed_at",
    "sent_at",
    "deadline_at",
    "deadline_kind",
    "acknowledged_at",
    "closed_at",
    "items",
    "events",
    "recipient_source",
    "recipient_party",
    "found_contacts",
    "counter_notice",
    "basis_reason",
]
ITEM = ["id", "url", "state", "removed_at", "removal_reason", "sighting_id"]
EVENT = ["at", "kind", "detail"]
SENT = [
    "notice_id",
    "channel",
    "recipient",
    "sent_at",
    "deadline_at",
    "deadline_kind",
    "deadline_rule",
    "message_id",
    "message_sha256",
    "eml_path",
]
STATUS = [
    "id",
    "host",
    "basis",
    "status",
    "sent_at",
    "deadline_at",
    "deadline_kind",
    "overdue",
    "urls",
    "removed",
    "follows_id",
]


@pytest.fixture
def sqlite_env(monkeypatch, tmp_path):
    from unleak.store import open_store

    url = f"sqlite:///{tmp_path / 'unleak.db'}"
    monkeypatch.setenv("UNLEAK_DB", url)
    store = open_store(url)
    yield store
    store.close()


def _records(result: tuple[int, str, str]) -> list[dict]:
    code, out, err = result
    assert code == 0, err
    return [json.loads(x) for x in out.splitlines() if x.startswith("{")]


def test_json_records_keep_their_keys(cli, sqlite_env):
    with sqlite_env.session() as s:  # claimant set names an existing case
        sqlite_env.case(s, "k", create=True)
    [c] = _records(cli("claimant", "set", "--case", "k", "--name", "Alex Doe", "--email", "a@example.org", "--json"))
    assert list(c) == CLAIMANT and c["roles"] == []
    [c] = _records(cli("claimant", "set", "--case", "k", "--role", "depicted", "--json"))
    assert list(c) == CLAIMANT and c["roles"] == ["depicted_person"]
    assert list(_records(cli("claimant", "show", "--case", "k", "--json"))[0]) == CLAIMANT
    add_sightings(sqlite_env, "k", [("https://forum.example/t/1", "https://forum.example/m/1.jpg")])

    drafts = _records(cli("notice", "draft", "k", "--no-search", "--no-discover", "--set", "intimate=yes", "--json"))
    [d] = drafts
    assert list(d) == DRAFT
    assert d["basis"] == "take-it-down" and d["channel"] == "email" and d["updated"] is False
    assert [list(m) for m in d["missing"]] == [MISSING] and d["missing"][0]["element"] == "recipient"
    nid = d["notice_id"]

    [e] = _records(cli("notice", "edit", str(nid), "--set", "recipient=https://forum.example/report", "--json"))
    assert list(e) == ["notice_id", "missing"] and e["missing"] == []
    [shown] = _records(cli("notice", "show", str(nid), "--json"))
    assert list(shown) == NOTICE and shown["status"] == "draft" and shown["channel"] == "webform"
    assert [list(i) for i in shown["items"]] == [ITEM, ITEM] and shown["items"][0]["state"] == "reported"
    assert all(list(ev) == EVENT for ev in shown["events"]) and shown["events"][0]["kind"] == "drafted"
    assert shown["created_at"][10] == " "  # times as str(datetime), as before

    [conf] = _records(cli("notice", "confirm", str(nid), "--quiet", "--sign", "Alex Doe", "--json"))
    assert conf == {"notice_id": nid, "status": "confirmed", "content_sha256": shown["content_sha256"]}
    [sent] = _records(cli("notice", "send", str(nid), "--submitted", "--json"))
    assert list(sent) == SENT and sent["channel"] == "webform" and sent["sent_at"][10] == "T"
    [row] = _records(cli("notice", "status", "k", "--json"))
    assert list(row) == STATUS and row["status"] == "sent" and row["urls"] == 2 and row["removed"] == 0
    assert _records(cli("notice", "reply", str(nid), "removed", "--json")) == [{"notice_id": nid, "status": "removed"}]
    [shown] = _records(cli("notice", "show", str(nid), "--json"))
    assert shown["status"] == "removed" and [ev["kind"] for ev in shown["events"]][-1] == "reply"
