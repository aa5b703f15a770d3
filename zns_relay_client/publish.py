"""The publisher library: put ZNS messages on zns-relay's SendQueue from a producer's Python service.

    import boto3
    from zns_relay_client.publish import Publisher

    publisher = Publisher(queue_url, session=boto3.Session(profile_name="orders"))
    sent = publisher.publish({"Phone": "0901888484", "TempID": "2056446",
                              "TempData": {"customer_name": "An"}, "RequestId": "order-DH240501"})
    print(sent.request_id, sent.message_id)

Every message is checked against the producer contract (the model the sender itself uses) before
anything is sent, so a mistake is an exception here, not a REJECTED message later. A message without a
RequestId gets one (a UUID), and its result says so: keep it, and give it again when you publish the
same message again, since the RequestId is what makes a repeat harmless. Many messages go out ten to a
SendMessageBatch call; what SQS refuses is returned with the reason, never raised away.

Needs only boto3 and pydantic.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

from zns_relay.models.contract import (
    ZnsMessage,
    describe_validation_error,
    oversize_problem,
    schedule_problem,
)

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import SendMessageBatchRequestEntryTypeDef

__all__ = ["InvalidMessages", "MessageProblem", "Prepared", "Published", "Publisher", "validate"]

log = logging.getLogger(__name__)
BATCH_ENTRIES = 10  # SendMessageBatch's limits: 10 entries, 256 KiB of bodies
BATCH_BYTES = 256 * 1024

Message = Mapping[str, Any] | ZnsMessage


@dataclass(frozen=True)
class Published:
    """One message's outcome: on the queue (`message_id`), or refused by SQS (`error`)."""

    request_id: str
    message_id: str | None = None
    error: str | None = None
    request_id_generated: bool = False  # the message had none: this one was made for it

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class Prepared:
    """A valid message ready to go: its RequestId (given, or made for it) and its SQS body."""

    request_id: str
    body: str
    request_id_generated: bool


@dataclass(frozen=True)
class MessageProblem:
    """Why the message at `index` (0-based, in the order given) breaks the contract."""

    index: int
    reason: str


class InvalidMessages(ValueError):
    """Messages that break the contract; none of the messages given was sent."""

    def __init__(self, problems: Sequence[MessageProblem]) -> None:
        self.problems = list(problems)
        first = self.problems[0]
        more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        super().__init__(f"message {first.index}: {first.reason}{more}")


def validate(message: Message, *, now: datetime | None = None) -> ZnsMessage:
    """The message as the contract reads it, or ValueError with the reason zns-relay would record.

    Besides the contract's rules, a SendDate is checked against `now` (default: the current time),
    as the sender checks it against the time it was published.
    """
    if isinstance(message, ZnsMessage):
        parsed = message
    else:
        try:
            parsed = ZnsMessage.model_validate(dict(message))
        except ValidationError as error:
            raise ValueError(describe_validation_error(error)) from None
    problem = schedule_problem(parsed, now or datetime.now(UTC))
    if problem:
        raise ValueError(problem)
    return parsed


class Publisher:
    """Publishes to one SendQueue; thread-safe (boto3 clients are)."""

    def __init__(
        self,
        queue_url: str,
        *,
        session: boto3.Session | None = None,
        client: SQSClient | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        """`session` (any boto3 session: a profile, an assumed role) makes the SQS client, unless
        `client` is given; the queue's region is the session's."""
        self.queue_url = queue_url
        self._sqs = client or (session or boto3.Session()).client("sqs")
        self._clock = clock

    def publish(self, message: Message) -> Published:
        """Validate and send one message; raises InvalidMessages if it breaks the contract."""
        return self.publish_many([message])[0]

    def publish_many(
        self, messages: Iterable[Message], on_progress: Callable[[int], None] | None = None
    ) -> list[Published]:
        """Validate every message, then send them in batches; one result per message, in order.

        Raises InvalidMessages, naming each bad message, before sending anything if one breaks the
        contract. `on_progress(n)` is told each time n more messages have been handled.
        """
        return self.send(self.prepare(messages), on_progress)

    def prepare(self, messages: Iterable[Message]) -> list[Prepared]:
        """Each message validated and given its RequestId; InvalidMessages naming every bad one."""
        prepared: list[Prepared] = []
        problems: list[MessageProblem] = []
        now = self._clock()
        for index, message in enumerate(messages):
            try:
                prepared.append(_body(message, validate(message, now=now)))
            except ValueError as error:
                problems.append(MessageProblem(index, str(error)))
        if problems:
            raise InvalidMessages(problems)
        return prepared

    def send(
        self, prepared: Sequence[Prepared], on_progress: Callable[[int], None] | None = None
    ) -> list[Published]:
        """Send prepared messages in batches; one result per message, in order."""
        results: list[Published] = []
        for batch in _batches(prepared):
            results += self._send_batch(batch)
            if on_progress is not None:
                on_progress(len(batch))
        return results

    def _send_batch(self, batch: list[Prepared]) -> list[Published]:
        entries: list[SendMessageBatchRequestEntryTypeDef] = [
            {"Id": str(index), "MessageBody": message.body} for index, message in enumerate(batch)
        ]
        try:
            response = self._sqs.send_message_batch(QueueUrl=self.queue_url, Entries=entries)
        except (ClientError, BotoCoreError) as error:
            # The whole call failed: every message of it is unsent, and safe to publish again.
            return [
                Published(
                    message.request_id, error=str(error), request_id_generated=message.request_id_generated
                )
                for message in batch
            ]
        sent = {entry["Id"]: entry["MessageId"] for entry in response.get("Successful", [])}
        refused = {
            entry["Id"]: f"{entry.get('Code', 'error')}: {entry.get('Message', 'refused by SQS')}"
            for entry in response.get("Failed", [])
        }
        return [
            Published(
                message.request_id,
                message_id=sent.get(str(index)),
                error=None if str(index) in sent else refused.get(str(index), "SQS did not answer for it"),
                request_id_generated=message.request_id_generated,
            )
            for index, message in enumerate(batch)
        ]


def _body(message: Message, parsed: ZnsMessage) -> Prepared:
    """The producer's own document (its forms kept: the sender normalises), with a RequestId."""
    if isinstance(message, ZnsMessage):
        document = message.model_dump(mode="json", by_alias=True, exclude_none=True)
    else:
        document = dict(message)
    generated = parsed.request_id is None
    request_id = parsed.request_id or str(uuid.uuid4())
    body = json.dumps({**document, "RequestId": request_id}, ensure_ascii=False)
    too_large = oversize_problem(body)
    if too_large:
        raise ValueError(too_large)
    if generated:
        log.info("message without a RequestId: publishing it as %s", request_id)
    return Prepared(request_id, body, generated)


def _batches(messages: Sequence[Prepared]) -> Iterable[list[Prepared]]:
    """At most 10 messages and 256 KiB of bodies each."""
    batch: list[Prepared] = []
    size = 0
    for item in messages:
        item_size = len(item.body.encode())
        if batch and (len(batch) == BATCH_ENTRIES or size + item_size > BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(item)
        size += item_size
    if batch:
        yield batch
