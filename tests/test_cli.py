"""The command line: the JSON contract, readable errors, and the demo."""

from __future__ import annotations

import json
import shutil

from PIL import Image


def _lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_hash_json_contract(cli, samples, tiny_video):
    from threatexchange.signal_type.pdq.pdq_hasher import pdq_from_file

    code, out, _ = cli("hash", "--json", samples[2], tiny_video)
    assert code == 0
    image, video = _lines(out)
    assert set(image) == {"path", "signals", "error"} and image["error"] is None
    assert image["signals"]["pdq"] == pdq_from_file(samples[2])[0]
    assert isinstance(image["signals"]["pdq_quality"], int)
    assert len(image["signals"]["sha256"]) == 64 and len(image["signals"]["md5"]) == 32
    assert "pdq" not in video["signals"]
    frames = video["signals"]["vpdq"]
    assert frames and set(frames[0]) == {"pdq", "quality", "time"}


def test_protect_and_match_json_contract(cli, samples, tmp_path):
    private = tmp_path / "private"
    private.mkdir()
    for p in samples[:5]:
        shutil.copyfile(p, private / p.name)
    code, out, _ = cli("protect", "--json", private)
    assert code == 0
    protected = _lines(out)
    assert len(protected) == 5
    assert all(set(r) >= {"path", "bank_id", "signals", "error"} and r["bank_id"] for r in protected)

    copy = tmp_path / "copy.jpg"
    Image.open(samples[2]).convert("RGB").resize((200, 133)).save(copy, quality=60)
    unrelated = tmp_path / "other.jpg"
    Image.open(samples[20]).convert("RGB").save(unrelated)
    code, out, _ = cli("match", "--json", copy, unrelated)
    assert code == 0
    hit, miss = _lines(out)
    assert hit["error"] is None and miss["matches"] == []
    best = hit["matches"][0]
    assert best["label"] == samples[2].stem and best["signal"] == "pdq" and 0 <= best["distance"] <= 31
    expected_id = next(r["bank_id"] for r in protected if r["path"].endswith(samples[2].name))
    assert best["bank_id"] == expected_id


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

    proc = subprocess.run([sys.executable, "-m", "unleak", "bank", "remove", "999"], capture_output=True,
                          text=True, env={**__import__("os").environ, "UNLEAK_HOME": str(tmp_path)})
    assert proc.returncode == 1
    assert "error: no bank item 999" in proc.stderr and "Traceback" not in proc.stderr
    assert "unleak bank list" in proc.stderr
