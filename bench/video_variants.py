"""Altered copies of protected videos (flipped, letterboxed, cropped, screen-recorded, re-encoded,
clipped), found by vPDQ with and without the video variants; unrelated videos must match nothing.

Makes one short video per benign sample photo (4 s, 320x240, 10 fps: a 2 s pan, then a 2 s zoom
into the photo), protects most of them (with the bank-side variants, as `unleak protect` does),
and keeps the rest, plus generated videos of moving shapes on gradients (smooth content), as
unrelated videos. Every video is matched after each transform below, by plain vPDQ and by the
matcher with its video variants. Prints recall per transform among the protected videos, and
the false matches (any match to another video), in Markdown.

    PYTHONPATH=src python bench/video_variants.py              # 16 protected, 6 + 6 unrelated
    PYTHONPATH=src python bench/video_variants.py --videos 6   # fewer protected (faster)

bench/robustness.py prints the same table as its video section (`--videos N`).
No two videos share a photo, so any match to another video is a false match.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

W, H, FPS, SECONDS = 320, 240, 10, 4
SKIP = {"motorcycle_right.png"}  # the same scene as motorcycle_left.png: not unrelated


def _write(path: Path, frames, size: tuple[int, int], fps: int = FPS, crf: int = 20) -> Path:
    import av

    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(crf), "preset": "veryfast"}
        for a in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(a), format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def photo_video(path: Path, photo: Path) -> Path:
    """A pan across the photo, then a zoom into its centre."""
    src = Image.open(photo).convert("RGB").resize((W + 80, H + 60), Image.Resampling.BICUBIC)
    n = SECONDS * FPS

    def frames():
        for i in range(n):
            if i < n // 2:  # pan
                dx = round(80 * i / (n // 2))
                yield np.asarray(src.crop((dx, 30, dx + W, 30 + H)))
            else:  # zoom into the centre, to 70 % of the frame
                z = 1 - 0.3 * (i - n // 2) / (n - n // 2)
                cw, ch = (W + 80) * z, (H + 60) * z
                x0, y0 = (W + 80 - cw) / 2, (H + 60 - ch) / 2
                box = (round(x0), round(y0), round(x0 + cw), round(y0 + ch))
                yield np.asarray(src.crop(box).resize((W, H), Image.Resampling.BILINEAR))

    return _write(path, frames(), (W, H))


def shapes_video(path: Path, seed: int) -> Path:
    """Smooth generated content: soft shapes drifting over a colour gradient."""
    rng = np.random.default_rng(seed)
    c0, c1 = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    t = np.linspace(0, 1, W)[None, :, None] * np.ones((H, 1, 1))
    base = (c0 * (1 - t) + c1 * t).astype(np.uint8)
    shapes = [
        (rng.uniform(0, W), rng.uniform(0, H), rng.uniform(20, 70), tuple(rng.integers(0, 256, 3).tolist()))
        for _ in range(5)
    ]
    vel = rng.uniform(-6, 6, (5, 2))

    def frames():
        for i in range(SECONDS * FPS):
            im = Image.fromarray(base)
            d = ImageDraw.Draw(im)
            for (x, y, r, col), (vx, vy) in zip(shapes, vel):
                cx, cy = x + vx * i, y + vy * i
                d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=col)
            yield np.asarray(im)

    return _write(path, frames(), (W, H))


# --- transforms (each frame of the decoded copy; the output size is fixed per transform) -----


def shrink(a: np.ndarray, w: int = 240, h: int = 180) -> np.ndarray:
    return np.asarray(Image.fromarray(a).resize((w, h), Image.Resampling.BILINEAR))


def letterbox(a: np.ndarray) -> np.ndarray:
    """Shrunk to 240x180 on a black 240x428 (9:16) canvas."""
    canvas = np.zeros((428, 240, 3), np.uint8)
    canvas[124:304] = shrink(a)
    return canvas


def crop10(a: np.ndarray) -> np.ndarray:
    """10 % cut from each border, kept at the cut size."""
    h, w = a.shape[:2]
    return a[round(0.1 * h) : round(0.1 * h) + 192, round(0.1 * w) : round(0.1 * w) + 256]


def screen_recorder(n_frames: int) -> Callable[[np.ndarray], np.ndarray]:
    """The video played inside a player window, recorded from the screen: a title bar, the video
    shrunk to 288x216, a progress bar that fills as it plays, play controls and a time counter."""
    count = [0]

    def record(a: np.ndarray) -> np.ndarray:
        i = count[0]
        count[0] += 1
        im = Image.new("RGB", (384, 320), (236, 236, 240))
        d = ImageDraw.Draw(im)
        d.rectangle((0, 0, 383, 23), fill=(48, 48, 56))
        d.text((8, 6), "Media Player - clip.mp4", fill=(230, 230, 230))
        d.rectangle((350, 6, 376, 18), fill=(200, 60, 60))
        im.paste(Image.fromarray(shrink(a, 288, 216)), (48, 36))
        d.rectangle((48, 262, 335, 266), fill=(190, 190, 190))
        d.rectangle((48, 262, 48 + round(287 * i / max(1, n_frames - 1)), 266), fill=(220, 40, 40))
        d.polygon([(52, 276), (52, 296), (68, 286)], fill=(60, 60, 60))
        for k in range(3):
            d.rectangle((90 + 22 * k, 280, 104 + 22 * k, 292), fill=(120, 120, 130))
        d.text((250, 280), f"0:0{i // FPS} / 0:0{n_frames // FPS}", fill=(40, 40, 40))
        return np.asarray(im)

    return record


Transform = tuple[Callable[[], Callable[[np.ndarray], np.ndarray]], tuple[int, int], int, float]
# name -> (frame function factory, output size, CRF, start second)
TRANSFORMS: dict[str, Transform] = {
    "re-encode CRF 35": (lambda: lambda a: a, (W, H), 35, 0.0),
    "shrink 75 %": (lambda: shrink, (240, 180), 23, 0.0),
    "clip (from 1.5 s)": (lambda: lambda a: a, (W, H), 23, 1.5),
    "flip": (lambda: lambda a: a[:, ::-1], (W, H), 23, 0.0),
    "letterbox 9:16": (lambda: letterbox, (240, 428), 23, 0.0),
    "flip + letterbox": (lambda: lambda a: letterbox(a[:, ::-1]), (240, 428), 23, 0.0),
    "crop 10 % per border": (lambda: crop10, (256, 192), 23, 0.0),
    "screen recording": (lambda: screen_recorder(SECONDS * FPS), (384, 320), 23, 0.0),
}
REFERENCE = ("re-encode CRF 35", "shrink 75 %", "clip (from 1.5 s)")


def transcode(src: Path, dst: Path, t: Transform) -> Path:
    import av

    factory, size, crf, start = t
    fn = factory()
    with av.open(str(src)) as inp:
        frames = [
            fn(f.to_ndarray(format="rgb24")) for f in inp.decode(video=0) if f.time is None or f.time >= start - 1e-6
        ]
    return _write(dst, frames, size, crf=crf)


def run(
    n_protected: int = 16, n_unrelated_photos: int = 6, n_shapes: int = 6, *, owner_side: bool = True, out=print
) -> dict:
    """Build the corpus, match it, print the table; returns the figures."""
    from unleak.bank import Bank
    from unleak.match.matcher import Matcher
    from unleak.samples import sample_images
    from unleak.signals import Media
    from unleak.store import open_store

    t0 = time.time()
    d = Path(tempfile.mkdtemp(prefix="unleak-video-bench-"))
    photos = [p for p in sample_images() if p.name not in SKIP]
    if n_protected + n_unrelated_photos > len(photos):
        raise SystemExit(f"at most {len(photos)} photo videos (one distinct sample photo each)")
    photos = photos[: n_protected + n_unrelated_photos]
    vids = [photo_video(d / f"p{i}.mp4", p) for i, p in enumerate(photos)]
    vids += [shapes_video(d / f"s{k}.mp4", k) for k in range(n_shapes)]
    bank = Bank(open_store(f"sqlite:///{d / 'bank.db'}"), "bench", create=True)
    tp = time.time()
    index_of = {r.bank_id: i for i, r in enumerate(bank.protect(vids[:n_protected], variants=True))}
    protect_s = (time.time() - tp) / n_protected
    matchers = {
        "plain vPDQ": Matcher(bank, verify="off", dihedral=False, variants=False),
        "with variants": Matcher(bank, verify="off"),
    }
    if owner_side:  # the originals are on this machine: verified on key frames
        matchers["owner-side"] = Matcher(bank, verify="on")
    found = {(t, m): 0 for t in TRANSFORMS for m in matchers}
    false = dict.fromkeys(matchers, 0)
    queries = 0
    missed: dict[str, list[str]] = {}
    match_s = dict.fromkeys(matchers, 0.0)
    for i, v in enumerate(vids):
        for t, spec in TRANSFORMS.items():
            path = transcode(v, d / f"{t.split()[0]}-{i}.mp4", spec)
            queries += 1
            for mname, matcher in matchers.items():
                tm = time.time()
                got = {index_of[m.bank_id] for m in matcher.match_media(Media.open(path)).matches}
                match_s[mname] += time.time() - tm
                found[t, mname] += i in got
                if mname != "plain vPDQ" and i < n_protected and i not in got:
                    missed.setdefault(f"{mname}: {t}", []).append(photos[i].name)
                false[mname] += len(got - {i})
    n_unrelated = len(vids) - n_protected
    out(
        f"Videos: {n_protected} protected, {n_unrelated} unrelated ({n_unrelated_photos} of other photos, "
        f"{n_shapes} of moving shapes); {SECONDS} s, {W}x{H}, {FPS} fps; recall among the protected\n"
    )
    out("| video transform | " + " | ".join(matchers) + " |")
    out("|---|" + "---:|" * len(matchers))
    for t in TRANSFORMS:
        ref = " (reference)" if t in REFERENCE else ""
        out(f"| {t}{ref} | " + " | ".join(f"{found[t, m] / n_protected:.2f}" for m in matchers) + " |")
    pairs = queries * n_protected - n_protected * len(TRANSFORMS)
    out(
        f"| **false matches** ({queries} copies x {n_protected} protected) | "
        + " | ".join(f"{false[m]} / {pairs}" for m in matchers)
        + " |"
    )
    if missed:
        out("\nMissed: " + "; ".join(f"{t}: {', '.join(v)}" for t, v in missed.items()))
    out(
        f"\nProtect: {protect_s:.2f} s per video (with its crop variants). Match: "
        + ", ".join(f"{m} {match_s[m] / queries:.2f} s" for m in matchers)
        + f" per copy. Total {time.time() - t0:.0f} s."
    )
    return {"found": found, "false": false, "protected": n_protected, "queries": queries, "missed": missed}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--videos", type=int, default=16, help="protected videos (default 16)")
    ap.add_argument("--unrelated", type=int, default=6, help="unrelated photo videos (default 6)")
    ap.add_argument("--shapes", type=int, default=6, help="unrelated generated videos (default 6)")
    ap.add_argument("--no-owner-side", action="store_true", help="leave out owner-side verification (faster)")
    args = ap.parse_args()
    run(args.videos, args.unrelated, args.shapes, owner_side=not args.no_owner_side)


if __name__ == "__main__":
    main()
