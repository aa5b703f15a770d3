"""`zns-relay quota`: the OA's ZNS quota today."""

from __future__ import annotations

import typer

from zns_relay_cli import examples
from zns_relay_cli.account_commands import account_client, chosen_oa
from zns_relay_cli.options import Command, OaIdOption, session

app = typer.Typer()


@app.command(cls=Command, epilog=examples.QUOTA)
def quota(ctx: typer.Context, oa_id: OaIdOption = None) -> None:
    """The OA's ZNS quota today (ZNS/GetQuota)."""
    state = session(ctx)
    deployment = state.deployment
    found = account_client(deployment).quota(deployment.esms_credentials(), chosen_oa(oa_id, deployment))
    if state.output.json_mode:
        state.output.json(found)
        return
    state.output.fields({name: str(value) for name, value in found.items()})
