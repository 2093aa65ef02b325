"""Every policy of the pack, called directly with arguments built the way the SDK builds them.

Each rule has golden resources (or stacks) that pass, and failing fixtures that change exactly
one thing; every case asserts the exact number of violations, since a false positive is as much
a failure as a miss (POLICY-RULES.md, "How the pack is tested"). Values are written as the
engine delivers them: every number a float, unknowns as the SDK's sentinels behind its proxy.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import Any

import pytest
from pulumi_policy import ResourceValidationPolicy, StackValidationPolicy
from pulumi_policy.proxy import (
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
)

from tests.policy_helpers import (
    ABSENT,
    POLICIES,
    POLICIES_DIR,
    StackResource,
    assert_violations,
    changed,
    deployment_props,
    endpoint_props,
    golden_stack,
    policy,
    reports,
    resource_args,
    resource_urn,
    stack_args,
    template_endpoint,
    tokens,
    traffic_props,
    violations,
)

GOV01 = "gov-01-required-tags"
NET01 = "net-01-endpoint-private"
ID01 = "id-01-token-auth"
TRF01 = "trf-01-traffic-weights"
TRF0203 = "trf-02-03-mirror-traffic"
TRF05 = "trf-05-traffic-waits-for-deployments"
TRF11 = "trf-11-endpoint-protected"

ENDPOINT, DEPLOYMENT, TRAFFIC = (
    tokens.ONLINE_ENDPOINT,
    tokens.ONLINE_DEPLOYMENT,
    tokens.ARM_DEPLOYMENT,
)
# Where the traffic resource's ARM template keeps the endpoint it PUTs.
TEMPLATE = ("properties", "template", "resources", 0)


def endpoint(props: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    props = props if props is not None else endpoint_props()
    return resource_args(ENDPOINT, props, name=props.get("endpointName", "x"), **kwargs)


def traffic(props: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    return resource_args(
        TRAFFIC, props if props is not None else traffic_props(), name="traffic", **kwargs
    )


def deployment(props: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    return resource_args(
        DEPLOYMENT, props if props is not None else deployment_props(), name="blue", **kwargs
    )


def test_pack_has_one_policy_per_rule_group() -> None:
    assert [p.name for p in POLICIES] == [
        GOV01,
        "gov-02-registered-models",
        "gov-03-tag-limits",
        NET01,
        "net-02-workspace-private-link",
        "net-03-deployment-egress",
        "net-04-namespace-isolated",
        ID01,
        "id-02-keys-in-key-vault",
        "id-03-separated-roles",
        "sec-01-secret-expiry",
        "sec-02-no-secret-env",
        TRF01,
        TRF0203,
        "trf-04-managed-only-features",
        TRF05,
        "trf-06-08-traffic-steps",
        "trf-09-live-deployments-alerted",
        "trf-10-route-weights",
        TRF11,
        "av-01-enough-instances",
        "av-02-autoscale-sane",
        "av-03-timeouts-and-probes",
        "av-04-hpa-and-pdb",
        "pod-01-probes",
        "pod-02-requests-and-limits",
        "pod-03-image-pinned",
        "pod-04-restricted-security",
        "pod-05-labels-namespace-account",
        "obs-01-alerts-complete",
        "obs-02-diagnostics",
        "obs-03-prometheus-rule-hygiene",
    ]


def test_every_rule_of_the_rules_file_has_a_policy() -> None:
    """Each rule id of POLICY-RULES.md is named by a policy (TRF-08 is TRF-06's exemption)."""
    named = " ".join(f"{p.name} {p.description}" for p in POLICIES).upper()
    rules = [f"GOV-0{i}" for i in (1, 2, 3)] + [f"NET-0{i}" for i in (1, 2, 3, 4)]
    rules += ["ID-01", "ID-02", "ID-03", "SEC-01", "SEC-02"]
    rules += [f"TRF-{i:02}" for i in range(1, 12)] + [f"AV-0{i}" for i in (1, 2, 3, 4)]
    rules += [f"POD-0{i}" for i in range(1, 6)] + [f"OBS-0{i}" for i in (1, 2, 3)]
    assert [rule for rule in rules if rule not in named] == []


def test_every_policy_has_metadata() -> None:
    for p in POLICIES:
        assert p.severity is not None, p.name
        assert p.remediation_steps, p.name
        assert (p.url or "").endswith(f"#{p.name}"), p.name


def test_every_report_passes_the_urn_argument() -> None:
    """`report(message, urn)` everywhere: None for resource policies, the resource for stack
    policies (the SDK attaches a None urn to the resource being analyzed)."""
    calls = [
        (path.name, node)
        for path in sorted((POLICIES_DIR / "mlep_policies").glob("*.py"))
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "report"
    ]
    assert calls
    assert [(name, len(call.args)) for name, call in calls if len(call.args) != 2] == []


# GOV-01: owner, application, data-sensitivity on every taggable Azure resource.


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(endpoint(), id="endpoint"),
        pytest.param(
            deployment(changed(deployment_props(), "tags", "model-family", to="gbm")),
            id="deployment-with-extra-tag",
        ),
        pytest.param(traffic(), id="traffic-with-template-endpoint"),
        pytest.param(
            resource_args("azure-native:authorization:RoleAssignment", {"principalId": "p"}),
            id="azure-resource-without-tags-input",
        ),
    ],
)
def test_gov01_passes_golden_resources(args: Any) -> None:
    assert_violations(GOV01, args, 0)


def test_gov01_reports_absent_tags() -> None:
    (message,) = assert_violations(GOV01, endpoint(changed(endpoint_props(), "tags")), 1, "GOV-01")
    assert "owner, application, data-sensitivity" in message


@pytest.mark.parametrize("key", ["owner", "application", "data-sensitivity"])
def test_gov01_reports_each_missing_tag(key: str) -> None:
    (message,) = assert_violations(
        GOV01, endpoint(changed(endpoint_props(), "tags", key)), 1, "GOV-01"
    )
    assert key in message


@pytest.mark.parametrize("value", ["", "   "], ids=["empty", "blank"])
def test_gov01_reports_empty_owner(value: str) -> None:
    assert_violations(
        GOV01, endpoint(changed(endpoint_props(), "tags", "owner", to=value)), 1, "GOV-01"
    )


@pytest.mark.parametrize("value", ["secret", "Confidential"])
def test_gov01_reports_sensitivity_outside_the_allowed_set(value: str) -> None:
    props = changed(endpoint_props(), "tags", "data-sensitivity", to=value)
    (message,) = assert_violations(GOV01, endpoint(props), 1, "GOV-01")
    assert repr(value) in message


def test_gov01_reports_the_template_endpoint_without_tags() -> None:
    """The traffic template PUTs the endpoint with its full definition after creation: a
    template without tags strips them from the live endpoint."""
    assert_violations(GOV01, traffic(changed(traffic_props(), *TEMPLATE, "tags")), 1, "GOV-01")


def test_gov01_reports_any_azure_resource_with_incomplete_tags() -> None:
    props = {"tags": {"application": "fraud-detection", "data-sensitivity": "internal"}}
    args = resource_args("azure-native:insights:MetricAlert", props)
    (message,) = assert_violations(GOV01, args, 1, "GOV-01")
    assert "owner" in message


def test_gov01_required_tags_come_from_config() -> None:
    config = {"requiredTags": ["owner", "cost-center"]}
    without_application = changed(endpoint_props(), "tags", "application")
    assert_violations(GOV01, endpoint(without_application, config=config), 0)
    without_cost_center = changed(endpoint_props(), "tags", "cost-center")
    (message,) = assert_violations(GOV01, endpoint(without_cost_center, config=config), 1, "GOV-01")
    assert "cost-center" in message


def test_gov01_allowed_sensitivity_comes_from_config() -> None:
    assert_violations(GOV01, endpoint(config={"allowedSensitivity": ["confidential"]}), 0)
    assert_violations(
        GOV01, endpoint(config={"allowedSensitivity": ["public", "internal"]}), 1, "GOV-01"
    )


@pytest.mark.parametrize(
    "props",
    [
        pytest.param(changed(endpoint_props(), "tags", to=UNKNOWN_OBJECT_VALUE), id="tags"),
        pytest.param(
            changed(endpoint_props(), "tags", "owner", to=UNKNOWN_STRING_VALUE), id="owner"
        ),
        pytest.param(
            changed(endpoint_props(), "tags", "data-sensitivity", to=UNKNOWN_STRING_VALUE),
            id="data-sensitivity",
        ),
    ],
)
def test_gov01_skips_tags_unknown_at_preview(props: dict[str, Any]) -> None:
    assert_violations(GOV01, endpoint(props), 0)


# NET-01: publicNetworkAccess Disabled on the endpoint and in the template; absent = enabled.


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(endpoint(), id="endpoint"),
        pytest.param(traffic(), id="template-endpoint"),
        pytest.param(
            endpoint(changed(endpoint_props(), "properties", "publicNetworkAccess", to="disabled")),
            id="lower-case",
        ),
        pytest.param(deployment(), id="deployment-not-an-endpoint"),
    ],
)
def test_net01_passes_private_endpoints(args: Any) -> None:
    assert_violations(NET01, args, 0)


@pytest.mark.parametrize(
    "value", ["Enabled", ABSENT, True, ""], ids=["enabled", "absent", "true", "empty"]
)
def test_net01_reports_public_endpoint(value: Any) -> None:
    props = changed(endpoint_props(), "properties", "publicNetworkAccess", to=value)
    assert_violations(NET01, endpoint(props), 1, "NET-01")


@pytest.mark.parametrize("value", ["Enabled", ABSENT], ids=["enabled", "absent"])
def test_net01_reports_public_template_endpoint(value: Any) -> None:
    props = changed(traffic_props(), *TEMPLATE, "properties", "publicNetworkAccess", to=value)
    assert_violations(NET01, traffic(props), 1, "NET-01")


def test_net01_reports_template_endpoint_without_properties() -> None:
    assert_violations(
        NET01, traffic(changed(traffic_props(), *TEMPLATE, "properties")), 1, "NET-01"
    )


def test_net01_reports_the_public_one_of_two_template_endpoints() -> None:
    props = traffic_props()
    public = changed(template_endpoint(props), "properties", "publicNetworkAccess", to="Enabled")
    props["properties"]["template"]["resources"].append(
        changed(public, "name", to="mlw-prod/churn-propensity")
    )
    (message,) = assert_violations(NET01, traffic(props), 1, "NET-01")
    assert "'Enabled'" in message


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(
            endpoint(
                changed(
                    endpoint_props(), "properties", "publicNetworkAccess", to=UNKNOWN_STRING_VALUE
                )
            ),
            id="endpoint",
        ),
        pytest.param(
            endpoint(changed(endpoint_props(), "properties", to=UNKNOWN_OBJECT_VALUE)),
            id="endpoint-properties",
        ),
        pytest.param(
            traffic(
                changed(
                    traffic_props(),
                    *TEMPLATE,
                    "properties",
                    "publicNetworkAccess",
                    to=UNKNOWN_STRING_VALUE,
                )
            ),
            id="template",
        ),
        pytest.param(
            traffic(changed(traffic_props(), *TEMPLATE, to=UNKNOWN_OBJECT_VALUE)),
            id="template-resource",
        ),
    ],
)
def test_net01_skips_access_unknown_at_preview(args: Any) -> None:
    assert_violations(NET01, args, 0)


# ID-01: AADToken or AMLToken; Key only with a waiver naming the endpoint. A stack policy (a
# route's auth lives on the SecurityPolicy that targets it), fed one resource at a time here.


def id01(resource_type: str, props: dict[str, Any], config: Any = None) -> Any:
    name = props.get("endpointName", "x")
    return stack_args([StackResource(resource_type, name, props)], config)


@pytest.mark.parametrize("mode", ["AADToken", "AMLToken", "aad_token", "aml_token", "aadtoken"])
def test_id01_passes_token_auth_in_any_spelling(mode: str) -> None:
    assert_violations(ID01, id01(ENDPOINT, endpoint_props(auth_mode=mode)), 0)


@pytest.mark.parametrize("mode", ["Key", "key"])
def test_id01_passes_key_auth_with_a_waiver_naming_the_endpoint(mode: str) -> None:
    config = {"keyAuthWaivers": ["fraud-scoring"]}
    assert_violations(ID01, id01(ENDPOINT, endpoint_props(auth_mode=mode), config), 0)
    assert_violations(ID01, id01(TRAFFIC, traffic_props(auth_mode=mode), config), 0)


def test_id01_passes_the_template_endpoint_and_ignores_deployments() -> None:
    assert_violations(ID01, id01(TRAFFIC, traffic_props()), 0)
    assert_violations(ID01, id01(DEPLOYMENT, deployment_props()), 0)


def test_id01_reports_key_auth_without_a_waiver() -> None:
    (message,) = assert_violations(
        ID01, id01(ENDPOINT, endpoint_props(auth_mode="Key")), 1, "ID-01"
    )
    assert "'fraud-scoring'" in message


def test_id01_reports_key_auth_waived_for_another_endpoint() -> None:
    config = {"keyAuthWaivers": ["churn-propensity"]}
    assert_violations(ID01, id01(ENDPOINT, endpoint_props(auth_mode="Key"), config), 1, "ID-01")


def test_id01_reports_absent_auth_mode() -> None:
    """Azure ML's default auth mode is key."""
    props = changed(endpoint_props(), "properties", "authMode")
    (message,) = assert_violations(ID01, id01(ENDPOINT, props), 1, "ID-01")
    assert "'unset'" in message


@pytest.mark.parametrize("mode", ["aad-token", "Entra", True], ids=["dash", "entra", "true"])
def test_id01_reports_unknown_auth_modes(mode: Any) -> None:
    props = changed(endpoint_props(), "properties", "authMode", to=mode)
    assert_violations(ID01, id01(ENDPOINT, props), 1, "ID-01")


def test_id01_waiver_covers_key_auth_only() -> None:
    props = changed(endpoint_props(), "properties", "authMode", to="Entra")
    assert_violations(
        ID01, id01(ENDPOINT, props, {"keyAuthWaivers": ["fraud-scoring"]}), 1, "ID-01"
    )


def test_id01_reports_key_auth_in_the_template() -> None:
    """The traffic template is the endpoint's only writer after creation."""
    (message,) = assert_violations(ID01, id01(TRAFFIC, traffic_props(auth_mode="Key")), 1, "ID-01")
    assert "'fraud-scoring'" in message


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(
            id01(
                ENDPOINT,
                changed(endpoint_props(), "properties", "authMode", to=UNKNOWN_STRING_VALUE),
            ),
            id="endpoint",
        ),
        pytest.param(
            id01(
                TRAFFIC,
                changed(
                    traffic_props(), *TEMPLATE, "properties", "authMode", to=UNKNOWN_STRING_VALUE
                ),
            ),
            id="template",
        ),
    ],
)
def test_id01_skips_auth_mode_unknown_at_preview(args: Any) -> None:
    assert_violations(ID01, args, 0)


# TRF-01: whole-number weights 0-100 summing to 100 (or 0: the endpoint is out of service).


def with_traffic(weights: dict[str, Any]) -> Any:
    return traffic(traffic_props(weights))


@pytest.mark.parametrize(
    "weights",
    [
        pytest.param({"blue": 75.0, "green": 25.0}, id="75-25"),
        pytest.param({"blue": 100.0}, id="100"),
        pytest.param({"gbm-v3": 100.0, "gbm-v4": 0.0}, id="zero-weight-shadow"),
        pytest.param({"blue": 0.0, "green": 0.0}, id="out-of-service"),
        pytest.param({}, id="no-traffic"),
    ],
)
def test_trf01_passes_valid_weights(weights: dict[str, Any]) -> None:
    assert_violations(TRF01, with_traffic(weights), 0)


def test_trf01_passes_traffic_set_on_the_endpoint_itself() -> None:
    props = changed(endpoint_props(), "properties", "traffic", to={"blue": 100.0})
    assert_violations(TRF01, endpoint(props), 0)


def test_trf01_reports_traffic_set_on_the_endpoint_itself() -> None:
    props = changed(endpoint_props(), "properties", "traffic", to={"blue": 90.0})
    assert_violations(TRF01, endpoint(props), 1, "TRF-01")


def test_trf01_reports_traffic_summing_to_99() -> None:
    (message,) = assert_violations(TRF01, with_traffic({"blue": 75.0, "green": 24.0}), 1, "TRF-01")
    assert "99" in message


@pytest.mark.parametrize(
    "weight",
    [True, "50", 50.5, 101.0, -1.0],
    ids=["bool", "string", "fraction", "over-100", "negative"],
)
def test_trf01_reports_a_weight_that_is_not_a_whole_number_0_to_100(weight: Any) -> None:
    (message,) = assert_violations(
        TRF01, with_traffic({"blue": 50.0, "green": weight}), 1, "TRF-01"
    )
    assert "'green'" in message


def test_trf01_skips_weights_unknown_at_preview() -> None:
    assert_violations(TRF01, with_traffic({"blue": 75.0, "green": UNKNOWN_NUMBER_VALUE}), 0)


def test_trf01_still_reports_a_bad_weight_beside_an_unknown_one() -> None:
    weights = {"blue": UNKNOWN_NUMBER_VALUE, "green": True}
    assert_violations(TRF01, with_traffic(weights), 1, "TRF-01")


# TRF-02/03: mirror at most one deployment, at most 50 %, never one with live traffic.


def with_mirror(mirror: dict[str, Any], weights: dict[str, Any] | None = None) -> Any:
    weights = weights if weights is not None else {"gbm-v3": 100.0, "gbm-v4": 0.0}
    return traffic(traffic_props(weights, mirror, endpoint="churn-propensity"))


@pytest.mark.parametrize(
    "mirror",
    [
        pytest.param({"gbm-v4": 10.0}, id="10"),
        pytest.param({"gbm-v4": 50.0}, id="50"),
        pytest.param({"gbm-v4": 0.0}, id="0"),
        pytest.param({}, id="none"),
    ],
)
def test_trf0203_passes_one_shadow_at_most_50(mirror: dict[str, Any]) -> None:
    assert_violations(TRF0203, with_mirror(mirror), 0)


def test_trf0203_reports_mirror_51() -> None:
    assert_violations(TRF0203, with_mirror({"gbm-v4": 51.0}), 1, "TRF-02")


@pytest.mark.parametrize(
    "value", ["10", 10.5, True, -1.0], ids=["string", "fraction", "bool", "negative"]
)
def test_trf0203_reports_a_mirror_that_is_not_a_whole_number(value: Any) -> None:
    assert_violations(TRF0203, with_mirror({"gbm-v4": value}), 1, "TRF-02")


def test_trf0203_reports_two_mirrored_deployments() -> None:
    assert_violations(TRF0203, with_mirror({"gbm-v4": 10.0, "gbm-v5": 10.0}), 1, "TRF-02")


def test_trf0203_reports_mirror_to_a_deployment_with_live_traffic() -> None:
    assert_violations(TRF0203, with_mirror({"gbm-v3": 10.0}), 1, "TRF-03")


def test_trf0203_checks_mirror_set_on_the_endpoint_itself() -> None:
    props = endpoint_props()
    props["properties"] |= {
        "traffic": {"blue": 100.0, "green": 0.0},
        "mirrorTraffic": {"green": 60.0},
    }
    assert_violations(TRF0203, endpoint(props), 1, "TRF-02")


@pytest.mark.parametrize(
    ("mirror", "weights"),
    [
        pytest.param({"gbm-v4": UNKNOWN_NUMBER_VALUE}, None, id="mirror"),
        pytest.param(
            {"gbm-v4": 10.0}, {"gbm-v3": 100.0, "gbm-v4": UNKNOWN_NUMBER_VALUE}, id="live"
        ),
    ],
)
def test_trf0203_skips_values_unknown_at_preview(
    mirror: dict[str, Any], weights: dict[str, Any] | None
) -> None:
    assert_violations(TRF0203, with_mirror(mirror, weights), 0)


# TRF-05 (stack): traffic names deployments of its endpoint in the stack and waits for each.


def churn_stack() -> list[StackResource]:
    return golden_stack(
        ("gbm-v3", "gbm-v4"),
        {"gbm-v3": 100.0, "gbm-v4": 0.0},
        {"gbm-v4": 10.0},
        endpoint="churn-propensity",
    )


def traffic_resource(stack: list[StackResource]) -> StackResource:
    (found,) = [r for r in stack if r.type == TRAFFIC]
    return found


def assert_stack_violations(stack: list[StackResource], count: int, rule: str = "") -> list[str]:
    found = violations(policy(TRF05), stack_args(stack))
    assert len(found) == count, found
    for message in found:
        assert f"({rule})" in message, message
        assert "Fix:" in message, message
    return found


@pytest.mark.parametrize(
    "stack",
    [
        pytest.param(golden_stack(), id="blue-green"),
        pytest.param(churn_stack(), id="shadow"),
        pytest.param(golden_stack() + churn_stack(), id="two-endpoints"),
    ],
)
def test_trf05_passes_traffic_that_waits_for_its_deployments(stack: list[StackResource]) -> None:
    assert_stack_violations(stack, 0)


def test_trf05_reports_traffic_not_waiting_for_a_deployment() -> None:
    stack = golden_stack()
    waiting = traffic_resource(stack)
    waiting.dependencies.remove(resource_urn(DEPLOYMENT, "fraud-scoring-green"))
    (message,) = assert_stack_violations(stack, 1, "TRF-05")
    assert "'green'" in message


def test_trf05_reports_mirror_not_waiting_for_the_shadow() -> None:
    stack = churn_stack()
    traffic_resource(stack).dependencies.remove(resource_urn(DEPLOYMENT, "churn-propensity-gbm-v4"))
    assert_stack_violations(stack, 1, "TRF-05")


def test_trf05_reports_traffic_to_a_deployment_not_in_the_stack() -> None:
    stack = golden_stack(traffic={"blue": 75.0, "purple": 25.0})
    (message,) = assert_stack_violations(stack, 1, "TRF-01")
    assert "'purple'" in message


def test_trf05_reports_a_zero_weight_key_naming_no_deployment() -> None:
    """Azure rejects traffic that names a deployment which does not exist, whatever its share."""
    stack = golden_stack(("blue",), {"blue": 100.0, "green": 0.0})
    assert_stack_violations(stack, 1, "TRF-01")


def test_trf05_reports_traffic_to_a_deployment_of_another_endpoint() -> None:
    fraud = golden_stack(traffic={"blue": 75.0, "gbm-v3": 25.0})
    assert_stack_violations(fraud + churn_stack(), 1, "TRF-01")


def test_trf05_reports_the_traffic_resource() -> None:
    stack = golden_stack()
    traffic_resource(stack).dependencies = [resource_urn(ENDPOINT, "fraud-scoring")]
    found = reports(policy(TRF05), stack_args(stack))
    assert [urn for _, urn in found] == [traffic_resource(stack).urn] * 2


def test_trf05_reports_traffic_set_on_the_endpoint_itself() -> None:
    """An endpoint cannot wait for its own deployments, which is why traffic is separate."""
    stack = golden_stack(("blue",))[:2]
    stack[0].inputs["properties"]["traffic"] = {"blue": 100.0}
    assert_stack_violations(stack, 1, "TRF-05")


@pytest.mark.parametrize("field", ["endpointName", "deploymentName"])
def test_trf05_matches_deployments_whose_names_are_unknown_at_preview(field: str) -> None:
    stack = golden_stack()
    for resource in stack:
        if resource.type == DEPLOYMENT:
            resource.inputs[field] = UNKNOWN_STRING_VALUE
    assert_stack_violations(stack, 0)


def _endpoint_names_unknown(stack: list[StackResource]) -> list[StackResource]:
    """The stack as a preview of new endpoints shows it: each deployment's endpointName is the
    endpoint's output, unknown until the endpoint exists."""
    for resource in stack:
        if resource.type == DEPLOYMENT:
            resource.inputs["endpointName"] = UNKNOWN_STRING_VALUE
    return stack


def test_trf05_preview_reads_an_unknown_endpoint_name_from_the_endpoint_it_waits_for() -> None:
    """churn's traffic names `blue`, a deployment of fraud-scoring only. With every endpoint
    name unknown, the lookup used to take fraud-scoring's blue for churn's (issue 18, point 7)."""
    fraud = golden_stack()
    churn = golden_stack(("gbm-v3",), {"gbm-v3": 75.0, "blue": 25.0}, endpoint="churn-propensity")
    stack = _endpoint_names_unknown(fraud + churn)
    (message,) = assert_stack_violations(stack, 1, "TRF-01")
    assert "endpoint 'churn-propensity': traffic names 'blue'" in message


def test_trf05_preview_with_unknown_endpoint_names_passes_the_golden_stacks() -> None:
    assert_stack_violations(_endpoint_names_unknown(golden_stack() + churn_stack()), 0)


def test_trf05_preview_waits_for_the_deployment_of_its_own_endpoint() -> None:
    """fraud's traffic stops waiting for its green; churn's green (same name, other endpoint)
    does not stand in for it once endpoint names come from the endpoints waited for."""
    fraud = golden_stack()
    churn = golden_stack(("green",), {"green": 100.0}, endpoint="churn-propensity")
    traffic_resource(fraud).dependencies.remove(resource_urn(DEPLOYMENT, "fraud-scoring-green"))
    traffic_resource(fraud).dependencies.append(resource_urn(DEPLOYMENT, "churn-propensity-green"))
    (message,) = assert_stack_violations(_endpoint_names_unknown(fraud + churn), 1, "TRF-05")
    assert "'green'" in message


def test_trf05_preview_without_a_known_endpoint_still_matches_any() -> None:
    """No endpoint among the dependencies names it: the name may be anything until `up`."""
    stack = _endpoint_names_unknown(golden_stack())
    for resource in stack:
        if resource.type == DEPLOYMENT:
            resource.dependencies = []
    assert_stack_violations(stack, 0)


def test_trf05_preview_an_unknown_deployment_name_stands_in_for_its_own_endpoint_only() -> None:
    """fraud-scoring's deployment names are unknown (its endpoint's are not): they stand in for
    the names its traffic uses, never for churn's `gbm-v4`, which no deployment declares."""
    fraud = golden_stack()
    for resource in fraud:
        if resource.type == DEPLOYMENT:
            resource.inputs["deploymentName"] = UNKNOWN_STRING_VALUE
    churn = golden_stack(("gbm-v3",), {"gbm-v3": 75.0, "gbm-v4": 25.0}, endpoint="churn-propensity")
    (message,) = assert_stack_violations(fraud + churn, 1, "TRF-01")
    assert "endpoint 'churn-propensity': traffic names 'gbm-v4'" in message


def test_trf05_preview_without_a_known_endpoint_matches_only_the_same_deployment_name() -> None:
    """An unknown endpoint name with a known deployment name stands in for that name alone:
    traffic naming `green` beside the only deployment, `blue`, is still reported."""
    stack = _endpoint_names_unknown(golden_stack(("blue",), {"blue": 75.0, "green": 25.0}))
    for resource in stack:
        if resource.type == DEPLOYMENT:
            resource.dependencies = []
    (message,) = assert_stack_violations(stack, 1, "TRF-01")
    assert "traffic names 'green'" in message


def test_trf05_skips_weights_unknown_at_preview() -> None:
    assert_stack_violations(golden_stack(traffic={"blue": 75.0, "green": UNKNOWN_NUMBER_VALUE}), 0)


# TRF-11: endpoints are protected (deleting one deletes every deployment behind it).


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(endpoint(protect=True), id="protected-endpoint"),
        pytest.param(deployment(), id="deployment"),
        pytest.param(traffic(), id="traffic-record"),
    ],
)
def test_trf11_passes_protected_endpoints(args: Any) -> None:
    assert_violations(TRF11, args, 0)


@pytest.mark.parametrize(
    "props",
    [
        pytest.param(endpoint_props(), id="aad-endpoint"),
        pytest.param(endpoint_props("churn-propensity", "AMLToken"), id="aml-endpoint"),
        pytest.param(
            changed(endpoint_props(), "properties", to=UNKNOWN_OBJECT_VALUE), id="unknown-props"
        ),
    ],
)
def test_trf11_reports_unprotected_endpoint(props: dict[str, Any]) -> None:
    assert_violations(TRF11, endpoint(props, protect=False), 1, "TRF-11")


# Unknowns anywhere: no policy crashes or reports on a golden resource with an unknown value.


def sentinel(value: Any) -> str:
    if isinstance(value, bool):
        return UNKNOWN_BOOLEAN_VALUE
    if isinstance(value, int | float):
        return UNKNOWN_NUMBER_VALUE
    if isinstance(value, dict):
        return UNKNOWN_OBJECT_VALUE
    if isinstance(value, list):
        return UNKNOWN_ARRAY_VALUE
    return UNKNOWN_STRING_VALUE


def with_each_unknown(props: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """``props`` with one value (leaf or container) replaced by the unknown sentinel, for each."""

    def paths(node: Any, path: tuple[str | int, ...]) -> Iterator[tuple[str | int, ...]]:
        if path:
            yield path
        items = (
            node.items()
            if isinstance(node, dict)
            else enumerate(node)
            if isinstance(node, list)
            else []
        )
        for key, child in items:
            yield from paths(child, (*path, key))

    for path in paths(props, ()):
        node: Any = props
        for key in path:
            node = node[key]
        yield ".".join(map(str, path)), changed(props, *path, to=sentinel(node))


GOLDEN_RESOURCES = {
    "endpoint": (ENDPOINT, endpoint_props()),
    "churn-endpoint": (ENDPOINT, endpoint_props("churn-propensity", "AMLToken")),
    "deployment": (DEPLOYMENT, deployment_props()),
    "traffic": (TRAFFIC, traffic_props()),
    "shadow-traffic": (
        TRAFFIC,
        traffic_props({"gbm-v3": 100.0, "gbm-v4": 0.0}, {"gbm-v4": 10.0}, "churn-propensity"),
    ),
}


@pytest.mark.parametrize(
    "name", [p.name for p in POLICIES if isinstance(p, ResourceValidationPolicy)]
)
def test_resource_policy_survives_any_unknown_value(name: str) -> None:
    for label, (resource_type, golden) in GOLDEN_RESOURCES.items():
        for path, props in with_each_unknown(golden):
            args = resource_args(resource_type, props, protect=True, name=label)
            assert violations(policy(name), args) == [], f"{label}: {path} unknown"


@pytest.mark.parametrize("name", [p.name for p in POLICIES if isinstance(p, StackValidationPolicy)])
def test_stack_policy_survives_any_unknown_value(name: str) -> None:
    """An unknown value never crashes a stack policy nor adds a finding to the golden stack's."""
    baseline = set(violations(policy(name), stack_args(golden_stack() + churn_stack())))
    for index, resource in enumerate(golden_stack() + churn_stack()):
        for path, props in with_each_unknown(resource.inputs):
            stack = golden_stack() + churn_stack()
            stack[index].inputs = props
            found = set(violations(policy(name), stack_args(stack)))
            assert found <= baseline, f"{resource.name}: {path}"
