"""Notices that are safe for the victim: one confirmation rule for every door, a signature that
follows the signer, nothing sworn the person did not state, no case name leaving the machine,
and a claimant that is asked for, never saved empty."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from test_notice_fixtures import FACTS, add_sightings, set_claimant
from unleak.errors import UnleakError
from unleak.takedown.bases import IncompleteNotice
from unleak.takedown.claimant import get_claimant
from unleak.takedown.claimant import set_claimant as set_claimant_fields
from unleak.takedown.confirming import (
    WARNING_512F,
    ConfirmationRefused,
    confirm_notices,
    confirmation_request,
)
from unleak.takedown.drafting import draft_notices, update_notice
from unleak.takedown.notices import NoticeStatus, get_notice

PAGES = [("https://forum.example/t/1", "https://forum.example/m/1.jpg")]
TO = {"forum.example": "abuse@forum.example"}


def _draft(store, case="safe", **kw):
    set_claimant(store, case, roles="depicted_person,copyright_owner")
    add_sightings(store, case, PAGES)
    return draft_notices(store, case, search=False, recipients=TO, answers=FACTS, **kw)


def test_confirming_needs_the_name_as_in_the_signature_and_the_text_shown(store):
    [o] = _draft(store)
    req = confirmation_request(store, [o.notice_id])
    assert req.signature_name == "Alex Doe" and not req.needs_512f
    with pytest.raises(ConfirmationRefused, match="type your name"):
        confirm_notices(store, req.shown(), typed_name="  ")
    with pytest.raises(ConfirmationRefused, match="does not match the signature"):
        confirm_notices(store, req.shown(), typed_name="Alex")
    with pytest.raises(ConfirmationRefused, match="not the text you were shown"):
        confirm_notices(store, {o.notice_id: "0" * 64}, typed_name="Alex Doe")
    assert get_notice(store, o.notice_id).status == NoticeStatus.DRAFT
    [v] = confirm_notices(store, req.shown(), typed_name="alex   DOE")  # case and spacing aside
    assert v.status == NoticeStatus.CONFIRMED and v.confirmed
    confirmed = [e for e in v.events if e.kind == "confirmed"]
    assert confirmed[-1].detail["typed_name"] == "alex DOE"


def test_confirming_several_with_a_dmca_notice_among_them_needs_the_512f_acknowledgement(store):
    outs = _draft(store, bases=["dmca", "take-it-down"])
    assert sorted(o.basis for o in outs) == ["dmca", "take-it-down"] and all(o.missing == [] for o in outs)
    req = confirmation_request(store, [o.notice_id for o in outs])
    assert req.needs_512f and "§512(f)" in req.warning_512f
    with pytest.raises(ConfirmationRefused) as info:
        confirm_notices(store, req.shown(), typed_name="Alex Doe")
    assert info.value.message == WARNING_512F and "--i-understand-512f" in info.value.hint
    # All or none: neither was confirmed.
    assert {get_notice(store, o.notice_id).status for o in outs} == {NoticeStatus.DRAFT}
    # A DMCA notice confirmed on its own, after being shown, needs no acknowledgement.
    dmca = next(o for o in outs if o.basis == "dmca")
    confirm_notices(store, {dmca.notice_id: req.shown()[dmca.notice_id]}, typed_name="Alex Doe")
    # ...but one confirmed in bulk (draft --yes) does.
    tid = next(o for o in outs if o.basis == "take-it-down")
    confirm_notices(store, {tid.notice_id: req.shown()[tid.notice_id]}, typed_name="Alex Doe", bulk=True)
    assert get_notice(store, tid.notice_id).confirmed


def test_bulk_confirmation_of_non_dmca_notices_needs_no_512f(store):
    outs = _draft(store, bases=["take-it-down", "dsa"])
    req = confirmation_request(store, [o.notice_id for o in outs])
    assert not req.needs_512f
    assert len(confirm_notices(store, req.shown(), typed_name="Alex Doe")) == 2


def test_cli_draft_yes_with_a_dmca_notice_needs_i_understand_512f(store, cli, monkeypatch):
    monkeypatch.setenv("UNLEAK_DB", store.url)
    set_claimant(store, "bulk", roles="copyright_owner,depicted_person")
    add_sightings(store, "bulk", PAGES)
    args = ["notice", "draft", "bulk", "-b", "dmca", "-b", "dsa", "--no-search", "--no-discover"]
    args += ["--to", "forum.example=abuse@forum.example", "--set", "owner=Alex Doe", "--set", "published=no"]
    args += ["--set", "intimate=yes", "--yes", "--sign", "Alex Doe"]
    with pytest.raises(ConfirmationRefused, match="512"):
        cli(*args)
    from unleak.takedown.notices import notice_status

    rows = notice_status(store, "bulk")
    assert {r.status for r in rows} == {NoticeStatus.DRAFT} and len(rows) == 2  # drafted, none confirmed
    ids = [str(r.id) for r in rows]
    code, out, err = cli("notice", "confirm", *ids, "--sign", "Alex Doe", "--i-understand-512f")
    assert code == 0 and out.count("confirmed; send it") == 2 and "512(f)" in err


def test_a_dmca_notice_with_a_changed_signer_fails_validation(store):
    [o] = _draft(store, bases=["dmca"])
    req = confirmation_request(store, [o.notice_id])
    confirm_notices(store, req.shown(), typed_name="Alex Doe")
    # Someone edits the signature to name another person: the notice no longer validates.
    missing = update_notice(store, o.notice_id, {"signature": "/Jordan Smith/"})
    assert [m.key for m in missing] == ["signature"] and "does not name the signer" in missing[0].problem
    n = get_notice(store, o.notice_id)
    assert n.status == NoticeStatus.DRAFT and not n.confirmed  # its confirmation no longer holds
    with pytest.raises(IncompleteNotice):
        confirm_notices(store, {n.id: n.content_sha256}, typed_name="Jordan Smith")


def test_the_signature_follows_the_signer(store):
    set_claimant(store, "sig")
    assert get_claimant(store, "sig").signature == "/Alex Doe/"
    set_claimant_fields(store, "sig", name="Alex Q. Doe")  # the default signature follows the name
    assert get_claimant(store, "sig").signature == "/Alex Q. Doe/"
    set_claimant_fields(store, "sig", signature="/A. Q. Doe/")
    with pytest.raises(UnleakError, match="does not name"):
        set_claimant_fields(store, "sig", name="Jordan Smith")  # a custom signature is not rewritten silently
    assert get_claimant(store, "sig").name == "Alex Q. Doe"  # nothing was saved
    set_claimant_fields(store, "sig", name="Jordan Smith", signature="/Jordan Smith/")
    assert get_claimant(store, "sig").signature == "/Jordan Smith/"


def test_nothing_is_sworn_that_the_person_did_not_state(store):
    set_claimant(store, "facts", roles="copyright_owner,depicted_person")
    add_sightings(store, "facts", PAGES, label="garden-03")
    add_sightings(store, "facts", [("https://forum.example/t/2", "https://forum.example/m/2.jpg")], label="beach-07")
    outs = draft_notices(store, "facts", bases=["dmca", "take-it-down"], search=False, recipients=TO)
    by = {o.basis: o for o in outs}
    assert {m.key for m in by["dmca"].missing} == {"work"}  # no "owns the copyright", no "unpublished"
    assert {m.key for m in by["take-it-down"].missing} == {"intimate"}  # never assumed
    for o in outs:
        body = get_notice(store, o.notice_id).body.lower()
        assert "owns the copyright" not in body and "unpublished" not in body and "never published" not in body
    # Ownership and publication are stated per item where they differ.
    missing = update_notice(
        store, by["dmca"].notice_id, {"owner": "Alex Doe", "published:garden-03": "no", "published:beach-07": "yes"}
    )
    assert missing == []
    body = " ".join(get_notice(store, by["dmca"].notice_id).body.split())
    assert "'garden-03': copyright owned by Alex Doe; not published before." in body
    assert "'beach-07': copyright owned by Alex Doe; published before." in body
    assert update_notice(store, by["take-it-down"].notice_id, {"intimate": "yes"}) == []


def test_no_case_name_leaves_in_the_text(store):
    [o] = _draft(store, case="alice-private-case")
    n = get_notice(store, o.notice_id)
    assert "alice-private-case" not in n.body and "unleak" not in n.body.lower()


def test_dmca_review_warns_that_the_notice_reaches_the_uploader_and_lumen(store):
    [o] = _draft(store, bases=["dmca"])
    assert "Lumen" in o.review_note and "--notice-contact" in o.review_note
    assert "forwarded to the uploader" in get_notice(store, o.notice_id).review_note


def test_a_contact_for_notices_replaces_the_claimants_own_address(store):
    set_claimant(store, "nc", notice_contact="Helpline, notices@helpline.example")
    add_sightings(store, "nc", PAGES)
    [o] = draft_notices(store, "nc", search=False, recipients=TO, answers=FACTS)
    body = get_notice(store, o.notice_id).body
    assert "notices@helpline.example" in body and "alex@example.org" not in body and "Main Street" not in body


# --- the claimant is asked for, never saved empty ---------------------------------------------


def test_an_empty_claimant_is_refused(store):
    with store.session() as s:
        store.case(s, "empty", create=True)
    with pytest.raises(UnleakError, match="needs at least a name"):
        set_claimant_fields(store, "empty", email="a@example.org")
    assert get_claimant(store, "empty") is None


def test_claimant_set_without_options_refuses_outside_a_terminal(store, cli, monkeypatch):
    monkeypatch.setenv("UNLEAK_DB", store.url)
    assert cli("case", "new", "q1")[0] == 0
    with pytest.raises(UnleakError, match="nothing to set"):
        cli("claimant", "set", "--case", "q1")


def test_claimant_set_in_a_terminal_asks_each_field_and_why(store, monkeypatch):
    import unleak.cli.notices as notices_cli
    from unleak.cli import app

    monkeypatch.setenv("UNLEAK_DB", store.url)
    monkeypatch.setattr(notices_cli, "_interactive", lambda as_json=False: not as_json)
    runner = CliRunner()
    assert runner.invoke(app, ["case", "new", "q2"]).exit_code == 0
    # name, roles, email, notice contact, on behalf of, postal address, phone, country
    answers = "Alex Doe\ndepicted_person\nalex@example.org\nnotices@helpline.example\n\n\n\nDE\n"
    result = runner.invoke(app, ["claimant", "set", "--case", "q2"], input=answers, catch_exceptions=False)
    assert result.exit_code == 0, result.stdout
    assert "only DMCA notices" in result.stdout and "Lumen" in result.stdout  # says which bases need what
    c = get_claimant(store, "q2")
    assert c is not None and c.name == "Alex Doe" and c.roles == ("depicted_person",) and c.country == "DE"
    assert c.notice_contact == "notices@helpline.example" and c.postal_address == ""
    # Asked again with nothing typed: refused, not saved empty.
    assert runner.invoke(app, ["case", "new", "q3"]).exit_code == 0
    with pytest.raises(UnleakError, match="needs at least a name"):
        runner.invoke(app, ["claimant", "set", "--case", "q3"], input="\n" * 8, catch_exceptions=False)


# --- the basis by who and where -----------------------------------------------------------------


@pytest.mark.parametrize(
    "roles,kind,kw,expected",
    [
        ({"depicted_person"}, "host", {"country": "Germany"}, "dsa"),
        ({"depicted_person"}, "host", {"country": "UK"}, "uk-osa"),
        ({"depicted_person"}, "host", {"country": "US"}, "take-it-down"),
        ({"depicted_person"}, "host", {"host_jurisdiction": "CY"}, "dsa"),
        ({"depicted_person"}, "host", {"host_jurisdiction": "US", "covered": False}, "ncii-policy"),
        ({"depicted_person"}, "search", {"country": "DE"}, "search-delisting"),
        ({"depicted_person", "copyright_owner"}, "host", {"sold": True}, "dmca"),
        ({"depicted_person", "copyright_owner"}, "search", {"sold": True}, "dmca-512d"),
        ({"depicted_person", "copyright_owner"}, "host", {"country": "US"}, "take-it-down"),
        ({"copyright_owner"}, "host", {"country": "DE"}, "dmca"),
    ],
)
def test_the_basis_is_chosen_by_who_and_where(roles, kind, kw, expected):
    from unleak.takedown.bases import choose_basis

    basis, why = choose_basis(roles, kind, **kw)
    assert basis == expected and why


def test_the_choice_is_explained_at_review(store):
    set_claimant(store, "why", country="FR")
    add_sightings(store, "why", PAGES)
    [o] = draft_notices(store, "why", search=False, recipients=TO, answers=FACTS)
    n = get_notice(store, o.notice_id)
    assert n.basis == "dsa" and "your country (FR) is in the EU" in n.basis_reason
    assert "FR" not in n.body.split("Legal basis")[0]  # the reason is for the person, not the text sent


def test_interactive_dmca_draft_asks_ownership_and_publication_per_item(store, monkeypatch):
    import unleak.cli.notices as notices_cli
    from unleak.cli import app

    monkeypatch.setenv("UNLEAK_DB", store.url)
    monkeypatch.setattr(notices_cli, "_interactive", lambda as_json=False: not as_json)
    set_claimant(store, "ask", roles="copyright_owner")
    add_sightings(store, "ask", PAGES, label="garden-03")
    add_sightings(store, "ask", [("https://forum.example/t/2", "https://forum.example/m/2.jpg")], label="beach-07")
    answers = "Alex Doe\nno\nAlex Doe\nyes\n\n"  # owner and publication of each item; Enter: leave a draft
    result = CliRunner().invoke(
        app,
        ["notice", "draft", "ask", "--no-search", "--no-discover", "--to", "forum.example=abuse@forum.example"],
        input=answers,
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.stdout
    assert "Who owns the copyright in 'garden-03'?" in result.stdout
    assert "Was 'beach-07' published before it was leaked?" in result.stdout
    flat = " ".join(result.stdout.split())
    assert "'garden-03': copyright owned by Alex Doe; not published before." in flat
    assert "'beach-07': copyright owned by Alex Doe; published before." in flat
