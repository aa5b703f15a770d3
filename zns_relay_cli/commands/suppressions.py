"""`zns-relay suppressions`: the people who refused ZNS (Zalo -141 for an OA, -139 for a template), whose
messages the relay does not send while it remembers that (SuppressionDays)."""

from __future__ import annotations

from typing import Annotated

import typer

from zns_relay.models.contract import normalise_phone
from zns_relay.models.suppression import Suppression
from zns_relay.store.suppressions import Suppressions
from zns_relay_cli import examples
from zns_relay_cli.deployment import Deployment
from zns_relay_cli.errors import CliError, NotFound, UserError
from zns_relay_cli.options import Command, Commands, session

app = typer.Typer(
    cls=Commands,
    name="suppressions",
    help="The people who refused ZNS from an OA or of a template: list them, or forget one.",
    no_args_is_help=True,
)

OaOption = Annotated[str | None, typer.Option("--oa", help="OAID")]
PhoneOption = Annotated[str | None, typer.Option("--phone", help="Phone (any Vietnamese mobile form)")]


@app.command("list", cls=Command, epilog=examples.SUPPRESSIONS_LIST)
def list_suppressions(ctx: typer.Context, oa: OaOption = None, phone: PhoneOption = None) -> None:
    """The refusals the relay remembers, of every OA and phone or of those given."""
    state = session(ctx)
    found = sorted(
        suppressions_of(state.deployment).listed(oa, _phone(phone) if phone is not None else None),
        key=lambda record: (record.oa_id, record.phone, record.temp_id or ""),
    )
    if state.output.json_mode:
        state.output.json([_document(record) for record in found])
        return
    if not found:
        state.output.line("no suppressions")
        return
    rows = [
        [record.oa_id, record.phone, record.temp_id or "(every template)", str(record.code), record.since,
         record.request_id]
        for record in found
    ]  # fmt: skip
    state.output.table(["OA", "Phone", "Template", "Zalo", "Since", "Learnt from"], rows)


@app.command("clear", cls=Command, epilog=examples.SUPPRESSIONS_CLEAR)
def clear(
    ctx: typer.Context,
    oa: Annotated[str, typer.Option("--oa", help="OAID")],
    phone: Annotated[str, typer.Option("--phone", help="Phone (any Vietnamese mobile form)")],
    temp_id: Annotated[
        str | None, typer.Option("--temp-id", help="the template of a -139 refusal (default: the OA's, -141)")
    ] = None,
) -> None:
    """Forget one refusal: the relay sends that person's messages again (the person may refuse again)."""
    state = session(ctx)
    number = _phone(phone)
    if not suppressions_of(state.deployment).clear(oa, number, temp_id):
        what = f"template {temp_id} of OA {oa}" if temp_id else f"OA {oa}"
        raise NotFound(f"no suppression of {what} for {number}")
    if state.output.json_mode:
        state.output.json({"cleared": True, "oaId": oa, "phone": number, "tempId": temp_id})
    else:
        state.output.line(f"cleared: {number} may get ZNS from {oa} again")


def suppressions_of(deployment: Deployment) -> Suppressions:
    if not deployment.throttle_table_name:
        raise CliError(
            f"stack {deployment.name} has no output ThrottleTableName: deploy the current template.yaml"
        )
    return Suppressions(deployment.throttle_table_name, deployment.client("dynamodb"))


def _phone(given: str) -> str:
    """The stored form of a phone (0xxxxxxxxx), or a one-line usage error."""
    try:
        return normalise_phone(given)
    except ValueError as error:
        raise UserError(f"--phone {given}: {error}") from None


def _document(record: Suppression) -> dict[str, object]:
    return {
        "oaId": record.oa_id,
        "phone": record.phone,
        "tempId": record.temp_id,
        "zaloCode": record.code,
        "since": record.since,
        "requestId": record.request_id,
    }
