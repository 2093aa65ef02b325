"""Prometheus monitoring of an endpoint: a ServiceMonitor and the same alerts as on Azure.

The ServiceMonitor copies the pods' endpoint and deployment labels onto every series BentoML
exports on `/metrics` (`mlep_endpoint`, `mlep_deployment`), so alerts are computed per
deployment: a 5 % canary's errors are not diluted by the stable deployment's volume. The
expressions come from models/prometheus_queries.py, which `mlep rollout`'s guardrails read too.
Rules follow pint's checks: a comparison, a `for:`, a `severity` label, `summary` and
`runbook_url` annotations.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components import naming
from components.kubernetes import labels as lbl
from models import prometheus_queries as queries
from models.endpoint import EndpointSpec

MONITORING_API = "monitoring.coreos.com/v1"
RUNBOOK_BASE = "https://github.com/ml-endpoints/ml-endpoints/blob/main/docs/runbooks.md"
SCRAPE_INTERVAL = "30s"
RATE_WINDOW = "5m"
ALERT_FOR = "5m"


@dataclass(frozen=True)
class Alert:
    name: str
    expr: str
    severity: str
    summary: str
    anchor: str


def alerts(spec: EndpointSpec, namespace: str) -> list[Alert]:
    """Every alert of one endpoint, with the spec's thresholds."""
    thresholds = spec.alerts
    value = queries.signal_values(
        spec,
        namespace,
        RATE_WINDOW,
        container=lbl.CONTAINER_NAME,
        workload_name=lbl.workload_name,
    )
    title = spec.name.replace("-", " ").title().replace(" ", "")
    enough = queries.enough_requests(spec, namespace, RATE_WINDOW)

    def share(key: str, side: str) -> str:
        """A share's comparison, only where a deployment served ``alerts.min_requests``."""
        limit = getattr(thresholds, key)
        return f"({value[key]} {side} {limit}) and on ({queries.GROUP_BY}) ({enough})"

    return [
        Alert(
            f"{title}LatencyP95High",
            f"{value['latency_p95_ms']} > {thresholds.latency_p95_ms}",
            "warning",
            f"p95 latency of {spec.name} above {thresholds.latency_p95_ms} ms",
            "latency",
        ),
        Alert(
            f"{title}SuccessRateLow",
            share("success_rate_min_percent", "<"),
            "critical",
            f"success rate of {spec.name} below {thresholds.success_rate_min_percent} %",
            "success-rate",
        ),
        Alert(
            f"{title}ClientErrorRateHigh",
            share("client_error_rate_max_percent", ">"),
            "info",
            f"4xx rate of {spec.name} above {thresholds.client_error_rate_max_percent} %",
            "client-errors",
        ),
        Alert(
            f"{title}ServerErrorRateHigh",
            share("server_error_rate_max_percent", ">"),
            "critical",
            f"5xx rate of {spec.name} above {thresholds.server_error_rate_max_percent} %",
            "server-errors",
        ),
        Alert(
            f"{title}CpuHigh",
            f"{value['cpu_max_percent']} > {thresholds.cpu_max_percent}",
            "warning",
            f"CPU of a {spec.name} pod above {thresholds.cpu_max_percent} % of its limit",
            "cpu",
        ),
        Alert(
            f"{title}MemoryHigh",
            f"{value['memory_max_percent']} > {thresholds.memory_max_percent}",
            "warning",
            f"memory of a {spec.name} pod above {thresholds.memory_max_percent} % of its limit",
            "memory",
        ),
    ]


def create_monitoring(
    spec: EndpointSpec,
    *,
    namespace: str,
    tags: dict[str, str],
    parent: pulumi.Resource,
) -> None:
    """The ServiceMonitor scraping the endpoint's Services, and its PrometheusRule."""
    metadata = k8s.meta.v1.ObjectMetaArgsDict(
        name=spec.name,
        namespace=namespace,
        labels=lbl.labels(tags, spec.name, component="monitoring"),
    )
    opts = pulumi.ResourceOptions(parent=parent)
    _service_monitor(spec.name, namespace, metadata, opts)
    _prometheus_rule(spec, namespace, metadata, opts)


def _service_monitor(
    endpoint_name: str,
    namespace: str,
    metadata: k8s.meta.v1.ObjectMetaArgsDict,
    opts: pulumi.ResourceOptions,
) -> k8s.apiextensions.CustomResource:
    return k8s.apiextensions.CustomResource(
        naming.service_monitor(endpoint_name),
        api_version=MONITORING_API,
        kind="ServiceMonitor",
        metadata=metadata,
        spec={
            "selector": {"matchLabels": lbl.selector(endpoint_name)},
            "namespaceSelector": {"matchNames": [namespace]},
            "endpoints": [
                {
                    "port": lbl.PORT_NAME,
                    "path": "/metrics",
                    "interval": SCRAPE_INTERVAL,
                    # BentoML's path label then arrives as `exported_endpoint`, which the
                    # metric relabelings and the queries rely on (models/prometheus_queries.py).
                    "honorLabels": False,
                    "relabelings": [
                        _copy_label(lbl.ENDPOINT_LABEL, "mlep_endpoint"),
                        _copy_label(lbl.DEPLOYMENT_LABEL, "mlep_deployment"),
                    ],
                    "metricRelabelings": queries.metric_relabelings(),
                }
            ],
        },
        opts=opts,
    )


def _prometheus_rule(
    spec: EndpointSpec,
    namespace: str,
    metadata: k8s.meta.v1.ObjectMetaArgsDict,
    opts: pulumi.ResourceOptions,
) -> k8s.apiextensions.CustomResource:
    return k8s.apiextensions.CustomResource(
        naming.prometheus_rule(spec.name),
        api_version=MONITORING_API,
        kind="PrometheusRule",
        metadata=metadata,
        spec={
            "groups": [
                {
                    "name": f"ml-endpoints.{spec.name}",
                    "rules": [_rule(alert, spec.name) for alert in alerts(spec, namespace)],
                }
            ]
        },
        opts=opts,
    )


def _rule(alert: Alert, endpoint_name: str) -> dict[str, object]:
    """One alerting rule, with what pint checks: `for:`, severity, summary and runbook."""
    return {
        "alert": alert.name,
        "expr": alert.expr,
        "for": ALERT_FOR,
        "labels": {"severity": alert.severity, "mlep_endpoint": endpoint_name},
        "annotations": {
            "summary": alert.summary,
            "description": (
                f"{alert.summary} for {ALERT_FOR} "
                "(deployment {{ $labels.mlep_deployment }}{{ $labels.pod }})."
            ),
            "runbook_url": f"{RUNBOOK_BASE}#{alert.anchor}",
        },
    }


def _copy_label(pod_label: str, target: str) -> dict[str, object]:
    """A relabeling copying a pod label (as Prometheus sanitises its name) onto each series."""
    sanitised = "".join(c if c.isalnum() else "_" for c in pod_label)
    return {
        "sourceLabels": [f"__meta_kubernetes_pod_label_{sanitised}"],
        "targetLabel": target,
        "action": "replace",
    }
