"""`zns-relay --help` and each command's: what a newcomer reads first."""

from __future__ import annotations

import pytest
import typer

from zns_relay_cli.app import app, main

COMMANDS = sorted(getattr(typer.main.get_command(app), "commands", {}))


@pytest.mark.parametrize("command", [[], *([name] for name in COMMANDS)], ids=["zns-relay", *COMMANDS])
def test_a_flag_is_shown_by_its_name_alone_never_as_taking_a_value(
    command: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "120")

    code = main([*command, "--help"])

    shown = capsys.readouterr().out
    assert code == 0
    assert "--help" in shown
    assert "<bool>" not in shown
