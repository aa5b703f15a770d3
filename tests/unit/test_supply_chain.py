"""The layer's supply chain: built from a lock that pins every dependency with its hashes and agrees
with requirements.txt, and audited for known vulnerabilities (a registry out of reach only warns)."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from scripts.audit_layer import verdict

ROOT = Path(__file__).resolve().parents[2]
LAYER = ROOT / "layers" / "common"
_PIN = re.compile(r"^([A-Za-z0-9._-]+)(\[[^\]]*\])?==(\S+)")


def pins(path: Path) -> dict[str, str]:
    """Each `name==version` line's normalised name and version (PEP 503: runs of -_. are one -)."""
    found = {}
    for line in path.read_text().splitlines():
        match = _PIN.match(line)
        if match:
            found[re.sub(r"[-_.]+", "-", match.group(1)).lower()] = match.group(3)
    return found


def test_the_lock_pins_every_top_level_requirement_at_its_version() -> None:
    requirements, lock = pins(LAYER / "requirements.txt"), pins(LAYER / "requirements.lock")
    missing = {name: version for name, version in requirements.items() if lock.get(name) != version}
    assert missing == {}, "run `make lock` after changing layers/common/requirements.txt"
    # (and the dependencies that floated at build time are pinned too)
    assert {"urllib3", "certifi", "aws-xray-sdk", "wrapt", "pydantic-core"} <= set(lock)


def test_every_locked_package_carries_its_hashes() -> None:
    # Given the lock's entries (a pin line, then its `--hash=sha256:...` continuation lines)
    entries = re.split(r"\n(?=[A-Za-z0-9])", (LAYER / "requirements.lock").read_text().split("\n", 2)[2])
    for entry in entries:
        if entry.strip() and not entry.startswith("#"):
            assert _PIN.match(entry) and re.search(r"--hash=sha256:[0-9a-f]{64}", entry), entry


def test_the_layer_is_built_from_the_lock_with_hashes_required() -> None:
    build = (LAYER / "Makefile").read_text()
    assert "--require-hashes --no-deps --requirement requirements.lock" in build
    assert "requirements.txt" not in build.split("build-CommonLayer:", 1)[1]


@pytest.mark.parametrize(
    ("returncode", "report", "stderr", "passed", "first_line"),
    [
        (
            1,
            {
                "dependencies": [
                    {
                        "name": "urllib3",
                        "version": "2.0.0",
                        "vulns": [{"id": "GHSA-x", "fix_versions": ["2.0.7"]}],
                    }
                ]
            },
            "",
            False,
            "error: known vulnerabilities in the layer's locked dependencies:",
        ),
        (
            0,
            {"dependencies": [{"name": "six", "version": "1.17.0", "vulns": []}]},
            "",
            True,
            "1 locked dependencies audited: no known vulnerability",
        ),
        (
            0,
            {"dependencies": [{"name": "six", "skip_reason": "Dependency not found on PyPI"}]},
            "",
            True,
            "warning: 1 of 1 not audited (the registry had no answer for their versions): six",
        ),
        (
            1,
            None,
            "requests.exceptions.ConnectionError: HTTPSConnectionPool(host='pypi.org', port=443)",
            True,
            "warning: the vulnerability service could not be reached: not audited",
        ),
        (
            1,
            None,
            "pip_audit: error: requirement lacks a hash",
            False,
            "error: pip-audit failed (exit 1): pip_audit: error: requirement lacks a hash",
        ),
    ],
    ids=["vulnerable", "clean", "not-found", "unreachable", "broken-lock"],
)
def test_a_known_vulnerability_fails_and_an_unreachable_registry_warns(
    returncode: int, report: dict[str, Any] | None, stderr: str, passed: bool, first_line: str
) -> None:
    result = verdict(returncode, report, stderr)
    assert (result.passed, result.lines[0]) == (passed, first_line)


def test_a_vulnerable_pin_fails_the_audit_run_naming_it_and_its_fix(tmp_path: Path) -> None:
    # Given a pip-audit that finds a known vulnerability in a locked package
    stub = tmp_path / "pip_audit"
    stub.mkdir()
    (stub / "__main__.py").write_text(
        textwrap.dedent(
            """
            import json, sys
            output = sys.argv[sys.argv.index("--output") + 1]
            vulns = [{"id": "PYSEC-2026-1", "fix_versions": ["2.8.1"]}]
            with open(output, "w") as report:
                json.dump({"dependencies": [{"name": "urllib3", "version": "2.8.0", "vulns": vulns}]}, report)
            sys.exit(1)
            """
        )
    )
    # When the audit runs
    run = subprocess.run(  # noqa: S603 - the project's own script
        [sys.executable, str(ROOT / "scripts" / "audit_layer.py")],
        capture_output=True,
        text=True,
        check=False,
        env={"PYTHONPATH": str(tmp_path)},
    )
    # Then it fails, naming the package, the advisory and the fixed version
    assert run.returncode == 1
    assert "urllib3 2.8.0: PYSEC-2026-1 (fixed in 2.8.1)" in run.stderr
