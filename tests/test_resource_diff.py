"""The offline resource diff (issue 20, point 4): what `pulumi preview --diff` would list, from
the program's registrations for the base and for the change.

Which changes replace is each provider's rule, and every test below names the file it was read
from: pulumi-kubernetes' force-new table (pulumi/pulumi-kubernetes,
provider/pkg/provider/diff.go) and Diff (provider/pkg/provider/provider.go); pulumi-azure-native's
diff (pulumi/pulumi-azure-native, provider/pkg/provider/diff.go), its forceNew from the REST specs'
x-ms-mutability (provider/pkg/gen/properties.go) and its hand-kept list
(provider/pkg/gen/replacement.go); and the REST specs themselves (Azure/azure-rest-api-specs).
Next to each input that replaces, a neighbouring one that updates.
"""

from __future__ import annotations

import copy
import importlib
import inspect
import re
import sys
from typing import Any

import pytest

from mlep.engine.diff import _AZURE_FORCE_NEW, resource_diff
from mlep.engine.runtime import SECRET, Registration
from tests.conftest import run_namespace
from tests.scenarios import kubernetes_scenario, scenario


def registration(
    name: str, inputs: dict[str, Any], kind: str = "kubernetes:apps/v1:Deployment"
) -> Registration:
    return Registration(
        urn=f"urn:pulumi:dev::ml-endpoints::{kind}::{name}",
        type=kind,
        name=name,
        custom=True,
        parent=None,
        dependencies=[],
        protect=False,
        inputs=inputs,
    )


def deployment(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "fraud-scoring-blue", "namespace": "ml"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "blue"}}, **spec},
    }


def ops(before: list[Registration], after: list[Registration]) -> dict[str, str]:
    return {c.name: c.op for c in resource_diff(before, after)}


def test_creates_deletes_and_unchanged_resources() -> None:
    same = registration("same", deployment())
    result = ops(
        [same, registration("old", deployment())], [same, registration("new", deployment())]
    )
    assert result == {"new": "create", "old": "delete"}


def test_a_secret_never_shows_its_value_and_an_unchanged_one_is_no_change() -> None:
    kind = "azure-native:keyvault:Secret"
    before = [registration("k", {"properties": {"value": SECRET}, "secretName": "key"}, kind)]
    after = [registration("k", {"properties": {"value": SECRET}, "secretName": "key"}, kind)]
    assert resource_diff(before, after) == []
    added = [
        registration(
            "k", {"properties": {"value": SECRET, "contentType": "x"}, "secretName": "key"}, kind
        )
    ]
    (change,) = resource_diff(before, added)
    assert change.changes == (("properties.contentType", None, "x"),)


def test_a_list_that_changes_length_is_one_change() -> None:
    before = [registration("d", deployment(args=["a"]))]
    (change,) = resource_diff(before, [registration("d", deployment(args=["a", "b"]))])
    assert change.changes == (("spec.args", ["a"], ["a", "b"]),)


REMOVE = object()


def op(kind: str, before: dict[str, Any], after: dict[str, Any]) -> str:
    """What the diff makes of one resource of type ``kind`` whose inputs go from ``before`` to
    ``after`` ("none" when nothing changed)."""
    changes = resource_diff([registration("r", before, kind)], [registration("r", after, kind)])
    return changes[0].op if changes else "none"


def changed(inputs: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """``inputs`` with the value at the dotted ``path`` set (created on the way) or, for
    REMOVE, removed."""
    result = copy.deepcopy(inputs)
    *parents, last = path.split(".")
    node = result
    for key in parents:
        node = node.setdefault(key, {})
    if value is REMOVE:
        node.pop(last, None)
    else:
        node[last] = value
    return result


# ---- Kubernetes: pulumi/pulumi-kubernetes provider/pkg/provider/diff.go (forceNewProperties, the
# forceNew table) and provider/pkg/provider/provider.go (Diff) ----------------------------------

K8S_DEPLOYMENT = "kubernetes:apps/v1:Deployment"
K8S_OBJECTS: dict[str, dict[str, Any]] = {
    K8S_DEPLOYMENT: deployment(),
    "kubernetes:core/v1:Service": {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "fraud-scoring", "namespace": "ml"},
        "spec": {"clusterIP": "10.0.0.10", "ports": [{"port": 80}], "selector": {"app": "a"}},
    },
    "kubernetes:autoscaling/v2:HorizontalPodAutoscaler": {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "fraud-scoring-blue", "namespace": "ml"},
        "spec": {"minReplicas": 2, "maxReplicas": 5},
    },
    "kubernetes:policy/v1:PodDisruptionBudget": {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": "fraud-scoring-blue", "namespace": "ml"},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "blue"}}},
    },
    "kubernetes:networking.k8s.io/v1:NetworkPolicy": {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "fraud-scoring", "namespace": "ml"},
        "spec": {"podSelector": {"matchLabels": {"app": "blue"}}},
    },
    "kubernetes:core/v1:ServiceAccount": {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": "fraud-scoring", "namespace": "ml"},
        "automountServiceAccountToken": False,
    },
    # Custom resources: the provider's table lists no custom kind.
    "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute": {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "fraud-scoring", "namespace": "ml"},
        "spec": {"parentRefs": [{"name": "gw"}], "hostnames": ["a.example"]},
    },
    "kubernetes:monitoring.coreos.com/v1:PrometheusRule": {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "fraud-scoring", "namespace": "ml"},
        "spec": {"groups": [{"name": "g", "rules": []}]},
    },
}


@pytest.mark.parametrize("kind", list(K8S_OBJECTS))
@pytest.mark.parametrize("field", ["metadata.name", "metadata.namespace"])
def test_every_kubernetes_kind_replaces_on_its_name_or_namespace(kind: str, field: str) -> None:
    # diff.go: forceNewProperties starts every kind's list with .metadata.name and
    # .metadata.namespace (metadataForceNewProperties), custom resources included.
    base = K8S_OBJECTS[kind]
    assert op(kind, base, changed(base, field, "other")) == "replace"
    # A label beside them is an update.
    assert op(kind, base, changed(base, "metadata.labels", {"team": "fraud"})) == "update"


@pytest.mark.parametrize(
    ("kind", "path", "value"),
    [
        ("kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "spec.maxReplicas", 9),
        # diff.go lists PodDisruptionBudget under policy/v1beta1 only (".spec"), not policy/v1.
        ("kubernetes:policy/v1:PodDisruptionBudget", "spec.minAvailable", 2),
        ("kubernetes:policy/v1:PodDisruptionBudget", "spec.selector.matchLabels.app", "green"),
        ("kubernetes:networking.k8s.io/v1:NetworkPolicy", "spec.podSelector.matchLabels.app", "g"),
        ("kubernetes:core/v1:ServiceAccount", "automountServiceAccountToken", True),
        ("kubernetes:gateway.networking.k8s.io/v1:HTTPRoute", "spec.hostnames", ["b.example"]),
        ("kubernetes:monitoring.coreos.com/v1:PrometheusRule", "spec.groups", []),
    ],
)
def test_kinds_the_provider_does_not_list_update_in_place(kind: str, path: str, value: Any) -> None:
    # diff.go: a group/version/kind missing from the forceNew table has only the name and
    # namespace; every custom resource (HTTPRoute, PrometheusRule, ...) is missing from it.
    base = K8S_OBJECTS[kind]
    assert op(kind, base, changed(base, path, value)) == "update"


def test_a_deployment_selector_replaces_and_its_replicas_update() -> None:
    # diff.go: apps/v1 (and apps/v1beta2) Deployment: .spec.selector and its matchLabels and
    # matchExpressions (labelSelectorForceNewProperties).
    base = deployment()
    assert op(K8S_DEPLOYMENT, base, changed(base, "spec.replicas", 3)) == "update"
    labels = changed(base, "spec.selector.matchLabels.app", "green")
    (change,) = resource_diff(
        [registration("d", base)], [registration("d", labels, K8S_DEPLOYMENT)]
    )
    assert change.op == "replace"
    assert change.changes == (("spec.selector.matchLabels.app", "blue", "green"),)
    expressions = changed(base, "spec.selector.matchExpressions", [{"key": "app"}])
    assert op(K8S_DEPLOYMENT, base, expressions) == "replace"
    # A pod template change (a rolling update) is not a replacement.
    template = changed(base, "spec.template.spec.containers", [{"image": "model:2"}])
    assert op(K8S_DEPLOYMENT, base, template) == "update"


def test_a_selector_set_inside_a_new_spec_replaces_a_spec_removed_does_not() -> None:
    # provider.go (addPatchValueToDiff) looks each force-new path up in the patch of the changed
    # value: a spec set where there was none holds .spec.selector; a removed one holds nothing.
    bare = {k: v for k, v in deployment().items() if k != "spec"}
    assert op(K8S_DEPLOYMENT, bare, deployment()) == "replace"
    assert op(K8S_DEPLOYMENT, bare, {**bare, "spec": {"replicas": 2}}) == "update"
    assert op(K8S_DEPLOYMENT, deployment(), bare) == "update"


def test_the_force_new_table_is_keyed_by_api_version() -> None:
    # diff.go: "apps" lists Deployment under v1beta2 and v1 only; v1beta1 has StatefulSet alone.
    kind = "kubernetes:apps/v1beta1:Deployment"
    old = {**deployment(), "apiVersion": "apps/v1beta1"}
    assert op(kind, old, changed(old, "spec.selector.matchLabels.app", "green")) == "update"
    beta2 = {**deployment(), "apiVersion": "apps/v1beta2"}
    kind = "kubernetes:apps/v1beta2:Deployment"
    assert op(kind, beta2, changed(beta2, "spec.selector.matchLabels.app", "green")) == "replace"


def test_a_service_cluster_ip_replaces_its_ports_update() -> None:
    # diff.go: core v1 Service: .spec.clusterIP.
    kind = "kubernetes:core/v1:Service"
    base = K8S_OBJECTS[kind]
    assert op(kind, base, changed(base, "spec.clusterIP", "10.0.0.11")) == "replace"
    assert op(kind, base, changed(base, "spec.clusterIP", REMOVE)) == "replace"
    assert op(kind, base, changed(base, "spec.ports", [{"port": 8080}])) == "update"
    assert op(kind, base, changed(base, "spec.selector.app", "b")) == "update"


def test_a_config_map_replaces_on_its_data_its_labels_update() -> None:
    # diff.go (forceNewProperties): a ConfigMap replaces on .binaryData and .data unless the
    # provider's enableConfigMapMutable is set; the dashboards are ConfigMaps.
    kind = "kubernetes:core/v1:ConfigMap"
    base = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "fraud-scoring-dashboard", "namespace": "ml", "labels": {"a": "1"}},
        "data": {"board": "{}"},
    }
    assert op(kind, base, changed(base, "data.board", '{"title": "x"}')) == "replace"
    assert op(kind, base, changed(base, "binaryData", {"b": "AA=="})) == "replace"
    assert op(kind, base, changed(base, "metadata.labels.a", "2")) == "update"


def test_a_patch_resource_replaces_on_its_name_only() -> None:
    # provider.go (Diff): a <Kind>Patch resource's force-new fields are the name and namespace.
    kind = "kubernetes:apps/v1:DeploymentPatch"
    base = deployment()
    assert op(kind, base, changed(base, "spec.selector.matchLabels.app", "green")) == "update"
    assert op(kind, base, changed(base, "metadata.name", "other")) == "replace"


def test_an_unset_namespace_is_the_default_one() -> None:
    # provider.go (Diff): an unset namespace is set to "default" on both sides before comparing.
    base = deployment()
    default = changed(base, "metadata.namespace", "default")
    unset = changed(base, "metadata.namespace", REMOVE)
    assert op(K8S_DEPLOYMENT, default, unset) == "none"
    assert op(K8S_DEPLOYMENT, unset, default) == "none"
    assert op(K8S_DEPLOYMENT, unset, base) == "replace"


# ---- Azure: pulumi/pulumi-azure-native provider/pkg/provider/diff.go (calculateDetailedDiff: path
# parameters and forceNew inputs replace), provider/pkg/gen/properties.go (forceNew from a top-level
# x-ms-mutability [create, read]), provider/pkg/gen/replacement.go (forceNewMap) ---------------

ENDPOINT = "azure-native:machinelearningservices:OnlineEndpoint"
ONLINE_DEPLOYMENT = "azure-native:machinelearningservices:OnlineDeployment"
WORKBOOK = "azure-native:applicationinsights:Workbook"
TAGS = {"owner": "fraud-team"}
AZURE: dict[str, dict[str, Any]] = {
    ENDPOINT: {
        "resourceGroupName": "rg-ml",
        "workspaceName": "mlw",
        "endpointName": "fraud-scoring",
        "location": "westeurope",
        "kind": "Managed",
        "identity": {"type": "SystemAssigned"},
        "properties": {"authMode": "Key", "traffic": {"blue": 100}, "description": "a"},
        "tags": TAGS,
    },
    ONLINE_DEPLOYMENT: {
        "resourceGroupName": "rg-ml",
        "workspaceName": "mlw",
        "endpointName": "fraud-scoring",
        "deploymentName": "blue",
        "location": "westeurope",
        "kind": "Managed",
        "sku": {"name": "Default", "capacity": 2},
        "properties": {
            "endpointComputeType": "Managed",
            "instanceType": "Standard_DS3_v2",
            "model": "azureml:fraud-classifier:1",
        },
        "tags": TAGS,
    },
    "azure-native:machinelearningservices:EnvironmentVersion": {
        "resourceGroupName": "rg-ml",
        "workspaceName": "mlw",
        "name": "fraud-scoring-shadow-env",
        "version": "cb5aac447186",
        "properties": {"image": "docker.io/tensorflow/serving:2.14.1", "osType": "Linux"},
    },
    WORKBOOK: {
        "resourceGroupName": "rg-ml",
        "resourceName": "d37ce85f-1f45-5554-ae20-369445e28bdb",
        "location": "westeurope",
        "kind": "shared",
        "category": "workbook",
        "displayName": "ML endpoint fraud-scoring (mlw)",
        "serializedData": '{"version":"Notebook/1.0","items":[]}',
        "version": "Notebook/1.0",
        "sourceId": "/subscriptions/s/workspaces/law",
        "tags": TAGS,
    },
    "azure-native:authorization:RoleAssignment": {
        "scope": "/subscriptions/s/resourceGroups/rg-ml",
        "roleAssignmentName": "3b0f1a9e-7c2d-4e8a-9f61-2d4c5b6a7e81",
        "principalId": "p1",
        "principalType": "ServicePrincipal",
        "roleDefinitionId": "/providers/Microsoft.Authorization/roleDefinitions/r1",
    },
    "azure-native:authorization:RoleDefinition": {
        "scope": "/subscriptions/s/resourceGroups/rg-ml",
        "roleDefinitionId": "8e2d4c6b-1a3f-4b5e-8c7d-9f0a1b2c3d4e",
        "roleName": "endpoint deployer",
        "roleType": "CustomRole",
        "description": "a",
        "permissions": [{"actions": ["a"]}],
        "assignableScopes": ["/subscriptions/s/resourceGroups/rg-ml"],
    },
    "azure-native:keyvault:Secret": {
        "resourceGroupName": "rg-kv",
        "vaultName": "kv-ml",
        "secretName": "endpoint-key",
        "properties": {"value": SECRET, "contentType": "text/plain"},
        "tags": TAGS,
    },
    "azure-native:managedidentity:UserAssignedIdentity": {
        "resourceGroupName": "rg-ml",
        "resourceName": "id-fraud-scoring",
        "location": "westeurope",
        "tags": TAGS,
    },
    "azure-native:monitor:ActionGroup": {
        "resourceGroupName": "rg-ml",
        "actionGroupName": "ag-fraud",
        "groupShortName": "fraud",
        "enabled": True,
        "emailReceivers": [{"name": "oncall", "emailAddress": "a@example.com"}],
        "location": "global",
        "tags": TAGS,
    },
    "azure-native:monitor:AutoscaleSetting": {
        "resourceGroupName": "rg-ml",
        "autoscaleSettingName": "as-fraud-blue",
        "name": "as-fraud-blue",
        "enabled": True,
        "targetResourceUri": "/subscriptions/s/deployments/blue",
        "profiles": [{"name": "default", "capacity": {"minimum": "1"}}],
        "location": "westeurope",
        "tags": TAGS,
    },
    "azure-native:monitor:DiagnosticSetting": {
        "resourceUri": "/subscriptions/s/onlineEndpoints/fraud-scoring",
        "name": "diag",
        "workspaceId": "/subscriptions/s/workspaces/law",
        "eventHubName": "hub",
        "logs": [{"category": "AmlOnlineEndpointTrafficLog", "enabled": True}],
    },
    "azure-native:monitor:MetricAlert": {
        "resourceGroupName": "rg-ml",
        "ruleName": "latency",
        "location": "global",
        "scopes": ["/subscriptions/s/onlineEndpoints/fraud-scoring"],
        "severity": 2,
        "enabled": True,
        "tags": TAGS,
    },
    "azure-native:monitor:ScheduledQueryRule": {
        "resourceGroupName": "rg-ml",
        "ruleName": "errors",
        "location": "westeurope",
        "kind": "LogAlert",
        "scopes": ["/subscriptions/s/workspaces/law"],
        "displayName": "errors",
        "severity": 2,
        "tags": TAGS,
    },
    "azure-native:network:PrivateDnsZoneGroup": {
        "resourceGroupName": "rg-ml",
        "privateEndpointName": "pe-mlw",
        "privateDnsZoneGroupName": "default",
        "privateDnsZoneConfigs": [{"name": "api", "privateDnsZoneId": "/zones/a"}],
    },
    "azure-native:network:PrivateEndpoint": {
        "resourceGroupName": "rg-ml",
        "privateEndpointName": "pe-mlw",
        "location": "westeurope",
        "subnet": {"id": "/subscriptions/s/subnets/inference"},
        "privateLinkServiceConnections": [{"name": "mlw", "groupIds": ["amlworkspace"]}],
        "tags": TAGS,
    },
    "azure-native:resources:Deployment": {
        "resourceGroupName": "rg-ml",
        "deploymentName": "traffic-fraud-scoring",
        "properties": {"mode": "Incremental", "template": {"resources": []}},
        "tags": TAGS,
    },
}

# Each fact: (type, input path, new value, expected op), with its source.
AZURE_FACTS = [
    # Path parameters: diff.go replaces on every path parameter of the PUT request. The names
    # are those of mfe.json 2025-12-01 (Azure/azure-rest-api-specs, specification/
    # machinelearningservices/resource-manager/Microsoft.MachineLearningServices/stable/
    # 2025-12-01/mfe.json: .../workspaces/{workspaceName}/onlineEndpoints/{endpointName}/
    # deployments/{deploymentName}); test_the_path_parameters_are_the_sdks_get_arguments holds
    # every type's against pulumi_azure_native 3.29.
    *(
        (ENDPOINT, name, "other", "replace")
        for name in ("resourceGroupName", "workspaceName", "endpointName")
    ),
    *(
        (ONLINE_DEPLOYMENT, name, "other", "replace")
        for name in ("resourceGroupName", "workspaceName", "endpointName", "deploymentName")
    ),
    # .../workspaces/{workspaceName}/environments/{name}/versions/{version}: the program derives
    # the version from the image and routes (components/azure/environment.py), so another image
    # is a new version, which replaces; the old one is kept (retain_on_delete).
    *(
        ("azure-native:machinelearningservices:EnvironmentVersion", name, "other", "replace")
        for name in ("resourceGroupName", "workspaceName", "name", "version")
    ),
    ("azure-native:machinelearningservices:EnvironmentVersion", "properties.tags", {}, "update"),
    # location: common-types/resource-management/v3/types.json TrackedResource marks it
    # x-ms-mutability [read, create]; mfe.json's OnlineEndpointTrackedResource and
    # OnlineDeploymentTrackedResource are TrackedResources.
    (ENDPOINT, "location", "northeurope", "replace"),
    (ONLINE_DEPLOYMENT, "location", "northeurope", "replace"),
    # Their other top-level inputs carry no x-ms-mutability in mfe.json (identity, kind, sku,
    # properties) or are tags: updates.
    (ENDPOINT, "tags.owner", "platform", "update"),
    (ENDPOINT, "identity.type", "UserAssigned", "update"),
    (ENDPOINT, "kind", "Other", "update"),
    (ENDPOINT, "properties.traffic.blue", 90, "update"),
    (ENDPOINT, "properties.authMode", "AADToken", "update"),
    (ONLINE_DEPLOYMENT, "sku.capacity", 3, "update"),
    (ONLINE_DEPLOYMENT, "properties.model", "azureml:fraud-classifier:2", "update"),
    # mfe.json marks OnlineDeployment.instanceType x-ms-mutability [create, read], but it is
    # inside `properties` (a nested type): properties.go gives a nested create-only property no
    # forceNew (forceNewSetOnReferencedType), so the provider plans an update.
    (ONLINE_DEPLOYMENT, "properties.instanceType", "Standard_F8s_v2", "update"),
    # replacement.go (forceNewMap, Authorization): RoleAssignment principalId and scope; its
    # path is {scope}/.../roleAssignments/{roleAssignmentName}. authorization-RoleAssignmentsCalls
    # .json 2022-04-01 gives roleDefinitionId and principalType no x-ms-mutability.
    ("azure-native:authorization:RoleAssignment", "principalId", "p2", "replace"),
    ("azure-native:authorization:RoleAssignment", "scope", "/subscriptions/s", "replace"),
    ("azure-native:authorization:RoleAssignment", "roleAssignmentName", "g2", "replace"),
    ("azure-native:authorization:RoleAssignment", "roleDefinitionId", "/r2", "update"),
    ("azure-native:authorization:RoleAssignment", "principalType", "Group", "update"),
    # RoleDefinition: path {scope}/.../roleDefinitions/{roleDefinitionId}; roleName is a body
    # property (a name that is not part of the id).
    ("azure-native:authorization:RoleDefinition", "roleDefinitionId", "g3", "replace"),
    ("azure-native:authorization:RoleDefinition", "scope", "/subscriptions/s", "replace"),
    ("azure-native:authorization:RoleDefinition", "roleName", "deployer", "update"),
    ("azure-native:authorization:RoleDefinition", "permissions", [], "update"),
    # keyvault Secret: path .../vaults/{vaultName}/secrets/{secretName}.
    ("azure-native:keyvault:Secret", "vaultName", "kv-other", "replace"),
    ("azure-native:keyvault:Secret", "secretName", "other", "replace"),
    ("azure-native:keyvault:Secret", "properties.contentType", "application/json", "update"),
    # UserAssignedIdentity: msi ManagedIdentity.json 2023-01-31 Identity is a common-types v4
    # TrackedResource (location [read, create]); path .../userAssignedIdentities/{resourceName}.
    ("azure-native:managedidentity:UserAssignedIdentity", "resourceName", "id-2", "replace"),
    ("azure-native:managedidentity:UserAssignedIdentity", "location", "northeurope", "replace"),
    ("azure-native:managedidentity:UserAssignedIdentity", "tags.owner", "x", "update"),
    # ActionGroup: actionGroups_API.json 2024-10-01-preview AzureResource location is
    # [create, read]; groupShortName (flattened) has no x-ms-mutability.
    ("azure-native:monitor:ActionGroup", "actionGroupName", "ag-2", "replace"),
    ("azure-native:monitor:ActionGroup", "location", "westeurope", "replace"),
    ("azure-native:monitor:ActionGroup", "groupShortName", "fraud2", "update"),
    ("azure-native:monitor:ActionGroup", "enabled", False, "update"),
    # AutoscaleSetting: autoscale_API.json 2021-05-01-preview location [create, read]; its
    # body `name` and targetResourceUri have no x-ms-mutability.
    ("azure-native:monitor:AutoscaleSetting", "autoscaleSettingName", "as-2", "replace"),
    ("azure-native:monitor:AutoscaleSetting", "location", "northeurope", "replace"),
    ("azure-native:monitor:AutoscaleSetting", "name", "as-2", "update"),
    ("azure-native:monitor:AutoscaleSetting", "targetResourceUri", "/other", "update"),
    ("azure-native:monitor:AutoscaleSetting", "enabled", False, "update"),
    # DiagnosticSetting: path {resourceUri}/.../diagnosticSettings/{name}.
    ("azure-native:monitor:DiagnosticSetting", "name", "diag-2", "replace"),
    ("azure-native:monitor:DiagnosticSetting", "resourceUri", "/other", "replace"),
    ("azure-native:monitor:DiagnosticSetting", "eventHubName", "hub-2", "update"),
    ("azure-native:monitor:DiagnosticSetting", "workspaceId", "/other", "update"),
    # MetricAlert: metricAlert_API.json 2018-03-01 Resource location [create, read]; scopes
    # has no x-ms-mutability.
    ("azure-native:monitor:MetricAlert", "ruleName", "latency-2", "replace"),
    ("azure-native:monitor:MetricAlert", "location", "westeurope", "replace"),
    ("azure-native:monitor:MetricAlert", "scopes", ["/a", "/b"], "update"),
    ("azure-native:monitor:MetricAlert", "severity", 1, "update"),
    # ScheduledQueryRule: scheduledQueryRule_API.json 2025-01-01-preview location
    # [read, create]; scopes has no x-ms-mutability (Azure answers "Scope can not be updated";
    # pulumi/pulumi-azure-native issue 4839 reports 3.28 planning an update).
    ("azure-native:monitor:ScheduledQueryRule", "ruleName", "errors-2", "replace"),
    ("azure-native:monitor:ScheduledQueryRule", "location", "northeurope", "replace"),
    ("azure-native:monitor:ScheduledQueryRule", "scopes", ["/other"], "update"),
    ("azure-native:monitor:ScheduledQueryRule", "displayName", "errors 2", "update"),
    # PrivateDnsZoneGroup: path .../privateEndpoints/{privateEndpointName}/
    # privateDnsZoneGroups/{privateDnsZoneGroupName}.
    ("azure-native:network:PrivateDnsZoneGroup", "privateDnsZoneGroupName", "g2", "replace"),
    ("azure-native:network:PrivateDnsZoneGroup", "privateEndpointName", "pe-2", "replace"),
    ("azure-native:network:PrivateDnsZoneGroup", "privateDnsZoneConfigs", [], "update"),
    # PrivateEndpoint: replacement.go (forceNewMap, Network) lists subnet; network.json
    # 2024-05-01 Resource gives location no x-ms-mutability.
    ("azure-native:network:PrivateEndpoint", "subnet.id", "/subscriptions/s/subnets/b", "replace"),
    ("azure-native:network:PrivateEndpoint", "privateEndpointName", "pe-2", "replace"),
    ("azure-native:network:PrivateEndpoint", "location", "northeurope", "update"),
    ("azure-native:network:PrivateEndpoint", "privateLinkServiceConnections", [], "update"),
    # Workbook: workbooks_API.json 2023-06-01 (specification/applicationinsights/resource-manager/
    # Microsoft.Insights/stable), PUT .../providers/Microsoft.Insights/workbooks/{resourceName};
    # its WorkbookResource is a common-types/resource-management/v1 types.json TrackedResource
    # (location [read, create]). sourceId is a query parameter of the PUT (not a path one) and a
    # body property without x-ms-mutability, like the rest of WorkbookProperties.
    (WORKBOOK, "resourceName", "0b1c2d3e-0000-5000-8000-000000000000", "replace"),
    (WORKBOOK, "resourceGroupName", "rg-other", "replace"),
    (WORKBOOK, "location", "northeurope", "replace"),
    (WORKBOOK, "serializedData", '{"version":"Notebook/1.0"}', "update"),
    (WORKBOOK, "displayName", "ML endpoint x (mlw)", "update"),
    (WORKBOOK, "sourceId", "Azure Monitor", "update"),
    (WORKBOOK, "tags.owner", "platform", "update"),
    # resources Deployment: path .../deployments/{deploymentName}.
    ("azure-native:resources:Deployment", "deploymentName", "traffic-2", "replace"),
    ("azure-native:resources:Deployment", "properties.mode", "Complete", "update"),
]


@pytest.mark.parametrize(("kind", "path", "value", "expected"), AZURE_FACTS)
def test_azure_inputs_that_replace(kind: str, path: str, value: Any, expected: str) -> None:
    base = AZURE[kind]
    assert op(kind, base, changed(base, path, value)) == expected


def test_an_api_versions_token_follows_the_same_rules() -> None:
    # The table is keyed by type; a version-pinned local SDK declares
    # azure-native:machinelearningservices/v20240401:OnlineEndpoint (an alias of the type).
    kind = "azure-native:machinelearningservices/v20240401:OnlineEndpoint"
    base = AZURE[ENDPOINT]
    assert op(kind, base, changed(base, "endpointName", "other")) == "replace"
    assert op(kind, base, changed(base, "properties.traffic.blue", 90)) == "update"


def test_a_location_spelled_otherwise_is_no_change() -> None:
    # diff.go (applyAzureSpecificDiff): `location` is compared without case and spaces.
    base = AZURE[ENDPOINT]
    assert op(ENDPOINT, base, changed(base, "location", "West Europe")) == "none"
    assert op(ENDPOINT, base, changed(base, "location", "West US")) == "replace"


def test_inside_a_replacing_input_a_change_replaces_a_new_key_does_not() -> None:
    # diff.go (calculateValueDiff): a parent that replaces turns its children's updates into
    # replacements; a key added under it stays an add.
    kind = "azure-native:network:PrivateEndpoint"
    base = AZURE[kind]
    assert op(kind, base, changed(base, "subnet.id", "/b")) == "replace"
    assert op(kind, base, changed(base, "subnet.name", "inference")) == "update"
    assert op(kind, base, changed(base, "subnet", REMOVE)) == "replace"


def test_a_type_missing_from_the_tables_updates() -> None:
    kind = "azure-native:storage:StorageAccount"
    base = {"resourceGroupName": "rg", "accountName": "sa", "location": "westeurope"}
    assert op(kind, base, changed(base, "accountName", "sb")) == "update"


def test_the_path_parameters_are_the_sdks_get_arguments() -> None:
    # The outside oracle for the path parameters: pulumi_azure_native 3.29 generates each type's
    # get function with the GET path's parameters (plus query parameters, which are no inputs),
    # and the GET and PUT paths of a resource are one path. Every table entry is those plus the
    # documented extras (location where create-only, forceNewMap's inputs).
    extras = {"location", "principalId", "subnet"}
    for kind in AZURE:
        _, module, name = kind.split(":")
        package = importlib.import_module(f"pulumi_azure_native.{module}")
        snake = re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
        get = inspect.signature(getattr(package, f"get_{snake}")).parameters
        # The resource's arguments, beside its class (`<Name>InitArgs` where a type of the
        # module already has `<Name>Args`).
        sdk = sys.modules[getattr(package, name).__module__]
        init = getattr(sdk, f"{name}InitArgs", None) or getattr(sdk, f"{name}Args")
        args = inspect.signature(init.__init__).parameters
        path = {_camel(p) for p in get if p in args}
        assert path == set(_AZURE_FORCE_NEW[f"{module}:{name}"]) - extras, kind
        assert set(_AZURE_FORCE_NEW[f"{module}:{name}"]) <= {_camel(p) for p in args}, kind


def _camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(word.title() for word in rest)


def test_every_type_the_program_declares_has_its_rules() -> None:
    # A type added to the program without an entry would show every change as an update.
    azure = run_namespace(scenario("max"))
    kinds = {r.type.split(":", 1)[1] for r in azure.resources if r.custom}
    assert kinds <= set(_AZURE_FORCE_NEW)
    assert {f"azure-native:{k}" for k in kinds} == set(AZURE)
    kubernetes = run_namespace(kubernetes_scenario("max"))
    declared = {
        (r.inputs["apiVersion"], r.inputs["kind"]) for r in kubernetes.resources if r.custom
    }
    # The kinds with fields of their own in the provider's table are keyed by the versions the
    # program declares.
    assert {("apps/v1", "Deployment"), ("v1", "Service")} <= declared
    assert {(o["apiVersion"], o["kind"]) for o in K8S_OBJECTS.values()} <= declared
