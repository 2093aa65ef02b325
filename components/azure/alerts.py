"""Alerts on the metrics users watch, wired to one action group per stack.

Per endpoint: p95 request latency (metric alert on ``RequestLatency_P95``, split by
deployment) and the success, 4xx and 5xx rates. Azure Monitor metric alerts compare one
series with a threshold and cannot divide, so the three rates are log query alerts over the
endpoint traffic log (``AmlOnlineEndpointTrafficLog``, sent to Log Analytics by the diagnostic
setting), computed per deployment so a 5 % canary's errors are not diluted by the stable
deployment. Per deployment: CPU and memory utilisation. Thresholds come from the endpoint
spec's ``alerts`` block. The metric names and queries are shared with the rollout guardrails,
in models/azure_queries.py.
Metrics: https://learn.microsoft.com/azure/azure-monitor/reference/supported-metrics/microsoft-machinelearningservices-workspaces-onlineendpoints-metrics
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import machinelearningservices as ml
from pulumi_azure_native import monitor

from components import naming
from components.azure.workspace import Workspace
from models.azure_queries import (
    CLIENT_ERROR_RESPONSES,
    CPU_METRIC,
    DEPLOYMENT_NAMESPACE,
    ENDPOINT_NAMESPACE,
    LATENCY_DIMENSION,
    LATENCY_P95_METRIC,
    MEMORY_METRIC,
    SERVER_ERROR_RESPONSES,
    SUCCESS_RESPONSES,
    rate_query,
)
from models.endpoint import EndpointSpec
from models.stack import ActionGroup

SINGLE_RESOURCE_CRITERIA = "Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria"
# Evaluate every minute over the last five; log queries every five minutes over five.
METRIC_FREQUENCY, METRIC_WINDOW = "PT1M", "PT5M"
LOG_FREQUENCY, LOG_WINDOW = "PT5M", "PT5M"
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
    """A ratio of the endpoint's requests, by HTTP status of the final response."""

    key: str
    title: str
    matching: str  # a KQL predicate over ResponseCode
    operator: monitor.Operator
    severity: int


RATE_ALERTS = (
    RateAlert(
        "success-rate",
        "success rate (2xx)",
        SUCCESS_RESPONSES,
        monitor.Operator.LESS_THAN,
        SEVERITY_ERROR,
    ),
    RateAlert(
        "client-error-rate",
        "client error rate (4xx)",
        CLIENT_ERROR_RESPONSES,
        monitor.Operator.GREATER_THAN,
        SEVERITY_INFO,
    ),
    RateAlert(
        "server-error-rate",
        "server error rate (5xx)",
        SERVER_ERROR_RESPONSES,
        monitor.Operator.GREATER_THAN,
        SEVERITY_ERROR,
    ),
)


def rate_threshold(spec: EndpointSpec, key: str) -> float:
    thresholds = spec.alerts
    return {
        "success-rate": thresholds.success_rate_min_percent,
        "client-error-rate": thresholds.client_error_rate_max_percent,
        "server-error-rate": thresholds.server_error_rate_max_percent,
    }[key]


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
    """A log query alert on one rate of the endpoint's traffic log, per deployment."""
    workspace = wiring.workspace
    threshold = rate_threshold(spec, rate.key)
    name = naming.alert(spec.name, rate.key)
    comparison = "below" if rate.operator == monitor.Operator.LESS_THAN else "above"
    return monitor.ScheduledQueryRule(
        name,
        rule_name=name,
        resource_group_name=workspace.resource_group,
        location=workspace.location,
        kind=monitor.Kind.LOG_ALERT,
        display_name=name,
        description=f"{rate.title} of a {spec.name} deployment {comparison} {threshold} %",
        enabled=True,
        severity=rate.severity,
        scopes=[wiring.log_analytics_workspace_id],
        evaluation_frequency=LOG_FREQUENCY,
        window_size=LOG_WINDOW,
        criteria=monitor.ScheduledQueryRuleCriteriaArgs(
            all_of=[
                monitor.ConditionArgs(
                    query=rate_query(spec.name, workspace.name, rate.matching),
                    time_aggregation=monitor.TimeAggregation.MAXIMUM,
                    metric_measure_column="RatePercent",
                    operator=rate.operator,
                    threshold=threshold,
                    dimensions=[
                        monitor.DimensionArgs(
                            name="DeploymentName",
                            operator=monitor.DimensionOperator.INCLUDE,
                            values=["*"],
                        )
                    ],
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
