"""Exports leave out PDQ hashes that python-threatexchange and HMA refuse (quality < 50), say how
many, keep them on request; protect says which items PDQ protects weakly and why."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image

from unleak.samples import sample_images


def _folder(tmp_path):
    folder = tmp_path / "private"
    folder.mkdir()
    ramp = np.linspace(0, 255, 400)[None, :, None] * np.ones((300, 1, 3))
    Image.fromarray(ramp.astype(np.uint8)).save(folder / "gradient.png")  # PDQ quality 44
    coffee = next(p for p in sample_images() if p.name == "coffee.png")
    Image.open(coffee).save(folder / "coffee.png")
    return folder


def test_protect_names_the_weakly_protected_item_and_why(tmp_path, cli):
    folder = _folder(tmp_path)
    code, out, err = cli("protect", folder)
    assert code == 0
    assert "gradient.png: weakly protected by PDQ: PDQ quality 44 < 50" in err
    assert "coffee.png" not in err
    code, out, _ = cli("protect", "--json", folder / "gradient.png", "--case", "other")
    doc = json.loads(out.splitlines()[0])
    assert "too little texture" in doc["weak_pdq"]


def test_te_and_pdq_exports_leave_low_quality_hashes_out_with_a_count(tmp_path, cli):
    folder = _folder(tmp_path)
    cli("protect", folder)
    for fmt in ("te", "pdq"):
        out_file = tmp_path / f"list.{fmt}"
        code, out, _ = cli("bank", "export", out_file, "--format", fmt)
        assert code == 0 and "Left out 1 PDQ hash(es) of quality < 50" in out
        lines = out_file.read_text().splitlines()
        assert sum("pdq" in ln or len(ln) == 64 for ln in lines) == 1  # coffee's only
        code, out, _ = cli("bank", "export", out_file, "--format", fmt, "--include-low-quality")
        assert "Left out" not in out
        assert len(out_file.read_text().splitlines()) == len(lines) + 1
    code, out, _ = cli("bank", "export", tmp_path / "all.json")  # ours keeps everything, with its quality
    qualities = sorted(
        s["quality"]
        for it in json.loads((tmp_path / "all.json").read_text())["items"]
        for s in it["signals"]
        if s["type"] == "pdq" and not s["variant"]
    )
    assert qualities[0] == 44 and "Left out" not in out


def test_imported_hashes_of_unknown_quality_are_kept(tmp_path, cli):
    listing = tmp_path / "in.pdq"
    listing.write_text("f" * 16 + "0" * 48 + "\n")
    cli("bank", "import", listing, "--case", "imp")
    code, out, _ = cli("bank", "export", tmp_path / "out.pdq", "--format", "pdq", "--case", "imp")
    assert code == 0 and "Left out" not in out
    assert (tmp_path / "out.pdq").read_text().split() == ["f" * 16 + "0" * 48]
