"""No module over MAX_LINES lines outside the tests: `python scripts/module_sizes.py` (make lint).

A module that grows past the limit fails the check. The modules already past it are KNOWN_DEBT, the
redesign's to split (issue 19); an entry that no longer applies (split, moved, gone) fails too, so that
the list only ever shrinks.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from pathlib import Path

MAX_LINES = 400
KNOWN_DEBT = frozenset(
    {
        "bench/run.py",
        "local/esms_sim/simulator.py",
        "local/runtime/lambda_runtime.py",
        "local/stack.py",
    }
)
NOT_MODULES = frozenset({"tests", "__pycache__", "node_modules"})  # and every hidden folder (.venv, .aws-sam)


def module_sizes(root: Path) -> dict[str, int]:
    """The number of lines of each Python module under `root`, by its path from there."""
    sizes = {}
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(name for name in subfolders if name not in NOT_MODULES and name[0] != ".")
        for name in files:
            if name.endswith(".py"):
                path = Path(folder, name)
                with path.open("rb") as module:
                    sizes[path.relative_to(root).as_posix()] = sum(1 for _ in module)
    return sizes


def problems(sizes: dict[str, int], known: Iterable[str] = KNOWN_DEBT, limit: int = MAX_LINES) -> list[str]:
    """What fails the check: a module over the limit that is not known debt, known debt now paid."""
    over = {path: lines for path, lines in sizes.items() if lines > limit}
    debt = set(known)
    grown = [
        f"{path}: {lines} lines, over {limit}: split it"
        for path, lines in sorted(over.items())
        if path not in debt
    ]
    paid = [
        f"{path}: no longer a module over {limit} lines: take it off KNOWN_DEBT in {Path(__file__).name}"
        for path in sorted(debt - set(over))
    ]
    return grown + paid


def main() -> int:
    sizes = module_sizes(Path(__file__).resolve().parent.parent)
    found = problems(sizes)
    for problem in found:
        print(problem, file=sys.stderr)
    if not found:
        print(f"{len(sizes)} modules: none over {MAX_LINES} lines but the {len(KNOWN_DEBT)} known")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
