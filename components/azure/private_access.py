"""Private access to the workspace: a private endpoint in an existing subnet, with DNS.

Endpoints of a workspace are reached through the workspace's private link (`amlworkspace`);
the component never creates the network or the DNS zones, it takes their ids (the Azure
Verified Modules rule). https://learn.microsoft.com/azure/machine-learning/how-to-configure-private-link
"""

from __future__ import annotations

import pulumi
from pulumi_azure_native import network

from components import naming
from components.azure.workspace import Workspace
from models.stack import PrivateAccess

WORKSPACE_GROUP_ID = "amlworkspace"


class WorkspacePrivateAccess(pulumi.ComponentResource):
    """A private endpoint to the workspace and a DNS zone group registering its records."""

    private_endpoint_id: pulumi.Output[str]

    def __init__(
        self,
        settings: PrivateAccess,
        *,
        workspace: Workspace,
        tags: dict[str, str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        name = naming.private_access(workspace.name)
        super().__init__(naming.PRIVATE_ACCESS_TYPE, name, None, opts)
        endpoint = network.PrivateEndpoint(
            name,
            private_endpoint_name=naming.private_endpoint(workspace.name),
            resource_group_name=workspace.resource_group,
            location=workspace.location,
            subnet=network.SubnetArgs(id=settings.subnet_id),
            private_link_service_connections=[
                network.PrivateLinkServiceConnectionArgs(
                    name=naming.private_endpoint(workspace.name),
                    private_link_service_id=workspace.id,
                    group_ids=[WORKSPACE_GROUP_ID],
                )
            ],
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        network.PrivateDnsZoneGroup(
            f"{name}-dns",
            private_dns_zone_group_name="default",
            private_endpoint_name=naming.private_endpoint(workspace.name),
            resource_group_name=workspace.resource_group,
            private_dns_zone_configs=[
                network.PrivateDnsZoneConfigArgs(
                    name=zone_id.rsplit("/", 1)[-1].replace(".", "-"), private_dns_zone_id=zone_id
                )
                for zone_id in settings.private_dns_zone_ids
            ],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[endpoint], deleted_with=endpoint),
        )
        self.private_endpoint_id = endpoint.id
        self.register_outputs({"private_endpoint_id": self.private_endpoint_id})
