"""What the command prints: Rich tables for people on stdout, or JSON for scripts (`--json`); notes,
progress and errors on stderr, so that stdout stays parseable."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

STATUS_STYLES = {
    "DELIVERED": "green",
    "SENT": "cyan",
    "ACCEPTED": "cyan",
    "SENDING": "blue",
    "RETRYING": "yellow",
    "FAILED": "red",
    "REJECTED": "red",
    "EXPIRED": "yellow",
    "UNKNOWN": "magenta",
}


class Output:
    def __init__(self, json_mode: bool) -> None:
        self.json_mode = json_mode
        self.out = Console(highlight=False)
        self.err = Console(stderr=True, highlight=False, soft_wrap=True)  # an error stays one line

    def json(self, document: Any) -> None:
        sys.stdout.write(json.dumps(document, ensure_ascii=False, indent=2) + "\n")
        sys.stdout.flush()

    def json_line(self, document: Any) -> None:
        sys.stdout.write(json.dumps(document, ensure_ascii=False) + "\n")
        sys.stdout.flush()

    def table(
        self, columns: Sequence[str], rows: Sequence[Sequence[str | Text]], title: str | None = None
    ) -> None:
        table = Table(*columns, title=title, title_justify="left", header_style="bold")
        for row in rows:
            table.add_row(*(cell if isinstance(cell, Text) else Text(cell) for cell in row))
        self.out.print(table)

    def fields(self, pairs: Mapping[str, str | Text | None]) -> None:
        """Label and value, a line each; empty values left out."""
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column(overflow="fold")
        for label, value in pairs.items():
            if value not in (None, ""):
                grid.add_row(label, value if isinstance(value, Text) else Text(str(value)))
        self.out.print(grid)

    def line(self, text: str | Text = "") -> None:
        self.out.print(text if isinstance(text, Text) else Text(text))

    def note(self, text: str) -> None:
        """A remark for the person at the terminal (stderr; none in --json mode)."""
        if not self.json_mode:
            self.err.print(f"[dim]{escape(text)}[/dim]")

    def error(self, text: str) -> None:
        self.err.print(Text(f"error: {text}", style="red"))

    @contextmanager
    def progress(self, description: str, total: int | None) -> Iterator[Callable[[int, int | None], None]]:
        """A progress bar on stderr while the block runs (on a terminal); yields `update(done, total)`."""
        bar = Progress(
            TextColumn(description),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.err,
            transient=True,
            disable=not self.err.is_terminal,
        )
        task = bar.add_task(description, total=total)
        with bar:
            yield lambda done, new_total: bar.update(task, completed=done, total=new_total)


def status_text(status: str, final: bool = False) -> Text:
    return Text(status + (" (final)" if final else ""), style=STATUS_STYLES.get(status, ""))
