"""`mlep new`'s library: endpoint templates, stamping, and adding an endpoint to a stack file.

The in-process tests cover the template format, the error messages and the text edits (every
byte outside the inserted lines stays). The plan tests stamp every template into copies of the
real stacks, for both targets, in their own environment and under prod rules, plus a project
rendered from templates/pulumi-project as `pulumi new` would, and run `mlep plan` on each: all
runs start at once in a module fixture (each takes 10-20 s, mostly start-up).
"""

from __future__ import annotations

import difflib
import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from mlep.authoring.templates import (
    SENSITIVITIES,
    TARGETS,
    Template,
    list_templates,
    load_template,
    required_inputs,
    stamp,
    template_inputs,
)
from mlep.authoring.templates.schema import EndpointBodies
from mlep.errors import UsageError
from mlep.stack import StackRef
from mlep.stack.edit import append_endpoint, render_endpoint
from models.loader import parse_stack_config

ROOT = Path(__file__).resolve().parent.parent
PROJECT_TEMPLATE = ROOT / "templates" / "pulumi-project"
TIMEOUT_S = 240
TAGS = {"owner": "ml-platform", "application": "scoring", "data_sensitivity": "internal"}


def templates() -> list[Template]:
    return list_templates(ROOT)


def example_parameters(template: Template, target: str) -> dict[str, str]:
    """Every parameter with an example (required ones must have one), as a user would type."""
    return {p.name: p.example for p in template.parameters_for(target) if p.example is not None}


def stamped(template: Template, target: str, endpoint: str | None = None) -> dict[str, Any]:
    return stamp(
        template,
        endpoint=endpoint or endpoint_name(template),
        target=target,
        parameters=example_parameters(template, target),
        **TAGS,
    )


def endpoint_name(template: Template) -> str:
    return template.name[:28].rstrip("-") + "-new"


def changes(before: str, after: str) -> list[tuple[str, int, int, int, int]]:
    """The non-equal difflib opcodes between the two texts, line by line."""
    matcher = difflib.SequenceMatcher(None, before.splitlines(), after.splitlines(), False)
    return [op for op in matcher.get_opcodes() if op[0] != "equal"]


# --- the templates ------------------------------------------------------------------------


def test_the_repository_has_the_cpu_and_gpu_templates() -> None:
    assert {"cpu-tabular-classifier", "gpu-model"} <= {t.name for t in templates()}


@pytest.mark.parametrize("template", templates(), ids=lambda t: t.name)
def test_every_required_parameter_has_a_description_and_an_example(template: Template) -> None:
    for target in TARGETS:
        for parameter in template.parameters_for(target):
            assert parameter.description
            assert parameter.example or not parameter.required, parameter.name


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("template", templates(), ids=lambda t: t.name)
def test_stamp_starts_blue_with_all_traffic_secure_by_default(
    template: Template, target: str
) -> None:
    spec = stamped(template, target)
    assert spec["name"] == endpoint_name(template)
    assert spec["tags"] == {
        "owner": "ml-platform",
        "application": "scoring",
        "data-sensitivity": "internal",
    }
    assert [d["name"] for d in spec["deployments"]] == ["blue"]
    assert spec["traffic"] == {"blue": 100}
    assert spec["auth_mode"] == "aad_token"
    assert spec["public_network_access"] == "disabled"
    assert spec["rollout"] == {
        "steps": [5, 25, 60, 100],
        "max_step_percent": 25,
        "bake_minutes": 30,
    }


@pytest.mark.parametrize("target", TARGETS)
def test_cpu_classifier_runs_three_autoscaled_instances_with_a_300_ms_alert(target: str) -> None:
    spec = stamped(load_template(ROOT, "cpu-tabular-classifier"), target)
    blue = spec["deployments"][0]
    assert blue["instance_count"] == 3
    assert blue["autoscale"]["min_instances"] == 3
    assert blue["autoscale"]["max_instances"] == 10
    assert spec["alerts"] == {"latency_p95_ms": 300}
    if target == "azure":
        assert blue["instance_type"] == "Standard_DS3_v2"
    else:
        assert blue["resources"] == {"cpu": "1", "memory": "2Gi"}


def test_gpu_model_asks_for_a_gpu_on_each_target() -> None:
    gpu = load_template(ROOT, "gpu-model")
    azure = stamped(gpu, "azure")["deployments"][0]
    kubernetes = stamped(gpu, "kubernetes")["deployments"][0]
    assert azure["instance_type"].startswith("Standard_NC")
    assert kubernetes["resources"]["gpu"] == 1


@pytest.mark.parametrize("target", TARGETS)
def test_gpu_model_waits_longer_than_the_cpu_classifier(target: str) -> None:
    cpu = stamped(load_template(ROOT, "cpu-tabular-classifier"), target)
    gpu = stamped(load_template(ROOT, "gpu-model"), target)
    cpu_blue, gpu_blue = cpu["deployments"][0], gpu["deployments"][0]
    for probe in ("liveness_probe", "readiness_probe"):
        assert gpu_blue[probe]["initial_delay"] > cpu_blue[probe]["initial_delay"]
    timeout = "request_timeout_ms"
    assert gpu_blue["request_settings"][timeout] > cpu_blue["request_settings"][timeout]
    assert gpu["alerts"]["latency_p95_ms"] == 1500


def test_optional_parameters_left_out_remove_their_fields() -> None:
    spec = stamp(
        load_template(ROOT, "cpu-tabular-classifier"),
        endpoint="churn-model",
        target="azure",
        parameters={"model": "azureml:churn:3"},
        **TAGS,
    )
    blue = spec["deployments"][0]
    assert "environment" not in blue
    assert "code_configuration" not in blue
    assert spec["description"] == "Tabular classifier"


def test_an_integer_parameter_becomes_a_number() -> None:
    spec = stamp(
        load_template(ROOT, "cpu-tabular-classifier"),
        endpoint="churn-model",
        target="kubernetes",
        parameters={"image": "registry.example.com/churn:1.0.0", "min_instances": "1"},
        **TAGS,
    )
    blue = spec["deployments"][0]
    assert blue["instance_count"] == 1
    assert blue["autoscale"]["min_instances"] == 1


def test_stamped_specs_are_valid_endpoints_of_a_stack() -> None:
    for template in templates():
        spec = stamped(template, "azure")
        namespace = {
            "target": "azure",
            "environment": "prod",
            "tags": {"owner": "a", "application": "b", "data-sensitivity": "internal"},
            "azure": {"resource_group": "rg-x", "workspace": "mlw-x"},
            "endpoints": [spec],
        }
        assert parse_stack_config(namespace, "test").endpoints[0].name == spec["name"]


@pytest.mark.parametrize("target", TARGETS)
def test_required_inputs_are_the_tags_and_the_model_or_image(target: str) -> None:
    inputs = required_inputs(load_template(ROOT, "cpu-tabular-classifier"), target)
    flags = [item.flag for item in inputs]
    model = "--model" if target == "azure" else "--image"
    assert flags == ["--owner", "--application", "--data-sensitivity", model]
    sensitivity = inputs[2]
    assert sensitivity.choices == SENSITIVITIES
    assert sensitivity.kind == "argument"
    assert inputs[3].kind == "parameter"
    assert inputs[3].help
    assert inputs[3].example


def test_template_inputs_include_optional_parameters_with_their_defaults() -> None:
    inputs = {i.flag: i for i in template_inputs(load_template(ROOT, "gpu-model"), "azure")}
    assert inputs["--instance-type"].default == "Standard_NC4as_T4_v3"
    assert not inputs["--instance-type"].required
    assert not inputs["--environment"].required
    assert "--image" not in inputs


# --- bad input: every error names the flag, the value and the fix -------------------------


def stamp_error(**changes: Any) -> str:
    arguments: dict[str, Any] = {
        "endpoint": "churn-model",
        "target": "azure",
        "parameters": {"model": "azureml:churn:3"},
        **TAGS,
    }
    template = load_template(ROOT, changes.pop("template", "cpu-tabular-classifier"))
    arguments.update(changes)
    with pytest.raises(UsageError) as caught:
        stamp(template, **arguments)
    return str(caught.value)


def test_unknown_template_lists_the_templates_and_suggests_one() -> None:
    with pytest.raises(UsageError) as caught:
        load_template(ROOT, "gpu-modle")
    message = str(caught.value)
    assert "--template 'gpu-modle'" in message
    assert "did you mean 'gpu-model'?" in message
    assert "cpu-tabular-classifier, gpu-model" in message


def test_bad_endpoint_name_names_the_argument_the_value_and_a_fix() -> None:
    message = stamp_error(endpoint="Churn_Model")
    assert "ENDPOINT 'Churn_Model'" in message
    assert "lowercase letters" in message
    assert "fix: rename it, for example 'churn-model'" in message


@pytest.mark.parametrize(
    ("value", "hint"), [("secret", "use one of"), ("Confidential", "did you mean 'confidential'")]
)
def test_bad_data_sensitivity_names_the_flag_the_value_and_the_levels(
    value: str, hint: str
) -> None:
    message = stamp_error(data_sensitivity=value)
    assert f"--data-sensitivity {value!r}" in message
    assert hint in message
    assert "public, internal, confidential, restricted" in message


def test_empty_owner_names_the_flag() -> None:
    message = stamp_error(owner=" ")
    assert "--owner ' '" in message
    assert "fix:" in message


def test_owner_that_is_no_kubernetes_label_names_the_flag() -> None:
    message = stamp_error(
        target="kubernetes",
        owner="Fraud Team",
        parameters={"image": "registry.example.com/churn:1.0.0"},
    )
    assert "--owner 'Fraud Team'" in message
    assert "'fraud-team'" in message


def test_unregistered_model_names_the_model_flag_and_the_fix() -> None:
    message = stamp_error(parameters={"model": "./model.pkl"})
    assert "--model './model.pkl'" in message
    assert "az ml model create" in message


def test_image_without_a_version_names_the_image_flag() -> None:
    message = stamp_error(
        target="kubernetes", parameters={"image": "registry.example.com/churn:latest"}
    )
    assert "--image 'registry.example.com/churn:latest'" in message
    assert "explicit tag" in message


def test_missing_parameter_says_which_flag_and_gives_an_example() -> None:
    message = stamp_error(parameters={})
    assert "--model is required" in message
    assert "e.g. azureml:fraud-classifier:7" in message


def test_unknown_parameter_suggests_the_closest_flag() -> None:
    message = stamp_error(parameters={"model": "azureml:churn:3", "min_instance": "2"})
    assert "--min-instance" in message
    assert "did you mean --min-instances?" in message


def test_parameter_of_the_other_target_is_refused() -> None:
    message = stamp_error(
        parameters={"model": "azureml:churn:3", "image": "registry.example.com/churn:1.0.0"}
    )
    assert "--image: applies to kubernetes stacks" in message


def test_code_without_scoring_script_asks_for_the_scoring_script() -> None:
    message = stamp_error(parameters={"model": "azureml:churn:3", "code": "azureml:churn-code:3"})
    assert "--scoring-script is required here" in message
    assert "fix: add --scoring-script VALUE" in message


def test_min_above_max_instances_names_the_flag_and_both_values() -> None:
    message = stamp_error(
        parameters={"model": "azureml:churn:3", "min_instances": "5", "max_instances": "2"}
    )
    assert "--min-instances 5" in message
    assert "min_instances (5) is above max_instances (2)" in message


def test_non_numeric_integer_parameter_names_the_flag() -> None:
    message = stamp_error(parameters={"model": "azureml:churn:3", "min_instances": "three"})
    assert "--min-instances 'three' is not a whole number" in message


def test_unknown_target_points_at_the_stack_file() -> None:
    message = stamp_error(target="aks")
    assert "target 'aks'" in message
    assert "ml-endpoints:target" in message


BROKEN_TEMPLATES = {
    "undeclared": ("model: ${modle}", "${modle} is not a declared parameter"),
    "partial-optional": ("model: azureml:${optional}:1", "optional ${optional} must be the whole"),
    "stray-dollar": ("model: ${Model}", "not a ${parameter} placeholder"),
    "sets-name": ("name: fixed", "set by `mlep new`"),
}


@pytest.mark.parametrize(("case", "problem"), BROKEN_TEMPLATES.items(), ids=list(BROKEN_TEMPLATES))
def test_a_broken_template_is_reported_with_its_file(
    tmp_path: Path, case: str, problem: tuple[str, str]
) -> None:
    line, expected = problem
    directory = tmp_path / "templates" / "endpoints"
    directory.mkdir(parents=True)
    (directory / f"{case}.yaml").write_text(
        "description: broken\n"
        "parameters:\n"
        "  optional: {description: x, required: false}\n"
        "endpoint:\n"
        "  azure:\n"
        f"    {line}\n"
        "    description: ${optional}\n"
        "  kubernetes: {}\n"
    )
    with pytest.raises(UsageError) as caught:
        load_template(tmp_path, case)
    assert str(directory / f"{case}.yaml") in str(caught.value)
    assert expected in str(caught.value)


PARAMETERS = "parameters:\n  model: {description: m, example: e}\n"
BODIES = "endpoint:\n  azure: {model: '${model}'}\n  kubernetes: {}\n"
SETTINGS = "['choices', 'default', 'description', 'example', 'required', 'type']"
# A file that breaks the format -> what `mlep new` says after "<file>: ".
BAD_TEMPLATE_FILES = {
    "not-a-mapping": (
        "- a\n",
        "a template is a mapping with ['description', 'endpoint', 'parameters']",
    ),
    "unknown-and-missing-keys": (
        "descr: d\n" + PARAMETERS + BODIES,
        "unknown keys ['descr'] / missing keys ['description']; a template has exactly "
        "['description', 'endpoint', 'parameters']",
    ),
    "blank-description": (
        "description: ' '\n" + PARAMETERS + BODIES,
        "`description` must be a non-empty string",
    ),
    "parameters-a-list": (
        "description: d\nparameters: [model]\n" + BODIES,
        "`parameters` must be a mapping of name -> settings",
    ),
    "parameter-name": (
        "description: d\nparameters:\n  Model: {description: m}\n" + BODIES,
        "parameters.Model: parameter names are lowercase snake_case",
    ),
    "reserved-name": (
        "description: d\nparameters:\n  owner: {description: m}\n" + BODIES,
        "parameters.owner: 'owner' is reserved (a `mlep new` argument)",
    ),
    "unknown-setting": (
        "description: d\nparameters:\n  model: {desc: m}\n" + BODIES,
        f"parameters.model: settings are a mapping of {SETTINGS}",
    ),
    "no-description": (
        "description: d\nparameters:\n  model: {example: m}\n" + BODIES,
        "parameters.model: `description` (a string) is required",
    ),
    "bad-type": (
        "description: d\nparameters:\n  model: {description: m, type: float, default: 1.5}\n"
        + BODIES,
        "parameters.model: type must be string or integer, not 'float'",
    ),
    "default-of-another-type": (
        "description: d\nparameters:\n  model: {description: m, type: integer, default: '3'}\n"
        + BODIES,
        "parameters.model: default '3' is not a integer",
    ),
    "required-with-a-default": (
        "description: d\nparameters:\n  model: {description: m, required: true, default: x}\n"
        + BODIES,
        "parameters.model: `required` is true or false, and false when it has a default",
    ),
    "required-null": (
        "description: d\nparameters:\n  model: {description: m, required: null}\n" + BODIES,
        "parameters.model: `required` is true or false, and false when it has a default",
    ),
    "choices-not-strings": (
        "description: d\nparameters:\n  model: {description: m, choices: [1]}\n" + BODIES,
        "parameters.model: `choices` is a list of strings",
    ),
    "one-target": (
        "description: d\n" + PARAMETERS + "endpoint:\n  azure: 3\n",
        "`endpoint` needs one body per target: azure, kubernetes",
    ),
    "body-not-a-mapping": (
        "description: d\n" + PARAMETERS + "endpoint:\n  kubernetes: 3\n  azure: []\n",
        "endpoint.kubernetes must be a mapping (an endpoint spec)",
    ),
    "unused-parameter": (
        "description: d\n" + PARAMETERS + "  spare: {description: s}\n" + BODIES,
        "parameters ['spare'] are declared but used by no target",
    ),
}


@pytest.mark.parametrize(
    ("text", "message"), BAD_TEMPLATE_FILES.values(), ids=list(BAD_TEMPLATE_FILES)
)
def test_a_template_file_that_breaks_the_format_gets_the_first_problem_in_it(
    tmp_path: Path, text: str, message: str
) -> None:
    directory = tmp_path / "templates" / "endpoints"
    directory.mkdir(parents=True)
    (directory / "broken.yaml").write_text(text)
    with pytest.raises(UsageError) as caught:
        load_template(tmp_path, "broken")
    assert str(caught.value) == f"{directory / 'broken.yaml'}: {message}"


def test_the_template_format_has_one_body_per_target() -> None:
    assert set(EndpointBodies.model_fields) == set(TARGETS)


# --- rendering ----------------------------------------------------------------------------

TRICKY = [
    "yes", "on", "No", "y", "null", "~", "true", "1", "1.0", "0x1F", "0o17", "1e3", "12:30",
    "2001-12-14", ".inf", "", " lead", "trail ", "a: b", "a #b", "#x", "@x", "`x", "!t", "&a",
    "*a", "%x", "- x", "-", "?", "|", ">", "[x]", "{x}", "a,b", "azureml:model:1", "500m", "2Gi",
    "é ünïcode", "tab\there", "line\nbreak", 'quote"d', "back\\slash", "\x7f", "\x85",
]  # fmt: skip


@pytest.mark.parametrize("value", TRICKY)
def test_rendered_strings_read_back_unchanged_in_block_and_flow_style(value: str) -> None:
    spec = {"name": "x-y-z", "description": value, "tags": {"owner": value, value: "v"}}
    text = render_endpoint(spec, 4)
    assert YAML(typ="safe").load(text) == [spec]
    assert YAML(typ="safe").load("%YAML 1.1\n---\n" + text) == [spec]


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=40), st.text(max_size=20))
def test_any_string_reads_back_unchanged(description: str, owner: str) -> None:
    spec = {"name": "x-y-z", "description": description, "tags": {"owner": owner}}
    assert YAML(typ="safe").load(render_endpoint(spec, 2)) == [spec]


def test_render_matches_the_style_of_the_prod_stack() -> None:
    spec = stamp(
        load_template(ROOT, "cpu-tabular-classifier"),
        endpoint="churn-model",
        target="azure",
        parameters={
            "model": "azureml:churn:3",
            "environment": "azureml:sklearn-inference:3",
            "code": "azureml:churn-code:3",
            "scoring_script": "score.py",
        },
        **TAGS,
    )
    lines = render_endpoint(spec, 4).splitlines()
    assert lines[0] == "    - name: churn-model"
    assert "      deployments:" in lines
    assert "        - name: blue" in lines
    assert "          model: azureml:churn:3" in lines
    assert (
        '          code_configuration: {code: "azureml:churn-code:3", scoring_script: score.py}'
        in lines
    )
    assert "      traffic: {blue: 100}" in lines
    assert (
        "      rollout: {steps: [5, 25, 60, 100], max_step_percent: 25, bake_minutes: 30}" in lines
    )
    assert "      tags: {owner: ml-platform, application: scoring, data-sensitivity: internal}" in (
        lines
    )


# --- adding to a stack file: one insertion, every other byte as it was --------------------

SPEC: dict[str, Any] = {
    "name": "churn-model",
    "tags": {"owner": "crm-team"},
    "deployments": [
        {"name": "blue", "model": "azureml:churn:3", "instance_type": "Standard_DS3_v2"}
    ],
    "traffic": {"blue": 100},
}
ENDPOINT_A = """\
    - name: fraud-scoring
      deployments:
        - name: blue
          model: azureml:fraud:7
          instance_type: Standard_DS3_v2
      traffic: {blue: 100}
"""
HEAD = """\
# A stack comment.
config:
  ml-endpoints:target: azure   # keep this comment
  ml-endpoints:environment: dev
  ml-endpoints:tags: {owner: a, application: b, data-sensitivity: internal}
  ml-endpoints:azure:
    resource_group: rg-x
    workspace: mlw-x
"""


@dataclass(frozen=True)
class Layout:
    text: str
    dash: int  # the column of the new item's dash
    offset: int = 2  # nested lists' dashes right of their key
    blank: bool = False  # a blank line before the new item


LAYOUTS = {
    "items-at-4": Layout(HEAD + "  ml-endpoints:endpoints:\n" + ENDPOINT_A, 4),
    "items-at-4-blank-separated": Layout(
        HEAD
        + "  ml-endpoints:endpoints:\n"
        + ENDPOINT_A
        + "\n"
        + ENDPOINT_A.replace("fraud-scoring", "other-one"),
        4,
        blank=True,
    ),
    "items-at-2-as-the-pulumi-cli-writes": Layout(
        "config:\n"
        "  ml-endpoints:endpoints:\n"
        "  - name: fraud-scoring\n"
        "    deployments:\n"
        "    - name: blue\n"
        "      model: azureml:fraud:7\n"
        "      instance_type: Standard_DS3_v2\n"
        "    traffic:\n"
        "      blue: 100\n"
        "  ml-endpoints:target: azure\n",
        2,
        offset=0,
    ),
    "no-final-newline": Layout(HEAD + "  ml-endpoints:endpoints:\n" + ENDPOINT_A.rstrip("\n"), 4),
    "trailing-comments": Layout(
        HEAD
        + "  ml-endpoints:endpoints:\n"
        + ENDPOINT_A
        + "      # mirror_traffic: {green: 10}   (the last item's, stays with it)\n"
        + "\n"
        + "# The end of the fleet (stays last).\n",
        4,
    ),
    "followed-by-another-key": Layout(
        "config:\n"
        "  ml-endpoints:endpoints:\n"
        + ENDPOINT_A
        + "  # The workspace (stays with its key).\n"
        + "  ml-endpoints:azure:\n"
        + "    resource_group: rg-x\n"
        + "    workspace: mlw-x\n",
        4,
    ),
    "last-value-a-block-scalar": Layout(
        HEAD
        + "  ml-endpoints:endpoints:\n"
        + ENDPOINT_A
        + "      description: |\n"
        + "        Two lines\n"
        + "        of text.\n"
        + "\n"
        + "\n",
        4,
    ),
    "crlf": Layout((HEAD + "  ml-endpoints:endpoints:\n" + ENDPOINT_A).replace("\n", "\r\n"), 4),
    "no-endpoints-key": Layout(HEAD, 4),
    "no-endpoints-key-indentless-lists": Layout(
        "config:\n  ml-endpoints:azure:\n    private_dns_zone_ids:\n    - /x\n", 2, offset=0
    ),
    "empty-value": Layout(HEAD + "  ml-endpoints:endpoints:\n  ml-endpoints:other: 1\n", 4),
    "no-config": Layout("# only a comment\n", 4),
}


def inserted_lines(layout: Layout, before: str, after: str) -> list[str]:
    ops = changes(before, after)
    assert len(ops) == 1, ops
    kind, _, _, j1, j2 = ops[0]
    assert kind == "insert", ops
    return after.splitlines()[j1:j2]


@pytest.mark.parametrize("name", LAYOUTS)
def test_append_inserts_one_block_and_keeps_every_other_line(name: str) -> None:
    layout = LAYOUTS[name]
    after = append_endpoint(layout.text, SPEC)
    block = inserted_lines(layout, layout.text, after)
    item = render_endpoint(SPEC, layout.dash, sequence_offset=layout.offset).splitlines()
    if "ml-endpoints:endpoints:" not in layout.text:
        assert (
            block[-len(item) - 1] == " " * (layout.dash - layout.offset) + "ml-endpoints:endpoints:"
        )
        block = block[-len(item) :]
    assert block == ([""] if layout.blank else []) + item
    loaded = YAML(typ="safe").load(after)
    assert loaded["config"]["ml-endpoints:endpoints"][-1] == SPEC


def test_append_keeps_a_missing_final_newline_missing() -> None:
    text = LAYOUTS["no-final-newline"].text
    after = append_endpoint(text, SPEC)
    assert not after.endswith("\n")
    assert after.startswith(text + "\n")


def test_append_writes_crlf_lines_into_a_crlf_file() -> None:
    after = append_endpoint(LAYOUTS["crlf"].text, SPEC)
    assert after.count("\n") == after.count("\r\n")


def test_comments_deeper_than_the_items_stay_with_the_last_item() -> None:
    text = LAYOUTS["trailing-comments"].text
    lines = append_endpoint(text, SPEC).splitlines()
    own = lines.index("      # mirror_traffic: {green: 10}   (the last item's, stays with it)")
    assert lines[own + 1] == "    - name: churn-model"
    assert lines[-1] == "# The end of the fleet (stays last)."


def test_a_comment_heading_the_next_key_stays_above_it() -> None:
    lines = append_endpoint(LAYOUTS["followed-by-another-key"].text, SPEC).splitlines()
    heading = lines.index("  # The workspace (stays with its key).")
    assert lines[heading + 1] == "  ml-endpoints:azure:"
    assert lines[heading - 1] == "      traffic: {blue: 100}"


def test_an_empty_flow_list_becomes_the_block_list_and_nothing_else_changes() -> None:
    text = HEAD + "  ml-endpoints:endpoints: []   # none yet\n  ml-endpoints:other: 1\n"
    after = append_endpoint(text, SPEC)
    before_lines, after_lines = text.splitlines(), after.splitlines()
    row = before_lines.index("  ml-endpoints:endpoints: []   # none yet")
    item = render_endpoint(SPEC, 4).splitlines()
    assert after_lines[:row] == before_lines[:row]
    assert after_lines[row] == "  ml-endpoints:endpoints:   # none yet"
    assert after_lines[row + 1 : row + 1 + len(item)] == item
    assert after_lines[row + 1 + len(item) :] == before_lines[row + 1 :]


def test_a_real_stack_gets_one_insertion_and_still_plans_offline(tmp_path: Path) -> None:
    text = (ROOT / "Pulumi.prod.yaml").read_text()
    spec = stamped(load_template(ROOT, "cpu-tabular-classifier"), "azure")
    after = append_endpoint(text, spec)
    assert [op[0] for op in changes(text, after)] == ["insert"]
    (tmp_path / "Pulumi.edited.yaml").write_text(after)
    stack = StackRef(tmp_path, "edited").read()
    config = parse_stack_config(stack.namespace, "Pulumi.edited.yaml")
    assert [e.name for e in config.endpoints][-1] == spec["name"]


def test_an_endpoint_already_in_the_stack_is_refused() -> None:
    text = (ROOT / "Pulumi.prod.yaml").read_text()
    with pytest.raises(UsageError) as caught:
        append_endpoint(text, {**SPEC, "name": "fraud-scoring"})
    message = str(caught.value)
    assert "'fraud-scoring' is already in this stack (line 29)" in message
    assert "choose another ENDPOINT name" in message


def test_a_flow_style_endpoint_list_is_refused_with_a_fix() -> None:
    text = HEAD + "  ml-endpoints:endpoints: [{name: a, deployments: []}]\n"
    with pytest.raises(UsageError, match="rewrite it in block style"):
        append_endpoint(text, SPEC)


# --- mlep plan on stamped stacks ----------------------------------------------------------


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str
    endpoints: tuple[str, ...]

    @property
    def document(self) -> dict[str, Any]:
        return json.loads(self.stdout)  # type: ignore[no-any-return]


def link_program(directory: Path) -> Path:
    """What `mlep plan` needs of this repository, program and pack, beside a stack file."""
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "Pulumi.yaml", directory)
    shutil.copy(ROOT / "__main__.py", directory)
    for package in ("components", "models", "policies", "services"):
        (directory / package).symlink_to(ROOT / package, target_is_directory=True)
    return directory


def stamp_all(text: str, target: str) -> tuple[str, tuple[str, ...]]:
    """``text`` with one endpoint per template added, as `mlep new` would, one at a time."""
    names = []
    for template in templates():
        spec = stamped(template, target)
        text = append_endpoint(text, spec)
        names.append(spec["name"])
    return text, tuple(names)


def render_project(directory: Path, project: str, description: str) -> None:
    """Lay down templates/pulumi-project the way `pulumi new` does: copy, then replace."""
    shutil.copytree(PROJECT_TEMPLATE, directory)
    for path in directory.rglob("*"):
        if path.is_file():
            text = path.read_text().replace("${PROJECT}", project)
            path.write_text(text.replace("${DESCRIPTION}", description))


def pulumi_new_stack(directory: Path, command_line: dict[str, Any]) -> str:
    """Pulumi.dev.yaml as `pulumi new` writes it: each template prompt answered with its
    default unless the command line gave the key (`-c` with `--config-path`), keys sorted."""
    project = YAML(typ="safe").load((directory / "Pulumi.yaml").read_text())
    config: dict[str, Any] = {}
    for key, prompt in project["template"]["config"].items():
        config[key] = command_line.get(key, prompt.get("default"))
    config.update(command_line)
    yaml = YAML()
    yaml.default_flow_style = False
    out = directory / "Pulumi.dev.yaml"
    with out.open("w") as stream:
        yaml.dump({"config": {key: config[key] for key in sorted(config)}}, stream)
    return out.read_text()


FRESH_ANSWERS = {
    "ml-endpoints:tags": {"owner": "fraud-team", "application": "fraud-detection",
                          "data-sensitivity": "internal"},
    "ml-endpoints:azure": {"resource_group": "rg-ml-dev", "workspace": "mlw-dev"},
}  # fmt: skip


def build_cases(base: Path) -> dict[str, tuple[Path, str, tuple[str, ...], dict[str, str]]]:
    """case -> (project directory, stack, endpoints added, extra environment)."""
    staging = (ROOT / "Pulumi.staging.yaml").read_text()
    stacks = {
        "azure-dev": ((ROOT / "Pulumi.dev.yaml").read_text(), "azure"),
        "azure-prod": ((ROOT / "Pulumi.prod.yaml").read_text(), "azure"),
        "kubernetes-staging": (staging, "kubernetes"),
        "kubernetes-prod": (
            staging.replace("ml-endpoints:environment: staging", "ml-endpoints:environment: prod"),
            "kubernetes",
        ),
    }
    cases = {}
    for name, (text, target) in stacks.items():
        directory = link_program(base / name)
        edited, added = stamp_all(text, target)
        (directory / f"Pulumi.{name}.yaml").write_text(edited)
        cases[name] = (directory, name, added, {})
    fresh = base / "fresh-project"
    render_project(fresh, "fraud-endpoints", "Fraud scoring endpoints")
    # Standing in for the README's step that copies the pack from the release.
    (fresh / "policies").symlink_to(ROOT / "policies", target_is_directory=True)
    text = pulumi_new_stack(fresh, FRESH_ANSWERS)
    spec = stamp(
        load_template(ROOT, "cpu-tabular-classifier"),
        endpoint="fraud-scoring",
        target="azure",
        parameters={"model": "azureml:fraud-classifier:7", "min_instances": "1"},
        owner="fraud-team",
        application="fraud-detection",
        data_sensitivity="internal",
    )
    (fresh / "Pulumi.dev.yaml").write_text(append_endpoint(text, spec))
    # The repository's packages stand in for the pip-installed ml-endpoints package.
    cases["fresh-project"] = (fresh, "dev", ("fraud-scoring",), {"PYTHONPATH": str(ROOT)})
    return cases


def run_plan(directory: Path, stack: str, added: tuple[str, ...], env: dict[str, str]) -> Run:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mlep.cli",
            "-C",
            str(directory),
            "plan",
            "--stack",
            stack,
            "--json",
        ],
        cwd=directory if env else ROOT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        env={**os.environ, "BENTOML_DO_NOT_TRACK": "True", **env},
        check=False,
    )
    return Run(result.returncode, result.stdout, result.stderr, added)


@pytest.fixture(scope="module")
def plans(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    cases = build_cases(tmp_path_factory.mktemp("stamped"))
    with ThreadPoolExecutor(max_workers=len(cases)) as pool:
        futures = {name: pool.submit(run_plan, *case) for name, case in cases.items()}
        return {name: future.result() for name, future in futures.items()}


PLAN_CASES = ["azure-dev", "azure-prod", "kubernetes-staging", "kubernetes-prod", "fresh-project"]


@pytest.mark.parametrize("case", PLAN_CASES)
def test_stamped_stack_plans_with_no_mandatory_violation(plans: dict[str, Run], case: str) -> None:
    run = plans[case]
    assert run.code == 0, run.stderr[-3000:]
    violations = run.document["policy"]["violations"]
    assert not [v for v in violations if v["enforcement"] == "mandatory"]


@pytest.mark.parametrize("case", PLAN_CASES)
def test_new_endpoints_draw_no_policy_finding_at_all(plans: dict[str, Run], case: str) -> None:
    run = plans[case]
    assert run.code == 0, run.stderr[-3000:]
    for violation in run.document["policy"]["violations"]:
        resource = violation["urn"].rsplit("::", 1)[-1]
        for name in run.endpoints:
            assert resource != name, violation
            assert not resource.startswith(f"{name}-"), violation
            assert name not in violation["message"], violation


@pytest.mark.parametrize("case", PLAN_CASES)
def test_new_endpoints_are_in_the_plan_with_blue_taking_all_traffic(
    plans: dict[str, Run], case: str
) -> None:
    run = plans[case]
    assert run.code == 0, run.stderr[-3000:]
    outputs = run.document["outputs"]["endpoints"]
    for name in run.endpoints:
        assert outputs[name]["traffic"] == {"blue": 100}


def test_prod_endpoints_are_protected(plans: dict[str, Run]) -> None:
    run = plans["azure-prod"]
    endpoints = [
        r
        for r in run.document["resources"]
        if r["type"] == "azure-native:machinelearningservices:OnlineEndpoint"
        and r["name"] in run.endpoints
    ]
    assert len(endpoints) == len(run.endpoints)
    assert all(r["protect"] for r in endpoints)


def test_gpu_deployment_requests_and_limits_one_gpu_on_kubernetes(plans: dict[str, Run]) -> None:
    run = plans["kubernetes-prod"]
    name = endpoint_name(load_template(ROOT, "gpu-model"))
    (deployment,) = [
        r
        for r in run.document["resources"]
        if r["type"] == "kubernetes:apps/v1:Deployment" and r["name"].startswith(name)
    ]
    (container,) = deployment["inputs"]["spec"]["template"]["spec"]["containers"]
    assert container["resources"]["requests"]["nvidia.com/gpu"] == "1"
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "1"


# --- the pulumi new project template ------------------------------------------------------


def test_project_template_runs_the_same_program() -> None:
    assert (PROJECT_TEMPLATE / "__main__.py").read_bytes() == (ROOT / "__main__.py").read_bytes()


def test_project_template_is_a_pulumi_new_template() -> None:
    project = YAML(typ="safe").load((PROJECT_TEMPLATE / "Pulumi.yaml").read_text())
    assert project["name"] == "${PROJECT}"
    assert project["description"] == "${DESCRIPTION}"
    assert project["runtime"] == {
        "name": "python",
        "options": {"toolchain": "pip", "virtualenv": "venv"},
    }
    prompts = project["template"]["config"]
    assert set(prompts) == {"ml-endpoints:target", "ml-endpoints:environment", "ml-endpoints:tags"}
    for prompt in prompts.values():
        assert prompt["description"]
        assert prompt["default"]
    assert prompts["ml-endpoints:target"]["default"] in TARGETS
    tags = json.loads(prompts["ml-endpoints:tags"]["default"].replace("${PROJECT}", "p"))
    assert set(tags) == {"owner", "application", "data-sensitivity"}
    assert tags["data-sensitivity"] in SENSITIVITIES


def test_project_template_pins_the_package_and_our_own_versions() -> None:
    lines = [
        line.strip()
        for line in (PROJECT_TEMPLATE / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "ml-endpoints @ git+https://github.com/ml-endpoints/ml-endpoints@v0.3.0"
    ours = set((ROOT / "requirements.in").read_text().splitlines())
    pins = lines[1:]
    names = {pin.split("==")[0] for pin in pins}
    assert {
        "pulumi",
        "pulumi-azure-native",
        "pulumi-kubernetes",
        "pydantic",
        "ruamel.yaml",
    } <= names
    assert [pin for pin in pins if pin not in ours] == []


def test_rendered_project_has_no_placeholder_left(tmp_path: Path) -> None:
    render_project(tmp_path / "p", "fraud-endpoints", "Fraud scoring endpoints")
    for path in (tmp_path / "p").rglob("*"):
        if path.is_file():
            assert "${" not in path.read_text(), path.name
