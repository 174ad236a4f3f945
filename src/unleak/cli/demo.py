"""`unleak demo`."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import typer


def demo_command(
    directory: Path | None = typer.Option(None, "--dir", help="Work in this folder (default: a temporary one)."),
    keep: bool = typer.Option(False, "--keep", help="Keep the demo's files afterwards."),
    app: bool = typer.Option(False, "--app", help="Then open the demo's case in `unleak app` (keeps the files)."),
    no_browser: bool = typer.Option(False, "--no-browser", help="With --app: print the login link, open nothing."),
) -> None:
    """Show the whole system on sample photos: protect, find altered copies, and more."""
    from unleak.demo import run

    if app and directory is None:
        directory = Path(tempfile.mkdtemp(prefix="unleak-demo-"))
    if not run(directory, keep=keep or directory is not None):
        raise typer.Exit(1)
    if app:
        assert directory is not None
        from unleak.cli.web import run_app

        home = directory / "home"  # the demo's data folder (see unleak.demo.run.prepare)
        os.environ["UNLEAK_HOME"] = str(home)
        os.environ["UNLEAK_DB"] = f"sqlite:///{home / 'unleak.db'}"
        run_app(no_browser=no_browser, root=[directory], case="demo")


def register(app: typer.Typer) -> None:
    app.command("demo")(demo_command)
