"""`zns-relay status`: one message, where it stands, and its history as a timeline."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.text import Text

from zns_relay.models.contract import REJECTION_KEY_PREFIX, is_valid_request_id, rejection_key
from zns_relay_cli import examples
from zns_relay_cli.errors import NotFound
from zns_relay_cli.options import Command, session
from zns_relay_cli.output import Output, channel_text, status_text
from zns_relay_cli.status_api import StatusApi

app = typer.Typer()


@app.command(cls=Command, epilog=examples.STATUS)
def status(
    ctx: typer.Context,
    request_id: Annotated[
        str, typer.Argument(help="the RequestId (or the SQS MessageId of one sent without)")
    ],
) -> None:
    """One message: where it stands, and its history as a timeline."""
    state = session(ctx)
    if not is_valid_request_id(request_id):
        state.output.note(
            f"{request_id!r} is not a valid RequestId (up to 50 of A-Z a-z 0-9 . _ : -, a letter or digit"
            f" among them): a message that carried it was REJECTED unsent and is recorded as"
            f" {rejection_key(request_id)}"
        )
    message = StatusApi(state.deployment).message(request_id)
    if message is None:
        raise NotFound(
            f"no message {request_id}: a message published without a RequestId is found by its SQS"
            " MessageId (`send` prints it); `list --status REJECTED --since 1h` shows recent rejections"
        )
    if state.output.json_mode:
        state.output.json(message)
        return
    show_message(message, state.output)


def show_message(message: dict[str, Any], output: Output) -> None:
    output.fields(
        {
            "RequestId": message["requestId"],
            "status": status_text(message["status"], message["isFinal"]),
            "channel": channel_text(message),
            "SMS instead": message.get("fallbackRequestId"),
            "phone": message.get("phone"),
            "campaign": message.get("campaign"),
            "template": message.get("tempId"),
            "OA": message.get("oaId"),
            "SMSID": message.get("smsId"),
            "sandbox": "yes" if message.get("sandbox") else None,
            "attempts": str(message.get("attempts", 0)),
            "eSMS code": message.get("esmsCode"),
            "error": Text(message["error"], style="red") if message.get("error") else None,
            "created": message.get("createdAt"),
            "updated": message.get("updatedAt"),
        }
    )
    if message["requestId"].startswith(REJECTION_KEY_PREFIX):
        output.note("recorded under a key derived from the RequestId it was given, which broke the contract")
    output.table(
        ["time", "status", "what happened"],
        [
            [
                entry["at"],
                status_text(entry["status"]) if entry.get("status") else Text("(note)", style="dim"),
                entry.get("detail", ""),
            ]
            for entry in message.get("history") or []
        ],
        title="history",
        wrap={"what happened"},
    )
