"""What a change does to the resources, offline, the way `pulumi preview --diff` would show it:
the program run for the base and for the change, compared by URN.

- create: a URN only the change declares; delete: one only the base declares;
- update: the same URN with other inputs, listed path by path (`properties.traffic.blue:
  75 -> 60`); secret values are the plan's `[secret]` on both sides, so they never show;
- replace: an update that touches an input the provider cannot change in place. Known here:
  Azure resource ids (the `...Name` arguments and `location`: Azure Resource Manager creates a
  resource at an id, so another id is another resource) and Kubernetes' immutable fields
  (`metadata.name`/`namespace`, a Deployment's `spec.selector`: apps/v1 rejects a changed
  selector; a Service's `spec.clusterIP`). The provider's own schema decides on `pulumi up`;
  what is not known here shows as an update.

And what the change costs in instances: per endpoint, instances x SKU (Azure) or replicas x pod
resources (Kubernetes), before and after.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from mlep.engine.runtime import Registration
from models.endpoint import EndpointSpec
from models.stack import StackConfig

_MISSING = object()
# Kubernetes fields the API server will not change in place (per kind; "*" for every kind).
_IMMUTABLE = {
    "*": ("metadata.name", "metadata.namespace"),
    "Deployment": ("spec.selector",),
    "Service": ("spec.clusterIP",),
}


@dataclass(frozen=True)
class ResourceChange:
    op: str  # create | update | replace | delete
    urn: str
    type: str
    name: str
    changes: tuple[tuple[str, Any, Any], ...] = ()  # (path, old, new) of an update/replace

    def document(self) -> dict[str, Any]:
        return {
            "op": self.op,
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "changes": [{"path": p, "old": old, "new": new} for p, old, new in self.changes],
        }


def resource_diff(before: list[Registration], after: list[Registration]) -> list[ResourceChange]:
    """The resources the change creates, updates, replaces and deletes (components and the
    stack itself are not resources), in the change's order, deletions last."""
    old = {r.urn: r for r in before if r.custom}
    new = {r.urn: r for r in after if r.custom}
    found: list[ResourceChange] = []
    for urn, resource in new.items():
        if urn not in old:
            found.append(ResourceChange("create", urn, resource.type, resource.name))
            continue
        changes = tuple(_changed(old[urn].inputs, resource.inputs))
        if changes:
            op = "replace" if any(_replaces(resource, path) for path, _, _ in changes) else "update"
            found.append(ResourceChange(op, urn, resource.type, resource.name, changes))
    found += [
        ResourceChange("delete", urn, resource.type, resource.name)
        for urn, resource in old.items()
        if urn not in new
    ]
    return found


def _changed(old: Any, new: Any, path: str = "") -> Iterator[tuple[str, Any, Any]]:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in [*old, *(k for k in new if k not in old)]:
            where = f"{path}.{key}" if path else str(key)
            yield from _changed(old.get(key, _MISSING), new.get(key, _MISSING), where)
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for index, (a, b) in enumerate(zip(old, new, strict=True)):
            yield from _changed(a, b, f"{path}[{index}]")
    elif old != new:
        yield (path, None if old is _MISSING else old, None if new is _MISSING else new)


def _replaces(resource: Registration, path: str) -> bool:
    if resource.type.startswith("kubernetes:"):
        kind = str(resource.inputs.get("kind", ""))
        fields = (*_IMMUTABLE["*"], *_IMMUTABLE.get(kind, ()))
        return any(path == f or path.startswith(f"{f}.") for f in fields)
    top = path.split(".", 1)[0].split("[", 1)[0]
    return top == "location" or (top.endswith("Name") and top != "displayName")


def instances(config: StackConfig | None) -> dict[str, str]:
    """Per endpoint, what its deployments run on: "3 x Standard_DS3_v2 + 1 x ..." (Azure) or
    "2 x (1 CPU, 2Gi)" (Kubernetes)."""
    if config is None:
        return {}
    return {spec.name: _instances(spec) for spec in config.endpoints}


def _instances(spec: EndpointSpec) -> str:
    counts: dict[str, int] = {}
    for deployment in spec.deployments:
        resources = getattr(deployment, "resources_or_default", None)
        if resources is not None:
            unit = f"({resources.cpu} CPU, {resources.memory})"
        else:
            unit = str(getattr(deployment, "instance_type", "instance"))
        counts[unit] = counts.get(unit, 0) + deployment.replicas
    return " + ".join(f"{count} x {unit}" for unit, count in counts.items()) or "none"


OPS = ("create", "update", "replace", "delete")


def summary(changes: list[ResourceChange]) -> str:
    """`2 to update, 1 to create`, in OPS order; `no resource changes` when there are none."""
    counts = {op: sum(c.op == op for c in changes) for op in OPS}
    return ", ".join(f"{n} to {op}" for op, n in counts.items() if n) or "no resource changes"


def value_text(value: Any, limit: int) -> str:
    """An input value on one line, at most ``limit`` characters; both ends of a long one kept
    (Azure ids differ at their end). None (absent) is `(none)`."""
    if value is None:
        return "(none)"
    text = (
        value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)
    )
    if len(text) <= limit:
        return text
    head = limit // 3
    return f"{text[:head]}...{text[-(limit - head - 3) :]}"
