"""Fixtures of the eSMS simulator's tests: a simulator on a still clock, a callback target, a session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from local.esms_sim import EsmsSimulator
from tests.support.esms_simulator_kit import FAST, CallbackReceiver, FakeClock


@pytest.fixture
def receiver() -> Iterator[CallbackReceiver]:
    with CallbackReceiver() as target:
        yield target


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sim(clock: FakeClock) -> Iterator[EsmsSimulator]:
    with EsmsSimulator(config=FAST, clock=clock) as simulator:
        yield simulator


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.trust_env = False  # loopback only, whatever proxy the environment names
        yield session
