"""`unleak app` over HTTP, as a browser without JavaScript uses it: login, CSRF, headers, accounts,
and the whole job (protect, scan, sightings, notices, evidence, trace) on a local site and SMTP sink."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import time
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from PIL import Image
from typer.testing import CliRunner

from _app import Browserless, live_app
from test_notice_fixtures import start_sink
from unleak.demo.site import SiteServer, jpeg
from unleak.errors import UnleakError

PAGES = ["", "/sightings", "/sightings?view=gallery", "/sources", "/notices", "/evidence", "/trace"]
EVIL_UPLOADER = "<script>alert(1)</script>\x1b[31mred"


class _Inline(HTMLParser):
    """Finds what a strict CSP would block: inline scripts, style elements and attributes, handlers."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        names = {k for k, _ in attrs}
        if tag == "script" and "src" not in names:
            self.found.append("inline <script>")
        if tag == "style":
            self.found.append("<style>")
        if "style" in names:
            self.found.append(f"style= on <{tag}>")
        self.found += [f"{k}= on <{tag}>" for k in names if k.startswith("on")]


def _inline(html: str) -> list[str]:
    p = _Inline()
    p.feed(html)
    return p.found


def _evil_site(photo: Path) -> SiteServer:
    """One post with a resized copy of a protected photo, uploaded by `<script>` + a terminal escape."""
    from html import escape

    site = SiteServer()
    image = Image.open(photo).convert("RGB")
    site.set("/img/copy.jpg", jpeg(image.resize((image.width // 2, image.height // 2))), "image/jpeg")
    title = "Leak \x1b]0;pwned\x07 \x1b[2J"
    site.set(
        "/post/1.html",
        f"<!doctype html><html><head><title>{escape(title)}</title></head><body><h1>{escape(title)}</h1>"
        f'<p class="byline">posted by <a rel="author" href="/u/x">{escape(EVIL_UPLOADER)}</a></p>'
        f'<img src="/img/copy.jpg"></body></html>',
    )
    site.set("/", '<!doctype html><html><body><a href="/post/1.html">post</a></body></html>')
    return site


@pytest.fixture
def client(store, tmp_path):
    with live_app(store, roots=(tmp_path,)) as live:
        c = Browserless(live)
        yield c
        c.close()


def test_login_link_works_once_and_every_page_needs_a_session(client):
    assert client.get("/").url.path == "/login"
    r = client.login_token()
    assert r.status_code == 200 and "Open a new case" in r.text
    client.http.cookies.clear()
    second = client.http.get(client.live.login_url.replace(client.live.base, ""))
    assert second.status_code == 403 and "already used" in second.text
    assert client.get("/c/x/sightings").url.path == "/login"


def test_forms_need_the_session_csrf_token_and_pages_carry_a_strict_csp(client):
    client.login_token()
    assert client.post("/cases", {"name": "alex"}, csrf="forged").status_code == 403
    assert client.post("/cases", {"name": "alex"}, csrf="").status_code == 403
    r = client.post("/cases", {"name": "alex"})
    assert r.status_code == 200 and r.url.path == "/c/alex"
    for path in ["/", "/help"] + [f"/c/alex{p}" for p in PAGES]:
        r = client.get(path)
        assert r.status_code == 200, path
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
        assert r.headers["cache-control"] == "no-store" and r.headers["x-content-type-options"] == "nosniff"
        assert _inline(r.text) == [], path
        assert "set-cookie" not in r.headers or "HttpOnly" in r.headers["set-cookie"]
        for form in re.findall(r'<form method="post".*?</form>', r.text, re.S):
            assert 'name="csrf"' in form, (path, form[:120])


def test_listening_beyond_this_machine_needs_accounts_and_tls(store, cli):
    from unleak.accounts import add_user
    from unleak.app import check_exposure
    from unleak.errors import ConfigError

    check_exposure("127.0.0.1", has_accounts=False, tls=False, behind_proxy=None)
    check_exposure("::1", has_accounts=False, tls=False, behind_proxy=None)
    with pytest.raises(ConfigError, match="without accounts"):
        check_exposure("0.0.0.0", has_accounts=False, tls=True, behind_proxy=None)
    with pytest.raises(ConfigError, match="without TLS"):
        check_exposure("0.0.0.0", has_accounts=True, tls=False, behind_proxy=None)
    check_exposure("0.0.0.0", has_accounts=True, tls=True, behind_proxy=None)
    check_exposure("0.0.0.0", has_accounts=True, tls=False, behind_proxy="nginx")
    # the command itself, on the default database: refused before listening, in one line
    with pytest.raises(ConfigError, match="without accounts"):
        cli("app", "--host", "0.0.0.0", "--no-browser")
    from unleak.store import open_store

    add_user(open_store(), "admin1", "admin", "correct horse battery")
    with pytest.raises(ConfigError, match="without TLS"):
        cli("app", "--host", "0.0.0.0", "--no-browser")


def test_caseworker_opens_only_assigned_cases_and_is_named_in_the_log(client, store):
    from unleak.accounts import add_user, assign_case
    from unleak.cases import create_case
    from unleak.evidence.log import records

    create_case(store, "mine")
    create_case(store, "theirs")
    add_user(store, "alice", "caseworker", "alice-password-1")
    add_user(store, "bob", "caseworker", "bob-password-12")
    assign_case(store, "alice", "mine")
    assign_case(store, "bob", "theirs")
    assert client.http.post("/login", data={"name": "alice", "password": "alice-password-1"}).status_code == 403
    assert client.login("alice", "wrong-password").status_code == 401
    r = client.login("alice", "alice-password-1")
    assert r.status_code == 200 and "mine" in r.text and "theirs" not in r.text
    for p in PAGES + ["/timeline.svg", "/evidence/report.pdf", "/sightings/1/thumb.jpg"]:
        assert client.get(f"/c/theirs{p}").status_code == 403, p
    assert client.get("/help?case=theirs").status_code == 403
    client.get("/c/mine/sources")
    assert client.post("/c/theirs/sources", {"kind": "urls", "targets": "https://example.org/a.jpg"}).status_code == 403
    r = client.post("/c/mine/sources", {"kind": "urls", "targets": "https://example.org/a.jpg"})
    assert r.status_code == 200 and "example.org" in r.text
    with store.session() as s:
        c = store.case(s, "mine")
        added = [json.loads(x.body) for x in records(s, c.id) if x.action.startswith("source")]
    assert added and added[-1]["data"]["actor"] == "app:alice"


@pytest.mark.slow
def test_whole_job_over_http(client, store, samples, tmp_path, monkeypatch):
    """Protect, scan a local site, see sightings (crawled strings as text, blurred thumbnails), notice
    confirmed by the typed name and sent to an SMTP sink, evidence exported and verified, trace."""
    sink = start_sink()
    monkeypatch.setenv("UNLEAK_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("UNLEAK_SMTP_PORT", str(sink.port))
    monkeypatch.setenv("UNLEAK_SMTP_SECURITY", "none")
    monkeypatch.setenv("UNLEAK_SMTP_FROM", "notices@unleak.test")
    private = tmp_path / "private"
    private.mkdir()
    for p in samples[:2]:
        Image.open(p).convert("RGB").save(private / f"{p.stem}.jpg", quality=95)
    (private / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    site = _evil_site(private / f"{samples[0].stem}.jpg")
    try:
        client.login_token()
        client.post("/cases", {"name": "alex"})
        r = client.get("/c/alex/protect", params={"folder": str(private)})
        assert "Protect this folder" in r.text
        assert client.get("/c/alex/protect", params={"folder": "/etc"}).status_code == 400  # outside --root
        text = client.wait_job(client.post("/c/alex/protect", {"folder": str(private)}))
        assert "Protected 2 new file(s)" in text and "broken.jpg" in text  # the per-file error is listed

        r = client.post("/c/alex/sources", {"kind": "crawl", "targets": site.url("/"), "allow_network": "127.0.0.1/32"})
        assert "Added source" in r.text
        text = client.wait_job(client.post("/c/alex/scan", {"rate": "0"}))
        assert "1 sighting(s)" in text, text

        page = client.get("/c/alex/sightings").text
        assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert "\x1b" not in page and "\\x1b[31mred" in page
        assert site.url("/img/copy.jpg") in page and "distance" in page, page[page.find("<tbody>") :][:1500]
        # thumbnails: blurred by the server until revealed, never cached
        gallery = client.get("/c/alex/sightings?view=gallery").text
        [sid] = re.findall(r"/sightings/(\d+)/thumb.jpg", gallery)
        blurred = client.get(f"/c/alex/sightings/{sid}/thumb.jpg")
        assert blurred.headers["content-type"] == "image/jpeg" and blurred.headers["cache-control"] == "no-store"
        r = client.post(f"/c/alex/sightings/{sid}/reveal", {"back": "//evil.example/x"})
        assert r.url.host == "127.0.0.1" and r.url.path == "/c/alex/sightings"  # never sent elsewhere
        revealed = client.get(f"/c/alex/sightings/{sid}/thumb.jpg")
        assert _detail(revealed.content) > 4 * _detail(blurred.content)
        client.get("/c/alex/sightings")
        client.post("/c/alex/settings/thumbnails", {"hide": "1"})
        assert client.get(f"/c/alex/sightings/{sid}/thumb.jpg").status_code == 404
        assert "thumb.jpg" not in client.get("/c/alex/sightings?view=gallery").text

        # notices: draft, confirm only with the name as signed, send to the sink
        client.get("/c/alex/notices")
        client.post("/c/alex/claimant", {"name": "Alex Doe", "email": "alex@example.org", "role": "depicted_person"})
        r = client.post("/c/alex/notices/draft", {"host": "127.0.0.1", "recipient": "abuse@site.test"})
        assert "Drafted 1 notice(s)" in r.text
        [nid] = re.findall(r"/c/alex/notices/(\d+)\"", r.text)
        page = client.get(f"/c/alex/notices/{nid}").text
        assert page.count('class="clause"') >= 3  # the statutory elements are marked
        # nothing is sworn that the person did not state: confirming waits for their answer
        assert 'name="intimate"' in page and 'name="sha256"' not in page
        client.post(f"/c/alex/notices/{nid}/edit", {"intimate": "yes"})
        page = client.get(f"/c/alex/notices/{nid}").text
        sha = re.search(r'name="sha256" value="([0-9a-f]{64})"', page).group(1)
        r = client.post(f"/c/alex/notices/{nid}/confirm", {"typed_name": "Alex", "sha256": sha})
        assert r.status_code == 400 and "does not match the signature" in r.text
        client.get(f"/c/alex/notices/{nid}")
        r = client.post(f"/c/alex/notices/{nid}/confirm", {"typed_name": "Alex Doe", "sha256": sha})
        assert "Confirmed" in r.text
        r = client.post(f"/c/alex/notices/{nid}/send", {})
        assert "Sent to abuse@site.test" in r.text
        assert len(sink.messages) == 1 and sink.messages[0].rcpt_tos == ["abuse@site.test"]
        assert site.url("/img/copy.jpg").encode() in sink.messages[0].data

        # evidence: export a zip, verify it; a changed byte is named
        client.get("/c/alex/evidence")
        bundle = client.post("/c/alex/evidence/export", {"pdf": ""})
        assert bundle.headers["content-type"] == "application/zip"
        r = client.post("/c/alex/evidence/verify", files={"bundle": ("b.zip", bundle.content, "application/zip")})
        assert "The bundle is intact" in r.text, r.text
        tampered = _tamper(bundle.content)
        r = client.post("/c/alex/evidence/verify", files={"bundle": ("b.zip", tampered, "application/zip")})
        assert "does NOT verify" in r.text and "sightings.json" in r.text

        # trace: recipients, marked copies as a zip, a leaked copy names its recipient
        client.get("/c/alex/trace")
        for name in ("subscriber-1", "subscriber-2", "subscriber-3"):
            client.post("/c/alex/recipients", {"name": name})
        original = (private / f"{samples[1].stem}.jpg").read_bytes()
        marked = client.post("/c/alex/mark", files={"original": ("photo.jpg", original, "image/jpeg")})
        assert marked.headers["content-type"] == "application/zip"
        with zipfile.ZipFile(io.BytesIO(marked.content)) as z:
            copies = {Path(n).name: z.read(n) for n in z.namelist() if not n.endswith("/")}
        leaked_name = next(n for n in copies if "subscriber-2" in n)
        r = client.post("/c/alex/trace", files={"leaked": (leaked_name, copies[leaked_name], "image/jpeg")})
        assert re.search(r'class="accused">subscriber-2<', r.text), r.text[-2000:]
    finally:
        site.close()
        sink.controller.stop()


def _detail(jpeg_bytes: bytes) -> float:
    """How much fine detail an image has (mean absolute difference of neighbouring pixels)."""
    import numpy as np

    a = np.asarray(Image.open(io.BytesIO(jpeg_bytes)).convert("L"), dtype=np.float32)
    return float(np.abs(np.diff(a, axis=1)).mean())


def _tamper(zip_bytes: bytes) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(zip_bytes))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.endswith("sightings.json"):
                data = data.replace(b"127.0.0.1", b"127.0.0.2", 1)
            dst.writestr(info, data)
    return out.getvalue()


def _start(args: list[str], home: Path) -> subprocess.Popen:
    env = {**os.environ, "UNLEAK_HOME": str(home), "PYTHONPATH": os.pathsep.join(sys.path)}
    env.pop("UNLEAK_DB", None)
    return subprocess.Popen(
        [sys.executable, "-m", "unleak", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True
    )


def _url_line(proc: subprocess.Popen, timeout: float = 300) -> str:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        line = proc.stdout.readline()
        if not line:
            break
        if line.startswith("http://"):
            return line.strip()
    proc.kill()
    raise AssertionError(f"no login link printed: {proc.stderr.read()[-2000:]}")


def test_command_prints_a_one_time_login_link_first_and_accounts_are_added_from_stdin(tmp_path, cli):
    from unleak.accounts import authenticate, list_users
    from unleak.store import open_store

    proc = _start(["app", "--no-browser", "--port", "0", "--root", str(tmp_path)], tmp_path / "home")
    try:
        first = proc.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/login\?token=[\w-]{30,}", first), first
        with httpx.Client(follow_redirects=True, timeout=30) as http:
            assert "Open a new case" in http.get(first).text
        with httpx.Client(follow_redirects=True, timeout=30) as http:
            assert http.get(first).status_code == 403  # once only
    finally:
        proc.terminate()
        proc.wait(10)
    runner = CliRunner()
    from unleak.cli import app as cli_app

    r = runner.invoke(cli_app, ["users", "add", "carol", "--role", "caseworker", "--password-stdin"], input="short\n")
    assert r.exit_code != 0 and isinstance(r.exception, UnleakError) and "too short" in str(r.exception)
    r = runner.invoke(cli_app, ["users", "add", "carol", "--password-stdin"], input="a long enough secret\n")
    assert r.exit_code == 0, r.output
    assert cli("case", "new", "c1")[0] == 0
    assert runner.invoke(cli_app, ["users", "assign", "carol", "c1"]).exit_code == 0
    store = open_store()
    assert authenticate(store, "carol", "a long enough secret").cases == ("c1",)
    assert authenticate(store, "carol", "wrong secret!!") is None
    [u] = list_users(store)
    with store.session() as s:
        from unleak.store.models import AppUser

        stored = s.get(AppUser, u.id).password_hash
    assert stored.startswith("$argon2id$") and "a long enough secret" not in stored


@pytest.mark.slow
def test_demo_opens_the_app_on_its_case(tmp_path):
    proc = _start(["demo", "--app", "--no-browser"], tmp_path / "home")
    try:
        url = _url_line(proc)
        with httpx.Client(follow_redirects=True, timeout=60) as http:
            r = http.get(url)
            assert r.url.path == "/c/demo" and "Case demo" in r.text
            assert "Copies found" in r.text or "In numbers" in r.text
            rows = http.get(url.split("/login")[0] + "/c/demo/sightings")
            assert rows.status_code == 200 and "<td>up" in rows.text
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.slow
def test_a_watch_scans_again_until_stopped(client, store, samples, tmp_path):
    from unleak.bank import Bank
    from unleak.cases import create_case

    create_case(store, "w")
    Bank(store, "w").protect([samples[0]])
    site = _evil_site(samples[0])
    try:
        client.login_token()
        client.get("/c/w/sources")
        client.post("/c/w/sources", {"kind": "crawl", "targets": site.url("/"), "allow_network": "127.0.0.1/32"})
        r = client.post("/c/w/scan", {"rate": "0", "watch": "1", "every_hours": "0.0003"})  # about a second
        assert "/jobs/" in r.url.path and "Stop watching" in r.text
        job = client.live.app.state.jobs.get(r.url.path.rsplit("/", 1)[-1])
        deadline = time.monotonic() + 120
        while job.runs < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert job.runs >= 2 and not job.finished
        assert "A watch is running" in client.get("/c/w/sources").text
        client.get(r.url.path)
        client.post(r.url.path + "/stop", {})
        assert "Watch stopped after" in client.wait_job(r)
        assert client.post("/c/w/scan", {"watch": "1", "every_hours": "0"}).status_code == 400
    finally:
        site.close()
