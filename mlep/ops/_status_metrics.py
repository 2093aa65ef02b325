"""The key metrics `mlep status` shows per deployment, from Azure Monitor or Prometheus.

The alert rules' own expressions and metric names (models/prometheus_queries.py,
models/azure_queries.py) and the endpoint's alert thresholds. The rollout guardrails
(mlep/change/guardrails) read the same signals, but `mlep.ops` may not import `mlep.change`
(the rooms are independent, pyproject's import contracts), and status wants more: requests per
minute and every deployment at once. On Azure the request rates come from the endpoint's
RequestsPerMinute metric split by status class, so status needs no Log Analytics workspace:
https://learn.microsoft.com/azure/azure-monitor/reference/supported-metrics/microsoft-machinelearningservices-workspaces-onlineendpoints-metrics
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from urllib.parse import urlencode

import httpx

from mlep.errors import SourceUnavailable, UsageError
from mlep.ops import _status_stack as stacks
from mlep.ops.arm import Arm
from models import azure_queries, prometheus_queries
from models.endpoint import EndpointSpec

# Alert threshold field (or requests_per_minute) -> (title, unit, the side that breaches).
SIGNALS: dict[str, tuple[str, str, Literal["above", "below"] | None]] = {
    "latency_p95_ms": ("p95 latency", "ms", "above"),
    "requests_per_minute": ("requests/min", "", None),
    "success_rate_min_percent": ("2xx", "%", "below"),
    "client_error_rate_max_percent": ("4xx", "%", "above"),
    "server_error_rate_max_percent": ("5xx", "%", "above"),
    "cpu_max_percent": ("CPU", "%", "above"),
    "memory_max_percent": ("memory", "%", "above"),
}
RATE_CLASSES = {
    "success_rate_min_percent": "2xx",
    "client_error_rate_max_percent": "4xx",
    "server_error_rate_max_percent": "5xx",
}
METRICS_API_VERSION = "2023-10-01"
INTERVAL_MINUTES = 5
CONTAINER_NAME = "bento"  # components/kubernetes/labels.py CONTAINER_NAME
PROMETHEUS_TIMEOUT_SECONDS = 10.0


class MetricsMissing(Exception):
    """The metrics could not be read; the message says why and what to do."""


@dataclass(frozen=True)
class Signal:
    key: str
    value: float | None
    threshold: float | None

    @property
    def status(self) -> str:
        side = SIGNALS[self.key][2]
        if self.value is None:
            return "no data"
        if side is None or self.threshold is None:
            return "-"
        breached = self.value > self.threshold if side == "above" else self.value < self.threshold
        return "breach" if breached else "ok"


def signals(spec: EndpointSpec, values: dict[str, float | None]) -> list[Signal]:
    """Signals from raw values; the three rates only from ``alerts.min_requests`` requests."""
    thresholds = spec.alerts.model_dump()
    return [Signal(key, values.get(key), thresholds.get(key)) for key in SIGNALS]


# --- Azure Monitor -----------------------------------------------------------------------------


def azure_values(
    arm: Arm, endpoint_path: str, spec: EndpointSpec, minutes: int
) -> dict[str, dict[str, float | None]]:
    """Deployment -> signal -> value over the last ``minutes``."""
    end = datetime.now(UTC).replace(second=0, microsecond=0)
    start = end - timedelta(minutes=minutes)
    interval = INTERVAL_MINUTES if minutes >= INTERVAL_MINUTES else 1
    common = {
        "timespan": f"{start:%Y-%m-%dT%H:%M:%SZ}/{end:%Y-%m-%dT%H:%M:%SZ}",
        "interval": f"PT{interval}M",
    }
    endpoint_ns = {"metricnamespace": azure_queries.ENDPOINT_NAMESPACE}
    latency = _metrics(
        arm,
        endpoint_path,
        common
        | endpoint_ns
        | {
            "metricnames": azure_queries.LATENCY_P95_METRIC,
            "aggregation": "Average",
            "$filter": f"{azure_queries.LATENCY_DIMENSION} eq '*'",
        },
    )
    requests = _metrics(
        arm,
        endpoint_path,
        common
        | endpoint_ns
        | {
            "metricnames": "RequestsPerMinute",
            "aggregation": "Total",
            "$filter": "deployment eq '*' and statusCodeClass eq '*'",
        },
    )
    worst_latency = {
        _dimension(series, "deployment"): _worst(_points(series, "average"))
        for metric in latency
        for series in metric.get("timeseries", [])
    }
    by_class: dict[str, dict[str, float]] = {}
    for metric in requests:
        for series in metric.get("timeseries", []):
            totals = by_class.setdefault(_dimension(series, "deployment"), {})
            code_class = _dimension(series, "statuscodeclass")
            totals[code_class] = totals.get(code_class, 0.0) + sum(_points(series, "total"))
    values: dict[str, dict[str, float | None]] = {}
    for deployment in spec.deployments:
        name = deployment.name
        usage = _metrics(
            arm,
            f"{endpoint_path}/deployments/{name}",
            common
            | {
                "metricnamespace": azure_queries.DEPLOYMENT_NAMESPACE,
                "metricnames": f"{azure_queries.CPU_METRIC},{azure_queries.MEMORY_METRIC}",
                "aggregation": "Average",
            },
        )
        worst = {
            metric["name"]["value"].lower(): _worst(
                point
                for series in metric.get("timeseries", [])
                for point in _points(series, "average")
            )
            for metric in usage
        }
        counts = by_class.get(name.lower(), {})
        total = sum(counts.values())
        row: dict[str, float | None] = {
            "latency_p95_ms": worst_latency.get(name.lower()),
            "requests_per_minute": total / minutes,
            "cpu_max_percent": worst.get(azure_queries.CPU_METRIC.lower()),
            "memory_max_percent": worst.get(azure_queries.MEMORY_METRIC.lower()),
        }
        for key, code_class in RATE_CLASSES.items():
            enough = total >= spec.alerts.min_requests
            row[key] = round(100 * counts.get(code_class, 0.0) / total, 3) if enough else None
        values[name] = row
    return values


def _metrics(arm: Arm, resource: str, params: dict[str, str]) -> list[dict[str, Any]]:
    path = f"{resource}/providers/Microsoft.Insights/metrics?{urlencode(params)}"
    try:
        answer = arm.call(
            "GET", path, what=f"metrics of {resource}", api_version=METRICS_API_VERSION
        )
    except (SourceUnavailable, UsageError) as error:
        raise MetricsMissing(str(error)) from None
    value = answer.get("value", [])
    for metric in value:
        code = metric.get("errorCode")
        if code not in (None, "Success"):
            raise MetricsMissing(f"Azure Monitor answered {code} for {resource}")
    return list(value)


def _dimension(series: dict[str, Any], name: str) -> str:
    for item in series.get("metadatavalues", []):
        if str(item.get("name", {}).get("value", "")).lower() == name:
            return str(item.get("value", "")).lower()
    return ""


def _points(series: dict[str, Any], aggregation: str) -> list[float]:
    return [
        float(point[aggregation])
        for point in series.get("data", [])
        if point.get(aggregation) is not None
    ]


def _worst(values: Iterable[float]) -> float | None:
    found = list(values)
    return max(found) if found else None


# --- Prometheus --------------------------------------------------------------------------------


class Prometheus:
    """Instant queries of the HTTP API at ``url``: https://prometheus.io/docs/prometheus/latest/querying/api/"""

    def __init__(self, url: str, transport: httpx.BaseTransport | None = None) -> None:
        self.url = url.rstrip("/")
        self._transport = transport

    def query(self, expression: str) -> list[tuple[dict[str, str], float]]:
        try:
            with httpx.Client(
                transport=self._transport, timeout=PROMETHEUS_TIMEOUT_SECONDS
            ) as client:
                response = client.get(f"{self.url}/api/v1/query", params={"query": expression})
            body = response.json()
        except httpx.HTTPError as error:
            raise MetricsMissing(
                f"could not reach Prometheus at {_public(self.url)} ({type(error).__name__}); "
                "fix: check --prometheus-url (e.g. kubectl -n monitoring port-forward "
                "svc/prometheus-operated 9090)"
            ) from None
        except ValueError:
            raise MetricsMissing(
                f"Prometheus at {_public(self.url)} answered {response.status_code} without "
                "JSON; fix: check --prometheus-url"
            ) from None
        if response.status_code != 200 or body.get("status") != "success":
            raise MetricsMissing(
                f"Prometheus at {_public(self.url)} answered {response.status_code}: "
                f"{body.get('error', 'no result')}"
            )
        result = []
        for sample in body.get("data", {}).get("result", []):
            value = float(sample["value"][1])
            if math.isfinite(value):
                result.append((sample.get("metric", {}), value))
        return result


def prometheus_values(
    prometheus: Prometheus, namespace: str, spec: EndpointSpec, minutes: int
) -> tuple[dict[str, dict[str, float | None]], dict[str, float]]:
    """Deployment -> signal -> value, and deployment -> its share of the requests received."""
    window = f"{minutes}m"
    workload: Callable[[str, str], str] = stacks.workload_name
    values: dict[str, dict[str, float | None]] = {}
    for deployment in spec.deployments:
        name = deployment.name
        expressions = prometheus_queries.signal_values(
            spec,
            namespace,
            window,
            container=CONTAINER_NAME,
            workload_name=workload,
            deployment=name,
        )
        served = sum(
            v
            for _, v in prometheus.query(
                prometheus_queries.request_count(spec.name, namespace, window, deployment=name)
            )
        )
        rate = prometheus.query(
            prometheus_queries.request_rate(spec.name, namespace, window, deployment=name)
        )
        row: dict[str, float | None] = {
            "requests_per_minute": 60 * sum(v for _, v in rate) if rate else None
        }
        for key, expression in expressions.items():
            if key in RATE_CLASSES and served < spec.alerts.min_requests:
                row[key] = None
                continue
            found = [v for _, v in prometheus.query(expression)]
            side = SIGNALS[key][2]
            row[key] = (max(found) if side == "above" else min(found)) if found else None
        values[name] = row
    split = {
        labels.get(prometheus_queries.GROUP_BY, ""): share
        for labels, share in prometheus.query(
            prometheus_queries.traffic_split(spec.name, namespace, window)
        )
    }
    return values, split


def _public(url: str) -> str:
    """The URL without credentials, for messages."""
    parts = httpx.URL(url)
    return str(parts.copy_with(username=None, password=None)) if parts.userinfo else url
