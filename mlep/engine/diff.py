"""What a change does to the resources, offline, the way `pulumi preview --diff` would show it:
the program run for the base and for the change, compared by URN.

- create: a URN only the change declares; delete: one only the base declares;
- update: the same URN with other inputs, listed path by path (`properties.traffic.blue:
  75 -> 60`); secret values are the plan's `[secret]` on both sides, so they never show;
- replace: an update that touches an input the provider cannot change in place, by the
  providers' own rules (below, each with the file it was read from): pulumi-kubernetes' list of
  force-new fields per group/version and kind, and pulumi-azure-native's path parameters and
  force-new properties per resource type. What the provider sees only on `pulumi up` (the live
  object, drift, its config flags) is not known here; a type missing from the tables shows as an
  update.

And what the change costs in instances: per endpoint, instances x SKU (Azure) or replicas x pod
resources (Kubernetes), before and after.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from mlep.engine.runtime import Registration
from models.endpoint import EndpointSpec
from models.stack import StackConfig

_MISSING = object()

# Kubernetes. pulumi-kubernetes (pulumi/pulumi-kubernetes, provider/pkg/provider/diff.go,
# forceNewProperties and its forceNew table; provider/pkg/provider/provider.go, Diff) replaces
# an object when a change touches a listed field or anything under it:
# - every kind, custom resources included, lists metadata.name and metadata.namespace, and a
#   kind missing from the table (every custom resource, and HorizontalPodAutoscaler,
#   PodDisruptionBudget policy/v1, NetworkPolicy, ServiceAccount) lists nothing else;
# - the table is keyed by the object's apiVersion (group and version) and kind, not by kind
#   alone: a selector change replaces an apps/v1 or apps/v1beta2 Deployment, not an
#   apps/v1beta1 one; only policy/v1beta1 PodDisruptionBudgets replace on `spec`;
# - a `<Kind>Patch` resource replaces on its name and namespace only.
# The provider's table has more kinds (Pod, Job, StatefulSet, DaemonSet, PersistentVolume(Claim),
# RoleBinding, StorageClass, ResourceQuota; Secret data), which the program declares none of;
# and a ConfigMap (the dashboards) replaces on `data` and `binaryData` unless the provider's
# enableConfigMapMutable is set (forceNewProperties; this project leaves it unset).
_K8S_IDENTITY: tuple[str, ...] = ("metadata.name", "metadata.namespace")
_K8S_FORCE_NEW: dict[tuple[str, str], tuple[str, ...]] = {
    ("apps/v1", "Deployment"): ("spec.selector",),
    ("apps/v1beta2", "Deployment"): ("spec.selector",),
    ("v1", "Service"): ("spec.clusterIP",),
    ("v1", "ConfigMap"): ("binaryData", "data"),
}

# Azure. pulumi-azure-native (pulumi/pulumi-azure-native, provider/pkg/provider/diff.go,
# calculateDetailedDiff) replaces a resource when a change touches a path parameter of its PUT
# request or a top-level input its metadata marks forceNew. provider/pkg/gen/properties.go sets
# forceNew where the REST spec marks a property x-ms-mutability [create, read] (no update) at the
# resource's top level (properties flattened into it count; inside a nested object such as
# `properties` of an online deployment they do not), and provider/pkg/gen/replacement.go
# (forceNewMap) adds some by hand. Keyed by the type token without its API version. Per type:
# - path parameters: the PUT path's parameters, the same as the resource's get function's
#   (pulumi_azure_native 3.29, <module>/get_<type>.py);
# - `location`, where the spec marks it create-only: common-types/resource-management/v3 and v4
#   types.json TrackedResource (online endpoint and deployment, 2025-12-01 mfe.json; user
#   assigned identity, 2023-01-31 ManagedIdentity.json); monitor's own definitions
#   (actionGroups_API.json 2024-10-01-preview AzureResource, autoscale_API.json
#   2021-05-01-preview, metricAlert_API.json 2018-03-01 Resource, scheduledQueryRule_API.json
#   2025-01-01-preview); a workbook's, workbooks_API.json 2023-06-01 (applicationinsights,
#   Microsoft.Insights/stable), whose WorkbookResource is a common-types/resource-management/v1
#   types.json TrackedResource. Not for a private endpoint: network.json 2024-05-01 Resource
#   leaves location updatable;
# - forceNewMap: a role assignment's principalId and scope, a private endpoint's subnet.
_AZURE_FORCE_NEW: dict[str, frozenset[str]] = {
    kind: frozenset(names.split())
    for kind, names in {
        "applicationinsights:Workbook": "resourceGroupName resourceName location",
        # A proxy resource: no location (EnvironmentVersion, 2025-12-01 mfe.json).
        "machinelearningservices:EnvironmentVersion": (
            "resourceGroupName workspaceName name version"
        ),
        "machinelearningservices:OnlineEndpoint": (
            "resourceGroupName workspaceName endpointName location"
        ),
        "machinelearningservices:OnlineDeployment": (
            "resourceGroupName workspaceName endpointName deploymentName location"
        ),
        "authorization:RoleAssignment": "scope roleAssignmentName principalId",
        "authorization:RoleDefinition": "scope roleDefinitionId",
        "keyvault:Secret": "resourceGroupName vaultName secretName",
        "managedidentity:UserAssignedIdentity": "resourceGroupName resourceName location",
        "monitor:ActionGroup": "resourceGroupName actionGroupName location",
        "monitor:AutoscaleSetting": "resourceGroupName autoscaleSettingName location",
        "monitor:DiagnosticSetting": "resourceUri name",
        "monitor:MetricAlert": "resourceGroupName ruleName location",
        "monitor:ScheduledQueryRule": "resourceGroupName ruleName location",
        "network:PrivateDnsZoneGroup": (
            "resourceGroupName privateEndpointName privateDnsZoneGroupName"
        ),
        "network:PrivateEndpoint": "resourceGroupName privateEndpointName subnet",
        "resources:Deployment": "resourceGroupName deploymentName",
    }.items()
}
# `azure-native:machinelearningservices/v20240401:OnlineEndpoint`: an API version's token, the
# rule of the pack's tokens.kind_of (policies/mlep_policies/tokens.py), which mlep cannot import.
_AZURE_VERSION = re.compile(r"/v\d{8}(?:preview|privatepreview|beta|alpha)?$", re.IGNORECASE)


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
        changes = tuple(
            c for c in _changed(old[urn].inputs, resource.inputs) if not _same(resource, *c)
        )
        if changes:
            op = "replace" if any(_replaces(resource, *c) for c in changes) else "update"
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


def _same(resource: Registration, path: str, old: Any, new: Any) -> bool:
    """Values the provider takes as equal, so no change at all. pulumi-kubernetes
    (provider/pkg/provider/provider.go, Diff) sets an unset namespace to "default" on both sides
    (for a namespaced kind; offline every kind is taken as namespaced, as the provider takes a
    kind it cannot look up); pulumi-azure-native (provider/pkg/provider/diff.go,
    applyAzureSpecificDiff) compares `location` without case or spaces."""
    if resource.type.startswith("kubernetes:"):
        unset = (None, "default")
        return path == "metadata.namespace" and old in unset and new in unset
    if resource.type.startswith("azure-native:") and path == "location":
        return isinstance(old, str) and isinstance(new, str) and _region(old) == _region(new)
    return False


def _region(location: str) -> str:
    return location.replace(" ", "").lower()


def _replaces(resource: Registration, path: str, old: Any, new: Any) -> bool:
    if resource.type.startswith("kubernetes:"):
        return _kubernetes_replaces(resource, path, new)
    if resource.type.startswith("azure-native:"):
        return _azure_replaces(resource, path, old, new)
    return False


def _kubernetes_replaces(resource: Registration, path: str, new: Any) -> bool:
    kind = str(resource.inputs.get("kind", ""))
    fields = _K8S_IDENTITY
    if resource.type.rsplit(":", 1)[-1] != f"{kind}Patch":
        api_version = str(resource.inputs.get("apiVersion", ""))
        fields += _K8S_FORCE_NEW.get((api_version, kind), ())
    if path == "metadata" and new is None:  # provider.go: removing metadata replaces
        return True
    for field in fields:
        if path == field or path.startswith((f"{field}.", f"{field}[")):
            return True
        # A value set where there was none, holding the field (the provider looks the field up
        # in the change; a removed parent holds nothing).
        if field.startswith(f"{path}.") and _holds(new, field[len(path) + 1 :]):
            return True
    return False


def _holds(value: Any, path: str) -> bool:
    for key in path.split("."):
        if not isinstance(value, dict) or key not in value:
            return False
        value = value[key]
    return True


def _azure_replaces(resource: Registration, path: str, old: Any, new: Any) -> bool:
    module, _, name = resource.type.partition(":")[2].rpartition(":")
    force_new = _AZURE_FORCE_NEW.get(f"{_AZURE_VERSION.sub('', module)}:{name}", frozenset())
    top = re.split(r"[.\[]", path, maxsplit=1)[0]
    if top not in force_new:
        return False
    # The input itself set, changed or removed; below it (diff.go: a parent that replaces makes
    # its children's updates replace) a changed value, not a key added or removed, nor anything
    # in a list under the input itself (no input in the table is a list).
    return path == top or (path[len(top)] == "." and old is not None and new is not None)


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
