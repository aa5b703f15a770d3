"""ReconcilerFunction (scheduled): bring every waiting message to a final status, asking eSMS
(GetCallback, QueryZnsStatus) about those whose delivery report has not come."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from zns_relay.composition.reconciler import build_reconciler
from zns_relay.config.observability import count, logger, metrics, traced_handler
from zns_relay.config.settings import ReconcilerSettings

settings = ReconcilerSettings.from_environment()
reconciler = build_reconciler(settings)


@logger.inject_lambda_context(clear_state=True, log_event=False)  # never, whatever the environment says
@traced_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    summary = reconciler.run(seconds_left=lambda: context.get_remaining_time_in_millis() / 1000)
    count("ReconcileExamined", summary.examined)
    count("ReconcileEsmsCalls", summary.get_callback_calls + summary.query_status_calls)
    count("ReconcileQueryFailures", summary.query_failures)
    if summary.esms_unreachable is not None:  # 1: no question this run put to eSMS was answered
        count("EsmsStatusUnreachable", int(summary.esms_unreachable))
    return {
        "examined": summary.examined,
        "asked": summary.asked,
        "applied": summary.applied,
        "ended": dict(summary.ended),
        "stopped_early": summary.stopped_early,
    }
