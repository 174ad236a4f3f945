"""`unleak match URL`: fetched through the guarded fetcher, matched like a file."""

from __future__ import annotations

import json

from _site import load_site
from unleak.demo.site import generate_site

_site = load_site()
connections = _site.connections


def test_match_url_of_media_and_of_page(cli, samples, monkeypatch):
    with generate_site(samples[:2], samples[10:11]) as site:
        assert cli("protect", *samples[:2])[0] == 0
        copy_url = list(site.truth)[0]
        # not allowed to fetch from this machine by default: refused, with the reason
        _code, out, _ = cli("match", copy_url, "--json", "--verify", "off")
        result = json.loads(out.splitlines()[0])
        assert result["matches"] == [] and "loopback" in result["error"]
        monkeypatch.setenv("UNLEAK_ALLOW_NETWORKS", "127.0.0.1/32")
        _code, out, _ = cli("match", copy_url, "--json", "--verify", "off")
        result = json.loads(out.splitlines()[0])
        assert result["path"] == copy_url and result["matches"]
        # a page: each image it shows
        _code, out, _ = cli("match", site.pages[1], "--json", "--verify", "off")
        results = [json.loads(line) for line in out.splitlines()]
        assert copy_url in [r["path"] for r in results if r["matches"]]


def test_match_url_never_contacts_private_addresses(cli, connections):
    _code, out, _ = cli("match", "http://169.254.169.254/latest/meta-data/", "--json", "--verify", "off")
    assert "link-local" in json.loads(out.splitlines()[0])["error"] and connections == []
