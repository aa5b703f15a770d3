"""The committed contract files (schema/), and what a document breaks of one of their schemas."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

SCHEMA_FOLDER = Path(__file__).resolve().parents[2] / "schema"


def contract(name: str) -> dict[str, Any]:
    """The committed contract file `name`, parsed."""
    document: dict[str, Any] = json.loads((SCHEMA_FOLDER / name).read_text(encoding="utf-8"))
    return document


def problems(document: Any, schema: dict[str, Any]) -> list[str]:
    """Where and how `document` breaks `schema` (JSON Schema 2020-12); empty when it is valid."""
    Draft202012Validator.check_schema(schema)
    return [
        f"/{'/'.join(str(step) for step in error.absolute_path)}: {error.message}"
        for error in Draft202012Validator(schema).iter_errors(document)
    ]


def answer_schema(openapi: dict[str, Any], path: str, status_code: int) -> dict[str, Any]:
    """The schema of GET `path`'s answer `status_code` in an OpenAPI document, with the document's
    components beside it so that its references resolve."""
    response = openapi["paths"][path]["get"]["responses"][str(status_code)]
    return {**response["content"]["application/json"]["schema"], "components": openapi["components"]}
