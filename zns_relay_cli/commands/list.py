"""`zns-relay list`: messages by status, phone or campaign, newest first."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer

from zns_relay.models.status_api import ListedBy
from zns_relay_cli import examples
from zns_relay_cli.errors import UserError
from zns_relay_cli.options import Command, session
from zns_relay_cli.output import channel_text, counted, status_text
from zns_relay_cli.status_api import StatusApi

app = typer.Typer()
RELATIVE_TIME = re.compile(r"^(\d+)([smhd])$")
TIME_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
DEFAULT_LIST_LIMIT = 50


@app.command(cls=Command, name="list", epilog=examples.LIST)
def list_messages(
    ctx: typer.Context,
    status: Annotated[str | None, typer.Option(help="messages now in this status (FAILED, ...)")] = None,
    phone: Annotated[str | None, typer.Option(help="messages to this phone")] = None,
    campaign: Annotated[str | None, typer.Option(help="messages of this campaign")] = None,
    since: Annotated[
        str | None, typer.Option(help="from this time: ISO 8601 with an offset, or 30m, 2h, 7d ago")
    ] = None,
    until: Annotated[str | None, typer.Option(help="up to this time (same forms)")] = None,
    limit: Annotated[int, typer.Option(min=1, help="at most this many messages")] = DEFAULT_LIST_LIMIT,
) -> None:
    """Messages by status, phone or campaign (exactly one), newest first."""
    state = session(ctx)
    chosen = {
        name: value
        for name, value in {"status": status, "phone": phone, "campaign": campaign}.items()
        if value
    }
    if len(chosen) != 1:
        raise UserError("list by exactly one of --status, --phone or --campaign")
    [(selector, wanted)] = chosen.items()
    by = ListedBy(selector)
    window = {name: _time(value, name) for name, value in {"since": since, "until": until}.items() if value}
    if by is ListedBy.STATUS:
        wanted = wanted.upper()
    messages = list(StatusApi(state.deployment).messages(by, wanted, window, limit))
    if state.output.json_mode:
        state.output.json(messages)
        return
    state.output.table(
        ["RequestId", "channel", "status", "since", "phone", "campaign", "attempts", "error"],
        [
            [
                message["requestId"],
                channel_text(message),
                status_text(message["status"]),
                message.get("statusAt") or message.get("updatedAt", ""),
                message.get("phone") or "",
                message.get("campaign") or "",
                str(message.get("attempts", 0)),
                message.get("error") or "",
            ]
            for message in messages
        ],
        wrap={"error"},
    )
    state.output.note(
        counted(len(messages), "message") + (" (--limit reached)" if len(messages) == limit else "")
    )


def _time(value: str, name: str) -> str:
    """An ISO 8601 time with an offset, as the API takes it; `30m`, `2h`, `7d` count back from now."""
    relative = RELATIVE_TIME.fullmatch(value)
    if relative:
        amount, unit = relative.groups()
        moment = datetime.now(UTC) - timedelta(**{TIME_UNITS[unit]: int(amount)})
        return moment.isoformat(timespec="seconds")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise UserError(
            f"--{name} {value}: an ISO 8601 time with an offset (2026-11-27T18:00:00+07:00), or 30m, 2h, 7d"
        )
    return value
