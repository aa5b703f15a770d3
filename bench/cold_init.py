"""Cold init: importing a handler and building its clients, against importing boto3 and requests and
creating the same clients; with and without compiled bytecode.

Each init runs in a fresh interpreter (bench/cold_start.py) laid out as Lambda lays a function out:
the function's code directory, then the layer (everything layers/common/requirements.txt installs,
copied from this environment, and zns_relay), then the runtime's own packages (boto3, the standard
library; precompiled, as in Lambda's runtime). Lambda's file system is read-only, so a package
shipped without bytecode is compiled on every cold start; SAM's python builder ships none. "bytecode"
compiles the copy as the layer's build does (layers/common/Makefile: compileall, unchecked-hash).
The layer also carries its own botocore (aws-xray-sdk requires it), which shadows the runtime's.

Tracing is on, as deployed (Tracing: Active), with what Lambda's environment tells the X-Ray SDK.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

from bench.backends import ROOT, Backends

LAYER_DIR = ROOT / "layers" / "common"
COLD_START = Path(__file__).resolve().parent / "cold_start.py"
# What each function creates at init (zns_relay.composition), for its baseline to create the same.
FUNCTION_CLIENTS = {
    "SenderFunction": "secretsmanager,dynamodb,sqs",
    "CallbackFunction": "secretsmanager,dynamodb",
}
# What Lambda sets in a function's environment that tells the X-Ray SDK and Powertools where they run.
LAMBDA_TRACING = {
    "LAMBDA_TASK_ROOT": "/var/task",
    "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
    "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
    "POWERTOOLS_TRACE_DISABLED": "false",
}
RUNS = 5


@dataclass(frozen=True)
class Init:
    """Median CPU and wall seconds of a cold init over RUNS fresh interpreters."""

    cpu: float
    wall: float


def layer_distributions() -> list[metadata.Distribution]:
    """Every distribution the layer's requirements install, dependencies included (pip's closure)."""
    wanted = [
        Requirement(line)
        for line in (LAYER_DIR / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    found: dict[str, metadata.Distribution] = {}
    while wanted:
        requirement = wanted.pop()
        name = requirement.name.lower().replace("_", "-")
        if name in found:
            continue
        distribution = metadata.distribution(name)
        found[name] = distribution
        for text in distribution.requires or []:
            dependency = Requirement(text)
            extras = requirement.extras or {""}
            if dependency.marker is None or any(
                dependency.marker.evaluate({"extra": extra}) for extra in extras
            ):
                wanted.append(dependency)
    return list(found.values())


def build_layer(destination: Path) -> None:
    """The layer's `python/` directory as SAM's python builder makes it: sources, no bytecode."""
    for distribution in layer_distributions():
        for file in distribution.files or []:
            if "__pycache__" in file.parts or file.suffix == ".pyc" or str(file).startswith(".."):
                continue
            source = Path(str(distribution.locate_file(file)))
            if source.is_file():
                target = destination / file
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, target)
    shutil.copytree(
        LAYER_DIR / "zns_relay", destination / "zns_relay", ignore=shutil.ignore_patterns("__pycache__")
    )


def compile_tree(directory: Path) -> None:
    """What the layer build adds (layers/common/Makefile): bytecode that Python uses without checking
    it against the source."""
    subprocess.run(  # noqa: S603 - this interpreter, the standard library's compileall
        [
            sys.executable,
            "-m",
            "compileall",
            "-q",
            "-j",
            "0",
            "--invalidation-mode",
            "unchecked-hash",
            str(directory),
        ],
        check=True,
    )


@contextmanager
def lambda_trees() -> Iterator[dict[bool, Path]]:
    """Two copies of the layer and the functions' code: without bytecode (False) and with (True)."""
    with tempfile.TemporaryDirectory(prefix="zns-bench-layer-") as scratch:
        trees = {}
        for compiled in (False, True):
            root = Path(scratch, "compiled" if compiled else "source")
            build_layer(root / "layer")
            for function in ("sender", "callback"):
                shutil.copytree(
                    ROOT / "functions" / function,
                    root / "functions" / function,
                    ignore=shutil.ignore_patterns("__pycache__"),
                )
            if compiled:
                compile_tree(root)
            trees[compiled] = root
        yield trees


@dataclass(frozen=True)
class Configuration:
    function: str
    label: str  # "handler bytecode", "baseline source", ...
    compiled: bool
    what: str  # bench/cold_start.py's argument
    environment: dict[str, str]
    code_dir: str


def _run(tree: Path, configuration: Configuration, *flags: str) -> subprocess.CompletedProcess[str]:
    python_path = os.pathsep.join([str(tree / "functions" / configuration.code_dir), str(tree / "layer")])
    return subprocess.run(  # noqa: S603 - this interpreter, our own script
        [sys.executable, *flags, str(COLD_START), configuration.what],
        check=True,
        capture_output=True,
        text=True,
        cwd=tree,
        env={
            **{name: value for name, value in os.environ.items() if name != "PYTHONPATH"},
            **configuration.environment,
            "PYTHONPATH": python_path,
            "PYTHONDONTWRITEBYTECODE": "1",  # Lambda's file system is read-only
        },
    )


def _init_once(tree: Path, configuration: Configuration) -> dict[str, float]:
    result: dict[str, float] = json.loads(_run(tree, configuration).stdout.strip().splitlines()[-1])
    return result


def _imports(tree: Path, configuration: Configuration) -> dict[str, float]:
    """Seconds each imported module took on its own (`python -X importtime`), by module."""
    own = {}
    for line in _run(tree, configuration, "-X", "importtime").stderr.splitlines():
        if line.startswith("import time:") and "self [us]" not in line:
            self_us, _, name = line.removeprefix("import time:").split("|")
            own[name.strip()] = int(self_us) / 1e6
    return own


def beyond_baseline(
    tree: Path, handler: Configuration, baseline: Configuration, top: int = 6
) -> dict[str, float]:
    """What the handler imports that boto3 and requests do not, by top-level package: its own import
    time (importtime's clock, so only the proportions hold), largest first. A module's own time
    includes what its body runs: zns_relay's, the pydantic models it defines and the Tracer's patching."""
    theirs = _imports(tree, baseline)
    handler_module = handler.what.removeprefix("handler:")  # its body makes the baseline's clients too
    packages: dict[str, float] = {}
    for module, seconds in _imports(tree, handler).items():
        if module not in theirs and module != handler_module:
            package = module.split(".")[0]
            packages[package] = packages.get(package, 0.0) + seconds
    return dict(sorted(packages.items(), key=lambda item: item[1], reverse=True)[:top])


def configurations(backends: Backends) -> list[Configuration]:
    made = []
    for function, services in FUNCTION_CLIENTS.items():
        environment = {
            **backends.environment(function),
            **LAMBDA_TRACING,
            "AWS_LAMBDA_FUNCTION_NAME": f"zns-relay-{function}",
        }
        environment.pop("AWS_ENDPOINT_URL", None)
        spec = backends.template.function(function)
        for compiled in (True, False):
            label = "bytecode" if compiled else "source"
            for kind, what in (("handler", f"handler:{spec.module}"), ("baseline", f"baseline:{services}")):
                made.append(
                    Configuration(
                        function, f"{kind} {label}", compiled, what, environment, spec.code_dir.name
                    )
                )
    return made


@dataclass(frozen=True)
class ColdInits:
    inits: dict[str, dict[str, Init]]  # function: {"handler bytecode" | "baseline source" | ...: Init}
    beyond_baseline: dict[str, float]  # the sender's extra imports, compiled (seconds by package)


def measure(backends: Backends) -> ColdInits:
    """Every configuration run in turn RUNS times, so that a change in the machine's load touches
    them alike; then the sender's imports beyond its baseline's."""
    every = configurations(backends)
    runs: dict[tuple[str, str], list[dict[str, float]]] = {}
    with lambda_trees() as trees:
        for _ in range(RUNS):
            for configuration in every:
                runs.setdefault((configuration.function, configuration.label), []).append(
                    _init_once(trees[configuration.compiled], configuration)
                )
        sender = {c.label: c for c in every if c.function == "SenderFunction"}
        extra = beyond_baseline(trees[True], sender["handler bytecode"], sender["baseline bytecode"])
    inits: dict[str, dict[str, Init]] = {}
    for (function, label), measured in runs.items():
        inits.setdefault(function, {})[label] = Init(
            statistics.median(run["cpu"] for run in measured),
            statistics.median(run["wall"] for run in measured),
        )
    return ColdInits(inits, extra)
