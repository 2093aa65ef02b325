"""Rollout guardrails read from a real Prometheus scraping the real BentoML service the way
prometheus-operator scrapes it.

Two `bentoml serve` processes stand in for two deployments of the staging endpoint. Prometheus
scrapes them every second with the scrape job prometheus-operator generates from the staging
stack's own ServiceMonitor (tests/operator_scrape.py: its relabelings, target labels,
`honor_labels`, metric relabelings), fed the target labels Kubernetes service discovery gives
the pods of the stack's Services and Deployments: lr-v2 through the `endpoints` role, gbm-v3
through `endpointslice`. Apart from the readiness checks at start-up (200s), lr-v2 only ever
gets valid requests and gbm-v3 only malformed ones, and both get health probes all along, as
the kubelet sends them; so each test's verdict holds whatever order the tests run in. Tests
send traffic until Prometheus has a rate of it (polling, with a deadline), then judge it.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sklearn.datasets import load_breast_cancer

from components.kubernetes import dashboard
from components.kubernetes import labels as lbl
from mlep.change.guardrails import (
    REQUEST_SIGNALS,
    SIGNALS,
    MetricsUnavailable,
    Reading,
    decide,
)
from mlep.change.guardrails import prometheus as guardrails_prometheus
from mlep.change.guardrails.prometheus import PrometheusSource
from mlep.engine.plan import plan_stack
from mlep.stack import StackRef
from models import prometheus_queries
from services.tabular_classifier.contract import FEATURES
from tests import operator_scrape
from tests.conftest import ROOT
from tests.servers import bento_servers, free_loopback_port, prometheus_server
from tests.test_plan_cli import Result, copy_project
from tests.test_review import mlep_env, run_mlep

STACK = StackRef(ROOT, "staging").load()[1]
SPEC = STACK.endpoints[0]  # tabular-classifier; alerts: p95 latency at most 250 ms
assert STACK.kubernetes is not None
NAMESPACE = STACK.kubernetes.namespace
HEALTHY, BURST = "lr-v2", "gbm-v3"
STAGING_RUN = plan_stack(StackRef(ROOT, "staging")).run
WINDOW_MINUTES = 1
# Prometheus scrapes every second; rate() has its two samples within a few.
DATA_DEADLINE_SECONDS = 30
VALID_BODY = {
    "records": [
        dict(zip(FEATURES, (float(v) for v in load_breast_cancer().data[row]), strict=True))
        for row in range(5)
    ]
}
MALFORMED_BODY = b'{"records": ['
# A server's first request takes ~0.5 s (imports, first model call), and any request may stall
# on a busy machine; with some 40 requests in the window, one slow request is not the p95.
REQUESTS_PER_ROUND = 20


@dataclass(frozen=True)
class Stage:
    """The servers of this module: the deployments' clients and the Prometheus URL."""

    deployments: dict[str, httpx.Client]
    prometheus_url: str


@pytest.fixture(scope="module")
def stage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stage]:
    ports = {HEALTHY: free_loopback_port(), BURST: free_loopback_port()}
    # Prometheus first: it scrapes its first targets about 5 s after start (service discovery
    # sends updates at most every 5 s), time the BentoML servers take to start anyway.
    directory = tmp_path_factory.mktemp("prometheus")
    with (
        prometheus_server(_prometheus_config(ports, directory), directory) as p,
        bento_servers(tmp_path_factory.mktemp("bentoml-home"), list(ports.values())) as clients,
    ):
        deployments = dict(zip(ports, clients, strict=True))
        _send_valid(deployments[HEALTHY])  # warm up, each with its own kind of request
        _send_malformed(deployments[BURST])
        yield Stage(deployments, str(p.base_url).rstrip("/"))


ROLES = {HEALTHY: "endpoints", BURST: "endpointslice"}
PROBES = ("/livez", "/readyz", "/healthz")


def _manifest(kind: str, name: str) -> dict[str, Any]:
    (found,) = [
        r.inputs for r in STAGING_RUN.resources if r.inputs.get("kind") == kind and r.name == name
    ]
    return found


def pod_name(deployment: str) -> str:
    return f"{lbl.workload_name(SPEC.name, deployment)}-7d9f8b6c5d-x2x4q"


def _prometheus_config(ports: dict[str, int], directory: Path) -> str:
    """The operator's scrape job for the staging ServiceMonitor, once per discovery role, each
    discovering one deployment's pod as Kubernetes would (file_sd in place of the API)."""
    monitor = _manifest("ServiceMonitor", f"{SPEC.name}-servicemonitor")
    jobs = []
    for deployment, port in ports.items():
        role = ROLES[deployment]
        workload = lbl.workload_name(SPEC.name, deployment)
        group = operator_scrape.discovered(
            _manifest("Service", f"{workload}-service"),
            _manifest("Deployment", f"{workload}-deployment")["spec"]["template"],
            pod_name(deployment),
            f"127.0.0.1:{port}",
            role=role,
        )
        sd_file = directory / f"{role}.json"
        sd_file.write_text(json.dumps([group]))
        job = operator_scrape.scrape_config(
            monitor, 0, role=role, sd_file=str(sd_file), interval="1s"
        )
        job["job_name"] += f"/{role}"  # one job per role: names must differ
        jobs.append(job)
    return json.dumps({"scrape_configs": jobs})  # JSON is YAML


def _read_once_scraped(
    stage: Stage, deployment: str, send: Callable[[httpx.Client], None], window: int
) -> dict[str, Reading]:
    """Send traffic to ``deployment`` and read its signals until Prometheus has a rate of it:
    every request signal, and the latency, has a value."""
    source = PrometheusSource(stage.prometheus_url, NAMESPACE)
    judged = REQUEST_SIGNALS | {"latency_p95_ms"}
    deadline = time.monotonic() + DATA_DEADLINE_SECONDS
    while True:
        send(stage.deployments[deployment])
        readings = {r.key: r for r in source.read(SPEC, deployment, window)}
        if all(readings[key].value is not None for key in judged):
            return readings
        if time.monotonic() > deadline:
            pytest.fail(
                f"Prometheus had no rate of {deployment}'s traffic after "
                f"{DATA_DEADLINE_SECONDS} s: " + "; ".join(r.describe() for r in readings.values())
            )
        time.sleep(0.25)


def _probe(client: httpx.Client) -> None:
    """The kubelet's probes: fast 200s that BentoML counts as requests."""
    for path in PROBES * 3:
        assert client.get(path).status_code == 200


def _send_valid(client: httpx.Client) -> None:
    for _ in range(REQUESTS_PER_ROUND):
        assert client.post("/predict", json=VALID_BODY).status_code == 200
    _probe(client)


def _send_malformed(client: httpx.Client) -> None:
    for _ in range(REQUESTS_PER_ROUND):
        response = client.post(
            "/predict", content=MALFORMED_BODY, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400
    _probe(client)


SENDERS = {HEALTHY: _send_valid, BURST: _send_malformed}


# --- the expressions -----------------------------------------------------------------------


def _values(deployment: str | None, window: str = "30m") -> dict[str, str]:
    return prometheus_queries.signal_values(
        SPEC,
        NAMESPACE,
        window,
        container=lbl.CONTAINER_NAME,
        workload_name=lbl.workload_name,
        deployment=deployment,
    )


def test_expressions_cover_every_signal() -> None:
    assert set(_values(HEALTHY)) == set(SIGNALS)


def test_request_expressions_select_the_deployment_over_the_window() -> None:
    for key, expression in _values(HEALTHY).items():
        if key != "memory_max_percent":  # a gauge, read at the instant
            assert "[30m]" in expression, key
        if key in REQUEST_SIGNALS | {"latency_p95_ms"}:
            assert 'mlep_deployment="lr-v2"' in expression, key


def test_resource_expressions_select_the_deployments_pods() -> None:
    pods = 'pod=~"(tabular-classifier-lr-v2)-[a-z0-9]+-[a-z0-9]+"'
    assert pods in _values(HEALTHY)["cpu_max_percent"]
    assert pods in _values(HEALTHY)["memory_max_percent"]


def test_expressions_without_a_deployment_select_every_deployment() -> None:
    values = _values(None, "5m")
    assert not any("mlep_deployment=" in expression for expression in values.values())
    workloads = "tabular-classifier-lr-v1|tabular-classifier-lr-v2|tabular-classifier-gbm-v3"
    assert f'pod=~"({workloads})-' in values["cpu_max_percent"]


def test_source_names_workloads_as_the_kubernetes_target_does() -> None:
    # mlep does not import components; this is the contract between the two copies.
    assert guardrails_prometheus.CONTAINER_NAME == lbl.CONTAINER_NAME
    assert guardrails_prometheus.workload_name(SPEC.name, HEALTHY) == lbl.workload_name(
        SPEC.name, HEALTHY
    )


# --- against Prometheus --------------------------------------------------------------------


def test_healthy_traffic_advances(stage: Stage) -> None:
    readings = _read_once_scraped(stage, HEALTHY, _send_valid, WINDOW_MINUTES)
    decision = decide(list(readings.values()))
    assert decision.verdict == "advance", [r.describe() for r in decision.readings]
    # 2xx and all requests are summed over different series: equal up to rounding.
    assert readings["success_rate_min_percent"].value == pytest.approx(100)
    latency = readings["latency_p95_ms"]
    assert latency.threshold == 250
    assert latency.value is not None
    assert 0 < latency.value < 250


def test_burst_of_malformed_requests_breaches_error_and_success_rates(stage: Stage) -> None:
    readings = _read_once_scraped(stage, BURST, _send_malformed, WINDOW_MINUTES)
    decision = decide(list(readings.values()))
    assert decision.verdict == "breach"
    assert {r.key for r in decision.breaches} == {
        "client_error_rate_max_percent",
        "success_rate_min_percent",
    }, [r.describe() for r in decision.readings]
    # Only the probes answered 200, and they are not requests: no 2xx series exists at all
    # (a total outage), and the share is 0, not missing.
    assert readings["success_rate_min_percent"].value == 0
    assert readings["client_error_rate_max_percent"].value == pytest.approx(100)


def _series(stage: Stage, selector: str) -> list[dict[str, str]]:
    answer = httpx.get(f"{stage.prometheus_url}/api/v1/series", params={"match[]": selector})
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("deployment", [HEALTHY, BURST])
def test_series_carry_the_labels_the_operator_gives_them(stage: Stage, deployment: str) -> None:
    """`endpoint` is the ServiceMonitor's port name, BentoML's path is `exported_endpoint`,
    and the pod's endpoint and deployment arrive as mlep_endpoint and mlep_deployment."""
    _read_once_scraped(stage, deployment, SENDERS[deployment], WINDOW_MINUTES)
    found = _series(stage, f'bentoml_service_request_total{{mlep_deployment="{deployment}"}}')
    assert found
    workload = lbl.workload_name(SPEC.name, deployment)
    for series in found:
        assert series["endpoint"] == lbl.PORT_NAME
        assert series["exported_endpoint"] == "/predict"
        assert series["job"] == series["service"] == workload
        assert series["namespace"] == NAMESPACE
        assert series["pod"] == pod_name(deployment)
        assert series["container"] == lbl.CONTAINER_NAME
        assert series["mlep_endpoint"] == SPEC.name


def test_health_checks_never_reach_storage(stage: Stage) -> None:
    """The ServiceMonitor's metric relabelings drop every non-inference path at scrape time,
    though BentoML counts each probe (the targets answer them all along)."""
    for deployment, send in SENDERS.items():
        _read_once_scraped(stage, deployment, send, WINDOW_MINUTES)
    paths = {
        series.get("exported_endpoint")
        for series in _series(stage, '{__name__=~"bentoml_service_request.*"}')
    }
    assert paths == {"/predict"}
    scraped = httpx.get(f"http://{_address(stage, HEALTHY)}/metrics").text
    assert 'endpoint="/livez"' in scraped  # BentoML does count them


def test_dashboard_queries_read_the_real_scrape(stage: Stage) -> None:
    """Every request panel of the staging dashboard, as Grafana would send it, finds each
    deployment's series (CPU, memory and instances need cAdvisor and kube-state-metrics,
    which are not here)."""
    for deployment, send in SENDERS.items():
        _read_once_scraped(stage, deployment, send, WINDOW_MINUTES)
    for title, _, _, expressions in dashboard.panels(SPEC, NAMESPACE):
        for expression in expressions:
            if "container_" in expression or "kube_" in expression:
                continue
            answer = httpx.get(
                f"{stage.prometheus_url}/api/v1/query",
                params={"query": expression.replace(dashboard.RATE, "1m")},
            )
            assert answer.status_code == 200, (title, answer.text)
            found = {r["metric"].get("mlep_deployment") for r in answer.json()["data"]["result"]}
            assert found == set(SENDERS), (title, found)


def _address(stage: Stage, deployment: str) -> str:
    return str(stage.deployments[deployment].base_url).removeprefix("http://").rstrip("/")


def test_deployment_without_series_is_insufficient(stage: Stage) -> None:
    source = PrometheusSource(stage.prometheus_url, NAMESPACE)
    readings = source.read(SPEC, "lr-v9", WINDOW_MINUTES)
    assert decide(readings).verdict == "insufficient"
    assert all(r.value is None for r in readings)


def test_zero_minute_window_reads_the_last_minute(stage: Stage) -> None:
    readings = _read_once_scraped(stage, HEALTHY, _send_valid, window=0)
    assert readings["success_rate_min_percent"].value == pytest.approx(100)


def test_missing_cpu_and_memory_do_not_block(stage: Stage) -> None:
    # No cAdvisor or kube-state-metrics here, as on a cluster without them.
    readings = _read_once_scraped(stage, HEALTHY, _send_valid, WINDOW_MINUTES)
    assert readings["cpu_max_percent"].value is None
    assert readings["memory_max_percent"].value is None
    assert decide(list(readings.values())).verdict == "advance"


def test_unreachable_prometheus_is_unavailable() -> None:
    url = f"http://127.0.0.1:{free_loopback_port()}"  # nothing listens there
    with pytest.raises(MetricsUnavailable, match=re.escape(url) + r".*--prometheus-url"):
        PrometheusSource(url, NAMESPACE, timeout=2).read(SPEC, HEALTHY, WINDOW_MINUTES)


def test_answer_other_than_the_api_is_unavailable(stage: Stage) -> None:
    not_the_api = f"{stage.prometheus_url}/elsewhere"  # Prometheus answers 404, in plain text
    with pytest.raises(MetricsUnavailable, match=r"answered 404.*--prometheus-url"):
        PrometheusSource(not_the_api, NAMESPACE).read(SPEC, HEALTHY, WINDOW_MINUTES)


def test_query_prometheus_refuses_is_unavailable(stage: Stage) -> None:
    # A quote in the namespace ends the label value early: Prometheus answers 400, bad_data.
    source = PrometheusSource(stage.prometheus_url, 'ml"serving')
    with pytest.raises(MetricsUnavailable, match="answered 400: bad_data"):
        source.read(SPEC, HEALTHY, WINDOW_MINUTES)


def test_credentials_in_the_url_stay_out_of_messages() -> None:
    url = f"http://reader:s3cret@127.0.0.1:{free_loopback_port()}"
    source = PrometheusSource(url, NAMESPACE, timeout=2)
    assert "s3cret" not in source.describe()
    with pytest.raises(MetricsUnavailable) as raised:
        source.read(SPEC, HEALTHY, WINDOW_MINUTES)
    assert "s3cret" not in str(raised.value)


# --- mlep rollout against the real Prometheus ------------------------------------------------


def _rollout(
    stage: Stage, project: Path, env: dict[str, str], stack_text: str, deployment: str
) -> Result:
    (project / "Pulumi.staging.yaml").write_text(stack_text)
    return run_mlep(
        [
            "rollout",
            "--stack",
            "staging",
            "--endpoint",
            SPEC.name,
            "--to",
            deployment,
            "--prometheus-url",
            stage.prometheus_url,
        ],
        project,
        env,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_project(tmp_path / "project")


@pytest.fixture
def env(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> dict[str, str]:
    return mlep_env(tmp_path_factory, tmp_path)


def test_rollout_advances_a_step_when_the_live_metrics_pass(
    stage: Stage, project: Path, env: dict[str, str]
) -> None:
    _read_once_scraped(stage, HEALTHY, _send_valid, SPEC.rollout.bake_minutes)
    before = (ROOT / "Pulumi.staging.yaml").read_text()
    result = _rollout(stage, project, env, before, HEALTHY)
    assert result.code == 0, result.output
    assert "verdict: advance" in result.stdout
    after = (project / "Pulumi.staging.yaml").read_text()
    assert after == before.replace(
        "traffic: {lr-v1: 90, lr-v2: 10, gbm-v3: 0}", "traffic: {lr-v1: 75, lr-v2: 25, gbm-v3: 0}"
    )


def test_rollout_stops_on_a_breach_and_proposes_the_rollback(
    stage: Stage, project: Path, env: dict[str, str]
) -> None:
    _read_once_scraped(stage, BURST, _send_malformed, SPEC.rollout.bake_minutes)
    # gbm-v3 out of the mirror and live at 5 %: its next step would be 25 %.
    before = (
        (ROOT / "Pulumi.staging.yaml")
        .read_text()
        .replace(
            "traffic: {lr-v1: 90, lr-v2: 10, gbm-v3: 0}",
            "traffic: {lr-v1: 95, lr-v2: 0, gbm-v3: 5}",
        )
        .replace("      mirror_traffic: {gbm-v3: 20}\n", "")
    )
    result = _rollout(stage, project, env, before, BURST)
    assert result.code == 1, result.output
    assert "verdict: breach" in result.stdout
    assert f"mlep rollback --stack staging --endpoint {SPEC.name}" in result.stderr
    assert (project / "Pulumi.staging.yaml").read_text() == before


def test_rollout_of_a_kubernetes_stack_needs_a_prometheus(
    project: Path, env: dict[str, str]
) -> None:
    (project / "Pulumi.staging.yaml").write_text((ROOT / "Pulumi.staging.yaml").read_text())
    result = run_mlep(
        ["rollout", "--stack", "staging", "--endpoint", SPEC.name, "--to", HEALTHY],
        project,
        env,
    )
    assert result.code == 2
    assert "--prometheus-url" in result.stderr


def test_an_unreachable_prometheus_is_exit_4_with_one_paragraph_and_no_edit(
    project: Path, env: dict[str, str]
) -> None:
    """Issue 20, point 5: a source that cannot be reached is not invalid input (2) but its own
    exit code (4), said once, with the fix and what --skip-guardrails would mean."""
    before = (ROOT / "Pulumi.staging.yaml").read_text()
    (project / "Pulumi.staging.yaml").write_text(before)
    result = run_mlep(
        [
            "rollout",
            "--stack",
            "staging",
            "--endpoint",
            SPEC.name,
            "--to",
            "lr-v2",
            "--allow-dirty",
            "--prometheus-url",
            "http://127.0.0.1:9",  # the discard port: nothing listens
        ],
        project,
        env,
    )
    assert result.code == 4, result.output
    assert result.stderr.startswith("mlep: unavailable: guardrails: cannot read the live metrics")
    assert result.stderr.count("cannot read the live metrics") == 1
    assert "--prometheus-url" in result.stderr
    assert "--skip-guardrails" in result.stderr
    assert "Nothing was changed" in result.stderr
    assert "Traceback" not in result.stderr
    assert (project / "Pulumi.staging.yaml").read_text() == before
