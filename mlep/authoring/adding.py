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

from rich.console import Console

from mlep.authoring.azml import convert
from mlep.authoring.templates import (
    Input,
    Template,
    list_templates,
    load_template,
    stamp,
    template_inputs,
)
from mlep.engine import Plan, plan_stack, print_plan
from mlep.errors import UsageError
from mlep.stack.edit import append_endpoint, render_endpoint
from mlep.stack.ref import StackRef
from models.fields import name_error

Ask = Callable[[str], str]
EXIT_OK, EXIT_REFUSED = 0, 1


def show_templates(project_dir: Path, out: Console) -> int:
    """`mlep new --list`: each template, and its options per target."""
    for template in list_templates(project_dir):
        out.print(f"{template.name}: {template.description}", markup=False)
        for target in ("azure", "kubernetes"):
            flags = " ".join(
                item.flag + ("" if item.required else "?")
                for item in template_inputs(template, target)
            )
            out.print(f"  {target}: {flags}", markup=False)
    return EXIT_OK


def new_endpoint(
    stack: StackRef,
    endpoint: str,
    *,
    template_name: str,
    options: list[str],
    out: Console,
    err: Console,
    allow_dirty: bool = False,
) -> int:
    """`mlep new`: stamp ``endpoint`` from a template (asking for missing options on a
    terminal) and add it to the stack."""
    config = stack.load()[1]
    template = load_template(stack.project_dir, template_name)
    arguments, parameters = template_values(template, config.target, options, interactive())
    spec = stamp(
        template,
        endpoint=endpoint,
        target=config.target,
        owner=arguments["owner"],
        application=arguments["application"],
        data_sensitivity=arguments["data_sensitivity"],
        parameters=parameters,
    )
    return add_and_report(stack, spec, out, err, allow_dirty=allow_dirty)


def import_endpoint(
    endpoint_file: Path,
    deployment_files: list[Path],
    stack: StackRef | None,
    out: Console,
    err: Console,
    *,
    allow_dirty: bool = False,
    values: dict[str, str] | None = None,
    rename: str | None = None,
    tags: dict[str, str] | None = None,
) -> int:
    """`mlep import`: convert `az ml` YAML (placeholders filled from ``values``, renamed,
    tagged); print the spec, or add it to ``stack``."""
    if rename is not None and (error := name_error(rename)) is not None:
        raise UsageError(f"--name {rename}: {error[0]}; fix: {error[1]}")
    converted = convert(endpoint_file, deployment_files, values, rename=rename, tags=tags)
    spec = converted.spec
    for note in converted.notes:
        err.print(f"note: {note}", markup=False)
    _note_inherited_tags(spec, stack, err)
    if not spec.get("traffic"):
        first = spec["deployments"][0]["name"]
        stack_flag = stack.name if stack is not None else "S"
        err.print(
            f"warning: endpoint {spec['name']} takes no live traffic; once it is deployed, "
            f"give it some with `mlep traffic --stack {stack_flag} --endpoint {spec['name']} "
            f"--set {first}=100`",
            markup=False,
        )
    if stack is None:
        out.file.write(render_endpoint(spec, 0))
        return EXIT_OK
    return add_and_report(stack, spec, out, err, allow_dirty=allow_dirty)


GOVERNANCE_TAGS = ("owner", "application", "data-sensitivity")


def _note_inherited_tags(spec: dict[str, Any], stack: StackRef | None, err: Console) -> None:
    """Imported endpoints carry their governance tags knowingly: say which ones come from the
    stack rather than the files or the flags, and how to set them."""
    own = spec.get("tags") or {}
    missing = [tag for tag in GOVERNANCE_TAGS if tag not in own]
    if not missing:
        return
    flags = " ".join(f"--{tag} VALUE" for tag in missing)
    if stack is None:
        err.print(
            f"note: endpoint {spec['name']} has no {', '.join(missing)} tag of its own: it "
            f"takes the stack's; pass {flags} to give it its own",
            markup=False,
        )
        return
    inherited = stack.load()[1].tags
    said = ", ".join(f"{tag}={inherited[tag]}" for tag in missing if tag in inherited)
    err.print(
        f"note: endpoint {spec['name']} has no {', '.join(missing)} tag of its own"
        + (f"; it inherits {said} from {stack.file_name}" if said else "")
        + f"; pass {flags} to give it its own",
        markup=False,
    )


def add_and_report(
    stack: StackRef, spec: dict[str, Any], out: Console, err: Console, *, allow_dirty: bool = False
) -> int:
    """Add ``spec`` to the stack and say what happened; exit code 1 when it was refused."""
    diff, plan = add_endpoint(stack, spec, allow_dirty=allow_dirty)
    if plan.mandatory_violations:
        print_plan(plan, err)
        err.print(
            f"mlep: endpoint {spec['name']!r} was not added: the stack would have a mandatory "
            f"policy violation (above). {stack.file_name} is unchanged.",
            markup=False,
        )
        return EXIT_REFUSED
    out.file.write(diff)
    out.print(
        f"added endpoint {spec['name']} to {stack.file_name}; `mlep plan --stack {stack.name}` "
        "passes with no mandatory violation. Next: commit it and open a pull request.",
        markup=False,
    )
    return EXIT_OK


def add_endpoint(
    stack: StackRef, spec: dict[str, Any], *, allow_dirty: bool = False
) -> tuple[str, Plan]:
    """Plan the stack file with ``spec`` appended and, when the plan has no mandatory
    violation, write it (atomically, over the text it was made from: mlep/stack/writing.py).
    The file is never written before the plan passes. Returns the diff and the plan."""
    path = stack.path
    stack.load()  # the stack must be valid before it is added to
    before = stack.text()
    try:
        after = append_endpoint(before, spec)
    except UsageError as error:
        raise UsageError(f"{path.name}: {error}") from None
    plan = plan_stack(stack, text=after)
    if not plan.mandatory_violations:
        stack.write(before, after, allow_dirty=allow_dirty)
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
    missing = [i for i in inputs.values() if i.required and i.name not in values]
    if ask is not None:
        for item in missing:
            values[item.name] = _prompt(item, ask)
    elif missing:
        # No terminal to ask at: every missing flag at once, so one more run is enough.
        lines = "".join(
            f"\n  {i.flag}: {i.help}" + (f" (one of {', '.join(i.choices)})" if i.choices else "")
            for i in missing
        )
        command = " ".join(f"{i.flag} {_example(i)}" for i in missing)
        raise UsageError(
            f"template {template.name!r} needs {len(missing)} more option"
            f"{'s' if len(missing) != 1 else ''}:{lines}\nfix: pass {command}"
        )
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


def _example(item: Input) -> str:
    return item.example or (item.choices[0] if item.choices else "VALUE")


def _prompt(item: Input, ask: Ask) -> str:
    choices = f" [{'/'.join(item.choices)}]" if item.choices else ""
    example = f" (e.g. {item.example})" if item.example else ""
    while True:
        answer = ask(f"{item.help}{choices}{example}\n{item.flag}: ").strip()
        if answer and (not item.choices or answer in item.choices):
            return answer
