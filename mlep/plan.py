"""`mlep plan`: validate a stack file, run the program offline, build the plan document."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from mlep.history import stable_deployments
from mlep.mock_runtime import ProgramRun, run_program
from mlep.policy import Violation, evaluate
from mlep.policy_config import (
    PreviousTraffic,
    previous_from_config,
    read_previous,
    stack_policy_config,
)
from mlep.stackfile import StackFile, read_project, read_stack, read_stack_at
from models.errors import ConfigError
from models.loader import parse_stack_config
from models.stack import StackConfig


@dataclass(frozen=True)
class Plan:
    """The result of planning one stack: the validated config and what the program declared."""

    project: str
    stack_file: StackFile
    config: StackConfig
    run: ProgramRun
    violations: list[Violation]
    # The traffic before this change (--base), per endpoint; None without a base.
    previous: PreviousTraffic | None = None
    # (policy, reason) of the policies that did not apply, e.g. the step rules without a base.
    not_applicable: tuple[tuple[str, str], ...] = ()

    @property
    def mandatory_violations(self) -> list[Violation]:
        return [v for v in self.violations if v.enforcement == "mandatory"]

    def document(self) -> dict[str, Any]:
        """The plan document of the contract (section 4)."""
        return {
            "project": self.project,
            "stack": self.stack_file.name,
            "target": self.config.target,
            "resources": [
                {
                    "urn": r.urn,
                    "type": r.type,
                    "name": r.name,
                    "parent": r.parent,
                    "dependencies": r.dependencies,
                    "protect": r.protect,
                    "inputs": r.inputs,
                }
                for r in self.run.resources
            ],
            "outputs": self.run.outputs,
            "policy": {"violations": [v.as_dict() for v in self.violations]},
        }

    def to_json(self) -> str:
        # orjson: the stdlib's indented output is pure Python, a second for 500 endpoints.
        options = orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE
        return orjson.dumps(self.document(), option=options).decode()


class StackConfigError(ConfigError):
    """A ConfigError with the line numbers of the stack file (or revision) it is about."""

    def __init__(self, error: ConfigError, lines: dict[str, int]) -> None:
        super().__init__(error.source, error.problems)
        self.lines = lines


def load_config(
    project_dir: Path, stack: str, gitref: str | None = None
) -> tuple[StackFile, StackConfig]:
    """Read and validate a stack file (at ``gitref`` when given).

    Raises StackConfigError/UsageError.
    """
    stack_file = (
        read_stack_at(project_dir, stack, gitref) if gitref else read_stack(project_dir, stack)
    )
    source = stack_file.path.name + (f" at {gitref}" if gitref else "")
    try:
        return stack_file, parse_stack_config(stack_file.namespace, source)
    except ConfigError as error:
        raise StackConfigError(error, stack_file.lines) from None


def plan_stack(
    project_dir: Path,
    stack: str,
    base: str | None = None,
    policy_config: Path | None = None,
) -> Plan:
    """Validate, then run the program under mocks and the policy pack over the result.

    ``base`` is a git revision (its stack file is validated too) or a previous plan document /
    stack output file: the traffic before this change, for the step rules.
    """
    project = read_project(project_dir)
    stack_file, config = load_config(project_dir, stack)
    previous = load_previous(project_dir, stack, base) if base else None
    run = run_program(
        project_dir / "__main__.py",
        project=project,
        stack=stack,
        config=stack_file.engine_config,
        secret_keys=stack_file.secret_keys,
    )
    # The policies of the deployable pack in policies/ (mlep/policy.py: why in-process).
    pack = project_dir / "policies"
    result = evaluate(
        pack, run.resources, stack_policy_config(pack, config, previous, policy_config)
    )
    return Plan(
        project,
        stack_file,
        config,
        run,
        result.violations,
        previous,
        tuple(result.not_applicable),
    )


def load_previous(project_dir: Path, stack: str, base: str) -> PreviousTraffic:
    """The traffic at ``base``: a plan document or stack output file, else a git revision
    (with each endpoint's stable deployment from the history before it)."""
    path = Path(base)
    if path.suffix == ".json" or path.is_file():
        return read_previous(path)
    previous = previous_from_config(load_config(project_dir, stack, base)[1])
    # TRF-08: moving traffic back to the last deployment that carried all of it is a
    # rollback, however large the step.
    for endpoint, deployment in stable_deployments(project_dir, stack, base).items():
        if endpoint in previous:
            previous[endpoint]["stable"] = deployment
    return previous


__all__ = ["ConfigError", "Plan", "StackConfigError", "load_config", "plan_stack"]
