"""`zns-relay send`: publish messages to SendQueue, each checked against the contract first."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

import typer
from rich.text import Text

from zns_relay_cli import examples
from zns_relay_cli.errors import FAILED, UserError
from zns_relay_cli.inputs import InputMessage, MessageFlags, messages_from
from zns_relay_cli.options import (
    Command,
    DataOption,
    FileOption,
    OaIdOption,
    PhoneOption,
    RequestIdOption,
    TempIdOption,
    session,
)
from zns_relay_cli.output import Output, counted
from zns_relay_client.publish import InvalidMessages, Prepared, Publisher

app = typer.Typer()
# `send` checks the contract only: checking TempData against a template asks eSMS (the account's
# credentials, an OA), which a producer's credentials need not reach; `check` does.
TEMPLATE_NOT_CHECKED = (
    "TempData is checked against the contract, not its template: `zns-relay check` (same --file or"
    " --temp-id/--data) checks it against the template's registered parameters, as eSMS will"
)


@app.command(cls=Command, epilog=examples.SEND)
def send(
    ctx: typer.Context,
    file: FileOption = None,
    phone: PhoneOption = None,
    temp_id: TempIdOption = None,
    data: DataOption = None,
    request_id: RequestIdOption = None,
    oa_id: OaIdOption = None,
    send_date: Annotated[
        str | None, typer.Option(help="SendDate, yyyy-mm-dd hh:MM:ss in Vietnam time")
    ] = None,
    campaign: Annotated[str | None, typer.Option(help="campaignid")] = None,
    sandbox: Annotated[str | None, typer.Option(help="Sandbox: 1 validates only, 0 sends")] = None,
    sending_mode: Annotated[str | None, typer.Option(help="SendingMode: 1 normal, 3 exceed quota")] = None,
    valid_until: Annotated[str | None, typer.Option(help="ValidUntil, ISO 8601 with an offset")] = None,
    dry_run: Annotated[bool, typer.Option(help="check every message, send nothing")] = False,
) -> None:
    """Publish messages to SendQueue, every one checked against the contract first.

    A file with one bad message sends nothing: each bad one is named by its line.
    """
    state = session(ctx)
    flags = MessageFlags(
        phone, temp_id, data or [], request_id, oa_id, send_date, campaign, sandbox, sending_mode, valid_until
    )
    inputs = messages_from(file, flags)
    deployment = state.deployment
    publisher = Publisher(deployment.queue_url, client=deployment.client("sqs"))
    prepared = _prepare(publisher, inputs, state.output)
    state.output.note(TEMPLATE_NOT_CHECKED)
    if dry_run:
        _report_valid(inputs, prepared, state.output)
        return
    with state.output.progress("publishing", len(prepared)) as update:
        done = 0

        def advance(count: int) -> None:
            nonlocal done
            done += count
            update(done, len(prepared))

        results = publisher.send(prepared, on_progress=advance)
    sent = list(zip(inputs, results, strict=True))
    failed = [result for result in results if not result.ok]
    if state.output.json_mode:
        state.output.json(
            {
                "queueUrl": deployment.queue_url,
                "messages": [
                    {
                        "line": message.line,
                        "requestId": result.request_id,
                        "requestIdGenerated": result.request_id_generated,
                        "messageId": result.message_id,
                        "error": result.error,
                    }
                    for message, result in sent
                ],
            }
        )
    else:
        state.output.table(
            ["line", "RequestId", "SQS MessageId", "result"],
            [
                [
                    str(message.line),
                    result.request_id + (" (made)" if result.request_id_generated else ""),
                    result.message_id or "",
                    Text(result.error, style="red") if result.error else Text("queued", style="green"),
                ]
                for message, result in sent
            ],
            wrap={"result"},
        )
        made = sum(1 for result in results if result.request_id_generated)
        state.output.line(
            f"published {len(results) - len(failed)} of {len(results)} to {deployment.queue_url}"
        )
        if made:
            state.output.note(
                f"{counted(made, 'RequestId')} made (marked): publish a message again under"
                " the same RequestId, so it cannot be sent twice"
            )
    if failed:
        raise typer.Exit(FAILED)


def _prepare(publisher: Publisher, inputs: Sequence[InputMessage], output: Output) -> list[Prepared]:
    try:
        return publisher.prepare([message.document for message in inputs])
    except InvalidMessages as invalid:
        problems = [
            {"line": inputs[problem.index].line, "reason": problem.reason} for problem in invalid.problems
        ]
        if output.json_mode:
            output.json({"invalid": problems})
        for problem in problems:
            output.error(f"line {problem['line']}: {problem['reason']}")
        breaks = "breaks" if len(problems) == 1 else "break"
        raise UserError(
            f"nothing was sent: {len(problems)} of {counted(len(inputs), 'message')} {breaks} the contract"
        ) from None


def _report_valid(inputs: Sequence[InputMessage], prepared: Sequence[Prepared], output: Output) -> None:
    rows = [
        {"line": message.line, "requestId": item.request_id, "requestIdGenerated": item.request_id_generated}
        for message, item in zip(inputs, prepared, strict=True)
    ]
    if output.json_mode:
        output.json({"valid": rows})
    else:
        kept = "the message keeps" if len(rows) == 1 else f"all {counted(len(rows), 'message')} keep"
        output.line(f"{kept} the contract; nothing sent (--dry-run)")
