"""User strings in the traffic ARM template arrive as text, never as template expressions.

ARM evaluates a JSON string (a value or a property name) that starts with ``[`` and ends with
``]``; one that starts with ``[[`` is a literal and loses its first bracket. See
https://learn.microsoft.com/azure/azure-resource-manager/templates/template-expressions#escape-characters
The evaluator below mirrors that rule on its own, so these tests do not trust
``components/azure/arm.py`` to check itself.
"""

from __future__ import annotations

import functools
from typing import Any

import pytest

from components.azure.arm import literal
from mlep.engine.runtime import ProgramRun
from tests.conftest import run_namespace
from tests.scenarios import SCENARIOS, scenario

TRAFFIC = "azure-native:resources:Deployment"
ENDPOINT = "azure-native:machinelearningservices:OnlineEndpoint"

DESCRIPTION = "[reference('x').secret]"
TAG_KEY = "[x]"
TAG_VALUE = "[concat('a','b')]"


class WouldEvaluate(Exception):
    """ARM would evaluate this string as an expression."""


def arm_reads(value: Any) -> Any:
    """What ARM makes of a template value: its literals, or WouldEvaluate for an expression."""
    if isinstance(value, str):
        if value.startswith("[") and value.endswith("]"):
            if value.startswith("[["):
                return value[1:]
            raise WouldEvaluate(value)
        return value
    if isinstance(value, dict):
        return {arm_reads(key): arm_reads(item) for key, item in value.items()}
    if isinstance(value, list):
        return [arm_reads(item) for item in value]
    return value


def hostile(description: str = DESCRIPTION, tags: dict[str, str] | None = None) -> dict[str, Any]:
    """The max scenario with bracketed strings in its first endpoint's description and tags."""
    namespace = scenario("max")
    endpoint = namespace["endpoints"][0]
    endpoint["description"] = description
    endpoint["tags"] = {**endpoint["tags"], TAG_KEY: TAG_VALUE, **(tags or {})}
    return namespace


@functools.cache
def hostile_run() -> ProgramRun:
    return run_namespace(hostile())


def traffic_of(run: ProgramRun, endpoint: str) -> dict[str, Any]:
    (found,) = [r for r in run.resources if r.type == TRAFFIC and r.name == f"{endpoint}-traffic"]
    return found.inputs


def template_of(run: ProgramRun, endpoint: str) -> dict[str, Any]:
    return traffic_of(run, endpoint)["properties"]["template"]  # type: ignore[no-any-return]


def endpoint_as_arm_reads(run: ProgramRun, endpoint: str) -> dict[str, Any]:
    (resource,) = arm_reads(template_of(run, endpoint))["resources"]
    return resource  # type: ignore[no-any-return]


# --- the evaluator mirrors ARM's rule ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "evaluated"),
    [
        ("[concat('a','b')]", True),
        ("[]", True),
        ("[[concat('a','b')]", False),
        ("[test] value", False),
        ("[unclosed", False),
        ("plain", False),
        ("", False),
    ],
)
def test_evaluator_follows_arms_rule(text: str, evaluated: bool) -> None:
    if evaluated:
        with pytest.raises(WouldEvaluate):
            arm_reads(text)
    else:
        arm_reads(text)


# --- hostile strings arrive literally ------------------------------------------------------


def test_no_string_in_the_traffic_template_would_be_evaluated() -> None:
    # The template has no expressions of its own: any string ARM would evaluate is injected.
    run = hostile_run()
    for name in ("fraud-scoring", "churn-propensity"):
        arm_reads(template_of(run, name))


def test_description_expression_arrives_literally() -> None:
    resource = endpoint_as_arm_reads(hostile_run(), "fraud-scoring")
    assert resource["properties"]["description"] == DESCRIPTION


def test_tag_value_expression_arrives_literally() -> None:
    resource = endpoint_as_arm_reads(hostile_run(), "fraud-scoring")
    assert resource["tags"][TAG_KEY] == TAG_VALUE


def test_tag_key_expression_arrives_literally() -> None:
    template = template_of(hostile_run(), "fraud-scoring")
    (resource,) = template["resources"]
    assert f"[{TAG_KEY}" in resource["tags"]
    assert TAG_KEY in endpoint_as_arm_reads(hostile_run(), "fraud-scoring")["tags"]


def test_every_endpoint_tag_arrives_as_given() -> None:
    run = hostile_run()
    (endpoint,) = [r for r in run.resources if r.type == ENDPOINT and r.name == "fraud-scoring"]
    assert endpoint_as_arm_reads(run, "fraud-scoring")["tags"] == endpoint.inputs["tags"]


def test_an_already_escaped_string_keeps_its_double_bracket() -> None:
    run = run_namespace(hostile(description="[[x]"))
    assert endpoint_as_arm_reads(run, "fraud-scoring")["properties"]["description"] == "[[x]"


def test_a_bracket_that_does_not_close_the_string_is_left_alone() -> None:
    # The doc's own example: "[test] value" is a literal and must not be escaped.
    run = run_namespace(hostile(description="[draft] fraud score", tags={"note": "[wip"}))
    resource = template_of(run, "fraud-scoring")["resources"][0]
    assert resource["properties"]["description"] == "[draft] fraud score"
    assert resource["tags"]["note"] == "[wip"


# --- ordinary values are unchanged ---------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_ordinary_templates_are_unchanged_by_escaping(name: str) -> None:
    run = run_namespace(scenario(name))
    for spec in scenario(name)["endpoints"]:
        template = template_of(run, spec["name"])
        assert literal(template) == template
        assert arm_reads(template) == template


def test_literal_walks_keys_values_and_lists_and_keeps_other_types() -> None:
    value = {"[k]": ["[v]", "v", 1, 2.5, True, None], "n": {"[[x]": "[a] b"}}
    assert literal(value) == {
        "[[k]": ["[[v]", "v", 1, 2.5, True, None],
        "n": {"[[[x]": "[a] b"},
    }


# --- the ARM deployment keeps its shape ----------------------------------------------------


def test_traffic_deployment_properties_are_incremental_mode_and_the_template() -> None:
    # DeploymentProperties of Microsoft.Resources/deployments: `mode` (required) and the inline
    # `template`; no `parameters`, since escaping keeps user values in the template itself.
    # https://learn.microsoft.com/azure/templates/microsoft.resources/deployments
    properties = traffic_of(hostile_run(), "fraud-scoring")["properties"]
    assert set(properties) == {"mode", "template"}
    assert properties["mode"] == "Incremental"
    assert set(properties["template"]) == {"$schema", "contentVersion", "resources"}
