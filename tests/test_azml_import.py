"""`mlep import`: az ml managed online endpoint and deployment YAML -> an endpoint spec."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlep.authoring.azml import Converted, convert
from mlep.authoring.azml.fields import DEPLOYMENT_ORDER, ENDPOINT_ORDER
from mlep.errors import UsageError
from models.loader import parse_stack_config
from tests.scenarios import waf_aligned

AZML = Path(__file__).resolve().parent / "fixtures" / "azml"
BLUE_GREEN = AZML / "blue-green"
MIRROR = AZML / "mirror"
BAD = AZML / "bad"

BLUE_GREEN_SPEC = {
    "name": "credit-endpoint",
    "description": "Scores credit applications",
    "auth_mode": "key",
    "public_network_access": "enabled",
    "tags": {"team": "credit-risk"},
    "deployments": [
        {
            "name": "blue",
            "model": "azureml:credit-model:1",
            "environment": "azureml:credit-env:3",
            "code_configuration": {
                "code": "azureml:credit-score-code:1",
                "scoring_script": "score.py",
            },
            "instance_type": "Standard_DS3_v2",
            "instance_count": 2,
            "request_settings": {
                "request_timeout_ms": 3000,
                "max_concurrent_requests_per_instance": 2,
            },
            "environment_variables": {"WORKER_COUNT": "4", "LOG_LEVEL": "info"},
            "egress_public_network_access": "disabled",
            "app_insights_enabled": True,
        },
        {
            "name": "green",
            "model": "azureml:credit-model:2",
            "environment": "azureml:credit-env:3",
            "code_configuration": {
                "code": "azureml:credit-score-code:2",
                "scoring_script": "score.py",
            },
            "instance_type": "Standard_DS3_v2",
            "instance_count": 2,
            "autoscale": {"min_instances": 2, "max_instances": 6, "target_cpu_percent": 65},
            "request_settings": {"request_timeout_ms": 3000},
            "liveness_probe": {
                "initial_delay": 30,
                "period": 10,
                "timeout": 2,
                "success_threshold": 1,
                "failure_threshold": 5,
            },
            "readiness_probe": {"initial_delay": 10, "period": 5, "failure_threshold": 3},
            "egress_public_network_access": "disabled",
            "app_insights_enabled": True,
            "tags": {"model-version": "2"},
        },
    ],
    "traffic": {"blue": 90, "green": 10},
}

MIRROR_SPEC = {
    "name": "fraud-scoring",
    "auth_mode": "aad_token",
    "public_network_access": "disabled",
    "deployments": [
        {
            "name": "blue",
            "model": "azureml://registries/ml-shared/models/fraud-model/versions/7",
            "instance_type": "Standard_DS3_v2",
            "instance_count": 3,
            "egress_public_network_access": "disabled",
            "app_insights_enabled": True,
        },
        {
            "name": "green",
            "model": "azureml://registries/ml-shared/models/fraud-model/versions/8",
            "instance_type": "Standard_DS3_v2",
            "instance_count": 1,
            "egress_public_network_access": "disabled",
            "app_insights_enabled": True,
        },
    ],
    "traffic": {"blue": 100, "green": 0},
    "mirror_traffic": {"green": 20},
}

ENDPOINT = """\
name: credit-endpoint
auth_mode: aml_token
public_network_access: disabled
traffic:
  blue: 100
"""
DEPLOYMENT = """\
name: blue
endpoint_name: credit-endpoint
model: azureml:credit-model:1
instance_type: Standard_DS3_v2
egress_public_network_access: disabled
app_insights_enabled: true
"""


def blue_green() -> Converted:
    return convert(
        BLUE_GREEN / "endpoint.yml",
        [BLUE_GREEN / "blue-deployment.yml", BLUE_GREEN / "green-deployment.yml"],
    )


def mirror() -> Converted:
    return convert(
        MIRROR / "endpoint.yml", [MIRROR / "blue-deployment.yml", MIRROR / "green-deployment.yml"]
    )


def import_error(endpoint: Path, *deployments: Path) -> str:
    with pytest.raises(UsageError) as raised:
        convert(endpoint, list(deployments))
    return str(raised.value)


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text)
    return path


def files(directory: Path, endpoint: str = ENDPOINT, deployment: str = DEPLOYMENT) -> list[Path]:
    return [
        write(directory, "endpoint.yml", endpoint),
        write(directory, "deployment.yml", deployment),
    ]


# The good samples


def test_blue_green_pair_converts_to_the_exact_spec() -> None:
    assert blue_green().spec == BLUE_GREEN_SPEC


def test_spec_keys_follow_the_contract_field_order() -> None:
    spec = blue_green().spec
    assert list(spec) == [k for k in ENDPOINT_ORDER if k in spec]
    for deployment in spec["deployments"]:
        assert list(deployment) == [k for k in DEPLOYMENT_ORDER if k in deployment]


def test_blue_green_notes_say_what_was_dropped_or_changed() -> None:
    blue, green = BLUE_GREEN / "blue-deployment.yml", BLUE_GREEN / "green-deployment.yml"
    assert blue_green().notes == [
        f"{BLUE_GREEN / 'endpoint.yml'}:4: auth_mode key kept: the keys go to the stack's Key "
        "Vault (azure.key_vault); prod stacks need aad_token or aml_token unless the endpoint "
        "has a reviewed waiver (policy ID-01)",
        f"{blue}:17: environment_variables.WORKER_COUNT: 4 became the string '4'",
        f"{green}:16: polling_interval dropped: Azure Monitor autoscale evaluates CPU every "
        "minute; autoscale.cooldown_minutes (default 5) sets the wait between scale actions",
        f"{green}:12: scale_settings (target_utilization) became autoscale on CPU (Azure "
        "Monitor autoscale); target_utilization_percentage is target_cpu_percent (az ml itself "
        "takes target_utilization on Kubernetes deployments only; managed ones scale this way)",
        f"{green}:20: max_queue_wait_ms dropped: az ml deprecated it; requests wait at most "
        "request_timeout_ms",
        f"{green}:4: description dropped: deployments carry no description in the spec (the "
        "endpoint does)",
    ]


def test_scale_settings_default_means_no_autoscale() -> None:
    blue = blue_green().spec["deployments"][0]
    assert blue["name"] == "blue"
    assert "autoscale" not in blue


def test_aad_token_endpoint_keeps_mirror_traffic() -> None:
    assert mirror().spec == MIRROR_SPEC


def test_identity_is_dropped_with_a_note_about_the_endpoint_identity() -> None:
    assert mirror().notes == [
        f"{MIRROR / 'endpoint.yml'}:5: identity dropped: this project gives each endpoint its "
        "own user-assigned identity (AcrPull on the workspace registry, Storage Blob Data "
        "Reader on its storage); grant what the scoring code needs to that identity (its "
        "client id is the stack output `endpoints.NAME.identity_client_id`)"
    ]


@pytest.mark.parametrize("converted", [blue_green, mirror], ids=["blue-green", "mirror"])
def test_converted_spec_parses_in_an_azure_stack(converted: type) -> None:
    stack = waf_aligned()
    stack["endpoints"] = [converted().spec]
    config = parse_stack_config(stack, "Pulumi.prod.yaml")
    assert config.endpoints[0].name == converted().spec["name"]


def test_omitted_fields_stay_omitted_and_differing_defaults_are_noted(tmp_path: Path) -> None:
    minimal = "name: blue\nmodel: azureml:credit-model:1\ninstance_type: Standard_DS3_v2\n"
    endpoint, deployment = files(tmp_path, "name: credit-endpoint\n", minimal)
    converted = convert(endpoint, [deployment])
    assert converted.spec == {
        "name": "credit-endpoint",
        "deployments": [
            {
                "name": "blue",
                "model": "azureml:credit-model:1",
                "instance_type": "Standard_DS3_v2",
            }
        ],
    }
    assert converted.notes == [
        f"{endpoint}: auth_mode not set: az ml defaults to key, this project to aad_token "
        "(clients send an Entra token); write `auth_mode: key` to keep the az ml behaviour",
        f"{endpoint}: public_network_access not set: az ml defaults to enabled, this project "
        "to disabled; write `public_network_access: enabled` to keep the az ml behaviour",
        f"{endpoint}: no traffic set: the endpoint takes no live traffic until `traffic:` "
        "gives its deployments weights summing to 100 (what `--all-traffic` or "
        "`az ml online-endpoint update --traffic` did with az ml)",
        f"{deployment}: egress_public_network_access not set: az ml defaults to enabled, this "
        "project to disabled; write `egress_public_network_access: enabled` to keep the az ml "
        "behaviour",
        f"{deployment}: app_insights_enabled not set: az ml defaults to false, this project "
        "to true; write `app_insights_enabled: false` to keep the az ml behaviour",
    ]


def test_camel_case_enum_values_are_normalised(tmp_path: Path) -> None:
    deployment = DEPLOYMENT + (
        "scale_settings:\n  type: TargetUtilization\n  min_instances: 1\n  max_instances: 3\n"
    )
    endpoint, path = files(tmp_path, ENDPOINT.replace("aml_token", "AMLToken"), deployment)
    spec = convert(endpoint, [path]).spec
    assert spec["auth_mode"] == "aml_token"
    assert spec["deployments"][0]["autoscale"] == {"min_instances": 1, "max_instances": 3}


def test_low_target_utilization_lowers_the_scale_in_threshold(tmp_path: Path) -> None:
    deployment = DEPLOYMENT + (
        "scale_settings:\n  type: target_utilization\n  min_instances: 1\n  max_instances: 3\n"
        "  target_utilization_percentage: 20\n"
    )
    endpoint, path = files(tmp_path, deployment=deployment)
    converted = convert(endpoint, [path])
    assert converted.spec["deployments"][0]["autoscale"] == {
        "min_instances": 1,
        "max_instances": 3,
        "target_cpu_percent": 20,
        "scale_in_cpu_percent": 10,
    }


def test_output_only_fields_of_az_ml_show_are_dropped_with_a_note(tmp_path: Path) -> None:
    endpoint = ENDPOINT + "provisioning_state: Succeeded\nscoring_uri: https://x/score\n"
    path, deployment = files(tmp_path, endpoint=endpoint)
    notes = convert(path, [deployment]).notes
    assert notes == [
        f"{path}:6: provisioning_state dropped: an output of `az ml ... show`, not a setting",
        f"{path}:7: scoring_uri dropped: an output of `az ml ... show`, not a setting",
    ]


# The bad samples


def test_rejects_an_inline_model_naming_the_register_command() -> None:
    message = import_error(BAD / "endpoint.yml", BAD / "inline-model.yml")
    assert (
        f"  {BAD / 'inline-model.yml'}:4: model = {{'path': '../model-1/model/'}}\n"
        "    error: an inline model is uploaded by the az ml CLI when it creates the "
        "deployment; this project references registered models only\n"
        "    fix:   register it first (`az ml model create --name blue-model "
        f"--path {AZML / 'model-1' / 'model'}` prints the version it registers) and set "
        "model: azureml:blue-model:VERSION with that version\n"
    ) in message


def test_an_inline_models_version_is_the_files_never_invented(tmp_path: Path) -> None:
    inline = DEPLOYMENT.replace(
        "model: azureml:credit-model:1\n",
        "model:\n  name: half-plus-two\n  version: 3\n  path: ./model\n",
    )
    message = import_error(*files(tmp_path, deployment=inline))
    assert (
        "register it first (`az ml model create --name half-plus-two --version 3 --path "
        f"{tmp_path / 'model'}`) and set model: azureml:half-plus-two:3\n"
    ) in message + "\n"


def test_rejects_a_local_code_folder_naming_the_register_command() -> None:
    message = import_error(BAD / "endpoint.yml", BAD / "inline-model.yml")
    assert (
        f"  {BAD / 'inline-model.yml'}:7: code_configuration.code = '../model-1/onlinescoring/'\n"
        "    error: a local code folder is uploaded by the az ml CLI when it creates the "
        "deployment; this project references registered code assets only\n"
        "    fix:   register it first (`az ml code create --name blue-code --path "
        f"{AZML / 'model-1' / 'onlinescoring'}` prints the version it registers) and set "
        "code: azureml:blue-code:VERSION with that version\n"
    ) in message


def test_rejects_an_inline_environment_naming_the_register_command() -> None:
    message = import_error(BAD / "endpoint.yml", BAD / "inline-model.yml")
    assert message.startswith("cannot import the az ml files: 3 problems\n")
    assert (
        "    fix:   register it first (`az ml environment create --name blue-env "
        "--image mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:latest --conda-file "
        f"{AZML / 'model-1' / 'environment' / 'conda.yaml'}` prints the version it registers) "
        "and set environment: azureml:blue-env:VERSION with that version"
    ) in message
    assert f"  {BAD / 'inline-model.yml'}:9: environment = {{'conda_file': " in message


def test_rejects_an_unknown_field_with_did_you_mean() -> None:
    message = import_error(BAD / "endpoint.yml", BAD / "typo.yml")
    assert (
        f"  {BAD / 'typo.yml'}:5: instance_typ = 'Standard_DS3_v2'\n"
        "    error: unknown field 'instance_typ' in a managed online deployment\n"
        "    fix:   did you mean 'instance_type'?\n"
    ) in message


def test_rejects_an_unknown_probe_field_with_did_you_mean() -> None:
    message = import_error(BAD / "endpoint.yml", BAD / "typo.yml")
    assert message.endswith(
        f"  {BAD / 'typo.yml'}:8: liveness_probe.inital_delay = 30\n"
        "    error: unknown field 'inital_delay' in liveness_probe\n"
        "    fix:   did you mean 'initial_delay'?"
    )


def test_rejects_a_secret_environment_variable_without_echoing_its_value() -> None:
    message = import_error(BAD / "endpoint.yml", BAD / "secret-env.yml")
    assert message == (
        "cannot import the az ml files: 1 problem\n"
        f"  {BAD / 'secret-env.yml'}:9: environment_variables.STORAGE_ACCOUNT_KEY\n"
        "    error: 'STORAGE_ACCOUNT_KEY' is named like a secret; environment variables are "
        "stored and shown in plain text, so secrets never go here\n"
        "    fix:   remove it from the file; keep the secret in Key Vault and read it at "
        "runtime with the endpoint's managed identity"
    )
    assert "c2VjcmV0" not in message


def test_rejects_a_credential_value_under_an_innocent_name(tmp_path: Path) -> None:
    deployment = DEPLOYMENT + (
        "environment_variables:\n"
        "  STORAGE: DefaultEndpointsProtocol=https;AccountName=x;AccountKey=abc\n"
    )
    message = import_error(*files(tmp_path, deployment=deployment))
    assert (
        f"{tmp_path / 'deployment.yml'}:8: environment_variables.STORAGE\n"
        "    error: 'STORAGE' holds a value that looks like a credential;"
    ) in message


def test_a_variable_holding_the_path_of_a_secret_file_is_imported(tmp_path: Path) -> None:
    # The secret stays in Key Vault, mounted as a file: the variable only says where.
    deployment = DEPLOYMENT + "environment_variables:\n  DB_PASSWORD_FILE: /mnt/secrets/db\n"
    endpoint, path = files(tmp_path, deployment=deployment)
    spec = convert(endpoint, [path]).spec
    assert spec["deployments"][0]["environment_variables"] == {
        "DB_PASSWORD_FILE": "/mnt/secrets/db"
    }


def test_stack_loader_problems_under_environment_variables_point_at_the_variable(
    tmp_path: Path,
) -> None:
    deployment = DEPLOYMENT + "environment_variables:\n  CACHE_DIR:\n"
    message = import_error(*files(tmp_path, deployment=deployment))
    assert message == (
        "cannot import the az ml files: 1 problem\n"
        f"  {tmp_path / 'deployment.yml'}:8: environment_variables.CACHE_DIR = None\n"
        "    error: must be a string\n"
        '    fix:   quote the value, e.g. "1.0"'
    )


def test_rejects_a_deployment_of_another_endpoint() -> None:
    message = import_error(BAD / "endpoint.yml", BAD / "other-endpoint.yml")
    assert message == (
        "cannot import the az ml files: 1 problem\n"
        f"  {BAD / 'other-endpoint.yml'}:3: endpoint_name = 'fraud-scoring'\n"
        "    error: this deployment belongs to endpoint 'fraud-scoring', but the endpoint file "
        "is 'credit-endpoint'\n"
        "    fix:   pass only the deployment files of 'credit-endpoint', or set "
        "endpoint_name: credit-endpoint"
    )


def test_rejects_a_kubernetes_endpoint() -> None:
    message = import_error(BAD / "kubernetes-endpoint.yml", BLUE_GREEN / "blue-deployment.yml")
    assert message == (
        "cannot import the az ml files: 1 problem\n"
        f"  {BAD / 'kubernetes-endpoint.yml'}:3: compute = 'azureml:k8s-compute'\n"
        "    error: a Kubernetes online endpoint (on an attached Kubernetes compute); only "
        "managed online endpoints are imported\n"
        "    fix:   to import it as a managed online endpoint, remove compute; to keep serving "
        "on your own cluster, use this project's kubernetes target (ml-endpoints:target: "
        "kubernetes, deployments with a bento image)"
    )


def test_rejects_a_kubernetes_deployment(tmp_path: Path) -> None:
    message = import_error(*files(tmp_path, deployment=DEPLOYMENT + "type: kubernetes\n"))
    assert (
        f"  {tmp_path / 'deployment.yml'}:7: type = 'kubernetes'\n"
        "    error: this is a Kubernetes online deployment (on an attached cluster); only "
        "managed online deployments are imported\n"
        "    fix:   to import it as a managed online deployment, remove type (or set type: "
        "managed); to keep serving on your own cluster, use this project's kubernetes target "
        "(deployments with a bento image)"
    ) in message


def test_rejects_kubernetes_resources_with_the_managed_sizing(tmp_path: Path) -> None:
    resources = "resources:\n  requests:\n    cpu: '1'\n    memory: 2Gi\n"
    message = import_error(*files(tmp_path, deployment=DEPLOYMENT + resources))
    assert "resources (requests and limits) size a Kubernetes online deployment" in message
    assert "fix:   remove resources and set instance_type, e.g. Standard_DS3_v2" in message


def test_rejects_a_model_pinned_to_a_label() -> None:
    message = import_error(BAD / "endpoint.yml", BAD / "latest-model.yml")
    assert message == (
        "cannot import the az ml files: 1 problem\n"
        f"  {BAD / 'latest-model.yml'}:4: model = 'azureml:credit-model@latest'\n"
        "    error: the model reference has the label @latest; a deployment names an exact "
        "version, so it always runs what was reviewed\n"
        "    fix:   pin the version: 'azureml:credit-model:VERSION' (`az ml model show --name "
        "credit-model --label latest --query version` prints the newest)"
    )


def test_rejects_a_model_without_version(tmp_path: Path) -> None:
    deployment = DEPLOYMENT.replace("azureml:credit-model:1", "azureml:credit-model")
    message = import_error(*files(tmp_path, deployment=deployment))
    assert (
        "    error: the model reference has no version; a deployment names an exact version"
    ) in message


def test_rejects_a_registry_environment_label(tmp_path: Path) -> None:
    label = "azureml://registries/azureml/environments/sklearn-1.5/labels/latest"
    message = import_error(*files(tmp_path, deployment=DEPLOYMENT + f"environment: {label}\n"))
    assert (
        f"  {tmp_path / 'deployment.yml'}:7: environment = '{label}'\n"
        "    error: the environment reference has a label; a deployment names an exact "
        "version, so it always runs what was reviewed\n"
        "    fix:   pin the version: "
        "'azureml://registries/azureml/environments/sklearn-1.5/versions/VERSION'"
    ) in message


CONTAINER = """\
environment:
  image: docker.io/tensorflow/serving:2.14.1
  inference_config:
    liveness_route: {port: 8501, path: /v1/models/m}
    readiness_route: {port: 8501, path: /v1/models/m}
    scoring_route: {port: 8501, path: "/v1/models/m:predict"}
"""


def test_a_model_mount_path_is_kept(tmp_path: Path) -> None:
    text = DEPLOYMENT + CONTAINER + "model_mount_path: /var/tfserving-model-mount\n"
    endpoint, deployment = files(tmp_path, deployment=text)
    spec = convert(endpoint, [deployment]).spec
    assert spec["deployments"][0]["model_mount_path"] == "/var/tfserving-model-mount"


def test_a_relative_model_mount_path_points_at_its_line(tmp_path: Path) -> None:
    text = DEPLOYMENT + CONTAINER + "model_mount_path: m\n"
    message = import_error(*files(tmp_path, deployment=text))
    assert (
        f"  {tmp_path / 'deployment.yml'}:13: model_mount_path = 'm'\n"
        "    error: model_mount_path must be an absolute path inside the container, other "
        "than /\n"
    ) in message


def test_rejects_a_code_reference_pinned_to_a_label(tmp_path: Path) -> None:
    code = "environment: azureml:env:1\ncode_configuration:\n  code: azureml:credit-code@latest\n"
    code += "  scoring_script: score.py\n"
    message = import_error(*files(tmp_path, deployment=DEPLOYMENT + code))
    assert message.endswith(
        f"  {tmp_path / 'deployment.yml'}:9: code_configuration.code = "
        "'azureml:credit-code@latest'\n"
        "    error: the code reference has the label @latest; a deployment names an exact "
        "version, so it always runs what was reviewed\n"
        "    fix:   pin the version: 'azureml:credit-code:VERSION'"
    )


NOT_STRINGS = """\
name: blue
endpoint_name: credit-endpoint
model: 7
environment: azureml:env:1
code_configuration: {code: 5, scoring_script: score.py}
instance_type: Standard_DS3_v2
"""


def test_a_reference_that_is_not_a_string_is_refused_not_dropped(tmp_path: Path) -> None:
    message = import_error(*files(tmp_path, deployment=NOT_STRINGS))
    assert "2 problems" in message
    for line, field, value in ((3, "model", 7), (5, "code_configuration.code", 5)):
        assert (
            f"  {tmp_path / 'deployment.yml'}:{line}: {field} = {value}\n"
            "    error: must be a string\n"
        ) in message


@pytest.mark.parametrize(
    ("image", "noted"),
    [
        ("docker.io/tensorflow/serving:2.14.1", False),
        ("mlreg.azurecr.io/scorer@sha256:" + "ab" * 32, False),
        ("docker.io/tensorflow/serving:latest", True),
        ("mlreg.azurecr.io/r_server", True),
        ("registry.local:5000/scorer", True),  # a port, no tag
    ],
)
def test_an_unpinned_image_is_noted(tmp_path: Path, image: str, noted: bool) -> None:
    container = CONTAINER.replace("docker.io/tensorflow/serving:2.14.1", image)
    endpoint, deployment = files(tmp_path, deployment=DEPLOYMENT + container)
    converted = convert(endpoint, [deployment])
    assert converted.spec["deployments"][0]["environment"]["image"] == image
    notes = [note for note in converted.notes if "names no tag or the tag latest" in note]
    assert len(notes) == noted


def test_a_model_mount_path_without_a_container_is_refused(tmp_path: Path) -> None:
    """Azure ML's own servers (MLflow, Triton) load the model from their own path."""
    text = DEPLOYMENT + "model_mount_path: /models\n"
    message = import_error(*files(tmp_path, deployment=text))
    assert f"  {tmp_path / 'deployment.yml'}:7: model_mount_path = '/models'\n" in message
    assert "fix:   remove model_mount_path, or set environment: {image: ..." in message


def test_inline_environment_upload_and_retention_fields_are_dropped_with_notes(
    tmp_path: Path,
) -> None:
    container = CONTAINER.replace(
        "environment:\n",
        "environment:\n  datastore: azureml:workspaceblobstore\n"
        "  auto_delete_setting: {condition: created_greater_than, value: '30d'}\n",
    )
    endpoint, deployment = files(tmp_path, deployment=DEPLOYMENT + container)
    converted = convert(endpoint, [deployment])
    assert "datastore" not in converted.spec["deployments"][0]["environment"]
    notes = "\n".join(converted.notes)
    assert "environment.datastore dropped: where az ml uploads a build context" in notes
    assert "environment.auto_delete_setting dropped: the program keeps every version" in notes


def test_rejects_traffic_to_a_deployment_without_a_file() -> None:
    message = import_error(BLUE_GREEN / "endpoint.yml", BLUE_GREEN / "blue-deployment.yml")
    assert message == (
        "cannot import the az ml files: 1 problem\n"
        f"  {BLUE_GREEN / 'endpoint.yml'}:8: traffic = {{'blue': 90, 'green': 10}}\n"
        "    error: traffic names deployment(s) without a deployment file: green\n"
        "    fix:   pass their az ml deployment files too, or remove them from traffic"
    )


def test_yaml_syntax_error_names_the_file_and_line() -> None:
    message = import_error(BAD / "endpoint.yml", BAD / "not-yaml.yml")
    assert message == (
        "cannot import the az ml files: 1 problem\n"
        f"  {BAD / 'not-yaml.yml'}:4\n"
        "    error: not valid YAML: expected ',' or ']', but got ':'; while parsing a flow "
        "sequence at line 3\n"
        "    fix:   fix the syntax"
    )


def test_model_validation_problems_point_at_the_az_ml_file_and_line() -> None:
    message = import_error(BAD / "endpoint.yml", BAD / "too-many-instances.yml")
    assert message == (
        "cannot import the az ml files: 1 problem\n"
        f"  {BAD / 'too-many-instances.yml'}:6: instance_count = 80\n"
        "    error: must be less than or equal to 50\n"
        "    fix:   use a smaller value"
    )


def test_autoscale_problems_point_at_scale_settings(tmp_path: Path) -> None:
    deployment = DEPLOYMENT + (
        "scale_settings:\n  type: target_utilization\n  min_instances: 5\n  max_instances: 2\n"
    )
    message = import_error(*files(tmp_path, deployment=deployment))
    assert message.startswith(
        "cannot import the az ml files: 1 problem\n"
        f"  {tmp_path / 'deployment.yml'}:9: scale_settings.min_instances = 5\n"
        "    error: min_instances (5) is above max_instances (2)\n"
    )


def test_lists_the_problems_of_every_file_at_once() -> None:
    message = import_error(
        BAD / "endpoint.yml", BAD / "typo.yml", BAD / "secret-env.yml", BAD / "latest-model.yml"
    )
    assert message.startswith("cannot import the az ml files: 4 problems\n")


def test_needs_at_least_one_deployment_file() -> None:
    with pytest.raises(UsageError, match="no deployment files given"):
        convert(BLUE_GREEN / "endpoint.yml", [])


IDENTITY_ID = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/ml/providers/"
    "Microsoft.ManagedIdentity/userAssignedIdentities/scorer"
)
WITH_IDENTITY = f"""\
{ENDPOINT}identity:
  type: user_assigned
  user_assigned_identities:
    - resource_id: {IDENTITY_ID}
"""


def _dependents(tmp_path: Path, endpoint: str, variables: dict[str, str]) -> set[str]:
    """The variables the import notes as depending on the dropped identity."""
    lines = "".join(f"  {name}: '{value}'\n" for name, value in variables.items())
    deployment = f"{DEPLOYMENT}environment_variables:\n{lines}"
    endpoint_file, deployment_file = files(tmp_path, endpoint, deployment)
    notes = convert(endpoint_file, [deployment_file]).notes
    return {name for name in variables if any(f".{name} seems to name" in n for n in notes)}


def test_variables_that_name_a_dropped_identity_are_noted(tmp_path: Path) -> None:
    variables = {
        "UAI_CLIENT_ID": "scorer",  # called like a client id
        "AZURE_CLIENT_ID": "x",
        "MSI_ENDPOINT": "x",
        "SCORER": IDENTITY_ID,  # holds the identity's id
        "OTHER_GUID": "4f1c3a2e-9b7d-4c1a-8e2f-0a1b2c3d4e5f",  # holds a GUID
        "LOG_LEVEL": "info",  # none of these
        "WORKERS": "8",
        "BUILD": "uai-less",
    }
    named = {"UAI_CLIENT_ID", "AZURE_CLIENT_ID", "MSI_ENDPOINT", "SCORER", "OTHER_GUID"}
    assert _dependents(tmp_path, WITH_IDENTITY, variables) == named


def test_without_an_identity_no_variable_is_noted(tmp_path: Path) -> None:
    assert _dependents(tmp_path, ENDPOINT, {"UAI_CLIENT_ID": "x", "SCORER": IDENTITY_ID}) == set()
