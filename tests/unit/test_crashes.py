"""The crash plan: an armed crash fires for its point and RequestId only, as often as armed, exactly once
across processes; a seeded rate picks the same RequestIds every run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from local.runtime.template import ROOT
from local.scenarios.crashes import CrashPlan, CrashPoint, CrashRecord


@pytest.fixture
def plan(tmp_path: Path) -> CrashPlan:
    return CrashPlan(tmp_path / "crashes")


def test_an_armed_crash_fires_once_for_its_point_and_request_id_only(plan: CrashPlan) -> None:
    # Given a crash armed after eSMS's answer for one RequestId
    plan.arm(CrashPoint.AFTER_ANSWER, request_id="order-1")

    # Then it does not fire elsewhere, fires there, and only once
    assert not plan.claim(CrashPoint.AFTER_ANSWER, "order-2")
    assert not plan.claim(CrashPoint.BEFORE_SEND, "order-1")
    assert plan.claim(CrashPoint.AFTER_ANSWER, "order-1")
    assert not plan.claim(CrashPoint.AFTER_ANSWER, "order-1")


def test_a_crash_armed_for_any_request_id_fires_as_many_times_as_armed(plan: CrashPlan) -> None:
    plan.arm("mid_send", times=2)

    fired = [plan.claim(CrashPoint.MID_SEND, f"order-{index}") for index in range(4)]

    assert fired == [True, True, False, False]


def test_a_crash_fires_in_exactly_one_of_the_processes_that_reach_it_at_once(plan: CrashPlan) -> None:
    # Given one armed crash, and eight environment processes reaching its point for its RequestId
    plan.arm(CrashPoint.BEFORE_SEND, request_id="order-1")
    claim = (
        "import sys; from pathlib import Path; from local.scenarios.crashes import CrashPlan, CrashPoint;"
        "print(CrashPlan(Path(sys.argv[1])).claim(CrashPoint.BEFORE_SEND, 'order-1'))"
    )
    processes = [
        subprocess.Popen(  # noqa: S603 - this interpreter, our own module
            [sys.executable, "-c", claim, str(plan.root)], cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
        for _ in range(8)
    ]

    # Then exactly one of them fires it
    answers = sorted(process.communicate(timeout=60)[0].strip() for process in processes)
    assert answers == ["False"] * 7 + ["True"]


def test_of_two_threads_reaching_armed_points_at_once_one_fires_and_the_other_crash_stays_armed(
    plan: CrashPlan,
) -> None:
    # Given crashes armed for two RequestIds, and an environment whose send threads reach both at once
    # (the first one's record written slowly, so that the second thread is there before the process dies)
    plan.arm(CrashPoint.BEFORE_SEND, request_id="order-1")
    plan.arm(CrashPoint.BEFORE_SEND, request_id="order-2")
    environment = (
        "import sys, threading, time; from pathlib import Path;"
        "from local.scenarios.crashes import CrashPlan, CrashPoint, _CrashHooks;"
        "plan = CrashPlan(Path(sys.argv[1])); record = plan.record;"
        "plan.record = lambda crash: (time.sleep(0.5), record(crash));"
        "hooks = _CrashHooks(plan, 'SenderFunction#1');"
        "threads = [threading.Thread(target=hooks._crash_if, args=(CrashPoint.BEFORE_SEND, f'order-{n}'))"
        " for n in (1, 2)];"
        "[thread.start() for thread in threads]; [thread.join() for thread in threads]"
    )
    process = subprocess.run(  # noqa: S603 - this interpreter, our own module
        [sys.executable, "-c", environment, str(plan.root)],
        check=False,
        cwd=ROOT,
        capture_output=True,
        timeout=60,
    )

    # Then the process died of one crash, recorded; the other is still armed, and fires next time
    assert process.returncode == -9
    [fired] = plan.fired()
    other = "order-2" if fired.request_id == "order-1" else "order-1"
    assert plan.claim(CrashPoint.BEFORE_SEND, other)


def test_a_seeded_rate_picks_the_same_request_ids_every_run_each_once(tmp_path: Path) -> None:
    request_ids = [f"order-{index}" for index in range(1000)]

    def crashed(plan: CrashPlan) -> list[str]:
        plan.arm_random(CrashPoint.AFTER_WRITE, probability=0.2, seed=7)
        return [request_id for request_id in request_ids if plan.claim(CrashPoint.AFTER_WRITE, request_id)]

    first, second = crashed(CrashPlan(tmp_path / "one")), crashed(CrashPlan(tmp_path / "two"))

    # Then two runs with the seed crash the same messages, about the armed share of them
    assert first == second
    assert 150 < len(first) < 250
    # And a message crashes once, not on every delivery
    replay = CrashPlan(tmp_path / "one")
    assert not any(replay.claim(CrashPoint.AFTER_WRITE, request_id) for request_id in first)


def test_disarmed_crashes_no_longer_fire_and_fired_ones_stay_recorded(plan: CrashPlan) -> None:
    plan.arm(CrashPoint.BEFORE_SEND)
    plan.record(CrashRecord(CrashPoint.MID_SEND, "order-0", "SenderFunction#1"))

    plan.disarm()

    assert not plan.claim(CrashPoint.BEFORE_SEND, "order-1")
    assert plan.fired() == [CrashRecord(CrashPoint.MID_SEND, "order-0", "SenderFunction#1")]
