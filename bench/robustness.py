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


def phone_shot(
    a: np.ndarray,
    rng: np.random.Generator,
    *,
    dark: bool = False,
    header: bool = True,
    caption: str = "below",
    rounded: int = 0,
    margin: int = 0,
    chrome: bool = False,
) -> np.ndarray:
    """A phone screenshot of the image in an app or a browser: a status bar; an app header or a
    browser's toolbar (`chrome`: a grey bar with an address field); a caption above or below
    (`caption`: "above", "below", "both" or ""); the image full width or inside a card
    (`margin`), with rounded corners (`rounded`: radius in px); light or dark."""
    sw, sh = 720, 1560
    bg, fg = ((0, 0, 0), (250, 250, 250)) if dark else ((255, 255, 255), (20, 20, 20))
    frame = Image.new("RGB", (sw, sh), bg)
    d = ImageDraw.Draw(frame)
    d.text((28, 12), "9:41", font=_font(26), fill=fg)  # status bar: time, signal, battery
    for i in range(4):
        d.rectangle([560 + i * 12, 36 - i * 6, 568 + i * 12, 40], fill=fg)
    d.rectangle([620, 16, 680, 40], outline=fg, width=3)
    d.rectangle([624, 20, 664, 36], fill=fg)
    y = 60
    word = "".join(rng.choice(list("abcdefghijklmnopqrstuvwxyz"), 9))
    if chrome:  # a browser's toolbar: a tinted bar, an address field, tab and menu buttons
        bar = (53, 54, 58) if dark else (241, 243, 244)
        d.rectangle([0, y, sw, y + 96], fill=bar)
        d.rounded_rectangle([20, y + 18, 600, y + 78], radius=30, fill=(32, 33, 36) if dark else (255, 255, 255))
        d.text((60, y + 34), f"{word}.example.com/p/{rng.integers(10**5)}", font=_font(24), fill=fg)
        d.rectangle([630, y + 30, 664, y + 64], outline=fg, width=3)
        y += 112
    elif header:  # an app header: avatar and user name
        d.ellipse([24, y + 20, 84, y + 80], fill=(200, 120, 60))
        d.text((100, y + 34), word, font=_font(28), fill=fg)
        d.text((660, y + 30), "...", font=_font(30), fill=fg)
        y += 100
    if caption in ("above", "both"):
        for line in ("a long caption above the picture, as", "threads and forums show it #tag"):
            d.text((24 + margin, y), line, font=_font(24), fill=fg)
            y += 34
        y += 16
    h, w = a.shape[:2]
    room_w = sw - 2 * margin
    s = room_w / w
    if y + h * s > sh - 260:  # tall images are scaled to fit the space instead
        s = (sh - 260 - y) / h
    im = _pil(a).resize((max(1, round(w * s)), max(1, round(h * s))), Image.Resampling.BILINEAR)
    x0 = (sw - im.width) // 2
    if rounded:
        mask = Image.new("L", im.size, 0)
        ImageDraw.Draw(mask).rounded_rectangle([0, 0, im.width - 1, im.height - 1], radius=rounded, fill=255)
        frame.paste(im, (x0, y), mask)
    else:
        frame.paste(im, (x0, y))
    y += im.height + 20
    for i in range(3):  # like / comment / share icons
        d.ellipse([24 + i * 70, y, 74 + i * 70, y + 50], outline=fg, width=4)
    y += 70
    d.text((24, y), "1,024 likes", font=_font(26), fill=fg)
    if caption in ("below", "both"):
        d.text((24, y + 40), "caption text goes here #tag", font=_font(24), fill=fg)
    d.rounded_rectangle([sw // 2 - 90, sh - 24, sw // 2 + 90, sh - 16], radius=4, fill=fg)  # home indicator
    return _arr(frame)


SCREENSHOTS = {
    "shot_status_only": dict(header=False, caption=""),
    "shot_app_light": dict(dark=False),
    "shot_app_dark": dict(dark=True),
    "shot_browser": dict(chrome=True, caption=""),
    "shot_browser_dark": dict(chrome=True, dark=True, caption="above"),
    "shot_caption_above": dict(header=False, caption="above"),
    "shot_caption_both": dict(caption="both"),
    "shot_rounded_card": dict(rounded=36, margin=24),
    "shot_rounded_dark": dict(rounded=36, margin=24, dark=True),
}


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


def hue_shift(a: np.ndarray, degrees: float = 40) -> np.ndarray:
    hsv = np.asarray(_pil(a).convert("HSV")).copy()
    hsv[..., 0] = (hsv[..., 0].astype(np.int32) + round(degrees * 256 / 360)) % 256
    return _arr(Image.fromarray(hsv, "HSV"))


def sepia(a: np.ndarray) -> np.ndarray:
    m = np.array([[0.393, 0.769, 0.189], [0.349, 0.686, 0.168], [0.272, 0.534, 0.131]], np.float32)
    return np.clip(a[..., :3].astype(np.float32) @ m.T, 0, 255).astype(np.uint8)


def saturation(a: np.ndarray, f: float = 1.8) -> np.ndarray:
    return _arr(ImageEnhance.Color(_pil(a)).enhance(f))


def app_filter(a: np.ndarray) -> np.ndarray:
    """An "app filter": a faded S-curve, a warm tint, a little less saturation, a vignette."""
    x = a.astype(np.float32) / 255
    x = 0.06 + 0.88 * (x + 0.35 * x * (1 - x) * (2 * x - 1) * -1)  # S-curve, lifted blacks
    x = x * np.array([1.06, 1.0, 0.9], np.float32)
    grey = x.mean(axis=2, keepdims=True)
    x = grey + 0.8 * (x - grey)
    h, w = a.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r2 = ((xx - w / 2) / (w / 2)) ** 2 + ((yy - h / 2) / (h / 2)) ** 2
    x = x * (1 - 0.35 * np.clip(r2 / 2, 0, 1))[..., None]
    return np.clip(x * 255, 0, 255).astype(np.uint8)


def stretch(a: np.ndarray, fx: float = 1.3) -> np.ndarray:
    h, w = a.shape[:2]
    return _arr(_pil(a).resize((round(w * fx), h), Image.Resampling.BILINEAR))


def perspective(a: np.ndarray, k: float = 0.06) -> np.ndarray:
    """As photographed off-axis: the top edge narrowed by `k` of the width on each side."""
    h, w = a.shape[:2]
    dst = [(0, 0), (w, 0), (w, h), (0, h)]
    src = [(-k * w, 0), (w + k * w, 0), (w, h), (0, h)]  # where each output corner samples
    coeffs = _perspective_coeffs(dst, src)
    return _arr(_pil(a).transform((w, h), Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BILINEAR))


def _perspective_coeffs(dst: list[tuple[float, float]], src: list[tuple[float, float]]) -> list[float]:
    rows = []
    for (x, y), (u, v) in zip(dst, src):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    sol = np.linalg.solve(np.array(rows, float), np.array([c for p in src for c in p], float))
    return [float(c) for c in sol]


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
    "mirror_crop_10": lambda a, r, i: crop_each_border(a[:, ::-1], 0.10),
    "flip": lambda a, r, i: a[:, ::-1].copy(),
    "rotate_90": lambda a, r, i: np.ascontiguousarray(np.rot90(a)),
    "rotate_5": lambda a, r, i: rotate(a, 5),
    "perspective": lambda a, r, i: perspective(a),
    "stretch_130": lambda a, r, i: stretch(a),
    "overlay": lambda a, r, i: overlay(a, r),
    "screenshot": lambda a, r, i: screenshot(a, r, dark=bool(i % 2)),
    "letterbox_9x16": lambda a, r, i: letterbox(a, 9, 16),
    "letterbox_16x9": lambda a, r, i: letterbox(a, 16, 9),
    "pad_white": lambda a, r, i: pad(a, 0.10),
    "brightness_contrast": lambda a, r, i: brightness_contrast(a),
    "greyscale": lambda a, r, i: greyscale(a),
    "hue_shift_40": lambda a, r, i: hue_shift(a),
    "sepia": lambda a, r, i: sepia(a),
    "saturation_180": lambda a, r, i: saturation(a),
    "app_filter": lambda a, r, i: app_filter(a),
    "blur": lambda a, r, i: blur(a),
    "noise": lambda a, r, i: noise(a, r),
    "chain": lambda a, r, i: chain(a),
}
for _name, _kw in SCREENSHOTS.items():
    TRANSFORMS[_name] = lambda a, r, i, kw=_kw: phone_shot(a, r, **kw)


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
# Package photos defocused: smooth photos that are not generated.
SOFT_FOCUS = ["coffee.png", "chelsea.png", "rocket.jpg", "china.jpg", "flower.jpg", "motorcycle_left.png"]


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


_STATE: dict[str, object] = {}


def _image(job: tuple, home: str, seed: int) -> np.ndarray:
    """Rebuild a job's image in the worker (generation is spread over the workers)."""
    kind = job[0]
    if kind == "copy":  # ("copy", original path, original index, transform)
        _, path, i, name = job
        with Image.open(path) as im:
            a = _rgb(im)
        tag = f"{name}/{Path(path).name}"
        return TRANSFORMS[name](a, np.random.default_rng([seed, i, len(tag)]), i)
    rng = np.random.default_rng([seed, 77, job[1]])
    if kind == "smooth":  # ("smooth", j, family): a generated picture, then cropped/altered
        from smooth import smooth_picture

        return make_distractor(smooth_picture(job[2], [seed, 9, job[1]]), rng)
    if "sources" not in _STATE:
        _STATE["sources"] = load_sources()
    sources = _STATE["sources"]
    assert isinstance(sources, list)
    return make_distractor(sources[job[2]].pixels, rng)


def _work(args):
    """Match a batch of (tag, job) in a worker; returns (tag, mode, [(bank id, rate)], [inconclusive ids])."""
    home, seed, batch, modes = args
    from unleak.signals import Media

    matchers = {m: x for m, x in _matchers(home).items() if m in modes}
    out = []
    for tag, job in batch:
        data = _png(_image(job, home, seed))
        for mode, m in matchers.items():
            r = m.match_media(Media(data=data, name=tag))
            out.append((tag, mode, [(x.bank_id, x.false_match_rate or 0.0) for x in r.matches], list(r.inconclusive)))
    return out


def _originals(sources: list[Source], args) -> list[tuple[Source, bool]]:
    """(original, smooth?) for the run: package photos, defocused ones, generated smooth pictures."""
    from smooth import FAMILIES, smooth_picture, soft_focus
    from unleak.signals.pdq import MIN_QUALITY, hash_pixels

    photos = [
        s
        for s in sources
        if s.name in ORIGINALS and min(s.pixels.shape[:2]) >= 256 and hash_pixels(s.pixels)[1] >= MIN_QUALITY
    ]
    photos = photos[:: max(1, math.ceil(len(photos) / args.photos))] if args.photos else []
    out = [(s, False) for s in photos]
    by_name = {s.name: s for s in sources}
    for n in SOFT_FOCUS[: args.soft_focus]:
        if n in by_name:
            src = by_name[n]
            out.append((Source(f"softfocus-{n}", src.group, soft_focus(src.pixels)), True))
    for i in range(args.smooth):
        fam = FAMILIES[i % len(FAMILIES)]
        out.append((Source(f"{fam}-{i}", f"gen-{i}", smooth_picture(fam, [args.seed, 1000 + i])), True))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="7 photos, 12 smooth originals, 600 distractors")
    ap.add_argument("--photos", type=int, default=None, help="package photos as originals (default all, quick 7)")
    ap.add_argument("--soft-focus", type=int, default=None, help="defocused package photos (default 6, quick 2)")
    ap.add_argument("--smooth", type=int, default=None, help="generated smooth originals (default 24, quick 10)")
    ap.add_argument("--distractors", type=int, default=None, help="unrelated images (default 5000, quick 600)")
    ap.add_argument(
        "--smooth-distractors", type=int, default=None, help="of which generated smooth (default 2000, quick 240)"
    )
    ap.add_argument("--transforms", default="", help="comma-separated subset of the transforms")
    ap.add_argument("--modes", default=",".join(MODES), help="comma-separated subset of: " + ", ".join(MODES))
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
    q = args.quick
    args.photos = args.photos if args.photos is not None else (7 if q else 100)
    args.soft_focus = args.soft_focus if args.soft_focus is not None else (2 if q else 6)
    args.smooth = args.smooth if args.smooth is not None else (10 if q else 24)
    n_distractors = args.distractors if args.distractors is not None else (600 if q else 5000)
    n_smooth_d = min(
        n_distractors, args.smooth_distractors if args.smooth_distractors is not None else (240 if q else 2000)
    )
    transforms = [t for t in args.transforms.split(",") if t] or list(TRANSFORMS)
    modes = [m for m in MODES if m in args.modes.split(",")]
    import tempfile
    from concurrent.futures import ProcessPoolExecutor

    from smooth import FAMILIES

    t0 = time.time()
    rng = np.random.default_rng(args.seed)
    sources = load_sources()
    originals = _originals(sources, args)
    home = tempfile.mkdtemp(prefix="unleak-bench-")
    os.environ["UNLEAK_HOME"] = home
    from unleak.bank import Bank
    from unleak.store import open_store

    odir = Path(home) / "originals"
    odir.mkdir()
    bank = Bank(open_store(), "bench")
    group_of_item: dict[int, str] = {}
    tp = time.time()
    jobs: list[tuple[str, tuple]] = []
    truth: dict[str, tuple[str, int | None, str, bool]] = {}  # tag -> (transform, item, group, smooth)
    for i, (s, is_smooth) in enumerate(originals):
        path = odir / (Path(s.name).stem + ".png")
        _pil(s.pixels).save(path)
        r = bank.protect_one(path, label=s.name, variants=True)
        group_of_item[r.bank_id] = s.group
        for name in transforms:
            tag = f"{name}/{path.name}"
            jobs.append((tag, ("copy", str(path), i, name)))
            truth[tag] = (name, r.bank_id, s.group, is_smooth)
    protect_s = (time.time() - tp) / len(originals)
    n_variant_hashes = len(bank.active_signals("pdq", with_variants=True)) - len(bank.active_signals("pdq"))
    for j in range(n_distractors):
        if j < n_smooth_d:
            tag = f"distractor/smooth/{j}"
            jobs.append((tag, ("smooth", j, FAMILIES[j % len(FAMILIES)])))
            truth[tag] = ("distractor", None, f"dis-{j}", True)
        else:
            k = int(rng.integers(len(sources)))
            tag = f"distractor/{j}/{sources[k].name}"
            jobs.append((tag, ("photo", j, k)))
            truth[tag] = ("distractor", None, sources[k].group, False)
    batches = [jobs[k :: args.workers * 8] for k in range(args.workers * 8)]
    results = []
    tm = time.time()
    with ProcessPoolExecutor(max_workers=args.workers) as ex:
        for part in ex.map(_work, [(home, args.seed, b, modes) for b in batches]):
            results += part
    match_s = time.time() - tm

    hits = {(tag, mode): (ids, inc) for tag, mode, ids, inc in results}
    found_n: dict[tuple[str, bool, str], int] = {}
    inconclusive_n: dict[tuple[str, bool], int] = {}
    count: dict[tuple[str, bool], int] = {}
    false = {m: 0 for m in modes}
    false_smooth = {m: 0 for m in modes}
    dis_inconclusive = 0
    pairs = smooth_pairs = positive_pairs = 0
    for tag, (kind, item, group, is_smooth) in truth.items():
        unrelated = [i for i, g in group_of_item.items() if g != group]
        if kind == "distractor":
            pairs += len(unrelated)
            smooth_pairs += len(unrelated) if is_smooth else 0
        else:
            positive_pairs += len(unrelated)
            count[(kind, is_smooth)] = count.get((kind, is_smooth), 0) + 1
        for mode in modes:
            found, inc = hits[(tag, mode)]
            wrong = sum(1 for b, _ in found if b in unrelated)
            false[mode] += wrong
            if kind == "distractor":
                false_smooth[mode] += wrong if is_smooth else 0
                dis_inconclusive += len(inc) if mode == "owner-side" else 0
                continue
            key = (kind, is_smooth, mode)
            found_n[key] = found_n.get(key, 0) + any(b == item for b, _ in found)
            if mode == "owner-side" and not any(b == item for b, _ in found) and item in inc:
                inconclusive_n[(kind, is_smooth)] = inconclusive_n.get((kind, is_smooth), 0) + 1

    n_smooth = sum(1 for _, sm in originals if sm)
    print(
        f"# Robustness: {len(originals) - n_smooth} textured and {n_smooth} smooth originals x "
        f"{len(transforms)} transforms; {n_distractors} unrelated images ({n_smooth_d} smooth generated); "
        f"{pairs:,} unrelated-original pairs ({smooth_pairs:,} with a smooth unrelated image)\n"
    )
    cols = [f"{m} (textured)" for m in modes] + [f"{m} (smooth)" for m in modes] + ["smooth inconclusive"]
    print("| transform | " + " | ".join(cols) + " |")
    print("|---|" + "---:|" * len(cols))
    for kind in transforms:
        cells = []
        for sm in (False, True):
            n = count.get((kind, sm), 0)
            cells += [f"{found_n.get((kind, sm, m), 0) / n:.2f}" if n else "-" for m in modes]
        cells.append(str(inconclusive_n.get((kind, True), 0)))
        print(f"| {kind} | " + " | ".join(cells) + " |")
    total = pairs + positive_pairs
    print(
        "\n| false matches | " + " | ".join(modes) + " |\n|---|" + "---:|" * len(modes) + "\n"
        "| among all unrelated pairs (distractors and other originals' copies) | "
        + " | ".join(f"{false[m]} / {total:,}" for m in modes)
        + " |\n| of which with a smooth distractor | "
        + " | ".join(f"{false_smooth[m]} / {smooth_pairs:,}" for m in modes)
        + " |"
    )
    print(f"\nOwner-side inconclusive verdicts on distractors (never matches): {dis_inconclusive}.")
    print(
        f"Protect with variants: {protect_s * 1000:.0f} ms per original, "
        f"{n_variant_hashes / len(originals):.1f} extra PDQ hashes each. "
        f"Matching: {match_s / len(jobs) * 1000:.0f} ms per candidate for {len(modes)} modes "
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
    sys.path.insert(0, str(Path(__file__).parent))
    sys.exit(main())
