"""Stamping: the endpoint spec for a new endpoint from a template, validated as `mlep plan`
validates a stack, with every problem named by the flag or argument that caused it."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from typing import Any

from pydantic import TypeAdapter, ValidationError

from mlep.authoring.templates.template import (
    PLACEHOLDER,
    SENSITIVITIES,
    TARGETS,
    Parameter,
    Template,
    check_target,
)
from mlep.errors import UsageError
from models.errors import ConfigError, Problem, format_path
from models.fields import REQUIRED_TAGS, Name, as_plain
from models.loader import parse_stack_config

_NAME_ADAPTER: TypeAdapter[str] = TypeAdapter(Name)
_ABSENT = object()  # an optional parameter that was not given


def stamp(
    template: Template,
    *,
    endpoint: str,
    target: str,
    owner: str,
    application: str,
    data_sensitivity: str,
    parameters: Mapping[str, str],
) -> dict[str, Any]:
    """The endpoint spec (a plain dict) for ``endpoint`` from ``template`` on ``target``.

    Validated as `mlep plan` validates a stack: UsageError lists every problem, each naming
    the flag or argument, the value given and the fix.
    """
    check_target(target)
    _check_name(endpoint)
    tags = _check_tags(owner=owner, application=application, data_sensitivity=data_sensitivity)
    values = _check_parameters(template, target, parameters)
    origins: dict[str, Parameter] = {}
    by_name = {p.name: p for p in template.parameters}
    body = _substitute(template.bodies[target], values, by_name, [], origins)
    spec: dict[str, Any] = {"name": endpoint}
    for key, value in body.items():
        if key == "deployments":
            spec["tags"] = tags
        spec[key] = value
    spec.setdefault("tags", tags)
    _validate(template, target, spec, origins)
    return as_plain(spec)  # type: ignore[no-any-return]


def _check_name(endpoint: str) -> None:
    try:
        _NAME_ADAPTER.validate_python(endpoint)
    except ValidationError as error:
        detail = error.errors()[0]
        fix = (detail.get("ctx") or {}).get("fix", "use lowercase letters, digits and hyphens")
        raise UsageError(f"ENDPOINT {endpoint!r}: endpoint {detail['msg']}; fix: {fix}") from None


def _check_tags(*, owner: str, application: str, data_sensitivity: str) -> dict[str, str]:
    for flag, value, example in (
        ("--owner", owner, "fraud-team"),
        ("--application", application, "fraud-detection"),
    ):
        if not value.strip():
            raise UsageError(f"{flag} {value!r}: the tag is required; fix: e.g. {flag} {example}")
    if data_sensitivity not in SENSITIVITIES:
        close = difflib.get_close_matches(data_sensitivity.lower(), SENSITIVITIES, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise UsageError(
            f"--data-sensitivity {data_sensitivity!r} is not a sensitivity level; "
            f"fix: {hint}use one of {', '.join(SENSITIVITIES)}"
        )
    return dict(zip(REQUIRED_TAGS, (owner, application, data_sensitivity), strict=True))


def _check_parameters(template: Template, target: str, given: Mapping[str, str]) -> dict[str, Any]:
    mine = {p.name: p for p in template.parameters_for(target)}
    problems = []
    for name in given:
        if name in mine:
            continue
        other = next((p for p in template.parameters if p.name == name), None)
        if other is not None:
            others = [t for t in TARGETS if t != target and other in template.parameters_for(t)]
            problems.append(
                f"{other.flag}: applies to {' and '.join(others)} stacks; this stack's target "
                f"is {target}; fix: leave it out"
            )
            continue
        close = difflib.get_close_matches(name, list(mine), n=1, cutoff=0.6)
        hint = f"did you mean {mine[close[0]].flag}? " if close else ""
        flags = ", ".join(p.flag for p in mine.values()) or "none"
        problems.append(
            f"--{name.replace('_', '-')}: template {template.name!r} has no such parameter on "
            f"{target}; fix: {hint}its parameters are {flags}"
        )
    values: dict[str, Any] = {}
    for name, parameter in mine.items():
        raw = given.get(name)
        if raw is None:
            if parameter.required:
                example = f" (e.g. {parameter.example})" if parameter.example else ""
                problems.append(
                    f"{parameter.flag} is required: {parameter.description}{example}; "
                    f"fix: add {parameter.flag} VALUE"
                )
            values[name] = _ABSENT if parameter.default is None else parameter.default
            continue
        if parameter.choices and raw not in parameter.choices:
            problems.append(
                f"{parameter.flag} {raw!r} is not allowed; fix: use one of "
                f"{', '.join(parameter.choices)}"
            )
        if parameter.type == "integer":
            if not re.fullmatch(r"[0-9]+", raw.strip()):
                problems.append(f"{parameter.flag} {raw!r} is not a whole number; fix: e.g. 3")
                continue
            values[name] = int(raw)
        else:
            values[name] = raw
    if problems:
        raise UsageError(_listing(template, target, problems))
    return values


def _substitute(
    node: Any,
    values: Mapping[str, Any],
    by_name: Mapping[str, Parameter],
    loc: list[str | int],
    origins: dict[str, Parameter],
) -> Any:
    """Fill placeholders; optional parameters not given drop their field (returns _ABSENT).

    ``origins`` records which parameter filled (or would have filled) each field path.
    """
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            filled = _substitute(value, values, by_name, [*loc, str(key)], origins)
            if filled is not _ABSENT:
                out[key] = filled
        return out if out or not node else _ABSENT
    if isinstance(node, list):
        items = [
            _substitute(item, values, by_name, [*loc, i], origins) for i, item in enumerate(node)
        ]
        return [item for item in items if item is not _ABSENT]
    if not isinstance(node, str) or "${" not in node:
        return node
    whole = PLACEHOLDER.fullmatch(node)
    for name in PLACEHOLDER.findall(node):
        origins.setdefault(format_path(loc), by_name[name])
    if whole:
        return values[whole[1]]
    return PLACEHOLDER.sub(lambda match: str(values[match[1]]), node)


def _validate(
    template: Template, target: str, spec: dict[str, Any], origins: dict[str, Parameter]
) -> None:
    """Run the models and cross-field rules on a one-endpoint stack around ``spec``."""
    try:
        parse_stack_config(_probe_stack(target, spec), f"template {template.name}")
    except ConfigError as error:
        lines = [_explain(problem, spec, origins, template) for problem in error.problems]
        raise UsageError(_listing(template, target, lines)) from None


def _probe_stack(target: str, spec: dict[str, Any]) -> dict[str, Any]:
    """A valid stack for ``target`` holding only ``spec``: problems found are the endpoint's."""
    guid = "00000000-0000-0000-0000-000000000000"
    namespace: dict[str, Any] = {
        "target": target,
        "environment": "dev",
        "tags": {"owner": "mlep", "application": "mlep", "data-sensitivity": "internal"},
        "endpoints": [spec],
    }
    if target == "azure":
        namespace["azure"] = {
            "resource_group": "rg-mlep",
            "workspace": "mlw-mlep",
            "key_vault": {"name": "kv-mlep"},
        }
    else:
        namespace["kubernetes"] = {
            "namespace": "ml-serving",
            "gateway": {"name": "internal", "namespace": "gateway-system"},
            "hostname": "ml.example.com",
            "entra": {"tenant_id": guid, "audience": "api://mlep"},
            "key_vault": {"name": "kv-mlep", "tenant_id": guid, "client_id": guid},
        }
    return namespace


_TAG_FLAGS = {
    "owner": "--owner",
    "application": "--application",
    "data-sensitivity": "--data-sensitivity",
}


def _explain(
    problem: Problem, spec: dict[str, Any], origins: dict[str, Parameter], template: Template
) -> str:
    prefix = "endpoints[0]"
    path = problem.path[len(prefix) :].lstrip(".") if problem.path.startswith(prefix) else ""
    given = f" {problem.value!r}" if problem.has_value else ""
    detail = f"{problem.message}; fix: {problem.fix}"
    if path == "name":
        return f"ENDPOINT {spec['name']!r}: {detail}"
    if path.startswith("tags."):
        tag = path[len("tags.") :]
        return f"{_TAG_FLAGS.get(tag, '--' + tag)}{given}: {detail}"
    # The parameter that filled this field, or the one field below it (a missing one).
    for where, parameter in sorted(origins.items(), key=lambda item: -len(item[0])):
        if path == where and problem.message == "required field is missing":
            # An optional parameter left out whose neighbour was given (--code without
            # --scoring-script): the field it fills is then required.
            return (
                f"{parameter.flag} is required here ({path} is missing); "
                f"fix: add {parameter.flag} VALUE"
            )
        if path == where or path.startswith(f"{where}.") or where.startswith(f"{path}."):
            return f"{parameter.flag}{given}: {detail} (at {path})"
    return (
        f"template {template.name!r} gives an invalid `{path or problem.path}`{given}: "
        f"{detail}; fix the template ({template.path})"
    )


def _listing(template: Template, target: str, problems: list[str]) -> str:
    head = f"cannot stamp template {template.name!r} for target {target}:"
    return "\n".join([head, *(f"  {line}" for line in problems)])
