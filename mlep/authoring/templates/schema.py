"""The template file format as pydantic models, and a validation error as the one problem a
template author sees first (file, field, what is wrong and how to fix it).

The models check the shape (keys, types, names); what depends on the bodies (placeholders of
declared parameters, fields `mlep new` sets) is checked by `reading` on the validated file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import ErrorDetails, PydanticCustomError

from mlep.authoring.templates.template import RESERVED, TARGETS, ParameterType
from models.errors import MISSING, Problem


def _not_reserved(name: str) -> str:
    if name in RESERVED:
        raise PydanticCustomError("reserved", "{name!r} is reserved", {"name": name})
    return name


def _not_blank(text: str) -> str:
    if not text.strip():
        raise PydanticCustomError("blank", "is blank")
    return text


ParameterName = Annotated[
    StrictStr, Field(pattern=r"^[a-z][a-z0-9_]*$"), AfterValidator(_not_reserved)
]


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ParameterSettings(_File):
    """One entry of `parameters:` (the order of the fields is the order they are checked)."""

    description: StrictStr
    type: ParameterType = "string"
    default: StrictStr | StrictInt | None = None
    # Left out: required unless it has a default (is_required); null is not "left out".
    required: StrictBool = True
    example: Any = None
    choices: list[StrictStr] = []

    @field_validator("default")
    @classmethod
    def _default_has_the_type(cls, default: str | int | None, info: ValidationInfo) -> Any:
        kind = info.data.get("type")  # absent when the type itself is wrong
        expected = int if kind == "integer" else str
        if kind is not None and default is not None and type(default) is not expected:
            raise PydanticCustomError("default_type", "the default is not of the type")
        return default

    @field_validator("required")
    @classmethod
    def _optional_with_a_default(cls, required: bool, info: ValidationInfo) -> bool:
        if required and info.data.get("default") is not None:
            raise PydanticCustomError("required_default", "required with a default")
        return required

    @property
    def is_required(self) -> bool:
        """Whether `mlep new` needs a value for it: `required` as written, else when it has
        no default."""
        return self.required if "required" in self.model_fields_set else self.default is None


class EndpointBodies(_File):
    """`endpoint:`, one endpoint spec per target (TARGETS; a test keeps the two equal)."""

    azure: dict[Any, Any]
    kubernetes: dict[Any, Any]


class TemplateFile(_File):
    """A file of templates/endpoints/."""

    description: Annotated[StrictStr, AfterValidator(_not_blank)]
    parameters: dict[ParameterName, ParameterSettings]
    endpoint: EndpointBodies


TEMPLATE_KEYS = sorted(TemplateFile.model_fields)
PARAMETER_KEYS = sorted(ParameterSettings.model_fields)


def first_problem(error: ValidationError, data: Any, path: Path) -> Problem:
    """The problem a template author is shown for ``error`` (about ``data``, read from
    ``path``): the first in the order the file is read, top-level keys first, then the
    description, each parameter (its name, its settings' keys, each setting), the endpoint's
    targets and each body."""
    details = error.errors()
    detail = min(details, key=lambda item: _rank(item, data))
    loc = detail["loc"]
    if not loc:
        problem = Problem("", f"a template is a mapping with {TEMPLATE_KEYS}", "")
    elif _is_top_level_key(detail):
        problem = _keys_problem(details)
    elif loc[0] == "parameters" and len(loc) > 1:
        problem = _parameter_problem(detail, data["parameters"])
    else:
        problem = _section_problem(detail)
    return replace(problem, source=str(path))


def _rank(detail: ErrorDetails, data: Any) -> tuple[int, ...]:
    """Where the problem comes in the order the file is read (the order of first_problem)."""
    loc = detail["loc"]
    if not loc:
        return (0,)
    if _is_top_level_key(detail):
        return (1,)
    if loc[0] == "description":
        return (2,)
    if loc[0] == "parameters":
        return (3, *_parameter_rank(detail, data["parameters"]))
    return (4, *_endpoint_rank(detail, data["endpoint"]))


def _parameter_rank(detail: ErrorDetails, parameters: Any) -> tuple[int, ...]:
    """The parameters mapping; then each parameter in file order: its name, the keys of its
    settings, each setting in the order of ParameterSettings' fields."""
    rest = detail["loc"][1:]
    if not rest:
        return (-1,)
    position = list(parameters).index(rest[0])
    if rest[1:] == ("[key]",):
        return (position, 0)
    shape = len(rest) == 1 or detail["type"] == "extra_forbidden"
    return (position, 1 if shape else 2)


def _endpoint_rank(detail: ErrorDetails, bodies: Any) -> tuple[int, ...]:
    """The targets first, then each body in file order."""
    rest = detail["loc"][1:]
    if not rest or (len(rest) == 1 and detail["type"] in ("missing", "extra_forbidden")):
        return (-1,)
    return (list(bodies).index(rest[0]),)


def _is_top_level_key(detail: ErrorDetails) -> bool:
    return len(detail["loc"]) == 1 and detail["type"] in ("missing", "extra_forbidden")


def _keys_problem(details: list[ErrorDetails]) -> Problem:
    def keys(kind: str) -> list[Any]:
        return sorted(d["loc"][0] for d in details if _is_top_level_key(d) and d["type"] == kind)

    return Problem(
        "",
        f"unknown keys {keys('extra_forbidden')} / missing keys {keys('missing')}",
        f"a template has exactly {TEMPLATE_KEYS}",
    )


def _section_problem(detail: ErrorDetails) -> Problem:
    """A problem with the description, the parameters mapping, or the endpoint's bodies."""
    section, *rest = detail["loc"]
    value = detail.get("input", MISSING)
    if section == "description":
        return Problem("description", "`description` must be a non-empty string", "", value)
    if section == "parameters":
        return Problem(
            "parameters", "`parameters` must be a mapping of name -> settings", "", value
        )
    if len(rest) == 1 and detail["type"] not in ("missing", "extra_forbidden"):
        target = rest[0]
        message = f"endpoint.{target} must be a mapping (an endpoint spec)"
        return Problem(f"endpoint.{target}", message, "", value)
    return Problem("endpoint", f"`endpoint` needs one body per target: {', '.join(TARGETS)}", "")


def _parameter_problem(detail: ErrorDetails, parameters: dict[Any, Any]) -> Problem:
    """A problem with the name or the settings of one parameter."""
    name, *rest = detail["loc"][1:]
    settings = parameters[name]
    value = detail.get("input", MISSING)
    if rest == ["[key]"]:
        text = (
            f"{name!r} is reserved (a `mlep new` argument)"
            if detail["type"] == "reserved"
            else "parameter names are lowercase snake_case"
        )
    elif not rest or detail["type"] == "extra_forbidden":
        text = f"settings are a mapping of {PARAMETER_KEYS}"
    else:
        text = _SETTING_PROBLEMS[str(rest[0])](settings)
    return Problem(f"parameters.{name}", f"parameters.{name}: {text}", "", value)


_SETTING_PROBLEMS: dict[str, Callable[[Any], str]] = {
    "description": lambda _: "`description` (a string) is required",
    "type": lambda settings: f"type must be string or integer, not {settings['type']!r}",
    "default": lambda settings: (
        f"default {settings['default']!r} is not a {settings.get('type', 'string')}"
    ),
    "required": lambda _: "`required` is true or false, and false when it has a default",
    "choices": lambda _: "`choices` is a list of strings",
}
