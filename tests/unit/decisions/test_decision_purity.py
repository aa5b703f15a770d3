"""The decision modules take values and give values: they load no AWS library (nor, through one, a
client, the store or Powertools)."""

from __future__ import annotations

import subprocess
import sys

DECISIONS = (
    "zns_relay.sender.requests",
    "zns_relay.sender.fallback_plan",
    "zns_relay.sender.failure_policy",
    "zns_relay.sender.lost_claims",
    "zns_relay.sender.backoff",
    "zns_relay.models.suppression",
    "zns_relay.models.pause",
    "zns_relay.models.zalo_rules",
    "zns_relay.reconciler.policy",
    "zns_relay.reconciler.report_wait",
    "zns_relay.reconciler.routing",
    "zns_relay.reconciler.answers",
    "zns_relay.reconciler.endings",
    "zns_relay.reconciler.summary",
)
AWS_LIBRARIES = ("boto3", "botocore", "aws_lambda_powertools")


def test_the_decision_modules_import_no_aws_library() -> None:
    script = (
        f"import sys\nfor name in {DECISIONS!r}: __import__(name)\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {AWS_LIBRARIES!r}))"
    )
    loaded = subprocess.run(  # noqa: S603 - this interpreter, the script above
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert loaded.stdout.strip() == "[]"
