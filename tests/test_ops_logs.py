"""`mlep logs` against recorded answers: Azure ML's getLogs through azure-core's ARM pipeline,
and a cluster's pod list and plain-text logs through the kubernetes client (its urllib3 pool
replaced by recorded responses, so the client's own serialisation runs)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import urllib3
from kubernetes import client

from mlep.cli import main
from mlep.ops import logs
from mlep.ops.arm import ML_API_VERSION, Arm, workspace_path
from tests.azure_fakes import FakeCredential, SignedOutCredential
from tests.test_ops_arm import Scripted

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures" / "ops"
SUBSCRIPTION = "6f1c2b1e-93b8-4d3c-9a52-0c1e7a7d2f10"
ENDPOINT = f"{workspace_path(SUBSCRIPTION, 'rg-ml-prod', 'mlw-prod')}/onlineEndpoints/fraud-scoring"
PODS = "kubernetes/pods-tabular-classifier-lr-v1.json"
POD_NAMES = (
    "tabular-classifier-lr-v1-7c9d5b8f64-9fz4w",
    "tabular-classifier-lr-v1-7c9d5b8f64-x2kqp",
)


def recorded(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return loaded


def run_azure(
    monkeypatch: pytest.MonkeyPatch,
    answers: list[tuple[int, dict[str, Any] | None, dict[str, str]]],
    *extra: str,
    credential: Any = None,
) -> tuple[int, Scripted]:
    transport = Scripted(answers)
    arm = Arm(credential or FakeCredential(), transport=transport, retry_total=0)
    monkeypatch.setattr(logs, "azure_client", lambda: arm)
    argv = ["-C", str(ROOT), "logs", "--stack", "prod", "--endpoint", "fraud-scoring"]
    code = main([*argv, "--subscription", SUBSCRIPTION, *extra])
    return code, transport


def test_azure_logs_post_getlogs_with_the_container_and_tail(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    answer = recorded("azure/getlogs-inference-server.json")
    code, transport = run_azure(
        monkeypatch, [(200, answer, {})], "--deployment", "green", "--lines", "6"
    )
    assert code == 0
    (request,) = transport.requests
    url = urlsplit(request.url)
    assert (request.method, url.path) == ("POST", f"{ENDPOINT}/deployments/green/getLogs")
    assert parse_qs(url.query) == {"api-version": [ML_API_VERSION]}
    assert json.loads(request.content) == {"containerType": "InferenceServer", "tail": 6}
    assert capsys.readouterr().out == answer["content"]


def test_azure_storage_initializer_logs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    answer = recorded("azure/getlogs-storage-initializer.json")
    code, transport = run_azure(
        monkeypatch,
        [(200, answer, {})],
        "--deployment",
        "blue",
        "--container",
        "storage-initializer",
    )
    assert code == 0
    assert json.loads(transport.requests[0].content) == {
        "containerType": "StorageInitializer",
        "tail": logs.DEFAULT_LINES,
    }
    assert "Downloaded 3 files" in capsys.readouterr().out


def test_azure_no_lines_yet_says_so(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    answer = recorded("azure/getlogs-empty.json")
    code, _ = run_azure(monkeypatch, [(200, answer, {})], "--deployment", "green")
    assert code == 0
    assert "has no log lines yet" in capsys.readouterr().err


def test_azure_deployment_missing_in_the_workspace_is_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    answer = recorded("azure/not-found.json")
    code, _ = run_azure(monkeypatch, [(404, answer, {})], "--deployment", "green")
    err = capsys.readouterr().err
    assert code == 2
    assert "online deployment fraud-scoring/green not found in Azure" in err
    assert "Traceback" not in err


def test_azure_not_signed_in_is_exit_4_with_the_fix(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, transport = run_azure(
        monkeypatch, [], "--deployment", "green", credential=SignedOutCredential()
    )
    err = capsys.readouterr().err
    assert code == 4
    assert "not signed in to Azure" in err
    assert "az login" in err
    assert transport.requests == []


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--endpoint", "nope", "--deployment", "blue"], "--endpoint 'nope': no such endpoint"),
        (["--endpoint", "fraud-scoring", "--deployment", "red"], "--deployment 'red'"),
    ],
)
def test_unknown_names_are_exit_2_before_any_call(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    message: str,
) -> None:
    def no_client() -> Arm:
        raise AssertionError("no call may be made for an unknown name")

    monkeypatch.setattr(logs, "azure_client", no_client)
    code = main(["-C", str(ROOT), "logs", "--stack", "prod", *argv])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert "fix:" in err


def test_lines_must_be_positive(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["logs", "--stack", "prod", "--endpoint", "e", "--deployment", "d", "--lines", "0"])
    assert exit_.value.code == 2
    assert "give a whole number of lines" in capsys.readouterr().err


class RecordedCluster:
    """The urllib3 pool of a kubernetes ApiClient, answering from recorded API responses."""

    def __init__(self, answers: dict[str, tuple[int, str, str]]) -> None:
        self.answers = answers  # path -> (status, content type, fixture)
        self.requests: list[tuple[str, str]] = []

    def request(self, method: str, url: str, **kwargs: Any) -> urllib3.HTTPResponse:
        self.requests.append((method, url))
        status, content_type, fixture = self.answers[urlsplit(url).path]
        return urllib3.HTTPResponse(
            body=io.BytesIO((FIXTURES / fixture).read_bytes()),
            status=status,
            headers={"Content-Type": content_type},
            preload_content=False,
        )


def run_kubernetes(monkeypatch: pytest.MonkeyPatch, cluster: RecordedCluster, *extra: str) -> int:
    api = client.ApiClient(client.Configuration(host="https://aks-staging.hcp.example.io:443"))
    api.rest_client.pool_manager = cluster
    monkeypatch.setattr(logs, "kubernetes_client", lambda context: api)
    argv = ["-C", str(ROOT), "logs", "--stack", "staging", "--endpoint", "tabular-classifier"]
    return main([*argv, "--deployment", "lr-v1", *extra])


def pod_log_path(pod: str) -> str:
    return f"/api/v1/namespaces/ml-serving/pods/{pod}/log"


def cluster_with_pods() -> RecordedCluster:
    answers = {"/api/v1/namespaces/ml-serving/pods": (200, "application/json", PODS)}
    for pod in POD_NAMES:
        answers[pod_log_path(pod)] = (200, "text/plain", f"kubernetes/log-{pod[-5:]}.txt")
    return RecordedCluster(answers)


def test_kubernetes_logs_list_pods_by_the_selector_and_prefix_each_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cluster = cluster_with_pods()
    assert run_kubernetes(monkeypatch, cluster, "--lines", "20") == 0
    (list_method, list_url), *reads = cluster.requests
    assert list_method == "GET"
    assert parse_qs(urlsplit(list_url).query) == {
        "labelSelector": ["ml-endpoints/endpoint=tabular-classifier,ml-endpoints/deployment=lr-v1"]
    }
    assert [(m, urlsplit(u).path) for m, u in reads] == [
        ("GET", pod_log_path(pod)) for pod in POD_NAMES
    ]
    for _, url in reads:
        assert parse_qs(urlsplit(url).query) == {"container": ["bento"], "tailLines": ["20"]}
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 6
    assert lines[0].startswith(f"[pod/{POD_NAMES[0]}/bento] 2026-03-02T08:55:21+0000 [INFO]")
    assert lines[-1].startswith(f"[pod/{POD_NAMES[1]}/bento] ")
    assert "path=/predict" in lines[-1]


def test_kubernetes_has_no_storage_initializer(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cluster = cluster_with_pods()
    code = run_kubernetes(monkeypatch, cluster, "--container", "storage-initializer")
    err = capsys.readouterr().err
    assert code == 2
    assert "has no storage initializer" in err
    assert "--container inference-server" in err
    assert len(cluster.requests) == 1  # the pod list only


def test_kubernetes_without_pods_is_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cluster = RecordedCluster(
        {
            "/api/v1/namespaces/ml-serving/pods": (
                200,
                "application/json",
                "kubernetes/pods-empty.json",
            )
        }
    )
    assert run_kubernetes(monkeypatch, cluster) == 2
    assert "no pods of tabular-classifier/lr-v1 in namespace ml-serving" in capsys.readouterr().err


def test_kubernetes_forbidden_is_exit_4_with_the_status_message(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cluster = RecordedCluster(
        {
            "/api/v1/namespaces/ml-serving/pods": (
                403,
                "application/json",
                "kubernetes/status-forbidden.json",
            )
        }
    )
    assert run_kubernetes(monkeypatch, cluster) == 4
    err = capsys.readouterr().err
    assert 'HTTP 403 pods is forbidden: User "system:serviceaccount:ci:deployer"' in err
    assert "Traceback" not in err


def test_kubernetes_unreachable_is_exit_4(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    class Unreachable:
        def request(self, method: str, url: str, **kwargs: Any) -> None:
            raise urllib3.exceptions.MaxRetryError(None, url, "connection refused")  # type: ignore[arg-type]

    api = client.ApiClient(client.Configuration(host="https://aks-staging.hcp.example.io:443"))
    api.rest_client.pool_manager = Unreachable()
    monkeypatch.setattr(logs, "kubernetes_client", lambda context: api)
    code = main(
        [
            "-C",
            str(ROOT),
            "logs",
            "--stack",
            "staging",
            "--endpoint",
            "tabular-classifier",
            "--deployment",
            "lr-v1",
        ]
    )
    err = capsys.readouterr().err
    assert code == 4
    assert "the cluster did not answer" in err
    assert "fix:" in err


def test_no_kubeconfig_is_exit_4(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    code = main(
        [
            "-C",
            str(ROOT),
            "logs",
            "--stack",
            "staging",
            "--endpoint",
            "tabular-classifier",
            "--deployment",
            "lr-v1",
        ]
    )
    err = capsys.readouterr().err
    assert code == 4
    assert "no Kubernetes cluster to read logs from" in err
    assert "KUBECONFIG" in err


def test_the_selector_labels_are_the_programs() -> None:
    from components.kubernetes import labels  # noqa: PLC0415
    from mlep.ops import _logs_stack  # noqa: PLC0415

    assert labels.selector("e", "d") == {
        _logs_stack.ENDPOINT_LABEL: "e",
        _logs_stack.DEPLOYMENT_LABEL: "d",
    }
    assert labels.CONTAINER_NAME == _logs_stack.CONTAINER_NAME
