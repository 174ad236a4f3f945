"""End to end: protect sample photos, serve a generated site on 127.0.0.1 with altered copies and
distractors, scan it, and get exactly the expected sightings, each captured and logged; take
copies down and put them back; export; verify; flip any byte and verify names what changed."""

from __future__ import annotations

import bisect
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest

from _site import load_site
from unleak.demo.site import generate_site
from unleak.evidence.verify import verify_bundle

_site = load_site()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request, monkeypatch):
    """The CLI's database: SQLite in the test's data folder, or a fresh PostgreSQL schema."""
    if request.param == "postgres":
        monkeypatch.setenv("UNLEAK_DB", request.getfixturevalue("pg_url"))
    return request.param


def _json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip().startswith("{")]


CONTRACT = {"page_url", "media_url", "bank_id", "distance", "new"}  # what `scan --json` promises


def _contract(objects: list[dict]) -> list[dict]:
    """Every object printed by `scan --json` has the contract's keys, with the contract's types."""
    for f in objects:
        assert set(f) >= CONTRACT, f
        assert isinstance(f["media_url"], str) and isinstance(f["page_url"], (str, type(None)))
        assert type(f["bank_id"]) is int and type(f["distance"]) is int and type(f["new"]) is bool, f
    return objects


def _bylines_shown(sightings: list[dict], site) -> None:
    """Each sighting has exactly the uploader handle and post time its page shows."""
    for s in sightings:
        uploader, posted = site.bylines[s["page_url"]]
        assert (s["uploader"], s["posted_at"]) == ("@" + uploader, posted), s


def _gzip_members(data: bytes) -> list[int]:
    """Where each gzip member (one WARC record each) starts."""
    starts, pos = [], 0
    while pos < len(data):
        starts.append(pos)
        d = zlib.decompressobj(31)
        d.decompress(data[pos:])
        pos = len(data) - len(d.unused_data)
    return starts


def test_scan_capture_export_verify(db, cli, samples, tiny_video, tmp_path):
    protected = samples[:4]
    with generate_site(protected, samples[10:16], videos={tiny_video.stem: tiny_video.read_bytes()}) as site:
        assert cli("case", "new", "e2e")[0] == 0
        code, out, _ = cli("protect", "--case", "e2e", "--json", *protected, tiny_video)
        assert code == 0
        bank = {Path(r["path"]).stem: r["bank_id"] for r in _json_lines(out)}
        expected = {(url, bank[label]) for url, label in site.truth.items()}
        code, out, _ = cli(
            "source",
            "add",
            "crawl",
            site.start_url,
            "--case",
            "e2e",
            "--depth",
            "2",
            "--allow-network",
            "127.0.0.1/32",
            "--json",
        )
        assert code == 0

        # 1. the first scan finds exactly the copies, none of the distractors
        code, out, err = cli("scan", "--case", "e2e", "--json", "--rate", "0")
        assert code == 0, err
        found = _contract(_json_lines(out))
        assert {(f["media_url"], f["bank_id"]) for f in found} == expected
        assert all(f["new"] is True for f in found) and len(found) == len(expected)
        assert not {f["media_url"] for f in found} & set(site.distractors)
        paths = site.server.paths_requested()
        assert "/private/index.html" not in paths and "/private/leak.jpg" not in paths  # robots.txt

        code, out, _ = cli("sightings", "--case", "e2e", "--json")
        sightings = _json_lines(out)
        assert len(sightings) == len(expected)
        _bylines_shown(sightings, site)
        for s in sightings:
            assert s["uploader"] == "@" + site.uploaders[s["media_url"]]
            assert s["page_url"].startswith(site.server.base + "/posts/")
            assert len(s["captures"]) == 1 and len(s["captures"][0]["warc_sha256"]) == 64
            assert s["captures"][0]["ip"] == "127.0.0.1"

        code, out, _ = cli("evidence", "log", "--case", "e2e", "--json", "--last", "0")
        assert code == 0
        actions = [r["record"]["action"] for r in _json_lines(out)]
        assert actions.count("sighting") == len(expected) and actions.count("capture") == len(expected)
        scan_rec = [r["record"]["data"] for r in _json_lines(out) if r["record"]["action"] == "scan"][0]
        reasons = {r["url"]: r["reason"] for r in scan_rec["refusals"]}
        assert "private address" in reasons["http://10.0.0.1/x.jpg"]  # the hostile page's link, refused
        assert "robots.txt" in reasons[site.server.url("/private/index.html")]

        # 2. a second scan sees the same copies again: nothing new, nothing duplicated
        code, out, _ = cli("scan", "--case", "e2e", "--json", "--rate", "0", "--verify", "off")
        again = _contract(_json_lines(out))
        assert {(f["media_url"], f["bank_id"]) for f in again} == expected and not any(f["new"] for f in again)

        # 3. take one copy down: marked removed; it comes back: flagged as a re-upload and captured again
        gone_url, gone_label = next(iter(site.truth.items()))
        route = site.server.route(gone_url.removeprefix(site.server.base))
        site.take_down(gone_url, 410)
        cli("scan", "--case", "e2e", "--rate", "0", "--verify", "off")
        code, out, _ = cli("sightings", "--case", "e2e", "--json", "--status", "removed")
        assert [s["media_url"] for s in _json_lines(out)] == [gone_url]
        site.server.routes[gone_url.removeprefix(site.server.base)] = route
        _page, new_url = site.add_reupload(gone_label)
        code, out, _ = cli("scan", "--case", "e2e", "--json", "--rate", "0", "--verify", "off")
        back = {f["media_url"]: f for f in _contract(_json_lines(out))}
        assert back[gone_url]["reupload"] and not back[gone_url]["new"]
        assert back[new_url]["reupload"] and back[new_url]["new"]
        code, out, _ = cli("sightings", "--case", "e2e", "--json")
        by_url = {s["media_url"]: s for s in _json_lines(out)}
        _bylines_shown(list(by_url.values()), site)  # the re-upload's page too
        assert by_url[gone_url]["status"] == "up" and by_url[gone_url]["reupload_count"] == 1
        assert len(by_url[gone_url]["captures"]) == 2

        code, out, _ = cli("case", "show", "e2e", "--json")
        shown = _json_lines(out)[0]
        assert shown["log_intact"] and shown["sightings"] == len(expected) + 1

    # 4. export, verify, and standard WARC tools read the captures
    bundle = tmp_path / "bundle"
    code, out, err = cli("evidence", "export", "e2e", "--out", bundle)
    assert code == 0, err
    code, out, err = cli("evidence", "verify", bundle)
    assert code == 0, err
    warcs = sorted((bundle / "warc").glob("*.warc.gz"))
    assert len(warcs) == len(expected) + 2
    warcio = [sys.executable, "-m", "warcio.cli"] if False else [shutil.which("warcio") or "warcio"]
    for w in warcs:
        assert subprocess.run([*warcio, "check", str(w)], capture_output=True).returncode == 0
        index = subprocess.run(
            [*warcio, "index", "-f", "warc-type,warc-target-uri", str(w)], capture_output=True, text=True, check=True
        ).stdout
        assert '"response"' in index and '"metadata"' in index
    check = subprocess.run(["sha256sum", "-c", "--quiet", "manifest.sha256"], cwd=bundle)
    assert check.returncode == 0
    assert (bundle / "report.pdf").read_bytes().startswith(b"%PDF")
    assert gone_url in (bundle / "report.html").read_text()
    # labels of protected items stay out of the bundle unless asked
    assert "label" not in json.loads((bundle / "sightings.json").read_text())[0]

    # 5. flip one byte anywhere: verify fails and names the file (and the record) that changed
    files = sorted(p for p in bundle.rglob("*") if p.is_file())
    for f in files:
        rel = f.relative_to(bundle).as_posix()
        size = f.stat().st_size
        for offset in sorted({0, size // 3, size // 2, size - 2}):
            bad = tmp_path / "bad"
            shutil.rmtree(bad, ignore_errors=True)
            shutil.copytree(bundle, bad)
            data = bytearray((bad / rel).read_bytes())
            data[offset] ^= 0x01
            (bad / rel).write_bytes(bytes(data))
            code, out, err = cli("evidence", "verify", bad)
            named = rel if rel != "log.jsonl" else "log.jsonl"
            assert code == 1, f"flipping byte {offset} of {rel} went unnoticed"
            assert (
                named in err
                or (rel == "bundle.json" and "bundle.json" in err)
                or (rel == "manifest.sha256" and "manifest" in err)
            ), (rel, offset, err)

    # ... and at many more offsets (through the API: the same check, without the CLI's cost), naming the
    # record: for the log, the record on that line; for a WARC, its capture's log record and the WARC
    # record (gzip member) holding the byte.
    if db == "sqlite":  # the bundle's format does not depend on the database
        log_recs = [json.loads(json.loads(line)["record"]) for line in (bundle / "log.jsonl").read_text().splitlines()]
        capture_seq = {r["data"]["warc"]: r["seq"] for r in log_recs if r["action"] == "capture"}
        bad = tmp_path / "bad-many"
        shutil.copytree(bundle, bad)
        for f in files:
            rel = f.relative_to(bundle).as_posix()
            original = f.read_bytes()
            size = len(original)
            starts = _gzip_members(original) if rel.startswith("warc/") else []
            offsets = set(range(0, size, max(1, size // 24))) | {1, 3, 5, 9, size - 5, size - 1}
            offsets |= {o + k for o in starts for k in (0, 4, 9, 12)}  # every record's gzip header and data
            for offset in sorted(o for o in offsets if 0 <= o < size):
                data = bytearray(original)
                data[offset] ^= 0x01
                (bad / rel).write_bytes(bytes(data))
                problem = " ".join(str(verify_bundle(bad).problem).split())
                if rel == "log.jsonl":
                    line = original.count(b"\n", 0, offset) + 1
                    assert re.search(r"record (\d+)", problem).group(1) == str(line), (offset, problem)
                elif rel.startswith("warc/"):
                    n = bisect.bisect_right(starts, offset)
                    assert problem.startswith(rel) and f"its capture is log record {capture_seq[f.name]}" in problem
                    assert f"first bad WARC record {n} " in problem, (offset, n, problem)
                else:
                    assert rel in problem or (rel == "manifest.sha256" and "manifest" in problem), (rel, problem)
            (bad / rel).write_bytes(original)
        assert verify_bundle(bad).ok

    # removing or reordering log records is named too
    lines = (bundle / "log.jsonl").read_text().split("\n")
    for mutated, words in (
        (lines[:3] + lines[4:], "record 4"),
        ([lines[1], lines[0]] + lines[2:], "record 1"),
        (lines[:-2] + [""], "export record"),
    ):
        bad = tmp_path / "bad"
        shutil.rmtree(bad, ignore_errors=True)
        shutil.copytree(bundle, bad)
        (bad / "log.jsonl").write_text("\n".join(mutated))
        code, _, err = cli("evidence", "verify", bad)
        assert code == 1 and words in " ".join(err.split()), err
    (bundle / "warc" / warcs[0].name).unlink()
    code, _, err = cli("evidence", "verify", bundle)
    assert code == 1 and warcs[0].name in err and "missing" in err


def test_killed_scan_resumes_without_losing_or_duplicating(samples, tmp_path, cli, _isolated_home):
    """Kill a scan half-way (SIGKILL, no clean-up), run it again: every sighting exactly once."""
    with generate_site(samples[:8], samples[10:14]) as site:
        assert cli("protect", "--case", "k", "--no-variants", *samples[:8])[0] == 0
        assert cli("source", "add", "crawl", site.start_url, "--case", "k", "--allow-network", "127.0.0.1/32")[0] == 0
        env = dict(os.environ, UNLEAK_HOME=str(_isolated_home))
        # Default verification: the site's centre-cropped copy is found only against the original.
        proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from unleak.cli import main; main()",
                "scan",
                "--case",
                "k",
                "--rate",
                "5",
                "--concurrency",
                "2",
                "--json",
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        from sqlalchemy import create_engine, text

        engine = create_engine(f"sqlite:///{_isolated_home / 'unleak.db'}")
        deadline = time.time() + 60
        done = 0
        while time.time() < deadline:
            time.sleep(0.05)
            try:
                with engine.connect() as c:
                    done = c.execute(text("select count(*) from sightings")).scalar()
            except Exception:  # noqa: BLE001 - any failure is reported below
                continue
            if done >= 1:
                break
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        engine.dispose()
        assert 1 <= done < len(site.truth), "the scan should have been killed half-way"
        with engine.connect() as c:
            finished = {u for (u,) in c.execute(text("select url from scan_items where status != 'pending'"))}
        engine.dispose()
        before = len(site.server.paths_requested())
        code, out, err = cli("scan", "--case", "k", "--rate", "0", "--json")
        assert code == 0, err
        # it resumed where it stopped: no media recorded as finished was fetched again (pages may be,
        # to capture them beside a copy found in this run)
        refetched = {site.server.base + p for p in site.server.paths_requested()[before:]} & finished
        assert not {u for u in refetched if "/media/" in u}, refetched
        assert finished - refetched, "the resumed scan fetched everything again"
        code, out, _ = cli("sightings", "--case", "k", "--json")
        sightings = _json_lines(out)
        assert sorted(s["media_url"] for s in sightings) == sorted(site.truth)
        assert all(len(s["captures"]) == 1 for s in sightings)
        code, out, _ = cli("evidence", "log", "--case", "k", "--json", "--last", "0")
        actions = [r["record"]["action"] for r in _json_lines(out)]
        assert actions.count("sighting") == len(site.truth) and actions.count("capture") == len(site.truth)
        assert "scan_resumed" in actions and code == 0
