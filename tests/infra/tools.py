"""The command-line tools the infra tests run: found on PATH (make test puts each venv's bin there),
run from the project's root with no telemetry and a region."""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import Any

import pytest

from local.runtime.template import TEMPLATE_PATH

ROOT = TEMPLATE_PATH.parent


def tool(name: str, why: str) -> str:
    """The tool's path; a test without it fails in CI and is skipped elsewhere, saying `why`."""
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is not on PATH: run the tests through `make test`")
        pytest.skip(f"{name} is not on PATH ({why})")
    return path


def run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "SAM_CLI_TELEMETRY": "0", "AWS_DEFAULT_REGION": "ap-southeast-1"}
    return subprocess.run(  # noqa: S603 - our own tools, fixed arguments
        command, capture_output=True, text=True, cwd=ROOT, env=environment, check=False, **kwargs
    )
