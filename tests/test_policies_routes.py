"""No splitting to evade a limit (issue 18, point 2): on Kubernetes the traffic rules judge every
route that reaches an endpoint's Services, labelled or not, of any Gateway API route kind.

The stack is the real program's (`max` scenario: fraud-scoring blue 75 / green 25 / shadow 0
with 20 % mirrored to the shadow; churn-propensity gbm-v3 100), its stack output `endpoints` the
previous traffic. Each loophole adds what an author could add beside the program's own route: a
second route, a hand-made Service, a second mirror filter. Before this change each passed (the
second route was judged as an endpoint of its own name, new and so free). Route shapes follow
gateway-api's apis/v1 (HTTPRoute, GRPCRoute) and apis/v1alpha2 (TCPRoute): `backendRefs` with
`weight` (default 1), RequestMirror filters with `percent` or `fraction`.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib
from typing import Any

import pytest
from pulumi_policy.proxy import UNKNOWN_NUMBER_VALUE, UNKNOWN_STRING_VALUE

from mlep.engine.runtime import Registration
from tests.policy_helpers import (
    golden_stack,
    policy,
    reports,
    resource_args,
    stack_args,
    tokens,
    violations,
)
from tests.test_policies_traffic import (
    TRF0203,
    TRF05,
    TRF0608,
    TRF09,
    check,
    find,
    kubernetes_stack,
    mirror_filter,
    previous_of,
    rule_ids,
    wire_config,
)

# The pack is imported from its directory, which tests.policy_helpers puts on sys.path.
routing = importlib.import_module("mlep_policies.routing")

NAMESPACE = "ml-serving"
NET04 = "net-04-namespace-isolated"
AV01 = "av-01-enough-instances"


def steps_config(**tunables: Any) -> dict[str, Any]:
    return wire_config({"previousTraffic": previous_of("kubernetes"), **tunables})


def backend(service: str, weight: float | None = None, **more: Any) -> dict[str, Any]:
    ref: dict[str, Any] = {"name": service, "port": 3000, **more}
    if weight is not None:
        ref["weight"] = weight
    return ref


def extra(
    *,
    kind: str = "HTTPRoute",
    name: str = "sneaky",
    backends: list[dict[str, Any]] | None = None,
    filters: list[dict[str, Any]] | None = None,
    labels: dict[str, str] | None = None,
    version: str = "v1",
) -> Registration:
    """A route beside the program's, written by hand: no mlep labels unless given."""
    rule: dict[str, Any] = {"backendRefs": backends or [backend("fraud-scoring-shadow", 1)]}
    if filters:
        rule["filters"] = filters
    resource_type = f"kubernetes:gateway.networking.k8s.io/{version}:{kind}"
    return Registration(
        urn=f"urn:pulumi:prod::ml-endpoints::{resource_type}::{name}",
        type=resource_type,
        name=name,
        custom=True,
        parent=None,
        dependencies=[],
        protect=False,
        inputs={
            "apiVersion": f"gateway.networking.k8s.io/{version}",
            "kind": kind,
            "metadata": {"name": name, "namespace": NAMESPACE, "labels": labels or {}},
            "spec": {"parentRefs": [{"name": "internal"}], "rules": [rule]},
        },
    )


def with_extra(*added: Registration) -> list[Registration]:
    return [*kubernetes_stack(), *added]


def steps(resources: list[Registration], **tunables: Any) -> list[str]:
    config = steps_config(**tunables)
    messages = [m for m, _ in reports(policy(TRF0608), stack_args(resources, config))]
    return rule_ids(messages)


# ---- TRF-06/07: a second route is a step like any other --------------------------------------


def test_the_program_alone_passes_the_step_rules_against_its_own_output() -> None:
    assert steps(kubernetes_stack()) == []


@pytest.mark.parametrize(
    "labels",
    [{}, {tokens.ENDPOINT_LABEL: "churn-propensity"}, {tokens.ENDPOINT_LABEL: "elsewhere"}],
    ids=["unlabelled", "lying-label", "unknown-endpoint-label"],
)
def test_a_second_route_sending_all_to_the_idle_shadow_is_a_canary_jump(
    labels: dict[str, str],
) -> None:
    """shadow carries 0 % live: a route sending it everything rises 0 -> 100 (TRF-06 and 07)."""
    assert steps(with_extra(extra(labels=labels))) == ["TRF-06", "TRF-07"]


def test_the_second_route_is_reported_on_itself() -> None:
    sneaky = extra()
    found = reports(policy(TRF0608), stack_args(with_extra(sneaky), steps_config()))
    assert {urn for _, urn in found} == {sneaky.urn}
    assert "'shadow' rises from 0% to 100%" in found[0][0]


def test_a_second_route_raising_the_canary_past_one_step_is_reported() -> None:
    """green carries 25 %: 1:1 with blue on a second route is 50 %, a 25-point rise: allowed;
    3:1 for green is 75 %, more than one step (TRF-06)."""
    fair = extra(backends=[backend("fraud-scoring-blue", 1), backend("fraud-scoring-green", 1)])
    assert steps(with_extra(fair)) == []
    tilted = extra(backends=[backend("fraud-scoring-blue", 1), backend("fraud-scoring-green", 3)])
    assert steps(with_extra(tilted)) == ["TRF-06"]


def test_a_route_with_default_weights_is_judged() -> None:
    """An omitted weight is 1 (Gateway API): one backend alone takes all of the rule."""
    assert steps(with_extra(extra(backends=[backend("fraud-scoring-shadow")]))) == [
        "TRF-06",
        "TRF-07",
    ]


@pytest.mark.parametrize(
    ("kind", "version"),
    [
        ("GRPCRoute", "v1"),
        ("TCPRoute", "v1alpha2"),
        ("TLSRoute", "v1alpha3"),
        ("HTTPRoute", "v1beta1"),
    ],
)
def test_every_route_kind_and_version_is_judged(kind: str, version: str) -> None:
    assert steps(with_extra(extra(kind=kind, version=version))) == ["TRF-06", "TRF-07"]


def test_a_hand_made_service_selecting_the_canary_pods_is_followed() -> None:
    """The second route names a Service the program did not declare, whose selector picks the
    shadow's pods: the pods' labels say whose traffic it is."""
    service = copy.deepcopy(find(kubernetes_stack(), "fraud-scoring-shadow-service"))
    service = dataclasses.replace(
        service,
        name="quiet",
        urn=service.urn.replace("fraud-scoring-shadow-service", "quiet"),
        inputs={
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "quiet", "namespace": NAMESPACE},
            "spec": {
                "type": "ClusterIP",
                # app.kubernetes.io/instance, not the mlep labels: still the shadow's pods.
                "selector": {"app.kubernetes.io/instance": "fraud-scoring-shadow"},
                "ports": [{"port": 3000}],
            },
        },
    )
    resources = with_extra(service, extra(backends=[backend("quiet", 1)]))
    assert steps(resources) == ["TRF-06", "TRF-07"]


def test_a_backend_in_its_own_namespace_named_explicitly_is_the_same_service() -> None:
    route = extra(backends=[backend("fraud-scoring-shadow", 1, namespace=NAMESPACE)])
    assert steps(with_extra(route)) == ["TRF-06", "TRF-07"]


def test_a_route_to_a_service_outside_every_endpoint_is_not_an_endpoint_step() -> None:
    """A maintenance page beside blue: blue keeps its share of what reaches the endpoint."""
    route = extra(
        backends=[backend("fraud-scoring-blue", 1), backend("maintenance", 1, kind="Service")]
    )
    assert steps(with_extra(route)) == []


def test_backends_of_other_kinds_count_as_elsewhere() -> None:
    route = extra(
        backends=[
            backend("fraud-scoring-blue", 9),
            backend("ext", 1, group="gateway.envoyproxy.io", kind="Backend"),
        ]
    )
    assert steps(with_extra(route)) == []


def test_a_backend_of_another_kind_takes_its_weight_from_the_endpoints_deployments() -> None:
    """An Envoy Gateway Backend at 1 beside the idle shadow at 1: the shadow takes 50 % of the
    rule (TRF-06): another kind of backend is a known elsewhere, not an unknown."""
    route = extra(
        backends=[
            backend("fraud-scoring-shadow", 1),
            backend("ext", 1, group="gateway.envoyproxy.io", kind="Backend"),
        ]
    )
    assert steps(with_extra(route)) == ["TRF-06"]


def test_two_backends_to_one_deployment_add_up() -> None:
    """Two Services of the shadow, 1 each, beside blue at 2: the shadow takes 50 % (TRF-06, 07)."""
    service = find(kubernetes_stack(), "fraud-scoring-shadow-service")
    twin = dataclasses.replace(
        copy.deepcopy(service),
        name="twin",
        urn=service.urn.replace("fraud-scoring-shadow-service", "twin"),
    )
    twin.inputs["metadata"]["name"] = "twin"
    route = extra(
        backends=[
            backend("fraud-scoring-blue", 2),
            backend("fraud-scoring-shadow", 1),
            backend("twin", 1),
        ]
    )
    assert steps(with_extra(twin, route), maxCanaryPercent=49) == ["TRF-06", "TRF-07"]
    assert steps(with_extra(twin, route)) == ["TRF-06"]


def test_a_route_to_another_endpoint_is_judged_as_that_endpoint() -> None:
    """Two routes for two different endpoints stay silent: churn keeps gbm-v3 at 100 %."""
    route = extra(name="churn-extra", backends=[backend("churn-propensity-gbm-v3", 5)])
    assert steps(with_extra(route)) == []


def test_a_backend_name_unknown_at_preview_skips_the_rule() -> None:
    route = extra(backends=[backend(UNKNOWN_STRING_VALUE, 1), backend("fraud-scoring-shadow", 1)])
    assert steps(with_extra(route)) == []


def test_rollback_through_a_second_route_is_still_allowed() -> None:
    """Everything back to blue (the dominant deployment) is TRF-08's exemption on any route."""
    assert steps(with_extra(extra(backends=[backend("fraud-scoring-blue", 1)]))) == []


# ---- TRF-02/03: mirror summed over every filter ---------------------------------------------


def mirror_to(service: str, percent: float) -> dict[str, Any]:
    return mirror_filter(service, percent=percent)


def program_route_mirror(resources: list[Registration], *filters: dict[str, Any]) -> None:
    """The program's route with its own mirror filter replaced by ``filters``."""
    rule = find(resources, "fraud-scoring-route").inputs["spec"]["rules"][0]
    rule["filters"] = [f for f in rule["filters"] if f["type"] != "RequestMirror"] + list(filters)


def mirror_findings(resources: list[Registration]) -> list[str]:
    return rule_ids([m for m, _ in reports(policy(TRF0203), stack_args(resources))])


def test_two_mirror_filters_at_exactly_50_in_total_pass() -> None:
    resources = kubernetes_stack()
    program_route_mirror(
        resources, mirror_to("fraud-scoring-shadow", 25), mirror_to("fraud-scoring-shadow", 25)
    )
    assert mirror_findings(resources) == []


def test_two_mirror_filters_over_50_in_total_are_reported() -> None:
    resources = kubernetes_stack()
    program_route_mirror(
        resources, mirror_to("fraud-scoring-shadow", 30), mirror_to("fraud-scoring-shadow", 30)
    )
    (message,) = [m for m, _ in reports(policy(TRF0203), stack_args(resources))]
    assert "(TRF-02)" in message
    assert "'shadow' is 60% in total" in message


def test_a_backend_filter_mirror_adds_to_the_rule_filter() -> None:
    resources = kubernetes_stack()
    rule = find(resources, "fraud-scoring-route").inputs["spec"]["rules"][0]
    rule["backendRefs"][0]["filters"] = [mirror_to("fraud-scoring-shadow", 31)]
    assert mirror_findings(resources) == ["TRF-02"]  # 20 + 31


def test_mirror_on_a_second_route_adds_to_the_program_route() -> None:
    sneaky = extra(
        backends=[backend("fraud-scoring-blue", 1)],
        filters=[mirror_to("fraud-scoring-shadow", 40)],
    )
    assert mirror_findings(with_extra(sneaky)) == ["TRF-02"]  # 20 + 40


def test_a_fraction_mirror_counts_in_the_total() -> None:
    sneaky = extra(
        backends=[backend("fraud-scoring-blue", 1)],
        filters=[
            {
                "type": "RequestMirror",
                "requestMirror": {
                    "backendRef": {"name": "fraud-scoring-shadow", "port": 3000},
                    "fraction": {"numerator": 31, "denominator": 100},
                },
            }
        ],
    )
    assert mirror_findings(with_extra(sneaky)) == ["TRF-02"]


def test_mirroring_a_second_deployment_on_another_route_is_reported() -> None:
    sneaky = extra(
        backends=[backend("fraud-scoring-blue", 1)],
        filters=[mirror_to("fraud-scoring-green", 5)],
    )
    found = mirror_findings(with_extra(sneaky))
    # Two mirrored deployments, and green takes live traffic on the program's route.
    assert sorted(found) == ["TRF-02", "TRF-03"]


def test_mirror_for_another_endpoint_stays_that_endpoints() -> None:
    """Two endpoints, each mirroring within its cap: no sum across endpoints."""
    sneaky = extra(
        name="churn-extra",
        backends=[backend("churn-propensity-gbm-v3", 1)],
        filters=[mirror_to("fraud-scoring-shadow", 30)],
    )
    # 20 + 30 = 50 for fraud-scoring's shadow: at the cap, silent.
    assert mirror_findings(with_extra(sneaky)) == []


def test_mirror_steps_are_judged_on_the_total() -> None:
    """Previous mirror 20 %; a second route adds 30 %: 50 %, a 30-point rise (TRF-06)."""
    sneaky = extra(
        backends=[backend("fraud-scoring-blue", 1)],
        filters=[mirror_to("fraud-scoring-shadow", 30)],
    )
    assert steps(with_extra(sneaky)) == ["TRF-06"]


# ---- TRF-01 (in the TRF-05 policy): one Service for several deployments -----------------------


def test_a_service_selecting_several_deployments_is_reported() -> None:
    resources = kubernetes_stack()
    service = find(resources, "fraud-scoring-green-service")
    del service.inputs["spec"]["selector"][tokens.DEPLOYMENT_LABEL]
    (message,) = check(TRF05, stack_args(resources), ["TRF-01"])
    assert "several deployments of endpoint 'fraud-scoring' (blue, green, shadow)" in message


def test_trf05_waits_for_services_of_every_route_kind() -> None:
    route = extra(kind="GRPCRoute", backends=[backend("fraud-scoring-purple", 1)])
    (message,) = check(TRF05, stack_args(with_extra(route)), ["TRF-05"])
    assert "'fraud-scoring-purple', which is not in this stack" in message


# ---- TRF-09 and AV-01 see the traffic a second route sends ----------------------------------


def test_trf09_sees_live_traffic_from_a_second_route() -> None:
    resources = [r for r in with_extra(extra()) if not r.type.endswith(":PrometheusRule")]
    found = check(TRF09, stack_args(resources), ["TRF-09"] * 4)
    assert any("'shadow' takes 100% of live traffic" in m for m in found)


def test_av01_sees_live_traffic_from_a_second_route() -> None:
    """A shadow scaled down to one replica is fine while it takes no live traffic; live on a
    second route, it must run the prod minimum."""
    resources = kubernetes_stack()
    find(resources, "fraud-scoring-shadow-hpa").inputs["spec"]["minReplicas"] = 1
    before = [m for m, _ in reports(policy(AV01), stack_args(resources))]
    after = [m for m, _ in reports(policy(AV01), stack_args([*resources, extra()]))]
    assert not any("fraud-scoring/shadow" in m for m in before)
    assert any("fraud-scoring/shadow" in m for m in after)


# ---- NET-04: ExternalName and Ingress are exposure -------------------------------------------


def test_an_external_name_service_is_reported() -> None:
    resources = kubernetes_stack()
    service = find(resources, "fraud-scoring-shadow-service")
    service.inputs["spec"] = {"type": "ExternalName", "externalName": "db.internal.example.com"}
    found = [m for m, _ in reports(policy(NET04), stack_args(resources))]
    assert len(found) == 1, found
    assert "ExternalName" in found[0]
    assert "(NET-04)" in found[0]


def ingress(service: str, *, version: str = "v1", name: str = "public") -> Registration:
    if version == "v1":
        backend_ref = {"service": {"name": service, "port": {"number": 3000}}}
    else:  # extensions/v1beta1 and networking.k8s.io/v1beta1
        backend_ref = {"serviceName": service, "servicePort": 3000}
    group = "extensions" if version == "extensions" else "networking.k8s.io"
    api = "v1beta1" if version != "v1" else "v1"
    resource_type = f"kubernetes:{group}/{api}:Ingress"
    return Registration(
        urn=f"urn:pulumi:prod::ml-endpoints::{resource_type}::{name}",
        type=resource_type,
        name=name,
        custom=True,
        parent=None,
        dependencies=[],
        protect=False,
        inputs={
            "metadata": {"name": name, "namespace": NAMESPACE},
            "spec": {
                "rules": [
                    {
                        "http": {
                            "paths": [{"path": "/", "pathType": "Prefix", "backend": backend_ref}]
                        }
                    }
                ]
            },
        },
    )


@pytest.mark.parametrize("version", ["v1", "v1beta1", "extensions"])
def test_an_ingress_to_a_serving_service_is_reported(version: str) -> None:
    found = [
        m
        for m, _ in reports(
            policy(NET04), stack_args(with_extra(ingress("fraud-scoring-blue", version=version)))
        )
    ]
    assert len(found) == 1, found
    assert "Ingress 'public'" in found[0]
    assert "(NET-04)" in found[0]


def test_an_ingress_default_backend_to_a_serving_service_is_reported() -> None:
    route = ingress("unused")
    route.inputs["spec"] = {
        "defaultBackend": {"service": {"name": "fraud-scoring-green", "port": {"number": 3000}}}
    }
    found = [m for m, _ in reports(policy(NET04), stack_args(with_extra(route)))]
    assert len(found) == 1, found
    assert "'fraud-scoring-green'" in found[0]


def test_an_ingress_to_another_service_is_not_exposure_of_an_endpoint() -> None:
    found = [m for m, _ in reports(policy(NET04), stack_args(with_extra(ingress("docs-site"))))]
    assert found == []


# ---- ID-01 and TRF-10 hold for every route kind ---------------------------------------------

ID01 = "id-01-token-auth"
TRF10 = "trf-10-route-weights"


def auth_findings(resources: list[Registration]) -> list[str]:
    """ID-01 findings; the max scenario's fraud-scoring uses key auth, under a waiver."""
    config = {"keyAuthWaivers": ["fraud-scoring"]}
    return [m for m, _ in reports(policy(ID01), stack_args(resources, config))]


def test_id01_the_program_guards_every_route() -> None:
    assert auth_findings(kubernetes_stack()) == []


@pytest.mark.parametrize("kind", ["HTTPRoute", "GRPCRoute"])
def test_id01_an_unguarded_second_route_is_reported_for_the_endpoint_it_reaches(kind: str) -> None:
    (message,) = auth_findings(with_extra(extra(kind=kind)))
    assert "endpoint 'fraud-scoring' uses auth mode 'none'" in message


def test_id01_a_policy_for_an_httproute_does_not_guard_a_grpcroute_of_the_same_name() -> None:
    """SecurityPolicy targetRefs name a kind: fraud-scoring-auth guards the HTTPRoute
    `fraud-scoring` only."""
    twin = extra(kind="GRPCRoute", name="fraud-scoring")
    (message,) = auth_findings(with_extra(twin))
    assert "'fraud-scoring'" in message


@pytest.mark.parametrize(
    ("labels", "named"),
    [({tokens.ENDPOINT_LABEL: "churn-propensity"}, "churn-propensity"), ({}, "sneaky")],
    ids=["by-its-label", "by-its-name"],
)
def test_id01_an_unguarded_route_reaching_no_endpoint_is_named_by_label_or_name(
    labels: dict[str, str], named: str
) -> None:
    """Its only backend is an Envoy Gateway Backend: no Service, so no endpoint is reached."""
    ext = backend("ext", 1, group="gateway.envoyproxy.io", kind="Backend")
    route = extra(labels=labels, backends=[ext])
    (message,) = auth_findings(with_extra(route))
    assert f"endpoint {named!r} uses auth mode 'none'" in message


def test_trf10_judges_the_weights_of_every_route_kind() -> None:
    route = extra(kind="GRPCRoute", backends=[backend("fraud-scoring-blue", 0)])
    args = resource_args(route.type, route.inputs, name=route.name)
    assert rule_ids(violations(policy(TRF10), args)) == ["TRF-10"]


# ---- corners a mutation pass found -----------------------------------------------------------


def test_pods_with_the_endpoint_label_alone_are_no_deployment_of_it() -> None:
    """A Service to pods labelled with the endpoint but no deployment reaches no deployment:
    a route to it dilutes the endpoint's shares instead of being a step."""
    resources = kubernetes_stack()
    shadow = find(resources, "fraud-scoring-shadow-deployment")
    pod_labels = shadow.inputs["spec"]["template"]["metadata"]["labels"]
    del pod_labels[tokens.DEPLOYMENT_LABEL]
    pod_labels["rogue"] = "yes"
    service = find(resources, "fraud-scoring-shadow-service")
    rogue = dataclasses.replace(
        copy.deepcopy(service), name="rogue", urn=service.urn.replace("shadow-service", "rogue")
    )
    rogue.inputs["metadata"] = {"name": "rogue", "namespace": NAMESPACE}
    rogue.inputs["spec"]["selector"] = {"rogue": "yes"}
    sneaky = extra(backends=[backend("rogue", 1)])
    assert steps([*resources, rogue, sneaky]) == []
    settings = routing.stack_traffic(stack_args([*resources, rogue, sneaky]).resources)
    assert [s.traffic for s in settings if s.resource.urn == sneaky.urn] == []


def test_a_service_selecting_no_pod_of_the_stack_is_read_by_its_labels() -> None:
    service = find(kubernetes_stack(), "fraud-scoring-shadow-service")
    labelled = dataclasses.replace(
        copy.deepcopy(service),
        name="outside",
        urn=service.urn.replace("fraud-scoring-shadow-service", "outside"),
    )
    labelled.inputs["metadata"]["name"] = "outside"
    labelled.inputs["spec"]["selector"] = {"app": "declared-elsewhere"}
    assert steps(with_extra(labelled, extra(backends=[backend("outside", 1)]))) == [
        "TRF-06",
        "TRF-07",
    ]
    labelled.inputs["metadata"]["labels"] = {}
    assert steps(with_extra(labelled, extra(backends=[backend("outside", 1)]))) == []


def test_a_backend_of_another_group_is_no_service_of_the_endpoint() -> None:
    route = extra(backends=[backend("fraud-scoring-shadow", 1, group="example.io", kind="Service")])
    assert steps(with_extra(route)) == []


@pytest.mark.parametrize(
    "unknown",
    [
        {"namespace": UNKNOWN_STRING_VALUE},
        {"kind": UNKNOWN_STRING_VALUE},
        {"group": UNKNOWN_STRING_VALUE},
        {"weight": UNKNOWN_NUMBER_VALUE},
    ],
    ids=["namespace", "kind", "group", "weight"],
)
def test_a_backend_unknown_at_preview_leaves_the_rule_to_pulumi_up(unknown: dict[str, Any]) -> None:
    route = extra(backends=[backend("fraud-scoring-shadow", **({"weight": 1} | unknown))])
    assert steps(with_extra(route)) == []


@pytest.mark.parametrize(
    "name", [UNKNOWN_STRING_VALUE, "", None], ids=["unknown-at-preview", "empty", "absent"]
)
def test_trf05_a_backend_without_a_known_name_is_no_service_to_wait_for(name: Any) -> None:
    """A name unknown at preview is checked on `pulumi up`; an empty or absent one is the
    CRD's to refuse: neither is reported as a Service missing from the stack."""
    ref = backend("fraud-scoring-shadow", 1)
    ref.pop("name") if name is None else ref.update(name=name)
    route = extra(backends=[ref])
    route.dependencies.append(find(kubernetes_stack(), "fraud-scoring-shadow-service").urn)
    assert check(TRF05, stack_args(with_extra(route)), []) == []


def test_trf05_an_empty_backend_namespace_is_the_routes_own() -> None:
    route = extra(backends=[backend("fraud-scoring-shadow", 1, namespace="")])
    route.dependencies.append(find(kubernetes_stack(), "fraud-scoring-shadow-service").urn)
    assert check(TRF05, stack_args(with_extra(route)), []) == []


def test_pod_labels_unknown_at_preview_leave_their_services_to_pulumi_up() -> None:
    resources = kubernetes_stack()
    shadow = find(resources, "fraud-scoring-shadow-deployment")
    shadow.inputs["spec"]["template"]["metadata"]["labels"][tokens.DEPLOYMENT_LABEL] = (
        UNKNOWN_STRING_VALUE
    )
    # Known, green would take 75 % here (a 50-point rise); the rule waits for `pulumi up`.
    route = extra(backends=[backend("fraud-scoring-shadow", 1), backend("fraud-scoring-green", 3)])
    assert steps([*resources, route]) == []


def test_an_invalid_weight_spoils_the_rule_for_the_step_rules() -> None:
    """ "100" is no weight (TRF-10 reports it); the rule's shares cannot be computed."""
    route = extra(backends=[backend("fraud-scoring-shadow", 1), backend("fraud-scoring-blue", 0)])
    route.inputs["spec"]["rules"][0]["backendRefs"][1]["weight"] = "100"
    assert steps(with_extra(route)) == []
    route.inputs["spec"]["rules"][0]["backendRefs"][0]["weight"] = "1"
    route.inputs["spec"]["rules"][0]["backendRefs"][1]["weight"] = 1
    assert steps(with_extra(route)) == []


def test_two_azure_stacks_read_in_turn_each_get_their_own_traffic() -> None:
    """Azure stacks have no route, so no Services index resets the memo on their behalf."""
    blue = stack_args(golden_stack(traffic={"blue": 100.0, "green": 0.0})).resources
    green = stack_args(golden_stack(traffic={"blue": 0.0, "green": 100.0})).resources
    for _ in range(2):
        for resources, live in ((blue, "blue"), (green, "green")):
            found = routing.stack_traffic(resources)
            (traffic,) = [s.traffic.traffic for s in found if s.traffic.traffic is not None]
            assert traffic[live] == 100.0


def test_two_stacks_read_in_turn_each_get_their_own_services() -> None:
    first = stack_args(kubernetes_stack()).resources
    second = stack_args(with_extra(extra())).resources
    for _ in range(2):
        assert routing.services_of(first).by_ref != {}
        assert routing.services_of(second) is not routing.services_of(first)
        assert routing.services_of(second) is routing.services_of(second)


def test_one_stack_is_read_once_for_every_policy() -> None:
    """The memo: every stack policy of one evaluation gets the same settings and index."""
    resources = stack_args(with_extra(extra())).resources
    assert routing.stack_traffic(resources) is routing.stack_traffic(resources)
    assert routing.services_of(resources) is routing.services_of(resources)


def test_two_stacks_read_in_turn_each_get_their_own_traffic() -> None:
    """The per-stack memo never hands one stack's traffic to another."""
    clean = stack_args(kubernetes_stack(), steps_config())
    sneaky = stack_args(with_extra(extra()), steps_config())
    for _ in range(2):
        assert [m for m, _ in reports(policy(TRF0608), clean)] == []
        assert len(reports(policy(TRF0608), sneaky)) == 2
        assert [m for m, _ in reports(policy(TRF05), clean)] == []
        assert (
            len(
                reports(
                    policy(TRF05),
                    stack_args(
                        with_extra(extra(kind="GRPCRoute", backends=[backend("nobody", 1)]))
                    ),
                )
            )
            == 1
        )
