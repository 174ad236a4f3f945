"""Forensic watermarks: codes from the key, quality, tracing after attacks, no false accusation."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from unleak.samples import sample_images
from unleak.watermark import WatermarkKey, mark_file, mark_pixels, trace_file, trace_pixels
from unleak.watermark import code as C

RECIPIENTS = [f"recipient-{i:03d}" for i in range(200)]


@pytest.fixture(scope="module")
def key() -> WatermarkKey:
    return WatermarkKey(bytes(range(32)))


@pytest.fixture(scope="module")
def original() -> np.ndarray:
    path = next(p for p in sample_images() if p.name == "coffee.png")
    im = Image.open(path).convert("RGB")
    return np.asarray(im.resize((768, 512), Image.LANCZOS))


def _jpeg(a: np.ndarray, q: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, "JPEG", quality=q)
    return np.asarray(Image.open(buf).convert("RGB"))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b) ** 2)
    return 10 * np.log10(255**2 / mse)


def test_codes_derive_deterministically_from_key(key):
    p = C.bias_vector(key.secret, key.params)
    a = C.recipient_code(key.secret, "alice", key.params)
    assert np.array_equal(a, C.recipient_code(key.secret, "alice", key.params))
    assert not np.array_equal(a, C.recipient_code(key.secret, "bob", key.params))
    assert not np.array_equal(a, C.recipient_code(bytes(32), "alice", key.params))
    assert p.min() >= key.params.cutoff - 1e-12 and p.max() <= 1 - key.params.cutoff + 1e-12
    # Bits follow the biases: mean of many codewords ~ p.
    codes = C.recipient_codes(key.secret, [f"r{i}" for i in range(400)], key.params)
    assert np.abs(codes.mean(0) - p).mean() < 0.03


def test_key_file_round_trip_is_private(tmp_path, key):
    path = tmp_path / "k.json"
    key.save(path)
    assert (path.stat().st_mode & 0o777) == 0o600
    assert WatermarkKey.load(path) == key


def test_chernoff_bound_is_valid_for_innocents(key):
    """The bound must dominate the empirical tail of innocent scores (simulated)."""
    rng = np.random.default_rng(0)
    p = C.bias_vector(key.secret, key.params)
    z = rng.normal(size=p.size)
    z /= np.linalg.norm(z)
    codes = (rng.random((20000, p.size)) < p).astype(np.uint8)
    s = C.scores(z, codes, p)
    assert abs(s.mean()) < 0.05 and abs(s.std() - 1) < 0.05
    for t in (2.0, 3.0, 3.5):
        bound = float(np.exp(C.chernoff_log_tail(np.array([t]), z, p))[0])
        assert (s >= t).mean() <= bound
    assert float(np.exp(C.chernoff_log_tail(np.array([7.0]), z, p))[0]) < 1e-9


def test_marked_image_quality(original, key):
    marked = mark_pixels(original, key, RECIPIENTS[0])
    assert marked.shape == original.shape and marked.dtype == np.uint8
    assert psnr(original, marked) >= 42
    from skimage.metrics import structural_similarity

    assert structural_similarity(original, marked, channel_axis=2, data_range=255) >= 0.98


def test_trace_after_jpeg_crop_resize(original, key):
    marked = mark_pixels(original, key, RECIPIENTS[7])
    h, w = marked.shape[:2]
    im = Image.fromarray(marked).crop((w // 10, h // 10, w - w // 10, h - h // 10))
    im = im.resize((im.width // 2, im.height // 2), Image.LANCZOS)
    leaked = _jpeg(np.asarray(im), 70)
    r = trace_pixels(original, leaked, key, RECIPIENTS)
    assert r.conclusive
    assert [a.recipient for a in r.accused] == [RECIPIENTS[7]]
    assert r.accused[0].p_innocent < 1e-6


def test_a_large_photo_traces_through_its_shrunk_working_copy(original, key):
    # Above 1,536 px registration and the residual work on shrunk images: the map must come
    # back in the full images' coordinates (a crop of a large copy, rotated and shrunk).
    big = np.asarray(Image.fromarray(original).resize((2400, 1600), Image.BICUBIC))
    marked = mark_pixels(big, key, RECIPIENTS[11])
    im = Image.fromarray(marked).crop((300, 150, 2400, 1500)).rotate(3, Image.BICUBIC, expand=False)
    leaked = _jpeg(np.asarray(im.resize((1575, 1012), Image.LANCZOS)), 80)
    r = trace_pixels(big, leaked, key, RECIPIENTS)
    assert [a.recipient for a in r.accused] == [RECIPIENTS[11]]
    x0, y0, x1, y1 = r.alignment.crop_box  # in the full original's pixels
    assert abs(x0 - 300) < 60 and abs(y0 - 150) < 60 and x1 > 2300 and abs(y1 - 1500) < 60
    assert abs(r.alignment.rotation_deg) == pytest.approx(3, abs=0.3)


def test_unmarked_copy_accuses_no_one(original, key):
    r = trace_pixels(original, _jpeg(original, 80), key, RECIPIENTS)
    assert not r.conclusive and r.accused == []
    assert r.best_p_innocent is not None and r.best_p_innocent > 1e-6


def test_copy_of_unlisted_recipient_accuses_no_one(original, key):
    marked = mark_pixels(original, key, "someone-not-registered")
    r = trace_pixels(original, marked, key, RECIPIENTS)
    assert r.accused == []
    # ... and a copy marked under another case's key neither.
    other = mark_pixels(original, WatermarkKey(bytes(32)), RECIPIENTS[3])
    assert trace_pixels(original, other, key, RECIPIENTS).accused == []


def test_average_of_two_copies_names_a_colluder_and_no_innocent(original, key):
    a = mark_pixels(original, key, RECIPIENTS[11]).astype(np.float64)
    b = mark_pixels(original, key, RECIPIENTS[42]).astype(np.float64)
    leaked = np.rint((a + b) / 2).astype(np.uint8)
    r = trace_pixels(original, leaked, key, RECIPIENTS)
    named = {x.recipient for x in r.accused}
    assert named and named <= {RECIPIENTS[11], RECIPIENTS[42]}


def test_mark_file_keeps_format_and_quality(tmp_path, key):
    src_path = next(p for p in sample_images() if p.name == "china.jpg")
    out = mark_file(src_path, tmp_path, key, [(RECIPIENTS[1], "alice"), (RECIPIENTS[2], "bob")])
    assert [m.error for m in out] == [None, None]
    from unleak.watermark.imagefile import estimate_jpeg_quality

    q_in = estimate_jpeg_quality(Image.open(src_path))
    for m in out:
        im = Image.open(m.path)
        assert im.format == "JPEG" and estimate_jpeg_quality(im) == q_in
    r = trace_file(out[1].path, src_path, key, RECIPIENTS)
    assert [a.recipient for a in r.accused] == [RECIPIENTS[2]]
    png = tmp_path / "src.png"
    Image.open(next(p for p in sample_images() if p.name == "coffee.png")).save(png)
    (m,) = mark_file(png, tmp_path / "png", key, [(RECIPIENTS[3], "carol")])
    assert Image.open(m.path).format == "PNG"


def test_cut_and_paste_of_two_copies_names_a_colluder(original, key):
    a = mark_pixels(original, key, RECIPIENTS[20])
    b = mark_pixels(original, key, RECIPIENTS[21])
    w = original.shape[1]
    leaked = np.concatenate([a[:, : w // 2], b[:, w // 2 :]], axis=1)
    r = trace_pixels(original, _jpeg(leaked, 85), key, RECIPIENTS)
    named = {x.recipient for x in r.accused}
    assert named and named <= {RECIPIENTS[20], RECIPIENTS[21]}


def test_webp_stays_webp(tmp_path, key, original):
    src = tmp_path / "in.webp"
    Image.fromarray(original).save(src, quality=85)
    (m,) = mark_file(src, tmp_path / "out", key, [(RECIPIENTS[9], "dave")])
    assert m.error is None and Image.open(m.path).format == "WEBP"
    assert [x.recipient for x in trace_file(m.path, src, key, RECIPIENTS).accused] == [RECIPIENTS[9]]


def _small(name: str = "coffee.png", size=(384, 256)) -> Image.Image:
    return Image.open(next(p for p in sample_images() if p.name == name)).convert("RGB").resize(size, Image.LANCZOS)


def test_lossless_webp_with_icc_profile_stays_lossless(tmp_path, key):
    from PIL import ImageCms

    from unleak.watermark.imagefile import webp_chunks

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    src = tmp_path / "in.webp"
    _small().save(src, lossless=True, icc_profile=icc)
    # The VP8L chunk comes after VP8X and ICCP, well past the first 64 bytes.
    assert [t for t, _ in webp_chunks(src.read_bytes())] == [b"VP8X", b"ICCP", b"VP8L"]
    assert src.read_bytes().index(b"VP8L") > 64
    (m,) = mark_file(src, tmp_path / "out", key, [(RECIPIENTS[5], "erin")])
    out = Image.open(m.path)
    assert out.format == "WEBP" and out.info.get("icc_profile") == icc
    # Lossless: the file holds exactly the marked pixels.
    expected = mark_pixels(np.asarray(Image.open(src).convert("RGB")), key, RECIPIENTS[5])
    assert np.array_equal(np.asarray(out.convert("RGB")), expected)


def _size_at(path, fmt: str, quality: int) -> int:
    buf = io.BytesIO()
    Image.open(path).convert("RGB").save(buf, fmt, quality=quality)
    return len(buf.getvalue())


def test_lossy_webp_keeps_its_quality(tmp_path, key):
    from unleak.watermark.imagefile import load_image

    src = tmp_path / "in.webp"
    _small().save(src, quality=50)
    assert abs(load_image(src).save_args["quality"] - 50) <= 2
    (_m,) = mark_file(src, tmp_path / "out", key, [(RECIPIENTS[6], "fay")])
    ratio = (tmp_path / "out" / "in.fay.webp").stat().st_size / src.stat().st_size
    assert 0.75 < ratio < 1.33
    assert _size_at(src, "WEBP", 90) / src.stat().st_size > 1.33  # the old fixed quality 90 would fail


def test_heic_keeps_format_and_quality(tmp_path, key):
    pytest.importorskip("pillow_heif").register_heif_opener()
    src = tmp_path / "in.heic"
    _small().save(src, "HEIF", quality=50)
    (m,) = mark_file(src, tmp_path / "out", key, [(RECIPIENTS[8], "gus")])
    assert m.error is None and m.path.endswith(".heic") and Image.open(m.path).format == "HEIF"
    ratio = (tmp_path / "out" / "in.gus.heic").stat().st_size / src.stat().st_size
    assert 0.75 < ratio < 1.33
    assert _size_at(src, "HEIF", 90) / src.stat().st_size > 1.33
    assert [a.recipient for a in trace_file(m.path, src, key, RECIPIENTS).accused] == [RECIPIENTS[8]]


@pytest.mark.parametrize("c", [3, 4])
def test_average_of_three_and_four_copies_names_a_colluder_and_no_innocent(original, key, c):
    group = [RECIPIENTS[i] for i in (30, 31, 32, 33)[:c]]
    leaked = np.rint(np.mean([mark_pixels(original, key, g).astype(np.float64) for g in group], axis=0)).astype(
        np.uint8
    )
    named = {x.recipient for x in trace_pixels(original, leaked, key, RECIPIENTS).accused}
    assert named and named <= set(group)


def test_mark_is_stronger_in_texture_than_in_flat_areas(key):
    image = np.full((256, 512, 3), 128, np.uint8)
    image[:, 256:] = np.asarray(_small("gravel.png", (256, 256)))
    delta = mark_pixels(image, key, RECIPIENTS[1]).astype(np.float64) - image

    def rms(a):
        return float(np.sqrt(np.mean(a**2)))

    flat, texture = rms(delta[32:-32, 32:224]), rms(delta[32:-32, 288:-32])  # away from the seam
    assert flat > 0 and texture > 2 * flat


def test_unreadable_original_gives_every_recipient_an_error(tmp_path, key):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not an image")
    out = mark_file(bad, tmp_path / "out", key, [(RECIPIENTS[1], "alice"), (RECIPIENTS[2], "bob")])
    assert [(m.recipient, m.path) for m in out] == [("alice", None), ("bob", None)]
    assert all(m.error and "bad.jpg" in m.error for m in out)
