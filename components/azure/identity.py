"""The identity an endpoint runs as: a user-assigned managed identity created for it.

It gets what Azure ML gives a system-assigned endpoint identity, and nothing more: pull images
from the workspace's container registry (AcrPull), read model files from the workspace's
storage account (Storage Blob Data Reader) and write metrics to the workspace (AzureML Metrics
Writer (preview)), each scoped to that one resource. Azure assigns these itself only to a
system-assigned identity; a user-assigned one gets them from us.
https://learn.microsoft.com/azure/machine-learning/concept-endpoints-online-auth (read 2026-12-04)
Models from an Azure ML registry are read through the registry's own permissions, which the
registry's owners grant (README "Identity").
https://learn.microsoft.com/azure/machine-learning/how-to-access-resources-from-endpoints-managed-identities
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import authorization, managedidentity

from components import naming
from components.azure.roles import (
    ACR_PULL,
    AZUREML_METRICS_WRITER,
    STORAGE_BLOB_DATA_READER,
    assign,
    builtin_role,
)
from components.azure.workspace import Workspace


@dataclass(frozen=True)
class EndpointIdentity:
    identity: managedidentity.UserAssignedIdentity
    # Deployments wait for these: without them an image pull, a model download or the
    # deployment's metrics fail.
    role_assignments: list[authorization.RoleAssignment]


def create_identity(
    endpoint_name: str, *, workspace: Workspace, tags: dict[str, str], parent: pulumi.Resource
) -> EndpointIdentity:
    identity = managedidentity.UserAssignedIdentity(
        naming.identity(endpoint_name),
        resource_name_=naming.identity_resource(endpoint_name),
        resource_group_name=workspace.resource_group,
        location=workspace.location,
        tags=tags,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    identity_key = f"{workspace.resource_group}/{naming.identity_resource(endpoint_name)}"
    grants = (
        ("acr-pull", workspace.container_registry, "registry", ACR_PULL),
        ("storage-read", workspace.storage_account, "storage", STORAGE_BLOB_DATA_READER),
        ("metrics-write", workspace.id, "workspace", AZUREML_METRICS_WRITER),
    )
    assignments = [
        assign(
            naming.identity_role(endpoint_name, role),
            scope=scope,
            scope_key=f"{workspace.resource_group}/{workspace.name}/{scope_kind}",
            role_definition_id=builtin_role(workspace, role_guid),
            role_key=role_guid,
            principal_id=identity.principal_id,
            principal_key=identity_key,
            # A new identity may not have replicated yet; the type makes Azure accept it.
            principal_type="ServicePrincipal",
            parent=parent,
        )
        for role, scope, scope_kind, role_guid in grants
    ]
    return EndpointIdentity(identity=identity, role_assignments=assignments)
