"""What a handler's cold init imports and builds (`make bench` 3): only what its own path uses.

Each handler module is imported as Lambda imports it, in a fresh interpreter (its code directory and
the layer on the path, its environment from the template), which then reports its sys.modules and the
pydantic models it has built. No timing: the modules themselves are the guard.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from local.aws.resources import function_environment
from local.runtime.template import Resolver
from tests.conftest import TEMPLATE

REPORT = """
import importlib, json, sys
importlib.import_module(sys.argv[1])
modules = sorted(sys.modules)
from zns_relay.config import settings
from zns_relay.models import callback, events, status_api
models = [callback.DeliveryReport, callback.ZaloError, events.StatusChanged, status_api.MessageView,
          *(getattr(settings, name) for name in dir(settings) if name.endswith("Settings"))]
print(json.dumps({"modules": modules,
                  "built": sorted(m.__name__ for m in models if m.__pydantic_complete__)}))
"""
# The sender keeps Powertools' batch utility (partial batch responses, as the Powertools examples do),
# whose import brings the event data classes; nothing of the HTTP event handler.
NOT_FOR_THE_SENDER = (
    "aws_lambda_powertools.event_handler",
    "zns_relay.composition.callback",
    "zns_relay.composition.reconciler",
    "zns_relay.reconciler.reconciler",
    "zns_relay.reconciler.discovery",
    "zns_relay.esms.status",
    "zns_relay.fallback.fallbacks",
    "zns_relay.status_api.lookup",
    "zns_relay.status_events.publisher",
    "zns_relay.store.message_index",
)
NOT_FOR_THE_CALLBACK = (
    "aws_lambda_powertools.utilities.batch",
    "aws_lambda_powertools.utilities.parser",
    "zns_relay.composition.sender",
    "zns_relay.sender.sender",
    "zns_relay.sender.pacing",
    "zns_relay.sender.sealing",
    "zns_relay.esms.client",
    "zns_relay.reconciler.reconciler",
    "zns_relay.reconciler.discovery",
    "zns_relay.status_api.lookup",
    "zns_relay.status_events.publisher",
)

# The guardrails ask eSMS's account endpoints only: nothing of sending, reconciling or the HTTP API.
NOT_FOR_THE_GUARDRAILS = (
    "aws_lambda_powertools.event_handler",
    "aws_lambda_powertools.utilities.batch",
    "zns_relay.composition.sender",
    "zns_relay.composition.reconciler",
    "zns_relay.sender.sender",
    "zns_relay.esms.client",
    "zns_relay.esms.status",
    "zns_relay.reconciler.reconciler",
)


def cold_init(logical_id: str, deployment: Resolver) -> dict[str, Any]:
    spec = TEMPLATE.function(logical_id)
    environment = {
        **{name: value for name, value in os.environ.items() if name != "PYTHONPATH"},
        **function_environment(spec, deployment, {"CALLBACK_BASE_URL": "https://callbacks.example.test/x"}),
        "PYTHONPATH": os.pathsep.join(str(path) for path in (spec.code_dir, *spec.layer_dirs)),
    }
    finished = subprocess.run(  # noqa: S603 - this interpreter, the script above
        [sys.executable, "-c", REPORT, spec.module],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert finished.returncode == 0, finished.stderr
    report: dict[str, Any] = json.loads(finished.stdout.splitlines()[-1])
    return report


def loaded(modules: list[str], packages: tuple[str, ...]) -> list[str]:
    return [name for name in modules if name in packages or name.startswith(tuple(f"{p}." for p in packages))]


@pytest.mark.parametrize(
    ("logical_id", "unused", "built"),
    [
        ("SenderFunction", NOT_FOR_THE_SENDER, ["SenderSettings"]),
        ("CallbackFunction", NOT_FOR_THE_CALLBACK, ["CallbackSettings"]),
        ("GuardrailsFunction", NOT_FOR_THE_GUARDRAILS, ["GuardrailsSettings"]),
    ],
)
def test_a_handler_imports_and_builds_only_what_its_path_uses(
    deployment: Resolver, logical_id: str, unused: tuple[str, ...], built: list[str]
) -> None:
    report = cold_init(logical_id, deployment)

    assert loaded(report["modules"], unused) == []
    # Of the models its path does not read at init: none built (defer_build), only its own settings.
    assert report["built"] == built
