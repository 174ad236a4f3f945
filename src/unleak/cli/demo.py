"""`unleak demo`."""

from __future__ import annotations

from pathlib import Path

import typer


def demo_command(
    directory: Path | None = typer.Option(None, "--dir", help="Work in this folder (default: a temporary one)."),
    keep: bool = typer.Option(False, "--keep", help="Keep the demo's files afterwards."),
) -> None:
    """Show the whole system on sample photos: protect, find altered copies, and more."""
    from unleak.demo import run

    if not run(directory, keep=keep or directory is not None):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo_command)
