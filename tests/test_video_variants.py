"""Flipped and letterboxed re-uploads of a protected video are found by vPDQ of the candidate's
mirrored frames and of its frames without bars; an unrelated video still matches nothing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from unleak.bank import Bank
from unleak.match.matcher import Matcher
from unleak.signals import Media
from unleak.signals.vpdq import hash_video, hash_video_fast, hash_video_views


def _transcode(src: Path, dst: Path, fn: Callable[[np.ndarray], np.ndarray], size: tuple[int, int]) -> Path:
    """A re-encode of `src` with each frame changed by `fn` (to `size`, width x height)."""
    import av

    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        stream = out.add_stream("libx264", rate=10)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        for frame in inp.decode(video=0):
            a = np.ascontiguousarray(fn(frame.to_ndarray(format="rgb24")))
            for packet in stream.encode(av.VideoFrame.from_ndarray(a, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return dst


def _letterbox_9x16(a: np.ndarray) -> np.ndarray:
    """The 320x240 frame shrunk to 240x180 in the middle of a black 240x428 (about 9:16) canvas."""
    from PIL import Image

    small = np.asarray(Image.fromarray(a).resize((240, 180), Image.Resampling.BILINEAR))
    canvas = np.zeros((428, 240, 3), np.uint8)
    canvas[124:304] = small
    return canvas


@pytest.fixture(scope="module")
def videos(tmp_path_factory, samples) -> dict[str, Path]:
    from conftest import make_video

    d = tmp_path_factory.mktemp("video-variants")
    original = make_video(d / "original.mp4", [samples[i] for i in (2, 3, 13)], seconds=3)
    return {
        "original": original,
        "other": make_video(d / "other.mp4", [samples[i] for i in (0, 6, 10)], seconds=3),
        "mirrored": _transcode(original, d / "mirrored.mp4", lambda a: a[:, ::-1], (320, 240)),
        "letterbox": _transcode(original, d / "letterbox.mp4", _letterbox_9x16, (240, 428)),
    }


def test_plain_fast_frames_unchanged_by_the_views(videos):
    frames = hash_video_fast(videos["original"])
    assert frames == hash_video(videos["original"])
    views = hash_video_views(videos["original"], lambda a: {"": a, "mirrored": a[:, ::-1]})
    assert views[""] == frames
    assert views["mirrored"] != frames


def test_flipped_and_letterboxed_copies_match_the_right_video(store, videos, samples):
    bank = Bank(store)
    results = bank.protect([videos["original"], samples[5]])
    original_id = results[0].bank_id
    matcher = Matcher(bank, verify="off")
    for name in ("mirrored", "letterbox"):
        plain_only = Matcher(bank, verify="off", dihedral=False, variants=False)
        assert plain_only.match_media(Media.open(videos[name])).matches == [], name  # what was missed
        found = matcher.match_media(Media.open(videos[name])).matches
        assert [(m.bank_id, m.signal, m.variant) for m in found] == [(original_id, "vpdq", name)]
        assert found[0].false_match_rate is not None and found[0].false_match_rate <= matcher.target_rate
        assert found[0].to_json()["variant"] == name
    assert matcher.match_media(Media.open(videos["other"])).matches == []
    # The original itself: an exact match, not a variant.
    exact = matcher.match_media(Media.open(videos["original"])).matches
    assert [m.bank_id for m in exact] == [original_id] and exact[0].variant is None


def test_owner_side_verifies_videos_on_key_frames(store, videos, tmp_path):
    """--verify on works for videos: hash matches are confirmed on key frames against the
    original's frames, and a heavy crop that no hash finds is found by its key frames."""
    bank = Bank(store)
    (protected,) = bank.protect([videos["original"]], variants=True)
    cropped = _transcode(videos["original"], tmp_path / "cropped.mp4", lambda a: a[60:180, 80:240], (160, 120))
    assert Matcher(bank, verify="off").match_media(Media.open(cropped)).matches == []  # beyond the hashes
    matcher = Matcher(bank, verify="on")
    found = matcher.match_media(Media.open(cropped)).matches
    assert [(m.bank_id, m.signal, m.verified) for m in found] == [(protected.bank_id, "local", True)]
    assert found[0].false_match_rate is not None and found[0].false_match_rate <= matcher.target_rate
    mirrored = matcher.match_media(Media.open(videos["mirrored"])).matches
    assert [(m.bank_id, m.variant, m.verified) for m in mirrored] == [(protected.bank_id, "mirrored", True)]
    assert mirrored[0].transform is not None and mirrored[0].transform["flip"] is True
    assert matcher.match_media(Media.open(videos["other"])).matches == []
