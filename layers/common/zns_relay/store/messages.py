"""Data access for MessagesTable: every state change is one conditional DynamoDB write.

Every message that waits for something (a retry, its delivery report) carries `awaiting` (one of a
few shards) and `check_at` (epoch seconds): the sparse, keys-only `waiting-index` lists exactly those,
so the reconciler finds what is due with a Query, never a Scan. The claim sets both, acceptance and the
SENT report keep them, a final status removes both: a delivered message enters and leaves the index
once. Every other message (final, or a sandbox one that waits for nothing) carries `status_shard`
instead, the key of the status API's `status-index`, written when it stops waiting.
"""

from __future__ import annotations

import time
import uuid
import zlib
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from zns_relay.models.state import (
    ALLOWED_SOURCES,
    BEFORE_ACCEPTANCE,
    CLEARS_ERROR,
    FINAL_STATUSES,
    KEYED_FINGERPRINT_PREFIX,
    Channel,
    MessageRecord,
    MessageStatus,
    new_callback_nonce,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

Clock = Callable[[], datetime]
WAITING_INDEX = "waiting-index"
SMS_ID_INDEX = "sms_id-index"
# A note (a history entry that changes no status) is written only while the history is shorter than
# this: replayed reports, even through a leaked callback URL, cannot grow an item toward 400 KB.
MAX_HISTORY_FOR_NOTES = 50
# What only sending and waiting need (a claim's token, the retry window, since when an attempt may have
# reached eSMS): gone with a final status, which nothing changes, so that the item stays small.
ENDED_WITH_SENDING = ("claim_token", "retry_until", "uncertain_since")
# Flags an item holds only when true (absent: false), to keep it small.
ABSENT_WHEN_FALSE = frozenset({"sandbox"})
BATCH_GET_ATTEMPTS = 5
BATCH_GET_KEYS = 100  # BatchGetItem's limit a call
# Items waiting for the reconciler spread over this many index partitions, so that a busy day's
# writes to the sparse index never meet one partition's throughput limit.
AWAITING_SHARDS = 16
# The status API's status-index holds the messages that no longer wait: its key is spread over this
# many shards per status ("DELIVERED#0" .. "DELIVERED#7"), which the API merges newest first.
STATUS_SHARDS = 8
# What the reconciler reads of a waiting message (by key, after the keys-only waiting-index).
WAITING_ATTRIBUTES = (
    "request_id",
    "status",
    "sms_id",
    "oa_id",
    "phone",
    "attempts",
    "lease_until",
    "retry_until",
    "valid_until",
    "accepted_at",
    "uncertain_since",
    "check_at",
    "channel",
)


def utc_now() -> datetime:
    return datetime.now(UTC)


def awaiting_shard(request_id: str) -> str:
    """The waiting-index key of a message that waits (its `awaiting` attribute: the index's old name)."""
    return str(zlib.crc32(request_id.encode()) % AWAITING_SHARDS)


def awaiting_shards() -> tuple[str, ...]:
    """Every waiting-index key: "0" .. "15"."""
    return tuple(str(shard) for shard in range(AWAITING_SHARDS))


def status_shards(status: MessageStatus) -> list[str]:
    """The status-index keys of `status`: "<status>#0" .. "<status>#7"."""
    return [f"{status.value}#{shard}" for shard in range(STATUS_SHARDS)]


def status_shard(status: MessageStatus, request_id: str) -> str:
    """The status-index key of a message in `status` (its shard is fixed per message)."""
    return status_shards(status)[zlib.crc32(request_id.encode()) % STATUS_SHARDS]


class Written(Enum):
    """What a conditional write did; true only when it applied."""

    APPLIED = "applied"
    REFUSED = "refused"  # the item is not in a status (or claim) the write allows
    NO_ITEM = "no item"
    STALE_URL = "stale url"  # a callback's URL was made for an earlier item of this RequestId
    MISMATCHED = "mismatched"  # a report naming another SMSID, or another channel's TypeId
    UNVOUCHED = "unvouched"  # a callback for a message accepted without an SMSID: it cannot teach one
    UNSETTLED = "unsettled"  # the message is still SENDING or RETRYING, which the write did not allow

    def __bool__(self) -> bool:
        return self is Written.APPLIED


@dataclass(frozen=True)
class ReportMatch:
    """What an item must hold for a delivery report to change it (zns_relay.reports.delivery): the report's
    SMSID, once the item knows one; a channel the report's TypeId names; and, for a callback, its URL's
    nonce. Checked in the write's own condition, so that nothing can come between check and write.

    An item without an SMSID learns the report's, from the reconciler's answers (asked by an SMSID it
    found in eSMS's list) at any time, but from a callback only while SENDING or RETRYING: eSMS's
    callback may come before our record of its answer (the race of a send), while one for a message
    settled without an SMSID (ACCEPTED through a 124) may be forged with a leaked URL, and would pin a
    wrong SMSID for ever; the reconciler finds that message's SMSID in eSMS's list instead."""

    sms_id: str
    channels: frozenset[Channel]
    url_nonce: str | None = None  # None: not a callback (the reconciler's answers, asked by SMSID)

    def condition(self, write: _Write) -> str:
        if not self.channels:
            raise ValueError("a report of no channel we send matches no message")
        unknown = "attribute_not_exists(sms_id)"
        if self.url_nonce is not None:
            unknown = f"({unknown} AND {write.status_in(BEFORE_ACCEPTANCE, 'learning')})"
        clauses = [f"({unknown} OR sms_id = :report_sms_id)"]
        write.values[":report_sms_id"] = self.sms_id
        if self.url_nonce is not None:
            clauses.append("callback_nonce = :url_nonce")
            write.values[":url_nonce"] = self.url_nonce
        if self.channels != frozenset(Channel):
            write.names["#channel"] = "channel"
            keys = []
            for index, channel in enumerate(sorted(self.channels)):
                keys.append(f":channel{index}")
                write.values[keys[-1]] = channel.value
            clause = f"#channel IN ({', '.join(keys)})"
            if Channel.ZNS in self.channels:  # an item written before channels were recorded is a ZNS one
                clause = f"(attribute_not_exists(#channel) OR {clause})"
            clauses.append(clause)
        return " AND ".join(clauses)

    def refusal(self, item: Mapping[str, Any]) -> Written:
        """Why a write under this match was refused, from the item as it stood."""
        if self.url_nonce is not None and item.get("callback_nonce") != self.url_nonce:
            return Written.STALE_URL
        channel = Channel(item.get("channel", Channel.ZNS.value))
        if item.get("sms_id", self.sms_id) != self.sms_id or channel not in self.channels:
            return Written.MISMATCHED
        waiting = MessageStatus(item["status"]) not in BEFORE_ACCEPTANCE | FINAL_STATUSES
        if self.url_nonce is not None and "sms_id" not in item and waiting:
            return Written.UNVOUCHED
        if MessageStatus(item["status"]) in BEFORE_ACCEPTANCE:
            return Written.UNSETTLED
        return Written.REFUSED


@dataclass(frozen=True)
class ClaimedMessage:
    """A won claim: this caller alone may send the message now, and record its result with `token`.

    `took_over` says the claim replaced a holder whose lease ran out: that holder may have reached
    eSMS before it died, so the message may already be accepted.
    """

    request_id: str
    attempts: int
    token: str
    callback_nonce: str  # what its CallbackUrl is signed with (zns_relay.reports.callback_url)
    retry_until: int | None = None
    valid_until: int | None = None
    uncertain_since: int | None = None
    error: str | None = None  # the last attempt's error, if any
    took_over: bool = False

    @property
    def possibly_accepted(self) -> bool:
        return self.took_over or self.uncertain_since is not None

    @property
    def validity_ends_window(self) -> bool:
        """The retry window ends where the validity does (not at the deployment's window length)."""
        return (
            self.valid_until is not None
            and self.retry_until is not None
            and self.valid_until <= self.retry_until
        )


@dataclass(frozen=True)
class ClaimLost:
    """A claim another delivery won (or the message is past sending): how the message stands."""

    status: MessageStatus
    lease_until: int | None = None  # a live holder's lease, while it is SENDING
    fingerprint: str | None = None  # what message holds the RequestId (zns_relay.sender.fingerprint)


@dataclass(frozen=True)
class WaitingMessage:
    """A message the waiting-index lists: what the reconciler needs to decide about it."""

    request_id: str
    status: MessageStatus
    check_at: int
    sms_id: str | None = None
    oa_id: str | None = None
    phone: str | None = None
    attempts: int = 0
    lease_until: int | None = None
    retry_until: int | None = None
    valid_until: int | None = None
    accepted_at: int | None = None
    uncertain_since: int | None = None
    channel: Channel = Channel.ZNS

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> WaitingMessage:
        plain = {name: value for name, value in from_item(item).items() if name in WAITING_ATTRIBUTES}
        channel = Channel(plain.get("channel", Channel.ZNS.value))
        return cls(**{**plain, "status": MessageStatus(plain["status"]), "channel": channel})


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
    ) -> ClaimedMessage | ClaimLost:
        """Create the item in SENDING, or move RETRYING (or a SENDING whose lease ran out) to SENDING.

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
        write = _Write(now, MessageStatus.SENDING, "claimed for sending", history=history)
        write.sets += [
            "lease_until = :lease",
            "claim_token = :token",
            "attempts = if_not_exists(attempts, :zero) + :one",
        ]
        write.values.update(
            {
                ":retrying": MessageStatus.RETRYING.value,
                ":sending": MessageStatus.SENDING.value,
                ":now_epoch": int(now.timestamp()),
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
        if fields.get("fingerprint") is not None:
            same = [fields["fingerprint"], *earlier_fingerprints]
            names = [f":fingerprint{index}" for index in range(len(same))]
            write.values.update(zip(names, same, strict=True))
            write.values[":keyed"] = KEYED_FINGERPRINT_PREFIX
            condition = (
                f"({condition}) AND (attribute_not_exists(fingerprint)"
                f" OR NOT begins_with(fingerprint, :keyed) OR fingerprint IN ({', '.join(names)}))"
            )
        condition = f"attribute_not_exists(request_id) OR ({condition})"
        applied, old = self._update(request_id, write, condition, return_values="ALL_OLD")
        if not applied:
            if old.get("claim_token") != token:
                return ClaimLost(MessageStatus(old["status"]), old.get("lease_until"), old.get("fingerprint"))
            # An SDK retry of our own committed claim: the item as it stands is our claim. What it
            # replaced is unknown: after an earlier attempt, a dead holder may have reached eSMS.
            attempts = int(old["attempts"])
            return _claimed(request_id, token, old, attempts=attempts, took_over=attempts > 1)
        took_over = old.get("status") == MessageStatus.SENDING.value
        merged = {**{key: value for key, value in kept.items() if value is not None}, **old}
        return _claimed(
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
    ) -> Written:
        """Move a message to `target` if the state machine allows it from its current status.

        `fields` are item attributes to set with the move and `keep_fields` ones set only where the
        item has none yet; `data` is kept in the history entry (a callback's fields, say);
        `only_from` narrows the allowed sources further; `claim` makes the write its holder's alone, and
        `lease_expired_by` (epoch seconds) makes it nobody's: no claim may hold a lease at that time;
        `check_at` keeps a non-final message in the waiting-index (None takes it out), and
        `keep_check_at` keeps the look the item has, if any (its index entry then stays as it is);
        `match` applies a delivery report only to the item it belongs to.
        Writes nothing when the move is not allowed.
        """
        if not ALLOWED_SOURCES[target]:
            raise ValueError(f"{target} is only ever created, never reached by a transition")
        sources = ALLOWED_SOURCES[target] & only_from if only_from is not None else ALLOWED_SOURCES[target]
        if not sources:
            return Written.REFUSED
        write = _Write(self._clock(), target, detail, data=data, history=history)
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
            write.remove(*ENDED_WITH_SENDING)
        if target in FINAL_STATUSES or check_at is None:
            write.remove("awaiting", "check_at")
        else:
            write.await_check(request_id, check_at, keep=keep_check_at)
        return self._conditional(request_id, write, condition, match)

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
            "history": [_history_entry(status, now, reason)],
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
        write = _Write(self._clock(), None, detail, data=data)
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
        write = _Write(self._clock(), None, "", history=False)
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
                        yield WaitingMessage.from_item(item)
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
        self, request_id: str, write: _Write, condition: str, match: ReportMatch | None = None
    ) -> Written:
        applied, item = self._update(request_id, write, condition)
        if applied:
            return Written.APPLIED
        if not item:
            return Written.NO_ITEM
        return match.refusal(item) if match is not None else Written.REFUSED

    def _update(
        self, request_id: str, write: _Write, condition: str, return_values: str = "NONE"
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


def batch_get(
    client: DynamoDBClient,
    table: str,
    request_ids: Sequence[str],
    attributes: Iterable[str],
    *,
    consistent: bool,
) -> list[dict[str, Any]]:
    """These items' `attributes` (typed, as DynamoDB answers), in this order; missing ones left out.
    BatchGetItem, 100 keys a call, retrying the keys DynamoDB leaves unprocessed when busy."""
    names = {f"#a{index}": name for index, name in enumerate(attributes)}
    found: dict[str, dict[str, Any]] = {}
    unique = list(dict.fromkeys(request_ids))
    for start in range(0, len(unique), BATCH_GET_KEYS):
        wanted: dict[str, Any] = {
            table: {
                "Keys": [{"request_id": {"S": key}} for key in unique[start : start + BATCH_GET_KEYS]],
                "ProjectionExpression": ", ".join(names),
                "ExpressionAttributeNames": names,
                "ConsistentRead": consistent,
            }
        }
        for attempt in range(BATCH_GET_ATTEMPTS):
            if attempt:
                time.sleep(0.05 * 2**attempt)
            response = client.batch_get_item(RequestItems=wanted)
            for item in response.get("Responses", {}).get(table, []):
                found[item["request_id"]["S"]] = item
            wanted = dict(response.get("UnprocessedKeys") or {})
            if not wanted:
                break
        else:
            raise RuntimeError("DynamoDB left keys unprocessed after every retry")
    return [found[key] for key in request_ids if key in found]


class _Write:
    """The parts of one UpdateItem: SET and REMOVE clauses, names and values.

    Every write stamps `updated_at` (and the creation attributes when it creates the item) and, for
    a history entry, appends it; status is None for a note that changes no status. A status write also
    stamps `status_at` and, once the message no longer waits, `status_shard`, the status-index's key
    (`_update` adds them).
    """

    def __init__(
        self,
        now: datetime,
        status: MessageStatus | None,
        detail: str,
        *,
        data: Mapping[str, Any] | None = None,
        history: bool = True,
    ) -> None:
        self.now = now
        self.status = status
        self.names: dict[str, str] = {"#status": "status"}
        self.values: dict[str, Any] = {":now": iso_time(now)}
        self.sets = [
            "created_at = if_not_exists(created_at, :now)",
            "updated_at = :now",
            "expires_at = if_not_exists(expires_at, :expires)",
        ]
        self.removes: list[str] = []
        self.waits = False  # the write keeps the message in the waiting-index
        if status is not None:
            self.sets.append("#status = :to")
            self.values[":to"] = status.value
        if history:
            self.sets.append("history = list_append(if_not_exists(history, :empty), :entry)")
            self.values[":empty"] = []
            self.values[":entry"] = [_history_entry(status, now, detail, data)]

    def set_fields(self, fields: Mapping[str, Any]) -> None:
        """SET each field given a value (None: left as it is); a flag stored only when true is removed
        when false, so that an earlier attempt's true never outlives it."""
        for name, value in sorted(fields.items()):
            if value is False and name in ABSENT_WHEN_FALSE:
                self.remove(name)
            elif value is not None:
                self.sets.append(f"{self._name(name)} = {self._value(name, value)}")

    def keep_fields(self, fields: Mapping[str, Any]) -> None:
        for name, value in sorted(fields.items()):
            if value is not None:
                alias = self._name(name)
                self.sets.append(f"{alias} = if_not_exists({alias}, {self._value(name, value)})")

    def remove(self, *names: str) -> None:
        self.removes += [self._name(name) for name in names]

    def await_check(self, request_id: str, check_at: int, *, keep: bool = False) -> None:
        """Keep the message in the waiting-index until `check_at` (or, with `keep`, the look it has)."""
        self.waits = True
        fields = {"awaiting": awaiting_shard(request_id), "check_at": check_at}
        if keep:
            self.keep_fields(fields)
        else:
            self.set_fields(fields)

    def status_in(self, statuses: Iterable[MessageStatus], prefix: str) -> str:
        """`#status IN (:prefix0, ...)` with its values (sorted, so the expression is stable)."""
        keys = []
        for index, status in enumerate(sorted(statuses)):
            keys.append(f":{prefix}{index}")
            self.values[keys[-1]] = status.value
        return f"#status IN ({', '.join(keys)})"

    def expression(self) -> str:
        update = "SET " + ", ".join(self.sets)
        if self.removes:
            update += " REMOVE " + ", ".join(dict.fromkeys(self.removes))
        return update

    def _name(self, name: str) -> str:
        alias = f"#{name}"
        self.names[alias] = name
        return alias

    def _value(self, name: str, value: Any) -> str:
        alias = f":v_{name}"
        self.values[alias] = value
        return alias


def _claimed(
    request_id: str, token: str, item: Mapping[str, Any], *, attempts: int, took_over: bool
) -> ClaimedMessage:
    return ClaimedMessage(
        request_id=request_id,
        attempts=attempts,
        token=token,
        callback_nonce=item["callback_nonce"],
        retry_until=item.get("retry_until"),
        valid_until=item.get("valid_until"),
        uncertain_since=item.get("uncertain_since"),
        error=item.get("error"),
        took_over=took_over,
    )


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
    return {key: _attribute_value(value) for key, value in document.items()}


def _attribute_value(value: Any) -> dict[str, Any]:
    """What TypeSerializer makes of the values the items hold, without its generic type probing (a
    fifth of the store's CPU per write); anything else goes to TypeSerializer itself."""
    kind = type(value)
    if kind is str:
        return {"S": value}
    if kind is bool:
        return {"BOOL": value}
    if kind is int:
        return {"N": str(value)}
    if value is None:
        return {"NULL": True}
    if kind is list:
        return {"L": [_attribute_value(member) for member in value]}
    if kind is dict and all(type(key) is str for key in value):
        return {"M": {key: _attribute_value(member) for key, member in value.items()}}
    return dict(_SERIALIZER.serialize(value))


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
