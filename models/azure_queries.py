"""What Azure Monitor is asked about an online endpoint: metric names and traffic-log queries.

The alert rules (components/azure/alerts.py) and the rollout guardrails
(mlep/change/guardrails/azure.py) both measure an endpoint through these, so a rollout step is
judged on the same numbers its alerts fire on. Names interpolated into KQL are validated
``Name`` values (lowercase letters, digits and hyphens), which cannot close a string literal.

Three rules shape every rate:
- The success rate is the share of requests answered 2xx, over every request (2xx / all, as
  the online endpoint key metrics define "HTTP 2xx Rate"); the 4xx and 5xx rates are the
  shares answered 4xx and 5xx, over every request too.
- A rate needs volume: a deployment that answered fewer than ``alerts.min_requests`` requests
  in the window has no row at all (neither alert series nor guardrail reading), because one
  failure out of three requests is noise, not an incident.
- A request answered before routing (401, 404 "no deployment with positive weight", 429) has
  no ``DeploymentName``. Such requests belong to the endpoint, not to a deployment: they are
  kept out of the per-deployment rates and counted by ``unrouted_query``, one series per
  endpoint, instead of forming a series for a phantom deployment named "".
Log alerts read a window that ingestion has filled (see ALERT_INGESTION_DELAY_MINUTES); the
guardrails read the bake window the caller gives, through the query API's ``timespan``.

Metrics: https://learn.microsoft.com/azure/azure-monitor/reference/supported-metrics/microsoft-machinelearningservices-workspaces-onlineendpoints-metrics
Traffic log (table and columns): https://learn.microsoft.com/azure/azure-monitor/reference/tables/amlonlineendpointtrafficlog
Status codes answered before routing: https://learn.microsoft.com/azure/machine-learning/how-to-troubleshoot-online-endpoints#http-status-codes
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
# KQL predicates over the HTTP status of the final response (ResponseCode, an int: "the final
# response code returned to the user").
SUCCESS_RESPONSES = "ResponseCode between (200 .. 299)"
CLIENT_ERROR_RESPONSES = "ResponseCode between (400 .. 499)"
SERVER_ERROR_RESPONSES = "ResponseCode >= 500"
# A request the endpoint answered itself, before routing it to a deployment.
UNROUTED = "isempty(DeploymentName)"
ROUTED = "isnotempty(DeploymentName)"

# Log alerts evaluate every ALERT_WINDOW_MINUTES, each time over the ALERT_WINDOW_MINUTES that
# ended ALERT_INGESTION_DELAY_MINUTES ago, so consecutive evaluations tile the log without gap
# or overlap and each reads minutes whose records have arrived. Resource logs (the traffic log
# is one, sent by the endpoint's diagnostic setting) "are usually available within 3 to 10
# minutes end-to-end":
# https://learn.microsoft.com/azure/azure-monitor/logs/data-ingestion-time#azure-metrics-resource-logs-activity-log
# A window read earlier counts the requests that have arrived, and the ones that arrive after
# it are never evaluated at all. The cost: an alert fires 10 to 15 minutes after the requests.
ALERT_WINDOW_MINUTES = 5
ALERT_INGESTION_DELAY_MINUTES = 10
# Requests, then the percentage of them matching: the columns every rate query returns.
REQUESTS_COLUMN = "Requests"
MATCHING_COLUMN = "Matching"
RATE_COLUMN = "RatePercent"


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


def rate_query(endpoint_name: str, workspace_name: str, matching: str, min_requests: int) -> str:
    """KQL for a log alert: per deployment, the percentage of its requests matching
    ``matching`` in the alert window; no row for a deployment under ``min_requests`` requests,
    none for the requests answered before routing (see ``unrouted_query``)."""
    return (
        _alert_traffic(endpoint_name, workspace_name, min_requests)
        + f"| where {ROUTED}\n"
        + _rate(f"countif({matching})", by="DeploymentName")
    )


def unrouted_query(endpoint_name: str, workspace_name: str, min_requests: int) -> str:
    """KQL for a log alert: the percentage of the endpoint's requests answered before routing
    (no deployment) in the alert window, one row for the endpoint, none under
    ``min_requests`` requests."""
    return _alert_traffic(endpoint_name, workspace_name, min_requests) + _rate(
        f"countif({UNROUTED})", by=None
    )


def deployment_rates_query(
    endpoint_name: str, workspace_name: str, deployment_name: str, min_requests: int
) -> str:
    """KQL: one row with every rate of ``RATES`` for one deployment, or none when it answered
    fewer than ``min_requests`` requests.

    The time range is the caller's (the query API's ``timespan``), so the ratio covers it whole.
    """
    counts = ", ".join(f"{rate.count_column} = countif({rate.matching})" for rate in RATES)
    rates = ", ".join(
        f"{rate.column} = round(100.0 * {rate.count_column} / {REQUESTS_COLUMN}, 3)"
        for rate in RATES
    )
    return (
        _min_requests(min_requests)
        + _endpoint_traffic(endpoint_name, workspace_name)
        + f'| where DeploymentName == "{deployment_name}"\n'
        f"| summarize {REQUESTS_COLUMN} = count(), {counts}\n"
        f"| where {REQUESTS_COLUMN} >= min_requests\n"
        f"| extend {rates}"
    )


def alert_time_filter() -> str:
    """The KQL line that restricts a log alert to its window: ALERT_WINDOW_MINUTES ending
    ALERT_INGESTION_DELAY_MINUTES ago. Log search alerts take ``ago()`` with timespan
    literals only (https://learn.microsoft.com/azure/azure-monitor/alerts/alerts-create-log-alert-rule),
    hence the numbers written out."""
    start = ALERT_WINDOW_MINUTES + ALERT_INGESTION_DELAY_MINUTES
    end = ALERT_INGESTION_DELAY_MINUTES
    return f"| where TimeGenerated >= ago({start}m) and TimeGenerated < ago({end}m)\n"


def _min_requests(min_requests: int) -> str:
    # A `let`, so the gate reads as what it is and its number stays out of the status
    # predicates (the policy pack reads those to tell which signal an alert watches).
    return f"let min_requests = {int(min_requests)};\n"


def _alert_traffic(endpoint_name: str, workspace_name: str, min_requests: int) -> str:
    return (
        _min_requests(min_requests)
        + f"{TRAFFIC_TABLE}\n"
        + alert_time_filter()
        + _endpoint_filter(endpoint_name, workspace_name)
    )


def _rate(matching_count: str, *, by: str | None) -> str:
    grouping = f" by {by}" if by else ""
    return (
        f"| summarize {REQUESTS_COLUMN} = count(), {MATCHING_COLUMN} = {matching_count}"
        f"{grouping}\n"
        f"| where {REQUESTS_COLUMN} >= min_requests\n"
        f"| extend {RATE_COLUMN} = round(100.0 * {MATCHING_COLUMN} / {REQUESTS_COLUMN}, 3)"
    )


def _endpoint_traffic(endpoint_name: str, workspace_name: str) -> str:
    return f"{TRAFFIC_TABLE}\n" + _endpoint_filter(endpoint_name, workspace_name)


def _endpoint_filter(endpoint_name: str, workspace_name: str) -> str:
    return (
        f'| where AzureMLWorkspaceName =~ "{workspace_name}"\n'
        f'| where EndpointName == "{endpoint_name}"\n'
    )
