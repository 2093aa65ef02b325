"""The endpoint's stable address: a Gateway API HTTPRoute, and auth enforced at the gateway.

`https://<hostname>/<endpoint>/...` routes to the endpoint's deployments with the weights of
`traffic` (the prefix is stripped, so the bento sees `/predict`), and `mirror_traffic` becomes
a RequestMirror filter (responses of the mirror are discarded). A traffic change touches only
this route.

Auth is enforced by Envoy Gateway's SecurityPolicy attached to the route (the one Gateway API
implementation this target supports for auth):
- `aad_token`: JWT validation against Microsoft Entra ID (issuer, audience, the tenant's keys);
- `key`: API key authentication in the `x-api-key` header, with keys from a Kubernetes Secret
  that the Secrets Store CSI driver syncs from Key Vault.
https://gateway.envoyproxy.io/docs/tasks/security/
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import naming
from components.kubernetes import labels as lbl
from models.endpoint import EndpointSpec
from models.stack import KubernetesSettings

GATEWAY_API = "gateway.networking.k8s.io/v1"
ENVOY_GATEWAY_API = "gateway.envoyproxy.io/v1alpha1"
API_KEY_HEADER = "x-api-key"


def route_rule(spec: EndpointSpec) -> dict[str, Any]:
    """The one rule of the endpoint's HTTPRoute."""
    services = {d.name: lbl.workload_name(spec.name, d.name) for d in spec.deployments}
    filters: list[dict[str, Any]] = [
        {
            "type": "URLRewrite",
            "urlRewrite": {"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/"}},
        }
    ]
    for deployment, percent in sorted(spec.mirror_traffic.items()):
        filters.append(
            {
                "type": "RequestMirror",
                "requestMirror": {
                    "backendRef": {"name": services[deployment], "port": lbl.HTTP_PORT},
                    "percent": percent,
                },
            }
        )
    timeout_ms = max(d.request_settings.request_timeout_ms for d in spec.deployments)
    return {
        "matches": [{"path": {"type": "PathPrefix", "value": f"/{spec.name}"}}],
        "filters": filters,
        "backendRefs": [
            {
                "group": "",
                "kind": "Service",
                "name": services[d.name],
                "port": lbl.HTTP_PORT,
                "weight": spec.traffic.get(d.name, 0),
            }
            for d in spec.deployments
        ],
        "timeouts": {"request": _duration(timeout_ms)},
    }


def create_route(
    spec: EndpointSpec,
    *,
    settings: KubernetesSettings,
    tags: dict[str, str],
    depends_on: list[pulumi.Resource],
    parent: pulumi.Resource,
) -> k8s.apiextensions.CustomResource:
    gateway = settings.gateway
    route = k8s.apiextensions.CustomResource(
        naming.route(spec.name),
        api_version=GATEWAY_API,
        kind="HTTPRoute",
        metadata=k8s.meta.v1.ObjectMetaArgsDict(
            name=spec.name,
            namespace=settings.namespace,
            labels=lbl.labels(tags, spec.name, component="route"),
        ),
        spec={
            "parentRefs": [
                {
                    "group": "gateway.networking.k8s.io",
                    "kind": "Gateway",
                    "name": gateway.name,
                    "namespace": gateway.namespace,
                }
            ],
            "hostnames": [settings.hostname],
            "rules": [route_rule(spec)],
        },
        opts=pulumi.ResourceOptions(parent=parent, depends_on=depends_on),
    )
    _security_policy(spec, settings, tags, route, parent)
    return route


def _security_policy(
    spec: EndpointSpec,
    settings: KubernetesSettings,
    tags: dict[str, str],
    route: k8s.apiextensions.CustomResource,
    parent: pulumi.Resource,
) -> k8s.apiextensions.CustomResource:
    auth: dict[str, Any]
    if spec.auth_mode == "aad_token":
        entra = settings.entra
        assert entra is not None  # models.rules.auth_mode_fits_target
        login = f"https://login.microsoftonline.com/{entra.tenant_id}"
        auth = {
            "jwt": {
                "providers": [
                    {
                        "name": "entra",
                        "issuer": f"{login}/v2.0",
                        "audiences": [entra.audience],
                        "remoteJWKS": {"uri": f"{login}/discovery/v2.0/keys"},
                    }
                ]
            }
        }
    else:  # key: aml_token never reaches here (models.rules.auth_mode_fits_target)
        auth = {
            "apiKeyAuth": {
                "credentialRefs": [
                    {"group": "", "kind": "Secret", "name": lbl.api_key_secret(spec.name)}
                ],
                "extractFrom": [{"headers": [API_KEY_HEADER]}],
            }
        }
    return k8s.apiextensions.CustomResource(
        naming.security_policy(spec.name),
        api_version=ENVOY_GATEWAY_API,
        kind="SecurityPolicy",
        metadata=k8s.meta.v1.ObjectMetaArgsDict(
            name=naming.security_policy(spec.name),
            namespace=settings.namespace,
            labels=lbl.labels(tags, spec.name, component="auth"),
        ),
        spec={
            "targetRefs": [
                {"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": spec.name}
            ],
            **auth,
        },
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[route]),
    )


def _duration(milliseconds: int) -> str:
    """A Gateway API duration: whole seconds when possible (`5s`), else milliseconds."""
    return f"{milliseconds // 1000}s" if milliseconds % 1000 == 0 else f"{milliseconds}ms"
