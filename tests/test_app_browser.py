"""`unleak app` in a real browser: Debian's Chromium driven by Playwright (pytest-playwright), on
SQLite and PostgreSQL. The whole job by the keyboard and the mouse, a caseworker kept out of
another's case, crawled strings shown as text, and axe-core finding no serious or critical
accessibility problem on any page."""

from __future__ import annotations

import re
import shutil
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from _app import TOKEN, live_app
from test_app import _evil_site
from test_notice_fixtures import start_sink

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
AXE = Path(__file__).parent / "vendor" / "axe.min.js"

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is not installed (./install.sh test)")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    # Browsers cannot be downloaded here: Playwright drives the system's Chromium.
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": ["--no-sandbox"]}


def axe_problems(page) -> list[str]:
    """Serious and critical axe-core violations on the page (axe is injected through the DevTools
    protocol, which the page's Content-Security-Policy does not govern)."""
    page.evaluate(AXE.read_text(encoding="utf-8") + "\n;0")
    found = page.evaluate(
        "axe.run(document, {resultTypes: ['violations']}).then(r => r.violations"
        ".filter(v => v.impact === 'serious' || v.impact === 'critical')"
        ".map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).slice(0, 3).join(', ')))"
    )
    return [f"{page.url}: {p}" for p in found]


def nav(page, name: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name=name, exact=True).click()


def wait_job(page) -> str:
    page.wait_for_selector("#job[data-finished]", timeout=120_000)
    return page.inner_text("#job")


@pytest.mark.slow
def test_whole_job_in_the_browser(page, store, samples, tmp_path, monkeypatch):
    sink = start_sink()
    for k, v in {
        "UNLEAK_SMTP_HOST": "127.0.0.1",
        "UNLEAK_SMTP_PORT": str(sink.port),
        "UNLEAK_SMTP_SECURITY": "none",
        "UNLEAK_SMTP_FROM": "notices@unleak.test",
    }.items():
        monkeypatch.setenv(k, v)
    private = tmp_path / "private"
    private.mkdir()
    for p in samples[:2]:
        Image.open(p).convert("RGB").save(private / f"{p.stem}.jpg", quality=95)
    site = _evil_site(private / f"{samples[0].stem}.jpg")
    problems: list[str] = []
    errors: list[str] = []
    dialogs: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))  # a script from a crawled page ran
    try:
        with live_app(store, roots=(tmp_path,)) as live:
            page.goto(f"{live.base}/login?token={TOKEN}")
            problems += axe_problems(page)
            # open a case with the keyboard alone
            page.focus("#case-name")
            page.keyboard.type("alex")
            page.keyboard.press("Enter")
            page.wait_for_url(re.compile(r"/c/alex$"))
            problems += axe_problems(page)

            # protect a folder: pick it under --root, watch the progress bar finish
            page.get_by_role("link", name="Protect a folder of photos and videos").click()
            page.get_by_role("link", name=str(tmp_path)).click()
            page.get_by_role("link", name="private").click()
            problems += axe_problems(page)
            page.get_by_role("button", name="Protect this folder").click()
            assert "Protected 2 new file(s)" in wait_job(page)
            assert page.get_attribute("#bar", "value") == page.get_attribute("#bar", "max") == "2"
            problems += axe_problems(page)

            # a source on the local test site, a scan with live progress
            nav(page, "Sources & scans")
            page.get_by_label("Address(es)").fill(site.url("/"))
            page.get_by_label("Allow a private network").fill("127.0.0.1/32")
            page.get_by_role("button", name="Add").click()
            page.get_by_label("Requests a second per site").fill("0")
            problems += axe_problems(page)
            page.get_by_role("button", name="Scan now").click()
            assert "1 sighting(s)" in wait_job(page)

            # the sightings: the `<script>` uploader and the terminal escape are text
            nav(page, "Sightings")
            cell = page.locator("td.uploader").first
            assert cell.inner_text().startswith("<script>alert(1)</script>\\x1b[31mred")
            assert page.evaluate("document.querySelectorAll('script:not([src])').length") == 0
            problems += axe_problems(page)
            page.select_option("#f-view", "gallery")
            page.get_by_role("button", name="Filter").click()
            page.wait_for_selector("img[alt^='Blurred copy']")
            problems += axe_problems(page)
            page.get_by_role("button", name=re.compile("Reveal copy")).click()
            page.wait_for_selector("img[alt^='Copy ']")

            # notices: who signs, draft, confirm by typing the name, send to the SMTP sink
            nav(page, "Notices")
            page.get_by_label("Full name").fill("Alex Doe")
            page.get_by_label("Email for replies").fill("alex@example.org")
            page.get_by_role("button", name="Save").click()
            page.get_by_label("Site (host name)").fill("127.0.0.1")
            page.get_by_label("Its abuse email address or web form address").fill("abuse@site.test")
            page.get_by_role("button", name="Draft notices").click()
            problems += axe_problems(page)
            page.get_by_role("link", name=re.compile(r"^Notice \d+$")).first.click()
            assert page.locator(".clause").count() >= 3  # each statutory element marked
            problems += axe_problems(page)
            # nothing is sworn that the person did not state: the page asks, the person answers
            assert page.locator("select[name=intimate]").count() == 1
            assert page.get_by_label("Your name as in the signature").count() == 0
            page.locator("select[name=intimate]").select_option("yes")
            page.locator("form[action$='/edit'] button").click()
            page.get_by_label("Your name as in the signature").fill("Alex")
            page.get_by_role("button", name="Confirm this notice").click()
            assert "does not match the signature" in page.inner_text("main")
            page.go_back()
            page.reload()
            page.get_by_label("Your name as in the signature").fill("Alex Doe")
            page.get_by_role("button", name="Confirm this notice").click()
            page.get_by_role("button", name="Send by email now").click()
            assert "Sent to abuse@site.test" in page.inner_text("main")
            assert len(sink.messages) == 1

            # evidence: download the bundle, upload it to be checked
            nav(page, "Evidence")
            problems += axe_problems(page)
            with page.expect_download() as dl:
                page.get_by_role("button", name="Download the evidence bundle").click()
            bundle = tmp_path / "bundle.zip"
            dl.value.save_as(bundle)
            page.set_input_files("#bundle", str(bundle))
            page.get_by_role("button", name="Check").click()
            assert "The bundle is intact" in page.inner_text("main")

            # trace: recipients, marked copies, a leaked one traced
            nav(page, "Trace")
            for name in ("subscriber-1", "subscriber-2"):
                page.get_by_label("Name", exact=True).fill(name)
                page.get_by_role("button", name="Add recipient").click()
            page.set_input_files("#original", str(private / f"{samples[1].stem}.jpg"))
            with page.expect_download() as dl:
                page.get_by_role("button", name=re.compile("Download one marked copy")).click()
            marked = tmp_path / "marked.zip"
            dl.value.save_as(marked)
            with zipfile.ZipFile(marked) as z:
                name = next(n for n in z.namelist() if "subscriber-1" in n)
                leaked = tmp_path / Path(name).name
                leaked.write_bytes(z.read(name))
            page.set_input_files("#leaked", str(leaked))
            page.get_by_role("button", name="Trace").click()
            assert page.inner_text("td.accused") == "subscriber-1"
            problems += axe_problems(page)
            nav(page, "Help")
            problems += axe_problems(page)
    finally:
        site.close()
        sink.controller.stop()
    assert problems == [] and dialogs == []
    assert not [e for e in errors if "Content Security Policy" in e], errors


def test_caseworker_cannot_open_another_caseworkers_case(page, store):
    from unleak.accounts import add_user, assign_case
    from unleak.cases import create_case

    create_case(store, "case-a")
    create_case(store, "case-b")
    add_user(store, "worker-a", "caseworker", "password-of-a")
    assign_case(store, "worker-a", "case-a")
    with live_app(store) as live:
        page.goto(f"{live.base}/login")
        assert axe_problems(page) == []
        # the keyboard alone: type, Tab, type, Enter; then Tab to the case's link and Enter
        page.focus("#name")
        page.keyboard.type("worker-a")
        page.keyboard.press("Tab")
        page.keyboard.type("password-of-a")
        page.keyboard.press("Enter")
        page.wait_for_url(f"{live.base}/")
        assert page.get_by_role("link", name="case-a").is_visible()
        for _ in range(30):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.textContent") == "case-a":
                break
        page.keyboard.press("Enter")
        page.wait_for_url(f"{live.base}/c/case-a")
        assert page.get_by_role("heading", name="Case case-a").is_visible()
        assert page.get_by_role("link", name="case-b").count() == 0
        response = page.goto(f"{live.base}/c/case-b")
        assert response.status == 403 and "may not open this case" in page.inner_text("main")
        assert page.goto(f"{live.base}/c/case-a").status == 200
    # and the accessibility check does find a problem where there is one
    page.set_content("<html><body><img src='x.png'><input></body></html>")
    assert any("image-alt" in p for p in axe_problems(page))


def tab_to(page, want: str, limit: int = 150) -> None:
    """Press Tab (only the keyboard) until the focused element is `want`: its id, or its text."""
    check = (
        "w => { const e = document.activeElement; if (!e) return false;"
        " return e.id === w || (e.textContent || '').trim() === w || e.getAttribute('aria-label') === w; }"
    )
    page.wait_for_load_state()
    for _ in range(limit):
        if page.evaluate(check, want):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {want!r} on {page.url}")


def key_in(page, field: str, text: str) -> None:
    tab_to(page, field)
    page.keyboard.press("Control+A")
    page.keyboard.type(text)


def press(page, target: str) -> None:
    """Tab to `target` and press Enter, which follows a link or submits a form: a new page."""
    tab_to(page, target)
    enter(page)


def enter(page) -> None:
    with page.expect_navigation():
        page.keyboard.press("Enter")


@pytest.mark.slow
def test_main_flows_with_the_keyboard_alone(page, store, samples, tmp_path, monkeypatch):
    """Create a case, protect a folder, add a source, scan, draft, confirm and send a notice: no
    click, no fill, only Tab, typing and Enter (the address bar is used once, for the login link)."""
    sink = start_sink()
    for k, v in {
        "UNLEAK_SMTP_HOST": "127.0.0.1",
        "UNLEAK_SMTP_PORT": str(sink.port),
        "UNLEAK_SMTP_SECURITY": "none",
        "UNLEAK_SMTP_FROM": "notices@unleak.test",
    }.items():
        monkeypatch.setenv(k, v)
    private = tmp_path / "private"
    private.mkdir()
    for p in samples[:2]:
        Image.open(p).convert("RGB").save(private / f"{p.stem}.jpg", quality=95)
    site = _evil_site(private / f"{samples[0].stem}.jpg")
    try:
        with live_app(store, roots=(tmp_path,)) as live:
            page.goto(f"{live.base}/login?token={TOKEN}")
            key_in(page, "case-name", "kbd")
            enter(page)
            page.wait_for_url(re.compile(r"/c/kbd$"))

            press(page, "Protect a folder of photos and videos")
            page.wait_for_url(re.compile(r"/protect"))
            press(page, str(tmp_path))
            page.wait_for_load_state()
            press(page, "private")
            page.wait_for_load_state()
            press(page, "Protect this folder")
            assert "Protected 2 new file(s)" in wait_job(page)

            press(page, "Sources & scans")
            page.wait_for_url(re.compile(r"/sources$"))
            key_in(page, "targets", site.url("/"))
            key_in(page, "allow", "127.0.0.1/32")
            press(page, "Add")
            page.wait_for_load_state()
            assert site.url("/") in page.inner_text("main")
            key_in(page, "rate", "0")
            press(page, "Scan now")
            assert "1 sighting(s)" in wait_job(page)

            press(page, "Notices")
            page.wait_for_url(re.compile(r"/notices$"))
            key_in(page, "c-name", "Alex Doe")
            key_in(page, "c-email", "alex@example.org")
            enter(page)  # submits the form the focus is in
            key_in(page, "d-host", "127.0.0.1")
            key_in(page, "d-rcpt", "abuse@site.test")
            press(page, "Draft notices")
            page.wait_for_load_state()
            notice = page.get_by_role("link", name=re.compile(r"^Notice \d+$")).first.inner_text()
            press(page, notice)
            page.wait_for_url(re.compile(r"/notices/\d+$"))
            tab_to(page, "m-1")  # the person states that the content is intimate: asked, never assumed
            page.keyboard.type("yes")
            press(page, "Save")
            key_in(page, "typed", "Alex Doe")
            enter(page)
            assert "Confirmed" in page.inner_text("main")
            press(page, "Send by email now")
            page.wait_for_load_state()
            assert "Sent to abuse@site.test" in page.inner_text("main")
            assert len(sink.messages) == 1 and sink.messages[0].rcpt_tos == ["abuse@site.test"]

            # the SMTP settings page: reached and used by the keyboard, no accessibility problem
            press(page, "E-mail settings")
            page.wait_for_url(re.compile(r"/settings/smtp$"))
            assert "UNLEAK_SMTP_HOST" in page.inner_text("main")  # the environment wins, and it says so
            assert axe_problems(page) == []
            key_in(page, "to", "caseworker@unleak.test")
            enter(page)
            assert "Test message accepted" in page.inner_text("main")
            assert sink.messages[-1].rcpt_tos == ["caseworker@unleak.test"]
    finally:
        site.close()
        sink.controller.stop()
