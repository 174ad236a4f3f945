"""`unleak spread`: how a leak spread, estimated: a tree of the copies per item and a per-host timeline."""

from __future__ import annotations

from pathlib import Path

import typer

from unleak import console as output
from unleak.text import neutralize


def spread_command(
    case: str | None = typer.Option(None, "--case", "-c", help="Case name (the default case when omitted)."),
    item: int | None = typer.Option(None, "--item", help="Only this protected item (its bank id)."),
    no_media: bool = typer.Option(
        False, "--no-media", help="Use only the sightings' hashes, sizes and times (fast; less sure)."
    ),
    out: Path | None = typer.Option(None, "--out", "-o", help="Also draw the tree: FILE.png, FILE.svg or FILE.html."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per item instead of tables."),
) -> None:
    """Estimate which copy was made from which, the likely first public copy, and when each host had it.

    An estimate from what can be measured, with a confidence per edge; the first public copy's
    uploader is not necessarily the person who leaked the media."""
    from unleak.spread.case import STATEMENT, spread_case
    from unleak.store import open_store

    spreads = spread_case(open_store(), case, item=item, media=not no_media)
    if out is not None:
        from unleak.spread.render import write

        write(spreads, case or "", out)
    if as_json:
        for sp in spreads:
            output.emit_json(sp.to_json())
        return
    output.console.print(STATEMENT, highlight=False, markup=False)
    if not spreads:
        output.console.print("No sightings yet: nothing to estimate.", highlight=False)
    for sp in spreads:
        lin = sp.lineage
        if lin.root is None:
            output.console.print(f"\nItem {sp.item}: no sightings yet.", highlight=False, markup=False)
            continue
        output.console.print(
            f"\nItem {sp.item}: likely first public copy: sighting {lin.root} ({lin.root_confidence:.0%} sure)",
            highlight=False,
            markup=False,
        )
        for r in lin.root_reasons + sp.notes:
            output.console.print(f"  - {r}", highlight=False, markup=False)
        host = {sid: neutralize(v.host) for sid, v in sp.sightings.items()}
        output.table(
            "Copies made from copies",
            ["from", "to", "how", "confidence", "rests on"],
            [
                (f"#{e.parent} {host[e.parent]}", f"#{e.child} {host[e.child]}", e.how, f"{e.confidence:.0%}", e.basis)
                for e in lin.edges
            ],
        )
        output.table(
            "Per host",
            ["host", "first seen", "removed", "re-uploads", "copies"],
            [
                (neutralize(t["host"]), t["first_seen"], t["removed_at"] or "still up", t["reuploads"], t["copies"])
                for t in sp.timeline
            ],
        )
    if out is not None:
        output.console.print(f"Wrote {out}", highlight=False, markup=False)


def register(app: typer.Typer) -> None:
    app.command("spread")(spread_command)
