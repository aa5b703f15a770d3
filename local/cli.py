"""Command line of the embedded stack: up, send, status, events, demo."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import Any

from local.event_bus import event_line, received_events
from local.stack import STATE_DIR, STATE_FILE, LocalStack, StackInfo, history_lines

DEMO_TIMEOUT_SECONDS = 120


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    up = commands.add_parser("up", help="start the stack in the foreground; Ctrl-C stops it")
    up.add_argument(
        "--host", default="127.0.0.1", help="address to bind (0.0.0.0 for containers to reach it)"
    )
    up.add_argument("--advertise-host", help="address clients use to reach the stack (e.g. 172.17.0.1)")
    up.add_argument("--env-vars", type=Path, help="write a `sam local invoke --env-vars` file here")

    send = commands.add_parser("send", help="publish one message, or a file of them, to SendQueue")
    send.add_argument("--file", type=Path, help="a JSON array of message bodies, or one JSON body per line")
    send.add_argument("--phone", help="Phone")
    send.add_argument("--temp-id", default="2056446", help="TempID")
    send.add_argument("--data", action="append", default=[], metavar="KEY=VALUE", help="a TempData entry")
    send.add_argument("--request-id", help="RequestId (default: the SQS messageId)")
    send.add_argument("--oa-id", help="OAID (default: the deployment's DefaultOaId)")
    send.add_argument("--send-date", help="SendDate, yyyy-mm-dd hh:MM:ss")
    send.add_argument("--campaign", help="campaignid")
    send.add_argument("--sandbox", choices=["0", "1"], help="Sandbox")
    send.add_argument("--sending-mode", choices=["1", "3"], help="SendingMode")

    status = commands.add_parser("status", help="one message with its history, or counts by status")
    status.add_argument("request_id", nargs="?")

    events = commands.add_parser(
        "events", help="print the status events on the bus as they come (each once: they are consumed)"
    )
    events.add_argument("--final", action="store_true", help="only final events (isFinal)")
    events.add_argument("--json", action="store_true", help="each event whole, one JSON document a line")
    events.add_argument("--count", type=int, help="stop after this many events")
    events.add_argument("--idle", type=float, help="stop after this many seconds without an event")

    demo = commands.add_parser("demo", help="run a realistic mix end to end and check every outcome")
    demo.add_argument("--count", type=int, default=300, help="how many distinct messages to publish")

    soak = commands.add_parser(
        "soak", help="thousands of messages under every fault at once; exits 1 unless all is well"
    )
    soak.add_argument("--messages", type=int, default=5000, help="how many distinct messages to publish")
    soak.add_argument("--outage-seconds", type=float, default=300.0, help="how long eSMS is down mid-run")
    soak.add_argument("--tps-limit", type=float, default=20.0, help="eSMS's TPS limit for the account")

    arguments = parser.parse_args(argv)
    handlers = {"up": _up, "send": _send, "status": _status, "events": _events, "demo": _demo, "soak": _soak}
    return handlers[arguments.command](arguments)


def _up(arguments: argparse.Namespace) -> int:
    stack = LocalStack(host=arguments.host, advertise_host=arguments.advertise_host)
    info = stack.start()
    info.save()
    if arguments.env_vars:
        arguments.env_vars.write_text(json.dumps(stack.env_vars_file(), indent=2))
    print(json.dumps(_public(info)), flush=True)
    stopped = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopped.set())
    stopped.wait()
    stack.stop()
    STATE_FILE.unlink(missing_ok=True)
    print(json.dumps({"stopped": True}), flush=True)
    return 0


def _public(info: StackInfo) -> dict[str, str]:
    return {
        "aws_endpoint": info.aws_endpoint,
        "queue_url": info.queue_url,
        "dlq_url": info.dlq_url,
        "table_name": info.table_name,
        "callback_base_url": info.callback_base_url,
        "esms_url": info.esms_url,
        "event_bus_name": info.event_bus_name,
        "status_api_url": info.status_api_url,
    }


def _send(arguments: argparse.Namespace) -> int:
    info = StackInfo.load()
    bodies = _bodies_from_file(arguments.file) if arguments.file else [_body_from_flags(arguments)]
    sqs = info.client("sqs")
    for body in bodies:
        message_id = sqs.send_message(
            QueueUrl=info.queue_url, MessageBody=json.dumps(body, ensure_ascii=False)
        )
        print(json.dumps({"MessageId": message_id["MessageId"], "RequestId": body.get("RequestId")}))
    return 0


def _body_from_flags(arguments: argparse.Namespace) -> dict[str, Any]:
    if not arguments.phone or not arguments.data:
        raise SystemExit("send needs --phone and at least one --data KEY=VALUE (or --file)")
    temp_data = dict(item.split("=", 1) for item in arguments.data)
    optional = {
        "RequestId": arguments.request_id,
        "OAID": arguments.oa_id,
        "SendDate": arguments.send_date,
        "campaignid": arguments.campaign,
        "Sandbox": arguments.sandbox,
        "SendingMode": arguments.sending_mode,
    }
    body = {"Phone": arguments.phone, "TempID": arguments.temp_id, "TempData": temp_data}
    return body | {key: value for key, value in optional.items() if value is not None}


def _bodies_from_file(path: Path) -> list[dict[str, Any]]:
    text = path.read_text()
    if text.lstrip().startswith("["):
        bodies: list[dict[str, Any]] = json.loads(text)
        return bodies
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _status(arguments: argparse.Namespace) -> int:
    info = StackInfo.load()
    if arguments.request_id:
        record = info.message(arguments.request_id)
        if record is None:
            print(f"no message with RequestId {arguments.request_id}", file=sys.stderr)
            return 1
        print(f"{record['request_id']}: {record['status']}")
        for key in ("phone", "sms_id", "attempts", "esms_code", "error", "created_at", "updated_at"):
            if key in record:
                print(f"  {key}: {record[key]}")
        print("  history:")
        for line in history_lines(record):
            print(f"    {line}")
        return 0
    counts = Counter(info.statuses().values())
    for status, count in sorted(counts.items()):
        print(f"{status:<10} {count:>6}")
    print(f"{'total':<10} {sum(counts.values()):>6}")
    return 0


def _events(arguments: argparse.Namespace) -> int:
    info = StackInfo.load()
    shown = 0
    for event in received_events(info.client("sqs"), info.events_queue_url, idle_seconds=arguments.idle):
        if arguments.final and not event["detail"].get("isFinal"):
            continue
        print(json.dumps(event, ensure_ascii=False) if arguments.json else event_line(event), flush=True)
        shown += 1
        if arguments.count is not None and shown >= arguments.count:
            break
    return 0


def _demo(arguments: argparse.Namespace) -> int:
    from local.demo import DEMO_FAULTS, report, run_demo  # noqa: PLC0415

    out = sys.stdout
    STATE_DIR.mkdir(exist_ok=True)
    log_path = STATE_DIR / "demo-functions.log"
    out.write("starting the embedded stack (moto, eSMS simulator, SQS poller, HTTP API)...\n")
    log_path.write_text("")
    with LocalStack(simulator_config=DEMO_FAULTS, function_output=log_path) as stack:
        result = run_demo(
            stack, arguments.count, DEMO_TIMEOUT_SECONDS, progress=lambda line: _line(out, line)
        )
        report(stack, result, out)
    out.write(f"function logs: {log_path}\n")
    return 0 if result.ok else 1


def _soak(arguments: argparse.Namespace) -> int:
    from local.soak import SoakPlan, report, run_soak, soak_stack  # noqa: PLC0415

    plan = SoakPlan(
        messages=arguments.messages,
        outage_seconds=arguments.outage_seconds,
        outage_after_messages=arguments.messages * 2 // 5,
        tps_limit=arguments.tps_limit,
    )
    STATE_DIR.mkdir(exist_ok=True)
    log_path = STATE_DIR / "soak-functions.log"
    log_path.write_text("")
    out = sys.stdout
    out.write("starting the embedded stack for the soak...\n")
    with soak_stack(plan, function_output=log_path) as stack:
        result = run_soak(stack, plan, progress=lambda line: _line(out, line))
    out.write("\n")
    report(result, out)
    out.write(f"function logs: {log_path}\n")
    return 0 if result.ok else 1


def _line(out: Any, text: str) -> None:
    out.write(text + "\n")
    out.flush()
