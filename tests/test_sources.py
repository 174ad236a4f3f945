"""Sources: folder, URL list, crawl limits, RSS feed, sitemap, a plug-in kind; hostile HTML."""

from __future__ import annotations

import shutil

import pytest

from unleak.bank import Bank
from unleak.demo.site import generate_site, hostile_page
from unleak.errors import UnleakError
from unleak.monitor.scan import Scanner, ScanOptions
from unleak.monitor.sources import SourceKind, SourceOptions, Task, add_source, list_sources, register, remove_source
from unleak.net.fetch import FetchPolicy
from unleak.net.html import parse_page

LOOP = SourceOptions(allow_networks=["127.0.0.1/32"])
OPTS = ScanOptions(policy=FetchPolicy(rate=None, retries=0), verify="off", concurrency=4)


@pytest.fixture(scope="module")
def site(samples):
    with generate_site(samples[:3], samples[10:12]) as s:
        yield s


def _scan(store, case, source_id):
    return Scanner(store, case, OPTS).scan_source(source_id)


def test_folder_source(store, samples, tmp_path):
    from unleak.demo.site import altered_copy

    Bank(store, "f").protect(samples[:2])
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "copy.jpg").write_bytes(altered_copy(samples[1], 1)[1])
    shutil.copyfile(samples[12], tmp_path / "other.png")
    (tmp_path / "notes.txt").write_text("not media")
    src = add_source(store, "f", "folder", [str(tmp_path)])
    report = _scan(store, "f", src.id)
    assert [(e.media_url.endswith("sub/copy.jpg"), e.page_url) for e in report.sightings] == [(True, None)]
    assert report.stats["files"] == 2 and report.stats["captures"] == 1


def test_url_list_source_with_direct_media_and_pages(store, samples, site, tmp_path):
    Bank(store, "u").protect(samples[:3])
    copy_url, page_url = list(site.truth)[0], site.pages[1]
    listing = tmp_path / "urls.txt"
    listing.write_text(f"# a comment\n{copy_url}\n{page_url}\n{site.distractors[0]}\n")
    src = add_source(store, "u", "urls", ["@" + str(listing)], LOOP)
    assert src.config["targets"] == [copy_url, page_url, site.distractors[0]]
    report = _scan(store, "u", src.id)
    media = sorted(e.media_url for e in report.sightings)
    assert copy_url in media and site.distractors[0] not in media
    direct = [e for e in report.sightings if e.media_url == copy_url and e.page_url is None]
    assert direct, "a listed media URL is matched as itself"
    assert report.stats["pages"] == 1  # links on the page are not followed by a URL list


def test_crawl_depth_hosts_and_page_limit(store, samples, site):
    Bank(store, "c").protect(samples[:3])
    shallow = add_source(store, "c", "crawl", [site.start_url], SourceOptions(depth=0, allow_networks=["127.0.0.1/32"]))
    report = _scan(store, "c", shallow.id)
    assert report.stats["pages"] == 1 and not report.sightings  # the index page has no images
    other_host = add_source(
        store,
        "c",
        "crawl",
        [site.start_url],
        SourceOptions(depth=2, hosts=["example.invalid"], allow_networks=["127.0.0.1/32"]),
    )
    assert _scan(store, "c", other_host.id).stats["pages"] == 1
    capped = add_source(
        store, "c", "crawl", [site.start_url], SourceOptions(depth=3, max_pages=4, allow_networks=["127.0.0.1/32"])
    )
    assert _scan(store, "c", capped.id).stats["pages"] <= 4


def test_feed_source_gives_uploader_and_time(store, samples, site):
    Bank(store, "feed").protect(samples[:3])
    src = add_source(store, "feed", "feed", [site.feed_url], LOOP)
    report = _scan(store, "feed", src.id)
    assert {e.media_url for e in report.sightings} == set(site.truth)
    from unleak.evidence.sightings import list_sightings

    for s in list_sightings(store, "feed"):
        assert s.uploader and s.posted_at


def test_sitemap_source(store, samples, site):
    Bank(store, "sm").protect(samples[:3])
    src = add_source(store, "sm", "sitemap", [site.sitemap_url], LOOP)
    report = _scan(store, "sm", src.id)
    assert {e.media_url for e in report.sightings} == set(site.truth)
    assert report.stats["sitemaps"] == 1


def test_sources_are_listed_removed_and_validated(store, tmp_path):
    from unleak.cases import create_case

    create_case(store, "v")
    a = add_source(store, "v", "folder", [str(tmp_path)])
    b = add_source(store, "v", "urls", ["https://example.com/a.jpg"])
    assert [s.id for s in list_sources(store, "v")] == [a.id, b.id]
    remove_source(store, "v", a.id)
    assert [s.id for s in list_sources(store, "v")] == [b.id]
    for kind, targets, options in (
        ("urls", ["ftp://x/y"], None),
        ("urls", ["javascript:alert(1)"], None),
        ("nope", ["x"], None),
        ("folder", [str(tmp_path / "missing")], None),
        ("urls", ["https://example.com/"], SourceOptions(allow_networks=["not-a-cidr"])),
    ):
        with pytest.raises(UnleakError):
            add_source(store, "v", kind, targets, options)


def test_a_platform_connector_is_one_class(store, samples, site):
    """A plug-in kind with its own task kind: it lists 'uploads' and hands media to the scan loop."""

    @register
    class FakePlatform(SourceKind):
        name = "fakeplatform"
        summary = "a test platform's upload stream"

        @classmethod
        def configure(cls, targets, options):
            return {"targets": list(targets)}

        @classmethod
        def seeds(cls, config):
            return [Task("fakeplatform:stream", "fakeplatform-stream")]

        @classmethod
        def handle(cls, ctx, task):
            return [Task(u, "media", 0, None, {"uploader": "streamer"}) for u in ctx.config["targets"]]

    Bank(store, "p").protect(samples[:3])
    urls = list(site.truth)[:2] + site.distractors[:1]
    src = add_source(store, "p", "fakeplatform", urls, LOOP)
    report = _scan(store, "p", src.id)
    assert {e.media_url for e in report.sightings} == set(urls[:2])


def test_hostile_html_is_bounded_and_loses_nothing():
    info = parse_page(hostile_page().encode(), "http://example.com/weird.html")
    assert any("javascript" in n and "data" in n for n in info.notes)
    assert any("srcset" in n for n in info.notes)
    urls = {m.url for m in info.media}
    assert "http://10.0.0.1/x.jpg" in urls  # kept, so the guard can refuse it and log why
    assert "http://169.254.169.254/latest/meta-data/" in info.links
    # nested beyond what a DOM parser handles in time: read by a tag scanner, nothing lost
    deep = b"<div>" * 100_000 + b'<img src="/deep.jpg"><a href="/next.html">n</a>' + b"</div>" * 100_000
    info = parse_page(deep, "http://example.com/")
    assert [m.url for m in info.media] == ["http://example.com/deep.jpg"]
    assert info.links == ["http://example.com/next.html"] and "nest" in info.notes[0]
    # many links: capped with a note saying how many were left
    many = ("<html>" + "".join(f'<a href="/p{i}">x</a>' for i in range(6000)) + "</html>").encode()
    info = parse_page(many, "http://example.com/")
    assert len(info.links) == 5000 and "1,000 more links" in info.notes[0]
    # garbage bytes and broken markup are not errors
    assert parse_page(b"\xff\xfe\x00<<<>>><img src=>'\"<a href='http://[bad'>", "http://e.com/").media == []


def test_hostile_page_in_a_scan_is_recorded_not_fatal(store, samples, site):
    Bank(store, "h").protect(samples[:1])
    src = add_source(store, "h", "urls", [site.server.url("/weird.html")], LOOP)
    report = _scan(store, "h", src.id)
    assert report.finished and report.stats["pages"] == 1
    assert any(r["url"] == "http://10.0.0.1/x.jpg" and "private" in r["reason"] for r in report.stats["refusals"])


def test_watch_scans_again_and_again(cli, samples, tmp_path):
    from unleak.demo.site import altered_copy

    (tmp_path / "copy.jpg").write_bytes(altered_copy(samples[0], 0)[1])
    assert cli("protect", "--case", "w", samples[0])[0] == 0
    assert cli("source", "add", "folder", tmp_path, "--case", "w")[0] == 0
    code, out, err = cli("watch", "--case", "w", "--every", "0", "--times", "2", "--json", "--verify", "off")
    assert code == 0, err
    import json

    lines = [json.loads(line) for line in out.splitlines()]
    events = [e for e in lines if "check" not in e]
    assert [e["new"] for e in events] == [True, False]
    assert [e["check"] for e in lines if "check" in e] == ["summary", "summary"]  # one per cycle
    code, out, _ = cli("evidence", "log", "--case", "w", "--json", "--last", "0")
    actions = [json.loads(line)["record"]["action"] for line in out.splitlines()]
    assert actions.count("scan") == 2 and actions.count("capture") == 1
