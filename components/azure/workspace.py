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


def lookup_workspace(settings: AzureSettings) -> Workspace:
    """Read the workspace once per stack: its id scopes asset ids, its location the endpoints."""
    found = ml.get_workspace_output(
        resource_group_name=settings.resource_group, workspace_name=settings.workspace
    )
    return Workspace(
        resource_group=settings.resource_group,
        name=settings.workspace,
        id=found.id,
        location=found.location.apply(lambda location: location or ""),
    )
