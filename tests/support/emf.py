"""The metrics a function printed as Powertools' EMF lines (CloudWatch's embedded metric format)."""

from __future__ import annotations

import json
from typing import Any


def emf_lines(output: str) -> list[dict[str, Any]]:
    """Each metric of the EMF lines in `output`: name, unit, value, dimensions (by name) and namespace."""
    found = []
    for line in output.splitlines():
        if '"_aws"' not in line:
            continue
        document = json.loads(line)
        [directive] = document["_aws"]["CloudWatchMetrics"]
        for metric in directive["Metrics"]:
            values = document[metric["Name"]]
            found.append(
                {
                    "name": metric["Name"],
                    "unit": metric["Unit"],
                    "value": values[0] if isinstance(values, list) else values,
                    "dimensions": {name: document[name] for name in directive["Dimensions"][0]},
                    "namespace": directive["Namespace"],
                }
            )
    return found
