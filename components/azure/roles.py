"""Least-privilege roles: the endpoint identity's, and the three people roles of a stack.

Every assignment is scoped to one resource (a registry, a storage account, the workspace, a
Key Vault secret), never a subscription or resource group, and named by a GUID derived from
its inputs, so the same config always yields the same assignment.

Azure has no permission narrower than "write the endpoint" for changing traffic, so traffic
operators may also change other endpoint settings; the policy pack (NET-01, ID-01) guards
those in review. Deployment developers get deployment actions only, never endpoint writes,
so they cannot move traffic.
https://learn.microsoft.com/azure/machine-learning/how-to-assign-roles
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import authorization

from components import naming
from components.azure.workspace import Workspace
from models.stack import Principal, Roles

# Built-in role definition GUIDs: https://learn.microsoft.com/azure/role-based-access-control/built-in-roles
ACR_PULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
STORAGE_BLOB_DATA_READER = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
KEY_VAULT_SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"

_ML = "Microsoft.MachineLearningServices/workspaces"


@dataclass(frozen=True)
class CustomRole:
    """A custom role scoped to the workspace, for one config list of principals."""

    key: str  # used in logical names: traffic-operator, deployment-developer
    title: str
    description: str
    actions: tuple[str, ...]


TRAFFIC_OPERATOR = CustomRole(
    key="traffic-operator",
    title="traffic operator",
    description="Reads online endpoints and their deployments and changes endpoint traffic. "
    "Cannot create or change deployments, read keys or delete anything.",
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
    "the assets they use. Cannot change endpoints or their traffic, or read keys.",
    actions=(
        f"{_ML}/read",
        f"{_ML}/onlineEndpoints/read",
        f"{_ML}/onlineEndpoints/deployments/read",
        f"{_ML}/onlineEndpoints/deployments/write",
        f"{_ML}/onlineEndpoints/deployments/delete",
        f"{_ML}/onlineEndpoints/deployments/getLogs/action",
        f"{_ML}/models/*/read",
        f"{_ML}/environments/*/read",
        f"{_ML}/codes/*/read",
    ),
)


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
    """Custom roles for traffic operators and deployment developers, assigned on the workspace.

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
        scope_key = f"{workspace.resource_group}/{workspace.name}"
        role_guid = naming.stable_guid(scope_key, "custom-role", role.key)
        definition = authorization.RoleDefinition(
            naming.custom_role(workspace.name, role.key),
            role_definition_id=role_guid,
            # Role names are unique per tenant, so the workspace is part of the name.
            role_name=f"ml-endpoints {role.title} ({workspace.resource_group}/{workspace.name})",
            description=role.description,
            role_type="CustomRole",
            scope=workspace.id,
            assignable_scopes=[workspace.id],
            permissions=[authorization.PermissionArgs(actions=list(role.actions))],
            opts=pulumi.ResourceOptions(parent=self),
        )
        # Assignments take the subscription-level id of the definition; deriving it from the
        # definition's output makes every assignment wait for the definition.
        definition_id = pulumi.Output.all(workspace.subscription_id, definition.id).apply(
            lambda pair: role_definition_path(pair[0], pair[1].rsplit("/", 1)[-1])
        )
        for member in members:
            assign(
                naming.role_member(workspace.name, role.key, member.id),
                scope=workspace.id,
                scope_key=scope_key,
                role_definition_id=definition_id,
                role_key=role_guid,
                principal_id=member.id,
                principal_key=member.id,
                principal_type=member.type,
                parent=self,
            )
