"""The Azure roles of a stack are roles Azure accepts and that work for the people they are for.

Each test proves one behaviour of `components/azure/roles.py` and `identity.py` through the real
program on the mock runtime: every action of every custom role is a real operation name (the
list below, copied from Microsoft's resource provider operations list), each role grants
exactly its actions, a custom role is defined once per resource group (not per workspace),
and the endpoint identity holds what a system-assigned identity would.
"""

from __future__ import annotations

import functools
import uuid
from typing import Any

import pytest

from mlep.engine.runtime import MOCK_SUBSCRIPTION, ProgramRun, Registration
from tests.conftest import run_namespace
from tests.scenarios import GUID_A, GUID_B, scenario

ROLE_DEFINITION = "azure-native:authorization:RoleDefinition"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
ENDPOINT = "azure-native:machinelearningservices:OnlineEndpoint"
ML = "Microsoft.MachineLearningServices/workspaces"

# Real operation names, copied from "Azure permissions for AI + machine learning"
# (https://learn.microsoft.com/azure/role-based-access-control/permissions/ai-machine-learning,
# section Microsoft.MachineLearningServices, page dated 2024-04-25, read 2026-12-04) and, for
# the one identity action, "Azure permissions for Identity"
# (https://learn.microsoft.com/azure/role-based-access-control/permissions/identity, read
# 2026-12-04). Only the operations near what the roles grant; Azure compares action names
# without regard to case, and so do these tests.
OPERATIONS = frozenset(
    name.lower()
    for name in (
        f"{ML}/read",
        f"{ML}/write",
        f"{ML}/delete",
        f"{ML}/listKeys/action",
        f"{ML}/onlineEndpoints/read",
        f"{ML}/onlineEndpoints/write",
        f"{ML}/onlineEndpoints/delete",
        f"{ML}/onlineendpoints/regeneratekeys/action",
        f"{ML}/onlineEndpoints/score/action",
        f"{ML}/onlineendpoints/token/action",
        f"{ML}/onlineendpoints/listkeys/action",
        f"{ML}/onlineEndpoints/checkNameAvailability/read",
        f"{ML}/onlineEndpoints/deployments/read",
        f"{ML}/onlineendpoints/deployments/getlogs/action",
        f"{ML}/onlineEndpoints/deployments/write",
        f"{ML}/onlineEndpoints/deployments/delete",
        f"{ML}/onlineEndpoints/deployments/checkNameAvailability/read",
        f"{ML}/onlineendpoints/deployments/operationresults/read",
        f"{ML}/onlineendpoints/deployments/operationsstatus/read",
        f"{ML}/onlineEndpoints/deployments/skus/read",
        f"{ML}/onlineendpoints/operationresults/read",
        f"{ML}/onlineendpoints/operationsstatus/read",
        f"{ML}/models/read",
        f"{ML}/models/write",
        f"{ML}/models/delete",
        f"{ML}/models/package/action",
        f"{ML}/models/versions/read",
        f"{ML}/models/versions/write",
        f"{ML}/models/versions/delete",
        f"{ML}/environments/read",
        f"{ML}/environments/readSecrets/action",
        f"{ML}/environments/write",
        f"{ML}/environments/build/action",
        f"{ML}/environments/versions/read",
        f"{ML}/environments/versions/write",
        f"{ML}/environments/versions/delete",
        f"{ML}/codes/read",
        f"{ML}/codes/write",
        f"{ML}/codes/delete",
        f"{ML}/codes/versions/read",
        f"{ML}/codes/versions/write",
        f"{ML}/codes/versions/delete",
        f"{ML}/metrics/resource/write",
        "Microsoft.MachineLearningServices/registries/read",
        "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action",
    )
)

# Built-in role ids, from "Azure built-in roles for AI + machine learning"
# (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/ai-machine-learning,
# read 2026-12-04), written out rather than imported: a changed constant must fail here.
AZUREML_METRICS_WRITER = "635dd51f-9968-44d3-b7fb-6d9a6bd613ae"  # workspaces/metrics/*/write

TRAFFIC_OPERATOR_ACTIONS = [
    f"{ML}/read",
    f"{ML}/onlineEndpoints/read",
    f"{ML}/onlineEndpoints/write",
    f"{ML}/onlineEndpoints/deployments/read",
]
DEPLOYMENT_DEVELOPER_ACTIONS = [
    f"{ML}/read",
    f"{ML}/onlineEndpoints/read",
    f"{ML}/onlineEndpoints/deployments/read",
    f"{ML}/onlineEndpoints/deployments/write",
    f"{ML}/onlineEndpoints/deployments/delete",
    f"{ML}/onlineEndpoints/deployments/getLogs/action",
    f"{ML}/models/read",
    f"{ML}/models/versions/read",
    f"{ML}/environments/read",
    f"{ML}/environments/versions/read",
    f"{ML}/codes/read",
    f"{ML}/codes/versions/read",
]


@functools.cache
def max_run(resource_group: str = "rg-ml-prod", workspace: str = "mlw-prod") -> ProgramRun:
    """`max` (both people roles), optionally moved to another resource group or workspace."""
    namespace: dict[str, Any] = scenario("max")
    namespace["azure"]["resource_group"] = resource_group
    namespace["azure"]["workspace"] = workspace
    return run_namespace(namespace)


def of_type(run: ProgramRun, token: str) -> list[Registration]:
    return [r for r in run.resources if r.type == token]


def definition(run: ProgramRun, role: str) -> Registration:
    (found,) = [r for r in of_type(run, ROLE_DEFINITION) if r.name.endswith(f"-{role}-role")]
    return found


def actions(run: ProgramRun, role: str) -> list[str]:
    (permission,) = definition(run, role).inputs["permissions"]
    return permission["actions"]  # type: ignore[no-any-return]


def group_id(resource_group: str) -> str:
    return f"/subscriptions/{MOCK_SUBSCRIPTION}/resourceGroups/{resource_group}"


def workspace_id(resource_group: str, workspace: str) -> str:
    return f"{group_id(resource_group)}/providers/{ML}/{workspace}"


# --- real operation names -------------------------------------------------------------------


@pytest.mark.parametrize("role", ["traffic-operator", "deployment-developer"])
def test_every_custom_role_action_is_a_real_operation(role: str) -> None:
    granted = actions(max_run(), role)
    assert granted
    assert [a for a in granted if a.lower() not in OPERATIONS] == []


@pytest.mark.parametrize("role", ["traffic-operator", "deployment-developer"])
def test_custom_roles_use_no_wildcards(role: str) -> None:
    # `models/*/read` once stood for the models: it matches `models/versions/read` only.
    assert [a for a in actions(max_run(), role) if "*" in a] == []


# --- exactly the expected actions -----------------------------------------------------------


def test_traffic_operator_gets_exactly_its_actions() -> None:
    assert actions(max_run(), "traffic-operator") == TRAFFIC_OPERATOR_ACTIONS


def test_deployment_developer_gets_exactly_its_actions() -> None:
    assert actions(max_run(), "deployment-developer") == DEPLOYMENT_DEVELOPER_ACTIONS


@pytest.mark.parametrize("asset", ["models", "environments", "codes"])
def test_deployment_developer_reads_asset_containers_and_versions(asset: str) -> None:
    granted = actions(max_run(), "deployment-developer")
    assert f"{ML}/{asset}/read" in granted
    assert f"{ML}/{asset}/versions/read" in granted


def test_no_custom_role_grants_identity_assignment() -> None:
    # Traffic changes go through the pipeline: no person may attach an endpoint identity.
    for role in ("traffic-operator", "deployment-developer"):
        granted = [a.lower() for a in actions(max_run(), role)]
        assert not [a for a in granted if a.startswith("microsoft.managedidentity/")], role


@pytest.mark.parametrize(
    ("role", "principal"), [("traffic-operator", GUID_A), ("deployment-developer", GUID_B)]
)
def test_people_roles_are_assigned_only_on_the_workspace(role: str, principal: str) -> None:
    run = max_run()
    held = [r for r in of_type(run, ROLE_ASSIGNMENT) if r.inputs["principalId"] == principal]
    assert [r.inputs["scope"] for r in held] == [workspace_id("rg-ml-prod", "mlw-prod")]
    assert definition(run, role).urn in held[0].dependencies


# --- one definition per resource group ------------------------------------------------------


@pytest.mark.parametrize("role", ["traffic-operator", "deployment-developer"])
def test_definition_is_scoped_and_assignable_to_the_resource_group(role: str) -> None:
    found = definition(max_run(), role)
    assert found.inputs["scope"] == group_id("rg-ml-prod")
    assert found.inputs["assignableScopes"] == [group_id("rg-ml-prod")]


@pytest.mark.parametrize("role", ["traffic-operator", "deployment-developer"])
def test_definition_name_is_a_guid(role: str) -> None:
    name = definition(max_run(), role).inputs["roleDefinitionId"]
    assert str(uuid.UUID(name)) == name


@pytest.mark.parametrize("role", ["traffic-operator", "deployment-developer"])
def test_two_workspaces_of_one_group_share_one_definition(role: str) -> None:
    first = definition(max_run(), role).inputs
    second = definition(max_run(workspace="mlw-prod-eu"), role).inputs
    for key in ("roleDefinitionId", "roleName", "scope", "assignableScopes", "permissions"):
        assert first[key] == second[key], key


@pytest.mark.parametrize("role", ["traffic-operator", "deployment-developer"])
def test_another_resource_group_gets_its_own_definition(role: str) -> None:
    first = definition(max_run(), role).inputs
    other = definition(max_run(resource_group="rg-ml-prod-eu"), role).inputs
    assert first["roleDefinitionId"] != other["roleDefinitionId"]
    assert first["roleName"] != other["roleName"]


def test_definition_names_are_the_same_on_every_run() -> None:
    def names(run: ProgramRun) -> list[tuple[str, str]]:
        return sorted((r.name, r.inputs["roleDefinitionId"]) for r in of_type(run, ROLE_DEFINITION))

    assert names(max_run()) == names(run_namespace(scenario("max")))


def test_role_name_names_the_group_and_subscription_not_the_workspace() -> None:
    name = definition(max_run(), "traffic-operator").inputs["roleName"]
    assert name == f"ml-endpoints traffic operator (rg-ml-prod in {MOCK_SUBSCRIPTION})"


# --- the endpoint identity ------------------------------------------------------------------


def test_endpoint_identity_writes_metrics_to_the_workspace() -> None:
    run = max_run()
    for endpoint in of_type(run, ENDPOINT):
        (grant,) = [
            r
            for r in of_type(run, ROLE_ASSIGNMENT)
            if r.name == f"{endpoint.name}-identity-metrics-write"
        ]
        assert grant.inputs["roleDefinitionId"] == (
            f"/subscriptions/{MOCK_SUBSCRIPTION}/providers/Microsoft.Authorization/"
            f"roleDefinitions/{AZUREML_METRICS_WRITER}"
        )
        assert grant.inputs["scope"] == workspace_id("rg-ml-prod", "mlw-prod")
        assert grant.inputs["principalType"] == "ServicePrincipal"
