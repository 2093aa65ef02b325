"""SEC-02 judges secrets by name and by value (issue 18, point 4): credential-shaped values under
any name, `*_PASS`/`*_PWD` names, `secure:` config values, and credentials in tags and model
references; Key Vault references, plain URLs and look-alikes stay silent."""

from __future__ import annotations

import copy
import functools
from typing import Any

import pytest

from mlep.engine.runtime import Registration
from tests.conftest import run_namespace
from tests.policy_helpers import ABSENT, assert_violations, changed, resource_args
from tests.scenarios import kubernetes_scenario, scenario

SEC02 = "sec-02-no-secret-env"
AZ_DEPLOYMENT = "fraud-scoring-blue"
AZ_ENDPOINT = "fraud-scoring"
K8S_DEPLOYMENT = "fraud-scoring-blue-deployment"

CREDENTIALS = [
    pytest.param("postgres://app:hunter2@db:5432/fraud", "a URL with a password", id="url"),
    pytest.param("Server=db;Password=hunter2", "a password in a connection string", id="server"),
    pytest.param("AccountName=st;AccountKey=abc==", "a connection string key", id="account-key"),
    pytest.param("Endpoint=sb://n/;SharedAccessKey=x", "a connection string key", id="sb-key"),
    pytest.param("https://st.blob.core.windows.net/c?sv=1&sig=abc", "a SAS signature", id="sas"),
    pytest.param("sk-" + "a1B2c3D4e5F6g7H8i9J0", "an OpenAI-style API key", id="sk"),
    pytest.param("hf_" + "a" * 34, "a Hugging Face token", id="hf"),
    pytest.param("ghp_" + "a" * 36, "a GitHub token", id="ghp"),
    pytest.param("github_pat_" + "a" * 40, "a GitHub token", id="github-pat"),
    pytest.param("xoxp-1234-abcd", "a Slack token", id="xoxp"),
    pytest.param("AKIA" + "IOSFODNN7EXAMPLE", "an AWS access key id", id="akia"),
    pytest.param("ASIA" + "IOSFODNN7EXAMPLE", "an AWS access key id", id="asia"),
]
LOOK_ALIKES = [
    pytest.param("kv@https://kv.vault.azure.net/secrets/db-password", id="key-vault-reference"),
    pytest.param("@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/db/)", id="kv"),
    pytest.param("https://api.example.com/v1/score", id="plain-url"),
    pytest.param("https://user@api.example.com/v1", id="user-without-password"),
    pytest.param("sk", id="sk-alone"),
    pytest.param("EURASIA" + "IOSFODNN7EXAMPLE", id="asia-in-a-word"),
]


@functools.cache
def _declared(target: str) -> tuple[Registration, ...]:
    namespace = scenario("max") if target == "azure" else kubernetes_scenario("max")
    return tuple(r for r in run_namespace(namespace).resources if r.custom)


def golden(target: str, name: str) -> tuple[str, dict[str, Any]]:
    (found,) = [r for r in _declared(target) if r.name == name]
    return found.type, copy.deepcopy(found.inputs)


def check(resource_type: str, props: dict[str, Any], count: int) -> list[str]:
    return assert_violations(
        SEC02, resource_args(resource_type, props), count, "SEC-02" if count else ""
    )


def azure_env(variables: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    resource_type, props = golden("azure", AZ_DEPLOYMENT)
    current = props["properties"].get("environmentVariables", {})
    return resource_type, changed(
        props, "properties", "environmentVariables", to=current | variables
    )


def kubernetes_env(name: str, value: Any) -> tuple[str, dict[str, Any]]:
    resource_type, props = golden("kubernetes", K8S_DEPLOYMENT)
    props["spec"]["template"]["spec"]["containers"][0]["env"].append({"name": name, "value": value})
    return resource_type, props


@pytest.mark.parametrize(("value", "kind"), CREDENTIALS)
def test_sec02_reports_a_credential_value_under_an_innocent_name(value: str, kind: str) -> None:
    for resource_type, props in (
        azure_env({"DATABASE_URL": value}),
        kubernetes_env("DATABASE_URL", value),
    ):
        (message,) = check(resource_type, props, 1)
        assert "'DATABASE_URL'" in message
        assert kind in message
        assert value not in message


@pytest.mark.parametrize("name", ["DB_PASS", "MYSQL_PWD", "smtpPass"])
def test_sec02_reports_pass_and_pwd_names(name: str) -> None:
    (message,) = check(*azure_env({name: "hunter2"}), 1)
    assert repr(name) in message
    assert "hunter2" not in message
    check(*kubernetes_env(name, "hunter2"), 1)


@pytest.mark.parametrize("value", LOOK_ALIKES)
def test_sec02_passes_values_that_only_resemble_credentials(value: str) -> None:
    check(*azure_env({"DATABASE_URL": value, "PWD": "/app"}), 0)
    check(*kubernetes_env("DATABASE_URL", value), 0)
    resource_type, props = golden("azure", AZ_ENDPOINT)
    check(resource_type, changed(props, "tags", "source", to=value), 0)


def test_sec02_passes_a_key_vault_reference_under_a_secret_name() -> None:
    """Where the secret is, not the secret (issue 23, point 4); a literal still fails."""
    reference = "db@https://kv-ml-prod.vault.azure.net/secrets/db-password"
    check(
        *azure_env(
            {
                "DB_PASSWORD": reference,
                "API_KEY": "@Microsoft.KeyVault(VaultName=kv-ml;SecretName=api)",
            }
        ),
        0,
    )
    check(*kubernetes_env("DB_PASSWORD", reference), 0)
    check(*azure_env({"DB_PASSWORD": "hunter2"}), 1)
    check(*azure_env({"DB_PASSWORD": reference + " hunter2"}), 1)


def test_sec02_reports_a_secure_config_value_in_environment_variables() -> None:
    # mlep's plan never decrypts: a `secure:` value arrives as its "[secret]" placeholder.
    (message,) = check(*azure_env({"DATABASE_URL": "[secret]"}), 1)
    assert "secure:" in message
    assert "Key Vault reference" in message
    assert "CSI driver" in message
    check(*kubernetes_env("LOG_LEVEL", "[secret]"), 1)


@pytest.mark.parametrize("name", [AZ_ENDPOINT, AZ_DEPLOYMENT])
def test_sec02_reports_a_credential_in_an_azure_tag(name: str) -> None:
    resource_type, props = golden("azure", name)
    (message,) = check(resource_type, changed(props, "tags", "storage", to="AccountKey=abc"), 1)
    assert "tag 'storage'" in message
    assert "a connection string key" in message
    assert "AccountKey=abc" not in message


def test_sec02_reports_a_credential_in_the_model_reference() -> None:
    resource_type, props = golden("azure", AZ_DEPLOYMENT)
    model = "https://st.blob.core.windows.net/models/m.pkl?sv=1&sig=abc"
    (message,) = check(resource_type, changed(props, "properties", "model", to=model), 1)
    assert "model reference" in message
    assert "a SAS signature" in message
    assert "sig=abc" not in message


def test_sec02_passes_the_golden_model_reference_and_tags() -> None:
    for name in (AZ_ENDPOINT, AZ_DEPLOYMENT):
        check(*golden("azure", name), 0)
    resource_type, props = golden("azure", AZ_DEPLOYMENT)
    check(resource_type, changed(props, "tags", to=ABSENT), 0)
