"""The IAM statements template.yaml gives each function, for the infra tests to assert on."""

from __future__ import annotations

from typing import Any

from local.runtime.template import Template


def role_of(template: Template, function: str) -> str:
    """The logical id of the role a function runs as (its `Role: !GetAtt <role>.Arn`)."""
    role = template.resources[function]["Properties"]["Role"]
    assert role == {"Fn::GetAtt": [role["Fn::GetAtt"][0], "Arn"]}, role
    return str(role["Fn::GetAtt"][0])


def policies(template: Template, function: str) -> list[dict[str, Any]]:
    """The function's role's inline policies, a conditional one (`!If [condition, policy, NoValue]`)
    counted as given: the tests check what a role may be granted under any parameters."""
    role = template.resources[role_of(template, function)]["Properties"]
    return [policy["Fn::If"][1] if "Fn::If" in policy else policy for policy in role["Policies"]]


def statements(template: Template, function: str) -> list[dict[str, Any]]:
    """Every statement of the function's role's inline policies."""
    return [
        statement
        for policy in policies(template, function)
        for statement in policy["PolicyDocument"]["Statement"]
    ]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def granted(template: Template, function: str) -> dict[str, list[Any]]:
    """Each action the function's role allows, with the resources (template expressions) it may act on."""
    actions: dict[str, list[Any]] = {}
    for statement in statements(template, function):
        assert statement["Effect"] == "Allow", statement
        for action in as_list(statement["Action"]):
            actions.setdefault(action, []).extend(as_list(statement["Resource"]))
    return actions
