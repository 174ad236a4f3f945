"""Bad input gets a clear one-line error, and the rest of a batch carries on."""

from __future__ import annotations

import gc
import io
import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import MEDIA_EXTENSIONS
from unleak.config import MediaLimits
from unleak.errors import LimitExceeded, MediaError
from unleak.signals import Media, compute_signals


def _jpeg(samples, tmp_path: Path, name="ok.jpg") -> Path:
    out = tmp_path / name
    Image.open(samples[3]).convert("RGB").save(out, quality=90)
    return out


def png_bomb(width: int, height: int) -> bytes:
    """A tiny PNG that claims (and really holds) width x height black pixels: a decompression bomb."""
    raw = zlib.compress(b"\x00" * ((width + 1) * 64), 9)  # only the first rows; the header is what counts

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def test_decompression_bomb_refused_before_decoding(tmp_path):
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_bomb(60000, 60000))
    with pytest.raises(LimitExceeded, match="decompression bomb"):
        compute_signals(Media.open(bomb))


def test_truncated_jpeg(samples, tmp_path):
    good = _jpeg(samples, tmp_path)
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(MediaError, match="truncated"):
        compute_signals(Media.open(cut))


def test_corrupt_png(samples, tmp_path):
    buf = io.BytesIO()
    Image.open(samples[0]).save(buf, "PNG")
    data = bytearray(buf.getvalue())
    data[100:400] = b"\x00" * 300
    bad = tmp_path / "bad.png"
    bad.write_bytes(bytes(data))
    with pytest.raises(MediaError, match="cannot decode"):
        compute_signals(Media.open(bad))


def test_file_that_lies_about_its_type(tmp_path):
    liar = tmp_path / "holiday.jpg"
    liar.write_text("<html>not a photo</html>")
    with pytest.raises(MediaError, match="named like image"):
        Media.open(liar)


def test_renamed_png_is_read_by_content(samples, tmp_path):
    renamed = tmp_path / "really-a-png.mp4"
    renamed.write_bytes(samples[2].read_bytes())
    media = Media.open(renamed)
    assert media.kind.value == "image" and media.format == "png"


def test_non_media_and_empty_and_missing(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(MediaError, match="not a supported"):
        Media.open(tmp_path / "notes.txt")
    with pytest.raises(MediaError, match="empty"):
        Media.open(tmp_path / "empty.png")
    with pytest.raises(MediaError, match="no such file"):
        Media.open(tmp_path / "missing.jpg")


def test_huge_file_refused_by_size_limit(samples, tmp_path):
    path = _jpeg(samples, tmp_path)
    with pytest.raises(LimitExceeded, match="over the limit"):
        Media.open(path, limits=MediaLimits(max_file_bytes=1000))


def test_too_many_pixels(samples, tmp_path):
    path = _jpeg(samples, tmp_path)
    with pytest.raises(LimitExceeded, match="pixels"):
        compute_signals(Media.open(path, limits=MediaLimits(max_image_pixels=1000)))


def test_truncated_video(tiny_video, tmp_path):
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(tiny_video.read_bytes()[:2000])
    with pytest.raises(MediaError):
        compute_signals(Media.open(cut))


def test_video_duration_limit(tiny_video):
    with pytest.raises(LimitExceeded, match="s long"):
        compute_signals(Media.open(tiny_video, limits=MediaLimits(max_video_seconds=1)))


def test_palette_and_greyscale_alpha_images(tmp_path):
    rng = np.random.default_rng(1)
    arr = rng.integers(0, 255, (200, 300, 3), dtype=np.uint8)
    Image.fromarray(arr).convert("P").save(tmp_path / "p.gif")
    Image.fromarray(arr).convert("LA").save(tmp_path / "la.png")
    Image.fromarray(arr).convert("I;16").save(tmp_path / "i16.png")
    for name in ("p.gif", "la.png", "i16.png"):
        sig = compute_signals(Media.open(tmp_path / name))["pdq"]
        assert len(sig.value) == 64


def test_batch_carries_on_past_bad_files(samples, tmp_path, cli):
    import json

    good = _jpeg(samples, tmp_path)
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0garbage")
    code, out, _err = cli("hash", "--json", tmp_path / "broken.jpg", good)
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 1  # something failed, and the exit code says so
    assert lines[0]["error"] and "broken.jpg" in lines[0]["error"]
    assert lines[1]["error"] is None and len(lines[1]["signals"]["pdq"]) == 64


def _corrupt(data: bytes, how: str, ext: str) -> bytes:
    if how == "truncated":
        return data[: len(data) // 2]
    # Invert 16 bytes of the file's structure (header boxes, chunks, EBML elements). A GIF's
    # bytes there are its colour table, which decodes whatever it holds: hit its image data.
    start = len(data) // 2 if ext == "gif" else 24
    return data[:start] + bytes(b ^ 0xFF for b in data[start : start + 16]) + data[start + 16 :]


@pytest.mark.parametrize("how", ["truncated", "flipped"])
@pytest.mark.parametrize("ext", MEDIA_EXTENSIONS)
def test_corrupt_file_of_every_format_is_one_line_error_and_batch_goes_on(
    ext, how, small_media, samples, tmp_path, cli
):
    import json

    bad = tmp_path / f"bad.{ext}"
    bad.write_bytes(_corrupt(small_media(ext).read_bytes(), how, ext))
    good = _jpeg(samples, tmp_path)
    code, out, err = cli("hash", "--json", bad, good)
    first, second = [json.loads(line) for line in out.splitlines()]
    assert code == 1
    assert first["path"] == str(bad) and first["signals"] == {}
    assert first["error"].startswith(f"{bad}: ") and "\n" not in first["error"]
    assert second["error"] is None and len(second["signals"]["pdq"]) == 64
    assert "Traceback" not in err


def test_avif_the_decoder_cannot_decode_is_a_media_error(broken_avif, samples, tmp_path, cli):
    import json

    with pytest.raises(MediaError, match="cannot decode image"):
        compute_signals(Media.open(broken_avif))
    code, out, _ = cli("hash", "--json", broken_avif, _jpeg(samples, tmp_path))
    first, second = [json.loads(line) for line in out.splitlines()]
    assert code == 1 and "broken.avif: cannot decode image" in first["error"]
    assert second["error"] is None and len(second["signals"]["pdq"]) == 64


@pytest.mark.parametrize("ext", ["mp4", "mov", "webm", "mkv"])
def test_every_video_container_hashes(ext, small_media, cli):
    import json

    code, out, _ = cli("hash", "--json", small_media(ext))
    (record,) = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and record["error"] is None
    assert "pdq" not in record["signals"] and len(record["signals"]["vpdq"]) == 2  # one frame a second


def test_cut_off_matroska_is_truncated_not_half_hashed(small_media, tmp_path):
    # FFmpeg decodes the first half of a cut-off WebM/MKV without complaint.
    cut = tmp_path / "cut.webm"
    cut.write_bytes(small_media("webm").read_bytes()[:-200])
    with pytest.raises(MediaError, match="truncated"):
        compute_signals(Media.open(cut))


def test_video_with_corrupt_codec_parameters_does_not_kill_the_batch(small_media, samples, tmp_path):
    """Corrupt H.264 parameters (avcC) leave FFmpeg without a pixel format; vpdq hands that to
    swscale, which aborts the process. Run as a real process, so an abort shows as one."""
    import json
    import os
    import subprocess
    import sys

    bad = tmp_path / "bad.mp4"
    data = small_media("mp4").read_bytes()
    i = data.index(b"avcC") + 4  # the SPS/PPS record
    bad.write_bytes(data[:i] + bytes(b ^ 0xFF for b in data[i : i + 8]) + data[i + 8 :])
    good = _jpeg(samples, tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "unleak", "hash", "--json", str(bad), str(good)],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=300,
    )
    assert proc.returncode == 1, proc.stderr[-500:]
    first, second = [json.loads(line) for line in proc.stdout.splitlines()]
    assert "no frame of the video can be decoded" in first["error"]
    assert second["error"] is None and len(second["signals"]["pdq"]) == 64


def test_video_with_unknown_codec_is_a_media_error(small_media, tmp_path):
    bad = tmp_path / "bad.mp4"
    data = small_media("mp4").read_bytes()
    i = data.index(b"avc1", 40)  # the sample description's codec, not ftyp's brand list
    bad.write_bytes(data[:i] + b"zzzz" + data[i + 4 :])
    with pytest.raises(MediaError, match="codec is unknown"):
        compute_signals(Media.open(bad))


def test_decoding_leaves_no_file_open(samples, tmp_path):
    """A scan meets thousands of bad or animated files: each one it reads must be closed again."""
    good = _jpeg(samples, tmp_path)
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_bomb(60000, 60000))
    animated = tmp_path / "two.gif"
    frames = [Image.new("P", (64, 64), colour) for colour in (10, 200)]
    frames[0].save(animated, save_all=True, append_images=frames[1:])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        for path in (cut, bomb, animated, good):
            for fast in (False, True):
                try:
                    compute_signals(Media.open(path), fast=fast)
                except MediaError:
                    pass
        gc.collect()
    leaked = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert not [m for m in leaked if str(tmp_path) in m]
