"""Data access for MessagesTable: every state change is one conditional DynamoDB write."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from zns_relay.models.state import ALLOWED_SOURCES, MessageRecord, MessageStatus

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

Clock = Callable[[], datetime]
SMS_ID_INDEX = "sms_id-index"


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ClaimedMessage:
    """A won claim: this caller alone may send the message now, and record its result with `token`."""

    request_id: str
    attempts: int
    token: str


class MessageStore:
    """Reads and conditional writes of message items; safe to share between threads."""

    def __init__(
        self,
        table_name: str,
        client: DynamoDBClient,
        retention_days: int = 90,
        clock: Clock = utc_now,
    ) -> None:
        self._table = table_name
        self._client = client
        self._retention = timedelta(days=retention_days)
        self._clock = clock

    def claim(self, request_id: str, fields: Mapping[str, Any], lease_seconds: int) -> ClaimedMessage | None:
        """Create the item in SENDING, or move RETRYING (or a SENDING whose lease ran out) to SENDING.

        Returns None when the claim is lost: another delivery owns or has finished the message.
        The claim carries a fresh token: if the SDK retries a write whose first try did commit, the
        retry's condition fails, and the token in the item shows the claim was ours after all.
        """
        now = self._clock()
        token = uuid.uuid4().hex
        values = {
            ":sending": MessageStatus.SENDING.value,
            ":retrying": MessageStatus.RETRYING.value,
            ":now_epoch": int(now.timestamp()),
            ":lease": int(now.timestamp()) + lease_seconds,
            ":zero": 0,
            ":one": 1,
            ":token": token,
        }
        sets = [
            "#status = :sending",
            "lease_until = :lease",
            "claim_token = :token",
            "attempts = if_not_exists(attempts, :zero) + :one",
        ]
        condition = (
            "attribute_not_exists(request_id) OR #status = :retrying"
            " OR (#status = :sending AND lease_until < :now_epoch)"
        )
        _, item = self._update(
            request_id,
            MessageStatus.SENDING,
            "claimed for sending",
            now,
            sets=sets,
            fields=fields,
            values=values,
            condition=condition,
        )
        if item.get("claim_token") != token:
            return None
        return ClaimedMessage(request_id=request_id, attempts=int(item["attempts"]), token=token)

    def transition(
        self,
        request_id: str,
        target: MessageStatus,
        detail: str,
        fields: Mapping[str, Any] | None = None,
        *,
        data: Mapping[str, Any] | None = None,
        only_from: frozenset[MessageStatus] | None = None,
        claim: ClaimedMessage | None = None,
    ) -> bool:
        """Move a message to `target` if the state machine allows it from its current status.

        `fields` are item attributes to set with the move; `data` is kept in the history entry
        (a callback's fields, say); `only_from` narrows the allowed sources further; `claim` makes the
        write its holder's alone. Returns False, writing nothing, when the move is not allowed.
        """
        if not ALLOWED_SOURCES[target]:
            raise ValueError(f"{target} is only ever created, never reached by a transition")
        sources = ALLOWED_SOURCES[target] & only_from if only_from is not None else ALLOWED_SOURCES[target]
        if not sources:
            return False
        status_clause, from_values = _status_in(sources, "from")
        condition = f"attribute_exists(request_id) AND {status_clause}"
        if claim is not None:
            condition += " AND claim_token = :claim_token"
            from_values[":claim_token"] = claim.token
        applied, _ = self._update(
            request_id,
            target,
            detail,
            self._clock(),
            sets=["#status = :to"],
            fields=fields or {},
            values={**from_values, ":to": target.value},
            condition=condition,
            data=data,
            remove_lease=True,
        )
        return applied

    def reject(self, request_id: str, reason: str, fields: Mapping[str, Any] | None = None) -> bool:
        """Record a body that broke the contract; False when the RequestId already has an item."""
        now = self._clock()
        item = {
            "request_id": request_id,
            "status": MessageStatus.REJECTED.value,
            "error": reason,
            "attempts": 0,
            "created_at": iso_time(now),
            "updated_at": iso_time(now),
            "expires_at": self._expires_at(now),
            "history": [_history_entry(MessageStatus.REJECTED, now, reason)],
            **{key: value for key, value in (fields or {}).items() if value is not None},
        }
        try:
            self._client.put_item(
                TableName=self._table,
                Item=to_item(item),
                ConditionExpression="attribute_not_exists(request_id)",
            )
        except ClientError as error:
            if is_condition_failure(error):
                return False
            raise
        return True

    def note(
        self, request_id: str, detail: str, data: Mapping[str, Any], while_in: frozenset[MessageStatus]
    ) -> bool:
        """Add a history entry without changing the status (an inconclusive callback, say)."""
        status_clause, status_values = _status_in(while_in, "in")
        now = self._clock()
        return self._conditional_update(
            request_id,
            UpdateExpression="SET updated_at = :now, history = list_append(history, :entry)",
            ConditionExpression=f"attribute_exists(request_id) AND {status_clause}",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=to_item(
                {**status_values, ":now": iso_time(now), ":entry": [_history_entry(None, now, detail, data)]}
            ),
        )

    def adopt_sms_id(self, request_id: str, sms_id: str, while_in: frozenset[MessageStatus]) -> bool:
        """Record the SMSID of a message that has none yet; False if it has one, or is elsewhere."""
        status_clause, status_values = _status_in(while_in, "in")
        return self._conditional_update(
            request_id,
            UpdateExpression="SET sms_id = :sms_id",
            ConditionExpression=(
                f"attribute_exists(request_id) AND attribute_not_exists(sms_id) AND {status_clause}"
            ),
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=to_item({**status_values, ":sms_id": sms_id}),
        )

    def find_by_sms_id(self, sms_id: str) -> str | None:
        """The RequestId of the message eSMS knows as `sms_id` (GSI: eventually consistent)."""
        response = self._client.query(
            TableName=self._table,
            IndexName=SMS_ID_INDEX,
            KeyConditionExpression="sms_id = :sms_id",
            ExpressionAttributeValues={":sms_id": {"S": sms_id}},
            Limit=2,
        )
        items = response.get("Items", [])
        return str(items[0]["request_id"]["S"]) if items else None

    def get(self, request_id: str) -> MessageRecord | None:
        response = self._client.get_item(
            TableName=self._table, Key={"request_id": {"S": request_id}}, ConsistentRead=True
        )
        if "Item" not in response:
            return None
        return MessageRecord.model_validate(from_item(response["Item"]))

    def _update(
        self,
        request_id: str,
        target: MessageStatus,
        detail: str,
        now: datetime,
        *,
        sets: list[str],
        fields: Mapping[str, Any],
        values: dict[str, Any],
        condition: str,
        data: Mapping[str, Any] | None = None,
        remove_lease: bool = False,
    ) -> tuple[bool, dict[str, Any]]:
        """One conditional UpdateItem that also stamps times and appends the history entry.

        Returns whether it applied, with the item after the write, or as it stood when refused.
        """
        names = {"#status": "status"}
        expression = [
            *sets,
            "created_at = if_not_exists(created_at, :now)",
            "updated_at = :now",
            "expires_at = if_not_exists(expires_at, :expires)",
            "history = list_append(if_not_exists(history, :empty), :entry)",
        ]
        values = {
            **values,
            ":now": iso_time(now),
            ":expires": self._expires_at(now),
            ":empty": [],
            ":entry": [_history_entry(target, now, detail, data)],
        }
        for index, (name, value) in enumerate(sorted(fields.items())):
            if value is None:
                continue
            names[f"#f{index}"] = name
            values[f":f{index}"] = value
            expression.append(f"#f{index} = :f{index}")
        update = "SET " + ", ".join(expression)
        if remove_lease:
            update += " REMOVE lease_until"
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key={"request_id": {"S": request_id}},
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=to_item(values),
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if is_condition_failure(error):
                return False, from_item(error.response.get("Item", {}))  # type: ignore[arg-type]
            raise
        return True, from_item(response["Attributes"])

    def _conditional_update(self, request_id: str, **update: Any) -> bool:
        """One UpdateItem of the message; False, having written nothing, when its condition fails."""
        try:
            self._client.update_item(TableName=self._table, Key={"request_id": {"S": request_id}}, **update)
        except ClientError as error:
            if is_condition_failure(error):
                return False
            raise
        return True

    def _expires_at(self, now: datetime) -> int:
        return int((now + self._retention).timestamp())


def _status_in(statuses: Iterable[MessageStatus], prefix: str) -> tuple[str, dict[str, Any]]:
    """`#status IN (:prefix0, ...)` and its values (sorted, so the expression is stable)."""
    values: dict[str, Any] = {
        f":{prefix}{index}": status.value for index, status in enumerate(sorted(statuses))
    }
    return f"#status IN ({', '.join(values)})", values


def _history_entry(
    status: MessageStatus | None, now: datetime, detail: str, data: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A transition (status set) or a note (status None: the status did not change)."""
    entry: dict[str, Any] = {"at": iso_time(now), "detail": detail}
    if status is not None:
        entry["status"] = status.value
    if data:
        entry["data"] = dict(data)
    return entry


_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()


def to_item(document: Mapping[str, Any]) -> dict[str, Any]:
    """Python values to DynamoDB's typed attribute values."""
    return {key: _SERIALIZER.serialize(value) for key, value in document.items()}


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    """DynamoDB's typed attribute values to plain Python (whole numbers as int)."""
    return {key: _plain(_DESERIALIZER.deserialize(value)) for key, value in item.items()}


def iso_time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _plain(value: Any) -> Any:
    """DynamoDB numbers come back as Decimal; the items only ever hold whole numbers."""
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, Decimal):
        return int(value)
    return value


def is_condition_failure(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"
