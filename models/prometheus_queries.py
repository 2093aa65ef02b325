"""PromQL for an endpoint's signals, one place for the alert rules and the rollout guardrails.

BentoML exports `bentoml_service_request_duration_seconds` (histogram) and
`bentoml_service_request_total` (counter, with `http_response_code`) on `/metrics`; the
ServiceMonitor copies the pods' endpoint and deployment labels onto every series
(`mlep_endpoint`, `mlep_deployment`). CPU and memory compare cAdvisor usage with the container
limits (kube-state-metrics), whose series carry the pod name but not those labels, so a
deployment's pods are matched by name.

Each expression is a *value* (a latency in ms, a percentage); the alert rules append their
comparison with the threshold, the guardrails read the value over the bake window. Keys are the
fields of `AlertThresholds`.
"""

from __future__ import annotations

from collections.abc import Callable

from models.endpoint import EndpointSpec

REQUESTS = "bentoml_service_request_total"
DURATION_BUCKETS = "bentoml_service_request_duration_seconds_bucket"
GROUP_BY = "mlep_deployment"
# The request shares: status classes whose share of all requests each threshold bounds.
SHARE_CODES = {
    "success_rate_min_percent": "2..",
    "client_error_rate_max_percent": "4..",
    "server_error_rate_max_percent": "5..",
}


NOT_HEALTH = 'endpoint!~"/(livez|readyz|metrics)"'


def request_rate(
    endpoint: str, namespace: str, window: str, *, deployment: str | None = None
) -> str:
    """Requests per second of an endpoint (or one deployment), per deployment, over ``window``.

    A share is empty where no request had a matching status, and NaN (0/0) where there were no
    requests at all; this tells the two apart.
    """
    return (
        f"sum by ({GROUP_BY}) "
        f"(rate({REQUESTS}{{{_series(endpoint, namespace, deployment)}}}[{window}]))"
    )


def signal_values(
    spec: EndpointSpec,
    namespace: str,
    window: str,
    *,
    container: str,
    workload_name: Callable[[str, str], str],
    deployment: str | None = None,
) -> dict[str, str]:
    """The value expression of each alert signal over the rate ``window`` (e.g. "5m").

    ``container`` and ``workload_name(endpoint, deployment)`` are the Kubernetes target's names
    of the serving container and of a deployment's workload, whose pods are
    <workload>-<replicaset hash>-<pod hash>. With ``deployment`` the request signals select
    that deployment's series and CPU and memory its pods; without it, every deployment's.
    """
    select = _series(spec.name, namespace, deployment)
    requests = request_rate(spec.name, namespace, window, deployment=deployment)

    def share(codes: str) -> str:
        matching = (
            f"sum by ({GROUP_BY}) (rate({REQUESTS}"
            f'{{{select}, http_response_code=~"{codes}"}}[{window}]))'
        )
        return f"100 * {matching} / {requests}"

    selected = [deployment] if deployment else [d.name for d in spec.deployments]
    # Naming each workload keeps endpoint `fraud` from matching the pods of `fraud-scoring`.
    workloads = "|".join(workload_name(spec.name, name) for name in selected)
    pods = f'pod=~"({workloads})-[a-z0-9]+-[a-z0-9]+"'
    in_container = f'namespace="{namespace}", container="{container}"'
    usage_cpu = (
        f"sum by (pod) (rate(container_cpu_usage_seconds_total{{{in_container}, {pods}}}"
        f"[{window}]))"
    )
    usage_memory = f"sum by (pod) (container_memory_working_set_bytes{{{in_container}, {pods}}})"

    def limit(resource: str) -> str:
        return (
            "sum by (pod) (kube_pod_container_resource_limits"
            f'{{{in_container}, {pods}, resource="{resource}"}})'
        )

    return {
        "latency_p95_ms": (
            f"1000 * histogram_quantile(0.95, sum by (le, {GROUP_BY}) ("
            f"rate({DURATION_BUCKETS}{{{select}}}[{window}])"
            "))"
        ),
        **{key: share(codes) for key, codes in SHARE_CODES.items()},
        "cpu_max_percent": f"100 * {usage_cpu} / {limit('cpu')}",
        "memory_max_percent": f"100 * {usage_memory} / {limit('memory')}",
    }


def _series(endpoint: str, namespace: str, deployment: str | None) -> str:
    """The label matchers of an endpoint's request series, or one deployment's."""
    # BentoML counts its own health endpoints as requests: the kubelet's probes would dilute
    # the error rates and the latency of real traffic.
    select = f'namespace="{namespace}", mlep_endpoint="{endpoint}", {NOT_HEALTH}'
    if deployment:
        select += f', mlep_deployment="{deployment}"'
    return select
