"""Make moto's EventBridge deliver to a target without parsing its JSONPath expressions every time.

moto builds the event it hands each target through an input template whose eight JSONPath expressions it
parses anew for every event (a parser generator run each time): most of the local stack's cost of a status
event. The parsed expressions never change, so they are kept here (moto's server process only).
"""

from __future__ import annotations

from functools import lru_cache

import jsonpath_ng.ext


def cache_jsonpath_parsing() -> None:
    """Parse each expression once (moto imports `parse` from the module at each delivery)."""
    jsonpath_ng.ext.parse = lru_cache(maxsize=256)(jsonpath_ng.ext.parse)  # type: ignore[attr-defined]
