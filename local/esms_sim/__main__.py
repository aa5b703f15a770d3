"""`python -m local.esms_sim --port 8089`: the eSMS simulator on its own, until Ctrl-C.

It serves the same HTTP API the local stack's simulator does (docs/esms-simulator.md): point an eSMS
client's base URLs at the URLs it prints, change its knobs over its control endpoints.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path
from typing import Any, NoReturn

from local.esms_sim import EsmsSimulator

DEFAULT_PORT = 8089


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """One line, not the usage block: `--help` shows that."""
        self.exit(2, f"{self.prog}: {message}\n")


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"not a port number (0-65535): {port}")
    return port


def _knobs(path: str) -> dict[str, Any]:
    """The knobs of a JSON file (the object `GET /_sim/config` shows, or any part of it)."""
    try:
        changes: Any = json.loads(Path(path).read_text())
    except OSError as error:
        raise argparse.ArgumentTypeError(f"cannot read {path}: {error.strerror}") from None
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{path} is not JSON: {error}") from None
    if not isinstance(changes, dict):
        raise argparse.ArgumentTypeError(f"{path}: a JSON object of knobs, as GET /_sim/config shows")
    return changes


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = _Parser(
        prog="python -m local.esms_sim",
        description="eSMS on loopback: send, status and account endpoints, faults and callbacks.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=_port, default=DEFAULT_PORT, help=f"0 picks a free one (default {DEFAULT_PORT})"
    )
    parser.add_argument(
        "--config",
        type=_knobs,
        default={},
        help="a JSON file of knobs to start with (docs/esms-simulator.md)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    simulator = EsmsSimulator(arguments.host, arguments.port)
    try:
        simulator.configure(**arguments.config)
    except ValueError as error:
        print(f"python -m local.esms_sim: --config: {error}", file=sys.stderr)
        return 2
    try:
        simulator.start()
    except OSError as error:
        print(
            f"cannot listen on {arguments.host}:{arguments.port}: {error.strerror or error}", file=sys.stderr
        )
        return 1
    print(f"eSMS simulator: {simulator.url}", flush=True)
    print(f"  GetCallback at {simulator.status_url}/ZaloCallback/GetCallback")
    print(
        f"  control: {simulator.control_url}/config (GET, POST), /reset (POST), /requests, /callbacks, /stats"
    )
    print("  Ctrl-C stops it", flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    try:
        stopped.wait()
    except KeyboardInterrupt:
        pass
    finally:
        simulator.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
