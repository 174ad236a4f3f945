"""Flipped and letterboxed copies of protected videos, found by vPDQ's video variants.

Makes N short videos (3 s, 320x240, 10 fps, panning over 3 sample photos each), protects the
first half, and matches every video plain, flipped left-right, letterboxed to 9:16 (the picture
shrunk to 240x180 on a black 240x428 canvas) and only shrunk to 240x180 (the letterbox's
reference: the same shrink, no bars). Prints recall per transform among the protected videos,
with and without the video variants, and the false matches (a match to another video).

    python bench/video_variants.py            # 8 videos
    python bench/video_variants.py --videos 4

No two videos share a photo, so any match to another video is a false match.
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np


def make_video(path: Path, images: list[Path], seconds: int = 3, fps: int = 10, size=(320, 240)) -> Path:
    import av
    from PIL import Image

    frames = [np.asarray(Image.open(p).convert("RGB").resize((size[0] + 40, size[1] + 40))) for p in images]
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        for i in range(seconds * fps):
            src, dx = frames[(i // fps) % len(frames)], (i % fps) * 2
            a = np.ascontiguousarray(src[20 : 20 + size[1], dx : dx + size[0]])
            for packet in stream.encode(av.VideoFrame.from_ndarray(a, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def transcode(src: Path, dst: Path, fn: Callable[[np.ndarray], np.ndarray], size: tuple[int, int]) -> Path:
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


def shrink(a: np.ndarray) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.fromarray(a).resize((240, 180), Image.Resampling.BILINEAR))


def letterbox(a: np.ndarray) -> np.ndarray:
    canvas = np.zeros((428, 240, 3), np.uint8)
    canvas[124:304] = shrink(a)
    return canvas


TRANSFORMS: dict[str, tuple[Callable[[np.ndarray], np.ndarray] | None, tuple[int, int]]] = {
    "plain": (None, (320, 240)),
    "flip": (lambda a: a[:, ::-1], (320, 240)),
    "letterbox 9:16": (letterbox, (240, 428)),
    "shrink 75 %": (shrink, (240, 180)),
}


def main() -> None:
    from unleak.bank import Bank
    from unleak.match.matcher import Matcher
    from unleak.samples import sample_images
    from unleak.signals import Media
    from unleak.store import open_store

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--videos", type=int, default=8)
    args = ap.parse_args()
    d = Path(tempfile.mkdtemp())
    s = sample_images()
    if args.videos > len(s) // 3:  # more would share photos: copies in part, not unrelated videos
        ap.error(f"at most {len(s) // 3} videos (3 distinct sample photos each)")
    vids = [make_video(d / f"v{g}.mp4", [s[(3 * g + k) % len(s)] for k in range(3)]) for g in range(args.videos)]
    n_prot = args.videos // 2
    bank = Bank(open_store(f"sqlite:///{d / 'bank.db'}"))
    index_of = {r.bank_id: i for i, r in enumerate(bank.protect(vids[:n_prot]))}
    matchers = {
        "plain vPDQ": Matcher(bank, verify="off", dihedral=False, variants=False),
        "with variants": Matcher(bank, verify="off"),
    }
    found = {(t, m): 0 for t in TRANSFORMS for m in matchers}
    false = dict.fromkeys(matchers, 0)
    for i, v in enumerate(vids):
        for t, (fn, size) in TRANSFORMS.items():
            path = v if fn is None else transcode(v, d / f"{t.split()[0]}{i}.mp4", fn, size)
            for mname, matcher in matchers.items():
                got = {index_of[m.bank_id] for m in matcher.match_media(Media.open(path)).matches}
                found[t, mname] += i in got
                false[mname] += len(got - {i})
    print(f"{n_prot} protected of {args.videos} videos; recall among the protected")
    print(f"{'transform':<16}" + "".join(f"{m:>15}" for m in matchers))
    for t in TRANSFORMS:
        print(f"{t:<16}" + "".join(f"{found[t, m]:>12}/{n_prot:<2}" for m in matchers))
    print(f"{'false matches':<16}" + "".join(f"{false[m]:>15}" for m in matchers))
    print(f"({args.videos * len(TRANSFORMS)} queries, each against {n_prot} protected videos)")


if __name__ == "__main__":
    main()
