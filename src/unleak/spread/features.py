"""What can be measured of one copy of a protected item, for estimating which copy was made from which.

A copy is described against the protected original when the original is on this machine: it is
registered to it (crop box, visible fraction, scale, rotation, flip), resampled into the
original's geometry on a small work grid, and compared there (what it shows of the original, how
much detail it lost, which pixels carry added content such as captions, watermarks or overlays).
From its own bytes come the resolution, the file size and, for JPEG, the quality its quantisation
tables were made with. A copy with no media (a hash-only or `--no-capture` scan) keeps what the
sighting holds: its perceptual hash, its distance to the original, its size and its times.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from unleak.registration import align as _align
from unleak.registration import to_gray

WORK_SIDE = 480  # pixels on the long side of the grid copies are compared on
COPY_SIDE = 640  # copies are compared with each other at most this large
REF_SIDE = 1024  # originals larger than this are shrunk before registration
SIM_SIDE = 1280  # copies are re-made from each other at most this large (pixel-exact up to it)
OVERLAY_LEVEL = 30.0  # grey levels (box-blurred) above the original that count as added content


@dataclass
class Reference:
    """The protected original, ready to register copies to."""

    rgb: np.ndarray  # at most REF_SIDE on the long side
    factor: float  # rgb's size / the original's size
    work: np.ndarray  # float32 grey on the work grid
    work_scale: float  # work grid / rgb


def reference(original_rgb: np.ndarray) -> Reference:
    h, w = original_rgb.shape[:2]
    f = min(1.0, REF_SIDE / max(h, w))
    rgb = (
        original_rgb
        if f == 1.0
        else cv2.resize(original_rgb, (round(w * f), round(h * f)), interpolation=cv2.INTER_AREA)
    )
    ws = min(1.0, WORK_SIDE / max(rgb.shape[:2]))
    gray = to_gray(rgb)
    work = gray if ws == 1.0 else cv2.resize(gray, _wh(gray.shape, ws), interpolation=cv2.INTER_AREA)
    return Reference(rgb=np.ascontiguousarray(rgb), factor=f, work=work.astype(np.float32), work_scale=ws)


def _wh(shape: tuple[int, ...], s: float) -> tuple[int, int]:
    return max(1, round(shape[1] * s)), max(1, round(shape[0] * s))


@dataclass
class Copy:
    """One node of a lineage: a file, seen at one or more URLs (the same SHA-256 is one node).

    `ids` are the sightings showing this very file, earliest first; `ids[0]` names the node.
    Times are hours (any epoch, the same for all copies of an item); None when unknown."""

    ids: list[int]
    kind: str = "image"  # image | video
    sha256: str | None = None
    time: float | None = None
    width: int | None = None
    height: int | None = None
    size: int | None = None  # bytes
    quality: float | None = None  # JPEG quality estimated from the luma quantisation table
    hash_bits: np.ndarray | None = None  # the copy's PDQ hash (256 bits), when known
    bank_distance: int | None = None  # its distance to the protected item's hash
    # registered to the original (None: no media or no registration)
    flip: bool | None = None
    scale: float | None = None  # copy pixels per original pixel
    rotation: float | None = None
    visible_fraction: float | None = None
    crop_box: tuple[int, int, int, int] | None = None  # in the original's pixels
    frame: float = 0.0  # fraction of the copy's area that is not the original (frame, bars, border)
    mask: np.ndarray | None = field(default=None, repr=False)  # work grid: pixels the copy shows
    gray: np.ndarray | None = field(default=None, repr=False)  # work grid: the copy, resampled
    overlay: np.ndarray | None = field(default=None, repr=False)  # work grid: added content
    residual: np.ndarray | None = field(default=None, repr=False)  # work grid: copy - original (at its resolution)
    keep: np.ndarray | None = field(default=None, repr=False)  # work grid: shown, and not added content
    pixels: np.ndarray | None = field(default=None, repr=False)  # the copy, grey, at most COPY_SIDE
    matrix: np.ndarray | None = field(default=None, repr=False)  # reference pixels -> `pixels` pixels
    inside: np.ndarray | None = field(default=None, repr=False)  # `pixels` that show the original
    luma: np.ndarray | None = field(default=None, repr=False)  # the copy, grey uint8, at most SIM_SIDE
    luma_matrix: np.ndarray | None = field(default=None, repr=False)  # reference pixels -> `luma` pixels
    added: np.ndarray | None = field(default=None, repr=False)  # `luma` pixels of added content
    shows: np.ndarray | None = field(default=None, repr=False)  # `luma` pixels showing the original
    luma_exact: bool = False  # `luma` is the file's own pixel grid (its JPEG blocks)
    qtable: list[int] | None = field(default=None, repr=False)  # its JPEG luma table, natural order
    loss: float | None = None  # mean grey-level error against the original outside added content
    resolution: float = 1.0  # the copy's detail on the work grid: 1 as fine as the grid, 0.5 half
    # videos
    duration: float | None = None  # seconds
    clip: tuple[float, float] | None = None  # which seconds of the original it shows
    bitrate: float | None = None  # bits per pixel per second
    notes: list[str] = field(default_factory=list)

    @property
    def id(self) -> int:
        return self.ids[0]

    @property
    def registered(self) -> bool:
        return self.mask is not None

    def facts(self) -> dict[str, Any]:
        """What was measured, as JSON."""
        out: dict[str, Any] = {"kind": self.kind}
        for k in ("width", "height", "size", "quality", "bank_distance", "flip", "duration", "bitrate"):
            v = getattr(self, k)
            if v is not None:
                out[k] = round(v, 3) if isinstance(v, float) else v
        if self.scale is not None:
            out["scale"] = round(self.scale, 3)
            out["rotation_deg"] = round(self.rotation or 0.0, 1)
            out["visible_fraction"] = round(self.visible_fraction or 0.0, 3)
            out["crop_box"] = list(self.crop_box or ())
            out["frame"] = round(self.frame, 3)
        if self.overlay is not None:
            out["added_content"] = round(self.overlay_fraction, 4)
        if self.loss is not None:
            out["loss"] = round(self.loss, 2)
        if self.clip is not None:
            out["clip"] = [round(self.clip[0], 2), round(self.clip[1], 2)]
        return out

    @property
    def overlay_fraction(self) -> float:
        if self.overlay is None or self.mask is None or not self.mask.any():
            return 0.0
        return float(self.overlay.sum() / self.mask.sum())


# IJG's luma table at quality 50 (libjpeg's scaling gives every other quality from it).
_LUMA = np.array(
    [16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56]
    + [14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92]
    + [49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99],
    dtype=np.float64,
)
_ZIGZAG = np.array(
    [0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14]
    + [21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53]
    + [60, 61, 54, 47, 55, 62, 63]
)


def _ijg_table(q: int) -> np.ndarray:
    s = 5000 / q if q < 50 else 200 - 2 * q
    t: np.ndarray = np.clip(np.floor((_LUMA * s + 50) / 100), 1, 255)
    return t


_TABLES = {q: _ijg_table(q) for q in range(1, 101)}


def luma_table(data: bytes) -> list[int] | None:
    """The file's JPEG luma quantisation table (natural order), to re-apply its compression."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as im:
            tables = (getattr(im, "quantization", None) or {}) if im.format == "JPEG" else {}
    except (OSError, ValueError, SyntaxError):
        return None
    t = tables.get(0)
    return [int(v) for v in t] if t is not None and len(t) == 64 else None


def jpeg_quality(data: bytes) -> float | None:
    """The IJG quality whose luma table is nearest the file's (None: not a JPEG). Tables of
    other encoders give the nearest IJG quality, which still orders copies by coarseness."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as im:
            if im.format != "JPEG":
                return None
            tables = getattr(im, "quantization", None) or {}
    except (OSError, ValueError, SyntaxError):  # not an image Pillow reads
        return None
    if 0 not in tables:
        return None
    t = np.asarray(tables[0], dtype=np.float64)
    if t.size != 64:
        return None
    # Pillow gives the table in natural (row-major) order; older versions gave zigzag order.
    errs = {q: float(np.abs(np.log(t) - np.log(ref)).mean()) for q, ref in _TABLES.items()}
    errs_z = {q: float(np.abs(np.log(t) - np.log(ref[_ZIGZAG])).mean()) for q, ref in _TABLES.items()}
    best = min(errs, key=lambda q: (errs[q], -q))
    best_z = min(errs_z, key=lambda q: (errs_z[q], -q))
    return float(best if errs[best] <= errs_z[best_z] else best_z)


def describe_image(
    ids: list[int],
    rgb: np.ndarray,
    ref: Reference | None,
    *,
    data: bytes | None = None,
    time: float | None = None,
    sha256: str | None = None,
    hash_bits: np.ndarray | None = None,
    bank_distance: int | None = None,
) -> Copy:
    """Measure one image copy (RGB uint8 array; `data` its file's bytes, for size and JPEG tables)."""
    h, w = rgb.shape[:2]
    c = Copy(
        ids=ids,
        sha256=sha256,
        time=time,
        width=w,
        height=h,
        size=len(data) if data is not None else None,
        quality=jpeg_quality(data) if data is not None else None,
        qtable=luma_table(data) if data is not None else None,
        hash_bits=hash_bits,
        bank_distance=bank_distance,
    )
    if ref is not None:
        register(c, rgb, ref)
    return c


def register(c: Copy, rgb: np.ndarray, ref: Reference) -> None:
    """Register the copy to the original and measure it in the original's geometry."""
    try:
        al = _align(ref.rgb, rgb, max_side=640)
    except cv2.error:
        al = None
    if al is None:
        c.notes.append("could not be registered to the original")
        return
    c.flip = al.flip
    c.scale = al.scale / ref.factor
    c.rotation = al.rotation_deg
    c.visible_fraction = al.visible_fraction
    x0, y0, x1, y1 = (round(v / ref.factor) for v in al.crop_box)
    c.crop_box = (x0, y0, x1, y1)
    # The copy's frame: the part of it the original does not cover.
    oh, ow = ref.rgb.shape[:2]
    corners = np.array([[-0.5, -0.5], [ow - 0.5, -0.5], [ow - 0.5, oh - 0.5], [-0.5, oh - 0.5]], np.float64)
    p = np.hstack([corners, np.ones((4, 1))]) @ al.matrix.T
    poly = (p[:, :2] / p[:, 2:3]).astype(np.float32)
    if cv2.contourArea(poly, oriented=True) < 0:
        poly = poly[::-1].copy()
    ch, cw = rgb.shape[:2]
    rect = np.array([[-0.5, -0.5], [cw - 0.5, -0.5], [cw - 0.5, ch - 0.5], [-0.5, ch - 0.5]], np.float32)
    area, _ = cv2.intersectConvexConvex(rect, poly)
    c.frame = float(max(0.0, 1.0 - area / (cw * ch)))
    # Resample into the work grid of the original: candidate -> original (rgb) -> work grid.
    s = ref.work_scale
    to_work = np.array([[s, 0, 0.5 * s - 0.5], [0, s, 0.5 * s - 0.5], [0, 0, 1.0]])
    m = al.matrix @ np.linalg.inv(to_work)  # work grid -> candidate
    gray = to_gray(rgb)
    if al.scale * 1.0 > 1.5 * s:  # the copy is much finer than the grid: shrink it first (no aliasing)
        f = min(1.0, 1.5 * s / al.scale)
        gray = cv2.resize(gray, _wh(gray.shape, f), interpolation=cv2.INTER_AREA)
        fm = np.array([[f, 0, 0.5 * f - 0.5], [0, f, 0.5 * f - 0.5], [0, 0, 1.0]])
        m = fm @ m
    wh, ww = ref.work.shape
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    img = cv2.warpPerspective(gray, m, (ww, wh), flags=flags, borderMode=cv2.BORDER_REPLICATE)
    cov = cv2.warpPerspective(np.ones(gray.shape, np.float32), m, (ww, wh), flags=flags)
    mask = cv2.erode((cov > 0.999).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    if mask.sum() < 64:
        c.notes.append("registered, but shows too little of the original to compare")
        return
    # What the original would look like at the copy's resolution: detail lost by downscaling is
    # not added content.
    eff = min(1.0, c.scale * ref.factor / s)
    c.resolution = eff
    base = ref.work
    if eff < 0.95:
        small = cv2.resize(base, _wh(base.shape, eff), interpolation=cv2.INTER_AREA)
        base = cv2.resize(small, (ww, wh), interpolation=cv2.INTER_LINEAR)
    # Photometric fit (gain and offset) on the covered pixels: a screenshot or a filter changes them.
    a, b = _fit(base[mask], img[mask])
    diff = np.abs(img - (a * base + b))
    blurred = cv2.blur(diff, (5, 5))
    overlay = (blurred > OVERLAY_LEVEL) & cv2.erode(mask.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    overlay = cv2.morphologyEx(overlay.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)) > 0
    keep = mask & ~cv2.dilate(overlay.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    c.mask, c.gray, c.overlay, c.keep = mask, img, overlay, keep
    f = min(1.0, COPY_SIDE / max(rgb.shape[:2]))
    full = to_gray(rgb)
    c.pixels = full if f == 1.0 else cv2.resize(full, _wh(full.shape, f), interpolation=cv2.INTER_AREA)
    fm = np.array([[f, 0, 0.5 * f - 0.5], [0, f, 0.5 * f - 0.5], [0, 0, 1.0]])
    c.matrix = fm @ al.matrix
    ph, pw = c.pixels.shape
    cover = cv2.warpPerspective(np.ones(ref.rgb.shape[:2], np.float32), c.matrix, (pw, ph), flags=cv2.INTER_LINEAR)
    c.inside = cover > 0.999
    f = min(1.0, SIM_SIDE / max(rgb.shape[:2]))
    c.luma = np.clip(
        np.rint(full if f == 1.0 else cv2.resize(full, _wh(full.shape, f), interpolation=cv2.INTER_AREA)), 0, 255
    ).astype(np.uint8)
    c.luma_exact = f == 1.0
    c.luma_matrix = np.array([[f, 0, 0.5 * f - 0.5], [0, f, 0.5 * f - 0.5], [0, 0, 1.0]]) @ al.matrix
    c.added = added_pixels(overlay, c.luma_matrix @ np.linalg.inv(to_work), c.luma.shape)
    c.shows = shown_pixels(ref.rgb.shape, c.luma_matrix, c.luma.shape)
    c.residual = np.where(keep, img - (a * base + b), 0.0).astype(np.float32)
    fitted = a * ref.work + b
    c.loss = float(np.abs(img - fitted)[keep].mean()) if keep.any() else float(diff[mask].mean())


def shown_pixels(ref_shape: tuple[int, ...], ref_to_copy: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The copy's pixels that show the original (not its frame or bars), a little inside."""
    lh, lw = shape[:2]
    cover = cv2.warpPerspective(np.ones(ref_shape[:2], np.float32), ref_to_copy, (lw, lh), flags=cv2.INTER_LINEAR)
    out: np.ndarray = cv2.erode((cover > 0.999).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    return out


def added_pixels(overlay: np.ndarray, work_to_copy: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The work grid's added content in the copy's own pixels (widened: edges of captions)."""
    lh, lw = shape[:2]
    m = cv2.warpPerspective(overlay.astype(np.float32), work_to_copy, (lw, lh), flags=cv2.INTER_LINEAR)
    out: np.ndarray = cv2.dilate((m > 0.05).astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
    return out


def _fit(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    if len(x) < 16 or float(x.std()) < 1e-3:
        return 1.0, 0.0
    a = float(np.cov(x, y, bias=True)[0, 1] / x.var())
    if not 0.5 < a < 2.0:
        return 1.0, float(y.mean() - x.mean())
    return a, float(y.mean() - a * x.mean())


def degrade(gray: np.ndarray, resolution: float) -> np.ndarray:
    """A work-grid image as it looks at a lower resolution (shrunk and enlarged back)."""
    if resolution >= 0.97:
        return gray
    small = cv2.resize(gray, _wh(gray.shape, resolution), interpolation=cv2.INTER_AREA)
    out: np.ndarray = cv2.resize(small, (gray.shape[1], gray.shape[0]), interpolation=cv2.INTER_LINEAR)
    return out


def hash_bits(hex_value: str) -> np.ndarray | None:
    """A PDQ hash (64 hex digits) as 256 bits."""
    try:
        raw = bytes.fromhex(hex_value)
    except ValueError:
        return None
    if len(raw) != 32:
        return None
    return np.unpackbits(np.frombuffer(raw, np.uint8))


# --- videos -------------------------------------------------------------------------------------

THUMB = (16, 12)


def thumbs(frames: list[np.ndarray]) -> np.ndarray:
    """Small normalised grey thumbnails of frames, for finding which seconds a clip shows."""
    out = []
    for f in frames:
        g = cv2.resize(to_gray(f), THUMB, interpolation=cv2.INTER_AREA).ravel()
        g = g - g.mean()
        out.append(g / (np.linalg.norm(g) + 1e-6))
    return np.array(out, np.float32).reshape(len(out), -1)


def describe_video(
    ids: list[int],
    frames: list[np.ndarray],
    fps: float,
    *,
    original: np.ndarray | None = None,
    original_fps: float | None = None,
    size: int | None = None,
    time: float | None = None,
    sha256: str | None = None,
) -> Copy:
    """Measure one video copy from its decoded frames; `original` is the original's `thumbs`."""
    h, w = frames[0].shape[:2] if frames else (0, 0)
    dur = len(frames) / fps if fps else 0.0
    c = Copy(ids=ids, kind="video", sha256=sha256, time=time, width=w, height=h, size=size, duration=dur)
    if size and dur and w and h:
        c.bitrate = 8.0 * size / (dur * w * h)
    if original is not None and original_fps and frames:
        t = thumbs(frames)
        sim = t @ original.T  # copy frame x original frame
        k = len(frames)
        n = len(original)
        # The offset (in original frames) that best explains the copy's frames, in order.
        best, best_off = -math.inf, 0.0
        for off in range(-k + 1, n):
            idx = np.round(np.arange(k) * original_fps / fps).astype(int) + off
            ok = (idx >= 0) & (idx < n)
            if ok.sum() < max(1, k // 2):
                continue
            score = float(sim[np.arange(k)[ok], idx[ok]].mean()) * ok.mean()
            if score > best:
                best, best_off = score, float(off)
        start = best_off / original_fps
        c.clip = (start, start + dur)
    return c
