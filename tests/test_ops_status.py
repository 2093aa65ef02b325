"""`mlep status` (both targets) and `mlep invoke --url` (Kubernetes).

Azure: Resource Manager and Azure Monitor answers recorded in their wire shapes
(tests/fixtures/ops/status). Kubernetes: the real `bentoml serve` of the classifier, scraped as
deployment lr-v2 by a real Prometheus with the operator's job for our ServiceMonitor (one pair
for the module), and the cluster API answering with the staging HTTPRoute and Deployments as
`mlep plan` renders them, plus the status the cluster adds, through the kubernetes client's
real deserialisation (only urllib3's pool is replaced).
"""

from __future__ import annotations

import copy
import json
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import urllib3
from kubernetes import client as k8s

from components.kubernetes import labels as lbl
from mlep import cli
from mlep.ops import _status_stack, invoke, status
from mlep.ops.arm import ML_API_VERSION, Arm
from tests.azure_fakes import FakeCredential, SignedOutCredential
from tests.conftest import ROOT
from tests.servers import bento_servers, free_loopback_port, prometheus_server
from tests.test_guardrails_prometheus import (
    HEALTHY,
    NAMESPACE,
    SPEC,
    VALID_BODY,
    _manifest,
    _prometheus_config,
)
from tests.test_ops_invoke import CHURN, FRAUD, SECRETS, SUBSCRIPTION, RoutedArm

INSIGHTS = "/providers/Microsoft.Insights/metrics"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = cli.main(["-C", str(ROOT), *argv])
    captured = capsys.readouterr()
    output = captured.out + captured.err
    for secret in SECRETS:
        assert secret not in output
    assert "Traceback (most recent call last)" not in output
    return code, output


# --- Azure -------------------------------------------------------------------------------------


def azure_routes(endpoint_fixture: str) -> dict[tuple[str, str], tuple[int, str]]:
    return {
        ("GET", FRAUD): (200, endpoint_fixture),
        ("GET", f"{FRAUD}/deployments"): (200, "deployments_fraud_scoring.json"),
        ("GET", f"{FRAUD}{INSIGHTS}"): (200, "metrics_latency.json"),
        ("GET", f"{FRAUD}/deployments/blue{INSIGHTS}"): (200, "metrics_usage_blue.json"),
        ("GET", f"{FRAUD}/deployments/green{INSIGHTS}"): (200, "metrics_usage_green.json"),
    }


class MetricsByName(RoutedArm):
    """The endpoint's two metrics calls share a path: answer by metric name."""

    def send(self, request: Any, **kwargs: Any) -> Any:
        query = parse_qs(urlsplit(request.url).query)
        if query.get("metricnames") == ["RequestsPerMinute"]:
            self.routes[("GET", f"{FRAUD}{INSIGHTS}")] = (200, "metrics_requests.json")
        else:
            self.routes[("GET", f"{FRAUD}{INSIGHTS}")] = (200, "metrics_latency.json")
        return super().send(request, **kwargs)


def azure_status(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    transport: RoutedArm,
    *more: str,
) -> tuple[int, str]:
    monkeypatch.setattr(
        status, "arm_client", lambda: Arm(FakeCredential(), transport=transport, retry_total=0)
    )
    return run(
        capsys,
        "status",
        "--stack",
        "prod",
        "--endpoint",
        "fraud-scoring",
        "--subscription",
        SUBSCRIPTION,
        *more,
    )


def test_azure_status_reads_the_endpoint_its_deployments_and_metrics(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    transport = MetricsByName(azure_routes("endpoint_fraud_scoring.json"))
    code, output = azure_status(monkeypatch, capsys, transport, "--format", "json")

    assert code == 0
    (endpoint,) = json.loads(output)["endpoints"]
    assert endpoint["state"] == "Succeeded"
    assert endpoint["auth_mode"] == "AADToken"
    assert endpoint["traffic_live"] == {"blue": 75, "green": 25}
    assert endpoint["drift"] == []
    blue, green = endpoint["deployments"]
    assert (blue["instances"], green["instances"]) == (3, 4)
    assert green["signals"]["latency_p95_ms"] == {
        "value": 342.7,
        "threshold": 300,
        "status": "breach",
    }
    assert green["signals"]["cpu_max_percent"]["status"] == "breach"  # 83.4 > 80
    assert blue["signals"]["requests_per_minute"]["value"] == pytest.approx(13515 / 60)
    assert blue["signals"]["client_error_rate_max_percent"]["value"] == pytest.approx(
        round(100 * 10 / 13515, 3)
    )
    assert green["signals"]["server_error_rate_max_percent"] == {
        "value": round(100 * 4 / 4504, 3),  # 0.089 %: under the 0.1 % threshold
        "threshold": 0.1,
        "status": "ok",
    }
    paths = [(r.method, urlsplit(r.url).path) for r in transport.requests]
    assert paths[:2] == [("GET", FRAUD), ("GET", f"{FRAUD}/deployments")]
    for request in transport.requests:
        version = parse_qs(urlsplit(request.url).query)["api-version"]
        assert version == (["2023-10-01"] if INSIGHTS in request.url else [ML_API_VERSION])
    requests = next(r for r in transport.requests if "RequestsPerMinute" in r.url)
    query = parse_qs(urlsplit(requests.url).query)
    assert query["$filter"] == ["deployment eq '*' and statusCodeClass eq '*'"]
    assert query["aggregation"] == ["Total"]


def test_azure_drift_names_both_fixes(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    transport = MetricsByName(azure_routes("endpoint_fraud_scoring_rolled_back.json"))
    code, output = azure_status(monkeypatch, capsys, transport)

    assert code == 0
    assert "live traffic blue=100 differs from the stack file's blue=75,green=25" in output
    assert "pulumi up --stack prod" in output
    assert "mlep traffic --stack prod --endpoint fraud-scoring --set blue=100" in output


def test_azure_without_metrics_prints_the_state_and_what_is_missing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    routes = azure_routes("endpoint_fraud_scoring.json")
    routes[("GET", f"{FRAUD}{INSIGHTS}")] = (403, "error_endpoint_not_found.json")
    code, output = azure_status(monkeypatch, capsys, RoutedArm(routes))

    assert code == 0
    assert "Succeeded" in output
    assert "missing metrics:" in output
    assert "access denied" in output


def test_azure_nothing_readable_is_exit_4(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    routes = {key: (401, "error_endpoint_not_found.json") for key in azure_routes("x")}
    code, output = azure_status(monkeypatch, capsys, RoutedArm(routes))
    assert code == 4
    assert "nothing live could be read" in output


def test_no_credential_is_one_paragraph_for_the_whole_stack(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Not once per endpoint and signal, and without the credential chain's explanations."""
    monkeypatch.setattr(
        status, "arm_client", lambda: Arm(SignedOutCredential(), transport=RoutedArm({}))
    )
    code, output = run(capsys, "status", "--stack", "prod", "--subscription", SUBSCRIPTION)
    assert code == 4
    assert output.count("not signed in to Azure") == 1
    assert "run `az login`" in output
    assert "DefaultAzureCredential failed" not in output
    assert "fraud-scoring" not in output  # no table of the stack file alone


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--endpoint", "nope"], "has no such endpoint"),
        (["--window", "forever"], "--window forever"),
    ],
)
def test_bad_input_is_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], expected: str
) -> None:
    code, output = run(capsys, "status", "--stack", "prod", "--subscription", "s", *argv)
    assert code == 2
    assert expected in output


def test_churn_endpoint_path_is_the_workspace_child() -> None:
    assert CHURN.endswith("/workspaces/mlw-prod/onlineEndpoints/churn-propensity")


# --- Kubernetes: the cluster API ----------------------------------------------------------------


def test_workload_names_agree_with_the_kubernetes_target() -> None:
    assert _status_stack.workload_name("e", "d") == lbl.workload_name("e", "d")


def recorded_route(weights: dict[str, int] | None = None) -> dict[str, Any]:
    route = copy.deepcopy(_manifest("HTTPRoute", f"{SPEC.name}-route"))
    if weights:
        for backend in route["spec"]["rules"][0]["backendRefs"]:
            backend["weight"] = weights[backend["name"].removeprefix(f"{SPEC.name}-")]
    route["metadata"] |= {"uid": "9b1f0c2e-3d4a-4b5c-8d6e-7f8091a2b3c4", "generation": 3}
    route["status"] = {
        "parents": [
            {
                "controllerName": "gateway.envoyproxy.io/gatewayclass-controller",
                "parentRef": route["spec"]["parentRefs"][0],
                "conditions": [
                    {
                        "type": "Accepted",
                        "status": "True",
                        "reason": "Accepted",
                        "message": "Route is accepted",
                        "observedGeneration": 3,
                        "lastTransitionTime": "2026-01-15T08:55:12Z",
                    },
                    {"type": "ResolvedRefs", "status": "True", "reason": "ResolvedRefs"},
                ],
            }
        ]
    }
    return route


def recorded_deployment(deployment: str, desired: int, ready: int) -> dict[str, Any]:
    workload = lbl.workload_name(SPEC.name, deployment)
    found = copy.deepcopy(_manifest("Deployment", f"{workload}-deployment"))
    found["spec"]["replicas"] = desired  # set by the HPA; the manifests leave it out
    found["status"] = {
        "observedGeneration": 2,
        "replicas": desired,
        "updatedReplicas": desired,
        "readyReplicas": ready,
        "availableReplicas": ready,
        "conditions": [
            {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"}
        ],
    }
    return found


class Pool:
    """urllib3's pool for the kubernetes client: recorded answers by path."""

    def __init__(self, answers: dict[str, dict[str, Any]]) -> None:
        self.answers = answers
        self.requests: list[tuple[str, str]] = []

    def request(self, method: str, url: str, **kwargs: Any) -> urllib3.HTTPResponse:
        path = urlsplit(url).path
        self.requests.append((method, path))
        body = self.answers.get(path)
        status_code = 200 if body else 404
        body = body or {"kind": "Status", "status": "Failure", "reason": "NotFound", "code": 404}
        return urllib3.HTTPResponse(
            body=json.dumps(body).encode(),
            status=status_code,
            headers={"Content-Type": "application/json"},
            preload_content=True,
        )


def cluster(route: dict[str, Any]) -> tuple[k8s.ApiClient, Pool]:
    api = k8s.ApiClient(k8s.Configuration(host="https://aks-staging.example:443"))
    base = f"/apis/gateway.networking.k8s.io/v1/namespaces/{NAMESPACE}/httproutes"
    deployments = f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments"
    pool = Pool(
        {
            f"{base}/{SPEC.name}": route,
            f"{deployments}/{SPEC.name}-lr-v1": recorded_deployment("lr-v1", 2, 2),
            f"{deployments}/{SPEC.name}-lr-v2": recorded_deployment("lr-v2", 2, 1),
            f"{deployments}/{SPEC.name}-gbm-v3": recorded_deployment("gbm-v3", 1, 0),
        }
    )
    api.rest_client.pool_manager = pool
    return api, pool


# --- Kubernetes: the real BentoML service and Prometheus ---------------------------------------


@dataclass(frozen=True)
class Stage:
    bento: httpx.Client
    prometheus_url: str


@pytest.fixture(scope="module")
def stage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stage]:
    port = free_loopback_port()
    directory = tmp_path_factory.mktemp("prometheus")
    with (
        prometheus_server(_prometheus_config({HEALTHY: port}, directory), directory) as p,
        bento_servers(tmp_path_factory.mktemp("bentoml-home"), [port]) as (bento,),
    ):
        yield Stage(bento, str(p.base_url).rstrip("/"))


def invoke_url(
    capsys: pytest.CaptureFixture[str], url: str, body: Any, tmp_path: Path
) -> tuple[int, str]:
    request = tmp_path / "request.json"
    request.write_text(json.dumps(body))
    return run(
        capsys,
        "invoke",
        "--stack",
        "staging",
        "--endpoint",
        SPEC.name,
        "--request-file",
        str(request),
        "--url",
        url,
    )


def test_invoke_url_calls_the_bento(
    stage: Stage, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, output = invoke_url(capsys, str(stage.bento.base_url), VALID_BODY, tmp_path)
    assert code == 0
    assert "/predict -> 200 OK in" in output
    assert '"label":' in output


def pod_list(*pods: tuple[str, str, bool]) -> dict[str, Any]:
    """A PodList as the API server answers it: (name, phase, ready) per pod."""
    return {
        "kind": "PodList",
        "apiVersion": "v1",
        "metadata": {"resourceVersion": "1"},
        "items": [
            {
                "metadata": {"name": name, "namespace": NAMESPACE},
                "status": {
                    "phase": phase,
                    "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
                },
            }
            for name, phase, ready in pods
        ],
    }


def invoke_deployment(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    pods: dict[str, Any],
    bento_port: int,
) -> tuple[int, str, list[str]]:
    """`mlep invoke --deployment gbm-v3` on the staging stack: the pod list comes from the
    recorded API through the real client; the port-forward's socket reaches the real bento."""
    api = k8s.ApiClient(k8s.Configuration(host="https://aks-staging.example:443"))
    api.rest_client.pool_manager = Pool({f"/api/v1/namespaces/{NAMESPACE}/pods": pods})
    forwarded_to: list[str] = []

    def open_remote(core: Any, namespace: str, pod: str) -> socket.socket:
        forwarded_to.append(f"{namespace}/{pod}")
        return socket.create_connection(("127.0.0.1", bento_port))

    monkeypatch.setattr(invoke, "kube_api_client", lambda: api)
    monkeypatch.setattr(invoke.forward, "open_remote", open_remote)
    request = tmp_path / "request.json"
    request.write_text(json.dumps(VALID_BODY))
    code, output = run(
        capsys,
        "invoke",
        "--stack",
        "staging",
        "--endpoint",
        SPEC.name,
        "--deployment",
        "gbm-v3",
        "--request-file",
        str(request),
    )
    return code, output, forwarded_to


def test_invoke_a_deployment_at_0_percent_through_a_port_forward_to_a_ready_pod(
    stage: Stage,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    """gbm-v3 carries 0 % of the staging route: the request reaches it anyway, through its
    one ready running pod (not the pending one, not the unready one)."""
    port = int(str(stage.bento.base_url).rstrip("/").rsplit(":", 1)[1])
    pods = pod_list(
        ("tabular-classifier-gbm-v3-5d8f7c9b6d-aaaaa", "Pending", False),
        ("tabular-classifier-gbm-v3-5d8f7c9b6d-bbbbb", "Running", False),
        ("tabular-classifier-gbm-v3-5d8f7c9b6d-ccccc", "Running", True),
    )
    code, output, forwarded_to = invoke_deployment(monkeypatch, capsys, tmp_path, pods, port)
    assert code == 0, output
    assert "/predict -> 200 OK in" in output
    assert forwarded_to == [f"{NAMESPACE}/tabular-classifier-gbm-v3-5d8f7c9b6d-ccccc"]


def test_invoke_a_deployment_without_a_ready_pod_is_exit_4(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    pods = pod_list(("tabular-classifier-gbm-v3-5d8f7c9b6d-aaaaa", "Running", False))
    code, output, forwarded_to = invoke_deployment(monkeypatch, capsys, tmp_path, pods, 9)
    assert code == 4
    assert "gbm-v3 has no ready pod in ml-serving (1 pod(s) found)" in " ".join(output.split())
    assert forwarded_to == []


def test_the_forwarded_port_is_the_bentos() -> None:
    assert invoke.forward.BENTO_PORT == lbl.HTTP_PORT
    assert invoke.forward.labels.ENDPOINT_LABEL == lbl.ENDPOINT_LABEL
    assert invoke.forward.labels.DEPLOYMENT_LABEL == lbl.DEPLOYMENT_LABEL


def test_invoke_url_names_model_input_errors(
    stage: Stage, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, output = invoke_url(capsys, str(stage.bento.base_url), {"records": [{}]}, tmp_path)
    assert code == 1
    assert "-> 400" in output
    assert "model input rejected" in output


def test_invoke_url_with_nothing_listening_is_exit_4(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    url = f"http://127.0.0.1:{free_loopback_port()}"
    code, output = invoke_url(capsys, url, VALID_BODY, tmp_path)
    assert code == 4
    assert "refused the connection" in output
    assert "bentoml serve" in output


def test_kubernetes_status_reads_route_replicas_and_prometheus(
    stage: Stage, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    api, pool = cluster(recorded_route())
    monkeypatch.setattr(status, "kube_api_client", lambda: api)
    deadline = time.monotonic() + 30
    while True:
        for _ in range(20):
            assert stage.bento.post("/predict", json=VALID_BODY).status_code == 200
        code, output = run(
            capsys,
            "status",
            "--stack",
            "staging",
            "--window",
            "1m",
            "--prometheus-url",
            stage.prometheus_url,
            "--format",
            "json",
        )
        (endpoint,) = json.loads(output)["endpoints"]
        served = {d["name"]: d for d in endpoint["deployments"]}[HEALTHY]
        # Both need two scrapes of the traffic; on a busy machine one can come before the other.
        signals = served["signals"]
        if None not in (
            signals["latency_p95_ms"]["value"],
            signals["requests_per_minute"]["value"],
        ):
            break
        assert time.monotonic() < deadline, f"no metrics of {HEALTHY} in Prometheus: {output}"
        time.sleep(0.5)

    assert code == 0
    assert endpoint["state"] == "Accepted"
    assert endpoint["traffic_live"] == {"lr-v1": 90, "lr-v2": 10}
    assert endpoint["mirror_live"] == {"gbm-v3": 20}
    assert endpoint["drift"] == []
    assert (served["instances"], served["ready"], served["state"]) == (2, 1, "1/2 ready")
    assert served["signals"]["requests_per_minute"]["value"] > 0
    assert served["signals"]["latency_p95_ms"]["status"] in ("ok", "breach")
    assert served["observed_share"] == pytest.approx(100)
    assert ("GET", f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/{SPEC.name}-gbm-v3") in (
        pool.requests
    )


def test_kubernetes_drift_and_missing_prometheus(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    api, _ = cluster(recorded_route({"lr-v1": 100, "lr-v2": 0, "gbm-v3": 0}))
    monkeypatch.setattr(status, "kube_api_client", lambda: api)
    monkeypatch.delenv("MLEP_PROMETHEUS_URL", raising=False)
    code, output = run(capsys, "status", "--stack", "staging")

    assert code == 0
    assert "live traffic lr-v1=100 differs from the stack file's lr-v1=90,lr-v2=10" in output
    assert "mlep traffic --stack staging --endpoint tabular-classifier --set lr-v1=100" in output
    assert "no Prometheus given" in output


def test_kubernetes_unreachable_everything_is_exit_4(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def no_cluster() -> Any:
        raise status.cluster.ClusterMissing("no cluster to read (no kubeconfig)")

    monkeypatch.setattr(status, "kube_api_client", no_cluster)
    url = f"http://127.0.0.1:{free_loopback_port()}"
    code, output = run(capsys, "status", "--stack", "staging", "--prometheus-url", url)
    assert code == 4
    assert "could not reach Prometheus" in output
    assert "no cluster to read" in output


def test_invoke_module_is_registered() -> None:
    assert {invoke.NAME, status.NAME} <= {m.NAME for m in cli.ops.MODULES}
