"""What `make demo` tells: each failed story labelled by what Zalo's code means, and why it waits."""

from __future__ import annotations

from local.scenarios.demo import FAILING_SUFFIXES, ZALO_FAILURES, build_mix, unknown_wait_note
from local.stack import LocalStack


def test_each_failed_story_is_labelled_by_its_own_zalo_code() -> None:
    # Given the demo's mix, whose failing numbers end in the code the simulator reports for them
    failing = [
        m
        for m in build_mix(300)
        if str(m.body.get("Phone", ""))[-3:] in FAILING_SUFFIXES and m.kind != "repeated RequestId"
    ]

    # Then each is labelled by its own code's meaning: a -114 is never called "no Zalo"
    assert {m.body["Phone"][-3:] for m in failing} == {"114", "118"}
    for message in failing:
        code = message.body["Phone"][-3:]
        assert message.kind.startswith(ZALO_FAILURES[code])
        assert f"(-{code})" in message.kind
    assert "no Zalo" not in ZALO_FAILURES["114"]


def test_the_wait_for_unknown_says_what_it_waits_for_and_how_long() -> None:
    # Given the local stack's own timings (UNKNOWN 36 s after acceptance, the reconciler every 3 s)
    timings = LocalStack().timings

    # When the demo has only the messages eSMS never reports on left
    note = unknown_wait_note(5, timings)

    # Then it says so, with the deadline and the longest wait
    assert "last 5 messages" in note and "never reported on" in note and "UNKNOWN" in note
    assert f"within {timings.unknown_after:g} s of acceptance" in note
    assert f"up to {timings.unknown_after + timings.recheck + timings.reconcile_every:g} s" in note
    assert "last 1 message," in unknown_wait_note(1, timings)
