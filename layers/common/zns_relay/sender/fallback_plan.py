"""A message's SMS fallback, planned when the message is first handled: its text filled in from
TempData, the deployment's defaults applied, and every problem eSMS would find only once the ZNS
message has failed found now (the producer's message is rejected instead)."""

from __future__ import annotations

from dataclasses import dataclass

from zns_relay.models.contract import ZnsMessage
from zns_relay.models.errors import ContractViolation
from zns_relay.models.esms import ZaloSendRequest
from zns_relay.models.fallback import (
    MAX_SMS_CHARS,
    FallbackTrigger,
    PlannedFallback,
    fill_content,
    is_gsm_text,
)
from zns_relay.sender.policy import SenderPolicy


@dataclass(frozen=True)
class FallbackPlan:
    """A message's SMS fallback, its text filled in: sealed before anything stores it."""

    content: str
    brandname: str
    is_unicode: bool
    on: list[FallbackTrigger]

    def stored(self, sealed_content: str) -> dict[str, object]:
        """As the item keeps it (PlannedFallback), with its text as `sealed_content`."""
        planned = PlannedFallback(
            sealed_content=sealed_content, brandname=self.brandname, is_unicode=self.is_unicode, on=self.on
        )
        return planned.model_dump(mode="json")


def plan_fallback(message: ZnsMessage, request: ZaloSendRequest, policy: SenderPolicy) -> FallbackPlan | None:
    """The SMS to send if the message fails (content filled in, defaults applied); None when there
    is none, or for a sandbox message (it never fails for real). ContractViolation when it cannot be sent."""
    asked = message.fallback or policy.fallback_defaults.get(message.temp_id)
    if asked is None:
        return None
    brandname = asked.brandname or policy.default_brandname
    allowed = policy.allowed_brandnames
    if allowed and brandname and brandname not in allowed:  # a sandbox message learns it too
        raise ContractViolation(
            f"Fallback.Brandname: {brandname} is not one this deployment sends under", request.request_id
        )
    if request.sandbox:
        return None
    values = message.template_values()
    missing = sorted(asked.placeholders() - set(values))
    if missing:  # a deployment default naming parameters this message's TempData lacks
        raise ContractViolation(
            f"Fallback.Content names {', '.join(missing)}, which TempData lacks", request.request_id
        )
    if not brandname:  # eSMS would refuse the SMS (104) only once the ZNS message has failed
        raise ContractViolation(
            "Fallback names no Brandname, and this deployment has no DefaultBrandname", request.request_id
        )
    content = fill_content(asked.content, values)
    if len(content) > MAX_SMS_CHARS:
        raise ContractViolation(
            f"Fallback.Content filled from TempData is {len(content)} characters, over {MAX_SMS_CHARS}",
            request.request_id,
        )
    return FallbackPlan(
        content=content,
        brandname=brandname,
        is_unicode=asked.is_unicode == "1" if asked.is_unicode is not None else not is_gsm_text(content),
        on=asked.on or list(policy.fallback_on),
    )
