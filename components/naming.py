"""Resource names: one place, because names are contracts.

Pulumi logical names form URNs (renaming one replaces the resource unless it gets an alias);
Azure names are what operators see and what `az ml` commands take. Both derive from the
endpoint and deployment names in the spec, never from anything random.
"""

from __future__ import annotations

COMPONENT_PREFIX = "ml-endpoints"

# Component type tokens (`pkg:module:Type`).
AZURE_ENDPOINT_TYPE = f"{COMPONENT_PREFIX}:azure:OnlineEndpoint"


def endpoint(endpoint_name: str) -> str:
    """Logical name of the endpoint component and its OnlineEndpoint."""
    return endpoint_name


def deployment(endpoint_name: str, deployment_name: str) -> str:
    """Logical name of an OnlineDeployment (URNs are per type, so the endpoint is part of it)."""
    return f"{endpoint_name}-{deployment_name}"


def traffic(endpoint_name: str) -> str:
    """Logical name of the resource that sets an endpoint's traffic."""
    return f"{endpoint_name}-traffic"


def traffic_arm_deployment(endpoint_name: str) -> str:
    """Azure name of the ARM deployment that applies traffic (<= 64 characters)."""
    return f"mlep-traffic-{endpoint_name}"


def autoscale(endpoint_name: str, deployment_name: str) -> str:
    """Logical and Azure name of a deployment's autoscale setting."""
    return f"{endpoint_name}-{deployment_name}-autoscale"


DIAGNOSTIC_SETTING_NAME = "mlep-diagnostics"


def diagnostics(endpoint_name: str) -> str:
    """Logical name of an endpoint's diagnostic setting."""
    return f"{endpoint_name}-diagnostics"


PRIVATE_ACCESS_TYPE = f"{COMPONENT_PREFIX}:azure:WorkspacePrivateAccess"


def private_access(workspace_name: str) -> str:
    """Logical name of the workspace's private access component and its private endpoint."""
    return f"{workspace_name}-private-access"


def private_endpoint(workspace_name: str) -> str:
    """Azure name of the workspace's private endpoint (and its link connection)."""
    return f"pe-{workspace_name}-amlworkspace"
