"""`zns-relay balance`: the eSMS account's balance."""

from __future__ import annotations

import typer

from zns_relay_cli import examples
from zns_relay_cli.account_commands import account_client
from zns_relay_cli.options import Command, session

app = typer.Typer()


@app.command(cls=Command, epilog=examples.BALANCE)
def balance(ctx: typer.Context) -> None:
    """The eSMS account's balance (GetBalance_json)."""
    state = session(ctx)
    deployment = state.deployment
    found = account_client(deployment).balance(deployment.esms_credentials())
    if state.output.json_mode:
        state.output.json({"balance": found.balance, "userId": found.user_id})
        return
    state.output.fields({"balance": f"{found.balance:,.0f} VND", "eSMS user": str(found.user_id or "")})
