"""`mlep new` and `mlep import`: add one endpoint to a stack file, checked by a full plan.

The endpoint is appended to `ml-endpoints:endpoints` (every other byte of the file stays as
it was), the stack is validated and planned with the policy pack, and the file is written
only if the plan has no mandatory violation: a stamped endpoint never leaves a stack that
`mlep plan` or `pulumi up` would refuse.
"""

from __future__ import annotations

import difflib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mlep.plan import Plan, load_config, plan_stack
from mlep.stackedit import append_endpoint
from mlep.stackfile import UsageError
from mlep.templates import Input, Template, template_inputs

Ask = Callable[[str], str]


def add_endpoint(project_dir: Path, stack: str, spec: dict[str, Any]) -> tuple[str, Plan]:
    """Append ``spec`` to the stack file and plan it; the file is restored when the plan has
    a mandatory violation (or fails). Returns the diff and the plan."""
    path = project_dir / f"Pulumi.{stack}.yaml"
    load_config(project_dir, stack)  # the stack must be valid before it is added to
    before = path.read_text()
    try:
        after = append_endpoint(before, spec)
    except UsageError as error:
        raise UsageError(f"{path.name}: {error}") from None
    path.write_text(after)
    try:
        plan = plan_stack(project_dir, stack)
    except BaseException:
        path.write_text(before)
        raise
    if plan.mandatory_violations:
        path.write_text(before)
    diff = "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True),
            after.splitlines(keepends=True),
            f"a/{path.name}",
            f"b/{path.name}",
        )
    )
    return diff, plan


def template_values(
    template: Template, target: str, given: list[str], ask: Ask | None
) -> tuple[dict[str, str], dict[str, str]]:
    """(tag arguments, template parameters) from ``--flag value`` pairs, asking for the
    required ones that are missing when ``ask`` is given (an interactive terminal)."""
    inputs = {item.flag: item for item in template_inputs(template, target)}
    values = _flags(given, inputs, template.name)
    for item in inputs.values():
        if item.name in values or not item.required:
            continue
        if ask is None:
            raise UsageError(
                f"{item.flag} is required by template {template.name!r} ({item.help}); "
                f"fix: pass {item.flag} {item.example or 'VALUE'}"
            )
        values[item.name] = _prompt(item, ask)
    arguments = {i.name: values[i.name] for i in inputs.values() if i.kind == "argument"}
    parameters = {
        i.name: values[i.name]
        for i in inputs.values()
        if i.kind == "parameter" and i.name in values
    }
    return arguments, parameters


def interactive() -> Ask | None:
    return input if sys.stdin.isatty() else None


def _flags(given: list[str], inputs: dict[str, Input], template: str) -> dict[str, str]:
    values: dict[str, str] = {}
    rest = list(given)
    while rest:
        token = rest.pop(0)
        flag, _, value = token.partition("=")
        if flag not in inputs:
            close = difflib.get_close_matches(flag, list(inputs), n=1)
            hint = f"did you mean {close[0]}? " if close else ""
            raise UsageError(
                f"{token}: template {template!r} takes no such option; {hint}it takes "
                f"{', '.join(inputs)}"
            )
        if not value:
            if not rest or rest[0].startswith("--"):
                raise UsageError(f"{flag} needs a value; fix: {flag} VALUE")
            value = rest.pop(0)
        values[inputs[flag].name] = value
    return values


def _prompt(item: Input, ask: Ask) -> str:
    choices = f" [{'/'.join(item.choices)}]" if item.choices else ""
    example = f" (e.g. {item.example})" if item.example else ""
    while True:
        answer = ask(f"{item.help}{choices}{example}\n{item.flag}: ").strip()
        if answer and (not item.choices or answer in item.choices):
            return answer
