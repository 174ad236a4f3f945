"""A minor's case: marked on creation or later, never a DMCA notice, NCMEC's Take It Down and the
IWF first, and captures that keep no media bytes (hashes, URLs and page text only)."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from PIL import Image

from test_notice_fixtures import FACTS, add_sightings, set_claimant
from unleak.takedown.bases import NotEntitled


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), (120, 30, 200)).save(buf, "PNG")
    return buf.getvalue()


def _fetched(url: str, body: bytes, ctype: str):
    from unleak.net.fetch import FetchResult

    return FetchResult(
        url=url,
        final_url=url,
        status=200,
        reason="OK",
        http_version="HTTP/1.1",
        headers=[("Content-Type", ctype), ("Content-Length", str(len(body)))],
        request_headers=[("User-Agent", "test")],
        raw=body,
        body=body,
        ip="203.0.113.7",
        port=443,
        fetched_at=datetime.now(UTC),
        elapsed=0.01,
        sniffed="html" if "html" in ctype else "image",
    )


def test_case_new_and_edit_mark_a_minors_case(store, cli, monkeypatch):
    from unleak.cases import is_minor_case, list_cases

    monkeypatch.setenv("UNLEAK_DB", store.url)
    code, out, err = cli("case", "new", "m1", "--minor")
    assert code == 0 and "takeitdown.ncmec.org" in err and "Internet Watch Foundation" in err
    assert is_minor_case(store, "m1")
    assert cli("case", "new", "m2")[0] == 0 and not is_minor_case(store, "m2")
    code, out, _ = cli("case", "edit", "m2", "--minor", "--json")
    assert code == 0 and '"minor": true' in out and is_minor_case(store, "m2")
    assert cli("case", "edit", "m2", "--not-minor")[0] == 0 and not is_minor_case(store, "m2")
    assert {c.name: c.minor for c in list_cases(store)} == {"m1": True, "m2": False}


def test_a_minors_case_never_drafts_a_dmca_notice(store):
    from unleak.cases import set_case_minor
    from unleak.takedown.drafting import draft_notices

    set_claimant(store, "kid", roles="depicted_person,copyright_owner")
    set_case_minor(store, "kid", True)
    add_sightings(store, "kid", [("https://forum.example/t/1", "https://forum.example/m/1.jpg")])
    with pytest.raises(NotEntitled, match="minor's case"):
        draft_notices(store, "kid", bases=["dmca"], search=False)
    outs = draft_notices(store, "kid", answers=FACTS, recipients={"forum.example": "abuse@forum.example"})
    assert outs and not any(o.basis.startswith("dmca") for o in outs)  # by default: NCII bases only


def test_a_minors_captures_keep_no_media_bytes(store, tmp_path, monkeypatch):
    from unleak.cases import set_case_minor
    from unleak.evidence.capture import MINOR_NOTE, capture_sighting, read_capture
    from unleak.evidence.log import sha256_hex
    from unleak.evidence.sightings import record_sighting
    from unleak.store.models import BankItem

    monkeypatch.setenv("UNLEAK_HOME", str(tmp_path))
    image = _png()
    with store.session() as s:
        case_id = store.case(s, "kid2", create=True).id
    set_case_minor(store, "kid2", True)
    with store.session() as s:
        item = BankItem(case_id=case_id, kind="hash", label="private", source="import")
        s.add(item)
        s.flush()
        media_url, page_url = "https://cdn.leaks.example/1.png", "https://leaks.example/post/1"
        media = _fetched(media_url, image, "image/png")
        page = _fetched(page_url, f'<html><p>posted</p><img src="{media_url}"></html>'.encode(), "text/html")
        change = record_sighting(
            s, case_id, bank_id=item.id, media_url=media_url, page_url=page_url, signal="pdq", distance=5
        )
        cap = capture_sighting(s, change.sighting, media, page, match={"signal": "pdq"}, screenshot=image)
        assert cap.media_sha256 == sha256_hex(image) and cap.screenshot_sha256 is None  # the hash is kept
        warc = read_capture(case_id, cap)
    import gzip

    plain = gzip.decompress(warc)
    assert image not in plain and image[:64] not in plain  # no media bytes, no screenshot
    assert b"<p>posted</p>" in plain and media_url.encode() in plain  # page text and URLs
    assert MINOR_NOTE.encode() in plain


def test_stopncii_guidance_is_for_adults_and_points_minors_to_take_it_down():
    from unleak.takedown.minors import STOPNCII_GUIDANCE

    assert "18" in STOPNCII_GUIDANCE and "Take It Down" in STOPNCII_GUIDANCE
    assert "never leave your device" in STOPNCII_GUIDANCE
