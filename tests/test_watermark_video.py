"""Video marks: one codeword over all frames, audio copied, survives re-encoding, rescaling and clipping."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from unleak.samples import sample_images
from unleak.watermark import WatermarkKey, mark_file, trace_file

av = pytest.importorskip("av")
RECIPIENTS = [f"r{i}" for i in range(100)]


def _make_video(
    path: Path,
    w: int = 480,
    h: int = 270,
    seconds: float = 2.0,
    fps: int = 12,
    vcodec: str = "libx264",
    acodec: str = "aac",
    sr: int = 22050,
) -> None:
    """A pan over a sample photo with sensor-like noise (H.264 unless told), plus a tone (AAC unless told)."""
    src = Image.open(next(p for p in sample_images() if p.name == "coffee.png")).convert("RGB")
    src = src.resize((int(src.width * 1.5), int(src.height * 1.5)), Image.BICUBIC)
    s = np.asarray(src)
    rng = np.random.default_rng(0)
    out = av.open(str(path), "w")
    vs = out.add_stream(vcodec, rate=fps)
    vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
    vs.options = (
        {"crf": "16", "preset": "veryfast"}
        if vcodec == "libx264"
        else {"crf": "20", "b:v": "0", "deadline": "realtime"}
    )
    aud = out.add_stream(acodec, rate=sr)
    n = int(seconds * fps)
    for i in range(n):
        x, y = int(i * (s.shape[1] - w) / n * 0.5), int(i * (s.shape[0] - h) / n * 0.3)
        fr = np.clip(s[y : y + h, x : x + w] + rng.normal(0, 2, (h, w, 3)), 0, 255).astype(np.uint8)
        for pk in vs.encode(av.VideoFrame.from_ndarray(fr, format="rgb24")):
            out.mux(pk)
    for pk in vs.encode(None):
        out.mux(pk)
    tone = (0.2 * np.sin(2 * np.pi * 440 * np.arange(int(sr * seconds)) / sr)).astype(np.float32)
    step, fmt = aud.codec_context.frame_size or 1024, aud.codec_context.format.name
    if fmt.startswith("s16"):  # libopus takes 16-bit samples
        tone = (tone * 32767).astype(np.int16)
    for k in range(0, len(tone) - step + 1, step):
        af = av.AudioFrame.from_ndarray(tone[None, k : k + step], format=fmt, layout="mono")
        af.sample_rate = sr
        for pk in aud.encode(af):
            out.mux(pk)
    for pk in aud.encode(None):
        out.mux(pk)
    out.close()


def _reencode(src: Path, dst: Path, height: int, bitrate: int, start: float = 0.0) -> None:
    """What a leaker does: smaller, lower bitrate, a clip."""
    i = av.open(str(src))
    o = av.open(str(dst), "w")
    vi = i.streams.video[0]
    w = round(vi.codec_context.width * height / vi.codec_context.height / 2) * 2
    vo = o.add_stream("libx264", rate=vi.average_rate)
    vo.width, vo.height, vo.pix_fmt, vo.bit_rate = w, height, "yuv420p", bitrate
    n = 0
    for f in i.decode(vi):
        if f.time < start:
            continue
        g = f.reformat(width=w, height=height, format="yuv420p")
        g.pts, g.time_base = n, Fraction(1, 1) / vi.average_rate
        n += 1
        for pk in vo.encode(g):
            o.mux(pk)
    for pk in vo.encode(None):
        o.mux(pk)
    o.close()
    i.close()


def _audio_packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as c:
        return [bytes(p) for p in c.demux(c.streams.audio[0]) if p.size]


def test_video_mark_reencode_trace(tmp_path):
    key = WatermarkKey(bytes(range(32)))
    original = tmp_path / "clip.mp4"
    _make_video(original)
    (res,) = mark_file(original, tmp_path / "out", key, [(RECIPIENTS[5], "erin")])
    assert res.error is None and res.path.endswith(".mp4")
    marked = Path(res.path)
    # Audio is copied packet for packet.
    assert _audio_packets(marked) == _audio_packets(original)
    leaked = tmp_path / "leaked.mp4"
    _reencode(marked, leaked, height=180, bitrate=300_000, start=0.5)
    r = trace_file(leaked, original, key, RECIPIENTS)
    assert [a.recipient for a in r.accused] == [RECIPIENTS[5]]
    assert r.frames > 5
    # The original itself, re-encoded the same way, accuses no one.
    clean = tmp_path / "clean.mp4"
    _reencode(original, clean, height=180, bitrate=300_000)
    assert trace_file(clean, original, key, RECIPIENTS).accused == []


@pytest.mark.parametrize(
    "suffix, vcodec, acodec, sr", [(".mov", "libx264", "aac", 22050), (".webm", "libvpx-vp9", "libopus", 48000)]
)
def test_mov_and_webm_keep_container_and_audio(tmp_path, suffix, vcodec, acodec, sr):
    key = WatermarkKey(bytes(range(32)))
    original = tmp_path / f"clip{suffix}"
    _make_video(original, w=320, h=180, seconds=1.5, fps=10, vcodec=vcodec, acodec=acodec, sr=sr)
    (res,) = mark_file(original, tmp_path / "out", key, [(RECIPIENTS[7], "finn")])
    assert res.error is None and res.path.endswith(suffix)
    with av.open(res.path) as c:
        assert c.format.name.split(",")[0] == {".mov": "mov", ".webm": "matroska"}[suffix]
        assert c.streams.video[0].codec_context.name == {".mov": "h264", ".webm": "vp9"}[suffix]
        assert c.streams.audio[0].codec_context.name == {".mov": "aac", ".webm": "opus"}[suffix]
    audio = _audio_packets(original)
    assert len(audio) > 10 and _audio_packets(Path(res.path)) == audio
    r = trace_file(res.path, original, key, RECIPIENTS)
    assert [a.recipient for a in r.accused] == [RECIPIENTS[7]]


def _audio_only(path: Path, seconds: float = 1.0, sr: int = 22050) -> None:
    out = av.open(str(path), "w")
    aud = out.add_stream("aac", rate=sr)
    tone = (0.2 * np.sin(2 * np.pi * 440 * np.arange(int(sr * seconds)) / sr)).astype(np.float32)
    step, fmt = aud.codec_context.frame_size or 1024, aud.codec_context.format.name
    for k in range(0, len(tone) - step + 1, step):
        af = av.AudioFrame.from_ndarray(tone[None, k : k + step], format=fmt, layout="mono")
        af.sample_rate = sr
        for pk in aud.encode(af):
            out.mux(pk)
    for pk in aud.encode(None):
        out.mux(pk)
    out.close()


def test_mark_of_a_sound_only_mp4_says_so(tmp_path, cli, _isolated_home):
    sound = tmp_path / "sound.mp4"
    _audio_only(sound)
    assert cli("recipients", "add", "alice")[0] == 0
    code, out, err = cli("mark", sound, "--out", tmp_path / "out", "--json")
    assert code == 1 and "Traceback" not in out + err
    (line,) = [json.loads(x) for x in out.splitlines() if x.strip()]
    assert line["path"] is None and "no video stream" in line["error"]
    assert not list((tmp_path / "out").glob("*.part*"))


def _transform(src: Path, dst: Path, fn) -> None:
    """Re-encode every frame through ``fn`` (an RGB array -> RGB array)."""
    i = av.open(str(src))
    o = av.open(str(dst), "w")
    vi = i.streams.video[0]
    vo = None
    for n, f in enumerate(i.decode(vi)):
        a = np.ascontiguousarray(fn(f.to_ndarray(format="rgb24")))
        if vo is None:
            vo = o.add_stream("libx264", rate=vi.average_rate)
            vo.width, vo.height, vo.pix_fmt, vo.bit_rate = a.shape[1], a.shape[0], "yuv420p", 600_000
        g = av.VideoFrame.from_ndarray(a, format="rgb24")
        g.pts, g.time_base = n, Fraction(1, 1) / vi.average_rate
        for pk in vo.encode(g):
            o.mux(pk)
    assert vo is not None
    for pk in vo.encode(None):
        o.mux(pk)
    o.close()
    i.close()


def test_flipped_and_letterboxed_copies_trace(tmp_path):
    key = WatermarkKey(bytes(range(32)))
    original = tmp_path / "clip.mp4"
    _make_video(original, w=320, h=180, seconds=1.5, fps=10)
    (res,) = mark_file(original, tmp_path / "out", key, [(RECIPIENTS[9], "gus")])
    flipped = tmp_path / "flipped.mp4"
    _transform(Path(res.path), flipped, lambda a: a[:, ::-1])
    r = trace_file(flipped, original, key, RECIPIENTS)
    assert [a.recipient for a in r.accused] == [RECIPIENTS[9]] and r.alignment is not None and r.alignment.flip

    def letterbox(a: np.ndarray) -> np.ndarray:
        out = np.zeros((240, 320, 3), np.uint8)
        out[30:210] = a
        return out

    boxed = tmp_path / "boxed.mp4"
    _transform(Path(res.path), boxed, letterbox)
    r = trace_file(boxed, original, key, RECIPIENTS)
    assert [a.recipient for a in r.accused] == [RECIPIENTS[9]]


def test_flipped_letterboxed_copy_traced_through_the_bank(tmp_path, cli, _isolated_home):
    """No --original: the bank finds the original by the video variants (mirrored frames without
    their bars) and the trace names the recipient."""
    original = tmp_path / "clip.mp4"
    _make_video(original, w=320, h=180, seconds=1.5, fps=10)
    for name in ("alice", "gus"):
        assert cli("recipients", "add", name)[0] == 0
    code, out, _ = cli("mark", original, "--out", tmp_path / "out", "--json")
    marked = {m["recipient"]: m["path"] for m in map(json.loads, out.splitlines())}
    assert code == 0 and set(marked) == {"alice", "gus"}

    def flip_and_letterbox(a: np.ndarray) -> np.ndarray:
        out = np.zeros((568, 320, 3), np.uint8)  # 9:16, the picture in the middle
        out[194:374] = a[:, ::-1]
        return out

    leaked = tmp_path / "leaked.mp4"
    _transform(Path(marked["gus"]), leaked, flip_and_letterbox)
    code, out, _ = cli("trace", leaked, "--json")
    (r,) = [json.loads(x) for x in out.splitlines() if x.strip()]
    assert code == 0 and r["original"]["path"] == str(original.resolve()) and r["original"]["bank_id"] is not None
    assert [a["recipient"] for a in r["accused"]] == ["gus"] and r["reason"] is None
