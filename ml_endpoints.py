"""The Pulumi program's composition root: the only reader of config.

It validates the stack's `ml-endpoints:` namespace once (models/), then declares one endpoint
component per endpoint spec (components/). `__main__.py` calls `main()`: `pulumi up` runs it
for real, `mlep plan` under the SDK's mock runtime. It is a module of the installed package
so that a repository made from templates/pulumi-project runs the very same program.
"""

from __future__ import annotations

import json
from typing import Any

import pulumi
from pulumi.runtime import config as runtime_config

from models.errors import ConfigError
from models.loader import NAMESPACE, parse_stack_config
from models.stack import AzureStackConfig, KubernetesStackConfig


def read_namespace() -> dict[str, Any]:
    """Every `ml-endpoints:*` value in the stack, objects decoded (so typos can be reported)."""
    values = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    prefix = f"{NAMESPACE}:"
    namespace: dict[str, Any] = {}
    for key, raw in values.items():
        if not key.startswith(prefix):
            continue
        text = str(raw)
        namespace[key[len(prefix) :]] = json.loads(text) if text[:1] in "{[" else text
    return namespace


def declare_azure(stack: AzureStackConfig) -> dict[str, Any]:
    # Imported here so a stack only loads the provider SDKs its target uses (they are large).
    from components.azure.online_endpoint import AzureOnlineEndpoint  # noqa: PLC0415
    from components.azure.workspace import lookup_workspace  # noqa: PLC0415

    settings = stack.azure
    workspace = lookup_workspace(settings)
    if settings.private_access:
        from components.azure.private_access import WorkspacePrivateAccess  # noqa: PLC0415

        WorkspacePrivateAccess(settings.private_access, workspace=workspace, tags=stack.tags)
    if settings.roles.traffic_operators or settings.roles.deployment_developers:
        from components.azure.roles import WorkspaceRoles  # noqa: PLC0415

        WorkspaceRoles(settings.roles, workspace=workspace)
    action_group_id = None
    if settings.action_group:
        from components.azure.alerts import create_action_group  # noqa: PLC0415

        action_group_id = create_action_group(
            settings.action_group, workspace=workspace, tags=stack.tags
        )
    outputs: dict[str, Any] = {}
    for spec in stack.endpoints:
        endpoint = AzureOnlineEndpoint(
            spec,
            workspace=workspace,
            settings=settings,
            tags=stack.endpoint_tags(spec),
            protect=stack.is_prod,
            action_group_id=action_group_id,
        )
        outputs[spec.name] = {
            "name": endpoint.endpoint_name,
            "id": endpoint.endpoint_id,
            "scoring_uri": endpoint.scoring_uri,
            "identity_principal_id": endpoint.principal_id,
            # What scoring code passes to ManagedIdentityCredential(client_id=...).
            "identity_client_id": endpoint.client_id,
            "traffic": endpoint.traffic,
            "mirror_traffic": endpoint.mirror_traffic,
            # Key Vault secret URIs of the endpoint keys (auth_mode: key); never the keys.
            "key_secret_ids": endpoint.key_secret_uris,
            # Owner, application, data sensitivity...: `pulumi stack output` carries the
            # governance tags too (mlep inventory reads them from the stack files).
            "tags": stack.endpoint_tags(spec),
        }
    return outputs


def declare_kubernetes(stack: KubernetesStackConfig) -> dict[str, Any]:
    from components.kubernetes.bento_endpoint import BentoEndpoint  # noqa: PLC0415
    from components.kubernetes.network import create_default_deny  # noqa: PLC0415

    settings = stack.kubernetes
    create_default_deny(settings, tags=stack.tags)
    outputs: dict[str, Any] = {}
    for spec in stack.endpoints:
        endpoint = BentoEndpoint(spec, settings=settings, tags=stack.endpoint_tags(spec))
        outputs[spec.name] = {
            "name": spec.name,
            "url": endpoint.url,
            "traffic": endpoint.traffic,
            "mirror_traffic": endpoint.mirror_traffic,
            "tags": stack.endpoint_tags(spec),
        }
    return outputs


def main() -> None:
    source = f"Pulumi.{pulumi.get_stack()}.yaml"
    try:
        stack = parse_stack_config(read_namespace(), source)
    except ConfigError as error:
        # RunError prints the message without a Python traceback.
        raise pulumi.RunError(str(error)) from None
    if isinstance(stack, AzureStackConfig):
        outputs = declare_azure(stack)
    else:
        outputs = declare_kubernetes(stack)
    pulumi.export("endpoints", outputs)
