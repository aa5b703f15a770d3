"""`zns-relay templates`: the OA's ZNS templates and their parameters, or one template's."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from zns_relay.models.template import Template
from zns_relay_cli import examples
from zns_relay_cli.account_commands import account_client, chosen_oa, find_template
from zns_relay_cli.options import Command, OaIdOption, session
from zns_relay_cli.output import Output

app = typer.Typer()


@app.command(cls=Command, epilog=examples.TEMPLATES)
def templates(
    ctx: typer.Context,
    temp_id: Annotated[
        str | None, typer.Argument(help="one template's parameters in full (GetZnsTemplateInfo)")
    ] = None,
    oa_id: OaIdOption = None,
) -> None:
    """The OA's ZNS templates and their parameters (GetTemplate), or one template's (GetZnsTemplateInfo)."""
    state = session(ctx)
    deployment = state.deployment
    client, credentials = account_client(deployment), deployment.esms_credentials()
    oa = chosen_oa(oa_id, deployment)
    found = (
        [find_template(client, credentials, oa, temp_id)] if temp_id else client.templates(credentials, oa)
    )
    if state.output.json_mode:
        state.output.json([_template_json(template) for template in found])
    elif temp_id:
        _show_template(found[0], state.output)
    else:
        state.output.table(
            ["TempID", "name", "parameters (type, at most)"],
            [
                [
                    template.temp_id,
                    template.name,
                    ", ".join(f"{p.name} ({p.type}, {p.max_length})" for p in template.parameters),
                ]
                for template in found
            ],
            wrap={"name", "parameters (type, at most)"},
        )


def _show_template(template: Template, output: Output) -> None:
    output.fields(
        {"template": template.temp_id, "name": template.name, "status": template.status, "tag": template.tag}
    )
    output.table(
        ["parameter", "type", "length", "required", "may be empty"],
        [
            [
                parameter.name,
                parameter.type,
                f"{parameter.min_length or 0}..{parameter.max_length}"
                if parameter.max_length is not None
                else "",
                _yes_no(parameter.required),
                _yes_no(parameter.accept_null),
            ]
            for parameter in template.parameters
        ],
    )


def _template_json(template: Template) -> dict[str, Any]:
    return {
        "tempId": template.temp_id,
        "name": template.name,
        "status": template.status,
        "tag": template.tag,
        "parameters": [
            {
                "name": p.name,
                "type": p.type,
                "minLength": p.min_length,
                "maxLength": p.max_length,
                "required": p.required,
                "acceptNull": p.accept_null,
            }
            for p in template.parameters
        ],
    }


def _yes_no(value: bool | None) -> str:
    return "" if value is None else "yes" if value else "no"
