"""Video marking and tracing with PyAV.

Marking: every frame's luma plane (Y of YUV 4:2:0) gets the same codeword pattern, shaped
by a perceptual mask kept for the frames of a shot (see ``_ShotDelta``), so any stretch of
frames carries the whole codeword and more frames give a stronger read. The video is
re-encoded with the input's codec family (H.264 for MP4/MOV, x264 ``veryfast``; VP9 for
WebM) at high quality; audio packets are copied untouched.

Tracing: a middle frame of the leak is aligned to the best-matching original frame (the
geometry of a video does not change between frames), leaked frames are paired with
original frames by their times (offset found from thumbnails, so clips work), and the soft
bits of up to ``max_frames`` pairs are summed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from unleak.errors import MediaError
from unleak.registration.align import Alignment, align, content_box, warp_original_to_candidate

if TYPE_CHECKING:
    import av

from .code import recipient_code
from .extract import residual, soft_bits
from .keys import WatermarkKey
from .spread import apply_delta, layout, pattern, perceptual_mask

_CODECS = {"mp4": ("libx264", "yuv420p"), "mov": ("libx264", "yuv420p"), "webm": ("libvpx-vp9", "yuv420p")}


def _y_plane(frame: av.VideoFrame) -> np.ndarray:
    arr = frame.to_ndarray(format="yuv420p")
    return np.ascontiguousarray(arr[: frame.height])  # uint8: a long video's frames stay small


def mark_video(
    src: Path,
    dst: Path,
    key: WatermarkKey,
    recipient_id: str,
    *,
    psnr_db: float | None = None,
    crf: int = 18,
    threads: int = 0,
) -> Path:
    """Write a marked copy of video ``src`` to ``dst`` (container from dst's suffix).

    ``threads``: the encoder's threads (0: its own choice). One thread costs the least CPU
    per copy; :func:`~unleak.watermark.mark_file` uses it when it makes copies in parallel."""
    import av

    fmt = dst.suffix.lower().lstrip(".")
    codec_name, pix_fmt = _CODECS.get(fmt, _CODECS["mp4"])
    psnr = key.psnr_db if psnr_db is None else psnr_db
    try:
        inp = av.open(str(src))
    except av.error.FFmpegError as exc:
        raise MediaError(f"{src}: cannot open video: {exc}") from None
    tmp = dst.with_name(dst.name + ".part" + dst.suffix)
    with inp:
        if not inp.streams.video:
            raise MediaError(
                f"{src}: the file has no video stream (sound only?), so there is nothing to mark",
                hint="give the video file the recipients will see",
            )
        vin = inp.streams.video[0]
        vin.thread_type = "AUTO"
        out = av.open(str(tmp), mode="w", format={"mov": "mov", "webm": "webm"}.get(fmt, "mp4"))
        with out:
            rate = vin.average_rate or vin.guessed_rate or Fraction(25)
            vout = out.add_stream(codec_name, rate=rate)
            if not isinstance(vout, av.VideoStream):
                raise MediaError(f"{dst}: {codec_name} is not a video codec")
            w, h = vin.codec_context.width, vin.codec_context.height
            vout.width, vout.height = w - w % 2, h - h % 2
            vout.pix_fmt = pix_fmt
            vout.time_base = vin.time_base
            opts: dict[str, object] = {"crf": str(crf)}
            if codec_name == "libx264":
                # veryfast: about the file size of "medium" at this quality, at under half the CPU.
                opts["preset"] = "veryfast"
            else:
                opts.update({"b:v": "0", "deadline": "good", "cpu-used": "4", "row-mt": "1"})
            if threads:
                opts["threads"] = str(threads)
            vout.options = opts
            audio_map = {}
            for a in inp.streams.audio:
                try:
                    audio_map[a.index] = out.add_stream_from_template(a)
                except (ValueError, av.error.FFmpegError):
                    pass  # a codec this container cannot carry: dropped rather than re-encoded
            shot = _ShotDelta(key, recipient_code(key.secret, recipient_id, key.params), psnr)
            streams = [vin] + [inp.streams[i] for i in audio_map]
            for packet in inp.demux(*streams):
                if packet.stream.index in audio_map:
                    if packet.dts is None:
                        continue
                    packet.stream = audio_map[packet.stream.index]
                    out.mux(packet)
                    continue
                for frame in vin.decode(packet):
                    yuv = frame.to_ndarray(format="yuv420p")
                    fh, fw = frame.height, frame.width
                    y = yuv[:fh]
                    yuv[:fh] = apply_delta(y, shot.delta(y))
                    nf = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
                    if (fw, fh) != (vout.width, vout.height):
                        nf = nf.reformat(width=vout.width, height=vout.height)
                    nf.pts = frame.pts
                    nf.time_base = frame.time_base
                    for pk in vout.encode(nf):
                        out.mux(pk)
            for pk in vout.encode(None):
                out.mux(pk)
    tmp.replace(dst)
    return dst


class _ShotDelta:
    """A recipient's luma change (float32) for the frames of one shot.

    The perceptual mask (worked out at half size: it is smooth) and the change it shapes are
    rebuilt when the picture changes (its 32x18 thumbnail moves by more than ``CHANGE`` grey
    levels on average: a cut, or a pan that has moved on) or every ``EVERY`` frames, and
    reused in between: marking a frame is then one saturating addition (``apply_delta``).
    The change is worked out at half size too (the mark's band is far below that size's
    Nyquist frequency).
    """

    EVERY = 8
    CHANGE = 4.0

    def __init__(self, key: WatermarkKey, code: np.ndarray, psnr_db: float) -> None:
        self.key, self.code, self.target = key, code, 255.0 / 10 ** (psnr_db / 20)
        self.pat: np.ndarray | None = None
        self.d: np.ndarray | None = None
        self.thumb: np.ndarray | None = None
        self.age = 0

    def delta(self, y: np.ndarray) -> np.ndarray:
        th = cv2.resize(y, (32, 18), interpolation=cv2.INTER_AREA).astype(np.float32)
        self.age += 1
        if self.d is not None and self.d.shape != y.shape:  # the stream changed size
            self.pat = self.d = None
        if (
            self.d is not None
            and self.thumb is not None
            and self.age < self.EVERY
            and float(np.mean(np.abs(th - self.thumb))) <= self.CHANGE
        ):
            return self.d
        h, w = y.shape
        hw, hh = max(8, w // 2), max(8, h // 2)
        if self.pat is None:  # the band pattern is far below the half size's Nyquist frequency
            self.pat = pattern(layout(self.key.secret, (h, w), self.key.params.length), self.code, (hh, hw))
        half = cv2.resize(y, (hw, hh), interpolation=cv2.INTER_AREA).astype(np.float32)
        d = perceptual_mask(half) * self.pat
        d *= self.target / max(float(np.sqrt(np.mean(d * d))), 1e-9)
        self.d = cv2.resize(d, (w, h), interpolation=cv2.INTER_LINEAR)
        self.thumb, self.age = th, 0
        return self.d


def _frames(path: Path) -> Iterator[tuple[int, float, av.VideoFrame]]:
    """The video's frames one at a time as (index, time in s, av.VideoFrame): nothing is kept."""
    import av

    try:
        with av.open(str(path)) as c:
            if not c.streams.video:
                raise MediaError(f"{path}: the file has no video stream", hint="give a video file")
            s = c.streams.video[0]
            s.thread_type = "AUTO"
            fps = float(s.average_rate or s.guessed_rate or 25)
            last = -1.0
            for n, f in enumerate(c.decode(s)):
                t = float(f.time) if f.time is not None else n / fps
                if t <= last:  # broken timestamps: fall back to the frame count
                    t = last + 1 / fps
                last = t
                yield n, t, f
    except av.error.FFmpegError as exc:
        raise MediaError(f"{path}: cannot decode video: {exc}") from None


def _frames_at(path: Path, wanted: Iterable[int]) -> dict[int, np.ndarray]:
    """The Y planes of the frames with the given indices (one decoding pass)."""
    want = {int(i) for i in wanted}
    out: dict[int, np.ndarray] = {}
    for n, _, f in _frames(path):
        if n in want:
            out[n] = _y_plane(f)
            if len(out) == len(want):
                break
    return out


class _Window:
    """Y planes by non-decreasing index from one decoding pass, keeping only the last few."""

    def __init__(self, path: Path, keep: int = 4) -> None:
        self.path, self.it, self.keep, self.last = path, _frames(path), keep, -1
        self.buf: dict[int, np.ndarray] = {}

    def __getitem__(self, i: int) -> np.ndarray:
        while self.last < i:
            nxt = next(self.it, None)
            if nxt is None:
                raise MediaError(f"{self.path}: fewer frames on a second decoding pass")
            self.last = nxt[0]
            self.buf[self.last] = _y_plane(nxt[2])
            self.buf.pop(self.last - self.keep, None)
        return self.buf[i]


def _thumb(y: np.ndarray) -> np.ndarray:
    t = cv2.resize(np.ascontiguousarray(y, dtype=np.float32), (32, 32), interpolation=cv2.INTER_AREA).ravel()
    t = t - t.mean()
    return t / (np.linalg.norm(t) + 1e-6)


def extract_video(
    original: Path, leaked: Path, key: WatermarkKey, *, max_frames: int = 48
) -> tuple[np.ndarray | None, Alignment | None, int]:
    """Summed soft bits over paired frames: (z, alignment, frames used)."""
    # Frames are streamed (three passes over each video) so that memory does not grow with
    # the length: only times, a few candidate frames and a sliding window are kept.
    l_times = np.array([t for _, t, _ in _frames(leaked)])
    if not len(l_times):
        return None, None, 0
    jm = len(l_times) // 2
    mid = _frames_at(leaked, [jm])[jm]
    # Which original frame does the leak's middle frame show? Candidates: the most similar
    # thumbnails (a re-encoded or rescaled copy) and a spread of frames (a cropped one); the
    # winner is the aligned pair with the smallest difference, not the most inliers (a pan
    # makes neighbouring frames translations of each other).
    # The leak may be mirrored or letterboxed: its thumbnail is compared in each orientation,
    # with and without its uniform bars.
    x0, y0, x1, y1 = content_box(mid)
    inner = mid[y0:y1, x0:x1].astype(np.float32)
    mid_thumbs = np.array([_thumb(v) for v in (mid, mid[:, ::-1], inner, inner[:, ::-1])])
    o_list, sim_raw = [], []
    for _, t, f in _frames(original):
        o_list.append(t)
        sim_raw.append(float((mid_thumbs @ _thumb(_y_plane(f))).max()))
    if not o_list:
        return None, None, 0
    o_t = np.array(o_list)
    n_o = len(o_t)
    cand = set(np.argsort(-np.array(sim_raw))[:3].tolist()) | set(
        np.linspace(0, n_o - 1, min(4, n_o)).astype(int).tolist()
    )
    o_frames = _frames_at(original, cand)
    tried = []
    for i in sorted(cand):
        a = align(o_frames[i], mid, refine=False)
        if a is None:
            continue
        ow = warp_original_to_candidate(o_frames[i], a.matrix, mid.shape)
        cov = warp_original_to_candidate(np.ones_like(o_frames[i]), a.matrix, mid.shape) > 0.999
        if cov.sum() < 100:
            continue
        err = float(np.mean(np.abs(ow - mid)[cov]))
        # Off-centre distance of the original's centre in the leak (frames of a pan are
        # shifted copies of each other; among equally good pairs, the unshifted one).
        oh_, ow_ = o_frames[i].shape
        c = a.matrix @ np.array([(ow_ - 1) / 2, (oh_ - 1) / 2, 1.0])
        shift = float(np.hypot(c[0] / c[2] - (mid.shape[1] - 1) / 2, c[1] / c[2] - (mid.shape[0] - 1) / 2))
        tried.append((err, shift, i, a))
    if not tried:
        return None, None, 0
    min_err = min(t[0] for t in tried)
    _, _, best_i, best = min((t for t in tried if t[0] <= 1.15 * min_err + 0.1), key=lambda t: (t[1], t[0]))
    refined = align(o_frames[best_i], mid)
    if refined is not None:
        best = refined
    offset = o_t[best_i] - l_times[jm]
    # Pair each used leaked frame with the original frame nearest its time (+ offset), allowing
    # one frame of slack, chosen by thumbnail through the leak's geometry. Both indices only
    # grow, so each video is read once more through a short window.
    lh, lw = mid.shape
    picks = np.unique(np.linspace(0, len(l_times) - 1, min(max_frames, len(l_times))).astype(int))
    lay = layout(key.secret, o_frames[best_i].shape, key.params.length)
    z = np.zeros(key.params.length)
    used = 0
    orig, leak = _Window(original), _Window(leaked, keep=1)
    thumbs: dict[int, np.ndarray] = {}

    def th(i: int) -> np.ndarray:
        if i not in thumbs:
            thumbs[i] = _thumb(warp_original_to_candidate(orig[i], best.matrix, (lh, lw)))
        return thumbs[i]

    for j in picks:
        i0 = int(np.abs(o_t - (l_times[j] + offset)).argmin())
        near = [i for i in (i0 - 1, i0, i0 + 1) if 0 <= i < n_o]
        lf = leak[int(j)]
        lt = _thumb(lf)
        i = max(near, key=lambda k: float(th(k) @ lt))
        o = orig[i]
        rw, _ = residual(o, lf, best)
        z += soft_bits(lay, perceptual_mask(o), rw)
        used += 1
    return z, best, used
