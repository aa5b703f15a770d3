"""The sender's and the reconciler's decisions are pure functions: these tests run without AWS, a
network or a clock of their own, in milliseconds. A test here that opens a socket is in the wrong place."""

from __future__ import annotations

import socket

import pytest


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a decision test opened a socket: decisions take their inputs as values")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
