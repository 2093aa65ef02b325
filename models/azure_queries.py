"""What Azure Monitor is asked about an online endpoint: metric names and traffic-log queries.

The alert rules (components/azure/alerts.py) and the rollout guardrails (mlep/guardrails_azure.py)
both measure an endpoint through these, so a rollout step is judged on the same numbers its
alerts fire on. Names interpolated into KQL are validated ``Name`` values (lowercase letters,
digits and hyphens), which cannot close a string literal.
Metrics: https://learn.microsoft.com/azure/azure-monitor/reference/supported-metrics/microsoft-machinelearningservices-workspaces-onlineendpoints-metrics
Traffic log: https://learn.microsoft.com/azure/azure-monitor/reference/tables/amlonlineendpointtrafficlog
"""

from __future__ import annotations

from dataclasses import dataclass

ENDPOINT_NAMESPACE = "Microsoft.MachineLearningServices/workspaces/onlineEndpoints"
DEPLOYMENT_NAMESPACE = f"{ENDPOINT_NAMESPACE}/deployments"
# On the endpoint, in milliseconds, with a `deployment` dimension.
LATENCY_P95_METRIC = "RequestLatency_P95"
LATENCY_DIMENSION = "deployment"
# On each deployment, in percent.
CPU_METRIC = "CpuUtilizationPercentage"
MEMORY_METRIC = "CpuMemoryUtilizationPercentage"

TRAFFIC_TABLE = "AmlOnlineEndpointTrafficLog"
# KQL predicates over the HTTP status of the final response.
SUCCESS_RESPONSES = "ResponseCode between (200 .. 299)"
CLIENT_ERROR_RESPONSES = "ResponseCode between (400 .. 499)"
SERVER_ERROR_RESPONSES = "ResponseCode >= 500"


@dataclass(frozen=True)
class Rate:
    """A share of a deployment's requests, as columns of ``deployment_rates_query``."""

    threshold: str  # the AlertThresholds field it is judged against
    matching: str  # a KQL predicate over ResponseCode
    name: str

    @property
    def count_column(self) -> str:
        return f"{self.name}Requests"

    @property
    def column(self) -> str:
        """The percentage of requests matching, rounded to 3 decimals as the alerts round it."""
        return f"{self.name}RatePercent"


RATES = (
    Rate("success_rate_min_percent", SUCCESS_RESPONSES, "Success"),
    Rate("client_error_rate_max_percent", CLIENT_ERROR_RESPONSES, "ClientError"),
    Rate("server_error_rate_max_percent", SERVER_ERROR_RESPONSES, "ServerError"),
)


def rate_query(endpoint_name: str, workspace_name: str, matching: str) -> str:
    """KQL: the percentage of an endpoint's requests matching ``matching``, per deployment."""
    return (
        _endpoint_traffic(endpoint_name, workspace_name)
        + f"| summarize Requests = count(), Matching = countif({matching}) by DeploymentName\n"
        "| where Requests > 0\n"
        "| extend RatePercent = round(100.0 * Matching / Requests, 3)"
    )


def deployment_rates_query(endpoint_name: str, workspace_name: str, deployment_name: str) -> str:
    """KQL: one row with every rate of ``RATES`` for one deployment, or none without requests.

    The time range is the caller's (the query API's ``timespan``), so the ratio covers it whole.
    """
    counts = ", ".join(f"{rate.count_column} = countif({rate.matching})" for rate in RATES)
    rates = ", ".join(
        f"{rate.column} = round(100.0 * {rate.count_column} / Requests, 3)" for rate in RATES
    )
    return (
        _endpoint_traffic(endpoint_name, workspace_name)
        + f'| where DeploymentName == "{deployment_name}"\n'
        f"| summarize Requests = count(), {counts}\n"
        "| where Requests > 0\n"
        f"| extend {rates}"
    )


def _endpoint_traffic(endpoint_name: str, workspace_name: str) -> str:
    return (
        f"{TRAFFIC_TABLE}\n"
        f'| where AzureMLWorkspaceName =~ "{workspace_name}"\n'
        f'| where EndpointName == "{endpoint_name}"\n'
    )
