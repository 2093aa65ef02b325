"""Tags that mean something (issue 18, point 3): a governance tag made only of whitespace and
invisible characters (zero-width space U+200B, joiners U+200C/U+200D, word joiner U+2060, BOM
U+FEFF: Unicode category Cf; spaces Zs; controls Cc) looks set in a listing but names nobody.
GOV-01 rejects it on both targets (Azure tags, the template's endpoint tags, Kubernetes labels)
and the models reject it in the stack file, with the tag's name and the fix.
"""

from __future__ import annotations

import copy
import functools
import unicodedata
from typing import Any

import pytest

from mlep.engine.runtime import Registration
from models.errors import ConfigError
from models.fields import visible as model_visible
from models.loader import parse_stack_config
from tests.conftest import run_namespace
from tests.policy_helpers import (
    assert_violations,
    endpoint_props,
    resource_args,
    template_endpoint,
    tokens,
    traffic_props,
)
from tests.scenarios import kubernetes_defaults, scenario

GOV01 = "gov-01-required-tags"

BLANK = [
    pytest.param("\u200b", id="zero-width-space"),
    pytest.param("\ufeff", id="bom"),
    pytest.param("\u200c\u200d", id="zero-width-joiners"),
    pytest.param("\u2060", id="word-joiner"),
    pytest.param(" \u200b\t\u00a0", id="spaces-and-zero-width"),
    pytest.param("\u3000", id="ideographic-space"),
    pytest.param("\x00", id="control"),
    pytest.param("\u00ad\u200e", id="soft-hyphen-and-lrm"),
]
MEANINGFUL = [
    pytest.param("data-science", id="ascii"),
    pytest.param("équipe", id="accented"),
    pytest.param("データ", id="japanese"),
    pytest.param("team\u200b", id="trailing-zero-width"),
    pytest.param("a", id="one-letter"),
]


def test_every_blank_value_is_only_whitespace_cf_zs_and_cc() -> None:
    """The fixture itself: each blank value is made of the characters the rule names."""
    for param in BLANK:
        (value,) = param.values
        assert all(c.isspace() or unicodedata.category(c) in ("Cf", "Zs", "Cc") for c in str(value))


# ---- GOV-01 on Azure tags ---------------------------------------------------------------


def endpoint_with(key: str, value: str) -> Any:
    props = endpoint_props()
    props["tags"][key] = value
    return resource_args(tokens.ONLINE_ENDPOINT, props, name="fraud-scoring")


@pytest.mark.parametrize("value", BLANK)
@pytest.mark.parametrize("key", ["owner", "application"])
def test_gov01_reports_an_invisible_azure_tag(key: str, value: str) -> None:
    (message,) = assert_violations(GOV01, endpoint_with(key, value), 1, "GOV-01")
    assert f"blank governance tag(s) {key}" in message


@pytest.mark.parametrize("value", BLANK)
def test_gov01_reports_an_invisible_tag_on_the_template_endpoint(value: str) -> None:
    props = traffic_props()
    template_endpoint(props)["tags"]["owner"] = value
    args = resource_args(tokens.ARM_DEPLOYMENT, props, name="traffic")
    (message,) = assert_violations(GOV01, args, 1, "GOV-01")
    assert "template's endpoint" in message


@pytest.mark.parametrize("value", BLANK)
def test_gov01_reports_an_invisible_tag_on_a_versioned_endpoint(value: str) -> None:
    props = endpoint_props()
    props["tags"]["owner"] = value
    token = "azure-native:machinelearningservices/v20240401:OnlineEndpoint"
    assert_violations(GOV01, resource_args(token, props), 1, "GOV-01")


@pytest.mark.parametrize("value", MEANINGFUL)
@pytest.mark.parametrize("key", ["owner", "application"])
def test_gov01_passes_a_visible_azure_tag(key: str, value: str) -> None:
    assert_violations(GOV01, endpoint_with(key, value), 0)


# ---- GOV-01 on Kubernetes labels ----------------------------------------------------------


@functools.cache
def _kubernetes_deployment() -> Registration:
    (found,) = [
        r for r in run_namespace(kubernetes_defaults()).resources if r.type == tokens.K8S_DEPLOYMENT
    ]
    return found


def labelled(key: str, value: str) -> Any:
    resource = _kubernetes_deployment()
    inputs = copy.deepcopy(resource.inputs)
    assert inputs["metadata"]["labels"][key]  # the program sets it
    inputs["metadata"]["labels"][key] = value
    return resource_args(resource.type, inputs, name=resource.name, urn=resource.urn)


@pytest.mark.parametrize("value", BLANK)
def test_gov01_reports_an_invisible_kubernetes_label(value: str) -> None:
    (message,) = assert_violations(GOV01, labelled("owner", value), 1, "GOV-01")
    assert "owner (labels)" in message


@pytest.mark.parametrize("value", ["data-science", "team-a"])
def test_gov01_passes_a_visible_kubernetes_label(value: str) -> None:
    assert_violations(GOV01, labelled("owner", value), 0)


# ---- the models: the stack file --------------------------------------------------------------


def load_problems(namespace: dict[str, Any]) -> list[Any]:
    with pytest.raises(ConfigError) as raised:
        parse_stack_config(namespace, "Pulumi.test.yaml")
    return list(raised.value.problems)


@pytest.mark.parametrize("value", BLANK)
@pytest.mark.parametrize("target", ["azure", "kubernetes"])
def test_stack_file_rejects_an_invisible_owner(target: str, value: str) -> None:
    namespace = kubernetes_defaults() if target == "kubernetes" else scenario("defaults")
    namespace["tags"]["owner"] = value
    problems = [p for p in load_problems(namespace) if "owner" in p.path]
    assert problems, load_problems(namespace)
    problem = problems[0]
    assert problem.path == "tags.owner"
    assert "invisible" in problem.message
    assert "'owner'" in problem.message
    assert "give `owner` a visible value" in problem.fix


def test_stack_file_rejects_an_invisible_endpoint_tag() -> None:
    """An endpoint's tags merge over the stack's: a blank there would blank the owner."""
    namespace = scenario("defaults")
    namespace["endpoints"][0]["tags"] = {"owner": "\u200b"}
    (problem,) = load_problems(namespace)
    assert problem.path.endswith("tags.owner"), problem.path


@pytest.mark.parametrize("value", MEANINGFUL)
def test_stack_file_accepts_a_visible_owner(value: str) -> None:
    namespace = scenario("defaults")
    namespace["tags"]["owner"] = value
    assert parse_stack_config(namespace, "Pulumi.test.yaml").tags["owner"] == value


@pytest.mark.parametrize("value", [*BLANK, *MEANINGFUL, "", "  "])
def test_the_models_and_the_pack_agree_on_blank(value: str) -> None:
    from mlep_policies.tagging import visible as pack_visible  # noqa: PLC0415 (on the path once policy_helpers loads)

    assert model_visible(value) == pack_visible(value)
