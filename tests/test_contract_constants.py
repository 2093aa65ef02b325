"""The pack and the program share a few constants without importing each other: the pack is a
self-contained deployable unit (pulumi_policy and the standard library only). These tests keep
the two copies in step, and the pack self-contained.
"""

from __future__ import annotations

import ast
import functools
import sys
from pathlib import Path
from typing import get_args

import pytest

from components.azure import online_endpoint, roles
from components.kubernetes import labels
from mlep.engine.runtime import ProgramRun
from models import fields
from models.endpoint import RolloutPolicy
from tests.conftest import run_namespace
from tests.policy_helpers import (
    POLICIES_DIR,
    StackResource,
    endpoint_props,
    policy,
    resource_args,
    stack_args,
    tokens,
    violations,
)
from tests.scenarios import SCENARIOS, kubernetes_scenario, scenario

PACK_TYPES = {
    tokens.ONLINE_ENDPOINT,
    tokens.ONLINE_DEPLOYMENT,
    tokens.ARM_DEPLOYMENT,
    tokens.AUTOSCALE_SETTING,
    tokens.DIAGNOSTIC_SETTING,
    tokens.PRIVATE_ENDPOINT,
    tokens.PRIVATE_DNS_ZONE_GROUP,
    tokens.USER_ASSIGNED_IDENTITY,
    tokens.ROLE_DEFINITION,
    tokens.ROLE_ASSIGNMENT,
    tokens.KEY_VAULT_SECRET,
    tokens.ACTION_GROUP,
    tokens.METRIC_ALERT,
    tokens.SCHEDULED_QUERY_RULE,
}


@functools.cache
def scenario_run(name: str) -> ProgramRun:
    return run_namespace(scenario(name))


def test_required_tags_match_the_models() -> None:
    assert tokens.REQUIRED_TAGS == fields.REQUIRED_TAGS


def test_sensitivity_levels_match_the_models() -> None:
    assert get_args(fields.DataSensitivity) == tokens.SENSITIVITY_LEVELS


def test_endpoint_arm_type_matches_the_traffic_template() -> None:
    assert tokens.ENDPOINT_ARM_TYPE == online_endpoint.ENDPOINT_ARM_TYPE


@pytest.mark.parametrize("name", SCENARIOS)
def test_pack_knows_every_type_the_program_registers(name: str) -> None:
    registered = {r.type for r in scenario_run(name).resources if r.custom}
    assert registered <= PACK_TYPES


def test_every_pack_type_is_registered_by_the_program() -> None:
    assert {r.type for r in scenario_run("max").resources if r.custom} == PACK_TYPES


@pytest.mark.parametrize("mode", ["aad_token", "aml_token"])
def test_pack_accepts_the_programs_spelling_of_token_auth(mode: str) -> None:
    props = endpoint_props(auth_mode=online_endpoint.AUTH_MODES[mode])
    args = stack_args([StackResource(tokens.ONLINE_ENDPOINT, "fraud-scoring", props)])
    assert violations(policy("id-01-token-auth"), args) == []


def test_pack_accepts_the_programs_spelling_of_private_access() -> None:
    props = endpoint_props()
    props["properties"]["publicNetworkAccess"] = online_endpoint.NETWORK_ACCESS["disabled"]
    args = resource_args(tokens.ONLINE_ENDPOINT, props)
    assert violations(policy("net-01-endpoint-private"), args) == []


def imported_modules(path: Path) -> set[str]:
    """Top-level names of every module ``path`` imports (relative imports stay in the pack)."""
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module.split(".")[0])
    return modules


@pytest.mark.parametrize(
    "path",
    sorted(POLICIES_DIR.rglob("*.py")),
    ids=lambda path: str(path.relative_to(POLICIES_DIR)),
)
def test_pack_imports_only_pulumi_policy_and_the_standard_library(path: Path) -> None:
    allowed = {"pulumi_policy", "mlep_policies"} | set(sys.stdlib_module_names)
    assert imported_modules(path) - allowed == set()


# Kubernetes: the tokens and labels the pack reasons about are the ones the program uses.
PACK_KUBERNETES_TYPES = {
    tokens.K8S_DEPLOYMENT,
    tokens.K8S_SERVICE,
    tokens.HPA,
    tokens.PDB,
    tokens.NETWORK_POLICY,
    tokens.HTTP_ROUTE,
    tokens.SECURITY_POLICY,
    tokens.PROMETHEUS_RULE,
}


@functools.cache
def kubernetes_run(name: str) -> ProgramRun:
    return run_namespace(kubernetes_scenario(name))


def test_pack_kubernetes_types_are_registered_by_the_program() -> None:
    registered = {r.type for r in kubernetes_run("max").resources if r.custom}
    assert registered >= PACK_KUBERNETES_TYPES


def test_kubernetes_labels_match_the_program() -> None:
    assert tokens.ENDPOINT_LABEL == labels.ENDPOINT_LABEL
    assert tokens.DEPLOYMENT_LABEL == labels.DEPLOYMENT_LABEL


def test_key_vault_secrets_user_matches_the_program() -> None:
    assert tokens.KEY_VAULT_SECRETS_USER == roles.KEY_VAULT_SECRETS_USER


def test_role_actions_the_pack_watches_are_the_programs() -> None:
    assert tokens.ENDPOINT_WRITE in roles.TRAFFIC_OPERATOR.actions
    assert tokens.DEPLOYMENT_WRITE in roles.DEPLOYMENT_DEVELOPER.actions
    assert tokens.ENDPOINT_WRITE not in roles.DEPLOYMENT_DEVELOPER.actions


def test_step_rule_defaults_match_the_rollout_defaults() -> None:
    schema = policy("trf-06-08-traffic-steps").config_schema
    assert schema is not None
    steps = schema.properties["maxStepPercent"]["default"]
    assert steps == RolloutPolicy().max_step_percent


def test_workload_kinds_cover_what_the_program_deploys() -> None:
    kinds = {r.type.rsplit(":", 1)[-1] for r in kubernetes_run("max").resources if r.custom}
    assert "Deployment" in kinds & tokens.WORKLOAD_KINDS
