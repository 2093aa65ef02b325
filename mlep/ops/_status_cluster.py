"""The live Kubernetes objects `mlep status` reads: the endpoint's HTTPRoute (backend weights,
RequestMirror percent, whether the gateway accepted it) and each deployment's Deployment
(desired and ready replicas), through the cluster API with the current kubeconfig context, or
the pod's service account when run inside the cluster."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mlep.ops import _status_stack as stacks

GATEWAY_GROUP, GATEWAY_VERSION = "gateway.networking.k8s.io", "v1"


class ClusterMissing(Exception):
    """The cluster API could not be read; the message says why and what to do."""


def api_client() -> Any:
    """A kubernetes ApiClient for the current context, or the in-cluster service account."""
    from kubernetes import client, config  # noqa: PLC0415 (imported only when needed)

    try:
        config.load_incluster_config()  # type: ignore[no-untyped-call]
    except config.ConfigException:
        try:
            config.load_kube_config()  # type: ignore[no-untyped-call]
        except (config.ConfigException, OSError) as error:
            raise ClusterMissing(
                f"no cluster to read ({error}); fix: point kubectl at the cluster "
                "(`kubectl config use-context ...`, or KUBECONFIG)"
            ) from None
    return client.ApiClient()


@dataclass
class LiveRoute:
    traffic: dict[str, int] = field(default_factory=dict)
    mirror: dict[str, int] = field(default_factory=dict)
    state: str = "unknown"


def read_route(api: Any, namespace: str, endpoint: str) -> LiveRoute:
    from kubernetes.client import CustomObjectsApi  # noqa: PLC0415

    route = _read(
        f"HTTPRoute {namespace}/{endpoint}",
        lambda: CustomObjectsApi(api).get_namespaced_custom_object(
            GATEWAY_GROUP, GATEWAY_VERSION, namespace, "httproutes", endpoint
        ),
    )
    prefix = f"{endpoint}-"
    live = LiveRoute()
    for rule in route.get("spec", {}).get("rules", []):
        for backend in rule.get("backendRefs", []):
            name = str(backend.get("name", "")).removeprefix(prefix)
            live.traffic[name] = int(backend.get("weight", 1))
        for rule_filter in rule.get("filters", []):
            mirror = rule_filter.get("requestMirror")
            if rule_filter.get("type") == "RequestMirror" and mirror:
                name = str(mirror["backendRef"]["name"]).removeprefix(prefix)
                live.mirror[name] = int(mirror.get("percent", 100))
    conditions = [
        condition
        for parent in route.get("status", {}).get("parents", [])
        for condition in parent.get("conditions", [])
        if condition.get("type") == "Accepted"
    ]
    if conditions:
        accepted = all(c.get("status") == "True" for c in conditions)
        live.state = "Accepted" if accepted else f"NotAccepted ({conditions[0].get('reason')})"
    return live


def read_replicas(api: Any, namespace: str, endpoint: str, deployment: str) -> tuple[int, int]:
    """(desired, ready) replicas of the deployment's workload."""
    from kubernetes.client import AppsV1Api  # noqa: PLC0415

    name = stacks.workload_name(endpoint, deployment)
    found = _read(
        f"Deployment {namespace}/{name}",
        lambda: AppsV1Api(api).read_namespaced_deployment(name, namespace),
    )
    return int(found.spec.replicas or 0), int(found.status.ready_replicas or 0)


def _read(what: str, call: Any) -> Any:
    from kubernetes.client.exceptions import ApiException  # noqa: PLC0415
    from urllib3.exceptions import HTTPError  # noqa: PLC0415

    try:
        return call()
    except ApiException as error:
        if error.status == 404:
            raise ClusterMissing(f"{what} not found; fix: `pulumi up` creates it") from None
        if error.status in (401, 403):
            raise ClusterMissing(
                f"{what}: access denied (HTTP {error.status}); fix: the identity needs get on "
                "httproutes and deployments in the namespace"
            ) from None
        raise ClusterMissing(f"{what}: HTTP {error.status} {error.reason}") from None
    except (HTTPError, OSError) as error:
        raise ClusterMissing(
            f"{what}: the cluster API did not answer ({type(error).__name__}); fix: check the "
            "kubeconfig context and the network path to the API server"
        ) from None
