"""`unleak calibrate`: the false-match tail fitted on the person's own unrelated photos, kept per
case, used by matching; refused below 500 photos; never looser than the reference."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image


def _photos(folder, n: int, *, alike: bool, seed: int = 0):
    """n generated pictures: independent smooth noise, or (alike) one scene with small changes,
    whose PDQ hashes come near each other: a heavy tail."""
    import cv2

    folder.mkdir()
    rng = np.random.default_rng(seed)
    base = cv2.resize(rng.random((8, 8, 3)).astype(np.float32), (64, 64), interpolation=cv2.INTER_CUBIC)
    for i in range(n):
        own = cv2.resize(rng.random((8, 8, 3)).astype(np.float32), (64, 64), interpolation=cv2.INTER_CUBIC)
        a = 0.7 * base + 0.3 * own if alike else own
        Image.fromarray((np.clip(a, 0, 1) * 255).astype(np.uint8)).save(folder / f"p{i:04d}.png")
    return folder


def test_too_few_photos_is_refused_with_what_to_do(tmp_path, cli):
    import pytest

    from unleak.errors import InvalidInput

    cli("case", "new", "c")
    with pytest.raises(InvalidInput) as err:  # main() prints it as one line and exits 1
        cli("calibrate", "--case", "c", _photos(tmp_path / "few", 40, alike=False))
    assert "40 usable image(s)" in err.value.message and "at least 500" in err.value.message
    assert "larger folder" in (err.value.hint or "")


def test_calibration_is_stored_per_case_used_in_matching_and_never_looser(tmp_path, cli):
    from unleak.bank import Bank
    from unleak.match import Matcher
    from unleak.match.calibration import REFERENCE_MODEL
    from unleak.store import open_store

    cli("case", "new", "alike")
    cli("case", "new", "varied")
    code, out, _ = cli("calibrate", "--case", "alike", "--json", _photos(tmp_path / "a", 500, alike=True))
    assert code == 0
    doc = json.loads(out)
    assert doc["images"] == 500 and doc["distances"] >= 500 * 499 // 2
    assert doc["uses_reference"] is False
    assert doc["in_use"]["threshold_at_target"] < doc["reference"]["threshold_at_target"]  # stricter
    assert (doc["in_use"]["mean"], doc["in_use"]["sigma"]) == (doc["fitted"]["mean"], doc["fitted"]["sigma"])
    for t in ("20", "31", "36", "40"):
        assert doc["in_use"]["rate_at"][t] >= doc["reference"]["rate_at"][t]
    code, out, _ = cli("calibrate", "--case", "varied", _photos(tmp_path / "v", 500, alike=False, seed=1))
    flat = " ".join(out.split())
    assert code == 0 and "the reference stays in use" in flat and "fitted on your photos" in flat

    store = open_store()
    alike, varied = Bank(store, "alike"), Bank(store, "varied")
    assert alike.null_model().sigma > REFERENCE_MODEL.sigma or alike.null_model().mean < REFERENCE_MODEL.mean
    assert (varied.null_model().mean, varied.null_model().sigma) == (REFERENCE_MODEL.mean, REFERENCE_MODEL.sigma)
    strict, default = Matcher(alike, verify="off"), Matcher(varied, verify="off")
    assert strict.radius < default.radius
    assert (
        strict.calibration(7, 0, 0, 0).thresholds["dihedral"] < default.calibration(7, 0, 0, 0).thresholds["dihedral"]
    )
