"""A kit for a reverse image search done by hand.

unleak does not query search engines (they forbid automated queries, and a query sends the
picture to them). `make_search_kit` prepares what a person needs to run one: a query image
that identifies the protected picture without re-publishing it (small, blurred or cropped, no
metadata), checked to still match the item with unleak's own matcher; the upload pages
of the engines; and a `results.txt` to paste the URLs found into, which
`unleak source add urls @results.txt` takes back.

Uploading even a degraded copy to a search engine discloses it to that engine: `WARNING` says
so, and the command asks before writing anything.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from unleak.errors import NotFound, UnleakError

ENGINES = (
    ("Google Lens", "https://lens.google.com/"),
    ("Bing Visual Search", "https://www.bing.com/visualsearch"),
    ("Yandex Images", "https://yandex.com/images/"),
    ("TinEye", "https://tineye.com/"),
)

WARNING = (
    "Uploading the query image to a search engine discloses it to that engine: even blurred and "
    "small, it is a copy of the picture, and the engine may keep it. Use it only if finding the "
    "copies is worth that, and prefer the engines whose terms say uploads are not kept."
)

# From the most degraded to the least: the first that still matches the item by hash is kept.
BLUR_STEPS = ((256, 6.0), (256, 4.5), (256, 3.0), (320, 2.0), (384, 1.5), (384, 0.8), (448, 0.6))
CROP_STEPS = ((256, 0.55), (256, 0.65), (320, 0.75), (384, 0.85), (448, 0.9))


@dataclass
class SearchKit:
    item_id: int
    out: Path
    query: Path
    mode: str
    size: tuple[int, int]
    step: str  # e.g. "blur radius 6 at 256 px"
    distance: int
    files: list[Path] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "bank_id": self.item_id,
            "out": str(self.out),
            "query": str(self.query),
            "mode": self.mode,
            "width": self.size[0],
            "height": self.size[1],
            "degradation": self.step,
            "distance": self.distance,
            "engines": [{"name": n, "url": u} for n, u in ENGINES],
            "warning": WARNING,
        }


def _degraded(original: Any, mode: str, side: int, amount: float) -> Any:
    from PIL import ImageFilter

    image = original.copy()
    if mode == "crop":  # the centre `amount` of each side: the picture is not shown whole
        w, h = image.size
        cw, ch = int(w * amount), int(h * amount)
        left, top = (w - cw) // 2, (h - ch) // 2
        image = image.crop((left, top, left + cw, top + ch))
    image.thumbnail((side, side))
    if mode == "blur":
        image = image.filter(ImageFilter.GaussianBlur(amount))
    return image


def make_search_kit(store: Any, case: str | None, item_id: int, out: Path, *, mode: str = "blur") -> SearchKit:
    """Write the kit for bank item `item_id` into `out` (made private). Raises UnleakError when the
    original is not on this machine, or no degraded image still matches it."""
    from PIL import Image, ImageOps

    from unleak.bank import Bank
    from unleak.config import private_dir, write_private
    from unleak.match import Matcher
    from unleak.signals import Media

    if mode not in ("blur", "crop"):
        raise UnleakError(f"mode {mode!r}: choose blur or crop")
    bank = Bank(store, case)
    path = bank.originals().get(item_id)
    if path is None:
        raise NotFound(
            f"bank item {item_id} is not a protected image whose original is on this machine",
            hint="see `unleak bank list`; a search kit is made from the original",
        )
    try:
        with Image.open(path) as im:
            original = ImageOps.exif_transpose(im).convert("RGB")
    except OSError as exc:
        raise UnleakError(f"cannot read the original of item {item_id}: {exc}") from None
    # unleak's matcher as a scan runs it (a crop is confirmed against the original, which is here)
    matcher = Matcher(bank)
    steps = BLUR_STEPS if mode == "blur" else CROP_STEPS
    top = max(original.size)
    for side, amount in steps:
        if side >= top and mode == "blur":
            side = int(top * 0.75)  # always smaller than the original
        image = _degraded(original, mode, side, amount)
        buf = io.BytesIO()
        image.save(buf, "JPEG", quality=70)  # a new image: no EXIF, no GPS, no camera data
        data = buf.getvalue()
        result = matcher.match_media(Media(data=data, name="query.jpg"))
        hit = next((m for m in result.matches if m.bank_id == item_id), None)
        if hit is not None:
            break
    else:
        raise UnleakError(
            f"no {'blurred' if mode == 'blur' else 'cropped'} query image of item {item_id} still matches it",
            hint="try --mode crop" if mode == "blur" else "try --mode blur",
        )
    step = f"blur radius {amount:g} at {side} px" if mode == "blur" else f"centre {amount:.0%} at {side} px"
    private_dir(out)
    query = write_private(out / f"query-{item_id}.jpg", data)
    lines = [
        f"Reverse image search kit for protected item {item_id} ({step}).",
        "",
        "WARNING: " + WARNING,
        "",
        "1. Open an engine's page and upload query-" + str(item_id) + ".jpg (the camera or image icon):",
        *[f"   {name}: {url}" for name, url in ENGINES],
        "2. Paste every page URL where the picture appears into results.txt, one a line.",
        f"3. Give them to unleak: unleak source add urls @{out / 'results.txt'}" + (f" --case {case}" if case else ""),
        "   then `unleak scan`: each page is fetched, matched and captured like any other.",
        "",
    ]
    readme = write_private(out / "README.txt", "\n".join(lines).encode())
    results = out / "results.txt"
    if not results.exists():
        write_private(results, b"# one URL a line; lines starting with # are ignored\n")
    return SearchKit(item_id, out, query, mode, image.size, step, hit.distance, [query, readme, results])
