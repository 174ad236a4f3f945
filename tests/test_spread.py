"""How a leak spread: the estimated tree of copies, its first public copy, the timeline, the command
and the evidence bundle's spread section."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from unleak.spread import Copy, describe_image, estimate, reference


def _jpeg(img: np.ndarray, q: int) -> tuple[np.ndarray, bytes]:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "JPEG", quality=q)
    data = buf.getvalue()
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB")), data


def _shrink(img: np.ndarray, f: float) -> np.ndarray:
    h, w = img.shape[:2]
    return np.asarray(Image.fromarray(img).resize((round(w * f), round(h * f)), Image.Resampling.LANCZOS))


def _caption(img: np.ndarray, *, small: bool = False) -> np.ndarray:
    pil = Image.fromarray(img)
    d = ImageDraw.Draw(pil)
    if small:  # a watermark in a corner
        d.text((8, 6), "@site", fill=(255, 255, 255), font_size=16, stroke_width=1, stroke_fill=(0, 0, 0))
    else:
        d.rectangle((10, 10, 150, 42), fill=(255, 255, 255))
        d.text((14, 12), "repost", fill=(0, 0, 0), font_size=24)
    return np.asarray(pil)


def _frame(img: np.ndarray) -> np.ndarray:
    h, w = img.shape[:2]
    canvas = np.full((h + 90, w, 3), 240, np.uint8)
    canvas[40 : 40 + h] = img
    canvas[:20] = 60
    return canvas


@pytest.fixture(scope="module")
def cascade(samples) -> tuple[np.ndarray, dict[str, tuple[np.ndarray, bytes]], dict[str, str | None]]:
    """A known tree. first: the first upload; crop and small from it; caption from crop; shot (a
    screenshot) from caption; flip from small; worse (a lower-quality re-encode) from small."""
    photo = np.asarray(Image.open(next(p for p in samples if p.name == "chelsea.png")).convert("RGB"))
    first = _jpeg(photo, 88)
    crop = _jpeg(np.ascontiguousarray(first[0][40:260, 60:380]), 88)
    caption = _jpeg(_caption(crop[0]), 88)
    shot = _jpeg(_frame(caption[0]), 92)
    small = _jpeg(_shrink(first[0], 0.6), 80)
    flip = _jpeg(np.ascontiguousarray(small[0][:, ::-1]), 80)
    worse = _jpeg(small[0], 50)
    copies = {
        "first": first,
        "crop": crop,
        "small": small,
        "caption": caption,
        "shot": shot,
        "flip": flip,
        "worse": worse,
    }
    parents = {
        "first": None,
        "crop": "first",
        "small": "first",
        "caption": "crop",
        "shot": "caption",
        "flip": "small",
        "worse": "small",
    }
    return photo, copies, parents


def _describe(photo, copies, times) -> list[Copy]:
    ref = reference(photo)
    return [
        describe_image([i + 1], img, ref, data=data, time=times[name])
        for i, (name, (img, data)) in enumerate(copies.items())
    ]


def test_a_copy_is_re_made_best_from_its_parent(cascade):
    # Re-made from its parent (moved into its geometry, then its own JPEG table), a copy leaves
    # less behind than re-made from its grandparent or a sibling; a child cannot re-make it.
    from unleak.spread.pairwise import remake_residual

    photo, copies, _ = cascade
    names = list(copies)
    cs = dict(zip(names, _describe(photo, copies, dict.fromkeys(names, 0.0)), strict=True))
    assert cs["worse"].qtable is not None and cs["worse"].luma is not None

    def left(a: str, b: str) -> float:
        r = remake_residual(cs[a], cs[b])
        assert r is not None, (a, b)
        return r

    assert left("small", "flip") < 0.5 * min(left("first", "flip"), left("worse", "flip"))
    assert left("small", "worse") < 0.5 * min(left("first", "worse"), left("flip", "worse"))
    assert left("caption", "shot") < 0.5 * left("first", "shot")
    assert left("first", "small") < 0.8 * left("worse", "small")
    assert remake_residual(cs["small"], cs["first"]) is None  # an upscale: no parent makes that


def test_a_hand_built_cascade_gives_its_tree(cascade):
    photo, copies, parents = cascade
    names = list(copies)
    # Noisy times: the screenshot was first seen before the copy it was made from.
    times = {"first": 0.0, "crop": 3.0, "small": 2.0, "caption": 9.0, "shot": 8.0, "flip": 5.0, "worse": 7.0}
    lin = estimate(_describe(photo, copies, times))
    got = {names[e.child - 1]: names[e.parent - 1] for e in lin.edges}
    assert names[lin.root - 1] == "first"
    assert got == {k: v for k, v in parents.items() if v}
    how = {names[e.child - 1]: e.how for e in lin.edges}
    assert "crop" in how["crop"] and "downscale" in how["small"] and "overlay" in how["caption"]
    assert "flip" in how["flip"] and "jpeg" in how["worse"] and "frame" in how["shot"]
    assert all(0 < e.confidence <= 1 for e in lin.edges)
    assert any("original" in r for r in lin.root_reasons)


def test_input_order_ties_and_cycles_do_not_change_the_tree(cascade):
    photo, copies, _ = cascade
    times = dict.fromkeys(copies, 0.0)  # no help from time: every copy posted at once
    described = _describe(photo, copies, times)
    first = estimate(described)
    for seed in range(3):
        order = list(np.random.default_rng(seed).permutation(len(described)))
        again = estimate([described[i] for i in order])
        assert again.root == first.root
        assert [(e.parent, e.child, e.how) for e in again.edges] == [(e.parent, e.child, e.how) for e in first.edges]


def test_hash_only_copies_with_equal_evidence_resolve_the_same_way_every_time():
    bits = np.zeros(256, np.uint8)
    # Three copies that look alike in every way (a cycle of equally good parents): the tie is
    # broken by time, then by sighting id, whatever order they come in.
    copies = [Copy(ids=[i], hash_bits=bits, bank_distance=8, time=5.0) for i in (7, 3, 5)]
    results = set()
    for order in ([0, 1, 2], [2, 1, 0], [1, 0, 2]):
        lin = estimate([copies[i] for i in order])
        results.add((lin.root, tuple((e.parent, e.child) for e in lin.edges)))
    assert len(results) == 1
    ((root, _edges),) = results
    assert root == 3
    lin = estimate(copies)
    assert all(e.basis == "hash, size, time" and e.confidence <= 0.5 for e in lin.edges)
    assert any("hash distances" in r for r in lin.root_reasons)


def test_one_copy_is_a_one_node_tree_and_same_files_are_one_node():
    lin = estimate([Copy(ids=[4], time=1.0)])
    assert lin.root == 4 and lin.edges == [] and lin.root_confidence == 1.0
    same = [Copy(ids=[9], sha256="a" * 64, time=3.0), Copy(ids=[2], sha256="a" * 64, time=1.0)]
    lin = estimate(same)
    assert lin.root == 2 and len(lin.nodes) == 1
    assert [(e.parent, e.child, e.how) for e in lin.edges] == [(2, 9, "same file")]


def test_no_copies_is_no_tree():
    lin = estimate([])
    assert lin.root is None and lin.edges == []


# --- through the store, the command and the bundle ----------------------------------------------


@pytest.fixture
def scanned(store, cascade, tmp_path):
    """The cascade's copies found by a folder scan (captured), the original protected."""
    from unleak.bank import Bank
    from unleak.monitor.scan import Scanner, ScanOptions
    from unleak.monitor.sources import add_source
    from unleak.net.fetch import FetchPolicy

    photo, copies, _ = cascade
    original = tmp_path / "original.png"
    Image.fromarray(photo).save(original)
    folder = tmp_path / "found"
    folder.mkdir()
    first = copies["first"][0]
    small = _jpeg(_shrink(first, 0.8), 80)  # mild changes: the perceptual hash still matches
    found = {"first": copies["first"], "small": small, "caption": _jpeg(_caption(small[0], small=True), 80)}
    for name, (_, data) in found.items():
        (folder / f"{name}.jpg").write_bytes(data)
    Bank(store, "sp").protect([original])
    src = add_source(store, "sp", "folder", [str(folder)])
    Scanner(store, "sp", ScanOptions(policy=FetchPolicy(rate=None), verify="off")).scan_source(src.id)
    return store


def _by_name(store) -> dict[int, str]:
    from sqlalchemy import select

    from unleak.store.models import Sighting

    with store.session() as s:
        return {si.id: Path(si.media_url).stem for si in s.scalars(select(Sighting))}


def test_spread_of_a_scanned_case(scanned):
    from unleak.spread.case import spread_case

    names = _by_name(scanned)
    assert sorted(names.values()) == ["caption", "first", "small"]
    (sp,) = spread_case(scanned, "sp")
    assert names[sp.lineage.root] == "first"
    assert {names[e.child]: names[e.parent] for e in sp.lineage.edges} == {"small": "first", "caption": "small"}
    assert all(e.basis == "registered" for e in sp.lineage.edges)
    assert sp.timeline and sp.timeline[0]["reuploads"] == 0 and sp.timeline[0]["removed_at"] is None
    # Without media, the edges rest on what the sightings hold, and say so.
    (bare,) = spread_case(scanned, "sp", media=False)
    assert all(e.basis == "hash, size, time" and e.confidence <= 0.5 for e in bare.lineage.edges)


def test_spread_command_json_and_pictures(scanned, cli, tmp_path, monkeypatch):
    monkeypatch.setenv("UNLEAK_DB", scanned.url)
    code, out, err = cli("spread", "--case", "sp", "--json")
    assert code == 0, err
    (obj,) = [json.loads(line) for line in out.splitlines()]
    assert {"item", "root", "root_reasons", "edges", "timeline", "statement"} <= set(obj)
    assert set(obj["edges"][0]) >= {"parent", "child", "confidence", "how"}
    assert set(obj["timeline"][0]) >= {"host", "first_seen", "removed_at", "reuploads"}
    assert "not necessarily" in obj["statement"]
    code, out, _ = cli("spread", "--case", "sp", "--item", str(obj["item"]), "--out", tmp_path / "tree.png")
    assert code == 0 and "estimate" in out and "first public copy" in out
    assert (tmp_path / "tree.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for suffix in ("svg", "html"):
        assert cli("spread", "--case", "sp", "--out", tmp_path / f"tree.{suffix}")[0] == 0
    assert "not necessarily" in (tmp_path / "tree.html").read_text()
    from unleak.errors import InvalidInput

    with pytest.raises(InvalidInput, match="item 999 is not in case sp"):
        cli("spread", "--case", "sp", "--item", "999")


def test_one_sighting_gives_a_one_node_tree(store, cascade, tmp_path):
    from unleak.bank import Bank
    from unleak.monitor.scan import Scanner, ScanOptions
    from unleak.monitor.sources import add_source
    from unleak.net.fetch import FetchPolicy
    from unleak.spread.case import spread_case

    photo, copies, _ = cascade
    original = tmp_path / "original.png"
    Image.fromarray(photo).save(original)
    folder = tmp_path / "found"
    folder.mkdir()
    (folder / "only.jpg").write_bytes(copies["small"][1])
    Bank(store, "one").protect([original])
    src = add_source(store, "one", "folder", [str(folder)])
    Scanner(store, "one", ScanOptions(policy=FetchPolicy(rate=None), verify="off")).scan_source(src.id)
    (sp,) = spread_case(store, "one")
    assert sp.lineage.root is not None and sp.lineage.edges == []
    assert sp.to_json()["root_reasons"] == ["the only copy found"]


def test_the_bundle_carries_the_spread(scanned, tmp_path):
    from unleak.evidence.export import BUNDLE_VERSION, export_bundle
    from unleak.evidence.verify import verify_bundle
    from unleak.spread.case import bundle_section

    r = export_bundle(scanned, "sp", tmp_path / "bundle", pdf=True, spread=bundle_section)
    names = _by_name(scanned)
    sightings = {names[s["id"]]: s for s in json.loads((r.path / "sightings.json").read_text())}
    assert sightings["first"]["first_public_copy"] is True and sightings["first"]["derived_from"] is None
    assert names[sightings["caption"]["derived_from"]] == "small"
    assert 0 < sightings["caption"]["derived_confidence"] <= 1
    assert json.loads((r.path / "bundle.json").read_text())["version"] == BUNDLE_VERSION == 3
    html = (r.path / "report.html").read_text()
    assert "How the leak spread" in html and "not necessarily" in html
    assert (r.path / "spread.png").exists() and "spread.png" in (r.path / "manifest.sha256").read_text()
    assert verify_bundle(r.path).ok
