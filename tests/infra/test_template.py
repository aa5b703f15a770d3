"""template.yaml as SAM and CloudFormation read it: both linters, then the rules we rely on."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from local.runtime.template import TEMPLATE_PATH, Template
from tests.infra.tools import ROOT, run, tool
from zns_relay.config.settings import (
    CallbackSettings,
    FallbackSettings,
    GuardrailsSettings,
    PublisherSettings,
    ReconcilerSettings,
    SenderSettings,
    StatusSettings,
)
from zns_relay.guardrails.evaluation import METRIC_NAMES

pytestmark = pytest.mark.infra
TEMPLATE = Template()
SQS_EVENT_FUNCTIONS = [
    (name, event)
    for name in TEMPLATE.functions()
    for event in TEMPLATE.function(name).events.values()
    if event["Type"] == "SQS"
]


def sam_command() -> str:
    return tool("sam", "make test puts .venv-sam/bin there")


def test_cfn_lint_reports_nothing_informational_rules_included() -> None:
    examples = sorted(str(path) for path in (ROOT / "examples").glob("*.yaml"))
    cfn_lint = str(Path(sys.executable).parent / "cfn-lint")
    result = run([cfn_lint, "--include-checks", "I", "--", str(TEMPLATE_PATH), *examples])
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


def test_sam_validate_lint_passes() -> None:
    result = run([sam_command(), "validate", "--lint", "--template-file", str(TEMPLATE_PATH)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is a valid SAM Template" in result.stdout + result.stderr


def test_sam_build_produces_the_layer_for_the_lambda_architecture(tmp_path: Path) -> None:
    build_dir = tmp_path / "build"
    result = run(
        [sam_command(), "build", "--template-file", str(TEMPLATE_PATH), "--build-dir", str(build_dir)],
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    layer = build_dir / "CommonLayer" / "python"
    assert (layer / "zns_relay" / "sender" / "sender.py").is_file()
    assert not (layer / "zns_relay_client").exists(), (
        "the producers' library and the CLI's stay out of the layer"
    )
    assert (layer / "aws_lambda_powertools").is_dir()
    assert list((layer / "pydantic_core").glob("*aarch64*.so")), "pydantic_core must be built for arm64"
    assert (layer / "zns_relay" / "sender" / "__pycache__" / "sender.cpython-313.pyc").is_file(), (
        "no bytecode shipped"
    )
    assert (build_dir / "SenderFunction" / "sender.py").is_file()
    # Quietly: no warning, once a function, that it has no dependencies (they are all in the layer)
    printed = result.stdout + result.stderr
    assert "requirements.txt file not found" not in printed
    assert "Skipping copy operation" not in printed


@pytest.mark.parametrize(("function", "event"), SQS_EVENT_FUNCTIONS, ids=[f for f, _ in SQS_EVENT_FUNCTIONS])
def test_sqs_events_report_batch_item_failures_and_do_not_wait(function: str, event: dict[str, Any]) -> None:
    properties = event["Properties"]
    assert properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert properties["MaximumBatchingWindowInSeconds"] == 0
    # Bounded, so that eSMS's TPS is shared by a known number of execution environments
    assert properties["ScalingConfig"]["MaximumConcurrency"] in ({"Ref": "MaxConcurrency"}, 2)


def test_batch_is_sent_by_enough_threads() -> None:
    spec = TEMPLATE.function("SenderFunction")
    batch_size = spec.events["SendQueueEvent"]["Properties"]["BatchSize"]
    assert int(spec.environment["SEND_CONCURRENCY"]) >= batch_size


def test_send_queue_redrives_to_the_dlq_after_max_receive_count() -> None:
    redrive = TEMPLATE.resources["SendQueue"]["Properties"]["RedrivePolicy"]
    assert redrive == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["SendDLQ", "Arn"]},
        "maxReceiveCount": {"Ref": "MaxReceiveCount"},
    }


def test_messages_table_has_ttl_gsis_and_point_in_time_recovery() -> None:
    table = TEMPLATE.resources["MessagesTable"]["Properties"]
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["KeySchema"] == [{"AttributeName": "request_id", "KeyType": "HASH"}]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    indexes = {index["IndexName"]: index for index in table["GlobalSecondaryIndexes"]}
    assert set(indexes) == {"sms_id-index", "waiting-index", "phone-index", "campaign-index", "status-index"}
    assert indexes["sms_id-index"]["KeySchema"] == [{"AttributeName": "sms_id", "KeyType": "HASH"}]
    assert indexes["sms_id-index"]["Projection"] == {"ProjectionType": "KEYS_ONLY"}  # written once
    assert indexes["waiting-index"]["KeySchema"] == [
        {"AttributeName": "awaiting", "KeyType": "HASH"},
        {"AttributeName": "check_at", "KeyType": "RANGE"},
    ]


def test_the_reconciler_reads_what_it_decides_by_of_the_due_messages_never_the_history() -> None:
    from zns_relay.store.records import WAITING_ATTRIBUTES  # noqa: PLC0415

    table = TEMPLATE.resources["MessagesTable"]["Properties"]
    [index] = [index for index in table["GlobalSecondaryIndexes"] if index["IndexName"] == "waiting-index"]
    assert index["Projection"] == {"ProjectionType": "KEYS_ONLY"}  # its key moves only when a look does
    policy = TEMPLATE.resources["ReconcilerRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    [reads] = [
        statement for statement in policy["Statement"] if "dynamodb:BatchGetItem" in statement["Action"]
    ]
    assert reads["Condition"]["ForAllValues:StringEquals"]["dynamodb:Attributes"] == list(WAITING_ATTRIBUTES)
    assert reads["Condition"]["StringEqualsIfExists"]["dynamodb:Select"] == "SPECIFIC_ATTRIBUTES"


def test_the_sender_reads_of_a_deferred_message_what_it_sends_again_never_the_history() -> None:
    from zns_relay.store.deferred import RESEND_ATTRIBUTES  # noqa: PLC0415

    policy = TEMPLATE.resources["SenderRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    [reads] = [
        statement for statement in policy["Statement"] if statement["Sid"] == "DeferredMessageToResend"
    ]
    assert reads["Action"] == "dynamodb:GetItem"
    assert reads["Resource"] == {"Fn::GetAtt": ["MessagesTable", "Arn"]}
    assert reads["Condition"]["ForAllValues:StringEquals"]["dynamodb:Attributes"] == list(RESEND_ATTRIBUTES)
    assert reads["Condition"]["StringEqualsIfExists"]["dynamodb:Select"] == "SPECIFIC_ATTRIBUTES"


def test_the_reconciler_runs_on_the_schedule_one_at_a_time() -> None:
    spec = TEMPLATE.function("ReconcilerFunction")
    assert spec.events["Schedule"]["Type"] == "Schedule"
    assert spec.events["Schedule"]["Properties"]["Schedule"] == {"Ref": "ReconcileSchedule"}
    assert TEMPLATE.resources["ReconcilerFunction"]["Properties"]["ReservedConcurrentExecutions"] == 1


def test_the_esms_unreachable_alarm_watches_the_metric_the_reconciler_emits() -> None:
    # The metric: tests/integration/test_reconciler.py; every timing and its relations: local/timings.py
    alarm = TEMPLATE.resources["EsmsStatusUnreachableAlarm"]["Properties"]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("ZnsRelay", "EsmsStatusUnreachable")
    assert (alarm["Statistic"], alarm["Threshold"], alarm["TreatMissingData"]) == ("Minimum", 1, "ignore")


def test_the_guardrails_run_on_their_schedule_and_watch_the_oas_the_sender_sends_for() -> None:
    spec = TEMPLATE.function("GuardrailsFunction")
    assert spec.events["Schedule"]["Properties"]["Schedule"] == {"Ref": "GuardrailsSchedule"}
    assert TEMPLATE.parameter_defaults()["GuardrailsSchedule"] == "rate(15 minutes)"
    for name in ("DEFAULT_OA_ID", "ALLOWED_OA_IDS"):
        assert spec.environment[name] == TEMPLATE.function("SenderFunction").environment[name]
    assert spec.environment["QUOTA_ALARM_PERCENT"] == {"Ref": "QuotaAlarmPercent"}
    assert TEMPLATE.parameter_defaults()["QuotaAlarmPercent"] == "20"


@pytest.mark.parametrize(
    ("alarm", "metric", "statistic", "comparison", "threshold"),
    [
        ("ZnsQuotaLowAlarm", "LowestZnsQuotaRemainingPercent", "Minimum", "LessThanThreshold",
         {"Ref": "QuotaAlarmPercent"}),
        ("ZnsQualityLowAlarm", "LowQualityOas", "Maximum", "GreaterThanOrEqualToThreshold", 1),
    ],
)  # fmt: skip
def test_the_guardrail_alarms_watch_the_metrics_the_guardrails_emit(
    alarm: str, metric: str, statistic: str, comparison: str, threshold: Any
) -> None:
    # The metrics: tests/integration/test_guardrails.py; their names: zns_relay/guardrails/evaluation.py
    properties = TEMPLATE.resources[alarm]["Properties"]
    assert metric in METRIC_NAMES
    assert (properties["Namespace"], properties["MetricName"]) == ("ZnsRelay", metric)
    assert properties["Dimensions"] == [{"Name": "service", "Value": "zns-relay"}]
    assert (properties["Statistic"], properties["ComparisonOperator"]) == (statistic, comparison)
    assert properties["Threshold"] == threshold
    assert properties["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    # A run eSMS did not answer publishes neither metric: the alarm keeps its state, no storm
    assert properties["TreatMissingData"] == "ignore"
    # And every period holds a run: the schedule is at most every 30 minutes
    assert properties["Period"] == 1800
    assert TEMPLATE.document["Parameters"]["GuardrailsSchedule"]["AllowedPattern"].endswith(
        "|30) minutes\\)$"
    )


def test_runtime_is_a_supported_python() -> None:
    assert TEMPLATE.document["Globals"]["Function"]["Runtime"] in {"python3.12", "python3.13"}


def test_parameters_operators_tune() -> None:
    expected = {
        "Stage", "DefaultOaId", "Sandbox", "MaxConcurrency", "MaxReceiveCount", "RetentionDays",
        "RetryWindowHours", "DefaultValidityHours", "ReconcileSchedule", "UnknownAfterHours",
    }  # fmt: skip
    assert expected <= set(TEMPLATE.document["Parameters"])


@pytest.mark.parametrize("function", TEMPLATE.functions())
def test_every_function_logs_to_its_own_group_with_retention(function: str) -> None:
    properties = TEMPLATE.resources[function]["Properties"]
    log_group = properties["LoggingConfig"]["LogGroup"]["Ref"]
    assert TEMPLATE.resources[log_group]["Properties"]["RetentionInDays"] > 0


SETTINGS: dict[str, type[BaseModel]] = {
    "SenderFunction": SenderSettings,
    "CallbackFunction": CallbackSettings,
    "ReconcilerFunction": ReconcilerSettings,
    "PublisherFunction": PublisherSettings,
    "StatusFunction": StatusSettings,
    "FallbackFunction": FallbackSettings,
    "GuardrailsFunction": GuardrailsSettings,
}


@pytest.mark.parametrize("function", TEMPLATE.functions())
def test_every_environment_variable_is_one_the_code_reads(function: str) -> None:
    fields = SETTINGS[function].model_fields.values()
    known = {field.alias for field in fields} | {"AWS_ENDPOINT_URL"}  # read by boto3
    names = set(TEMPLATE.function(function).environment)
    unknown = {name for name in names if not name.startswith("POWERTOOLS_")} - known
    assert not unknown, f"{function} sets variables nothing reads: {unknown}"


def test_the_first_deploy_checklist_lists_every_parameter_with_its_default() -> None:
    # Given the checklist's parameter table (docs/deploying.md: | `Name` | `default` or empty | ... |)
    checklist = (ROOT / "docs" / "deploying.md").read_text()
    rows = re.findall(r"^\| `(\w+)` \| ([^|]+) \|", checklist, re.MULTILINE)
    documented: dict[str, str] = {}
    for name, default in rows:  # the first row that names it: the checklist's table comes first
        documented.setdefault(name, default.strip())
    # Then every parameter is there, with the template's default
    for name, default in TEMPLATE.parameter_defaults().items():
        assert name in documented, f"docs/deploying.md's checklist does not list {name}"
        shown = documented[name]
        assert shown == f"`{default}`" or (not default and shown.startswith("empty")), (name, shown, default)


def test_a_template_zalo_will_not_take_pages_whoever_owns_the_templates() -> None:
    # The metrics: tests/integration/test_deferrals.py (a -131 or -146 report), and the sender's check
    # of a template GetZnsTemplateInfo says is not ENABLE (tests/integration/test_sender_template_limits.py)
    alarm = TEMPLATE.resources["TemplateUnavailableAlarm"]["Properties"]
    watched = {
        query["MetricStat"]["Metric"]["MetricName"]: query["MetricStat"]["Metric"]["Dimensions"]
        for query in alarm["Metrics"]
        if "MetricStat" in query
    }
    service = [{"Name": "service", "Value": "zns-relay"}]
    assert watched == {"ZaloTemplateRefused": service, "TemplateNotEnabled": service}
    assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)
    assert (
        "${TemplateUnavailableAlarm.Arn}"
        in TEMPLATE.resources["OperationsDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    )


def test_the_guardrails_say_when_they_cannot_look() -> None:
    # Given the quota and quality alarms keep their state while no run answers (TreatMissingData: ignore)
    alarm = TEMPLATE.resources["GuardrailsBlindAlarm"]["Properties"]
    watched = {
        query["MetricStat"]["Metric"]["MetricName"]: query["MetricStat"]["Metric"]["Dimensions"]
        for query in alarm["Metrics"]
        if "MetricStat" in query
    }
    # Then a third alarm watches the failed checks and the function's own errors, and pages
    assert "GuardrailCheckFailed" in METRIC_NAMES
    assert watched == {
        "GuardrailCheckFailed": [{"Name": "service", "Value": "zns-relay"}],
        "Errors": [{"Name": "FunctionName", "Value": {"Ref": "GuardrailsFunction"}}],
    }
    assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)
