"""An Azure Monitor workbook per endpoint: its dashboard, declared with the stack.

It shows what the seeds' metric table lists and the case studies watch: request volume, p50 and
p95 latency, the 2xx/4xx/5xx rates, CPU and memory utilisation, the instance count and the live
traffic split per deployment, under a note of the thresholds the alerts fire at. The declared
split is not in it: every rollout step would then update the workbook too (a pure traffic step
changes the traffic resource alone); the stack file and `mlep plan` show it.

- Metrics charts (workbook items of type 10) read Azure Monitor platform metrics, which every
  managed online endpoint emits without configuration: `RequestsPerMinute` and
  `RequestLatency_P50`/`_P95` on the endpoint, split by its `deployment` dimension;
  `CpuUtilizationPercentage`, `CpuMemoryUtilizationPercentage` and `DeploymentCapacity` on each
  deployment (one series per deployment). Names and dimensions: Microsoft's supported-metrics
  reference,
  https://learn.microsoft.com/azure/azure-monitor/reference/supported-metrics/microsoft-machinelearningservices-workspaces-onlineendpoints-metrics
  and .../microsoft-machinelearningservices-workspaces-onlineendpoints-deployments-metrics.
  Latency, CPU and memory are the metrics the alerts watch (models/azure_queries.py).
- Log queries (items of type 3) over `AmlOnlineEndpointTrafficLog` give the rates and the live
  split, computed as the alerts and the guardrails compute them (models/azure_queries.py: the
  status predicates of RATES over the requests routed to a deployment), over the workbook's time
  range instead of an alert window, and without the alerts' minimum volume: a dashboard shows
  what happened. They need `azure.log_analytics_workspace_id` (the diagnostic setting sends the
  traffic log there). Without it the workbook is metrics only, and shows requests per minute
  by status class (the metric's `statusCodeClass` dimension) in place of the rates.

Where it appears (https://learn.microsoft.com/azure/azure-monitor/visualize/workbooks-automate,
"Template parameters"): a workbook's `sourceId` is the resource it is linked to and shown under;
with a Log Analytics workspace that is the workspace (the gallery "Workbooks in Log Analytics
workspace"), the resource every log query reads; without one it is "Azure Monitor", the
Workbooks gallery of Azure Monitor. Its Azure name is a GUID (the API takes nothing else)
derived from the endpoint, so re-running never creates a second one; its display name must be
unique per resource group and source, hence the workspace in it.

The item shapes are those of Microsoft's own gallery workbooks (microsoft/Application-Insights-
Workbooks, Workbooks/**/*.workbook, and schema/workbook.json); see the constants below.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pulumi
from pulumi_azure_native import applicationinsights
from pulumi_azure_native import machinelearningservices as ml

from components import naming
from components.azure.workspace import Workspace
from models.azure_queries import (
    CPU_METRIC,
    DEPLOYMENT_NAMESPACE,
    ENDPOINT_NAMESPACE,
    LATENCY_DIMENSION,
    LATENCY_P95_METRIC,
    MEMORY_METRIC,
    RATES,
    REQUESTS_COLUMN,
    ROUTED,
    TRAFFIC_TABLE,
    Rate,
)
from models.endpoint import EndpointSpec

# The workbook's own format: the `version` of serializedData, which the resource's `version`
# must match (workbooks_API.json 2023-06-01, WorkbookProperties.version).
WORKBOOK_VERSION = "Notebook/1.0"
WORKBOOK_SCHEMA = (
    "https://github.com/Microsoft/Application-Insights-Workbooks/blob/master/schema/workbook.json"
)
CATEGORY = "workbook"  # the gallery type ("workbook", "tsg", ...)
AZURE_MONITOR_GALLERY = "Azure Monitor"
LOG_ANALYTICS_TYPE = "microsoft.operationalinsights/workspaces"

# Metrics beside those the alerts watch (models/azure_queries.py), on the endpoint and on each
# deployment, with the endpoint's dimension for the status class.
REQUESTS_METRIC = "RequestsPerMinute"
LATENCY_P50_METRIC = "RequestLatency_P50"
CAPACITY_METRIC = "DeploymentCapacity"
# The endpoint metrics' dimensions: the deployment (the one the latency alert splits by) and,
# for RequestsPerMinute, the status class ("2xx", "4xx", "5xx").
DEPLOYMENT_DIMENSION = LATENCY_DIMENSION
STATUS_CLASS_DIMENSION = "statusCodeClass"

# Item types and enums as Microsoft's gallery workbooks and schema/workbook.json write them:
# text 1, query 3, parameters 9, metrics 10; a metric's aggregation 4 is the average (the
# gallery charts "Percentage CPU" with 4, "Transactions" with 1 for the sum, and labels its
# columns so); chartType 2 a line chart (the gallery's most used chart of metrics over time);
# queryType 0 Log Analytics; parameter type 4 a time range picker, referenced as {TimeRange}
# and {TimeRange:grain}
# (https://learn.microsoft.com/azure/azure-monitor/visualize/workbooks-time).
TEXT, QUERY, PARAMETERS, METRICS = 1, 3, 9, 10
AVERAGE, LINE_CHART, LOG_ANALYTICS_QUERY, TIME_RANGE_PICKER = 4, 2, 0, 4
TIME_RANGE = "TimeRange"
HOUR_MS = 3_600_000
DEFAULT_RANGE_MS = 4 * HOUR_MS
RANGES_MS = (HOUR_MS // 4, HOUR_MS, 4 * HOUR_MS, 12 * HOUR_MS, 24 * HOUR_MS, 72 * HOUR_MS)
HALF = "50"  # customWidth: two charts a row

# The rate charts (name, title), by the AlertThresholds field each rate is judged against; the
# names are the rate alerts' (components/azure/alerts.py).
RATE_CHARTS = {
    "success_rate_min_percent": ("success-rate", "Success rate (2xx, % of requests)"),
    "client_error_rate_max_percent": ("client-error-rate", "Client errors (4xx, % of requests)"),
    "server_error_rate_max_percent": ("server-error-rate", "Server errors (5xx, % of requests)"),
}


def display_name(endpoint_name: str, workspace_name: str) -> str:
    return f"ML endpoint {endpoint_name} ({workspace_name})"


def workbook_json(
    spec: EndpointSpec,
    *,
    workspace_name: str,
    endpoint_id: str,
    deployment_ids: Sequence[str],
    log_analytics_workspace_id: str | None,
) -> str:
    """The workbook of one endpoint (``deployment_ids`` in the order of its deployments), as
    the JSON its ``serializedData`` holds."""
    items: list[dict[str, Any]] = [
        _text("summary", _summary(spec, workspace_name)),
        _time_range(),
        _metrics(
            "requests",
            "Requests per minute, by deployment",
            ENDPOINT_NAMESPACE,
            [endpoint_id],
            [(REQUESTS_METRIC, DEPLOYMENT_DIMENSION)],
        ),
        _metrics(
            "latency",
            "Latency p50 and p95 (ms), by deployment",
            ENDPOINT_NAMESPACE,
            [endpoint_id],
            [
                (LATENCY_P50_METRIC, DEPLOYMENT_DIMENSION),
                (LATENCY_P95_METRIC, DEPLOYMENT_DIMENSION),
            ],
        ),
    ]
    if log_analytics_workspace_id:
        law = log_analytics_workspace_id
        for rate in RATES:
            name, title = RATE_CHARTS[rate.threshold]
            items.append(_query(name, title, _rate_query(spec, workspace_name, rate), law))
        items.append(
            _query(
                "traffic-split",
                "Live traffic split (% of routed requests each deployment answered)",
                _split_query(spec, workspace_name),
                law,
            )
        )
    else:
        items.append(
            _metrics(
                "requests-by-status",
                "Requests per minute, by status class (2xx, 4xx, 5xx)",
                ENDPOINT_NAMESPACE,
                [endpoint_id],
                [(REQUESTS_METRIC, STATUS_CLASS_DIMENSION)],
            )
        )
    deployments = list(deployment_ids)
    # One series per deployment: a metrics chart of several resources plots each.
    for name, title, metric in (
        ("cpu", "CPU utilisation (%)", CPU_METRIC),
        ("memory", "Memory utilisation (%)", MEMORY_METRIC),
        ("instances", "Instances (deployment capacity)", CAPACITY_METRIC),
    ):
        items.append(_metrics(name, title, DEPLOYMENT_NAMESPACE, deployments, [(metric, None)]))
    workbook = {
        "version": WORKBOOK_VERSION,
        "items": items,
        "isLocked": False,
        # What the workbook opens with when it has no context (a shared link, a pin).
        "fallbackResourceIds": [log_analytics_workspace_id or endpoint_id],
        "$schema": WORKBOOK_SCHEMA,
    }
    return json.dumps(workbook, separators=(",", ":"))


def create_dashboard(
    spec: EndpointSpec,
    *,
    endpoint: ml.OnlineEndpoint,
    deployments: list[ml.OnlineDeployment],
    workspace: Workspace,
    log_analytics_workspace_id: str | None,
    tags: dict[str, str],
    parent: pulumi.Resource,
) -> applicationinsights.Workbook:
    """The endpoint's workbook, linked to the Log Analytics workspace (or Azure Monitor's
    gallery without one). Its JSON is built once, when the endpoint and deployment ids are known."""
    serialized = pulumi.Output.all(endpoint.id, *(d.id for d in deployments)).apply(
        lambda ids: workbook_json(
            spec,
            workspace_name=workspace.name,
            endpoint_id=ids[0],
            deployment_ids=ids[1:],
            log_analytics_workspace_id=log_analytics_workspace_id,
        )
    )
    return applicationinsights.Workbook(
        naming.workbook(spec.name),
        resource_name_=naming.workbook_guid(workspace.resource_group, workspace.name, spec.name),
        resource_group_name=workspace.resource_group,
        location=workspace.location,
        kind=applicationinsights.WorkbookSharedTypeKind.SHARED,
        category=CATEGORY,
        display_name=display_name(spec.name, workspace.name),
        description=(
            f"Requests, latency, 2xx/4xx/5xx, CPU, memory, instances and traffic per deployment "
            f"of online endpoint {spec.name}. Declared by ml-endpoints: the next pulumi up "
            "overwrites changes made in the portal (save a copy to edit)."
        ),
        serialized_data=serialized,
        version=WORKBOOK_VERSION,
        source_id=log_analytics_workspace_id or AZURE_MONITOR_GALLERY,
        tags=tags,
        # A workbook outlives the resources it charts in Azure: deleted explicitly, like alerts.
        opts=pulumi.ResourceOptions(parent=parent),
    )


def _summary(spec: EndpointSpec, workspace_name: str) -> str:
    """Markdown: what the workbook charts, and the thresholds the alerts fire at."""
    alerts = spec.alerts
    deployments = ", ".join(d.name for d in spec.deployments)
    return (
        f"## ML endpoint {spec.name} (workspace {workspace_name})\n"
        f"Deployments: {deployments}. Every chart splits by deployment, so the requests show the "
        "live traffic split (the declared one is the stack file's `traffic`).\n\n"
        f"Alerts fire at: p95 latency above {alerts.latency_p95_ms} ms; success rate below "
        f"{alerts.success_rate_min_percent:g} %; 4xx above "
        f"{alerts.client_error_rate_max_percent:g} %; 5xx above "
        f"{alerts.server_error_rate_max_percent:g} % (rates with at least "
        f"{alerts.min_requests} requests); CPU above {alerts.cpu_max_percent:g} %; memory above "
        f"{alerts.memory_max_percent:g} %."
    )


def _text(name: str, markdown: str) -> dict[str, Any]:
    return {"type": TEXT, "content": {"json": markdown}, "name": name}


def _time_range() -> dict[str, Any]:
    picker = {
        "version": "KqlParameterItem/1.0",
        "name": TIME_RANGE,
        "label": "Time range",
        "type": TIME_RANGE_PICKER,
        "isRequired": True,
        "value": {"durationMs": DEFAULT_RANGE_MS},
        "typeSettings": {
            "selectableValues": [{"durationMs": ms} for ms in RANGES_MS],
            "allowCustom": True,
        },
    }
    return {
        "type": PARAMETERS,
        "content": {"version": "KqlParameterItem/1.0", "parameters": [picker], "style": "pills"},
        "name": "parameters",
    }


def _metrics(
    name: str,
    title: str,
    namespace: str,
    resource_ids: list[str],
    metrics: list[tuple[str, str | None]],
) -> dict[str, Any]:
    """A line chart of (metric, dimension to split by) of resources of one type."""
    resource_type = namespace.lower()
    return {
        "type": METRICS,
        "content": {
            "version": "MetricsItem/2.0",
            "size": 0,
            "chartType": LINE_CHART,
            "resourceType": resource_type,
            "metricScope": 0,
            "resourceIds": resource_ids,
            "timeContextFromParameter": TIME_RANGE,
            "timeContext": {"durationMs": DEFAULT_RANGE_MS},
            "metrics": [
                {
                    "namespace": resource_type,
                    # <namespace>-<category>-<name>; an empty category is the form Microsoft's
                    # gallery uses most (microsoft.compute/virtualmachines--Percentage CPU).
                    "metric": f"{resource_type}--{metric}",
                    "aggregation": AVERAGE,
                    "splitBy": dimension,
                }
                for metric, dimension in metrics
            ],
            "title": title,
            "gridSettings": {"rowLimit": 10000},
        },
        "customWidth": HALF,
        "name": name,
    }


def _query(name: str, title: str, query: str, log_analytics_workspace_id: str) -> dict[str, Any]:
    """A time chart of a log query over the Log Analytics workspace."""
    return {
        "type": QUERY,
        "content": {
            "version": "KqlItem/1.0",
            "query": query,
            "size": 0,
            "title": title,
            "timeContextFromParameter": TIME_RANGE,
            "timeContext": {"durationMs": DEFAULT_RANGE_MS},
            "queryType": LOG_ANALYTICS_QUERY,
            "resourceType": LOG_ANALYTICS_TYPE,
            "crossComponentResources": [log_analytics_workspace_id],
            "visualization": "timechart",
        },
        "customWidth": HALF,
        "name": name,
    }


# --- Log queries ---------------------------------------------------------------------------
# The workbook passes its time range as the query's timespan, so no query filters on time; each
# bins by the range's grain. Names interpolated are validated names (no quotes).


def _routed_traffic(spec: EndpointSpec, workspace_name: str) -> str:
    """The endpoint's requests that reached a deployment: the filter of the alerts' and
    guardrails' queries (models/azure_queries.py), which keep no helper public for it."""
    return (
        f"{TRAFFIC_TABLE}\n"
        f'| where AzureMLWorkspaceName =~ "{workspace_name}"\n'
        f'| where EndpointName == "{spec.name}"\n'
        f"| where {ROUTED}\n"
    )


def _bins() -> str:
    return f"bin(TimeGenerated, {{{TIME_RANGE}:grain}})"


def _rate_query(spec: EndpointSpec, workspace_name: str, rate: Rate) -> str:
    """Per deployment and time bin, the percentage of its requests matching the rate."""
    return (
        _routed_traffic(spec, workspace_name)
        + f"| summarize {REQUESTS_COLUMN} = count(), {rate.count_column} = countif({rate.matching})"
        f" by DeploymentName, {_bins()}\n"
        f"| project TimeGenerated, DeploymentName, "
        f"{rate.column} = round(100.0 * {rate.count_column} / {REQUESTS_COLUMN}, 3)"
    )


def _split_query(spec: EndpointSpec, workspace_name: str) -> str:
    """Per time bin, each deployment's share of the endpoint's routed requests."""
    return (
        "let routed = "
        + _routed_traffic(spec, workspace_name)
        + f"| summarize {REQUESTS_COLUMN} = count() by DeploymentName, {_bins()};\n"
        "routed\n"
        f"| join kind=inner (routed | summarize EndpointRequests = sum({REQUESTS_COLUMN})"
        " by TimeGenerated) on TimeGenerated\n"
        "| project TimeGenerated, DeploymentName, "
        f"SharePercent = round(100.0 * {REQUESTS_COLUMN} / EndpointRequests, 1)"
    )
