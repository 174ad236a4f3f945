"""The command line: the JSON contract, readable errors, and the demo."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from datetime import UTC, datetime

from PIL import Image


def _lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


_HEX64 = re.compile(r"[0-9a-f]{64}")


def test_hash_json_contract(cli, samples, tiny_video):
    from threatexchange.signal_type.pdq.signal import PdqSignal

    code, out, _ = cli("hash", "--json", samples[2], tiny_video)
    assert code == 0
    image, video = _lines(out)
    for record, path in ((image, samples[2]), (video, tiny_video)):
        assert set(record) == {"path", "signals", "error"} and record["error"] is None
        assert record["path"] == str(path)
        data = path.read_bytes()
        assert record["signals"]["sha256"] == hashlib.sha256(data).hexdigest()
        assert record["signals"]["md5"] == hashlib.md5(data).hexdigest()
    sig = image["signals"]
    assert set(sig) == {"pdq", "pdq_quality", "sha256", "md5"}
    assert _HEX64.fullmatch(sig["pdq"]) and sig["pdq"] == PdqSignal.hash_from_file(samples[2])
    assert isinstance(sig["pdq_quality"], int) and 0 <= sig["pdq_quality"] <= 100
    # a video has its frames instead of one PDQ (and their median quality, for the table)
    assert set(video["signals"]) == {"vpdq", "vpdq_quality", "sha256", "md5"}
    frames = video["signals"]["vpdq"]
    assert len(frames) == 4  # a 4 s clip, one frame a second
    for f in frames:
        assert set(f) == {"pdq", "quality", "time"} and _HEX64.fullmatch(f["pdq"])
        assert isinstance(f["quality"], int) and isinstance(f["time"], float)
    assert [f["time"] for f in frames] == [0.0, 1.0, 2.0, 3.0]


def test_protect_and_match_json_contract(cli, samples, tmp_path):
    private = tmp_path / "private"
    private.mkdir()
    for p in samples[:5]:
        shutil.copyfile(p, private / p.name)
    code, out, _ = cli("protect", "--json", private)
    assert code == 0
    protected = _lines(out)
    assert len(protected) == 5
    for r in protected:
        assert set(r) >= {"path", "bank_id", "signals", "error"} and r["error"] is None
        assert isinstance(r["bank_id"], int) and {"pdq", "sha256", "md5"} <= set(r["signals"])

    copy = tmp_path / "copy.jpg"
    Image.open(samples[2]).convert("RGB").resize((200, 133)).save(copy, quality=60)
    unrelated = tmp_path / "other.jpg"
    Image.open(samples[20]).convert("RGB").save(unrelated)
    code, out, _ = cli("match", "--json", copy, unrelated)
    assert code == 0
    hit, miss = _lines(out)
    for record, path in ((hit, copy), (miss, unrelated)):
        assert set(record) == {"path", "matches", "error"} and record["error"] is None
        assert record["path"] == str(path)
    assert miss["matches"] == []
    for m in hit["matches"]:
        assert set(m) >= {"bank_id", "label", "signal", "distance"}
    distances = [m["distance"] for m in hit["matches"]]
    assert distances == sorted(distances)  # the nearest first
    best = hit["matches"][0]
    assert best["label"] == samples[2].stem and best["signal"] == "pdq" and 0 <= best["distance"] <= 31
    expected_id = next(r["bank_id"] for r in protected if r["path"].endswith(samples[2].name))
    assert best["bank_id"] == expected_id


def test_match_exits_1_when_a_candidate_cannot_be_read(cli, samples, tmp_path):
    cli("protect", samples[2])
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0garbage")
    code, out, _ = cli("match", "--json", broken, samples[2])
    bad, good = _lines(out)
    assert code == 1
    assert bad["matches"] == [] and isinstance(bad["error"], str) and "broken.jpg" in bad["error"]
    assert good["error"] is None and good["matches"]
    code, _, err = cli("match", broken)
    assert code == 1 and "broken.jpg" in err


def test_protect_folder_with_a_bad_file_protects_the_rest(cli, samples, broken_avif, tmp_path):
    folder = tmp_path / "private"
    folder.mkdir()
    shutil.copyfile(broken_avif, folder / "a-broken.avif")
    for p in samples[:3]:
        shutil.copyfile(p, folder / p.name)
    code, out, _ = cli("protect", "--json", folder)
    records = _lines(out)
    assert code == 1
    assert [r["error"] is not None for r in records] == [True, False, False, False]
    assert "a-broken.avif: cannot decode image" in records[0]["error"]
    assert len(_lines(cli("bank", "list", "--json")[1])) == 3


def test_protecting_a_removed_file_again_is_refused(cli, samples, tmp_path):
    photo = tmp_path / "x.png"
    shutil.copyfile(samples[4], photo)
    assert cli("protect", photo)[0] == 0
    (item,) = _lines(cli("bank", "list", "--json")[1])
    cli("bank", "remove", item["bank_id"])
    code, out, err = cli("protect", photo)
    assert code == 0
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    assert f"bank item {item['bank_id']}, removed from case 'default' on {today}" in " ".join(err.split())
    assert "1 removed before" in out
    assert _lines(cli("bank", "list", "--json")[1]) == []
    (result,) = _lines(cli("match", "--json", photo)[1])
    assert result["matches"] == []


def test_long_error_stays_on_one_line(cli, tmp_path):
    # Also: brackets in a file name are text, not Rich markup.
    odd = tmp_path / ("[draft] " + "very-long-name-" * 12 + ".txt")
    odd.write_text("not media")
    code, _, err = cli("hash", odd)
    assert code == 1
    (line,) = [line for line in err.splitlines() if line.strip()]
    assert line == f"error: {odd}: not a supported image or video"


def test_multi_file_hash_and_match_show_progress(cli, samples, monkeypatch):
    import io

    from rich.console import Console

    from unleak import console as output

    def bar_text(*args: str) -> str:
        buf = io.StringIO()
        monkeypatch.setattr(output, "err_console", Console(file=buf, force_terminal=True, width=100))
        cli(*args)
        return buf.getvalue()

    assert "Hashing" in bar_text("hash", samples[0], samples[1])
    assert "Matching" in bar_text("match", samples[0], samples[1])
    assert "Hashing" not in bar_text("hash", "--json", samples[0], samples[1])


def test_bank_cli_list_remove_export(cli, samples, tmp_path):
    cli("protect", samples[0], samples[1])
    code, out, _ = cli("bank", "list", "--json")
    items = _lines(out)
    assert code == 0 and len(items) == 2
    assert cli("bank", "remove", items[0]["bank_id"])[0] == 0
    assert len(_lines(cli("bank", "list", "--json")[1])) == 1
    target = tmp_path / "list.txt"
    assert cli("bank", "export", target, "--format", "te")[0] == 0
    assert target.read_text().count("pdq ") == 1


def test_user_error_is_one_line_not_a_traceback(cli):
    from typer.testing import CliRunner

    from unleak.cli import app

    result = CliRunner().invoke(app, ["bank", "remove", "999"])
    assert result.exit_code != 0
    assert "no bank item 999" in str(result.exception) or "no bank item 999" in result.output


def test_main_prints_hint_for_user_errors(tmp_path):
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "unleak", "bank", "remove", "999"],
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "UNLEAK_HOME": str(tmp_path)},
    )
    assert proc.returncode == 1
    assert "error: no bank item 999" in proc.stderr and "Traceback" not in proc.stderr
    assert "unleak bank list" in proc.stderr


def test_table_cells_are_shown_as_written(capsys):
    """A file name that looks like Rich markup is printed as it is, not styled or dropped."""
    from rich.text import Text

    from unleak import console as output

    output.table(None, ["file", "ok"], [("photo[bold]1[/].jpg", Text("yes", style="green"))])
    printed = capsys.readouterr().out
    assert "photo[bold]1[/].jpg" in printed and "yes" in printed


def test_demo_runs_every_stage_right(tmp_path):
    """The README's first command: `unleak demo` shows every stage and checks each answer."""
    import subprocess
    import sys

    env = dict(os.environ, UNLEAK_HOME=str(tmp_path / "home"), COLUMNS="160")
    proc = subprocess.run(
        [sys.executable, "-m", "unleak", "demo", "--dir", str(tmp_path / "demo")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    for stage in (
        "1. protect",
        "2. match",
        "3. find and document",
        "4. take down and verify removal",
        "5. how the leak spread",
        "6. mark and trace",
        "7. a platform checks its uploads",
        "every stage gave the right answer",
    ):
        assert stage in out, stage
    assert "Found 7 of 7 altered copies; 0 false matches" in out
    assert "named correctly, and no one else" in out
