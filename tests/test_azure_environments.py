"""Deployments that bring their own container: the environment the program registers for an
image (with an inference server's routes), a model mount path, and deployments whose image
holds the model (no `model`). Run through the real program on the mock runtime."""

from __future__ import annotations

import copy
import functools
import re
from typing import Any

from mlep.engine.diff import resource_diff
from mlep.engine.runtime import ProgramRun, Registration
from tests.conftest import run_namespace
from tests.scenarios import CONTAINER_ENVIRONMENT, scenario, with_deployment_fields

ENVIRONMENT = "azure-native:machinelearningservices:EnvironmentVersion"
DEPLOYMENT = "azure-native:machinelearningservices:OnlineDeployment"
WORKSPACE = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-ml-prod/providers/"
    "Microsoft.MachineLearningServices/workspaces/mlw-prod"
)
ROUTES = CONTAINER_ENVIRONMENT["inference_config"]


def with_shadow(**fields: Any) -> dict[str, Any]:
    """The `max` scenario with its shadow deployment (a TF Serving container) changed."""
    return with_deployment_fields(scenario("max"), 2, fields, name="shadow")


@functools.cache
def max_run() -> ProgramRun:
    return run_namespace(scenario("max"))


def one(run: ProgramRun, token: str, name: str) -> Registration:
    (found,) = [r for r in run.resources if r.type == token and r.name == name]
    return found


def test_an_image_environment_is_registered_for_its_deployment() -> None:
    environment = one(max_run(), ENVIRONMENT, "fraud-scoring-shadow-env")
    assert environment.inputs["name"] == "fraud-scoring-shadow-env"
    assert environment.inputs["resourceGroupName"] == "rg-ml-prod"
    assert environment.inputs["workspaceName"] == "mlw-prod"
    properties = environment.inputs["properties"]
    assert properties["image"] == "docker.io/tensorflow/serving:2.14.1"
    assert properties["osType"] == "Linux"
    # REST InferenceContainerProperties: livenessRoute/readinessRoute/scoringRoute {path, port}.
    assert properties["inferenceConfig"] == {
        "livenessRoute": {"path": "/v1/models/fraud", "port": 8501},
        "readinessRoute": {"path": "/v1/models/fraud", "port": 8501},
        "scoringRoute": {"path": "/v1/models/fraud:predict", "port": 8501},
    }
    # The merged stack and deployment tags, as on the deployment itself.
    assert properties["tags"] == one(max_run(), DEPLOYMENT, "fraud-scoring-shadow").inputs["tags"]
    assert environment.retain_on_delete, "an old version stays, as az ml leaves it"


def test_the_deployment_runs_the_registered_version_and_mounts_the_model() -> None:
    environment = one(max_run(), ENVIRONMENT, "fraud-scoring-shadow-env")
    deployment = one(max_run(), DEPLOYMENT, "fraud-scoring-shadow")
    version = environment.inputs["version"]
    assert re.fullmatch(r"[0-9a-f]{12}", version)
    properties = deployment.inputs["properties"]
    assert properties["environmentId"] == (
        f"{WORKSPACE}/environments/fraud-scoring-shadow-env/versions/{version}"
    )
    assert properties["modelMountPath"] == "/var/tfserving-model-mount"
    assert properties["model"].endswith("/fraud-classifier/versions/7")
    assert "codeConfiguration" not in properties
    assert environment.urn in deployment.dependencies


def test_registered_environments_register_nothing() -> None:
    names = [r.name for r in max_run().resources if r.type == ENVIRONMENT]
    assert names == ["fraud-scoring-shadow-env"]
    blue = one(max_run(), DEPLOYMENT, "fraud-scoring-blue").inputs["properties"]
    assert blue["environmentId"] == f"{WORKSPACE}/environments/sklearn-inference/versions/3"
    assert "modelMountPath" not in blue


def test_a_deployment_without_a_model_sends_none() -> None:
    # The model is baked into the image: Azure takes a deployment with an environment alone.
    run = run_namespace(with_shadow(model=None, model_mount_path=None))
    properties = one(run, DEPLOYMENT, "fraud-scoring-shadow").inputs["properties"]
    assert "model" not in properties
    assert "modelMountPath" not in properties
    assert properties["environmentId"].startswith(f"{WORKSPACE}/environments/")


def version_of(namespace: dict[str, Any]) -> str:
    run = run_namespace(namespace)
    return str(one(run, ENVIRONMENT, "fraud-scoring-shadow-env").inputs["version"])


def test_the_version_follows_the_definition() -> None:
    same = version_of(with_shadow())
    assert same == one(max_run(), ENVIRONMENT, "fraud-scoring-shadow-env").inputs["version"]
    image = {"image": "docker.io/tensorflow/serving:2.15.0", "inference_config": ROUTES}
    assert version_of(with_shadow(environment=image)) != same
    routes = copy.deepcopy(ROUTES)
    routes["scoring_route"]["port"] = 8500
    moved = {"image": "docker.io/tensorflow/serving:2.14.1", "inference_config": routes}
    assert version_of(with_shadow(environment=moved)) != same
    # Fields outside the environment leave its version alone.
    assert version_of(with_shadow(instance_type="Standard_DS4_v2")) == same


def test_the_version_is_stable_across_releases() -> None:
    """The same definition keeps its version when mlep changes (field order, new optional
    fields): a new version would replace the environment and redeploy on an mlep upgrade.
    The value is sha256 over the definition as sorted JSON, first 12 hex digits."""
    assert version_of(with_shadow()) == "b42a11b09128"


def test_a_new_image_replaces_the_version_and_updates_the_deployment() -> None:
    image = {"image": "docker.io/tensorflow/serving:2.15.0", "inference_config": ROUTES}
    changes = resource_diff(
        max_run().resources, run_namespace(with_shadow(environment=image)).resources
    )
    ops = {(c.type, c.name): c.op for c in changes}
    assert ops[(ENVIRONMENT, "fraud-scoring-shadow-env")] == "replace"
    assert ops[(DEPLOYMENT, "fraud-scoring-shadow")] == "update"
    (update,) = [c for c in changes if c.name == "fraud-scoring-shadow" and c.type == DEPLOYMENT]
    assert [path for path, _, _ in update.changes] == ["properties.environmentId"]
