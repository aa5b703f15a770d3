"""A night on the embedded stack, in a moment: what the demo and the soak cross to show deferred
messages (Zalo's night window, -133; its daily quotas, -144 and -147) sent again and delivered.

The simulated eSMS has a Vietnam clock of its own (its clock plus an offset); the relay has the real
one. `vietnam_evening` sets the simulator's to an hour of the night, so that Zalo refuses a
night-restricted template. `cross_the_night` moves it to the next morning (its quotas turn with the
day), makes every DEFERRED message due now and ends the OAs' and templates' pauses: on the relay's
clock all of that is hours away, and this is what those hours do. Nothing else of the relay's time
moves. `Nights` crosses one whenever a scenario is left waiting for deferred messages only.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from local.esms_sim import EsmsSimulator
from local.stack import StackInfo

MORNING = timedelta(hours=6, minutes=20)  # past 06:00 and the quarter hour deferred messages spread over


def vietnam_evening(simulator: EsmsSimulator, hour: int = 23) -> None:
    """The simulator's Vietnam clock set to `hour`:00 today (its night: 22:00 to 06:00)."""
    _move_to(simulator, _midnight_of(simulator.vietnam_time()) + timedelta(hours=hour))


def cross_the_night(simulator: EsmsSimulator, info: StackInfo, now: int | None = None) -> int:
    """The simulator's Vietnam clock moved to 06:20 tomorrow, every DEFERRED message due now and Zalo's
    pauses over; how many messages came due (one that moved on meanwhile is left as it is)."""
    _move_to(simulator, _midnight_of(simulator.vietnam_time()) + timedelta(days=1) + MORNING)
    _end_pauses(info)  # first: a message due before they end would be held again
    due_at = {"N": str(now if now is not None else int(time.time()))}
    dynamodb = info.client("dynamodb")
    due = 0
    for page in dynamodb.get_paginator("scan").paginate(
        TableName=info.table_name,
        FilterExpression="#status = :deferred",
        ProjectionExpression="request_id",
        ExpressionAttributeNames={"#status": "status"},
        ExpressionAttributeValues={":deferred": {"S": "DEFERRED"}},
    ):
        for item in page["Items"]:
            try:
                dynamodb.update_item(
                    TableName=info.table_name,
                    Key={"request_id": item["request_id"]},
                    UpdateExpression="SET check_at = :now, next_attempt_at = :now",
                    ConditionExpression="#status = :deferred",
                    ExpressionAttributeNames={"#status": "status"},
                    ExpressionAttributeValues={
                        ":now": due_at,
                        ":deferred": {"S": "DEFERRED"},
                    },
                )
            except dynamodb.exceptions.ConditionalCheckFailedException:
                continue
            due += 1
    return due


def _end_pauses(info: StackInfo) -> None:
    """The OAs' and templates' pauses (zns_relay.models.pause) end with the night, as they would."""
    dynamodb = info.client("dynamodb")
    for page in dynamodb.get_paginator("scan").paginate(
        TableName=info.throttle_table_name,
        FilterExpression="begins_with(limiter, :pause)",
        ExpressionAttributeValues={":pause": {"S": "pause#"}},
    ):
        for item in page["Items"]:
            dynamodb.delete_item(TableName=info.throttle_table_name, Key={"limiter": item["limiter"]})


class Nights:
    """Crosses a night when the messages a scenario waits for are deferred, once for each deferral: a
    message deferred again after a crossing (a daily limit still reached, a pause that held it) has a new
    next attempt, and waits for the next one."""

    def __init__(self, simulator: EsmsSimulator, info: StackInfo) -> None:
        self._simulator = simulator
        self._info = info
        self._crossed: dict[str, int] = {}  # RequestId -> its next attempt when a night was crossed for it
        self.crossed = 0

    def pass_for(self, deferred: set[str]) -> int:
        """Cross the night for these DEFERRED messages unless one is still on a night already crossed
        (its next attempt is the one the crossing set); how many came due."""
        next_attempts = {
            request_id: (self._info.message(request_id) or {}).get("next_attempt_at")
            for request_id in deferred
        }
        if not deferred or any(
            self._crossed.get(request_id) == at for request_id, at in next_attempts.items()
        ):
            return 0
        now = int(time.time())
        self._crossed.update(dict.fromkeys(deferred, now))
        self.crossed += 1
        return cross_the_night(self._simulator, self._info, now)


def _midnight_of(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def _move_to(simulator: EsmsSimulator, target: datetime) -> None:
    offset = simulator.config.vietnam_clock_offset_seconds
    simulator.configure(
        vietnam_clock_offset_seconds=offset + (target - simulator.vietnam_time()).total_seconds()
    )
