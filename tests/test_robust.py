"""Hash-only variants, calibrated thresholds, owner-side verification and its transform."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from unleak.match.calibration import REFERENCE_MODEL, Group, NullModel, fit_tail, group_thresholds
from unleak.match.variants import bank_variants, centre_crop, content_boxes, query_hashes
from unleak.samples import sample_images
from unleak.signals.pdq import hamming, hash_pixels


def _load(name: str) -> np.ndarray:
    path = next(p for p in sample_images() if p.name == name)
    return np.asarray(Image.open(path).convert("RGB"))


@pytest.fixture(scope="module")
def coffee() -> np.ndarray:
    return _load("coffee.png")


@pytest.fixture(scope="module")
def china() -> np.ndarray:
    return _load("china.jpg")


def _letterbox(a: np.ndarray, fw: int, fh: int, colour=(0, 0, 0)) -> np.ndarray:
    h, w = a.shape[:2]
    s = min(fw / w, fh / h)
    im = Image.fromarray(a).resize((round(w * s), round(h * s)), Image.Resampling.BILINEAR)
    frame = Image.new("RGB", (fw, fh), colour)
    frame.paste(im, ((fw - im.width) // 2, (fh - im.height) // 2))
    return np.asarray(frame)


def _jpeg(a: np.ndarray, q: int = 80) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, "JPEG", quality=q)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


# --- calibration ---------------------------------------------------------------------------------


def test_null_model_rates_and_thresholds():
    m = REFERENCE_MODEL
    assert m.rate(31) < 1e-6 < m.rate(40)
    assert m.rate(-1) == 0.0
    t = m.threshold(1e-7)
    assert m.rate(t) <= 1e-7 < m.rate(t + 1)


def test_group_thresholds_hold_the_target_and_pay_for_more_comparisons():
    few = group_thresholds([Group("plain", 1, 0, threshold=31), Group("trim", 1, 1.0)])
    many = group_thresholds([Group("plain", 1, 0, threshold=31), Group("trim", 16, 1.0)])
    assert few.rate() <= 1e-6 and many.rate() <= 1e-6
    assert many.thresholds["trim"] < few.thresholds["trim"]
    with pytest.raises(ValueError):
        group_thresholds([Group("plain", 1, 0, threshold=60)])


def test_fit_tail_never_lighter_than_the_reference():
    rng = np.random.default_rng(0)
    binomial = rng.binomial(256, 0.5, 200_000)  # independent bits: a much lighter tail
    assert fit_tail(binomial) == REFERENCE_MODEL
    heavy = np.clip(rng.normal(128, 30, 200_000), 0, 256).astype(int)
    fitted = fit_tail(heavy)
    assert fitted.sigma == pytest.approx(30, rel=0.1) and fitted.rate(31) > REFERENCE_MODEL.rate(31)
    assert isinstance(fit_tail(binomial, floor=None), NullModel)


# --- variants ------------------------------------------------------------------------------------


def test_letterbox_and_padding_are_trimmed_exactly(coffee):
    boxed = _letterbox(coffee, 720, 1280)
    box = content_boxes(boxed)["trim"]
    assert (box.x0, box.x1) == (0, 720) and abs(box.height - round(400 * 720 / 600)) <= 1
    d = hamming(hash_pixels(box.crop(boxed))[0], hash_pixels(coffee)[0])
    assert d <= 16
    padded = np.asarray(Image.fromarray(coffee).crop((-50, -50, 650, 450)).convert("RGB"))  # black pad
    assert content_boxes(padded)["trim"].as_tuple() == (50, 50, 650, 450)


def test_screenshot_block_is_found(coffee):
    frame = Image.new("RGB", (720, 1560), "white")
    d = ImageDraw.Draw(frame)
    d.text((28, 12), "9:41", fill="black")
    d.rectangle([620, 16, 680, 40], outline="black", width=3)
    d.text((100, 94), "someone", fill="black")
    frame.paste(Image.fromarray(coffee).resize((720, 480)), (0, 160))
    d.text((24, 700), "1,024 likes", fill="black")
    shot = _jpeg(np.asarray(frame), 85)
    boxes = content_boxes(shot)
    assert any(abs(b.y0 - 160) <= 2 and abs(b.y1 - 640) <= 2 for b in boxes.values())
    q = query_hashes(shot, dihedral=False)
    assert min(hamming(v.value, hash_pixels(coffee)[0]) for v in q.boxes) <= 20


def test_plain_photo_has_no_boxes(china):
    assert content_boxes(china) == {}


def test_orientations_hash_flips_exactly(coffee):
    flipped = np.ascontiguousarray(coffee[:, ::-1])
    q = query_hashes(flipped, boxes=False)
    assert len(q.dihedral) == 7
    assert min(hamming(v.value, hash_pixels(coffee)[0]) for v in q.dihedral) <= 4


def test_bank_crops_have_the_aspect_geometry(coffee):
    assert centre_crop(600, 400, 1, 1).as_tuple() == (100, 0, 500, 400)
    assert centre_crop(600, 400, 3, 2) is None
    names = {v.variant for v in bank_variants(coffee)}
    assert {"crop:1x1", "crop:4x5", "crop:9x16", "crop:16x9"} <= names
    square = np.ascontiguousarray(coffee[:, 100:500])
    crop = next(v for v in bank_variants(coffee) if v.variant == "crop:1x1")
    assert hamming(hash_pixels(_jpeg(square))[0], crop.value) <= 12


# --- verification --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def verifier(coffee, china):
    from unleak.match.verify import Verifier

    originals = {1: coffee, 2: china}
    return Verifier(lambda i: originals[i], [1, 2])


def test_verification_accepts_a_rotated_crop_and_reports_the_transform(verifier, coffee):
    im = Image.fromarray(coffee).rotate(5, resample=Image.Resampling.BILINEAR)
    cand = np.ascontiguousarray(np.asarray(im)[60:340, 90:510])
    cand = _jpeg(cand, 60)
    verdicts = {v.item_id: v for v in verifier.verify_candidate(cand)}
    v = verdicts[1]
    assert v.accepted and v.false_match_rate <= 1e-8 and v.inliers >= 6
    assert not verdicts.get(2) or not verdicts[2].accepted
    t = v.transform
    assert t["flip"] is False and abs(abs(t["rotation_deg"]) - 5) < 0.5 and abs(t["scale"] - 1) < 0.03
    assert 0.3 < t["visible_fraction"] < 0.6
    x0, y0, x1, y1 = t["crop_box"]
    assert 60 < x0 < 130 and 30 < y0 < 110 and 470 < x1 < 540 and 290 < y1 < 370


def test_verification_finds_a_mirrored_overlaid_copy(verifier, coffee):
    im = Image.fromarray(np.ascontiguousarray(coffee[:, ::-1]))
    ImageDraw.Draw(im).rectangle([0, 340, 600, 400], fill="black")
    ImageDraw.Draw(im).text((20, 350), "@someone follow for more", fill="white")
    v = verifier.verify(1, np.asarray(im))
    assert v.accepted and v.transform["flip"] is True


def test_verification_rejects_an_unrelated_image(verifier, china):
    other = _load("rocket.jpg")
    assert not any(v.accepted for v in verifier.verify_candidate(other))
    v = verifier.verify(1, china)  # forced check against the wrong original
    assert not v.accepted and v.false_match_rate > 1e-8


def test_nfa_grows_with_matches_and_shrinks_with_inliers():
    from unleak.match.verify import nfa

    assert nfa(100, 40, 1e-3) < nfa(100, 10, 1e-3) < 1
    assert nfa(100, 10, 1e-3) < nfa(1000, 10, 1e-3)
    assert math.isclose(nfa(1, 1, 0.1), 2.0)


# --- the matcher and the CLI ---------------------------------------------------------------------


@pytest.fixture
def protected(tmp_path, coffee, china):
    from unleak.bank import Bank
    from unleak.store import open_store

    folder = tmp_path / "originals"
    folder.mkdir()
    Image.fromarray(coffee).save(folder / "coffee.png")
    Image.fromarray(china).save(folder / "china.png")
    bank = Bank(open_store())
    bank.protect([folder], variants=True)
    return bank, folder


def _save(tmp_path: Path, name: str, a: np.ndarray) -> Path:
    p = tmp_path / name
    Image.fromarray(a).save(p)
    return p


def test_matcher_hash_only_and_owner_side(protected, tmp_path, coffee):
    from unleak.match import Matcher

    bank, _ = protected
    cands = tmp_path / "cands"
    cands.mkdir()
    _save(cands, "flip.png", np.ascontiguousarray(coffee[:, ::-1]))
    _save(cands, "letterbox.png", _letterbox(coffee, 720, 1280))
    _save(cands, "square.jpg", _jpeg(np.ascontiguousarray(coffee[:, 100:500])))
    _save(cands, "crop.png", np.ascontiguousarray(coffee[100:300, 150:450]))
    _save(cands, "unrelated.png", _load("rocket.jpg"))
    hash_only = Matcher(bank, verify="off")
    assert hash_only.mode == "hash-only"
    got = {Path(r.path).name: r for r in hash_only.match_paths([cands])}
    for name in ("flip.png", "letterbox.png", "square.jpg"):
        (m,) = got[name].matches
        assert m.label == "coffee" and m.signal == "pdq" and m.false_match_rate <= 1e-6 and m.verified is None
    assert got["crop.png"].matches == [] and got["unrelated.png"].matches == []
    assert got["square.jpg"].matches[0].variant.endswith("crop:1x1")

    owner = Matcher(bank, verify="auto")
    assert owner.mode == "owner-side"
    got = {Path(r.path).name: r for r in owner.match_paths([cands])}
    assert got["unrelated.png"].matches == []
    (m,) = got["crop.png"].matches
    assert m.label == "coffee" and m.verified is True and m.signal == "local"
    assert m.transform["crop_box"] == pytest.approx([150, 100, 450, 300], abs=3)
    assert m.transform["visible_fraction"] == pytest.approx(0.25, abs=0.02)
    j = m.to_json()
    assert {"bank_id", "label", "signal", "distance", "false_match_rate", "verified", "transform"} <= set(j)
    assert got["flip.png"].matches[0].transform["flip"] is True


def test_each_hash_only_variant_switches_alone(protected, tmp_path, coffee):
    """Orientations, content boxes and bank-side crops each find their kind of copy, and only they."""
    from unleak.match import Matcher

    bank, _ = protected
    cands = {
        "flip": _save(tmp_path, "flip.png", np.ascontiguousarray(coffee[:, ::-1])),
        "letterbox": _save(tmp_path, "letterbox.png", _letterbox(coffee, 720, 1280)),
        "square": _save(tmp_path, "square.jpg", _jpeg(np.ascontiguousarray(coffee[:, 100:500]))),
    }

    def found(**switches) -> set[str]:
        m = Matcher(bank, verify="off", **switches)
        return {
            name for name, p in cands.items() if any(x.label == "coffee" for x in m.match_paths([p]).__next__().matches)
        }

    assert found() == {"flip", "letterbox", "square"}
    assert found(dihedral=False) == {"letterbox", "square"}
    assert "letterbox" not in found(boxes=False)
    assert "square" not in found(bank_variants=False) and "flip" in found(bank_variants=False)
    assert found(variants=False) == {"flip"}


def test_verify_on_without_originals_says_what_to_do(protected):
    from unleak.errors import UnleakError
    from unleak.match import Matcher

    bank, folder = protected
    for p in folder.iterdir():
        p.unlink()
    assert Matcher(bank, verify="auto").mode == "hash-only"
    with pytest.raises(UnleakError, match="verify off"):
        Matcher(bank, verify="on")


def test_cli_match_flags(protected, tmp_path, coffee):
    import json

    from typer.testing import CliRunner

    from unleak.cli import app

    cand = _save(tmp_path, "c.png", np.ascontiguousarray(coffee[50:350, 100:500]))
    runner = CliRunner()
    out = runner.invoke(app, ["match", "--json", "--verify", "off", str(cand)])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output.strip().splitlines()[-1])["matches"] == []
    out = runner.invoke(app, ["match", "--json", str(cand)])
    rec = json.loads(out.output.strip().splitlines()[-1])
    assert rec["error"] is None and rec["matches"][0]["verified"] is True
    assert rec["matches"][0]["false_match_rate"] <= 1e-6
    square = _save(tmp_path, "square.jpg", _jpeg(np.ascontiguousarray(coffee[:, 100:500])))
    for flags, found in (([], True), (["--no-bank-variants"], False), (["--no-boxes"], True)):
        out = runner.invoke(app, ["match", "--json", "--verify", "off", *flags, str(square)])
        assert bool(json.loads(out.output.strip().splitlines()[-1])["matches"]) is found, flags
    out = runner.invoke(app, ["match", "--verify", "sometimes", str(cand)])
    assert out.exit_code != 0
