"""The Azure ML workspace endpoints live in: looked up by name, never created here."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import machinelearningservices as ml

from models.stack import AzureSettings


@dataclass(frozen=True)
class Workspace:
    """The existing Azure ML workspace endpoints live in (looked up, never created here)."""

    resource_group: str
    name: str
    id: pulumi.Output[str]
    location: pulumi.Output[str]
    subscription_id: pulumi.Output[str]
    # Where deployments pull images from and read models from (the endpoint identity's roles).
    container_registry: pulumi.Output[str]
    storage_account: pulumi.Output[str]


def lookup_workspace(settings: AzureSettings) -> Workspace:
    """Read the workspace once per stack: its id scopes asset ids and roles, its location the
    endpoints, its registry and storage account the endpoint identity's roles."""
    found = ml.get_workspace_output(
        resource_group_name=settings.resource_group, workspace_name=settings.workspace
    )
    return Workspace(
        resource_group=settings.resource_group,
        name=settings.workspace,
        id=found.id,
        location=found.location.apply(lambda location: location or ""),
        subscription_id=found.id.apply(lambda arm_id: arm_id.split("/")[2]),
        container_registry=found.container_registry.apply(
            lambda registry: _required(registry, settings.workspace, "container registry")
        ),
        storage_account=found.storage_account.apply(
            lambda account: _required(account, settings.workspace, "storage account")
        ),
    )


def _required(resource_id: str | None, workspace: str, what: str) -> str:
    if not resource_id:
        raise pulumi.RunError(
            f"workspace {workspace!r} has no {what}; the endpoint identity needs one to pull "
            f"images and read models. Fix: attach a {what} to the workspace "
            "(az ml workspace update), then run again."
        )
    return resource_id
