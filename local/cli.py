"""Command line of the embedded stack: up, demo, soak (and send, status, events: the zns-relay command's)."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from local.stack import STATE_DIR, LocalStack, StackInfo, UnusableAddress
from local.timings import BrokenTimings
from zns_relay_cli.app import main as cli_main
from zns_relay_cli.local_state import StackAlreadyRunning, hold

DEMO_TIMEOUT_SECONDS = 120
UP_FUNCTION_LOG = "up-functions.log"  # in the state folder, beside demo's and soak's
LOCAL_EXAMPLE_TEMPLATE = "2056446"
RELAYED = {"send": "send", "status": "status", "events": "watch"}  # ours -> zns-relay's


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    if arguments and arguments[0] in RELAYED:
        # The same code as `zns-relay --local ...`: one validation, one output, one set of exit codes;
        # `send` without --temp-id names the simulator's example template.
        return cli_main(
            ["--local", RELAYED[arguments[0]], *arguments[1:]],
            defaults={"send": {"temp_id": LOCAL_EXAMPLE_TEMPLATE}},
        )
    parser = argparse.ArgumentParser(
        prog=".venv/bin/python -m local",
        description=__doc__,
        epilog="send, status and events are `zns-relay --local send|status|watch` (see `zns-relay --help`).",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    up = commands.add_parser("up", help="start the stack in the foreground; Ctrl-C stops it")
    up.add_argument(
        "--host", default="127.0.0.1", help="address to bind (0.0.0.0 for containers to reach it)"
    )
    up.add_argument("--advertise-host", help="address clients use to reach the stack (e.g. 172.17.0.1)")
    up.add_argument("--env-vars", type=Path, help="write a `sam local invoke --env-vars` file here")
    for name, relayed_as in RELAYED.items():
        commands.add_parser(name, help=f"`zns-relay --local {relayed_as}`", add_help=False)

    demo = commands.add_parser("demo", help="run a realistic mix end to end and check every outcome")
    demo.add_argument("--count", type=int, default=300, help="how many distinct messages to publish")

    soak = commands.add_parser(
        "soak", help="thousands of messages under every fault at once; exits 1 unless all is well"
    )
    soak.add_argument("--messages", type=int, default=5000, help="how many distinct messages to publish")
    soak.add_argument("--outage-seconds", type=float, default=300.0, help="how long eSMS is down mid-run")
    soak.add_argument("--tps-limit", type=float, default=20.0, help="eSMS's TPS limit for the account")

    parsed = parser.parse_args(arguments)
    handlers = {"up": _up, "demo": _demo, "soak": _soak}
    try:
        return handlers[parsed.command](parsed)
    except BrokenTimings as refusal:
        print(f"error: the stack's {refusal}\nnot started", file=sys.stderr)
        return 2
    except UnusableAddress as refusal:
        print(f"error: {refusal}", file=sys.stderr)
        return 2


def _up(arguments: argparse.Namespace) -> int:
    """stdout gets one JSON line (the endpoints: `| jq` works); everything else goes to stderr."""
    try:
        with hold(STATE_DIR):
            return _serve(arguments)
    except StackAlreadyRunning as refusal:
        print(f"error: {refusal}", file=sys.stderr)
        return 1


def _serve(arguments: argparse.Namespace) -> int:
    stopped = threading.Event()
    # Ctrl-C, a kill, or the terminal closing: stop everything this started.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda *_: stopped.set())
    # The functions' log lines and metrics to a file, as in AWS: the reconciler alone, idle, wrote two
    # lines every 3 s into this terminal, burying the lines a person wants.
    log_path = STATE_DIR / UP_FUNCTION_LOG
    log_path.write_text("")
    # Checks the addresses first: an unusable one is refused in one line (main), before anything starts.
    stack = LocalStack(host=arguments.host, advertise_host=arguments.advertise_host, function_output=log_path)
    print("starting the embedded stack (moto, eSMS simulator, SQS poller, HTTP API)...", file=sys.stderr)
    try:
        info = stack.start()
        info.save(STATE_DIR)
        if arguments.env_vars:
            arguments.env_vars.write_text(json.dumps(stack.env_vars_file(), indent=2))
        print(json.dumps(_public(info)), flush=True)
        _tell_how_to_use(info, log_path)
        stopped.wait()
    finally:
        stack.stop()
    print("stopped", file=sys.stderr)
    return 0


def _tell_how_to_use(info: StackInfo, log_path: Path) -> None:
    exports = " ".join(f"{name}={value}" for name, value in info.environment().items())
    sys.stderr.write(
        f"\nlocal stack up, region {info.region}. For the AWS CLI or boto3 in another shell:\n"
        f"  export {exports}\n"
        # --endpoint-url: every AWS CLI reads it; AWS_ENDPOINT_URL only v1.29 / v2.13 and later (an older
        # one went to AWS itself: github.com/localstack/awscli-local/issues/76 quotes the changelog)
        f"  aws --endpoint-url {info.aws_endpoint} sqs send-message --queue-url {info.queue_url}"
        " --message-body file://message.json\n"
        "The zns-relay command finds this stack by itself:\n"
        f"  .venv/bin/zns-relay send --phone 0901888484 --temp-id {LOCAL_EXAMPLE_TEMPLATE}"
        " --data customer_name=An --request-id hello-1\n"
        "  .venv/bin/zns-relay status hello-1\n"
        f"The functions' log lines: tail -f {log_path}\n"
        "Ctrl-C stops it.\n"
    )
    sys.stderr.flush()


def _public(info: StackInfo) -> dict[str, str]:
    return {
        "region": info.region,
        "aws_endpoint": info.aws_endpoint,
        "queue_url": info.queue_url,
        "dlq_url": info.dlq_url,
        "table_name": info.table_name,
        "callback_base_url": info.callback_base_url,
        "esms_url": info.esms_url,
        "event_bus_name": info.event_bus_name,
        "status_api_url": info.status_api_url,
    }


def _demo(arguments: argparse.Namespace) -> int:
    from local.scenarios.demo import DEMO_FAULTS, report, run_demo  # noqa: PLC0415

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
    from local.scenarios.soak import SoakPlan, run_soak, soak_stack  # noqa: PLC0415
    from local.scenarios.soak_report import report  # noqa: PLC0415

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
