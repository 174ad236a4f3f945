"""A third-party source kind, installed through the `unleak.source_kinds` entry point, declares
its own options; `unleak source add --option KEY=VALUE` checks and stores them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from unleak.errors import UnleakError
from unleak.monitor.sources import SourceOptions, add_source, get_source_kind, reload_plugins, source_kinds

PLUGIN_DIR = Path(__file__).parent / "plugins"


@pytest.fixture
def listing(tmp_path, monkeypatch):
    site = tmp_path / "site"
    dist = site / "unleak_listing-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: unleak_listing\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[unleak.source_kinds]\nlisting = unleak_listing:ListingSource\n")
    monkeypatch.syspath_prepend(str(PLUGIN_DIR))
    monkeypatch.syspath_prepend(str(site))
    reload_plugins()
    yield get_source_kind("listing")
    monkeypatch.undo()
    reload_plugins()


def test_plugin_kind_and_its_options_are_listed(listing, cli):
    assert source_kinds()["listing"] is listing
    code, out, _ = cli("source", "kinds")
    assert code == 0
    assert "listing" in out and "pages=INT" in out and "tag=STR" in out
    assert "depth=INT" in out  # the built-in crawl's options are listed the same way


def test_source_add_takes_the_kinds_own_options(listing, cli):
    code, out, _ = cli(
        "source", "add", "listing", "https://gallery.example/new", "-o", "pages=3", "--option", "tag=beach",
        "-o", "tag=summer", "-o", "safe-search=yes", "--json",
    )  # fmt: skip
    assert code == 0
    config = json.loads(out)["config"]
    assert config == {
        "targets": ["https://gallery.example/new"],
        "pages": 3,
        "tag": ["beach", "summer"],
        "safe_search": True,
    }
    seeds = [t.url for t in listing.seeds(config)]
    assert seeds == [f"https://gallery.example/new?page={n}&tag=beach&tag=summer" for n in (1, 2, 3)]


def test_defaults_apply_when_options_are_left_out(listing, store):
    info = add_source(store, None, "listing", ["https://gallery.example/new"])
    assert info.config == {"targets": ["https://gallery.example/new"], "pages": 1, "tag": [], "safe_search": False}


@pytest.mark.parametrize(
    ("pairs", "message"),
    [
        (["pages=lots"], "listing option pages='lots' is not a whole number (how many listing pages to read)"),
        (["pages=0"], "listing option pages must be between 1 and 100, not 0"),
        (["pages=2", "pages=3"], "listing option pages is given 2 times (give it once)"),
        (["colour=red"], "listing sources have no option 'colour' (its options: pages, safe_search, tag)"),
        (["safe_search=maybe"], "listing option safe_search='maybe' is not yes or no"),
        (["pages"], "--option 'pages' is not KEY=VALUE (e.g. --option depth=3)"),
    ],
)
def test_bad_options_are_one_line_errors(listing, store, pairs, message):
    with pytest.raises(UnleakError) as info:
        add_source(
            store,
            None,
            "listing",
            ["https://gallery.example/"],
            SourceOptions(options=SourceOptions.parse_pairs(pairs)),
        )
    assert str(info.value).startswith(message)


def test_crawl_options_by_flag_or_by_option_are_the_same(store):
    url = "https://example.com/start"
    by_flag = add_source(store, None, "crawl", [url], SourceOptions(hosts=["Example.com"], depth=3, max_pages=9))
    by_option = add_source(
        store,
        None,
        "crawl",
        [url],
        SourceOptions(options=SourceOptions.parse_pairs(["host=Example.com", "depth=3", "max-pages=9"])),
    )
    assert (
        by_flag.config == by_option.config == {"targets": [url], "hosts": ["example.com"], "depth": 3, "max_pages": 9}
    )
    default = add_source(store, None, "crawl", [url])
    assert default.config == {"targets": [url], "hosts": ["example.com"], "depth": 2, "max_pages": 10_000}
    with pytest.raises(UnleakError, match="crawl option depth must be between 0 and 50, not 51"):
        add_source(store, None, "crawl", [url], SourceOptions(depth=51))
    with pytest.raises(UnleakError, match="urls sources have no option 'depth'"):
        add_source(store, None, "urls", [url], SourceOptions(options={"depth": ["2"]}))
