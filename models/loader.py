"""The one way in: raw `ml-endpoints:` config values -> a validated, frozen StackConfig."""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Annotated, Any

from pydantic import BaseModel, Field, TypeAdapter, ValidationError
from pydantic_core import ErrorDetails

from models.deployment import ENVIRONMENT_TAGS
from models.errors import MISSING, ConfigError, Problem, format_path
from models.fields import RULE, as_plain
from models.rules import check_stack
from models.stack import AzureStackConfig, KubernetesStackConfig, StackConfig, Target

NAMESPACE = "ml-endpoints"

# `target` picks the model; pydantic puts the target first in each error's location.
_STACK: TypeAdapter[StackConfig] = TypeAdapter(
    Annotated[StackConfig, Field(discriminator="target")]
)
_MODELS: dict[str, type[BaseModel]] = {
    "azure": AzureStackConfig,
    "kubernetes": KubernetesStackConfig,
}
_TARGET: TypeAdapter[str] = TypeAdapter(Target)

# Fields one target requires and the other does not have: how to add them.
_REQUIRED_ON_TARGET = {
    "model": "reference a registered model, e.g. 'azureml:fraud-model:3'",
    "instance_type": "pick a VM size, e.g. 'Standard_DS3_v2'",
    "image": "give the bento image with a tag, e.g. 'acr.io/fraud:1.4.2'",
}


def parse_stack_config(values: Mapping[str, Any], source: str) -> StackConfig:
    """Validate the namespace's values (keys without the ``ml-endpoints:`` prefix).

    Raises ConfigError with every problem found; ``source`` names the stack file in messages.
    """
    plain = _without_null_blocks(as_plain(dict(values)))
    try:
        stack = _STACK.validate_python(plain)
    except ValidationError as error:
        raise ConfigError(source, _problems(plain, error)) from None
    problems = check_stack(stack)
    if problems:
        raise ConfigError(source, problems)
    return stack


def _without_null_blocks(plain: dict[str, Any]) -> dict[str, Any]:
    """A target block given as null (`ml-endpoints:azure:` with nothing below) is absent."""
    return {key: value for key, value in plain.items() if not (key in _MODELS and value is None)}


def _problems(plain: dict[str, Any], error: ValidationError) -> list[Problem]:
    target = plain.get("target")
    if not (isinstance(target, str) and target in _MODELS):
        return _without_target(plain)
    problems = []
    for detail in error.errors():
        loc = _plain_loc(detail["loc"])[1:]  # without the target the discriminator puts first
        problems.append(_misfit(target, loc, detail) or _problem(target, loc, detail))
    return problems


def _without_target(plain: dict[str, Any]) -> list[Problem]:
    """Target missing or unknown: report it, and every problem that does not depend on it
    (each field given is checked as the target that has it would check it)."""
    problems = _target_field(plain)
    seen = {(p.path, p.message) for p in problems}
    for target, model in _MODELS.items():
        try:
            model.model_validate({**plain, "target": target})
        except ValidationError as error:
            for detail in error.errors():
                loc = _plain_loc(detail["loc"])
                if _misfit(target, loc, detail):
                    continue
                problem = _problem(target, loc, detail)
                if (problem.path, problem.message) not in seen:
                    seen.add((problem.path, problem.message))
                    problems.append(problem)
    return problems


def _plain_loc(loc: Sequence[Any]) -> list[Any]:
    """A pydantic error location without the tag a discriminated union puts after the field
    (``environment.container.image`` is the user's ``environment.image``)."""
    plain: list[Any] = []
    for part in loc:
        if plain and plain[-1] == "environment" and part in ENVIRONMENT_TAGS:
            continue
        plain.append(part)
    return plain


def _target_field(plain: dict[str, Any]) -> list[Problem]:
    """What is wrong with the `target` field itself: missing, or not a known target."""
    if "target" not in plain:
        return [Problem("target", "required field is missing", "add `target: ...`")]
    try:
        _TARGET.validate_python(plain["target"], strict=True)
    except ValidationError as error:
        return [
            Problem(
                "target",
                *_describe(d["type"], d["msg"], d.get("ctx") or {}, ["target"]),
                d.get("input", MISSING),
            )
            for d in error.errors()
        ]
    return []


def _misfit(target: str, loc: list[Any], detail: ErrorDetails) -> Problem | None:
    """The problem when a field does not fit the target: it belongs to the other target, or
    one the target requires is missing (or null). None for every other error."""
    if not loc:
        return None
    name, parent, path = str(loc[-1]), loc[:-1], format_path(loc)
    own = _fields_at(target, parent)
    other = _fields_at(_other(target), parent)
    if detail["type"] == "extra_forbidden" and name in other and name not in own:
        if not parent:
            return Problem(
                name,
                f"target is {target!r}; the ml-endpoints:{name} block would be ignored",
                f"remove ml-endpoints:{name}, or set target: {_other(target)}",
            )
        return Problem(
            path,
            f"{name} does not apply to the {target} target and would be ignored",
            f"remove {name}",
            detail.get("input", MISSING),
        )
    # A null is how YAML writes a field given without a value: as good as missing.
    absent = detail["type"] == "missing" or detail.get("input", MISSING) is None
    if absent and name in own and name not in other:
        if not parent:
            return Problem(
                name,
                f"target is {target!r} but the ml-endpoints:{name} block is missing",
                f"add ml-endpoints:{name} (see the README's config reference)",
            )
        if name in _REQUIRED_ON_TARGET:
            return Problem(
                path, f"{name} is required on the {target} target", _REQUIRED_ON_TARGET[name]
            )
    return None


def _other(target: str) -> str:
    return next(t for t in _MODELS if t != target)


def _problem(target: str, loc: list[Any], detail: ErrorDetails) -> Problem:
    kind = detail["type"]
    context = detail.get("ctx") or {}
    value = detail.get("input", MISSING)
    if kind == RULE:
        if "field" in context:
            loc = [*loc, *context["field"].split(".")]
            value = context["value"]
        return Problem(format_path(loc), detail["msg"], context["fix"], value)
    if kind == "extra_forbidden":
        return _unknown_field(target, loc, value)
    if kind == "missing":
        return Problem(format_path(loc), "required field is missing", f"add `{loc[-1]}: ...`")
    message, fix = _describe(kind, detail["msg"], context, loc)
    return Problem(format_path(loc), message, fix, value)


# pydantic error type -> (message, fix). Range and length messages keep pydantic's own
# wording (they quote the limit); everything else gets a sentence that says how to fix it.
_TYPE_ERRORS: dict[str, tuple[str, str]] = {
    kind: (
        "must be a whole number (not a string, decimal or true/false)",
        "write the number without quotes, e.g. 25",
    )
    for kind in ("int_type", "int_parsing", "int_from_float")
} | {
    "float_type": ("must be a number (not a string or true/false)", "write it without quotes"),
    "float_parsing": ("must be a number (not a string or true/false)", "write it without quotes"),
    "bool_type": ("must be true or false", "write true or false without quotes"),
    "string_type": ("must be a string", 'quote the value, e.g. "1.0"'),
    "dict_type": ("must be a mapping", "write it as `key: value` lines under the field"),
    "model_type": ("must be a mapping of fields", "write it as `field: value` lines"),
    "model_attributes_type": ("must be a mapping of fields", "write it as `field: value` lines"),
    "list_type": ("must be a list", "write it as a YAML list (`- item` lines or [a, b])"),
}
_RANGE_ERRORS = {
    "greater_than_equal": "use a larger value",
    "greater_than": "use a larger value",
    "less_than_equal": "use a smaller value",
    "less_than": "use a smaller value",
    "too_short": "add items to reach the minimum",
    "too_long": "remove items to fit the maximum",
    "string_too_short": "use a longer value",
    "string_too_long": "use a shorter value",
}


def _describe(kind: str, msg: str, context: dict[str, Any], loc: list[Any]) -> tuple[str, str]:
    if kind in _TYPE_ERRORS:
        return _TYPE_ERRORS[kind]
    if kind in _RANGE_ERRORS:
        return msg.replace("Input should", "must").replace("Value should", "must"), (
            _RANGE_ERRORS[kind]
        )
    if kind == "literal_error":
        return f"must be one of {context.get('expected', '')}", "use one of the listed values"
    if kind == "string_pattern_mismatch":
        return (
            f"has an invalid format (expected to match {context.get('pattern', '?')})",
            f"see the README's config reference for {loc[-1]!s}",
        )
    return msg, "see the README's config reference"


def _unknown_field(target: str, loc: Sequence[Any], value: Any) -> Problem:
    allowed = _fields_at(target, list(loc[:-1]))
    name = str(loc[-1])
    close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)
    fix = (
        f"did you mean {close[0]!r}?"
        if close
        else (f"remove it; allowed here: {', '.join(allowed)}" if allowed else "remove it")
    )
    where = "ml-endpoints" if len(loc) == 1 else format_path(loc[:-1])
    return Problem(format_path(loc), f"unknown field {name!r} in {where}", fix, value)


def _fields_at(target: str, loc: list[Any]) -> list[str]:
    """The field names the model at ``loc`` accepts on ``target`` (for 'did you mean')."""
    model: Any = _MODELS[target]
    for part in loc:
        if isinstance(part, int) or model is None:
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return []
        field = model.model_fields.get(part)
        model = _model_in(field.annotation) if field else None
    if isinstance(model, type) and issubclass(model, BaseModel):
        return [f.alias or name for name, f in model.model_fields.items()]
    return []


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """Find the pydantic model inside Optional[...], list[...] or Annotated[...]."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin in (list, typing.Union, types.UnionType, typing.Annotated):
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found:
                return found
    return None
