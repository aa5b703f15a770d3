"""Typed exceptions of the domain; handlers map them to SQS and HTTP answers in one place."""

from __future__ import annotations


class ZnsRelayError(Exception):
    """Base of every error zns-relay raises on purpose."""


class ContractViolation(ZnsRelayError):
    """A queued body broke the producer contract: it is recorded REJECTED and never sent."""

    MAX_REASON_CHARS = 500  # stored and logged: bounded whatever the body held

    def __init__(self, reason: str, request_id: str | None = None) -> None:
        if len(reason) > self.MAX_REASON_CHARS:
            reason = reason[: self.MAX_REASON_CHARS - 3] + "..."
        super().__init__(reason)
        self.reason = reason
        self.request_id = request_id


class ConfigurationError(ZnsRelayError):
    """The deployment is misconfigured (environment or secret); an operator must act."""


class RetryLater(ZnsRelayError):
    """The message was not sent this time and goes back to the queue to be tried again."""


class CallbackForbidden(ZnsRelayError):
    """A callback without the right token in its URL: answered 403, changes nothing."""


class CallbackTooLarge(ZnsRelayError):
    """A callback with more parameter text than eSMS ever sends: answered 413."""


class InvalidQuery(ZnsRelayError):
    """A status API request with a filter, time, limit or cursor it cannot use: answered 400 with why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class MessageNotFound(ZnsRelayError):
    """The status API has no message with this RequestId: answered 404."""
