"""`mlep rollout` and `mlep rollback` from start to finish.

A rollout step checks the target deployment's live metrics first (the guardrails), then
edits the stack file; a breach proposes the rollback instead (and with `--apply` performs
it). A rollback returns all live traffic to the stable deployment. Either way the edit is
written, shown as a diff, and with `--apply` deployed by `pulumi up`.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Console

from mlep.change.guardrails import Decision
from mlep.change.guardrails.run import GuardrailOptions, check, metrics_source, print_decision
from mlep.change.rollout import (
    Change,
    NewDeployment,
    find_endpoint,
    finish_change,
    rollback_change,
    rollout_change,
    split_change,
    start_change,
)
from mlep.engine import plan_stack, pulumi_up, require_cli
from mlep.stack.ref import StackRef
from models.stack import StackConfig

EXIT_OK, EXIT_STOPPED = 0, 1


@dataclass(frozen=True)
class TrafficCommand:
    """What a rollout or rollback was asked to do."""

    stack: StackRef
    endpoint: str
    apply: bool
    allow_dirty: bool = False


def rollout(
    command: TrafficCommand,
    to: str,
    guardrails: GuardrailOptions,
    out: Console,
    err: Console,
) -> int:
    """One rollout step of ``to``; exit code 1 when the guardrails stop it."""
    if command.apply:
        require_cli()
    stack_file, config = command.stack.load()
    change = rollout_change(command.stack, config, command.endpoint, to)
    if not change.changed:
        out.print(change.summary, markup=False)
        return EXIT_OK
    spec = find_endpoint(config, command.endpoint)
    if spec.traffic.get(to, 0) == 0:
        out.print(
            f"guardrails: {to} carries no live traffic yet, so there is nothing to check "
            "before its first step.",
            markup=False,
        )
    elif guardrails.skip:
        err.print(
            f"WARNING: --skip-guardrails: advancing {to} without checking its live "
            "metrics against the endpoint's alert thresholds.",
            markup=False,
        )
    else:
        source = metrics_source(guardrails, config, stack_file)
        decision = check(source, spec, to, spec.rollout.bake_minutes)
        print_decision(decision, source, spec, to, out)
        if decision.verdict != "advance":
            return _stop(command, to, config=config, decision=decision, out=out, err=err)
    return _finish(command, change, out)


def _stop(
    command: TrafficCommand,
    to: str,
    *,
    config: StackConfig,
    decision: Decision,
    out: Console,
    err: Console,
) -> int:
    """A breach proposes (with --apply performs) the rollback; missing data only stops."""
    if decision.verdict == "insufficient":
        err.print(
            f"mlep: rollout of {to} stopped: not enough requests over the bake window to "
            "judge it. Fix: let it take traffic for rollout.bake_minutes and retry (or "
            "--skip-guardrails when you have checked it by other means).",
            markup=False,
        )
        return EXIT_STOPPED
    rollback_command = f"mlep rollback --stack {command.stack.name} --endpoint {command.endpoint}"
    if not command.apply:
        err.print(
            f"mlep: rollout of {to} stopped: its live metrics breach the endpoint's alert "
            f"thresholds. Roll back with:\n  {rollback_command}",
            markup=False,
        )
        return EXIT_STOPPED
    err.print(f"mlep: guardrail breach: rolling back ({rollback_command} --apply)", markup=False)
    change, _ = rollback_change(command.stack, config, command.endpoint, None)
    _finish(command, change, out)
    return EXIT_STOPPED


def rollback(command: TrafficCommand, to: str | None, out: Console) -> int:
    """All live traffic back to ``to`` (default: the stable deployment from git history)."""
    if command.apply:
        require_cli()
    config = command.stack.load()[1]
    change, revision = rollback_change(command.stack, config, command.endpoint, to)
    if revision is not None:
        out.print(
            f"stable deployment: {revision.full} carried all live traffic at "
            f"{revision.commit[:12]} ({revision.subject})",
            markup=False,
        )
    if not change.changed:
        out.print(f"{change.summary}: already the case, nothing to change", markup=False)
        return EXIT_OK
    return _finish(command, change, out)


def start(
    command: TrafficCommand, name: str, new: NewDeployment, out: Console, err: Console
) -> int:
    """Start a rollout: the new deployment beside the stable one at 0 % (or as a shadow),
    planned with the pack before it is written (exit 1 and nothing written on a finding)."""
    return _planned(
        command,
        start_change(command.stack, command.stack.load()[1], command.endpoint, name, new),
        out,
        err,
    )


def finish(command: TrafficCommand, out: Console, err: Console) -> int:
    """After a completed rollout: remove the deployments at 0 % (and their traffic keys)."""
    change = finish_change(command.stack, command.stack.load()[1], command.endpoint)
    if not change.changed:
        out.print(f"{change.summary}: nothing to remove", markup=False)
        return EXIT_OK
    return _planned(command, change, out, err)


def _planned(command: TrafficCommand, change: Change, out: Console, err: Console) -> int:
    if command.apply:
        require_cli()
    plan = plan_stack(command.stack, text=change.after)
    if plan.mandatory_violations:
        for violation in plan.mandatory_violations:
            err.print(f"mlep: {violation.policy}: {violation.message}", markup=False)
        err.print(
            f"mlep: {change.summary}: refused by the rules above; nothing was written.",
            markup=False,
        )
        return EXIT_STOPPED
    return _finish(command, change, out)


def split(
    command: TrafficCommand, live: str | None, mirror: str | None, out: Console, err: Console
) -> int:
    """Traffic set explicitly (`mlep traffic --set/--mirror`), judged by the same step rules as
    a pull request: the edited file is planned against the committed one (its traffic and its
    history's stable deployment) and refused, unwritten, on a mandatory finding."""
    if command.apply:
        require_cli()
    config = command.stack.load()[1]
    change = split_change(command.stack, config, command.endpoint, live, mirror)
    if not change.changed:
        out.print(f"{change.summary}: already the case, nothing to change", markup=False)
        return EXIT_OK
    base = "HEAD" if command.stack.exists_at("HEAD") else None
    if base is None:
        out.print(
            "note: the stack file is not committed, so there is no previous traffic to judge "
            "the step against (TRF-06/07 apply in review)",
            markup=False,
        )
    plan = plan_stack(command.stack, base=base, text=change.after)
    if plan.mandatory_violations:
        for violation in plan.mandatory_violations:
            err.print(f"mlep: {violation.policy}: {violation.message}", markup=False)
        err.print(
            f"mlep: traffic of {command.endpoint} not changed: the split breaks the rules above "
            "(nothing was written). Fix: a smaller step (mlep rollout moves one at a time).",
            markup=False,
        )
        return EXIT_STOPPED
    return _finish(command, change, out)


def _finish(command: TrafficCommand, change: Change, out: Console) -> int:
    """Write the change, show it, and with --apply deploy it."""
    change.write(allow_dirty=command.allow_dirty)
    out.file.write(change.diff())  # verbatim: a diff must not be wrapped or styled
    out.print(f"{change.path.name}: {change.summary}", markup=False)
    for note in change.notes:
        out.print(f"note: {note}", markup=False)
    if not command.apply:
        out.print(
            "next: commit this change and open a pull request (or rerun with --apply)",
            markup=False,
        )
        return EXIT_OK
    new_config = command.stack.load()[1]
    pulumi_up(command.stack, new_config, on_output=out.print)
    return EXIT_OK
