"""`mlep review`: the traffic review of a pull request.

Compares each endpoint of a stack at a base revision with the working tree: live and mirrored
traffic per deployment before and after, the step size, deployments added or removed, the
policy verdicts with the base's traffic as previous state (the step rules), and the command
that undoes the change. Markdown for a pull-request comment, or JSON for tools.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mlep.engine import (
    Plan,
    ResourceChange,
    Violation,
    instances,
    plan_stack,
    resource_summary,
    value_text,
)
from mlep.stack import git
from mlep.stack.ref import StackRef
from models.endpoint import EndpointSpec
from models.stack import StackConfig

COMMENT_MARKER = "<!-- mlep-review -->"  # lets CI update its comment instead of adding one


@dataclass(frozen=True)
class DeploymentRow:
    name: str
    live_before: int | None  # None: the deployment does not exist on that side
    live_after: int | None
    mirror_before: int
    mirror_after: int

    @property
    def change(self) -> int:
        return (self.live_after or 0) - (self.live_before or 0)


@dataclass(frozen=True)
class EndpointReview:
    name: str
    status: str  # new | removed | changed | unchanged
    summary: str  # e.g. "step: green 25% -> 60% (+35)"
    step_percent: int  # the largest rise of a live share
    deployments: list[DeploymentRow]
    added: list[str]
    removed: list[str]
    rollback_command: str | None
    violations: list[dict[str, str]] = field(default_factory=list)
    # What the live traffic change is: start | step | explicit split | completion | rollback |
    # traffic lowered (or None when live traffic does not change); see `_kind`.
    kind: str | None = None


@dataclass(frozen=True)
class Review:
    stack: str
    base: str
    target: str
    endpoints: list[EndpointReview]
    violations: list[dict[str, str]]  # every finding, endpoint ones included
    not_applicable: list[tuple[str, str]]
    # Against the base, as `pulumi preview --diff` would show it (mlep/engine/diff.py), and
    # each endpoint's instances before and after.
    resources: list[ResourceChange] = field(default_factory=list)
    instances: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def mandatory(self) -> int:
        return sum(v["enforcement"] == "mandatory" for v in self.violations)

    def document(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "base": self.base,
            "target": self.target,
            "verdict": "fail" if self.mandatory else "pass",
            "endpoints": [
                {**asdict(e), "deployments": [asdict(d) for d in e.deployments]}
                for e in self.endpoints
            ],
            "policy": {
                "violations": self.violations,
                "not_applicable": [{"policy": p, "reason": r} for p, r in self.not_applicable],
            },
            "resources": [change.document() for change in self.resources],
            "instances": self.instances,
        }


def review_stack(stack: StackRef, base: str, policy_config: Path | None = None) -> Review:
    """Plan the working tree with ``base`` as previous traffic, and compare the two."""
    before = _config_at(stack, base)
    plan = plan_stack(stack, base=base if before else None, policy_config=policy_config)
    # The stable deployments plan_stack found in the base's history for the step rules.
    stable = {name: entry.stable for name, entry in (plan.previous or {}).items()}
    owners = _violations_by_endpoint(plan)
    old = {spec.name: spec for spec in before.endpoints} if before else {}
    new = {spec.name: spec for spec in plan.config.endpoints}
    endpoints = [
        _endpoint(
            name,
            old.get(name),
            new=new.get(name),
            plan=plan,
            stable=stable.get(name),
            violations=[v.as_dict() for v in owners.get(name, [])],
        )
        for name in [*new, *(n for n in old if n not in new)]
    ]
    before_instances, after_instances = instances(before), instances(plan.config)
    return Review(
        stack.name,
        base,
        plan.config.target,
        endpoints,
        [v.as_dict() for v in plan.violations],
        list(plan.not_applicable),
        plan.resource_changes or [],
        {
            name: {
                "before": before_instances.get(name, "none"),
                "after": after_instances.get(name, "none"),
            }
            for name in [
                *after_instances,
                *(n for n in before_instances if n not in after_instances),
            ]
            if before_instances.get(name) != after_instances.get(name)
        },
    )


def _config_at(stack: StackRef, base: str) -> StackConfig | None:
    """The stack at ``base``; None when the stack file did not exist there (a new stack)."""
    if not stack.exists_at(base) and git.is_commit(stack.project_dir, base):
        return None  # the revision exists and the stack file is new in this change
    return stack.load(base)[1]  # raises a clear UsageError otherwise


def _endpoint(
    name: str,
    old: EndpointSpec | None,
    *,
    new: EndpointSpec | None,
    plan: Plan,
    stable: str | None,
    violations: list[dict[str, str]],
) -> EndpointReview:
    names = list(dict.fromkeys([*_deployments(new), *_deployments(old)]))
    rows = [
        DeploymentRow(
            d,
            _share(old, d),
            _share(new, d),
            old.mirror_traffic.get(d, 0) if old else 0,
            new.mirror_traffic.get(d, 0) if new else 0,
        )
        for d in names
    ]
    added = [d for d in _deployments(new) if d not in _deployments(old)]
    removed = [d for d in _deployments(old) if d not in _deployments(new)]
    rises = {r.name: r.change for r in rows if r.change > 0}
    # A new endpoint's first traffic is no step: the step rules leave it free.
    step = max(rises.values(), default=0) if old else 0
    kind = None
    if new is None:
        status, summary = "removed", "endpoint removed (its deployments and traffic go with it)"
    elif old is None:
        status, summary = "new", "new endpoint: " + _shares_text(new.traffic)
    else:
        kind = _kind(rows, rises, old, new, stable)
        parts = _describe(rows, rises, kind)
        parts += [f"deployment {d} added" for d in added]
        parts += [f"deployment {d} removed" for d in removed]
        status = "changed" if parts else "unchanged"
        summary = "; ".join(parts) or "no traffic change"
    command = None
    if old is not None and new is not None and rises and kind != "rollback":
        command = _rollback_command(plan, new, old, stable)
    return EndpointReview(
        name, status, summary, step, rows, added, removed, command, violations, kind
    )


def _kind(
    rows: list[DeploymentRow],
    rises: dict[str, int],
    old: EndpointSpec,
    new: EndpointSpec,
    stable: str | None,
) -> str | None:
    """What the change does to live traffic, from the same history as the policy pack:

    - rollback: every share that rises goes to where a rollback returns (`rollback_targets`:
      the stable deployment), whether the rollout stood at 5 % or at 100 %;
    - completion: a deployment reaches 100 % (its predecessor may still be rolled back to);
    - start: a deployment without live traffic gets its first share (a canary);
    - step: each rising share lands on the endpoint's `rollout.steps`;
    - explicit split: any other rise (a split set by hand, `az ml --traffic` style);
    - traffic lowered: shares only fall (the rest goes nowhere live);
    None when live traffic does not change."""
    if rises:
        if set(rises) <= rollback_targets(old.traffic, stable):
            return "rollback"
        if any(new.traffic.get(d) == 100 for d in rises):
            return "completion"
        if any(old.traffic.get(d, 0) == 0 for d in rises):
            return "start"
        if all(new.traffic.get(d) in new.rollout.steps for d in rises):
            return "step"
        return "explicit split"
    return "traffic lowered" if any(r.change for r in rows) else None


def _describe(rows: list[DeploymentRow], rises: dict[str, int], kind: str | None) -> list[str]:
    parts = []
    if rises:
        moves = ", ".join(
            f"{r.name} {r.live_before or 0}% -> {r.live_after}% (+{r.change})"
            for r in rows
            if r.name in rises
        )
        parts.append(f"{kind}: {moves}")
    elif kind is not None:
        parts.append(f"{kind}: " + ", ".join(f"{r.name} {r.change}" for r in rows if r.change))
    mirrors = [r for r in rows if r.mirror_before != r.mirror_after]
    if mirrors:
        parts.append(
            "mirror: "
            + ", ".join(f"{r.name} {r.mirror_before}% -> {r.mirror_after}%" for r in mirrors)
        )
    return parts


def rollback_targets(before: dict[str, int], stable: str | None) -> set[str]:
    """Where a rollback returns live traffic: the stable deployment from history, else the
    deployments with the largest share before. The policy pack's TRF-08 uses the same rule
    (policies/mlep_policies/traffic_steps.py, rollback_targets; a test holds them equal)."""
    if stable is not None:
        return {stable}
    top = max(before.values(), default=0)
    return {d for d, share in before.items() if share == top and top > 0}


def _rollback_command(
    plan: Plan, new: EndpointSpec, old: EndpointSpec, stable: str | None
) -> str | None:
    """The command that returns live traffic to where it was safe: the stable deployment (the
    last to carry everything), else the base's dominant one, if it is still deployed."""
    deployed = set(_deployments(new))
    candidates = [stable] if stable else []
    if old.traffic and max(old.traffic.values()) > 0:
        candidates.append(max(old.traffic, key=lambda d: old.traffic[d]))
    to = next((c for c in candidates if c in deployed), None)
    if to is None:
        return None
    return f"mlep rollback --stack {plan.stack_file.name} --endpoint {new.name} --to {to}"


def _violations_by_endpoint(plan: Plan) -> dict[str, list[Violation]]:
    """Findings on an endpoint's component or anything below it, by endpoint name."""
    resources = {r.urn: r for r in plan.run.resources}
    endpoints = {spec.name for spec in plan.config.endpoints}
    found: dict[str, list[Violation]] = {}
    for violation in plan.violations:
        urn: str | None = violation.urn
        while urn and urn in resources:
            resource = resources[urn]
            if not resource.custom and resource.name in endpoints:
                found.setdefault(resource.name, []).append(violation)
                break
            urn = resource.parent
    return found


def _deployments(spec: EndpointSpec | None) -> list[str]:
    return [d.name for d in spec.deployments] if spec else []


def _share(spec: EndpointSpec | None, deployment: str) -> int | None:
    if spec is None or deployment not in _deployments(spec):
        return None
    return spec.traffic.get(deployment, 0)


def _shares_text(shares: dict[str, int]) -> str:
    return ", ".join(f"{d} {s}%" for d, s in shares.items()) or "no live traffic"


def to_markdown(review: Review) -> str:
    verdict = (
        f"**{review.mandatory} mandatory policy violation(s)**: this change must not merge "
        "as it is."
        if review.mandatory
        else "No mandatory policy violation."
    )
    advisory = len(review.violations) - review.mandatory
    if advisory:
        verdict += f" {advisory} advisory finding(s)."
    lines = [
        COMMENT_MARKER,
        f"## mlep review: stack `{review.stack}` ({review.target}) against `{review.base}`",
        "",
        verdict,
    ]
    unchanged = [e.name for e in review.endpoints if e.status == "unchanged"]
    for endpoint in (e for e in review.endpoints if e.status != "unchanged"):
        lines += ["", f"### `{endpoint.name}`: {endpoint.summary}", ""]
        lines += [
            "| deployment | live before | live after | change | mirror before | mirror after |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for row in endpoint.deployments:
            lines.append(
                f"| {row.name} | {_cell(row.live_before)} | {_cell(row.live_after)} | "
                f"{row.change:+d} | {row.mirror_before}% | {row.mirror_after}% |".replace(
                    "| +0 |", "| 0 |"
                )
            )
        lines.append("")
        lines.append(
            f"Step: {endpoint.step_percent}% · added: {', '.join(endpoint.added) or 'none'} "
            f"· removed: {', '.join(endpoint.removed) or 'none'}"
        )
        if endpoint.rollback_command:
            lines += ["", "Rollback:", "", "```sh", endpoint.rollback_command, "```"]
        lines += _findings(endpoint.violations)
    if unchanged:
        lines += ["", f"Unchanged: {', '.join(f'`{n}`' for n in unchanged)}."]
    on_endpoints = [v for e in review.endpoints for v in e.violations]
    shared = [v for v in review.violations if v not in on_endpoints]
    if shared:
        lines += ["", "### Stack-wide", *_findings(shared)]
    lines += _resource_lines(review)
    for policy, reason in review.not_applicable:
        lines += ["", f"_{policy}: not applicable ({reason})_"]
    return "\n".join(lines) + "\n"


_OPS = {"create": "create", "update": "update", "replace": "**replace**", "delete": "**delete**"}


def _resource_lines(review: Review) -> list[str]:
    """The resource diff and the instance change, in a collapsed section."""
    if not review.resources and not review.instances:
        return []
    lines = ["", f"<details><summary>Resources: {resource_summary(review.resources)}</summary>", ""]
    if review.resources:
        lines += ["| | resource | type | changed inputs |", "|---|---|---|---|"]
        for change in review.resources:
            paths = "<br>".join(
                f"`{path}`: {_md_value(old)} → {_md_value(new)}"
                for path, old, new in change.changes
            )
            lines.append(f"| {_OPS[change.op]} | `{change.name}` | `{change.type}` | {paths} |")
    for name, sides in review.instances.items():
        lines += ["", f"Instances of `{name}`: {sides['before']} → {sides['after']}"]
    return [*lines, "", "</details>"]


def _md_value(value: Any) -> str:
    if value is None:
        return "_(none)_"
    return "`" + value_text(value, 80).replace("|", "\\|").replace("`", "'") + "`"


def _findings(violations: list[dict[str, str]]) -> list[str]:
    if not violations:
        return []
    lines = ["", "| level | policy | resource | finding |", "|---|---|---|---|"]
    for v in violations:
        resource = v["urn"].rsplit("::", 1)[-1] if v.get("urn") else "(stack)"
        message = v["message"].replace("|", "\\|").replace("\n", " ")
        lines.append(f"| {v['enforcement']} | `{v['policy']}` | `{resource}` | {message} |")
    return lines


def _cell(share: int | None) -> str:
    return "absent" if share is None else f"{share}%"
