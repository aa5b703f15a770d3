"""The end-to-end tests' stacks write their functions' lines to a file, never to pytest's output.

A stack without `function_output` copies its functions' lines to this process's stderr from background
threads, whenever they come: between two tests, and while a pytest-xdist worker holds a module's last
test back, pytest captures nothing, and the lines went into `make test`'s progress."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

E2E = Path(__file__).resolve().parents[1] / "e2e"
STACK_FACTORIES = {"LocalStack", "soak_stack"}


def stacks_started(module: Path) -> list[ast.Call]:
    return [
        node
        for node in ast.walk(ast.parse(module.read_text()))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in STACK_FACTORIES
    ]


@pytest.mark.parametrize("module", sorted(E2E.glob("test_*.py")), ids=lambda path: path.name)
def test_every_stack_an_e2e_module_starts_writes_its_functions_lines_to_a_file(module: Path) -> None:
    without = [
        call.lineno
        for call in stacks_started(module)
        if "function_output" not in {k.arg for k in call.keywords}
    ]
    assert without == [], f"{module.name}: a stack without function_output at line(s) {without}"
