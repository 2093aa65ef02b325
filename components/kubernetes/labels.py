"""Labels and names of the Kubernetes objects: one place, because selectors are contracts.

A Deployment's selector is immutable, so it uses only the two labels that never change for a
deployment (`ml-endpoints/endpoint`, `ml-endpoints/deployment`); everything else (the
recommended `app.kubernetes.io/*` labels, the stack tags) is informational.
https://kubernetes.io/docs/concepts/overview/working-with-objects/common-labels/
"""

from __future__ import annotations

from components.naming import COMPONENT_PREFIX

ENDPOINT_LABEL = f"{COMPONENT_PREFIX}/endpoint"
DEPLOYMENT_LABEL = f"{COMPONENT_PREFIX}/deployment"
MANAGED_BY = COMPONENT_PREFIX
# Namespaces whose pods may scrape /metrics carry this label (the NetworkPolicy allows them).
SCRAPER_NAMESPACE_LABEL = f"{COMPONENT_PREFIX}/metrics-scraper"

# BentoML serves HTTP, health and metrics on one port.
HTTP_PORT = 3000
PORT_NAME = "http"
CONTAINER_NAME = "bento"


def selector(endpoint_name: str, deployment_name: str | None = None) -> dict[str, str]:
    """The labels selecting an endpoint's pods, or one deployment's."""
    labels = {ENDPOINT_LABEL: endpoint_name}
    if deployment_name:
        labels[DEPLOYMENT_LABEL] = deployment_name
    return labels


def image_version(image: str) -> str:
    """The tag (or digest) of an image reference, as a label value (at most 63 characters)."""
    if "@" in image:
        return image.rsplit(":", 1)[-1][:12]
    return image.rsplit(":", 1)[-1][:63]


def labels(
    tags: dict[str, str],
    endpoint_name: str,
    deployment_name: str | None = None,
    *,
    component: str = "inference",
    version: str | None = None,
) -> dict[str, str]:
    """Stack tags, the recommended labels and the selector labels of one object."""
    out = dict(tags)
    out.update(
        {
            "app.kubernetes.io/name": endpoint_name,
            "app.kubernetes.io/instance": (
                f"{endpoint_name}-{deployment_name}" if deployment_name else endpoint_name
            ),
            "app.kubernetes.io/component": component,
            "app.kubernetes.io/managed-by": MANAGED_BY,
        }
    )
    if "application" in tags:
        out["app.kubernetes.io/part-of"] = tags["application"]
    if version:
        out["app.kubernetes.io/version"] = version
    out.update(selector(endpoint_name, deployment_name))
    return out


def workload_name(endpoint_name: str, deployment_name: str) -> str:
    """Name of a deployment's Deployment, Service, ServiceAccount, HPA and PDB (<= 63)."""
    return f"{endpoint_name}-{deployment_name}"


def api_key_secret(endpoint_name: str) -> str:
    """The Kubernetes Secret the CSI driver syncs an endpoint's API keys into."""
    return f"{endpoint_name}-api-keys"


def api_key_vault_secret(endpoint_name: str) -> str:
    """The Key Vault secret holding an endpoint's API key (created by the platform team)."""
    return f"{endpoint_name}-api-key"
