"""Diagnostic settings: an endpoint's traffic, console and event logs to Log Analytics.

Log categories of online endpoints:
https://learn.microsoft.com/azure/machine-learning/monitor-resource-reference
"""

from __future__ import annotations

import pulumi
from pulumi_azure_native import machinelearningservices as ml
from pulumi_azure_native import monitor

from components import naming

ENDPOINT_LOG_CATEGORIES = (
    "AmlOnlineEndpointTrafficLog",
    "AmlOnlineEndpointConsoleLog",
    "AmlOnlineEndpointEventLog",
)


def create_diagnostics(
    endpoint_name: str,
    endpoint: ml.OnlineEndpoint,
    log_analytics_workspace_id: str,
    parent: pulumi.Resource,
) -> monitor.DiagnosticSetting:
    """Send every endpoint log category and all metrics to the given workspace."""
    return monitor.DiagnosticSetting(
        naming.diagnostics(endpoint_name),
        name=naming.DIAGNOSTIC_SETTING_NAME,
        resource_uri=endpoint.id,
        workspace_id=log_analytics_workspace_id,
        log_analytics_destination_type="Dedicated",
        logs=[
            monitor.DiagnosticsLogSettingsArgs(category=category, enabled=True)
            for category in ENDPOINT_LOG_CATEGORIES
        ],
        metrics=[monitor.DiagnosticsMetricSettingsArgs(category="AllMetrics", enabled=True)],
        # No deleted_with: Azure keeps diagnostic settings of a deleted resource and applies
        # them to a new one of the same name, so they are deleted explicitly, before it.
        opts=pulumi.ResourceOptions(parent=parent),
    )
