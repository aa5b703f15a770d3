"""The optional fixed egress for eSMS's IP whitelist (EgressMode): off by default; when on, only the
functions that call eSMS run in the VPC, and eSMS sees them from one address, the EgressIp output."""

from __future__ import annotations

from typing import Any

import pytest

from local.runtime.template import Resolver, Template
from tests.infra.roles import granted, policies
from tests.infra.test_security import NETWORK_INTERFACES

pytestmark = pytest.mark.infra
TEMPLATE = Template()
RESOURCES = TEMPLATE.resources
ESMS_CALLERS = {
    name
    for name in TEMPLATE.functions()
    if "ESMS_BASE_URL" in RESOURCES[name]["Properties"].get("Environment", {}).get("Variables", {})
}
SUBNETS = "subnet-0a1b2c3d,subnet-4e5f6a7b"
GROUPS = "sg-0123456789abcdef0"
NO_VALUE = "AWS::NoValue"


def deployed_with(parameters: dict[str, str]) -> Resolver:
    """The template's conditions and references as CloudFormation evaluates them for these parameters."""
    values = {**TEMPLATE.parameter_defaults(), **parameters}
    refs = {name: f"<{name}>" for name in [*RESOURCES, NO_VALUE]}
    resolver = Resolver(parameters=values, refs=refs)
    for name, condition in TEMPLATE.document["Conditions"].items():
        resolver.conditions[name] = truth(condition, resolver)
    return resolver


def truth(condition: Any, resolver: Resolver) -> bool:
    """A Conditions entry's value (Fn::Equals, Fn::Not, Fn::And, Fn::Or and Condition)."""
    ((function, argument),) = condition.items()
    if function in ("Condition", "Fn::Condition"):
        return resolver.conditions[argument]
    if function == "Fn::Equals":
        left, right = (value(side, resolver) for side in argument)
        return bool(left == right)
    operands = [truth(operand, resolver) for operand in argument]
    if function == "Fn::Not":
        return not operands[0]
    return all(operands) if function == "Fn::And" else any(operands)


def value(side: Any, resolver: Resolver) -> Any:
    """An Fn::Equals operand: a string, a parameter (a CommaDelimitedList as its list), or an Fn::Join."""
    if isinstance(side, dict) and "Fn::Join" in side:
        separator, parts = side["Fn::Join"]
        return separator.join(value(parts, resolver))
    if isinstance(side, dict) and "Ref" in side:
        spec = TEMPLATE.document["Parameters"][side["Ref"]]
        text = resolver.ref(side["Ref"])
        return text.split(",") if spec["Type"] == "CommaDelimitedList" else text
    return side


def vpc_config(function: str, resolver: Resolver) -> Any:
    return resolver.resolve(RESOURCES[function]["Properties"].get("VpcConfig"))


def created_only_for_a_new_vpc() -> set[str]:
    return {name for name, resource in RESOURCES.items() if resource.get("Condition") == "CreateEgressVpc"}


def test_by_default_no_function_runs_in_a_vpc_and_no_network_is_created() -> None:
    resolver = deployed_with({})
    assert TEMPLATE.parameter_defaults()["EgressMode"] == "shared"
    assert not any(resolver.conditions[name] for name in ("CreateEgressVpc", "UseExistingEgressVpc"))
    for function in TEMPLATE.functions():
        assert vpc_config(function, resolver) in (None, f"<{NO_VALUE}>"), function
    # And every network resource is made only when a new VPC is asked for
    network = {name for name, resource in RESOURCES.items() if resource["Type"].startswith("AWS::EC2::")}
    assert network == created_only_for_a_new_vpc()
    assert TEMPLATE.document["Outputs"]["EgressIp"]["Condition"] == "CreateEgressVpc"


def test_only_the_functions_that_call_esms_can_be_given_the_fixed_egress() -> None:
    in_a_vpc = {name for name in TEMPLATE.functions() if "VpcConfig" in RESOURCES[name]["Properties"]}
    assert {"SenderFunction", "ReconcilerFunction", "GuardrailsFunction"} == ESMS_CALLERS
    assert in_a_vpc == ESMS_CALLERS


def test_a_new_vpc_sends_every_call_out_through_one_elastic_ip() -> None:
    resolver = deployed_with({"EgressMode": "new-vpc"})
    for function in ESMS_CALLERS:
        assert vpc_config(function, resolver) == {
            "SubnetIds": ["<EgressPrivateSubnetA>", "<EgressPrivateSubnetB>"],
            "SecurityGroupIds": ["<EgressSecurityGroup>"],
        }
    # Both private subnets take the route table whose default route is the NAT gateway
    associations = [
        resource["Properties"]
        for resource in RESOURCES.values()
        if resource["Type"] == "AWS::EC2::SubnetRouteTableAssociation"
    ]
    private = {
        a["SubnetId"]["Ref"] for a in associations if a["RouteTableId"]["Ref"] == "EgressPrivateRouteTable"
    }
    assert private == {"EgressPrivateSubnetA", "EgressPrivateSubnetB"}
    assert RESOURCES["EgressPrivateRoute"]["Properties"] == {
        "RouteTableId": {"Ref": "EgressPrivateRouteTable"},
        "DestinationCidrBlock": "0.0.0.0/0",
        "NatGatewayId": {"Ref": "EgressNatGateway"},
    }
    # The two private subnets are in two zones, and the NAT's one address is the output eSMS whitelists
    zones = {str(RESOURCES[subnet]["Properties"]["AvailabilityZone"]) for subnet in private}
    assert len(zones) == 2
    nat = RESOURCES["EgressNatGateway"]["Properties"]
    assert nat["AllocationId"] == {"Fn::GetAtt": ["EgressIp", "AllocationId"]}
    assert RESOURCES["EgressIp"]["Type"] == "AWS::EC2::EIP"
    assert TEMPLATE.document["Outputs"]["EgressIp"]["Value"] == {"Ref": "EgressIp"}


def test_the_egress_security_group_lets_https_out_and_nothing_in() -> None:
    group = RESOURCES["EgressSecurityGroup"]["Properties"]
    assert "SecurityGroupIngress" not in group
    assert [
        (rule["IpProtocol"], rule["FromPort"], rule["ToPort"]) for rule in group["SecurityGroupEgress"]
    ] == [("tcp", 443, 443)]


def test_an_existing_vpc_is_used_as_given_and_refused_without_subnets() -> None:
    given = deployed_with(
        {"EgressMode": "existing-vpc", "EgressSubnetIds": SUBNETS, "EgressSecurityGroupIds": GROUPS}
    )
    for function in ESMS_CALLERS:
        assert vpc_config(function, given) == {"SubnetIds": SUBNETS, "SecurityGroupIds": GROUPS}
    assert not given.conditions["CreateEgressVpc"]
    # Without subnets the stack is refused before anything is made (Rules), not deployed without a VPC
    rule = TEMPLATE.document["Rules"]["ExistingVpcNamesItsSubnetsAndSecurityGroups"]
    assert rule["RuleCondition"] == {"Fn::Equals": [{"Ref": "EgressMode"}, "existing-vpc"]}
    asserted = {str(assertion["Assert"]) for assertion in rule["Assertions"]}
    assert asserted == {
        str({"Fn::Not": [{"Fn::EachMemberEquals": [{"Ref": name}, ""]}]})
        for name in ("EgressSubnetIds", "EgressSecurityGroupIds")
    }
    assert not deployed_with({"EgressMode": "existing-vpc"}).conditions["UseExistingEgressVpc"]


@pytest.mark.parametrize("function", sorted(ESMS_CALLERS))
def test_network_interfaces_are_granted_only_with_a_fixed_egress(function: str) -> None:
    conditional = [
        policy
        for policy in TEMPLATE.resources[role(function)]["Properties"]["Policies"]
        if "Fn::If" in policy
    ]
    assert [policy["Fn::If"][0] for policy in conditional] == ["UseFixedEgress"]
    assert conditional[0]["Fn::If"][2] == {"Ref": "AWS::NoValue"}
    assert granted(TEMPLATE, function).keys() >= NETWORK_INTERFACES
    assert len(policies(TEMPLATE, function)) == len(
        TEMPLATE.resources[role(function)]["Properties"]["Policies"]
    )


def test_no_other_function_may_touch_the_network() -> None:
    for function in set(TEMPLATE.functions()) - ESMS_CALLERS:
        assert not any(action.startswith("ec2:") for action in granted(TEMPLATE, function)), function


def role(function: str) -> str:
    return str(RESOURCES[function]["Properties"]["Role"]["Fn::GetAtt"][0])
