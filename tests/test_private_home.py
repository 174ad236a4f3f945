"""The data folder is the owner's alone: made 0700 with files 0600 under the usual umask (022),
an older install is tightened on start with a note, and capture files a killed scan wrote but
never recorded are removed by a later scan, never one that has its row."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from unleak.bank import Bank
from unleak.demo.site import SiteServer, altered_copy
from unleak.monitor.scan import Scanner, ScanOptions
from unleak.monitor.sources import SourceOptions, add_source
from unleak.net.fetch import FetchPolicy
from unleak.store import open_store
from unleak.store.models import Capture


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def _open_to_others(root: Path) -> list[str]:
    """Every entry under `root` (itself included) that group or others may use."""
    bad = []
    for p in [root, *root.rglob("*")]:
        mode = stat.S_IMODE(os.lstat(p).st_mode)
        if mode & 0o077 and not p.is_symlink():
            bad.append(f"{p.relative_to(root.parent)} {mode:o}")
    return bad


@pytest.fixture
def site(samples):
    with SiteServer() as server:
        server.set("/robots.txt", "", "text/plain")
        server.set("/m/a.jpg", altered_copy(samples[0], 0)[1], "image/jpeg")
        server.set("/", '<html><body><img src="/m/a.jpg"></body></html>')
        yield server


def test_new_data_folder_is_private(cli, samples, site, tmp_path, monkeypatch, umask_022):
    home = tmp_path / "fresh" / "unleak"
    monkeypatch.setenv("UNLEAK_HOME", str(home))
    assert cli("protect", "--case", "p", samples[0])[0] == 0
    assert cli("source", "add", "crawl", site.url("/"), "--case", "p", "--allow-network", "127.0.0.1/32")[0] == 0
    code, _, err = cli("scan", "--case", "p", "--rate", "0", "--verify", "off")
    assert code == 0, err
    from unleak.takedown.hosts import save_user_entry
    from unleak.takedown.sending import notices_dir

    notices_dir(1)
    save_user_entry({"id": "h.example", "name": "H", "domains": ["h.example"], "contacts": {}})
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert stat.S_IMODE((home / "unleak.db").stat().st_mode) == 0o600
    assert list((home / "evidence").rglob("*.warc.gz.enc")), "the scan captured nothing"
    assert (home / "unleak.db-wal").exists() and (home / "hosts.json").exists()
    assert _open_to_others(home) == []
    assert "note:" not in err  # nothing to fix in a folder made private from the start


def test_existing_install_is_tightened_on_start_with_a_note(cli, tmp_path, monkeypatch, umask_022):
    home = tmp_path / "old"
    monkeypatch.setenv("UNLEAK_HOME", str(home))
    open_store().close()
    # As an older unleak left it under umask 022: folders 0755, files 0644.
    captures = home / "evidence" / "1" / "captures"
    captures.mkdir(parents=True)
    (captures / "x.warc.gz.enc").write_bytes(b"x")
    (home / "hosts.json").write_text('{"hosts": []}')
    for p in (home, home / "evidence", home / "evidence" / "1", captures):
        p.chmod(0o755)
    for p in (home / "unleak.db", captures / "x.warc.gz.enc", home / "hosts.json"):
        p.chmod(0o644)
    (home / "my-notes.txt").write_text("mine")  # not unleak's: left as it is
    from unleak import config

    config._checked.discard(home)  # a new process
    assert len(_open_to_others(home)) == 8
    code, _, err = cli("case", "list")
    assert code == 0
    notes = [line for line in err.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and str(home) in notes[0] and "private" in notes[0], err
    assert _open_to_others(home) == [f"old/my-notes.txt {0o644:o}"]
    config._checked.discard(home)
    assert "note:" not in cli("case", "list")[2]  # said once: the next start has nothing to fix


def test_orphan_capture_of_a_killed_scan_is_removed_by_the_next(store, samples, site, monkeypatch):
    """A scan killed between writing a capture file and committing its row (here: the log write
    fails) leaves a file no row names; the next scan removes it once it is old enough, and never
    removes a file that has its row, however old."""
    import unleak.evidence.capture as capture

    bank = Bank(store, "o")
    bank.protect(samples[:1])
    src = add_source(store, "o", "crawl", [site.url("/")], SourceOptions(allow_networks=["127.0.0.1/32"]))
    options = ScanOptions(policy=FetchPolicy(rate=None, retries=0), verify="off")
    real = capture.append_record

    def killed(session, case_id, action, body):
        if action == "capture":
            raise KeyboardInterrupt  # the process dies here: the file is on disk, its row is not
        return real(session, case_id, action, body)

    monkeypatch.setattr(capture, "append_record", killed)
    with pytest.raises(KeyboardInterrupt):
        Scanner(store, "o", options).scan_source(src.id)
    monkeypatch.setattr(capture, "append_record", real)
    folder = capture._captures_folder(bank.case_id)
    orphans = sorted(folder.iterdir())
    assert len(orphans) == 1 and orphans[0].name.endswith(".warc.gz.enc")
    with store.session() as s:
        assert s.query(Capture).count() == 0

    # Right after the kill, the file may still be a running scan's: kept.
    Scanner(store, "o", options).scan_source(src.id)
    assert orphans[0].exists()
    with store.session() as s:
        recorded = [c.warc_name + ".enc" for c in s.query(Capture)]
    assert len(recorded) == 1 and recorded[0] != orphans[0].name

    # Hours later: the orphan goes; the recorded capture, as old, stays and still reads.
    old = time.time() - 2 * 3600
    for f in folder.iterdir():
        os.utime(f, (old, old))
    report = Scanner(store, "o", options).scan_source(src.id)
    assert sorted(f.name for f in folder.iterdir()) == recorded
    assert report.stats["orphan_captures_removed"] == 1
    with store.session() as s:
        cap = s.query(Capture).one()
        assert capture.read_capture(cap.case_id, cap).startswith(b"\x1f\x8b")  # a gzipped WARC
