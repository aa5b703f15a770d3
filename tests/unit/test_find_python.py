"""scripts/find-python.sh, which `make` uses to find Python: `make build` needs the functions' runtime
(3.13) and says so in one line when it is missing, rather than letting `sam build` fail on it."""

from __future__ import annotations

import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "find-python.sh"


def find_python(*arguments: str, pyenv_root: Path) -> subprocess.CompletedProcess[str]:
    environment = {"PATH": "/usr/bin:/bin", "PYENV_ROOT": str(pyenv_root)}
    return subprocess.run(  # noqa: S603
        ["/bin/bash", str(SCRIPT), *arguments], capture_output=True, text=True, env=environment, check=False
    )


def test_the_runtime_python_is_found_in_pyenv(tmp_path: Path) -> None:
    # Given pyenv holding 3.12 and 3.13
    for version in ("3.12.7", "3.13.0"):
        binary = tmp_path / "versions" / version / "bin" / f"python{version[:4]}"
        binary.parent.mkdir(parents=True)
        binary.write_text("#!/bin/sh\n")
        binary.chmod(0o755)
    # When the build asks for 3.13
    found = find_python("3.13", pyenv_root=tmp_path)
    # Then it gets pyenv's 3.13
    assert found.returncode == 0
    assert found.stdout.strip() == str(tmp_path / "versions" / "3.13.0" / "bin" / "python3.13")


def test_a_missing_runtime_is_one_line_naming_it(tmp_path: Path) -> None:
    # Given a machine with no Python 3.13 anywhere (on PATH or in pyenv)
    missing = find_python("3.99", pyenv_root=tmp_path)
    # Then the build is refused in one line that says what to install
    assert missing.returncode == 1
    assert missing.stdout == ""
    assert missing.stderr.splitlines() == [
        "Python 3.99 not found (on PATH or in pyenv): sam build needs the functions' runtime, python3.99 "
        "(pyenv install 3.99)"
    ]
