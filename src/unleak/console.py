"""Printing: Rich tables and progress for people, one JSON object per line with --json.

What a crawled page says (an uploader, a URL, a title) can hold terminal escapes (OSC 8 links,
CSI screen clears and colours) and bidi overrides. Every cell, error and warning is neutralised
here, and both consoles neutralise whatever text they are given as a last guard, so a direct
`console.print` of a crawled string cannot drive the terminal. JSON output is written as is:
json escapes control characters itself, and --json readers want the value the page held.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.segment import Segment
from rich.table import Table
from rich.text import Text

from unleak.text import json_text, neutralize


class _NeutralConsole(Console):
    """A Console that escapes control and bidi characters in the text it prints; Rich's own
    styles and cursor moves (control segments) are added after this and pass untouched."""

    def _render_buffer(self, buffer: Iterable[Segment]) -> str:
        return super()._render_buffer(
            seg if seg.control else Segment(neutralize(seg.text, one_line=False), seg.style, seg.control)
            for seg in buffer
        )


console: Console = _NeutralConsole()
err_console: Console = _NeutralConsole(stderr=True)


def emit_json(obj: Any) -> None:
    sys.stdout.write(json_text(json.dumps(obj, default=str, ensure_ascii=False)) + "\n")
    sys.stdout.flush()


def error(message: str, hint: str | None = None) -> None:
    # soft_wrap: a message stays one line however narrow the terminal (grep, logs, copy-paste);
    # escape: paths and decoder messages may hold "[...]" that Rich would read as markup.
    err_console.print(f"[bold red]error:[/] {escape(neutralize(message))}", highlight=False, soft_wrap=True)
    if hint:
        err_console.print(f"  [dim]hint: {escape(neutralize(hint))}[/]", highlight=False, soft_wrap=True)


def warn(message: str) -> None:
    err_console.print(f"[yellow]warning:[/] {escape(neutralize(message))}", highlight=False, soft_wrap=True)


def table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Cells are shown as written (a file name like "a[1].jpg" is not Rich markup), on one line
    each, with control and bidi characters escaped; pass a `rich.text.Text` for a styled cell."""
    t = Table(title=None if title is None else escape(neutralize(title)), show_lines=False, title_justify="left")
    for c in columns:
        t.add_column(c, overflow="fold")
    for r in rows:
        t.add_row(*[v if isinstance(v, Text) else escape(neutralize("" if v is None else str(v))) for v in r])
    console.print(t)


def write_csv(path: Path, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Write a CSV file for a spreadsheet, every cell through `unleak.text.csv_cell` (escaped
    controls, and no cell a spreadsheet would run as a formula). Returns the number of rows."""
    import csv

    from unleak.errors import UnleakError
    from unleak.text import csv_cell

    n = 0
    try:
        with open(path, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow([csv_cell(c) for c in columns])
            for r in rows:
                w.writerow([csv_cell(v) for v in r])
                n += 1
    except OSError as exc:
        raise UnleakError(f"cannot write {path}: {exc.strerror or exc}", hint="check the folder exists") from None
    return n


@contextmanager
def progress(description: str, total: int | None, *, enabled: bool = True) -> Iterator[Any]:
    """A progress bar on stderr (so --json output stays clean); `advance()` to step it."""
    if not enabled:
        yield _NoProgress()
        return
    bar = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
    )
    with bar:
        task = bar.add_task(description, total=total)
        yield _Advance(bar, task)


class _Advance:
    def __init__(self, bar: Progress, task: Any) -> None:
        self.bar, self.task = bar, task

    def advance(self, n: int = 1) -> None:
        self.bar.advance(self.task, n)

    def update(self, done: int, total: int | None = None) -> None:
        self.bar.update(self.task, completed=done, total=total)


class _NoProgress:
    def advance(self, n: int = 1) -> None:
        pass

    def update(self, done: int, total: int | None = None) -> None:
        pass
