"""Owner-side verification of low-texture copies (match.dense) and screenshot content boxes."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw

from unleak.match.variants import query_hashes
from unleak.samples import sample_images
from unleak.signals.pdq import hamming, hash_pixels


def _sky(seed: int, h: int = 360, w: int = 480) -> np.ndarray:
    """A generated sky: a blue gradient with soft clouds (a few dozen keypoints at most)."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
    top, bottom = np.array([40, 100, 200], np.float32), np.array([190, 220, 250], np.float32)
    img = np.broadcast_to(top * (1 - t) + bottom * t, (h, w, 3)).copy()
    field = sum(
        cv2.resize(rng.random((3 * 2**k, 4 * 2**k)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC) / 2**k
        for k in range(3)
    )
    field = (field - field.min()) / (field.max() - field.min())
    c = np.clip((field - 0.55) / 0.45 * 2.2, 0, 1)[..., None]
    img = img * (1 - c) + 240 * c + rng.standard_normal(img.shape).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8)


def _gradient(colour_a, colour_b, h: int = 360, w: int = 480) -> np.ndarray:
    t = np.linspace(0, 1, w, dtype=np.float32)[None, :, None]
    a, b = np.array(colour_a, np.float32), np.array(colour_b, np.float32)
    return np.broadcast_to(a * (1 - t) + b * t, (h, w, 3)).round().astype(np.uint8).copy()


def _jpeg(a: np.ndarray, q: int = 80) -> np.ndarray:
    _, buf = cv2.imencode(".jpg", a[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, q])
    return np.ascontiguousarray(cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1])


@pytest.fixture(scope="module")
def sky() -> np.ndarray:
    return _sky(3)


@pytest.fixture(scope="module")
def verifier(sky):
    from unleak.match.verify import Verifier

    originals = {1: sky, 2: _gradient((200, 120, 60), (250, 200, 150)), 3: _sky(11)}
    return Verifier(lambda i: originals[i], list(originals), precise=False)


def test_a_crop_of_a_smooth_picture_is_found_by_the_dense_test(verifier, sky):
    from unleak.match.verify import extract

    h, w = sky.shape[:2]
    cand = _jpeg(np.ascontiguousarray(sky[h // 4 : h - h // 4, w // 4 : w - w // 4]))
    assert len(extract(cand)) < 50  # too few keypoints for the geometric check
    verdicts = {v.item_id: v for v in verifier.verify_candidate(cand)}
    v = verdicts[1]
    assert v.accepted and v.false_match_rate <= 1e-8
    assert v.transform["source"] == "dense" and v.transform["flip"] is False
    x0, y0, x1, y1 = v.transform["crop_box"]
    assert abs(x0 - w // 4) <= 6 and abs(y0 - h // 4) <= 6 and abs(x1 - (w - w // 4)) <= 6 and y1 > y0
    assert not any(v.accepted for i, v in verdicts.items() if i != 1)


def test_a_plain_gradient_crop_is_never_matched(verifier):
    """A patch of another plain gradient has nothing to tell it apart: never a match."""
    cand = _jpeg(_gradient((205, 125, 70), (245, 195, 145))[60:300, 100:400])
    assert not any(v.accepted for v in verifier.verify_candidate(cand))
    other_sky = _jpeg(_sky(99)[40:320, 60:420])  # an unrelated sky
    assert not any(v.accepted for v in verifier.verify_candidate(other_sky))


def _screenshot(picture: np.ndarray, *, dark: bool, status_colour=None) -> np.ndarray:
    bg, fg = ((0, 0, 0), (240, 240, 240)) if dark else ((255, 255, 255), (20, 20, 20))
    frame = Image.new("RGB", (720, 1480), bg)
    d = ImageDraw.Draw(frame)
    if status_colour is not None:
        d.rectangle([0, 0, 720, 56], fill=status_colour)
    d.text((24, 14), "9:41", fill=fg)
    d.rectangle([620, 16, 680, 40], outline=fg, width=3)
    d.text((24, 80), "a caption above the picture #tag", fill=fg)
    h, w = picture.shape[:2]
    im = Image.fromarray(picture).resize((720, round(h * 720 / w)))
    frame.paste(im, (0, 130))
    d.text((24, 140 + im.height), "1,024 likes", fill=fg)
    return np.asarray(frame)


@pytest.mark.parametrize("dark", [False, True])
def test_a_screenshot_with_a_status_bar_is_found_hash_only(dark):
    """The picture's own plain rows (a band of clear sky across it) are not taken for separators
    between the parts of the screenshot."""
    coffee = np.asarray(Image.open(next(p for p in sample_images() if p.name == "coffee.png")).convert("RGB"))
    picture = coffee.copy()
    picture[170:200] = (110, 160, 220)
    value, quality = hash_pixels(picture)
    assert quality >= 50
    shot = _screenshot(picture, dark=dark, status_colour=(30, 90, 160))
    qh = query_hashes(shot)
    assert min(hamming(value, v.value) for v in qh.boxes) <= 16
