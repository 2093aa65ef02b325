"""AzureMonitorSource against recorded Azure Monitor answers.

The recordings (tests/fixtures/azure_monitor) have the wire shape of the metrics REST API
(`GET {resource}/providers/Microsoft.Insights/metrics`) and of the Log Analytics query API
(`POST /v1/{resource}/query`). A transport serves them by URL and keeps every request, so the
tests also prove what the SDK clients were asked.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from azure.core.credentials import AccessToken
from azure.core.exceptions import (
    ClientAuthenticationError,
    ServiceRequestError,
)
from azure.core.rest import HttpRequest

from components.azure.alerts import METRIC_WINDOW
from mlep.change.guardrails import REQUEST_SIGNALS, MetricsUnavailable, Reading, decide
from mlep.change.guardrails.azure import INTERVAL_MINUTES, AzureMonitorSource, subscription_id
from mlep.change.guardrails.run import check
from mlep.errors import SourceUnavailable
from mlep.stack import StackRef
from models.endpoint import EndpointSpec
from models.stack import AzureStackConfig, StackConfig
from tests.azure_fakes import (
    DUMMY_TOKEN,
    Answer,
    Answering,
    FakeCredential,
    RecordedResponse,
    SignedOutCredential,
)

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "fixtures" / "azure_monitor"
SUBSCRIPTION = "6f1c2b1e-93b8-4d3c-9a52-0c1e7a7d2f10"
DEPLOYMENT = "green"
ENDPOINT_ID = (
    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-ml-prod/providers"
    "/Microsoft.MachineLearningServices/workspaces/mlw-prod/onlineEndpoints/fraud-scoring"
)
ARM, LOG_ANALYTICS_API = "management.azure.com", "api.loganalytics.io"
LATENCY = (ARM, f"{ENDPOINT_ID}/providers/Microsoft.Insights/metrics")
USAGE = (ARM, f"{ENDPOINT_ID}/deployments/{DEPLOYMENT}/providers/Microsoft.Insights/metrics")
HEALTHY = {
    LATENCY: (200, "metrics_latency_healthy.json"),
    USAGE: (200, "metrics_usage_healthy.json"),
}


class RecordedAzure(Answering):
    """Answers each request with the recording routed to its host and path; keeps the requests."""

    def __init__(self, routes: dict[tuple[str, str], tuple[int, str]]) -> None:
        super().__init__(self._recorded)
        self.routes = routes

    def _recorded(self, request: HttpRequest) -> Answer:
        url = urlsplit(request.url)
        route = (url.hostname or "", url.path)
        if route not in self.routes:
            raise AssertionError(f"no recording for {request.method} {request.url}")
        status, fixture = self.routes[route]
        return status, (FIXTURES / fixture).read_bytes(), {}

    def sent(self, route: tuple[str, str]) -> HttpRequest:
        [request] = [r for r in self.requests if urlsplit(r.url).path == route[1]]
        return request


@pytest.fixture(scope="module")
def prod() -> StackConfig:
    return StackRef(ROOT, "prod").load()[1]


@pytest.fixture(scope="module")
def spec(prod: StackConfig) -> EndpointSpec:
    endpoint = prod.endpoints[0]
    assert (endpoint.name, endpoint.alerts.latency_p95_ms) == ("fraud-scoring", 300)
    return endpoint


@pytest.fixture(scope="module")
def log_analytics(prod: StackConfig) -> str:
    assert isinstance(prod, AzureStackConfig)
    assert prod.azure.log_analytics_workspace_id is not None
    return prod.azure.log_analytics_workspace_id


def logs_route(log_analytics: str) -> tuple[str, str]:
    return (LOG_ANALYTICS_API, f"/v1{log_analytics}/query")


def source(
    transport: RecordedAzure, log_analytics: str | None, credential: Any = None
) -> AzureMonitorSource:
    return AzureMonitorSource(
        SUBSCRIPTION,
        "rg-ml-prod",
        "mlw-prod",
        log_analytics,
        credential or FakeCredential(),
        transport=transport,
        retry_total=0,
    )


def read(
    spec: EndpointSpec,
    log_analytics: str,
    routes: dict[tuple[str, str], tuple[int, str]],
    logs: str = "logs_rates_healthy.json",
) -> tuple[dict[str, Reading], RecordedAzure]:
    transport = RecordedAzure({**routes, logs_route(log_analytics): (200, logs)})
    readings = source(transport, log_analytics).read(spec, DEPLOYMENT, spec.rollout.bake_minutes)
    return {r.key: r for r in readings}, transport


def values(readings: dict[str, Reading]) -> dict[str, float | None]:
    return {key: reading.value for key, reading in readings.items()}


def window_of(timespan: str) -> tuple[datetime, datetime]:
    start, end = timespan.split("/")
    return datetime.fromisoformat(start), datetime.fromisoformat(end)


def test_healthy_recordings_advance(spec: EndpointSpec, log_analytics: str) -> None:
    readings, _ = read(spec, log_analytics, HEALTHY)

    assert values(readings) == {
        "latency_p95_ms": 214.9,  # the worst 5-minute interval; an empty one is skipped
        "success_rate_min_percent": 99.878,
        "client_error_rate_max_percent": 0.089,
        "server_error_rate_max_percent": 0.033,
        "cpu_max_percent": 52.3,
        "memory_max_percent": 59.8,
    }
    assert readings["latency_p95_ms"].threshold == 300
    assert decide(list(readings.values())).verdict == "advance"


def test_latency_is_asked_of_the_endpoint_for_the_deployment(
    spec: EndpointSpec, log_analytics: str
) -> None:
    _, transport = read(spec, log_analytics, HEALTHY)

    request = transport.sent(LATENCY)
    query = parse_qs(urlsplit(request.url).query)
    assert request.method == "GET"
    assert query["metricnames"] == ["RequestLatency_P95"]
    assert query["metricnamespace"] == [
        "Microsoft.MachineLearningServices/workspaces/onlineEndpoints"
    ]
    assert query["$filter"] == [f"deployment eq '{DEPLOYMENT}'"]
    assert query["aggregation"] == ["Average"]
    assert query["interval"] == ["PT5M"]
    start, end = window_of(query["timespan"][0])
    assert end - start == timedelta(minutes=spec.rollout.bake_minutes)


def test_cpu_and_memory_are_asked_of_the_deployment(spec: EndpointSpec, log_analytics: str) -> None:
    _, transport = read(spec, log_analytics, HEALTHY)

    query = parse_qs(urlsplit(transport.sent(USAGE).url).query)
    assert query["metricnames"] == ["CpuUtilizationPercentage,CpuMemoryUtilizationPercentage"]
    assert query["metricnamespace"] == [
        "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/deployments"
    ]
    assert "$filter" not in query
    assert query["timespan"] == parse_qs(urlsplit(transport.sent(LATENCY).url).query)["timespan"]


def test_traffic_log_query_is_the_deployments_over_the_window(
    spec: EndpointSpec, log_analytics: str
) -> None:
    _, transport = read(spec, log_analytics, HEALTHY)

    request = transport.sent(logs_route(log_analytics))
    body = json.loads(request.content)
    assert request.method == "POST"
    assert "AmlOnlineEndpointTrafficLog" in body["query"]
    assert '| where AzureMLWorkspaceName =~ "mlw-prod"' in body["query"]
    assert '| where EndpointName == "fraud-scoring"' in body["query"]
    assert f'| where DeploymentName == "{DEPLOYMENT}"' in body["query"]
    # The metrics' window exactly, so every signal covers the same minutes.
    metrics_timespan = parse_qs(urlsplit(transport.sent(LATENCY).url).query)["timespan"][0]
    assert window_of(body["timespan"]) == window_of(metrics_timespan)


def test_tokens_are_asked_for_each_api(spec: EndpointSpec, log_analytics: str) -> None:
    transport = RecordedAzure(
        {**HEALTHY, logs_route(log_analytics): (200, "logs_rates_healthy.json")}
    )
    credential = FakeCredential()
    source(transport, log_analytics, credential).read(spec, DEPLOYMENT, 30)

    assert set(credential.scopes) == {
        "https://management.azure.com/.default",
        "https://api.loganalytics.io/.default",
    }
    assert all(r.headers["Authorization"] == f"Bearer {DUMMY_TOKEN}" for r in transport.requests)


def test_p95_latency_above_threshold_breaches(spec: EndpointSpec, log_analytics: str) -> None:
    readings, _ = read(
        spec, log_analytics, {**HEALTHY, LATENCY: (200, "metrics_latency_breach.json")}
    )

    decision = decide(list(readings.values()))
    assert decision.verdict == "breach"
    assert [r.key for r in decision.breaches] == ["latency_p95_ms"]
    assert decision.breaches[0].describe() == "p95 latency: 412.5 ms (max 300 ms) breach"


def test_server_error_rate_above_threshold_breaches(spec: EndpointSpec, log_analytics: str) -> None:
    readings, _ = read(spec, log_analytics, HEALTHY, logs="logs_rates_server_errors.json")

    decision = decide(list(readings.values()))
    assert decision.verdict == "breach"
    assert [(r.key, r.value) for r in decision.breaches] == [
        ("server_error_rate_max_percent", 0.44)
    ]


def test_no_series_and_no_rows_are_insufficient(spec: EndpointSpec, log_analytics: str) -> None:
    readings, _ = read(
        spec,
        log_analytics,
        {
            LATENCY: (200, "metrics_latency_no_series.json"),
            USAGE: (200, "metrics_usage_no_data.json"),
        },
        logs="logs_rates_no_rows.json",
    )

    assert set(values(readings).values()) == {None}
    assert decide(list(readings.values())).verdict == "insufficient"


def test_fewer_requests_than_the_minimum_are_not_proven(
    spec: EndpointSpec, log_analytics: str
) -> None:
    """green answered 3 requests over the bake window, one of them 503: under
    alerts.min_requests the query has no row, so the rates are no data and the step is
    insufficient, neither a pass nor a breach, while the metrics still read."""
    readings, transport = read(spec, log_analytics, HEALTHY, logs="logs_rates_no_rows.json")

    assert values(readings)["latency_p95_ms"] == 214.9
    assert {key: readings[key].status for key in REQUEST_SIGNALS} == dict.fromkeys(
        REQUEST_SIGNALS, "no data"
    )
    assert decide(list(readings.values())).verdict == "insufficient"
    query = json.loads(transport.sent(logs_route(log_analytics)).content)["query"]
    assert query.startswith(f"let min_requests = {spec.alerts.min_requests};\n")
    lines = query.splitlines()
    summarize = next(i for i, line in enumerate(lines) if line.startswith("| summarize"))
    assert lines[summarize + 1] == "| where Requests >= min_requests"


def test_the_minimum_is_the_endpoints_own(spec: EndpointSpec, log_analytics: str) -> None:
    busy = spec.model_copy(update={"alerts": spec.alerts.model_copy(update={"min_requests": 5000})})
    _, transport = read(busy, log_analytics, HEALTHY)

    query = json.loads(transport.sent(logs_route(log_analytics)).content)["query"]
    assert query.startswith("let min_requests = 5000;\n")


def test_two_5xx_of_200_breach_the_server_error_rate(
    spec: EndpointSpec, log_analytics: str
) -> None:
    """200 requests, 2 answered 503: 1 % of 5xx breaches 0.1 %; the success rate, 2xx over
    all requests, is exactly the 99 % minimum and passes."""
    readings, _ = read(spec, log_analytics, HEALTHY, logs="logs_rates_two_failures_of_200.json")

    decision = decide(list(readings.values()))
    assert decision.verdict == "breach"
    assert [(r.key, r.value) for r in decision.breaches] == [("server_error_rate_max_percent", 1.0)]
    assert (
        readings["success_rate_min_percent"].value,
        readings["success_rate_min_percent"].status,
    ) == (
        99.0,
        "pass",
    )


def test_forbidden_metrics_raise_unavailable_with_the_fix(
    spec: EndpointSpec, log_analytics: str
) -> None:
    with pytest.raises(MetricsUnavailable) as raised:
        read(spec, log_analytics, {**HEALTHY, LATENCY: (403, "error_403_metrics.json")})

    message = str(raised.value)
    assert ENDPOINT_ID in message
    assert "access denied (HTTP 403 AuthorizationFailed" in message
    assert "Monitoring Reader on workspace mlw-prod" in message
    assert "Log Analytics Reader" in message
    assert DUMMY_TOKEN not in message


def test_forbidden_traffic_log_raises_unavailable_naming_the_workspace(
    spec: EndpointSpec, log_analytics: str
) -> None:
    transport = RecordedAzure({**HEALTHY, logs_route(log_analytics): (403, "error_403_logs.json")})

    with pytest.raises(MetricsUnavailable) as raised:
        source(transport, log_analytics).read(spec, DEPLOYMENT, 30)

    message = str(raised.value)
    assert f"cannot read the traffic log of {log_analytics}" in message
    assert "HTTP 403 InsufficientAccessError" in message
    assert "Log Analytics Reader on Log Analytics workspace law-ml-prod" in message
    assert DUMMY_TOKEN not in message


def test_signed_out_raises_unavailable_with_sign_in_fix(spec: EndpointSpec) -> None:
    transport = RecordedAzure(HEALTHY)

    with pytest.raises(MetricsUnavailable) as raised:
        source(transport, None, SignedOutCredential()).read(spec, DEPLOYMENT, 30)

    message = str(raised.value)
    assert "not signed in to Azure" in message
    assert "run `az login`" in message
    assert "AZURE_FEDERATED_TOKEN_FILE" in message
    assert transport.requests == []


CHAIN = (
    "DefaultAzureCredential failed to retrieve a token from the included credentials.\n"
    "Attempted credentials:\n"
    + "".join(f"\tCredential{i}: not available: a long explanation {i}\n" for i in range(8))
    + "To mitigate this issue, please refer to the troubleshooting guidelines here at "
    "https://aka.ms/azsdk/python/identity/defaultazurecredential/troubleshoot."
)


class ChainCredential:
    """DefaultAzureCredential's real failure: every credential of the chain, explained."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        raise ClientAuthenticationError(CHAIN)


def test_a_missing_login_is_exit_4_said_once_in_one_paragraph(spec: EndpointSpec) -> None:
    """Issue 20, point 5: not invalid input (exit 2) but an unavailable source (exit 4); the
    credential chain's explanation of every source is left out; the fix and the way around."""
    with pytest.raises(SourceUnavailable) as raised:
        check(source(RecordedAzure(HEALTHY), None, ChainCredential()), spec, DEPLOYMENT, 30)
    message = str(raised.value)
    assert "\n" not in message
    assert "DefaultAzureCredential failed" not in message
    assert "Credential7" not in message
    assert message.count("no credential of DefaultAzureCredential's chain could get a token") == 1
    assert "not signed in to Azure" in message
    assert "run `az login`" in message
    assert "--skip-guardrails" in message
    assert "Nothing was changed" in message


def test_unreachable_azure_raises_unavailable_with_network_fix(spec: EndpointSpec) -> None:
    class Unreachable(RecordedAzure):
        def send(self, request: HttpRequest, **kwargs: Any) -> RecordedResponse:
            raise ServiceRequestError("Failed to resolve 'management.azure.com'")

    with pytest.raises(MetricsUnavailable) as raised:
        source(Unreachable({}), None).read(spec, DEPLOYMENT, 30)

    assert "Azure did not answer (Failed to resolve 'management.azure.com')" in str(raised.value)
    assert "check the network path to management.azure.com" in str(raised.value)


def test_without_log_analytics_workspace_rates_read_none(spec: EndpointSpec) -> None:
    transport = RecordedAzure(HEALTHY)
    azure = source(transport, None)

    readings = {r.key: r for r in azure.read(spec, DEPLOYMENT, 30)}

    assert values(readings) == {
        "latency_p95_ms": 214.9,
        "success_rate_min_percent": None,
        "client_error_rate_max_percent": None,
        "server_error_rate_max_percent": None,
        "cpu_max_percent": 52.3,
        "memory_max_percent": 59.8,
    }
    assert {urlsplit(r.url).hostname for r in transport.requests} == {ARM}
    assert "rates not read" in azure.describe()


def test_bake_of_zero_reads_the_last_minute(spec: EndpointSpec, log_analytics: str) -> None:
    transport = RecordedAzure(
        {**HEALTHY, logs_route(log_analytics): (200, "logs_rates_healthy.json")}
    )
    source(transport, log_analytics).read(spec, DEPLOYMENT, 0)

    query = parse_qs(urlsplit(transport.sent(LATENCY).url).query)
    start, end = window_of(query["timespan"][0])
    assert (end - start, query["interval"]) == (timedelta(minutes=1), ["PT1M"])


def test_rejects_a_deployment_the_endpoint_does_not_have(spec: EndpointSpec) -> None:
    with pytest.raises(ValueError, match="no deployment \"green' or 1 eq '1\""):
        source(RecordedAzure({}), None).read(spec, "green' or 1 eq '1", 30)


def test_constructing_does_not_sign_in(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_azure_here() -> None:
        raise AssertionError("DefaultAzureCredential created before the first read")

    monkeypatch.setattr("azure.identity.DefaultAzureCredential", no_azure_here)
    azure = AzureMonitorSource(SUBSCRIPTION, "rg-ml-prod", "mlw-prod", None)

    assert azure.describe() == (
        f"Azure Monitor (subscription {SUBSCRIPTION}, workspace mlw-prod; "
        "no Log Analytics workspace, rates not read)"
    )


def test_metric_interval_is_the_alert_window() -> None:
    assert f"PT{INTERVAL_MINUTES}M" == METRIC_WINDOW


def test_subscription_from_stack_then_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_SUBSCRIPTION_ID", "from-environment")
    assert subscription_id({"azure-native:subscriptionId": SUBSCRIPTION}) == SUBSCRIPTION
    assert subscription_id({"azure-native:location": "westeurope"}) == "from-environment"
    monkeypatch.delenv("AZURE_SUBSCRIPTION_ID")
    assert subscription_id({}) is None
