"""Least-privilege roles: the endpoint identity's, and the three people roles of a stack.

Every assignment is scoped to one resource (a registry, a storage account, the workspace, a
Key Vault secret), never a subscription or resource group, and named by a GUID derived from
its inputs, so the same config always yields the same assignment. The two custom role
definitions are defined once per resource group (assignable there, assigned at the
workspace): a tenant holds at most 5,000 custom roles, so one per workspace would not scale.
https://learn.microsoft.com/azure/role-based-access-control/custom-roles (read 2026-12-04)

Traffic changes go through the pipeline (`mlep rollout/rollback`, a pull request, `pulumi up`
in CI), whose identity writes the endpoint. An endpoint PUT that carries a user-assigned
identity also needs `Microsoft.ManagedIdentity/userAssignedIdentities/assign/action` on that
identity (ARM's linked authorization check, LinkedAuthorizationFailed otherwise); traffic
operators deliberately do not get it, so a by-hand `az ml online-endpoint update --traffic`
fails and every traffic change is reviewed. The incident path is `mlep rollback` through the
pipeline (README "Role separation"). Deployment developers get deployment actions only, never
endpoint writes, so they cannot move traffic.
https://learn.microsoft.com/azure/machine-learning/how-to-assign-roles

Every action below is an operation of the resource provider operations list, read 2026-12-04:
https://learn.microsoft.com/azure/role-based-access-control/permissions/ai-machine-learning
(tests/test_azure_roles.py keeps that list and checks each action against it).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import authorization

from components import naming
from components.azure.workspace import Workspace
from models.stack import Principal, Roles

# Built-in role definition GUIDs, read 2026-12-04:
# https://learn.microsoft.com/azure/role-based-access-control/built-in-roles
ACR_PULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
STORAGE_BLOB_DATA_READER = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
KEY_VAULT_SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
# "AzureML Metrics Writer (preview)": workspaces/metrics/*/write; what Azure ML assigns a
# system-assigned endpoint identity on the workspace, besides AcrPull and Storage Blob Data
# Reader (https://learn.microsoft.com/azure/machine-learning/concept-endpoints-online-auth).
# https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/ai-machine-learning
AZUREML_METRICS_WRITER = "635dd51f-9968-44d3-b7fb-6d9a6bd613ae"

_ML = "Microsoft.MachineLearningServices/workspaces"


@dataclass(frozen=True)
class CustomRole:
    """A custom role of the resource group, assigned on the workspace to one config list."""

    key: str  # used in logical names: traffic-operator, deployment-developer
    title: str
    description: str
    actions: tuple[str, ...]


TRAFFIC_OPERATOR = CustomRole(
    key="traffic-operator",
    title="traffic operator",
    # onlineEndpoints/write marks the traffic side for the pack (ID-03). On an endpoint with
    # a user-assigned identity it moves no traffic by hand: that also needs assign/action on
    # the identity, which only the pipeline's identity holds (see the module docstring).
    description="Reads online endpoints and their deployments and writes endpoints; traffic "
    "changes run through the pipeline. Cannot create or change deployments, read keys or "
    "delete anything.",
    actions=(
        f"{_ML}/read",
        f"{_ML}/onlineEndpoints/read",
        f"{_ML}/onlineEndpoints/write",
        f"{_ML}/onlineEndpoints/deployments/read",
    ),
)

DEPLOYMENT_DEVELOPER = CustomRole(
    key="deployment-developer",
    title="deployment developer",
    description="Creates, updates and deletes online deployments and reads their logs and "
    "the workspace models, environments and code they use. Cannot change endpoints or their "
    "traffic, or read keys.",
    actions=(
        f"{_ML}/read",
        f"{_ML}/onlineEndpoints/read",
        f"{_ML}/onlineEndpoints/deployments/read",
        f"{_ML}/onlineEndpoints/deployments/write",
        f"{_ML}/onlineEndpoints/deployments/delete",
        f"{_ML}/onlineEndpoints/deployments/getLogs/action",
        # The asset containers as well as their versions: `models/*/read` matches only the
        # versions (`models/versions/read`), not `models/read`.
        f"{_ML}/models/read",
        f"{_ML}/models/versions/read",
        f"{_ML}/environments/read",
        f"{_ML}/environments/versions/read",
        f"{_ML}/codes/read",
        f"{_ML}/codes/versions/read",
    ),
)


def resource_group_id(subscription_id: str, resource_group: str) -> str:
    """The ARM id of a resource group: the custom roles' scope and assignable scope."""
    return f"/subscriptions/{subscription_id}/resourceGroups/{resource_group}"


def role_definition_path(subscription_id: str, role_guid: str) -> str:
    """The role definition id a role assignment takes."""
    return (
        f"/subscriptions/{subscription_id}/providers/Microsoft.Authorization/"
        f"roleDefinitions/{role_guid}"
    )


def builtin_role(workspace: Workspace, role_guid: str) -> pulumi.Output[str]:
    return workspace.subscription_id.apply(lambda sub: role_definition_path(sub, role_guid))


def assign(
    logical_name: str,
    *,
    scope: pulumi.Input[str],
    scope_key: str,
    role_definition_id: pulumi.Input[str],
    role_key: str,
    principal_id: pulumi.Input[str],
    principal_key: str,
    principal_type: str | None = None,
    parent: pulumi.Resource,
) -> authorization.RoleAssignment:
    """One role assignment, named by a GUID of (scope, role, principal) keys known from config."""
    return authorization.RoleAssignment(
        logical_name,
        role_assignment_name=naming.stable_guid(scope_key, role_key, principal_key),
        scope=scope,
        role_definition_id=role_definition_id,
        principal_id=principal_id,
        principal_type=principal_type,
        opts=pulumi.ResourceOptions(parent=parent),
    )


class WorkspaceRoles(pulumi.ComponentResource):
    """Custom roles for traffic operators and deployment developers: each defined on the
    workspace's resource group, assigned on the workspace.

    A role is defined only when its principal list is non-empty.
    """

    def __init__(
        self, roles: Roles, *, workspace: Workspace, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(
            naming.WORKSPACE_ROLES_TYPE, naming.workspace_roles(workspace.name), None, opts
        )
        for role, members in (
            (TRAFFIC_OPERATOR, roles.traffic_operators),
            (DEPLOYMENT_DEVELOPER, roles.deployment_developers),
        ):
            if members:
                self._define_and_assign(role, members, workspace)
        self.register_outputs({})

    def _define_and_assign(
        self, role: CustomRole, members: list[Principal], workspace: Workspace
    ) -> None:
        group_id = workspace.subscription_id.apply(
            lambda sub: resource_group_id(sub, workspace.resource_group)
        )
        definition = authorization.RoleDefinition(
            naming.custom_role(workspace.name, role.key),
            # One name per (resource group, role): a second workspace of the group would
            # declare the same definition, never a second one.
            role_definition_id=group_id.apply(lambda gid: naming.custom_role_guid(gid, role.key)),
            role_name=workspace.subscription_id.apply(
                lambda sub: naming.custom_role_name(role.title, sub, workspace.resource_group)
            ),
            description=role.description,
            role_type="CustomRole",
            scope=group_id,
            assignable_scopes=[group_id],
            permissions=[authorization.PermissionArgs(actions=list(role.actions))],
            opts=pulumi.ResourceOptions(parent=self),
        )
        # Assignments take the subscription-level id of the definition; deriving it from the
        # definition's output makes every assignment wait for the definition.
        definition_id = pulumi.Output.all(workspace.subscription_id, definition.id).apply(
            lambda pair: role_definition_path(pair[0], pair[1].rsplit("/", 1)[-1])
        )
        scope_key = f"{workspace.resource_group}/{workspace.name}"
        for member in members:
            assign(
                naming.role_member(workspace.name, role.key, member.id),
                scope=workspace.id,
                scope_key=scope_key,
                role_definition_id=definition_id,
                # The group's definition (not the workspace's of old): a new assignment name,
                # so the replacement is created before the old assignment is deleted.
                role_key=f"{workspace.resource_group}/custom-role/{role.key}",
                principal_id=member.id,
                principal_key=member.id,
                principal_type=member.type,
                parent=self,
            )
