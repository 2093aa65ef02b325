"""Secrets from Azure Key Vault through the Secrets Store CSI driver, with workload identity.

No secret value is ever part of a manifest: a SecretProviderClass names the Key Vault objects,
the driver fetches them as the pod's workload identity (the ServiceAccount's
`azure.workload.identity/client-id`) when a serving pod mounts the volume, and syncs the API
key into the Kubernetes Secret the gateway's SecurityPolicy reads.
https://learn.microsoft.com/azure/aks/csi-secrets-store-identity-access
"""

from __future__ import annotations

import json

import pulumi
import pulumi_kubernetes as k8s

from components import naming
from components.kubernetes import labels as lbl
from components.kubernetes.workload import SecretProvider
from models.stack import KubernetesKeyVault

SECRETS_STORE_API = "secrets-store.csi.x-k8s.io/v1"
# Envoy Gateway's API key auth reads client-id -> key pairs from the Secret's data.
API_KEY_CLIENT = "client"


def create_secret_provider_class(
    endpoint_name: str,
    *,
    namespace: str,
    key_vault: KubernetesKeyVault,
    tags: dict[str, str],
    parent: pulumi.Resource,
) -> SecretProvider:
    """The Key Vault objects of one endpoint (its API key) and the Secret they sync into."""
    vault_secret = lbl.api_key_vault_secret(endpoint_name)
    objects = {"array": [json.dumps({"objectName": vault_secret, "objectType": "secret"})]}
    name = naming.secret_provider_class(endpoint_name)
    resource = k8s.apiextensions.CustomResource(
        name,
        api_version=SECRETS_STORE_API,
        kind="SecretProviderClass",
        metadata=k8s.meta.v1.ObjectMetaArgsDict(
            name=name,
            namespace=namespace,
            labels=lbl.labels(tags, endpoint_name, component="secrets"),
        ),
        spec={
            "provider": "azure",
            "parameters": {
                "usePodIdentity": "false",
                "clientID": key_vault.client_id,
                "keyvaultName": key_vault.name,
                "tenantId": key_vault.tenant_id,
                # The driver expects `objects` as a YAML document; JSON is valid YAML.
                "objects": json.dumps(objects),
            },
            "secretObjects": [
                {
                    "secretName": lbl.api_key_secret(endpoint_name),
                    "type": "Opaque",
                    "data": [{"objectName": vault_secret, "key": API_KEY_CLIENT}],
                }
            ],
        },
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return SecretProvider(name=name, resource=resource)
