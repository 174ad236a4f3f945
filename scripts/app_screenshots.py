"""Screenshots of every page of `unleak app` for docs/app.md (and the overview for the README).

Runs `unleak demo` into a temporary folder (benign sample photos, a local test site), opens the
demo's case in the app and photographs each page with Debian's Chromium (Playwright, with the
system browser: browsers are never downloaded).

    python scripts/app_screenshots.py            # writes docs/app/*.png
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

PAGES = {
    "start": "/",
    "overview": "/c/demo",
    "sightings": "/c/demo/sightings",
    "gallery": "/c/demo/sightings?view=gallery",
    "sources": "/c/demo/sources",
    "notices": "/c/demo/notices",
    "notice": None,  # the first notice, found on the notices page
    "evidence": "/c/demo/evidence",
    "trace": "/c/demo/trace",
    "help": "/help?case=demo",
}


def main() -> int:
    from rich.console import Console

    work = Path(tempfile.mkdtemp(prefix="unleak-shots-"))
    from unleak.demo import run

    if not run(work, keep=True, console=Console(file=open(os.devnull, "w"))):  # noqa: SIM115
        print("the demo failed; no screenshots", file=sys.stderr)
        return 1
    os.environ["UNLEAK_HOME"] = str(work / "home")
    from playwright.sync_api import sync_playwright

    from _app import TOKEN, live_app
    from unleak.store import open_store

    out = ROOT / "docs" / "app"
    out.mkdir(parents=True, exist_ok=True)
    store = open_store(f"sqlite:///{work / 'home' / 'unleak.db'}")
    try:
        with live_app(store, roots=(work,)) as live, sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=shutil.which("chromium") or "/usr/bin/chromium", args=["--no-sandbox"]
            )
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{live.base}/login?token={TOKEN}")
            for name, path in PAGES.items():
                if path is None:
                    page.goto(f"{live.base}/c/demo/notices")
                    link = page.get_by_role("link", name=re.compile(r"^Notice \d+$")).first
                    path = link.get_attribute("href")
                page.goto(f"{live.base}{path}")
                page.screenshot(path=str(out / f"{name}.png"), full_page=False)
                print(f"docs/app/{name}.png")
            browser.close()
    finally:
        store.close()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
