"""Audit the layer's locked dependencies for known vulnerabilities (`make audit`, run by `make test`).

pip-audit reads layers/common/requirements.lock (every pin hashed, so nothing is resolved: what is
audited is exactly what the layer ships) and asks PyPI about each pinned version. A known
vulnerability fails the audit. A registry that cannot be reached, or that has no answer for a pinned
version, is a warning: the audit could not be done, which says nothing either way about the packages.

Runs with .venv-audit's Python (pip-audit's own environment); the standard library only besides.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LOCK = Path(__file__).resolve().parents[1] / "layers" / "common" / "requirements.lock"
# What requests and urllib3 raise when the service is out of reach (pip-audit then leaves a traceback).
UNREACHABLE = ("ConnectionError", "ProxyError", "MaxRetryError", "ConnectTimeout", "ReadTimeout")


@dataclass(frozen=True)
class Verdict:
    passed: bool
    lines: list[str]


def verdict(returncode: int, report: dict[str, Any] | None, stderr: str) -> Verdict:
    """What pip-audit's run means: its exit code, its JSON report (None if it wrote none), its stderr."""
    if report is None:
        if any(marker in stderr for marker in UNREACHABLE):
            return Verdict(True, ["warning: the vulnerability service could not be reached: not audited"])
        last = stderr.strip().splitlines()[-1] if stderr.strip() else "no output"
        return Verdict(False, [f"error: pip-audit failed (exit {returncode}): {last}"])
    dependencies = report["dependencies"]
    vulnerable = [
        f"  {dependency['name']} {dependency['version']}: {vulnerability['id']} "
        f"(fixed in {', '.join(vulnerability.get('fix_versions') or []) or 'no release yet'})"
        for dependency in dependencies
        for vulnerability in dependency.get("vulns", [])
    ]
    skipped = [dependency["name"] for dependency in dependencies if "skip_reason" in dependency]
    lines = (
        ["error: known vulnerabilities in the layer's locked dependencies:", *vulnerable]
        if vulnerable
        else []
    )
    if skipped:
        lines.append(
            f"warning: {len(skipped)} of {len(dependencies)} not audited (the registry had no answer for"
            f" their versions): {', '.join(skipped)}"
        )
    if returncode != 0 and not vulnerable:
        lines.append(f"error: pip-audit failed (exit {returncode})")
    if not lines:
        lines.append(f"{len(dependencies)} locked dependencies audited: no known vulnerability")
    return Verdict(not vulnerable and returncode == 0, lines)


def main() -> int:
    with tempfile.TemporaryDirectory() as scratch:
        report_path = Path(scratch) / "report.json"
        command = [
            sys.executable, "-m", "pip_audit", "--requirement", str(LOCK), "--require-hashes",
            "--disable-pip", "--progress-spinner", "off", "--format", "json", "--output", str(report_path),
        ]  # fmt: skip
        run = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603 - fixed
        report = json.loads(report_path.read_text()) if report_path.exists() else None
    result = verdict(run.returncode, report, run.stderr)
    troubled = any(line.startswith(("error:", "warning:")) for line in result.lines)
    print("\n".join(result.lines), file=sys.stderr if troubled else sys.stdout)
    return 0 if result.passed else 1


if __name__ == "__main__":
    sys.exit(main())
