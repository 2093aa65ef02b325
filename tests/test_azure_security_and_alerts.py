"""Endpoint identity, least-privilege roles, endpoint keys in Key Vault, and alerts (Azure).

Each test proves one behaviour of `components/azure/{identity,roles,keys,alerts}.py` as the
engine would see it, through the real program on the mock runtime, or of the model rules that
guard their config. Expected ids are built here from the mock runtime's answers (PlanMocks), so
a test fails when the program points a role or an alert at the wrong resource.
"""

from __future__ import annotations

import fnmatch
import functools
import json
import os
import re
import subprocess
import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest

from components.azure.keys import key_expiry
from mlep.engine.mocks import MOCK_PRIMARY_KEY, MOCK_SECONDARY_KEY
from mlep.engine.runtime import MOCK_SUBSCRIPTION, SECRET, ProgramRun, Registration
from models.errors import ConfigError, Problem
from models.loader import parse_stack_config
from tests.conftest import run_namespace
from tests.scenarios import GUID_A, GUID_B, GUID_C, LAW_ID, SCENARIOS, SUB, scenario
from tests.test_plan_cli import MLEP, TIMEOUT_S, copy_project, stack_yaml

COMPONENT = "ml-endpoints:azure:OnlineEndpoint"
WORKSPACE_ROLES = "ml-endpoints:azure:WorkspaceRoles"
ENDPOINT = "azure-native:machinelearningservices:OnlineEndpoint"
DEPLOYMENT = "azure-native:machinelearningservices:OnlineDeployment"
TRAFFIC = "azure-native:resources:Deployment"
IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
ROLE_DEFINITION = "azure-native:authorization:RoleDefinition"
SECRET_TYPE = "azure-native:keyvault:Secret"
ACTION_GROUP = "azure-native:monitor:ActionGroup"
METRIC_ALERT = "azure-native:monitor:MetricAlert"
QUERY_RULE = "azure-native:monitor:ScheduledQueryRule"

# Built-in role GUIDs, written out rather than imported: a changed constant must fail here.
ACR_PULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
STORAGE_BLOB_DATA_READER = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
KEY_VAULT_SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
AZUREML_METRICS_WRITER = "635dd51f-9968-44d3-b7fb-6d9a6bd613ae"

ML = "Microsoft.MachineLearningServices/workspaces"
OTHER_PRINCIPAL = "1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b"
EXISTING_ACTION_GROUP = (
    f"/subscriptions/{SUB}/resourceGroups/rg-mon/providers/microsoft.insights/"
    "actionGroups/ag-oncall"
)
KEY_SECRETS = ("mlep-fraud-scoring-primary-key", "mlep-fraud-scoring-secondary-key")


# --- helpers --------------------------------------------------------------------------------


@functools.cache
def scenario_run(name: str) -> ProgramRun:
    """The program's run for a shared scenario (cached: tests only read it)."""
    return run_namespace(scenario(name))


@functools.cache
def max_run_again() -> ProgramRun:
    """A second, independent run of `max`, to prove names do not change between runs."""
    return run_namespace(scenario("max"))


@functools.cache
def max_with_traffic_operator(principal: str) -> ProgramRun:
    namespace = scenario("max")
    namespace["azure"]["roles"]["traffic_operators"] = [principal]
    return run_namespace(namespace)


@functools.cache
def max_with_two_key_readers() -> ProgramRun:
    namespace = scenario("max")
    namespace["azure"]["roles"]["key_readers"] = [GUID_C, OTHER_PRINCIPAL]
    return run_namespace(namespace)


@functools.cache
def defaults_with_traffic_operators_only() -> ProgramRun:
    namespace = scenario("defaults")
    namespace["azure"]["roles"] = {"traffic_operators": [GUID_A]}
    return run_namespace(namespace)


@functools.cache
def waf_aligned_with_existing_action_group() -> ProgramRun:
    namespace = scenario("waf_aligned")
    namespace["azure"]["action_group"] = {"id": EXISTING_ACTION_GROUP}
    return run_namespace(namespace)


def of_type(run: ProgramRun, token: str) -> list[Registration]:
    return [r for r in run.resources if r.type == token]


def named(run: ProgramRun, token: str, name: str) -> Registration:
    (found,) = [r for r in of_type(run, token) if r.name == name]
    return found


def arm_id(resource_group: str, provider_path: str) -> str:
    """An id as the mock runtime answers it (subscription MOCK_SUBSCRIPTION)."""
    return (
        f"/subscriptions/{MOCK_SUBSCRIPTION}/resourceGroups/{resource_group}/providers/"
        f"{provider_path}"
    )


def workspace_ids(name: str) -> dict[str, str]:
    """The ids getWorkspace answers with for a scenario's workspace."""
    azure = scenario(name)["azure"]
    group, workspace = azure["resource_group"], azure["workspace"]
    compact = workspace.replace("-", "")
    return {
        "workspace": arm_id(group, f"{ML}/{workspace}"),
        "registry": arm_id(group, f"Microsoft.ContainerRegistry/registries/cr{compact}"),
        "storage": arm_id(group, f"Microsoft.Storage/storageAccounts/st{compact}"),
    }


def identity_id(resource_group: str, endpoint: str) -> str:
    return arm_id(
        resource_group, f"Microsoft.ManagedIdentity/userAssignedIdentities/id-mlep-{endpoint}"
    )


def endpoint_id(endpoint: str) -> str:
    return arm_id("rg-ml-prod", f"{ML}/mlw-prod/onlineEndpoints/{endpoint}")


def builtin_role_id(role_guid: str) -> str:
    return (
        f"/subscriptions/{MOCK_SUBSCRIPTION}/providers/Microsoft.Authorization/"
        f"roleDefinitions/{role_guid}"
    )


def is_subscription_or_group(scope: str) -> bool:
    """True for `/subscriptions/<id>` and `/subscriptions/<id>/resourceGroups/<rg>`: scopes
    that grant far more than one resource."""
    return bool(re.fullmatch(r"/subscriptions/[^/]+(/resourceGroups/[^/]+)?/?", scope, re.I))


def names_one_resource(scope: str) -> bool:
    """A scope below a resource provider: `.../providers/<namespace>/<type>/<name>[...]`."""
    parts = scope.strip("/").split("/")
    lowered = [part.lower() for part in parts]
    return "providers" in lowered and len(parts) - lowered.index("providers") - 1 >= 3


def assignment_names(run: ProgramRun) -> dict[str, str]:
    """Logical name -> Azure name (roleAssignmentName) of every role assignment."""
    return {r.name: r.inputs["roleAssignmentName"] for r in of_type(run, ROLE_ASSIGNMENT)}


def actions(run: ProgramRun, role: str) -> list[str]:
    (permission,) = named(run, ROLE_DEFINITION, f"mlw-prod-{role}-role").inputs["permissions"]
    return permission["actions"]  # type: ignore[no-any-return]


def grants(granted: list[str], operation: str) -> bool:
    """Whether the actions grant ``operation``, wildcards included (Azure matches `*`)."""
    return any(fnmatch.fnmatchcase(operation.lower(), a.lower()) for a in granted)


def criterion(alert: Registration) -> dict[str, Any]:
    (found,) = alert.inputs["criteria"]["allOf"]
    return found  # type: ignore[no-any-return]


def endpoint_output(run: ProgramRun, endpoint: str) -> dict[str, Any]:
    return run.outputs["endpoints"][endpoint]  # type: ignore[no-any-return]


def problems(namespace: dict[str, Any]) -> list[Problem]:
    """Every problem the loader reports; fails the test if the config is accepted."""
    with pytest.raises(ConfigError) as info:
        parse_stack_config(namespace, "Pulumi.test.yaml")
    return info.value.problems


def only_problem_at(namespace: dict[str, Any], path: str) -> Problem:
    """The one problem the change causes, at ``path``, with a message and a fix."""
    found = problems(namespace)
    assert [p.path for p in found] == [path]
    (problem,) = found
    assert problem.message.strip()
    assert problem.fix.strip()
    return problem


# --- the endpoint identity ------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_endpoint_gets_one_user_assigned_identity(name: str) -> None:
    run = scenario_run(name)
    resource_group = scenario(name)["azure"]["resource_group"]
    endpoints = [spec["name"] for spec in scenario(name)["endpoints"]]
    identities = of_type(run, IDENTITY)
    assert sorted(r.inputs["resourceName"] for r in identities) == sorted(
        f"id-mlep-{endpoint}" for endpoint in endpoints
    )
    assert {r.inputs["resourceGroupName"] for r in identities} == {resource_group}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_identity_is_tagged_like_its_endpoint(name: str) -> None:
    run = scenario_run(name)
    for endpoint in of_type(run, ENDPOINT):
        identity = named(run, IDENTITY, f"{endpoint.name}-identity")
        assert identity.inputs["tags"] == endpoint.inputs["tags"]


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_endpoint_runs_as_its_user_assigned_identity(name: str) -> None:
    run = scenario_run(name)
    resource_group = scenario(name)["azure"]["resource_group"]
    for endpoint in of_type(run, ENDPOINT):
        assert endpoint.inputs["identity"] == {
            "type": "UserAssigned",
            "userAssignedIdentities": [identity_id(resource_group, endpoint.name)],
        }


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_traffic_template_keeps_the_user_assigned_identity(name: str) -> None:
    # The traffic PUT carries the full endpoint; without the identity it would drop it.
    run = scenario_run(name)
    resource_group = scenario(name)["azure"]["resource_group"]
    for endpoint in of_type(run, ENDPOINT):
        traffic = named(run, TRAFFIC, f"{endpoint.name}-traffic")
        (resource,) = traffic.inputs["properties"]["template"]["resources"]
        assert resource["identity"] == {
            "type": "UserAssigned",
            "userAssignedIdentities": {identity_id(resource_group, endpoint.name): {}},
        }


@pytest.mark.parametrize("name", sorted(SCENARIOS))
@pytest.mark.parametrize(
    ("grant", "role", "resource"),
    [
        ("acr-pull", ACR_PULL, "registry"),
        ("storage-read", STORAGE_BLOB_DATA_READER, "storage"),
        ("metrics-write", AZUREML_METRICS_WRITER, "workspace"),
    ],
)
def test_identity_gets_one_role_on_one_workspace_resource(
    name: str, grant: str, role: str, resource: str
) -> None:
    run = scenario_run(name)
    for endpoint in of_type(run, ENDPOINT):
        assignment = named(run, ROLE_ASSIGNMENT, f"{endpoint.name}-identity-{grant}")
        assert assignment.inputs["roleDefinitionId"] == builtin_role_id(role)
        assert assignment.inputs["scope"] == workspace_ids(name)[resource]
        assert assignment.inputs["principalType"] == "ServicePrincipal"
        principal = endpoint_output(run, endpoint.name)["identity_principal_id"]
        assert assignment.inputs["principalId"] == principal


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_identity_has_exactly_what_a_system_assigned_identity_gets(name: str) -> None:
    run = scenario_run(name)
    for endpoint in of_type(run, ENDPOINT):
        principal = endpoint_output(run, endpoint.name)["identity_principal_id"]
        held = [
            r.name for r in of_type(run, ROLE_ASSIGNMENT) if r.inputs["principalId"] == principal
        ]
        assert sorted(held) == [
            f"{endpoint.name}-identity-acr-pull",
            f"{endpoint.name}-identity-metrics-write",
            f"{endpoint.name}-identity-storage-read",
        ]


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_deployment_waits_for_the_identity_roles(name: str) -> None:
    run = scenario_run(name)
    for deployment in of_type(run, DEPLOYMENT):
        endpoint = deployment.inputs["endpointName"]
        roles = {
            named(run, ROLE_ASSIGNMENT, f"{endpoint}-identity-{grant}").urn
            for grant in ("acr-pull", "storage-read", "metrics-write")
        }
        assert roles <= set(deployment.dependencies), deployment.name


# --- role scopes and names ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scope", "broad"),
    [
        (f"/subscriptions/{SUB}", True),
        (f"/subscriptions/{SUB}/resourceGroups/rg-ml-prod", True),
        (f"/subscriptions/{SUB}/resourceGroups/rg-ml-prod/", True),
        (f"/subscriptions/{SUB}/resourceGroups/rg-ml-prod/providers/{ML}/mlw-prod", False),
    ],
)
def test_scope_helper_tells_broad_scopes_from_resources(scope: str, broad: bool) -> None:
    assert is_subscription_or_group(scope) is broad
    assert names_one_resource(scope) is not broad


def test_role_assignments_are_scoped_to_one_resource() -> None:
    assignments = of_type(scenario_run("max"), ROLE_ASSIGNMENT)
    assert assignments
    for assignment in assignments:
        scope = assignment.inputs["scope"]
        assert not is_subscription_or_group(scope), assignment.name
        assert names_one_resource(scope), assignment.name


def test_role_definitions_are_scoped_and_assignable_to_the_resource_group_only() -> None:
    # A definition is not a grant: it lives on the resource group so that every workspace of
    # the group shares it; its assignments stay on one resource (the test above).
    definitions = of_type(scenario_run("max"), ROLE_DEFINITION)
    assert definitions
    group = f"/subscriptions/{MOCK_SUBSCRIPTION}/resourceGroups/rg-ml-prod"
    for definition in definitions:
        assert definition.inputs["scope"] == group, definition.name
        assert definition.inputs["assignableScopes"] == [group], definition.name


def test_role_assignment_names_are_guids() -> None:
    names = assignment_names(scenario_run("max"))
    assert names
    for logical, azure_name in names.items():
        assert str(uuid.UUID(azure_name)) == azure_name, logical


def test_role_assignment_names_are_unique() -> None:
    names = list(assignment_names(scenario_run("max")).values())
    assert len(set(names)) == len(names)


def test_role_assignment_names_are_the_same_on_every_run() -> None:
    assert assignment_names(max_run_again()) == assignment_names(scenario_run("max"))


def test_changing_a_principal_renames_only_its_assignment() -> None:
    before = assignment_names(scenario_run("max"))
    after = assignment_names(max_with_traffic_operator(OTHER_PRINCIPAL))
    old, new = f"mlw-prod-traffic-operator-{GUID_A}", f"mlw-prod-traffic-operator-{OTHER_PRINCIPAL}"
    assert set(before) - set(after) == {old}
    assert set(after) - set(before) == {new}
    assert after[new] != before[old]
    assert {k: v for k, v in after.items() if k != new} == {
        k: v for k, v in before.items() if k != old
    }


# --- custom roles for people ----------------------------------------------------------------


def test_max_defines_traffic_operator_and_deployment_developer_roles() -> None:
    definitions = of_type(scenario_run("max"), ROLE_DEFINITION)
    assert sorted(r.name for r in definitions) == [
        "mlw-prod-deployment-developer-role",
        "mlw-prod-traffic-operator-role",
    ]
    assert {r.inputs["roleType"] for r in definitions} == {"CustomRole"}


def test_traffic_operator_can_write_endpoints() -> None:
    assert f"{ML}/onlineEndpoints/write" in actions(scenario_run("max"), "traffic-operator")


@pytest.mark.parametrize("forbidden", ["deployments/write", "listkeys", "delete"])
def test_traffic_operator_cannot_change_deployments_read_keys_or_delete(forbidden: str) -> None:
    granted = actions(scenario_run("max"), "traffic-operator")
    assert not [a for a in granted if forbidden in a.lower()]


@pytest.mark.parametrize(
    "operation",
    [
        f"{ML}/onlineEndpoints/deployments/write",
        f"{ML}/onlineEndpoints/listKeys/action",
        f"{ML}/onlineEndpoints/delete",
        f"{ML}/onlineEndpoints/deployments/delete",
    ],
)
def test_traffic_operator_wildcards_grant_no_forbidden_operation(operation: str) -> None:
    assert not grants(actions(scenario_run("max"), "traffic-operator"), operation)


def test_deployment_developer_can_write_deployments() -> None:
    granted = actions(scenario_run("max"), "deployment-developer")
    assert f"{ML}/onlineEndpoints/deployments/write" in granted


def test_deployment_developer_cannot_write_endpoints_or_traffic() -> None:
    granted = actions(scenario_run("max"), "deployment-developer")
    assert f"{ML}/onlineEndpoints/write" not in granted
    assert not grants(granted, f"{ML}/onlineEndpoints/write")


def test_deployment_developer_cannot_read_keys() -> None:
    granted = actions(scenario_run("max"), "deployment-developer")
    assert not [a for a in granted if "listkeys" in a.lower()]
    assert not grants(granted, f"{ML}/onlineEndpoints/listKeys/action")


@pytest.mark.parametrize(
    ("role", "principal"), [("traffic-operator", GUID_A), ("deployment-developer", GUID_B)]
)
def test_each_principal_gets_its_role_on_the_workspace(role: str, principal: str) -> None:
    run = scenario_run("max")
    definition = named(run, ROLE_DEFINITION, f"mlw-prod-{role}-role")
    (assignment,) = [
        r for r in of_type(run, ROLE_ASSIGNMENT) if r.inputs["principalId"] == principal
    ]
    assert assignment.inputs["scope"] == workspace_ids("max")["workspace"]
    assert assignment.inputs["roleDefinitionId"] == builtin_role_id(
        definition.inputs["roleDefinitionId"]
    )
    assert definition.urn in assignment.dependencies


def test_no_custom_roles_without_people_roles() -> None:
    run = scenario_run("defaults")
    assert of_type(run, ROLE_DEFINITION) == []
    assert of_type(run, WORKSPACE_ROLES) == []


def test_only_the_roles_with_principals_are_defined() -> None:
    run = defaults_with_traffic_operators_only()
    assert [r.name for r in of_type(run, ROLE_DEFINITION)] == ["mlw-dev-traffic-operator-role"]


# --- endpoint keys in Key Vault -------------------------------------------------------------


def key_secret(name: str) -> Registration:
    return named(scenario_run("max"), SECRET_TYPE, name)


def test_key_endpoint_keeps_both_keys_in_the_configured_vault() -> None:
    secrets = of_type(scenario_run("max"), SECRET_TYPE)
    assert sorted(r.name for r in secrets) == sorted(KEY_SECRETS)
    for secret in secrets:
        assert secret.inputs["secretName"] == secret.name
        assert secret.inputs["vaultName"] == "kv-ml-prod"
        assert secret.inputs["resourceGroupName"] == "rg-ml-prod"


@pytest.mark.parametrize("name", KEY_SECRETS)
def test_key_secret_value_is_a_pulumi_secret(name: str) -> None:
    assert key_secret(name).inputs["properties"]["value"] == SECRET


@pytest.mark.parametrize("name", KEY_SECRETS)
def test_key_secret_has_a_content_type(name: str) -> None:
    content_type = key_secret(name).inputs["properties"]["contentType"]
    assert isinstance(content_type, str)
    assert content_type.strip()


@pytest.mark.parametrize("name", KEY_SECRETS)
def test_key_secret_expires_in_the_future(name: str) -> None:
    expires = key_secret(name).inputs["properties"]["attributes"]["expires"]
    assert isinstance(expires, int)
    assert expires > datetime.now(UTC).timestamp()
    assert expires == key_expiry(datetime.now(UTC).date())


@pytest.mark.parametrize("name", KEY_SECRETS)
def test_key_secret_is_enabled(name: str) -> None:
    assert key_secret(name).inputs["properties"]["attributes"]["enabled"] is True


def test_no_key_secrets_for_token_auth_endpoints() -> None:
    run = scenario_run("max")
    churn = named(run, COMPONENT, "churn-propensity").urn
    assert [r.name for r in of_type(run, SECRET_TYPE) if r.parent == churn] == []


def test_no_key_secrets_in_defaults() -> None:
    assert of_type(scenario_run("defaults"), SECRET_TYPE) == []


@pytest.mark.parametrize("name", KEY_SECRETS)
def test_key_reader_may_read_exactly_that_secret(name: str) -> None:
    run = scenario_run("max")
    secret_id = arm_id("rg-ml-prod", f"Microsoft.KeyVault/vaults/kv-ml-prod/secrets/{name}")
    (assignment,) = [
        r
        for r in of_type(run, ROLE_ASSIGNMENT)
        if r.inputs["principalId"] == GUID_C and r.inputs["scope"] == secret_id
    ]
    assert assignment.inputs["roleDefinitionId"] == builtin_role_id(KEY_VAULT_SECRETS_USER)
    assert key_secret(name).urn in assignment.dependencies


def test_one_key_reader_assignment_per_secret_per_reader() -> None:
    run = max_with_two_key_readers()
    pairs = sorted(
        (r.inputs["scope"].rsplit("/", 1)[-1], r.inputs["principalId"])
        for r in of_type(run, ROLE_ASSIGNMENT)
        if r.inputs["roleDefinitionId"] == builtin_role_id(KEY_VAULT_SECRETS_USER)
    )
    assert pairs == sorted(
        (secret, reader) for secret in KEY_SECRETS for reader in (GUID_C, OTHER_PRINCIPAL)
    )


def test_key_readers_get_no_other_role() -> None:
    held = [
        r.inputs["roleDefinitionId"]
        for r in of_type(scenario_run("max"), ROLE_ASSIGNMENT)
        if r.inputs["principalId"] == GUID_C
    ]
    assert held == [builtin_role_id(KEY_VAULT_SECRETS_USER)] * len(KEY_SECRETS)


def unix(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


@pytest.mark.parametrize(
    ("today", "expires"),
    [
        (date(2026, 1, 15), date(2026, 5, 1)),
        (date(2026, 8, 31), date(2026, 12, 1)),
        (date(2026, 9, 1), date(2027, 1, 1)),
        (date(2026, 11, 22), date(2027, 3, 1)),
        (date(2026, 12, 31), date(2027, 4, 1)),
    ],
)
def test_key_expiry_is_the_first_day_of_the_fourth_month_ahead(today: date, expires: date) -> None:
    assert key_expiry(today) == unix(expires)


def test_key_expiry_is_midnight_utc() -> None:
    assert key_expiry(date(2026, 11, 22)) == int(datetime(2027, 3, 1, 0, 0, tzinfo=UTC).timestamp())


def test_key_expiry_is_stable_within_a_month() -> None:
    days = [date(2026, 2, day) for day in range(1, 29)]
    assert {key_expiry(day) for day in days} == {unix(date(2026, 6, 1))}


# --- secrets never leak ---------------------------------------------------------------------


def test_endpoint_keys_never_reach_inputs_or_outputs() -> None:
    run = scenario_run("max")
    recorded = json.dumps([r.inputs for r in run.resources]) + json.dumps(run.outputs)
    assert MOCK_PRIMARY_KEY not in recorded
    assert MOCK_SECONDARY_KEY not in recorded


@pytest.fixture(scope="module")
def max_plans(
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, subprocess.CompletedProcess[str]]:
    """`mlep plan --json` and the readable `mlep plan` of the max scenario, run at once."""
    project = copy_project(tmp_path_factory.mktemp("max-project"))
    (project / "Pulumi.max.yaml").write_text(stack_yaml(scenario("max")))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "MLEP_DEBUG")}
    logs = tmp_path_factory.mktemp("max-logs")
    commands = {
        "json": ["plan", "--stack", "max", "--json"],
        "readable": ["plan", "--stack", "max"],
    }
    started = {}
    for name, args in commands.items():
        stdout, stderr = (logs / f"{name}.out").open("w"), (logs / f"{name}.err").open("w")
        process = subprocess.Popen(
            [str(MLEP), "-C", str(project), *args], env=env, stdout=stdout, stderr=stderr
        )
        started[name] = (process, args, stdout, stderr)
    results = {}
    for name, (process, args, stdout, stderr) in started.items():
        code = process.wait(timeout=TIMEOUT_S)
        stdout.close()
        stderr.close()
        results[name] = subprocess.CompletedProcess(
            args, code, (logs / f"{name}.out").read_text(), (logs / f"{name}.err").read_text()
        )
    return results


@pytest.mark.parametrize("case", ["json", "readable"])
def test_plan_never_prints_endpoint_keys(
    max_plans: dict[str, subprocess.CompletedProcess[str]], case: str
) -> None:
    result = max_plans[case]
    # 1: the max stack's key endpoint breaks ID-01 in prod; the plan itself is complete.
    assert result.returncode in (0, 1), result.stderr
    assert "mlep-fraud-scoring-primary-key" in result.stdout
    for key in (MOCK_PRIMARY_KEY, MOCK_SECONDARY_KEY):
        assert key not in result.stdout
        assert key not in result.stderr


def test_every_endpoint_exports_its_identity_principal_id() -> None:
    run = scenario_run("max")
    principals = [
        endpoint_output(run, name)["identity_principal_id"] for name in run.outputs["endpoints"]
    ]
    assert len(principals) == 2
    for principal in principals:
        assert str(uuid.UUID(principal)) == principal
    assert len(set(principals)) == len(principals)


def test_key_endpoint_exports_its_key_secret_uris() -> None:
    assert endpoint_output(scenario_run("max"), "fraud-scoring")["key_secret_ids"] == {
        "primary": "https://kv-ml-prod.vault.azure.net/secrets/mlep-fraud-scoring-primary-key",
        "secondary": "https://kv-ml-prod.vault.azure.net/secrets/mlep-fraud-scoring-secondary-key",
    }


@pytest.mark.parametrize(
    ("name", "endpoint"), [("max", "churn-propensity"), ("defaults", "fraud-scoring")]
)
def test_token_endpoint_exports_no_key_secret_uris(name: str, endpoint: str) -> None:
    assert endpoint_output(scenario_run(name), endpoint)["key_secret_ids"] == {}


# --- alerts ---------------------------------------------------------------------------------


def alerts(run: ProgramRun) -> list[Registration]:
    return of_type(run, METRIC_ALERT) + of_type(run, QUERY_RULE)


def alert_action_groups(alert: Registration) -> list[str]:
    if alert.type == METRIC_ALERT:
        return [action["actionGroupId"] for action in alert.inputs["actions"]]
    return alert.inputs["actions"]["actionGroups"]  # type: ignore[no-any-return]


def test_no_alerts_or_action_group_without_action_group_config() -> None:
    run = scenario_run("defaults")
    assert of_type(run, ACTION_GROUP) == []
    assert alerts(run) == []


def test_emails_create_one_action_group_mailing_them() -> None:
    (group,) = of_type(scenario_run("waf_aligned"), ACTION_GROUP)
    addresses = [receiver["emailAddress"] for receiver in group.inputs["emailReceivers"]]
    assert addresses == scenario("waf_aligned")["azure"]["action_group"]["emails"]


def test_action_group_short_name_fits_azure_limit() -> None:
    (group,) = of_type(scenario_run("waf_aligned"), ACTION_GROUP)
    assert 0 < len(group.inputs["groupShortName"]) <= 12


def test_action_group_is_global() -> None:
    (group,) = of_type(scenario_run("waf_aligned"), ACTION_GROUP)
    assert group.inputs["location"] == "Global"


def test_existing_action_group_is_used_not_created() -> None:
    run = waf_aligned_with_existing_action_group()
    assert of_type(run, ACTION_GROUP) == []
    assert alerts(run)
    for alert in alerts(run):
        assert alert_action_groups(alert) == [EXISTING_ACTION_GROUP], alert.name


@pytest.mark.parametrize("name", ["waf_aligned", "max"])
def test_every_alert_notifies_the_created_action_group(name: str) -> None:
    run = scenario_run(name)
    (group,) = of_type(run, ACTION_GROUP)
    group_id = arm_id(
        "rg-ml-prod", f"microsoft.insights/actionGroups/{group.inputs['actionGroupName']}"
    )
    assert alerts(run)
    for alert in alerts(run):
        assert alert_action_groups(alert) == [group_id], alert.name
        assert group.urn in alert.dependencies, alert.name


@pytest.mark.parametrize(
    ("name", "latency", "rates", "deployment_alerts"),
    # Per endpoint, four log alerts: success, 4xx and 5xx per deployment, unrouted requests.
    [("waf_aligned", 1, 4, 4), ("max", 2, 8, 8)],
)
def test_alert_counts(name: str, latency: int, rates: int, deployment_alerts: int) -> None:
    run = scenario_run(name)
    metric_names = [criterion(r)["metricName"] for r in of_type(run, METRIC_ALERT)]
    assert metric_names.count("RequestLatency_P95") == latency
    assert len(of_type(run, QUERY_RULE)) == rates
    assert len(metric_names) - latency == deployment_alerts


@pytest.mark.parametrize(
    ("endpoint", "threshold"), [("fraud-scoring", 300), ("churn-propensity", 500)]
)
def test_latency_alert_uses_the_spec_threshold(endpoint: str, threshold: int) -> None:
    alert = named(scenario_run("max"), METRIC_ALERT, f"mlep-{endpoint}-latency-p95")
    assert criterion(alert)["metricName"] == "RequestLatency_P95"
    assert criterion(alert)["operator"] == "GreaterThan"
    assert criterion(alert)["threshold"] == threshold


@pytest.mark.parametrize("endpoint", ["fraud-scoring", "churn-propensity"])
def test_latency_alert_watches_the_endpoint_per_deployment(endpoint: str) -> None:
    alert = named(scenario_run("max"), METRIC_ALERT, f"mlep-{endpoint}-latency-p95")
    assert alert.inputs["scopes"] == [endpoint_id(endpoint)]
    assert criterion(alert)["dimensions"] == [
        {"name": "deployment", "operator": "Include", "values": ["*"]}
    ]


RATE_RULES = [
    # (rule, operator, threshold in max for fraud-scoring, default threshold)
    ("success-rate", "LessThan", 99.5, 99),
    ("client-error-rate", "GreaterThan", 2, 1),
    ("server-error-rate", "GreaterThan", 0.5, 0.1),
]


@pytest.mark.parametrize(("rule", "operator", "set_in_max", "default"), RATE_RULES)
def test_rate_rule_uses_the_spec_threshold(
    rule: str, operator: str, set_in_max: float, default: float
) -> None:
    run = scenario_run("max")
    assert (
        criterion(named(run, QUERY_RULE, f"mlep-fraud-scoring-{rule}"))["threshold"] == set_in_max
    )
    assert (
        criterion(named(run, QUERY_RULE, f"mlep-churn-propensity-{rule}"))["threshold"] == default
    )


@pytest.mark.parametrize(("rule", "operator", "set_in_max", "default"), RATE_RULES)
def test_rate_rule_uses_the_scheduled_query_operator(
    rule: str, operator: str, set_in_max: float, default: float
) -> None:
    # The scheduledQueryRules API takes Equals/GreaterThan/.../LessThanOrEqual.
    for endpoint in ("fraud-scoring", "churn-propensity"):
        rate = named(scenario_run("max"), QUERY_RULE, f"mlep-{endpoint}-{rule}")
        assert criterion(rate)["operator"] == operator, rate.name


@pytest.mark.parametrize("rule", [rule for rule, *_ in RATE_RULES])
@pytest.mark.parametrize("endpoint", ["fraud-scoring", "churn-propensity"])
def test_rate_rule_queries_the_endpoint_traffic_log(rule: str, endpoint: str) -> None:
    rate = named(scenario_run("max"), QUERY_RULE, f"mlep-{endpoint}-{rule}")
    assert rate.inputs["kind"] == "LogAlert"
    assert rate.inputs["scopes"] == [LAW_ID]
    condition = criterion(rate)
    assert "AmlOnlineEndpointTrafficLog" in condition["query"]
    assert f'"{endpoint}"' in condition["query"]
    assert condition["metricMeasureColumn"] == "RatePercent"


@pytest.mark.parametrize("rule", [rule for rule, *_ in RATE_RULES])
def test_rate_rule_is_split_by_deployment(rule: str) -> None:
    rate = named(scenario_run("max"), QUERY_RULE, f"mlep-fraud-scoring-{rule}")
    assert criterion(rate)["dimensions"] == [
        {"name": "DeploymentName", "operator": "Include", "values": ["*"]}
    ]


@pytest.mark.parametrize("rule", [*(rule for rule, *_ in RATE_RULES), "unrouted-rate"])
def test_log_rule_reads_the_window_ingestion_has_filled(rule: str) -> None:
    # Every 5 minutes, over the 5 minutes that ended 10 minutes ago: the query says which
    # minutes, and the rule's time range (windowSize x periods by default) reaches them.
    rate = named(scenario_run("max"), QUERY_RULE, f"mlep-fraud-scoring-{rule}")
    assert (rate.inputs["evaluationFrequency"], rate.inputs["windowSize"]) == ("PT5M", "PT5M")
    assert rate.inputs["overrideQueryTimeRange"] == "PT15M"
    assert criterion(rate)["failingPeriods"] == {
        "numberOfEvaluationPeriods": 1,
        "minFailingPeriodsToAlert": 1,
    }
    assert (
        "| where TimeGenerated >= ago(15m) and TimeGenerated < ago(10m)\n"
        in criterion(rate)["query"]
    )


def test_unrouted_rule_watches_each_endpoint_on_its_4xx_threshold() -> None:
    run = scenario_run("max")
    for endpoint, threshold in (("fraud-scoring", 2), ("churn-propensity", 1)):
        rule = named(run, QUERY_RULE, f"mlep-{endpoint}-unrouted-rate")
        assert rule.inputs["scopes"] == [LAW_ID]
        assert f'"{endpoint}"' in criterion(rule)["query"]
        assert "countif(isempty(DeploymentName))" in criterion(rule)["query"]
        assert (criterion(rule)["operator"], criterion(rule)["threshold"]) == (
            "GreaterThan",
            threshold,
        )
        assert "dimensions" not in criterion(rule)


@pytest.mark.parametrize(
    ("what", "metric", "threshold_in_max"),
    [("cpu", "CpuUtilizationPercentage", 75), ("memory", "CpuMemoryUtilizationPercentage", 85)],
)
@pytest.mark.parametrize("deployment", ["blue", "green", "shadow"])
def test_deployment_alert_uses_the_spec_threshold(
    what: str, metric: str, threshold_in_max: int, deployment: str
) -> None:
    alert = named(scenario_run("max"), METRIC_ALERT, f"mlep-fraud-scoring-{deployment}-{what}")
    assert criterion(alert)["metricName"] == metric
    assert criterion(alert)["operator"] == "GreaterThan"
    assert criterion(alert)["threshold"] == threshold_in_max


@pytest.mark.parametrize(
    ("what", "metric"),
    [("cpu", "CpuUtilizationPercentage"), ("memory", "CpuMemoryUtilizationPercentage")],
)
def test_deployment_alert_defaults_to_80_percent(what: str, metric: str) -> None:
    alert = named(scenario_run("max"), METRIC_ALERT, f"mlep-churn-propensity-gbm-v3-{what}")
    assert criterion(alert)["metricName"] == metric
    assert criterion(alert)["threshold"] == 80


@pytest.mark.parametrize("name", ["waf_aligned", "max"])
def test_deployment_alerts_watch_their_deployment(name: str) -> None:
    run = scenario_run(name)
    for spec in scenario(name)["endpoints"]:
        for deployment in spec["deployments"]:
            target = named(run, DEPLOYMENT, f"{spec['name']}-{deployment['name']}")
            deployment_id = arm_id(
                "rg-ml-prod",
                f"{ML}/mlw-prod/onlineEndpoints/{spec['name']}/deployments/{deployment['name']}",
            )
            for what in ("cpu", "memory"):
                alert = named(run, METRIC_ALERT, f"mlep-{spec['name']}-{deployment['name']}-{what}")
                assert alert.inputs["scopes"] == [deployment_id], alert.name
                assert target.urn in alert.dependencies, alert.name


# --- model rules ----------------------------------------------------------------------------


def test_rejects_action_group_with_both_emails_and_id() -> None:
    namespace = scenario("waf_aligned")
    namespace["azure"]["action_group"]["id"] = EXISTING_ACTION_GROUP
    only_problem_at(namespace, "azure.action_group")


def test_rejects_action_group_without_receivers() -> None:
    namespace = scenario("waf_aligned")
    namespace["azure"]["action_group"] = {}
    only_problem_at(namespace, "azure.action_group")


def test_rejects_action_group_without_log_analytics_workspace() -> None:
    namespace = scenario("waf_aligned")
    del namespace["azure"]["log_analytics_workspace_id"]
    problem = only_problem_at(namespace, "azure.action_group")
    assert "log_analytics_workspace_id" in problem.message


def test_rejects_key_readers_without_a_key_endpoint() -> None:
    namespace = scenario("waf_aligned")
    namespace["azure"]["roles"] = {"key_readers": [GUID_C]}
    only_problem_at(namespace, "azure.roles.key_readers")
