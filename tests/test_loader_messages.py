"""The loader's words for a bad stack file: each problem names the field, the value and the fix.

These messages are a contract (shared/CONTRACT.md: every error names the field path, the
value given and a fix); a mutation pass over models/loader.py found them unpinned.
"""

from __future__ import annotations

from typing import Any

import pytest

from models.errors import MISSING, ConfigError, Problem
from models.loader import parse_stack_config
from tests.scenarios import (
    CONTAINER_ENVIRONMENT,
    kubernetes_scenario,
    scenario,
    with_deployment_fields,
)


def problems(namespace: dict[str, Any]) -> list[Problem]:
    with pytest.raises(ConfigError) as error:
        parse_stack_config(namespace, "Pulumi.test.yaml")
    return list(error.value.problems)


def only(namespace: dict[str, Any]) -> Problem:
    (problem,) = problems(namespace)
    return problem


def test_a_value_outside_a_choice_lists_the_choices() -> None:
    namespace = scenario("defaults") | {"environment": "qa"}
    problem = only(namespace)
    assert (problem.path, problem.value) == ("environment", "qa")
    assert problem.message == "must be one of 'dev', 'test', 'staging' or 'prod'"
    assert problem.fix == "use one of the listed values"


def test_a_value_in_the_wrong_format_names_the_pattern_and_the_field() -> None:
    namespace = scenario("defaults")
    namespace["azure"]["workspace"] = "-ws"
    problem = only(namespace)
    assert (problem.path, problem.value) == ("azure.workspace", "-ws")
    assert problem.message.startswith("has an invalid format (expected to match ^")
    assert problem.fix == "see the README's config reference for workspace"


def test_a_typo_at_the_top_suggests_the_field() -> None:
    namespace = scenario("defaults")
    namespace["enviroment"] = namespace.pop("environment")
    found = {p.path: p for p in problems(namespace)}
    typo = found["enviroment"]
    assert typo.message == "unknown field 'enviroment' in ml-endpoints"
    assert typo.fix == "did you mean 'environment'?"
    assert found["environment"].message == "required field is missing"
    assert found["environment"].fix == "add `environment: ...`"


def test_an_unknown_field_far_from_any_lists_what_is_allowed_there() -> None:
    namespace = scenario("defaults")
    namespace["endpoints"][0]["deployments"][0]["zzz"] = 1
    problem = only(namespace)
    assert problem.path == "endpoints[0].deployments[0].zzz"
    assert problem.message == "unknown field 'zzz' in endpoints[0].deployments[0]"
    assert problem.fix.startswith("remove it; allowed here: name, ")
    assert "instance_type" in problem.fix  # an azure deployment's own fields
    assert "image" not in problem.fix  # not the kubernetes target's


def test_suggestions_come_from_the_stacks_own_target() -> None:
    namespace = kubernetes_scenario("defaults")
    namespace["endpoints"][0]["deployments"][0]["imag"] = "x"
    problem = only(namespace)
    assert problem.fix == "did you mean 'image'?"


def test_a_wrong_kind_of_value_says_how_to_write_it() -> None:
    namespace = scenario("defaults")
    namespace["endpoints"][0]["traffic"] = {"blue": "100"}
    problem = only(namespace)
    assert (problem.path, problem.value) == ("endpoints[0].traffic.blue", "100")
    assert problem.message == "must be a whole number (not a string, decimal or true/false)"
    assert problem.fix == "write the number without quotes, e.g. 25"


def test_without_a_target_each_other_problem_is_reported_once() -> None:
    namespace = scenario("defaults") | {"environment": "qa"}
    del namespace["target"]
    found = [(p.path, p.message) for p in problems(namespace)]
    assert found.count(("target", "required field is missing")) == 1
    assert [path for path, _ in found].count("environment") == 1


def test_an_unknown_target_is_named_with_the_targets() -> None:
    namespace = scenario("defaults") | {"target": "aws"}
    problem = problems(namespace)[0]
    assert (problem.path, problem.value) == ("target", "aws")
    assert problem.message == "must be one of 'azure' or 'kubernetes'"


def test_a_missing_field_has_no_value_to_show() -> None:
    namespace = scenario("defaults")
    del namespace["endpoints"][0]["name"]
    problem = only(namespace)
    assert problem.path == "endpoints[0].name"
    assert problem.value is MISSING
    assert problem.fix == "add `name: ...`"


CONTAINER = CONTAINER_ENVIRONMENT


def with_deployment(**fields: Any) -> dict[str, Any]:
    """The defaults scenario with its deployment's fields set (None: removed)."""
    return with_deployment_fields(scenario("defaults"), 0, fields)


DEP = "endpoints[0].deployments[0]"


@pytest.mark.parametrize(
    ("fields", "path", "message", "fix"),
    [
        (
            {"model": None},
            f"{DEP}.model",
            "a deployment needs a model, or an environment whose image serves the model",
            "set model: azureml:NAME:VERSION (a registered model), or environment: a "
            "registered environment or {image: ...} with the model inside the image",
        ),
        (
            {"code_configuration": {"code": "azureml:c:1", "scoring_script": "score.py"}},
            f"{DEP}.environment",
            "scoring code runs in an environment: code_configuration needs one",
            "set environment: azureml:NAME:VERSION, or {image: ...}",
        ),
        (
            {"model": None, "environment": CONTAINER, "model_mount_path": "/models"},
            f"{DEP}.model_mount_path",
            "model_mount_path says where the model is mounted, but the deployment has no model",
            "set model, or remove model_mount_path",
        ),
        (
            {"model_mount_path": "/models"},
            f"{DEP}.model_mount_path",
            "model_mount_path places the model for a custom container, and the deployment has "
            "no environment: Azure ML's own server loads the model from its own path",
            "remove model_mount_path, or set environment: {image: ..., inference_config: ...} "
            "(the container that reads the model there)",
        ),
    ],
)
def test_what_serves_a_deployment_is_checked(
    fields: dict[str, Any], path: str, message: str, fix: str
) -> None:
    problem = only(with_deployment(**fields))
    assert (problem.path, problem.message, problem.fix) == (path, message, fix)


@pytest.mark.parametrize(
    "fields",
    [
        {"model": None, "environment": CONTAINER},  # the model inside the image
        {"model": None, "environment": "azureml:heart-pkg:1"},  # a model package
        {"environment": CONTAINER, "model_mount_path": "/models"},
        {"environment": "azureml:tfserving:3", "model_mount_path": "/models"},
        {"environment": "azureml:sklearn:3", "code_configuration": {
            "code": "azureml:c:1", "scoring_script": "score.py"}},
    ],
)  # fmt: skip
def test_what_azure_accepts_as_something_to_serve_parses(fields: dict[str, Any]) -> None:
    parse_stack_config(with_deployment(**fields), "Pulumi.test.yaml")


def _edge(deployment_fields: dict[str, Any]) -> dict[str, Any]:
    """The kubernetes waf_aligned stack (resources and autoscale set) with its first
    deployment's fields merged in, one level deep."""
    namespace = kubernetes_scenario("waf_aligned")
    deployment = namespace["endpoints"][0]["deployments"][0]
    for key, value in deployment_fields.items():
        if isinstance(value, dict) and isinstance(deployment.get(key), dict):
            deployment[key] = deployment[key] | value
        else:
            deployment[key] = value
    return namespace


# Each bound of a deployment's numbers, just inside and just outside (a mutation pass found
# them unpinned): the inside value parses, the outside one names the field.
BOUNDS = [
    ("resources.cpu", {"resources": {"cpu": "1m"}}, {"resources": {"cpu": "0"}}),
    ("resources.memory", {"resources": {"memory": "1Mi"}}, {"resources": {"memory": "0Gi"}}),
    ("resources.gpu", {"resources": {"gpu": 16}}, {"resources": {"gpu": 17}}),
    ("autoscale.max_instances", {"autoscale": {"max_instances": 50}},
     {"autoscale": {"max_instances": 51}}),
    ("autoscale.min_instances", {"autoscale": {"min_instances": 1}, "instance_count": 1},
     {"autoscale": {"min_instances": 0}}),
    ("autoscale.cooldown_minutes", {"autoscale": {"cooldown_minutes": 10080}},
     {"autoscale": {"cooldown_minutes": 10081}}),
    ("autoscale.min_instances", {"autoscale": {"min_instances": 10}, "instance_count": 10},
     {"autoscale": {"min_instances": 11}}),
    ("autoscale.scale_in_cpu_percent",
     {"autoscale": {"scale_in_cpu_percent": 69, "target_cpu_percent": 70}},
     {"autoscale": {"scale_in_cpu_percent": 70, "target_cpu_percent": 70}}),
    ("request_settings.request_timeout_ms", {"request_settings": {"request_timeout_ms": 180000}},
     {"request_settings": {"request_timeout_ms": 180001}}),
    ("instance_count", {"instance_count": 3}, {"instance_count": 2}),
    ("instance_count", {"instance_count": 10}, {"instance_count": 11}),
]  # fmt: skip


@pytest.mark.parametrize(("field", "inside", "outside"), BOUNDS)
def test_each_bound_holds_at_its_edge(
    field: str, inside: dict[str, Any], outside: dict[str, Any]
) -> None:
    parse_stack_config(_edge(inside), "Pulumi.test.yaml")
    assert only(_edge(outside)).path == f"endpoints[0].deployments[0].{field}"


def _route(**route: Any) -> dict[str, Any]:
    environment = {
        **CONTAINER,
        "inference_config": {**CONTAINER["inference_config"], "scoring_route": route},
    }
    return with_deployment(environment=environment)


ROUTE = f"{DEP}.environment.inference_config.scoring_route"


@pytest.mark.parametrize(
    ("route", "field"),
    [
        ({"path": "v1/models/fraud:predict", "port": 8501}, "path"),  # no leading /
        ({"path": "/v1/models/ fraud", "port": 8501}, "path"),  # a space
        ({"path": "/score", "port": 0}, "port"),
        ({"path": "/score", "port": 65536}, "port"),
    ],
)
def test_a_route_outside_what_a_server_answers_on_is_refused(
    route: dict[str, Any], field: str
) -> None:
    assert only(_route(**route)).path == f"{ROUTE}.{field}"


@pytest.mark.parametrize("port", [1, 65535])
def test_a_route_port_at_either_end_parses(port: int) -> None:
    parse_stack_config(_route(path="/score", port=port), "Pulumi.test.yaml")


def test_autoscale_min_instances_has_the_same_ceiling_as_max() -> None:
    found = problems(_edge({"autoscale": {"min_instances": 51, "max_instances": 51}}))
    scale = "endpoints[0].deployments[0].autoscale"
    assert {p.path for p in found} >= {f"{scale}.min_instances", f"{scale}.max_instances"}
