"""`unleak recipients|mark|trace`: the JSON contract, end to end on the store."""

from __future__ import annotations

import json
import os

from PIL import Image

from unleak.samples import sample_images


def _lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_recipients_mark_trace(cli, tmp_path, _isolated_home):
    src = next(p for p in sample_images() if p.name == "china.jpg")
    original = tmp_path / "original.jpg"
    original.write_bytes(src.read_bytes())
    assert cli("recipients", "add", "alice", "--contact", "a@example.org")[0] == 0
    csv_path = tmp_path / "r.csv"
    csv_path.write_text("name,contact,note\nbob,,collab\ncarol,c@example.org,\nalice,,dup\n")
    code, out, _ = cli("recipients", "import", csv_path, "--json")
    assert code == 0 and _lines(out)[0]["skipped"] == ["alice"]
    code, out, _ = cli("recipients", "list", "--json")
    assert [r["name"] for r in _lines(out)] == ["alice", "bob", "carol"]
    # The key lives in a private file, not in the database.
    keys = list((_isolated_home / "watermark-keys").iterdir())
    assert len(keys) == 1 and (os.stat(keys[0]).st_mode & 0o777) == 0o600

    code, out, _ = cli("mark", original, "--out", tmp_path / "out", "--json")
    marks = _lines(out)
    assert code == 0 and [m["recipient"] for m in marks] == ["alice", "bob", "carol"]
    assert all(m["error"] is None and os.path.isfile(m["path"]) for m in marks)

    bob = next(m["path"] for m in marks if m["recipient"] == "bob")
    im = Image.open(bob)
    w, h = im.size
    leaked = tmp_path / "leaked.jpg"
    im.crop((w // 10, h // 10, w - w // 10, h - h // 10)).save(leaked, quality=75)
    code, out, _ = cli("trace", leaked, "--json")
    (r,) = _lines(out)
    assert code == 0 and r["conclusive"] is True
    assert r["original"]["bank_id"] is not None and r["original"]["label"] == "original"
    assert r["original"]["path"] == str(original.resolve())
    assert [a["recipient"] for a in r["accused"]] == ["bob"]
    assert r["accused"][0]["p_innocent"] < 1e-6
    assert r["reason"] is None and r["best_score"] == r["accused"][0]["score"]

    clean = tmp_path / "clean.jpg"
    Image.open(original).resize((w // 2, h // 2)).save(clean, quality=80)
    code, out, _ = cli("trace", clean, "--original", original, "--json")
    (r,) = _lines(out)
    assert {k: v for k, v in r.items() if k != "best_score"} == {
        "path": str(clean),
        "original": {"bank_id": None, "label": None, "path": str(original)},
        "accused": [],
        "conclusive": False,
        "reason": "weak_mark",
    }
    assert abs(r["best_score"]) < 6  # an unmarked copy: the top of N(0, 1) scores

    # A copy of something else given as the original: not aligned, said so.
    other = tmp_path / "other.png"
    Image.open(next(p for p in sample_images() if p.name == "coffee.png")).save(other)
    code, out, _ = cli("trace", leaked, "--original", other, "--json")
    (r,) = _lines(out)
    assert code == 0 and r["reason"] == "not_aligned" and r["best_score"] is None and r["accused"] == []


def test_json_contract_holds_when_nothing_can_be_read(cli, tmp_path, _isolated_home):
    assert cli("recipients", "add", "alice")[0] == 0
    assert cli("recipients", "add", "bob")[0] == 0
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not an image")
    code, out, _ = cli("mark", bad, "--out", tmp_path / "out", "--json")
    marks = _lines(out)
    assert code == 1 and [m["recipient"] for m in marks] == ["alice", "bob"]
    assert all(m["path"] is None and "bad.jpg" in m["error"] for m in marks)
    # A leak that matches no original of the case: the contract object, an error, exit 1.
    stranger = tmp_path / "stranger.png"
    Image.open(next(p for p in sample_images() if p.name == "rocket.jpg")).save(stranger)
    code, out, _ = cli("trace", stranger, "--json")
    (r,) = _lines(out)
    assert code == 1
    assert {k: r[k] for k in ("path", "original", "accused", "conclusive", "reason", "best_score")} == {
        "path": str(stranger),
        "original": None,
        "accused": [],
        "conclusive": False,
        "reason": None,
        "best_score": None,
    }
    assert "no original" in r["error"]


def test_trace_finds_the_original_by_alignment_when_the_bank_misses(tmp_path, _isolated_home, monkeypatch):
    from types import SimpleNamespace

    from unleak.match import Matcher
    from unleak.store import open_store
    from unleak.watermark.registry import Registry

    reg = Registry(open_store())
    for name in ("alice", "bob", "carol"):
        reg.add(name)
    originals = []
    for name in ("coffee.png", "chelsea.png"):
        p = tmp_path / name
        Image.open(next(s for s in sample_images() if s.name == name)).convert("RGB").resize((600, 400)).save(p)
        originals.append(p)
        assert all(m.error is None for m in reg.mark(p, tmp_path / "out"))
    im = Image.open(tmp_path / "out" / "coffee.carol.png")
    leaked = tmp_path / "leaked.jpg"
    im.crop((150, 100, 450, 300)).save(leaked, quality=85)  # centre quarter
    # The fingerprints find nothing: the tracer must register the leak against each original.
    monkeypatch.setattr(Matcher, "match_media", lambda self, media: SimpleNamespace(matches=[]))
    result, found = reg.trace(leaked)
    assert found is not None and found["label"] == "coffee" and found["bank_id"] is not None
    assert [a.recipient for a in result.accused] == ["carol"]
