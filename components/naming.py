"""Resource names: one place, because names are contracts.

Pulumi logical names form URNs (renaming one replaces the resource unless it gets an alias);
Azure names are what operators see and what `az ml` commands take. Both derive from the
endpoint and deployment names in the spec, never from anything random.
"""

from __future__ import annotations

import uuid

COMPONENT_PREFIX = "ml-endpoints"

# Component type tokens (`pkg:module:Type`).
AZURE_ENDPOINT_TYPE = f"{COMPONENT_PREFIX}:azure:OnlineEndpoint"


def endpoint(endpoint_name: str) -> str:
    """Logical name of the endpoint component and its OnlineEndpoint."""
    return endpoint_name


def deployment(endpoint_name: str, deployment_name: str) -> str:
    """Logical name of an OnlineDeployment (URNs are per type, so the endpoint is part of it)."""
    return f"{endpoint_name}-{deployment_name}"


def environment(endpoint_name: str, deployment_name: str) -> str:
    """Logical and Azure name of the environment registered for a deployment that gives an
    image (its versions follow its definition: components/azure/environment.py)."""
    return f"{endpoint_name}-{deployment_name}-env"


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


# Deterministic GUIDs for role assignments and role definitions: Azure requires GUID names,
# and the same inputs must give the same name on every run (a new name is a new assignment).
_GUID_NAMESPACE = uuid.UUID("0b7e9c1a-5d4f-4e63-8a2b-9f1c3d5e7a60")


def stable_guid(*parts: str) -> str:
    """A GUID that depends only on ``parts`` (case-insensitive: ARM ids are)."""
    return str(uuid.uuid5(_GUID_NAMESPACE, "|".join(part.lower() for part in parts)))


def identity(endpoint_name: str) -> str:
    """Logical name of an endpoint's user-assigned identity."""
    return f"{endpoint_name}-identity"


def identity_resource(endpoint_name: str) -> str:
    """Azure name of an endpoint's user-assigned identity (3-128 characters)."""
    return f"id-mlep-{endpoint_name}"


def identity_role(endpoint_name: str, role: str) -> str:
    """Logical name of one role assignment of an endpoint's identity."""
    return f"{endpoint_name}-identity-{role}"


def key_secret(endpoint_name: str, slot: str) -> str:
    """Logical name, and Key Vault secret name, of an endpoint key (slot: primary, secondary)."""
    return f"mlep-{endpoint_name}-{slot}-key"


def key_reader(endpoint_name: str, slot: str, principal_id: str) -> str:
    """Logical name of a key reader's role assignment on one key secret."""
    return f"{endpoint_name}-{slot}-key-reader-{principal_id}"


WORKSPACE_ROLES_TYPE = f"{COMPONENT_PREFIX}:azure:WorkspaceRoles"


def workspace_roles(workspace_name: str) -> str:
    """Logical name of the component holding the workspace's custom roles."""
    return f"{workspace_name}-roles"


def custom_role(workspace_name: str, role: str) -> str:
    """Logical name of a custom role definition (role: traffic-operator, deployment-developer).

    The URN keeps the workspace (a stack has one); the Azure names below do not."""
    return f"{workspace_name}-{role}-role"


def custom_role_guid(resource_group_id: str, role: str) -> str:
    """Azure name (a GUID) of a custom role definition: one per resource group and role, so
    every workspace of the group shares it (a tenant holds at most 5,000 custom roles).
    ``resource_group_id`` is `/subscriptions/<id>/resourceGroups/<name>`."""
    return stable_guid(resource_group_id, "custom-role", role)


def custom_role_name(title: str, subscription_id: str, resource_group: str) -> str:
    """Azure roleName of a custom role; role names are unique in a tenant, so it names the
    resource group and its subscription."""
    return f"ml-endpoints {title} ({resource_group} in {subscription_id})"


def role_member(workspace_name: str, role: str, principal_id: str) -> str:
    """Logical name of a principal's assignment of a custom role."""
    return f"{workspace_name}-{role}-{principal_id}"


def action_group(workspace_name: str) -> str:
    """Logical and Azure name of the action group alerts notify."""
    return f"ag-mlep-{workspace_name}"


# Shown in alert e-mails and SMS; Azure allows at most 12 characters.
ACTION_GROUP_SHORT_NAME = "mlep-alerts"


def alert(endpoint_name: str, what: str, deployment_name: str | None = None) -> str:
    """Logical and Azure name of an alert rule (per endpoint, or per deployment)."""
    scope = f"{endpoint_name}-{deployment_name}" if deployment_name else endpoint_name
    return f"mlep-{scope}-{what}"


def workbook(endpoint_name: str) -> str:
    """Logical name of an endpoint's Azure Monitor workbook (its dashboard)."""
    return f"{endpoint_name}-workbook"


def workbook_guid(resource_group: str, workspace_name: str, endpoint_name: str) -> str:
    """Azure name of an endpoint's workbook: Azure takes only a GUID, so it is derived from what
    identifies the endpoint (its resource group, workspace and name), the same on every run."""
    return stable_guid(resource_group, workspace_name, endpoint_name, "workbook")


# Kubernetes. Logical names are `<owner>-<kind>`. The objects of one deployment are named by
# components.kubernetes.labels.workload_name (selectors and alerts use it too); most objects of
# one endpoint are named for the endpoint.

KUBERNETES_ENDPOINT_TYPE = f"{COMPONENT_PREFIX}:kubernetes:BentoEndpoint"


def workload_object(workload_name: str, kind: str) -> str:
    """Logical name of one object of a deployment's workload (kind: serviceaccount,
    deployment, service, hpa, pdb); the object itself is named ``workload_name``."""
    return f"{workload_name}-{kind}"


def route(endpoint_name: str) -> str:
    """Logical name of an endpoint's HTTPRoute (the route itself is named for the endpoint)."""
    return f"{endpoint_name}-route"


def security_policy(endpoint_name: str) -> str:
    """Logical and Kubernetes name of the SecurityPolicy enforcing an endpoint's auth."""
    return f"{endpoint_name}-auth"


def gateway_allow(endpoint_name: str) -> str:
    """Logical and Kubernetes name of the NetworkPolicy admitting the gateway to an endpoint."""
    return f"{endpoint_name}-allow-gateway"


def secret_provider_class(endpoint_name: str) -> str:
    """Logical and Kubernetes name of an endpoint's SecretProviderClass (Key Vault via CSI)."""
    return f"{endpoint_name}-secrets"


def service_monitor(endpoint_name: str) -> str:
    """Logical name of an endpoint's ServiceMonitor (named for the endpoint in Kubernetes)."""
    return f"{endpoint_name}-servicemonitor"


def dashboard(endpoint_name: str) -> str:
    """Logical name of an endpoint's Grafana dashboard ConfigMap (Kubernetes)."""
    return f"{endpoint_name}-dashboard"


def prometheus_rule(endpoint_name: str) -> str:
    """Logical name of an endpoint's PrometheusRule (named for the endpoint in Kubernetes)."""
    return f"{endpoint_name}-prometheusrule"


# The stack's default-deny NetworkPolicy: its logical name and its Kubernetes name.
DEFAULT_DENY = "serving-default-deny"
DEFAULT_DENY_POLICY = f"{COMPONENT_PREFIX}-default-deny"
