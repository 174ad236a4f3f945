"""`unleak demo`: the whole system, end to end, on benign sample photos, in a throw-away folder.

Each stage adds a step here as it lands, so a newcomer sees everything work in one command.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageEnhance, ImageOps
from rich.text import Text

from unleak.errors import UnleakError
from unleak.samples import sample_images

# Alterations a reposter makes that whole-image matching must survive.
ALTERATIONS: dict[str, Callable[[Image.Image], Image.Image]] = {
    "jpeg-q50": lambda im: im,  # quality applied when saving
    "half-size": lambda im: im.resize((im.width // 2, im.height // 2), Image.Resampling.LANCZOS),
    "greyscale": lambda im: ImageOps.grayscale(im).convert("RGB"),
    "brighter": lambda im: ImageEnhance.Brightness(im).enhance(1.2),
    "mirrored": ImageOps.mirror,
    "rotated-90": lambda im: im.transpose(Image.Transpose.ROTATE_90),
    # Beyond what a hash alone survives: found by checking against the originals on this machine.
    "centre-crop": lambda im: im.crop((im.width // 5, im.height // 5, im.width * 4 // 5, im.height * 4 // 5)),
}


@dataclass
class DemoLayout:
    root: Path
    private: Path  # the owner's private photos (here: sample photos)
    found: Path  # what turned up elsewhere: altered copies and unrelated images
    home: Path  # unleak's data folder for the demo


def prepare(root: Path, n_protected: int = 7) -> tuple[DemoLayout, dict[str, str | None]]:
    """Lay out private photos, altered copies and distractors. Returns the layout and the truth:
    candidate file name -> label of the protected original (None for an unrelated image)."""
    layout = DemoLayout(root, root / "private", root / "found-online", root / "home")
    for p in (layout.private, layout.found, layout.home):
        p.mkdir(parents=True, exist_ok=True)
    photos = [p for p in sample_images() if _is_photo(p)]
    protected, others = photos[:n_protected], photos[n_protected:]
    truth: dict[str, str | None] = {}
    for i, src in enumerate(protected):
        dst = layout.private / src.name
        shutil.copyfile(src, dst)
        image = Image.open(src).convert("RGB")
        name, alter = list(ALTERATIONS.items())[i % len(ALTERATIONS)]
        out = layout.found / f"copy-{i:02d}-{name}.jpg"
        alter(image).save(out, quality=50 if name == "jpeg-q50" else 85)
        truth[out.name] = dst.stem
    for j, src in enumerate(others):
        out = layout.found / f"unrelated-{j:02d}.jpg"
        Image.open(src).convert("RGB").save(out, quality=80)
        truth[out.name] = None
    return layout, truth


def _is_photo(path: Path) -> bool:
    with Image.open(path) as im:
        return min(im.size) >= 256


def run(root: Path | None = None, *, keep: bool = False, console=None) -> bool:
    """Run the demo; True when every stage gave the right answer."""
    from rich.console import Console

    from unleak.bank import Bank
    from unleak.store import open_store

    console = console or Console()
    root = Path(root) if root else Path(tempfile.mkdtemp(prefix="unleak-demo-"))
    layout, truth = prepare(root)
    old_home = os.environ.get("UNLEAK_HOME")
    os.environ["UNLEAK_HOME"] = str(layout.home)
    ok = False
    try:
        store = open_store(f"sqlite:///{layout.home / 'unleak.db'}")
        try:
            console.rule("[bold]1. protect")
            console.print(f"Your private photos are in {layout.private} (sample photos stand in for them).")
            bank = Bank(store, "demo")
            results = bank.protect([layout.private], variants=True)
            console.print(
                f"Fingerprinted {sum(1 for r in results if not r.error)} photos locally; the bank keeps "
                "their PDQ, SHA-256 and MD5 hashes (and of a few crops), never the photos."
            )
            ok = _match_step(bank, layout, truth, console)
            ok &= _find_document_take_down_step(store, layout, console)
            ok &= _spread_step(store, layout, console)
            ok &= _trace_step(store, layout, console)
            ok &= _platform_step(store, layout, truth, console)
        finally:
            store.close()
    finally:
        if old_home is None:
            os.environ.pop("UNLEAK_HOME", None)
        else:
            os.environ["UNLEAK_HOME"] = old_home
        if not keep:
            shutil.rmtree(root, ignore_errors=True)
        else:
            console.print(f"Demo files kept in {root}")
    console.rule(
        "[bold green]demo complete: every stage gave the right answer" if ok else "[bold red]demo found a problem"
    )
    return ok


def _match_step(bank, layout: DemoLayout, truth: dict[str, str | None], console) -> bool:
    from unleak.console import table
    from unleak.match import Matcher

    console.rule("[bold]2. match")
    console.print(f"{len(truth)} images turned up in {layout.found}: altered copies and unrelated photos.")
    matcher = Matcher(bank)
    rows, ok = [], True
    for result in matcher.match_paths([layout.found]):
        name = Path(result.path).name
        expected = truth.get(name)
        best = result.matches[0] if result.matches else None
        got = best.label if best else None
        ok &= got == expected
        how = ""
        if best:
            how = f"PDQ, {best.distance} bits" if best.signal == "pdq" else "checked against the original"
        rows.append(
            (
                name,
                expected or "-",
                got or "-",
                how,
                _rate(best.false_match_rate) if best else "",
                Text("yes", style="green") if got == expected else Text("NO", style="red"),
            )
        )
    table(
        "Which protected photo is each image a copy of?",
        ["image found online", "truly a copy of", "unleak says", "how", "false-match rate", "right"],
        rows,
    )
    copies = sum(1 for v in truth.values() if v)
    console.print(
        f"Found {sum(1 for r in rows if r[1] != '-' and r[1] == r[2])} of {copies} altered copies; "
        f"{sum(1 for r in rows if r[1] == '-' and r[2] != '-')} false matches "
        f"among {len(truth) - copies} unrelated images."
    )
    return ok


def _rate(rate: float | None) -> str:
    if rate is None:
        return ""
    return "< 1e-12" if rate < 1e-12 else f"{rate:.0e}"


def _find_document_take_down_step(store, layout: DemoLayout, console) -> bool:
    from unleak.demo.site import demo_find_and_document
    from unleak.demo.takedown import run_takedown_demo

    console.rule("[bold]3. find and document")
    protected = sorted(layout.private.iterdir())
    others = [p for p in sample_images() if _is_photo(p) and p.name not in {q.name for q in protected}]

    def take_down(site) -> bool:
        console.rule("[bold]4. take down and verify removal")
        outcome = run_takedown_demo(store, "demo", site, console=console)
        return bool(outcome)

    return demo_find_and_document(store, "demo", protected, others[:6], layout.root, console=console, then=take_down)


def _trace_step(store, layout: DemoLayout, console) -> bool:
    from unleak.console import table
    from unleak.watermark.registry import Registry

    console.rule("[bold]6. mark and trace")
    registry = Registry(store, "demo")
    names = [f"subscriber-{i:03d}" for i in range(1, 21)]
    registry.add_many([(n, "", "") for n in names])
    original = sorted(layout.private.iterdir())[2]
    copies = registry.mark(original, layout.root / "marked")
    console.print(f"Made {len(copies)} copies of {original.name}, each invisibly marked for one subscriber.")
    leaker = copies[7]
    if leaker.path is None:
        raise UnleakError(f"the demo could not mark {original.name}: {leaker.error}")
    leaked = layout.root / "leaked.jpg"
    with Image.open(leaker.path) as opened:  # what a reposter does: crop, shrink, re-encode
        im = opened.convert("RGB")
        w, h = im.size
        im.crop((w // 10, h // 10, w * 9 // 10, h * 9 // 10)).resize((w * 2 // 3, h * 2 // 3)).save(leaked, quality=70)
    result, _found = registry.trace(leaked)
    table(
        "Who leaked it? (a copy cropped, shrunk and re-encoded)",
        ["accused", "score", "chance an innocent scores this high"],
        [(a.recipient, f"{a.score:.1f}", f"{a.p_innocent:.1e}") for a in result.accused],
    )
    ok = [a.recipient for a in result.accused] == [leaker.recipient]
    console.print(
        f"The copy was made for {leaker.recipient}: "
        f"{'named correctly, and no one else' if ok else 'NOT named correctly'}."
    )
    return ok


def _spread_step(store, layout: DemoLayout, console) -> bool:
    import io

    import numpy as np

    from unleak.console import table
    from unleak.spread import describe_image, estimate, reference

    console.rule("[bold]5. how the leak spread")
    with Image.open(sorted(layout.private.iterdir())[0]) as opened:
        original = opened.convert("RGB")
    w, h = original.size

    def jpeg(im: Image.Image, quality: int) -> bytes:
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=quality)
        return buf.getvalue()

    def load(data: bytes) -> Image.Image:
        return Image.open(io.BytesIO(data)).convert("RGB")

    # A cascade whose truth is known: sighting -> (parent, hours after the leak, how it was made)
    first = jpeg(original, 90)
    crop = jpeg(load(first).crop((w // 8, h // 8, w * 7 // 8, h * 7 // 8)), 75)
    small = jpeg(load(crop).resize((w // 3, h // 3)), 60)
    mirror = jpeg(ImageOps.mirror(load(first)), 80)
    made = {1: (None, 0.0, first), 2: (1, 3.0, crop), 3: (2, 5.0, small), 4: (1, 4.0, mirror)}
    ref = reference(np.asarray(original))
    copies = [
        describe_image([sid], np.asarray(load(data)), ref, data=data, time=t) for sid, (_p, t, data) in made.items()
    ]
    lineage = estimate(copies)
    names = {1: "re-encoded", 2: "a crop of #1", 3: "#2 shrunk", 4: "#1 mirrored"}
    parent = lineage.parent_of()
    rows = [
        (
            f"#{sid}: {names[sid]}",
            f"#{made[sid][0]}" if made[sid][0] else "- (first upload)",
            f"#{parent[sid]}" if sid in parent else "- (first public copy)",
            next((f"{e.how} ({e.confidence:.0%})" for e in lineage.edges if e.child == sid), ""),
        )
        for sid in made
    ]
    table(
        "Which copy was made from which (an estimate: `unleak spread`)",
        ["copy", "truly made from", "unleak estimates", "how (confidence)"],
        rows,
    )
    console.print(
        f"Likely first public copy: #{lineage.root} ({lineage.root_confidence:.0%}). Its uploader is not "
        "necessarily the leaker; each edge says how sure it is."
    )
    return lineage.root == 1


def _platform_step(store, layout: DemoLayout, truth: dict[str, str | None], console) -> bool:
    from unleak.console import table
    from unleak.platform_banks import PlatformMatcher, publish_case, signal_type
    from unleak.signals import Media, compute_signals

    console.rule("[bold]7. a platform checks its uploads")
    with store.session() as s:
        published = publish_case(s, "demo", "DEMO_LEAKS")
        s.commit()
        matcher = PlatformMatcher()
        matcher.load(s)
    console.print(
        f"The case's {published} hashes were published as the bank DEMO_LEAKS (an explicit export), "
        "which `unleak serve` answers from, as Meta's Hasher-Matcher-Actioner does."
    )
    pdq = signal_type("pdq")
    rows, ok = [], True
    for path in sorted(layout.found.iterdir()):
        value = compute_signals(Media.open(path))["pdq"].value
        hits = matcher.query(pdq, value)
        expected = truth.get(path.name) is not None
        right = "yes" if bool(hits) == expected else ("missed by hash alone" if expected else "NO")
        rows.append((path.name, f"{len(hits)} match(es)" if hits else "no match", right))
        ok &= bool(hits) == expected or expected  # hash-only may miss a heavy crop; never a false match
    table("GET /m/lookup for each upload (hash only, as a platform sees them)", ["upload", "answer", "right"], rows)
    return ok
