"""The one way in: raw `ml-endpoints:` config values -> a validated, frozen StackConfig."""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from models.errors import MISSING, ConfigError, Problem, format_path
from models.fields import RULE, as_plain
from models.rules import check_stack
from models.stack import StackConfig

NAMESPACE = "ml-endpoints"


def parse_stack_config(values: Mapping[str, Any], source: str) -> StackConfig:
    """Validate the namespace's values (keys without the ``ml-endpoints:`` prefix).

    Raises ConfigError with every problem found; ``source`` names the stack file in messages.
    """
    plain = as_plain(dict(values))
    try:
        stack = StackConfig.model_validate(plain)
    except ValidationError as error:
        raise ConfigError(source, [_problem(detail) for detail in error.errors()]) from None
    problems = check_stack(stack)
    if problems:
        raise ConfigError(source, problems)
    return stack


def _problem(detail: ErrorDetails) -> Problem:
    loc = list(detail["loc"])
    kind = detail["type"]
    context = detail.get("ctx") or {}
    value = detail.get("input", MISSING)
    if kind == RULE:
        if "field" in context:
            loc += context["field"].split(".")
            value = context["value"]
        return Problem(format_path(loc), detail["msg"], context["fix"], value)
    if kind == "extra_forbidden":
        return _unknown_field(loc, value)
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


def _unknown_field(loc: Sequence[Any], value: Any) -> Problem:
    allowed = _fields_at(list(loc[:-1]))
    name = str(loc[-1])
    close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)
    fix = (
        f"did you mean {close[0]!r}?"
        if close
        else (f"remove it; allowed here: {', '.join(allowed)}" if allowed else "remove it")
    )
    where = "ml-endpoints" if len(loc) == 1 else format_path(loc[:-1])
    return Problem(format_path(loc), f"unknown field {name!r} in {where}", fix, value)


def _fields_at(loc: list[Any]) -> list[str]:
    """The field names the model at ``loc`` accepts (for 'did you mean' suggestions)."""
    model: Any = StackConfig
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
