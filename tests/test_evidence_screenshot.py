"""Screenshots with headless Chromium, when installed: every request goes through the guard."""

from __future__ import annotations

import pytest

from _site import load_site
from unleak.demo.site import SiteServer
from unleak.evidence.screenshot import GuardedProxy, find_chromium, take_screenshot
from unleak.net.fetch import Fetcher, FetchPolicy
from unleak.net.guard import NetworkPolicy

_site = load_site()
connections = _site.connections


def test_guarded_proxy_serves_allowed_and_refuses_private(connections):
    import httpx

    with SiteServer() as server:
        server.set("/robots.txt", "", "text/plain")
        server.set("/page.html", "<html><body>hello</body></html>")
        fetcher = Fetcher(FetchPolicy(rate=None), network=NetworkPolicy.allowing(["127.0.0.1/32"]))
        proxy = GuardedProxy(fetcher)
        try:
            with httpx.Client(proxy=proxy.url, trust_env=False) as c:
                assert c.get(server.url("/page.html")).text.endswith("hello</body></html>")
                assert c.get("http://10.0.0.1/x.jpg").status_code == 403
                assert c.get("http://169.254.169.254/latest/meta-data/").status_code == 403
        finally:
            proxy.close()
            fetcher.close()
        assert [u for u, _why in proxy.refused] == ["http://10.0.0.1/x.jpg", "http://169.254.169.254/latest/meta-data/"]
    assert {a for a, _p in connections} == {"127.0.0.1"}


@pytest.mark.skipif(find_chromium() is None, reason="Chromium is not installed")
def test_screenshot_of_a_page(connections):
    with SiteServer() as server:
        server.set("/robots.txt", "", "text/plain")
        server.set(
            "/p.html",
            '<html><body style="background:#c00"><h1>post</h1><img src="http://10.0.0.1/x.jpg"></body></html>',
        )
        with Fetcher(FetchPolicy(rate=None), network=NetworkPolicy.allowing(["127.0.0.1/32"])) as f:
            png = take_screenshot(server.url("/p.html"), f)
        assert png is not None and png.startswith(b"\x89PNG")
        assert "/p.html" in server.paths_requested()
    assert {a for a, _p in connections} <= {"127.0.0.1"}


@pytest.mark.skipif(find_chromium() is None, reason="Chromium is not installed")
def test_scan_with_screenshots_puts_them_in_the_capture(store, samples, tmp_path):
    import io

    from sqlalchemy import select
    from warcio.archiveiterator import ArchiveIterator

    from unleak.bank import Bank
    from unleak.demo.site import generate_site
    from unleak.evidence.capture import read_capture
    from unleak.monitor.scan import Scanner, ScanOptions
    from unleak.monitor.sources import SourceOptions, add_source
    from unleak.store.models import Capture

    with generate_site(samples[:1], []) as site:
        Bank(store, "shot").protect(samples[:1])
        src = add_source(store, "shot", "urls", [site.pages[1]], SourceOptions(allow_networks=["127.0.0.1/32"]))
        Scanner(store, "shot", ScanOptions(policy=FetchPolicy(rate=None), verify="off", screenshot=True)).scan_source(
            src.id
        )
    with store.session() as s:
        cap = s.scalar(select(Capture))
        assert cap.screenshot_sha256
        warc = read_capture(cap.case_id, cap)
    shots = [
        r.content_stream().read()
        for r in ArchiveIterator(io.BytesIO(warc))
        if r.rec_type == "resource" and r.rec_headers.get_header("Content-Type") == "image/png"
    ]
    assert len(shots) == 1 and shots[0].startswith(b"\x89PNG")
    (tmp_path / "shot.png").write_bytes(shots[0])
