"""The readable plan: resources grouped by endpoint, a traffic table per endpoint, outputs."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from mlep.engine.diff import instances, summary, value_text
from mlep.engine.plan import Plan
from mlep.engine.runtime import STACK_TYPE, Registration
from mlep.stack.previous import PreviousTraffic
from models.cluster_versions import MINIMUM_VERSION_REASONS, MINIMUM_VERSIONS
from models.endpoint import EndpointSpec


def print_plan(plan: Plan, console: Console) -> None:
    _print_heading(plan, console)
    _print_resources(plan, console)
    _print_outputs(plan, console)
    _print_changes(plan, console)
    _print_requirements(plan, console)
    _print_verdict(plan, console)


def _print_heading(plan: Plan, console: Console) -> None:
    config = plan.config
    console.print(
        Text.assemble(
            ("Plan ", "bold"),
            f"for stack {plan.stack_file.name} ",
            (
                f"(project {plan.project}, target {config.target}, "
                f"environment {config.environment})",
                "dim",
            ),
        )
    )


def _print_resources(plan: Plan, console: Console) -> None:
    """The stack-wide resources first, then each endpoint's with its traffic table."""
    by_urn = {r.urn: r for r in plan.run.resources}
    components = {
        r.name: r for r in plan.run.resources if not r.custom and r.parent and r.type != STACK_TYPE
    }
    endpoint_names = {spec.name for spec in plan.config.endpoints}
    stack = next((r for r in plan.run.resources if r.type == STACK_TYPE), None)
    if stack and any(r.custom and r.parent == stack.urn for r in plan.run.resources):
        # Stack-wide resources without a component (the alerts' action group).
        console.print()
        console.print(Text("Shared", style="bold"))
        _print_children(stack, plan.run.resources, by_urn, console, custom_only=True)
    for shared in (c for name, c in components.items() if name not in endpoint_names):
        # Stack-wide pieces (the workspace's private access) come before the endpoints.
        console.print()
        console.print(Text.assemble(("Shared ", "bold"), (shared.name, "bold cyan")))
        _print_children(shared, plan.run.resources, by_urn, console)
    for spec in plan.config.endpoints:
        component = components.get(spec.name)
        console.print()
        console.print(
            Text.assemble(
                ("Endpoint ", "bold"),
                (spec.name, "bold cyan"),
                (f"  {spec.auth_mode}, {_access(plan, spec)}", "dim"),
            )
        )
        if component:
            _print_children(component, plan.run.resources, by_urn, console)
        console.print(_traffic_table(spec, plan.previous))


def _print_outputs(plan: Plan, console: Console) -> None:
    if plan.run.outputs:
        console.print()
        console.print(Text("Stack outputs", style="bold"))
        for path, value in _flatten(plan.run.outputs):
            console.print(f"  {path} = {value}", highlight=False, soft_wrap=True)


_OP_MARKS = {"create": "+", "update": "~", "replace": "+-", "delete": "-"}


def _print_changes(plan: Plan, console: Console) -> None:
    """Against the base (`--base`): every resource created, updated (path by path), replaced
    or deleted, and each endpoint's instances before and after."""
    changes = plan.resource_changes
    if changes is None:
        return
    console.print()
    console.print(Text(f"Changes against the base: {summary(changes)}", style="bold"))
    for change in changes:
        console.print(f"  {_OP_MARKS[change.op]} {change.name}  {change.type}", soft_wrap=True)
        for path, old, new in change.changes:
            console.print(
                f"      {path}: {value_text(old, 120)} -> {value_text(new, 120)}", soft_wrap=True
            )
    before, after = instances(plan.base_config), instances(plan.config)
    for name in [*after, *(n for n in before if n not in after)]:
        if before.get(name) != after.get(name):
            console.print(
                f"  instances of {name}: {before.get(name, 'none')} -> {after.get(name, 'none')}",
                soft_wrap=True,
            )


def _print_requirements(plan: Plan, console: Console) -> None:
    """On Kubernetes, the cluster add-ons the objects need and since which release: older ones
    accept the objects and silently drop what they do not know (a mirror at 100 %, an open
    route), so a plan states them."""
    if plan.config.target != "kubernetes":
        return
    console.print()
    console.print(Text("Cluster requirements", style="bold"))
    for addon, version in MINIMUM_VERSIONS.items():
        console.print(
            f"  {addon} >= {version}: {MINIMUM_VERSION_REASONS[addon]}",
            highlight=False,
            soft_wrap=True,
        )


def _print_verdict(plan: Plan, console: Console) -> None:
    """The policy findings and the closing count of resources and violations."""
    console.print()
    if plan.violations:
        console.print(_violations_table(plan))
        console.print()
    for policy, reason in plan.not_applicable:
        console.print(Text(f"not applicable: {policy}: {reason}", style="dim"), soft_wrap=True)
    count = sum(1 for r in plan.run.resources if r.custom)
    mandatory = len(plan.mandatory_violations)
    advisory = len(plan.violations) - mandatory
    verdict = (
        f"policy: {mandatory} mandatory, {advisory} advisory violation(s)"
        if plan.violations
        else "policy: no violations"
    )
    endpoints = _counted(len(plan.config.endpoints), "endpoint")
    noun = "Kubernetes object" if plan.config.target == "kubernetes" else "cloud resource"
    console.print(f"{_counted(count, noun)} in {endpoints}; {verdict}.")


def _counted(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _access(plan: Plan, spec: EndpointSpec) -> str:
    """How the endpoint is reached: Azure's public network access, or on Kubernetes the
    gateway and hostname of its route (public or not is the gateway's, not the stack's)."""
    kubernetes = getattr(plan.config, "kubernetes", None)
    if plan.config.target == "kubernetes" and kubernetes is not None:
        gateway = kubernetes.gateway
        return f"route {kubernetes.hostname} on gateway {gateway.namespace}/{gateway.name}"
    return f"public network access {spec.public_network_access}"


def _print_children(
    component: Registration,
    resources: list[Registration],
    by_urn: dict[str, Registration],
    console: Console,
    *,
    custom_only: bool = False,
) -> None:
    """One line per resource, in creation order, with what it waits for below it.

    Logical names are what `pulumi` commands and reviewers refer to, so they are never
    shortened; lines wrap instead of truncating (a CI log is 80 columns wide).
    """
    depth: dict[str, int] = {}

    def depth_of(urn: str) -> int:
        if urn not in depth:
            depth[urn] = 0  # guards against cycles, which the engine would reject anyway
            deps = by_urn[urn].dependencies if urn in by_urn else []
            depth[urn] = 1 + max((depth_of(d) for d in deps), default=-1)
        return depth[urn]

    children = [r for r in resources if r.parent == component.urn and (r.custom or not custom_only)]
    # Creation order: what waits for nothing first, the traffic (which waits for all) last.
    for child in sorted(children, key=lambda r: (depth_of(r.urn), r.name)):
        line = Text.assemble(("+ ", "green"), child.name, (f"  {_short_type(child.type)}", "dim"))
        if child.protect:
            line.append("  protected", style="yellow")
        console.print(line, soft_wrap=True)
        if child.dependencies:
            waits = ", ".join(by_urn[d].name if d in by_urn else d for d in child.dependencies)
            console.print(Text(f"    waits for {waits}", style="dim"), soft_wrap=True)


def _violations_table(plan: Plan) -> Table:
    """One row per violation: level, policy and resource on the left (never broken), the
    finding and its fix on the right (wrapped to the terminal)."""
    table = Table(title="Policy violations", title_justify="left", header_style="dim", box=None)
    table.add_column("policy / resource", no_wrap=True)
    table.add_column("finding / fix", overflow="fold", ratio=1)
    for violation in plan.violations:
        finding, _, fix = violation.message.partition(" Fix: ")
        resource = violation.urn.rsplit("::", 1)[-1] if violation.urn else "(stack)"
        style = "red" if violation.enforcement == "mandatory" else "yellow"
        table.add_row(
            Text.assemble((violation.enforcement, style), "\n", violation.policy, "\n", resource),
            Text.assemble(finding, ("\nfix: ", "bold"), fix) if fix else Text(finding),
        )
        table.add_row()
    return table


def _short_type(token: str) -> str:
    """`azure-native:machinelearningservices:OnlineDeployment` -> `OnlineDeployment`."""
    if token == "azure-native:resources:Deployment":
        return "traffic (ARM deployment)"
    return token.rsplit(":", 1)[-1]


def _traffic_table(spec: EndpointSpec, base: PreviousTraffic | None) -> Table:
    previous = base.get(spec.name) if base is not None else None
    table = Table(title=None, box=None, header_style="dim", pad_edge=False)
    table.add_column("deployment")
    if previous is not None:
        table.add_column("live before", justify="right")
    table.add_column("live", justify="right")
    table.add_column("mirror", justify="right")
    for deployment in spec.deployments:
        row = [deployment.name]
        if previous is not None:
            row.append(f"{previous.traffic.get(deployment.name, 0)}%")
        row += [
            f"{spec.traffic.get(deployment.name, 0)}%",
            f"{spec.mirror_traffic[deployment.name]}%"
            if deployment.name in spec.mirror_traffic
            else "-",
        ]
        table.add_row(*row)
    return table


def _flatten(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if isinstance(value, dict) and value:
        out: list[tuple[str, Any]] = []
        for key, item in value.items():
            out += _flatten(item, f"{prefix}.{key}" if prefix else str(key))
        return out
    return [(prefix, value)]
