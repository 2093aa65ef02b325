"""Private access (POLICY-RULES.md, NET-01 to NET-04)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from pulumi_policy import (
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    Severity,
    StackValidationArgs,
)

from mlep_policies import tokens
from mlep_policies.define import (
    ADVISORY,
    MANDATORY,
    resource_policy,
    settings,
    stack_policy,
    string_list,
)
from mlep_policies.reading import (
    UNKNOWN,
    SelectorIndex,
    elements,
    endpoint_definitions,
    entries,
    get,
    kind,
    namespace_of,
    pod_template,
    resource_id_parts,
    text,
)
from mlep_policies.routing import Services, services_of


def _private(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for endpoint in endpoint_definitions(args.resource_type, args.props):
        value = get(endpoint, "properties", "publicNetworkAccess")
        # Azure ML enables public access when the property is absent.
        if value is not UNKNOWN and text(value).lower() != "disabled":
            report(
                f"online endpoint publicNetworkAccess is {value!r}; it must be 'Disabled' "
                "(absent counts as enabled) (NET-01). Fix: public_network_access: disabled.",
                None,
            )


endpoint_private = resource_policy(
    "net-01-endpoint-private",
    description="Online endpoints disable public network access (NET-01). Mandatory in prod, "
    "advisory elsewhere.",
    level=MANDATORY,
    severity=Severity.HIGH,
    remediation="Set public_network_access: disabled on the endpoint (the default) and reach "
    "it through the workspace's private endpoint.",
    validate=_private,
)


def _workspace_private_link(args: StackValidationArgs, report: ReportViolation) -> None:
    workspaces: dict[str, PolicyResource] = {}
    for resource in args.resources:
        if tokens.is_type(resource.resource_type, tokens.ONLINE_ENDPOINT, tokens.ONLINE_DEPLOYMENT):
            name = get(resource.props, "workspaceName")
            if isinstance(name, str):
                workspaces.setdefault(name.lower(), resource)
    private_endpoints = {}  # private endpoint name -> workspaces it links
    for resource in args.resources:
        if not tokens.is_type(resource.resource_type, tokens.PRIVATE_ENDPOINT):
            continue
        linked = set()
        connections = get(resource.props, "privateLinkServiceConnections")
        if connections is UNKNOWN:
            linked.add("*")  # unknown during preview: may link any workspace
        for connection in elements(connections):
            groups = get(connection, "groupIds")
            target = get(connection, "privateLinkServiceId")
            if UNKNOWN in (connection, groups) or (
                "amlworkspace" in [text(g).lower() for g in elements(groups)]
            ):
                linked.add("*" if UNKNOWN in (connection, groups, target) else _workspace(target))
        name = get(resource.props, "privateEndpointName")
        private_endpoints[name if isinstance(name, str) else resource.name] = linked
    zoned = {
        get(r.props, "privateEndpointName")
        for r in args.resources
        if tokens.is_type(r.resource_type, tokens.PRIVATE_DNS_ZONE_GROUP)
        and (
            get(r.props, "privateDnsZoneConfigs") is UNKNOWN
            or elements(get(r.props, "privateDnsZoneConfigs"))
        )
    }
    for workspace, resource in sorted(workspaces.items()):
        links = [pe for pe, linked in private_endpoints.items() if {workspace, "*"} & linked]
        if not links:
            report(
                f"workspace {workspace!r} has no private endpoint (groupIds: [amlworkspace]) in "
                "this stack (NET-02). Fix: set ml-endpoints:azure.private_access with the subnet "
                "and the private DNS zones.",
                resource.urn,
            )
        elif not any(pe in zoned or UNKNOWN in zoned for pe in links):
            report(
                f"the private endpoint of workspace {workspace!r} has no DNS zone group, so the "
                "workspace name does not resolve to it (NET-02). Fix: set "
                "private_access.private_dns_zone_ids.",
                resource.urn,
            )


def _workspace(resource_id: Any) -> str:
    return resource_id_parts(resource_id).get("workspaces", "").lower()


workspace_private_link = stack_policy(
    "net-02-workspace-private-link",
    description="A workspace a prod stack deploys to has a private endpoint (groupIds "
    "[amlworkspace]) with a DNS zone group (NET-02). Prod only.",
    level=MANDATORY,
    severity=Severity.HIGH,
    remediation="Set ml-endpoints:azure.private_access: {subnet_id, private_dns_zone_ids}.",
    validate=_workspace_private_link,
)


def _egress(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not tokens.is_type(args.resource_type, tokens.ONLINE_DEPLOYMENT):
        return
    value = get(args.props, "properties", "egressPublicNetworkAccess")
    # Absent means Enabled.
    if value is not UNKNOWN and text(value).lower() != "disabled":
        report(
            f"deployment {get(args.props, 'deploymentName')!r} has egressPublicNetworkAccess "
            f"{value!r} (absent counts as enabled) (NET-03). Fix: "
            "egress_public_network_access: disabled.",
            None,
        )


deployment_egress = resource_policy(
    "net-03-deployment-egress",
    description="Deployments disable public egress (egressPublicNetworkAccess: Disabled, the "
    "legacy network isolation) (NET-03).",
    level=ADVISORY,
    severity=Severity.MEDIUM,
    remediation="Set egress_public_network_access: disabled on the deployment (the default), or "
    "move the workspace to a managed virtual network.",
    validate=_egress,
)

NET04_TUNABLES = {
    "gatewayLabelKeys": string_list(
        [
            "gateway.envoyproxy.io/owning-gateway-name",
            "gateway.networking.k8s.io/gateway-name",
        ],
        "Pod labels that identify the Gateway's proxies in an allow rule.",
    ),
    "allowedNamespaceLabels": string_list(
        ["ml-endpoints/metrics-scraper"],
        "Namespace labels an allow rule may also admit (metrics scrapers).",
    ),
}


def _namespace_isolated(args: StackValidationArgs, report: ReportViolation) -> None:
    config = settings(args, NET04_TUNABLES)
    policies = [r for r in args.resources if tokens.is_type(r.resource_type, tokens.NETWORK_POLICY)]
    for resource in args.resources:
        if tokens.is_type(resource.resource_type, tokens.K8S_SERVICE):
            _check_service(resource, report)
        elif tokens.is_type(resource.resource_type, tokens.INGRESS):
            services = services_of(args.resources)
            _check_ingress(resource, services, report)
    serving: dict[str, list[PolicyResource]] = defaultdict(list)
    for resource in args.resources:
        if kind(resource.resource_type) in tokens.WORKLOAD_KINDS:
            serving[namespace_of(resource.props)].append(resource)
    # Each policy read once: (denies ingress, admits the gateway), found by what it selects.
    index = SelectorIndex(
        [
            (
                namespace_of(p.props),
                get(p.props, "spec", "podSelector"),
                (_denies_ingress(p), _admits_gateway(p, config)),
            )
            for p in policies
        ]
    )
    for namespace, workloads in sorted(serving.items()):
        for workload in workloads:
            pod_labels = entries(
                get(pod_template(kind(workload.resource_type) or "", workload.props)[0], "labels")
            )
            selecting = index.selecting(namespace, pod_labels)
            if not any(denies for denies, _ in selecting):
                report(
                    f"pods of {get(workload.props, 'metadata', 'name')!r} in namespace "
                    f"{namespace!r} have no default-deny NetworkPolicy (NET-04). Fix: add a "
                    "NetworkPolicy with policyTypes [Ingress] and no ingress rules that selects "
                    "them (the program's ml-endpoints-default-deny).",
                    workload.urn,
                )
            if not any(admits for _, admits in selecting):
                report(
                    f"no NetworkPolicy admits the Gateway's proxies to "
                    f"{get(workload.props, 'metadata', 'name')!r} (NET-04). Fix: allow ingress "
                    "from pods labelled by the Gateway (e.g. "
                    "gateway.envoyproxy.io/owning-gateway-name).",
                    workload.urn,
                )
    for policy in policies:
        for peer in _open_peers(policy, config):
            report(
                f"NetworkPolicy {get(policy.props, 'metadata', 'name')!r} admits {peer}; serving "
                "pods take traffic from the gateway only (NET-04). Fix: select the gateway's "
                "pods (or labelled scraper namespaces) instead.",
                policy.urn,
            )


def _check_service(resource: PolicyResource, report: ReportViolation) -> None:
    service_type = get(resource.props, "spec", "type")
    name = get(resource.props, "metadata", "name")
    if service_type in ("LoadBalancer", "NodePort"):
        report(
            f"Service {name!r} is of type {service_type}; serving Services are ClusterIP "
            "behind the Gateway (NET-04). Fix: use type ClusterIP.",
            resource.urn,
        )
    elif service_type == "ExternalName":
        # A DNS alias the Gateway would follow out of the namespace (or, pointed at another
        # Service's name, into it): Kubernetes docs "ExternalName"; Kyverno
        # restrict-service-external-names.
        report(
            f"Service {name!r} is of type ExternalName (to "
            f"{get(resource.props, 'spec', 'externalName')!r}); a route through it leaves the "
            "serving namespace's isolation (NET-04). Fix: use a ClusterIP Service that "
            "selects the serving pods.",
            resource.urn,
        )
    if elements(get(resource.props, "spec", "externalIPs")):
        report(
            f"Service {name!r} sets externalIPs (NET-04). Fix: remove externalIPs; expose "
            "endpoints through the Gateway.",
            resource.urn,
        )


def _check_ingress(ingress: PolicyResource, services: Services, report: ReportViolation) -> None:
    """An Ingress is a second door beside the Gateway: no auth policy, no NetworkPolicy
    allow rule of ours names its controller. Backends as networking.k8s.io/v1 writes them
    (`service.name`) and as v1beta1 and extensions/v1beta1 did (`serviceName`)."""
    namespace = namespace_of(ingress.props)
    spec = get(ingress.props, "spec")
    backends = [get(spec, "defaultBackend"), get(spec, "backend")] + [
        get(path, "backend")
        for rule in elements(get(spec, "rules"))
        for path in elements(get(rule, "http", "paths"))
    ]
    names = {get(b, "service", "name") for b in backends} | {
        get(b, "serviceName") for b in backends
    }
    for name in sorted(n for n in names if isinstance(n, str)):
        if (namespace, name) in services.by_ref and services.reach(namespace, name, None):
            report(
                f"Ingress {get(ingress.props, 'metadata', 'name')!r} exposes the serving Service "
                f"{name!r}, bypassing the Gateway and its auth (NET-04). Fix: remove the Ingress; "
                "endpoints are reached through their HTTPRoute.",
                ingress.urn,
            )


def _policy_types(policy: PolicyResource) -> list[str]:
    types = [text(t) for t in elements(get(policy.props, "spec", "policyTypes"))]
    # Kubernetes: without policyTypes a policy is an Ingress policy.
    return types or ["Ingress"]


def _denies_ingress(policy: PolicyResource) -> bool:
    """A default deny: Ingress with no rules. Unknown during preview counts as one."""
    spec = get(policy.props, "spec")
    ingress = get(spec, "ingress")
    if UNKNOWN in (spec, ingress, get(spec, "policyTypes")):
        return True
    return "Ingress" in _policy_types(policy) and not elements(ingress)


def _admits_gateway(policy: PolicyResource, config: dict[str, Any]) -> bool:
    """An ingress peer that selects the Gateway's pods (unknown during preview counts)."""
    rules = get(policy.props, "spec", "ingress")
    if rules is UNKNOWN:
        return True
    for rule in elements(rules):
        peers = get(rule, "from")
        if peers is UNKNOWN:
            return True
        for peer in elements(peers):
            pod_selector = get(peer, "podSelector", "matchLabels")
            if UNKNOWN in (peer, pod_selector):
                return True
            if set(entries(pod_selector)) & set(config["gatewayLabelKeys"]):
                return True
    return False


def _open_peers(policy: PolicyResource, config: dict[str, Any]) -> list[str]:
    """The peers of a policy's ingress rules that admit more than the gateway or scrapers."""
    found: list[str] = []
    if "Ingress" not in _policy_types(policy):
        return found
    for rule in elements(get(policy.props, "spec", "ingress")):
        peers = get(rule, "from")
        if peers is UNKNOWN:
            continue
        if not elements(peers):
            found.append("every source (an ingress rule without `from`)")
            continue
        for peer in elements(peers):
            if peer is UNKNOWN:
                continue
            if get(peer, "ipBlock") is not None:
                found.append(f"the address block {get(peer, 'ipBlock', 'cidr')!r}")
                continue
            pods = entries(get(peer, "podSelector", "matchLabels"))
            namespaces = entries(get(peer, "namespaceSelector", "matchLabels"))
            if set(pods) & set(config["gatewayLabelKeys"]):
                continue
            # An absent or empty podSelector selects every pod of the selected namespaces.
            every_pod = not pods and not elements(get(peer, "podSelector", "matchExpressions"))
            if every_pod and set(namespaces) & set(config["allowedNamespaceLabels"]):
                continue
            found.append(f"a peer selecting {sorted({*pods, *namespaces}) or 'everything'}")
    return found


namespace_isolated = stack_policy(
    "net-04-namespace-isolated",
    description="Kubernetes: serving pods have a default-deny NetworkPolicy and an allow rule "
    "from the gateway only; no Service of type LoadBalancer, NodePort or ExternalName, no "
    "externalIPs, no Ingress to a serving Service (NET-04).",
    level=MANDATORY,
    severity=Severity.HIGH,
    remediation="Keep the program's NetworkPolicies (stack default deny, per-endpoint allow "
    "from the Gateway's proxies) and ClusterIP Services; reach endpoints through their "
    "HTTPRoute, not an Ingress.",
    validate=_namespace_isolated,
    tunables=NET04_TUNABLES,
)

POLICIES = [endpoint_private, workspace_private_link, deployment_egress, namespace_isolated]
