"""A FIFO, socket or link loop among the user's files never hangs or aborts a command: special
files are passed over with a note (exit 0 when the rest succeeded), a loop is one file's error."""

from __future__ import annotations

import os
import shutil
import socket
import threading
from pathlib import Path

import pytest

from unleak.errors import MediaError
from unleak.media.files import SpecialFile, iter_media_paths, open_regular, read_regular
from unleak.media.sniff import sniff_file

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")


def _in_thread(fn, timeout: float = 20.0):
    """Run fn in a thread; fail (instead of hanging the suite) if it blocks."""
    box: dict = {}

    def run():
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            box["error"] = exc

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(timeout)
    assert not t.is_alive(), "blocked (on a FIFO?)"
    if "error" in box:
        raise box["error"]
    return box.get("value")


@pytest.fixture
def folder(tmp_path, samples) -> Path:
    """Two photos, a FIFO and a socket named like photos, a link loop and a self-link named .jpg."""
    d = tmp_path / "private"
    (d / "sub").mkdir(parents=True)
    shutil.copy(samples[0], d / "a.png")
    shutil.copy(samples[1], d / "sub" / "b.png")
    os.mkfifo(d / "fifo.jpg")
    os.mkfifo(d / "sub" / "pipe")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(d / "sock.jpg"))
    (d / "loop1").symlink_to("loop2")
    (d / "loop2").symlink_to("loop1")
    (d / "self.jpg").symlink_to("self.jpg")
    yield d
    sock.close()


def test_walk_skips_special_files_with_a_note_and_yields_loops(folder):
    notes = []
    found = _in_thread(lambda: list(iter_media_paths([folder], on_skip=lambda p, why: notes.append((p.name, why)))))
    names = sorted(p.name for p in found)
    assert names == ["a.png", "b.png", "loop1", "loop2", "self.jpg"]
    assert sorted(n for n, _ in notes) == ["fifo.jpg", "pipe", "sock.jpg"]
    assert any("named pipe (FIFO)" in why and "skipped" in why for _, why in notes)
    # named directly, a FIFO is skipped too
    notes.clear()
    assert _in_thread(lambda: list(iter_media_paths([folder / "fifo.jpg"], on_skip=lambda p, w: notes.append(w)))) == []
    assert len(notes) == 1


def test_opening_never_blocks_and_a_loop_is_a_one_line_error(folder):
    with pytest.raises(SpecialFile, match="FIFO"):
        _in_thread(lambda: sniff_file(folder / "fifo.jpg"))
    with pytest.raises(SpecialFile):
        _in_thread(lambda: read_regular(folder / "sock.jpg"))
    with pytest.raises(MediaError, match="loop of symbolic links"):
        _in_thread(lambda: sniff_file(folder / "self.jpg"))
    assert _in_thread(lambda: read_regular(folder / "a.png"))[:4] == b"\x89PNG"


def test_a_fifo_swapped_in_after_the_check_does_not_block(folder, monkeypatch):
    import unleak.media.files as files

    real = files.check_regular
    monkeypatch.setattr(files, "check_regular", lambda p: real(folder / "a.png"))  # the check saw a file
    with pytest.raises(SpecialFile):
        _in_thread(lambda: open_regular(folder / "fifo.jpg"))


def test_protect_a_folder_with_a_fifo_and_a_loop(cli, folder):
    code, out, err = _in_thread(lambda: cli("protect", str(folder), "--no-variants", "--json"))
    lines = [line for line in out.splitlines() if line.strip()]
    import json

    records = {Path(r["path"]).name: r for r in map(json.loads, lines)}
    assert records["a.png"]["bank_id"] and records["b.png"]["bank_id"]
    assert "loop of symbolic links" in records["self.jpg"]["error"]
    assert "fifo.jpg" not in records and "Traceback" not in err
    assert "fifo.jpg: a named pipe (FIFO), not a regular file: skipped" in err
    assert code == 1  # the loops could not be read
    # with only special files beside the photos, the run succeeds
    for p in ("loop1", "loop2", "self.jpg"):
        (folder / p).unlink()
    code, out, err = _in_thread(lambda: cli("protect", str(folder), "--no-variants"))
    assert code == 0 and "skipped" in err and "2 already protected" in out.replace("\n", " ")


def test_match_and_hash_on_a_loop_or_fifo(cli, folder):
    code, out, err = _in_thread(lambda: cli("match", str(folder / "loop1")))
    assert code == 1 and "loop of symbolic links" in err and "Traceback" not in err
    code, out, err = _in_thread(lambda: cli("hash", str(folder / "fifo.jpg"), str(folder / "a.png")))
    assert code == 0 and "FIFO" in err and "a.png" in out
    code, out, err = _in_thread(lambda: cli("hash", str(folder)))
    assert code == 1 and err.count("loop of symbolic links") == 3


def test_trace_and_mark_refuse_a_fifo_in_one_line(cli, folder, tmp_path):
    cli("recipients", "add", "alice")
    with pytest.raises(SpecialFile, match="FIFO") as exc:
        _in_thread(lambda: cli("trace", str(folder / "fifo.jpg")))
    assert "\n" not in str(exc.value)
    code, out, err = _in_thread(lambda: cli("mark", str(folder / "self.jpg"), "--out", str(tmp_path / "out")))
    assert code == 1 and "loop of symbolic links" in out + err


def test_a_folder_source_scan_skips_special_files(store, folder):
    from unleak.bank import Bank
    from unleak.monitor.scan import Scanner, ScanOptions
    from unleak.monitor.sources import add_source

    Bank(store, "f").protect([folder / "a.png"])
    src = add_source(store, "f", "folder", [str(folder)])
    report = _in_thread(lambda: Scanner(store, "f", ScanOptions(verify="off")).scan_source(src.id), 60)
    assert report.finished and len(report.sightings) == 1
    assert sorted(Path(e["url"]).name for e in report.stats["errors"]) == ["loop1", "loop2", "self.jpg"]
