"""Data access for MessagesTable: every state change is one conditional DynamoDB write.

Every message that waits for something (a retry, its delivery report) carries `awaiting` (one of a
few shards) and `check_at` (epoch seconds): the sparse, keys-only `waiting-index` lists exactly those,
so the reconciler finds what is due with a Query, never a Scan. The claim sets both, acceptance and the
SENT report keep them, a final status removes both: a delivered message enters and leaves the index
once. Every other message (final, or a sandbox one that waits for nothing) carries `status_shard`
instead, the key of the status API's `status-index`, written when it stops waiting.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from zns_relay.models.state import (
    ALLOWED_SOURCES,
    CLEARS_ERROR,
    FINAL_STATUSES,
    KEYED_FINGERPRINT_PREFIX,
    MessageRecord,
    MessageStatus,
    iso_time,
    new_callback_nonce,
)
from zns_relay.store.indexes import SMS_ID_INDEX, WAITING_INDEX, awaiting_shards, status_shard
from zns_relay.store.items import batch_get, from_item, is_condition_failure, to_item
from zns_relay.store.records import WAITING_ATTRIBUTES, ClaimedMessage, ClaimLost, WaitingMessage, Written
from zns_relay.store.writes import MoreChanges, ReportMatch, Write, history_entry

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

Clock = Callable[[], datetime]
# A note (a history entry that changes no status) is written only while the history is shorter than
# this: replayed reports, even through a leaked callback URL, cannot grow an item toward 400 KB.
MAX_HISTORY_FOR_NOTES = 50
# What only sending and waiting need (a claim's token, the retry window, since when an attempt may have
# reached eSMS): gone with a final status, which nothing changes, so that the item stays small.
ENDED_WITH_SENDING = ("claim_token", "retry_until", "uncertain_since")
# What a message holds only while it may be sent (again): its TempData, sealed (zns_relay.sender.
# temp_data_seal). Never on an item created final, removed when the message ends.
HELD_WHILE_SENDABLE = ("sealed_temp_data",)
# What a deferral leaves (zns_relay.reports.deferral), of no use once the message ended.
ENDED_WITH_DEFERRALS = ("next_attempt_at", "refused_sms_ids")


def utc_now() -> datetime:
    return datetime.now(UTC)


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

    def claim(
        self,
        request_id: str,
        fields: Mapping[str, Any],
        lease_seconds: int,
        *,
        check_at: int,
        keep_fields: Mapping[str, Any] | None = None,
        history: bool = True,
        earlier_fingerprints: Collection[str] = (),
        resend: bool = False,
    ) -> ClaimedMessage | ClaimLost:
        """Create the item in SENDING, or move RETRYING (or a SENDING whose lease ran out) to SENDING;
        with `resend` (a resend job's claim), move a DEFERRED message too, but never create one.

        Returns ClaimLost when another delivery owns the message now, or it is past sending, or the
        item holds a different message (neither `fields`' fingerprint, which the claim writes, nor one of
        `earlier_fingerprints`, the same message's under an earlier key): a reused RequestId never
        takes it over.
        `keep_fields` are set only where the item has no value yet (the first claim's retry window), as
        is the item's callback nonce (made here unless `keep_fields` names one): every attempt's
        CallbackUrl is the same, and a later item of the same RequestId gets a new one.
        The claim carries a fresh token: if the SDK retries a write whose first try did commit, the
        retry's condition fails, and the token in the item shows the claim was ours after all.
        """
        now = self._clock()
        token = uuid.uuid4().hex
        write = Write(now, MessageStatus.SENDING, "claimed for sending", history=history)
        write.sets += [
            "lease_until = :lease",
            "claim_token = :token",
            "attempts = if_not_exists(attempts, :zero) + :one",
        ]
        write.values.update(
            {
                ":lease": int(now.timestamp()) + lease_seconds,
                ":zero": 0,
                ":one": 1,
                ":token": token,
            }
        )
        write.set_fields(fields)
        kept = {"callback_nonce": new_callback_nonce(), **(keep_fields or {})}
        write.keep_fields(kept)
        write.await_check(request_id, check_at)
        condition = "#status = :retrying OR (#status = :sending AND lease_until < :now_epoch)"
        write.values.update(
            {
                ":retrying": MessageStatus.RETRYING.value,
                ":sending": MessageStatus.SENDING.value,
                ":now_epoch": int(now.timestamp()),
            }
        )
        if resend:  # the deferral made a new nonce and removed the last window: both stand as written
            # (a job that comes early, a stale or repeated one, finds the message not due: not sent)
            condition = f"(#status = :deferred AND next_attempt_at <= :now_epoch) OR {condition}"
            write.values[":deferred"] = MessageStatus.DEFERRED.value
            write.remove("next_attempt_at")  # its history keeps when it was due
        if fields.get("fingerprint") is not None:
            same = [fields["fingerprint"], *earlier_fingerprints]
            names = [f":fingerprint{index}" for index in range(len(same))]
            write.values.update(zip(names, same, strict=True))
            write.values[":keyed"] = KEYED_FINGERPRINT_PREFIX
            condition = (
                f"({condition}) AND (attribute_not_exists(fingerprint)"
                f" OR NOT begins_with(fingerprint, :keyed) OR fingerprint IN ({', '.join(names)}))"
            )
        if not resend:
            condition = f"attribute_not_exists(request_id) OR ({condition})"
        applied, old = self._update(request_id, write, condition, return_values="ALL_OLD")
        if not applied:
            if old.get("claim_token") != token:
                return ClaimLost(MessageStatus(old["status"]), old.get("lease_until"), old.get("fingerprint"))
            # An SDK retry of our own committed claim: the item as it stands is our claim. What it
            # replaced is unknown: after an earlier attempt, a dead holder may have reached eSMS.
            attempts = int(old["attempts"])
            return ClaimedMessage.from_attributes(
                request_id, token, old, attempts=attempts, took_over=attempts > 1
            )
        took_over = old.get("status") == MessageStatus.SENDING.value
        merged = {**{key: value for key, value in kept.items() if value is not None}, **old}
        return ClaimedMessage.from_attributes(
            request_id, token, merged, attempts=int(old.get("attempts", 0)) + 1, took_over=took_over
        )

    def transition(
        self,
        request_id: str,
        target: MessageStatus,
        detail: str,
        fields: Mapping[str, Any] | None = None,
        *,
        keep_fields: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
        only_from: frozenset[MessageStatus] | None = None,
        claim: ClaimedMessage | None = None,
        lease_expired_by: int | None = None,
        check_at: int | None = None,
        keep_check_at: bool = False,
        history: bool = True,
        match: ReportMatch | None = None,
        written_item: dict[str, Any] | None = None,
        more: MoreChanges | None = None,
    ) -> Written:
        """Move a message to `target` if the state machine allows it from its current status.

        `fields` are item attributes to set with the move and `keep_fields` ones set only where the
        item has none yet; `data` is kept in the history entry (a callback's fields, say);
        `only_from` narrows the allowed sources further; `claim` makes the write its holder's alone, and
        `lease_expired_by` (epoch seconds) makes it nobody's: no claim may hold a lease at that time;
        `check_at` keeps a non-final message in the waiting-index (None takes it out), and
        `keep_check_at` keeps the look the item has, if any (its index entry then stays as it is);
        `match` applies a delivery report only to the item it belongs to; `written_item`, when given,
        receives the item as the write left it (the write's own answer: no read); `more` are the
        changes a move makes besides (a deferral's). Writes nothing when the move is not allowed.
        """
        if not ALLOWED_SOURCES[target]:
            raise ValueError(f"{target} is only ever created, never reached by a transition")
        sources = ALLOWED_SOURCES[target] & only_from if only_from is not None else ALLOWED_SOURCES[target]
        if not sources:
            return Written.REFUSED
        write = Write(self._clock(), target, detail, data=data, history=history)
        status_clause = write.status_in(sources, "from")
        condition = f"attribute_exists(request_id) AND {status_clause}"
        if claim is not None:
            condition += " AND claim_token = :claim_token"
            write.values[":claim_token"] = claim.token
        if lease_expired_by is not None:
            condition += " AND (attribute_not_exists(lease_until) OR lease_until < :lease_deadline)"
            write.values[":lease_deadline"] = lease_expired_by
        if match is not None:
            condition += f" AND {match.condition(write)}"
        if more is not None:
            condition += more.add_to(write)
        final = target in FINAL_STATUSES
        write.set_fields(fields or {})
        write.keep_fields(
            {k: v for k, v in (keep_fields or {}).items() if not final or k not in ENDED_WITH_SENDING}
        )
        write.remove("lease_until")
        if target in CLEARS_ERROR and "error" not in (fields or {}):
            write.remove("error")
        if final:
            write.remove("fallback")  # the stream's old image carries it to whoever acts on the end
            write.remove(*ENDED_WITH_SENDING, *HELD_WHILE_SENDABLE, *ENDED_WITH_DEFERRALS)
        if target in FINAL_STATUSES or check_at is None:
            write.remove("awaiting", "check_at")
        else:
            write.await_check(request_id, check_at, keep=keep_check_at)
        return self._conditional(request_id, write, condition, match, written_item)

    def create_final(
        self, request_id: str, status: MessageStatus, reason: str, fields: Mapping[str, Any] | None = None
    ) -> bool:
        """Record a message that will never be sent (REJECTED, EXPIRED) before anything claimed it.

        False when the RequestId already has an item.
        """
        if status not in FINAL_STATUSES:
            raise ValueError(f"{status} is not final")
        now = self._clock()
        item = {
            "request_id": request_id,
            "status": status.value,
            "error": reason,
            "attempts": 0,
            "created_at": iso_time(now),
            "updated_at": iso_time(now),
            "status_at": iso_time(now),
            "status_shard": status_shard(status, request_id),
            "expires_at": self._expires_at(now),
            "history": [history_entry(status, now, reason)],
            **{
                key: value
                for key, value in (fields or {}).items()
                if value is not None and key not in HELD_WHILE_SENDABLE
            },
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
        self,
        request_id: str,
        detail: str,
        data: Mapping[str, Any] | None,
        while_in: frozenset[MessageStatus],
        *,
        fields: Mapping[str, Any] | None = None,
        keep_fields: Mapping[str, Any] | None = None,
        check_at: int | None = None,
        match: ReportMatch | None = None,
    ) -> Written:
        """Add a history entry without changing the status (an inconclusive report, say).

        With `check_at`, the reconciler's next look is moved there; `match` as for `transition`.
        """
        write = Write(self._clock(), None, detail, data=data)
        condition = (
            f"attribute_exists(request_id) AND {write.status_in(while_in, 'in')}"
            " AND size(history) < :max_history"
        )
        write.values[":max_history"] = MAX_HISTORY_FOR_NOTES
        if match is not None:
            condition += f" AND {match.condition(write)}"
        write.set_fields(fields or {})
        write.keep_fields(keep_fields or {})
        if check_at is not None:
            write.sets.append("check_at = :check_at")
            write.values[":check_at"] = check_at
        return self._conditional(request_id, write, condition, match)

    def reschedule(self, request_id: str, check_at: int, while_in: frozenset[MessageStatus]) -> Written:
        """Move the reconciler's next look at a waiting message, writing no history."""
        write = Write(self._clock(), None, "", history=False)
        condition = f"attribute_exists(check_at) AND {write.status_in(while_in, 'in')}"
        write.sets.append("check_at = :check_at")
        write.values[":check_at"] = check_at
        return self._conditional(request_id, write, condition)

    def due(self, now: int, page_size: int = 100) -> Iterator[WaitingMessage]:
        """Every waiting message whose check time has come, shard by shard (a Query each, no Scan), each
        read by key (a consistent read: the index trails the table, and a message may have moved on)."""
        for shard in awaiting_shards():
            arguments: dict[str, Any] = {
                "TableName": self._table,
                "IndexName": WAITING_INDEX,
                "KeyConditionExpression": "awaiting = :shard AND check_at <= :now",
                "ExpressionAttributeValues": {":shard": {"S": shard}, ":now": {"N": str(now)}},
                "Limit": page_size,
            }
            while True:
                response = self._client.query(**arguments)
                keys = [item["request_id"]["S"] for item in response.get("Items", [])]
                for item in batch_get(self._client, self._table, keys, WAITING_ATTRIBUTES, consistent=True):
                    if "check_at" in item and int(item["check_at"]["N"]) <= now:
                        yield WaitingMessage.from_attributes(from_item(item))
                if "LastEvaluatedKey" not in response:
                    break
                arguments["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def owner_of(self, sms_id: str) -> str | None:
        """The RequestId of the message that holds `sms_id` (the sms_id-index: eventually consistent)."""
        response = self._client.query(
            TableName=self._table,
            IndexName=SMS_ID_INDEX,
            KeyConditionExpression="sms_id = :sms_id",
            ExpressionAttributeValues={":sms_id": {"S": sms_id}},
            Limit=1,
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

    def _conditional(
        self,
        request_id: str,
        write: Write,
        condition: str,
        match: ReportMatch | None = None,
        written_item: dict[str, Any] | None = None,
    ) -> Written:
        returned = "NONE" if written_item is None else "ALL_NEW"
        applied, item = self._update(request_id, write, condition, return_values=returned)
        if applied:
            if written_item is not None:
                written_item.update(item)
            return Written.APPLIED
        if not item:
            return Written.NO_ITEM
        return match.refusal(item) if match is not None else Written.REFUSED

    def _update(
        self, request_id: str, write: Write, condition: str, return_values: str = "NONE"
    ) -> tuple[bool, dict[str, Any]]:
        """One conditional UpdateItem; whether it applied, with the item as `return_values` asks
        (or, when refused, as it stood)."""
        write.values[":expires"] = self._expires_at(write.now)
        if write.status is not None:
            write.set_fields({"status_at": write.values[":now"]})
            if write.waits:
                write.remove("status_shard")  # listed by the waiting-index meanwhile
            else:
                write.set_fields({"status_shard": status_shard(write.status, request_id)})
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key={"request_id": {"S": request_id}},
                UpdateExpression=write.expression(),
                ConditionExpression=condition,
                ExpressionAttributeNames=write.names,
                ExpressionAttributeValues=to_item(write.values),
                ReturnValues=return_values,  # type: ignore[arg-type]
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if is_condition_failure(error):
                return False, from_item(error.response.get("Item", {}))  # type: ignore[arg-type]
            raise
        return True, from_item(response.get("Attributes", {}))

    def _expires_at(self, now: datetime) -> int:
        return int((now + self._retention).timestamp())
