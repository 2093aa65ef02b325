"""`mlep plan`: validate a stack file, run the program offline, build the plan document."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from mlep.engine import pack_process, policy, sdk
from mlep.engine.base_rules import (
    base_pack,
    moves_traffic,
    pack_differs,
    relaxations,
    relaxed_finding,
    rules_at,
    strictest,
)
from mlep.engine.diff import ResourceChange, resource_diff
from mlep.engine.manifests import is_generated, write_manifests
from mlep.engine.output import check_out_dir, write_out
from mlep.engine.policy import PackResult, Violation
from mlep.engine.policy_config import environment_config, stack_policy_config
from mlep.engine.runtime import ProgramRun, Registration, run_program
from mlep.errors import UsageError
from mlep.stack.files import StackFile, read_json, read_project
from mlep.stack.previous import PreviousTraffic, is_file_base, load_previous
from mlep.stack.ref import StackRef, validated
from models.stack import StackConfig

PLAN_FILE = "plan.json"


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
    # What the base declared (the program run for the base's stack file, or a plan document's
    # resources) and its config; None without a base (or a base that declares nothing).
    base_resources: tuple[Registration, ...] | None = None
    base_config: StackConfig | None = None

    @property
    def resource_changes(self) -> list[ResourceChange] | None:
        """Created, updated, replaced and deleted resources against the base (engine/diff.py)."""
        if self.base_resources is None:
            return None
        return resource_diff(list(self.base_resources), self.run.resources)

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

    def write_out(self, directory: Path) -> None:
        """Kubernetes: the manifests, one file per object (and nothing else that `kubectl
        apply -f DIR` reads). Azure has no manifests: the plan document. Only a plan without
        mandatory violations is written (the caller checks); see `mlep.engine.output`."""
        project_dir = self.stack_file.path.parent
        if self.config.target == "kubernetes":
            write_manifests(
                self.run.resources, directory, self.stack_file.name, project_dir=project_dir
            )
            return
        write_out(directory, {PLAN_FILE: self.to_json()}, project_dir, _is_plan_document)


def _is_plan_document(head: str) -> bool:
    return head.lstrip().startswith("{") and '"project"' in head


def check_out(directory: Path, project_dir: Path) -> None:
    """Refuse (UsageError) an --out directory mlep may not write, before planning."""
    check_out_dir(
        directory, project_dir, lambda head: is_generated(head) or _is_plan_document(head)
    )


def plan_stack(
    stack: StackRef,
    base: str | None = None,
    policy_config: Path | None = None,
    *,
    text: str | None = None,
) -> Plan:
    """Validate, then run the program under mocks and the policy pack over the result.

    ``base`` is a git revision (its stack file is validated too) or a previous plan document /
    stack output file: the traffic before this change, for the step rules. ``text`` plans that
    content of the stack file instead of the file (an edit not written yet).
    """
    project = read_project(stack.project_dir)
    if text is None:
        stack_file, config = stack.load()
    else:
        stack_file = stack.parse(text)
        config = validated(stack_file, f"{stack.file_name} (edited)")
    previous = load_previous(stack, base) if base else None
    rules = rules_at(stack, base) if base else None
    run = _run(stack, project, stack_file)
    pack = stack.project_dir / "policies"
    own = stack_policy_config(pack, config, previous, policy_config)
    result = _evaluate(pack, run.resources, own)
    violations, not_applicable = result.violations, result.not_applicable
    if rules is not None:
        # Judged by the base's pack and config as well as by the change's own: a finding of
        # either counts (mlep/engine/base_rules.py says why).
        with base_pack(stack, rules.base) as judge:
            by_base = stack_policy_config(pack, config, previous, policy_config, judged_by=rules)
            base_result = _evaluate(judge or pack, run.resources, by_base)
            edited = pack_differs(pack, judge)
        found = relaxations(rules, config, environment_config(pack, config.environment), edited)
        relaxed = [relaxed_finding(found, moves_traffic(rules, config))] if found else []
        violations = strictest(base_result.violations, violations, relaxed)
        not_applicable = sorted(set(not_applicable) & set(base_result.not_applicable))
    base_resources, base_config = _base_run(stack, base, project) if base else (None, None)
    return Plan(
        project,
        stack_file,
        config,
        run,
        violations,
        previous,
        tuple(not_applicable),
        base_resources,
        base_config,
    )


def _base_run(
    stack: StackRef, base: str, project: str
) -> tuple[tuple[Registration, ...] | None, StackConfig | None]:
    """What the base declares: a plan document's resources, or today's program run for the
    stack file at the git revision ``base`` (None when the stack is new there)."""
    if is_file_base(base):
        document = read_json(Path(base), "a plan document", "pass `mlep plan --json` output")
        resources = document.get("resources") if isinstance(document, dict) else None
        if not isinstance(resources, list):
            return None, None  # stack output: traffic only
        return tuple(_registration(r) for r in resources if isinstance(r, dict)), None
    if not stack.exists_at(base):
        return (), None  # a new stack: everything is created
    stack_file, config = stack.load(base)
    run = _run(stack, project, stack_file)
    return tuple(run.resources), config


def _run(stack: StackRef, project: str, stack_file: StackFile) -> ProgramRun:
    """The program run under mocks for ``stack_file`` (the working tree's, or the base's)."""
    program = stack.project_dir / "__main__.py"
    if not program.is_file():
        raise UsageError(
            f"{program} not found: {stack.project_dir} has a Pulumi.yaml but not the "
            "ml-endpoints program; run mlep from the project directory (or pass -C PROJECT)"
        )
    return run_program(
        program,
        project=project,
        stack=stack.name,
        config=stack_file.engine_config,
        secret_keys=stack_file.secret_keys,
    )


def _registration(resource: dict[str, Any]) -> Registration:
    kind = str(resource.get("type", ""))
    return Registration(
        urn=str(resource.get("urn", "")),
        type=kind,
        name=str(resource.get("name", "")),
        custom=":" in kind and not kind.startswith(("ml-endpoints:", "pulumi:")),
        parent=resource.get("parent"),
        dependencies=list(resource.get("dependencies") or []),
        protect=bool(resource.get("protect")),
        inputs=resource.get("inputs") or {},
    )


def _evaluate(pack: Path, resources: list[Any], config: dict[str, Any]) -> PackResult:
    """The policies of a pack: in-process on the proven SDK (mlep/engine/policy.py says
    why), else in the pack's own process (pack_process.py)."""
    evaluate = policy.evaluate if sdk.mode().shortcuts else pack_process.run_pack
    return evaluate(pack, resources, config)
