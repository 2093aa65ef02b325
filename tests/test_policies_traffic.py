"""Traffic-change safety policies (POLICY-RULES.md, TRF-04 and TRF-06 to TRF-10), and the
Kubernetes side of TRF-01/02/03/05 (Gateway API HTTPRoutes).

Golden inputs are the real program's output: the `max` scenarios of both targets run on the mock
runtime, their resources fed to the policies as the engine feeds them, and their stack output
`endpoints` used as `previousTraffic` (the shape `mlep` passes). Each failing case changes one
thing and asserts the exact list of rule ids reported, since a false positive is as much a
failure as a miss. Policy config goes through a protobuf Struct, as the SDK's `Configure` does,
so every number in it is a float.
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Callable
from typing import Any

import pytest
from google.protobuf import json_format, struct_pb2
from pulumi_policy.proxy import (
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
)

from mlep.engine.policy import load_policies, resolve_config
from mlep.engine.runtime import ProgramRun, Registration
from mlep.errors import UsageError
from tests.conftest import run_namespace
from tests.policy_helpers import (
    ABSENT,
    POLICIES_DIR,
    changed,
    endpoint_props,
    not_applicable_reason,
    policy,
    reports,
    resource_args,
    stack_args,
    template_endpoint,
    tokens,
    traffic_props,
    violations,
)
from tests.scenarios import kubernetes_scenario, scenario

TRF01 = "trf-01-traffic-weights"
TRF0203 = "trf-02-03-mirror-traffic"
TRF04 = "trf-04-managed-only-features"
TRF05 = "trf-05-traffic-waits-for-deployments"
TRF0608 = "trf-06-08-traffic-steps"
TRF09 = "trf-09-live-deployments-alerted"
TRF10 = "trf-10-route-weights"

ENDPOINT, TRAFFIC, ROUTE = tokens.ONLINE_ENDPOINT, tokens.ARM_DEPLOYMENT, tokens.HTTP_ROUTE
TEMPLATE = ("properties", "template", "resources", 0)
RULE = ("spec", "rules", 0)
BACKENDS = (*RULE, "backendRefs")
# The golden route's filters: [URLRewrite, RequestMirror to the shadow deployment].
MIRROR = (*RULE, "filters", 1, "requestMirror")
K8S_COMPUTE = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-ml-prod/providers/"
    "Microsoft.MachineLearningServices/workspaces/mlw-prod/computes/aks-inference"
)
RULE_ID = re.compile(r"\((TRF-\d\d)\)")


# Helpers.


def appended(props: dict[str, Any], *path: str | int, item: Any) -> dict[str, Any]:
    """A copy of ``props`` with ``item`` appended to the list at ``path``."""
    new = copy.deepcopy(props)
    node: Any = new
    for key in path:
        node = node[key]
    node.append(item)
    return new


def wire_config(config: dict[str, Any]) -> dict[str, Any]:
    """Policy config as the SDK's `Configure` hands it over: through a Struct (numbers float)."""
    struct = json_format.ParseDict(config, struct_pb2.Struct())
    wired: dict[str, Any] = json_format.MessageToDict(struct)
    return wired


def rule_ids(messages: list[str]) -> list[str]:
    """The one rule id each message names; every message must also say how to fix it."""
    found = []
    for message in messages:
        assert "Fix:" in message, message
        (rule,) = RULE_ID.findall(message)
        found.append(rule)
    return found


def check(name: str, args: Any, expected: list[str]) -> list[str]:
    """The policy reports exactly ``expected`` (rule ids, in report order)."""
    messages = violations(policy(name), args)
    assert rule_ids(messages) == expected, messages
    return messages


@functools.cache
def _program(target: str, name: str) -> ProgramRun:
    namespace = kubernetes_scenario(name) if target == "kubernetes" else scenario(name)
    return run_namespace(namespace)


def declared(target: str, name: str = "max") -> list[Registration]:
    """A fresh copy of the custom resources the program declares for a scenario."""
    return [copy.deepcopy(r) for r in _program(target, name).resources if r.custom]


def previous_of(target: str, name: str = "max") -> dict[str, Any]:
    """The scenario's stack output `endpoints`: what `mlep` passes as previousTraffic."""
    return copy.deepcopy(_program(target, name).outputs["endpoints"])


def find(resources: list[Registration], name: str) -> Registration:
    (found,) = [r for r in resources if r.name == name]
    return found


def without(resources: list[Registration], *names: str) -> list[Registration]:
    kept = [r for r in resources if r.name not in names]
    assert len(kept) == len(resources) - len(names), names
    return kept


def args_of(resource: Registration, config: dict[str, Any] | None = None) -> Any:
    return resource_args(
        resource.type,
        resource.inputs,
        protect=resource.protect,
        config=config,
        name=resource.name,
        urn=resource.urn,
    )


def golden_route() -> dict[str, Any]:
    """The fraud-scoring HTTPRoute of the kubernetes `max` scenario: blue 75 / green 25 /
    shadow 0, mirroring 20 % to the shadow."""
    return find(declared("kubernetes"), "fraud-scoring-route").inputs


def route_args(route: dict[str, Any], config: dict[str, Any] | None = None) -> Any:
    return resource_args(ROUTE, route, config=config, name="fraud-scoring-route")


def with_weights(route: dict[str, Any], *weights: Any) -> dict[str, Any]:
    """The route with its backends (blue, green, shadow) at ``weights``; ABSENT omits one."""
    new = copy.deepcopy(route)
    for backend, weight in zip(new["spec"]["rules"][0]["backendRefs"], weights, strict=True):
        if weight is ABSENT:
            del backend["weight"]
        else:
            backend["weight"] = weight
    return new


def mirror_filter(backend: str = "fraud-scoring-shadow", **share: Any) -> dict[str, Any]:
    return {
        "type": "RequestMirror",
        "requestMirror": {"backendRef": {"name": backend, "port": 3000}, **share},
    }


# TRF-06/07/08: steps against the previous traffic (policy config previousTraffic).


def before(
    traffic: dict[str, Any], mirror: dict[str, Any] | None = None, stable: Any = ABSENT
) -> dict[str, Any]:
    """One endpoint's previous state, in the shape of the stack output `endpoints`."""
    entry: dict[str, Any] = {"traffic": traffic, "mirror_traffic": mirror or {}}
    if stable is not ABSENT:
        entry["stable"] = stable
    return entry


def steps_args(
    traffic: dict[str, Any],
    previous: Any,
    mirror: dict[str, Any] | None = None,
    **tunables: Any,
) -> Any:
    """The fraud-scoring traffic resource setting ``traffic``, after ``previous``."""
    config = wire_config({"previousTraffic": {"fraud-scoring": previous}, **tunables})
    return resource_args(
        TRAFFIC, traffic_props(traffic, mirror), config=config, name="fraud-scoring-traffic"
    )


BLUE_75 = before({"blue": 75, "green": 25})
BLUE_100 = before({"blue": 100, "green": 0})
SCHEDULE = {"endpoints": {"fraud-scoring": {"steps": [5, 25, 60, 100]}}}


@pytest.mark.parametrize(
    ("after", "mirror", "previous", "tunables", "expected"),
    [
        # TRF-06: at most maxStepPercent (default 25) per change.
        pytest.param({"blue": 75, "green": 25}, None, BLUE_75, {}, [], id="unchanged"),
        pytest.param({"blue": 50, "green": 50}, None, BLUE_75, {}, [], id="step-25"),
        pytest.param({"blue": 49, "green": 51}, None, BLUE_75, {}, ["TRF-06"], id="step-26"),
        pytest.param(
            {"blue": 95, "green": 5}, None, before({"blue": 100}), {}, [], id="new-deployment-5"
        ),
        pytest.param(
            {"blue": 70, "green": 30},
            None,
            before({"blue": 100}),
            {},
            ["TRF-06"],
            id="new-deployment-starts-at-0",
        ),
        pytest.param(
            {"blue": 60, "green": 40},
            None,
            BLUE_75,
            {"maxStepPercent": 10},
            ["TRF-06"],
            id="global-max-step-10",
        ),
        pytest.param(
            {"blue": 35, "green": 65},
            None,
            BLUE_75,
            {"endpoints": {"fraud-scoring": {"maxStepPercent": 40}}},
            [],
            id="endpoint-max-step-40",
        ),
        pytest.param(
            {"blue": 65, "green": 35},
            None,
            BLUE_75,
            {"endpoints": {"fraud-scoring": {"maxStepPercent": 5}}},
            ["TRF-06"],
            id="endpoint-max-step-5",
        ),
        pytest.param(
            {"blue": 35, "green": 65},
            None,
            BLUE_75,
            {"endpoints": {"churn-propensity": {"maxStepPercent": 40}}},
            ["TRF-06"],
            id="another-endpoints-override",
        ),
        # A rise to the next step of the endpoint's schedule is allowed, a skip is not.
        pytest.param({"blue": 40, "green": 60}, None, BLUE_75, SCHEDULE, [], id="scheduled-25-60"),
        pytest.param(
            {"blue": 30, "green": 70}, None, BLUE_75, SCHEDULE, ["TRF-06"], id="unscheduled-25-70"
        ),
        pytest.param(
            {"blue": 0, "green": 100}, None, BLUE_75, SCHEDULE, ["TRF-06"], id="skips-step-60"
        ),
        # TRF-07: a deployment without traffic starts at <= maxCanaryPercent (default 50).
        pytest.param({"blue": 95, "green": 5}, None, BLUE_100, {}, [], id="canary-5"),
        pytest.param(
            {"blue": 50, "green": 50},
            None,
            BLUE_100,
            {"maxStepPercent": 100},
            [],
            id="canary-50",
        ),
        pytest.param(
            {"blue": 49, "green": 51},
            None,
            BLUE_100,
            {"maxStepPercent": 100},
            ["TRF-07"],
            id="canary-51",
        ),
        pytest.param(
            {"blue": 0, "green": 100}, None, BLUE_100, {}, ["TRF-06", "TRF-07"], id="0-to-100"
        ),
        pytest.param(
            {"blue": 0, "green": 100},
            None,
            BLUE_100,
            {"maxStepPercent": 100, "maxCanaryPercent": 100},
            ["TRF-07"],
            id="0-to-100-needs-a-canary-step-whatever-the-limits",
        ),
        pytest.param(
            {"blue": 80, "green": 20},
            None,
            BLUE_100,
            {"maxCanaryPercent": 10},
            ["TRF-07"],
            id="global-max-canary-10",
        ),
        pytest.param(
            {"blue": 80, "green": 20},
            None,
            BLUE_100,
            {"endpoints": {"fraud-scoring": {"maxCanaryPercent": 10}}},
            ["TRF-07"],
            id="endpoint-max-canary-10",
        ),
        pytest.param(
            {"blue": 40, "green": 60},
            None,
            BLUE_100,
            {"endpoints": {"fraud-scoring": {"steps": [60, 100]}}},
            ["TRF-07"],
            id="scheduled-first-step-still-a-canary",
        ),
        # TRF-08: back to the previously dominant (or stable) deployment, any size.
        pytest.param({"blue": 100, "green": 0}, None, BLUE_75, {}, [], id="rollback-to-dominant"),
        pytest.param(
            {"blue": 100, "green": 0},
            None,
            before({"blue": 60, "green": 40}),
            {},
            [],
            id="rollback-40-points",
        ),
        pytest.param(
            {"blue": 100, "green": 0},
            None,
            before({"blue": 50, "green": 50}),
            {},
            [],
            id="tie-blue",
        ),
        pytest.param(
            {"blue": 0, "green": 100},
            None,
            before({"blue": 50, "green": 50}),
            {},
            [],
            id="tie-green",
        ),
        pytest.param(
            {"blue": 100, "green": 0},
            None,
            before({"blue": 40, "green": 60}, stable="blue"),
            {},
            [],
            id="rollback-to-stable",
        ),
        pytest.param(
            {"blue": 100, "green": 0},
            None,
            before({"blue": 40, "green": 60}),
            {},
            ["TRF-06"],
            id="no-stable-no-rollback",
        ),
        pytest.param(
            {"blue": 100, "green": 0},
            None,
            before({"blue": 40, "green": 60}, stable="green"),
            {},
            ["TRF-06"],
            id="stable-is-another-deployment",
        ),
        pytest.param(
            {"blue": 100, "green": 0},
            None,
            before({"blue": 60, "green": 40}, stable="blue"),
            {},
            [],
            id="rollback-to-the-dominant-that-is-stable",
        ),
        pytest.param(
            {"blue": 100, "green": 0, "shadow": 0},
            None,
            before({"blue": 60, "green": 40, "shadow": 0}),
            {},
            [],
            id="rollback-beside-an-idle-deployment",
        ),
        pytest.param(
            {"blue": 100},
            None,
            before({}),
            {},
            [],
            id="no-traffic-before",
        ),
        pytest.param(
            {"blue": 0, "green": 100},
            None,
            before({"blue": 0, "green": 0}),
            {},
            [],
            id="out-of-service-before",
        ),
        # Mirror traffic rises by at most maxStepPercent; lowering it is always allowed.
        pytest.param(
            {"blue": 100, "green": 0}, {"green": 25}, BLUE_100, {}, [], id="mirror-rises-25"
        ),
        pytest.param(
            {"blue": 100, "green": 0},
            {"green": 26},
            BLUE_100,
            {},
            ["TRF-06"],
            id="mirror-rises-26",
        ),
        pytest.param(
            {"blue": 100, "green": 0},
            {"green": 50},
            before({"blue": 100, "green": 0}, {"green": 20}),
            {},
            ["TRF-06"],
            id="mirror-20-to-50",
        ),
        pytest.param(
            {"blue": 100, "green": 0},
            {"green": 10},
            before({"blue": 100, "green": 0}, {"green": 50}),
            {},
            [],
            id="mirror-lowered",
        ),
        pytest.param(
            {"blue": 100, "green": 0},
            {},
            before({"blue": 100, "green": 0}, {"green": 50}),
            {},
            [],
            id="mirror-removed",
        ),
        pytest.param(
            {"blue": 100, "green": 0},
            {"green": 40},
            BLUE_100,
            {"endpoints": {"fraud-scoring": {"maxStepPercent": 40}}},
            [],
            id="mirror-endpoint-max-step-40",
        ),
        pytest.param(
            {"blue": 100, "green": 0},
            {"green": 30},
            BLUE_75,
            {},
            ["TRF-06"],
            id="rollback-does-not-exempt-a-mirror-rise",
        ),
    ],
)
def test_trf0608_steps(
    after: dict[str, Any],
    mirror: dict[str, Any] | None,
    previous: dict[str, Any],
    tunables: dict[str, Any],
    expected: list[str],
) -> None:
    check(TRF0608, steps_args(after, previous, mirror, **tunables), expected)


def test_trf06_message_names_the_step_and_the_limit() -> None:
    (message,) = check(TRF0608, steps_args({"blue": 49, "green": 51}, BLUE_75), ["TRF-06"])
    assert "'fraud-scoring'" in message
    assert "'green' rises from 25% to 51%" in message
    assert "25% step" in message


@pytest.mark.parametrize("config", [None, {}, {"maxStepPercent": 10}, {"previousTraffic": None}])
def test_trf0608_does_not_apply_without_previous_traffic(config: dict[str, Any] | None) -> None:
    args = resource_args(
        TRAFFIC,
        traffic_props({"blue": 0, "green": 100}),
        config=wire_config(config) if config is not None else None,
    )
    assert "no previous traffic given" in (not_applicable_reason(policy(TRF0608), args) or "")
    assert violations(policy(TRF0608), args) == []


def test_trf0608_endpoint_absent_from_previous_is_free() -> None:
    config = wire_config({"previousTraffic": {"churn-propensity": before({"gbm-v3": 100})}})
    args = resource_args(TRAFFIC, traffic_props({"blue": 0, "green": 100}), config=config)
    check(TRF0608, args, [])


def test_trf0608_checks_traffic_set_on_the_endpoint_itself() -> None:
    props = changed(endpoint_props(), "properties", "traffic", to={"blue": 0, "green": 100})
    config = wire_config({"previousTraffic": {"fraud-scoring": BLUE_100}})
    check(TRF0608, resource_args(ENDPOINT, props, config=config), ["TRF-06", "TRF-07"])


def test_trf0608_checks_each_endpoint_of_a_template() -> None:
    props = traffic_props({"blue": 0, "green": 100})
    churn = changed(template_endpoint(props), "name", to="mlw-prod/churn-propensity")
    churn["properties"]["traffic"] = {"gbm-v3": 50, "gbm-v4": 50}
    props["properties"]["template"]["resources"].append(churn)
    previous = {
        "fraud-scoring": BLUE_100,
        "churn-propensity": before({"gbm-v3": 100, "gbm-v4": 0}),
    }
    args = resource_args(TRAFFIC, props, config=wire_config({"previousTraffic": previous}))
    messages = check(TRF0608, args, ["TRF-06", "TRF-07", "TRF-06"])
    assert "'churn-propensity'" in messages[2]


# Previous traffic that is given but unreadable fails closed: one violation per setting.


@pytest.mark.parametrize(
    "previous",
    [
        pytest.param("blue=75,green=25", id="previous-a-string"),
        pytest.param(["fraud-scoring"], id="previous-a-list"),
        pytest.param({"fraud-scoring": "blue"}, id="entry-a-string"),
        pytest.param({"fraud-scoring": 100}, id="entry-a-number"),
        pytest.param({"fraud-scoring": {"mirror_traffic": {}}}, id="traffic-missing"),
        pytest.param({"fraud-scoring": {"traffic": None}}, id="traffic-null"),
        pytest.param({"fraud-scoring": {"traffic": [75, 25]}}, id="traffic-a-list"),
        pytest.param(
            {"fraud-scoring": {"traffic": {"blue": 100}, "mirror_traffic": 20}},
            id="mirror-a-number",
        ),
        pytest.param({"fraud-scoring": before({"blue": 75, "green": "25"})}, id="weight-string"),
        pytest.param({"fraud-scoring": before({"blue": 75, "green": 25.5})}, id="weight-fraction"),
        pytest.param({"fraud-scoring": before({"blue": 75, "green": True})}, id="weight-bool"),
        pytest.param({"fraud-scoring": before({"blue": 100, "green": -1})}, id="weight-negative"),
        pytest.param({"fraud-scoring": before({"blue": 101, "green": 0})}, id="weight-101"),
        pytest.param(
            {"fraud-scoring": before({"blue": 75, "green": 25}, {"shadow": "20"})},
            id="mirror-weight-string",
        ),
        pytest.param({"fraud-scoring": before({"blue": 75}, stable=1)}, id="stable-a-number"),
        pytest.param({"fraud-scoring": before({"blue": 75}, stable=["blue"])}, id="stable-list"),
        pytest.param({"fraud-scoring": before({"blue": 75}, stable=True)}, id="stable-bool"),
    ],
)
def test_trf06_fails_closed_on_unreadable_previous_traffic(previous: Any) -> None:
    """The golden change (75/25 to 75/25) cannot pass against a previous state nobody can read."""
    config = wire_config({"previousTraffic": previous})
    args = resource_args(TRAFFIC, traffic_props(), config=config)
    assert not_applicable_reason(policy(TRF0608), args) is None
    (message,) = check(TRF0608, args, ["TRF-06"])
    assert "'fraud-scoring'" in message
    assert "unreadable" in message or "not an object" in message


def test_trf06_fails_closed_once_per_traffic_setting() -> None:
    props = traffic_props()
    churn = changed(template_endpoint(props), "name", to="mlw-prod/churn-propensity")
    props["properties"]["template"]["resources"].append(churn)
    unreadable = resource_args(TRAFFIC, props, config=wire_config({"previousTraffic": "x"}))
    check(TRF0608, unreadable, ["TRF-06", "TRF-06"])
    # Only the endpoint whose previous entry is unreadable; the other one is new (free).
    one = resource_args(
        TRAFFIC, props, config=wire_config({"previousTraffic": {"churn-propensity": 5}})
    )
    (message,) = check(TRF0608, one, ["TRF-06"])
    assert "'churn-propensity'" in message


@pytest.mark.parametrize("target", ["azure", "kubernetes"])
def test_trf06_fails_closed_only_on_resources_that_set_traffic(target: str) -> None:
    """The program's OnlineEndpoints set no traffic (its ARM traffic resources do): reporting
    them too would report every endpoint twice. Kubernetes: one route per endpoint."""
    config = wire_config({"previousTraffic": "x"})
    found = {}
    for resource in declared(target):
        found[resource.name] = rule_ids(violations(policy(TRF0608), args_of(resource, config)))
    if target == "azure":
        assert find(declared(target), "fraud-scoring").type == ENDPOINT
        setters = ["churn-propensity-traffic", "fraud-scoring-traffic"]
    else:
        setters = ["churn-propensity-route", "fraud-scoring-route"]
    reported = {name: ids for name, ids in found.items() if ids}
    assert reported == {name: ["TRF-06"] for name in setters}


# TRF-06/07/08 on the real program: Azure ARM traffic and Kubernetes HTTPRoutes.


@pytest.mark.parametrize("target", ["azure", "kubernetes"])
def test_trf0608_passes_the_program_against_its_own_output(target: str) -> None:
    config = wire_config({"previousTraffic": previous_of(target)})
    checked = 0
    for resource in declared(target):
        assert violations(policy(TRF0608), args_of(resource, config)) == [], resource.name
        checked += resource.type in (TRAFFIC, ROUTE)
    assert checked == 2


@pytest.mark.parametrize(
    ("previous", "expected"),
    [
        pytest.param({"blue": 100, "green": 0}, [], id="canary-10"),
        pytest.param({"blue": 75, "green": 25}, [], id="back-toward-dominant-blue"),
        pytest.param({"blue": 10, "green": 90}, ["TRF-06"], id="blue-10-to-90"),
        pytest.param({"blue": 100}, [], id="green-new"),
    ],
)
def test_trf0608_kubernetes_program_90_10(previous: dict[str, Any], expected: list[str]) -> None:
    """kubernetes `waf_aligned` routes blue 90 / green 10 (weights 90 and 10)."""
    route = find(declared("kubernetes", "waf_aligned"), "fraud-scoring-route")
    config = wire_config({"previousTraffic": {"fraud-scoring": before(previous)}})
    check(TRF0608, args_of(route, config), expected)


@pytest.mark.parametrize(
    ("route_weights", "expected"),
    [
        pytest.param((75, 25, 0), [], id="75-25-0"),
        pytest.param((9, 1, 0), [], id="9-1-is-90-10"),
        pytest.param((900, 100, 0), [], id="900-100-is-90-10"),
        pytest.param((1, 1, 0), [], id="1-1-is-50-50"),
        pytest.param((ABSENT, 1, 0), [], id="omitted-weight-is-1"),
        pytest.param((49, 51, 0), ["TRF-06"], id="49-51"),
        pytest.param((490_000, 510_000, 0), ["TRF-06"], id="490000-510000"),
        pytest.param((1, 3, 0), ["TRF-06"], id="1-3-is-25-75"),
        pytest.param((95, 0, 5), [], id="shadow-canary-5"),
        pytest.param((0, 1, 1), ["TRF-06"], id="shadow-0-to-50"),
        pytest.param((0, 0, 1), ["TRF-06", "TRF-07"], id="shadow-0-to-100"),
        pytest.param((0, 0, 0), [], id="all-zero-is-trf-10s"),
    ],
)
def test_trf0608_route_weights_are_relative(
    route_weights: tuple[Any, ...], expected: list[str]
) -> None:
    """Previous: the kubernetes `max` output (blue 75, green 25, shadow 0, mirror shadow 20)."""
    config = wire_config({"previousTraffic": previous_of("kubernetes")})
    check(TRF0608, route_args(with_weights(golden_route(), *route_weights), config), expected)


@pytest.mark.parametrize(
    ("share", "expected"),
    [
        pytest.param({"percent": 45}, [], id="20-to-45"),
        pytest.param({"percent": 46}, ["TRF-06"], id="20-to-46"),
        pytest.param({"fraction": {"numerator": 1, "denominator": 8}}, [], id="fraction-12.5"),
        pytest.param({"fraction": {"numerator": 1, "denominator": 2}}, ["TRF-06"], id="half"),
        pytest.param({}, ["TRF-06"], id="no-share-mirrors-everything"),
    ],
)
def test_trf06_route_mirror_steps(share: dict[str, Any], expected: list[str]) -> None:
    route = changed(golden_route(), *MIRROR, to=mirror_filter(**share)["requestMirror"])
    config = wire_config({"previousTraffic": previous_of("kubernetes")})
    check(TRF0608, route_args(route, config), expected)


def test_trf06_route_mirror_removed_passes() -> None:
    route = changed(golden_route(), *RULE, "filters", 1)
    config = wire_config({"previousTraffic": previous_of("kubernetes")})
    check(TRF0608, route_args(route, config), [])


@pytest.mark.parametrize(
    ("resource_type", "props"),
    [
        pytest.param(
            TRAFFIC,
            lambda: traffic_props({"blue": 0, "green": UNKNOWN_NUMBER_VALUE}),
            id="azure-weight",
        ),
        pytest.param(
            TRAFFIC,
            lambda: changed(
                traffic_props({"blue": 0, "green": 100}),
                *TEMPLATE,
                "properties",
                "traffic",
                to=UNKNOWN_OBJECT_VALUE,
            ),
            id="azure-traffic",
        ),
        pytest.param(
            TRAFFIC,
            lambda: traffic_props({"blue": 100, "green": 0}, {"green": UNKNOWN_NUMBER_VALUE}),
            id="azure-mirror",
        ),
        pytest.param(
            TRAFFIC,
            lambda: changed(
                traffic_props({"blue": 0, "green": 100}),
                *TEMPLATE,
                "name",
                to=UNKNOWN_STRING_VALUE,
            ),
            id="azure-endpoint-name",
        ),
        pytest.param(
            ROUTE,
            lambda: with_weights(golden_route(), 0, 0, UNKNOWN_NUMBER_VALUE),
            id="route-weight",
        ),
        pytest.param(
            ROUTE,
            lambda: changed(golden_route(), *MIRROR, "percent", to=UNKNOWN_NUMBER_VALUE),
            id="route-mirror-percent",
        ),
        pytest.param(
            ROUTE,
            lambda: changed(golden_route(), *RULE, "backendRefs", to=UNKNOWN_ARRAY_VALUE),
            id="route-backends",
        ),
    ],
)
def test_trf0608_skips_values_unknown_at_preview(
    resource_type: str, props: Callable[[], dict[str, Any]]
) -> None:
    """Previous: blue 100, nothing mirrored; the unknown value, once known, may violate (the
    check runs again on `pulumi up`), so during preview nothing is reported and nothing raises."""
    previous = {
        "fraud-scoring": before({"blue": 100, "green": 0, "shadow": 0}, {"green": 0, "shadow": 0})
    }
    config = wire_config({"previousTraffic": previous})
    check(TRF0608, resource_args(resource_type, props(), config=config), [])


# TRF-04: no mirror traffic and no AADToken on Azure ML Kubernetes online endpoints.


def kubernetes_endpoint(auth_mode: str = "AMLToken", **properties: Any) -> dict[str, Any]:
    props = endpoint_props(auth_mode=auth_mode)
    props["properties"] |= {"compute": K8S_COMPUTE, **properties}
    return props


def kubernetes_template(auth_mode: str = "AMLToken", **mirror: Any) -> dict[str, Any]:
    props = traffic_props({"blue": 100, "green": 0}, mirror, auth_mode=auth_mode)
    template_endpoint(props)["properties"]["compute"] = K8S_COMPUTE
    return props


@pytest.mark.parametrize(
    ("resource_type", "props", "expected"),
    [
        pytest.param(
            ENDPOINT,
            kubernetes_endpoint(mirrorTraffic={"green": 10}),
            ["TRF-04"],
            id="endpoint-mirror",
        ),
        pytest.param(ENDPOINT, kubernetes_endpoint("AADToken"), ["TRF-04"], id="endpoint-aad"),
        pytest.param(
            ENDPOINT, kubernetes_endpoint("aad_token"), ["TRF-04"], id="endpoint-aad-snake"
        ),
        pytest.param(TRAFFIC, kubernetes_template(green=10), ["TRF-04"], id="template-mirror"),
        pytest.param(TRAFFIC, kubernetes_template("AADToken"), ["TRF-04"], id="template-aad"),
        pytest.param(
            TRAFFIC,
            kubernetes_template("AADToken", green=10),
            ["TRF-04", "TRF-04"],
            id="template-mirror-and-aad",
        ),
        pytest.param(
            ENDPOINT,
            changed(endpoint_props(), "properties", "mirrorTraffic", to={"green": 10}),
            [],
            id="managed-endpoint-mirror-and-aad",
        ),
        pytest.param(
            TRAFFIC,
            traffic_props({"blue": 100, "green": 0}, {"green": 10}),
            [],
            id="managed-template-mirror-and-aad",
        ),
        pytest.param(ENDPOINT, kubernetes_endpoint("AMLToken"), [], id="kubernetes-aml-token"),
        pytest.param(ENDPOINT, kubernetes_endpoint("Key"), [], id="kubernetes-key"),
        pytest.param(
            ENDPOINT,
            kubernetes_endpoint(mirrorTraffic={}),
            [],
            id="kubernetes-empty-mirror",
        ),
        pytest.param(TRAFFIC, kubernetes_template(), [], id="kubernetes-template-aml-token"),
        pytest.param(
            ENDPOINT,
            kubernetes_endpoint(UNKNOWN_STRING_VALUE),
            [],
            id="kubernetes-auth-unknown",
        ),
    ],
)
def test_trf04_managed_only_features(
    resource_type: str, props: dict[str, Any], expected: list[str]
) -> None:
    check(TRF04, resource_args(resource_type, props), expected)


def test_trf04_passes_the_azure_program() -> None:
    """The `max` scenario mirrors 20 % on managed endpoints (no compute): allowed."""
    for resource in declared("azure"):
        assert violations(policy(TRF04), args_of(resource)) == [], resource.name


# TRF-09 (stack): every deployment with live traffic has latency and error alerts.


def remove_rules(resources: list[Registration], rule: str, *alerts: str) -> list[Registration]:
    """The stack with the named alerts removed from PrometheusRule ``rule``."""
    prometheus = find(resources, rule)
    removed = 0
    for group in prometheus.inputs["spec"]["groups"]:
        kept = [r for r in group["rules"] if r.get("alert") not in alerts]
        removed += len(group["rules"]) - len(kept)
        group["rules"] = kept
    assert removed == len(alerts)
    return resources


def set_traffic(resources: list[Registration], traffic: dict[str, Any]) -> list[Registration]:
    template = find(resources, "fraud-scoring-traffic").inputs
    template_endpoint(template)["properties"]["traffic"] = traffic
    return resources


FRAUD_LATENCY = "mlep-fraud-scoring-latency-p95"
FRAUD_SUCCESS = "mlep-fraud-scoring-success-rate"
FRAUD_5XX = "mlep-fraud-scoring-server-error-rate"
FRAUD_4XX = "mlep-fraud-scoring-client-error-rate"
FRAUD_ALERTS = (
    FRAUD_LATENCY,
    FRAUD_SUCCESS,
    FRAUD_5XX,
    FRAUD_4XX,
    *(
        f"mlep-fraud-scoring-{d}-{m}"
        for d in ("blue", "green", "shadow")
        for m in ("cpu", "memory")
    ),
)


@pytest.mark.parametrize(
    ("target", "name"),
    [("azure", "max"), ("azure", "waf_aligned"), ("kubernetes", "max")],
)
def test_trf09_passes_the_program(target: str, name: str) -> None:
    check(TRF09, stack_args(declared(target, name)), [])


@pytest.mark.parametrize(
    ("removed", "missing"),
    [
        pytest.param((FRAUD_LATENCY,), "latency", id="latency"),
        pytest.param((FRAUD_SUCCESS, FRAUD_5XX), "errors", id="success-and-5xx"),
        pytest.param(FRAUD_ALERTS, "latency or errors", id="all"),
    ],
)
def test_trf09_reports_each_live_deployment_without_alerts(
    removed: tuple[str, ...], missing: str
) -> None:
    """fraud-scoring: blue 75, green 25 live; shadow only mirrored (0 live)."""
    resources = without(declared("azure"), *removed)
    found = reports(policy(TRF09), stack_args(resources))
    messages = [message for message, _ in found]
    assert rule_ids(messages) == ["TRF-09", "TRF-09"], messages
    assert "'blue' takes 75%" in messages[0], messages
    assert "'green' takes 25%" in messages[1], messages
    assert all(f"no alert on {missing} " in m for m in messages), messages
    assert {urn for _, urn in found} == {find(resources, "fraud-scoring-traffic").urn}


@pytest.mark.parametrize(
    "removed",
    [
        pytest.param((FRAUD_4XX,), id="4xx"),
        pytest.param((FRAUD_SUCCESS,), id="success-only"),
        pytest.param((FRAUD_5XX,), id="5xx-only"),
        pytest.param(FRAUD_ALERTS[4:], id="cpu-and-memory"),
    ],
)
def test_trf09_needs_only_latency_and_one_error_signal(removed: tuple[str, ...]) -> None:
    check(TRF09, stack_args(without(declared("azure"), *removed)), [])


def test_trf09_passes_deployments_without_live_traffic() -> None:
    resources = without(declared("azure"), *FRAUD_ALERTS)
    set_traffic(resources, {"blue": 0, "green": 0, "shadow": 0})
    check(TRF09, stack_args(resources), [])


def test_trf09_reports_a_first_canary_of_1_percent_without_alerts() -> None:
    """The smallest live share is still live: a first 1% step without alerts is a finding
    (issue 18, point 7: a `share <= 1` mutant survived every other test)."""
    resources = without(declared("azure"), *FRAUD_ALERTS)
    set_traffic(resources, {"blue": 99, "green": 1, "shadow": 0})
    messages = [message for message, _ in reports(policy(TRF09), stack_args(resources))]
    assert any("'green' takes 1%" in m for m in messages), messages
    assert not any("'shadow'" in m for m in messages), messages


def deployment_scoped_alerts(traffic: dict[str, Any]) -> list[Registration]:
    """fraud-scoring alerted for blue only: latency scoped to the blue deployment, server
    errors queried for DeploymentName "blue"; no endpoint-wide alert."""
    resources = without(declared("azure"), FRAUD_SUCCESS, FRAUD_4XX)
    latency = find(resources, FRAUD_LATENCY).inputs
    latency["scopes"] = [latency["scopes"][0] + "/deployments/blue"]
    (criterion,) = find(resources, FRAUD_5XX).inputs["criteria"]["allOf"]
    criterion["query"] = criterion["query"].replace(
        "| summarize", '| where DeploymentName == "blue"\n| summarize'
    )
    return set_traffic(resources, traffic)


def test_trf09_alerts_scoped_to_a_deployment_cover_that_deployment_only() -> None:
    resources = deployment_scoped_alerts({"blue": 100, "green": 0, "shadow": 0})
    check(TRF09, stack_args(resources), [])
    resources = deployment_scoped_alerts({"blue": 90, "green": 10, "shadow": 0})
    (message,) = check(TRF09, stack_args(resources), ["TRF-09"])
    assert "'green' takes 10%" in message
    assert "latency or errors" in message


@pytest.mark.parametrize(
    "scopes", [UNKNOWN_ARRAY_VALUE, [UNKNOWN_STRING_VALUE]], ids=["scopes", "scope"]
)
def test_trf09_alert_scope_unknown_at_preview_covers_any_endpoint(scopes: Any) -> None:
    """fraud-scoring's latency alert removed; churn-propensity's, scope unknown, may cover it."""
    resources = without(declared("azure"), FRAUD_LATENCY)
    find(resources, "mlep-churn-propensity-latency-p95").inputs["scopes"] = scopes
    check(TRF09, stack_args(resources), [])


def test_trf09_log_alert_query_unknown_at_preview_counts_as_covering() -> None:
    resources = declared("azure")
    for name in (FRAUD_SUCCESS, FRAUD_5XX):
        for criterion in find(resources, name).inputs["criteria"]["allOf"]:
            criterion["query"] = UNKNOWN_STRING_VALUE
    check(TRF09, stack_args(resources), [])


def test_trf09_prometheus_expr_unknown_at_preview_counts_as_covering() -> None:
    resources = declared("kubernetes")
    for group in find(resources, "fraud-scoring-prometheusrule").inputs["spec"]["groups"]:
        for rule in group["rules"]:
            if rule.get("alert") == "FraudScoringLatencyP95High":
                rule["expr"] = UNKNOWN_STRING_VALUE
    check(TRF09, stack_args(resources), [])


@pytest.mark.parametrize(
    ("removed", "expected"),
    [
        pytest.param(("FraudScoringLatencyP95High",), ["TRF-09"] * 2, id="latency"),
        pytest.param(
            ("FraudScoringSuccessRateLow", "FraudScoringServerErrorRateHigh"),
            ["TRF-09"] * 2,
            id="success-and-5xx",
        ),
        pytest.param(("FraudScoringClientErrorRateHigh",), [], id="4xx"),
    ],
)
def test_trf09_kubernetes_prometheus_rules(removed: tuple[str, ...], expected: list[str]) -> None:
    resources = remove_rules(declared("kubernetes"), "fraud-scoring-prometheusrule", *removed)
    messages = check(TRF09, stack_args(resources), expected)
    assert [m.split("'")[3] for m in messages] == ["blue", "green"][: len(messages)]


def test_trf09_kubernetes_zero_weight_backend_needs_no_alerts() -> None:
    resources = without(declared("kubernetes"), "fraud-scoring-prometheusrule")
    route = find(resources, "fraud-scoring-route")
    route.inputs = with_weights(route.inputs, 0, 0, 0)
    check(TRF09, stack_args(resources), [])
    route.inputs = with_weights(route.inputs, 0, 1, 0)
    (message,) = check(TRF09, stack_args(resources), ["TRF-09"])
    assert "'green' takes 100%" in message


# TRF-10: HTTPRoute weights 0-1,000,000 with one above 0; RequestMirror percent or fraction.

Edit = Callable[[dict[str, Any]], dict[str, Any]]


def weights(*values: Any) -> Edit:
    return lambda route: with_weights(route, *values)


def percent(value: Any) -> Edit:
    return lambda route: changed(route, *MIRROR, "percent", to=value)


def fraction(**value: Any) -> Edit:
    """The golden mirror with a fraction instead of its percent."""
    return lambda route: changed(changed(route, *MIRROR, "percent"), *MIRROR, "fraction", to=value)


def backend_filters(*filters: dict[str, Any]) -> Edit:
    """The first backend (blue) with its own filters."""
    return lambda route: changed(route, *BACKENDS, 0, "filters", to=list(filters))


def unchanged(route: dict[str, Any]) -> dict[str, Any]:
    return route


def no_mirror_share(route: dict[str, Any]) -> dict[str, Any]:
    return changed(route, *MIRROR, "percent")


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        pytest.param(unchanged, 0, id="golden"),
        pytest.param(weights(1_000_000, 0, 0), 0, id="weight-1000000"),
        pytest.param(weights(1_000_001, 1, 0), 1, id="weight-1000001"),
        pytest.param(weights(-1, 1, 0), 1, id="weight-negative"),
        pytest.param(weights(2.5, 1, 0), 1, id="weight-fraction"),
        pytest.param(weights("5", 1, 0), 1, id="weight-string"),
        pytest.param(weights(True, 1, 0), 1, id="weight-bool"),
        pytest.param(weights(0, 0, 0), 1, id="all-zero"),
        pytest.param(weights(-1, 0, 0), 2, id="negative-and-no-positive"),
        pytest.param(weights(0, 0, ABSENT), 0, id="omitted-weight-is-1"),
        pytest.param(weights(0, 0, UNKNOWN_NUMBER_VALUE), 0, id="weight-unknown"),
        pytest.param(percent(0), 0, id="percent-0"),
        pytest.param(percent(100), 0, id="percent-100"),
        pytest.param(percent(101), 1, id="percent-101"),
        pytest.param(percent(-1), 1, id="percent-negative"),
        pytest.param(percent(50.5), 1, id="percent-50.5"),
        pytest.param(percent("20"), 1, id="percent-string"),
        pytest.param(percent(UNKNOWN_NUMBER_VALUE), 0, id="percent-unknown"),
        pytest.param(
            lambda route: changed(
                route, *MIRROR, "fraction", to={"numerator": 1, "denominator": 5}
            ),
            1,
            id="percent-and-fraction",
        ),
        pytest.param(fraction(numerator=1, denominator=8), 0, id="fraction-only"),
        pytest.param(fraction(numerator=5), 0, id="fraction-default-denominator-100"),
        pytest.param(fraction(numerator=3, denominator=2), 1, id="numerator-over-denominator"),
        pytest.param(fraction(numerator=1, denominator=0), 1, id="denominator-0"),
        pytest.param(
            fraction(numerator=UNKNOWN_NUMBER_VALUE, denominator=8), 0, id="numerator-unknown"
        ),
        pytest.param(no_mirror_share, 0, id="no-share-mirrors-all"),
        pytest.param(backend_filters(mirror_filter(percent=10)), 0, id="backend-filter-10"),
        pytest.param(backend_filters(mirror_filter(percent=101)), 1, id="backend-filter-101"),
        pytest.param(
            backend_filters(
                mirror_filter(percent=10, fraction={"numerator": 1, "denominator": 10})
            ),
            1,
            id="backend-filter-percent-and-fraction",
        ),
        pytest.param(lambda route: changed(route, *BACKENDS, to=[]), 0, id="rule-without-backends"),
    ],
)
def test_trf10_route_weights(edit: Edit, expected: int) -> None:
    check(TRF10, route_args(edit(golden_route())), ["TRF-10"] * expected)


def test_trf10_checks_every_rule() -> None:
    route = golden_route()
    second = copy.deepcopy(route["spec"]["rules"][0])
    second["backendRefs"][0]["weight"] = 1_000_001
    route["spec"]["rules"].append(second)
    (message,) = check(TRF10, route_args(route), ["TRF-10"])
    assert "rule 1" in message
    assert "'fraud-scoring-blue'" in message


def test_trf10_ignores_other_resources() -> None:
    check(TRF10, resource_args(TRAFFIC, traffic_props({"blue": 1_000_001})), [])


# The Kubernetes side of TRF-01, TRF-02/03 and TRF-05.


@pytest.mark.parametrize("name", [TRF01, TRF0203, TRF10])
def test_kubernetes_program_passes_resource_policies(name: str) -> None:
    for resource in declared("kubernetes"):
        assert violations(policy(name), args_of(resource)) == [], resource.name


@pytest.mark.parametrize(
    "route_weights", [(900, 100, 0), (1000, 1, 0), (1, 1, 1)], ids=["900-100", "1000-1", "1-1-1"]
)
def test_trf01_does_not_apply_to_route_weights(route_weights: tuple[int, ...]) -> None:
    check(TRF01, route_args(with_weights(golden_route(), *route_weights)), [])


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        pytest.param(unchanged, [], id="golden-20"),
        pytest.param(percent(50), [], id="percent-50"),
        pytest.param(percent(51), ["TRF-02"], id="percent-51"),
        pytest.param(fraction(numerator=1, denominator=2), [], id="fraction-50"),
        pytest.param(fraction(numerator=101, denominator=200), ["TRF-02"], id="fraction-50.5"),
        pytest.param(no_mirror_share, ["TRF-02"], id="no-share-is-100"),
        pytest.param(weights(65, 25, 10), ["TRF-03"], id="mirrored-backend-live"),
        pytest.param(weights(75, 25, ABSENT), ["TRF-03"], id="mirrored-backend-weight-omitted"),
        pytest.param(
            lambda route: appended(
                route, *RULE, "filters", item=mirror_filter("fraud-scoring-canary", percent=10)
            ),
            ["TRF-02"],
            id="two-mirrored-deployments",
        ),
    ],
)
def test_trf0203_routes(edit: Edit, expected: list[str]) -> None:
    check(TRF0203, route_args(edit(golden_route())), expected)


def test_trf02_route_mirror_on_a_backend_filter() -> None:
    route = changed(golden_route(), *RULE, "filters", 1)
    route = with_weights(route, 1, 0, 0)
    route = changed(route, *BACKENDS, 0, "filters", to=[mirror_filter(percent=60)])
    check(TRF0203, route_args(route), ["TRF-02"])


def test_trf03_route_message_gives_the_live_share_in_percent() -> None:
    (message,) = check(TRF0203, route_args(with_weights(golden_route(), 650, 250, 100)), ["TRF-03"])
    assert re.search(r"'shadow' gets 10(\.0)?% live", message), message


def kubernetes_stack(name: str = "max") -> list[Registration]:
    return declared("kubernetes", name)


def route_of(resources: list[Registration]) -> Registration:
    return find(resources, "fraud-scoring-route")


@pytest.mark.parametrize("name", ["max", "waf_aligned", "defaults"])
def test_trf05_passes_the_kubernetes_program(name: str) -> None:
    check(TRF05, stack_args(kubernetes_stack(name)), [])


def test_trf05_reports_a_route_to_a_service_not_in_the_stack() -> None:
    resources = kubernetes_stack()
    route = route_of(resources)
    route.inputs = changed(route.inputs, *BACKENDS, 1, "name", to="fraud-scoring-purple")
    (message,) = check(TRF05, stack_args(resources), ["TRF-05"])
    assert "'fraud-scoring-purple', which is not in this stack" in message


def test_trf05_reports_a_route_whose_service_was_removed() -> None:
    """The shadow is both a backend and the mirror target: reported once."""
    resources = without(kubernetes_stack(), "fraud-scoring-shadow-service")
    (message,) = check(TRF05, stack_args(resources), ["TRF-05"])
    assert "'fraud-scoring-shadow'" in message


def test_trf05_reports_a_mirror_to_a_service_not_in_the_stack() -> None:
    resources = kubernetes_stack()
    route = route_of(resources)
    route.inputs = changed(route.inputs, *MIRROR, "backendRef", "name", to="fraud-scoring-next")
    (message,) = check(TRF05, stack_args(resources), ["TRF-05"])
    assert "'fraud-scoring-next'" in message


def test_trf05_reports_a_service_in_another_namespace() -> None:
    resources = kubernetes_stack()
    service = find(resources, "fraud-scoring-green-service")
    service.inputs["metadata"]["namespace"] = "ml-staging"
    (message,) = check(TRF05, stack_args(resources), ["TRF-05"])
    assert "'fraud-scoring-green'" in message


def test_trf05_reports_a_route_not_waiting_for_its_service() -> None:
    resources = kubernetes_stack()
    route = route_of(resources)
    green = find(resources, "fraud-scoring-green-service").urn
    route.dependencies = [d for d in route.dependencies if d != green]
    found = reports(policy(TRF05), stack_args(resources))
    messages = [message for message, _ in found]
    assert rule_ids(messages) == ["TRF-05"], messages
    assert "does not wait for Service 'fraud-scoring-green'" in messages[0]
    assert [urn for _, urn in found] == [route.urn]


def test_trf05_ignores_backends_that_are_not_services() -> None:
    resources = kubernetes_stack()
    route = route_of(resources)
    backend = {"group": "gateway.envoyproxy.io", "kind": "Backend", "name": "ext", "weight": 0}
    route.inputs["spec"]["rules"][0]["backendRefs"].append(backend)
    check(TRF05, stack_args(resources), [])


def test_trf05_reports_a_cross_namespace_backend_not_in_the_stack() -> None:
    resources = kubernetes_stack()
    route = route_of(resources)
    route.inputs = changed(route.inputs, *BACKENDS, 1, "namespace", to="ml-staging")
    check(TRF05, stack_args(resources), ["TRF-05"])


def test_trf05_reports_a_backend_filter_mirror_to_a_service_not_in_the_stack() -> None:
    resources = kubernetes_stack()
    route = route_of(resources)
    route.inputs = changed(
        route.inputs,
        *BACKENDS,
        0,
        "filters",
        to=[mirror_filter("fraud-scoring-next", percent=10)],
    )
    check(TRF05, stack_args(resources), ["TRF-05"])


@pytest.mark.parametrize(
    ("tunable", "value", "accepted"),
    [
        ("maxStepPercent", 1, True),
        ("maxStepPercent", 100, True),
        ("maxStepPercent", 0, False),
        ("maxStepPercent", 101, False),
        ("maxCanaryPercent", 1, True),
        ("maxCanaryPercent", 100, True),
        ("maxCanaryPercent", 0, False),
        ("maxCanaryPercent", 101, False),
        ("endpoints", {"fraud-scoring": {"maxStepPercent": 1}}, True),
        ("endpoints", {"fraud-scoring": {"maxStepPercent": 100}}, True),
        ("endpoints", {"fraud-scoring": {"maxStepPercent": 0}}, False),
        ("endpoints", {"fraud-scoring": {"maxStepPercent": 101}}, False),
        ("endpoints", {"fraud-scoring": {"maxCanaryPercent": 1}}, True),
        ("endpoints", {"fraud-scoring": {"maxCanaryPercent": 100}}, True),
        ("endpoints", {"fraud-scoring": {"maxCanaryPercent": 0}}, False),
        ("endpoints", {"fraud-scoring": {"maxCanaryPercent": 101}}, False),
        ("endpoints", {"fraud-scoring": {"steps": [5, 25, 60, 100]}}, True),
        ("endpoints", {"fraud-scoring": {"steps": ["5"]}}, False),
        ("endpoints", {"fraud-scoring": {"maxStep": 10}}, False),  # a typo is no override
    ],
)
def test_step_tunables_are_bounded_1_to_100(tunable: str, value: Any, accepted: bool) -> None:
    """The bounds of the step rules' config schema (issue 18, point 7), as the CLI checks
    a policy config against it before Configure."""
    policies = load_policies(POLICIES_DIR)
    config = {"trf-06-08-traffic-steps": {tunable: value}}
    if accepted:
        assert resolve_config(policies, config)["trf-06-08-traffic-steps"].properties == {
            tunable: value
        }
    else:
        with pytest.raises(UsageError, match=tunable):
            resolve_config(policies, config)
