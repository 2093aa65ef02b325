"""The Azure endpoint component, run through the real program on the mock runtime.

Each test proves one behaviour of `components/azure/online_endpoint.py` as the engine would see
it: which resources are registered, what they wait for, and the inputs Azure would receive.
"""

from __future__ import annotations

import functools
import uuid
from typing import Any

import pytest

from mlep.engine.runtime import MOCK_LOCATION, MOCK_SUBSCRIPTION, ProgramRun, Registration
from tests.conftest import run_namespace
from tests.scenarios import SCENARIOS, scenario

COMPONENT = "ml-endpoints:azure:OnlineEndpoint"
ENDPOINT = "azure-native:machinelearningservices:OnlineEndpoint"
DEPLOYMENT = "azure-native:machinelearningservices:OnlineDeployment"
TRAFFIC = "azure-native:resources:Deployment"
IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
ENDPOINT_ARM_TYPE = "Microsoft.MachineLearningServices/workspaces/onlineEndpoints"


@functools.cache
def scenario_run(name: str) -> ProgramRun:
    """The program's run for a shared scenario (cached: tests only read it)."""
    return run_namespace(scenario(name))


def workspace_id(resource_group: str, workspace: str) -> str:
    """The workspace id the mock runtime's getWorkspace answers with."""
    return (
        f"/subscriptions/{MOCK_SUBSCRIPTION}/resourceGroups/{resource_group}/providers/"
        f"Microsoft.MachineLearningServices/workspaces/{workspace}"
    )


def of_type(run: ProgramRun, token: str) -> list[Registration]:
    return [r for r in run.resources if r.type == token]


def named(run: ProgramRun, token: str, name: str) -> Registration:
    (found,) = [r for r in of_type(run, token) if r.name == name]
    return found


def template_endpoint(run: ProgramRun, endpoint: str) -> dict[str, Any]:
    """The endpoint definition inside the traffic resource's ARM template."""
    traffic = named(run, TRAFFIC, f"{endpoint}-traffic")
    (resource,) = traffic.inputs["properties"]["template"]["resources"]
    return resource  # type: ignore[no-any-return]


def deployment_properties(run: ProgramRun, name: str) -> dict[str, Any]:
    return named(run, DEPLOYMENT, name).inputs["properties"]  # type: ignore[no-any-return]


def with_deployment(**fields: Any) -> ProgramRun:
    """The defaults scenario with fields set on its only deployment (fraud-scoring-blue)."""
    namespace = scenario("defaults")
    namespace["endpoints"][0]["deployments"][0].update(fields)
    return run_namespace(namespace)


# --- ordering: traffic is set only after every deployment exists ---------------------------


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_traffic_waits_for_every_deployment(name: str) -> None:
    run = scenario_run(name)
    for spec in scenario(name)["endpoints"]:
        endpoint = named(run, ENDPOINT, spec["name"])
        deployments = {
            named(run, DEPLOYMENT, f"{spec['name']}-{d['name']}").urn for d in spec["deployments"]
        }
        traffic = named(run, TRAFFIC, f"{spec['name']}-traffic")
        assert deployments | {endpoint.urn} <= set(traffic.dependencies)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_deployments_wait_for_endpoint(name: str) -> None:
    run = scenario_run(name)
    endpoints = {r.inputs["endpointName"]: r.urn for r in of_type(run, ENDPOINT)}
    for deployment in of_type(run, DEPLOYMENT):
        assert endpoints[deployment.inputs["endpointName"]] in deployment.dependencies


def test_endpoint_waits_only_for_its_identity() -> None:
    run = scenario_run("max")
    for endpoint in of_type(run, ENDPOINT):
        identity = named(run, IDENTITY, f"{endpoint.name}-identity")
        assert endpoint.dependencies == [identity.urn]


def test_every_child_has_the_component_as_parent() -> None:
    run = scenario_run("max")
    components = {r.name: r.urn for r in of_type(run, COMPONENT)}
    children = of_type(run, ENDPOINT) + of_type(run, DEPLOYMENT) + of_type(run, TRAFFIC)
    for child in children:
        endpoint = child.inputs.get("endpointName") or child.name.removesuffix("-traffic")
        assert child.parent == components[endpoint], child.name


def test_component_type_token_is_ml_endpoints_azure_OnlineEndpoint() -> None:
    run = scenario_run("max")
    components = [r for r in run.resources if r.type == COMPONENT]
    assert {(r.type, r.name) for r in components} == {
        (COMPONENT, "fraud-scoring"),
        (COMPONENT, "churn-propensity"),
    }


def test_deployments_and_traffic_are_deleted_with_the_endpoint() -> None:
    run = scenario_run("waf_aligned")
    endpoint = named(run, ENDPOINT, "fraud-scoring")
    for child in [*of_type(run, DEPLOYMENT), *of_type(run, TRAFFIC)]:
        assert child.deleted_with == endpoint.urn, child.name


# --- secure defaults --------------------------------------------------------------------------


def test_endpoint_defaults_to_aad_token_auth() -> None:
    endpoint = named(scenario_run("defaults"), ENDPOINT, "fraud-scoring")
    assert endpoint.inputs["properties"]["authMode"] == "AADToken"


def test_endpoint_defaults_to_public_network_access_disabled() -> None:
    endpoint = named(scenario_run("defaults"), ENDPOINT, "fraud-scoring")
    assert endpoint.inputs["properties"]["publicNetworkAccess"] == "Disabled"


def test_deployments_default_to_egress_public_network_access_disabled() -> None:
    properties = deployment_properties(scenario_run("defaults"), "fraud-scoring-blue")
    assert properties["egressPublicNetworkAccess"] == "Disabled"


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_traffic_template_carries_the_endpoint_auth_and_network_access(name: str) -> None:
    run = scenario_run(name)
    for endpoint in of_type(run, ENDPOINT):
        template = template_endpoint(run, endpoint.name)["properties"]
        assert template["authMode"] == endpoint.inputs["properties"]["authMode"]
        assert (
            template["publicNetworkAccess"] == endpoint.inputs["properties"]["publicNetworkAccess"]
        )


@pytest.mark.parametrize(
    ("endpoint", "auth_mode"), [("fraud-scoring", "Key"), ("churn-propensity", "AMLToken")]
)
def test_auth_mode_maps_to_the_azure_name(endpoint: str, auth_mode: str) -> None:
    run = scenario_run("max")
    assert named(run, ENDPOINT, endpoint).inputs["properties"]["authMode"] == auth_mode
    assert template_endpoint(run, endpoint)["properties"]["authMode"] == auth_mode


def test_public_network_access_enabled_when_the_spec_says_so() -> None:
    namespace = scenario("defaults")
    namespace["endpoints"][0]["public_network_access"] = "enabled"
    run = run_namespace(namespace)
    assert named(run, ENDPOINT, "fraud-scoring").inputs["properties"]["publicNetworkAccess"] == (
        "Enabled"
    )
    assert template_endpoint(run, "fraud-scoring")["properties"]["publicNetworkAccess"] == (
        "Enabled"
    )


# --- traffic and mirror -----------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_traffic_template_sets_the_spec_traffic(name: str) -> None:
    run = scenario_run(name)
    for spec in scenario(name)["endpoints"]:
        assert template_endpoint(run, spec["name"])["properties"]["traffic"] == spec["traffic"]


def test_traffic_template_sets_the_spec_mirror_traffic() -> None:
    properties = template_endpoint(scenario_run("max"), "fraud-scoring")["properties"]
    assert properties["mirrorTraffic"] == {"shadow": 20}


def test_traffic_template_clears_mirror_traffic_when_the_spec_has_none() -> None:
    # An empty map (not an absent key) so a PUT removes a mirror set by an earlier change.
    properties = template_endpoint(scenario_run("defaults"), "fraud-scoring")["properties"]
    assert properties["mirrorTraffic"] == {}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_endpoint_resource_carries_no_traffic(name: str) -> None:
    for endpoint in of_type(scenario_run(name), ENDPOINT):
        properties = endpoint.inputs["properties"]
        assert "traffic" not in properties
        assert "mirrorTraffic" not in properties


def test_endpoint_ignores_changes_that_would_reset_traffic() -> None:
    # A later update of the OnlineEndpoint would be a full PUT without traffic.
    endpoint = named(scenario_run("defaults"), ENDPOINT, "fraud-scoring")
    assert {"properties", "identity", "tags"} <= set(endpoint.ignore_changes)


def test_traffic_is_an_incremental_deployment_of_the_endpoint_in_its_workspace() -> None:
    run = scenario_run("waf_aligned")
    traffic = named(run, TRAFFIC, "fraud-scoring-traffic")
    assert traffic.inputs["properties"]["mode"] == "Incremental"
    assert traffic.inputs["resourceGroupName"] == "rg-ml-prod"
    resource = template_endpoint(run, "fraud-scoring")
    assert resource["type"] == ENDPOINT_ARM_TYPE
    assert resource["name"] == "mlw-prod/fraud-scoring"


def test_traffic_template_repeats_the_endpoint_definition() -> None:
    # The template PUT is the endpoint's only writer after creation: it must not drop settings.
    run = scenario_run("max")
    endpoint = named(run, ENDPOINT, "fraud-scoring").inputs
    resource = template_endpoint(run, "fraud-scoring")
    assert resource["location"] == endpoint["location"] == MOCK_LOCATION
    assert resource["kind"] == endpoint["kind"] == "Managed"
    identity_id = endpoint["identity"]["userAssignedIdentities"][0]
    assert endpoint["identity"] == {"type": "UserAssigned", "userAssignedIdentities": [identity_id]}
    assert resource["identity"] == {
        "type": "UserAssigned",
        "userAssignedIdentities": {identity_id: {}},
    }
    assert resource["tags"] == endpoint["tags"]
    assert resource["properties"]["description"] == endpoint["properties"]["description"]


# --- deployment inputs ------------------------------------------------------------------------


def test_sku_capacity_is_the_instance_count() -> None:
    run = with_deployment(instance_count=4)
    assert named(run, DEPLOYMENT, "fraud-scoring-blue").inputs["sku"] == {
        "name": "Default",
        "capacity": 4,
    }


def test_sku_capacity_is_the_instance_count_within_autoscale() -> None:
    run = with_deployment(instance_count=4, autoscale={"min_instances": 2, "max_instances": 8})
    assert named(run, DEPLOYMENT, "fraud-scoring-blue").inputs["sku"]["capacity"] == 4


def test_sku_capacity_defaults_to_one_instance() -> None:
    deployment = named(scenario_run("defaults"), DEPLOYMENT, "fraud-scoring-blue")
    assert deployment.inputs["sku"]["capacity"] == 1


def test_registered_model_resolves_to_the_workspace_model_id() -> None:
    properties = deployment_properties(scenario_run("defaults"), "fraud-scoring-blue")
    assert properties["model"] == (
        f"{workspace_id('rg-ml-dev', 'mlw-dev')}/models/fraud-classifier/versions/1"
    )


def test_registry_model_path_is_passed_through() -> None:
    properties = deployment_properties(scenario_run("max"), "fraud-scoring-blue")
    assert properties["model"] == "azureml://registries/shared/models/fraud-classifier/versions/7"


def test_model_resource_id_is_passed_through() -> None:
    model_id = f"{workspace_id('rg-shared', 'mlw-shared')}/models/fraud-classifier/versions/9"
    properties = deployment_properties(with_deployment(model=model_id), "fraud-scoring-blue")
    assert properties["model"] == model_id


def test_environment_and_code_resolve_to_workspace_asset_ids() -> None:
    properties = deployment_properties(scenario_run("max"), "fraud-scoring-blue")
    workspace = workspace_id("rg-ml-prod", "mlw-prod")
    assert properties["environmentId"] == f"{workspace}/environments/sklearn-inference/versions/3"
    assert properties["codeConfiguration"] == {
        "codeId": f"{workspace}/codes/fraud-code/versions/7",
        "scoringScript": "score.py",
    }


def test_probe_settings_are_iso_8601_durations() -> None:
    properties = deployment_properties(scenario_run("max"), "fraud-scoring-blue")
    assert properties["livenessProbe"] == {
        "initialDelay": "PT30S",
        "period": "PT10S",
        "timeout": "PT2S",
        "successThreshold": 1,
        "failureThreshold": 5,
    }
    assert properties["readinessProbe"]["successThreshold"] == 2


def test_probe_defaults() -> None:
    properties = deployment_properties(scenario_run("defaults"), "fraud-scoring-blue")
    expected = {
        "initialDelay": "PT10S",
        "period": "PT10S",
        "timeout": "PT2S",
        "successThreshold": 1,
        "failureThreshold": 30,
    }
    assert properties["livenessProbe"] == properties["readinessProbe"] == expected


@pytest.mark.parametrize(
    ("timeout_ms", "duration"),
    [(180_000, "PT180S"), (2000, "PT2S"), (5000, "PT5S"), (1500, "PT1.5S")],
)
def test_request_timeout_is_an_iso_8601_duration(timeout_ms: int, duration: str) -> None:
    run = with_deployment(request_settings={"request_timeout_ms": timeout_ms})
    request = deployment_properties(run, "fraud-scoring-blue")["requestSettings"]
    assert request["requestTimeout"] == duration


def test_request_timeout_defaults_to_5_seconds() -> None:
    properties = deployment_properties(scenario_run("defaults"), "fraud-scoring-blue")
    assert properties["requestSettings"]["requestTimeout"] == "PT5S"
    assert properties["requestSettings"]["maxConcurrentRequestsPerInstance"] == 1


def test_max_concurrent_requests_is_passed() -> None:
    properties = deployment_properties(scenario_run("max"), "fraud-scoring-blue")
    assert properties["requestSettings"]["maxConcurrentRequestsPerInstance"] == 8


def test_environment_variables_are_passed() -> None:
    properties = deployment_properties(scenario_run("max"), "fraud-scoring-blue")
    assert properties["environmentVariables"] == {"LOG_LEVEL": "info", "MODEL_THRESHOLD": "0.7"}


def test_deployment_is_managed_compute_of_the_given_instance_type() -> None:
    deployment = named(scenario_run("defaults"), DEPLOYMENT, "fraud-scoring-blue").inputs
    assert deployment["kind"] == "Managed"
    assert deployment["properties"]["endpointComputeType"] == "Managed"
    assert deployment["properties"]["instanceType"] == "Standard_DS3_v2"
    assert deployment["properties"]["appInsightsEnabled"] is True


def test_deployment_tags_merge_stack_endpoint_and_deployment_tags() -> None:
    deployment = named(scenario_run("max"), DEPLOYMENT, "fraud-scoring-blue")
    assert deployment.inputs["tags"] == {
        "owner": "fraud-oncall",  # the endpoint's tag wins over the stack's
        "application": "fraud-detection",
        "data-sensitivity": "confidential",
        "cost-center": "ml-platform",
        "model-family": "gbm",  # the deployment's own tag
    }


def test_endpoint_tags_win_over_stack_tags() -> None:
    endpoint = named(scenario_run("max"), ENDPOINT, "fraud-scoring")
    assert endpoint.inputs["tags"]["owner"] == "fraud-oncall"
    assert endpoint.inputs["tags"]["cost-center"] == "ml-platform"


def test_endpoint_without_tags_gets_the_stack_tags() -> None:
    endpoint = named(scenario_run("defaults"), ENDPOINT, "fraud-scoring")
    assert endpoint.inputs["tags"] == scenario("defaults")["tags"]


# --- protect ----------------------------------------------------------------------------------


def test_endpoints_are_protected_in_prod() -> None:
    run = scenario_run("max")  # environment: prod
    assert [r.protect for r in of_type(run, ENDPOINT)] == [True, True]


def test_endpoints_are_not_protected_in_dev() -> None:
    run = scenario_run("defaults")  # environment: dev
    assert [r.protect for r in of_type(run, ENDPOINT)] == [False]


# --- names are contracts ----------------------------------------------------------------------


def test_two_runs_declare_identical_resources() -> None:
    def declared(run: ProgramRun) -> list[tuple[Any, ...]]:
        return [(r.urn, r.type, r.inputs, r.dependencies, r.parent) for r in run.resources]

    first, second = run_namespace(scenario("max")), run_namespace(scenario("max"))
    assert declared(first) == declared(second)
    assert first.outputs == second.outputs


def test_each_run_parents_its_components_to_its_own_stack() -> None:
    # The SDK keeps its root Stack between runs in one process unless the runner resets it.
    for stack in ("first", "second"):
        run = run_namespace(scenario("defaults"), stack=stack)
        (root,) = [r for r in run.resources if r.type == "pulumi:pulumi:Stack"]
        assert (
            root.urn
            == f"urn:pulumi:{stack}::ml-endpoints::pulumi:pulumi:Stack::ml-endpoints-{stack}"
        )
        assert [r.parent for r in of_type(run, COMPONENT)] == [root.urn]


def test_logical_names_derive_from_endpoint_and_deployment_names() -> None:
    run = scenario_run("max")
    core = {ENDPOINT, DEPLOYMENT, TRAFFIC}
    assert {(r.type, r.name) for r in run.resources if r.custom and r.type in core} == {
        (ENDPOINT, "fraud-scoring"),
        (DEPLOYMENT, "fraud-scoring-blue"),
        (DEPLOYMENT, "fraud-scoring-green"),
        (DEPLOYMENT, "fraud-scoring-shadow"),
        (TRAFFIC, "fraud-scoring-traffic"),
        (ENDPOINT, "churn-propensity"),
        (DEPLOYMENT, "churn-propensity-gbm-v3"),
        (TRAFFIC, "churn-propensity-traffic"),
    }


def test_azure_names_are_the_spec_names() -> None:
    run = scenario_run("waf_aligned")
    assert named(run, ENDPOINT, "fraud-scoring").inputs["endpointName"] == "fraud-scoring"
    green = named(run, DEPLOYMENT, "fraud-scoring-green").inputs
    assert (green["endpointName"], green["deploymentName"]) == ("fraud-scoring", "green")


def test_traffic_arm_deployment_is_named_mlep_traffic_endpoint() -> None:
    traffic = named(scenario_run("defaults"), TRAFFIC, "fraud-scoring-traffic")
    assert traffic.inputs["deploymentName"] == "mlep-traffic-fraud-scoring"


def test_resources_live_in_the_configured_workspace() -> None:
    run = scenario_run("waf_aligned")
    for resource in of_type(run, ENDPOINT) + of_type(run, DEPLOYMENT):
        assert resource.inputs["resourceGroupName"] == "rg-ml-prod"
        assert resource.inputs["workspaceName"] == "mlw-prod"
        assert resource.inputs["location"] == MOCK_LOCATION


# --- outputs ----------------------------------------------------------------------------------


def test_stack_output_describes_each_endpoint() -> None:
    outputs = dict(scenario_run("max").outputs["endpoints"]["fraud-scoring"])
    endpoint_id = f"{workspace_id('rg-ml-prod', 'mlw-prod')}/onlineEndpoints/fraud-scoring"
    principal = uuid.UUID(outputs.pop("identity_principal_id"))
    # The identity's client id (what ManagedIdentityCredential takes), not its principal id.
    assert uuid.UUID(outputs.pop("identity_client_id")) != principal
    namespace = scenario("max")
    (spec,) = [e for e in namespace["endpoints"] if e["name"] == "fraud-scoring"]
    assert outputs.pop("tags") == {**namespace["tags"], **spec.get("tags", {})}
    assert outputs == {
        "name": "fraud-scoring",
        "id": endpoint_id,
        "scoring_uri": f"https://fraud-scoring.{MOCK_LOCATION}.inference.ml.azure.com/score",
        "traffic": {"blue": 75, "green": 25, "shadow": 0},
        "mirror_traffic": {"shadow": 20},
        "key_secret_ids": {
            "primary": "https://kv-ml-prod.vault.azure.net/secrets/mlep-fraud-scoring-primary-key",
            "secondary": "https://kv-ml-prod.vault.azure.net/secrets/"
            "mlep-fraud-scoring-secondary-key",
        },
    }


def test_stack_output_has_one_entry_per_endpoint() -> None:
    assert set(scenario_run("max").outputs["endpoints"]) == {"fraud-scoring", "churn-propensity"}
