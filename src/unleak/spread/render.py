"""Pictures of a spread: the tree (PNG or SVG, matplotlib) and a self-contained HTML page.

Every value from the outside world (hosts, uploaders, post times) is neutralised before it is
drawn or escaped."""

from __future__ import annotations

import base64
import io
from html import escape
from pathlib import Path

from unleak.errors import InvalidInput
from unleak.spread.case import STATEMENT, ItemSpread
from unleak.text import neutralize


def _label(sp: ItemSpread, sid: int) -> str:
    s = sp.sightings[sid]
    who = neutralize(s.uploader or "")
    return f"#{sid} {neutralize(s.host)}" + (f"\n{who[:24]}" if who else "") + f"\n{s.first_seen:%Y-%m-%d %H:%M}"


def _layout(sp: ItemSpread) -> dict[int, tuple[float, float]]:
    """x by depth, y by leaf order (a tidy tree)."""
    kids: dict[int, list[int]] = {}
    tree_edges = [e for e in sp.lineage.edges if e.basis != "same file"]
    for e in tree_edges:
        kids.setdefault(e.parent, []).append(e.child)
    pos: dict[int, tuple[float, float]] = {}
    row = [0.0]

    def place(n: int, depth: int) -> float:
        cs = sorted(kids.get(n, []))
        if not cs:
            y = row[0]
            row[0] += 1
        else:
            ys = [place(c, depth + 1) for c in cs]
            y = sum(ys) / len(ys)
        pos[n] = (float(depth), y)
        return y

    if sp.lineage.root is not None:
        place(sp.lineage.root, 0)
    for c in sp.lineage.nodes:  # anything the tree did not reach (should not happen)
        if c.id not in pos:
            pos[c.id] = (0.0, row[0])
            row[0] += 1
    return pos


def figure_bytes(spreads: list[ItemSpread], fmt: str) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    layouts = [_layout(sp) for sp in spreads]
    heights = [max(1.0, max((p[1] for p in pos.values()), default=0.0) + 1) for pos in layouts] or [1.0]
    depth = max((p[0] for pos in layouts for p in pos.values()), default=0.0)
    fig, axes = plt.subplots(
        len(heights),
        1,
        figsize=(min(40, 2.6 * (depth + 1) + 1), min(60, 1.2 + 0.75 * sum(heights))),
        squeeze=False,
        height_ratios=heights,
    )
    for ax, sp, pos in zip(axes[:, 0], spreads, layouts, strict=False):
        for e in sp.lineage.edges:
            if e.basis == "same file":
                continue
            (x0, y0), (x1, y1) = pos[e.parent], pos[e.child]
            ax.annotate(
                "",
                xy=(x1, y1),
                xytext=(x0, y0),
                arrowprops={"arrowstyle": "->", "color": "black", "alpha": 0.25 + 0.75 * e.confidence},
            )
            ax.text(
                (x0 + x1) / 2, (y0 + y1) / 2, f"{e.how} ({e.confidence:.0%})", fontsize=6, ha="center", color="#444"
            )
        for c in sp.lineage.nodes:
            x, y = pos[c.id]
            root = c.id == sp.lineage.root
            extra = f"\n(+{len(c.ids) - 1} same file)" if len(c.ids) > 1 else ""
            ax.text(
                x,
                y,
                _label(sp, c.id) + extra,
                fontsize=7,
                ha="center",
                va="center",
                bbox={"boxstyle": "round", "fc": "#ffe9a8" if root else "#e8eef7", "ec": "#888"},
            )
        xs = [p[0] for p in pos.values()] or [0.0]
        ys = [p[1] for p in pos.values()] or [0.0]
        ax.set_xlim(min(xs) - 0.6, max(xs) + 0.6)
        ax.set_ylim(max(ys) + 0.8, min(ys) - 0.8)
        ax.axis("off")
        ax.set_title(
            f"item {sp.item}: first public copy #{sp.lineage.root} ({sp.lineage.root_confidence:.0%} sure) - an estimate",
            fontsize=9,
        )
    fig.text(0.01, 0.002, "The first public copy's uploader is not necessarily the leaker.", fontsize=7)
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def html_page(spreads: list[ItemSpread], case: str) -> str:
    h = escape
    parts = [
        "<!doctype html><meta charset='utf-8'><title>How the leak spread</title>",
        "<style>body{font-family:sans-serif;max-width:1100px;margin:auto}td,th{border:1px solid #ccc;"
        "padding:3px 6px;font-size:13px}table{border-collapse:collapse}</style>",
        f"<h1>How the leak spread: case {h(neutralize(case))}</h1>",
        f"<p><b>{h(STATEMENT)}</b></p>",
    ]
    if spreads:
        png = base64.b64encode(figure_bytes(spreads, "png")).decode()
        parts.append(f"<img alt='tree' style='max-width:100%' src='data:image/png;base64,{png}'>")
    parts.append(section_html(spreads))
    return "\n".join(parts) + "\n"


def section_html(spreads: list[ItemSpread]) -> str:
    """The tables of each item's spread (for this page and for the evidence report)."""
    h = escape
    out = []
    for sp in spreads:
        lin = sp.lineage
        out.append(f"<h2>Item {sp.item}</h2>")
        out.append(
            f"<p>Likely first public copy: sighting {lin.root} ({lin.root_confidence:.0%} sure), because: "
            + "; ".join(h(r) for r in lin.root_reasons)
            + ".</p>"
        )
        for note in sp.notes:
            out.append(f"<p><i>{h(note)}</i></p>")
        out.append("<table><tr><th>from</th><th>to</th><th>how</th><th>confidence</th><th>rests on</th></tr>")
        for e in lin.edges:
            out.append(
                f"<tr><td>#{e.parent} {h(neutralize(sp.sightings[e.parent].host))}</td>"
                f"<td>#{e.child} {h(neutralize(sp.sightings[e.child].host))}</td>"
                f"<td>{h(e.how)}</td><td>{e.confidence:.0%}</td><td>{h(e.basis)}</td></tr>"
            )
        out.append("</table><h3>Per host</h3><table><tr><th>host</th><th>first seen</th><th>removed</th>")
        out.append("<th>re-uploads</th><th>copies</th></tr>")
        for t in sp.timeline:
            out.append(
                f"<tr><td>{h(neutralize(t['host']))}</td><td>{h(t['first_seen'])}</td>"
                f"<td>{h(t['removed_at'] or 'still up')}</td><td>{t['reuploads']}</td><td>{t['copies']}</td></tr>"
            )
        out.append("</table>")
    return "\n".join(out)


def write(spreads: list[ItemSpread], case: str, out: Path) -> Path:
    """Write the tree picture (.png, .svg) or the page (.html) to `out`."""
    kind = out.suffix.lower()
    if kind in (".png", ".svg"):
        out.write_bytes(figure_bytes(spreads, kind[1:]))
    elif kind in (".html", ".htm"):
        out.write_text(html_page(spreads, case), encoding="utf-8")
    else:
        raise InvalidInput(
            f"cannot write a spread as {out.suffix or 'a file with no suffix'}", hint="use .png, .svg or .html"
        )
    return out
