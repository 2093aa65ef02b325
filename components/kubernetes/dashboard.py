"""A Grafana dashboard per endpoint, in a ConfigMap that Grafana's dashboard sidecar loads.

What the seeds' metric table lists and the case studies watch, per deployment: request volume,
p50 and p95 latency, the 2xx/4xx/5xx shares, CPU and memory against the pods' limits, the
instance count, and the live traffic split (the share of the endpoint's requests each
deployment received; the declared weights stay on the HTTPRoute: on the dashboard they would
make every traffic step replace its ConfigMap). Built with Grafana's own builders
(grafana-foundation-sdk), so the JSON model is Grafana's; every query comes from
models/prometheus_queries.py, the module the alerts and the guardrails read, with Grafana's
`$__rate_interval` as the rate window.

The ConfigMap carries the label the Grafana Helm chart's sidecar watches by default
(`grafana_dashboard: "1"`); the sidecar must watch the endpoint's namespace
(`sidecar.dashboards.searchNamespace`, README).
"""

from __future__ import annotations

import json

import pulumi
import pulumi_kubernetes as k8s
from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard as dashboard_builders
from grafana_foundation_sdk.builders import prometheus, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common, dashboard

from components import naming
from components.kubernetes import labels as lbl
from models import prometheus_queries as queries
from models.endpoint import EndpointSpec

# The Grafana Helm chart's sidecar.dashboards.label and labelValue defaults.
SIDECAR_LABEL = ("grafana_dashboard", "1")
RATE = "$__rate_interval"
WIDTH, HEIGHT = 12, 8
DATASOURCE = dashboard.DataSourceRef(type_val="prometheus", uid="${datasource}")


def panels(spec: EndpointSpec, namespace: str) -> list[tuple[str, str, str, list[str]]]:
    """(title, unit, threshold key or "", expressions) of each graph, in order."""
    values = queries.signal_values(
        spec, namespace, RATE, container=lbl.CONTAINER_NAME, workload_name=lbl.workload_name
    )
    latency = [
        queries.latency_ms(spec.name, namespace, RATE, quantile)
        for quantile in queries.DASHBOARD_QUANTILES
    ]
    return [
        ("Requests per second", "reqps", "", [queries.request_rate(spec.name, namespace, RATE)]),
        ("Latency p50 and p95", "ms", "latency_p95_ms", latency),
        ("Success rate (2xx)", "percent", "success_rate_min_percent",
         [values["success_rate_min_percent"]]),
        ("Client errors (4xx)", "percent", "client_error_rate_max_percent",
         [values["client_error_rate_max_percent"]]),
        ("Server errors (5xx)", "percent", "server_error_rate_max_percent",
         [values["server_error_rate_max_percent"]]),
        ("CPU, % of limit", "percent", "cpu_max_percent", [values["cpu_max_percent"]]),
        ("Memory, % of limit", "percent", "memory_max_percent", [values["memory_max_percent"]]),
        ("Instances (available replicas)", "short", "",
         [queries.instances(spec, namespace, workload_name=lbl.workload_name)]),
        ("Live traffic split (share of requests received)", "percent", "",
         [queries.traffic_split(spec.name, namespace, RATE)]),
    ]  # fmt: skip


def dashboard_json(spec: EndpointSpec, namespace: str) -> str:
    """The dashboard of one endpoint, as Grafana's JSON model."""
    board = (
        dashboard_builders.Dashboard(f"ML endpoint {spec.name}")
        .uid(f"mlep-{spec.name}")
        .tags(["ml-endpoints", spec.name])
        .time("now-6h", "now")
        .refresh("1m")
        .with_variable(
            dashboard_builders.DatasourceVariable("datasource")
            .label("Prometheus")
            .type("prometheus")
        )
    )
    for title, unit, key, expressions in panels(spec, namespace):
        graph = (
            timeseries.Panel()
            .title(title)
            .unit(unit)
            .datasource(DATASOURCE)
            .span(WIDTH)
            .height(HEIGHT)
            .legend(
                common_builders.VizLegendOptions()
                .show_legend(True)
                .display_mode(common.LegendDisplayMode.LIST)
                .placement(common.LegendPlacement.BOTTOM)
            )
        )
        for index, expression in enumerate(expressions):
            legend = "{{mlep_deployment}}"
            if len(expressions) > 1:
                legend += f" p{round(queries.DASHBOARD_QUANTILES[index] * 100)}"
            graph = graph.with_target(
                prometheus.Dataquery()
                .expr(expression)
                .legend_format(_legend(expression, legend))
                .ref_id(chr(ord("A") + index))
            )
        if key:
            graph = graph.thresholds(_threshold(float(getattr(spec.alerts, key)))).thresholds_style(
                common_builders.GraphThresholdsStyleConfig().mode(
                    common.GraphTresholdsStyleMode.LINE
                )
            )
        board = board.with_panel(graph)
    return json.dumps(board.build(), cls=JSONEncoder, sort_keys=True)


def create_dashboard(
    spec: EndpointSpec,
    *,
    namespace: str,
    tags: dict[str, str],
    parent: pulumi.Resource,
) -> k8s.core.v1.ConfigMap:
    labels = lbl.labels(tags, spec.name, component="dashboard")
    labels[SIDECAR_LABEL[0]] = SIDECAR_LABEL[1]
    return k8s.core.v1.ConfigMap(
        naming.dashboard(spec.name),
        metadata=k8s.meta.v1.ObjectMetaArgsDict(
            name=f"{spec.name}-dashboard", namespace=namespace, labels=labels
        ),
        data={f"mlep-{spec.name}.json": dashboard_json(spec, namespace)},
        # pulumi-kubernetes replaces a ConfigMap whose data changes; under a fixed name the
        # old one must go first.
        opts=pulumi.ResourceOptions(parent=parent, delete_before_replace=True),
    )


def _threshold(value: float) -> dashboard_builders.ThresholdsConfig:
    return (
        dashboard_builders.ThresholdsConfig()
        .mode(dashboard.ThresholdsMode.ABSOLUTE)
        .steps(
            [
                dashboard.Threshold(value=None, color="green"),
                dashboard.Threshold(value=value, color="red"),
            ]
        )
    )


def _legend(expression: str, per_deployment: str) -> str:
    """Series per deployment, per pod (CPU, memory) or per workload (instances)."""
    if "by (pod)" in expression:
        return "{{pod}}"
    if "by (deployment)" in expression:
        return "{{deployment}}"
    return per_deployment
