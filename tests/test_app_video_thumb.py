"""A found copy that is a video gets a thumbnail too: a key frame decoded in memory from the
encrypted capture, blurred on the server like a photo's."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from unleak.demo.site import generate_site
from unleak.errors import MediaError
from unleak.media.video import iter_frames, key_frame


def _detail(jpeg_bytes: bytes) -> float:
    g = np.asarray(Image.open(io.BytesIO(jpeg_bytes)).convert("L"), dtype=np.float32)
    return float(np.abs(np.diff(g, axis=1)).mean() + np.abs(np.diff(g, axis=0)).mean())


def test_key_frame_is_decoded_from_bytes_and_bad_bytes_are_refused(tiny_video):
    frame = key_frame(tiny_video.read_bytes())
    _, first = next(iter_frames(tiny_video))
    assert frame.shape == first.shape and float(np.abs(frame.astype(int) - first.astype(int)).mean()) < 8
    with pytest.raises(MediaError):
        key_frame(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 200)


def test_a_video_sighting_has_a_blurred_thumbnail(cli, samples, tiny_video, tmp_path):
    from unleak.evidence.views import sighting_thumbnail
    from unleak.store import open_store
    from unleak.store.models import Sighting

    with generate_site(samples[:1], [], videos={tiny_video.stem: tiny_video.read_bytes()}) as site:
        assert cli("case", "new", "vid")[0] == 0
        assert cli("protect", "--case", "vid", str(tiny_video))[0] == 0
        args = ["source", "add", "crawl", site.start_url, "--case", "vid", "--allow-network", "127.0.0.1/32"]
        assert cli(*args)[0] == 0
        code, _, err = cli("scan", "--case", "vid", "--rate", "0")
        assert code == 0, err
    store = open_store()
    with store.session() as s:
        ids = [si.id for si in s.query(Sighting) if si.media_url.endswith((".mp4", ".webm", ".mkv", ".mov"))]
    assert ids, "the scan found no video copy"
    revealed = sighting_thumbnail(store, "vid", ids[0], blur=False)
    blurred = sighting_thumbnail(store, "vid", ids[0], blur=True)
    assert revealed and blurred and revealed[:3] == b"\xff\xd8\xff" == blurred[:3]
    assert max(Image.open(io.BytesIO(revealed)).size) <= 320
    assert _detail(blurred) < _detail(revealed) / 3
