"""What a hostile page says (an uploader with OSC 8 / CSI escapes and a bidi override, a post
time holding CRLF and a mail header, a URL with a bidi override in it) reaches no terminal, report,
PDF, notice or CSV as it came; JSON and the database keep it as the page said it."""

from __future__ import annotations

import base64
import csv
import email
import json
import re
import zlib
from email import policy
from html import escape

import pytest

from unleak.demo.site import SiteServer, altered_copy
from unleak.errors import UnleakError
from unleak.net.html import parse_page, post_time

EVIL = "evil\x1b]8;;https://attacker.example/\x07click\x1b]8;;\x07\x1b[2J\x1b[31m\u202eexe.jpg"
FORMULA = '=HYPERLINK("https://attacker.example/","open")'
BAD_TIME = "2026-01-01T00:00:00Z\r\nBcc: victim@example.com"
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")  # raw unsafe characters


def _page(uploader: str, media: str, posted: str) -> str:
    # Character references put the controls into the DOM exactly as a hostile page would.
    def attr(text: str) -> str:
        return "".join(f"&#{ord(c)};" if ord(c) < 32 or 0x202A <= ord(c) <= 0x202E else c for c in escape(text))

    return (
        f'<!doctype html><html><body><div data-uploader="{attr(uploader)}"></div>'
        f'<time datetime="{attr(posted)}">then</time><img src="{attr(media)}"></body></html>'
    )


def test_post_time_is_a_time_or_nothing():
    assert post_time("2026-01-02T03:04:05+01:00") == "2026-01-02T03:04:05+01:00"
    assert post_time(" Sun, 01 Feb 2026 09:00:00 GMT ") == "Sun, 01 Feb 2026 09:00:00 GMT"
    for bad in (BAD_TIME, "Sun, 01 Feb 2026 09:00:00 GMT Bcc: x@y", "yesterday", "2026-01-02\u202e", "9" * 200):
        assert post_time(bad) is None, bad
    info = parse_page(_page("x", "/a.jpg", BAD_TIME).encode(), "http://example.com/p")
    assert (info.posted_at, info.posted_raw) == (None, BAD_TIME)
    both = '<time datetime="soon">x</time><time datetime="2026-01-03">y</time>'
    info = parse_page(f"<html><body>{both}</body></html>".encode(), "http://example.com/p")
    assert (info.posted_at, info.posted_raw) == ("2026-01-03", "2026-01-03")


def _pdf_text(data: bytes) -> str:
    """The text a PDF shows: the string operands of its text operators, from every content stream."""
    out = []
    for m in re.finditer(rb"stream\r?\n(.*?)\s*endstream", data, re.S):
        stream = m.group(1)
        if stream.rstrip().endswith(b"~>"):  # reportlab's ASCII85 armour over Flate
            stream = base64.a85decode(stream.rstrip(), adobe=True)
        try:
            stream = zlib.decompress(stream)
        except zlib.error:
            pass
        for s in re.finditer(rb"\(((?:\\.|[^\\)])*)\)\s*Tj", stream, re.S):
            out.append(re.sub(rb"\\(.)", rb"\1", s.group(1)).decode("latin-1"))
    return "\n".join(out)


@pytest.fixture
def hostile_scan(cli, samples, tmp_path):
    """A case whose scan found two copies on hostile pages: one with EVIL as uploader and BAD_TIME
    as post time, one with a spreadsheet formula as uploader and a bidi override in its media URL."""
    with SiteServer() as server:
        server.set("/robots.txt", "", "text/plain")
        server.set("/m/a.jpg", altered_copy(samples[0], 0)[1], "image/jpeg")
        server.set("/m/b.jpg?v=%E2%80%AEgpj.exe", altered_copy(samples[1], 1)[1], "image/jpeg")
        server.set("/p/a.html", _page(EVIL, "/m/a.jpg", BAD_TIME))
        server.set("/p/b.html", _page(FORMULA, "/m/b.jpg?v=\u202egpj.exe", "2026-01-02T10:00Z"))
        server.set("/", '<html><body><a href="/p/a.html">a</a> <a href="/p/b.html">b</a></body></html>')
        assert cli("protect", "--case", "h", *samples[:2])[0] == 0
        assert cli("source", "add", "crawl", server.url("/"), "--case", "h", "--allow-network", "127.0.0.1/32")[0] == 0
        code, _, err = cli("scan", "--case", "h", "--rate", "0", "--verify", "off")
        assert code == 0, err
        yield server


def test_crawled_strings_neutralised_everywhere_but_json(cli, hostile_scan, tmp_path, monkeypatch):
    from unleak import console

    monkeypatch.setattr(console.console, "_width", 1000)  # one line per row, to read the cells whole
    # sightings --json: the values as the page held them
    code, out, _ = cli("sightings", "--case", "h", "--json")
    assert not RAW.search(out.replace("\n", ""))  # escaped as JSON escapes, read back as they were
    rows = {json.loads(line)["page_url"].rsplit("/", 1)[1]: json.loads(line) for line in out.splitlines()}
    assert rows["a.html"]["uploader"] == EVIL and rows["b.html"]["uploader"] == FORMULA
    assert rows["a.html"]["posted_at"] is None and rows["a.html"]["posted_raw"] == BAD_TIME
    assert rows["b.html"]["posted_at"] == "2026-01-02T10:00Z"
    assert "\u202e" in rows["b.html"]["media_url"]  # (httpx refuses a URL with a raw control character)

    # the terminal: no escape, no override, but the text is there to read
    code, out, err = cli("sightings", "--case", "h")
    assert code == 0 and not RAW.search(out + err), repr(out)
    assert "evil\\x1b]8;;https://attacker.example/\\x07click\\x1b]8;;\\x07\\x1b[2J\\x1b[31m\\u202eexe.jpg" in out

    # a CSV for a spreadsheet: escapes shown, the formula made text
    code, _, _ = cli("sightings", "--case", "h", "--csv", tmp_path / "s.csv")
    with open(tmp_path / "s.csv", newline="", encoding="utf-8") as fh:
        cells = {r["page_url"].rsplit("/", 1)[1]: r for r in csv.DictReader(fh)}
    assert not RAW.search((tmp_path / "s.csv").read_text("utf-8").replace("\r\n", "\n").replace("\n", ""))
    assert cells["b.html"]["uploader"] == "'" + FORMULA
    assert cells["a.html"]["uploader"].startswith("evil\\x1b]8;;") and cells["a.html"]["posted_at"] == ""
    assert cells["a.html"]["posted_raw"] == "2026-01-01T00:00:00Z\\x0d\\x0aBcc: victim@example.com"

    # the evidence bundle: report.html and report.pdf show escapes, sightings.json keeps the values
    code, _, err = cli("evidence", "export", "h", "--out", tmp_path / "b")
    assert code == 0, err
    html = (tmp_path / "b" / "report.html").read_text("utf-8")
    assert not RAW.search(html.replace("\n", ""))
    assert "evil\\x1b]8;;https://attacker.example/\\x07click" in html and "\\u202eexe.jpg" in html
    assert "not a time: 2026-01-01T00:00:00Z\\x0d\\x0aBcc: victim@example.com" in html
    pdf = _pdf_text((tmp_path / "b" / "report.pdf").read_bytes())
    assert "evil" in pdf and not RAW.search(pdf.replace("\n", ""))
    assert "\\x1b" in pdf and "\\u202e" in pdf
    bundled = json.loads((tmp_path / "b" / "sightings.json").read_text("utf-8"))
    assert EVIL in {s["uploader"] for s in (bundled if isinstance(bundled, list) else bundled["sightings"])}


def test_notice_of_a_hostile_url_carries_no_control_characters(cli, hostile_scan, tmp_path, monkeypatch):
    monkeypatch.setenv("UNLEAK_SMTP_FROM", "helpline@unleak.test")
    args = ["--name", "Alex Doe", "--email", "alex@example.org", "--address", "1 Main St", "--role", "depicted_person"]
    assert cli("claimant", "set", "--case", "h", *args)[0] == 0
    code, out, err = cli(
        "notice",
        "draft",
        "--case",
        "h",
        "--json",
        "--no-discover",
        "--no-search",
        "--to",
        "127.0.0.1=abuse@host.example",
    )
    assert code == 0, err
    ids = [json.loads(line)["notice_id"] for line in out.splitlines() if line.startswith("{")]
    assert ids
    for nid in ids:
        code, out, err = cli("notice", "show", str(nid), "--out", tmp_path / "n")
        assert code == 0, err
        assert not RAW.search((out + err).replace("\n", "").replace("\t", ""))
    texts = [p.read_text("utf-8") for p in (tmp_path / "n").glob("*.txt")]
    assert texts and any("?v=\\u202egpj.exe" in t for t in texts)  # the URL is shown, its escape visible
    for t in texts:
        assert not RAW.search(t.replace("\n", ""))
    for eml in (tmp_path / "n").glob("*.eml"):
        msg = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
        for k, v in msg.items():
            assert not RAW.search(str(v)), (k, v)
        assert not RAW.search(msg.get_body(("plain",)).get_content().replace("\r\n", "").replace("\n", ""))
    for pdf in (tmp_path / "n").glob("*.pdf"):
        assert not RAW.search(_pdf_text(pdf.read_bytes()).replace("\n", ""))


def test_notice_headers_stay_one_line():
    from unleak.takedown.render import build_email, form_text, render_pdf

    claimant = {"name": "Alex\r\nBcc: victim@example.com", "email": "alex@example.org"}
    msg = build_email(
        subject="Removal\r\nBcc: victim@example.com " + EVIL, body=EVIL, to="abuse@host.example", claimant=claimant
    )
    raw = msg.as_bytes()
    assert b"\nBcc:" not in raw and b"\x1b" not in raw and "\u202e".encode() not in raw
    assert msg["Subject"].startswith("Removal\\x0d\\x0aBcc: victim@example.com evil\\x1b")
    with pytest.raises(UnleakError, match="recipient address"):
        build_email(subject="s", body="b", to="abuse@host.example\r\nBcc: victim@example.com", claimant=claimant)
    assert not RAW.search(_pdf_text(render_pdf(EVIL, EVIL + "\n\n" + EVIL)).replace("\n", ""))
    fields = {"basis": "ncii-policy", "claimant": {"name": EVIL}, "urls": ["https://x.example/" + EVIL]}
    assert not RAW.search(form_text(fields, "https://x.example/form\r\n").replace("\n", ""))


def test_csv_cell_neutralises_formulas_and_controls():
    from unleak.text import csv_cell

    assert [csv_cell(v) for v in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "plain", 5, -3, None)] == [
        "'=1+1",
        "'+1",
        "'-1",
        "'@SUM(A1)",
        "'\\x09x",
        "'\\x0dx",
        "plain",
        "5",
        "-3",
        "",
    ]


def test_console_neutralises_text_printed_directly():
    """The last guard: a crawled string printed straight to a console still drives nothing."""
    from unleak import console

    with console.console.capture() as cap:
        console.console.print(f"[bold]found[/] {EVIL}\nnext line")
    shown = cap.get()
    assert not RAW.search(shown.replace("\n", "")) and "\\u202eexe.jpg" in shown
    assert shown.splitlines()[1] == "next line"  # the line breaks unleak prints stay line breaks
