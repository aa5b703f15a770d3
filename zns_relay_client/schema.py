"""Print the producer contract's JSON Schema (`make schema` writes schema/zns-message.schema.json)."""

from __future__ import annotations

import json

from zns_relay.models.contract import message_json_schema


def render_schema() -> str:
    return json.dumps(message_json_schema(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    print(render_schema(), end="")
