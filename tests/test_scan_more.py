"""More of the scan: the uploader and post time a page or feed shows (every extraction path), the
scan's phase timings, and the CLI's case and source listings."""

from __future__ import annotations

import json

import pytest

from unleak.bank import Bank
from unleak.demo.site import SiteServer, altered_copy, generate_site
from unleak.errors import NotFound
from unleak.evidence.sightings import list_sightings
from unleak.monitor.scan import PHASES, Scanner, ScanOptions
from unleak.monitor.sources import SourceOptions, add_source
from unleak.net.fetch import FetchPolicy
from unleak.net.html import parse_page

LOOP = SourceOptions(allow_networks=["127.0.0.1/32"])
FAST = FetchPolicy(rate=None, retries=0)

BYLINES = [  # (markup, uploader, post time) as a page shows them
    (
        '<div class="post" data-uploader="alice" data-posted="2026-01-02T03:04:05Z"></div>',
        "alice",
        "2026-01-02T03:04:05Z",
    ),
    (
        '<meta name="author" content="Bob B"><meta property="article:published_time" content="2026-01-02T03:04:05+01:00">',
        "Bob B",
        "2026-01-02T03:04:05+01:00",
    ),
    ('<meta property="article:author" content="https://example.com/u/carol">', "https://example.com/u/carol", None),
    (
        '<article itemscope itemtype="https://schema.org/ImageObject"><div itemprop="author" itemscope '
        'itemtype="https://schema.org/Person"><span itemprop="name">Dana</span> <span>(12 uploads)</span></div>'
        '<meta itemprop="datePublished" content="2026-01-02"></article>',
        "Dana",
        "2026-01-02",
    ),
    (
        '<meta itemprop="author" content="Dan"><time itemprop="datePublished" datetime="2026-01-02T10:00Z">Jan 2</time>',
        "Dan",
        "2026-01-02T10:00Z",
    ),
    (
        '<div itemscope itemtype="https://schema.org/VideoObject"><meta itemprop="uploadDate" content="2026-01-03"></div>',
        None,
        "2026-01-03",
    ),
    (
        '<head><link rel="author" href="/humans.txt"></head><p>by <a rel="author" href="/u/eve"><b>Eve</b> E.</a></p>',
        "Eve E.",
        None,
    ),
    (
        '<script type="application/ld+json">{"@context": "https://schema.org", "@type": "ImageObject", '
        '"author": {"@type": "Person", "name": "Frank"}, "datePublished": "2026-01-02T03:04:05Z"}</script>',
        "Frank",
        "2026-01-02T03:04:05Z",
    ),
    (
        '<script type="application/ld+json">not json</script><script type="application/ld+json">{"@graph": '
        '[{"@type": "WebSite", "name": "x"}, {"@type": "VideoObject", "author": [{"name": "Gus"}, {"name": "Hal"}], '
        '"uploadDate": "2026-01-04"}]}</script>',
        "Gus",
        "2026-01-04",
    ),
    (
        '<script type="application/ld+json">[{"@type": "SocialMediaPosting", "author": "ivy", "dateCreated": "2026-01-05"}]'
        "</script>",
        "ivy",
        "2026-01-05",
    ),
    (
        '<span class="uploader">@jay</span><time datetime="2026-01-06T07:08:09Z">6 Jan</time>',
        "@jay",
        "2026-01-06T07:08:09Z",
    ),
    ('<span class="username">kim</span><time>no attribute</time>', "kim", None),
    ('<div class="author">  lee\n  </div>', "lee", None),
    ("<p>nothing to say</p>", None, None),
]


@pytest.mark.parametrize("markup, uploader, posted", BYLINES)
def test_uploader_and_post_time_from_page_markup(markup, uploader, posted):
    info = parse_page(f"<!doctype html><html><body>{markup}</body></html>".encode(), "http://example.com/p")
    assert (info.uploader, info.posted_at) == (uploader, posted)


RSS = """<?xml version="1.0"?><rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"
 xmlns:media="http://search.yahoo.com/mrss/"><channel><title>t</title><link>{base}/</link><description>d</description>
<item><title>a</title><link>{base}/p/a.html</link><author>jane@example.invalid (Jane Doe)</author>
 <pubDate>Sun, 01 Feb 2026 09:00:00 GMT</pubDate><enclosure url="{base}/m/a.jpg" type="image/jpeg" length="1"/></item>
<item><title>b</title><link>{base}/p/b.html</link><dc:creator>kim</dc:creator>
 <pubDate>Mon, 02 Feb 2026 10:00:00 GMT</pubDate><media:content url="{base}/m/b.jpg" medium="image"/></item>
</channel></rss>"""
ATOM = """<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>
<id>urn:x</id><updated>2026-02-03T11:00:00Z</updated><entry><title>c</title><id>urn:c</id>
<link rel="alternate" href="{base}/p/c.html"/><link rel="enclosure" href="{base}/m/c.jpg" type="image/jpeg"/>
<author><name>lee</name></author><published>2026-02-03T11:00:00Z</published><updated>2026-02-03T11:00:00Z</updated>
</entry></feed>"""


def test_feed_uploader_and_post_time(store, samples):
    """Media listed by a feed get the entry's author (RSS "email (Name)", dc:creator, Atom name) and time."""
    with SiteServer() as server:
        server.set("/robots.txt", "", "text/plain")
        for i, name in enumerate("abc"):
            server.set(f"/m/{name}.jpg", altered_copy(samples[i], i)[1], "image/jpeg")
            server.set(f"/p/{name}.html", "<!doctype html><html><body><p>a post</p></body></html>")
        server.set("/rss.xml", RSS.format(base=server.base), "application/rss+xml")
        server.set("/atom.xml", ATOM.format(base=server.base), "application/atom+xml")
        Bank(store, "fd").protect(samples[:3])
        src = add_source(store, "fd", "feed", [server.url("/rss.xml"), server.url("/atom.xml")], LOOP)
        Scanner(store, "fd", ScanOptions(policy=FAST, verify="off")).scan_source(src.id)
        shown = {
            s.media_url.removeprefix(server.base): (s.uploader, s.posted_at, s.page_url)
            for s in list_sightings(store, "fd")
        }
    assert shown == {
        "/m/a.jpg": ("Jane Doe", "Sun, 01 Feb 2026 09:00:00 GMT", server.url("/p/a.html")),
        "/m/b.jpg": ("kim", "Mon, 02 Feb 2026 10:00:00 GMT", server.url("/p/b.html")),
        "/m/c.jpg": ("lee", "2026-02-03T11:00:00Z", server.url("/p/c.html")),
    }


def test_scan_times_hashing_matching_and_verifying_apart(store, samples):
    with generate_site(samples[:2], samples[10:11]) as site:
        Bank(store, "t").protect(samples[:2])
        src = add_source(store, "t", "crawl", [site.start_url], SourceOptions(depth=1, allow_networks=["127.0.0.1/32"]))
        report = Scanner(store, "t", ScanOptions(policy=FAST, verify="auto")).scan_source(src.id)
    timings = report.stats["timings"]
    assert set(timings) == set(PHASES) and "hash_match" not in timings
    assert timings["hash"] > 0 and timings["match"] > 0 and timings["verify"] > 0
    assert {e.media_url for e in report.sightings} == set(site.truth)


def _lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def test_case_list_cli(cli, samples, tmp_path):
    assert cli("case", "new", "alpha", "--description", "first")[0] == 0
    assert cli("case", "new", "beta")[0] == 0
    assert cli("protect", "--case", "alpha", "--no-variants", samples[0])[0] == 0
    assert cli("source", "add", "folder", tmp_path, "--case", "alpha")[0] == 0
    code, out, err = cli("case", "list", "--json")
    assert code == 0, err
    cases = {c["name"]: c for c in _lines(out)}
    assert {"alpha", "beta"} <= set(cases)
    a, b = cases["alpha"], cases["beta"]
    assert (a["description"], a["bank_items"], a["sources"], a["sightings"], a["captures"]) == ("first", 1, 1, 0, 0)
    assert a["log_records"] >= 2 and a["last_scan_at"] is None  # case_created, source_added
    assert (b["bank_items"], b["sources"], b["log_records"]) == (0, 0, 2)  # signing_key, case_created
    code, out, _ = cli("case", "list")
    assert code == 0 and "alpha" in out and "beta" in out and "Cases" in out


def test_source_list_and_remove_cli(cli, tmp_path):
    assert cli("case", "new", "s")[0] == 0
    code, out, _ = cli("source", "add", "folder", tmp_path, "--case", "s", "--json")
    folder = _lines(out)[0]
    code, out, _ = cli(
        "source", "add", "urls", "https://example.com/a.jpg", "--case", "s", "--allow-network", "127.0.0.1/32", "--json"
    )
    urls = _lines(out)[0]
    code, out, err = cli("source", "list", "--case", "s", "--json")
    assert code == 0, err
    listed = _lines(out)
    assert [(x["source_id"], x["kind"]) for x in listed] == [
        (folder["source_id"], "folder"),
        (urls["source_id"], "urls"),
    ]
    assert listed[1]["allow_networks"] == ["127.0.0.1/32"] and listed[1]["case"] == "s"
    code, out, _ = cli("source", "list", "--case", "s")
    assert code == 0 and "folder" in out and "urls" in out and "127.0.0.1/32" in out

    code, out, _ = cli("source", "remove", str(folder["source_id"]), "--case", "s")
    assert code == 0 and f"Removed source {folder['source_id']}" in " ".join(out.split())
    code, out, _ = cli("source", "list", "--case", "s", "--json")
    assert [x["source_id"] for x in _lines(out)] == [urls["source_id"]]
    with pytest.raises(NotFound):  # removed already (the CLI's main() turns this into one line and exit 1)
        cli("source", "remove", str(folder["source_id"]), "--case", "s")
    assert cli("case", "new", "other")[0] == 0
    with pytest.raises(NotFound):  # another case's source
        cli("source", "remove", str(urls["source_id"]), "--case", "other")
    code, out, _ = cli("evidence", "log", "--case", "s", "--json", "--last", "0")
    removed = [r["record"]["data"] for r in _lines(out) if r["record"]["action"] == "source_removed"]
    assert removed == [{"source_id": folder["source_id"]}]
