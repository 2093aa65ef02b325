"""PromQL for an endpoint's signals, one place for the alert rules, the rollout guardrails and
the scrape configuration they depend on.

BentoML exports `bentoml_service_request_duration_seconds` (histogram) and
`bentoml_service_request_total` (counter, with `http_response_code`) on `/metrics`, labelling
each request with its path as `endpoint` and counting its own health checks as requests
(bentoml 1.4, bentoml/_internal/server/http/instruments.py). The ServiceMonitor copies the pods'
endpoint and deployment labels onto every series (`mlep_endpoint`, `mlep_deployment`). CPU and
memory compare cAdvisor usage with the container limits (kube-state-metrics), whose series carry
the pod name but not those labels, so a deployment's pods are matched by name.

The request path under the real scrape. prometheus-operator sets every target's `endpoint`
label to the ServiceMonitor endpoint's port name (`http`), and with `honor_labels: false` (its
default, and the only value a Prometheus with `overrideHonorLabels` allows) Prometheus keeps a
scraped label that collides with a target label as `exported_<name>`; so the path arrives as
`exported_endpoint` (prometheus-operator pkg/prometheus/promcfg.go,
generateServiceMonitorConfig). The design, in two layers:
- at scrape time the ServiceMonitor drops the series of every path that is not inference
  (`metric_relabelings()`: health probes, /metrics, the docs), so probes never reach storage;
- every expression also excludes those paths under both names (`exported_endpoint` as the
  operator scrapes, `endpoint` as a scrape with `honor_labels: true` keeps it; under the
  operator `endpoint` is the port name, which no path pattern matches).

Each expression is a *value* (a latency in ms, a percentage); the alert rules append their
comparison with the threshold, the guardrails read the value over the bake window. Keys are the
fields of `AlertThresholds`. A success or error share is 0, not empty, for a deployment whose
requests had no response of that class (a total outage has no 2xx series at all).
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

# The paths BentoML serves besides the service's APIs: probes, metrics, the docs and the index
# page (bentoml/_internal/server/base_app.py, http_app.py; _bentoml_impl/server/app.py).
# Prometheus anchors the pattern; `[.]` keeps it free of escapes in YAML and PromQL alike.
NOT_INFERENCE_PATHS = (
    "/(|livez|healthz|readyz|metrics|docs|docs[.]json|schema[.]json|static_content/.*)"
)
# BentoML's path label as the operator's scrape keeps it, and as a scrape honouring it would.
PATH_LABELS = ("exported_endpoint", "endpoint")
NOT_HEALTH = ", ".join(f'{label}!~"{NOT_INFERENCE_PATHS}"' for label in PATH_LABELS)


def metric_relabelings() -> list[dict[str, object]]:
    """The ServiceMonitor's `metricRelabelings`: drop every series of a non-inference path.
    Metric relabelling runs after the target labels are attached, when BentoML's path label is
    `exported_endpoint` (the ServiceMonitor keeps `honorLabels: false`)."""
    return [{"sourceLabels": [PATH_LABELS[0]], "regex": NOT_INFERENCE_PATHS, "action": "drop"}]


def enough_requests(
    spec: EndpointSpec, namespace: str, window: str, *, deployment: str | None = None
) -> str:
    """Per deployment, present only where it served at least ``alerts.min_requests`` requests
    in ``window``: a share alert fires only `and on (mlep_deployment)` this."""
    served = request_count(spec.name, namespace, window, deployment=deployment)
    return f"{served} >= {spec.alerts.min_requests}"


def request_count(
    endpoint: str, namespace: str, window: str, *, deployment: str | None = None
) -> str:
    """Requests an endpoint (or one deployment) served in ``window``, per deployment."""
    return (
        f"sum by ({GROUP_BY}) "
        f"(increase({REQUESTS}{{{_series(endpoint, namespace, deployment)}}}[{window}]))"
    )


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


# The latency quantiles a dashboard draws; the alerts and guardrails judge p95.
DASHBOARD_QUANTILES = (0.5, 0.95)


def latency_ms(
    endpoint: str, namespace: str, window: str, quantile: float, *, deployment: str | None = None
) -> str:
    """A latency quantile in ms, per deployment, over ``window``."""
    return (
        f"1000 * histogram_quantile({quantile}, sum by (le, {GROUP_BY}) ("
        f"rate({DURATION_BUCKETS}{{{_series(endpoint, namespace, deployment)}}}[{window}])"
        "))"
    )


def traffic_split(endpoint: str, namespace: str, window: str) -> str:
    """Per deployment, its percentage of the endpoint's requests over ``window`` (mirrored
    copies included: a shadow deployment's requests are real requests to it)."""
    rate = request_rate(endpoint, namespace, window)
    return f"100 * {rate} / on () group_left () sum ({rate})"


def instances(
    spec: EndpointSpec, namespace: str, *, workload_name: Callable[[str, str], str]
) -> str:
    """Per deployment workload, its available replicas (kube-state-metrics), labelled with the
    workload's name as `deployment`."""
    workloads = "|".join(workload_name(spec.name, d.name) for d in spec.deployments)
    return (
        "sum by (deployment) (kube_deployment_status_replicas_available"
        f'{{namespace="{namespace}", deployment=~"{workloads}"}})'
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
        # `or 0 * requests`: no series of that class is a share of 0, not no share.
        return f"100 * ({matching} or 0 * {requests}) / {requests}"

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
        "latency_p95_ms": latency_ms(spec.name, namespace, window, 0.95, deployment=deployment),
        **{key: share(codes) for key, codes in SHARE_CODES.items()},
        "cpu_max_percent": f"100 * {usage_cpu} / {limit('cpu')}",
        "memory_max_percent": f"100 * {usage_memory} / {limit('memory')}",
    }


def _series(endpoint: str, namespace: str, deployment: str | None) -> str:
    """The label matchers of an endpoint's request series, or one deployment's."""
    # BentoML counts its own health endpoints as requests: the kubelet's probes would dilute
    # the error rates and the latency of real traffic (see the module docstring).
    select = f'namespace="{namespace}", mlep_endpoint="{endpoint}", {NOT_HEALTH}'
    if deployment:
        select += f', mlep_deployment="{deployment}"'
    return select
