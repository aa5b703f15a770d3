"""Data access for ThrottleTable: one item every sender shares, written with conditions.

It holds the eSMS send rate (lowered on 160, raised back) and the leases of the environments sending
now: each lease is that environment's share of the rate, so that together they never exceed it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from zns_relay.store.items import is_condition_failure

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

SEND_RATE_KEY = "esms-send"


@dataclass(frozen=True)
class RateState:
    rate: float  # sends a second, across all senders
    changed_at: float  # epoch seconds of the last change (0: never changed)


@dataclass(frozen=True)
class Lease:
    """One environment's part of the rate: at most `share` sends in any one second, made before
    `until` - 1 s, so that they all lie in windows that end by `until`. A share it gave up still
    counts (`was`) until `was_until`: its sends of the second before the change."""

    share: int
    until: float  # epoch seconds; the environment renews the lease while it sends
    was: int = 0
    was_until: float = 0.0
    want: int = 0  # what it could use: the shares are divided by what each wants

    def committed(self, now: float) -> int:
        """What this lease takes of the rate at `now` (never more later, unless renewed)."""
        return max(self.share if now < self.until else 0, self.was if now < self.was_until else 0)

    def live(self, now: float) -> bool:
        """Its environment is sending, or waiting for a share."""
        return now < self.until

    def dead(self, now: float) -> bool:
        return not self.live(now) and self.committed(now) == 0


@dataclass(frozen=True)
class SharedState:
    rate: RateState
    leases: Mapping[str, Lease]  # by environment
    version: int  # of the leases: a lease write applies only to the version it was planned on


class SharedRate:
    """The shared rate starts at its ceiling; a change applies only if nobody changed it since it was
    read, so that many senders meeting the same throttling lower it once, not once each."""

    def __init__(self, table_name: str, client: DynamoDBClient, ceiling: float) -> None:
        self._table = table_name
        self._client = client
        self._ceiling = ceiling

    def read(self) -> SharedState:
        item = self._client.get_item(
            TableName=self._table, Key={"limiter": {"S": SEND_RATE_KEY}}, ConsistentRead=True
        ).get("Item", {})
        rate = RateState(self._ceiling, 0.0)
        if "rate" in item:
            # A lowered ceiling applies at once.
            rate = RateState(min(float(item["rate"]["N"]), self._ceiling), float(item["changed_at"]["N"]))
        leases = {name: _lease(value["M"]) for name, value in item.get("senders", {}).get("M", {}).items()}
        return SharedState(rate, leases, int(item["version"]["N"]) if "version" in item else 0)

    def change(self, seen: RateState, rate: float, now: float) -> RateState:
        """Set the rate, unless someone changed it after `seen`; the rate as it then stands."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key={"limiter": {"S": SEND_RATE_KEY}},
                UpdateExpression="SET rate = :rate, changed_at = :now",
                ConditionExpression="attribute_not_exists(changed_at) OR changed_at = :seen",
                ExpressionAttributeValues={
                    ":rate": {"N": f"{rate:.3f}"},
                    ":now": {"N": f"{now:.3f}"},
                    ":seen": {"N": f"{seen.changed_at:.3f}"},
                },
            )
        except ClientError as error:
            if is_condition_failure(error):
                return self.read().rate
            raise
        return RateState(float(f"{rate:.3f}"), float(f"{now:.3f}"))

    def lease(self, seen: SharedState, leases: Mapping[str, Lease]) -> bool:
        """Replace the leases with `leases`, unless someone wrote them after `seen`: False then.

        One write per lease renewal, never per send; the item stays small (one entry per live sender)."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key={"limiter": {"S": SEND_RATE_KEY}},
                UpdateExpression="SET #senders = :leases, #version = :next",
                ConditionExpression="attribute_not_exists(#version) OR #version = :seen",
                ExpressionAttributeNames={"#senders": "senders", "#version": "version"},
                ExpressionAttributeValues={
                    ":leases": {"M": {name: {"M": _attributes(lease)} for name, lease in leases.items()}},
                    ":next": {"N": str(seen.version + 1)},
                    ":seen": {"N": str(seen.version)},
                },
            )
        except ClientError as error:
            if is_condition_failure(error):
                return False
            raise
        return True


def _attributes(lease: Lease) -> dict[str, AttributeValueTypeDef]:
    return {
        "share": {"N": str(lease.share)},
        "until": {"N": f"{lease.until:.3f}"},
        "was": {"N": str(lease.was)},
        "was_until": {"N": f"{lease.was_until:.3f}"},
        "want": {"N": str(lease.want)},
    }


def _lease(attributes: Mapping[str, AttributeValueTypeDef]) -> Lease:
    def number(name: str) -> str:
        return str(attributes[name]["N"])

    return Lease(
        int(number("share")),
        float(number("until")),
        int(number("was")),
        float(number("was_until")),
        int(number("want")),
    )
