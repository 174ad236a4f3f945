"""PDQ and vPDQ hashing speed on one core, fast mode against the reference pipelines, and agreement.

Images: the benign sample photos (`unleak.samples.sample_images()`) upscaled to about 12 MP and
about 1 MP, with a little sensor-like noise (sigma 2) so that the JPEGs decode more like camera photos
(a smooth upscale decodes unrealistically fast), saved at JPEG quality 90 (4:2:0). For each size it times

- the reference, python-threatexchange's `pdq_from_file`: Pillow decodes the whole image, then
  `pdqhash.compute` hashes it (decode and hash timed apart, in the same run);
- ours: `PdqSignal.compute(Media.open(path), fast=True)`, the whole public path (sniffing, JPEG
  luma decoded at 1/2-1/8 DCT scale, numba PDQ), and, apart, the decode alone at that scale
  (Pillow open + draft + load: libjpeg's share), to give the ours/decode ratio.

Agreement: the Hamming distance between the fast hash and the exact hash of every image, with,
for comparison, the previous fast mode (draft decode, box resize to 256 px, pdqhash), the draft
decode hashed by pdqhash as it is, and how far the exact hash itself moves when the same image
is re-encoded at JPEG quality 85 instead of 90.

Video: a generated 720p H.264 video (30 fps, sample photos with slow pans and zooms), hashed at
one frame a second by the `vpdq` package (one thread) and by our fast mode; frames a second and
whether the frame hashes are the same.

    python bench/hash_throughput.py           # full run: 27 images per size, 60 s of video
    python bench/hash_throughput.py --quick   # 8 images per size, 10 s of video, fewer repeats

The process pins itself to one CPU (`--cpu`, default the last one it may use). Generated media
are cached in `--workdir` (default: the system temporary folder).
"""

from __future__ import annotations

import argparse
import gc
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from unleak.samples import sample_images
from unleak.signals import pdq_fast
from unleak.signals.media import Media
from unleak.signals.pdq import PdqSignal, hamming, hash_pixels

SIZES = {"12 MP": 12e6, "1 MP": 1e6}
REPEAT_FACTOR = {"12 MP": 1, "1 MP": 4}  # small images are cheap: time them more often, for stabler medians
NOISE = 2.0
QUALITY = 90


# --- media -------------------------------------------------------------------------------------


def make_jpegs(workdir: Path, label: str, pixels: float, count: int | None) -> list[Path]:
    folder = workdir / f"jpeg-{label.replace(' ', '').lower()}-q{QUALITY}"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    paths = []
    for source in sample_images()[:count]:
        path = folder / (source.stem + ".jpg")
        if not path.exists():
            image = Image.open(source).convert("RGB")
            f = (pixels / (image.width * image.height)) ** 0.5
            image = image.resize((round(image.width * f), round(image.height * f)), Image.Resampling.BICUBIC)
            noisy = np.asarray(image, np.float32) + rng.normal(0, NOISE, (image.height, image.width, 3))
            Image.fromarray(np.clip(noisy + 0.5, 0, 255).astype(np.uint8)).save(path, "JPEG", quality=QUALITY)
        paths.append(path)
    return paths


def make_video(path: Path, seconds: float, fps: int = 30, size: tuple[int, int] = (1280, 720)) -> Path:
    """A slideshow of the sample photos, each panned and zoomed for 2.5 s, encoded by libx264."""
    import av

    if path.exists():
        return path
    photos = [p for p in (Image.open(s).convert("RGB") for s in sample_images()) if min(p.size) >= 150]
    width, height = size
    tmp = path.with_suffix(".part.mp4")
    with av.open(str(tmp), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "fast", "crf": "23"}  # x264 defaults otherwise: B-frames, GOP 250
        for n in range(int(seconds * fps)):
            t = n / fps
            k, u = int(t // 2.5), (t % 2.5) / 2.5
            photo = photos[k % len(photos)]
            crop_w = min(photo.width, photo.height * width / height) * (1 - 0.25 * u)
            crop_h = crop_w * height / width
            x0, y0 = (photo.width - crop_w) * (0.2 + 0.6 * u), (photo.height - crop_h) / 2
            frame = photo.resize(size, Image.Resampling.BILINEAR, box=(x0, y0, x0 + crop_w, y0 + crop_h))
            for packet in stream.encode(av.VideoFrame.from_image(frame)):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    tmp.rename(path)
    return path


# --- timing ------------------------------------------------------------------------------------


def timed(fn, *args):
    t0 = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - t0, result


def reference_decode(path: Path) -> np.ndarray:
    from threatexchange.signal_type.pdq import pdq_hasher

    return pdq_hasher._convert_image_to_correct_array_dimension(Image.open(path))


def reference_hash(array: np.ndarray) -> tuple[str, int]:
    from threatexchange.signal_type.pdq import pdq_hasher

    return pdq_hasher._pdq_from_numpy_array(array)


def ours_decode_only(path: Path) -> Image.Image:
    """What libjpeg costs at the scale fast mode uses: Pillow open + draft + load, nothing else."""
    image = Image.open(path)
    scale = pdq_fast.fast_scale(*image.size)
    image.draft("L", (image.width // scale, image.height // scale))
    image.load()
    return image


def ours_total(path: Path) -> str:
    return PdqSignal.compute(Media.open(path), fast=True).value


def bench_images(paths: list[Path], reps: int) -> dict:
    # warm up: numba (cached), threatexchange import, file cache
    for path in paths[:2]:
        ours_total(path)
        reference_hash(reference_decode(path))
    times: dict[str, list[list[float]]] = {
        k: [[] for _ in paths] for k in ("ref_decode", "ref_hash", "ours_decode", "ours_hash", "ours_total")
    }
    gc.collect()
    gc.disable()
    try:
        for _ in range(reps):
            for i, path in enumerate(paths):  # interleaved, so drift in machine load hits both alike
                t, array = timed(reference_decode, path)
                times["ref_decode"][i].append(t)
                t, _ = timed(reference_hash, array)
                times["ref_hash"][i].append(t)
                del array
                t, _ = timed(ours_total, path)
                times["ours_total"][i].append(t)
                t, fast = timed(pdq_fast.decode_jpeg_fast, path)
                t2, _ = timed(ours_decode_only, path)
                times["ours_decode"][i].append(t2)
                t, _ = timed(pdq_fast.hash_fast, fast)
                times["ours_hash"][i].append(t)
    finally:
        gc.enable()
    # per image: the median over repeats; per size: the mean over images (images/s = 1 / mean)
    out = {k: 1e3 * float(np.mean([statistics.median(v) for v in per_image])) for k, per_image in times.items()}
    out["scales"] = sorted({pdq_fast.fast_scale(*Image.open(p).size) for p in paths})
    out["n"] = len(paths)
    return out


# --- agreement ---------------------------------------------------------------------------------


def previous_fast_mode(path: Path) -> str:
    """unleak's fast mode before pdq_fast: draft decode to >= 512 px, box resize to 256 px, pdqhash."""
    image = Image.open(path)
    image.draft("RGB", (512, 512))
    image = image.convert("RGB")
    f = max(image.size) / 256
    if f > 1:
        image = image.resize((max(1, round(image.width / f)), max(1, round(image.height / f))), Image.Resampling.BOX)
    return hash_pixels(np.asarray(image))[0]


def draft_then_pdqhash(path: Path) -> str:
    image = ours_decode_only(path)
    return hash_pixels(np.repeat(np.asarray(image)[..., None], 3, axis=2))[0]


def agreement(paths: list[Path]) -> dict[str, list[int]]:
    rows: dict[str, list[int]] = {
        "fast mode (pdq_fast)": [],
        "draft decode + pdqhash": [],
        "previous fast mode (box 256 px)": [],
        "exact vs exact, re-encoded q85": [],
    }
    for path in paths:
        exact = PdqSignal.compute(Media.open(path)).value
        rows["fast mode (pdq_fast)"].append(hamming(exact, ours_total(path)))
        rows["draft decode + pdqhash"].append(hamming(exact, draft_then_pdqhash(path)))
        rows["previous fast mode (box 256 px)"].append(hamming(exact, previous_fast_mode(path)))
        buf = io.BytesIO()
        Image.open(path).save(buf, "JPEG", quality=85)
        again = PdqSignal.compute(Media(data=buf.getvalue())).value
        rows["exact vs exact, re-encoded q85"].append(hamming(exact, again))
    return rows


def stats(d: list[int]) -> str:
    a = np.array(d)
    return (
        f"{np.median(a):.0f} | {np.percentile(a, 90):.0f} | {a.max()} | "
        f"{100 * (a <= 8).mean():.0f}% | {100 * (a <= 16).mean():.0f}%"
    )


# --- video -------------------------------------------------------------------------------------


def bench_video(path: Path, reps: int) -> dict:
    import av
    import vpdq

    from unleak.signals.vpdq import Frame, hash_video_fast

    with av.open(str(path)) as c:
        frames = sum(1 for p in c.demux(c.streams.video[0]) if p.size)

    def reference():
        features = vpdq.computeHash(str(path), seconds_per_hash=1.0, thread_count=1)
        return [Frame(f.hex, int(f.quality), round(float(f.timestamp), 3)) for f in features]

    ref_t, ours_t = [], []
    ref: list = []
    ours: list = []
    for _ in range(reps):
        t, ref = timed(reference)
        ref_t.append(t)
        t, ours = timed(hash_video_fast, path)
        ours_t.append(t)
    dist = [hamming(a.pdq, b.pdq) for a, b in zip(ref, ours)]
    return {
        "frames": frames,
        "hashes": len(ref),
        "ref_s": statistics.median(ref_t),
        "ours_s": statistics.median(ours_t),
        "ratios": [r / o for r, o in zip(ref_t, ours_t)],
        "same": ref == ours,
        "same_times": [f.time for f in ref] == [f.time for f in ours],
        "max_bits": max(dist) if dist else 0,
        "same_quality": [f.quality for f in ref] == [f.quality for f in ours],
    }


# --- main --------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="8 images per size, 10 s of video, fewer repeats")
    parser.add_argument("--reps", type=int, help="timing repeats per image (default 5, quick 3)")
    parser.add_argument("--video-seconds", type=float, help="length of the test video (default 60, quick 10)")
    parser.add_argument("--no-video", action="store_true")
    parser.add_argument("--cpu", type=int, help="CPU to pin to (default: the last one allowed)")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "unleak-bench-hash")
    args = parser.parse_args(argv)
    count = 8 if args.quick else None
    reps = args.reps or (3 if args.quick else 5)
    seconds = args.video_seconds or (10.0 if args.quick else 60.0)

    if hasattr(os, "sched_setaffinity"):
        cpu = args.cpu if args.cpu is not None else max(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        print(f"pinned to CPU {cpu}; timings are per image, one core", file=sys.stderr)
    args.workdir.mkdir(parents=True, exist_ok=True)

    results, agree = {}, {}
    for label, pixels in SIZES.items():
        print(f"generating / timing {label} ...", file=sys.stderr)
        paths = make_jpegs(args.workdir, label, pixels, count)
        results[label] = bench_images(paths, reps * REPEAT_FACTOR[label])
        agree[label] = agreement(paths)

    print("## PDQ on JPEGs, one core (per image: median of repeats; mean over images)\n")
    print(
        "| size | images | ref decode ms | ref hash ms | ref total ms | ref img/s | fast scale | "
        "ours decode ms | ours hash ms | ours total ms | ours img/s | speed-up × | ours/decode |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for label, r in results.items():
        ref_total = r["ref_decode"] + r["ref_hash"]
        scales = ", ".join(f"1/{s}" for s in r["scales"])
        print(
            f"| {label} | {r['n']} | {r['ref_decode']:.1f} | {r['ref_hash']:.1f} | {ref_total:.1f} | "
            f"{1e3 / ref_total:.1f} | {scales} | {r['ours_decode']:.2f} | {r['ours_hash']:.2f} | "
            f"{r['ours_total']:.2f} | {1e3 / r['ours_total']:.0f} | {ref_total / r['ours_total']:.1f} | "
            f"{r['ours_total'] / r['ours_decode']:.2f} |"
        )
    print(
        "\nref = python-threatexchange `pdq_from_file` (Pillow full decode + pdqhash); ours = "
        "`PdqSignal.compute(Media.open(path), fast=True)`; ours decode = Pillow open + draft('L') + load "
        "at the fast scale; ours hash = the numba PDQ on it.\n"
    )

    print("## Agreement with the exact hash (Hamming distance in bits, of 256)\n")
    print("| size | method | median | p90 | max | within 8 | within 16 |")
    print("|---|---|---|---|---|---|---|")
    for label, rows in agree.items():
        for name, d in rows.items():
            print(f"| {label} | {name} | {stats(d)} |")
    print()

    if not args.no_video:
        print(f"timing video ({seconds:.0f} s) ...", file=sys.stderr)
        video = make_video(args.workdir / f"video-{seconds:.0f}s-720p30.mp4", seconds)
        v = bench_video(video, max(1, reps // 2 + 1))
        ratio = statistics.median(v["ratios"])
        print("## vPDQ, one core: one hash a second of a 720p30 H.264 video\n")
        print(
            "| video | frames | hashes | vpdq s | vpdq frames/s | ours s | ours frames/s | speed-up × "
            "(median of runs) | same frame hashes |"
        )
        print("|---|---|---|---|---|---|---|---|---|")
        same = (
            "yes"
            if v["same"]
            else (f"no: max {v['max_bits']} bits, times equal {v['same_times']}, qualities equal {v['same_quality']}")
        )
        print(
            f"| {seconds:.0f} s 1280x720 | {v['frames']} | {v['hashes']} | {v['ref_s']:.2f} | "
            f"{v['frames'] / v['ref_s']:.0f} | {v['ours_s']:.2f} | {v['frames'] / v['ours_s']:.0f} | "
            f"{ratio:.2f} | {same} |"
        )
        print(
            "\nvpdq = `vpdq.computeHash(path, seconds_per_hash=1, thread_count=1)`; ours = "
            "`unleak.signals.vpdq.hash_video_fast` (PyAV, non-reference frames not hashed are skipped)."
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
