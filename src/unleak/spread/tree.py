"""The most likely derivation tree of an item's copies, with a confidence per edge.

Every ordered pair (A, B) gets a cost: how badly "B was made from A" explains what was measured.
The cost is the difference between the two copies where both show the original (what the step
from A to B changed), plus penalties for what a derivation cannot do or rarely does: B shows
pixels that A does not have (A was cropped, B cannot have them back), A's added content (a
caption, a watermark) is missing from B where B shows that place, B lost less of the original than
A, B has more resolution or a finer JPEG table than A, B was posted well before A. The original
itself is a virtual node O: O -> X costs X's distance from the original plus a constant large
enough that O has one child, the likely first public copy. The tree is the minimum-cost
arborescence from O (Chu-Liu/Edmonds, networkx), which resolves cycles in the evidence (A looks
made from B and B from A) by the total cost; ties are broken by a fixed order (time, then
sighting id), so the same evidence gives the same tree whatever order it came in.

An edge's confidence is the share of the child's possible parents' weight that its chosen parent
holds, softmax(-cost / TEMPERATURE); an edge that rests on hashes, sizes and times only (no
registered media) is capped at HASH_ONLY_CAP and says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import cv2
import networkx as nx
import numpy as np

from unleak.registration import warp_original_to_candidate
from unleak.spread.features import Copy, degrade
from unleak.spread.pairwise import remake_residual

ORIGIN = -1  # the virtual node: the protected original
ROOT_COST = 1000.0
TEMPERATURE = 1.0  # registered costs are in nats (fitted)
HAND_TEMPERATURE = 3.0  # costs of hash-only and video pairs (set by hand)
HASH_ONLY_CAP = 0.5
TIME_PENALTY = 6.0  # cost of a child seen long before its parent
TIME_SCALE = 12.0  # hours over which that penalty grows to its full size
_K3 = np.ones((3, 3), np.uint8)
_K5 = np.ones((5, 5), np.uint8)


@dataclass
class Edge:
    parent: int  # node id (its earliest sighting)
    child: int
    confidence: float
    how: str
    basis: str  # "registered" | "hash, size, time" | "video" | "same file"
    cost: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "parent": self.parent,
            "child": self.child,
            "confidence": round(self.confidence, 3),
            "how": self.how,
            "basis": self.basis,
        }


@dataclass
class Lineage:
    root: int | None
    root_confidence: float
    root_reasons: list[str]
    edges: list[Edge]  # tree edges between nodes, then "same file" edges inside nodes
    nodes: list[Copy] = field(default_factory=list)

    def parent_of(self) -> dict[int, int]:
        return {e.child: e.parent for e in self.edges}


def _dilate(m: np.ndarray, k: np.ndarray = _K3) -> np.ndarray:
    out: np.ndarray = cv2.dilate(m.astype(np.uint8), k).astype(bool)
    return out


def _time_cost(a: Copy, b: Copy) -> float:
    if a.time is None or b.time is None or b.time >= a.time:
        return 0.0
    return TIME_PENALTY * (1.0 - math.exp(-(a.time - b.time) / TIME_SCALE))


# Weights of the terms of a registered pair's cost, fitted (conditional logit: each copy's true
# parent against all the others and the original) on synthetic cascades made with another seed
# than the benchmark's (7 and 11; `fit` in bench/spread.py). Units: one unit of cost is one nat.
WEIGHTS: dict[str, float] = {
    "difference": 0.002,
    "remake": 2.878,
    "residual": 0.0,
    "outside": 7.125,
    "overlay_lost": 2.38,
    "overlay_added": 0.229,
    "less_loss": 0.0,
    "finer": 3.674,
    "quality_up": 0.389,
    "quality_down": 0.0,
    "frame_lost": 6.642,
    "flip": 1.549,
    "step_crop": 2.269,
    "step_scale": 0.0,
    "step_upscale": 1.793,
    "step_quality": 0.0,
    "step_frame": 0.101,
    "step_overlay": 0.0,
    "time_before": 6.852,
    "time_after": 2.095,
}
ORIGIN_WEIGHTS: dict[str, float] = {
    "loss": 3.226,
    "overlay": 0.61,
    "hidden": 9.782,
    "finer": 0.0,
    "frame": 4.486,
    "time_after": 2.27,
}


def _registered_cost(a: Copy, b: Copy) -> tuple[float, str]:
    parts = registered_parts(a, b)
    return sum(WEIGHTS[k] * v for k, v in parts.items()), _how_registered(a, b)


def registered_parts(a: Copy, b: Copy) -> dict[str, float]:
    """The terms of the cost of "b was made from a", both registered to the original (unweighted)."""
    assert a.mask is not None and b.mask is not None and a.gray is not None and b.gray is not None
    assert a.overlay is not None and b.overlay is not None and a.residual is not None and b.residual is not None
    assert a.keep is not None and b.keep is not None
    parts: dict[str, float] = dict.fromkeys(WEIGHTS, 0.0)
    nb = float(b.mask.sum())
    common = a.mask & b.mask
    coarser = b.resolution < 0.95 * a.resolution
    if common.sum() < 0.05 * nb:
        parts["difference"] = DIFF_CLIP
        parts["residual"] = 1.0
    else:
        parts["difference"] = copy_difference(a, b)
        both = a.keep & b.keep
        if both.sum() > 64 and WEIGHTS["residual"]:
            ra = (degrade(a.residual, b.resolution) if coarser else a.residual)[both]
            rb = b.residual[both]
            den = math.sqrt(float((ra * ra).sum()) * float((rb * rb).sum()))
            parts["residual"] = 1.0 - (float((ra * rb).sum()) / den if den > 0 else 0.0)
        else:
            parts["residual"] = 1.0
    parts["outside"] = float((b.mask & ~_dilate(a.mask)).sum()) / nb
    inherited = a.overlay & b.mask
    if inherited.sum() > 0.002 * nb:
        parts["overlay_lost"] = float((inherited & ~_dilate(b.overlay, _K5)).sum()) / float(inherited.sum())
    parts["overlay_added"] = float((b.overlay & ~_dilate(a.overlay, _K5)).sum()) / nb
    if a.loss is not None and b.loss is not None:
        parts["less_loss"] = min(5.0, max(0.0, a.loss - b.loss))
    if a.scale and b.scale:
        parts["finer"] = max(0.0, math.log(b.scale / a.scale) - 0.04)
    if a.quality is not None and b.quality is not None:
        parts["quality_up"] = max(0.0, b.quality - a.quality) / 10
        parts["quality_down"] = max(0.0, a.quality - b.quality) / 10
    parts["frame_lost"] = max(0.0, a.frame - b.frame - 0.03)
    parts["flip"] = 1.0 if a.flip != b.flip else 0.0
    # Each edit the step from a to b needs (parsimony: the true parent needs the fewest).
    parts["step_crop"] = 1.0 if a.mask.sum() > 1.03 * common.sum() else 0.0
    if a.scale and b.scale:
        parts["step_scale"] = 1.0 if b.scale < 0.95 * a.scale else 0.0
        parts["step_upscale"] = 1.0 if b.scale > 1.05 * a.scale else 0.0
    if a.quality is not None and b.quality is not None:
        parts["step_quality"] = 1.0 if abs(a.quality - b.quality) > 0.5 else 0.0
    parts["step_frame"] = 1.0 if abs(a.frame - b.frame) > 0.02 else 0.0
    parts["step_overlay"] = 1.0 if parts["overlay_added"] > 0.002 else 0.0
    parts["time_before"], parts["time_after"] = _time_parts(a.time, b.time)
    return parts


DIFF_CLIP = 20.0  # grey levels: added content weighs no more than this per pixel


def copy_difference(a: Copy, b: Copy) -> float:
    """How far b is from a resampled onto b's pixels (anti-aliased when it shrinks), on the pixels
    of b that a covers: small when b is a (cropped, scaled, flipped) re-encode of a."""
    assert a.pixels is not None and b.pixels is not None and a.matrix is not None and b.matrix is not None
    assert a.inside is not None and b.inside is not None
    m = b.matrix @ np.linalg.inv(a.matrix)  # a's pixels -> b's pixels
    shape = b.pixels.shape
    warped = warp_original_to_candidate(a.pixels, m, shape)
    cov = cv2.warpPerspective(a.inside.astype(np.float32), m, (shape[1], shape[0]), flags=cv2.INTER_LINEAR)
    valid = cv2.erode(((cov > 0.999) & b.inside).astype(np.uint8), _K3) > 0
    if valid.sum() < 64:
        return DIFF_CLIP
    x, y = warped[valid], b.pixels[valid]
    gain, off = _fit(x, y)
    return float(np.minimum(np.abs(gain * x + off - y), DIFF_CLIP).mean())


def _fit(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    if len(x) < 16 or float(x.std()) < 1e-3:
        return 1.0, 0.0
    a = float(np.cov(x, y, bias=True)[0, 1] / x.var())
    if not 0.5 < a < 2.0:
        return 1.0, float(y.mean() - x.mean())
    return a, float(y.mean() - a * x.mean())


def _time_parts(ta: float | None, tb: float | None) -> tuple[float, float]:
    """(how far b was seen before a, saturating; how long after, log) in TIME_SCALE units."""
    if ta is None or tb is None:
        return 0.0, 0.0
    if tb < ta:
        return 1.0 - math.exp(-(ta - tb) / TIME_SCALE), 0.0
    return 0.0, math.log1p((tb - ta) / TIME_SCALE)


def origin_parts(b: Copy, t0: float | None) -> dict[str, float]:
    """The terms of the cost of "b is the first public copy" (registered; unweighted)."""
    parts = dict.fromkeys(ORIGIN_WEIGHTS, 0.0)
    parts["loss"] = b.loss or 0.0
    parts["overlay"] = b.overlay_fraction
    parts["hidden"] = 1.0 - (b.visible_fraction or 0.0)
    parts["finer"] = max(0.0, math.log(b.scale or 1.0) - 0.04)
    parts["frame"] = b.frame
    parts["time_after"] = _time_parts(t0, b.time)[1]
    return parts


def _quality_cost(a: Copy, b: Copy) -> float:
    if a.quality is None or b.quality is None:
        return 0.0
    return 0.15 * max(0.0, b.quality - a.quality - 2)


def _how_registered(a: Copy, b: Copy) -> str:
    steps = []
    if (b.visible_fraction or 0) < 0.97 * (a.visible_fraction or 0):
        steps.append("crop")
    if b.scale and a.scale and b.scale < 0.93 * a.scale:
        steps.append("downscale")
    elif b.scale and a.scale and b.scale > 1.07 * a.scale:
        steps.append("upscale")
    if a.flip != b.flip:
        steps.append("flip")
    if abs((a.rotation or 0) - (b.rotation or 0)) > 2:
        steps.append("rotate")
    if b.frame > a.frame + 0.03:
        steps.append("frame")
    if a.overlay is not None and b.overlay is not None and b.mask is not None:
        added = b.overlay & ~_dilate(a.overlay, _K5)
        if added.sum() > 0.003 * b.mask.sum():
            steps.append("overlay")
    if a.quality is not None and b.quality is not None and b.quality < a.quality - 2:
        steps.append("jpeg")
    if not steps:
        steps.append("re-encode" if a.sha256 != b.sha256 or a.sha256 is None else "same file")
    return "+".join(steps)


def _hash_cost(a: Copy, b: Copy) -> tuple[float, str]:
    """What rests on hashes, sizes and times."""
    cost = 0.0
    if a.hash_bits is not None and b.hash_bits is not None:
        cost += 0.5 * float(np.count_nonzero(a.hash_bits != b.hash_bits))
    else:
        cost += 20.0
    if a.bank_distance is not None and b.bank_distance is not None:
        cost += 0.3 * max(0, a.bank_distance - b.bank_distance - 4)
    if a.width and b.width and a.height and b.height:
        cost += 12.0 * max(0.0, math.log((b.width * b.height) / (a.width * a.height)) / 2 - 0.04)
    elif a.size and b.size:
        cost += 2.0 * max(0.0, math.log(b.size / a.size) - 0.2)
    cost += _quality_cost(a, b)
    steps = []
    if a.width and b.width and b.width * (b.height or 1) < 0.85 * a.width * (a.height or 1):
        steps.append("smaller")
    if a.quality is not None and b.quality is not None and b.quality < a.quality - 2:
        steps.append("jpeg")
    return cost, "+".join(steps) or "re-encode"


def _video_cost(a: Copy, b: Copy) -> tuple[float, str]:
    cost = 0.0
    steps = []
    if a.clip is not None and b.clip is not None and b.duration:
        outside = max(0.0, a.clip[0] - b.clip[0] - 0.15) + max(0.0, b.clip[1] - a.clip[1] - 0.15)
        cost += 40.0 * min(1.0, outside / b.duration)
        cost += 4.0 * abs((a.clip[1] - a.clip[0]) - (b.clip[1] - b.clip[0])) / max(a.duration or 1.0, 1.0)
        if b.duration < (a.duration or 0) - 0.3:
            steps.append("clip")
    elif a.duration and b.duration:
        cost += 10.0 * max(0.0, b.duration - a.duration - 0.3) / b.duration
        if b.duration < a.duration - 0.3:
            steps.append("clip")
    if a.width and b.width and a.height and b.height:
        r = math.log((b.width * b.height) / (a.width * a.height)) / 2
        cost += 20.0 * max(0.0, r - 0.02) + 2.0 * abs(r)
        if r < -0.05:
            steps.append("downscale")
    if a.bitrate and b.bitrate:
        r = math.log(b.bitrate / a.bitrate)
        cost += 3.0 * max(0.0, r - 0.1) + 1.0 * abs(r)
        if r < -0.1 and "downscale" not in steps:
            steps.append("re-encode")
    return cost, "+".join(steps) or "re-encode"


def pair_cost(a: Copy, b: Copy) -> tuple[float, str, str]:
    """(cost, how, basis) of "b was made from a"."""
    if a.kind == "video" or b.kind == "video":
        cost, how = _video_cost(a, b)
        basis = "video"
    elif a.registered and b.registered:
        return (*_registered_cost(a, b), "registered")
    else:
        cost, how = _hash_cost(a, b)
        basis = "hash, size, time"
    return cost + _time_cost(a, b), how, basis


def origin_cost(b: Copy, t0: float | None, family: list[Copy]) -> tuple[float, str, str]:
    """Cost of "b was made from the original" (before ROOT_COST)."""
    if b.kind == "video":
        # The first upload of a video is its longest, sharpest copy of the family.
        longest = max((c.duration or 0.0) for c in family)
        pixels = max((c.width or 0) * (c.height or 0) for c in family)
        cost = 10.0 * (1.0 - (b.duration or 0.0) / longest) if longest else 0.0
        if pixels and b.width and b.height:
            cost += 20.0 * max(0.0, -math.log(b.width * b.height / pixels) / 2 - 0.02)
        basis = "video"
    elif b.registered:
        parts = origin_parts(b, t0)
        return sum(ORIGIN_WEIGHTS[k] * v for k, v in parts.items()), "first public copy", "registered"
    else:
        cost = 0.5 * float(b.bank_distance or 0)
        basis = "hash, size, time"
    if t0 is not None and b.time is not None:
        cost += TIME_PENALTY * (1.0 - math.exp(-(b.time - t0) / TIME_SCALE))
    return cost, "first public copy", basis


def group_identical(copies: list[Copy]) -> list[Copy]:
    """Copies with the same SHA-256 become one node (its ids in time order)."""
    out: list[Copy] = []
    by_sha: dict[str, Copy] = {}
    for c in sorted(copies, key=_order):
        if c.sha256 and c.sha256 in by_sha:
            node = by_sha[c.sha256]
            node.ids.extend(c.ids)
            node.time = c.time if node.time is None else node.time
            continue
        node = Copy(**{**c.__dict__, "ids": list(c.ids), "notes": list(c.notes)})
        out.append(node)
        if c.sha256:
            by_sha[c.sha256] = node
    return out


def _order(c: Copy) -> tuple[float, int]:
    return (math.inf if c.time is None else c.time, c.id)


def column_parts(nodes: list[Copy], j: int, t0: float | None) -> dict[int, dict[str, float]]:
    """The cost terms of every registered candidate parent of node j (len(nodes): the original),
    with the differences taken relative to the smallest (so that they mean the same on a smooth
    photo and a textured one)."""
    b = nodes[j]
    out: dict[int, dict[str, float]] = {}
    if not b.registered or b.kind != "image":
        return out
    for i, a in enumerate(nodes):
        if i != j and a.registered and a.kind == "image":
            out[i] = registered_parts(a, b)
    out[len(nodes)] = origin_parts(b, t0)
    best = min([p["difference"] for k, p in out.items() if k < len(nodes)], default=b.loss or 1.0)
    scale = 0.5 + min(best, b.loss or best)
    for k, p in out.items():
        if k < len(nodes):
            p["difference"] = p["difference"] / scale - 1.0
        else:
            p["loss"] = p["loss"] / scale
    _add_remake(nodes, j, out)
    return out


REMAKE_CANDIDATES = 6  # parents re-made per copy (twice: by the other terms, by the difference)
REMAKE_FLOOR = 0.3  # grey levels: below this, residuals are rounding


def _add_remake(nodes: list[Copy], j: int, parts: dict[int, dict[str, float]]) -> None:
    """The "remake" term: how much more of copy j is left unexplained when it is re-made from a
    candidate than from the best one (log ratio). Measured for the plausible candidates only;
    the others count as the worst of those."""
    n = len(nodes)
    cands = [i for i in parts if i < n]
    if not cands:
        return
    # Plausible: the nearest by the other terms, and the nearest by the plain difference.
    pre = {i: sum(WEIGHTS[k] * v for k, v in parts[i].items()) for i in cands}
    plausible = sorted(cands, key=lambda i: (pre[i], i))[:REMAKE_CANDIDATES]
    plausible += [
        i for i in sorted(cands, key=lambda i: (parts[i]["difference"], i))[:REMAKE_CANDIDATES] if i not in plausible
    ]
    got = {i: remake_residual(nodes[i], nodes[j]) for i in plausible}
    vals = {i: v for i, v in got.items() if v is not None}
    if not vals:
        return
    best = min(vals.values())
    ratio = {i: math.log((v + REMAKE_FLOOR) / (best + REMAKE_FLOOR)) for i, v in vals.items()}
    worst = max(ratio.values())
    for i in cands:
        parts[i]["remake"] = ratio.get(i, worst)


def column_costs(nodes: list[Copy], j: int, t0: float | None) -> list[tuple[int, float, str, str]]:
    """(candidate, cost, how, basis) of every candidate parent of node j."""
    n = len(nodes)
    b = nodes[j]
    parts = column_parts(nodes, j, t0)
    out = []
    for i in range(n + 1):
        if i == j:
            continue
        if i in parts:
            w = ORIGIN_WEIGHTS if i == n else WEIGHTS
            c = sum(w[k] * v for k, v in parts[i].items())
            how = "first public copy" if i == n else _how_registered(nodes[i], b)
            out.append((i, c, how, "registered"))
        elif i == n:
            out.append((i, *origin_cost(b, t0, nodes)))
        else:
            out.append((i, *pair_cost(nodes[i], b)))
    return out


def estimate(copies: list[Copy]) -> Lineage:
    """The most likely derivation tree of one item's copies."""
    if not copies:
        return Lineage(None, 0.0, ["no sightings"], [])
    nodes = group_identical(copies)
    nodes.sort(key=_order)
    n = len(nodes)
    times = [c.time for c in nodes if c.time is not None]
    t0 = min(times) if times else None
    # cost[i][j]: node i -> node j; index n is the original.
    cost = np.full((n + 1, n), np.inf)
    how: dict[tuple[int, int], tuple[str, str]] = {}
    for j in range(n):
        for i, c, h, basis in column_costs(nodes, j, t0):
            cost[i, j] = c
            how[(i, j)] = (h, basis)
    g = nx.DiGraph()
    g.add_nodes_from(range(n + 1))
    for j in range(n):
        for i in range(n + 1):
            if i != j:
                # The tiny term makes every weight distinct in a fixed order: ties cannot depend
                # on the order the evidence came in.
                w = round(float(cost[i, j]) + (ROOT_COST if i == n else 0.0), 6) + 1e-9 * (i * (n + 1) + j)
                g.add_edge(i, j, weight=w)
    if n == 1:
        parent = {0: n}
    else:
        arb = nx.minimum_spanning_arborescence(g, attr="weight", default=math.inf)
        parent = {v: u for u, v in arb.edges()}
    edges: list[Edge] = []
    roots = [j for j in range(n) if parent[j] == n]
    for j in range(n):
        i = parent[j]
        col = cost[:, j]
        finite = np.isfinite(col)
        h, basis = how[(i, j)]
        temp = TEMPERATURE if basis == "registered" else HAND_TEMPERATURE
        weights = np.exp(-(col[finite] - col[finite].min()) / temp)
        conf = float(np.exp(-(col[i] - col[finite].min()) / temp) / weights.sum())
        if basis == "hash, size, time":
            conf = min(conf, HASH_ONLY_CAP)
        if i != n:
            edges.append(Edge(nodes[i].id, nodes[j].id, conf, h, basis, float(col[i])))
    root = nodes[roots[0]] if roots else nodes[0]
    root_conf, reasons = _root(nodes, cost, roots[0] if roots else 0, parent)
    if not root.registered and root.kind != "video" and n > 1:
        root_conf = min(root_conf, HASH_ONLY_CAP)
    for node in nodes:
        for later in node.ids[1:]:
            edges.append(Edge(node.id, later, 1.0, "same file", "same file"))
    return Lineage(root.id, root_conf, reasons, edges, nodes)


def _root(nodes: list[Copy], cost: np.ndarray, r: int, parent: dict[int, int]) -> tuple[float, list[str]]:
    """The root's confidence (its share against the nearest alternatives) and the reasons for it."""
    n = len(nodes)
    root = nodes[r]
    reasons: list[str] = []
    if n == 1:
        return 1.0, ["the only copy found"]
    # Alternatives: each other node taken as the root instead, the rest re-attached greedily.
    total = {}
    for k in range(n):
        c = cost[n, k]
        for j in range(n):
            if j != k:
                col = cost[:n, j].copy()
                col[j] = np.inf
                c += float(col.min())
        total[k] = c
    best = min(total.values())
    w = {k: math.exp(-(v - best) / TEMPERATURE) for k, v in total.items()}
    conf = w[r] / sum(w.values())
    others = [c for i, c in enumerate(nodes) if i != r]
    if root.registered:
        if root.loss is not None and all(o.loss is None or root.loss <= o.loss for o in others):
            reasons.append(f"closest to the original of all copies (mean difference {root.loss:.1f} grey levels)")
        if all((root.visible_fraction or 0) >= (o.visible_fraction or 0) - 0.01 for o in others if o.registered):
            reasons.append(f"shows the most of the original ({100 * (root.visible_fraction or 0):.0f} %)")
        if root.overlay_fraction < 0.003:
            reasons.append("no added caption, watermark or overlay")
        if all((root.scale or 0) >= (o.scale or 0) * 0.98 for o in others if o.registered):
            reasons.append(f"the highest resolution of the copies ({root.width}x{root.height})")
    elif root.kind == "video":
        if root.duration and all((o.duration or 0) <= root.duration + 0.2 for o in others):
            reasons.append(f"the longest of the copies ({root.duration:.1f} s)")
        if root.width and all((o.width or 0) * (o.height or 0) <= root.width * (root.height or 0) for o in others):
            reasons.append(f"the highest resolution of the copies ({root.width}x{root.height})")
    else:
        reasons.append("no registered media: rests on hash distances, sizes and times only")
        if root.bank_distance is not None and all(
            o.bank_distance is None or root.bank_distance <= o.bank_distance for o in others
        ):
            reasons.append(f"nearest hash to the original (distance {root.bank_distance})")
    if root.quality is not None and all(o.quality is None or root.quality >= o.quality for o in others):
        reasons.append(f"the finest JPEG quantisation of the copies (quality about {root.quality:.0f})")
    if root.time is not None and all(o.time is None or root.time <= o.time for o in others):
        reasons.append("the earliest post or first-seen time")
    elif root.time is not None:
        earlier = sum(1 for o in others if o.time is not None and o.time < root.time)
        reasons.append(f"{earlier} cop{'y was' if earlier == 1 else 'ies were'} seen earlier, but look made from it")
    kids = sum(1 for j, p in parent.items() if p == r)
    if kids:
        reasons.append(f"{kids} cop{'y looks' if kids == 1 else 'ies look'} made directly from it")
    return conf, reasons
