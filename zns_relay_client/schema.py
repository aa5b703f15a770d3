"""Write the contract files into a folder (`make schema` writes schema/): the producer contract's JSON
Schema, the status event detail's, and the status API's OpenAPI document, each made from the models."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from zns_relay.models.contract import message_json_schema
from zns_relay.models.events import status_event_json_schema
from zns_relay.status_api.openapi import status_api_openapi

CONTRACT_FILES: dict[str, Callable[[], dict[str, Any]]] = {
    "zns-message.schema.json": message_json_schema,
    "status-event-detail.schema.json": status_event_json_schema,
    "status-api.openapi.json": status_api_openapi,
}


def render_contract(name: str) -> str:
    """The text of the contract file `name` (one of CONTRACT_FILES)."""
    return json.dumps(CONTRACT_FILES[name](), indent=2, ensure_ascii=False) + "\n"


def write_contracts(folder: Path) -> list[Path]:
    """Write every contract file into `folder`; the paths written."""
    written = []
    for name in CONTRACT_FILES:
        path = folder / name
        path.write_text(render_contract(name), encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write_contracts(Path(sys.argv[1] if len(sys.argv) > 1 else "schema")):
        print(path)
