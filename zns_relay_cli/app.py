"""`zns-relay`: send, look up, follow and redrive ZNS messages, and ask eSMS about the account and its
templates, against a deployed stack or the local one."""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Annotated, Any

import typer
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError
from rich.text import Text
from typer.core import TyperCommand, TyperGroup, TyperOption

from zns_relay.esms.http import EsmsQueryFailed
from zns_relay.models.contract import REJECTION_KEY_PREFIX, is_valid_request_id, rejection_key
from zns_relay.models.status_api import ListedBy
from zns_relay_cli import examples
from zns_relay_cli.checking import template_problems
from zns_relay_cli.deployment import DEFAULT_CONFIG_ENV, Choice, Deployment, resolve
from zns_relay_cli.errors import FAILED, INTERRUPTED, OK, USAGE, CliError, NotFound, UserError
from zns_relay_cli.inputs import InputMessage, MessageFlags, messages_from
from zns_relay_cli.output import Output, counted, status_text
from zns_relay_cli.redrive import move_by_hand, move_task, queue_depth
from zns_relay_cli.status_api import StatusApi
from zns_relay_cli.watching import StatusEventWatch, event_pattern
from zns_relay_client.esms_account import EsmsAccountClient, Template
from zns_relay_client.publish import InvalidMessages, Prepared, Publisher, validate


def _flags_by_name(params: list[Any]) -> list[Any]:
    """A flag (`--local`, `--help`) shown in help by its name alone: Typer shows `--local <bool>`, as if
    it took a value, unless the flag has a metavar."""
    for param in params:
        if isinstance(param, TyperOption) and param.is_flag and param.metavar is None:
            param.metavar = ""
    return params


class Commands(TyperGroup):
    def get_params(self, ctx: Any) -> list[Any]:
        return _flags_by_name(super().get_params(ctx))


class Command(TyperCommand):
    def get_params(self, ctx: Any) -> list[Any]:
        return _flags_by_name(super().get_params(ctx))


app = typer.Typer(
    cls=Commands,
    name="zns-relay",
    help=__doc__,
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog=examples.ROOT,
)
# Options every subcommand understands, before or after its name (as the AWS CLI's).
GLOBAL_FLAGS = frozenset({"--local", "--json"})
GLOBAL_OPTIONS = frozenset({"--stack", "--config-env", "--profile", "--region"})
RELATIVE_TIME = re.compile(r"^(\d+)([smhd])$")
TIME_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
DEFAULT_LIST_LIMIT = 50
# `send` checks the contract only: checking TempData against a template asks eSMS (the account's
# credentials, an OA), which a producer's credentials need not reach; `check` does.
TEMPLATE_NOT_CHECKED = (
    "TempData is checked against the contract, not its template: `zns-relay check` (same --file or"
    " --temp-id/--data) checks it against the template's registered parameters, as eSMS will"
)


@dataclass
class Session:
    """One invocation: the options that choose the deployment, and the output mode."""

    choice: Choice
    output: Output

    @cached_property
    def deployment(self) -> Deployment:
        deployment = resolve(self.choice)
        if deployment.local and not self.choice.local:
            self.output.note("using the local stack (--stack NAME for a deployed one)")
        return deployment


def session(ctx: typer.Context) -> Session:
    found: Session = ctx.ensure_object(Session)
    return found


@app.callback()
def root(
    ctx: typer.Context,
    stack: Annotated[
        str | None, typer.Option(help="the deployed stack's name (default: samconfig.toml's stack_name)")
    ] = None,
    config_env: Annotated[
        str, typer.Option(help="samconfig.toml's environment to read")
    ] = DEFAULT_CONFIG_ENV,
    profile: Annotated[str | None, typer.Option(help="AWS profile, as the AWS CLI takes it")] = None,
    region: Annotated[str | None, typer.Option(help="AWS region, as the AWS CLI takes it")] = None,
    local: Annotated[
        bool, typer.Option("--local", help="the local stack (found by itself when one runs)")
    ] = False,
    json_mode: Annotated[bool, typer.Option("--json", help="JSON on stdout, for scripts")] = False,
) -> None:
    ctx.obj = Session(Choice(stack, config_env, profile, region, local), Output(json_mode))


# Message options shared by send and check.
FileOption = Annotated[
    str | None,
    typer.Option("--file", "-f", help="messages: a JSON object, a JSON array, or JSON lines; - for stdin"),
]
PhoneOption = Annotated[str | None, typer.Option(help="Phone (any Vietnamese mobile form)")]
TempIdOption = Annotated[str | None, typer.Option(help="TempID, the ZNS template")]
DataOption = Annotated[
    list[str] | None, typer.Option("--data", "-d", help="a TempData entry, KEY=VALUE (repeat)")
]
RequestIdOption = Annotated[str | None, typer.Option(help="RequestId (default: one is made and shown)")]
OaIdOption = Annotated[str | None, typer.Option(help="OAID (default: the stack's DefaultOaId)")]


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
    _show_message(message, state.output)


def _show_message(message: dict[str, Any], output: Output) -> None:
    output.fields(
        {
            "RequestId": message["requestId"],
            "status": status_text(message["status"], message["isFinal"]),
            "channel": _channel(message),
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
                _channel(message),
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


def _channel(message: dict[str, Any]) -> str:
    """ZNS, or SMS with the ZNS message it stands in for."""
    if message.get("channel") == "sms":
        return f"SMS (fallback of {message['fallbackFor']})" if message.get("fallbackFor") else "SMS"
    return "ZNS"


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
                    state.output.line(_event_line(event))
                shown += 1
                if count is not None and shown >= count:
                    break
    except KeyboardInterrupt:
        pass  # the watch's rule and queue are removed on the way out
    state.output.note(counted(shown, "event"))


def _event_line(event: dict[str, Any]) -> Text:
    detail = event["detail"]
    line = Text(
        f"{detail['time']}  {detail['requestId']:<28} {detail.get('previousStatus') or '(new)':>9} -> "
    )
    line.append(status_text(detail["status"], bool(detail.get("isFinal"))))
    if detail.get("reason"):
        line.append(f"  {detail['reason']}")
    return line


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


@app.command(cls=Command, epilog=examples.BALANCE)
def balance(ctx: typer.Context) -> None:
    """The eSMS account's balance (GetBalance_json)."""
    state = session(ctx)
    deployment = state.deployment
    found = _account(deployment).balance(deployment.esms_credentials())
    if state.output.json_mode:
        state.output.json({"balance": found.balance, "userId": found.user_id})
        return
    state.output.fields({"balance": f"{found.balance:,.0f} VND", "eSMS user": str(found.user_id or "")})


@app.command(cls=Command, epilog=examples.QUOTA)
def quota(ctx: typer.Context, oa_id: OaIdOption = None) -> None:
    """The OA's ZNS quota today (ZNS/GetQuota)."""
    state = session(ctx)
    deployment = state.deployment
    found = _account(deployment).quota(deployment.esms_credentials(), _oa(oa_id, deployment))
    if state.output.json_mode:
        state.output.json(found)
        return
    state.output.fields({name: str(value) for name, value in found.items()})


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
    client, credentials, oa = _account(deployment), deployment.esms_credentials(), _oa(oa_id, deployment)
    found = [_template(client, credentials, oa, temp_id)] if temp_id else client.templates(credentials, oa)
    if state.output.json_mode:
        state.output.json([_template_json(template) for template in found])
        return
    if temp_id:
        template = found[0]
        state.output.fields(
            {
                "template": template.temp_id,
                "name": template.name,
                "status": template.status,
                "tag": template.tag,
            }
        )
        state.output.table(
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
        return
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
    client, credentials = _account(deployment), deployment.esms_credentials()
    known: dict[tuple[str, str], Template | str] = {}
    checked: list[Checked] = []
    for message in inputs:
        try:
            parsed = validate(message.document)
        except ValueError as error:
            checked.append(Checked(message.line, str(message.document.get("TempID", "")), [str(error)]))
            continue
        oa = _oa(parsed.oa_id, deployment)
        if (oa, parsed.temp_id) not in known:
            try:
                known[oa, parsed.temp_id] = _template(client, credentials, oa, parsed.temp_id)
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


@dataclass(frozen=True)
class Checked:
    line: int
    temp_id: str
    problems: list[str]


def _account(deployment: Deployment) -> EsmsAccountClient:
    return EsmsAccountClient(deployment.esms_base_url)


def _oa(oa_id: str | None, deployment: Deployment) -> str:
    chosen = oa_id or deployment.default_oa_id
    if not chosen:
        raise UserError("which OA? pass --oa-id (the stack has no DefaultOaId)")
    return chosen


def _template(client: EsmsAccountClient, credentials: Any, oa_id: str, temp_id: str) -> Template:
    """GetZnsTemplateInfo's full spec, else GetTemplate's summary of it, else NotFound."""
    try:
        return client.template(credentials, oa_id, temp_id)
    except EsmsQueryFailed as detailed:
        listed = {template.temp_id: template for template in client.templates(credentials, oa_id)}
        if temp_id in listed:
            return listed[temp_id]
        raise NotFound(f"template {temp_id}: not registered for OA {oa_id} ({detailed})") from None


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


def hoist_global_options(arguments: Sequence[str]) -> list[str]:
    """Global options given after the subcommand (`zns-relay status X --json`) moved before it."""
    hoisted: list[str] = []
    rest: list[str] = []
    index = 0
    while index < len(arguments):
        argument = arguments[index]
        name = argument.split("=", 1)[0]
        if argument in GLOBAL_FLAGS:
            hoisted.append(argument)
        elif name in GLOBAL_OPTIONS:
            hoisted.append(argument)
            if "=" not in argument and index + 1 < len(arguments):
                index += 1
                hoisted.append(arguments[index])
        else:
            rest.append(argument)
        index += 1
    return hoisted + rest


def main(argv: Sequence[str] | None = None) -> int:
    """The console script: run one command; a mistake is one line on stderr and an exit code."""
    arguments = hoist_global_options(sys.argv[1:] if argv is None else argv) or ["--help"]
    output = Output(json_mode="--json" in arguments)
    command = typer.main.get_command(app)
    try:
        result = command.main(args=arguments, prog_name="zns-relay", standalone_mode=False)
    except typer.Exit as finished:
        return finished.exit_code
    except typer.TyperException as mistake:  # a usage error: an unknown option, a missing argument, ...
        output.error(mistake.format_message())
        return mistake.exit_code
    except (typer.Abort, KeyboardInterrupt):
        return INTERRUPTED
    except CliError as error:
        output.error(error.message)
        return error.exit_code
    except EsmsQueryFailed as refused:
        return _fail(output, f"eSMS: {refused}")
    except NoCredentialsError:
        output.error("no AWS credentials: pass --profile, or configure the AWS CLI (aws configure)")
        return USAGE
    except ClientError as error:
        details = error.response.get("Error", {})
        return _fail(output, f"AWS {details.get('Code', 'error')}: {details.get('Message', error)}")
    except BotoCoreError as error:
        return _fail(output, f"AWS: {error}")
    return result if isinstance(result, int) else OK


def _fail(output: Output, message: str) -> int:
    output.error(message)
    return FAILED
