"""Endpoint keys (auth_mode: key) kept in Key Vault, readable only by the configured readers.

The keys come from `listOnlineEndpointKeys` as secret outputs and go straight into Key Vault
secrets: they are never exported, printed or written to the plan. Each secret has a content
type and an expiry; the expiry rolls forward to the first day of the fourth month ahead on
every `pulumi up` in a new month, so a stack nobody deploys for three months fails closed
instead of serving keys forever (Azure ML keys never expire on their own). Rotating keys is
`az ml online-endpoint regenerate-keys` followed by `pulumi up`, which stores the new ones.
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime

import pulumi
from pulumi_azure_native import keyvault
from pulumi_azure_native import machinelearningservices as ml

from components import naming
from components.azure.roles import KEY_VAULT_SECRETS_USER, assign, builtin_role
from components.azure.workspace import Workspace
from models.stack import Principal

KEY_SLOTS = ("primary", "secondary")
KEY_CONTENT_TYPE = "text/plain; purpose=azureml-online-endpoint-key"
EXPIRY_MONTHS_AHEAD = 4


def key_expiry(today: date) -> int:
    """Expiry (Unix seconds, UTC) of key secrets written on ``today``: the first day of the
    month ``EXPIRY_MONTHS_AHEAD`` months later, so 3 to 4 months away and stable within a
    month (no update on every run)."""
    months = today.year * 12 + today.month - 1 + EXPIRY_MONTHS_AHEAD
    first = date(months // 12, months % 12 + 1, 1)
    return calendar.timegm(first.timetuple())


def store_endpoint_keys(
    *,
    endpoint_name: str,
    endpoint: ml.OnlineEndpoint,
    workspace: Workspace,
    vault_name: str,
    key_readers: list[Principal],
    tags: dict[str, str],
    parent: pulumi.Resource,
) -> dict[str, pulumi.Output[str]]:
    """Write both endpoint keys to Key Vault; returns each secret's URI by slot (never values).

    The vault must be in the workspace's resource group and use Azure RBAC authorization.
    """
    keys = ml.list_online_endpoint_keys_output(
        endpoint_name=endpoint.name,
        resource_group_name=workspace.resource_group,
        workspace_name=workspace.name,
        opts=pulumi.InvokeOutputOptions(depends_on=[endpoint]),
    )
    values: dict[str, pulumi.Output[str]] = {
        "primary": pulumi.Output.secret(keys.apply(lambda found: found.primary_key or "")),
        "secondary": pulumi.Output.secret(keys.apply(lambda found: found.secondary_key or "")),
    }
    expires = key_expiry(datetime.now(UTC).date())
    reader_role = builtin_role(workspace, KEY_VAULT_SECRETS_USER)
    uris: dict[str, pulumi.Output[str]] = {}
    for slot in KEY_SLOTS:
        name = naming.key_secret(endpoint_name, slot)
        secret = keyvault.Secret(
            name,
            secret_name=name,
            vault_name=vault_name,
            resource_group_name=workspace.resource_group,
            properties=keyvault.SecretPropertiesArgs(
                value=values[slot],
                content_type=KEY_CONTENT_TYPE,
                attributes=keyvault.SecretAttributesArgs(enabled=True, expires=expires),
            ),
            tags=tags,
            # No deleted_with: the secrets live in the vault and outlive the endpoint.
            opts=pulumi.ResourceOptions(parent=parent, additional_secret_outputs=["properties"]),
        )
        for reader in key_readers:
            assign(
                naming.key_reader(endpoint_name, slot, reader.id),
                scope=secret.id,
                scope_key=f"{workspace.resource_group}/{vault_name}/{name}",
                role_definition_id=reader_role,
                role_key=KEY_VAULT_SECRETS_USER,
                principal_id=reader.id,
                principal_key=reader.id,
                principal_type=reader.type,
                parent=parent,
            )
        # The URI is not secret, though it comes out of the (secret) properties object.
        uris[slot] = pulumi.Output.unsecret(
            secret.properties.apply(lambda props: props.secret_uri or "")
        )
    return uris
