"""How well unleak.spread recovers who copied whom: synthetic leak cascades from benign photos.

Each image tree starts with a first public copy of a sample photo (a platform-style upload of the
original) and grows: every node gets a geometric number of children (mean 1), each made from its
parent by 1-3 steps drawn uniformly from: re-encode at a lower quality, downscale, crop, caption
or watermark, screenshot frame, flip, platform-style resize. Trees are kept when they have 10-50
copies. Post times are the true order plus Gaussian noise whose spread is set so that 20 % of
children are first seen before their parent. Video trees grow the same way with re-encode,
downscale and clip steps on a short generated clip cut from a sample photo (pans and zooms).

Reported beside the baseline measured on the same trees (each copy's parent is the earliest-seen
copy seen before it; the first copy is the earliest seen): the first copy right (root accuracy)
and the share of directed edges right.

    PYTHONPATH=src python bench/spread.py            # 100 image trees, 30 video trees
    PYTHONPATH=src python bench/spread.py --quick    # 10 and 5, for development

Every tree has its own seed (the run's seed and its number), so the run can be split across
processes and put back together with the same figures as one process:

    PYTHONPATH=src python bench/spread.py --shard 0/2 > a.txt &
    PYTHONPATH=src python bench/spread.py --shard 1/2 > b.txt
    python bench/spread.py --merge a.txt b.txt
"""

from __future__ import annotations

import argparse
import io
import json
import math
import time
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image, ImageDraw

from unleak.samples import sample_images
from unleak.spread import describe_image, describe_video, estimate, reference
from unleak.spread.features import thumbs

STEPS = ["reencode", "downscale", "crop", "caption", "screenshot", "flip", "platform"]
VIDEO_STEPS = ["reencode", "downscale", "clip"]
EARLY_SHARE = 0.20  # children first seen before their parent
GAP_HOURS = 6.0  # mean true delay between a copy and a copy made from it (exponential)


@dataclass
class Node:
    parent: int | None
    img: np.ndarray | None  # RGB
    data: bytes | None
    quality: int
    true_time: float
    frames: list[np.ndarray] | None = None
    start: int = 0  # first original frame of a video copy
    seen: float = 0.0
    steps: tuple[str, ...] = ()


def jpeg(img: np.ndarray, q: int) -> tuple[np.ndarray, bytes]:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "JPEG", quality=int(q))
    data = buf.getvalue()
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB")), data


def resize(img: np.ndarray, f: float) -> np.ndarray:
    h, w = img.shape[:2]
    f = max(f, 64 / min(h, w)) if f < 1 else f  # copies keep at least 64 pixels a side
    nw, nh = max(16, round(w * f)), max(16, round(h * f))
    return cv2.resize(img, (nw, nh), interpolation=cv2.INTER_AREA if f < 1 else cv2.INTER_CUBIC)


def step_image(img: np.ndarray, q: int, step: str, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    h, w = img.shape[:2]
    if step == "reencode":
        return img, max(35, q - int(rng.integers(8, 25)))
    if step == "downscale":
        return resize(img, float(rng.uniform(0.5, 0.8))), q
    if step == "crop":
        fw, fh = rng.uniform(0.65, 0.9), rng.uniform(0.65, 0.9)
        cw, ch = min(w, max(48, int(w * fw))), min(h, max(48, int(h * fh)))
        x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
        return np.ascontiguousarray(img[y : y + ch, x : x + cw]), q
    if step == "caption":
        pil = Image.fromarray(img)
        d = ImageDraw.Draw(pil)
        text = ["lol", "look", "wow", "@site", "repost", "share"][int(rng.integers(6))] * int(rng.integers(1, 3))
        x, y = int(rng.integers(0, max(1, w // 2))), int(rng.integers(0, max(1, h - 30)))
        size = max(12, h // 14)
        box = (x, y, x + size * len(text) // 2 + 8, y + size + 6)
        color = tuple(int(v) for v in rng.integers(0, 256, 3))
        if rng.random() < 0.5:
            d.rectangle(box, fill=(255, 255, 255))
            d.text((x + 4, y + 3), text, fill=(0, 0, 0), font_size=size)
        else:
            d.text((x, y), text, fill=color, font_size=size, stroke_width=2, stroke_fill=(0, 0, 0))
        return np.asarray(pil), q
    if step == "screenshot":
        top, bottom, side = int(rng.integers(20, 50)), int(rng.integers(30, 70)), int(rng.integers(0, 16))
        f = float(rng.uniform(0.8, 1.0))
        inner = resize(img, f)
        ih, iw = inner.shape[:2]
        canvas = np.full((ih + top + bottom, iw + 2 * side, 3), 245 if rng.random() < 0.5 else 18, np.uint8)
        canvas[top : top + ih, side : side + iw] = inner
        canvas[: top // 2] = (60, 60, 60)
        return canvas, 90
    if step == "flip":
        return np.ascontiguousarray(img[:, ::-1]), q
    if step == "platform":  # the largest of a platform's standard sizes that shrinks the image
        sides = [s for s in (1080, 720, 640, 480, 400, 320, 240, 180) if s < 0.95 * max(h, w)] or [0.8 * max(h, w)]
        return resize(img, sides[0] / max(h, w)), int(rng.choice([75, 80, 85]))
    raise ValueError(step)


def grow(n_min: int, n_max: int, rng: np.random.Generator) -> list[int | None]:
    """Parents of a random tree (geometric children, mean 1) with n_min..n_max nodes."""
    p = 0.5  # P(k children) = p (1 - p)^k: mean (1 - p) / p = 1
    while True:
        parents: list[int | None] = [None]
        i = 0
        while i < len(parents) and len(parents) <= n_max:
            k = int(rng.geometric(p)) - 1
            parents.extend([i] * k)
            i += 1
        if n_min <= len(parents) <= n_max and i >= len(parents):
            return parents


def noise_sigma() -> float:
    """The spread of time noise that puts EARLY_SHARE of children before their parent."""
    rng = np.random.default_rng(0)
    gaps = rng.exponential(GAP_HOURS, 200_000)
    z = rng.standard_normal(200_000) * math.sqrt(2)
    lo, hi = 0.01, 100.0
    for _ in range(50):
        mid = (lo + hi) / 2
        if np.mean(gaps + z * mid < 0) < EARLY_SHARE:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def image_tree(photo: np.ndarray, rng: np.random.Generator, sigma: float) -> list[Node]:
    parents = grow(10, 50, rng)
    nodes: list[Node] = []
    for par in parents:
        if par is None:
            img, q = step_image(photo, 95, "platform", rng)
            img, data = jpeg(img, q)
            nodes.append(Node(None, img, data, q, 0.0))
            continue
        base = nodes[par]
        assert base.img is not None
        img, q = base.img, base.quality
        steps = tuple(str(st) for st in rng.choice(STEPS, size=int(rng.integers(1, 4)), replace=False))
        for st in steps:
            img, q = step_image(img, q, st, rng)
        img, data = jpeg(img, q)
        nodes.append(Node(par, img, data, q, base.true_time + float(rng.exponential(GAP_HOURS)), steps=steps))
    for nd in nodes:
        nd.seen = nd.true_time + float(rng.normal(0, sigma))
    return nodes


def video_clip(photo: np.ndarray, n: int = 48) -> list[np.ndarray]:
    """A generated clip: a slow pan and zoom over a photo, with a cut half-way (distinct frames)."""
    h, w = photo.shape[:2]
    out = []
    for i in range(n):
        z = 0.6 + 0.3 * (i / n)
        cw, ch = int(w * z), int(h * z)
        x = int((w - cw) * (i / n)) if i < n // 2 else int((w - cw) * (1 - i / n))
        y = int((h - ch) * (0.5 + 0.5 * math.sin(i / 5)))
        out.append(cv2.resize(photo[y : y + ch, x : x + cw], (160, 120), interpolation=cv2.INTER_AREA))
    return out


def encode_video(frames: list[np.ndarray], crf: int) -> tuple[list[np.ndarray], int]:
    import av

    buf = io.BytesIO()
    h, w = frames[0].shape[:2]
    with av.open(buf, "w", format="mp4") as out:
        s = out.add_stream("libx264", rate=12)
        s.width, s.height, s.pix_fmt = w - w % 2, h - h % 2, "yuv420p"
        s.options = {"crf": str(crf), "preset": "ultrafast"}
        for f in frames:
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(f[: s.height, : s.width]), format="rgb24")
            for p in s.encode(vf):
                out.mux(p)
        for p in s.encode():
            out.mux(p)
    data = buf.getvalue()
    with av.open(io.BytesIO(data)) as inp:
        dec = [fr.to_ndarray(format="rgb24") for fr in inp.decode(video=0)]
    return dec, len(data)


def video_tree(photo: np.ndarray, rng: np.random.Generator, sigma: float) -> tuple[list[Node], list[np.ndarray]]:
    parents = grow(10, 50, rng)
    orig = video_clip(photo)
    nodes: list[Node] = []
    for par in parents:
        if par is None:
            frames, size = encode_video(orig, 20)
            nd = Node(None, None, None, 20, 0.0, frames=frames)
            nd.data = bytes(size)
            nodes.append(nd)
            continue
        base = nodes[par]
        assert base.frames is not None
        frames, crf, start = base.frames, base.quality, base.start
        for st in rng.choice(VIDEO_STEPS, size=int(rng.integers(1, 3)), replace=False):
            if st == "reencode":
                crf = min(45, crf + int(rng.integers(3, 8)))
            elif st == "downscale":
                f = float(rng.uniform(0.6, 0.85))
                frames = [resize(fr, f) for fr in frames]
            elif st == "clip" and len(frames) > 12:
                k = int(rng.integers(max(8, len(frames) // 2), len(frames)))
                a = int(rng.integers(0, len(frames) - k + 1))
                frames, start = frames[a : a + k], start + a
        frames, size = encode_video(frames, crf)
        nd = Node(par, None, bytes(size), crf, base.true_time + float(rng.exponential(GAP_HOURS)), frames, start)
        nodes.append(nd)
    for nd in nodes:
        nd.seen = nd.true_time + float(rng.normal(0, sigma))
    return nodes, orig


def baseline(nodes: list[Node]) -> tuple[int, dict[int, int]]:
    """Each copy's parent is the copy seen just before it; the first copy is the earliest seen."""
    order = sorted(range(len(nodes)), key=lambda i: (nodes[i].seen, i))
    return order[0], {order[k]: order[k - 1] for k in range(1, len(order))}


def star_baseline(nodes: list[Node]) -> dict[int, int]:
    """The other reading of "the earliest-seen copy before it": every copy's parent is the first seen."""
    first = min(range(len(nodes)), key=lambda i: (nodes[i].seen, i))
    return {i: first for i in range(len(nodes)) if i != first}


def score(nodes: list[Node], root: int | None, parent: dict[int, int]) -> tuple[bool, int]:
    right = sum(1 for i, nd in enumerate(nodes) if nd.parent is not None and parent.get(i) == nd.parent)
    return root == 0, right


def fit(trees: list[tuple[list[Node], list]]) -> tuple[dict[str, float], dict[str, float]]:
    """Fit the registered cost's weights: each child's true parent against every other candidate."""
    from scipy.optimize import minimize

    from unleak.spread import tree as T

    keys, okeys = list(T.WEIGHTS), list(T.ORIGIN_WEIGHTS)
    groups = []  # per child: (features of candidates (rows), index of the true one)
    for nodes, copies in trees:
        times = [c.time for c in copies if c.time is not None]
        t0 = min(times) if times else None
        n = len(copies)
        for j in range(n):
            parts = T.column_parts(copies, j, t0)
            rows, truth = [], -1
            for i, p in sorted(parts.items()):
                if i < n:
                    rows.append([p[k] for k in keys] + [0.0] * (len(okeys) + 1))
                else:
                    rows.append([0.0] * len(keys) + [p[k] for k in okeys] + [1.0])
                if (nodes[j].parent if nodes[j].parent is not None else n) == i:
                    truth = len(rows) - 1
            if truth >= 0:
                groups.append((np.array(rows), truth))

    def nll(w: np.ndarray) -> tuple[float, np.ndarray]:
        total, grad = 0.0, np.zeros_like(w)
        for x, t in groups:
            c = x @ w
            m = c.min()
            e = np.exp(-(c - m))
            z = e.sum()
            p = e / z
            total += c[t] - m + math.log(z)
            grad += x[t] - p @ x
        return total + 0.01 * float(w @ w), grad + 0.02 * w

    w0 = np.array([T.WEIGHTS[k] for k in keys] + [T.ORIGIN_WEIGHTS[k] for k in okeys] + [3.0])
    bounds = [(0.0, None)] * (len(keys) + len(okeys)) + [(None, None)]
    r = minimize(nll, w0, jac=True, method="L-BFGS-B", bounds=bounds)
    w = r.x
    print(f"fitted on {len(groups)} children: mean log-loss {r.fun / max(1, len(groups)):.3f}")
    return (
        {k: round(float(v), 3) for k, v in zip(keys, w[: len(keys)], strict=True)},
        {k: round(float(v), 3) for k, v in zip(okeys, w[len(keys) : -1], strict=True)},
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trees", type=int, default=100)
    ap.add_argument("--videos", type=int, default=30)
    ap.add_argument("--quick", action="store_true", help="10 image trees and 5 video trees")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--shard", default="0/1", help="I/N: only the trees whose number is I modulo N")
    ap.add_argument("--merge", nargs="+", metavar="OUT", help="put the outputs of shards back together")
    args = ap.parse_args()
    if args.merge:
        merge(args.merge)
        return
    if args.quick:
        args.trees, args.videos = 10, 5
    shard, shards = (int(v) for v in args.shard.split("/"))
    photos = []
    for p in sample_images():
        a = np.asarray(Image.open(p).convert("RGB"))
        if min(a.shape[:2]) >= 200:
            photos.append(resize(a, min(1.0, 640 / max(a.shape[:2]))))
    sigma = noise_sigma()
    rows = []
    t_start = time.perf_counter()
    # trees, first copy right, baseline's, edges, right, baseline's, the star baseline's
    stats = {"img": [0] * 7, "vid": [0] * 7}
    early = [0, 0]
    seconds = {"img": 0.0, "vid": 0.0}  # estimating the tree (not making or measuring the copies)
    for t in range(args.trees + args.videos):
        if t % shards != shard:
            continue
        rng = np.random.default_rng([args.seed, t])
        is_video = t >= args.trees
        photo = photos[t % len(photos)]
        if is_video:
            nodes, orig = video_tree(photo, rng, sigma)
            ref_thumbs = thumbs(orig)
            copies = [
                describe_video(
                    [i],
                    nd.frames or [],
                    12.0,
                    original=ref_thumbs,
                    original_fps=12.0,
                    size=len(nd.data or b""),
                    time=nd.seen,
                )
                for i, nd in enumerate(nodes)
            ]
        else:
            nodes = image_tree(photo, rng, sigma)
            ref = reference(photo)
            copies = [
                describe_image([i], nd.img, ref, data=nd.data, time=nd.seen)
                for i, nd in enumerate(nodes)
                if nd.img is not None
            ]
        for nd in nodes:
            if nd.parent is not None:
                early[0] += 1
                early[1] += nd.seen < nodes[nd.parent].seen
        t_est = time.perf_counter()
        lin = estimate(copies)
        seconds["vid" if is_video else "img"] += time.perf_counter() - t_est
        parent = {e.child: e.parent for e in lin.edges}
        ok_root, right = score(nodes, lin.root, parent)
        b_root, b_parent = baseline(nodes)
        ok_b, right_b = score(nodes, b_root, b_parent)
        st = stats["vid" if is_video else "img"]
        st[0] += 1
        st[1] += ok_root
        st[2] += ok_b
        st[3] += len(nodes) - 1
        st[4] += right
        st[5] += right_b
        st[6] += score(nodes, b_root, star_baseline(nodes))[1]
        rows.append(
            (
                t,
                "video" if is_video else "image",
                len(nodes),
                ok_root,
                right / (len(nodes) - 1),
                right_b / (len(nodes) - 1),
            )
        )
        print(
            f"tree {t:3d} {'video' if is_video else 'image'} copies {len(nodes):2d}  root {'ok ' if ok_root else 'BAD'}"
            f" (baseline {'ok ' if ok_b else 'BAD'})  edges {right}/{len(nodes) - 1} (baseline {right_b})"
            f"  {time.perf_counter() - t_start:.0f}s",
            flush=True,
        )
    counts = {"stats": stats, "early": early, "seconds": seconds, "total": time.perf_counter() - t_start}
    print("COUNTS " + json.dumps(counts))
    report(counts)


def report(counts: dict) -> None:
    stats, early, seconds = counts["stats"], counts["early"], counts["seconds"]
    print()
    print(f"children first seen before their parent: {early[1]}/{early[0]} = {100 * early[1] / max(1, early[0]):.1f} %")
    print()
    print(
        "| cascades | trees | copies | first copy right | baseline | edges right | baseline | edge gain | s per tree |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    stars: list[str] = []
    for key, name in (("img", "images"), ("vid", "videos")):
        n, r, rb, e, er, eb, es = stats[key]
        if not n:
            continue
        stars.append(f"{name} {100 * es / e:.1f} %")
        print(
            f"| {name} | {n} | {e + n} | {100 * r / n:.1f} % | {100 * rb / n:.1f} % | {100 * er / e:.1f} % |"
            f" {100 * eb / e:.1f} % | {100 * (er - eb) / e:+.1f} pts | {seconds[key] / n:.1f} |"
        )
    print(f"\nedges right when every copy's parent is the first seen (the other baseline): {', '.join(stars)}")
    print(f"\n{counts['total']:.0f} s on this machine (s per tree: estimating the tree from the measured copies)")


def merge(paths: list[str]) -> None:
    """Sum the COUNTS lines of several shards' outputs and print the table."""
    total: dict = {"stats": {"img": [0] * 7, "vid": [0] * 7}, "early": [0, 0], "seconds": {"img": 0.0, "vid": 0.0}}
    total["total"] = 0.0
    for path in paths:
        with open(path) as f:
            line = next(ln for ln in f if ln.startswith("COUNTS "))
        c = json.loads(line[len("COUNTS ") :])
        for k in ("img", "vid"):
            total["stats"][k] = [a + b for a, b in zip(total["stats"][k], c["stats"][k], strict=True)]
            total["seconds"][k] += c["seconds"][k]
        total["early"] = [a + b for a, b in zip(total["early"], c["early"], strict=True)]
        total["total"] = max(total["total"], c["total"])
    report(total)


if __name__ == "__main__":
    main()
