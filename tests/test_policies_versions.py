"""Every rule matches every API version of the types it judges (issue 18, point 1).

One resource type has many tokens. azure-native v3 declares the default module's token and
lists the versioned ones as its aliases (the installed SDK has no versioned folders any more:
`pulumi_azure_native/machinelearningservices/online_endpoint.py` lists
`azure-native:machinelearningservices/v20210301preview:OnlineEndpoint` ... `v20260515preview`,
and `pulumi_azure_native/monitor/metric_alert.py` the former module
`azure-native:insights/v20180301:MetricAlert`); a program that pins an API version with a local
SDK declares one of those. pulumi-kubernetes does the same for the versions Kubernetes serves a
kind under (`pulumi_kubernetes/apps/v1/Deployment.py`: apps/v1beta1, apps/v1beta2,
extensions/v1beta1). The tests read those aliases from the installed SDKs, so they follow them.

The comparison is differential: the real program's resources (and each of them broken one way
at a time) are judged under the default tokens and under versioned ones, and every policy must
report the same findings both ways; a list of the policies seen firing proves it is not vacuous.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pulumi_kubernetes
import pytest
from pulumi_policy import (
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationPolicy,
)

from mlep.engine.runtime import Registration
from tests.conftest import run_namespace
from tests.policy_helpers import (
    POLICIES,
    endpoint_props,
    policy,
    resource_args,
    stack_args,
    tokens,
    violations,
)
from tests.scenarios import kubernetes_scenario, scenario

# The SDKs' own alias lists (read as text: importing pulumi_azure_native takes seconds).
SITE = Path(pulumi_kubernetes.__file__).resolve().parent.parent
# Gateway API serves HTTPRoute under v1 and v1beta1 (a CRD: no pulumi_kubernetes module);
# https://gateway-api.sigs.k8s.io/reference/spec/#httproute
CRD_ALIASES = {tokens.HTTP_ROUTE: ["kubernetes:gateway.networking.k8s.io/v1beta1:HTTPRoute"]}


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@functools.cache
def sdk_aliases(token: str) -> tuple[str, ...]:
    """The other tokens of ``token``'s type, as the installed SDK lists them (sorted)."""
    provider, module, name = token.split(":")
    if provider == "azure-native":
        source = SITE / "pulumi_azure_native" / module / f"{_snake(name)}.py"
    elif provider == "kubernetes":
        group, version = module.rsplit("/", 1)
        source = SITE / "pulumi_kubernetes" / group.split(".")[0] / version / f"{name}.py"
    else:
        return ()
    found = re.findall(r'type_="([^"]+)"', source.read_text()) if source.exists() else []
    found += CRD_ALIASES.get(token, [])
    return tuple(sorted({a for a in found if a.endswith(f":{name}") and a != token}))


def oldest(token: str) -> str:
    """The first alias in sort order: the former module (insights, extensions) where there is
    one, else the oldest API version."""
    aliases = sdk_aliases(token)
    return aliases[0] if aliases else token


def newest(token: str) -> str:
    aliases = sdk_aliases(token)
    return aliases[-1] if aliases else token


PICKS = [pytest.param(oldest, id="oldest"), pytest.param(newest, id="newest")]
Pick = Callable[[str], str]


def test_the_sdks_list_versioned_tokens_of_the_packs_types() -> None:
    """The differential tests below change these types (and cannot silently change none)."""
    assert "azure-native:machinelearningservices/v20240401:OnlineEndpoint" in sdk_aliases(
        tokens.ONLINE_ENDPOINT
    )
    assert "azure-native:machinelearningservices/v20250101preview:OnlineDeployment" in (
        sdk_aliases(tokens.ONLINE_DEPLOYMENT)
    )
    assert oldest(tokens.METRIC_ALERT) == "azure-native:insights/v20180301:MetricAlert"
    assert "azure-native:insights:ActionGroup" in sdk_aliases(tokens.ACTION_GROUP)
    assert "kubernetes:extensions/v1beta1:Deployment" in sdk_aliases(tokens.K8S_DEPLOYMENT)
    assert oldest(tokens.HPA) == "kubernetes:autoscaling/v1:HorizontalPodAutoscaler"
    assert oldest(tokens.PDB) == "kubernetes:policy/v1beta1:PodDisruptionBudget"
    assert oldest(tokens.NETWORK_POLICY) == "kubernetes:extensions/v1beta1:NetworkPolicy"


# ---- kind_of ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "version", ["v20240401", "v20250101preview", "v20221001", "v20210301preview"]
)
def test_kind_of_strips_an_azure_native_module_version(version: str) -> None:
    token = f"azure-native:machinelearningservices/{version}:OnlineEndpoint"
    assert tokens.kind_of(token) == tokens.ONLINE_ENDPOINT
    assert tokens.is_type(token, tokens.ONLINE_ENDPOINT)


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("azure-native:insights:MetricAlert", tokens.METRIC_ALERT),
        ("azure-native:insights/v20180301:MetricAlert", tokens.METRIC_ALERT),
        ("azure-native:insights/v20230101:ActionGroup", tokens.ACTION_GROUP),
        ("azure-native:insights/v20221001:AutoscaleSetting", tokens.AUTOSCALE_SETTING),
        ("azure-native:insights/v20210501preview:DiagnosticSetting", tokens.DIAGNOSTIC_SETTING),
        ("azure-native:insights/v20231201:ScheduledQueryRule", tokens.SCHEDULED_QUERY_RULE),
        ("azure-native:insights:Workbook", tokens.WORKBOOK),
        ("azure-native:insights/v20230601:Workbook", tokens.WORKBOOK),
        ("azure-native:applicationinsights/v20230601:Workbook", tokens.WORKBOOK),
        ("azure-native:monitor/v20260101:MetricAlert", tokens.METRIC_ALERT),
        ("kubernetes:extensions/v1beta1:Deployment", tokens.K8S_DEPLOYMENT),
        ("kubernetes:apps/v1beta2:Deployment", tokens.K8S_DEPLOYMENT),
        ("kubernetes:autoscaling/v2beta2:HorizontalPodAutoscaler", tokens.HPA),
        ("kubernetes:policy/v1beta1:PodDisruptionBudget", tokens.PDB),
        ("kubernetes:extensions/v1beta1:NetworkPolicy", tokens.NETWORK_POLICY),
        ("kubernetes:gateway.networking.k8s.io/v1beta1:HTTPRoute", tokens.HTTP_ROUTE),
    ],
)
def test_is_type_matches_former_modules_and_versions(token: str, expected: str) -> None:
    assert tokens.is_type(token, expected)


@pytest.mark.parametrize(
    ("token", "other"),
    [
        ("azure-native:machinelearningservices/v20240401:BatchEndpoint", tokens.ONLINE_ENDPOINT),
        ("azure-native:machinelearningservices:OnlineEndpointX", tokens.ONLINE_ENDPOINT),
        ("azure-native:network/v20240401:OnlineEndpoint", tokens.ONLINE_ENDPOINT),
        ("azure-native:insights:Component", "azure-native:monitor:Component"),
        ("azure-native:machinelearningservices/v2024:OnlineEndpoint", tokens.ONLINE_ENDPOINT),
        ("azure:machinelearning/v20240401:OnlineEndpoint", tokens.ONLINE_ENDPOINT),
        ("kubernetes:extensions/v1beta1:Ingress", tokens.NETWORK_POLICY),
        ("kubernetes:batch/v1:Deployment", tokens.K8S_DEPLOYMENT),
        ("kubernetes:apps/v1:StatefulSet", tokens.K8S_DEPLOYMENT),
        ("ml-endpoints:azure:OnlineEndpoint", tokens.ONLINE_ENDPOINT),
    ],
)
def test_is_type_keeps_other_types_apart(token: str, other: str) -> None:
    assert not tokens.is_type(token, other)


# ---- the real program's resources under versioned tokens ------------------------------------


@functools.cache
def _declared(target: str, name: str) -> tuple[Registration, ...]:
    namespace = kubernetes_scenario(name) if target == "kubernetes" else scenario(name)
    return tuple(r for r in run_namespace(namespace).resources if r.custom)


def declared(target: str, name: str = "max") -> list[Registration]:
    return copy.deepcopy(list(_declared(target, name)))


def retyped(resources: list[Registration], pick: Pick) -> list[Registration]:
    """The same resources (same URNs, so dependencies hold) under other tokens of their type."""
    return [dataclasses.replace(r, type=pick(r.type)) for r in resources]


RESOURCE_POLICIES = [p.name for p in POLICIES if isinstance(p, ResourceValidationPolicy)]
STACK_POLICIES = [p.name for p in POLICIES if isinstance(p, StackValidationPolicy)]
TARGETS = ["azure", "kubernetes"]


def findings(names: list[str], args: Any) -> dict[str, list[str]]:
    """Each policy's findings on the same arguments, built once for all of them: policies only
    read their arguments (mlep's engine shares them the same way, `mlep.engine.policy`), and
    building them (a protobuf round trip) is what costs."""
    return {name: violations(policy(name), args) for name in names}


def resource_policy_args(
    resource: Registration, inputs: dict[str, Any], token: str, protect: bool
) -> ResourceValidationArgs:
    """``resource`` with ``inputs``, declared under ``token``, as a resource policy gets it."""
    return resource_args(token, inputs, name=resource.name, urn=resource.urn, protect=protect)


@dataclasses.dataclass
class Judged:
    """Which policies fired on what (under the default tokens), and every finding that came
    out different under a versioned token, for each pick of that token (oldest, newest)."""

    fired: dict[str, set[str]] = dataclasses.field(default_factory=dict)
    differences: dict[Pick, list[tuple[Any, ...]]] = dataclasses.field(
        default_factory=lambda: {oldest: [], newest: []}
    )

    def record(self, expected: dict[str, list[str]], case: str) -> None:
        for name, found in expected.items():
            if found:
                self.fired.setdefault(name, set()).add(case)


def leaf_paths(node: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    """Every key of every mapping under ``node`` (removing one is one way to break a resource)."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*path, key)
            yield from leaf_paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from leaf_paths(value, (*path, index))


def without_path(inputs: dict[str, Any], path: tuple[str | int, ...]) -> dict[str, Any]:
    new = copy.deepcopy(inputs)
    node: Any = new
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return new


# Breakages that removing a field cannot make: (target, resource name, change to its inputs).
def _secret_env(inputs: dict[str, Any]) -> None:
    if "properties" in inputs:  # an OnlineDeployment
        inputs["properties"]["environmentVariables"] = {"DB_PASSWORD": "hunter2hunter2"}
    else:  # a Kubernetes workload
        container = inputs["spec"]["template"]["spec"]["containers"][0]
        container["env"] = [{"name": "DB_PASSWORD", "value": "hunter2hunter2"}]


def _many_tags(inputs: dict[str, Any]) -> None:
    inputs["tags"] |= {f"extra-{i}": "x" for i in range(60)}


def _keys_on_endpoint(inputs: dict[str, Any]) -> None:
    inputs["properties"]["keys"] = {"primaryKey": "k1", "secondaryKey": "k2"}


def _split_weights(inputs: dict[str, Any]) -> None:
    for rule in inputs["spec"]["rules"]:
        for backend in rule.get("backendRefs", []):
            backend["weight"] = -1.0


def _mirror(inputs: dict[str, Any]) -> None:
    (endpoint,) = inputs["properties"]["template"]["resources"]
    endpoint["properties"]["mirrorTraffic"] = {"blue": 60.0}


def _public(inputs: dict[str, Any]) -> None:
    (endpoint,) = inputs["properties"]["template"]["resources"]
    endpoint["properties"]["publicNetworkAccess"] = "Enabled"


def _kubernetes_endpoint(inputs: dict[str, Any]) -> None:
    (endpoint,) = inputs["properties"]["template"]["resources"]
    endpoint["properties"]["compute"] = "aks-compute"  # AADToken on Kubernetes compute


def _slow_requests(inputs: dict[str, Any]) -> None:
    inputs["properties"]["requestSettings"]["requestTimeout"] = "PT181S"


def _service_exposed(inputs: dict[str, Any]) -> None:
    inputs["spec"]["type"] = "LoadBalancer"


def _route_mirror(inputs: dict[str, Any]) -> None:
    for rule in inputs["spec"]["rules"]:
        for filter_ in rule.get("filters", []):
            if filter_["type"] == "RequestMirror":
                filter_["requestMirror"]["percent"] = 60.0


EDITS: list[tuple[str, str, Callable[[dict[str, Any]], None]]] = [
    ("azure", "OnlineDeployment", _secret_env),
    ("azure", "OnlineDeployment", _many_tags),
    ("azure", "OnlineDeployment", _slow_requests),
    ("azure", "OnlineEndpoint", _keys_on_endpoint),
    ("azure", "Deployment", _mirror),
    ("azure", "Deployment", _public),
    ("azure", "Deployment", _kubernetes_endpoint),
    ("kubernetes", "Deployment", _secret_env),
    ("kubernetes", "HTTPRoute", _split_weights),
    ("kubernetes", "HTTPRoute", _route_mirror),
    ("kubernetes", "Service", _service_exposed),
]


def broken(target: str) -> Iterator[tuple[Registration, str, dict[str, Any]]]:
    """(resource, what changed, its broken inputs) for every resource of the max scenario."""
    for resource in declared(target):
        for path in leaf_paths(resource.inputs):
            yield resource, f"without {path}", without_path(resource.inputs, path)
        for edit_target, type_name, edit in EDITS:
            if edit_target == target and resource.type.endswith(f":{type_name}"):
                inputs = copy.deepcopy(resource.inputs)
                edit(inputs)
                yield resource, edit.__name__, inputs


@functools.cache
def resource_cases(target: str) -> Judged:
    """Every resource policy's findings on every breakage, under the default token and under
    the oldest and the newest versioned one (they must be equal)."""
    cases = Judged()
    for resource, change, inputs in broken(target):
        for protect in {resource.protect, False}:
            args = resource_policy_args(resource, inputs, resource.type, protect)
            expected = findings(RESOURCE_POLICIES, args)
            cases.record(expected, f"{resource.name}: {change}")
            for pick, differences in cases.differences.items():
                versioned = pick(resource.type)
                args = resource_policy_args(resource, inputs, versioned, protect)
                got = findings(RESOURCE_POLICIES, args)
                differences += [
                    (name, versioned, change, protect)
                    for name in RESOURCE_POLICIES
                    if got[name] != expected[name]
                ]
    return cases


# Policies each target's breakages must make fire (the rest judge the other target only).
FIRING_RESOURCE_POLICIES = {
    "azure": {
        "gov-01-required-tags",
        "gov-02-registered-models",
        "gov-03-tag-limits",
        "net-01-endpoint-private",
        "net-03-deployment-egress",
        "id-02-keys-in-key-vault",
        "sec-01-secret-expiry",
        "sec-02-no-secret-env",
        "trf-01-traffic-weights",
        "trf-04-managed-only-features",
        "trf-11-endpoint-protected",
        "av-02-autoscale-sane",
        "av-03-timeouts-and-probes",
    },
    "kubernetes": {
        "gov-01-required-tags",
        "sec-02-no-secret-env",
        "trf-10-route-weights",
        "av-02-autoscale-sane",
        "pod-01-probes",
        "pod-02-requests-and-limits",
        "pod-03-image-pinned",
        "pod-04-restricted-security",
        "pod-05-labels-namespace-account",
    },
}


@pytest.mark.parametrize("pick", PICKS)
@pytest.mark.parametrize("target", TARGETS)
def test_resource_policies_report_the_same_under_versioned_tokens(target: str, pick: Pick) -> None:
    cases = resource_cases(target)
    differences = cases.differences[pick]
    assert not differences, differences[:10]
    assert FIRING_RESOURCE_POLICIES[target] <= set(cases.fired), sorted(cases.fired)


def removals(target: str) -> Iterator[tuple[str, list[Registration]]]:
    """The max scenario, then the max scenario without each resource in turn, then without
    every dependency (a stack policy fires when a companion is missing), then with each of the
    breakages above (the traffic rules judge the whole stack)."""
    resources = declared(target)
    yield "golden", resources
    for resource in resources:
        yield f"without {resource.name}", [r for r in resources if r is not resource]
    for index, resource in enumerate(resources):
        for edit_target, type_name, edit in EDITS:
            if edit_target == target and resource.type.endswith(f":{type_name}"):
                inputs = copy.deepcopy(resource.inputs)
                edit(inputs)
                changed = dataclasses.replace(resource, inputs=inputs)
                yield edit.__name__, [*resources[:index], changed, *resources[index + 1 :]]
    yield "no dependencies", [dataclasses.replace(r, dependencies=[]) for r in resources]


@functools.cache
def stack_cases(target: str) -> Judged:
    """Every stack policy's findings on every change of the stack, under the default tokens
    and under the oldest and the newest versioned ones (they must be equal)."""
    cases = Judged()
    for change, resources in removals(target):
        expected = findings(STACK_POLICIES, stack_args(resources))
        cases.record(expected, change)
        for pick, differences in cases.differences.items():
            got = findings(STACK_POLICIES, stack_args(retyped(resources, pick)))
            differences += [
                (name, change) for name in STACK_POLICIES if got[name] != expected[name]
            ]
    return cases


FIRING_STACK_POLICIES = {
    "azure": {
        "net-02-workspace-private-link",
        "trf-02-03-mirror-traffic",
        "trf-05-traffic-waits-for-deployments",
        "trf-09-live-deployments-alerted",
        "av-01-enough-instances",
        "obs-01-alerts-complete",
        "obs-02-diagnostics",
    },
    "kubernetes": {
        "net-04-namespace-isolated",
        "trf-02-03-mirror-traffic",
        "trf-09-live-deployments-alerted",
        "av-01-enough-instances",
        "av-04-hpa-and-pdb",
        "obs-01-alerts-complete",
    },
}


@pytest.mark.parametrize("pick", PICKS)
@pytest.mark.parametrize("target", TARGETS)
def test_stack_policies_report_the_same_under_versioned_tokens(target: str, pick: Pick) -> None:
    cases = stack_cases(target)
    differences = cases.differences[pick]
    assert not differences, differences[:10]
    assert FIRING_STACK_POLICIES[target] <= set(cases.fired), sorted(cases.fired)


@pytest.mark.parametrize("version", ["v20240401", "v20250101preview"])
def test_id01_reports_key_auth_on_a_versioned_endpoint(version: str) -> None:
    resources = [
        r if r.type != tokens.ONLINE_ENDPOINT else _key_auth(r, version)
        for r in declared("azure", "waf_aligned")
    ]
    found = violations(policy("id-01-token-auth"), stack_args(resources))
    (message,) = found
    assert "(ID-01)" in message


def _key_auth(resource: Registration, version: str) -> Registration:
    inputs = copy.deepcopy(resource.inputs)
    inputs["properties"]["authMode"] = "Key"
    versioned = f"azure-native:machinelearningservices/{version}:OnlineEndpoint"
    return dataclasses.replace(resource, type=versioned, inputs=inputs)


# ---- golden: other types stay silent ------------------------------------------------------


@pytest.mark.parametrize(
    "token",
    [
        "azure-native:machinelearningservices/v20240401:BatchEndpoint",
        "azure-native:machinelearningservices:ServerlessEndpoint",
        "azure-native:cdn/v20240201:Endpoint",
    ],
)
def test_an_endpoint_shaped_resource_of_another_type_is_not_judged_as_one(token: str) -> None:
    """A public, key-auth, unprotected endpoint body under another type: only the tag rules
    (which judge every azure-native resource with tags) may speak, and they find nothing."""
    props = endpoint_props(auth_mode="Key")
    props["properties"]["publicNetworkAccess"] = "Enabled"
    args = resource_args(token, props, name="fraud-scoring")
    assert {name: violations(policy(name), args) for name in RESOURCE_POLICIES} == {
        name: [] for name in RESOURCE_POLICIES
    }
