"""EventBridge's schedule for a function's `Type: Schedule` event, played locally on a short period.

On AWS the reconciler and the guardrails run every few minutes; locally every few seconds (the stack's
`schedule_seconds`), so that reconciliation shows within a demo. Like EventBridge, it invokes with a
"Scheduled Event" and never runs two invocations of one schedule at once here.
"""

from __future__ import annotations

import logging
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

from local.runtime.lambda_runtime import ExecutionEnvironments
from local.runtime.template import PSEUDO_PARAMETERS

log = logging.getLogger("local.runtime.schedule")


def scheduled_event(rule_name: str) -> dict[str, Any]:
    """The event EventBridge sends a scheduled target."""
    region, account = PSEUDO_PARAMETERS["AWS::Region"], PSEUDO_PARAMETERS["AWS::AccountId"]
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"arn:aws:events:{region}:{account}:rule/{rule_name}"],
        "detail": {},
    }


class Schedule:
    def __init__(self, function: ExecutionEnvironments, period_seconds: float) -> None:
        self._function = function
        self._period = period_seconds
        self._stopping = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"schedule-{function.spec.logical_id}", daemon=True
        )
        self._lock = threading.Lock()  # one invocation at a time, the schedule's or a test's
        self.invocations = 0
        self.errors = 0
        self.last_result: Any = None

    @property
    def logical_id(self) -> str:
        """The scheduled function's, in the template."""
        return self._function.spec.logical_id

    def start(self) -> Schedule:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=30)

    def run_now(self) -> Any:
        """One invocation, as the schedule makes it (tests call this to reconcile on demand)."""
        with self._lock:
            self.invocations += 1
            self.last_result = self._function.invoke(
                scheduled_event(f"local-{self._function.spec.logical_id}")
            )
            return self.last_result

    def _run(self) -> None:
        while not self._stopping.wait(self._period):
            try:
                self.run_now()
            except Exception:
                self.errors += 1
                log.exception("scheduled invocation failed")
