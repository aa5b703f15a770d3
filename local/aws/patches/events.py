"""Make moto's EventBridge deliver to a target without parsing its JSONPath expressions every time.

moto builds the event it hands each target through an input template whose eight JSONPath expressions it
parses anew for every event (a parser generator run each time): most of the local stack's cost of a status
event. The parsed expressions never change, so they are kept here (moto's server process only).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

import jsonpath_ng.ext
from moto.events.utils import EventTemplateParser

from local.aws.patches.patching import Patch


def _parsed_once(parse: Callable[..., Any]) -> Callable[..., Any]:
    """Each expression parsed once: moto imports `parse` from jsonpath-ng at each delivery, and only reads
    (`find`) what it returns."""
    return lru_cache(maxsize=256)(parse)


PATCHES = (
    Patch(
        jsonpath_ng.ext,
        "parse",
        _parsed_once,
        "40a5a46a3218",
        relies_on=EventTemplateParser.parse,
        why="EventBridge's input template's JSONPath expressions parsed once, not at every event",
    ),
)
