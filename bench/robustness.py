"""How well unleak finds altered copies, and how often it matches unrelated images.

Builds a corpus from benign sample photos shipped inside PyPI packages (scikit-image,
scikit-learn, matplotlib, PyWavelets, and mahotas / imgaug when installed), applies each
of the transforms defined below to every original, and makes at least 5,000 distractors from crops and
patches of the sample images. Then, for

- plain PDQ (one hash against one hash, threshold calibrated to the target rate),
- hash-only (8 orientations, border/letterbox/screen trimming, bank-side crops),
- owner-side (hash-only plus verification against the originals),

it prints the recall of each transform at the default thresholds and the false-match rate
measured on the distractors (pairs of a distractor with an original of another source).

    python bench/robustness.py            # full run (a few minutes on 2 cores)
    python bench/robustness.py --quick    # a smaller corpus, for development
    python bench/robustness.py --videos-only   # only the video section (bench/video_variants.py)

The transforms are generic (the same parameters for every image) and never tuned to one image.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont, ImageOps

# --- corpus ------------------------------------------------------------------------------------

# Photographs used as originals (at least 256 px on the short side). Graphics, documents and
# tiny images are used only as sources of distractors.
ORIGINALS = [
    "brick.png",
    "cell.png",
    "chelsea.png",
    "coffee.png",
    "coins.png",
    "grass.png",
    "gravel.png",
    "hubble_deep_field.jpg",
    "ihc.png",
    "moon.png",
    "motorcycle_left.png",
    "retina.jpg",
    "rocket.jpg",
    "clock_motion.png",
    "china.jpg",
    "flower.jpg",
    "nuclear.png",
    "quokka.jpg",
    "aero",
    "ascent",
    "DepartmentStore.jpg",
]
# Sources showing the same scene: never counted as unrelated to each other.
SAME_SCENE = {"motorcycle_right.png": "motorcycle_left.png"}
NEVER = {
    "astronaut.png",
    "camera.png",
    "grace_hopper.jpg",
    "lfw_subset.npy",
    "camera",
    "lena.jpg",
    "luispedro.jpg",
    "no_time_for_that_tiny.gif",
}  # real people


@dataclass
class Source:
    name: str
    group: str
    pixels: np.ndarray  # H x W x 3 uint8


def _rgb(image: Image.Image) -> np.ndarray:
    if image.mode in ("RGBA", "LA", "P"):
        image = image.convert("RGBA")
        bg = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(bg, image)
    return np.asarray(image.convert("RGB"))


def _package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def load_sources() -> list[Source]:
    """Every benign sample image found on this machine, as RGB arrays."""
    from unleak.samples import sample_images

    paths: list[Path] = list(sample_images())
    mahotas = _package_dir("mahotas")
    if mahotas:
        paths += [mahotas / "demos" / "data" / n for n in ("DepartmentStore.jpg", "nuclear.png")]
    imgaug = _package_dir("imgaug")  # located, never imported
    if imgaug:
        paths.append(imgaug / "quokka.jpg")
    sources = []
    for p in paths:
        if p.is_file() and p.name not in NEVER:
            with Image.open(p) as im:
                sources.append(Source(p.name, SAME_SCENE.get(p.name, p.name), _rgb(im)))
    pywt = _package_dir("pywt")
    if pywt:
        for n in ("aero", "ascent"):
            f = pywt / "data" / f"{n}.npz"
            if f.is_file():
                with np.load(f, allow_pickle=False) as z:
                    a = np.clip(z[list(z.keys())[0]], 0, 255).astype(np.uint8)
                sources.append(Source(n, n, np.repeat(a[..., None], 3, axis=2)))
    return sources


# --- transforms --------------------------------------------------------------------------------


def _pil(a: np.ndarray) -> Image.Image:
    return Image.fromarray(a)


def _arr(im: Image.Image) -> np.ndarray:
    return np.asarray(im.convert("RGB"))


def jpeg(a: np.ndarray, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    _pil(a).save(buf, "JPEG", quality=quality)
    buf.seek(0)
    return _arr(Image.open(buf))


def resize(a: np.ndarray, f: float) -> np.ndarray:
    h, w = a.shape[:2]
    return _arr(_pil(a).resize((max(1, round(w * f)), max(1, round(h * f))), Image.Resampling.BILINEAR))


def crop_each_border(a: np.ndarray, f: float) -> np.ndarray:
    h, w = a.shape[:2]
    return a[round(h * f) : h - round(h * f), round(w * f) : w - round(w * f)].copy()


def centre_crop_area(a: np.ndarray, area: float) -> np.ndarray:
    return crop_each_border(a, (1 - math.sqrt(area)) / 2)


def rotate(a: np.ndarray, deg: float) -> np.ndarray:
    return _arr(_pil(a).rotate(deg, resample=Image.Resampling.BILINEAR, expand=False, fillcolor=(0, 0, 0)))


def letterbox(a: np.ndarray, aspect_w: int, aspect_h: int, colour=(0, 0, 0)) -> np.ndarray:
    """Fit the whole image into a frame of the given aspect (bars where it does not fill)."""
    h, w = a.shape[:2]
    long_side = 1280
    if aspect_w >= aspect_h:
        fw, fh = long_side, round(long_side * aspect_h / aspect_w)
    else:
        fw, fh = round(long_side * aspect_w / aspect_h), long_side
    s = min(fw / w, fh / h)
    im = _pil(a).resize((max(1, round(w * s)), max(1, round(h * s))), Image.Resampling.BILINEAR)
    frame = Image.new("RGB", (fw, fh), colour)
    frame.paste(im, ((fw - im.width) // 2, (fh - im.height) // 2))
    return _arr(frame)


def pad(a: np.ndarray, f: float, colour=(255, 255, 255)) -> np.ndarray:
    h, w = a.shape[:2]
    m = round(max(h, w) * f)
    return _arr(ImageOps.expand(_pil(a), border=m, fill=colour))


def _font(size: int) -> ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def overlay(a: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A reposter's handle on a dark band across the bottom, and a logo badge in a corner."""
    im = _pil(a).convert("RGBA")
    w, h = im.size
    layer = Image.new("RGBA", im.size, (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    band = max(12, round(h * 0.12))
    d.rectangle([0, h - band, w, h], fill=(0, 0, 0, 170))
    handle = "@" + "".join(rng.choice(list("abcdefghijklmnopqrstuvwxyz_0123456789"), 10))
    d.text(
        (round(w * 0.04), h - band + band * 0.18),
        handle + "  follow for more",
        font=_font(round(band * 0.6)),
        fill=(255, 255, 255, 255),
    )
    r = max(10, round(min(w, h) * 0.09))
    x0, y0 = w - 2 * r - round(w * 0.03), round(h * 0.03)
    d.ellipse([x0, y0, x0 + 2 * r, y0 + 2 * r], fill=(230, 40, 90, 220))
    d.text((x0 + r * 0.45, y0 + r * 0.55), "TV", font=_font(round(r * 0.9)), fill=(255, 255, 255, 255))
    return _arr(Image.alpha_composite(im, layer))


def screenshot(a: np.ndarray, rng: np.random.Generator, dark: bool) -> np.ndarray:
    """The image as shown in a social app on a phone: status bar, app header, the image scaled to
    the screen's width, action icons and a caption below; saved as a PNG screenshot would be."""
    sw, sh = 720, 1560
    bg, fg = ((0, 0, 0), (250, 250, 250)) if dark else ((255, 255, 255), (20, 20, 20))
    frame = Image.new("RGB", (sw, sh), bg)
    d = ImageDraw.Draw(frame)
    # status bar: time, signal, battery
    d.text((28, 12), "9:41", font=_font(26), fill=fg)
    for i in range(4):
        d.rectangle([560 + i * 12, 36 - i * 6, 568 + i * 12, 40], fill=fg)
    d.rectangle([620, 16, 680, 40], outline=fg, width=3)
    d.rectangle([624, 20, 664, 36], fill=fg)
    # app header: avatar and user name
    d.ellipse([24, 80, 84, 140], fill=(200, 120, 60))
    d.text((100, 94), "".join(rng.choice(list("abcdefghijklmnopqrstuvwxyz"), 9)), font=_font(28), fill=fg)
    d.text((660, 90), "...", font=_font(30), fill=fg)
    # the image, full width
    h, w = a.shape[:2]
    s = sw / w
    ih = round(h * s)
    top = 160
    if top + ih > sh - 200:  # tall images are scaled to fit the space instead
        s = (sh - 200 - top) / h
        ih = round(h * s)
    im = _pil(a).resize((round(w * s), ih), Image.Resampling.BILINEAR)
    frame.paste(im, ((sw - im.width) // 2, top))
    y = top + ih + 20
    for i in range(3):  # like / comment / share icons
        d.ellipse([24 + i * 70, y, 74 + i * 70, y + 50], outline=fg, width=4)
    d.text((24, y + 70), "1,024 likes", font=_font(26), fill=fg)
    d.text((24, y + 110), "caption text goes here #tag", font=_font(24), fill=fg)
    return _arr(frame)


def brightness_contrast(a: np.ndarray) -> np.ndarray:
    im = ImageEnhance.Brightness(_pil(a)).enhance(1.25)
    return _arr(ImageEnhance.Contrast(im).enhance(1.3))


def greyscale(a: np.ndarray) -> np.ndarray:
    return _arr(_pil(a).convert("L"))


def blur(a: np.ndarray) -> np.ndarray:
    return _arr(_pil(a).filter(ImageFilter.GaussianBlur(radius=2)))


def noise(a: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return np.clip(a.astype(np.float32) + rng.normal(0, 10, a.shape), 0, 255).astype(np.uint8)


def chain(a: np.ndarray) -> np.ndarray:
    return resize(jpeg(crop_each_border(a, 0.10), 50), 0.5)


TRANSFORMS = {
    "jpeg_90": lambda a, r, i: jpeg(a, 90),
    "jpeg_70": lambda a, r, i: jpeg(a, 70),
    "jpeg_50": lambda a, r, i: jpeg(a, 50),
    "jpeg_30": lambda a, r, i: jpeg(a, 30),
    "resize_50": lambda a, r, i: resize(a, 0.5),
    "resize_25": lambda a, r, i: resize(a, 0.25),
    "crop_10": lambda a, r, i: crop_each_border(a, 0.10),
    "crop_25": lambda a, r, i: crop_each_border(a, 0.25),
    "centre_crop_50": lambda a, r, i: centre_crop_area(a, 0.5),
    "flip": lambda a, r, i: a[:, ::-1].copy(),
    "rotate_90": lambda a, r, i: np.ascontiguousarray(np.rot90(a)),
    "rotate_5": lambda a, r, i: rotate(a, 5),
    "overlay": lambda a, r, i: overlay(a, r),
    "screenshot": lambda a, r, i: screenshot(a, r, dark=bool(i % 2)),
    "letterbox_9x16": lambda a, r, i: letterbox(a, 9, 16),
    "letterbox_16x9": lambda a, r, i: letterbox(a, 16, 9),
    "pad_white": lambda a, r, i: pad(a, 0.10),
    "brightness_contrast": lambda a, r, i: brightness_contrast(a),
    "greyscale": lambda a, r, i: greyscale(a),
    "blur": lambda a, r, i: blur(a),
    "noise": lambda a, r, i: noise(a, r),
    "chain": lambda a, r, i: chain(a),
}


def make_distractor(src: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A crop or patch of a source image, with a random generic alteration."""
    h, w = src.shape[:2]
    area = rng.uniform(0.08, 0.9)
    aspect = math.exp(rng.uniform(math.log(0.5), math.log(2.0)))
    ch = min(h, max(16, round(math.sqrt(area * h * w / aspect))))
    cw = min(w, max(16, round(ch * aspect)))
    y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
    a = src[y : y + ch, x : x + cw]
    kind = rng.integers(0, 6)
    if kind == 1:
        a = a[:, ::-1]
    elif kind == 2:
        a = np.rot90(a, int(rng.integers(1, 4)))
    elif kind == 3:
        a = jpeg(np.ascontiguousarray(a), int(rng.integers(30, 90)))
    elif kind == 4:
        a = greyscale(np.ascontiguousarray(a))
    elif kind == 5:  # a patchwork of two crops side by side
        b = src[rng.integers(0, h // 2) :, rng.integers(0, w // 2) :]
        b = resize(np.ascontiguousarray(b), a.shape[0] / b.shape[0])
        a = np.concatenate([a, b[: a.shape[0]]], axis=1)
    a = np.ascontiguousarray(a)
    long_side = max(a.shape[:2])
    target = rng.uniform(160, 720)
    if long_side > 0:
        a = resize(a, target / long_side)
    return a


# --- the run -----------------------------------------------------------------------------------

MODES = ("plain PDQ", "hash-only", "owner-side")


def _png(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    _pil(np.ascontiguousarray(a)).save(buf, "PNG", compress_level=1)
    return buf.getvalue()


def _matchers(home: str):
    os.environ["UNLEAK_HOME"] = home
    from unleak.bank import Bank
    from unleak.match import Matcher
    from unleak.store import open_store

    bank = Bank(open_store(), "bench")
    return {
        "plain PDQ": Matcher(bank, dihedral=False, variants=False, verify="off"),
        "hash-only": Matcher(bank, verify="off"),
        "owner-side": Matcher(bank, verify="on"),
    }


def _work(args):
    """Match a batch of (tag, png bytes) in a worker; returns (tag, mode, matched bank ids, rates)."""
    home, batch = args
    from unleak.signals import Media

    matchers = _matchers(home)
    out = []
    for tag, data in batch:
        for mode, m in matchers.items():
            r = m.match_media(Media(data=data, name=tag))
            out.append((tag, mode, [(x.bank_id, x.false_match_rate or 0.0) for x in r.matches]))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="every third original and 600 distractors (a few minutes)")
    ap.add_argument("--distractors", type=int, default=None, help="number of distractors (default 5000, quick 600)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=4)
    ap.add_argument(
        "--videos",
        type=int,
        default=16,
        help="protected videos in the video section (bench/video_variants.py; 0: none)",
    )
    ap.add_argument("--videos-only", action="store_true", help="only the video section")
    args = ap.parse_args(argv)
    if args.videos_only:
        return _video_section(args.videos)
    import tempfile
    from concurrent.futures import ProcessPoolExecutor

    from unleak.signals.pdq import MIN_QUALITY, hash_pixels

    t0 = time.time()
    rng = np.random.default_rng(args.seed)
    sources = load_sources()
    originals = [
        s
        for s in sources
        if s.name in ORIGINALS and min(s.pixels.shape[:2]) >= 256 and hash_pixels(s.pixels)[1] >= MIN_QUALITY
    ]
    if args.quick:
        originals = originals[::3]
    n_distractors = args.distractors or (600 if args.quick else 5000)
    home = tempfile.mkdtemp(prefix="unleak-bench-")
    os.environ["UNLEAK_HOME"] = home
    from unleak.bank import Bank
    from unleak.store import open_store

    odir = Path(home) / "originals"
    odir.mkdir()
    bank = Bank(open_store(), "bench")
    group_of_item: dict[int, str] = {}
    item_of_name: dict[str, int] = {}
    tp = time.time()
    for s in originals:
        path = odir / (Path(s.name).stem + ".png")
        _pil(s.pixels).save(path)
        r = bank.protect_one(path, label=s.name, variants=True)
        group_of_item[r.bank_id] = s.group
        item_of_name[s.name] = r.bank_id
    protect_s = (time.time() - tp) / len(originals)
    n_variant_hashes = len(bank.active_signals("pdq", with_variants=True)) - len(bank.active_signals("pdq"))

    jobs: list[tuple[str, bytes]] = []
    truth: dict[str, tuple[str, int | None, str]] = {}  # tag -> (transform or "distractor", item, group)
    for i, s in enumerate(originals):
        for name, fn in TRANSFORMS.items():
            tag = f"{name}/{s.name}"
            jobs.append((tag, _png(fn(s.pixels, np.random.default_rng([args.seed, i, len(tag)]), i))))
            truth[tag] = (name, item_of_name[s.name], s.group)
    for j in range(n_distractors):
        s = sources[int(rng.integers(len(sources)))]
        tag = f"distractor/{j}/{s.name}"
        jobs.append((tag, _png(make_distractor(s.pixels, rng))))
        truth[tag] = ("distractor", None, s.group)
    batches = [jobs[k :: args.workers * 4] for k in range(args.workers * 4)]
    results = []
    tm = time.time()
    with ProcessPoolExecutor(max_workers=args.workers) as ex:
        for part in ex.map(_work, [(home, b) for b in batches]):
            results += part
    match_s = time.time() - tm

    hits = {(tag, mode): ids for tag, mode, ids in results}
    table: dict[str, dict[str, float]] = {}
    false = {m: 0 for m in MODES}
    pairs = 0
    worst_rate = {m: 0.0 for m in MODES}
    for tag, (kind, item, group) in truth.items():
        unrelated = [i for i, g in group_of_item.items() if g != group]
        if kind == "distractor":
            pairs += len(unrelated)
        for mode in MODES:
            found = hits[(tag, mode)]
            for bank_id, rate in found:
                if bank_id in unrelated:
                    false[mode] += 1
                worst_rate[mode] = max(worst_rate[mode], rate)
            if kind != "distractor":
                table.setdefault(kind, {}).setdefault(mode, 0.0)
                table[kind][mode] += any(b == item for b, _ in found) / len(originals)
    positive_pairs = sum(
        len([i for i, g in group_of_item.items() if g != truth[t][2]]) for t in truth if truth[t][0] != "distractor"
    )

    print(
        f"# Robustness: {len(originals)} originals x {len(TRANSFORMS)} transforms, "
        f"{n_distractors} distractors ({pairs:,} distractor-original pairs)\n"
    )
    print("| transform | " + " | ".join(MODES) + " |")
    print("|---|" + "---:|" * len(MODES))
    for kind, row in table.items():
        print(f"| {kind} | " + " | ".join(f"{row.get(m, 0):.2f}" for m in MODES) + " |")
    print(
        "| **false matches** (distractor and cross pairs) | "
        + " | ".join(f"{false[m]} / {pairs + positive_pairs:,}" for m in MODES)
        + " |"
    )
    print(
        "| measured false-match rate per pair | "
        + " | ".join(f"{false[m] / (pairs + positive_pairs):.1e}" for m in MODES)
        + " |"
    )
    print()
    from unleak.match.calibration import REFERENCE_MODEL

    matcher = _matchers(home)["hash-only"]
    cal = matcher.calibration(7, 2, 0, 4)
    print(
        f"Null model: {REFERENCE_MODEL}. Hash-only thresholds for a candidate with 2 content boxes against "
        f"an item with 4 crops: {cal.thresholds}, rate bound {cal.rate():.2g} per pair."
    )
    print(
        f"Protect with variants: {protect_s * 1000:.0f} ms per original, "
        f"{n_variant_hashes / len(originals):.1f} extra PDQ hashes each. "
        f"Matching: {match_s / len(jobs) * 1000:.0f} ms per candidate for the three modes "
        f"({args.workers} workers). Total {time.time() - t0:.0f} s."
    )
    return _video_section(args.videos) if args.videos else 0


def _video_section(n_protected: int) -> int:
    """Videos: flipped, letterboxed, cropped, screen-recorded, re-encoded and clipped copies (the
    table of bench/video_variants.py, with its corpus of generated clips)."""
    sys.path.insert(0, str(Path(__file__).parent))
    import video_variants

    print("\n## Videos\n")
    video_variants.run(n_protected, 6, 6)
    return 0


if __name__ == "__main__":
    sys.exit(main())
