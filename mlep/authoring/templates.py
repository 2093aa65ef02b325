"""Endpoint templates: a new endpoint spec from `templates/endpoints/NAME.yaml`.

A template holds one endpoint body per target (`ml-endpoints:target` of the stack decides
which) with `${parameter}` placeholders, and declares those parameters. `stamp` fills them
in, adds the name and the governance tags, and validates the result with the same models and
cross-field rules `mlep plan` uses, so every error names the flag that caused it (`--model`,
`--data-sensitivity`, the ENDPOINT argument), the value given and the fix. The format is
described in templates/README.md.

Substitution works on the parsed YAML, never on text: a value can never inject structure.
A scalar that is exactly one placeholder takes the parameter's typed value (an integer for
`type: integer`); an optional parameter that was not given removes the field it fills (and a
mapping left empty by that); a placeholder inside a longer string is replaced as text.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import TypeAdapter, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from mlep.errors import UsageError
from models.errors import ConfigError, Problem, format_path
from models.fields import REQUIRED_TAGS, DataSensitivity, Name, as_plain
from models.loader import parse_stack_config
from models.stack import Target

TEMPLATES_DIR = Path("templates") / "endpoints"
TARGETS: tuple[str, ...] = get_args(Target)
SENSITIVITIES: tuple[str, ...] = get_args(DataSensitivity)
PLACEHOLDER = re.compile(r"\$\{([a-z][a-z0-9_]*)\}")
ParameterType = Literal["string", "integer"]
# stamp's own keyword arguments; a template parameter may not take these names.
RESERVED = frozenset({"endpoint", "target", "owner", "application", "data_sensitivity"})
_TEMPLATE_KEYS = {"description", "parameters", "endpoint"}
_PARAMETER_KEYS = {"description", "type", "default", "required", "example", "choices"}
_NAME_ADAPTER: TypeAdapter[str] = TypeAdapter(Name)
_ABSENT = object()  # an optional parameter that was not given


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
        used = set(_placeholders(self.bodies.get(target, {})))
        return tuple(p for p in self.parameters if p.name in used)


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


# --- reading templates --------------------------------------------------------------------


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
        data = YAML(typ="safe", pure=True).load(path.read_text())
    except YAMLError as error:
        raise UsageError(f"{path}: not valid YAML ({error}); fix the template") from None
    where = f"{path}"
    if not isinstance(data, dict):
        raise UsageError(f"{where}: a template is a mapping with {sorted(_TEMPLATE_KEYS)}")
    unknown = sorted(set(data) - _TEMPLATE_KEYS)
    missing = sorted(_TEMPLATE_KEYS - set(data))
    if unknown or missing:
        raise UsageError(
            f"{where}: unknown keys {unknown} / missing keys {missing}; a template has exactly "
            f"{sorted(_TEMPLATE_KEYS)}"
        )
    if not isinstance(data["description"], str) or not data["description"].strip():
        raise UsageError(f"{where}: `description` must be a non-empty string")
    parameters = _read_parameters(where, data["parameters"])
    bodies = data["endpoint"]
    if not isinstance(bodies, dict) or set(bodies) != set(TARGETS):
        raise UsageError(f"{where}: `endpoint` needs one body per target: {', '.join(TARGETS)}")
    declared = {p.name: p for p in parameters}
    used: set[str] = set()
    for target, body in bodies.items():
        if not isinstance(body, dict):
            raise UsageError(f"{where}: endpoint.{target} must be a mapping (an endpoint spec)")
        for key in ("name", "tags"):
            if key in body:
                raise UsageError(
                    f"{where}: endpoint.{target}.{key} is set by `mlep new` (the ENDPOINT "
                    "argument and --owner/--application/--data-sensitivity); remove it"
                )
        for loc, text in _strings(body, [target]):
            _check_placeholders(where, loc, text, declared)
            used.update(PLACEHOLDER.findall(text))
    unused = sorted(set(declared) - used)
    if unused:
        raise UsageError(f"{where}: parameters {unused} are declared but used by no target")
    return Template(path.stem, path, " ".join(data["description"].split()), parameters, bodies)


def _read_parameters(where: str, raw: Any) -> tuple[Parameter, ...]:
    if not isinstance(raw, dict):
        raise UsageError(f"{where}: `parameters` must be a mapping of name -> settings")
    parameters = []
    for name, settings in raw.items():
        at = f"{where}: parameters.{name}"
        if not (isinstance(name, str) and re.fullmatch(r"[a-z][a-z0-9_]*", name)):
            raise UsageError(f"{at}: parameter names are lowercase snake_case")
        if name in RESERVED:
            raise UsageError(f"{at}: {name!r} is reserved (a `mlep new` argument)")
        if not isinstance(settings, dict) or set(settings) - _PARAMETER_KEYS:
            raise UsageError(f"{at}: settings are a mapping of {sorted(_PARAMETER_KEYS)}")
        if not isinstance(settings.get("description"), str):
            raise UsageError(f"{at}: `description` (a string) is required")
        kind = settings.get("type", "string")
        if kind not in get_args(ParameterType):
            raise UsageError(f"{at}: type must be string or integer, not {kind!r}")
        default = settings.get("default")
        expected: type = int if kind == "integer" else str
        if not (default is None or type(default) is expected):
            raise UsageError(f"{at}: default {default!r} is not a {kind}")
        assert default is None or isinstance(default, str | int)  # checked just above
        required = settings.get("required", default is None)
        if not isinstance(required, bool) or (required and default is not None):
            raise UsageError(f"{at}: `required` is true or false, and false when it has a default")
        choices = settings.get("choices", [])
        if not (isinstance(choices, list) and all(isinstance(c, str) for c in choices)):
            raise UsageError(f"{at}: `choices` is a list of strings")
        example = settings.get("example")
        parameters.append(
            Parameter(
                name,
                " ".join(settings["description"].split()),
                kind,
                default,
                required,
                None if example is None else str(example),
                tuple(choices),
            )
        )
    return tuple(parameters)


def _strings(node: Any, loc: list[str | int]) -> Iterator[tuple[list[str | int], str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(value, [*loc, str(key)])
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _strings(value, [*loc, index])
    elif isinstance(node, str):
        yield loc, node


def _placeholders(body: Any) -> Iterator[str]:
    for _, text in _strings(body, []):
        yield from PLACEHOLDER.findall(text)


def _check_placeholders(
    where: str, loc: list[str | int], text: str, declared: Mapping[str, Parameter]
) -> None:
    at = f"{where}: endpoint.{format_path(loc)}"
    if "${" in PLACEHOLDER.sub("", text):
        raise UsageError(f"{at}: {text!r} has a `${{` that is not a ${{parameter}} placeholder")
    names = PLACEHOLDER.findall(text)
    whole = PLACEHOLDER.fullmatch(text) is not None
    for name in names:
        parameter = declared.get(name)
        if parameter is None:
            raise UsageError(f"{at}: ${{{name}}} is not a declared parameter")
        if whole:
            continue
        if parameter.type != "string":
            raise UsageError(f"{at}: integer ${{{name}}} must be the whole value")
        if not parameter.required and parameter.default is None:
            raise UsageError(f"{at}: optional ${{{name}}} must be the whole value (it drops it)")


# --- inputs -------------------------------------------------------------------------------

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
    _check_target(target)
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


# --- stamping -----------------------------------------------------------------------------


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
    _check_target(target)
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


def _check_target(target: str) -> None:
    if target not in TARGETS:
        raise UsageError(
            f"target {target!r} is not one of {', '.join(TARGETS)}; "
            "fix `ml-endpoints:target` in the stack file"
        )


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
