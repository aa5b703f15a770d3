"""The functions the benchmarks run: the template's own, and the hand-written baselines beside them."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from local.runtime.template import FunctionSpec, Template

BENCH_DIR = Path(__file__).resolve().parent
# A baseline runs as the function it stands beside (same environment, layer, timeout and memory).
BASELINES = {
    "MinimalSender": ("SenderFunction", "sender_handler"),
    "MinimalCallback": ("CallbackFunction", "callback_handler"),
}


def function_spec(name: str, template: Template | None = None) -> FunctionSpec:
    """A template function by logical id, or a baseline by its name in BASELINES."""
    template = template or Template()
    if name not in BASELINES:
        return template.function(name)
    real, handler = BASELINES[name]
    return replace(
        template.function(real), logical_id=name, code_dir=BENCH_DIR, module="minimal", handler=handler
    )
