"""The benchmark's one table: each figure, its baseline measured in the same run, the goal, whether it
is met, and a note (what stands in the way, where a goal is not met); and bench/results.json."""

from __future__ import annotations

import json
import textwrap
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results.json"
NOTE_WIDTH = 72
COLUMNS = ("#", "figure", "measured", "baseline (same run)", "goal", "met", "note")


@dataclass(frozen=True)
class Row:
    number: str
    figure: str
    measured: str
    baseline: str = ""
    goal: str = ""
    met: bool | None = None  # None: no goal
    note: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        return "" if self.met is None else "yes" if self.met else "NO"


def render(rows: list[Row]) -> str:
    cells = [[row.number, row.figure, row.measured, row.baseline, row.goal, row.verdict] for row in rows]
    widths = [max(len(COLUMNS[index]), *(len(line[index]) for line in cells)) for index in range(6)]

    def line(values: list[str], note: str) -> str:
        return (
            "  ".join(value.ljust(width) for value, width in zip(values, widths, strict=True)) + "  " + note
        )

    output = [line(list(COLUMNS[:6]), COLUMNS[6]), line(["-" * width for width in widths], "-" * NOTE_WIDTH)]
    for row, values in zip(rows, cells, strict=True):
        notes = textwrap.wrap(row.note, NOTE_WIDTH) or [""]
        output.append(line(values, notes[0]))
        output += [line([""] * 6, note) for note in notes[1:]]
    return "\n".join(output)


def write_results(rows: list[Row], context: dict[str, Any], path: Path = RESULTS) -> None:
    document = {**context, "figures": [{**asdict(row), "met": row.met} for row in rows]}
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
