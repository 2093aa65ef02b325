"""GOV-01 (Kubernetes), GOV-02, GOV-03, NET-02 to NET-04, ID-01 (Kubernetes), ID-02, ID-03,
SEC-01 and SEC-02, checked against what the real program declares.

Golden inputs are the registrations of the program itself (`run_namespace` on the shared
scenarios), so a policy is judged on exactly what it will see behind `pulumi preview`. Each
failing case changes one thing and asserts the exact list of violations: a false positive is as
much a failure as a miss (POLICY-RULES.md, "How the pack is tested").
"""

from __future__ import annotations

import copy
import functools
from typing import Any

import pytest
from pulumi_policy.proxy import (
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
)

from mlep.engine.runtime import Registration
from tests.conftest import run_namespace
from tests.policy_helpers import (
    ABSENT,
    StackResource,
    assert_violations,
    changed,
    policy,
    resource_args,
    stack_args,
    tokens,
    violations,
)
from tests.scenarios import GUID_A, GUID_C, kubernetes_scenario, scenario

GOV01 = "gov-01-required-tags"
GOV02 = "gov-02-registered-models"
GOV03 = "gov-03-tag-limits"
NET02 = "net-02-workspace-private-link"
NET03 = "net-03-deployment-egress"
NET04 = "net-04-namespace-isolated"
ID01 = "id-01-token-auth"
ID02 = "id-02-keys-in-key-vault"
ID03 = "id-03-separated-roles"
SEC01 = "sec-01-secret-expiry"
SEC02 = "sec-02-no-secret-env"

SUB = "00000000-0000-0000-0000-000000000000"
RG = f"/subscriptions/{SUB}/resourceGroups/rg-ml-prod"
WORKSPACE_ID = f"{RG}/providers/Microsoft.MachineLearningServices/workspaces/mlw-prod"
VAULT_ID = f"{RG}/providers/Microsoft.KeyVault/vaults/kv-ml-prod"

# Names of the program's resources in the `max` scenarios.
AZ_DEPLOYMENT = "fraud-scoring-blue"
AZ_ENDPOINT = "fraud-scoring"
AZ_TRAFFIC = "fraud-scoring-traffic"
AZ_SECRET = "mlep-fraud-scoring-primary-key"
AZ_PRIVATE_ENDPOINT = "mlw-prod-private-access"
AZ_DNS_ZONE_GROUP = "mlw-prod-private-access-dns"
AZ_KEY_READER = f"fraud-scoring-primary-key-reader-{GUID_C}"
AZ_TRAFFIC_ROLE = "mlw-prod-traffic-operator-role"
AZ_DEVELOPER_ROLE = "mlw-prod-deployment-developer-role"
K8S_DEPLOYMENT = "fraud-scoring-blue-deployment"
K8S_SERVICE = "fraud-scoring-blue-service"
K8S_DEFAULT_DENY = "serving-default-deny"
K8S_ALLOW = "fraud-scoring-allow-gateway"
K8S_ROUTE = "fraud-scoring-route"
K8S_AUTH = "fraud-scoring-auth"

GATEWAY_PEER = {
    "namespaceSelector": {},
    "podSelector": {"matchLabels": {"gateway.envoyproxy.io/owning-gateway-name": "internal"}},
}
# Where the traffic resource's ARM template keeps the endpoint it PUTs.
TEMPLATE = ("properties", "template", "resources", 0)
# Where a Deployment keeps its first container.
CONTAINER = ("spec", "template", "spec", "containers", 0)


# The program's declarations, run once per scenario and copied for every test.


@functools.cache
def _declared(target: str, name: str) -> tuple[Registration, ...]:
    namespace = scenario(name) if target == "azure" else kubernetes_scenario(name)
    return tuple(r for r in run_namespace(namespace).resources if r.custom)


def azure(name: str = "max") -> list[Registration]:
    """A fresh copy of the custom resources the program declares for an azure scenario."""
    return copy.deepcopy(list(_declared("azure", name)))


def kubernetes(name: str = "max") -> list[Registration]:
    """A fresh copy of the custom resources the program declares for a kubernetes scenario."""
    return copy.deepcopy(list(_declared("kubernetes", name)))


def named(resources: list[Any], name: str) -> Any:
    (found,) = [r for r in resources if r.name == name]
    return found


def without(resources: list[Any], *names: str) -> list[Any]:
    assert {r.name for r in resources} >= set(names)
    return [r for r in resources if r.name not in names]


def golden(target: str, name: str, scenario_name: str = "max") -> tuple[str, dict[str, Any]]:
    """(type, a copy of the inputs) of one resource the program declares."""
    resource = named(azure(scenario_name) if target == "azure" else kubernetes(scenario_name), name)
    return resource.type, resource.inputs


def edit(resources: list[Any], name: str, *path: str | int, to: Any = ABSENT) -> list[Any]:
    """``resources`` with one value of resource ``name`` changed (removed when ``to`` is absent)."""
    resource = named(resources, name)
    resource.inputs = changed(resource.inputs, *path, to=to)
    return resources


def check(
    name: str,
    resource_type: str,
    props: dict[str, Any],
    count: int,
    rule: str = "",
    *,
    config: Any = None,
) -> list[str]:
    """A resource policy on one resource."""
    return assert_violations(name, resource_args(resource_type, props, config=config), count, rule)


def check_stack(
    name: str, resources: list[Any], count: int, rule: str = "", *, config: Any = None
) -> list[str]:
    return assert_violations(name, stack_args(resources, config), count, rule)


def every_resource(name: str, resources: list[Any], config: Any = None) -> list[str]:
    """A resource policy's findings over a whole stack."""
    return [
        message
        for r in resources
        for message in violations(
            policy(name), resource_args(r.type, r.inputs, config=config, name=r.name)
        )
    ]


# GOV-01 on Kubernetes: owner, application, data-sensitivity as labels.


@pytest.mark.parametrize("scenario_name", ["defaults", "waf_aligned", "max"])
def test_gov01_passes_every_kubernetes_object_of_the_program(scenario_name: str) -> None:
    assert every_resource(GOV01, kubernetes(scenario_name)) == []


@pytest.mark.parametrize("key", ["owner", "application", "data-sensitivity"])
def test_gov01_reports_each_missing_label(key: str) -> None:
    resource_type, props = golden("kubernetes", K8S_DEPLOYMENT)
    props = changed(props, "metadata", "labels", key)
    (message,) = check(GOV01, resource_type, props, 1, "GOV-01")
    assert key in message
    assert "(labels)" in message


@pytest.mark.parametrize(
    "name", [K8S_SERVICE, K8S_ROUTE, K8S_DEFAULT_DENY, K8S_AUTH, "fraud-scoring-secrets"]
)
def test_gov01_reports_a_missing_owner_label_on_any_kind(name: str) -> None:
    resource_type, props = golden("kubernetes", name)
    check(GOV01, resource_type, changed(props, "metadata", "labels", "owner"), 1, "GOV-01")


def test_gov01_reports_an_object_without_labels() -> None:
    resource_type, props = golden("kubernetes", K8S_DEPLOYMENT)
    (message,) = check(GOV01, resource_type, changed(props, "metadata", "labels"), 1, "GOV-01")
    assert "owner, application, data-sensitivity" in message


@pytest.mark.parametrize("value", ["", "  ", True], ids=["empty", "blank", "bool"])
def test_gov01_reports_an_empty_or_non_text_owner_label(value: Any) -> None:
    resource_type, props = golden("kubernetes", K8S_DEPLOYMENT)
    props = changed(props, "metadata", "labels", "owner", to=value)
    check(GOV01, resource_type, props, 1, "GOV-01")


@pytest.mark.parametrize("value", ["secret", "Confidential", "confidential "])
def test_gov01_reports_a_data_sensitivity_label_outside_the_set(value: str) -> None:
    resource_type, props = golden("kubernetes", K8S_DEPLOYMENT)
    props = changed(props, "metadata", "labels", "data-sensitivity", to=value)
    (message,) = check(GOV01, resource_type, props, 1, "GOV-01")
    assert repr(value) in message


def test_gov01_pod_template_labels_are_not_the_objects_labels() -> None:
    """The object's own labels count; the pod template's are POD-05's business."""
    resource_type, props = golden("kubernetes", K8S_DEPLOYMENT)
    props = changed(props, "spec", "template", "metadata", "labels", "owner")
    check(GOV01, resource_type, props, 0)


def test_gov01_required_labels_come_from_config() -> None:
    config = {"requiredTags": ["owner", "cost-center"]}
    resource_type, props = golden("kubernetes", K8S_DEPLOYMENT)
    without_application = changed(props, "metadata", "labels", "application")
    check(GOV01, resource_type, without_application, 0, config=config)
    without_cost_center = changed(props, "metadata", "labels", "cost-center")
    (message,) = check(GOV01, resource_type, without_cost_center, 1, "GOV-01", config=config)
    assert "cost-center" in message


def test_gov01_allowed_sensitivity_of_labels_comes_from_config() -> None:
    resource_type, props = golden("kubernetes", K8S_DEPLOYMENT)
    check(GOV01, resource_type, props, 0, config={"allowedSensitivity": ["confidential"]})
    check(GOV01, resource_type, props, 1, "GOV-01", config={"allowedSensitivity": ["public"]})


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("metadata", "labels"), UNKNOWN_OBJECT_VALUE),
        (("metadata", "labels", "owner"), UNKNOWN_STRING_VALUE),
        (("metadata", "labels", "data-sensitivity"), UNKNOWN_STRING_VALUE),
    ],
    ids=["labels", "owner", "data-sensitivity"],
)
def test_gov01_skips_labels_unknown_at_preview(path: tuple[str, ...], value: str) -> None:
    resource_type, props = golden("kubernetes", K8S_DEPLOYMENT)
    check(GOV01, resource_type, changed(props, *path, to=value), 0)


# GOV-02: deployments reference registered models.


def deployment_with_model(model: Any) -> tuple[str, dict[str, Any]]:
    resource_type, props = golden("azure", AZ_DEPLOYMENT)
    return resource_type, changed(props, "properties", "model", to=model)


def test_gov02_passes_every_deployment_of_the_program() -> None:
    for name in ("defaults", "waf_aligned", "max"):
        assert every_resource(GOV02, azure(name)) == [], name


@pytest.mark.parametrize(
    "model",
    [
        "azureml:fraud-classifier:7",
        "AzureML:fraud-classifier:7",
        "azureml://registries/shared/models/fraud-classifier/versions/7",
        f"{WORKSPACE_ID}/models/fraud-classifier/versions/7",
        f"{WORKSPACE_ID.upper()}/MODELS/fraud-classifier/versions/7",
    ],
    ids=["asset", "asset-capitalised", "registry", "resource-id", "resource-id-upper"],
)
def test_gov02_passes_registered_models(model: str) -> None:
    check(GOV02, *deployment_with_model(model), 0)


@pytest.mark.parametrize(
    "model",
    [
        "./model",
        "model.pkl",
        "https://x/model",
        "",
        f"{WORKSPACE_ID}/datastores/models",
        7.0,
        True,
    ],
    ids=["relative", "file", "url", "empty", "resource-id-not-a-model", "number", "bool"],
)
def test_gov02_reports_inline_or_missing_models(model: Any) -> None:
    (message,) = check(GOV02, *deployment_with_model(model), 1, "GOV-02")
    assert "'blue'" in message


def test_gov02_passes_a_deployment_whose_environment_serves_the_model() -> None:
    # A custom container with the model in its image, or a model package's environment.
    resource_type, props = deployment_with_model(ABSENT)
    assert props["properties"]["environmentId"]
    check(GOV02, resource_type, props, 0)
    without = changed(props, "properties", "environmentId", to=ABSENT)
    (message,) = check(GOV02, resource_type, without, 1, "GOV-02")
    assert "'blue'" in message


def test_gov02_reports_an_azureml_prefix_without_a_model() -> None:
    check(GOV02, *deployment_with_model("azureml:"), 1, "GOV-02")


def test_gov02_ignores_other_resources() -> None:
    check(GOV02, *golden("azure", AZ_ENDPOINT), 0)
    check(GOV02, *golden("kubernetes", K8S_DEPLOYMENT), 0)


@pytest.mark.parametrize(
    "path",
    [("properties", "model"), ("properties",)],
    ids=["model", "properties"],
)
def test_gov02_skips_a_model_unknown_at_preview(path: tuple[str, ...]) -> None:
    resource_type, props = golden("azure", AZ_DEPLOYMENT)
    value = UNKNOWN_STRING_VALUE if path[-1] == "model" else UNKNOWN_OBJECT_VALUE
    check(GOV02, resource_type, changed(props, *path, to=value), 0)


# GOV-03: Azure tag limits.


def many_tags(count: int) -> dict[str, str]:
    base = {"owner": "fraud-team", "application": "fraud-detection", "data-sensitivity": "internal"}
    return base | {f"extra-{i:02}": "x" for i in range(count - len(base))}


def endpoint_with_tags(tags: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    resource_type, props = golden("azure", AZ_ENDPOINT)
    return resource_type, changed(props, "tags", to=tags)


def test_gov03_passes_every_resource_of_the_program() -> None:
    for name in ("defaults", "waf_aligned", "max"):
        assert every_resource(GOV03, azure(name)) == [], name


@pytest.mark.parametrize(
    "tags",
    [
        many_tags(50),
        many_tags(3) | {"n" * 512: "x"},
        many_tags(3) | {"note": "v" * 256},
        many_tags(3) | {"team:name-with.dots_and spaces": "a<b>%&\\?/"},
    ],
    ids=["50-tags", "name-512", "value-256", "forbidden-chars-in-value-only"],
)
def test_gov03_passes_tags_at_the_limits(tags: dict[str, str]) -> None:
    check(GOV03, *endpoint_with_tags(tags), 0)


def test_gov03_reports_51_tags() -> None:
    (message,) = check(GOV03, *endpoint_with_tags(many_tags(51)), 1, "GOV-03")
    assert "51 tags" in message


def test_gov03_reports_a_513_character_name() -> None:
    check(GOV03, *endpoint_with_tags(many_tags(3) | {"n" * 513: "x"}), 1, "GOV-03")


@pytest.mark.parametrize("char", ["<", ">", "%", "&", "\\", "?", "/"])
def test_gov03_reports_each_forbidden_character_in_a_name(char: str) -> None:
    (message,) = check(
        GOV03, *endpoint_with_tags(many_tags(3) | {f"cost{char}center": "x"}), 1, "GOV-03"
    )
    assert "cost" in message


def test_gov03_reports_a_257_character_value() -> None:
    (message,) = check(GOV03, *endpoint_with_tags(many_tags(3) | {"note": "v" * 257}), 1, "GOV-03")
    assert "257-character" in message


def test_gov03_reports_each_bad_tag_once() -> None:
    tags = many_tags(3) | {"a/b": "x", "c?d": "y", "note": "v" * 300}
    check(GOV03, *endpoint_with_tags(tags), 3, "GOV-03")


def test_gov03_checks_the_template_endpoints_tags() -> None:
    resource_type, props = golden("azure", AZ_TRAFFIC)
    (message,) = check(
        GOV03, resource_type, changed(props, *TEMPLATE, "tags", to=many_tags(51)), 1, "GOV-03"
    )
    assert "template's endpoint" in message
    bad_name = changed(props, *TEMPLATE, "tags", "team/name", to="x")
    check(GOV03, resource_type, bad_name, 1, "GOV-03")


def test_gov03_reports_the_resource_and_its_template_separately() -> None:
    resource_type, props = golden("azure", AZ_TRAFFIC)
    props = changed(props, "tags", "a&b", to="x")
    props = changed(props, *TEMPLATE, "tags", "a&b", to="x")
    check(GOV03, resource_type, props, 2, "GOV-03")


def test_gov03_checks_any_azure_resource_with_tags() -> None:
    check(GOV03, "azure-native:storage:StorageAccount", {"tags": many_tags(51)}, 1, "GOV-03")


def test_gov03_ignores_kubernetes_labels() -> None:
    """Labels are not Azure tags: `app.kubernetes.io/name` has a `/`, and there may be many."""
    resource_type, props = golden("kubernetes", K8S_DEPLOYMENT)
    labels = props["metadata"]["labels"] | {f"example.com/label-{i}": "x" * 300 for i in range(60)}
    check(GOV03, resource_type, changed(props, "metadata", "labels", to=labels), 0)


def test_gov03_limits_come_from_config() -> None:
    config = {"maxTags": 10, "maxNameLength": 20, "maxValueLength": 30}
    check(GOV03, *endpoint_with_tags(many_tags(10)), 0, config=config)
    check(GOV03, *endpoint_with_tags(many_tags(11)), 1, "GOV-03", config=config)
    check(GOV03, *endpoint_with_tags(many_tags(3) | {"n" * 21: "x"}), 1, "GOV-03", config=config)
    check(GOV03, *endpoint_with_tags(many_tags(3) | {"n": "v" * 31}), 1, "GOV-03", config=config)


@pytest.mark.parametrize(
    "tags",
    [UNKNOWN_OBJECT_VALUE, many_tags(3) | {"note": UNKNOWN_STRING_VALUE}],
    ids=["tags", "value"],
)
def test_gov03_skips_tags_unknown_at_preview(tags: Any) -> None:
    check(GOV03, *endpoint_with_tags(tags), 0)


# NET-02: the workspace of a prod stack has a private endpoint with a DNS zone group.


@pytest.mark.parametrize("scenario_name", ["waf_aligned", "max"])
def test_net02_passes_the_programs_private_access(scenario_name: str) -> None:
    resources = azure(scenario_name)
    assert any(r.type == tokens.PRIVATE_ENDPOINT for r in resources)
    check_stack(NET02, resources, 0)


def test_net02_passes_a_stack_without_azure_ml() -> None:
    check_stack(NET02, kubernetes(), 0)


def test_net02_reports_a_workspace_without_private_endpoint() -> None:
    resources = without(azure(), AZ_PRIVATE_ENDPOINT, AZ_DNS_ZONE_GROUP)
    (message,) = check_stack(NET02, resources, 1, "NET-02")
    assert "'mlw-prod' has no private endpoint" in message


def test_net02_reports_a_private_endpoint_of_another_service() -> None:
    resources = edit(
        azure(), AZ_PRIVATE_ENDPOINT, "privateLinkServiceConnections", 0, "groupIds", to=["vault"]
    )
    (message,) = check_stack(NET02, resources, 1, "NET-02")
    assert "no private endpoint" in message


def test_net02_passes_group_ids_in_any_case() -> None:
    resources = edit(
        azure(),
        AZ_PRIVATE_ENDPOINT,
        "privateLinkServiceConnections",
        0,
        "groupIds",
        to=["amlWorkspace"],
    )
    check_stack(NET02, resources, 0)


def test_net02_reports_a_private_endpoint_of_another_workspace() -> None:
    other = WORKSPACE_ID.replace("mlw-prod", "mlw-other")
    resources = edit(
        azure(),
        AZ_PRIVATE_ENDPOINT,
        "privateLinkServiceConnections",
        0,
        "privateLinkServiceId",
        to=other,
    )
    (message,) = check_stack(NET02, resources, 1, "NET-02")
    assert "'mlw-prod' has no private endpoint" in message


def test_net02_reports_a_private_endpoint_without_dns_zone_group() -> None:
    (message,) = check_stack(NET02, without(azure(), AZ_DNS_ZONE_GROUP), 1, "NET-02")
    assert "no DNS zone group" in message


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("privateDnsZoneConfigs",), []),
        (("privateEndpointName",), "pe-some-other"),
    ],
    ids=["no-zone-configs", "zone-group-of-another-endpoint"],
)
def test_net02_reports_a_dns_zone_group_that_does_not_serve_the_endpoint(
    path: tuple[str, ...], value: Any
) -> None:
    resources = edit(azure(), AZ_DNS_ZONE_GROUP, *path, to=value)
    (message,) = check_stack(NET02, resources, 1, "NET-02")
    assert "no DNS zone group" in message


def test_net02_reports_each_workspace_once() -> None:
    """A second endpoint in another workspace: only that workspace lacks private access."""
    resources = azure()
    churn = named(resources, "churn-propensity")
    churn.inputs["workspaceName"] = "mlw-other"
    named(resources, "churn-propensity-gbm-v3").inputs["workspaceName"] = "mlw-other"
    (message,) = check_stack(NET02, resources, 1, "NET-02")
    assert "'mlw-other'" in message


@pytest.mark.parametrize(
    ("name", "path", "value"),
    [
        (
            AZ_PRIVATE_ENDPOINT,
            ("privateLinkServiceConnections", 0, "privateLinkServiceId"),
            UNKNOWN_STRING_VALUE,
        ),
        (AZ_DNS_ZONE_GROUP, ("privateEndpointName",), UNKNOWN_STRING_VALUE),
        (AZ_PRIVATE_ENDPOINT, ("subnet",), UNKNOWN_OBJECT_VALUE),
        (AZ_DNS_ZONE_GROUP, ("privateDnsZoneConfigs", 0), UNKNOWN_OBJECT_VALUE),
        (AZ_ENDPOINT, ("workspaceName",), UNKNOWN_STRING_VALUE),
    ],
    ids=["link-service-id", "zone-group-endpoint-name", "subnet", "zone-config", "workspace"],
)
def test_net02_skips_values_unknown_at_preview(
    name: str, path: tuple[str | int, ...], value: str
) -> None:
    check_stack(NET02, edit(azure(), name, *path, to=value), 0)


def test_net02_skips_zone_configs_unknown_at_preview() -> None:
    resources = edit(azure(), AZ_DNS_ZONE_GROUP, "privateDnsZoneConfigs", to=UNKNOWN_ARRAY_VALUE)
    check_stack(NET02, resources, 0)


@pytest.mark.parametrize(
    "path",
    [("privateLinkServiceConnections",), ("privateLinkServiceConnections", 0, "groupIds")],
    ids=["connections", "group-ids"],
)
def test_net02_skips_connections_unknown_at_preview(path: tuple[str | int, ...]) -> None:
    resources = edit(azure(), AZ_PRIVATE_ENDPOINT, *path, to=UNKNOWN_ARRAY_VALUE)
    check_stack(NET02, resources, 0)


# NET-03: deployments disable public egress; absent means enabled.


def deployment_with_egress(value: Any) -> tuple[str, dict[str, Any]]:
    resource_type, props = golden("azure", AZ_DEPLOYMENT)
    return resource_type, changed(props, "properties", "egressPublicNetworkAccess", to=value)


def test_net03_passes_every_deployment_of_the_program() -> None:
    for name in ("defaults", "waf_aligned", "max"):
        assert every_resource(NET03, azure(name)) == [], name


@pytest.mark.parametrize("value", ["Disabled", "disabled", "DISABLED"])
def test_net03_passes_disabled_egress(value: str) -> None:
    check(NET03, *deployment_with_egress(value), 0)


@pytest.mark.parametrize(
    "value",
    ["Enabled", ABSENT, "disabledx", "", True, False, 0.0],
    ids=["enabled", "absent", "disabledx", "empty", "true", "false", "zero"],
)
def test_net03_reports_public_egress(value: Any) -> None:
    (message,) = check(NET03, *deployment_with_egress(value), 1, "NET-03")
    assert "'blue'" in message


def test_net03_ignores_endpoints_and_kubernetes() -> None:
    check(NET03, *golden("azure", AZ_ENDPOINT), 0)
    check(NET03, *golden("kubernetes", K8S_DEPLOYMENT), 0)


@pytest.mark.parametrize("value", [UNKNOWN_STRING_VALUE], ids=["egress"])
def test_net03_skips_egress_unknown_at_preview(value: str) -> None:
    check(NET03, *deployment_with_egress(value), 0)


# NET-04: default deny, allow from the gateway only, no exposed Services.


def serving_workloads(resources: list[Any]) -> int:
    return sum(r.type == tokens.K8S_DEPLOYMENT for r in resources)


@pytest.mark.parametrize("scenario_name", ["defaults", "waf_aligned", "max"])
def test_net04_passes_the_programs_network_policies(scenario_name: str) -> None:
    check_stack(NET04, kubernetes(scenario_name), 0)


def test_net04_reports_each_workload_without_default_deny() -> None:
    resources = without(kubernetes(), K8S_DEFAULT_DENY)
    assert serving_workloads(resources) == 4
    found = check_stack(NET04, resources, 4, "NET-04")
    assert all("no default-deny" in m for m in found)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("spec", "ingress"), [{"from": [GATEWAY_PEER]}]),
        (("spec", "policyTypes"), ["Egress"]),
        (("metadata", "namespace"), "other"),
        (("spec", "podSelector"), {"matchLabels": {"app": "other"}}),
    ],
    ids=["with-ingress-rules", "egress-only", "other-namespace", "selects-other-pods"],
)
def test_net04_reports_a_default_deny_that_does_not_deny_the_workloads(
    path: tuple[str, ...], value: Any
) -> None:
    resources = edit(kubernetes(), K8S_DEFAULT_DENY, *path, to=value)
    found = check_stack(NET04, resources, 4, "NET-04")
    assert all("no default-deny" in m for m in found)


def test_net04_passes_a_default_deny_without_policy_types() -> None:
    """Kubernetes: a policy without policyTypes is an Ingress policy."""
    check_stack(NET04, edit(kubernetes(), K8S_DEFAULT_DENY, "spec", "policyTypes"), 0)


def test_net04_reports_workloads_without_a_gateway_allow_rule() -> None:
    found = check_stack(NET04, without(kubernetes(), K8S_ALLOW), 3, "NET-04")
    assert all("admits the Gateway" in m for m in found)
    for color in ("blue", "green", "shadow"):
        assert sum(f"'fraud-scoring-{color}'" in m for m in found) == 1


def test_net04_passes_the_gateway_api_label_key() -> None:
    peer = {"podSelector": {"matchLabels": {"gateway.networking.k8s.io/gateway-name": "internal"}}}
    resources = edit(kubernetes(), K8S_ALLOW, "spec", "ingress", 0, "from", to=[peer])
    check_stack(NET04, resources, 0)


@pytest.mark.parametrize(
    ("peers", "finding"),
    [
        ([{"ipBlock": {"cidr": "10.0.0.0/8"}}], "'10.0.0.0/8'"),
        ([], "without `from`"),
        (ABSENT, "without `from`"),
        ([{"namespaceSelector": {}}], "everything"),
        ([{"podSelector": {}}], "everything"),
        ([{"podSelector": {"matchLabels": {"app": "debug"}}}], "['app']"),
    ],
    ids=["ip-block", "empty-from", "no-from", "all-namespaces", "all-pods", "other-pods"],
)
def test_net04_reports_an_allow_rule_that_admits_more_than_the_gateway(
    peers: Any, finding: str
) -> None:
    """The program's second rule (from scraper namespaces) replaced by a wider one."""
    resources = edit(kubernetes(), K8S_ALLOW, "spec", "ingress", 1, "from", to=peers)
    (message,) = check_stack(NET04, resources, 1, "NET-04")
    assert "'fraud-scoring-allow-gateway' admits" in message
    assert finding in message


def test_net04_reports_an_ip_block_beside_the_gateway_peer() -> None:
    resources = kubernetes()
    peers = named(resources, K8S_ALLOW).inputs["spec"]["ingress"][0]["from"]
    peers.append({"ipBlock": {"cidr": "0.0.0.0/0"}})
    (message,) = check_stack(NET04, resources, 1, "NET-04")
    assert "'0.0.0.0/0'" in message


def test_net04_scraper_namespaces_come_from_config() -> None:
    found = check_stack(NET04, kubernetes(), 2, "NET-04", config={"allowedNamespaceLabels": []})
    assert all("ml-endpoints/metrics-scraper" in m for m in found)


def test_net04_passes_a_scraper_peer_with_an_empty_pod_selector() -> None:
    resources = edit(kubernetes(), K8S_ALLOW, "spec", "ingress", 1, "from", 0, "podSelector", to={})
    check_stack(NET04, resources, 0)


def test_net04_reports_a_workload_the_policies_do_not_select() -> None:
    extra = StackResource(
        "kubernetes:apps/v1:StatefulSet",
        "debug",
        {
            "metadata": {"name": "debug", "namespace": "ml-serving"},
            "spec": {"template": {"metadata": {"labels": {"app": "debug"}}, "spec": {}}},
        },
    )
    found = check_stack(NET04, [*kubernetes(), extra], 2, "NET-04")
    assert all("'debug'" in m for m in found)


@pytest.mark.parametrize(
    ("path", "value", "finding"),
    [
        (("spec", "type"), "NodePort", "type NodePort"),
        (("spec", "type"), "LoadBalancer", "type LoadBalancer"),
        (("spec", "externalIPs"), ["203.0.113.7"], "externalIPs"),
    ],
    ids=["node-port", "load-balancer", "external-ips"],
)
def test_net04_reports_an_exposed_service(path: tuple[str, ...], value: Any, finding: str) -> None:
    (message,) = check_stack(NET04, edit(kubernetes(), K8S_SERVICE, *path, to=value), 1, "NET-04")
    assert finding in message
    assert "'fraud-scoring-blue'" in message


@pytest.mark.parametrize(
    ("path", "value"),
    [(("spec", "type"), "ClusterIP"), (("spec", "type"), ABSENT), (("spec", "externalIPs"), [])],
    ids=["cluster-ip", "type-absent", "no-external-ips"],
)
def test_net04_passes_cluster_ip_services(path: tuple[str, ...], value: Any) -> None:
    check_stack(NET04, edit(kubernetes(), K8S_SERVICE, *path, to=value), 0)


@pytest.mark.parametrize(
    ("name", "path", "value"),
    [
        (K8S_DEFAULT_DENY, ("spec", "podSelector"), UNKNOWN_OBJECT_VALUE),
        (K8S_DEFAULT_DENY, ("spec", "policyTypes"), UNKNOWN_ARRAY_VALUE),
        (K8S_ALLOW, ("spec", "podSelector"), UNKNOWN_OBJECT_VALUE),
        (
            K8S_ALLOW,
            ("spec", "ingress", 0, "from", 0, "podSelector", "matchLabels"),
            {"gateway.envoyproxy.io/owning-gateway-name": UNKNOWN_STRING_VALUE},
        ),
        (K8S_ALLOW, ("spec", "ingress", 1, "from"), UNKNOWN_ARRAY_VALUE),
        (K8S_SERVICE, ("spec", "type"), UNKNOWN_STRING_VALUE),
        (K8S_SERVICE, ("spec", "externalIPs"), UNKNOWN_ARRAY_VALUE),
    ],
    ids=[
        "deny-selector",
        "deny-policy-types",
        "allow-selector",
        "gateway-label-value",
        "scraper-from",
        "service-type",
        "external-ips",
    ],
)
def test_net04_skips_values_unknown_at_preview(
    name: str, path: tuple[str | int, ...], value: Any
) -> None:
    check_stack(NET04, edit(kubernetes(), name, *path, to=value), 0)


@pytest.mark.parametrize(
    ("name", "path", "value"),
    [
        (K8S_ALLOW, ("spec", "ingress", 0, "from"), UNKNOWN_ARRAY_VALUE),
        (K8S_ALLOW, ("spec", "ingress", 0, "from", 0), UNKNOWN_OBJECT_VALUE),
        (K8S_DEFAULT_DENY, ("spec",), UNKNOWN_OBJECT_VALUE),
        (
            K8S_DEPLOYMENT,
            ("spec", "template", "metadata", "labels", tokens.ENDPOINT_LABEL),
            UNKNOWN_STRING_VALUE,
        ),
    ],
    ids=["gateway-from", "gateway-peer", "deny-spec", "pod-endpoint-label"],
)
def test_net04_skips_policy_values_unknown_at_preview(
    name: str, path: tuple[str | int, ...], value: Any
) -> None:
    check_stack(NET04, edit(kubernetes(), name, *path, to=value), 0)


# ID-01 on Kubernetes: the route's SecurityPolicy validates JWTs; API keys only with a waiver.


def test_id01_passes_routes_guarded_by_jwt() -> None:
    check_stack(ID01, kubernetes("waf_aligned"), 0)


def test_id01_reports_an_api_key_route_without_waiver() -> None:
    (message,) = check_stack(ID01, kubernetes(), 1, "ID-01")
    assert "'fraud-scoring' uses auth mode 'Key'" in message


def test_id01_passes_an_api_key_route_with_a_waiver_naming_it() -> None:
    check_stack(ID01, kubernetes(), 0, config={"keyAuthWaivers": ["fraud-scoring"]})


@pytest.mark.parametrize("waivers", [["churn-propensity"], ["fraud-scoring-route"], []])
def test_id01_reports_an_api_key_route_waived_under_another_name(waivers: list[str]) -> None:
    check_stack(ID01, kubernetes(), 1, "ID-01", config={"keyAuthWaivers": waivers})


def test_id01_reports_a_route_without_security_policy() -> None:
    resources = without(kubernetes("waf_aligned"), "fraud-scoring-auth")
    (message,) = check_stack(ID01, resources, 1, "ID-01")
    assert "'fraud-scoring' uses auth mode 'none'" in message


def test_id01_reports_basic_auth() -> None:
    resources = kubernetes("waf_aligned")
    spec = named(resources, K8S_AUTH).inputs["spec"]
    del spec["jwt"]
    spec["basicAuth"] = {"users": {"name": "fraud-scoring-htpasswd"}}
    (message,) = check_stack(ID01, resources, 1, "ID-01")
    assert "'basic'" in message


def test_id01_reports_a_security_policy_without_any_auth() -> None:
    resources = edit(kubernetes("waf_aligned"), K8S_AUTH, "spec", "jwt")
    (message,) = check_stack(ID01, resources, 1, "ID-01")
    assert "'none'" in message


def test_id01_reports_a_security_policy_targeting_another_route() -> None:
    resources = edit(
        kubernetes("waf_aligned"), K8S_AUTH, "spec", "targetRefs", 0, "name", to="other"
    )
    (message,) = check_stack(ID01, resources, 1, "ID-01")
    assert "'none'" in message


def test_id01_reports_a_security_policy_in_another_namespace() -> None:
    resources = edit(kubernetes("waf_aligned"), K8S_AUTH, "metadata", "namespace", to="other")
    check_stack(ID01, resources, 1, "ID-01")


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("spec", "jwt"), UNKNOWN_OBJECT_VALUE),
        (("spec", "jwt", "providers"), UNKNOWN_ARRAY_VALUE),
    ],
    ids=["jwt", "providers"],
)
def test_id01_skips_auth_unknown_at_preview(path: tuple[str, ...], value: str) -> None:
    check_stack(ID01, edit(kubernetes("waf_aligned"), K8S_AUTH, *path, to=value), 0)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("spec",), UNKNOWN_OBJECT_VALUE),
        (("spec", "targetRefs"), UNKNOWN_ARRAY_VALUE),
        (("spec", "targetRefs", 0, "name"), UNKNOWN_STRING_VALUE),
    ],
    ids=["spec", "target-refs", "target-name"],
)
def test_id01_skips_targets_unknown_at_preview(path: tuple[str | int, ...], value: str) -> None:
    check_stack(ID01, edit(kubernetes("waf_aligned"), K8S_AUTH, *path, to=value), 0)


# ID-02: no endpoint keys and no literal Secrets in the program.


K8S_SECRET_PROPS = {
    "apiVersion": "v1",
    "kind": "Secret",
    "metadata": {"name": "fraud-scoring-api-keys", "namespace": "ml-serving"},
    "type": "Opaque",
}


def test_id02_passes_every_resource_of_the_program() -> None:
    for resources in (azure("max"), azure("defaults"), kubernetes("max")):
        assert every_resource(ID02, resources) == []


@pytest.mark.parametrize(
    "props",
    [
        K8S_SECRET_PROPS,
        K8S_SECRET_PROPS | {"data": {}},
        K8S_SECRET_PROPS | {"stringData": {}},
    ],
    ids=["no-data", "empty-data", "empty-string-data"],
)
def test_id02_passes_a_secret_without_values(props: dict[str, Any]) -> None:
    check(ID02, tokens.K8S_SECRET, props, 0)


@pytest.mark.parametrize(
    "values",
    [
        {"data": {"client": "c2VjcmV0"}},
        {"stringData": {"client": "secret"}},
        {"data": {"client": "c2VjcmV0"}, "stringData": {"other": "secret"}},
    ],
    ids=["data", "string-data", "both"],
)
def test_id02_reports_a_secret_with_literal_values(values: dict[str, Any]) -> None:
    (message,) = check(ID02, tokens.K8S_SECRET, K8S_SECRET_PROPS | values, 1, "ID-02")
    assert "'fraud-scoring-api-keys'" in message


def test_id02_reports_keys_set_on_the_endpoint() -> None:
    resource_type, props = golden("azure", AZ_ENDPOINT)
    keys = {"primaryKey": "abc", "secondaryKey": "def"}
    check(ID02, resource_type, changed(props, "properties", "keys", to=keys), 1, "ID-02")


def test_id02_reports_keys_set_on_the_template_endpoint() -> None:
    resource_type, props = golden("azure", AZ_TRAFFIC)
    props = changed(props, *TEMPLATE, "properties", "keys", to={"primaryKey": "abc"})
    check(ID02, resource_type, props, 1, "ID-02")


def test_id02_ignores_keys_on_other_resources() -> None:
    resource_type, props = golden("azure", AZ_DEPLOYMENT)
    check(ID02, resource_type, changed(props, "properties", "keys", to={"primaryKey": "a"}), 0)


@pytest.mark.parametrize(
    ("resource", "path", "value"),
    [
        (AZ_ENDPOINT, ("properties", "keys"), UNKNOWN_OBJECT_VALUE),
        (AZ_ENDPOINT, ("properties",), UNKNOWN_OBJECT_VALUE),
        (AZ_TRAFFIC, (*TEMPLATE, "properties", "keys"), UNKNOWN_OBJECT_VALUE),
    ],
    ids=["endpoint-keys", "endpoint-properties", "template-keys"],
)
def test_id02_skips_values_unknown_at_preview(
    resource: str, path: tuple[str | int, ...], value: str
) -> None:
    resource_type, props = golden("azure", resource)
    check(ID02, resource_type, changed(props, *path, to=value), 0)


def test_id02_skips_a_secret_name_unknown_at_preview() -> None:
    props = changed(K8S_SECRET_PROPS, "metadata", "name", to=UNKNOWN_STRING_VALUE)
    check(ID02, tokens.K8S_SECRET, props, 0)


# ID-03: narrow, separated roles; key secrets read only by key readers, per secret.


def assignment(name: str, principal: str, role_guid: str, scope: str = WORKSPACE_ID) -> Any:
    return StackResource(
        tokens.ROLE_ASSIGNMENT,
        name,
        {
            "principalId": principal,
            "principalType": "Group",
            "roleDefinitionId": f"/subscriptions/{SUB}/providers/Microsoft.Authorization/"
            f"roleDefinitions/{role_guid}",
            "scope": scope,
        },
    )


def role_actions(resources: list[Any], role: str) -> list[str]:
    actions: list[str] = named(resources, role).inputs["permissions"][0]["actions"]
    return actions


def role_guid(resources: list[Any], role: str) -> str:
    guid: str = named(resources, role).inputs["roleDefinitionId"]
    return guid


@pytest.mark.parametrize(
    ("scenario_name", "config"),
    [("max", None), ("max", {"keyReaders": [GUID_C]}), ("waf_aligned", None), ("defaults", {})],
    ids=["max", "max-with-key-readers", "waf-aligned", "defaults"],
)
def test_id03_passes_the_programs_roles(scenario_name: str, config: Any) -> None:
    check_stack(ID03, azure(scenario_name), 0, config=config)


@pytest.mark.parametrize(
    "guid",
    [
        "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
        "b24988ac-6180-42a0-ab88-20f7382dd24c",
        "f6c7c914-8db3-469d-8ca1-694a8f32e121",
        "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
    ],
    ids=["owner", "contributor", "azureml-data-scientist", "user-access-admin"],
)
def test_id03_reports_a_broad_built_in_role(guid: str) -> None:
    resources = [*azure(), assignment("broad", GUID_A, guid)]
    (message,) = check_stack(ID03, resources, 1, "ID-03")
    assert "broad built-in role" in message


def test_id03_reports_a_broad_role_given_in_upper_case() -> None:
    resources = [*azure(), assignment("broad", GUID_A, "8E3AF657-A8FF-443C-A75C-2FE8C4BCB635")]
    check_stack(ID03, resources, 1, "ID-03")


@pytest.mark.parametrize(
    "scope",
    [VAULT_ID, RG, f"/subscriptions/{SUB}"],
    ids=["vault", "resource-group", "subscription"],
)
def test_id03_reports_key_vault_secrets_user_above_the_secret(scope: str) -> None:
    resources = edit(azure(), AZ_KEY_READER, "scope", to=scope)
    (message,) = check_stack(ID03, resources, 1, "ID-03")
    assert "every secret of a vault" in message


def test_id03_reports_key_readers_not_in_config() -> None:
    found = check_stack(ID03, azure(), 2, "ID-03", config={"keyReaders": [GUID_A]})
    assert all("not a configured key reader" in m for m in found)


def test_id03_reports_a_key_vault_administrator_not_in_config() -> None:
    secret_scope = f"{VAULT_ID}/secrets/mlep-fraud-scoring-primary-key"
    extra = assignment("kv-admin", GUID_A, "00482a5a-887f-4fb3-b363-3b7fe8e74483", secret_scope)
    config = {"keyReaders": [GUID_C]}
    (message,) = check_stack(ID03, [*azure(), extra], 1, "ID-03", config=config)
    assert repr(GUID_A) in message


def test_id03_matches_key_readers_in_any_case() -> None:
    check_stack(ID03, azure(), 0, config={"keyReaders": [GUID_C.upper()]})


@pytest.mark.parametrize(
    "action",
    [
        tokens.LIST_KEYS,
        tokens.LIST_KEYS.lower(),
        "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/*/action",
        "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/listKeys/*",
    ],
    ids=["list-keys", "lower-case", "wildcard-action", "wildcard-list-keys"],
)
def test_id03_reports_a_custom_role_that_lists_keys(action: str) -> None:
    resources = azure()
    role_actions(resources, AZ_TRAFFIC_ROLE).append(action)
    (message,) = check_stack(ID03, resources, 1, "ID-03")
    assert "can list endpoint keys" in message


def test_id03_reports_a_provider_wildcard() -> None:
    """`Microsoft.MachineLearningServices/*` lists keys and writes endpoints and deployments:
    the role is reported twice and the traffic operator now holds both write actions."""
    resources = azure()
    role_actions(resources, AZ_TRAFFIC_ROLE).append("Microsoft.MachineLearningServices/*")
    found = check_stack(ID03, resources, 3, "ID-03")
    assert sum("can list endpoint keys" in m for m in found) == 1
    assert sum("split the role" in m for m in found) == 1
    assert sum(repr(GUID_A) in m for m in found) == 1


@pytest.mark.parametrize(
    ("action", "not_actions"),
    [
        (
            "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/*/action",
            [tokens.LIST_KEYS],
        ),
        (
            "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/*/action",
            ["Microsoft.MachineLearningServices/workspaces/onlineEndpoints/listKeys/*"],
        ),
        (
            "Microsoft.MachineLearningServices/*",
            [tokens.LIST_KEYS, tokens.DEPLOYMENT_WRITE],
        ),
    ],
    ids=["exact", "wildcard", "provider-wildcard"],
)
def test_id03_passes_a_wildcard_with_not_actions(action: str, not_actions: list[str]) -> None:
    resources = azure()
    permission = named(resources, AZ_TRAFFIC_ROLE).inputs["permissions"][0]
    permission["actions"].append(action)
    permission["notActions"] = not_actions
    check_stack(ID03, resources, 0)


def test_id03_reports_one_role_that_changes_traffic_and_deployments() -> None:
    resources = azure()
    role_actions(resources, AZ_TRAFFIC_ROLE).append(tokens.DEPLOYMENT_WRITE)
    found = check_stack(ID03, resources, 2, "ID-03")
    assert sum("split the role" in m for m in found) == 1
    assert sum(f"principal {GUID_A!r} holds roles" in m for m in found) == 1


def test_id03_reports_one_principal_holding_both_roles() -> None:
    resources = azure()
    developer = role_guid(resources, AZ_DEVELOPER_ROLE)
    resources.append(assignment("both", GUID_A, developer))
    (message,) = check_stack(ID03, resources, 1, "ID-03")
    assert f"principal {GUID_A!r} holds roles" in message


def test_id03_passes_two_principals_in_separate_roles() -> None:
    resources = azure()
    resources.append(assignment("second-operator", GUID_C, role_guid(resources, AZ_TRAFFIC_ROLE)))
    check_stack(ID03, resources, 0)


@pytest.mark.parametrize(
    ("name", "path", "value"),
    [
        (AZ_KEY_READER, ("principalId",), UNKNOWN_STRING_VALUE),
        (AZ_KEY_READER, ("scope",), UNKNOWN_STRING_VALUE),
        (AZ_KEY_READER, ("roleDefinitionId",), UNKNOWN_STRING_VALUE),
        (AZ_TRAFFIC_ROLE, ("permissions",), UNKNOWN_ARRAY_VALUE),
        (AZ_TRAFFIC_ROLE, ("permissions", 0, "actions"), UNKNOWN_ARRAY_VALUE),
        (AZ_TRAFFIC_ROLE, ("roleDefinitionId",), UNKNOWN_STRING_VALUE),
    ],
    ids=["principal", "scope", "role-id", "permissions", "actions", "definition-id"],
)
def test_id03_skips_values_unknown_at_preview(
    name: str, path: tuple[str | int, ...], value: str
) -> None:
    check_stack(ID03, edit(azure(), name, *path, to=value), 0, config={"keyReaders": [GUID_C]})


def test_id03_skips_an_unknown_principal_even_with_a_broad_role() -> None:
    """The check runs again on `pulumi up`, when the principal is known."""
    extra = assignment("broad", UNKNOWN_STRING_VALUE, "8e3af657-a8ff-443c-a75c-2fe8c4bcb635")
    check_stack(ID03, [*azure(), extra], 0)


# SEC-01: Key Vault secrets have a contentType and an expiry.


def secret(*path: str, to: Any = ABSENT) -> tuple[str, dict[str, Any]]:
    resource_type, props = golden("azure", AZ_SECRET)
    return resource_type, changed(props, *path, to=to) if path else props


def test_sec01_passes_every_secret_of_the_program() -> None:
    resources = azure()
    assert sum(r.type == tokens.KEY_VAULT_SECRET for r in resources) == 2
    assert every_resource(SEC01, resources) == []


@pytest.mark.parametrize(
    ("path", "value"),
    [(("properties", "contentType"), "application/x-pem-file"), ((), ABSENT)],
    ids=["other-content-type", "golden"],
)
def test_sec01_passes_secrets_with_content_type_and_expiry(
    path: tuple[str, ...], value: Any
) -> None:
    check(SEC01, *secret(*path, to=value), 0)


@pytest.mark.parametrize(
    ("path", "value", "finding"),
    [
        (("properties", "contentType"), ABSENT, "no contentType"),
        (("properties", "contentType"), "", "no contentType"),
        (("properties", "contentType"), 5.0, "no contentType"),
        (("properties", "attributes", "expires"), ABSENT, "never expires"),
        (("properties", "attributes", "expires"), None, "never expires"),
        (("properties", "attributes"), ABSENT, "never expires"),
    ],
    ids=["no-content-type", "empty", "number", "no-expires", "null-expires", "no-attributes"],
)
def test_sec01_reports_a_missing_content_type_or_expiry(
    path: tuple[str, ...], value: Any, finding: str
) -> None:
    (message,) = check(SEC01, *secret(*path, to=value), 1, "SEC-01")
    assert finding in message
    assert "'mlep-fraud-scoring-primary-key'" in message


def test_sec01_reports_both_when_properties_hold_only_the_value() -> None:
    check(SEC01, *secret("properties", to={"value": "x"}), 2, "SEC-01")


@pytest.mark.parametrize(
    ("config", "path"),
    [
        ({"requireExpiry": False}, ("properties", "attributes", "expires")),
        ({"requireContentType": False}, ("properties", "contentType")),
    ],
    ids=["expiry", "content-type"],
)
def test_sec01_requirements_come_from_config(config: Any, path: tuple[str, ...]) -> None:
    check(SEC01, *secret(*path), 0, config=config)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("properties", "contentType"), UNKNOWN_STRING_VALUE),
        (("properties", "attributes", "expires"), UNKNOWN_STRING_VALUE),
        (("properties", "attributes"), UNKNOWN_OBJECT_VALUE),
    ],
    ids=["content-type", "expires", "attributes"],
)
def test_sec01_skips_values_unknown_at_preview(path: tuple[str, ...], value: str) -> None:
    check(SEC01, *secret(*path, to=value), 0)


def test_sec01_ignores_other_resources() -> None:
    check(SEC01, *golden("azure", AZ_ENDPOINT), 0)


# SEC-02: no secrets in environment variables.

JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
    "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
)
SECRET_VARIABLES = [
    pytest.param("DB_PASSWORD", "hunter2", id="db-password"),
    pytest.param("HF_TOKEN", "hf_abcdefghijklmnop", id="hf-token"),
    pytest.param("API_KEY", "abc123", id="api-key"),
    pytest.param("OPENAI_APIKEY", "abc123", id="apikey"),
    pytest.param("db_password", "hunter2", id="lower-case-name"),
    pytest.param(
        "STORAGE", "DefaultEndpointsProtocol=https;AccountName=st;AccountKey=abc", id="account-key"
    ),
    pytest.param("AUTH_HEADER", f"Bearer {JWT}", id="jwt"),
    pytest.param("TLS", "-----BEGIN RSA PRIVATE KEY-----\nMIIE", id="rsa-private-key"),
    pytest.param("TLS", "-----BEGIN PRIVATE KEY-----\nMIIE", id="pkcs8-private-key"),
    pytest.param("DATABASE_URL", "Server=db;User=app;Password=hunter2", id="password-in-url"),
]
PLAIN_VARIABLES = [
    pytest.param("TOKENIZER_PATH", "/models/tokenizer.json", id="tokenizer-path"),
    pytest.param("BENTOML_HOME", "/home/bentoml/bentoml", id="bentoml-home"),
    pytest.param("LOG_LEVEL", "info", id="log-level"),
    pytest.param("MAX_TOKENS", "512", id="max-tokens"),
    pytest.param("PASSWORD_FILE", "/mnt/secrets-store/db-password", id="password-file"),
    pytest.param("DB_PASSWORD", "", id="empty-value"),
]


def azure_env(variables: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    resource_type, props = golden("azure", AZ_DEPLOYMENT)
    props = changed(
        props,
        "properties",
        "environmentVariables",
        to=props["properties"]["environmentVariables"] | variables,
    )
    return resource_type, props


def kubernetes_env(*env: dict[str, Any], env_from: Any = ABSENT) -> tuple[str, dict[str, Any]]:
    resource_type, props = golden("kubernetes", K8S_DEPLOYMENT)
    container = props["spec"]["template"]["spec"]["containers"][0]
    container["env"].extend(env)
    if env_from is not ABSENT:
        container["envFrom"] = env_from
    return resource_type, props


def test_sec02_passes_every_workload_of_the_program() -> None:
    for resources in (azure("max"), kubernetes("max"), kubernetes("defaults")):
        assert every_resource(SEC02, resources) == []


@pytest.mark.parametrize(("name", "value"), SECRET_VARIABLES)
def test_sec02_reports_a_secret_in_azure_environment_variables(name: str, value: str) -> None:
    (message,) = check(SEC02, *azure_env({name: value}), 1, "SEC-02")
    assert repr(name) in message
    assert value not in message


@pytest.mark.parametrize(
    ("name", "value"),
    [p for p in SECRET_VARIABLES if p.id in {"db-password", "hf-token", "account-key", "jwt"}],
)
def test_sec02_reports_a_secret_in_kubernetes_container_env(name: str, value: str) -> None:
    (message,) = check(SEC02, *kubernetes_env({"name": name, "value": value}), 1, "SEC-02")
    assert repr(name) in message


@pytest.mark.parametrize(("name", "value"), PLAIN_VARIABLES)
def test_sec02_passes_plain_variables(name: str, value: str) -> None:
    check(SEC02, *azure_env({name: value}), 0)
    check(SEC02, *kubernetes_env({"name": name, "value": value}), 0)


@pytest.mark.parametrize(
    ("env", "env_from", "count"),
    [
        (
            {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "pw"}}},
            ABSENT,
            1,
        ),
        ({"name": "LOG_LEVEL", "value": "info"}, [{"secretRef": {"name": "db"}}], 1),
        (
            {"name": "THRESHOLD", "valueFrom": {"configMapKeyRef": {"name": "c", "key": "t"}}},
            [{"configMapRef": {"name": "settings"}}],
            0,
        ),
        (
            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            ABSENT,
            0,
        ),
    ],
    ids=["secret-key-ref", "env-from-secret", "config-map", "field-ref"],
)
def test_sec02_judges_secrets_read_into_the_environment(
    env: dict[str, Any], env_from: Any, count: int
) -> None:
    check(SEC02, *kubernetes_env(env, env_from=env_from), count, "SEC-02")


@pytest.mark.parametrize("allowed", ["DB_PASSWORD", "db_password"])
def test_sec02_allowed_names_come_from_config(allowed: str) -> None:
    config = {"allowedNames": [allowed]}
    check(SEC02, *azure_env({"DB_PASSWORD": "hunter2"}), 0, config=config)
    literal = {"name": "DB_PASSWORD", "value": "hunter2"}
    check(SEC02, *kubernetes_env(literal), 0, config=config)
    check(SEC02, *azure_env({"API_KEY": "abc"}), 1, "SEC-02", config=config)


def pod_spec_of(resource_type: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(props, pod spec) of a minimal workload of the kind, one container without env."""
    pod: dict[str, Any] = {"containers": [{"name": "c", "image": "x:1", "env": []}]}
    props: dict[str, Any] = {
        "kubernetes:core/v1:Pod": {"spec": pod},
        "kubernetes:apps/v1:StatefulSet": {"spec": {"template": {"spec": pod}}},
        "kubernetes:apps/v1:DaemonSet": {"spec": {"template": {"spec": pod}}},
        "kubernetes:batch/v1:CronJob": {
            "spec": {"jobTemplate": {"spec": {"template": {"spec": pod}}}}
        },
    }[resource_type]
    return props, pod


@pytest.mark.parametrize(
    "resource_type",
    [
        "kubernetes:core/v1:Pod",
        "kubernetes:apps/v1:StatefulSet",
        "kubernetes:apps/v1:DaemonSet",
        "kubernetes:batch/v1:CronJob",
    ],
    ids=["pod", "stateful-set", "daemon-set", "cron-job"],
)
def test_sec02_checks_every_workload_kind(resource_type: str) -> None:
    props, pod = pod_spec_of(resource_type)
    check(SEC02, resource_type, props, 0)
    pod["containers"][0]["env"].append({"name": "HF_TOKEN", "value": "hf_abc"})
    check(SEC02, resource_type, props, 1, "SEC-02")


def test_sec02_ignores_other_kinds() -> None:
    props = {"data": {"DB_PASSWORD": "hunter2"}, "metadata": {"name": "settings"}}
    check(SEC02, "kubernetes:core/v1:ConfigMap", props, 0)


def test_sec02_reports_a_secret_in_an_init_container() -> None:
    resource_type, props = golden("kubernetes", K8S_DEPLOYMENT)
    props["spec"]["template"]["spec"]["initContainers"] = [
        {"name": "migrate", "image": "x:1", "env": [{"name": "DB_PASSWORD", "value": "hunter2"}]}
    ]
    check(SEC02, resource_type, props, 1, "SEC-02")


def test_sec02_reports_pgpassword() -> None:
    check(SEC02, *azure_env({"PGPASSWORD": "hunter2"}), 1, "SEC-02")


@pytest.mark.parametrize(
    "built",
    [
        pytest.param(lambda: azure_env({"DB_PASSWORD": UNKNOWN_STRING_VALUE}), id="azure-value"),
        pytest.param(
            lambda: (
                tokens.ONLINE_DEPLOYMENT,
                changed(
                    golden("azure", AZ_DEPLOYMENT)[1],
                    "properties",
                    "environmentVariables",
                    to=UNKNOWN_OBJECT_VALUE,
                ),
            ),
            id="azure-variables",
        ),
        pytest.param(
            lambda: kubernetes_env({"name": "DB_PASSWORD", "value": UNKNOWN_STRING_VALUE}),
            id="k8s-value",
        ),
        pytest.param(
            lambda: kubernetes_env({"name": UNKNOWN_STRING_VALUE, "value": "info"}), id="k8s-name"
        ),
        pytest.param(
            lambda: (
                tokens.K8S_DEPLOYMENT,
                changed(
                    golden("kubernetes", K8S_DEPLOYMENT)[1],
                    *CONTAINER,
                    "env",
                    to=UNKNOWN_ARRAY_VALUE,
                ),
            ),
            id="k8s-env",
        ),
        pytest.param(lambda: kubernetes_env(env_from=[UNKNOWN_OBJECT_VALUE]), id="k8s-env-from"),
    ],
)
def test_sec02_skips_values_unknown_at_preview(built: Any) -> None:
    resource_type, props = built()
    check(SEC02, resource_type, props, 0)


def test_sec02_skips_a_value_from_unknown_at_preview() -> None:
    env = {"name": "POD_NAME", "valueFrom": UNKNOWN_OBJECT_VALUE}
    check(SEC02, *kubernetes_env(env), 0)
