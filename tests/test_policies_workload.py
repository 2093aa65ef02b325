"""AV-01..04, POD-01..05 and OBS-01..03 on the resources the program really declares.

Golden inputs are the registrations of the real program (__main__.py on the mock runtime) for
the `max`, `waf_aligned` and `defaults` scenarios of both targets. Each failing case changes
exactly one thing and asserts the exact violations, since a false positive is as much a
failure as a miss (POLICY-RULES.md, "How the pack is tested"). Numbers reach the policies as
floats and unknowns as the SDK's sentinels behind its proxy (tests/policy_helpers.py). A case
that showed a bug in a policy was a strict xfail first; the policies are fixed.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from typing import Any

import pytest
from pulumi_policy import ResourceValidationPolicy
from pulumi_policy.proxy import (
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
)

from mlep.engine.runtime import Registration
from tests.conftest import run_namespace
from tests.policy_helpers import (
    POLICIES,
    assert_violations,
    policy,
    reports,
    resource_args,
    stack_args,
    tokens,
    violations,
)
from tests.scenarios import kubernetes_scenario, scenario

AV01 = "av-01-enough-instances"
AV02 = "av-02-autoscale-sane"
AV03 = "av-03-timeouts-and-probes"
AV04 = "av-04-hpa-and-pdb"
POD01 = "pod-01-probes"
POD02 = "pod-02-requests-and-limits"
POD03 = "pod-03-image-pinned"
POD04 = "pod-04-restricted-security"
POD05 = "pod-05-labels-namespace-account"
OBS01 = "obs-01-alerts-complete"
OBS02 = "obs-02-diagnostics"
OBS03 = "obs-03-prometheus-rule-hygiene"

KINDS = {
    "Deployment": tokens.K8S_DEPLOYMENT,
    "StatefulSet": "kubernetes:apps/v1:StatefulSet",
    "DaemonSet": "kubernetes:apps/v1:DaemonSet",
    "ReplicaSet": "kubernetes:apps/v1:ReplicaSet",
    "Job": "kubernetes:batch/v1:Job",
    "CronJob": "kubernetes:batch/v1:CronJob",
    "Pod": "kubernetes:core/v1:Pod",
}
PLACEMENTS = ["Deployment", "StatefulSet", "CronJob", "Pod"]
DIGEST = "sha256:" + "0123456789abcdef" * 4
ABSENT = object()

Resources = list[Registration]


# The real program's registrations, run once per scenario (about a second each).


@functools.cache
def _declared(target: str, name: str) -> tuple[Registration, ...]:
    namespace = kubernetes_scenario(name) if target == "kubernetes" else scenario(name)
    return tuple(r for r in run_namespace(namespace).resources if r.custom)


def azure(name: str = "max") -> Resources:
    """A fresh copy of the custom resources the program declares for an azure scenario."""
    return copy.deepcopy(list(_declared("azure", name)))


def kube(name: str = "max") -> Resources:
    """A fresh copy of the custom resources the program declares for a kubernetes scenario."""
    return copy.deepcopy(list(_declared("kubernetes", name)))


def named(resources: Resources, name: str) -> Registration:
    (found,) = [r for r in resources if r.name == name]
    return found


def without(resources: Resources, *names: str) -> Resources:
    assert set(names) <= {r.name for r in resources}, names
    return [r for r in resources if r.name not in names]


def inputs(target: str, scenario_name: str, name: str) -> dict[str, Any]:
    declared = azure(scenario_name) if target == "azure" else kube(scenario_name)
    return named(declared, name).inputs


def put(node: Any, path: tuple[str | int, ...], to: Any = ABSENT) -> None:
    """Set the value at ``path`` under ``node`` in place (remove it when ``to`` is not given)."""
    for key in path[:-1]:
        node = node[key]
    if isinstance(node, list) and path[-1] == len(node):
        node.append(to)
    elif to is ABSENT:
        del node[path[-1]]
    else:
        node[path[-1]] = to


def changed(props: dict[str, Any], *path: str | int, to: Any = ABSENT) -> dict[str, Any]:
    """A copy of ``props`` with the value at ``path`` set to ``to`` (removed when not given)."""
    new = copy.deepcopy(props)
    put(new, path, to)
    return new


def args_of(resource: Registration, config: dict[str, Any] | None = None) -> Any:
    return resource_args(
        resource.type, resource.inputs, config=config, name=resource.name, urn=resource.urn
    )


# Exactly ``count`` violations, each naming ``rule`` and saying how to fix it.
check = assert_violations


def check_stack(
    name: str, resources: Resources, count: int, rule: str = "", config: Any = None
) -> list[str]:
    return check(name, stack_args(resources, config), count, rule)


# Golden: no policy of this file reports anything on the program's waf and max stacks, except
# AV-01 (advisory) on the max scenarios' single-instance churn deployment.

RESOURCE_POLICIES = [
    p.name
    for p in POLICIES
    if isinstance(p, ResourceValidationPolicy) and p.name.split("-")[0] in ("av", "pod", "obs")
]


@pytest.mark.parametrize("target", ["azure", "kubernetes"])
@pytest.mark.parametrize("scenario_name", ["defaults", "waf_aligned", "max"])
def test_resource_policies_pass_every_declared_resource(target: str, scenario_name: str) -> None:
    declared = azure(scenario_name) if target == "azure" else kube(scenario_name)
    found = {
        (name, r.name, message)
        for name in RESOURCE_POLICIES
        for r in declared
        for message in violations(policy(name), args_of(r))
    }
    assert found == set()


@pytest.mark.parametrize("target", ["azure", "kubernetes"])
def test_stack_policies_pass_the_waf_stacks(target: str) -> None:
    declared = azure("waf_aligned") if target == "azure" else kube("waf_aligned")
    for name in (AV01, AV04, OBS01, OBS02):
        assert violations(policy(name), stack_args(declared)) == [], name


# AV-01 (stack): deployments with live traffic run >= minInstances (3); autoscale minimum and
# HPA minReplicas count; a deployment without live traffic is exempt.


def azure_fixed() -> Resources:
    """The azure waf stack without its autoscale settings: sku.capacity alone counts."""
    return without(
        azure("waf_aligned"), "fraud-scoring-blue-autoscale", "fraud-scoring-green-autoscale"
    )


def azure_traffic(resources: Resources) -> dict[str, Any]:
    traffic = named(resources, "fraud-scoring-traffic").inputs
    return traffic["properties"]["template"]["resources"][0]["properties"]["traffic"]


def test_av01_passes_three_instances_from_capacity() -> None:
    check_stack(AV01, azure_fixed(), 0)


@pytest.mark.parametrize("capacity", [2, ABSENT], ids=["2", "absent-means-1"])
def test_av01_reports_a_live_deployment_below_three(capacity: Any) -> None:
    stack = azure_fixed()
    put(named(stack, "fraud-scoring-blue").inputs, ("sku", "capacity"), capacity)
    found = reports(policy(AV01), stack_args(stack))
    assert [urn for _, urn in found] == [named(stack, "fraud-scoring-blue").urn], found
    (message,) = check_stack(AV01, stack, 1, "AV-01")
    assert "fraud-scoring/blue" in message


@pytest.mark.parametrize("capacity", [True, "3", 2.5])
def test_av01_reports_a_capacity_that_is_not_a_whole_number(capacity: Any) -> None:
    stack = azure_fixed()
    put(named(stack, "fraud-scoring-blue").inputs, ("sku", "capacity"), capacity)
    check_stack(AV01, stack, 1, "AV-01")


def test_av01_autoscale_minimum_counts_over_capacity() -> None:
    stack = azure("waf_aligned")
    autoscale = named(stack, "fraud-scoring-blue-autoscale").inputs
    put(autoscale, ("profiles", 0, "capacity", "minimum"), "2")
    (message,) = check_stack(AV01, stack, 1, "AV-01")
    assert "fraud-scoring/blue" in message
    assert "2 instance" in message


def test_av01_autoscale_minimum_three_passes_a_capacity_of_one() -> None:
    stack = azure("waf_aligned")
    put(named(stack, "fraud-scoring-blue").inputs, ("sku", "capacity"), 1)
    check_stack(AV01, stack, 0)


def test_av01_passes_a_deployment_without_live_traffic_on_one_instance() -> None:
    stack = azure_fixed()
    azure_traffic(stack).update({"blue": 100, "green": 0})
    put(named(stack, "fraud-scoring-green").inputs, ("sku", "capacity"), 1)
    check_stack(AV01, stack, 0)


def test_av01_passes_a_mirror_only_deployment_on_one_instance() -> None:
    stack = azure("max")  # the churn deployment (1 instance, live) is the one finding
    put(
        named(stack, "fraud-scoring-shadow-autoscale").inputs,
        ("profiles", 0, "capacity"),
        {"minimum": "1", "default": "1", "maximum": "20"},
    )
    (message,) = check_stack(AV01, stack, 1, "AV-01")
    assert "churn-propensity/gbm-v3" in message


@pytest.mark.parametrize("target", ["azure", "kubernetes"])
def test_av01_reports_the_max_scenarios_single_instance_churn_deployment(target: str) -> None:
    (message,) = check_stack(AV01, azure() if target == "azure" else kube(), 1, "AV-01")
    assert "churn-propensity/gbm-v3 takes live traffic on 1 instance(s)" in message


@pytest.mark.parametrize(
    ("hpa_min", "replicas", "count"),
    [
        pytest.param(2, 3, 1, id="hpa-min-2"),
        pytest.param(ABSENT, 3, 1, id="hpa-min-absent-means-1"),
        pytest.param(3, 1, 0, id="hpa-min-3-over-replicas-1"),
    ],
)
def test_av01_kubernetes_hpa_min_replicas_counts(hpa_min: Any, replicas: int, count: int) -> None:
    stack = kube("waf_aligned")
    put(named(stack, "fraud-scoring-blue-hpa").inputs, ("spec", "minReplicas"), hpa_min)
    put(named(stack, "fraud-scoring-blue-deployment").inputs, ("spec", "replicas"), replicas)
    check_stack(AV01, stack, count, "AV-01")


def test_av01_kubernetes_replicas_count_without_an_hpa() -> None:
    stack = without(kube("waf_aligned"), "fraud-scoring-blue-hpa")
    put(named(stack, "fraud-scoring-blue-deployment").inputs, ("spec", "replicas"), 2)
    (message,) = check_stack(AV01, stack, 1, "AV-01")
    assert "fraud-scoring/blue" in message


def test_av01_kubernetes_zero_weight_backend_on_one_replica_passes() -> None:
    stack = kube("waf_aligned")
    route = named(stack, "fraud-scoring-route").inputs
    (green,) = [b for b in route["spec"]["rules"][0]["backendRefs"] if b["name"].endswith("green")]
    green["weight"] = 0
    put(named(stack, "fraud-scoring-green-hpa").inputs, ("spec", "minReplicas"), 1)
    check_stack(AV01, stack, 0)


@pytest.mark.parametrize(
    ("config", "capacity", "count"),
    [
        pytest.param({"minInstances": 4}, 3, 2, id="min-4-reports-both"),
        pytest.param({"minInstances": 2}, 2, 0, id="min-2-passes-2"),
        pytest.param({"minInstances": 1}, 1, 0, id="min-1-passes-1"),
    ],
)
def test_av01_min_instances_comes_from_config(config: Any, capacity: int, count: int) -> None:
    stack = azure_fixed()
    put(named(stack, "fraud-scoring-blue").inputs, ("sku", "capacity"), capacity)
    found = check_stack(AV01, stack, count, "AV-01", config)
    assert all(f"at least {config['minInstances']}" in m for m in found)


@pytest.mark.parametrize(
    ("name", "path", "sentinel"),
    [
        pytest.param(
            "fraud-scoring-blue", ("sku", "capacity"), UNKNOWN_NUMBER_VALUE, id="capacity"
        ),
        pytest.param(
            "fraud-scoring-blue-autoscale",
            ("profiles", 0, "capacity", "minimum"),
            UNKNOWN_STRING_VALUE,
            id="autoscale-minimum",
        ),
        pytest.param(
            "fraud-scoring-traffic",
            ("properties", "template", "resources", 0, "properties", "traffic", "blue"),
            UNKNOWN_NUMBER_VALUE,
            id="traffic-weight",
        ),
        pytest.param("fraud-scoring-blue", ("deploymentName",), UNKNOWN_STRING_VALUE, id="name"),
    ],
)
def test_av01_skips_values_unknown_at_preview(name: str, path: tuple, sentinel: str) -> None:
    """A stack that reports blue on one instance reports nothing once that value is unknown."""
    stack = azure("waf_aligned")
    put(
        named(stack, "fraud-scoring-blue-autoscale").inputs,
        ("profiles", 0, "capacity"),
        {"minimum": "1", "default": "1", "maximum": "10"},
    )
    if name != "fraud-scoring-blue-autoscale":
        stack = without(stack, "fraud-scoring-blue-autoscale")
        put(named(stack, "fraud-scoring-blue").inputs, ("sku", "capacity"), 1)
    check_stack(AV01, stack, 1, "AV-01")
    put(named(stack, name).inputs, path, sentinel)
    check_stack(AV01, stack, 0)


# AV-02 (resource): autoscale min < max, default within, max <= 50, scale-in below scale-out,
# cooldown >= PT1M; HPA 1 <= min <= max <= 50.


def autoscale() -> dict[str, Any]:
    return inputs("azure", "max", "fraud-scoring-blue-autoscale")


def hpa(name: str = "fraud-scoring-blue-hpa") -> dict[str, Any]:
    return inputs("kubernetes", "max", name)


def autoscale_args(props: dict[str, Any], config: Any = None) -> Any:
    return resource_args(tokens.AUTOSCALE_SETTING, props, config=config, name="autoscale")


def hpa_args(props: dict[str, Any], config: Any = None) -> Any:
    return resource_args(tokens.HPA, props, config=config, name="hpa")


CAPACITY = ("profiles", 0, "capacity")
OUT_RULE, IN_RULE = ("profiles", 0, "rules", 0), ("profiles", 0, "rules", 1)


@pytest.mark.parametrize(
    "props",
    [
        pytest.param(autoscale, id="golden"),
        pytest.param(lambda: changed(autoscale(), *CAPACITY, "maximum", to="50"), id="max-50"),
        pytest.param(
            lambda: changed(autoscale(), *CAPACITY, to={"minimum": 3, "default": 3, "maximum": 20}),
            id="numbers",
        ),
        pytest.param(
            lambda: changed(autoscale(), *OUT_RULE, "scaleAction", "cooldown", to="PT1M"),
            id="cooldown-PT1M",
        ),
        pytest.param(
            lambda: changed(autoscale(), *IN_RULE, "scaleAction", "cooldown", to="PT60S"),
            id="cooldown-PT60S",
        ),
        pytest.param(
            lambda: changed(autoscale(), *IN_RULE, "metricTrigger", "threshold", to=74),
            id="scale-in-74-below-75",
        ),
    ],
)
def test_av02_passes_sane_autoscale(props: Callable[[], dict[str, Any]]) -> None:
    check(AV02, autoscale_args(props()), 0)


@pytest.mark.parametrize(
    ("path", "value", "says"),
    [
        pytest.param(("minimum",), "20", "must be below maximum", id="min-equals-max"),
        pytest.param(("minimum",), "25", "must be below maximum", id="min-above-max"),
        pytest.param(("default",), "2", "outside", id="default-below-min"),
        pytest.param(("default",), "21", "outside", id="default-above-max"),
        pytest.param(("default",), ABSENT, "outside", id="default-absent"),
        pytest.param(("maximum",), "51", "above 50", id="max-51"),
        pytest.param(("minimum",), True, "must be below maximum", id="min-True"),
        pytest.param(("minimum",), "2.5", "must be below maximum", id="min-str-2.5"),
        pytest.param(("maximum",), 50.5, "must be below maximum", id="max-50.5"),
    ],
)
def test_av02_reports_bad_capacity(path: tuple, value: Any, says: str) -> None:
    (message,) = check(
        AV02, autoscale_args(changed(autoscale(), *CAPACITY, *path, to=value)), 1, "AV-02"
    )
    assert says in message


def test_av02_reports_a_fractional_minimum() -> None:
    check(AV02, autoscale_args(changed(autoscale(), *CAPACITY, "minimum", to=2.5)), 1, "AV-02")


@pytest.mark.parametrize("threshold", [75, 80], ids=["equal", "above"])
def test_av02_reports_scale_in_threshold_not_below_scale_out(threshold: int) -> None:
    props = changed(autoscale(), *IN_RULE, "metricTrigger", "threshold", to=threshold)
    (message,) = check(AV02, autoscale_args(props), 1, "AV-02")
    assert "flaps" in message


@pytest.mark.parametrize("cooldown", ["PT30S", ABSENT, "PT0S", "1 minute"])
def test_av02_reports_a_short_or_missing_cooldown(cooldown: Any) -> None:
    props = changed(autoscale(), *OUT_RULE, "scaleAction", "cooldown", to=cooldown)
    (message,) = check(AV02, autoscale_args(props), 1, "AV-02")
    assert "cooldown" in message


@pytest.mark.parametrize(
    ("config", "maximum", "count"),
    [
        pytest.param({"maxInstances": 100}, "60", 0, id="100-passes-60"),
        pytest.param({"maxInstances": 20}, "20", 0, id="20-passes-20"),
        pytest.param({"maxInstances": 10}, "20", 1, id="10-reports-20"),
    ],
)
def test_av02_max_instances_comes_from_config(config: Any, maximum: str, count: int) -> None:
    props = changed(autoscale(), *CAPACITY, "maximum", to=maximum)
    check(AV02, autoscale_args(props, config), count, "AV-02")
    check(
        AV02,
        hpa_args(changed(hpa(), "spec", "maxReplicas", to=int(maximum)), config),
        count,
        "AV-02",
    )


@pytest.mark.parametrize(
    "props",
    [
        pytest.param(hpa, id="golden-3-20"),
        pytest.param(lambda: hpa("churn-propensity-gbm-v3-hpa"), id="min-equals-max-1"),
        pytest.param(lambda: changed(hpa(), "spec", "minReplicas"), id="min-absent-means-1"),
        pytest.param(lambda: changed(hpa(), "spec", "maxReplicas", to=50), id="max-50"),
    ],
)
def test_av02_passes_sane_hpa(props: Callable[[], dict[str, Any]]) -> None:
    check(AV02, hpa_args(props()), 0)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        pytest.param("minReplicas", 0, id="min-0"),
        pytest.param("minReplicas", 21, id="min-above-max"),
        pytest.param("maxReplicas", 51, id="max-51"),
        pytest.param("maxReplicas", ABSENT, id="max-absent"),
        pytest.param("minReplicas", "2", id="min-str"),
        pytest.param("minReplicas", 2.5, id="min-2.5"),
        pytest.param("maxReplicas", True, id="max-True"),
    ],
)
def test_av02_reports_bad_hpa(field: str, value: Any) -> None:
    check(AV02, hpa_args(changed(hpa(), "spec", field, to=value)), 1, "AV-02")


@pytest.mark.parametrize(
    ("make", "path", "sentinel"),
    [
        pytest.param(autoscale, (*CAPACITY, "minimum"), UNKNOWN_STRING_VALUE, id="minimum"),
        pytest.param(
            autoscale, (*OUT_RULE, "scaleAction", "cooldown"), UNKNOWN_STRING_VALUE, id="cooldown"
        ),
        pytest.param(
            autoscale,
            (*IN_RULE, "metricTrigger", "threshold"),
            UNKNOWN_NUMBER_VALUE,
            id="threshold",
        ),
        pytest.param(autoscale, ("profiles",), UNKNOWN_ARRAY_VALUE, id="profiles"),
        pytest.param(hpa, ("spec", "maxReplicas"), UNKNOWN_NUMBER_VALUE, id="hpa-max"),
        pytest.param(hpa, ("spec", "minReplicas"), UNKNOWN_NUMBER_VALUE, id="hpa-min"),
        pytest.param(hpa, ("spec",), UNKNOWN_OBJECT_VALUE, id="hpa-spec"),
        pytest.param(
            autoscale,
            CAPACITY,
            UNKNOWN_OBJECT_VALUE,
            id="capacity-object",
        ),
        pytest.param(
            autoscale,
            ("profiles", 0),
            UNKNOWN_OBJECT_VALUE,
            id="profile-object",
        ),
    ],
)
def test_av02_skips_values_unknown_at_preview(
    make: Callable[[], dict[str, Any]], path: tuple, sentinel: str
) -> None:
    resource_type = tokens.HPA if make is hpa else tokens.AUTOSCALE_SETTING
    check(AV02, resource_args(resource_type, changed(make(), *path, to=sentinel)), 0)


# AV-03 (resource): request timeout 1 ms..180 s; probe values within Azure ML's and
# Kubernetes' minima; liveness (and startup) success threshold 1.


def online_deployment() -> dict[str, Any]:
    return inputs("azure", "max", "fraud-scoring-blue")


def deployment_args(props: dict[str, Any], config: Any = None) -> Any:
    return resource_args(tokens.ONLINE_DEPLOYMENT, props, config=config, name="blue")


TIMEOUT = ("properties", "requestSettings", "requestTimeout")


@pytest.mark.parametrize("timeout", ["PT180S", "PT3M", "PT2M59.999S", "PT0.001S", "PT2S", ABSENT])
def test_av03_passes_request_timeouts_up_to_180_s(timeout: Any) -> None:
    check(AV03, deployment_args(changed(online_deployment(), *TIMEOUT, to=timeout)), 0)


@pytest.mark.parametrize(
    "timeout", ["PT180.001S", "PT181S", "PT0S", "garbage", "PT", 180000, True, "P1D"]
)
def test_av03_reports_request_timeouts_outside_1_ms_to_180_s(timeout: Any) -> None:
    props = changed(online_deployment(), *TIMEOUT, to=timeout)
    (message,) = check(AV03, deployment_args(props), 1, "AV-03")
    assert "request timeout" in message


@pytest.mark.parametrize(("timeout", "count"), [("PT5S", 0), ("PT5.001S", 1)])
def test_av03_max_request_timeout_comes_from_config(timeout: str, count: int) -> None:
    props = changed(online_deployment(), *TIMEOUT, to=timeout)
    check(AV03, deployment_args(props, {"maxRequestTimeoutMs": 5000}), count, "AV-03")


@pytest.mark.parametrize(
    ("probe", "field", "value"),
    [
        pytest.param("readinessProbe", "successThreshold", 2, id="readiness-success-2"),
        pytest.param("livenessProbe", "successThreshold", 1, id="liveness-success-1"),
        pytest.param("livenessProbe", "period", "PT1S", id="period-PT1S"),
        pytest.param("livenessProbe", "initialDelay", ABSENT, id="field-absent"),
        pytest.param("livenessProbe", None, ABSENT, id="probe-absent"),
    ],
)
def test_av03_passes_azure_probes(probe: str, field: str | None, value: Any) -> None:
    path = ("properties", probe) if field is None else ("properties", probe, field)
    check(AV03, deployment_args(changed(online_deployment(), *path, to=value)), 0)


@pytest.mark.parametrize(
    ("probe", "field", "value"),
    [
        pytest.param("livenessProbe", "period", "PT0.5S", id="period-PT0.5S"),
        pytest.param("readinessProbe", "timeout", "PT0S", id="readiness-timeout-PT0S"),
        pytest.param("livenessProbe", "initialDelay", 10, id="initial-delay-number"),
        pytest.param("livenessProbe", "successThreshold", 2, id="liveness-success-2"),
        pytest.param("livenessProbe", "failureThreshold", 0, id="failure-0"),
        pytest.param("readinessProbe", "failureThreshold", True, id="failure-True"),
        pytest.param("readinessProbe", "successThreshold", "1", id="success-str"),
    ],
)
def test_av03_reports_azure_probe_values(probe: str, field: str, value: Any) -> None:
    props = changed(online_deployment(), "properties", probe, field, to=value)
    (message,) = check(AV03, deployment_args(props), 1, "AV-03")
    assert f"{probe}.{field}" in message


def route() -> dict[str, Any]:
    return inputs("kubernetes", "max", "fraud-scoring-route")


def route_args(props: dict[str, Any], config: Any = None) -> Any:
    return resource_args(tokens.HTTP_ROUTE, props, config=config, name="route")


ROUTE_TIMEOUTS = ("spec", "rules", 0, "timeouts")


@pytest.mark.parametrize("timeout", ["180s", "3m", "500ms", "2m59s999ms", "1ms", "99999ms"])
def test_av03_passes_route_timeouts_up_to_180_s(timeout: str) -> None:
    check(AV03, route_args(changed(route(), *ROUTE_TIMEOUTS, "request", to=timeout)), 0)


def test_av03_passes_a_route_without_timeouts() -> None:
    check(AV03, route_args(changed(route(), *ROUTE_TIMEOUTS)), 0)


@pytest.mark.parametrize(
    ("key", "timeout"),
    [
        ("request", "181s"),
        ("request", "3m1s"),
        ("request", "180001ms"),
        ("request", "0s"),
        ("request", "1.5s"),
        ("request", 180),
        ("backendRequest", "181s"),
    ],
)
def test_av03_reports_route_timeouts_outside_1_ms_to_180_s(key: str, timeout: Any) -> None:
    (message,) = check(
        AV03, route_args(changed(route(), *ROUTE_TIMEOUTS, key, to=timeout)), 1, "AV-03"
    )
    assert f"route timeout {key}" in message


def test_av03_reports_a_route_timeout_that_is_not_a_gep_2257_duration() -> None:
    check(AV03, route_args(changed(route(), *ROUTE_TIMEOUTS, "request", to="180000ms")), 1, "AV-03")


@pytest.mark.parametrize(("timeout", "count"), [("5s", 0), ("5001ms", 1)])
def test_av03_route_timeout_limit_comes_from_config(timeout: str, count: int) -> None:
    props = changed(route(), *ROUTE_TIMEOUTS, "request", to=timeout)
    check(AV03, route_args(props, {"maxRequestTimeoutMs": 5000}), count, "AV-03")


# Kubernetes workloads: the program's fraud-scoring-blue Deployment (kubernetes max), and the
# same pod template under each other workload kind.


def workload(kind_: str = "Deployment") -> dict[str, Any]:
    deployment = inputs("kubernetes", "max", "fraud-scoring-blue-deployment")
    if kind_ == "Deployment":
        return deployment
    template = deployment["spec"]["template"]
    head = {
        "apiVersion": KINDS[kind_].split(":")[1],
        "kind": kind_,
        "metadata": deployment["metadata"],
    }
    if kind_ == "Pod":
        return head | {"spec": template["spec"]}
    if kind_ == "CronJob":
        job = {"spec": {"template": template}}
        return head | {"spec": {"schedule": "*/5 * * * *", "jobTemplate": job}}
    if kind_ == "Job":
        return head | {"spec": {"template": template}}
    return head | {"spec": {"selector": deployment["spec"]["selector"], "template": template}}


def pod_spec(kind_: str, props: dict[str, Any]) -> dict[str, Any]:
    if kind_ == "Pod":
        return props["spec"]
    if kind_ == "CronJob":
        return props["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return props["spec"]["template"]["spec"]


Edit = tuple[str, tuple[str | int, ...], Any]


def in_container(*path: str | int, to: Any = ABSENT) -> Edit:
    return ("container", path, to)


def in_pod(*path: str | int, to: Any = ABSENT) -> Edit:
    return ("pod", path, to)


def at(*path: str | int, to: Any = ABSENT) -> Edit:
    return ("top", path, to)


def workload_args(kind_: str, *edits: Edit, config: Any = None) -> Any:
    props = workload(kind_)
    for where, path, to in edits:
        pod = pod_spec(kind_, props)
        node = {"container": pod["containers"][0], "pod": pod, "top": props}[where]
        put(node, path, to)
    return resource_args(KINDS[kind_], props, config=config, name="workload")


@pytest.mark.parametrize("kind_", list(KINDS))
def test_pod_policies_pass_the_golden_pod_in_every_workload_kind(kind_: str) -> None:
    for name in (AV03, POD01, POD02, POD03, POD04, POD05):
        check(name, workload_args(kind_), 0)


def test_pod_policies_ignore_other_kinds() -> None:
    service = named(kube(), "fraud-scoring-blue-service")
    bare = resource_args(service.type, {"metadata": {"name": "x"}, "spec": {}})
    for name in (POD01, POD02, POD03, POD04, POD05):
        check(name, bare, 0)


# AV-03 on Kubernetes container probes.


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(in_container("livenessProbe", "periodSeconds", to=0), id="period-0"),
        pytest.param(
            in_container("livenessProbe", "successThreshold", to=2), id="liveness-success-2"
        ),
        pytest.param(
            in_container("startupProbe", "successThreshold", to=2), id="startup-success-2"
        ),
        pytest.param(in_container("readinessProbe", "timeoutSeconds", to=0), id="timeout-0"),
        pytest.param(in_container("startupProbe", "failureThreshold", to=0), id="failure-0"),
        pytest.param(in_container("livenessProbe", "initialDelaySeconds", to=-1), id="delay--1"),
        pytest.param(in_container("livenessProbe", "periodSeconds", to="10"), id="str"),
        pytest.param(in_container("livenessProbe", "periodSeconds", to=10.5), id="10.5"),
    ],
)
def test_av03_reports_pod_probe_values(edit: Edit) -> None:
    check(AV03, workload_args("Deployment", edit), 1, "AV-03")


@pytest.mark.parametrize("kind_", PLACEMENTS)
def test_av03_reads_probes_in_every_placement(kind_: str) -> None:
    edit = in_container("readinessProbe", "periodSeconds", to=0)
    check(AV03, workload_args(kind_, edit), 1, "AV-03")


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(in_container("readinessProbe", "successThreshold", to=2), id="readiness-2"),
        pytest.param(in_container("livenessProbe", "initialDelaySeconds", to=0), id="delay-0"),
        pytest.param(in_container("startupProbe"), id="no-startup-probe"),
    ],
)
def test_av03_passes_pod_probe_values(edit: Edit) -> None:
    check(AV03, workload_args("Deployment", edit), 0)


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(
            lambda: deployment_args(
                changed(online_deployment(), *TIMEOUT, to=UNKNOWN_STRING_VALUE)
            ),
            id="request-timeout",
        ),
        pytest.param(
            lambda: deployment_args(
                changed(online_deployment(), "properties", "livenessProbe", to=UNKNOWN_OBJECT_VALUE)
            ),
            id="azure-probe",
        ),
        pytest.param(
            lambda: deployment_args(
                changed(
                    online_deployment(),
                    "properties",
                    "livenessProbe",
                    "period",
                    to=UNKNOWN_STRING_VALUE,
                )
            ),
            id="azure-probe-period",
        ),
        pytest.param(
            lambda: route_args(changed(route(), *ROUTE_TIMEOUTS, to=UNKNOWN_OBJECT_VALUE)),
            id="route-timeouts",
        ),
        pytest.param(
            lambda: route_args(changed(route(), "spec", "rules", 0, to=UNKNOWN_OBJECT_VALUE)),
            id="route-rule",
        ),
        pytest.param(
            lambda: workload_args(
                "Deployment",
                in_container("livenessProbe", "periodSeconds", to=UNKNOWN_NUMBER_VALUE),
            ),
            id="pod-probe-period",
        ),
    ],
)
def test_av03_skips_values_unknown_at_preview(args: Callable[[], Any]) -> None:
    check(AV03, args(), 0)


# AV-04 (stack, Kubernetes): each Deployment has exactly one HPA and, when it can run >= 2
# replicas, a PodDisruptionBudget that allows a disruption.


def pdb_spec(stack: Resources, deployment: str = "blue") -> dict[str, Any]:
    return named(stack, f"fraud-scoring-{deployment}-pdb").inputs["spec"]


@pytest.mark.parametrize("scenario_name", ["defaults", "waf_aligned", "max"])
def test_av04_passes_the_program_stacks(scenario_name: str) -> None:
    check_stack(AV04, kube(scenario_name), 0)


def test_av04_passes_a_single_replica_deployment_without_pdb() -> None:
    stack = kube()
    assert not [r for r in stack if r.name.startswith("churn") and r.type == tokens.PDB]
    check_stack(AV04, stack, 0)


def test_av04_reports_a_deployment_without_hpa() -> None:
    stack = without(kube(), "fraud-scoring-blue-hpa")
    found = reports(policy(AV04), stack_args(stack))
    assert [urn for _, urn in found] == [named(stack, "fraud-scoring-blue-deployment").urn]
    (message,) = check_stack(AV04, stack, 1, "AV-04")
    assert "'fraud-scoring-blue' has 0 HorizontalPodAutoscalers" in message


def test_av04_reports_two_hpas() -> None:
    stack = kube()
    twin = copy.deepcopy(named(stack, "fraud-scoring-blue-hpa"))
    twin.name, twin.urn = "twin-hpa", twin.urn.replace("fraud-scoring-blue-hpa", "twin-hpa")
    twin.inputs["metadata"]["name"] = "twin"
    (message,) = check_stack(AV04, [*stack, twin], 1, "AV-04")
    assert "has 2 HorizontalPodAutoscalers" in message


@pytest.mark.parametrize(
    ("path", "value"),
    [
        pytest.param(("spec", "scaleTargetRef", "kind"), "StatefulSet", id="other-kind"),
        pytest.param(("spec", "scaleTargetRef", "name"), "fraud-scoring-green", id="other-name"),
        pytest.param(("metadata", "namespace"), "other", id="other-namespace"),
    ],
)
def test_av04_hpa_targeting_something_else_does_not_count(path: tuple, value: str) -> None:
    stack = kube()
    put(named(stack, "fraud-scoring-blue-hpa").inputs, path, value)
    expected = 2 if value == "fraud-scoring-green" else 1  # green then has two
    found = check_stack(AV04, stack, expected, "AV-04")
    assert any("'fraud-scoring-blue' has 0" in m for m in found)


def test_av04_reports_a_deployment_that_can_scale_to_two_without_pdb() -> None:
    stack = kube()
    put(named(stack, "churn-propensity-gbm-v3-hpa").inputs, ("spec", "maxReplicas"), 2)
    (message,) = check_stack(AV04, stack, 1, "AV-04")
    assert "'churn-propensity-gbm-v3' can run 2 replicas but has no PodDisruptionBudget" in message


def test_av04_reports_a_deployment_whose_pdb_is_gone() -> None:
    (message,) = check_stack(AV04, without(kube(), "fraud-scoring-blue-pdb"), 1, "AV-04")
    assert "'fraud-scoring-blue' can run 20 replicas" in message


@pytest.mark.parametrize(
    "budget",
    [
        pytest.param({"maxUnavailable": 0}, id="max-unavailable-0"),
        pytest.param({"maxUnavailable": "0%"}, id="max-unavailable-0%"),
        pytest.param({"minAvailable": 3}, id="min-available-equals-hpa-min"),
        pytest.param({"minAvailable": "100%"}, id="min-available-100%"),
        pytest.param({"maxUnavailable": True}, id="max-unavailable-True"),
    ],
)
def test_av04_reports_a_pdb_that_never_allows_a_disruption(budget: dict[str, Any]) -> None:
    stack = kube()
    spec = pdb_spec(stack)
    del spec["maxUnavailable"]
    spec.update(budget)
    found = reports(policy(AV04), stack_args(stack))
    assert [urn for _, urn in found] == [named(stack, "fraud-scoring-blue-pdb").urn]
    (message,) = check_stack(AV04, stack, 1, "AV-04")
    assert "never allows a disruption of 'fraud-scoring-blue'" in message


@pytest.mark.parametrize(
    "budget",
    [
        pytest.param({"maxUnavailable": 1}, id="max-unavailable-1"),
        pytest.param({"maxUnavailable": "10%"}, id="max-unavailable-10%-rounds-up"),
        pytest.param({"minAvailable": 2}, id="min-available-2"),
        pytest.param({"minAvailable": "50%"}, id="min-available-50%"),
        pytest.param({"minAvailable": 0}, id="min-available-0"),
    ],
)
def test_av04_passes_a_pdb_that_allows_a_disruption(budget: dict[str, Any]) -> None:
    stack = kube()
    spec = pdb_spec(stack)
    del spec["maxUnavailable"]
    spec.update(budget)
    check_stack(AV04, stack, 0)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        pytest.param(
            ("spec", "selector", "matchLabels", "ml-endpoints/deployment"), "purple", id="labels"
        ),
        pytest.param(("metadata", "namespace"), "other", id="namespace"),
        pytest.param(("spec", "selector"), ABSENT, id="no-selector"),
    ],
)
def test_av04_pdb_selecting_other_pods_does_not_count(path: tuple, value: Any) -> None:
    stack = kube()
    put(named(stack, "fraud-scoring-blue-pdb").inputs, path, value)
    (message,) = check_stack(AV04, stack, 1, "AV-04")
    assert "'fraud-scoring-blue'" in message
    assert "no PodDisruptionBudget" in message


def test_av04_pdb_with_match_expressions_counts() -> None:
    stack = kube()
    pdb_spec(stack)["selector"] = {
        "matchExpressions": [
            {"key": "ml-endpoints/deployment", "operator": "In", "values": ["blue"]},
            {"key": "ml-endpoints/endpoint", "operator": "Exists"},
        ]
    }
    check_stack(AV04, stack, 0)


@pytest.mark.parametrize(
    ("name", "path", "sentinel"),
    [
        pytest.param(
            "fraud-scoring-blue-hpa", ("spec", "maxReplicas"), UNKNOWN_NUMBER_VALUE, id="hpa-max"
        ),
        pytest.param(
            "fraud-scoring-blue-hpa", ("spec", "minReplicas"), UNKNOWN_NUMBER_VALUE, id="hpa-min"
        ),
        pytest.param(
            "fraud-scoring-blue-pdb",
            ("spec", "maxUnavailable"),
            UNKNOWN_NUMBER_VALUE,
            id="pdb-max-unavailable",
        ),
        pytest.param(
            "fraud-scoring-blue-pdb", ("spec", "selector"), UNKNOWN_OBJECT_VALUE, id="pdb-selector"
        ),
        pytest.param(
            "fraud-scoring-blue-hpa",
            ("spec", "scaleTargetRef", "name"),
            UNKNOWN_STRING_VALUE,
            id="hpa-target-name",
        ),
        pytest.param(
            "fraud-scoring-blue-hpa",
            ("metadata", "namespace"),
            UNKNOWN_STRING_VALUE,
            id="hpa-namespace",
        ),
        pytest.param(
            "fraud-scoring-blue-pdb",
            ("metadata", "namespace"),
            UNKNOWN_STRING_VALUE,
            id="pdb-namespace",
        ),
        pytest.param(
            "fraud-scoring-blue-deployment",
            ("spec", "template", "metadata", "labels"),
            UNKNOWN_OBJECT_VALUE,
            id="pod-labels",
        ),
    ],
)
def test_av04_skips_values_unknown_at_preview(name: str, path: tuple, sentinel: str) -> None:
    stack = kube()
    put(named(stack, name).inputs, path, sentinel)
    check_stack(AV04, stack, 0)


# POD-01: liveness and readiness probes on every serving container.


@pytest.mark.parametrize("kind_", PLACEMENTS)
@pytest.mark.parametrize("probe", ["livenessProbe", "readinessProbe"])
def test_pod01_reports_each_missing_probe_in_every_placement(kind_: str, probe: str) -> None:
    (message,) = check(POD01, workload_args(kind_, in_container(probe)), 1, "POD-01")
    assert f"has no {probe}" in message


@pytest.mark.parametrize(
    ("edits", "count"),
    [
        pytest.param(
            [in_container("livenessProbe"), in_container("readinessProbe")], 2, id="both-missing"
        ),
        pytest.param([in_container("livenessProbe", to={})], 1, id="empty-probe"),
        pytest.param(
            [in_container("readinessProbe", to={"periodSeconds": 10})],
            1,
            id="probe-without-handler",
        ),
        pytest.param([in_container("readinessProbe", to=None)], 1, id="null-probe"),
        pytest.param(
            [in_pod("containers", 1, to={"name": "sidecar", "image": "x:1"})],
            2,
            id="second-container-without-probes",
        ),
    ],
)
def test_pod01_reports_missing_probes(edits: list[Edit], count: int) -> None:
    check(POD01, workload_args("Deployment", *edits), count, "POD-01")


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(in_container("livenessProbe", to={"tcpSocket": {"port": 3000}}), id="tcp"),
        pytest.param(in_container("livenessProbe", to={"exec": {"command": ["true"]}}), id="exec"),
        pytest.param(in_container("readinessProbe", to={"grpc": {"port": 3001}}), id="grpc"),
        pytest.param(in_container("startupProbe"), id="no-startup-probe"),
        pytest.param(
            in_pod("initContainers", to=[{"name": "init", "image": "x:1"}]),
            id="init-container-without-probes",
        ),
        pytest.param(in_container("livenessProbe", to=UNKNOWN_OBJECT_VALUE), id="unknown-probe"),
        pytest.param(in_pod("containers", to=UNKNOWN_ARRAY_VALUE), id="unknown-containers"),
        pytest.param(in_pod("containers", 0, to=UNKNOWN_OBJECT_VALUE), id="unknown-container"),
    ],
)
def test_pod01_passes_probes(edit: Edit) -> None:
    check(POD01, workload_args("Deployment", edit), 0)


# POD-02: CPU and memory requests, memory limit, GPU limit when a GPU is requested.


@pytest.mark.parametrize(
    ("edit", "missing"),
    [
        pytest.param(in_container("resources", "requests", "cpu"), "requests.cpu", id="cpu"),
        pytest.param(
            in_container("resources", "requests", "memory"), "requests.memory", id="memory"
        ),
        pytest.param(
            in_container("resources", "limits", "memory"), "limits.memory", id="memory-limit"
        ),
        pytest.param(
            in_container("resources", "limits", "nvidia.com/gpu"),
            "limits.nvidia.com/gpu",
            id="gpu-limit",
        ),
        pytest.param(
            in_container("resources"),
            "requests.cpu, requests.memory, limits.memory",
            id="no-resources",
        ),
    ],
)
def test_pod02_reports_each_missing_request_or_limit(edit: Edit, missing: str) -> None:
    (message,) = check(POD02, workload_args("Deployment", edit), 1, "POD-02")
    assert f"has no {missing} (POD-02)" in message


@pytest.mark.parametrize("kind_", PLACEMENTS)
def test_pod02_reads_every_placement(kind_: str) -> None:
    check(POD02, workload_args(kind_, in_container("resources", "limits")), 1, "POD-02")


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(in_container("resources", "requests", "nvidia.com/gpu"), id="gpu-limit-only"),
        pytest.param(in_container("resources", "limits", "cpu"), id="no-cpu-limit"),
        pytest.param(in_container("resources", "requests", "cpu", to=2), id="cpu-as-number"),
        pytest.param(
            in_container("resources", "requests", to=UNKNOWN_OBJECT_VALUE), id="unknown-requests"
        ),
        pytest.param(in_container("resources", to=UNKNOWN_OBJECT_VALUE), id="unknown-resources"),
        pytest.param(
            in_container("resources", "limits", "memory", to=UNKNOWN_STRING_VALUE),
            id="unknown-memory-limit",
        ),
    ],
)
def test_pod02_passes(edit: Edit) -> None:
    check(POD02, workload_args("Deployment", edit), 0)


# POD-03: an explicit tag that is not `latest`, or a digest.


@pytest.mark.parametrize(
    "image",
    [
        "repo/x:1.2",
        "host:5000/x:1.2",
        f"x@{DIGEST}",
        f"host:5000/x:1.2@{DIGEST}",
        f"x:latest@{DIGEST}",
        UNKNOWN_STRING_VALUE,
    ],
)
def test_pod03_passes_pinned_images(image: str) -> None:
    check(POD03, workload_args("Deployment", in_container("image", to=image)), 0)


@pytest.mark.parametrize(
    "image", ["x", "x:latest", "x:LATEST", "host:5000/x", "repo/x:", ABSENT, 1.2]
)
def test_pod03_reports_unpinned_images(image: Any) -> None:
    check(POD03, workload_args("Deployment", in_container("image", to=image)), 1, "POD-03")


@pytest.mark.parametrize("kind_", PLACEMENTS)
def test_pod03_reads_every_placement(kind_: str) -> None:
    check(POD03, workload_args(kind_, in_container("image", to="x:latest")), 1, "POD-03")


def test_pod03_reports_an_empty_digest() -> None:
    check(POD03, workload_args("Deployment", in_container("image", to="x@sha256:")), 1, "POD-03")


# POD-04: the restricted Pod Security Standard; a container's securityContext overrides its
# pod's (the program sets both).


@pytest.mark.parametrize(
    ("edits", "gap"),
    [
        pytest.param(
            [in_container("securityContext", "runAsNonRoot", to=False)],
            "runAsNonRoot is not true",
            id="container-overrides-pod-non-root",
        ),
        pytest.param(
            [
                in_container("securityContext", "runAsNonRoot"),
                in_pod("securityContext", "runAsNonRoot"),
            ],
            "runAsNonRoot is not true",
            id="non-root-absent",
        ),
        pytest.param(
            [in_container("securityContext", "runAsNonRoot", to="true")],
            "runAsNonRoot is not true",
            id="non-root-str",
        ),
        pytest.param(
            [in_container("securityContext", "runAsUser", to=0)],
            "runAsUser is 0",
            id="container-root-user",
        ),
        pytest.param(
            [in_pod("securityContext", "runAsUser", to=0)], "runAsUser is 0", id="pod-root-user"
        ),
        pytest.param(
            [in_container("securityContext", "allowPrivilegeEscalation")],
            "allowPrivilegeEscalation is not false",
            id="escalation-absent",
        ),
        pytest.param(
            [in_container("securityContext", "allowPrivilegeEscalation", to=True)],
            "allowPrivilegeEscalation is not false",
            id="escalation-true",
        ),
        pytest.param(
            [in_container("securityContext", "allowPrivilegeEscalation", to="false")],
            "allowPrivilegeEscalation is not false",
            id="escalation-str",
        ),
        pytest.param(
            [in_container("securityContext", "readOnlyRootFilesystem")],
            "readOnlyRootFilesystem is not true",
            id="read-only-absent",
        ),
        pytest.param(
            [in_container("securityContext", "readOnlyRootFilesystem", to=False)],
            "readOnlyRootFilesystem is not true",
            id="read-only-false",
        ),
        pytest.param(
            [in_container("securityContext", "capabilities", "drop", to=["NET_RAW"])],
            "capabilities do not drop ALL",
            id="drop-net-raw",
        ),
        pytest.param(
            [in_container("securityContext", "capabilities")],
            "capabilities do not drop ALL",
            id="capabilities-absent",
        ),
        pytest.param(
            [in_container("securityContext", "privileged", to=True)],
            "it is privileged",
            id="privileged",
        ),
        pytest.param(
            [
                in_container("securityContext", "seccompProfile"),
                in_pod("securityContext", "seccompProfile"),
            ],
            "seccompProfile is unset",
            id="seccomp-absent",
        ),
        pytest.param(
            [in_container("securityContext", "seccompProfile", "type", to="Unconfined")],
            "seccompProfile is Unconfined",
            id="container-unconfined",
        ),
        pytest.param(
            [
                in_container("securityContext", "seccompProfile"),
                in_pod("securityContext", "seccompProfile", "type", to="Unconfined"),
            ],
            "seccompProfile is Unconfined",
            id="pod-unconfined",
        ),
    ],
)
def test_pod04_reports_each_gap(edits: list[Edit], gap: str) -> None:
    (message,) = check(POD04, workload_args("Deployment", *edits), 1, "POD-04")
    assert gap in message


@pytest.mark.parametrize("kind_", PLACEMENTS)
def test_pod04_reads_every_placement(kind_: str) -> None:
    edit = in_container("securityContext", "runAsNonRoot", to=False)
    check(POD04, workload_args(kind_, edit), 1, "POD-04")


def test_pod04_reports_a_container_without_security_context() -> None:
    found = check(POD04, workload_args("Deployment", in_container("securityContext")), 3, "POD-04")
    assert [
        "allowPrivilegeEscalation" in found[0],
        "readOnlyRootFilesystem" in found[1],
        "capabilities" in found[2],
    ] == [True] * 3


def test_pod04_reports_a_pod_without_any_security_context() -> None:
    args = workload_args("Pod", in_container("securityContext"), in_pod("securityContext"))
    check(POD04, args, 5, "POD-04")


@pytest.mark.parametrize(
    "edits",
    [
        pytest.param([in_container("securityContext", "runAsNonRoot")], id="pod-level-non-root"),
        pytest.param([in_container("securityContext", "seccompProfile")], id="pod-level-seccomp"),
        pytest.param(
            [in_container("securityContext", "seccompProfile", "type", to="Localhost")],
            id="seccomp-localhost",
        ),
        pytest.param(
            [in_container("securityContext", "capabilities", "drop", to=["all"])],
            id="drop-all-lowercase",
        ),
        pytest.param(
            [in_container("securityContext", "capabilities", "drop", to=["NET_RAW", "All"])],
            id="drop-all-among-others",
        ),
        pytest.param(
            [
                in_pod("securityContext", "runAsUser", to=0),
                in_container("securityContext", "runAsUser", to=1000),
            ],
            id="container-user-overrides-pod-root",
        ),
        pytest.param(
            [in_container("securityContext", to=UNKNOWN_OBJECT_VALUE)],
            id="unknown-container-context",
        ),
        pytest.param(
            [in_container("securityContext", "runAsNonRoot", to=UNKNOWN_BOOLEAN_VALUE)],
            id="unknown-non-root",
        ),
        pytest.param(
            [in_container("securityContext", "capabilities", "drop", to=UNKNOWN_ARRAY_VALUE)],
            id="unknown-drop",
        ),
        pytest.param(
            [
                in_container("securityContext", "runAsNonRoot"),
                in_pod("securityContext", to=UNKNOWN_OBJECT_VALUE),
            ],
            id="unknown-pod-context",
        ),
        pytest.param(
            [in_container("securityContext", "capabilities", "drop", to=[UNKNOWN_STRING_VALUE])],
            id="unknown-drop-item",
        ),
    ],
)
def test_pod04_passes(edits: list[Edit]) -> None:
    check(POD04, workload_args("Deployment", *edits), 0)


def test_pod04_reports_capabilities_added_back() -> None:
    edit = in_container("securityContext", "capabilities", "add", to=["SYS_ADMIN"])
    check(POD04, workload_args("Deployment", edit), 1, "POD-04")


# POD-05 (advisory): app.kubernetes.io labels, not the default namespace, own ServiceAccount.

LABELS = [
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/component",
    "app.kubernetes.io/part-of",
    "app.kubernetes.io/managed-by",
]


@pytest.mark.parametrize("label", LABELS)
def test_pod05_reports_each_missing_label(label: str) -> None:
    (message,) = check(
        POD05, workload_args("Deployment", at("metadata", "labels", label)), 1, "POD-05"
    )
    assert f"lacks the recommended label(s) {label} (POD-05)" in message


def test_pod05_reports_an_empty_label() -> None:
    edit = at("metadata", "labels", "app.kubernetes.io/name", to="")
    check(POD05, workload_args("Deployment", edit), 1, "POD-05")


@pytest.mark.parametrize(
    ("kind_", "edit", "says"),
    [
        pytest.param(
            "Deployment",
            at("metadata", "namespace", to="default"),
            "default namespace",
            id="namespace-default",
        ),
        pytest.param(
            "Deployment", at("metadata", "namespace"), "default namespace", id="namespace-absent"
        ),
        pytest.param(
            "StatefulSet",
            at("metadata", "namespace", to=""),
            "default namespace",
            id="namespace-empty",
        ),
        pytest.param(
            "Deployment",
            in_pod("serviceAccountName", to="default"),
            "default ServiceAccount",
            id="account-default",
        ),
        pytest.param(
            "CronJob",
            in_pod("serviceAccountName"),
            "default ServiceAccount",
            id="cronjob-account-absent",
        ),
        pytest.param(
            "Pod", in_pod("serviceAccountName"), "default ServiceAccount", id="pod-account-absent"
        ),
    ],
)
def test_pod05_reports_namespace_and_account(kind_: str, edit: Edit, says: str) -> None:
    (message,) = check(POD05, workload_args(kind_, edit), 1, "POD-05")
    assert says in message


@pytest.mark.parametrize(
    ("config", "edit", "count"),
    [
        pytest.param({"requiredLabels": ["team"]}, None, 1, id="team-required"),
        pytest.param(
            {"requiredLabels": ["app.kubernetes.io/name"]},
            at("metadata", "labels", "app.kubernetes.io/part-of"),
            0,
            id="only-name",
        ),
        pytest.param({"requiredLabels": []}, at("metadata", "labels", to={}), 0, id="none"),
    ],
)
def test_pod05_required_labels_come_from_config(config: Any, edit: Edit | None, count: int) -> None:
    edits = [edit] if edit else []
    check(POD05, workload_args("Deployment", *edits, config=config), count, "POD-05")


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(at("metadata", "labels", to=UNKNOWN_OBJECT_VALUE), id="labels"),
        pytest.param(
            at("metadata", "labels", "app.kubernetes.io/name", to=UNKNOWN_STRING_VALUE), id="label"
        ),
        pytest.param(at("metadata", "namespace", to=UNKNOWN_STRING_VALUE), id="namespace"),
        pytest.param(in_pod("serviceAccountName", to=UNKNOWN_STRING_VALUE), id="account"),
        pytest.param(
            at("spec", "template", to=UNKNOWN_OBJECT_VALUE),
            id="template",
        ),
    ],
)
def test_pod05_skips_values_unknown_at_preview(edit: Edit) -> None:
    check(POD05, workload_args("Deployment", edit), 0)


# OBS-01 (stack): each endpoint alerts on latency, success, 4xx and 5xx; each deployment on CPU
# and memory; every alert reaches an action group / receiver.


@pytest.mark.parametrize(
    ("removed", "says"),
    [
        ("mlep-fraud-scoring-latency-p95", "endpoint 'fraud-scoring' has no alert on latency "),
        ("mlep-fraud-scoring-success-rate", "endpoint 'fraud-scoring' has no alert on success "),
        ("mlep-fraud-scoring-client-error-rate", "has no alert on client errors "),
        ("mlep-fraud-scoring-server-error-rate", "has no alert on server errors "),
        ("mlep-fraud-scoring-blue-cpu", "deployment fraud-scoring/blue has no alert on cpu "),
        (
            "mlep-fraud-scoring-green-memory",
            "deployment fraud-scoring/green has no alert on memory ",
        ),
    ],
)
def test_obs01_azure_reports_each_missing_alert(removed: str, says: str) -> None:
    (message,) = check_stack(OBS01, without(azure(), removed), 1, "OBS-01")
    assert says in message


def prometheus_rule(stack: Resources, endpoint: str = "fraud-scoring") -> list[dict[str, Any]]:
    """The alerting rules of an endpoint's PrometheusRule (to change in place)."""
    rule = named(stack, f"{endpoint}-prometheusrule").inputs
    return rule["spec"]["groups"][0]["rules"]


def alert_rule(stack: Resources, suffix: str) -> dict[str, Any]:
    (found,) = [r for r in prometheus_rule(stack) if r["alert"].endswith(suffix)]
    return found


@pytest.mark.parametrize(
    ("suffix", "says"),
    [
        ("LatencyP95High", ["endpoint 'fraud-scoring' has no alert on latency "]),
        ("SuccessRateLow", ["endpoint 'fraud-scoring' has no alert on success "]),
        ("ClientErrorRateHigh", ["endpoint 'fraud-scoring' has no alert on client errors "]),
        ("ServerErrorRateHigh", ["endpoint 'fraud-scoring' has no alert on server errors "]),
        (
            "CpuHigh",
            [
                f"deployment fraud-scoring/{d} has no alert on cpu "
                for d in ("blue", "green", "shadow")
            ],
        ),
        (
            "MemoryHigh",
            [
                f"deployment fraud-scoring/{d} has no alert on memory "
                for d in ("blue", "green", "shadow")
            ],
        ),
    ],
)
def test_obs01_kubernetes_reports_each_missing_alert(suffix: str, says: list[str]) -> None:
    stack = kube()
    prometheus_rule(stack).remove(alert_rule(stack, suffix))
    found = check_stack(OBS01, stack, len(says), "OBS-01")
    assert [any(s in m for m in found) for s in says] == [True] * len(says)


@pytest.mark.parametrize(
    ("name", "path", "value"),
    [
        pytest.param("mlep-fraud-scoring-latency-p95", ("actions",), [], id="metric-alert-empty"),
        pytest.param("mlep-fraud-scoring-blue-cpu", ("actions",), ABSENT, id="metric-alert-absent"),
        pytest.param(
            "mlep-fraud-scoring-success-rate", ("actions", "actionGroups"), [], id="log-alert-empty"
        ),
    ],
)
def test_obs01_azure_reports_an_alert_that_reaches_nobody(
    name: str, path: tuple, value: Any
) -> None:
    stack = azure()
    put(named(stack, name).inputs, path, value)
    found = reports(policy(OBS01), stack_args(stack))
    assert [urn for _, urn in found] == [named(stack, name).urn]
    (message,) = check_stack(OBS01, stack, 1, "OBS-01")
    assert f"alert {name!r} reaches nobody" in message


@pytest.mark.parametrize("severity", [ABSENT, ""], ids=["absent", "empty"])
def test_obs01_kubernetes_reports_an_alert_without_severity(severity: Any) -> None:
    stack = kube()
    put(alert_rule(stack, "CpuHigh"), ("labels", "severity"), severity)
    (message,) = check_stack(OBS01, stack, 1, "OBS-01")
    assert "alert 'FraudScoringCpuHigh' reaches nobody" in message


@pytest.mark.parametrize("target", ["azure", "kubernetes"])
def test_obs01_passes_the_max_stacks(target: str) -> None:
    check_stack(OBS01, azure() if target == "azure" else kube(), 0)


def test_obs01_a_disabled_alert_covers_nothing() -> None:
    stack = azure()
    named(stack, "mlep-fraud-scoring-latency-p95").inputs["enabled"] = False
    check_stack(OBS01, stack, 1, "OBS-01")


@pytest.mark.parametrize(
    ("target", "change"),
    [
        pytest.param(
            "azure",
            lambda s: put(
                named(s, "mlep-fraud-scoring-latency-p95").inputs, ("scopes",), UNKNOWN_ARRAY_VALUE
            ),
            id="metric-alert-scopes",
        ),
        pytest.param(
            "azure",
            lambda s: put(
                named(s, "mlep-fraud-scoring-blue-cpu").inputs, ("actions",), UNKNOWN_ARRAY_VALUE
            ),
            id="metric-alert-actions",
        ),
        pytest.param(
            "azure",
            lambda s: put(
                named(s, "mlep-fraud-scoring-success-rate").inputs,
                ("actions", "actionGroups"),
                UNKNOWN_ARRAY_VALUE,
            ),
            id="log-alert-action-groups",
        ),
        pytest.param(
            "kubernetes",
            lambda s: put(alert_rule(s, "CpuHigh"), ("labels", "severity"), UNKNOWN_STRING_VALUE),
            id="severity",
        ),
        pytest.param(
            "azure",
            lambda s: put(
                named(s, "mlep-fraud-scoring-server-error-rate").inputs,
                ("criteria", "allOf", 0, "query"),
                UNKNOWN_STRING_VALUE,
            ),
            id="log-alert-query",
        ),
        pytest.param(
            "kubernetes",
            lambda s: put(alert_rule(s, "ServerErrorRateHigh"), ("expr",), UNKNOWN_STRING_VALUE),
            id="promql-expr",
        ),
        pytest.param(
            "azure",
            lambda s: put(
                named(s, "mlep-fraud-scoring-latency-p95").inputs,
                ("criteria", "allOf", 0, "metricName"),
                UNKNOWN_STRING_VALUE,
            ),
            id="metric-name",
        ),
    ],
)
def test_obs01_skips_values_unknown_at_preview(
    target: str, change: Callable[[Resources], None]
) -> None:
    stack = azure() if target == "azure" else kube()
    change(stack)
    check_stack(OBS01, stack, 0)


# OBS-02 (stack, advisory): with a Log Analytics workspace in the stack, every endpoint sends
# traffic, console and event logs there.


def diagnostics(stack: Resources, endpoint: str = "fraud-scoring") -> dict[str, Any]:
    return named(stack, f"{endpoint}-diagnostics").inputs


@pytest.mark.parametrize(
    ("scenario_name", "config"),
    [
        pytest.param("max", None, id="max"),
        pytest.param("waf_aligned", None, id="waf"),
        pytest.param("defaults", None, id="no-workspace-anywhere"),
        pytest.param("defaults", {"requireWorkspace": False}, id="require-workspace-false"),
    ],
)
def test_obs02_passes(scenario_name: str, config: Any) -> None:
    check_stack(OBS02, azure(scenario_name), 0, config=config)


@pytest.mark.parametrize(
    "category",
    ["AmlOnlineEndpointTrafficLog", "AmlOnlineEndpointConsoleLog", "AmlOnlineEndpointEventLog"],
)
def test_obs02_reports_each_missing_category(category: str) -> None:
    stack = azure()
    logs = diagnostics(stack)["logs"]
    logs[:] = [log for log in logs if log["category"] != category]
    (message,) = check_stack(OBS02, stack, 1, "OBS-02")
    assert f"endpoint 'fraud-scoring': diagnostics do not send {category} " in message


def test_obs02_reports_a_disabled_category() -> None:
    stack = azure()
    diagnostics(stack)["logs"][2]["enabled"] = False
    (message,) = check_stack(OBS02, stack, 1, "OBS-02")
    assert "AmlOnlineEndpointEventLog" in message


@pytest.mark.parametrize("group", ["allLogs", "AllLogs"])
def test_obs02_passes_category_group_all_logs(group: str) -> None:
    stack = azure()
    diagnostics(stack)["logs"] = [{"categoryGroup": group, "enabled": True}]
    check_stack(OBS02, stack, 0)


def test_obs02_reports_a_diagnostic_setting_without_workspace() -> None:
    stack = azure()
    del diagnostics(stack)["workspaceId"]
    (message,) = check_stack(OBS02, stack, 1, "OBS-02")
    assert (
        "AmlOnlineEndpointTrafficLog, AmlOnlineEndpointConsoleLog, AmlOnlineEndpointEventLog"
        in message
    )


def test_obs02_reports_a_diagnostic_setting_with_an_empty_workspace() -> None:
    stack = azure()
    diagnostics(stack)["workspaceId"] = ""
    check_stack(OBS02, stack, 1, "OBS-02")


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda s: s.remove(named(s, "fraud-scoring-diagnostics")), id="removed"),
        pytest.param(
            lambda s: diagnostics(s).update(
                resourceUri=diagnostics(s)["resourceUri"] + "/deployments/blue"
            ),
            id="deployment-scoped",
        ),
    ],
)
def test_obs02_reports_an_endpoint_without_diagnostics(change: Callable[[Resources], None]) -> None:
    stack = azure()
    change(stack)
    found = reports(policy(OBS02), stack_args(stack))
    assert [urn for _, urn in found] == [named(stack, "fraud-scoring").urn]
    (message,) = check_stack(OBS02, stack, 1, "OBS-02")
    assert "endpoint 'fraud-scoring' sends no logs to Log Analytics" in message


def test_obs02_require_workspace_comes_from_config() -> None:
    (message,) = check_stack(OBS02, azure("defaults"), 1, "OBS-02", {"requireWorkspace": True})
    assert "endpoint 'fraud-scoring' sends no logs" in message


@pytest.mark.parametrize(
    ("categories", "count"),
    [
        pytest.param(["AmlOnlineEndpointTrafficLog"], 0, id="traffic-only"),
        pytest.param(
            ["AmlOnlineEndpointTrafficLog", "AmlOnlineEndpointConsoleLog"], 1, id="console-required"
        ),
    ],
)
def test_obs02_categories_come_from_config(categories: list[str], count: int) -> None:
    stack = azure()
    logs = diagnostics(stack)["logs"]
    logs[:] = [log for log in logs if log["category"] != "AmlOnlineEndpointConsoleLog"]
    check_stack(OBS02, stack, count, "OBS-02", {"categories": categories})


@pytest.mark.parametrize(
    ("path", "sentinel"),
    [
        pytest.param(("resourceUri",), UNKNOWN_STRING_VALUE, id="resource-uri"),
        pytest.param(("workspaceId",), UNKNOWN_STRING_VALUE, id="workspace-id"),
        pytest.param(("logs", 0, "enabled"), UNKNOWN_BOOLEAN_VALUE, id="enabled"),
        pytest.param(
            ("logs",),
            UNKNOWN_ARRAY_VALUE,
            id="logs",
        ),
        pytest.param(
            ("logs", 0, "category"),
            UNKNOWN_STRING_VALUE,
            id="category",
        ),
    ],
)
def test_obs02_skips_values_unknown_at_preview(path: tuple, sentinel: str) -> None:
    stack = azure()
    put(diagnostics(stack), path, sentinel)
    check_stack(OBS02, stack, 0)


# OBS-03 (resource): PrometheusRule alerts have a comparison, a `for:`, a severity label and
# summary + runbook_url annotations; recording rules are not alerts.


def rule_props(endpoint: str = "fraud-scoring") -> dict[str, Any]:
    return inputs("kubernetes", "max", f"{endpoint}-prometheusrule")


def one_alert(**changes: Any) -> dict[str, Any]:
    """The fraud-scoring PrometheusRule cut down to its latency alert (changes applied)."""
    props = rule_props()
    rules = props["spec"]["groups"][0]["rules"]
    rules[1:] = []
    for key, value in changes.items():
        put(rules[0], tuple(key.split("__")), value)
    return props


def rule_args(props: dict[str, Any], config: Any = None) -> Any:
    return resource_args(tokens.PROMETHEUS_RULE, props, config=config, name="rules")


@pytest.mark.parametrize("endpoint", ["fraud-scoring", "churn-propensity"])
def test_obs03_passes_the_program_rules(endpoint: str) -> None:
    check(OBS03, rule_args(rule_props(endpoint)), 0)


@pytest.mark.parametrize(
    ("change", "says"),
    [
        pytest.param({"for": ABSENT}, "has no `for:`", id="for-absent"),
        pytest.param({"for": "0s"}, "has no `for:`", id="for-0s"),
        pytest.param({"for": "0m"}, "has no `for:`", id="for-0m"),
        pytest.param({"for": ""}, "has no `for:`", id="for-empty"),
        pytest.param({"labels__severity": ABSENT}, "no 'severity' label", id="severity-absent"),
        pytest.param({"labels__severity": ""}, "no 'severity' label", id="severity-empty"),
        pytest.param({"annotations__summary": ABSENT}, "no 'summary' annotation", id="summary"),
        pytest.param(
            {"annotations__runbook_url": ABSENT}, "no 'runbook_url' annotation", id="runbook-url"
        ),
        pytest.param({"expr": "rate(x[5m])"}, "no comparison", id="no-comparison"),
        pytest.param({"expr": 'up{job!="a"}'}, "no comparison", id="not-equal-matcher"),
        pytest.param({"expr": 'up{job=~"a|b"}'}, "no comparison", id="regex-matcher"),
        pytest.param(
            {"expr": 'label_replace(up, "x", "a>b", "", "")'},
            "no comparison",
            id="comparison-in-string",
        ),
    ],
)
def test_obs03_reports_each_gap_once(change: dict[str, Any], says: str) -> None:
    (message,) = check(OBS03, rule_args(one_alert(**change)), 1, "OBS-03")
    assert "alert 'FraudScoringLatencyP95High'" in message
    assert says in message


def test_obs03_reports_only_the_changed_alert_of_six() -> None:
    props = rule_props()
    del props["spec"]["groups"][0]["rules"][3]["annotations"]["runbook_url"]
    (message,) = check(OBS03, rule_args(props), 1, "OBS-03")
    assert "'FraudScoringServerErrorRateHigh'" in message


@pytest.mark.parametrize(
    "expr",
    ["absent(up)", 'absent_over_time(up{job="a"}[5m])', "rate(x[5m]) > 0", "x != 0", "x >= bool 1"],
)
def test_obs03_passes_expressions_that_compare(expr: str) -> None:
    check(OBS03, rule_args(one_alert(expr=expr)), 0)


def test_obs03_ignores_recording_rules() -> None:
    props = one_alert()
    props["spec"]["groups"][0]["rules"].append({"record": "job:x:rate5m", "expr": "rate(x[5m])"})
    check(OBS03, rule_args(props), 0)


@pytest.mark.parametrize(
    ("config", "change", "count"),
    [
        pytest.param(
            {"requiredAnnotations": ["summary"]},
            {"annotations__runbook_url": ABSENT},
            0,
            id="runbook-not-required",
        ),
        pytest.param(
            {"requiredAnnotations": ["summary", "dashboard"]}, {}, 1, id="dashboard-required"
        ),
        pytest.param({"requiredLabels": ["severity", "team"]}, {}, 1, id="team-label-required"),
        pytest.param(
            {"requiredLabels": []}, {"labels__severity": ABSENT}, 0, id="no-labels-required"
        ),
    ],
)
def test_obs03_required_labels_and_annotations_come_from_config(
    config: Any, change: dict[str, Any], count: int
) -> None:
    check(OBS03, rule_args(one_alert(**change), config), count, "OBS-03")


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"expr": UNKNOWN_STRING_VALUE}, id="expr"),
        pytest.param({"for": UNKNOWN_STRING_VALUE}, id="for"),
        pytest.param({"labels__severity": UNKNOWN_STRING_VALUE}, id="severity"),
        pytest.param({"annotations__summary": UNKNOWN_STRING_VALUE}, id="summary"),
        pytest.param({"alert": UNKNOWN_STRING_VALUE}, id="alert-name"),
        pytest.param(
            {"labels": UNKNOWN_OBJECT_VALUE},
            id="labels",
        ),
        pytest.param(
            {"annotations": UNKNOWN_OBJECT_VALUE},
            id="annotations",
        ),
    ],
)
def test_obs03_skips_values_unknown_at_preview(change: dict[str, Any]) -> None:
    check(OBS03, rule_args(one_alert(**change)), 0)


@pytest.mark.parametrize("duration", ["0ms", "0h", "0m0s"])
def test_obs03_reports_every_spelling_of_a_zero_for(duration: str) -> None:
    check(OBS03, rule_args(one_alert(**{"for": duration})), 1, "OBS-03")


def test_obs03_a_comparison_in_a_comment_does_not_count() -> None:
    check(OBS03, rule_args(one_alert(expr="rate(x[5m])\n# > 0")), 1, "OBS-03")
