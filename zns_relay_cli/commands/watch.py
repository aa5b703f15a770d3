"""`zns-relay watch`: follow status events live, as a producer's rule hears them."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.text import Text

from zns_relay_cli import examples
from zns_relay_cli.options import Command, session
from zns_relay_cli.output import counted, status_text
from zns_relay_cli.watching import StatusEventWatch, event_pattern

app = typer.Typer()


@app.command(cls=Command, epilog=examples.WATCH)
def watch(
    ctx: typer.Context,
    final: Annotated[bool, typer.Option("--final", help="only final statuses")] = False,
    request_id: Annotated[str | None, typer.Option(help="only this message's events")] = None,
    campaign: Annotated[str | None, typer.Option(help="only this campaign's events")] = None,
    count: Annotated[int | None, typer.Option(min=1, help="stop after this many events")] = None,
    idle: Annotated[
        float | None, typer.Option(min=0, help="stop after this many seconds without one")
    ] = None,
) -> None:
    """Follow status events live, as a producer's rule hears them (Ctrl-C stops).

    A temporary rule on the stack's event bus and a temporary queue are made for the watch and removed
    when it ends.
    """
    state = session(ctx)
    deployment = state.deployment
    pattern = event_pattern(final_only=final, request_id=request_id, campaign=campaign)
    shown = 0
    try:
        with StatusEventWatch(
            deployment.client("events"), deployment.client("sqs"), deployment.event_bus_name, pattern
        ) as following:
            state.output.note(f"following {deployment.event_bus_name} from now on (Ctrl-C stops)")
            for event in following.events(idle_seconds=idle):
                if state.output.json_mode:
                    state.output.json_line(event)
                else:
                    state.output.line(event_line(event))
                shown += 1
                if count is not None and shown >= count:
                    break
    except KeyboardInterrupt:
        pass  # the watch's rule and queue are removed on the way out
    state.output.note(counted(shown, "event"))


def event_line(event: dict[str, Any]) -> Text:
    detail = event["detail"]
    line = Text(
        f"{detail['time']}  {detail['requestId']:<28} {detail.get('previousStatus') or '(new)':>9} -> "
    )
    line.append(status_text(detail["status"], bool(detail.get("isFinal"))))
    if detail.get("reason"):
        line.append(f"  {detail['reason']}")
    return line
