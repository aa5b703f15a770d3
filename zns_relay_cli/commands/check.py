"""`zns-relay check`: messages' TempData against their templates' registered parameters."""

from __future__ import annotations

from dataclasses import dataclass

import typer
from rich.text import Text

from zns_relay.models.template import Template, template_problems
from zns_relay_cli import examples
from zns_relay_cli.account_commands import account_client, chosen_oa, find_template
from zns_relay_cli.errors import FAILED, NotFound
from zns_relay_cli.inputs import MessageFlags, messages_from
from zns_relay_cli.options import (
    Command,
    DataOption,
    FileOption,
    OaIdOption,
    PhoneOption,
    TempIdOption,
    session,
)
from zns_relay_client.publish import validate

app = typer.Typer()


@dataclass(frozen=True)
class Checked:
    line: int
    temp_id: str
    problems: list[str]


@app.command(cls=Command, epilog=examples.CHECK)
def check(
    ctx: typer.Context,
    file: FileOption = None,
    phone: PhoneOption = None,
    temp_id: TempIdOption = None,
    data: DataOption = None,
    oa_id: OaIdOption = None,
) -> None:
    """Check messages' TempData against their templates' registered parameters, before sending.

    Names, required parameters, empty values, lengths and types, as eSMS knows them (GetZnsTemplateInfo,
    else GetTemplate). Exit status 1 when a message does not fit.
    """
    state = session(ctx)
    inputs = messages_from(file, MessageFlags(phone=phone, temp_id=temp_id, data=data or [], oa_id=oa_id))
    deployment = state.deployment
    client, credentials = account_client(deployment), deployment.esms_credentials()
    known: dict[tuple[str, str], Template | str] = {}
    checked: list[Checked] = []
    for message in inputs:
        try:
            parsed = validate(message.document)
        except ValueError as error:
            checked.append(Checked(message.line, str(message.document.get("TempID", "")), [str(error)]))
            continue
        oa = chosen_oa(parsed.oa_id, deployment)
        if (oa, parsed.temp_id) not in known:
            try:
                known[oa, parsed.temp_id] = find_template(client, credentials, oa, parsed.temp_id)
            except NotFound as missing:
                known[oa, parsed.temp_id] = missing.message
        template = known[oa, parsed.temp_id]
        problems = (
            [template] if isinstance(template, str) else template_problems(template, parsed.template_params())
        )
        checked.append(Checked(message.line, parsed.temp_id, problems))
    if state.output.json_mode:
        state.output.json([{"line": c.line, "tempId": c.temp_id, "problems": c.problems} for c in checked])
    else:
        state.output.table(
            ["line", "TempID", "result"],
            [
                [
                    str(c.line),
                    c.temp_id,
                    Text("; ".join(c.problems), style="red") if c.problems else Text("fits", style="green"),
                ]
                for c in checked
            ],
            wrap={"result"},
        )
    if any(c.problems for c in checked):
        raise typer.Exit(FAILED)
