"""Platform connectors against a local server answering as each platform's documented API does:
every connector finds the planted copies with the uploader and the post time, follows the
platform's own pagination (never guessed), honours 429 Retry-After, and records what it could
not read and why (deleted posts, private, banned or suspended accounts)."""

from __future__ import annotations

import os

import pytest

from platforms import TOKEN, PlatformSite
from unleak.bank import Bank
from unleak.errors import UnleakError
from unleak.evidence.sightings import list_sightings
from unleak.monitor.scan import Scanner, ScanOptions
from unleak.monitor.sources import SourceOptions, add_source
from unleak.net.fetch import FetchPolicy

OPTS = ScanOptions(policy=FetchPolicy(rate=None, retries=1, backoff=0.05), verify="off", concurrency=4)


@pytest.fixture
def site(samples):
    with PlatformSite(samples[:3], samples[10]) as s:
        yield s


def _run(store, case, samples, site, kind, targets, **options):
    Bank(store, case).protect(samples[:3])
    opts = SourceOptions(allow_networks=["127.0.0.1/32"], api_base=site.base)
    opts.options = {k: [str(v)] for k, v in options.items()}
    src = add_source(store, case, kind, targets, opts)
    report = Scanner(store, case, OPTS).scan_source(src.id)
    assert report.finished
    found = {s.media_url.rsplit("/", 1)[-1]: s for s in list_sightings(store, case)}
    return report, found


def _why(report) -> list[str]:
    return [u["reason"] for u in report.stats["unreachable"]]


def test_reddit_listing_pages_after_a_429_and_records_deleted_and_private(store, samples, site):
    report, found = _run(store, "rd", samples, site, "reddit", ["r/leaks", "r/closed", "r/gone"])
    assert sorted(found) == ["a.jpg", "b.jpg", "c.jpg"]  # a direct link, a gallery item, a link post's preview
    assert found["a.jpg"].uploader == "u/alice" and found["a.jpg"].posted_at.startswith("2026-01-01T00:00:00")
    assert found["b.jpg"].page_url == f"{site.base}/r/leaks/comments/p3/three/"
    assert found["c.jpg"].uploader == "u/carol"  # on the second page, after `after=t3_p3`
    # the 429 on the second page was answered after its Retry-After, not before
    hits = site.hits["/r/leaks/new.json?limit=100&raw_json=1&after=t3_p3"]
    assert len(hits) == 2 and hits[1] - hits[0] >= 1.0
    why = _why(report)
    assert any("deleted by its author" in w for w in why)
    assert any(w.startswith("r/closed: private") and "private" in w for w in why)
    assert any(w.startswith("r/gone: not found") and "banned" in w for w in why)


def test_reddit_rate_limit_headers_pace_the_next_page(store, samples, site):
    report, _found = _run(store, "rl", samples, site, "reddit", ["r/slow", "r/spent"])
    first = site.hits["/r/slow/new.json?limit=100&raw_json=1"][0]
    [second] = site.hits["/r/slow/new.json?limit=100&raw_json=1&after=t3_z"]
    assert second - first >= 1.0  # no request left: waited for X-Ratelimit-Reset
    assert "/r/spent/new.json?limit=100&raw_json=1&after=t3_z" not in site.hits  # a 900 s window: not waited
    assert any("rate limit used up for 9" in w for w in _why(report))


def test_bluesky_author_feed_with_cursor_and_search(store, samples, site):
    report, found = _run(
        store, "bs", samples, site, "bluesky", ["@dana.example", "search:beach", "@banned.example"], web_base=site.base
    )
    assert sorted(found) == ["a.jpg", "b.jpg", "c.jpg"]
    assert found["a.jpg"].uploader == "@dana.example" and found["a.jpg"].posted_at == "2026-01-02T10:00:00.000Z"
    assert found["a.jpg"].page_url == f"{site.base}/profile/dana.example/post/r1"
    assert found["b.jpg"].page_url.endswith("/post/r3")  # second page (cursor), a quote post's own media
    assert found["c.jpg"].uploader == "@eve.example"  # from searchPosts
    why = _why(report)
    assert any(w == "post deleted" for w in why)
    assert any("taken down by the service" in w and "AccountTakedown" in w for w in why)


def test_activitypub_account_statuses_follow_the_link_header_and_tags(store, samples, site):
    report, found = _run(
        store,
        "ap",
        samples,
        site,
        "activitypub",
        ["@frank@social.example", "#beach@social.example", "@ghost@x.example", "@sus@x.example"],
    )
    assert sorted(found) == ["a.jpg", "b.jpg", "c.jpg"]
    assert found["a.jpg"].uploader == "@frank@social.example"
    assert found["b.jpg"].uploader == "@gina@other.example"  # a boost: the original's author
    assert found["c.jpg"].uploader == "@hana@third.example" and found["c.jpg"].posted_at == "2026-01-06T07:00:00.000Z"
    assert site.requested("/api/v1/accounts/109/statuses?limit=40&only_media=true&max_id=100") == 1  # rel="next"
    assert site.requested("/api/v1/accounts/109/statuses?limit=40&only_media=true&min_id=101") == 0  # not rel="prev"
    why = _why(report)
    assert any("@ghost@x.example: not found" in w and "Record not found" in w for w in why)
    assert any("@sus@x.example: the account is suspended" in w for w in why)


def test_activitypub_outbox_by_webfinger_and_next(store, samples, site):
    _report, found = _run(store, "ao", samples, site, "activitypub", ["@frank@social.example"], via="outbox")
    assert sorted(found) == ["a.jpg", "c.jpg"]  # the second page by `next`
    assert found["c.jpg"].uploader == "@frank@social.example" and found["c.jpg"].page_url == f"{site.base}/@frank/1"
    accepts = [h.get("accept", "") for _m, p, h in site.server.requests if p.startswith("/users/frank")]
    assert accepts and all("application/activity+json" in a for a in accepts)
    with pytest.raises(UnleakError, match="accounts only"):
        add_source(store, "ao", "activitypub", ["#tag@x.example"], SourceOptions(options={"via": ["outbox"]}))


def test_lemmy_community_pages_by_cursor_and_a_persistent_429_is_recorded(store, samples, site):
    report, found = _run(
        store, "lm", samples, site, "lemmy", ["!pics@lemmy.example", "!busy@lemmy.example", "!nope@lemmy.example"]
    )
    assert sorted(found) == ["a.jpg", "b.jpg", "c.jpg"]
    assert found["a.jpg"].uploader == f"ivan@{site.base.removeprefix('http://')}"
    assert found["c.jpg"].posted_at == "2026-01-06T07:00:00.000000Z"  # the second page, by page_cursor
    why = _why(report)
    assert any("post deleted by its author" in w for w in why)
    assert any("is banned" in w for w in why)  # its post is still checked: b.jpg was found
    assert any("!busy@lemmy.example: rate limited (HTTP 429; it asked to wait 1 s)" in w for w in why)
    assert any("!nope@lemmy.example: not found" in w and "couldnt_find_community" in w for w in why)
    assert len(site.hits["/api/v3/post/list?community_name=busy&sort=New&limit=50&type_=All&page=1"]) >= 2


def test_telegram_preview_pages_back_with_before(store, samples, site):
    report, found = _run(store, "tg", samples, site, "telegram", ["leakchan", "t.me/privchan"])
    assert sorted(found) == ["a.jpg", "b.jpg"]
    assert found["a.jpg"].page_url == f"{site.base}/leakchan/11"
    assert found["a.jpg"].uploader == "Leak Chan (t.me/leakchan)" and found["a.jpg"].posted_at.startswith("2026-01-03")
    assert found["b.jpg"].uploader == "Poster Two (t.me/leakchan)"  # the older page, ?before=11
    why = _why(report)
    assert any("not shown in the web preview" in w for w in why)
    assert any("privchan: no public preview" in w for w in why)


def test_forum_threads_follow_next_links_never_guessed(store, samples, site):
    threads = [f"{site.base}/viewtopic.php?t=7", "/t/a-topic/9", f"{site.base}/showthread.php?t=5"]
    _report, found = _run(store, "fm", samples, site, "forum", threads)
    assert sorted(found) == ["a.jpg", "b.jpg", "c.jpg"]
    assert found["a.jpg"].uploader == "liam" and found["a.jpg"].posted_at == "2026-01-08T10:00:00+00:00"
    assert found["a.jpg"].page_url.endswith("viewtopic.php?t=7#p11")
    assert found["b.jpg"].uploader == "noor"  # page 2, from phpBB's "next" arrow
    assert found["c.jpg"].uploader == "oscar"  # Discourse's crawler view
    assert site.requested("/viewtopic.php?t=7&start=10") >= 1
    assert site.requested("/viewtopic.php?t=7&start=20") == 0  # a numbered link is not a next link
    assert site.requested("/t/a-topic/9?page=2") == 1  # <link rel="next">


def test_forum_xenforo_and_vbulletin5(store, samples, site):
    threads = [f"{site.base}/threads/x.9/", f"{site.base}/forum/x/a-thread"]
    _report, found = _run(store, "fx", samples, site, "forum", threads)
    assert sorted(found) == ["a.jpg", "b.jpg"]
    assert found["a.jpg"].uploader == "sam" and found["a.jpg"].page_url.endswith("/threads/x.9/page-2#js-post-72")
    assert found["b.jpg"].uploader == "rae" and found["b.jpg"].posted_at == "2026-01-13T10:00:00"


def test_connector_targets_are_checked(store):
    from unleak.cases import create_case

    create_case(store, "bad")
    for kind, target in (
        ("reddit", "pics"),
        ("bluesky", "not a handle"),
        ("activitypub", "@nobody"),
        ("lemmy", "pics@lemmy.world"),
        ("telegram", "a b"),
        ("forum", "/t/1"),  # a path needs --api-base
    ):
        with pytest.raises(UnleakError):
            add_source(store, "bad", kind, [target])
    with pytest.raises(UnleakError, match="--api-base"):
        add_source(store, "bad", "reddit", ["r/pics"], SourceOptions(api_base="ftp://x"))


def test_a_token_is_read_from_a_private_file_and_never_recorded(store, samples, site, tmp_path):
    from unleak.config import home

    creds = home() / "credentials.toml"
    creds.write_text(f'[reddit]\ntoken = "{TOKEN}"\n')
    os.chmod(creds, 0o644)
    Bank(store, "tk").protect(samples[:3])
    src = add_source(
        store, "tk", "reddit", ["u/alice"], SourceOptions(allow_networks=["127.0.0.1/32"], api_base=site.base)
    )
    with pytest.raises(UnleakError, match="chmod 600"):
        Scanner(store, "tk", OPTS).scan_source(src.id)
    os.chmod(creds, 0o600)
    report = Scanner(store, "tk", OPTS).scan_source(src.id)
    assert report.finished and [s.uploader for s in list_sightings(store, "tk")] == ["u/alice"]
    sent = [h for _m, p, h in site.server.requests if p.startswith("/user/alice/submitted.json")]
    assert sent and sent[-1]["authorization"] == f"Bearer {TOKEN}"
    media = [h for _m, p, h in site.server.requests if p == "/media/a.jpg"]
    assert media and all("authorization" not in h for h in media)  # only the API gets it
    leaked = [p for p in home().rglob("*") if p.is_file() and p != creds and TOKEN.encode() in p.read_bytes()]
    assert not leaked
    assert TOKEN not in str(src.config)


def test_accounts_seen_posting_become_candidates_added_only_when_accepted(store, samples, site, cli):
    from unleak.monitor.sources import list_sources
    from unleak.monitor.suggest import accept_suggestion, suggest_sources

    _run(store, "sg", samples, site, "reddit", ["r/leaks"])
    before = len(list_sources(store, "sg"))
    cands = suggest_sources(store, "sg")
    assert len(list_sources(store, "sg")) == before  # listing adds nothing
    verified = [(c.kind, c.target) for c in cands if c.verified]
    assert verified == [("reddit", "u/alice"), ("reddit", "u/bob"), ("reddit", "u/carol")]
    alice = cands[0]
    assert "u/alice posted protected media" in alice.reasons[1] and alice.sightings
    assert ("bluesky", "@alice.bsky.social") in [(c.kind, c.target) for c in cands if not c.verified]
    assert all("unverified" in " ".join(c.reasons) for c in cands if not c.verified)
    added = accept_suggestion(store, "sg", alice.number)
    assert added.kind == "reddit" and added.config["targets"] == ["u/alice"]
    assert added.config["api_base"] == site.base and added.allow_networks == ["127.0.0.1/32"]
    assert ("reddit", "u/alice") not in [(c.kind, c.target) for c in suggest_sources(store, "sg")]  # watched now
    with pytest.raises(UnleakError, match="no candidate 99"):
        accept_suggestion(store, "sg", 99)


def test_the_cli_takes_api_base_and_says_what_it_could_not_read(cli, samples, site):
    import json

    assert cli("protect", "--case", "cl", *samples[:3])[0] == 0
    code, out, err = cli(
        "source", "add", "reddit", "r/leaks", "r/closed", "--case", "cl", "--api-base", site.base,
        "--allow-network", "127.0.0.1/32", "--json",
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["config"]["api_base"] == site.base
    code, out, err = cli("scan", "--case", "cl", "--rate", "0", "--verify", "off")
    assert code == 0, err
    assert "could not read" in err and "r/closed: private" in err and "deleted by its author" in err
    code, out, err = cli("sightings", "--case", "cl", "--json")
    assert sorted(json.loads(x)["uploader"] for x in out.splitlines()) == ["u/alice", "u/bob", "u/carol"]
    code, out, err = cli("source", "suggest", "--case", "cl", "--json")
    first = json.loads(out.splitlines()[0])
    assert code == 0 and first["candidate"] == 1 and first["target"] == "u/alice" and first["verified"]
    assert len(cli("source", "list", "--case", "cl", "--json")[1].splitlines()) == 1  # suggesting adds nothing
    code, out, err = cli("source", "suggest", "--case", "cl", "--accept", "1", "--every", "1d", "--json")
    assert code == 0, err
    added = json.loads(out)
    assert added["config"]["targets"] == ["u/alice"] and added["every_seconds"] == 86400


def test_the_page_budget_is_kept(store, samples, site):
    _report, found = _run(store, "pb", samples, site, "bluesky", ["@dana.example"], web_base=site.base, pages=1)
    assert sorted(found) == ["a.jpg"]  # b.jpg is on the second page, beyond the budget
    assert not [k for k in site.hits if "cursor=" in k]
