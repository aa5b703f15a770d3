"""The simulator runs on its own, as docs/esms-simulator.md says: `python -m local.esms_sim --port N`."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from local.esms_sim import LOCAL_API_KEY, LOCAL_SECRET_KEY
from local.runtime.template import ROOT


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def running(*arguments: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """The simulator's own process on a free port, and the send base URL it printed first."""
    port = free_port()
    process = subprocess.Popen(  # noqa: S603 - this interpreter, our own module
        [sys.executable, "-m", "local.esms_sim", "--port", str(port), *arguments],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    first_line = process.stdout.readline()  # printed once it listens
    try:
        assert first_line.startswith("eSMS simulator: "), (first_line, process.poll())
        yield process, first_line.removeprefix("eSMS simulator: ").strip()
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def standalone() -> Iterator[tuple[subprocess.Popen[str], str]]:
    with running() as started:
        yield started


def test_the_standalone_simulator_prints_its_urls_and_accepts_a_documented_send(
    standalone: tuple[subprocess.Popen[str], str],
) -> None:
    # Given the simulator started on its own on a chosen port
    process, url = standalone
    root = url.removesuffix("/MainService.svc/json")
    assert url.endswith("/MainService.svc/json") and root.startswith("http://127.0.0.1:")

    # When a client sends the page's ZNS example to the printed base URL
    sent = requests.post(
        f"{url}/SendZaloMessage_V5_post/",
        json={
            "ApiKey": LOCAL_API_KEY,
            "SecretKey": LOCAL_SECRET_KEY,
            "OAID": "1",
            "Phone": "0901888484",
            "TempID": "205644",
            "TempData": {"otp": "4829"},
            "RequestId": "r-1",
        },
        timeout=5,
    ).json()

    # Then eSMS's answer accepts it, and the control endpoint lists it with its key redacted
    assert sent["CodeResult"] == "100" and sent["SMSID"], sent
    [logged] = requests.get(f"{root}/_sim/requests", timeout=5).json()
    assert (logged["endpoint"], logged["request_id"], logged["accepted"]) == ("zns_send", "r-1", True)
    assert logged["body"]["SecretKey"] == "***REDACTED***"
    # And it stops cleanly when terminated
    process.terminate()
    assert process.wait(timeout=10) == 0


def test_the_standalone_simulator_starts_with_zalos_rules_from_its_config_file(tmp_path: Path) -> None:
    # Given a --config file with Zalo's rules (docs/esms-simulator.md, "Zalo's rules")
    knobs = {
        "vietnam_clock_offset_seconds": 7200,
        "night_restricted_templates": ["2056446"],
        "template_daily_limits": {"205644": 100},
        "refusing_phones": {"0901888484": -141},
        "daily_quota": 20,
    }
    path = tmp_path / "knobs.json"
    path.write_text(json.dumps(knobs))

    # When the simulator starts with it
    with running("--config", str(path)) as (_, url):
        shown = requests.get(f"{url.removesuffix('/MainService.svc/json')}/_sim/config", timeout=5).json()

    # Then it runs with those knobs
    assert {key: shown[key] for key in knobs} == knobs


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        (["--port", "http"], "argument --port: not a port number: 'http'"),
        (["--port", "70000"], "argument --port: not a port number (0-65535): 70000"),
    ],
)
def test_a_bad_argument_is_refused_in_one_line(arguments: list[str], error: str) -> None:
    command = [sys.executable, "-m", "local.esms_sim", *arguments]
    done = subprocess.run(command, check=False, cwd=ROOT, capture_output=True, text=True, timeout=30)  # noqa: S603

    assert (done.returncode, done.stdout, done.stderr) == (2, "", f"python -m local.esms_sim: {error}\n")
