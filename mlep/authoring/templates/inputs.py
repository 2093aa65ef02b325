"""What `mlep new` asks for: the three governance tags, then the template's parameters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from mlep.authoring.templates.template import SENSITIVITIES, Template, check_target


@dataclass(frozen=True)
class Input:
    """Something `mlep new` needs from the user: a flag it can take or prompt for.

    ``kind`` says where the value goes: ``argument`` is a keyword argument of `stamp` (owner,
    application, data_sensitivity), ``parameter`` an entry of its ``parameters``.
    """

    name: str
    flag: str
    help: str
    kind: Literal["argument", "parameter"]
    required: bool = True
    choices: tuple[str, ...] = ()
    default: str | None = None
    example: str | None = None


_TAG_INPUTS = (
    Input(
        "owner",
        "--owner",
        "the team that owns the endpoint (endpoint tag `owner`), e.g. fraud-team",
        "argument",
        example="fraud-team",
    ),
    Input(
        "application",
        "--application",
        "the application the endpoint serves (endpoint tag `application`), e.g. fraud-detection",
        "argument",
        example="fraud-detection",
    ),
    Input(
        "data_sensitivity",
        "--data-sensitivity",
        "how sensitive the data it scores is (endpoint tag `data-sensitivity`)",
        "argument",
        choices=SENSITIVITIES,
    ),
)


def template_inputs(template: Template, target: str) -> list[Input]:
    """Everything the template takes on ``target``: the three tags, then its parameters."""
    check_target(target)
    inputs = list(_TAG_INPUTS)
    for parameter in template.parameters_for(target):
        inputs.append(
            Input(
                parameter.name,
                parameter.flag,
                parameter.description,
                "parameter",
                required=parameter.required,
                choices=parameter.choices,
                default=None if parameter.default is None else str(parameter.default),
                example=parameter.example,
            )
        )
    return inputs


def required_inputs(template: Template, target: str) -> list[Input]:
    """What the user must give (no default, not optional): prompt for those not given."""
    return [item for item in template_inputs(template, target) if item.required]
