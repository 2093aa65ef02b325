"""Finding and reading template files: the format checked by the schema models, then what
depends on the bodies (placeholders, fields `mlep new` sets). A bad template is a UsageError
naming the file, the field and what is wrong."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from mlep.authoring.templates.schema import ParameterSettings, TemplateFile, first_problem
from mlep.authoring.templates.template import (
    PLACEHOLDER,
    TEMPLATES_DIR,
    Parameter,
    Template,
    strings,
)
from mlep.errors import UsageError
from mlep.stack import limits
from mlep.stack.files import CONSTRUCTOR_FAILURES
from models.errors import Problem, format_path


def list_templates(project_dir: Path) -> list[Template]:
    """Every template in ``project_dir``/templates/endpoints, by name."""
    directory = project_dir / TEMPLATES_DIR
    return [_read(path) for path in sorted(directory.glob("*.yaml"))]


def load_template(project_dir: Path, name: str) -> Template:
    """The template ``name``; UsageError naming the templates there when there is none."""
    directory = project_dir / TEMPLATES_DIR
    available = sorted(path.stem for path in directory.glob("*.yaml"))
    if name not in available:
        close = difflib.get_close_matches(name, available, n=1, cutoff=0.5)
        hint = f"did you mean {close[0]!r}? " if close else ""
        listed = ", ".join(available) if available else f"none (no {TEMPLATES_DIR}/ here)"
        raise UsageError(
            f"--template {name!r}: no such endpoint template in {directory}; "
            f"{hint}templates: {listed}"
        )
    return _read(directory / f"{name}.yaml")


def _read(path: Path) -> Template:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise _invalid(path, "", f"cannot read it ({error})", "fix the template file") from None
    limits.check_text(text, str(path))  # the limits of every YAML mlep reads
    try:
        data = YAML(typ="safe", pure=True).load(text)
    except (YAMLError, *CONSTRUCTOR_FAILURES) as error:
        raise _invalid(path, "", f"not valid YAML ({error})", "fix the template") from None
    limits.check_value(data, str(path), text)
    try:
        file = TemplateFile.model_validate(data)
    except ValidationError as error:
        raise UsageError(first_problem(error, data, path).one_line()) from None
    parameters = tuple(_parameter(name, settings) for name, settings in file.parameters.items())
    # In the file's order, so the first problem reported is the first in the file.
    bodies = {target: getattr(file.endpoint, target) for target in data["endpoint"]}
    _check_bodies(path, bodies, {p.name: p for p in parameters})
    return Template(path.stem, path, " ".join(file.description.split()), parameters, bodies)


def _parameter(name: str, settings: ParameterSettings) -> Parameter:
    return Parameter(
        name,
        " ".join(settings.description.split()),
        settings.type,
        settings.default,
        settings.is_required,
        None if settings.example is None else str(settings.example),
        tuple(settings.choices),
    )


def _check_bodies(
    path: Path, bodies: Mapping[str, Mapping[Any, Any]], declared: Mapping[str, Parameter]
) -> None:
    """No body sets what `mlep new` sets; every placeholder is a declared parameter, used as
    its type allows; every parameter is used by some target."""
    used: set[str] = set()
    for target, body in bodies.items():
        for key in ("name", "tags"):
            if key in body:
                field = f"endpoint.{target}.{key}"
                raise _invalid(
                    path,
                    field,
                    f"{field} is set by `mlep new` (the ENDPOINT argument and "
                    "--owner/--application/--data-sensitivity)",
                    "remove it",
                )
        for loc, text in strings(body, [target]):
            _check_placeholders(path, loc, text, declared)
            used.update(PLACEHOLDER.findall(text))
    unused = sorted(set(declared) - used)
    if unused:
        message = f"parameters {unused} are declared but used by no target"
        raise _invalid(path, "parameters", message)


def _check_placeholders(
    path: Path, loc: list[str | int], text: str, declared: Mapping[str, Parameter]
) -> None:
    field = f"endpoint.{format_path(loc)}"
    if "${" in PLACEHOLDER.sub("", text):
        message = f"{text!r} has a `${{` that is not a ${{parameter}} placeholder"
        raise _invalid(path, field, f"{field}: {message}")
    names = PLACEHOLDER.findall(text)
    whole = PLACEHOLDER.fullmatch(text) is not None
    for name in names:
        parameter = declared.get(name)
        if parameter is None:
            raise _invalid(path, field, f"{field}: ${{{name}}} is not a declared parameter")
        if whole:
            continue
        if parameter.type != "string":
            raise _invalid(path, field, f"{field}: integer ${{{name}}} must be the whole value")
        if not parameter.required and parameter.default is None:
            message = f"optional ${{{name}}} must be the whole value (it drops it)"
            raise _invalid(path, field, f"{field}: {message}")


def _invalid(path: Path, field: str, message: str, fix: str = "") -> UsageError:
    """The error for a bad template: ``file: message; fix``."""
    return UsageError(Problem(field, message, fix, source=str(path)).one_line())
