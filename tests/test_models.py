"""The stack config contract (CONTRACT.md section 2), rule by rule.

Every reject test starts from a scenario, changes one thing, and checks the problem is reported
at the exact field path, with a message, a fix and (where it helps) the value given.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from models.errors import ConfigError, Problem
from models.loader import parse_stack_config
from models.stack import StackConfig
from tests.scenarios import GUID_A, KUBERNETES_IMAGE, TAGS, kubernetes_defaults, scenario

ROOT = Path(__file__).resolve().parent.parent
SOURCE = "Pulumi.test.yaml"
EP = "endpoints[0]"
DEP = "endpoints[0].deployments[0]"
DIGEST = "sha256:" + "0123456789abcdef" * 4


# ---- helpers --------------------------------------------------------------------------------


def parse(namespace: dict[str, Any]) -> StackConfig:
    return parse_stack_config(namespace, SOURCE)


def problems_for(namespace: dict[str, Any]) -> list[Problem]:
    """Every problem the loader reports; fails the test if the config is accepted."""
    with pytest.raises(ConfigError) as info:
        parse(namespace)
    return info.value.problems


def problem_at(namespace: dict[str, Any], path: str, *, alone: bool = True) -> Problem:
    """The problem reported at ``path``, checked to say what is wrong and how to fix it.

    ``alone``: the one change made to the scenario must cause this problem and no other.
    """
    problems = problems_for(namespace)
    paths = [problem.path for problem in problems]
    assert path in paths, paths
    if alone:
        assert paths == [path], paths
    problem = next(problem for problem in problems if problem.path == path)
    assert problem.message.strip()
    assert problem.fix.strip()
    return problem


def endpoint(namespace: dict[str, Any], index: int = 0) -> dict[str, Any]:
    endpoints: list[dict[str, Any]] = namespace["endpoints"]
    return endpoints[index]


def deployment(namespace: dict[str, Any], index: int = 0) -> dict[str, Any]:
    deployments: list[dict[str, Any]] = endpoint(namespace)["deployments"]
    return deployments[index]


def with_endpoint_name(name: str) -> dict[str, Any]:
    namespace = scenario("defaults")
    endpoint(namespace)["name"] = name
    return namespace


def kubernetes_blue_green() -> dict[str, Any]:
    """Kubernetes defaults with a second deployment, `green`, taking no live traffic."""
    namespace = kubernetes_defaults()
    endpoint(namespace)["deployments"].append({"name": "green", "image": KUBERNETES_IMAGE})
    endpoint(namespace)["traffic"]["green"] = 0
    return namespace


# ---- the scenarios parse --------------------------------------------------------------------


def test_defaults_scenario_parses() -> None:
    stack = parse(scenario("defaults"))
    assert stack.target == "azure"
    assert [e.name for e in stack.endpoints] == ["fraud-scoring"]


def test_waf_aligned_scenario_parses() -> None:
    stack = parse(scenario("waf_aligned"))
    assert stack.is_prod
    assert stack.endpoints[0].traffic == {"blue": 90, "green": 10}


def test_max_scenario_parses() -> None:
    stack = parse(scenario("max"))
    assert [e.name for e in stack.endpoints] == ["fraud-scoring", "churn-propensity"]
    assert stack.endpoints[0].mirror_traffic == {"shadow": 20}


def test_kubernetes_defaults_parses() -> None:
    stack = parse(kubernetes_defaults())
    assert stack.target == "kubernetes"
    assert stack.endpoints[0].deployments[0].image == KUBERNETES_IMAGE


# ---- the documented, secure defaults ----------------------------------------------------------


def test_auth_mode_defaults_to_aad_token() -> None:
    assert parse(scenario("defaults")).endpoints[0].auth_mode == "aad_token"


def test_public_network_access_defaults_to_disabled() -> None:
    assert parse(scenario("defaults")).endpoints[0].public_network_access == "disabled"


def test_egress_public_network_access_defaults_to_disabled() -> None:
    spec = parse(scenario("defaults")).endpoints[0].deployments[0]
    assert spec.egress_public_network_access == "disabled"


def test_app_insights_defaults_to_enabled() -> None:
    assert parse(scenario("defaults")).endpoints[0].deployments[0].app_insights_enabled is True


def test_instance_count_defaults_to_1() -> None:
    assert parse(scenario("defaults")).endpoints[0].deployments[0].instance_count == 1


def test_mirror_traffic_defaults_to_none() -> None:
    assert parse(scenario("defaults")).endpoints[0].mirror_traffic == {}


def test_traffic_defaults_to_empty() -> None:
    namespace = scenario("defaults")
    del endpoint(namespace)["traffic"]
    assert parse(namespace).endpoints[0].traffic == {}


def test_alert_defaults_are_the_contract_thresholds() -> None:
    alerts = parse(scenario("defaults")).endpoints[0].alerts
    assert alerts.model_dump() == {
        "latency_p95_ms": 500,
        "success_rate_min_percent": 99,
        "client_error_rate_max_percent": 1,
        "server_error_rate_max_percent": 0.1,
        "cpu_max_percent": 80,
        "memory_max_percent": 80,
        # Not in the contract's row (it predates the field): the volume a ratio alert needs.
        "min_requests": 100,
    }


def test_rollout_defaults_are_the_contract_steps() -> None:
    rollout = parse(scenario("defaults")).endpoints[0].rollout
    assert rollout.steps == [5, 25, 60, 100]
    assert rollout.max_step_percent == 25
    assert rollout.bake_minutes == 30


def test_request_settings_default_to_5s_timeout_and_1_concurrent_request() -> None:
    settings = parse(scenario("defaults")).endpoints[0].deployments[0].request_settings
    assert settings.request_timeout_ms == 5000
    assert settings.max_concurrent_requests_per_instance == 1


@pytest.mark.parametrize("probe", ["liveness_probe", "readiness_probe"])
def test_probe_defaults_are_the_contract_seconds(probe: str) -> None:
    spec = getattr(parse(scenario("defaults")).endpoints[0].deployments[0], probe)
    assert spec.model_dump() == {
        "initial_delay": 10,
        "period": 10,
        "timeout": 2,
        "success_threshold": 1,
        "failure_threshold": 30,
    }


def test_autoscale_defaults_to_70_percent_out_30_percent_in_5_minute_cooldown() -> None:
    autoscale = parse(scenario("waf_aligned")).endpoints[0].deployments[0].autoscale
    assert autoscale is not None
    assert autoscale.target_cpu_percent == 70
    assert autoscale.scale_in_cpu_percent == 30
    assert autoscale.cooldown_minutes == 5


def test_kubernetes_resources_default_to_1_cpu_2gi_no_gpu() -> None:
    spec = parse(kubernetes_defaults()).endpoints[0].deployments[0]
    assert spec.resources is None
    assert spec.resources_or_default.model_dump() == {"cpu": "1", "memory": "2Gi", "gpu": 0}


def test_endpoint_tags_merge_over_stack_tags() -> None:
    stack = parse(scenario("max"))
    merged = stack.endpoint_tags(stack.endpoints[0])
    assert merged["owner"] == "fraud-oncall"
    assert merged["application"] == TAGS["application"]


# ---- boundaries that are accepted -------------------------------------------------------------


@pytest.mark.parametrize("name", ["abc", "a" + "b1-" * 10 + "c"])
def test_accepts_endpoint_names_of_3_and_32_chars(name: str) -> None:
    assert 3 <= len(name) <= 32
    assert parse(with_endpoint_name(name)).endpoints[0].name == name


def test_accepts_traffic_summing_to_0() -> None:
    namespace = scenario("defaults")
    endpoint(namespace)["traffic"] = {"blue": 0}
    assert parse(namespace).endpoints[0].live_deployments == []


def test_accepts_mirror_of_50() -> None:
    namespace = scenario("max")
    endpoint(namespace)["mirror_traffic"] = {"shadow": 50}
    assert parse(namespace).endpoints[0].mirror_traffic == {"shadow": 50}


def test_accepts_20_deployments() -> None:
    namespace = scenario("defaults")
    template = deployment(namespace)
    endpoint(namespace)["deployments"] = [template | {"name": f"d{i:02}"} for i in range(20)]
    endpoint(namespace)["traffic"] = {"d00": 100}
    assert len(parse(namespace).endpoints[0].deployments) == 20


def test_accepts_request_timeout_of_180000_ms() -> None:
    namespace = scenario("defaults")
    deployment(namespace)["request_settings"] = {"request_timeout_ms": 180_000}
    spec = parse(namespace).endpoints[0].deployments[0]
    assert spec.request_settings.request_timeout_ms == 180_000


def test_accepts_readiness_success_threshold_2() -> None:
    namespace = scenario("defaults")
    deployment(namespace)["readiness_probe"] = {"success_threshold": 2}
    assert parse(namespace).endpoints[0].deployments[0].readiness_probe.success_threshold == 2


def test_accepts_instance_count_50() -> None:
    namespace = scenario("defaults")
    deployment(namespace)["instance_count"] = 50
    assert parse(namespace).endpoints[0].deployments[0].instance_count == 50


@pytest.mark.parametrize(
    "model",
    [
        "azureml:fraud-classifier:3",
        "azureml://registries/shared/models/fraud-classifier/versions/7",
        "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.MachineLearningServices/"
        "workspaces/mlw/models/fraud-classifier/versions/3",
    ],
)
def test_accepts_every_documented_model_reference(model: str) -> None:
    namespace = scenario("defaults")
    deployment(namespace)["model"] = model
    assert parse(namespace).endpoints[0].deployments[0].model == model


def test_accepts_image_pinned_by_digest() -> None:
    namespace = kubernetes_defaults()
    deployment(namespace)["image"] = f"acr.example.io/fraud@{DIGEST}"
    assert parse(namespace).endpoints[0].deployments[0].image == f"acr.example.io/fraud@{DIGEST}"


@pytest.mark.parametrize("mode", ["key", "aad_token"])
def test_accepts_kubernetes_auth_mode_with_its_block(mode: str) -> None:
    namespace = kubernetes_defaults()
    endpoint(namespace)["auth_mode"] = mode
    assert parse(namespace).endpoints[0].auth_mode == mode


@pytest.mark.parametrize(
    "name",
    # HF_TOKEN_PATH and DB_PASSWORD_FILE say where a mounted secret file is, not the secret.
    [
        *("MAX_TOKENS", "TOKENIZER_PATH", "KEYWORDS", "LOG_LEVEL", "CACHE_KEY"),
        *("HF_TOKEN_PATH", "DB_PASSWORD_FILE"),
    ],
)
def test_accepts_environment_variables_that_only_resemble_secret_names(name: str) -> None:
    namespace = scenario("defaults")
    deployment(namespace)["environment_variables"] = {name: "1"}
    assert name in parse(namespace).endpoints[0].deployments[0].environment_variables


# ---- names ------------------------------------------------------------------------------------


def test_rejects_endpoint_name_of_2_chars() -> None:
    problem = problem_at(with_endpoint_name("ab"), f"{EP}.name")
    assert problem.value == "ab"
    assert "3-32" in problem.message


def test_rejects_endpoint_name_of_33_chars() -> None:
    name = "a" * 33
    assert problem_at(with_endpoint_name(name), f"{EP}.name").value == name


def test_rejects_endpoint_name_with_uppercase() -> None:
    problem = problem_at(with_endpoint_name("Fraud-scoring"), f"{EP}.name")
    assert problem.value == "Fraud-scoring"
    assert "'fraud-scoring'" in problem.fix


def test_rejects_endpoint_name_with_leading_digit() -> None:
    assert problem_at(with_endpoint_name("1fraud"), f"{EP}.name").value == "1fraud"


def test_rejects_endpoint_name_with_trailing_hyphen() -> None:
    assert problem_at(with_endpoint_name("fraud-"), f"{EP}.name").value == "fraud-"


def test_rejects_endpoint_name_with_double_hyphen() -> None:
    assert problem_at(with_endpoint_name("fraud--scoring"), f"{EP}.name").value == (
        "fraud--scoring"
    )


def test_rejects_deployment_name_breaking_name_rules() -> None:
    namespace = scenario("defaults")
    deployment(namespace)["name"] = "blue_1"
    assert problem_at(namespace, f"{DEP}.name").value == "blue_1"


def test_rejects_duplicate_endpoint_names() -> None:
    namespace = scenario("max")
    endpoint(namespace, 1)["name"] = "fraud-scoring"
    problem = problem_at(namespace, "endpoints[1].name")
    assert problem.value == "fraud-scoring"
    assert "endpoints[0]" in problem.message


def test_rejects_duplicate_deployment_names() -> None:
    namespace = scenario("waf_aligned")
    deployment(namespace, 1)["name"] = "blue"
    endpoint(namespace)["traffic"] = {"blue": 100}
    problem = problem_at(namespace, "endpoints[0].deployments[1].name")
    assert problem.value == "blue"


def test_rejects_deployment_names_differing_only_in_case() -> None:
    # Names are lowercase-only, so "Blue" never reaches the case-insensitive uniqueness
    # check: the name rule rejects it first. Either way the clash cannot be deployed.
    namespace = scenario("waf_aligned")
    deployment(namespace, 1)["name"] = "Blue"
    endpoint(namespace)["traffic"] = {"blue": 100}
    assert problem_at(namespace, "endpoints[0].deployments[1].name").value == "Blue"


# ---- deployments per endpoint -------------------------------------------------------------------


def test_rejects_endpoint_without_deployments() -> None:
    namespace = scenario("defaults")
    endpoint(namespace)["deployments"] = []
    endpoint(namespace)["traffic"] = {}
    assert problem_at(namespace, f"{EP}.deployments").value == []


def test_rejects_21_deployments() -> None:
    namespace = scenario("defaults")
    template = deployment(namespace)
    endpoint(namespace)["deployments"] = [template | {"name": f"d{i:02}"} for i in range(21)]
    endpoint(namespace)["traffic"] = {"d00": 100}
    problem = problem_at(namespace, f"{EP}.deployments")
    assert "20" in problem.message


def test_rejects_stack_without_endpoints() -> None:
    namespace = scenario("defaults")
    namespace["endpoints"] = []
    assert problem_at(namespace, "endpoints").value == []


# ---- traffic ----------------------------------------------------------------------------------


@pytest.mark.parametrize("weight", [True, 50.5, "50"], ids=["bool", "float", "string"])
def test_rejects_traffic_weight_that_is_not_an_integer(weight: Any) -> None:
    namespace = scenario("waf_aligned")
    endpoint(namespace)["traffic"]["green"] = weight
    problem = problem_at(namespace, f"{EP}.traffic.green")
    assert problem.value == weight
    assert type(problem.value) is type(weight)
    assert "whole number" in problem.message


def test_rejects_negative_traffic_weight() -> None:
    namespace = scenario("waf_aligned")
    endpoint(namespace)["traffic"]["green"] = -1
    assert problem_at(namespace, f"{EP}.traffic.green").value == -1


def test_rejects_traffic_weight_over_100() -> None:
    namespace = scenario("defaults")
    endpoint(namespace)["traffic"]["blue"] = 101
    assert problem_at(namespace, f"{EP}.traffic.blue").value == 101


def test_rejects_traffic_to_a_deployment_that_does_not_exist() -> None:
    namespace = scenario("waf_aligned")
    endpoint(namespace)["traffic"] = {"blue": 90, "gren": 10}
    problem = problem_at(namespace, f"{EP}.traffic.gren")
    assert problem.value == 10
    assert "green" in problem.fix


def test_rejects_traffic_not_summing_to_100() -> None:
    namespace = scenario("waf_aligned")
    endpoint(namespace)["traffic"]["green"] = 20
    problem = problem_at(namespace, f"{EP}.traffic")
    assert problem.value == {"blue": 90, "green": 20}
    assert "110" in problem.message


# ---- mirror traffic -----------------------------------------------------------------------------


def test_rejects_mirror_to_two_deployments() -> None:
    namespace = scenario("max")
    endpoint(namespace)["mirror_traffic"] = {"shadow": 20, "green": 5}
    problem = problem_at(namespace, f"{EP}.mirror_traffic", alone=False)
    assert problem.value == {"shadow": 20, "green": 5}


def test_rejects_mirror_of_0() -> None:
    namespace = scenario("max")
    endpoint(namespace)["mirror_traffic"]["shadow"] = 0
    assert problem_at(namespace, f"{EP}.mirror_traffic.shadow").value == 0


def test_rejects_mirror_over_50() -> None:
    namespace = scenario("max")
    endpoint(namespace)["mirror_traffic"]["shadow"] = 51
    problem = problem_at(namespace, f"{EP}.mirror_traffic.shadow")
    assert problem.value == 51
    assert "50" in problem.message


def test_rejects_mirror_to_a_deployment_that_does_not_exist() -> None:
    namespace = scenario("max")
    endpoint(namespace)["mirror_traffic"] = {"shadw": 20}
    assert problem_at(namespace, f"{EP}.mirror_traffic.shadw").value == 20


def test_rejects_mirror_to_a_deployment_with_live_traffic() -> None:
    namespace = scenario("max")
    endpoint(namespace)["mirror_traffic"] = {"green": 20}
    problem = problem_at(namespace, f"{EP}.mirror_traffic.green")
    assert problem.value == 20
    assert "traffic.green" in problem.fix


def test_accepts_mirror_on_kubernetes() -> None:
    # Our kubernetes target mirrors at the Gateway (HTTPRoute RequestMirror); the contract's
    # "Azure managed only" concerns Azure ML's own Kubernetes online endpoints (TRF-04).
    namespace = kubernetes_blue_green()
    endpoint(namespace)["mirror_traffic"] = {"green": 10}
    assert parse(namespace).endpoints[0].mirror_traffic == {"green": 10}


# ---- auth and network ---------------------------------------------------------------------------


def test_rejects_unknown_auth_mode() -> None:
    namespace = scenario("defaults")
    endpoint(namespace)["auth_mode"] = "aad"
    problem = problem_at(namespace, f"{EP}.auth_mode")
    assert problem.value == "aad"
    assert "aad_token" in problem.message


def test_rejects_aml_token_on_kubernetes() -> None:
    namespace = kubernetes_defaults()
    endpoint(namespace)["auth_mode"] = "aml_token"
    assert problem_at(namespace, f"{EP}.auth_mode").value == "aml_token"


def test_rejects_aad_token_on_kubernetes_without_entra() -> None:
    namespace = kubernetes_defaults()
    del namespace["kubernetes"]["entra"]
    problem = problem_at(namespace, f"{EP}.auth_mode")
    assert problem.value == "aad_token"
    assert "kubernetes.entra" in problem.message


def test_rejects_key_auth_on_kubernetes_without_key_vault() -> None:
    namespace = kubernetes_defaults()
    del namespace["kubernetes"]["key_vault"]
    endpoint(namespace)["auth_mode"] = "key"
    problem = problem_at(namespace, f"{EP}.auth_mode")
    assert problem.value == "key"
    assert "kubernetes.key_vault" in problem.message


def test_rejects_key_auth_on_azure_without_key_vault() -> None:
    namespace = scenario("defaults")
    endpoint(namespace)["auth_mode"] = "key"
    problem = problem_at(namespace, f"{EP}.auth_mode")
    assert problem.value == "key"
    assert "azure.key_vault" in problem.message


def test_rejects_unknown_public_network_access() -> None:
    namespace = scenario("defaults")
    endpoint(namespace)["public_network_access"] = "Enabled"
    assert problem_at(namespace, f"{EP}.public_network_access").value == "Enabled"


# ---- instances and autoscale --------------------------------------------------------------------


@pytest.mark.parametrize("count", [0, 51])
def test_rejects_instance_count_outside_1_to_50(count: int) -> None:
    namespace = scenario("defaults")
    deployment(namespace)["instance_count"] = count
    assert problem_at(namespace, f"{DEP}.instance_count").value == count


def test_rejects_autoscale_min_above_max() -> None:
    namespace = scenario("waf_aligned")
    deployment(namespace)["autoscale"] = {"min_instances": 4, "max_instances": 3}
    assert problem_at(namespace, f"{DEP}.autoscale.min_instances").value == 4


def test_rejects_autoscale_max_over_50() -> None:
    namespace = scenario("waf_aligned")
    deployment(namespace)["autoscale"]["max_instances"] = 51
    assert problem_at(namespace, f"{DEP}.autoscale.max_instances").value == 51


def test_rejects_autoscale_scale_in_at_scale_out_threshold() -> None:
    namespace = scenario("waf_aligned")
    deployment(namespace)["autoscale"]["scale_in_cpu_percent"] = 70
    problem = problem_at(namespace, f"{DEP}.autoscale.scale_in_cpu_percent")
    assert problem.value == 70
    assert "target_cpu_percent" in problem.message


def test_rejects_instance_count_outside_autoscale_range() -> None:
    namespace = scenario("waf_aligned")
    deployment(namespace)["instance_count"] = 11
    problem = problem_at(namespace, f"{DEP}.instance_count")
    assert problem.value == 11
    assert "[3, 10]" in problem.message


def test_rejects_autoscale_min_of_0() -> None:
    namespace = scenario("waf_aligned")
    deployment(namespace)["autoscale"]["min_instances"] = 0
    assert problem_at(namespace, f"{DEP}.autoscale.min_instances").value == 0


# ---- request settings and probes ----------------------------------------------------------------


@pytest.mark.parametrize("timeout", [0, 180_001])
def test_rejects_request_timeout_outside_1_to_180000_ms(timeout: int) -> None:
    namespace = scenario("defaults")
    deployment(namespace)["request_settings"] = {"request_timeout_ms": timeout}
    path = f"{DEP}.request_settings.request_timeout_ms"
    assert problem_at(namespace, path).value == timeout


def test_rejects_max_concurrent_requests_of_0() -> None:
    namespace = scenario("defaults")
    deployment(namespace)["request_settings"] = {"max_concurrent_requests_per_instance": 0}
    path = f"{DEP}.request_settings.max_concurrent_requests_per_instance"
    assert problem_at(namespace, path).value == 0


@pytest.mark.parametrize("probe", ["liveness_probe", "readiness_probe"])
@pytest.mark.parametrize(
    "field", ["initial_delay", "period", "timeout", "success_threshold", "failure_threshold"]
)
def test_rejects_probe_setting_of_0(probe: str, field: str) -> None:
    namespace = scenario("defaults")
    deployment(namespace)[probe] = {field: 0}
    assert problem_at(namespace, f"{DEP}.{probe}.{field}").value == 0


def test_rejects_liveness_success_threshold_2() -> None:
    namespace = scenario("defaults")
    deployment(namespace)["liveness_probe"] = {"success_threshold": 2}
    problem = problem_at(namespace, f"{DEP}.liveness_probe.success_threshold")
    assert problem.value == 2


# ---- environment variables ----------------------------------------------------------------------


def test_rejects_environment_variable_that_is_not_a_string() -> None:
    namespace = scenario("defaults")
    deployment(namespace)["environment_variables"] = {"WORKERS": 4}
    problem = problem_at(namespace, f"{DEP}.environment_variables.WORKERS")
    assert problem.value == 4
    assert "quote" in problem.fix


@pytest.mark.parametrize(
    "name", ["DB_PASSWORD", "HF_TOKEN", "OPENAI_API_KEY", "client-secret", "PGPASSWORD", "apiKey"]
)
def test_rejects_secret_in_environment_variables(name: str) -> None:
    namespace = scenario("defaults")
    deployment(namespace)["environment_variables"] = {name: "hunter2"}
    problem = problem_at(namespace, f"{DEP}.environment_variables.{name}")
    assert "Key Vault" in problem.fix
    assert not problem.has_value, "a suspected secret must not be echoed back"


CREDENTIAL_VALUES = [
    pytest.param("postgres://app:hunter2@db:5432/fraud", "a URL with a password", id="url"),
    pytest.param("Server=db;Password=hunter2", "a password in a connection string", id="server"),
    pytest.param("AccountName=st;AccountKey=abc==", "a connection string key", id="account-key"),
    pytest.param("https://st.blob.core.windows.net/c?sv=1&sig=abc", "a SAS signature", id="sas"),
    pytest.param("sk-" + "a1B2c3D4e5F6g7H8i9J0", "an OpenAI-style API key", id="sk"),
    pytest.param("hf_" + "a" * 34, "a Hugging Face token", id="hf"),
    pytest.param("ghp_" + "a" * 36, "a GitHub token", id="ghp"),
    pytest.param("xoxb-1234-abcd", "a Slack token", id="xoxb"),
    pytest.param("ASIA" + "IOSFODNN7EXAMPLE", "an AWS access key id", id="aws"),
]
NO_CREDENTIALS = [
    pytest.param("kv@https://kv.vault.azure.net/secrets/db-password", id="key-vault-reference"),
    pytest.param("@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/db/)", id="kv"),
    pytest.param("https://api.example.com/v1/score", id="plain-url"),
    pytest.param("sk", id="sk-alone"),
    pytest.param("EURASIA" + "IOSFODNN7EXAMPLE", id="asia-in-a-word"),
]


@pytest.mark.parametrize(("value", "kind"), CREDENTIAL_VALUES)
def test_rejects_a_credential_value_under_an_innocent_name(value: str, kind: str) -> None:
    namespace = scenario("defaults")
    deployment(namespace)["environment_variables"] = {"DATABASE_URL": value}
    problem = problem_at(namespace, f"{DEP}.environment_variables.DATABASE_URL")
    assert kind in problem.message
    assert "'DATABASE_URL'" in problem.message
    assert value not in problem.message + problem.fix
    assert not problem.has_value, "a suspected secret must not be echoed back"


@pytest.mark.parametrize("name", ["DB_PASS", "MYSQL_PWD", "smtpPass"])
def test_rejects_pass_and_pwd_names(name: str) -> None:
    namespace = scenario("defaults")
    deployment(namespace)["environment_variables"] = {name: "hunter2"}
    assert not problem_at(namespace, f"{DEP}.environment_variables.{name}").has_value


@pytest.mark.parametrize("value", NO_CREDENTIALS)
def test_accepts_values_that_only_resemble_credentials(value: str) -> None:
    namespace = scenario("defaults")
    deployment(namespace)["environment_variables"] = {"DATABASE_URL": value, "PWD": "/app"}
    deployment(namespace)["tags"] = {"source": value}
    endpoint(namespace)["tags"] = {"source": value}
    assert parse(namespace).endpoints[0].deployments[0].environment_variables["DATABASE_URL"]


def test_accepts_a_key_vault_reference_under_a_secret_name() -> None:
    """A variable named like a secret may say where the secret is (issue 23, point 4)."""
    namespace = scenario("defaults")
    reference = "db@https://kv-ml-prod.vault.azure.net/secrets/db-password"
    deployment(namespace)["environment_variables"] = {"DB_PASSWORD": reference}
    variables = parse(namespace).endpoints[0].deployments[0].environment_variables
    assert variables["DB_PASSWORD"] == reference
    deployment(namespace)["environment_variables"] = {"DB_PASSWORD": "not-a-reference"}
    assert problem_at(namespace, f"{DEP}.environment_variables.DB_PASSWORD")


def test_rejects_a_secure_config_value_in_environment_variables() -> None:
    # mlep never decrypts offline: a `secure:` value reaches the models as "[secret]".
    namespace = scenario("defaults")
    deployment(namespace)["environment_variables"] = {"DATABASE_URL": "[secret]"}
    problem = problem_at(namespace, f"{DEP}.environment_variables.DATABASE_URL")
    assert "secure:" in problem.message
    assert "Key Vault reference" in problem.fix
    assert "CSI driver" in problem.fix


@pytest.mark.parametrize("where", ["stack", "endpoint", "deployment"])
def test_rejects_a_credential_in_a_tag(where: str) -> None:
    namespace = scenario("defaults")
    secret = "AccountName=st;AccountKey=abc=="
    if where == "stack":
        namespace["tags"] = {**namespace["tags"], "storage": secret}
        path = "tags.storage"
    elif where == "endpoint":
        endpoint(namespace)["tags"] = {"storage": secret}
        path = f"{EP}.tags.storage"
    else:
        deployment(namespace)["tags"] = {"storage": secret}
        path = f"{DEP}.tags.storage"
    problem = problem_at(namespace, path)
    assert "'storage'" in problem.message
    assert "a connection string key" in problem.message
    assert secret not in problem.message


def test_rejects_a_credential_in_the_model_reference() -> None:
    # A token fits the shape of a version (azureml:NAME:VERSION takes [\w.-]): the shape check
    # accepts it, the secret check does not.
    namespace = scenario("defaults")
    token = "ghp_" + "a" * 36
    deployment(namespace)["model"] = f"azureml:fraud-model:{token}"
    problem = problem_at(namespace, f"{DEP}.model")
    assert "a GitHub token" in problem.message
    assert token not in problem.message
    assert not problem.has_value


# ---- unknown fields -----------------------------------------------------------------------------


def test_rejects_unknown_top_level_field_suggesting_the_close_one() -> None:
    namespace = scenario("defaults")
    namespace["endpoint"] = namespace.pop("endpoints")
    problems = problems_for(namespace)
    unknown = next(problem for problem in problems if problem.path == "endpoint")
    assert "'endpoints'" in unknown.fix
    assert "endpoints" in [problem.path for problem in problems]  # now missing


def test_rejects_unknown_endpoint_field_suggesting_the_close_one() -> None:
    namespace = scenario("defaults")
    endpoint(namespace)["auth_mod"] = "key"
    problem = problem_at(namespace, f"{EP}.auth_mod")
    assert problem.fix == "did you mean 'auth_mode'?"
    assert problem.value == "key"


def test_rejects_unknown_deployment_field_suggesting_the_close_one() -> None:
    namespace = scenario("defaults")
    deployment(namespace)["instance_counts"] = 2
    assert problem_at(namespace, f"{DEP}.instance_counts").fix == ("did you mean 'instance_count'?")


def test_rejects_unknown_nested_field_suggesting_the_close_one() -> None:
    namespace = scenario("defaults")
    deployment(namespace)["request_settings"] = {"request_timeout": 2000}
    problem = problem_at(namespace, f"{DEP}.request_settings.request_timeout")
    assert problem.fix == "did you mean 'request_timeout_ms'?"
    assert problem.value == 2000


def test_rejects_unknown_field_listing_the_allowed_ones_when_none_is_close() -> None:
    namespace = scenario("defaults")
    namespace["azure"]["zzz"] = 1
    problem = problem_at(namespace, "azure.zzz")
    assert "resource_group" in problem.fix
    assert "workspace" in problem.fix


# ---- target-specific deployment fields ----------------------------------------------------------


def test_rejects_azure_deployment_without_model() -> None:
    namespace = scenario("defaults")
    del deployment(namespace)["model"]
    assert "azureml:" in problem_at(namespace, f"{DEP}.model").fix


def test_rejects_model_that_is_not_a_registered_reference() -> None:
    namespace = scenario("defaults")
    deployment(namespace)["model"] = "fraud-classifier:1"
    assert problem_at(namespace, f"{DEP}.model").value == "fraud-classifier:1"


def test_rejects_azure_deployment_without_instance_type() -> None:
    namespace = scenario("defaults")
    del deployment(namespace)["instance_type"]
    assert "Standard_DS3_v2" in problem_at(namespace, f"{DEP}.instance_type").fix


def test_rejects_kubernetes_deployment_without_image() -> None:
    namespace = kubernetes_defaults()
    del deployment(namespace)["image"]
    assert problem_at(namespace, f"{DEP}.image").message


def test_rejects_image_tagged_latest() -> None:
    namespace = kubernetes_defaults()
    deployment(namespace)["image"] = "acr.example.io/fraud:latest"
    problem = problem_at(namespace, f"{DEP}.image")
    assert problem.value == "acr.example.io/fraud:latest"
    assert "latest" in problem.message


def test_rejects_image_without_tag() -> None:
    namespace = kubernetes_defaults()
    deployment(namespace)["image"] = "acr.example.io/fraud"
    assert problem_at(namespace, f"{DEP}.image").value == "acr.example.io/fraud"


@pytest.mark.parametrize(
    ("field", "value"),
    [("image", KUBERNETES_IMAGE), ("resources", {"cpu": "2", "memory": "4Gi"})],
)
def test_rejects_kubernetes_only_field_on_azure(field: str, value: Any) -> None:
    namespace = scenario("defaults")
    deployment(namespace)[field] = value
    problem = problem_at(namespace, f"{DEP}.{field}")
    assert "azure" in problem.message


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("instance_type", "Standard_DS3_v2"),
        ("model", "azureml:fraud-classifier:1"),
        ("environment", "azureml:sklearn-inference:3"),
        ("code_configuration", {"code": "azureml:fraud-code:7", "scoring_script": "score.py"}),
        ("egress_public_network_access", "disabled"),
        ("app_insights_enabled", True),
    ],
)
def test_rejects_azure_only_field_on_kubernetes(field: str, value: Any) -> None:
    namespace = kubernetes_defaults()
    deployment(namespace)[field] = value
    problem = problem_at(namespace, f"{DEP}.{field}")
    assert "kubernetes" in problem.message


def test_rejects_environment_asset_that_is_a_local_path() -> None:
    namespace = scenario("defaults")
    deployment(namespace)["environment"] = "./environment.yml"
    problem = problem_at(namespace, f"{DEP}.environment")
    assert problem.value == "./environment.yml"
    assert "azureml:" in problem.fix


def test_rejects_kubernetes_cpu_given_as_a_number() -> None:
    namespace = kubernetes_defaults()
    deployment(namespace)["resources"] = {"cpu": 1}
    assert problem_at(namespace, f"{DEP}.resources.cpu").value == 1


def test_rejects_kubernetes_memory_that_is_not_a_quantity() -> None:
    namespace = kubernetes_defaults()
    deployment(namespace)["resources"] = {"memory": "2 GB"}
    assert problem_at(namespace, f"{DEP}.resources.memory").value == "2 GB"


def test_rejects_app_insights_enabled_given_as_a_string() -> None:
    namespace = scenario("defaults")
    deployment(namespace)["app_insights_enabled"] = "true"
    assert problem_at(namespace, f"{DEP}.app_insights_enabled").value == "true"


def test_rejects_description_that_is_not_a_string() -> None:
    namespace = scenario("defaults")
    endpoint(namespace)["description"] = 42
    assert problem_at(namespace, f"{EP}.description").value == 42


# ---- tags -------------------------------------------------------------------------------------


@pytest.mark.parametrize("tag", ["owner", "application", "data-sensitivity"])
def test_rejects_missing_required_tag(tag: str) -> None:
    namespace = scenario("defaults")
    del namespace["tags"][tag]
    assert tag in problem_at(namespace, f"tags.{tag}").fix


def test_rejects_unknown_data_sensitivity() -> None:
    namespace = scenario("defaults")
    namespace["tags"]["data-sensitivity"] = "secret"
    problem = problem_at(namespace, "tags.data-sensitivity")
    assert problem.value == "secret"
    assert "confidential" in problem.message


def test_rejects_unknown_data_sensitivity_in_endpoint_tags() -> None:
    namespace = scenario("defaults")
    endpoint(namespace)["tags"] = {"data-sensitivity": "top-secret"}
    assert problem_at(namespace, f"{EP}.tags.data-sensitivity").value == "top-secret"


def test_rejects_unknown_data_sensitivity_in_deployment_tags() -> None:
    namespace = scenario("defaults")
    deployment(namespace)["tags"] = {"data-sensitivity": "pii"}
    assert problem_at(namespace, f"{DEP}.tags.data-sensitivity").value == "pii"


def test_rejects_tag_name_with_angle_bracket() -> None:
    namespace = scenario("defaults")
    namespace["tags"]["cost<center"] = "ml"
    problem = problem_at(namespace, "tags.cost<center")
    assert problem.value == "cost<center"
    assert "<" in problem.fix


def test_rejects_tag_value_of_257_chars() -> None:
    namespace = scenario("defaults")
    endpoint(namespace)["tags"] = {"purpose": "x" * 257}
    problem = problem_at(namespace, f"{EP}.tags.purpose")
    assert problem.value == "x" * 257
    assert "256" in problem.message


def test_rejects_51_tags() -> None:
    namespace = scenario("defaults")
    namespace["tags"] |= {f"extra-{i}": "x" for i in range(48)}
    assert "50" in problem_at(namespace, "tags").message


def test_rejects_more_than_50_tags_once_merged() -> None:
    namespace = scenario("defaults")
    endpoint(namespace)["tags"] = {f"endpoint-{i}": "x" for i in range(24)}
    deployment(namespace)["tags"] = {f"deployment-{i}": "x" for i in range(24)}
    assert "51" in problem_at(namespace, f"{DEP}.tags").message


def test_rejects_tag_value_that_is_not_a_label_on_kubernetes() -> None:
    namespace = kubernetes_defaults()
    namespace["tags"]["owner"] = "Fraud Team"
    assert problem_at(namespace, "tags.owner").value == "Fraud Team"


def test_accepts_exactly_50_tags_once_merged() -> None:
    namespace = scenario("defaults")
    endpoint(namespace)["tags"] = {f"endpoint-{i}": "x" for i in range(50 - len(TAGS) - 24)}
    deployment(namespace)["tags"] = {f"deployment-{i}": "x" for i in range(24)}
    parse(namespace)  # accepted


@pytest.mark.parametrize(
    ("level", "path"), [("endpoint", f"{EP}.tags.team"), ("deployment", f"{DEP}.tags.team")]
)
def test_rejects_endpoint_and_deployment_tags_that_are_not_labels_on_kubernetes(
    level: str, path: str
) -> None:
    namespace = kubernetes_defaults()
    holder = endpoint(namespace) if level == "endpoint" else deployment(namespace)
    holder["tags"] = {"team": "Fraud Team"}
    assert problem_at(namespace, path).value == "Fraud Team"


def test_rejects_a_tag_name_that_is_not_a_label_name_on_kubernetes() -> None:
    namespace = kubernetes_defaults()
    endpoint(namespace)["tags"] = {"cost center": "ml"}
    assert problem_at(namespace, f"{EP}.tags.cost center").value == "ml"


@pytest.mark.parametrize("value", ["a" * 63, "fraud_team.v2", "x", ""])
def test_accepts_label_safe_tags_on_kubernetes(value: str) -> None:
    namespace = kubernetes_defaults()
    endpoint(namespace)["tags"] = {"team": value, "tier.v2": "gold"}
    parse(namespace)  # accepted


def test_rejects_a_64_character_tag_value_on_kubernetes() -> None:
    namespace = kubernetes_defaults()
    endpoint(namespace)["tags"] = {"team": "a" * 64}
    assert problem_at(namespace, f"{EP}.tags.team").value == "a" * 64


def test_azure_tags_are_not_held_to_label_rules() -> None:
    """Azure tag values take spaces and 256 characters; labels are a Kubernetes matter."""
    namespace = scenario("defaults")
    namespace["tags"]["owner"] = "Fraud Team"
    endpoint(namespace)["tags"] = {"purpose": "Card fraud (EU), " + "x" * 100}
    deployment(namespace)["tags"] = {"notes": "Blue: the stable one"}
    parse(namespace)  # accepted


LONG_ENDPOINT = "e" + "-scoring" * 3 + "-abcdef"  # 32 characters
LONG_DEPLOYMENT = "deployment-" + "v" * 20  # 31 characters: 64 with the hyphen


def test_rejects_a_service_name_over_63_characters_on_kubernetes() -> None:
    assert (len(LONG_ENDPOINT), len(LONG_DEPLOYMENT)) == (32, 31)
    namespace = kubernetes_defaults()
    endpoint(namespace)["name"] = LONG_ENDPOINT
    deployment(namespace)["name"] = LONG_DEPLOYMENT
    endpoint(namespace)["traffic"] = {LONG_DEPLOYMENT: 100}
    problem = problem_at(namespace, f"{DEP}.name")
    assert "64 characters" in problem.message


def test_accepts_a_service_name_of_63_characters_on_kubernetes() -> None:
    namespace = kubernetes_defaults()
    endpoint(namespace)["name"] = LONG_ENDPOINT
    deployment(namespace)["name"] = LONG_DEPLOYMENT[:-1]
    endpoint(namespace)["traffic"] = {LONG_DEPLOYMENT[:-1]: 100}
    parse(namespace)  # accepted


def test_azure_is_not_held_to_the_63_character_service_name() -> None:
    namespace = scenario("defaults")
    endpoint(namespace)["name"] = LONG_ENDPOINT
    deployment(namespace)["name"] = LONG_DEPLOYMENT
    endpoint(namespace)["traffic"] = {LONG_DEPLOYMENT: 100}
    parse(namespace)  # accepted


# ---- stack-level fields -------------------------------------------------------------------------


def test_rejects_missing_target() -> None:
    namespace = scenario("defaults")
    del namespace["target"]
    problem = problem_at(namespace, "target")
    assert not problem.has_value


def test_rejects_unknown_target() -> None:
    namespace = scenario("defaults")
    namespace["target"] = "aks"
    problem = problem_at(namespace, "target")
    assert problem.value == "aks"
    assert "kubernetes" in problem.message


def test_rejects_missing_environment() -> None:
    namespace = scenario("defaults")
    del namespace["environment"]
    assert not problem_at(namespace, "environment").has_value


def test_rejects_unknown_environment() -> None:
    namespace = scenario("defaults")
    namespace["environment"] = "production"
    assert problem_at(namespace, "environment").value == "production"


def test_rejects_azure_target_without_azure_block() -> None:
    namespace = scenario("defaults")
    del namespace["azure"]
    assert "ml-endpoints:azure" in problem_at(namespace, "azure").message


def test_rejects_kubernetes_block_on_azure_target() -> None:
    namespace = scenario("defaults")
    namespace["kubernetes"] = kubernetes_defaults()["kubernetes"]
    assert "ignored" in problem_at(namespace, "kubernetes").message


def test_rejects_kubernetes_target_without_kubernetes_block() -> None:
    namespace = kubernetes_defaults()
    del namespace["kubernetes"]
    assert "ml-endpoints:kubernetes" in problem_at(namespace, "kubernetes").message


def test_rejects_azure_block_on_kubernetes_target() -> None:
    namespace = kubernetes_defaults()
    namespace["azure"] = scenario("defaults")["azure"]
    assert "ignored" in problem_at(namespace, "azure").message


def test_rejects_role_principal_that_is_not_a_guid() -> None:
    namespace = scenario("max")
    namespace["azure"]["roles"]["key_readers"] = [GUID_A, "fraud-team"]
    assert problem_at(namespace, "azure.roles.key_readers[1]").value == "fraud-team"


def test_rejects_entra_tenant_that_is_not_a_guid() -> None:
    namespace = kubernetes_defaults()
    namespace["kubernetes"]["entra"]["tenant_id"] = "contoso.onmicrosoft.com"
    path = "kubernetes.entra.tenant_id"
    assert problem_at(namespace, path).value == "contoso.onmicrosoft.com"


def test_rejects_subnet_id_that_is_not_a_resource_id() -> None:
    namespace = scenario("waf_aligned")
    namespace["azure"]["private_access"]["subnet_id"] = "vnet-ml/inference"
    problem = problem_at(namespace, "azure.private_access.subnet_id")
    assert problem.value == "vnet-ml/inference"
    assert "/subscriptions/" in problem.fix


# ---- rollout and alerts -------------------------------------------------------------------------


def test_rejects_rollout_steps_not_ending_at_100() -> None:
    namespace = scenario("defaults")
    endpoint(namespace)["rollout"] = {"steps": [5, 25, 60]}
    assert problem_at(namespace, f"{EP}.rollout.steps").value == [5, 25, 60]


def test_rejects_rollout_steps_not_increasing() -> None:
    namespace = scenario("defaults")
    endpoint(namespace)["rollout"] = {"steps": [5, 60, 25, 100]}
    assert problem_at(namespace, f"{EP}.rollout.steps").value == [5, 60, 25, 100]


@pytest.mark.parametrize("threshold", ["latency_p95_ms", "cpu_max_percent"])
def test_rejects_alert_threshold_given_as_string(threshold: str) -> None:
    namespace = scenario("defaults")
    endpoint(namespace)["alerts"] = {threshold: "80"}
    assert problem_at(namespace, f"{EP}.alerts.{threshold}").value == "80"


def test_rejects_alert_percent_threshold_over_100() -> None:
    namespace = scenario("defaults")
    endpoint(namespace)["alerts"] = {"success_rate_min_percent": 100.5}
    assert problem_at(namespace, f"{EP}.alerts.success_rate_min_percent").value == 100.5


# ---- how problems are reported ------------------------------------------------------------------


def test_collects_every_field_problem_not_only_the_first() -> None:
    namespace = scenario("defaults")
    namespace["environment"] = "qa"
    endpoint(namespace)["auth_mode"] = "token"
    deployment(namespace)["instance_count"] = 0
    paths = [problem.path for problem in problems_for(namespace)]
    assert paths == ["endpoints[0].auth_mode", f"{DEP}.instance_count", "environment"]


def test_collects_every_cross_field_problem_not_only_the_first() -> None:
    namespace = scenario("max")
    endpoint(namespace, 1)["name"] = "fraud-scoring"
    endpoint(namespace)["traffic"]["blue"] = 70
    del namespace["tags"]["owner"]
    paths = [problem.path for problem in problems_for(namespace)]
    assert paths == [f"{EP}.traffic", "endpoints[1].name", "tags.owner"]


def test_error_text_names_file_field_path_value_and_fix() -> None:
    namespace = scenario("waf_aligned")
    endpoint(namespace)["traffic"]["green"] = "10"
    with pytest.raises(ConfigError) as info:
        parse(namespace)
    text = str(info.value)
    assert text.startswith(f"{SOURCE}: 1 configuration error")
    assert "ml-endpoints:endpoints[0].traffic.green = '10'" in text
    assert "error: must be a whole number" in text
    assert "fix:   write the number without quotes" in text


def test_error_text_gives_the_line_when_known() -> None:
    namespace = scenario("defaults")
    namespace["target"] = "aks"
    with pytest.raises(ConfigError) as info:
        parse(namespace)
    assert f"({SOURCE}:3)" in info.value.render({"target": 3})


# ---- what the models are ------------------------------------------------------------------------


def test_stack_config_is_frozen() -> None:
    stack = parse(scenario("defaults"))
    with pytest.raises(ValidationError):
        stack.target = "kubernetes"  # type: ignore[misc]


def test_deployment_spec_is_frozen() -> None:
    spec = parse(scenario("defaults")).endpoints[0].deployments[0]
    with pytest.raises(ValidationError):
        spec.instance_count = 5  # type: ignore[misc]


def test_models_do_not_import_pulumi() -> None:
    code = "import models.loader, sys; assert 'pulumi' not in sys.modules, sorted(sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_omitted_instance_count_starts_at_autoscale_minimum() -> None:
    namespace = scenario("defaults")
    deployment = endpoint(namespace)["deployments"][0]
    deployment["autoscale"] = {"min_instances": 3, "max_instances": 10}
    assert parse(namespace).endpoints[0].deployments[0].replicas == 3
