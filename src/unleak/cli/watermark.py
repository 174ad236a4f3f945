"""Commands of the mark-and-trace stage: recipients (add, list, import), mark, trace."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from unleak import console as output

CaseOption = typer.Option(None, "--case", "-c", help="Case name (the default case when omitted).")
JsonOption = typer.Option(False, "--json", help="One JSON object per line instead of tables.")

recipients_app = typer.Typer(help="Who receives marked copies: add, list, import.", no_args_is_help=True)


def _registry(case: str | None):
    from unleak.store import open_store
    from unleak.watermark.registry import Registry

    return Registry(open_store(), case)


@recipients_app.command("add")
def recipients_add(
    name: str = typer.Argument(..., help="Name or handle (unique in the case)."),
    contact: str = typer.Option("", "--contact", help="E-mail, phone or account."),
    note: str = typer.Option("", "--note", help="Anything worth remembering."),
    case: str | None = CaseOption,
    as_json: bool = JsonOption,
) -> None:
    """Add a recipient to the case (creates the case's secret watermark key on first use)."""
    r = _registry(case).add(name, contact, note)
    if as_json:
        output.emit_json(r.to_json())
    else:
        output.console.print(f"Added recipient [bold]{escape(r.name)}[/] (id {r.id}).")


@recipients_app.command("list")
def recipients_list(case: str | None = CaseOption, as_json: bool = JsonOption) -> None:
    """List the case's recipients."""
    rs = _registry(case).list()
    if as_json:
        for r in rs:
            output.emit_json(r.to_json())
        return
    output.table("Recipients", ["id", "name", "contact", "note"], [(r.id, r.name, r.contact, r.note) for r in rs])


@recipients_app.command("import")
def recipients_import(
    path: Path = typer.Argument(..., help="CSV with a header line: name (or handle), contact, note."),
    case: str | None = CaseOption,
    as_json: bool = JsonOption,
) -> None:
    """Add recipients from a CSV file; names already in the case are skipped."""
    added, skipped = _registry(case).import_csv(path)
    if as_json:
        output.emit_json({"added": [r.to_json() for r in added], "skipped": skipped})
    else:
        output.console.print(f"Added {len(added)} recipient(s); skipped {len(skipped)} (empty or already there).")


def mark_command(
    original: Path = typer.Argument(..., help="The image or video to send."),
    out: Path = typer.Option(..., "--out", help="Folder for the marked copies."),
    recipients: list[str] | None = typer.Option(
        None, "--recipients", "-r", help="Recipient names (repeat, or comma-separated); all when omitted."
    ),
    psnr: float | None = typer.Option(
        None, "--psnr", help="Mark strength as target PSNR in dB (default 45; lower is stronger)."
    ),
    jobs: int = typer.Option(1, "--jobs", "-j", min=1, help="Copies made at once (e.g. the number of cores)."),
    cluster: str | None = typer.Option(
        None,
        "--cluster",
        help="Make the copies on a Dask cluster: tcp://HOST:8786, or local[:N]; ORIGINAL and --out must be on "
        "storage the workers share. The case's key stays here (see docs/cluster.md). Only when given: "
        "UNLEAK_DASK_SCHEDULER does not send marking to a cluster (workers learn much of the case's codes).",
    ),
    group: str | None = typer.Option(
        None,
        "--group",
        envvar="UNLEAK_CLUSTER_GROUP",
        help="With --cluster: the group of the workers, which write the copies and may read them (files 0640, the folder 2770).",
    ),
    case: str | None = CaseOption,
    as_json: bool = JsonOption,
) -> None:
    """Make one invisibly marked copy of ORIGINAL per recipient."""
    names = [n.strip() for r in (recipients or []) for n in r.split(",") if n.strip()]
    reg = _registry(case)
    if cluster:
        from functools import partial

        from unleak.cluster import Cluster
        from unleak.cluster.mark import mark_on_cluster

        with Cluster(cluster) as c:
            marker = partial(mark_on_cluster, c, psnr_db=psnr, group=group)
            results = reg.mark(original, out, names or None, psnr_db=psnr, marker=marker)
    else:
        results = reg.mark(original, out, names or None, psnr_db=psnr, jobs=jobs)
    failed = 0
    rows = []
    for m in results:
        failed += m.error is not None
        if as_json:
            output.emit_json(m.to_json())
        else:
            rows.append((m.recipient, m.path or "", m.error or ""))
    if not as_json:
        output.table("Marked copies", ["recipient", "path", "error"], rows)
    if failed:
        raise typer.Exit(1)


def trace_command(
    leaked: Path = typer.Argument(..., help="The leaked copy (image or video)."),
    original: Path | None = typer.Option(None, "--original", help="The original (found in the bank when omitted)."),
    bound: float = typer.Option(
        1e-6, "--bound", help="Largest accepted chance that an innocent recipient scores as high."
    ),
    case: str | None = CaseOption,
    as_json: bool = JsonOption,
) -> None:
    """Read the mark of a leaked copy and name the recipient(s) it came from, or say nothing can be concluded.

    Exit code 0 when the trace ran (accused or inconclusive), 1 when it could not run (no
    original found, unreadable file); with --json the same object is printed either way,
    with an "error" key in the second case.
    """
    from unleak.errors import UnleakError

    try:
        result, found = _registry(case).trace(leaked, original, bound=bound)
    except UnleakError as exc:
        if not as_json:
            raise
        output.emit_json(
            {
                "path": str(leaked),
                "original": None,
                "accused": [],
                "conclusive": False,
                "reason": None,
                "best_score": None,
                "error": str(exc),
            }
        )
        raise typer.Exit(1) from None
    if as_json:
        output.emit_json(
            {
                "path": str(leaked),
                "original": found,
                "accused": [a.to_json() for a in result.accused],
                "conclusive": result.conclusive,
                "reason": result.reason_code,
                "best_score": None if result.best_score is None else round(result.best_score, 3),
            }
        )
        return
    if found and found["bank_id"] is not None:
        output.console.print(f"Original: bank item {found['bank_id']} ({escape(found['label'])}).")
    if result.conclusive:
        output.table(
            "Accused",
            ["recipient", "score", "P(an innocent scores this high)"],
            [(a.recipient, f"{a.score:.2f}", f"{a.p_innocent:.2g}") for a in result.accused],
        )
        output.console.print(f"Scored {result.recipients} recipient(s); the chance is bounded over all of them.")
    else:
        output.console.print(f"Nothing can be concluded: {result.reason}.")


def register(app: typer.Typer) -> None:
    app.add_typer(recipients_app, name="recipients")
    app.command("mark")(mark_command)
    app.command("trace")(trace_command)
