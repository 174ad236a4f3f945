"""The evidence bundle's case report has a take-down section: the per host and basis, per host, per
basis and case tables, and the chart of time to removal as a PNG file that the manifest (and so
`unleak evidence verify`) covers."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from _site import load_site
from test_notice_fixtures import FACTS, set_claimant
from test_notice_verify import add_site_sightings, fast_policy

CASE = "verify"  # the case add_site_sightings fills
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def site(samples):
    with load_site().generate_site(samples[:3], samples[10:12]) as s:
        yield s


def test_bundle_report_has_the_takedown_table_and_chart(store, site, samples, cli, monkeypatch, tmp_path):
    from PIL import Image

    from unleak.takedown.drafting import confirm_notice, draft_notices
    from unleak.takedown.sending import send_notice
    from unleak.takedown.verify import verify_case

    monkeypatch.setenv("UNLEAK_DB", store.url)
    # Sent ten days ago (whole hours, so the times below are exact): overdue now, as nothing is all gone.
    sent = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=10)
    set_claimant(store, CASE)
    add_site_sightings(store, site, samples)
    [o] = draft_notices(
        store, answers=FACTS, case=CASE, search=False, recipients={"127.0.0.1": "https://127.0.0.1/form"}, now=sent
    )
    confirm_notice(store, o.notice_id, typed_name="Alex Doe", now=sent)
    send_notice(store, o.notice_id, submitted=True, now=sent)
    m1, m2, _m3 = list(site.truth)
    site.take_down(m1, 410)  # the file and the page showing it: gone after 5 h
    verify_case(store, CASE, policy=fast_policy(), now=sent + timedelta(hours=5))
    site.take_down(m2, 404)  # and these two after 30 h
    verify_case(store, CASE, policy=fast_policy(), now=sent + timedelta(hours=30))

    bundle = tmp_path / "bundle"
    code, _out, err = cli("evidence", "export", CASE, "--out", bundle)
    assert code == 0, err
    html = (bundle / "report.html").read_text(encoding="utf-8")
    assert "<h2>Take-down</h2>" in html
    # host, basis, sent, URLs removed, rate, median, p90 (nearest rank of 5, 5, 30, 30 h), overdue
    row = "".join(f"<td>{v}</td>" for v in ("127.0.0.1", "take-it-down", 1, "4/6", "67%", "5.0 h", "30.0 h", 1))
    assert row in html
    assert "".join(f"<td>{v}</td>" for v in ("all", "all", 1, "4/6", "67%", "5.0 h", "30.0 h", 1)) in html

    chart = bundle / "takedown.png"
    data = chart.read_bytes()
    assert data[:8] == PNG
    with Image.open(chart) as im:
        im.verify()
    lines = (bundle / "manifest.sha256").read_text().splitlines()
    manifest = {name: digest for digest, name in (line.split("  ", 1) for line in lines)}
    assert manifest["takedown.png"] == hashlib.sha256(data).hexdigest()
    assert b"/Subtype /Image" in (bundle / "report.pdf").read_bytes()  # the chart is in the PDF too
    code, out, err = cli("evidence", "verify", bundle)
    assert code == 0, err + out

    # The chart is covered like any other file: an altered chart fails the check, naming it.
    chart.write_bytes(data + b"\0")
    code, out, err = cli("evidence", "verify", bundle)
    assert code == 1 and "takedown.png: altered" in out + err


def test_no_takedown_section_without_sent_notices(store, cli, monkeypatch, tmp_path):
    monkeypatch.setenv("UNLEAK_DB", store.url)
    assert cli("case", "new", "quiet")[0] == 0
    bundle = tmp_path / "bundle"
    assert cli("evidence", "export", "quiet", "--out", bundle, "--no-pdf")[0] == 0
    assert not (bundle / "takedown.png").exists()
    assert "Take-down" not in (bundle / "report.html").read_text(encoding="utf-8")
    assert cli("evidence", "verify", bundle)[0] == 0
