"""Alerts on the metrics users watch, wired to one action group per stack.

Per endpoint: p95 request latency (metric alert on ``RequestLatency_P95``, split by
deployment) and the success, 4xx and 5xx rates. Azure Monitor metric alerts compare one
series with a threshold and cannot divide, so the three rates are log query alerts over the
endpoint traffic log (``AmlOnlineEndpointTrafficLog``, sent to Log Analytics by the diagnostic
setting), computed per deployment so a 5 % canary's errors are not diluted by the stable
deployment. The success rate is the share of requests answered 2xx over all requests. A rate
fires only for a deployment that answered at least ``alerts.min_requests`` requests in the
window. Requests the endpoint answers before routing (no deployment: 401, 404, 429) are not a
deployment's: one more log alert per endpoint watches their share (``unrouted-rate``). Log
alerts read the 5 minutes that ended 10 minutes ago, which log ingestion has filled (the
query time range is overridden to reach them). Per deployment: CPU and memory utilisation.
Thresholds come from the endpoint spec's ``alerts`` block. The metric names and queries are
shared with the rollout guardrails, in models/azure_queries.py, which says why for each rule.
Metrics: https://learn.microsoft.com/azure/azure-monitor/reference/supported-metrics/microsoft-machinelearningservices-workspaces-onlineendpoints-metrics
Log alert rule properties (windowSize, overrideQueryTimeRange, failingPeriods): Azure REST API
specs, specification/monitor/resource-manager/Microsoft.Insights/preview/2025-01-01-preview/
scheduledQueryRule_API.json, the version pulumi-azure-native's monitor.ScheduledQueryRule uses.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import machinelearningservices as ml
from pulumi_azure_native import monitor

from components import naming
from components.azure.workspace import Workspace
from models.azure_queries import (
    ALERT_INGESTION_DELAY_MINUTES,
    ALERT_WINDOW_MINUTES,
    CLIENT_ERROR_RESPONSES,
    CPU_METRIC,
    DEPLOYMENT_NAMESPACE,
    ENDPOINT_NAMESPACE,
    LATENCY_DIMENSION,
    LATENCY_P95_METRIC,
    MEMORY_METRIC,
    RATE_COLUMN,
    SERVER_ERROR_RESPONSES,
    SUCCESS_RESPONSES,
    rate_query,
    unrouted_query,
)
from models.endpoint import EndpointSpec
from models.stack import ActionGroup

SINGLE_RESOURCE_CRITERIA = "Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria"
# Evaluate every minute over the last five.
METRIC_FREQUENCY, METRIC_WINDOW = "PT1M", "PT5M"
# Log queries every five minutes, each over five minutes (the window and the bin size, so the
# evaluations tile the log). The scheduledQueryRules API has no "query delay" property: the
# query itself reads the window that ended ALERT_INGESTION_DELAY_MINUTES ago
# (models/azure_queries.alert_time_filter), and overrideQueryTimeRange (by default windowSize
# x numberOfEvaluationPeriods, 5 minutes) is widened to reach back to the window's start, or
# the service's own time range would hold none of its records.
LOG_FREQUENCY = LOG_WINDOW = f"PT{ALERT_WINDOW_MINUTES}M"
LOG_QUERY_TIME_RANGE = f"PT{ALERT_WINDOW_MINUTES + ALERT_INGESTION_DELAY_MINUTES}M"
# Azure Monitor severities: 0 critical, 1 error, 2 warning, 3 informational.
SEVERITY_ERROR, SEVERITY_WARNING, SEVERITY_INFO = 1, 2, 3


def create_action_group(
    settings: ActionGroup, *, workspace: Workspace, tags: dict[str, str]
) -> pulumi.Output[str]:
    """The id of the action group alerts notify: the given one, or a new one from emails."""
    if settings.id:
        return pulumi.Output.from_input(settings.id)
    group = monitor.ActionGroup(
        naming.action_group(workspace.name),
        action_group_name=naming.action_group(workspace.name),
        group_short_name=naming.ACTION_GROUP_SHORT_NAME,
        resource_group_name=workspace.resource_group,
        location="Global",
        enabled=True,
        email_receivers=[
            monitor.MicrosoftCommonEmailReceiverArgs(
                name=f"email-{index}", email_address=address, use_common_alert_schema=True
            )
            for index, address in enumerate(settings.emails)
        ],
        tags=tags,
    )
    return group.id


@dataclass(frozen=True)
class RateAlert:
    """A share of the endpoint's requests, per deployment by HTTP status of the final
    response, or (``matching`` None) the endpoint's requests answered before routing."""

    key: str
    title: str
    threshold: str  # the AlertThresholds field it is judged against
    operator: monitor.Operator
    severity: int
    matching: str | None  # a KQL predicate over ResponseCode

    @property
    def per_deployment(self) -> bool:
        return self.matching is not None

    def query(self, spec: EndpointSpec, workspace_name: str) -> str:
        minimum = spec.alerts.min_requests
        if self.matching is None:
            return unrouted_query(spec.name, workspace_name, minimum)
        return rate_query(spec.name, workspace_name, self.matching, minimum)


RATE_ALERTS = (
    RateAlert(
        "success-rate",
        "success rate (2xx over all requests)",
        "success_rate_min_percent",
        monitor.Operator.LESS_THAN,
        SEVERITY_ERROR,
        SUCCESS_RESPONSES,
    ),
    RateAlert(
        "client-error-rate",
        "client error rate (4xx)",
        "client_error_rate_max_percent",
        monitor.Operator.GREATER_THAN,
        SEVERITY_INFO,
        CLIENT_ERROR_RESPONSES,
    ),
    RateAlert(
        "server-error-rate",
        "server error rate (5xx)",
        "server_error_rate_max_percent",
        monitor.Operator.GREATER_THAN,
        SEVERITY_ERROR,
        SERVER_ERROR_RESPONSES,
    ),
    # Answered 4xx by the endpoint itself, so judged against the 4xx threshold. A warning, not
    # an error: it mixes callers' mistakes (401) with the endpoint refusing everyone (404: no
    # deployment with positive weight; 429), which docs/runbooks.md tells apart.
    RateAlert(
        "unrouted-rate",
        "unrouted requests (answered before reaching a deployment: 401, 404, 429)",
        "client_error_rate_max_percent",
        monitor.Operator.GREATER_THAN,
        SEVERITY_WARNING,
        None,
    ),
)


@dataclass(frozen=True)
class _Wiring:
    """What the alerts of one endpoint share: the workspace, the Log Analytics workspace the
    log alerts query, the action group they notify, their parent."""

    workspace: Workspace
    log_analytics_workspace_id: str
    action_group_id: pulumi.Input[str]
    parent: pulumi.Resource


def create_endpoint_alerts(
    spec: EndpointSpec,
    *,
    endpoint: ml.OnlineEndpoint,
    deployments: list[ml.OnlineDeployment],
    workspace: Workspace,
    log_analytics_workspace_id: str,
    action_group_id: pulumi.Input[str],
    tags: dict[str, str],
    parent: pulumi.Resource,
) -> None:
    """Every alert of one endpoint and its deployments."""
    wiring = _Wiring(workspace, log_analytics_workspace_id, action_group_id, parent)
    _latency_alert(spec, endpoint, wiring, tags)
    for rate in RATE_ALERTS:
        _rate_alert(spec, rate, endpoint, wiring, tags)
    for deployment_spec, deployment in zip(spec.deployments, deployments, strict=True):
        deployment_tags = {**tags, **deployment_spec.tags}
        _utilisation_alerts(spec, deployment_spec.name, deployment, wiring, deployment_tags)


def _latency_alert(
    spec: EndpointSpec, endpoint: ml.OnlineEndpoint, wiring: _Wiring, tags: dict[str, str]
) -> monitor.MetricAlert:
    """p95 request latency of the endpoint, split by deployment."""
    return _metric_alert(
        naming.alert(spec.name, "latency-p95"),
        description=f"p95 request latency of {spec.name} above {spec.alerts.latency_p95_ms} ms",
        scope=endpoint.id,
        namespace=ENDPOINT_NAMESPACE,
        metric=LATENCY_P95_METRIC,
        threshold=spec.alerts.latency_p95_ms,
        split_by=LATENCY_DIMENSION,
        severity=SEVERITY_WARNING,
        resource_group=wiring.workspace.resource_group,
        action_group_id=wiring.action_group_id,
        tags=tags,
        # Alert rules outlive their target in Azure, so they are deleted explicitly (no
        # deleted_with).
        opts=pulumi.ResourceOptions(parent=wiring.parent),
    )


def _rate_alert(
    spec: EndpointSpec,
    rate: RateAlert,
    endpoint: ml.OnlineEndpoint,
    wiring: _Wiring,
    tags: dict[str, str],
) -> monitor.ScheduledQueryRule:
    """A log query alert on one rate of the endpoint's traffic log."""
    workspace = wiring.workspace
    threshold = float(getattr(spec.alerts, rate.threshold))
    name = naming.alert(spec.name, rate.key)
    comparison = "below" if rate.operator == monitor.Operator.LESS_THAN else "above"
    of = f"a {spec.name} deployment" if rate.per_deployment else spec.name
    # One series per deployment; the unrouted share is one series for the endpoint.
    dimensions = (
        [
            monitor.DimensionArgs(
                name="DeploymentName", operator=monitor.DimensionOperator.INCLUDE, values=["*"]
            )
        ]
        if rate.per_deployment
        else None
    )
    return monitor.ScheduledQueryRule(
        name,
        rule_name=name,
        resource_group_name=workspace.resource_group,
        location=workspace.location,
        kind=monitor.Kind.LOG_ALERT,
        display_name=name,
        description=(
            f"{rate.title} of {of} {comparison} {threshold:g} % of at least "
            f"{spec.alerts.min_requests} requests, in the {ALERT_WINDOW_MINUTES} minutes that "
            f"ended {ALERT_INGESTION_DELAY_MINUTES} minutes before each evaluation"
        ),
        enabled=True,
        severity=rate.severity,
        scopes=[wiring.log_analytics_workspace_id],
        evaluation_frequency=LOG_FREQUENCY,
        window_size=LOG_WINDOW,
        override_query_time_range=LOG_QUERY_TIME_RANGE,
        criteria=monitor.ScheduledQueryRuleCriteriaArgs(
            all_of=[
                monitor.ConditionArgs(
                    query=rate.query(spec, workspace.name),
                    time_aggregation=monitor.TimeAggregation.MAXIMUM,
                    metric_measure_column=RATE_COLUMN,
                    operator=rate.operator,
                    threshold=threshold,
                    dimensions=dimensions,
                    failing_periods=monitor.ConditionFailingPeriodsArgs(
                        number_of_evaluation_periods=1, min_failing_periods_to_alert=1
                    ),
                )
            ]
        ),
        auto_mitigate=True,
        actions=monitor.ActionsArgs(action_groups=[wiring.action_group_id]),
        tags=tags,
        opts=pulumi.ResourceOptions(parent=wiring.parent, depends_on=[endpoint]),
    )


def _utilisation_alerts(
    spec: EndpointSpec,
    deployment_name: str,
    deployment: ml.OnlineDeployment,
    wiring: _Wiring,
    tags: dict[str, str],
) -> None:
    """CPU and memory utilisation of one deployment."""
    for key, metric, threshold in (
        ("cpu", CPU_METRIC, spec.alerts.cpu_max_percent),
        ("memory", MEMORY_METRIC, spec.alerts.memory_max_percent),
    ):
        _metric_alert(
            naming.alert(spec.name, key, deployment_name),
            description=f"{key} utilisation of {spec.name}/{deployment_name} above {threshold} %",
            scope=deployment.id,
            namespace=DEPLOYMENT_NAMESPACE,
            metric=metric,
            threshold=threshold,
            split_by=None,
            severity=SEVERITY_WARNING,
            resource_group=wiring.workspace.resource_group,
            action_group_id=wiring.action_group_id,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=wiring.parent),
        )


def _metric_alert(
    name: str,
    *,
    description: str,
    scope: pulumi.Input[str],
    namespace: str,
    metric: str,
    threshold: float,
    split_by: str | None,
    severity: int,
    resource_group: str,
    action_group_id: pulumi.Input[str],
    tags: dict[str, str],
    opts: pulumi.ResourceOptions,
) -> monitor.MetricAlert:
    """A static-threshold alert on the average of one metric of one resource."""
    return monitor.MetricAlert(
        name,
        rule_name=name,
        resource_group_name=resource_group,
        location="global",
        description=description,
        enabled=True,
        severity=severity,
        scopes=[scope],
        evaluation_frequency=METRIC_FREQUENCY,
        window_size=METRIC_WINDOW,
        criteria=monitor.MetricAlertSingleResourceMultipleMetricCriteriaArgs(
            odata_type=SINGLE_RESOURCE_CRITERIA,
            all_of=[
                monitor.MetricCriteriaArgs(
                    criterion_type="StaticThresholdCriterion",
                    name=metric,
                    metric_name=metric,
                    metric_namespace=namespace,
                    operator=monitor.Operator.GREATER_THAN,
                    threshold=threshold,
                    time_aggregation=monitor.AggregationTypeEnum.AVERAGE,
                    dimensions=(
                        [
                            monitor.MetricDimensionArgs(
                                name=split_by, operator="Include", values=["*"]
                            )
                        ]
                        if split_by
                        else None
                    ),
                )
            ],
        ),
        auto_mitigate=True,
        actions=[monitor.MetricAlertActionArgs(action_group_id=action_group_id)],
        tags=tags,
        opts=opts,
    )
