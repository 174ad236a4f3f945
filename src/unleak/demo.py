"""`unleak demo`: the whole system, end to end, on benign sample photos, in a throw-away folder.

Each stage adds a step here as it lands, so a newcomer sees everything work in one command.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from PIL import Image, ImageEnhance, ImageOps

from unleak.samples import sample_images

# Alterations a reposter makes that whole-image matching must survive.
ALTERATIONS: dict[str, Callable[[Image.Image], Image.Image]] = {
    "jpeg-q50": lambda im: im,  # quality applied when saving
    "half-size": lambda im: im.resize((im.width // 2, im.height // 2), Image.Resampling.LANCZOS),
    "greyscale": lambda im: ImageOps.grayscale(im).convert("RGB"),
    "brighter": lambda im: ImageEnhance.Brightness(im).enhance(1.2),
    "mirrored": ImageOps.mirror,
    "rotated-90": lambda im: im.transpose(Image.Transpose.ROTATE_90),
}


@dataclass
class DemoLayout:
    root: Path
    private: Path  # the owner's private photos (here: sample photos)
    found: Path    # what turned up elsewhere: altered copies and unrelated images
    home: Path     # unleak's data folder for the demo


def prepare(root: Path, n_protected: int = 6) -> tuple[DemoLayout, dict[str, str | None]]:
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
    """Run the demo; True when every altered copy was found and nothing unrelated matched."""
    from rich.console import Console

    from unleak.bank import Bank
    from unleak.cli.output import table
    from unleak.match import Matcher
    from unleak.store import open_store

    console = console or Console()
    root = Path(root) if root else Path(tempfile.mkdtemp(prefix="unleak-demo-"))
    layout, truth = prepare(root)
    old_home = os.environ.get("UNLEAK_HOME")
    os.environ["UNLEAK_HOME"] = str(layout.home)
    try:
        store = open_store(f"sqlite:///{layout.home / 'unleak.db'}")
        console.rule("[bold]1. protect")
        console.print(f"Your private photos are in {layout.private} (sample photos stand in for them).")
        bank = Bank(store, "demo")
        results = bank.protect([layout.private])
        console.print(f"Fingerprinted {sum(1 for r in results if not r.error)} photos locally; "
                      "the bank keeps their PDQ, SHA-256 and MD5 hashes, never the photos.")

        console.rule("[bold]2. match")
        console.print(f"{len(truth)} images turned up in {layout.found}: altered copies and unrelated photos.")
        matcher = Matcher(bank)
        rows, ok = [], True
        for result in matcher.match_paths([layout.found]):
            name = Path(result.path).name
            expected = truth.get(name)
            got = result.matches[0].label if result.matches else None
            correct = got == expected
            ok &= correct
            rows.append((name, expected or "-", got or "-",
                         result.matches[0].distance if result.matches else "",
                         "[green]yes[/]" if correct else "[red]NO[/]"))
        table("Which protected photo is each image a copy of?",
              ["image found online", "truly a copy of", "unleak says", "PDQ distance", "right"], rows)
        copies = sum(1 for v in truth.values() if v)
        console.print(f"Found {sum(1 for r in rows if r[1] != '-' and r[1] == r[2])} of {copies} altered copies; "
                      f"{sum(1 for r in rows if r[1] == '-' and r[2] != '-')} false matches "
                      f"among {len(truth) - copies} unrelated images.")
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
    console.rule("[bold green]demo complete" if ok else "[bold red]demo found a problem")
    return ok
