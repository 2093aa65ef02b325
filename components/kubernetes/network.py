"""Private access on Kubernetes: serving pods accept traffic from the gateway only.

A default-deny NetworkPolicy selects every serving pod of the stack (ingress and egress: a
bento with its model baked in calls nothing), and one allow policy per endpoint admits the
configured Gateway's Envoy proxies (selected by the labels Envoy Gateway puts on them, in any
namespace) on the serving port, plus namespaces labelled
`ml-endpoints/metrics-scraper: "true"` (where Prometheus runs) for `/metrics`. Services are
ClusterIP only: never LoadBalancer or NodePort.
https://kubernetes.io/docs/concepts/services-networking/network-policies/
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components import naming
from components.kubernetes import labels as lbl
from models.stack import KubernetesSettings

# Envoy Gateway labels every proxy pod with the Gateway it serves.
OWNING_GATEWAY_NAME = "gateway.envoyproxy.io/owning-gateway-name"
OWNING_GATEWAY_NAMESPACE = "gateway.envoyproxy.io/owning-gateway-namespace"


def create_default_deny(
    settings: KubernetesSettings, *, tags: dict[str, str]
) -> k8s.networking.v1.NetworkPolicy:
    """Deny all ingress and egress for every pod this program serves in the namespace."""
    return k8s.networking.v1.NetworkPolicy(
        naming.DEFAULT_DENY,
        metadata=k8s.meta.v1.ObjectMetaArgsDict(
            name=naming.DEFAULT_DENY_POLICY,
            namespace=settings.namespace,
            labels={**tags, "app.kubernetes.io/managed-by": lbl.MANAGED_BY},
        ),
        spec=k8s.networking.v1.NetworkPolicySpecArgsDict(
            pod_selector=k8s.meta.v1.LabelSelectorArgsDict(
                match_expressions=[
                    k8s.meta.v1.LabelSelectorRequirementArgsDict(
                        key=lbl.ENDPOINT_LABEL, operator="Exists"
                    )
                ]
            ),
            policy_types=["Ingress", "Egress"],
        ),
    )


def create_gateway_allow(
    endpoint_name: str,
    *,
    settings: KubernetesSettings,
    tags: dict[str, str],
    parent: pulumi.Resource,
) -> k8s.networking.v1.NetworkPolicy:
    """Admit the gateway (and metrics scrapers) to an endpoint's pods on the serving port."""
    port = [k8s.networking.v1.NetworkPolicyPortArgsDict(port=lbl.HTTP_PORT, protocol="TCP")]
    return k8s.networking.v1.NetworkPolicy(
        naming.gateway_allow(endpoint_name),
        metadata=k8s.meta.v1.ObjectMetaArgsDict(
            name=naming.gateway_allow(endpoint_name),
            namespace=settings.namespace,
            labels=lbl.labels(tags, endpoint_name, component="network"),
        ),
        spec=k8s.networking.v1.NetworkPolicySpecArgsDict(
            pod_selector=k8s.meta.v1.LabelSelectorArgsDict(
                match_labels=lbl.selector(endpoint_name)
            ),
            policy_types=["Ingress"],
            ingress=[
                k8s.networking.v1.NetworkPolicyIngressRuleArgsDict(
                    from_=[
                        k8s.networking.v1.NetworkPolicyPeerArgsDict(
                            # The Gateway's proxies, in whichever namespace Envoy Gateway runs
                            # them (by default its own, not the Gateway's).
                            namespace_selector=k8s.meta.v1.LabelSelectorArgsDict(),
                            pod_selector=k8s.meta.v1.LabelSelectorArgsDict(
                                match_labels={
                                    OWNING_GATEWAY_NAME: settings.gateway.name,
                                    OWNING_GATEWAY_NAMESPACE: settings.gateway.namespace,
                                }
                            ),
                        )
                    ],
                    ports=port,
                ),
                k8s.networking.v1.NetworkPolicyIngressRuleArgsDict(
                    from_=[
                        k8s.networking.v1.NetworkPolicyPeerArgsDict(
                            namespace_selector=k8s.meta.v1.LabelSelectorArgsDict(
                                match_labels={lbl.SCRAPER_NAMESPACE_LABEL: "true"}
                            )
                        )
                    ],
                    ports=port,
                ),
            ],
        ),
        opts=pulumi.ResourceOptions(parent=parent),
    )
