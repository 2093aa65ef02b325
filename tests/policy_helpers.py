"""Build policy arguments the way pulumi_policy builds them, and golden resources to start from.

The SDK's analyzer (pulumi_policy/policy.py, `Analyze` and `AnalyzeStack`) receives a resource's
properties as a protobuf Struct, so every number arrives as a float (25 becomes 25.0); it
deserializes them and wraps them in `unknown_checking_proxy`, which raises `UnknownValueError`
when a policy reads a value that is unknown during preview. `resource_args` and `stack_args` do
the same, so a policy sees here exactly what it sees behind `pulumi preview`.

The golden props copy what the program declares for the prod stack (`mlep plan --stack prod
--json`), written in wire form. Tests take a fresh copy and change one thing.
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from google.protobuf import json_format, struct_pb2
from pulumi_policy import (
    Policy,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.policy import _NotApplicableError as NotApplicable
from pulumi_policy.proxy import unknown_checking_proxy

# The pack is its own deployable unit (policies/), not an installed package: tests import it
# from its directory, as the pack's own __main__.py does.
POLICIES_DIR = Path(__file__).resolve().parent.parent / "policies"
if str(POLICIES_DIR) not in sys.path:
    sys.path.insert(0, str(POLICIES_DIR))

from mlep_policies import tokens  # noqa: E402
from mlep_policies.pack import POLICIES  # noqa: E402

STACK = "prod"
PROJECT = "ml-endpoints"
COMPONENT = "ml-endpoints:azure:OnlineEndpoint"
WORKSPACE = "mlw-prod"
LOCATION = "westeurope"
SUB = "00000000-0000-0000-0000-000000000000"
WORKSPACE_ID = (
    f"/subscriptions/{SUB}/resourceGroups/rg-ml-prod/providers/"
    f"Microsoft.MachineLearningServices/workspaces/{WORKSPACE}"
)
TAGS = {
    "application": "fraud-detection",
    "cost-center": "ml-platform",
    "data-sensitivity": "confidential",
    "owner": "fraud-team",
}

__all__ = ["POLICIES", "POLICIES_DIR", "tokens"]


def policy(name: str) -> Policy:
    """The pack's policy called ``name`` (the name the engine and policy config use)."""
    (found,) = [p for p in POLICIES if p.name == name]
    return found


def resource_urn(resource_type: str, name: str) -> str:
    """The URN the program gives a resource of an endpoint component (parent type in the URN)."""
    return f"urn:pulumi:{STACK}::{PROJECT}::{COMPONENT}${resource_type}::{name}"


def component_urn(endpoint: str) -> str:
    return f"urn:pulumi:{STACK}::{PROJECT}::pulumi:pulumi:Stack${COMPONENT}::{endpoint}"


def wire(props: Mapping[str, Any]) -> Any:
    """Props as a policy receives them: through a Struct, deserialized, behind the proxy."""
    struct = json_format.ParseDict(dict(props), struct_pb2.Struct())
    return unknown_checking_proxy(deserialize_properties(json_format.MessageToDict(struct)))


def options(*, protect: bool = False, parent: str | None = None) -> PolicyResourceOptions:
    """Resource options as the SDK builds them from AnalyzerResourceOptions."""
    return PolicyResourceOptions(
        protect=protect,
        ignore_changes=[],
        delete_before_replace=None,
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=[],
        parent=parent,
    )


def resource_args(
    resource_type: str,
    props: Mapping[str, Any],
    *,
    protect: bool = False,
    config: Mapping[str, Any] | None = None,
    name: str = "x",
    urn: str | None = None,
) -> ResourceValidationArgs:
    """What `Analyze` passes a resource policy."""
    return ResourceValidationArgs(
        resource_type,
        wire(props),
        urn or resource_urn(resource_type, name),
        name,
        options(protect=protect),
        None,
        dict(config) if config is not None else None,
    )


class Declared(Protocol):
    """A declared resource: `StackResource` below, or a `mlep.engine.runtime.Registration`."""

    @property
    def type(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def urn(self) -> str: ...
    @property
    def inputs(self) -> dict[str, Any]: ...
    @property
    def parent(self) -> str | None: ...
    @property
    def dependencies(self) -> list[str]: ...
    @property
    def protect(self) -> bool: ...


@dataclass
class StackResource:
    """One resource of a stack fixture; `dependencies` and `parent` are URNs."""

    type: str
    name: str
    inputs: dict[str, Any]
    dependencies: list[str] = field(default_factory=list)
    parent: str | None = None
    protect: bool = False

    @property
    def urn(self) -> str:
        return resource_urn(self.type, self.name)


def stack_args(
    resources: Iterable[Declared], config: Mapping[str, Any] | None = None
) -> StackValidationArgs:
    """What `AnalyzeStack` passes a stack policy: parent and dependencies resolved to the
    PolicyResource objects of the stack (URNs outside the stack are dropped, as the SDK does)."""
    declared = list(resources)
    built = {
        r.urn: PolicyResource(
            r.type,
            wire(r.inputs),
            r.urn,
            r.name,
            options(protect=r.protect, parent=r.parent),
            None,
            None,
            [],
            {},
        )
        for r in declared
    }
    for r in declared:
        resource = built[r.urn]
        resource.parent = built.get(r.parent) if r.parent else None
        resource.dependencies = [built[d] for d in r.dependencies if d in built]
    return StackValidationArgs(list(built.values()), dict(config) if config is not None else None)


def alone(args: ResourceValidationArgs) -> StackValidationArgs:
    """One resource's args as a stack policy takes them: a stack of that resource alone. The
    traffic rules read the whole stack (routes reach deployments through Services); a test
    that judges one traffic resource gives them that resource."""
    resource = PolicyResource(
        args.resource_type, args.props, args.urn, args.name, args.opts, None, None, [], {}
    )
    config = args.get_config()
    return StackValidationArgs([resource], dict(config) if config is not None else None)


def reports(policy: Policy, args: Any) -> list[tuple[str, str | None]]:
    """Every (message, urn) the policy reports; fails if it returns an awaitable. A policy that
    declares itself not applicable (`args.not_applicable`) reports nothing. A stack policy
    given one resource's args judges the stack of that resource alone."""
    found: list[tuple[str, str | None]] = []
    if isinstance(policy, StackValidationPolicy) and isinstance(args, ResourceValidationArgs):
        args = alone(args)

    def report(message: str, urn: str | None = None) -> None:
        found.append((message, urn))

    try:
        assert policy.validate(args, report) is None  # type: ignore[attr-defined]
    except NotApplicable:
        return found
    return found


def not_applicable_reason(policy: Policy, args: Any) -> str | None:
    """The reason the policy gives for not applying to ``args``, or None when it applied."""
    if isinstance(policy, StackValidationPolicy) and isinstance(args, ResourceValidationArgs):
        args = alone(args)
    try:
        policy.validate(args, lambda message, urn=None: None)  # type: ignore[attr-defined]
    except NotApplicable as error:
        return error.reason or ""
    return None


def violations(policy: Policy, args: Any) -> list[str]:
    """The messages the policy reports for ``args``."""
    return [message for message, _ in reports(policy, args)]


ABSENT: Any = object()


def changed(props: dict[str, Any], *path: str | int, to: Any = ABSENT) -> dict[str, Any]:
    """A copy of ``props`` with the value at ``path`` set to ``to`` (removed when not given)."""
    new = copy.deepcopy(props)
    node: Any = new
    for key in path[:-1]:
        node = node[key]
    if to is ABSENT:
        del node[path[-1]]
    else:
        node[path[-1]] = to
    return new


def assert_violations(name: str, args: Any, count: int, rule: str = "") -> list[str]:
    """Exactly ``count`` violations, each naming ``rule`` and saying how to fix it."""
    found = violations(policy(name), args)
    assert len(found) == count, found
    for message in found:
        assert f"({rule})" in message, message
        assert "Fix:" in message, message
    return found


# Golden props, in wire form (numbers as floats), as the program declares them in prod.


def endpoint_props(name: str = "fraud-scoring", auth_mode: str = "AADToken") -> dict[str, Any]:
    """An OnlineEndpoint: created once without traffic (the ARM template sets traffic)."""
    return {
        "endpointName": name,
        "identity": {"type": "SystemAssigned"},
        "kind": "Managed",
        "location": LOCATION,
        "properties": {
            "authMode": auth_mode,
            "description": "Card transaction fraud score",
            "publicNetworkAccess": "Disabled",
        },
        "resourceGroupName": "rg-ml-prod",
        "tags": dict(TAGS),
        "workspaceName": WORKSPACE,
    }


def deployment_props(name: str = "blue", endpoint: str = "fraud-scoring") -> dict[str, Any]:
    """An OnlineDeployment of ``endpoint``."""
    probe = {
        "failureThreshold": 5.0,
        "initialDelay": "PT30S",
        "period": "PT10S",
        "successThreshold": 1.0,
        "timeout": "PT2S",
    }
    return {
        "deploymentName": name,
        "endpointName": endpoint,
        "kind": "Managed",
        "location": LOCATION,
        "properties": {
            "appInsightsEnabled": True,
            "egressPublicNetworkAccess": "Disabled",
            "endpointComputeType": "Managed",
            "instanceType": "Standard_DS3_v2",
            "livenessProbe": probe,
            "model": f"{WORKSPACE_ID}/models/fraud-classifier/versions/7",
            "readinessProbe": probe | {"failureThreshold": 3.0, "period": "PT5S"},
            "requestSettings": {
                "maxConcurrentRequestsPerInstance": 4.0,
                "maxQueueWait": "PT0.5S",
                "requestTimeout": "PT2S",
            },
            "scaleSettings": {"scaleType": "Default"},
        },
        "resourceGroupName": "rg-ml-prod",
        "sku": {"capacity": 3.0, "name": "Default"},
        "tags": dict(TAGS),
        "workspaceName": WORKSPACE,
    }


def traffic_props(
    traffic: Mapping[str, Any] | None = None,
    mirror: Mapping[str, Any] | None = None,
    endpoint: str = "fraud-scoring",
    auth_mode: str = "AADToken",
) -> dict[str, Any]:
    """The traffic resource: an incremental ARM deployment that PUTs the endpoint with its
    full definition and its traffic (golden: blue 75 / green 25, no mirror)."""
    return {
        "deploymentName": f"mlep-traffic-{endpoint}",
        "properties": {
            "mode": "Incremental",
            "template": {
                "$schema": "https://schema.management.azure.com/schemas/2019-04-01/"
                "deploymentTemplate.json#",
                "contentVersion": "1.0.0.0",
                "resources": [
                    {
                        "apiVersion": "2025-12-01",
                        "identity": {"type": "SystemAssigned"},
                        "kind": "Managed",
                        "location": LOCATION,
                        "name": f"{WORKSPACE}/{endpoint}",
                        "properties": {
                            "authMode": auth_mode,
                            "description": "Card transaction fraud score",
                            "mirrorTraffic": dict(mirror or {}),
                            "publicNetworkAccess": "Disabled",
                            "traffic": dict(
                                traffic if traffic is not None else {"blue": 75.0, "green": 25.0}
                            ),
                        },
                        "tags": dict(TAGS),
                        "type": tokens.ENDPOINT_ARM_TYPE,
                    }
                ],
            },
        },
        "resourceGroupName": "rg-ml-prod",
        "tags": dict(TAGS),
    }


def template_endpoint(props: dict[str, Any]) -> dict[str, Any]:
    """The endpoint inside a traffic resource's ARM template (to change one thing in it)."""
    (resource,) = props["properties"]["template"]["resources"]
    return resource  # type: ignore[no-any-return]


def golden_stack(
    deployments: Iterable[str] = ("blue", "green"),
    traffic: Mapping[str, Any] | None = None,
    mirror: Mapping[str, Any] | None = None,
    endpoint: str = "fraud-scoring",
) -> list[StackResource]:
    """One endpoint component as the program declares it: the endpoint, its deployments (each
    waiting for the endpoint) and the traffic resource waiting for all of them."""
    parent = component_urn(endpoint)
    endpoint_resource = StackResource(
        tokens.ONLINE_ENDPOINT,
        endpoint,
        endpoint_props(endpoint),
        parent=parent,
        protect=True,
    )
    deployed = [
        StackResource(
            tokens.ONLINE_DEPLOYMENT,
            f"{endpoint}-{name}",
            deployment_props(name, endpoint),
            dependencies=[endpoint_resource.urn],
            parent=parent,
        )
        for name in deployments
    ]
    traffic_resource = StackResource(
        tokens.ARM_DEPLOYMENT,
        f"{endpoint}-traffic",
        traffic_props(traffic, mirror, endpoint),
        dependencies=[endpoint_resource.urn, *(d.urn for d in deployed)],
        parent=parent,
    )
    return [endpoint_resource, *deployed, traffic_resource]
