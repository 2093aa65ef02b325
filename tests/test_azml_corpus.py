"""`mlep import` over a corpus of `az ml` files shaped like the ones teams have (issue 23):
the managed sample before and after its assets are registered, custom containers for Triton,
TF Serving, TorchServe and R/plumber, an MLflow no-code deployment, a model package, a model
baked into its image, Key Vault references, managed identities, a data collector, and
Kubernetes endpoints. Each case has its expected outcome: imported into a stack that still
plans with no mandatory finding (the command adds an endpoint only then), or refused with the
field and a fix that applies to that file.

The files follow the azureml-examples repository's cli/endpoints/online layouts and field
names (the managedOnlineDeployment and kubernetesOnlineDeployment schemas), written for
these tests."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.test_adding_cli import inserted_only
from tests.test_plan_cli import Result, copy_project
from tests.test_review import mlep_env, run_mlep

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "fixtures" / "azml" / "corpus"
TAGS = ["--owner", "ml-platform", "--application", "corpus", "--data-sensitivity", "internal"]


@dataclass(frozen=True)
class Case:
    """An import of ``files`` (the endpoint's first) from one corpus folder."""

    folder: str
    files: tuple[str, ...]
    sets: dict[str, str] = field(default_factory=dict)
    imported: bool = True
    expect: tuple[str, ...] = ()  # what the output says, each a substring
    base: str | None = "vault"  # the stack file it imports into (BASES); None: print the spec

    def args(self) -> list[str]:
        sets = [f"--set={name}={value}" for name, value in self.sets.items()]
        return ["import", *(str(CORPUS / self.folder / f) for f in self.files), *sets, *TAGS]


CASES: dict[str, Case] = {
    # The quickstart after `az ml model/code/environment create`: registered assets only.
    "managed-registered": Case(
        "managed-registered",
        ("endpoint.yml", "blue.yml", "green.yml"),
        expect=("auth_mode key kept",),
    ),
    # Triton: the model (type triton_model) brings its server; no environment, no code.
    "triton": Case(
        "triton",
        ("endpoint.yml", "registered.yml"),
        sets={"ENDPOINT_NAME": "densenet-triton"},
    ),
    "tfserving": Case(
        "tfserving",
        ("endpoint.yml", "deployment.yml"),
        sets={"MODEL_VERSION": "1"},
        expect=(
            "environment.image 'docker.io/tensorflow/serving:latest' names no tag or the tag "
            "latest",
            "takes no live traffic",
            "mlep traffic --stack tfserving --endpoint tfserving-endpoint "
            "--set tfserving-deployment=100",
        ),
    ),
    "tfserving-mounted": Case(
        "tfserving-mounted",
        ("endpoint.yml", "blue.yml"),
        expect=("environment.name dropped", "environment.version dropped"),
    ),
    "torchserve": Case(
        "torchserve",
        ("endpoint.yml", "deployment.yml"),
        sets={"ENDPOINT_NAME": "densenet-torchserve", "MODEL_VERSION": "2", "ACR_NAME": "mlreg"},
        expect=("environment.name dropped",),
    ),
    "r-plumber": Case(
        "r-plumber",
        ("endpoint.yml", "registered.yml"),
        sets={"ACR_NAME": "mlreg"},
        expect=("environment.image 'mlreg.azurecr.io/r_server' names no tag",),
    ),
    "mlflow": Case("mlflow", ("endpoint.yml", "sklearn-diabetes.yml")),
    "model-package": Case("model-package", ("endpoint.yml", "with-package.yml")),
    "model-in-image": Case(
        "model-in-image",
        ("endpoint.yml", "blue.yml"),
        expect=("auth_mode not set: az ml defaults to key, this project to aad_token",),
    ),
    "keyvault-references": Case(
        "keyvault-references",
        ("endpoint.yml", "blue.yml"),
        sets={"KV_NAME": "kv-ml-prod"},
        expect=(
            "environment_variables.DB_PASSWORD is a reference to a secret in vault kv-ml-prod, "
            "read with the endpoint's identity: grant the identity this project creates (stack "
            "output endpoints.NAME.identity_principal_id) the Key Vault Secrets User role on "
            "that vault",
            "environment_variables.AOAI_KEY is a reference to a secret in a workspace connection",
            "the Azure Machine Learning Workspace Connection Secrets Reader role on the workspace",
        ),
    ),
    "user-identity": Case(
        "user-identity",
        ("endpoint.yml", "blue.yml"),
        sets={
            "user_identity_ARM_id_place_holder": "/subscriptions/00000000-0000-0000-0000-"
            "000000000000/resourceGroups/rg-ml/providers/Microsoft.ManagedIdentity/"
            "userAssignedIdentities/uai-scoring",
            "storage_place_holder": "mlsamples",
            "container_place_holder": "hello",
            "file_place_holder": "hello.txt",
            "uai_client_id_place_holder": "11111111-2222-3333-4444-555555555555",
        },
        expect=("identity dropped", "UAI_CLIENT_ID", "identity_client_id"),
    ),
    "system-identity": Case(
        "system-identity",
        ("endpoint.yml", "blue.yml"),
        expect=("identity dropped", "identity_client_id"),
    ),
    "data-collector": Case(
        "data-collector",
        ("endpoint.yml", "blue.yml"),
        expect=("data_collector dropped", "would be switched off"),
    ),
    # ---- refused: each problem names its field and a fix for this file -------------------
    "managed-sample": Case(
        "managed-sample",
        ("endpoint.yml", "blue.yml"),
        imported=False,
        base=None,
        expect=(
            "3 problems",
            "blue.yml:4: model = {'path': '../model-1/model/'}",
            "`az ml model create --name blue-model --path "
            f"{CORPUS / 'model-1' / 'model'}` prints the version it registers",
            "blue.yml:7: code_configuration.code",
            f"`az ml code create --name blue-code --path {CORPUS / 'model-1' / 'onlinescoring'}`",
            "blue.yml:9: environment = ",
            "`az ml environment create --name blue-env --image "
            "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:latest --conda-file "
            f"{CORPUS / 'model-1' / 'environment' / 'conda.yaml'}`",
        ),
    ),
    "triton-inline": Case(
        "triton",
        ("endpoint.yml", "deployment.yml"),
        sets={"ENDPOINT_NAME": "densenet-triton"},
        imported=False,
        base=None,
        expect=(
            "1 problem",
            "deployment.yml:5: model = ",
            # the file's own name, version and type; never an invented version
            "`az ml model create --name densenet-onnx --version 1 --path "
            f"{CORPUS / 'triton' / 'models'} --type triton_model`",
            "model: azureml:densenet-onnx:1",
        ),
    ),
    "r-plumber-inline": Case(
        "r-plumber",
        ("endpoint.yml", "deployment.yml"),
        sets={"ACR_NAME": "mlreg"},
        imported=False,
        base=None,
        expect=(
            "1 problem",
            "deployment.yml:4: model = {'path': './scripts'}",
            f"--path {CORPUS / 'r-plumber' / 'scripts'}",
        ),
    ),
    "torchserve-unfilled": Case(
        "torchserve",
        ("endpoint.yml", "deployment.yml"),
        imported=False,
        base=None,
        expect=(
            "4 problems",
            "endpoint.yml:2: ENDPOINT_NAME",
            "${ENDPOINT_NAME} is a template placeholder, not a value",
            "fix:   fill `ENDPOINT_NAME` first, or pass `--name NAME` (the endpoint's name) or "
            "`--set ENDPOINT_NAME=...`",
            "fix:   fill `MODEL_VERSION` first, or pass `--set MODEL_VERSION=...`",
            "deployment.yml:4: MODEL_VERSION",
            "deployment.yml:9: ACR_NAME",
        ),
    ),
    "user-identity-unfilled": Case(
        "user-identity",
        ("endpoint.yml", "blue.yml"),
        imported=False,
        base=None,
        expect=(
            "5 problems",
            "endpoint.yml:8: user_identity_ARM_id_place_holder",
            "uai_client_id_place_holder is a template placeholder, not a value",
            "fix:   fill `storage_place_holder` first, or pass `--set storage_place_holder=...`",
        ),
    ),
    # az ml's default key auth needs the stack's Key Vault for the keys: refused, the stack
    # file untouched.
    "key-auth-without-a-vault": Case(
        "managed-registered",
        ("endpoint.yml", "blue.yml", "green.yml"),
        imported=False,
        base="dev",
        expect=(
            "ml-endpoints:endpoints[1].auth_mode = 'key'",
            "error: key auth keeps the endpoint keys in Key Vault; ml-endpoints:azure.key_vault "
            "is not set",
            "fix:   add azure.key_vault: {name: ...}, or use aad_token",
        ),
    ),
    "kubernetes": Case(
        "kubernetes",
        ("endpoint.yml", "blue.yml"),
        imported=False,
        base=None,
        expect=(
            "3 problems",
            "endpoint.yml:3: compute = 'azureml:k8s-compute'",
            "fix:   to import it as a managed online endpoint, remove compute",
            "blue.yml:3: type = 'kubernetes'",
            "remove type (or set type: managed)",
            "blue.yml:13: resources = ",
            "fix:   remove resources and set instance_type",
        ),
    ),
    "windows-environment": Case(
        "windows-environment",
        ("endpoint.yml", "blue.yml"),
        imported=False,
        base=None,
        expect=(
            "1 problem",
            "blue.yml:7: environment.os_type = 'windows'",
            "managed online deployments run Linux containers",
            "fix:   build a Linux image and remove os_type (or set it to linux)",
        ),
    ),
}
IMPORTED = [name for name, case in CASES.items() if case.imported]
REFUSED = [name for name, case in CASES.items() if not case.imported]
# What a team's dev stack starts from: the repository's, and with a Key Vault for endpoint keys.
BASES = {
    "dev": (ROOT / "Pulumi.dev.yaml").read_text(),
    "vault": (ROOT / "Pulumi.dev.yaml")
    .read_text()
    .replace("  workspace: mlw-dev\n", "  workspace: mlw-dev\n    key_vault: {name: kv-ml-dev}\n"),
}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = copy_project(tmp_path_factory.mktemp("corpus"))
    for name, case in CASES.items():
        if case.base:
            (directory / f"Pulumi.{name}.yaml").write_text(BASES[case.base])
    return directory


@pytest.fixture(scope="module")
def runs(project: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Result]:
    """Every case at once; an imported case adds its endpoint to its own copy of the dev
    stack (and plans it), a refused one runs without a stack."""
    env = mlep_env(tmp_path_factory, project)

    def run(name: str) -> Result:
        stack = ["--stack", name] if CASES[name].base else []
        return run_mlep([*CASES[name].args(), *stack], project, env)

    first, *rest = CASES
    results = {first: run(first)}  # fills the shared bytecode cache
    with ThreadPoolExecutor(max_workers=2) as pool:
        results |= dict(zip(rest, pool.map(run, rest), strict=True))
    return results


def added_endpoint(project: Path, name: str) -> dict[str, Any]:
    """The endpoint the import added to the stack file, which changed nowhere else."""
    after = (project / f"Pulumi.{name}.yaml").read_text()
    inserted_only(BASES[CASES[name].base or ""], after)
    endpoints = yaml.safe_load(after)["config"]["ml-endpoints:endpoints"]
    assert len(endpoints) == 2
    return endpoints[-1]


def test_the_corpus_has_a_case_for_every_file() -> None:
    used = {(CORPUS / case.folder / f) for case in CASES.values() for f in case.files}
    assert set(CORPUS.glob("*/*.yml")) == used


@pytest.mark.parametrize("name", IMPORTED)
def test_imports_into_a_stack_that_plans_with_no_mandatory_finding(
    runs: dict[str, Result], project: Path, name: str
) -> None:
    result = runs[name]
    assert result.code == 0, result.output
    assert "Traceback" not in result.output
    for text in CASES[name].expect:
        assert text in result.output
    endpoint = added_endpoint(project, name)
    assert endpoint["tags"] == {
        "owner": "ml-platform",
        "application": "corpus",
        "data-sensitivity": "internal",
    }


@pytest.mark.parametrize("name", REFUSED)
def test_refuses_naming_the_field_and_a_fix_for_the_file(
    runs: dict[str, Result], project: Path, name: str
) -> None:
    result = runs[name]
    assert result.code == 2, result.output
    assert result.stdout == ""
    if CASES[name].base:
        assert (project / f"Pulumi.{name}.yaml").read_text() == BASES[CASES[name].base]
    assert "Traceback" not in result.output
    assert "ordereddict" not in result.output
    for text in CASES[name].expect:
        assert text in result.stderr
    problems = result.stderr.count("\n    error: ")
    assert problems == result.stderr.count("\n    fix:   ") > 0


def deployment(project: Path, case: str, name: str) -> dict[str, Any]:
    endpoint = added_endpoint(project, case)
    return next(d for d in endpoint["deployments"] if d["name"] == name)


def test_custom_container_routes_are_carried_as_written(
    runs: dict[str, Result], project: Path
) -> None:
    tfserving = deployment(project, "tfserving", "tfserving-deployment")
    assert tfserving["model"] == "azureml:tfserving-mounted:1"
    assert tfserving["environment"] == {
        "image": "docker.io/tensorflow/serving:latest",
        "inference_config": {
            "liveness_route": {"port": 8501, "path": "/v1/models/half_plus_two"},
            "readiness_route": {"port": 8501, "path": "/v1/models/half_plus_two"},
            "scoring_route": {"port": 8501, "path": "/v1/models/half_plus_two:predict"},
        },
    }
    assert tfserving["environment_variables"] == {
        "MODEL_BASE_PATH": "/var/azureml-app/azureml-models/tfserving-mounted/1",
        "MODEL_NAME": "half_plus_two",
    }
    torchserve = deployment(project, "torchserve", "torchserve-deployment")
    assert torchserve["model"] == "azureml:torchserve-densenet161:2"
    assert torchserve["environment"]["image"] == "mlreg.azurecr.io/torchserve:8080"
    assert torchserve["environment"]["inference_config"]["scoring_route"] == {
        "port": 8080,
        "path": "/predictions/densenet161",
    }


def test_a_mounted_model_keeps_its_path(runs: dict[str, Result], project: Path) -> None:
    mounted = deployment(project, "tfserving-mounted", "blue")
    assert mounted["model"] == "azureml:half-plus-two:3"
    assert mounted["model_mount_path"] == "/var/tfserving-model-mount"
    assert mounted["instance_count"] == 2


def test_deployments_without_a_model_import_as_azure_allows(
    runs: dict[str, Result], project: Path
) -> None:
    baked = deployment(project, "model-in-image", "blue")
    assert "model" not in baked
    assert baked["environment"]["image"].startswith("mlregistry.azurecr.io/fraud-server@sha256:")
    assert baked["liveness_probe"] == {"initial_delay": 30, "period": 15, "failure_threshold": 5}
    assert baked["request_settings"]["max_concurrent_requests_per_instance"] == 4
    package = deployment(project, "model-package", "with-package")
    assert "model" not in package
    assert package["environment"] == "azureml:heart-classifier-mlflow-pkg:1"
    mlflow = deployment(project, "mlflow", "sklearn-diabetes")
    assert mlflow["model"] == "azureml:sklearn-diabetes-mlflow:2"
    assert "environment" not in mlflow
    assert "code_configuration" not in mlflow
    triton = added_endpoint(project, "triton")
    assert triton["name"] == "densenet-triton"
    assert triton["deployments"][0]["model"] == "azureml:densenet-onnx:1"


def test_key_vault_references_are_kept_as_references(
    runs: dict[str, Result], project: Path
) -> None:
    variables = deployment(project, "keyvault-references", "blue")["environment_variables"]
    assert variables["OPENAI_API_KEY"] == (
        "openai-key@https://kv-ml-prod.vault.azure.net/secrets/openai-key"
    )
    assert variables["AOAI_KEY"] == "${{azureml://connections/aoai-connection/credentials/key}}"
    assert variables["DB_PASSWORD"].startswith(
        "${{keyvault:https://kv-ml-prod.vault.azure.net/secrets/db-password/"
    )


def test_model_versions_are_the_files(runs: dict[str, Result], project: Path) -> None:
    registered = added_endpoint(project, "managed-registered")
    assert [d["model"] for d in registered["deployments"]] == [
        "azureml:credit-model:1",
        "azureml:credit-model:2",
    ]
    assert registered["traffic"] == {"blue": 100}


def test_an_imported_stack_plans_on_its_own(
    runs: dict[str, Result], project: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """What import checked, `mlep plan` agrees with: every imported stack at once, merged."""
    merged = yaml.safe_load(BASES["vault"])
    endpoints = merged["config"]["ml-endpoints:endpoints"]
    for name in IMPORTED:
        endpoints.append(added_endpoint(project, name))
    (project / "Pulumi.corpus.yaml").write_text(yaml.safe_dump(merged, sort_keys=False))
    env = mlep_env(tmp_path_factory, project)
    result = run_mlep(["plan", "--stack", "corpus", "--json"], project, env)
    assert result.code == 0, result.output
    document = json.loads(result.stdout)
    violations = document["policy"]["violations"]
    assert [v for v in violations if v["enforcement"] == "mandatory"] == []
    environments = [
        r for r in document["resources"] if r["type"].endswith(":EnvironmentVersion")
    ]  # one per custom container: tfserving, tfserving-mounted, torchserve, r-plumber, baked
    assert len(environments) == 5
    outputs = document["outputs"]["endpoints"]
    assert set(outputs) >= {"fraud-scoring", "densenet-triton", "heart-packaged"}
