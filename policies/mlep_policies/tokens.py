"""Type tokens and tag keys shared with the program (a contract test keeps them in step).

Compare a resource's type with `is_type` (or `kind_of`), never with `==`: the same resource
type has one token per API version, and a rule must match all of them.
"""

import functools
import re

ONLINE_ENDPOINT = "azure-native:machinelearningservices:OnlineEndpoint"
ONLINE_DEPLOYMENT = "azure-native:machinelearningservices:OnlineDeployment"
# A custom container's image and routes; tags sit under properties, not on the resource.
ENVIRONMENT_VERSION = "azure-native:machinelearningservices:EnvironmentVersion"
ARM_DEPLOYMENT = "azure-native:resources:Deployment"
AUTOSCALE_SETTING = "azure-native:monitor:AutoscaleSetting"
DIAGNOSTIC_SETTING = "azure-native:monitor:DiagnosticSetting"  # an extension resource: no tags
PRIVATE_ENDPOINT = "azure-native:network:PrivateEndpoint"
PRIVATE_DNS_ZONE_GROUP = "azure-native:network:PrivateDnsZoneGroup"  # a child resource: no tags
USER_ASSIGNED_IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
ROLE_DEFINITION = "azure-native:authorization:RoleDefinition"  # no tags
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"  # no tags
KEY_VAULT_SECRET = "azure-native:keyvault:Secret"
ACTION_GROUP = "azure-native:monitor:ActionGroup"
METRIC_ALERT = "azure-native:monitor:MetricAlert"
SCHEDULED_QUERY_RULE = "azure-native:monitor:ScheduledQueryRule"
WORKBOOK = "azure-native:applicationinsights:Workbook"  # an endpoint's dashboard
ENDPOINT_ARM_TYPE = "Microsoft.MachineLearningServices/workspaces/onlineEndpoints"

# Kubernetes (pulumi-kubernetes tokens are kubernetes:<group/version>:<Kind>).
K8S_DEPLOYMENT = "kubernetes:apps/v1:Deployment"
K8S_SERVICE = "kubernetes:core/v1:Service"
K8S_SECRET = "kubernetes:core/v1:Secret"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
HTTP_ROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"
# Every Gateway API route kind sends traffic to backendRefs (HTTPRoute and GRPCRoute in v1,
# TLSRoute, TCPRoute and UDPRoute in v1alpha2/v1alpha3): gateway-api apis/v1/*route_types.go.
ROUTE_GROUP = "gateway.networking.k8s.io"
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
SECURITY_POLICY = "kubernetes:gateway.envoyproxy.io/v1alpha1:SecurityPolicy"
PROMETHEUS_RULE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule"
# Kinds whose pods serve (a pod template under spec.template, or the Pod itself).
WORKLOAD_KINDS = frozenset(
    {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod"}
)

# Labels the program puts on every object of an endpoint (components/kubernetes/labels.py).
ENDPOINT_LABEL = "ml-endpoints/endpoint"
DEPLOYMENT_LABEL = "ml-endpoints/deployment"

# Built-in Azure role definition GUIDs the identity rules reason about.
KEY_VAULT_SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
KEY_VAULT_SECRET_READERS = frozenset(
    {
        KEY_VAULT_SECRETS_USER,
        "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",  # Key Vault Secrets Officer
        "00482a5a-887f-4fb3-b363-3b7fe8e74483",  # Key Vault Administrator
    }
)
# Built-in roles that can list endpoint keys or grant themselves anything.
BROAD_ROLES = frozenset(
    {
        "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",  # Owner
        "b24988ac-6180-42a0-ab88-20f7382dd24c",  # Contributor
        "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",  # User Access Administrator
        "f6c7c914-8db3-469d-8ca1-694a8f32e121",  # AzureML Data Scientist
    }
)
ENDPOINT_WRITE = "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/write"
DEPLOYMENT_WRITE = "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/deployments/write"
LIST_KEYS = "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/listKeys/action"

REQUIRED_TAGS = ("owner", "application", "data-sensitivity")
SENSITIVITY_LEVELS = ("public", "internal", "confidential", "restricted")

# Resources that take Azure tags among those the program declares; any other azure-native
# resource with a `tags` input is checked too.
TAGGABLE = frozenset(
    {
        ONLINE_ENDPOINT,
        ONLINE_DEPLOYMENT,
        ARM_DEPLOYMENT,
        AUTOSCALE_SETTING,
        PRIVATE_ENDPOINT,
        USER_ASSIGNED_IDENTITY,
        KEY_VAULT_SECRET,
        ACTION_GROUP,
        METRIC_ALERT,
        SCHEDULED_QUERY_RULE,
        WORKBOOK,
    }
)


# One type, many tokens. azure-native v3 keeps the default module's token and lists the versioned
# ones as aliases (pulumi_azure_native/machinelearningservices/online_endpoint.py:
# `azure-native:machinelearningservices/v20240401:OnlineEndpoint`, ... `v20260515preview`), which
# a program still declares through a version-pinned local SDK (`pulumi package add azure-native
# machinelearningservices v20240401`). The monitor types lived in the `insights` module before
# v3 and keep it as an alias (pulumi_azure_native/monitor/metric_alert.py:
# `azure-native:insights:MetricAlert`, `azure-native:insights/v20180301:MetricAlert`); so
# does the workbook, now in `applicationinsights` (applicationinsights/workbook.py:
# `azure-native:insights:Workbook`, `azure-native:insights/v20230601:Workbook`).
_AZURE_VERSION = re.compile(r"/v\d{8}(?:preview|privatepreview|beta|alpha)?$", re.IGNORECASE)
_FORMER_INSIGHTS = {
    "ActionGroup": "monitor",
    "AutoscaleSetting": "monitor",
    "DiagnosticSetting": "monitor",
    "MetricAlert": "monitor",
    "ScheduledQueryRule": "monitor",
    "Workbook": "applicationinsights",
}
# pulumi-kubernetes tokens are kubernetes:<group>/<version>:<Kind>; a kind served by other
# versions (and by the retired `extensions` group) has those as aliases
# (pulumi_kubernetes/apps/v1/Deployment.py: apps/v1beta1, apps/v1beta2, extensions/v1beta1;
# networking/v1/NetworkPolicy.py: extensions/v1beta1; autoscaling/v2: v1, v2beta1, v2beta2;
# policy/v1/PodDisruptionBudget.py: v1beta1). Only the group names the kind, not the version.
_FORMER_EXTENSIONS = {
    "DaemonSet": "apps",
    "Deployment": "apps",
    "ReplicaSet": "apps",
    "Ingress": "networking.k8s.io",
    "NetworkPolicy": "networking.k8s.io",
}


@functools.cache  # a stack has a few dozen types and the pack asks about each per resource
def kind_of(token: str) -> str:
    """A type token without its API version, under the module that names the type today:
    `azure-native:machinelearningservices/v20240401:OnlineEndpoint` ->
    `azure-native:machinelearningservices:OnlineEndpoint`, `azure-native:insights:MetricAlert`
    -> `azure-native:monitor:MetricAlert`, `kubernetes:autoscaling/v2beta2:HorizontalPodAutoscaler`
    -> `kubernetes:autoscaling:HorizontalPodAutoscaler`. Any other token is returned as given."""
    parts = token.split(":")
    if len(parts) != 3:
        return token
    provider, module, name = parts
    if provider == "azure-native":
        module = _AZURE_VERSION.sub("", module)
        if module == "insights" and name in _FORMER_INSIGHTS:
            module = _FORMER_INSIGHTS[name]
    elif provider == "kubernetes":
        group = module.rsplit("/", 1)[0] if "/" in module else module
        if group == "extensions" and name in _FORMER_EXTENSIONS:
            group = _FORMER_EXTENSIONS[name]
        module = group
    return f"{provider}:{module}:{name}"


@functools.cache  # asked for every resource by every policy: a dict lookup after the first
def is_type(token: str, *expected: str) -> bool:
    """Whether ``token`` is (any API version of) one of the ``expected`` type tokens."""
    kind = kind_of(token)
    return any(kind == kind_of(e) for e in expected)


@functools.cache
def is_route(token: str) -> bool:
    """Whether ``token`` is a Gateway API route of any kind and version."""
    kind = kind_of(token)
    return kind.startswith(f"kubernetes:{ROUTE_GROUP}:") and kind.endswith("Route")


TAGGABLE_KINDS = frozenset(kind_of(t) for t in TAGGABLE)
