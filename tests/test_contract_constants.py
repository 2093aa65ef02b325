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
from hypothesis import given
from hypothesis import strategies as st

from components.azure import online_endpoint, roles
from components.kubernetes import labels
from mlep.engine import runtime
from mlep.engine.runtime import ProgramRun
from mlep.stack import files
from models import fields, secrets
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
    tokens.ENVIRONMENT_VERSION,
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
    tokens.WORKBOOK,
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


# SEC-02 and the stack rule `environment-variables-hold-no-secrets` (and `mlep import`) judge
# variable names by one rule, written twice: models/secrets.py and the pack's identity.py.
SECRET_NAMES = {
    # The last word names a secret value.
    "API_KEY": True,
    "apiKey": True,
    "hf-token": True,
    "HF_TOKEN": True,
    "HFToken": True,
    "DB_PASSWORD": True,
    "dbPassword": True,
    "PGPASSWORD": True,
    "CLIENT_SECRET": True,
    "client-secret": True,
    "STORAGE_CONNECTION_STRING": True,
    "SAS_TOKEN": True,
    "STORAGE_SAS": True,
    "STORAGE_ACCOUNT_KEY": True,
    "OPENAI_APIKEY": True,
    "AWS_SECRET_ACCESS_KEY": True,
    "API_KEY_2": True,
    "AZURE_CREDENTIALS": True,
    # PASS and PWD after another word name a password.
    "DB_PASS": True,
    "SMTP_PASS": True,
    "MYSQL_PWD": True,
    "dbPwd": True,
    # The last word names something else: where the secret is, or nothing secret.
    "HF_TOKEN_PATH": False,
    "PRIVATE_KEY_FILE": False,
    "DB_PASSWORD_FILE": False,
    "KEY_VAULT_SECRET_NAME": False,
    "CACHE_KEY": False,
    "PARTITION_KEY": False,
    "KEY": False,
    "TOKENIZER_NAME": False,
    "TOKENIZER_PATH": False,
    "MAX_TOKENS": False,
    "KEYWORDS": False,
    "MONKEY": False,
    "LOG_LEVEL": False,
    "PWD": False,
    "PASS": False,
    "BYPASS": False,
    "COMPASS_MODE": False,
    "DATABASE_URL": False,
    "": False,
}
NAME_WORDS = [
    *("API", "api", "Key", "KEY", "KEYS", "TOKEN", "Token", "TOKENS", "TOKENIZER", "PASSWORD"),
    *("SECRET", "CONNECTION", "STRING", "SAS", "ACCOUNT", "PRIVATE", "CACHE", "PATH", "FILE"),
    *("HF", "DB", "PG", "2", "10", "x", "MONKEY", "CREDENTIALS", "PASS", "PWD", "BYPASS", "URL"),
]


def pack_looks_secret(name: str) -> bool:
    from mlep_policies import identity  # noqa: PLC0415 (on the path once policy_helpers loads)

    return identity.looks_secret(name)


@pytest.mark.parametrize(
    ("name", "secret"), SECRET_NAMES.items(), ids=[name or "empty" for name in SECRET_NAMES]
)
def test_pack_and_models_judge_a_variable_name_alike(name: str, secret: bool) -> None:
    assert secrets.looks_secret(name) is secret
    assert pack_looks_secret(name) is secret


@given(
    st.lists(st.sampled_from(NAME_WORDS), max_size=4).flatmap(
        lambda words: st.sampled_from(["_", "-", ""]).map(lambda sep: sep.join(words))
    )
    | st.text(max_size=20)
)
def test_pack_and_models_agree_on_any_name(name: str) -> None:
    assert secrets.looks_secret(name) is pack_looks_secret(name)


# ...and values by one rule: the kind of credential a value looks like (None: no credential).
SECRET_VALUES = {
    "postgres://app:hunter2@db.internal:5432/fraud": "a URL with a password",
    "https://user:p%40ss@registry.example.com/v2": "a URL with a password",
    "redis://:hunter2@cache:6379/0": "a URL with a password",  # a password without a user
    "amqp://guest:guest@rabbit/": "a URL with a password",
    "DefaultEndpointsProtocol=https;AccountName=st;AccountKey=abc==": "a connection string key",
    "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=r;SharedAccessKey=x": (
        "a connection string key"
    ),
    "Server=db;Database=fraud;User Id=app;Password=hunter2;": "a password in a connection string",
    "Server=tcp:db,1433;Pwd=hunter2": "a password in a connection string",
    "https://st.blob.core.windows.net/models/m.pkl?sv=2022-11-02&sr=b&sig=abc%3D": (
        "a SAS signature"
    ),
    "sk-" + "a1B2c3D4e5F6g7H8i9J0": "an OpenAI-style API key",
    "sk-proj-" + "a" * 40: "an OpenAI-style API key",
    "hf_" + "aBcDeFgHiJkLmNoPqRsTuVwXyZ01234567": "a Hugging Face token",
    "ghp_" + "a" * 36: "a GitHub token",
    "gho_" + "A1" * 18: "a GitHub token",
    "github_pat_" + "11ABCDEFG0" + "_" + "x" * 59: "a GitHub token",
    "xoxb-1234-5678-abcdef": "a Slack token",
    "xoxp-1234-5678-abcdef": "a Slack token",
    "AKIA" + "IOSFODNN7EXAMPLE": "an AWS access key id",
    "ASIA" + "IOSFODNN7EXAMPLE": "an AWS access key id",
    "-----BEGIN RSA PRIVATE KEY-----": "a private key",
    # Golden: what looks close but is no credential.
    "kv-ml-prod@https://kv-ml-prod.vault.azure.net/secrets/db-password": None,
    "@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/db/)": None,
    "@Microsoft.KeyVault(VaultName=kv;SecretName=db)": None,
    "https://host.example.com/path?x=1": None,
    "https://user@host.example.com/path": None,  # user info without a password
    "postgres://db.internal:5432/fraud": None,
    "sk": None,
    "sk-short": None,
    "task-" + "a" * 30: None,
    "EURASIA" + "IOSFODNN7EXAMPLE": None,
    "asia" + "iosfodnn7example": None,
    "hf_hub_cache": None,
    "xox": None,
    "Password": None,
    "/mnt/secrets-store/db-password": None,
    "[secret]": None,
    "": None,
}


def pack_credential_kind(value: str) -> str | None:
    from mlep_policies import identity  # noqa: PLC0415 (on the path once policy_helpers loads)

    return identity.credential_kind(value)


@pytest.mark.parametrize(("value", "kind"), SECRET_VALUES.items(), ids=range(len(SECRET_VALUES)))
def test_pack_and_models_judge_a_value_alike(value: str, kind: str | None) -> None:
    assert secrets.credential_kind(value) == kind
    assert pack_credential_kind(value) == kind


@given(
    st.lists(
        st.sampled_from(
            [
                *("sk-", "hf_", "ghp_", "AKIA", "ASIA", "xoxb-", "://", "u:p@", "@", "sig=", "?"),
                *("&", "Password=", ";", "AccountKey=", "a" * 8, "A" * 8, "1" * 8, "kv.vault"),
            ]
        ),
        max_size=6,
    ).map("".join)
    | st.text(max_size=30)
)
def test_pack_and_models_agree_on_any_value(value: str) -> None:
    assert secrets.credential_kind(value) == pack_credential_kind(value)


def test_pack_and_models_look_for_the_same_credential_values() -> None:
    from mlep_policies import identity  # noqa: PLC0415 (on the path once policy_helpers loads)

    assert identity.CREDENTIAL_VALUES == secrets.CREDENTIAL_VALUES
    assert identity.SECURE_PLACEHOLDER == secrets.SECURE_PLACEHOLDER
    # What a `secure:` value becomes offline: the stack file reader's and the engine's placeholder.
    assert secrets.SECURE_PLACEHOLDER == files.SECRET_PLACEHOLDER == runtime.SECRET
    assert identity.SECRET_ABBREVIATIONS == secrets.SECRET_ABBREVIATIONS
    assert identity.SECRET_WORDS == secrets.SECRET_WORDS
    assert identity.KEY_KINDS == secrets.KEY_KINDS


KEY_VAULT_REFERENCES = {
    "db-pass@https://kv-ml-prod.vault.azure.net/secrets/db-pass": True,
    "@https://kv-ml-prod.vault.azure.net/secrets/db-pass/0123456789abcdef0123456789abcdef": True,
    "@Microsoft.KeyVault(SecretUri=https://kv-ml-prod.vault.azure.net/secrets/db-pass/)": True,
    "@Microsoft.KeyVault(VaultName=kv-ml-prod;SecretName=db-pass)": True,
    "${{keyvault:https://kv-ml-prod.vault.azure.net/secrets/db-pass/"
    "0123456789abcdef0123456789abcdef}}": True,
    "${{keyvault:https://kv-ml-prod.vault.azure.net/secrets/db-pass}}": True,
    "${{azureml://connections/openai/credentials/key}}": True,
    "${{azureml://connections/openai/target}}": True,
    "${{keyvault:https://evil.example.com/secrets/db-pass}}": False,
    "${{keyvault:https://kv-ml-prod.vault.azure.net/secrets/db-pass}} hunter2": False,
    "${{azureml://connections/openai/credentials/key}}hunter2": False,
    "${keyvault:https://kv-ml-prod.vault.azure.net/secrets/db-pass}": False,
    "hunter2": False,
    "db-pass@https://kv-ml-prod.vault.azure.net/secrets/db-pass and hunter2": False,
    "db-pass@https://evil.example.com/secrets/db-pass": False,
    "db-pass@https://kv.vault.azure.net.evil.example/secrets/db-pass": False,
    "https://user:pw@kv-ml-prod.vault.azure.net/secrets/x": False,
    "@Microsoft.KeyVault(SecretUri=https://evil.example/secrets/x)": False,
    "": False,
}


def pack_is_key_vault_reference(value: str) -> bool:
    from mlep_policies import identity  # noqa: PLC0415 (on the path once policy_helpers loads)

    return identity.is_key_vault_reference(value)


@pytest.mark.parametrize(("value", "reference"), KEY_VAULT_REFERENCES.items())
def test_pack_and_models_know_a_key_vault_reference_alike(value: str, reference: bool) -> None:
    """Where a secret is, not the secret: a variable named like a secret may hold one."""
    assert secrets.is_key_vault_reference(value) is reference
    assert pack_is_key_vault_reference(value) is reference


@given(st.text(max_size=80))
def test_pack_and_models_agree_on_any_key_vault_reference(value: str) -> None:
    assert secrets.is_key_vault_reference(value) is pack_is_key_vault_reference(value)
