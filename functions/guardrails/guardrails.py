"""GuardrailsFunction (scheduled): each watched OA's ZNS quota left today and its quality, from eSMS
(ZNS/GetQuota, ZNS/GetQuality), published as metrics that ZnsQuotaLowAlarm and ZnsQualityLowAlarm watch;
what needs an operator is logged too. The OAs: DefaultOaId and AllowedOaIds (none: nothing published)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from zns_relay.composition.guardrails import build_guardrails
from zns_relay.config.observability import logger, measure, metrics, traced_handler
from zns_relay.config.settings import GuardrailsSettings

settings = GuardrailsSettings.from_environment()
guardrails = build_guardrails(settings)


@logger.inject_lambda_context(clear_state=True, log_event=False)  # never, whatever the environment says
@traced_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    report = guardrails.run(seconds_left=lambda: context.get_remaining_time_in_millis() / 1000)
    for measurement in report.measurements:
        dimensions = {"OaId": measurement.oa_id} if measurement.oa_id else {}
        measure(measurement.name, measurement.unit, measurement.value, **dimensions)
    for finding in report.findings:
        logger.warning(f"OA {finding.oa_id}: {finding.detail}", extra={"finding": finding.kind.value})
    return {"findings": [{"kind": finding.kind.value, "oa_id": finding.oa_id} for finding in report.findings]}
