"""The originals' local features: computed at protect time, kept private in the data folder, never
exported, computed on first use for older banks, and what verification reads instead of the files."""

from __future__ import annotations

import stat
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from unleak.samples import sample_images


def _load(name: str) -> np.ndarray:
    path = next(p for p in sample_images() if p.name == name)
    return np.asarray(Image.open(path).convert("RGB"))


@pytest.fixture(scope="module")
def coffee() -> np.ndarray:
    return _load("coffee.png")


@pytest.fixture
def originals(tmp_path, coffee) -> Path:
    folder = tmp_path / "originals"
    folder.mkdir()
    Image.fromarray(coffee).save(folder / "coffee.png")
    Image.fromarray(_load("china.jpg")).save(folder / "china.png")
    return folder


def _feature_files(home: Path) -> list[Path]:
    return sorted(p for p in (home / "features").rglob("*") if p.is_file())


def test_protect_keeps_features_private_and_out_of_every_export(originals, _isolated_home, tmp_path):
    from unleak.bank import Bank
    from unleak.store import open_store

    bank = Bank(open_store())
    bank.protect([originals])
    files = _feature_files(_isolated_home)
    digests = {it.sha256 for it in bank.items()}
    assert {p.stem for p in files} == digests  # one file per protected image, named by its SHA-256
    for p in files:
        assert stat.S_IMODE(p.stat().st_mode) == 0o600
    for d in [_isolated_home / "features", *(p.parent for p in files)]:
        assert stat.S_IMODE(d.stat().st_mode) == 0o700
    for fmt in ("json", "te", "pdq"):
        out = tmp_path / f"export.{fmt}"
        bank.export(out, fmt)
        text = out.read_text()
        assert "descriptors" not in text and "features" not in text


def test_matching_reads_the_cache_not_the_originals(originals, coffee, tmp_path):
    """Once protected, verification needs no decode of the originals: a crop is still verified with
    the original files unreadable (their features are cached), and the match says where it came from."""
    from unleak.bank import Bank
    from unleak.match import Matcher
    from unleak.signals import Media
    from unleak.store import open_store

    bank = Bank(open_store())
    bank.protect([originals])
    crop = tmp_path / "crop.png"
    Image.fromarray(np.ascontiguousarray(coffee[100:300, 150:450])).save(crop)
    flip = tmp_path / "flip.png"
    Image.fromarray(np.ascontiguousarray(coffee[60:380, 40:560][:, ::-1])).save(flip)
    matcher = Matcher(bank)
    matcher.verifier.load = lambda i: (_ for _ in ()).throw(OSError("must not be read"))  # type: ignore[union-attr]
    (m,) = matcher.match_media(Media.open(crop)).matches
    assert m.label == "coffee" and m.verified is True and m.signal == "local"
    assert m.transform["crop_box"] == pytest.approx([150, 100, 450, 300], abs=4)
    assert m.transform["flip"] is False and len(m.transform["matrix"]) == 3
    (f,) = matcher.match_media(Media.open(flip)).matches
    assert f.verified is True and f.transform["flip"] is True
    assert f.transform["crop_box"] == pytest.approx([40, 60, 560, 380], abs=6)


def test_older_bank_computes_features_on_first_use_and_reuses_the_pool(originals, coffee, tmp_path, _isolated_home):
    from unleak.bank import Bank
    from unleak.match import Matcher
    from unleak.signals import Media
    from unleak.store import open_store

    bank = Bank(open_store())
    bank.protect([originals], features=False)  # as a bank protected before the cache existed
    assert _feature_files(_isolated_home) == []
    crop = tmp_path / "crop.png"
    Image.fromarray(np.ascontiguousarray(coffee[80:320, 100:500])).save(crop)
    (m,) = Matcher(bank).match_media(Media.open(crop)).matches
    assert m.verified is True
    files = _feature_files(_isolated_home)
    assert len([p for p in files if "items" in p.parts]) == 2
    pools = [p for p in files if "pools" in p.parts]
    assert {p.suffix for p in pools} == {".npz", ".flann"}
    stamp = {p: p.stat().st_mtime_ns for p in pools}
    second = Matcher(bank)
    (m2,) = second.match_media(Media.open(crop)).matches
    assert m2.verified is True and {p: p.stat().st_mtime_ns for p in pools} == stamp  # loaded, not rebuilt


def test_a_mirrored_candidate_is_a_permutation_of_its_descriptors(coffee):
    """Mirroring the candidate's descriptors gives (nearly) what SIFT finds on the mirrored image."""
    import cv2

    from unleak.match.verify import extract

    plain = extract(coffee)
    flipped = extract(np.ascontiguousarray(coffee[:, ::-1]))
    mirrored = plain.mirrored()
    knn = cv2.BFMatcher(cv2.NORM_L2).match(mirrored.descriptors, flipped.descriptors)
    same_place = sum(np.linalg.norm(mirrored.points[k.queryIdx] - flipped.points[k.trainIdx]) < 2 for k in knn)
    assert same_place >= 0.8 * len(plain)


def test_a_strict_target_rate_tightens_the_plain_threshold_instead_of_failing(originals):
    from unleak.bank import Bank
    from unleak.match import Matcher
    from unleak.signals import Media
    from unleak.store import open_store

    bank = Bank(open_store())
    bank.protect([originals])
    default = Matcher(bank, verify="off")
    strict = Matcher(bank, verify="off", target_rate=2e-9)
    assert strict.plain_threshold < default.plain_threshold
    assert strict.null_model.rate(strict.plain_threshold) <= 2e-9
    (m,) = strict.match_media(Media.open(originals / "coffee.png")).matches
    assert m.label == "coffee"


def test_verify_on_with_only_videos_verifies_them_on_key_frames(tiny_video):
    from unleak.bank import Bank
    from unleak.match import Matcher
    from unleak.signals import Media
    from unleak.store import open_store

    video = tiny_video
    bank = Bank(open_store())
    bank.protect([video])
    assert bank.originals(kind="video") == {bank.items()[0].id: str(video.resolve())}
    matcher = Matcher(bank, verify="on")  # the originals are on this machine: no refusal
    assert matcher.mode == "owner-side"
    (m,) = matcher.match_media(Media.open(video)).matches
    assert m.verified is True and m.transform is not None and "original_time" in m.transform


def test_vpdq_matches_answer_to_the_target_rate(tiny_video, samples, tmp_path):
    """A video copy found by vPDQ is reported at the default target and dropped at one stricter
    than its own false-match rate."""
    from conftest import make_video
    from unleak.bank import Bank
    from unleak.match import Matcher
    from unleak.signals import Media
    from unleak.store import open_store

    bank = Bank(open_store())
    bank.protect([tiny_video])
    copy = make_video(tmp_path / "copy.mp4", [samples[i] for i in (2, 3, 13, 17)], codec="mpeg4")  # a re-encode
    (m,) = [x for x in Matcher(bank, verify="off").match_media(Media.open(copy)).matches if x.signal == "vpdq"]
    assert 0 < m.false_match_rate <= 1e-6
    strict = Matcher(bank, verify="off", target_rate=m.false_match_rate / 10)
    assert [x for x in strict.match_media(Media.open(copy)).matches if x.signal == "vpdq"] == []
