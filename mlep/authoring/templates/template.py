"""What a template is once read: its parameters and one endpoint body per target."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

from mlep.errors import UsageError
from models.fields import DataSensitivity
from models.stack import Target

TEMPLATES_DIR = Path("templates") / "endpoints"
TARGETS: tuple[str, ...] = get_args(Target)
SENSITIVITIES: tuple[str, ...] = get_args(DataSensitivity)
PLACEHOLDER = re.compile(r"\$\{([a-z][a-z0-9_]*)\}")
ParameterType = Literal["string", "integer"]
# stamp's own keyword arguments; a template parameter may not take these names.
RESERVED = frozenset({"endpoint", "target", "owner", "application", "data_sensitivity"})


@dataclass(frozen=True)
class Parameter:
    """A value the user gives when stamping (`--NAME` on the command line)."""

    name: str
    description: str
    type: ParameterType = "string"
    default: str | int | None = None
    required: bool = True  # False: optional, or has a default
    example: str | None = None
    choices: tuple[str, ...] = ()

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


@dataclass(frozen=True)
class Template:
    """One file of templates/endpoints/: what it is for, its parameters, a body per target."""

    name: str
    path: Path
    description: str
    parameters: tuple[Parameter, ...]
    bodies: Mapping[str, Mapping[str, Any]] = field(repr=False)

    def parameters_for(self, target: str) -> tuple[Parameter, ...]:
        """The parameters the body of ``target`` uses, in declaration order."""
        used = set(placeholders(self.bodies.get(target, {})))
        return tuple(p for p in self.parameters if p.name in used)


def strings(node: Any, loc: list[str | int]) -> Iterator[tuple[list[str | int], str]]:
    """Every string in ``node`` with its location (``loc`` is where ``node`` is)."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from strings(value, [*loc, str(key)])
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from strings(value, [*loc, index])
    elif isinstance(node, str):
        yield loc, node


def placeholders(body: Any) -> Iterator[str]:
    """The parameter names ``body`` uses, in order (with repeats)."""
    for _, text in strings(body, []):
        yield from PLACEHOLDER.findall(text)


def check_target(target: str) -> None:
    """UsageError unless ``target`` is one of TARGETS (the stack file's target)."""
    if target not in TARGETS:
        raise UsageError(
            f"target {target!r} is not one of {', '.join(TARGETS)}; "
            "fix `ml-endpoints:target` in the stack file"
        )
