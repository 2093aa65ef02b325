"""Guardrail readings from Azure Monitor, for Azure ML managed online endpoints.

p95 latency, CPU and memory come from the metrics API of the endpoint and deployment
resources; the success, 4xx and 5xx rates from the endpoint traffic log in Log Analytics. The
metric names and the query are the alert rules' own (models/azure_queries.py), restricted to
the deployment being rolled out: the success rate is its share of requests answered 2xx over
all its requests, and a deployment that answered fewer than ``alerts.min_requests`` requests
over the bake window gets no row, so its rates read as no data and the step is not proven
(decide() says "insufficient"), never a pass nor a breach. Requests answered before routing
have no deployment, so they are never in its rates. The bake window ends now: the traffic
log's latest minutes may still be arriving (resource logs take 3 to 10 minutes), which only
lowers the request count, and a later run reads them.
azure-monitor-query 2.0 no longer has a metrics client for one resource; its migration guide
points to the management SDK's ``metrics.list``, the same REST call
(``GET {resource}/providers/Microsoft.Insights/metrics``):
https://aka.ms/azsdk/python/monitor/query/migration
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from azure.core.credentials import TokenCredential
from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.mgmt.monitor import MonitorManagementClient
from azure.monitor.query import LogsQueryClient, LogsQueryPartialResult

from mlep.change.guardrails import SIGNALS, MetricsUnavailable, Reading, threshold
from models import azure_queries as queries
from models.endpoint import EndpointSpec

SUBSCRIPTION_KEY = "azure-native:subscriptionId"
SUBSCRIPTION_ENV = "AZURE_SUBSCRIPTION_ID"
# Signal -> the metric measuring it, on the endpoint (split by deployment) or on the deployment.
ENDPOINT_METRICS = {"latency_p95_ms": queries.LATENCY_P95_METRIC}
DEPLOYMENT_METRICS = {
    "cpu_max_percent": queries.CPU_METRIC,
    "memory_max_percent": queries.MEMORY_METRIC,
}
# Average, because the alert rules compare each metric's Average with the threshold
# (components/azure/alerts.py), so an interval's value is the number an alert would see.
# RequestLatency_P95 is already a percentile computed by the service; its Maximum is the
# highest single pre-aggregated sample in the interval, a noisier number no alert looks at.
AGGREGATION = "Average"
# Intervals as long as the alert rules' window (METRIC_WINDOW there, checked by a test); the
# window's worst interval decides. Shorter bakes fall back to one-minute intervals.
INTERVAL_MINUTES = 5
MESSAGE_LIMIT = 600


def subscription_id(stack_engine_config: Mapping[str, str]) -> str | None:
    """The stack's subscription: ``azure-native:subscriptionId``, else AZURE_SUBSCRIPTION_ID."""
    return stack_engine_config.get(SUBSCRIPTION_KEY) or os.environ.get(SUBSCRIPTION_ENV) or None


class AzureMonitorSource:
    """Reads a deployment's signals for endpoints of the Azure ML workspace ``workspace_name``.

    Without ``log_analytics_workspace_id`` (the workspace the diagnostic setting sends the
    traffic log to) the three rates read as no data. ``credential`` defaults to
    DefaultAzureCredential (az login, workload identity, managed identity), created at the
    first read. ``client_kwargs`` go to both Azure SDK clients (e.g. ``transport=``,
    ``retry_total=``).
    """

    def __init__(
        self,
        subscription_id: str,
        resource_group: str,
        workspace_name: str,
        log_analytics_workspace_id: str | None = None,
        credential: TokenCredential | None = None,
        **client_kwargs: Any,
    ) -> None:
        self._subscription = subscription_id
        self._resource_group = resource_group
        self._workspace = workspace_name
        self._log_analytics = log_analytics_workspace_id
        self._credential = credential
        self._client_kwargs = client_kwargs

    def describe(self) -> str:
        where = f"subscription {self._subscription}, workspace {self._workspace}"
        if not self._log_analytics:
            where += "; no Log Analytics workspace, rates not read"
        return f"Azure Monitor ({where})"

    def endpoint_id(self, endpoint: str) -> str:
        return (
            f"/subscriptions/{self._subscription}/resourceGroups/{self._resource_group}"
            f"/providers/Microsoft.MachineLearningServices/workspaces/{self._workspace}"
            f"/onlineEndpoints/{endpoint}"
        )

    def read(self, spec: EndpointSpec, deployment: str, window_minutes: int) -> list[Reading]:
        # The name goes into an OData filter and a KQL string: only a validated one may.
        if deployment not in {d.name for d in spec.deployments}:
            raise ValueError(f"endpoint {spec.name} has no deployment {deployment!r}")
        # One window for every query, on whole minutes; a bake of 0 minutes reads the last one.
        minutes = max(window_minutes, 1)
        end = datetime.now(UTC).replace(second=0, microsecond=0)
        window = (end - timedelta(minutes=minutes), end)
        endpoint = self.endpoint_id(spec.name)
        values: dict[str, float | None] = {}
        with MonitorManagementClient(
            self._signed_in(), self._subscription, **self._client_kwargs
        ) as client:
            values |= self._worst_intervals(
                client,
                endpoint,
                queries.ENDPOINT_NAMESPACE,
                ENDPOINT_METRICS,
                window,
                dimension_filter=f"{queries.LATENCY_DIMENSION} eq '{deployment}'",
            )
            values |= self._worst_intervals(
                client,
                f"{endpoint}/deployments/{deployment}",
                queries.DEPLOYMENT_NAMESPACE,
                DEPLOYMENT_METRICS,
                window,
            )
        values |= self._rates(spec, deployment, window)
        return [Reading(key, values[key], threshold(spec, key)) for key in SIGNALS]

    def _worst_intervals(
        self,
        client: MonitorManagementClient,
        resource_id: str,
        namespace: str,
        metrics: Mapping[str, str],
        window: tuple[datetime, datetime],
        *,
        dimension_filter: str | None = None,
    ) -> dict[str, float | None]:
        """Signal -> the highest interval Average of its metric over the window, None if none."""
        start, end = window
        minutes = int((end - start).total_seconds()) // 60
        with self._reading("metrics", resource_id):
            response = client.metrics.list(
                resource_id,
                timespan=f"{start:%Y-%m-%dT%H:%M:%SZ}/{end:%Y-%m-%dT%H:%M:%SZ}",
                interval=f"PT{INTERVAL_MINUTES if minutes >= INTERVAL_MINUTES else 1}M",
                metricnames=",".join(metrics.values()),
                aggregation=AGGREGATION,
                filter=dimension_filter,
                metricnamespace=namespace,
            )
        worst: dict[str, float | None] = {}
        for metric in response.value or []:
            name = metric.name.value or ""
            if metric.error_code not in (None, "Success"):
                raise MetricsUnavailable(
                    f"Azure Monitor answered {metric.error_code} for {name} of {resource_id}: "
                    f"{metric.error_message}"
                )
            # An interval without samples has no average; a deployment that has not been
            # called has no series at all.
            averages = [
                point.average
                for series in metric.timeseries or []
                for point in series.data or []
                if point.average is not None
            ]
            worst[name.lower()] = max(averages) if averages else None
        return {key: worst.get(metric.lower()) for key, metric in metrics.items()}

    def _rates(
        self, spec: EndpointSpec, deployment: str, window: tuple[datetime, datetime]
    ) -> dict[str, float | None]:
        """Signal -> the deployment's share of requests over the whole window, None if it
        answered fewer than ``alerts.min_requests`` requests."""
        none: dict[str, float | None] = {rate.threshold: None for rate in queries.RATES}
        if not self._log_analytics:
            return none
        query = queries.deployment_rates_query(
            spec.name, self._workspace, deployment, spec.alerts.min_requests
        )
        with (
            self._reading("the traffic log", self._log_analytics),
            LogsQueryClient(self._signed_in(), **self._client_kwargs) as client,
        ):
            result = client.query_resource(self._log_analytics, query, timespan=window)
        if isinstance(result, LogsQueryPartialResult):
            error = result.partial_error
            detail = f"{error.code}: {error.message}" if error else "no detail"
            raise MetricsUnavailable(
                f"Log Analytics answered part of the traffic log query on "
                f"{self._log_analytics} ({_short(detail)}); fix: run the rollout again"
            )
        rows = [row for table in result.tables for row in table.rows]
        if not rows:  # fewer than alerts.min_requests requests in the window (maybe none)
            return none
        return {rate.threshold: float(rows[0][rate.column]) for rate in queries.RATES}

    def _signed_in(self) -> TokenCredential:
        if self._credential is None:
            # Imported here: azure.identity pulls in MSAL and cryptography, which a plan or an
            # offline test never needs.
            from azure.identity import DefaultAzureCredential  # noqa: PLC0415

            self._credential = DefaultAzureCredential()
        return self._credential

    @contextmanager
    def _reading(self, what: str, resource_id: str) -> Iterator[None]:
        """Azure SDK errors become MetricsUnavailable, with what to do about them."""
        try:
            yield
        except AzureError as error:
            reason, fix = self._diagnose(error)
            raise MetricsUnavailable(
                f"cannot read {what} of {resource_id}: {reason}; fix: {fix}"
            ) from error

    def _diagnose(self, error: AzureError) -> tuple[str, str]:
        log_analytics = (self._log_analytics or "").rstrip("/").rsplit("/", 1)[-1]
        access = (
            f"the identity needs Monitoring Reader on workspace {self._workspace} (metrics)"
            f" and Log Analytics Reader on Log Analytics workspace {log_analytics or '-'}"
            " (traffic log)"
        )
        status = error.status_code if isinstance(error, HttpResponseError) else None
        detail = _short(_detail(error))
        if status is None and isinstance(error, ClientAuthenticationError):
            # DefaultAzureCredential explains each source it tried, at length: say it briefly.
            detail = "no credential of DefaultAzureCredential's chain could get a token"
        if status == 401 or (status is None and isinstance(error, ClientAuthenticationError)):
            sign_in = (
                "run `az login`, or set AZURE_CLIENT_ID, AZURE_TENANT_ID and "
                "AZURE_FEDERATED_TOKEN_FILE for a workload identity"
            )
            return f"not signed in to Azure ({detail})", f"{sign_in}; {access}"
        if status == 403:
            return f"access denied ({detail})", access
        if status == 404:
            return f"not found ({detail})", (
                f"check the subscription ({self._subscription}), resource group "
                f"{self._resource_group} and workspace {self._workspace}, and that the endpoint "
                "and deployment exist (`az ml online-deployment list`)"
            )
        if isinstance(error, ServiceRequestError | ServiceResponseError):
            return f"Azure did not answer ({detail})", (
                "check the network path to management.azure.com and api.loganalytics.io "
                "(proxy: HTTPS_PROXY)"
            )
        return detail, "run the rollout again; if it persists, check Azure Monitor's service health"


def _detail(error: AzureError) -> str:
    if isinstance(error, HttpResponseError):
        odata = error.error  # the service's error code and message, when it sent one
        if odata is not None and odata.code:
            return f"HTTP {error.status_code} {odata.code}: {odata.message}"
        if error.status_code is not None:
            return f"HTTP {error.status_code} {error.reason or ''}".rstrip()
    return str(error.message)


def _short(text: str) -> str:
    """One line, at most MESSAGE_LIMIT characters (credential chains explain at length)."""
    line = " ".join(text.split())
    return line if len(line) <= MESSAGE_LIMIT else f"{line[: MESSAGE_LIMIT - 3]}..."
