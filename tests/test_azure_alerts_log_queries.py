"""The Azure log alerts, as Azure Monitor evaluates them (issue 21, point 4).

Each rule is taken as the program registers it (the `max` scenario on the mock runtime). Its
query is sent by the real Log Analytics client (azure-monitor-query) over the rule's query time
range, answered with a recording in the wire shape of the Log Analytics query API
(`POST /v1/{resource}/query`: tables of typed columns and rows), and the rule's condition is
applied to the rows the way a log search alert applies it: one series per value of its
dimensions, the metric measure column compared with the threshold. The recordings are what
Log Analytics answers to these queries for the traffic each test describes.

The queries' table and columns are checked against Microsoft's table reference.
"""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from azure.monitor.query import LogsQueryClient, LogsQueryResult

from mlep.engine.runtime import Registration
from models import azure_queries as queries
from tests.conftest import run_namespace
from tests.scenarios import LAW_ID, scenario
from tests.test_azure_endpoint import named, of_type, scenario_run
from tests.test_guardrails_azure import LOG_ANALYTICS_API, FakeCredential, RecordedAzure

QUERY_RULE = "azure-native:monitor:ScheduledQueryRule"
ENDPOINT = "fraud-scoring"  # in `max`: success_rate_min_percent 99.5, others default
DEPLOYMENT_RULES = ("success-rate", "client-error-rate", "server-error-rate")

# AmlOnlineEndpointTrafficLog's columns and types, from Microsoft's table reference:
# https://learn.microsoft.com/azure/azure-monitor/reference/tables/amlonlineendpointtrafficlog
# (MicrosoftDocs/azure-reference-other, azure-monitor-ref/tables/amlonlineendpointtrafficlog.md,
# with AzureMLWorkspaceName from the current page).
TRAFFIC_LOG_COLUMNS = {
    "AuthType": "string",
    "AzureMLWorkspaceId": "string",
    "AzureMLWorkspaceName": "string",
    "DeploymentName": "string",
    "EndpointName": "string",
    "IdentityData": "string",
    "Location": "string",
    "Method": "string",
    "ModelStatusCode": "int",
    "ModelStatusReason": "string",
    "OperationName": "string",
    "Path": "string",
    "Protocol": "string",
    "RequestDurationMs": "int",
    "RequestPayloadSize": "int",
    "RequestThrottlingDelayMs": "int",
    "ResponseCode": "int",
    "ResponseCodeReason": "string",
    "ResponseDurationMs": "int",
    "ResponsePayloadSize": "int",
    "ResponseThrottlingDelayMs": "int",
    "SourceSystem": "string",
    "TenantId": "string",
    "TimeGenerated": "datetime",
    "TotalDurationMs": "int",
    "Type": "string",
    "UserAgent": "string",
    "XMSClientRequestId": "string",
    "XRequestId": "string",
}
# The scheduledQueryRules API's operators (conditionOperator), as Azure Monitor compares.
OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "GreaterThan": operator.gt,
    "GreaterThanOrEqual": operator.ge,
    "LessThan": operator.lt,
    "LessThanOrEqual": operator.le,
    "Equals": operator.eq,
}
DURATION = re.compile(r"^PT(\d+)M$")
AGO_WINDOW = re.compile(
    r"^\| where TimeGenerated >= ago\((\d+)m\) and TimeGenerated < ago\((\d+)m\)$", re.M
)


def rule(key: str) -> Registration:
    return named(scenario_run("max"), QUERY_RULE, f"mlep-{ENDPOINT}-{key}")


def condition(alert: Registration) -> dict[str, Any]:
    (found,) = alert.inputs["criteria"]["allOf"]
    return found  # type: ignore[no-any-return]


def minutes(duration: str) -> int:
    match = DURATION.match(duration)
    assert match, duration
    return int(match.group(1))


def evaluate(alert: Registration, recording: str) -> tuple[RecordedAzure, LogsQueryResult]:
    """Run the rule's query as the alert service would: over its query time range, against
    the Log Analytics workspace it is scoped to, answered with ``recording``."""
    (scope,) = alert.inputs["scopes"]
    transport = RecordedAzure({(LOG_ANALYTICS_API, f"/v1{scope}/query"): (200, recording)})
    with LogsQueryClient(FakeCredential(), transport=transport, retry_total=0) as client:
        result = client.query_resource(
            scope,
            condition(alert)["query"],
            timespan=timedelta(minutes=minutes(alert.inputs["overrideQueryTimeRange"])),
        )
    assert isinstance(result, LogsQueryResult)
    return transport, result


def firing(alert: Registration, result: LogsQueryResult) -> dict[tuple[str, ...], float]:
    """Series (dimension values) -> measured value, for every series whose value meets the
    condition. One window and one evaluation period, so a series' value is its row's."""
    criterion = condition(alert)
    compare = OPERATORS[criterion["operator"]]
    dimensions = [d["name"] for d in criterion.get("dimensions") or []]
    fired: dict[tuple[str, ...], float] = {}
    for table in result.tables:
        for row in table.rows:
            series = tuple(str(row[name]) for name in dimensions)
            value = float(row[criterion["metricMeasureColumn"]])
            if compare(value, float(criterion["threshold"])):
                fired[series] = value
    return fired


def sent_query(transport: RecordedAzure) -> dict[str, Any]:
    (request,) = transport.requests
    return json.loads(request.content)  # type: ignore[no-any-return]


def lines(query: str) -> list[str]:
    return query.splitlines()


def summarize_at(query: list[str]) -> int:
    return next(i for i, line in enumerate(query) if line.startswith("| summarize"))


# --- volume: one failure out of three is not an incident -----------------------------------


def test_one_failure_of_three_requests_does_not_fire() -> None:
    """green answered 3 requests in the window, one of them 503 (a success rate of 66.7 %):
    fewer than alerts.min_requests, so the query has no row for it and no series fires."""
    success = rule("success-rate")
    transport, result = evaluate(success, "alerts_success_one_failure_of_three.json")

    assert firing(success, result) == {}
    query = lines(sent_query(transport)["query"])
    assert query[0] == "let min_requests = 100;"
    # The gate sits between the per-deployment counts and the rate computed from them.
    summarize = summarize_at(query)
    assert query[summarize + 1] == "| where Requests >= min_requests"
    assert query[summarize + 2].startswith("| extend RatePercent = ")


@pytest.mark.parametrize("key", [*DEPLOYMENT_RULES, "unrouted-rate"])
def test_every_rate_rule_needs_min_requests_default_100(key: str) -> None:
    query = condition(rule(key))["query"]
    assert lines(query)[0] == "let min_requests = 100;"
    assert "| where Requests >= min_requests" in lines(query)


def test_min_requests_set_in_the_spec_reaches_every_rate_rule() -> None:
    namespace = scenario("max")
    namespace["endpoints"][0]["alerts"]["min_requests"] = 20
    run = run_namespace(namespace)
    for key in (*DEPLOYMENT_RULES, "unrouted-rate"):
        alert = named(run, QUERY_RULE, f"mlep-{ENDPOINT}-{key}")
        assert lines(condition(alert)["query"])[0] == "let min_requests = 20;", key
        assert "of at least 20 requests" in alert.inputs["description"], key
    other = named(run, QUERY_RULE, "mlep-churn-propensity-success-rate")
    assert lines(condition(other)["query"])[0] == "let min_requests = 100;"


# --- 2 failures out of 200 ------------------------------------------------------------------


def test_two_5xx_of_200_fire_the_server_error_rate() -> None:
    """green: 200 requests, 2 answered 503: 1 % of 5xx against a 0.1 % maximum."""
    server = rule("server-error-rate")
    _, result = evaluate(server, "alerts_server_errors_two_failures_of_200.json")

    assert firing(server, result) == {("green",): 1.0}


def test_two_failures_of_200_fire_a_99_5_percent_success_minimum() -> None:
    """The same window: a 99 % success rate, below fraud-scoring's 99.5 % minimum."""
    success = rule("success-rate")
    assert condition(success)["threshold"] == 99.5
    _, result = evaluate(success, "alerts_success_two_failures_of_200.json")

    assert firing(success, result) == {("green",): 99.0}


def test_a_success_rate_of_exactly_the_minimum_does_not_fire() -> None:
    """At the default 99 % minimum the same 99 % meets it: a minimum is inclusive, as the
    guardrails judge it (Reading: breach only below)."""
    success = named(scenario_run("max"), QUERY_RULE, "mlep-churn-propensity-success-rate")
    assert (condition(success)["threshold"], condition(success)["operator"]) == (99, "LessThan")
    _, result = evaluate(success, "alerts_success_two_failures_of_200.json")

    assert firing(success, result) == {}


def test_success_rate_is_2xx_over_all_requests() -> None:
    query = condition(rule("success-rate"))["query"]
    assert "Requests = count(), Matching = countif(ResponseCode between (200 .. 299))" in query
    assert "RatePercent = round(100.0 * Matching / Requests, 3)" in query


# --- requests answered before routing --------------------------------------------------------


def test_unrouted_401s_do_not_make_a_deployment_series() -> None:
    """240 of 1240 requests answered 401 before routing (no DeploymentName): the 4xx rule
    sees blue and green only, each well under 2 %; no series for a deployment named ""."""
    client_errors = rule("client-error-rate")
    transport, result = evaluate(client_errors, "alerts_client_errors_with_unrouted_401s.json")

    assert firing(client_errors, result) == {}
    series = {str(row["DeploymentName"]) for table in result.tables for row in table.rows}
    assert series == {"blue", "green"}
    # The rows without a deployment are dropped before the per-deployment counts.
    query = lines(sent_query(transport)["query"])
    assert query.index("| where isnotempty(DeploymentName)") < summarize_at(query)
    assert query[summarize_at(query)].endswith(" by DeploymentName")


@pytest.mark.parametrize("key", DEPLOYMENT_RULES)
def test_every_deployment_rule_leaves_unrouted_requests_out(key: str) -> None:
    assert "| where isnotempty(DeploymentName)" in lines(condition(rule(key))["query"])


def test_unrouted_401s_fire_one_endpoint_alert() -> None:
    unrouted = rule("unrouted-rate")
    transport, result = evaluate(unrouted, "alerts_unrouted_401s.json")

    assert firing(unrouted, result) == {(): 19.355}
    query = sent_query(transport)["query"]
    assert "Matching = countif(isempty(DeploymentName))" in query
    # Over all of the endpoint's requests, routed or not, and not split by deployment.
    assert "| where isnotempty(DeploymentName)" not in query
    assert not re.search(r"\bby\b", query)


def test_unrouted_rule_is_one_series_per_endpoint_on_the_4xx_threshold() -> None:
    unrouted = rule("unrouted-rate")
    criterion = condition(unrouted)
    assert "dimensions" not in criterion
    assert (criterion["operator"], criterion["threshold"]) == ("GreaterThan", 2)
    assert criterion["metricMeasureColumn"] == "RatePercent"
    assert unrouted.inputs["severity"] == 2  # a warning: 401s are often one caller's mistake
    assert unrouted.inputs["scopes"] == [LAW_ID]


# --- the window ingestion has filled ---------------------------------------------------------


@pytest.mark.parametrize("key", [*DEPLOYMENT_RULES, "unrouted-rate"])
def test_the_window_is_offset_by_the_ingestion_delay(key: str) -> None:
    alert = rule(key)
    (window,) = AGO_WINDOW.findall(condition(alert)["query"])
    start, end = (int(value) for value in window)
    frequency = minutes(alert.inputs["evaluationFrequency"])
    # Resource logs usually arrive within 3 to 10 minutes end to end:
    # https://learn.microsoft.com/azure/azure-monitor/logs/data-ingestion-time
    assert end >= 10
    # Five minutes, evaluated every five minutes: the windows tile the log.
    assert start - end == frequency == minutes(alert.inputs["windowSize"]) == 5
    # The service's own time range reaches back to the window's start, or holds none of it.
    assert minutes(alert.inputs["overrideQueryTimeRange"]) == start


def test_the_alert_service_queries_the_offset_range() -> None:
    transport, _ = evaluate(rule("success-rate"), "alerts_success_two_failures_of_200.json")

    body = sent_query(transport)
    assert body["timespan"] == "PT900.0S"  # 15 minutes, as azure-monitor-query writes them
    assert lines(body["query"])[2] == (
        "| where TimeGenerated >= ago(15m) and TimeGenerated < ago(10m)"
    )


# --- Microsoft's table reference -------------------------------------------------------------


def every_query() -> list[str]:
    rules = [condition(r)["query"] for r in of_type(scenario_run("max"), QUERY_RULE)]
    guardrail = queries.deployment_rates_query(ENDPOINT, "mlw-prod", "green", 100)
    return [*rules, guardrail]


def test_queries_read_the_documented_traffic_log_table() -> None:
    for query in every_query():
        body = [line for line in lines(query) if not line.startswith("let ")]
        assert body[0] == "AmlOnlineEndpointTrafficLog", query


def test_queries_use_only_documented_columns() -> None:
    for query in every_query():
        code = re.sub(r'"[^"]*"', '""', query)  # string literals hold names, not columns
        computed = set(re.findall(r"\b([A-Z]\w*) = ", code))
        used = set(re.findall(r"\b[A-Z]\w*\b", code)) - computed - {queries.TRAFFIC_TABLE}
        assert used <= set(TRAFFIC_LOG_COLUMNS), (used - set(TRAFFIC_LOG_COLUMNS), query)


def test_queries_compare_columns_of_their_documented_types() -> None:
    strings = {"AzureMLWorkspaceName", "EndpointName", "DeploymentName"}
    assert {TRAFFIC_LOG_COLUMNS[column] for column in strings} == {"string"}
    assert TRAFFIC_LOG_COLUMNS["ResponseCode"] == "int"  # compared with numbers, not "200"
    assert TRAFFIC_LOG_COLUMNS["TimeGenerated"] == "datetime"  # compared with ago()
    for query in every_query():
        for column in strings:
            for compared in re.findall(rf"\b{column} (?:==|=~) (\S+)", query):
                assert compared.startswith('"'), (column, query)
        for bound in re.findall(r"ResponseCode (?:>=|between) \(?([^)\n]+)", query):
            assert re.fullmatch(r"\d+( \.\. \d+)?", bound), (bound, query)
