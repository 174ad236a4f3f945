"""Registration of a candidate to its original: crops, rotations, flips, scales, framing."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageOps

from unleak.registration.align import align, warp_to_original
from unleak.samples import sample_images


@pytest.fixture(scope="module")
def original() -> np.ndarray:
    path = next(p for p in sample_images() if p.name == "china.jpg")
    return np.asarray(Image.open(path).convert("RGB"))


def _crop(im: Image.Image, f: float) -> Image.Image:
    w, h = im.size
    return im.crop((round(w * f), round(h * f), round(w * (1 - f)), round(h * (1 - f))))


def _check_map(a, orig_pts, cand_pts, tol):
    p = np.hstack([orig_pts, np.ones((len(orig_pts), 1))]) @ a.matrix.T
    p = p[:, :2] / p[:, 2:]
    assert np.abs(p - cand_pts).max() < tol


def test_crop_10_percent(original):
    im = Image.fromarray(original)
    a = align(original, np.asarray(_crop(im, 0.1)))
    assert a is not None and not a.flip
    x0, y0 = round(im.width * 0.1), round(im.height * 0.1)
    _check_map(
        a,
        np.array([[100.0, 100.0], [400.0, 300.0]]),
        np.array([[100.0 - x0, 100.0 - y0], [400.0 - x0, 300.0 - y0]]),
        0.5,
    )
    assert abs(a.crop_box[0] - x0) <= 2 and abs(a.crop_box[1] - y0) <= 2
    assert a.visible_fraction == pytest.approx(0.64, abs=0.02)
    assert abs(a.scale - 1) < 0.01 and abs(a.rotation_deg) < 0.2


def test_centre_crop_50(original):
    a = align(original, np.asarray(_crop(Image.fromarray(original), 0.25)))
    assert a is not None
    assert a.visible_fraction == pytest.approx(0.25, abs=0.02)


@pytest.mark.parametrize("angle", [2.0, 5.0, 90.0])
def test_rotation(original, angle):
    im = Image.fromarray(original)
    rotated = im.transpose(Image.Transpose.ROTATE_90) if angle == 90 else im.rotate(angle, resample=Image.BICUBIC)
    a = align(original, np.asarray(rotated))
    assert a is not None and not a.flip
    # Pillow rotates counter-clockwise; in image coordinates (y down) that is -angle.
    assert a.rotation_deg == pytest.approx(-angle, abs=0.2)
    assert a.scale == pytest.approx(1.0, abs=0.01)


def test_flip_and_resize_25(original):
    im = ImageOps.mirror(Image.fromarray(original))
    small = im.resize((im.width // 4, im.height // 4), Image.LANCZOS)
    a = align(original, np.asarray(small))
    assert a is not None and a.flip
    assert a.scale == pytest.approx(0.25, abs=0.01)
    _h, _w = original.shape[:2]
    # The original's top-left corner lands at the small copy's top-right.
    _check_map(a, np.array([[0.0, 0.0]]), np.array([[small.width - 0.5 - 0.125 - 0.0, -0.375]]), 1.0)


def test_screenshot_frame_and_warp_back(original):
    im = Image.fromarray(original)
    frame = Image.new("RGB", (500, 900), (10, 10, 10))
    scaled = im.resize((460, round(im.height * 460 / im.width)), Image.BICUBIC)
    frame.paste(scaled, (20, 200))
    a = align(original, np.asarray(frame))
    assert a is not None
    assert a.scale == pytest.approx(460 / im.width, abs=0.01)
    assert a.visible_fraction > 0.97
    back, mask = warp_to_original(np.asarray(frame), a, original.shape[:2])
    assert back.shape[:2] == original.shape[:2] and mask.mean() > 0.95
    diff = np.abs(back - original.astype(np.float32))[mask].mean()
    assert diff < 8


def test_unrelated_image_does_not_align(original):
    other = next(p for p in sample_images() if p.name == "coffee.png")
    a = align(original, np.asarray(Image.open(other).convert("RGB")))
    assert a is None or a.inliers < 20


def test_letterbox_and_overlay(original):
    im = Image.fromarray(original)
    from PIL import ImageDraw

    im = im.copy()
    ImageDraw.Draw(im).rectangle([20, 300, 400, 380], fill=(255, 255, 255))
    box = Image.new("RGB", (im.width, im.width), (0, 0, 0))  # square letterbox, black bars
    box.paste(im, (0, (im.width - im.height) // 2))
    a = align(original, np.asarray(box))
    assert a is not None
    _check_map(a, np.array([[10.0, 10.0]]), np.array([[10.0, 10.0 + (im.width - im.height) // 2]]), 0.5)


# --- pictures without texture: skies, gradients, soft focus ---------------------------------
def _smooth(kind: str, seed: int) -> np.ndarray:
    from unleak.samples import smooth_image

    return smooth_image(kind, seed, (720, 480))


def _corner_error(a, true_matrix: np.ndarray, shape: tuple[int, int], x0: int = 0, y0: int = 0) -> float:
    """Largest error of the map at the corners of the box (x0, y0)-(w, h) of the original."""
    h, w = shape
    pts = np.array([[x0, y0], [w - 1.0, y0], [x0, h - 1.0], [w - 1.0, h - 1.0]], dtype=float)
    ph = np.hstack([pts, np.ones((4, 1))])
    p1, p2 = ph @ a.matrix.T, ph @ true_matrix.T
    return float(np.abs(p1[:, :2] / p1[:, 2:] - p2[:, :2] / p2[:, 2:]).max())


@pytest.mark.parametrize("kind", ["sky", "gradient", "clouds"])
def test_plain_picture_resized_and_recompressed(kind):
    import io

    o = _smooth(kind, 3)
    buf = io.BytesIO()
    Image.fromarray(o).resize((480, 320), Image.LANCZOS).save(buf, "JPEG", quality=60)
    c = np.asarray(Image.open(buf).convert("RGB"))
    a = align(o, c)
    assert a is not None and a.method == "scale" and not a.flip
    f = 480 / 720
    assert _corner_error(a, np.array([[f, 0, 0.5 * f - 0.5], [0, f, 0.5 * f - 0.5], [0, 0, 1]]), o.shape[:2]) < 1.0


def test_plain_picture_mirrored():
    o = _smooth("clouds", 4)
    a = align(o, np.ascontiguousarray(o[:, ::-1]))
    assert a is not None and a.flip
    assert _corner_error(a, np.array([[-1.0, 0, 719], [0, 1, 0], [0, 0, 1]]), o.shape[:2]) < 1.0


def test_soft_clouds_cropped_found_without_features():
    o = _smooth("clouds", 5)
    c = np.ascontiguousarray(o[40:440, 0:520])  # 28 % off one side, a little off top and bottom
    a = align(o, c)
    assert a is not None and a.method in ("dense", "features")
    assert _corner_error(a, np.array([[1.0, 0, 0], [0, 1, -40], [0, 0, 1]]), (440, 520), 0, 40) < 1.0
    assert a.check is None or (a.check.ncc > 0.95 and a.check.contrast < 0.5)


def test_a_plain_crop_that_fits_anywhere_is_refused():
    # A crop of a linear gradient fits at many places: registration must say so (None), not guess.
    o = _smooth("gradient", 6)
    assert align(o, np.ascontiguousarray(o[0:480, 0:500])) is None


def test_another_sky_is_not_aligned():
    a = align(_smooth("clouds", 7), np.ascontiguousarray(_smooth("clouds", 8)[60:400, 100:600]))
    assert a is None


def test_check_tells_right_from_shifted():
    from unleak.registration.align import check_alignment

    o = _smooth("clouds", 9)
    right = check_alignment(o, o, np.eye(3))
    wrong = check_alignment(o, o, np.array([[1.0, 0, 25], [0, 1, 0], [0, 0, 1]]))
    assert right.ncc > 0.99 and right.contrast < 0.1
    assert wrong.contrast > 1.0  # a perturbed map (back toward the truth) fits better
