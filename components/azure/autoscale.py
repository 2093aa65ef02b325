"""Azure Monitor autoscale for an online deployment: paired CPU scale-out and scale-in rules.

Azure ML managed online deployments scale through Azure Monitor autoscale settings that target
the deployment: https://learn.microsoft.com/azure/machine-learning/how-to-autoscale-endpoints
"""

from __future__ import annotations

import pulumi
from pulumi_azure_native import machinelearningservices as ml
from pulumi_azure_native import monitor

from components import naming
from components.azure.workspace import Workspace
from models.deployment import Autoscale, DeploymentSpec

CPU_METRIC = "CpuUtilizationPercentage"
DEPLOYMENT_METRIC_NAMESPACE = (
    "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/deployments"
)
# Average CPU over the last five minutes, sampled every minute (the Azure ML guidance).
TIME_GRAIN, TIME_WINDOW = "PT1M", "PT5M"


def create_autoscale(
    *,
    endpoint_name: str,
    spec: DeploymentSpec,
    scale: Autoscale,
    deployment: ml.OnlineDeployment,
    workspace: Workspace,
    tags: dict[str, str],
    parent: pulumi.Resource,
) -> monitor.AutoscaleSetting:
    """One autoscale setting per autoscaled deployment, scaling on CPU between min and max."""
    return monitor.AutoscaleSetting(
        naming.autoscale(endpoint_name, spec.name),
        autoscale_setting_name=naming.autoscale(endpoint_name, spec.name),
        resource_group_name=workspace.resource_group,
        location=workspace.location,
        enabled=True,
        target_resource_uri=deployment.id,
        profiles=[
            monitor.AutoscaleProfileArgs(
                name="cpu",
                capacity=monitor.ScaleCapacityArgs(
                    # Autoscale capacities are strings in the Azure Monitor API.
                    minimum=str(scale.min_instances),
                    maximum=str(scale.max_instances),
                    default=str(spec.replicas),
                ),
                rules=[
                    _rule(deployment, scale, scale_out=True),
                    _rule(deployment, scale, scale_out=False),
                ],
            )
        ],
        tags=tags,
        # No deleted_with: Azure keeps an autoscale setting whose target is gone.
        opts=pulumi.ResourceOptions(parent=parent),
    )


def _rule(
    deployment: ml.OnlineDeployment, scale: Autoscale, *, scale_out: bool
) -> monitor.ScaleRuleArgs:
    """Add an instance above the target CPU; remove one below the scale-in threshold."""
    return monitor.ScaleRuleArgs(
        metric_trigger=monitor.MetricTriggerArgs(
            metric_name=CPU_METRIC,
            metric_namespace=DEPLOYMENT_METRIC_NAMESPACE,
            metric_resource_uri=deployment.id,
            operator=(
                monitor.ComparisonOperationType.GREATER_THAN
                if scale_out
                else monitor.ComparisonOperationType.LESS_THAN
            ),
            statistic=monitor.MetricStatisticType.AVERAGE,
            time_aggregation=monitor.TimeAggregationType.AVERAGE,
            threshold=scale.target_cpu_percent if scale_out else scale.scale_in_cpu_percent,
            time_grain=TIME_GRAIN,
            time_window=TIME_WINDOW,
        ),
        scale_action=monitor.ScaleActionArgs(
            direction=monitor.ScaleDirection.INCREASE
            if scale_out
            else monitor.ScaleDirection.DECREASE,
            type=monitor.ScaleType.CHANGE_COUNT,
            value="1",
            cooldown=f"PT{scale.cooldown_minutes}M",
        ),
    )
