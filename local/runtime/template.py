"""Read template.yaml the way SAM does, so tests and the local stack never repeat what it says.

It loads the CloudFormation short-form tags, applies Globals to functions, and resolves the
intrinsic functions our template uses (Ref, GetAtt, Sub, Join, If) against the physical names of
the resources the local stack created.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = ROOT / "template.yaml"
PSEUDO_PARAMETERS = {
    "AWS::Region": "ap-southeast-1",
    "AWS::AccountId": "123456789012",
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "zns-relay-local",
}
_SUB_VARIABLE = re.compile(r"\$\{([^}!]+)\}")


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that turns `!Ref X` into `{"Ref": "X"}`, `!GetAtt A.B` into `{"Fn::GetAtt": [A, B]}`, ..."""


def _construct_tag(loader: _CfnLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


class UnresolvableError(KeyError):
    """The template refers to something the local stack did not create (or no override supplies)."""


@dataclass
class Resolver:
    """Physical values of the template's logical ids: Ref values and GetAtt attributes."""

    parameters: dict[str, str] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)
    attributes: dict[tuple[str, str], str] = field(default_factory=dict)
    conditions: dict[str, bool] = field(default_factory=dict)

    def ref(self, name: str) -> str:
        for source in (PSEUDO_PARAMETERS, self.parameters, self.refs):
            if name in source:
                return source[name]
        raise UnresolvableError(name)

    def get_att(self, resource: str, attribute: str) -> str:
        try:
            return self.attributes[(resource, attribute)]
        except KeyError:
            raise UnresolvableError(f"{resource}.{attribute}") from None

    def resolve(self, value: Any) -> Any:
        """Replace every intrinsic function inside `value` with its value."""
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref":
                return self.ref(argument)
            if key == "Fn::GetAtt":
                return self.get_att(argument[0], argument[1])
            if key == "Fn::Sub":
                return self._sub(argument)
            if key == "Fn::Join":
                return str(argument[0]).join(str(self.resolve(part)) for part in argument[1])
            if key == "Fn::If":
                return self.resolve(argument[1] if self.conditions[argument[0]] else argument[2])
        return {key: self.resolve(item) for key, item in value.items()}

    def _sub(self, argument: str | list[Any]) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else (argument[0], argument[1])

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return str(self.resolve(variables[name]))
            if "." in name and not name.startswith("AWS::"):
                resource, attribute = name.split(".", 1)
                return self.get_att(resource, attribute)
            return self.ref(name)

        return _SUB_VARIABLE.sub(substitute, text)


@dataclass(frozen=True)
class FunctionSpec:
    """What Lambda needs to run one AWS::Serverless::Function, Globals applied."""

    logical_id: str
    code_dir: Path
    module: str
    handler: str
    layer_dirs: tuple[Path, ...]
    timeout_seconds: int
    memory_mb: int
    environment: Mapping[str, Any]
    events: Mapping[str, Any]


class Template:
    def __init__(self, path: Path = TEMPLATE_PATH) -> None:
        self.path = path
        self.document: dict[str, Any] = yaml.load(path.read_text(), Loader=_CfnLoader)  # noqa: S506
        self.resources: dict[str, Any] = self.document["Resources"]

    def with_properties(self, overrides: Mapping[str, Mapping[str, Any]]) -> Template:
        """A copy whose resources have some properties replaced, by logical id (a local stack's
        shorter timeouts, say); the template file is untouched."""
        patched = copy.deepcopy(self)
        for logical_id, properties in overrides.items():
            patched.resources[logical_id]["Properties"].update(properties)
        return patched

    def parameter_defaults(self) -> dict[str, str]:
        return {
            name: str(spec["Default"])
            for name, spec in self.document.get("Parameters", {}).items()
            if "Default" in spec
        }

    def resources_of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {
            name: resource.get("Properties", {})
            for name, resource in self.resources.items()
            if resource["Type"] == resource_type
        }

    def function(self, logical_id: str) -> FunctionSpec:
        resource = self.resources[logical_id]
        if resource["Type"] != "AWS::Serverless::Function":
            raise ValueError(f"{logical_id} is not a function")
        defaults = self.document.get("Globals", {}).get("Function", {})
        properties = resource["Properties"]

        def setting(name: str) -> Any:
            return properties.get(name, defaults.get(name))

        environment = {
            **defaults.get("Environment", {}).get("Variables", {}),
            **properties.get("Environment", {}).get("Variables", {}),
        }
        layers = [*defaults.get("Layers", []), *properties.get("Layers", [])]
        layer_dirs = tuple(
            self.path.parent / self.resources[layer["Ref"]]["Properties"]["ContentUri"] for layer in layers
        )
        module, handler = str(setting("Handler")).rsplit(".", 1)
        return FunctionSpec(
            logical_id=logical_id,
            code_dir=self.path.parent / str(setting("CodeUri")),
            module=module,
            handler=handler,
            layer_dirs=layer_dirs,
            timeout_seconds=int(setting("Timeout") or 3),
            memory_mb=int(setting("MemorySize") or 128),
            environment=environment,
            events=properties.get("Events", {}),
        )

    def route_authorizer(self, route: Mapping[str, Any]) -> str | None:
        """An HttpApi event's authorizer (AWS_IAM, ...): its own, else its API's default; None: public."""
        api = route.get("ApiId", {}).get("Ref")
        api_auth = self.resources[api]["Properties"].get("Auth", {}) if api else {}
        authorizer = route.get("Auth", {}).get("Authorizer", api_auth.get("DefaultAuthorizer"))
        return None if authorizer in (None, "NONE") else str(authorizer)

    def functions(self) -> list[str]:
        return list(self.resources_of_type("AWS::Serverless::Function"))
