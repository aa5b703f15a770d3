"""`sam local invoke --env-vars`'s rule for a function's environment, and a handler run with exactly it.

SAM CLI (samcli/local/lambdafn/env_vars.py, EnvironmentVariables.resolve) gives a function Lambda's own
AWS_* variables (the credentials and region from SAM's own shell or profile), then each variable the
template declares for the function (Globals and its Environment.Variables), with the env-vars file's
value over the template's: its "Parameters" entry for every function, its entry for the function over
that. Any other name in the file is dropped; so is any variable of SAM's shell the template does not
declare.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from local.runtime.template import ROOT, FunctionSpec

# The runtime's own (Lambda's Python runtime sets PYTHONPATH to the function's code and the layers):
# the handler is loaded as the local stack loads it, in a process whose environment is nothing else.
_RUNNER = """
import json, sys
from local.runtime.lambda_runtime import context_for, load_handler
from local.runtime.template import Template
spec = Template().function(sys.argv[1])
handler, _ = load_handler(spec, {})
result = handler(json.loads(sys.stdin.read()), context_for(spec))
open(sys.argv[2], "w").write(json.dumps(result))
"""


def sam_environment(
    spec: FunctionSpec,
    declared: Mapping[str, str],
    env_vars: Mapping[str, Mapping[str, str]],
    *,
    region: str,
    credentials: tuple[str, str],
) -> dict[str, str]:
    """What `sam local invoke <function> --env-vars <file> --region <region>` gives the function:
    `declared` is the template's variables for it, valued as the template says; `env_vars` the file."""
    overrides = {**env_vars.get("Parameters", {}), **env_vars.get(spec.logical_id, {})}
    return {
        "AWS_SAM_LOCAL": "true",
        "AWS_LAMBDA_FUNCTION_NAME": spec.logical_id,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
        "AWS_LAMBDA_FUNCTION_TIMEOUT": str(spec.timeout_seconds),
        "AWS_LAMBDA_FUNCTION_HANDLER": f"{spec.module}.{spec.handler}",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_ACCESS_KEY_ID": credentials[0],
        "AWS_SECRET_ACCESS_KEY": credentials[1],
        **{name: str(overrides.get(name, value)) for name, value in declared.items()},
    }


def invoke_with(
    spec: FunctionSpec, environment: Mapping[str, str], event: Mapping[str, Any], result_path: Path
) -> subprocess.CompletedProcess[str]:
    """Run the handler once, in a process whose environment is `environment` and the runtime's
    PYTHONPATH; its result (JSON) in `result_path`, its output in the returned process."""
    python_path = os.pathsep.join([str(spec.code_dir), *map(str, spec.layer_dirs), str(ROOT)])
    return subprocess.run(  # noqa: S603 - this interpreter, running our own runner
        [sys.executable, "-c", _RUNNER, spec.logical_id, str(result_path)],
        input=json.dumps(event),
        env={**environment, "PYTHONPATH": python_path},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
