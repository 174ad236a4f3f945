"""Extra PDQ hashes that let hash-only matching survive frames, flips and standard crops.

PDQ reduces an image to 64x64 and keeps the signs of its low DCT coefficients, so it shrugs
off re-encoding and resizing, but any change of framing moves every coefficient: a 2 %
shift of the borders already costs some 20 bits, a 5 % crop makes the hash unrelated.
The variants below put the framing back where it can be predicted:

Query side (computed on each candidate):
- ``dihedral``: the 7 other rotations and flips, hashed from re-oriented pixels (reduced to
  2048 px first; cost: 7 more PDQ hashes, 2-40 ms each for 0.3-2 megapixels).
- ``boxes``: the candidate without uniform borders (letterbox, pillarbox, padding, a
  screenshot's empty margins) and the largest block between uniform separator lines (a
  phone screenshot's picture between status bar, app header and caption). Each found box
  is hashed (cost: one PDQ of a smaller image each, at most two).

Bank side (computed at protect time, stored as ordinary PDQ hashes with ``variant`` set):
- ``trim`` / ``block``: the same boxes of the original (so that an original with its own
  margins still meets its trimmed copy).
- ``crop:1x1``, ``crop:4x5``, ``crop:9x16``, ``crop:16x9``: centre crops to the aspect ratios
  that apps force (square posts, 4:5 portrait posts, 9:16 stories and reels, 16:9 video),
  each only when the original's own aspect differs by more than 5 %. Their geometry is fixed
  by the original's size, so a copy cropped that way meets its bank hash almost bit for bit.
  Crops by an arbitrary amount cannot be predicted; owner-side verification finds those.

Every extra hash multiplies the comparisons per candidate-bank pair; see
:mod:`unleak.match.calibration` for how thresholds are lowered to pay for them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numba
import numpy as np

from unleak.errors import MediaError
from unleak.media.sniff import MediaKind
from unleak.signals.media import Media
from unleak.signals.pdq import MIN_QUALITY, hash_pixels, hash_te_compatible
from unleak.signals.pdq_fast import hash_luma

BANK_CROPS: dict[str, tuple[int, int]] = {
    "crop:1x1": (1, 1),
    "crop:4x5": (4, 5),
    "crop:9x16": (9, 16),
    "crop:16x9": (16, 9),
}
BANK_BOXES = ("trim", "block")
QUERY_BOXES = ("trim", "block")
ASPECT_TOLERANCE = 0.05

# Flatness of a line of pixels: most pixels within FLAT_TOL of the line's median colour.
FLAT_TOL = 14
FLAT_OUTLIERS = 0.01
FLAT_MAD = 3.0
COLOUR_TOL = 20  # a border line's colour may differ this much from the outermost line's
BAR_TOL = 4  # the same, for bars of chrome inside a screenshot's block
MIN_BOX_FRACTION = 0.04  # a box must keep at least this share of the frame's area
MIN_BOX_SIDE = 32
MIN_TRIM = 0.01  # and cut at least this share of a side to count as a different box


@dataclass(frozen=True)
class Box:
    """A pixel rectangle, x0/y0 inclusive, x1/y1 exclusive."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    def area(self) -> int:
        return max(0, self.width) * max(0, self.height)

    def crop(self, pixels: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(pixels[self.y0 : self.y1, self.x0 : self.x1])

    def as_tuple(self) -> tuple[int, int, int, int]:
        return (self.x0, self.y0, self.x1, self.y1)


def _rgb(pixels: np.ndarray) -> np.ndarray:
    a = np.asarray(pixels)
    if a.ndim == 2:
        a = a[..., None]
    return a[..., :3]


def _line_stats(a: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """Per line (rows for axis=1, columns for axis=0): is it flat, and its mean colour."""
    outliers, mad, mean = _line_deviations(a, axis == 1, FLAT_TOL)
    flat = (outliers <= FLAT_OUTLIERS) & (mad <= FLAT_MAD)
    return flat, mean.astype(np.int16)


@numba.njit(cache=True, nogil=True)
def _line_deviations(a: np.ndarray, rows: bool, tol: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per line: the share of pixels whose largest channel deviation from the line's rounded mean
    colour exceeds `tol`, the mean of that deviation, and the mean colour. One pass over the
    pixels for the means and one for the deviations, where NumPy's form took a dozen: this runs
    on every candidate a scan meets."""
    h, w, c = a.shape
    n_lines, n_px = (h, w) if rows else (w, h)
    outliers = np.empty(n_lines, np.float64)
    mad = np.empty(n_lines, np.float64)
    mean = np.empty((n_lines, c), np.float32)
    centre = np.empty(c, np.int32)
    for i in range(n_lines):
        for k in range(c):
            total = 0.0
            for j in range(n_px):
                total += a[i, j, k] if rows else a[j, i, k]
            mean[i, k] = total / n_px
            centre[k] = np.int32(np.rint(mean[i, k]))
        over = 0
        dev_sum = 0.0
        for j in range(n_px):
            dev = 0
            for k in range(c):
                v = np.int32(a[i, j, k] if rows else a[j, i, k])
                d = abs(v - centre[k])
                dev = max(dev, d)
            dev_sum += dev
            if dev > tol:
                over += 1
        outliers[i] = over / n_px
        mad[i] = dev_sum / n_px
    return outliers, mad, mean


def _trim_side(flat: np.ndarray, colour: np.ndarray, lo: int, hi: int, from_start: bool, tol: int = COLOUR_TOL) -> int:
    """Index where the content starts, walking in from one side over flat lines of the border colour."""
    ref = colour[lo if from_start else hi - 1]
    idx = range(lo, hi) if from_start else range(hi - 1, lo - 1, -1)
    last = lo if from_start else hi
    for i in idx:
        if not flat[i] or np.abs(colour[i] - ref).max() > tol:
            return i if from_start else i + 1
        last = i + 1 if from_start else i
    return last


def border_box(pixels: np.ndarray, tol: int = COLOUR_TOL) -> Box:
    """The frame without uniform borders on any side (letterbox, pillarbox, padding); a border
    line's colour is within `tol` of the outermost line's."""
    a = _rgb(pixels)
    h, w = a.shape[:2]
    box = Box(0, 0, w, h)
    for _ in range(2):  # rows, columns, then once more: bars of both kinds
        sub = a[box.y0 : box.y1, box.x0 : box.x1]
        if sub.shape[0] < 2 or sub.shape[1] < 2:
            break
        flat, col = _line_stats(sub, axis=1)
        top = _trim_side(flat, col, 0, sub.shape[0], True, tol)
        bottom = _trim_side(flat, col, top, sub.shape[0], False, tol) if top < sub.shape[0] else top
        box = Box(box.x0, box.y0 + top, box.x1, box.y0 + max(top, bottom))
        sub = a[box.y0 : box.y1, box.x0 : box.x1]
        if sub.shape[0] < 2 or sub.shape[1] < 2:
            break
        flat, col = _line_stats(sub, axis=0)
        left = _trim_side(flat, col, 0, sub.shape[1], True, tol)
        right = _trim_side(flat, col, left, sub.shape[1], False, tol) if left < sub.shape[1] else left
        box = Box(box.x0 + left, box.y0, box.x0 + max(left, right), box.y1)
    return box


def _largest_segment(flat: np.ndarray, min_gap: int) -> tuple[int, int]:
    """The longest run of lines between separators (runs of >= min_gap flat lines)."""
    n = len(flat)
    segments = []
    start, i = 0, 0
    while i < n:
        if flat[i]:
            j = i
            while j < n and flat[j]:
                j += 1
            if j - i >= min_gap or i == 0 or j == n:
                if i > start:
                    segments.append((start, i))
                start = j
            i = j
        else:
            i += 1
    if start < n:
        segments.append((start, n))
    if not segments:
        return 0, n
    return max(segments, key=lambda s: s[1] - s[0])


def _separators(flat: np.ndarray, colour: np.ndarray) -> np.ndarray:
    """Flat lines of the page's background colour: the colour most flat lines share (an app's
    page, around its status bar, header, picture and caption). Flat lines of another colour
    are part of a picture (a clear sky, a plain wall) or a bar of chrome, not a separator."""
    if not flat.any():
        return flat
    bins = [tuple(c) for c in (colour[flat] // 16).tolist()]
    counts: dict[tuple[int, ...], int] = {}
    for b in bins:
        counts[b] = counts.get(b, 0) + 1
    mode = max(counts, key=lambda b: counts[b])
    ref = colour[flat][np.array([b == mode for b in bins])].mean(axis=0)
    out: np.ndarray = flat & (np.abs(colour - ref).max(axis=1) <= COLOUR_TOL)
    return out


def block_box(pixels: np.ndarray, within: Box | None = None) -> Box:
    """The largest block between separator lines of the background colour, rows then
    columns, then trimmed."""
    a = _rgb(pixels)
    h, w = a.shape[:2]
    box = within or Box(0, 0, w, h)
    sub = a[box.y0 : box.y1, box.x0 : box.x1]
    flat, col = _line_stats(sub, axis=1)
    y0, y1 = _largest_segment(_separators(flat, col), max(2, round(0.004 * sub.shape[0])))
    sub = sub[y0:y1]
    flat, col = _line_stats(sub, axis=0)
    x0, x1 = _largest_segment(_separators(flat, col), max(2, round(0.004 * sub.shape[1])))
    inner = border_box(sub[:, x0:x1])
    return Box(box.x0 + x0 + inner.x0, box.y0 + y0 + inner.y0, box.x0 + x0 + inner.x1, box.y0 + y0 + inner.y1)


def _worth_it(box: Box, frame: Box) -> bool:
    if box.width < MIN_BOX_SIDE or box.height < MIN_BOX_SIDE:
        return False
    if box.area() < MIN_BOX_FRACTION * frame.area():
        return False
    cut = max(
        (box.x0 - frame.x0) / frame.width,
        (frame.x1 - box.x1) / frame.width,
        (box.y0 - frame.y0) / frame.height,
        (frame.y1 - box.y1) / frame.height,
    )
    return cut >= MIN_TRIM


BOX_SIDE = 1024  # boxes are found on a copy at most this large, then scaled back


def content_boxes(pixels: np.ndarray) -> dict[str, Box]:
    """Regions that may hold the whole original: ``trim`` (without uniform borders) and
    ``block`` (the largest block between separators), each only when it differs from the
    frame (and from each other)."""
    full = _rgb(pixels)
    fh, fw = full.shape[:2]
    a = _reduced(full, BOX_SIDE) if full.shape[2] == 3 else full
    if a is not full:
        sx, sy = fw / a.shape[1], fh / a.shape[0]
        found = _content_boxes(a)
        return {
            k: Box(round(b.x0 * sx), round(b.y0 * sy), min(fw, round(b.x1 * sx)), min(fh, round(b.y1 * sy)))
            for k, b in found.items()
        }
    return _content_boxes(a)


def _content_boxes(a: np.ndarray) -> dict[str, Box]:
    h, w = a.shape[:2]
    frame = Box(0, 0, w, h)
    out: dict[str, Box] = {}
    if h < MIN_BOX_SIDE or w < MIN_BOX_SIDE:
        return out
    trim = border_box(a)
    if _worth_it(trim, frame):
        out["trim"] = trim
    base = trim if trim.area() > 0 else frame
    block = block_box(a, base)
    if _worth_it(block, base) and block != trim:
        out["block"] = block
    return out


def centre_crop(width: int, height: int, aspect_w: int, aspect_h: int) -> Box | None:
    """The centred crop of a width x height image to aspect_w:aspect_h, or None when the image
    already has that aspect (within ASPECT_TOLERANCE)."""
    target = aspect_w / aspect_h
    aspect = width / height
    if abs(aspect / target - 1) <= ASPECT_TOLERANCE:
        return None
    if aspect > target:  # too wide: cut the sides
        nw = round(height * target)
        x0 = (width - nw) // 2
        return Box(x0, 0, x0 + nw, height)
    nh = round(width / target)
    y0 = (height - nh) // 2
    return Box(0, y0, width, y0 + nh)


@dataclass(frozen=True)
class VariantHash:
    variant: str  # "" for the whole image
    value: str
    quality: int
    box: Box | None = None
    signal_type: str = "pdq"  # "vpdq": a video's derived vPDQ (value: its frames)


def bank_variants(pixels: np.ndarray, *, crops: bool = True, boxes: bool = True) -> list[VariantHash]:
    """The derived PDQ hashes of an original, stored beside its own hash at protect time.

    Low-quality variants (PDQ quality below 50) are left out: they would match too loosely.
    """
    a = _rgb(pixels)
    h, w = a.shape[:2]
    out: list[VariantHash] = []
    seen: set[str] = set()
    if boxes:
        for name, box in content_boxes(a).items():
            value, quality = hash_pixels(box.crop(a))
            if quality >= MIN_QUALITY and value not in seen:
                seen.add(value)
                out.append(VariantHash(name, value, quality, box))
    if crops:
        for name, (aw, ah) in BANK_CROPS.items():
            crop = centre_crop(w, h, aw, ah)
            if crop is None or crop.width < MIN_BOX_SIDE or crop.height < MIN_BOX_SIDE:
                continue
            value, quality = hash_pixels(crop.crop(a))
            if quality >= MIN_QUALITY and value not in seen:
                seen.add(value)
                out.append(VariantHash(name, value, quality, crop))
    return out


TE_VARIANT = "te"
# Modes python-threatexchange reads as unleak does (L, RGB(A) as they are; LA, I;16 converted
# to RGB by both): no other reading to store for them.
_SAME_READING = frozenset({"L", "RGB", "RGBA", "LA", "I;16"})


def te_variant(media: Media, value: str) -> VariantHash | None:
    """python-threatexchange's PDQ of the same file, when it differs from `value` (the hash of the
    picture read correctly): it hashes palette, CMYK and bilevel images' raw arrays, not their
    colours (36 bits off on Meta's palette PNG, 256 on its CMYK JPEG). Stored beside the item's
    own hash, it lets a platform that hashes with python-threatexchange or HMA match the same
    file. None for a video, a mode both read alike, or a hash of quality below 50."""
    if media.kind is not MediaKind.IMAGE or _image_mode(media) in _SAME_READING:
        return None
    try:
        te, quality = hash_te_compatible(media)
    except MediaError:  # a mode python-threatexchange reads no hash from (32-bit integer, float)
        return None
    if te == value or quality < MIN_QUALITY:
        return None
    return VariantHash(TE_VARIANT, te, quality)


def _image_mode(media: Media) -> str:
    """The image's mode from its header, without decoding it ("" when it cannot be read)."""
    import io

    from PIL import Image

    source = media.source
    try:
        with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as image:
            return str(image.mode)
    except Exception:  # noqa: BLE001 - not readable here: it was decoded before, so treat as plain
        return "RGB"


DIHEDRAL_SIDE = 2048  # reducing changes PDQ by up to ~20 bits: only very large images are reduced
ORIENTATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "rot90": lambda a: np.rot90(a, 1),
    "rot180": lambda a: np.rot90(a, 2),
    "rot270": lambda a: np.rot90(a, 3),
    "flipx": lambda a: a[:, ::-1],
    "flipy": lambda a: a[::-1],
    "transpose": lambda a: a.transpose(1, 0, 2),
    "antitranspose": lambda a: np.rot90(a, 2).transpose(1, 0, 2),
}


def _reduced(a: np.ndarray, side: int) -> np.ndarray:
    """Box-reduce so the long side is at most `side` (PDQ ends at 64x64 anyway)."""
    h, w = a.shape[:2]
    if max(h, w) <= side:
        return a
    import cv2

    s = side / max(h, w)
    return cv2.resize(a, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)


@dataclass
class QueryHashes:
    """The hashes of one candidate, by kind: ``full`` (1), ``dihedral`` (7), boxes (0-2)."""

    full: VariantHash
    dihedral: list[VariantHash]
    boxes: list[VariantHash]

    def all(self) -> list[tuple[str, VariantHash]]:
        return [("full", self.full)] + [("dihedral", v) for v in self.dihedral] + [("box", v) for v in self.boxes]


def query_hashes(pixels: np.ndarray, *, dihedral: bool = True, boxes: bool = True) -> QueryHashes:
    """Hash a candidate and, as asked, its 7 other orientations and its content boxes.

    Candidates are hashed with the numba PDQ (`pdq_fast.hash_luma`): the same hashes as pdqhash
    on full-resolution pixels (up to float ties), several times faster; what is protected and
    exported keeps pdqhash."""
    a = _rgb(pixels)
    if a.shape[2] == 1:
        a = np.repeat(a, 3, axis=2)
    a = np.ascontiguousarray(a)
    value, quality = hash_luma(a)
    full, others = VariantHash("", value, quality), []
    if dihedral:
        # Hashed from re-oriented pixels, not from the DCT (pdqhash's compute_dihedral): PDQ's
        # down-sampling is not mirror-symmetric, and on fine textures the DCT shortcut lands up
        # to 80 bits away from the hash of the flipped image. Large images are reduced first.
        small = _reduced(a, DIHEDRAL_SIDE)
        for name, fn in ORIENTATIONS.items():
            v, q = hash_luma(np.ascontiguousarray(fn(small)))
            others.append(VariantHash(name, v, q))
    found: list[VariantHash] = []
    if boxes:
        for name, box in content_boxes(a).items():
            value, q = hash_luma(box.crop(a))
            if q >= MIN_QUALITY:
                found.append(VariantHash(name, value, q, box))
    return QueryHashes(full, others, found)


VIDEO_VARIANTS = ("scaled", "mirrored", "letterbox", "letterbox mirrored", "screen", "screen mirrored")
# Bank side: vPDQ of centre crops of the original's frames, keeping this share of each side
# (crop:90 ~ 5 % cut from each border, crop:80 ~ 10 %). Reposts trimmed to remove a logo or a
# frame cut a fixed share; PDQ survives a few per cent of shift, so two crops cover 3-13 %.
VIDEO_BANK_CROPS = {"scaled": 1.0, "crop:90": 0.90, "crop:80": 0.80}
VIDEO_VIEW_SIDE = 64


def video_view(rgb: np.ndarray) -> np.ndarray:
    """A frame (or part of one) as the video variants hash it: area-reduced to 64x64 first. PDQ
    stretches every picture to 64x64 anyway, but with a short filter: a fine texture (brick,
    gravel) aliases differently at each size, and a copy shrunk to 75 % lands 40-60 bits away;
    reduced by area to the same size on both sides, it lands within 10."""
    import cv2

    side = VIDEO_VIEW_SIDE
    return cv2.resize(np.ascontiguousarray(rgb), (side, side), interpolation=cv2.INTER_AREA)


def centre_share(width: int, height: int, keep: float) -> Box:
    """The centred box keeping `keep` of each side."""
    nw, nh = round(width * keep), round(height * keep)
    x0, y0 = (width - nw) // 2, (height - nh) // 2
    return Box(x0, y0, x0 + nw, y0 + nh)


def video_bank_variants(path: str) -> list[VariantHash]:
    """The derived vPDQ of a protected video: its frames whole and their centre crops
    (VIDEO_BANK_CROPS), each reduced by `video_view` and hashed as a video of its own at the
    frames and times of plain vPDQ (which is left as it is, bit for bit Meta's); and the frames
    half-way between those, whole ("scaled:half")."""
    from unleak.signals.vpdq import frames_to_value, hash_video_views

    def views(rgb: np.ndarray) -> dict[str, np.ndarray]:
        h, w = rgb.shape[:2]
        return {name: video_view(centre_share(w, h, keep).crop(rgb)) for name, keep in VIDEO_BANK_CROPS.items()}

    found = hash_video_views(path, views)
    # A clip starting between two hashed frames meets the frames half-way between them.
    half = hash_video_views(path, lambda rgb: {"scaled:half": video_view(rgb)}, phase=0.5)
    out = []
    for name, frames in {**found, **half}.items():
        if frames:
            quality = int(np.median([f.quality for f in frames]))
            out.append(VariantHash(name, frames_to_value(frames), quality, signal_type="vpdq"))
    return out


def frame_content_box(rgb: np.ndarray) -> Box | None:
    """One video frame without its uniform borders (the frame itself when it has none), or None
    for a (nearly) uniform frame, a fade to black, which says nothing about where the bars are."""
    a = _rgb(rgb)
    fh, fw = a.shape[:2]
    small = _reduced(a, BOX_SIDE) if a.shape[2] == 3 else a
    b = border_box(small)
    if b.area() < MIN_BOX_FRACTION * small.shape[0] * small.shape[1]:
        return None
    sx, sy = fw / small.shape[1], fh / small.shape[0]
    return Box(round(b.x0 * sx), round(b.y0 * sy), min(fw, round(b.x1 * sx)), min(fh, round(b.y1 * sy)))


def video_content_box(boxes: list[Box], width: int, height: int) -> Box | None:
    """A video's picture without its bars: the smallest box holding every frame's content (bars
    are fixed for a whole video, while one frame's dark edge would look like a bar), or None when
    that is the whole frame."""
    if not boxes:
        return None
    union = Box(min(b.x0 for b in boxes), min(b.y0 for b in boxes), max(b.x1 for b in boxes), max(b.y1 for b in boxes))
    # Bars are centred: opposite cuts within 3 % of the side differ by the encoder's ringing at
    # the bar's edge (the wider cut is right); a cut on one side only is the picture's own dark
    # edge, not a bar (a player's off-centre frame is the screen-recording view's business).
    x0, x1 = _centred(union.x0, width - union.x1, width)
    y0, y1 = _centred(union.y0, height - union.y1, height)
    box = Box(x0, y0, width - x1, height - y1)
    return box if _worth_it(box, Box(0, 0, width, height)) else None


def _centred(a: int, b: int, side: int) -> tuple[int, int]:
    cut = max(a, b) if abs(a - b) <= 0.03 * side else min(a, b)
    return cut, cut


MOTION_SIDE = 256  # the moving part is found on frames reduced to this long side
MOTION_LEVEL = 6  # grey levels a pixel must change by, between hashed frames, to count as moving
MOTION_SHARE = 0.02  # a row or column moves when this share of its pixels does
MOTION_GAP = 0.015  # still rows or columns this thin (share of the side) inside the moving part are kept


def motion_frame(rgb: np.ndarray) -> np.ndarray:
    """A hashed frame reduced for `motion_box` (grey, long side MOTION_SIDE)."""
    a = _reduced(_rgb(rgb), MOTION_SIDE)
    return a.mean(axis=2).astype(np.float32) if a.ndim == 3 else a.astype(np.float32)


def _run(active: np.ndarray, gap: int) -> tuple[int, int]:
    """The longest run of True in a 1-D mask, bridging gaps of up to `gap` False, as (start, end
    exclusive); (0, 0) when none."""
    on = np.flatnonzero(active)
    if not len(on):
        return (0, 0)
    breaks = np.flatnonzero(np.diff(on) > gap + 1)
    starts = np.concatenate([[0], breaks + 1])
    ends = np.concatenate([breaks, [len(on) - 1]])
    k = int(np.argmax(on[ends] - on[starts]))
    return int(on[starts[k]]), int(on[ends[k]]) + 1


def motion_box(frames: list[np.ndarray], width: int, height: int) -> Box | None:
    """The part of a video that moves, in a width x height frame: in a screen recording, the
    played video inside the player's still chrome (title bar, controls, page around it), which
    no border trimming removes. From the frames reduced by `motion_frame`: the longest band of
    rows and of columns where something moves (a progress bar or a time counter is a separate,
    thinner band). None when the whole frame moves, nothing does (a still video), or the part
    is too small to hash."""
    if len(frames) < 2:
        return None
    stack = np.stack(frames)
    moving = (stack.max(axis=0) - stack.min(axis=0)) > MOTION_LEVEL
    mh, mw = moving.shape
    y0, y1 = _run(moving.mean(axis=1) > MOTION_SHARE, round(MOTION_GAP * mh))
    x0, x1 = _run(moving[y0:y1].mean(axis=0) > MOTION_SHARE, round(MOTION_GAP * mw))
    if y1 <= y0 or x1 <= x0:
        return None
    sx, sy = width / mw, height / mh
    box = Box(round(x0 * sx), round(y0 * sy), min(width, round(x1 * sx)), min(height, round(y1 * sy)))
    return box if _worth_it(box, Box(0, 0, width, height)) else None
