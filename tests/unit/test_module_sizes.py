"""make lint's module-size check: no module over the limit outside the tests, but the known debt."""

from __future__ import annotations

from pathlib import Path

from scripts.module_sizes import module_sizes, problems


def write(root: Path, path: str, lines: int) -> None:
    module = root / path
    module.parent.mkdir(parents=True, exist_ok=True)
    module.write_text("x = 1\n" * lines)


def test_modules_are_measured_in_lines_outside_the_tests_and_hidden_folders(tmp_path: Path) -> None:
    # Given modules in the code, in the tests, in a virtual environment and a build folder, and a non-module
    write(tmp_path, "core/big.py", 12)
    write(tmp_path, "core/sub/small.py", 3)
    write(tmp_path, "tests/test_big.py", 50)
    write(tmp_path, "local/tests/test_sim.py", 50)
    write(tmp_path, ".venv/lib/site.py", 50)
    write(tmp_path, ".aws-sam/build/app.py", 50)
    write(tmp_path, "core/notes.txt", 50)

    # When they are measured
    sizes = module_sizes(tmp_path)

    # Then only the code's modules count, each by its number of lines
    assert sizes == {"core/big.py": 12, "core/sub/small.py": 3}


def test_a_module_over_the_limit_fails_unless_it_is_known_debt() -> None:
    sizes = {"core/grown.py": 11, "core/old.py": 20, "core/fine.py": 10}

    assert problems(sizes, known={"core/old.py"}, limit=10) == ["core/grown.py: 11 lines, over 10: split it"]
    assert problems(sizes, known={"core/old.py", "core/grown.py"}, limit=10) == []


def test_known_debt_that_was_paid_fails_until_it_is_taken_off_the_list() -> None:
    # Given known debt that was split under the limit, and known debt that was moved away
    sizes = {"core/split.py": 10}

    # When the sizes are checked
    found = problems(sizes, known={"core/split.py", "core/moved.py"}, limit=10)

    # Then each entry is named, to be taken off the list
    assert [problem.split(":")[0] for problem in found] == ["core/moved.py", "core/split.py"]
    assert all("take it off KNOWN_DEBT" in problem for problem in found)
