"""Signals agree bit for bit with the reference implementations."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from unleak.signals import Media, Signal, compute_signals, get_signal_type
from unleak.signals.pdq import hamming, hash_pixels_dihedral


def test_pdq_equals_threatexchange_on_sample_images(samples):
    from threatexchange.signal_type.pdq.pdq_hasher import pdq_from_file

    checked = 0
    for path in samples:
        with Image.open(path) as im:
            if im.mode == "P":
                continue  # threatexchange hashes palette indices; we hash the colours (see image_to_array)
        ours = compute_signals(Media.open(path))["pdq"]
        ref_hex, ref_quality = pdq_from_file(path)
        assert ours.value == ref_hex, path.name
        assert ours.quality == ref_quality, path.name
        checked += 1
    assert checked >= 20


def test_pdq_equal_on_jpeg_webp_and_heic_reencodes(samples, tmp_path):
    from threatexchange.signal_type.pdq.pdq_hasher import pdq_from_file

    src = Image.open(samples[3]).convert("RGB")
    for fmt, ext in (
        ("JPEG", "jpg"),
        ("WEBP", "webp"),
        ("HEIF", "heic"),
        ("AVIF", "avif"),
        ("TIFF", "tif"),
        ("BMP", "bmp"),
    ):
        from unleak.media.image import _load_plugins

        _load_plugins()
        out = tmp_path / f"x.{ext}"
        src.save(out, fmt)
        ours = compute_signals(Media.open(out))["pdq"]
        assert ours.value == pdq_from_file(out)[0], fmt


def test_exact_hashes(samples):
    import hashlib

    data = samples[0].read_bytes()
    sigs = compute_signals(Media.open(samples[0]))
    assert sigs["sha256"].value == hashlib.sha256(data).hexdigest()
    assert sigs["md5"].value == hashlib.md5(data).hexdigest()
    assert compute_signals(Media(data=data))["pdq"] == sigs["pdq"]


def test_signal_value_object_distance():
    a = Signal("pdq", "f" * 64)
    b = Signal("pdq", "f" * 63 + "0")
    assert a - b == 4
    assert str(a).startswith("pdq:")
    with pytest.raises(TypeError):
        a - Signal("md5", "0" * 32)


def test_dihedral_contains_flip_of_original(samples):
    image = np.asarray(Image.open(samples[2]).convert("RGB"))
    flipped_hash = compute_signals(Media(data=_png(image[:, ::-1])))["pdq"].value
    variants, _ = hash_pixels_dihedral(image)
    assert min(hamming(v, flipped_hash) for v in variants) <= 10
    assert hamming(variants[0], flipped_hash) > 31


def _png(array: np.ndarray) -> bytes:
    import io

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(array)).save(buf, "PNG")
    return buf.getvalue()


def test_validate_rejects_garbage():
    with pytest.raises(ValueError):
        get_signal_type("pdq").validate("xyz")
    with pytest.raises(ValueError):
        get_signal_type("md5").validate("0" * 31)
    with pytest.raises(ValueError):
        get_signal_type("nope")


def test_vpdq_frames_equal_reference_package(tiny_video):
    import vpdq

    ref = vpdq.computeHash(str(tiny_video), seconds_per_hash=1.0)
    sig = compute_signals(Media.open(tiny_video))["vpdq"]
    frames = json.loads(sig.value)
    assert [f.split(",")[0] for f in frames] == [f.hex for f in ref]
    assert [int(f.split(",")[1]) for f in frames] == [f.quality for f in ref]
    assert [float(f.split(",")[2]) for f in frames] == [f.timestamp for f in ref]  # whole seconds here
    assert len(frames) >= 3


@pytest.mark.parametrize("fast", [False, True])
def test_vpdq_frame_times_equal_reference_package(samples, tmp_path, fast):
    """At NTSC's 30000/1001 frames a second the hashed frames fall between whole seconds."""
    from fractions import Fraction

    import av
    import vpdq
    from threatexchange.extensions.vpdq.vpdq_util import VpdqCompactFeature

    video = tmp_path / "ntsc.mp4"
    pictures = [np.asarray(Image.open(samples[i]).convert("RGB").resize((160, 120))) for i in (2, 3, 13)]
    with av.open(str(video), "w") as out:
        stream = out.add_stream("libx264", rate=Fraction(30000, 1001))
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        for i in range(30 * 6):
            frame = av.VideoFrame.from_ndarray(np.roll(pictures[i // 60], i, axis=1), format="rgb24")
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    ref = vpdq.computeHash(str(video), seconds_per_hash=1.0)
    frames = json.loads(compute_signals(Media.open(video), fast=fast)["vpdq"].value)
    # Written as python-threatexchange writes vPDQ: times to 3 significant digits.
    assert frames == [str(VpdqCompactFeature.from_vpdq_feature(f)) for f in ref]
    times = [float(f.split(",")[2]) for f in frames]
    assert len(times) >= 5 and any(t != int(t) for t in times)
    assert times == pytest.approx([f.timestamp for f in ref], rel=5e-3)


def test_vpdq_self_match_and_non_match(tiny_video, other_video):
    from unleak.signals.vpdq import compare, parse_frames

    a = parse_frames(compute_signals(Media.open(tiny_video))["vpdq"].value)
    b = parse_frames(compute_signals(Media.open(other_video))["vpdq"].value)
    assert compare(a, a).is_match()
    assert not compare(a, b).is_match()
