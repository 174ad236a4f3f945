"""The `unleak` command. Thin: each command parses, calls the Python API, and prints.

Command modules expose `register(app)`; add one line below to plug a new one in.
"""

from __future__ import annotations

import sys

import typer

from unleak import console as output

app = typer.Typer(
    name="unleak",
    help="Find, document, trace and take down leaked private media.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register_all() -> None:
    from unleak.cli import core, demo

    core.register(app)
    demo.register(app)
    # --- command modules of other stages register here, one line each ---
    from unleak.cli import watermark

    watermark.register(app)  # recipients, mark, trace
    from unleak.cli import cases

    cases.register(app)  # case, source, scan, watch, sightings, evidence
    from unleak.cli import notices

    notices.register(app)  # notice, claimant, hosts, verify, report
    from unleak.cli import serve

    serve.register(app)  # serve, serve publish, serve load
    # `unleak app` lives in cli/web.py: a submodule named `app` would replace this package's `app`
    from unleak.cli import web

    web.register(app)  # app, users
    from unleak.cli import spread

    spread.register(app)  # spread


_register_all()


def main() -> None:
    """Entry point: user errors become one readable line and exit code 1, never a stack trace."""
    try:
        check_environment()
        app()
    except KeyboardInterrupt:
        output.error("interrupted; work committed so far is kept, run the command again to resume")
        sys.exit(130)
    except Exception as exc:  # last resort, keep the message
        from unleak.errors import UnleakError

        if isinstance(exc, UnleakError):
            output.error(exc.message, exc.hint)
            sys.exit(1)
        raise


def check_environment() -> None:
    """Raise the first bad numeric UNLEAK_* setting as a one-line `UnleakError`: checked when a
    command starts, so that a typo is one line before any work, not an error per file or fetch.
    (Here, not in unleak.config: the fetcher reads config, so config cannot import the fetcher.)"""
    from unleak.config import MediaLimits
    from unleak.net.fetch import FetchPolicy

    MediaLimits.from_env()
    FetchPolicy()
