"""What the command prints: Rich tables for people on stdout, or JSON for scripts (`--json`); notes,
progress and errors on stderr, so that stdout stays parseable.

Whatever it prints may come from a message or a report (a campaignid, a callback's text), so every
path escapes control characters: `printable` for people, `_json_text` for scripts.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.measure import Measurement
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from zns_relay.models.text import CONTROL_CHARACTERS, escape_control_characters

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


FREE_TEXT_WIDTH = 30  # columns a wrapped column keeps, at least, when the terminal is narrow
_UNLIMITED = 10_000  # columns: a table measured without a terminal's limit
# json.dumps escapes C0 in strings (so a raw newline is the layout's), not DEL or C1.
_LEFT_RAW_BY_JSON = re.compile("[\x7f-\x9f]")


class Output:
    def __init__(self, json_mode: bool) -> None:
        self.json_mode = json_mode
        self.out = Console(highlight=False)
        self.err = Console(stderr=True, highlight=False, soft_wrap=True)  # an error stays one line

    def json(self, document: Any) -> None:
        sys.stdout.write(_json_text(json.dumps(document, ensure_ascii=False, indent=2)) + "\n")
        sys.stdout.flush()

    def json_line(self, document: Any) -> None:
        sys.stdout.write(_json_text(json.dumps(document, ensure_ascii=False)) + "\n")
        sys.stdout.flush()

    def table(
        self,
        columns: Sequence[str],
        rows: Sequence[Sequence[str | Text]],
        title: str | None = None,
        wrap: Collection[str] = (),
    ) -> None:
        """Columns named in `wrap` hold free text, wrapped to fit; every other one (ids, statuses, times)
        is kept whole, never cut: on a terminal the table is as wide as the terminal, or as wide as its
        whole columns need; elsewhere (a pipe, a file) it keeps a row to a line."""
        cells = [[printable(cell) for cell in row] for row in rows]
        table = Table(title=title, title_justify="left", header_style="bold")
        for index, name in enumerate(columns):
            longest = max((row[index].cell_len for row in cells), default=0)
            # Rich's least width of a column would be its longest word: a kept-whole column's is all of
            # it, and free text keeps a readable width.
            least = min(longest, FREE_TEXT_WIDTH) if name in wrap else longest
            table.add_column(name, no_wrap=name not in wrap, min_width=least, overflow="fold")
        for row in cells:
            table.add_row(*row)
        needed = Measurement.get(self.out, self.out.options.update_width(_UNLIMITED), table)
        width = max(self.out.width, needed.minimum if self.out.is_terminal else needed.maximum)
        terminal_width = self.out.width
        self.out.width = width
        try:
            self.out.print(table)
        finally:
            self.out.width = terminal_width

    def fields(self, pairs: Mapping[str, str | Text | None]) -> None:
        """Label and value, a line each; empty values left out."""
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column(overflow="fold")
        for label, value in pairs.items():
            if value not in (None, ""):
                grid.add_row(printable(label), printable(value if isinstance(value, Text) else str(value)))
        self.out.print(grid)

    def line(self, text: str | Text = "") -> None:
        self.out.print(printable(text))

    def note(self, text: str) -> None:
        """A remark for the person at the terminal (stderr; none in --json mode)."""
        if not self.json_mode:
            self.err.print(printable(text), style="dim")

    def error(self, text: str) -> None:
        self.err.print(printable(f"error: {text}"), style="red")

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


def counted(count: int, noun: str) -> str:
    """`1 message`, `2 messages`, `0 messages`."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def status_text(status: str, final: bool = False) -> Text:
    return Text(status + (" (final)" if final else ""), style=STATUS_STYLES.get(status, ""))


def channel_text(message: Mapping[str, Any]) -> str:
    """ZNS, or SMS with the ZNS message it stands in for."""
    if message.get("channel") == "sms":
        return f"SMS (fallback of {message['fallbackFor']})" if message.get("fallbackFor") else "SMS"
    return "ZNS"


def printable(value: str | Text) -> Text:
    """The value as Rich text with each control character shown as `\\xNN` (its styles kept): a
    terminal escape in a message's fields or a report's text is shown, never run."""
    if isinstance(value, str):  # escaped before Rich's Text drops some of them (BEL, BS, CR) unseen
        return Text(escape_control_characters(value))
    text = value
    if not CONTROL_CHARACTERS.search(text.plain):
        return text
    ends = [0]  # where each character of the original ends in the escaped text
    for character in text.plain:
        ends.append(ends[-1] + len(escape_control_characters(character)))
    escaped = Text(escape_control_characters(text.plain), style=text.style)
    for span in text.spans:
        escaped.stylize(span.style, ends[span.start], ends[span.end])
    return escaped


def _json_text(document: str) -> str:
    """JSON as `json.dumps` wrote it, with DEL and the C1 characters (which JSON may leave raw, and a
    terminal may run) escaped as well: the text stays valid JSON with the same values."""
    return _LEFT_RAW_BY_JSON.sub(lambda match: f"\\u{ord(match.group()):04x}", document)
