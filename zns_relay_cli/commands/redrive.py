"""`zns-relay redrive`: move every message of SendDLQ back to SendQueue."""

from __future__ import annotations

from typing import Annotated

import typer

from zns_relay_cli import examples
from zns_relay_cli.errors import FAILED
from zns_relay_cli.options import Command, session
from zns_relay_cli.output import counted
from zns_relay_cli.redrive import move_by_hand, move_task, queue_depth

app = typer.Typer()


@app.command(cls=Command, epilog=examples.REDRIVE)
def redrive(
    ctx: typer.Context,
    rate: Annotated[
        int | None,
        typer.Option(min=1, help="messages a second (AWS's move task; default: as fast as it goes)"),
    ] = None,
) -> None:
    """Move every message of SendDLQ back to SendQueue.

    Safe to run any time: the sender claims each RequestId before it calls eSMS, so a message already
    accepted (or finished) is dropped unsent.
    """
    state = session(ctx)
    deployment = state.deployment
    sqs = deployment.client("sqs")
    waiting = queue_depth(sqs, deployment.dlq_url)
    if waiting == 0:
        if state.output.json_mode:
            state.output.json({"status": "COMPLETED", "moved": 0, "toMove": 0})
        else:
            state.output.line("SendDLQ is empty: nothing to move")
        return
    state.output.note(f"moving {counted(waiting, 'message')} from SendDLQ to SendQueue")
    with state.output.progress("moving", waiting) as update:
        if deployment.local:
            result = move_by_hand(sqs, deployment.dlq_url, deployment.queue_url, waiting, update)
        else:
            result = move_task(sqs, deployment.dlq_url, deployment.queue_url, update, rate=rate)
    if state.output.json_mode:
        state.output.json(
            {
                "status": result.status,
                "moved": result.moved,
                "toMove": result.to_move,
                "failure": result.failure,
            }
        )
    else:
        state.output.line(
            f"{result.status.lower()}: {result.moved} of {result.to_move} moved"
            + (f" ({result.failure})" if result.failure else "")
        )
    if not result.ok:
        raise typer.Exit(FAILED)
