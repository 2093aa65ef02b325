"""The dashboard of each Azure endpoint (issue 21, point 6): an Azure Monitor workbook in the
stack, taken as the program registers it (the prod stack through `mlep plan`, the shared `max`
and `defaults` scenarios on the mock runtime).

What each chart reads is checked against outside references, not against our own strings:
metric names and dimensions against Microsoft's supported-metrics reference and the alerts the
program declares; log queries against the AmlOnlineEndpointTrafficLog table reference and the
rate alerts' own queries; item shapes against what Microsoft's workbook schema requires
(microsoft/Application-Insights-Workbooks, schema/workbook.json: every item a `type` and a
`content`, a metric a `namespace`, `metric` and integer `aggregation`).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
import uuid
from typing import Any

import pytest

from mlep.engine.mocks import MOCK_PRIMARY_KEY, MOCK_SECONDARY_KEY
from mlep.engine.plan import Plan, plan_stack
from mlep.engine.policy import evaluate
from mlep.engine.policy_config import environment_config
from mlep.engine.runtime import SECRET, ProgramRun, Registration
from mlep.stack import StackRef
from models import azure_queries as queries
from models.endpoint import AlertThresholds
from tests.conftest import ROOT, run_namespace
from tests.policy_helpers import POLICIES_DIR
from tests.scenarios import scenario
from tests.test_azure_alerts_log_queries import TRAFFIC_LOG_COLUMNS
from tests.test_azure_endpoint import DEPLOYMENT, ENDPOINT, of_type, scenario_run, workspace_id

WORKBOOK = "azure-native:applicationinsights:Workbook"
METRIC_ALERT = "azure-native:monitor:MetricAlert"
QUERY_RULE = "azure-native:monitor:ScheduledQueryRule"
ENDPOINT_TYPE = queries.ENDPOINT_NAMESPACE.lower()
DEPLOYMENT_TYPE = queries.DEPLOYMENT_NAMESPACE.lower()
LOG_ANALYTICS = "microsoft.operationalinsights/workspaces"

# What the seeds' metric table lists and the case studies watch, as the workbook's item names:
# with a Log Analytics workspace, the rates and the live split are log queries; without one, the
# status classes come from the requests metric.
WITH_LOGS = (
    "summary",
    "parameters",
    "requests",
    "latency",
    "success-rate",
    "client-error-rate",
    "server-error-rate",
    "traffic-split",
    "cpu",
    "memory",
    "instances",
)
METRICS_ONLY = (
    "summary",
    "parameters",
    "requests",
    "latency",
    "requests-by-status",
    "cpu",
    "memory",
    "instances",
)
DEPLOYMENT_CHARTS = ("cpu", "memory", "instances")
RATE_CHARTS = {
    "success_rate_min_percent": "success-rate",
    "client_error_rate_max_percent": "client-error-rate",
    "server_error_rate_max_percent": "server-error-rate",
}

# Metric names and their dimensions, from Microsoft's supported-metrics reference (read
# 2026-12-05): https://learn.microsoft.com/azure/azure-monitor/reference/supported-metrics/microsoft-machinelearningservices-workspaces-onlineendpoints-metrics
# (MicrosoftDocs/azure-monitor-docs, ms.date 07/13/2026, category Traffic) and
# .../microsoft-machinelearningservices-workspaces-onlineendpoints-deployments-metrics (its
# include of 04/16/2025, category Resource). Only the metrics the workbook charts.
DOCUMENTED_METRICS: dict[str, dict[str, set[str]]] = {
    ENDPOINT_TYPE: {
        "RequestsPerMinute": {"deployment", "statusCode", "statusCodeClass", "modelStatusCode"},
        "RequestLatency_P50": {"deployment"},
        "RequestLatency_P95": {"deployment"},
    },
    DEPLOYMENT_TYPE: {
        "CpuUtilizationPercentage": {"instanceId"},
        "CpuMemoryUtilizationPercentage": {"instanceId"},
        "DeploymentCapacity": {"instanceId", "State"},
    },
}


@dataclasses.dataclass(frozen=True)
class Board:
    """One endpoint's workbook as registered, its parsed JSON, and what it should chart."""

    resource: Registration
    json: dict[str, Any]
    endpoint: Registration
    endpoint_id: str
    deployment_ids: dict[str, str]  # deployment name -> ARM id, in declaration order

    def item(self, name: str) -> dict[str, Any]:
        (found,) = [i for i in self.json["items"] if i["name"] == name]
        return found

    def queries(self) -> dict[str, str]:
        return {i["name"]: i["content"]["query"] for i in self.json["items"] if i["type"] == 3}


@functools.cache
def prod_plan() -> Plan:
    return plan_stack(StackRef(ROOT, "prod"))


def prod_run() -> ProgramRun:
    return prod_plan().run


RUNS = {
    "prod": prod_run,
    "max": lambda: scenario_run("max"),
    "defaults": lambda: scenario_run("defaults"),
}
WITH_LOG_ANALYTICS = ("prod", "max")


def boards(run: ProgramRun) -> dict[str, Board]:
    """Endpoint name -> its workbook, for every endpoint of the run."""
    found = {}
    for endpoint in of_type(run, ENDPOINT):
        inputs = endpoint.inputs
        name = inputs["endpointName"]
        endpoint_id = (
            f"{workspace_id(inputs['resourceGroupName'], inputs['workspaceName'])}"
            f"/onlineEndpoints/{name}"
        )
        deployment_ids = {
            d.inputs["deploymentName"]: f"{endpoint_id}/deployments/{d.inputs['deploymentName']}"
            for d in of_type(run, DEPLOYMENT)
            if d.inputs["endpointName"] == name
        }
        (workbook,) = [w for w in of_type(run, WORKBOOK) if w.parent == endpoint.parent]
        board = json.loads(workbook.inputs["serializedData"])
        found[name] = Board(workbook, board, endpoint, endpoint_id, deployment_ids)
    return found


def stack_boards(stack: str) -> dict[str, Board]:
    return boards(RUNS[stack]())


def law_id(run: ProgramRun) -> str:
    """The Log Analytics workspace the stack's log alerts query."""
    return str(of_type(run, QUERY_RULE)[0].inputs["scopes"][0])


# --- the resource ---------------------------------------------------------------------------


@pytest.mark.parametrize("stack", RUNS)
def test_every_endpoint_has_one_workbook_in_its_component(stack: str) -> None:
    run = RUNS[stack]()
    found = boards(run)
    assert len(of_type(run, WORKBOOK)) == len(found) == len(of_type(run, ENDPOINT))
    for name, board in found.items():
        assert board.resource.name == f"{name}-workbook"
        assert board.resource.parent.endswith(f"ml-endpoints:azure:OnlineEndpoint::{name}")


@pytest.mark.parametrize("stack", RUNS)
def test_the_workbook_is_a_shared_notebook_beside_its_endpoint(stack: str) -> None:
    for name, board in stack_boards(stack).items():
        inputs, endpoint = board.resource.inputs, board.endpoint.inputs
        assert inputs["kind"] == "shared"  # the API's only value (WorkbookSharedTypeKind)
        assert inputs["category"] == "workbook"  # the Workbooks gallery
        assert inputs["version"] == board.json["version"] == "Notebook/1.0"
        assert inputs["resourceGroupName"] == endpoint["resourceGroupName"]
        assert inputs["location"] == endpoint["location"]
        assert inputs["tags"] == endpoint["tags"]
        assert inputs["displayName"] == f"ML endpoint {name} ({endpoint['workspaceName']})"


@pytest.mark.parametrize("stack", WITH_LOG_ANALYTICS)
def test_with_log_analytics_the_workbook_is_the_workspaces(stack: str) -> None:
    run = RUNS[stack]()
    for board in boards(run).values():
        assert board.resource.inputs["sourceId"] == law_id(run)
        assert board.json["fallbackResourceIds"] == [law_id(run)]
        for item in board.json["items"]:
            if item["type"] == 3:
                assert item["content"]["queryType"] == 0  # Log Analytics
                assert item["content"]["resourceType"] == LOG_ANALYTICS
                assert item["content"]["crossComponentResources"] == [law_id(run)]


def test_without_log_analytics_the_workbook_is_metrics_only_in_azure_monitor() -> None:
    (board,) = stack_boards("defaults").values()
    assert [i["name"] for i in board.json["items"]] == list(METRICS_ONLY)
    assert {i["type"] for i in board.json["items"]} == {1, 9, 10}
    # "Azure Monitor" for the Workbooks gallery of Azure Monitor: workbooks-automate, "Template
    # parameters" (https://learn.microsoft.com/azure/azure-monitor/visualize/workbooks-automate).
    assert board.resource.inputs["sourceId"] == "Azure Monitor"
    assert board.json["fallbackResourceIds"] == [board.endpoint_id]
    (status,) = board.item("requests-by-status")["content"]["metrics"]
    assert status["metric"].endswith("--RequestsPerMinute")
    assert status["splitBy"] == "statusCodeClass"


# --- the JSON -------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", RUNS)
def test_items_have_the_shapes_the_workbook_schema_requires(stack: str) -> None:
    for board in stack_boards(stack).values():
        items = board.json["items"]
        assert len({i["name"] for i in items}) == len(items)
        (picker,) = board.item("parameters")["content"]["parameters"]
        assert (picker["name"], picker["type"]) == ("TimeRange", 4)  # a time range picker
        for item in items:
            assert isinstance(item["type"], int)
            assert isinstance(item["content"], dict)
            content = item["content"]
            if item["type"] in (3, 10):
                assert content["timeContextFromParameter"] == "TimeRange", item["name"]
            if item["type"] == 10:
                assert content["version"] == "MetricsItem/2.0"
                for metric in content["metrics"]:
                    assert metric["namespace"] == content["resourceType"]
                    assert metric["metric"].startswith(f"{metric['namespace']}-")
                    assert metric["aggregation"] == 4  # the average, as the alerts take it
            if item["type"] == 3:
                assert content["version"] == "KqlItem/1.0"
                assert content["visualization"] == "timechart"


@pytest.mark.parametrize("stack", WITH_LOG_ANALYTICS)
def test_every_panel_is_there_for_every_endpoint_and_deployment(stack: str) -> None:
    for board in stack_boards(stack).values():
        assert [i["name"] for i in board.json["items"]] == list(WITH_LOGS)
        for name in ("requests", "latency"):
            content = board.item(name)["content"]
            assert content["resourceType"] == ENDPOINT_TYPE
            assert content["resourceIds"] == [board.endpoint_id]
            assert {m["splitBy"] for m in content["metrics"]} == {queries.LATENCY_DIMENSION}
        for name in DEPLOYMENT_CHARTS:
            content = board.item(name)["content"]
            assert content["resourceType"] == DEPLOYMENT_TYPE
            # One series per deployment, every deployment (the shadow one too).
            assert content["resourceIds"] == list(board.deployment_ids.values())


@pytest.mark.parametrize("stack", RUNS)
def test_the_summary_names_every_deployment_and_alert_threshold(stack: str) -> None:
    run = RUNS[stack]()
    for name, board in boards(run).items():
        text = board.item("summary")["content"]["json"]
        assert f"Deployments: {', '.join(board.deployment_ids)}." in text
        # The latency alert's threshold where the stack has alerts; the default where not.
        threshold = AlertThresholds().latency_p95_ms
        for alert in of_type(run, METRIC_ALERT):
            if alert.name == f"mlep-{name}-latency-p95":
                threshold = alert.inputs["criteria"]["allOf"][0]["threshold"]
        assert f"p95 latency above {threshold:g} ms" in text


@pytest.mark.parametrize("stack", RUNS)
def test_charts_name_only_documented_metrics_and_dimensions(stack: str) -> None:
    for board in stack_boards(stack).values():
        for item in board.json["items"]:
            if item["type"] != 10:
                continue
            for metric in item["content"]["metrics"]:
                namespace, name = metric["namespace"], metric["metric"].rsplit("-", 1)[1]
                assert name in DOCUMENTED_METRICS[namespace], (item["name"], name)
                split = metric["splitBy"]
                assert split is None or split in DOCUMENTED_METRICS[namespace][name]


@pytest.mark.parametrize("stack", WITH_LOG_ANALYTICS)
def test_its_metric_names_are_the_ones_the_alerts_use(stack: str) -> None:
    run = RUNS[stack]()
    for name, board in boards(run).items():
        charted = {
            (m["namespace"], m["metric"].rsplit("-", 1)[1])
            for i in board.json["items"]
            if i["type"] == 10
            for m in i["content"]["metrics"]
        }
        alerted = {
            (c["metricNamespace"].lower(), c["metricName"])
            for alert in of_type(run, METRIC_ALERT)
            if alert.name.startswith(f"mlep-{name}-")
            for c in alert.inputs["criteria"]["allOf"]
        }
        # p95 latency, CPU and memory: every metric an alert of this endpoint watches.
        assert len(alerted) == 3
        assert alerted <= charted


# --- the log queries ------------------------------------------------------------------------


def every_query() -> list[str]:
    return [
        q
        for s in WITH_LOG_ANALYTICS
        for b in stack_boards(s).values()
        for q in b.queries().values()
    ]


def test_queries_use_only_documented_columns() -> None:
    for query in every_query():
        code = re.sub(r'"[^"]*"', '""', query)  # string literals hold names, not columns
        code = re.sub(r"\{[^}]*\}", "5m", code)  # workbook parameters ({TimeRange:grain})
        computed = set(re.findall(r"\b([A-Z]\w*) = ", code))
        used = set(re.findall(r"\b[A-Z]\w*\b", code)) - computed - {queries.TRAFFIC_TABLE}
        assert used <= set(TRAFFIC_LOG_COLUMNS), (used - set(TRAFFIC_LOG_COLUMNS), query)


def test_queries_read_the_traffic_log_of_their_endpoint_as_the_alerts_do() -> None:
    for stack in WITH_LOG_ANALYTICS:
        run = RUNS[stack]()
        for name, board in boards(run).items():
            (alert,) = [
                r for r in of_type(run, QUERY_RULE) if r.name == f"mlep-{name}-success-rate"
            ]
            alert_lines = alert.inputs["criteria"]["allOf"][0]["query"].splitlines()
            scope = [
                line
                for line in alert_lines
                if "AzureMLWorkspaceName" in line or "EndpointName" in line
            ]
            assert len(scope) == 2
            for query in board.queries().values():
                lines = query.splitlines()
                assert lines[0].endswith(queries.TRAFFIC_TABLE), query
                assert set(scope) <= set(lines), query
                # The requests routed to a deployment, as every per-deployment rate counts them.
                assert f"| where {queries.ROUTED}" in lines, query
                # The workbook's time range, not an alert window.
                assert "ago(" not in query
                assert "{TimeRange:grain}" in query


def test_rate_charts_compute_the_rates_the_alerts_and_guardrails_define() -> None:
    for stack in WITH_LOG_ANALYTICS:
        for board in stack_boards(stack).values():
            charts = board.queries()
            for rate in queries.RATES:
                query = charts[RATE_CHARTS[rate.threshold]]
                assert f"{rate.count_column} = countif({rate.matching})" in query
                assert f"{queries.REQUESTS_COLUMN} = count()" in query
                assert (
                    f"{rate.column} = round(100.0 * {rate.count_column} / "
                    f"{queries.REQUESTS_COLUMN}, 3)"
                ) in query
                assert "by DeploymentName, bin(TimeGenerated, {TimeRange:grain})" in query


def test_the_split_chart_is_each_deployments_share_of_the_endpoints_requests() -> None:
    for stack in WITH_LOG_ANALYTICS:
        for board in stack_boards(stack).values():
            query = board.queries()["traffic-split"]
            assert "summarize Requests = count() by DeploymentName, bin(TimeGenerated," in query
            assert "summarize EndpointRequests = sum(Requests) by TimeGenerated" in query
            assert "SharePercent = round(100.0 * Requests / EndpointRequests, 1)" in query


# --- names and secrets ----------------------------------------------------------------------


def test_the_name_is_a_guid_that_every_run_repeats() -> None:
    first, second = boards(run_namespace(scenario("max"))), boards(run_namespace(scenario("max")))
    names = {e: b.resource.inputs["resourceName"] for e, b in first.items()}
    assert all(uuid.UUID(n).version == 5 for n in names.values())  # the API takes only a GUID
    assert len(set(names.values())) == len(names)
    for endpoint, board in second.items():
        assert board.resource.inputs["resourceName"] == names[endpoint]
        assert board.resource.inputs == first[endpoint].resource.inputs


def test_a_traffic_step_leaves_the_workbook_as_it_is() -> None:
    # A rollout step changes the traffic resource alone (tests/test_review.py): the workbook
    # charts the live split and does not hold the declared one.
    namespace = scenario("max")
    namespace["endpoints"][0]["traffic"] = {"blue": 50, "green": 50, "shadow": 0}
    namespace["endpoints"][0]["mirror_traffic"] = {"shadow": 10}
    before = boards(scenario_run("max"))
    after = boards(run_namespace(namespace))
    for endpoint, board in after.items():
        assert board.resource.inputs == before[endpoint].resource.inputs


@pytest.mark.parametrize("stack", RUNS)
def test_no_secret_appears_in_the_workbook(stack: str) -> None:
    # `max` uses key auth: the endpoint keys are in the run, as secrets.
    for board in stack_boards(stack).values():
        text = json.dumps(board.resource.inputs)
        for secret in (SECRET, MOCK_PRIMARY_KEY, MOCK_SECONDARY_KEY):
            assert secret not in text


# --- the policy pack ------------------------------------------------------------------------


def test_the_prod_plan_has_no_finding_on_a_workbook() -> None:
    plan = prod_plan()
    workbooks = {r.urn for r in of_type(plan.run, WORKBOOK)}
    assert workbooks
    assert not [v for v in plan.violations if v.urn in workbooks]


def test_the_pack_holds_a_workbook_to_the_tag_rules() -> None:
    # GOV-01 reads the tags of every azure-native resource that has them: a workbook that lost
    # two required tags is a mandatory finding on that workbook.
    run = scenario_run("max")
    resources = [
        dataclasses.replace(r, inputs={**r.inputs, "tags": {"owner": "fraud-team"}})
        if r.type == WORKBOOK
        else r
        for r in run.resources
    ]
    found = evaluate(POLICIES_DIR, resources, environment_config(POLICIES_DIR, "prod"))
    flagged = {
        v.urn
        for v in found.violations
        if v.policy == "gov-01-required-tags" and v.enforcement == "mandatory"
    }
    assert {r.urn for r in of_type(run, WORKBOOK)} <= flagged
