"""The readable plan: resources grouped by endpoint, a traffic table per endpoint, outputs."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from mlep.mock_runtime import Registration
from mlep.plan import Plan
from models.endpoint import EndpointSpec


def print_plan(plan: Plan, console: Console) -> None:
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
    by_urn = {r.urn: r for r in plan.run.resources}
    components = {
        r.name: r
        for r in plan.run.resources
        if not r.custom and r.parent and r.type != "pulumi:pulumi:Stack"
    }
    for spec in config.endpoints:
        component = components.get(spec.name)
        console.print()
        console.print(
            Text.assemble(
                ("Endpoint ", "bold"),
                (spec.name, "bold cyan"),
                (f"  {spec.auth_mode}, public access {spec.public_network_access}", "dim"),
            )
        )
        if component:
            _print_children(component, plan.run.resources, by_urn, console)
        console.print(_traffic_table(spec, plan.base))
    if plan.run.outputs:
        console.print()
        console.print(Text("Stack outputs", style="bold"))
        for path, value in _flatten(plan.run.outputs):
            console.print(f"  {path} = {value}", highlight=False, soft_wrap=True)
    console.print()
    count = sum(1 for r in plan.run.resources if r.custom)
    console.print(
        f"{count} cloud resources in {len(config.endpoints)} endpoints; policy: no violations."
    )


def _print_children(
    component: Registration,
    resources: list[Registration],
    by_urn: dict[str, Registration],
    console: Console,
) -> None:
    table = Table(box=None, show_header=True, pad_edge=False, header_style="dim")
    table.add_column("resource")
    table.add_column("type")
    table.add_column("waits for")
    table.add_column("")
    children = [r for r in resources if r.parent == component.urn]
    # Creation order: what waits for nothing first, the traffic (which waits for all) last.
    for child in sorted(children, key=lambda r: (len(r.dependencies), r.name)):
        waits = ", ".join(by_urn[d].name if d in by_urn else d for d in child.dependencies)
        table.add_row(
            f"+ {child.name}",
            _short_type(child.type),
            waits or "-",
            "protected" if child.protect else "",
        )
    console.print(table)


def _short_type(token: str) -> str:
    """`azure-native:machinelearningservices:OnlineDeployment` -> `OnlineDeployment`."""
    if token == "azure-native:resources:Deployment":
        return "traffic (ARM deployment)"
    return token.rsplit(":", 1)[-1]


def _traffic_table(spec: EndpointSpec, base: Any) -> Table:
    previous = next((e for e in base.endpoints if e.name == spec.name), None) if base else None
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
