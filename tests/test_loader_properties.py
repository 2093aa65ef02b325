"""Property tests of the one way in: whatever the stack file holds, the loader either returns a
StackConfig or raises ConfigError with usable problems. No other exception may reach a user.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.errors import ConfigError
from models.loader import parse_stack_config
from models.stack import AzureStackConfig, KubernetesStackConfig, StackConfig
from tests.scenarios import SCENARIOS, kubernetes_defaults, scenario

SOURCE = "Pulumi.prop.yaml"
FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# The field names the models know, so random data hits real fields, not only unknown ones.
KNOWN_KEYS = [
    "target",
    "environment",
    "tags",
    "azure",
    "kubernetes",
    "endpoints",
    "name",
    "deployments",
    "traffic",
    "mirror_traffic",
    "auth_mode",
    "model",
    "image",
    "instance_type",
    "autoscale",
    "min_instances",
    "max_instances",
    "blue",
    "green",
]

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=40)
    | st.sampled_from(["azure", "kubernetes", "prod", "aad_token", "key", "blue", "100"])
)
keys = st.sampled_from(KNOWN_KEYS) | st.text(max_size=12)
json_like = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=4),
    max_leaves=15,
)
namespaces = st.dictionaries(keys, json_like, max_size=7)


# Every call builds a fresh namespace, safe to mutate.
BUILDERS = [*(partial(scenario, name) for name in SCENARIOS), kubernetes_defaults]


def outcome(namespace: Any) -> StackConfig | ConfigError:
    """Parse, turning ConfigError into a value; any other exception fails the test."""
    try:
        return parse_stack_config(namespace, SOURCE)
    except ConfigError as error:
        return error


@FAST
@given(namespaces)
def test_arbitrary_values_give_a_stack_or_a_config_error(namespace: dict[Any, Any]) -> None:
    assert isinstance(outcome(namespace), StackConfig | ConfigError)


@FAST
@given(st.dictionaries(st.sampled_from(KNOWN_KEYS[:6]), json_like, min_size=1, max_size=6))
def test_arbitrary_values_under_known_keys_give_a_stack_or_a_config_error(
    namespace: dict[str, Any],
) -> None:
    assert isinstance(outcome(namespace), StackConfig | ConfigError)


# ---- mutations of the scenarios -------------------------------------------------------------


def _containers(node: Any) -> list[Any]:
    """Every dict and list in ``node`` (including ``node``), in a stable order."""
    found = [node] if isinstance(node, dict | list) else []
    children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else []
    for child in children:
        found += _containers(child)
    return found


@st.composite
def mutated_scenarios(draw: st.DrawFn) -> dict[str, Any]:
    namespace = draw(st.sampled_from(BUILDERS))()
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        container = draw(st.sampled_from(_containers(namespace)))
        action = draw(st.sampled_from(["set", "delete", "add_unknown"]))
        if isinstance(container, list):
            if not container:
                container.append(draw(json_like))
            index = draw(st.integers(min_value=0, max_value=len(container) - 1))
            if action == "delete":
                del container[index]
            elif action == "set":
                container[index] = draw(json_like)
            else:
                container.append(draw(json_like))
            continue
        if action == "add_unknown" or not container:
            container[draw(st.text(min_size=1, max_size=12))] = draw(json_like)
            continue
        key = draw(st.sampled_from(sorted(container, key=str)))
        if action == "delete":
            del container[key]
        else:
            container[key] = draw(json_like)
    return namespace


@FAST
@given(mutated_scenarios())
def test_mutated_scenarios_give_a_stack_or_a_config_error(namespace: dict[str, Any]) -> None:
    assert isinstance(outcome(namespace), StackConfig | ConfigError)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(BUILDERS), st.text(min_size=1, max_size=20), json_like)
def test_an_unknown_top_level_key_is_always_reported(build: Any, key: str, value: Any) -> None:
    namespace = build()
    if key in AzureStackConfig.model_fields | KubernetesStackConfig.model_fields:
        return
    namespace[key] = value
    result = outcome(namespace)
    assert isinstance(result, ConfigError)
    assert key in [problem.path for problem in result.problems]


@FAST
@given(namespaces | mutated_scenarios())
def test_every_reported_problem_has_a_path_or_message_and_a_fix(namespace: dict[Any, Any]) -> None:
    result = outcome(namespace)
    if isinstance(result, StackConfig):
        return
    assert result.problems, "a ConfigError must carry at least one problem"
    for problem in result.problems:
        assert problem.path or problem.message, problem
        assert problem.message.strip(), problem
        assert problem.fix.strip(), problem
    assert str(result).startswith(f"{SOURCE}: ")
