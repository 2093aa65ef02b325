"""`mlep inventory` (issue 22, point 4): the repo's three stacks in every format, parsed back and
compared with values written out from the stack files; CSV injection; an invalid stack is exit 2
with no report; `--live` against recorded Azure answers (through azure-core transports) and
against a real Prometheus scraping a real `bentoml serve`.

The live Kubernetes section also holds `mlep idle --prometheus-url`, so that both commands
share one module-scoped server pair.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from azure.core.rest import HttpRequest
from sklearn.datasets import load_breast_cancer

from mlep.cli import main
from mlep.ops import inventory
from models.loader import parse_stack_config
from services.tabular_classifier.contract import FEATURES
from tests.azure_fakes import DUMMY_TOKEN, Answering, FakeCredential, SignedOutCredential
from tests.conftest import ROOT
from tests.servers import bento_servers, free_loopback_port, prometheus_server

SUBSCRIPTION = "6f1c2b1e-93b8-4d3c-9a52-0c1e7a7d2f10"
SECRET = "SUPERSECRETVALUE-never-shown"
WORKSPACE = (
    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-ml-prod/providers"
    "/Microsoft.MachineLearningServices/workspaces/mlw-prod"
)
LAW = (
    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-monitoring/providers"
    "/Microsoft.OperationalInsights/workspaces/law-ml-prod"
)

# Written out from Pulumi.dev.yaml, Pulumi.prod.yaml and Pulumi.staging.yaml: one row per
# deployment (stack, endpoint, owner, application, sensitivity, auth, deployment, model or
# image, size, instances, autoscale, traffic, mirror).
EXPECTED = [
    ("dev", "fraud-scoring", "fraud-team", "fraud-detection", "internal", "aad_token", "blue",
     "azureml:fraud-classifier:7", "Standard_DS2_v2", "1", "", "100", ""),
    ("prod", "fraud-scoring", "fraud-team", "fraud-detection", "confidential", "aad_token",
     "blue", "azureml:fraud-classifier:7", "Standard_DS3_v2", "3", "3-10", "75", ""),
    ("prod", "fraud-scoring", "fraud-team", "fraud-detection", "confidential", "aad_token",
     "green", "azureml:fraud-classifier:8", "Standard_DS3_v2", "3", "3-10", "25", ""),
    ("prod", "churn-propensity", "retention-analytics", "customer-retention", "confidential",
     "key", "gbm-v3", "azureml://registries/ml-shared/models/churn-gbm/versions/3",
     "Standard_DS3_v2", "3", "", "100", ""),
    ("prod", "churn-propensity", "retention-analytics", "customer-retention", "confidential",
     "key", "gbm-v4", "azureml://registries/ml-shared/models/churn-gbm/versions/4",
     "Standard_DS3_v2", "1", "", "0", "10"),
    ("staging", "tabular-classifier", "ml-platform", "tumour-triage", "confidential",
     "aad_token", "lr-v1", "mlstaging.azurecr.io/tabular-classifier:1.0.0",
     "cpu 500m, memory 1Gi, gpu 0", "2", "2-6", "90", ""),
    ("staging", "tabular-classifier", "ml-platform", "tumour-triage", "confidential",
     "aad_token", "lr-v2", "mlstaging.azurecr.io/tabular-classifier:1.1.0",
     "cpu 500m, memory 1Gi, gpu 0", "2", "", "10", ""),
    ("staging", "tabular-classifier", "ml-platform", "tumour-triage", "confidential",
     "aad_token", "gbm-v3", "mlstaging.azurecr.io/tabular-classifier:2.0.0-rc1",
     "cpu 500m, memory 1Gi, gpu 0", "1", "", "0", "20"),
]  # fmt: skip
KEYS = (
    "stack", "endpoint", "owner", "application", "data_sensitivity", "auth_mode", "deployment",
    "model_or_image", "size", "instances", "autoscale", "traffic", "mirror",
)  # fmt: skip
NETWORK = {
    "dev": "public disabled",
    "prod": "public disabled, private endpoint",
    "staging": "route ml.staging.example.com/tabular-classifier via gateway "
    "gateway-system/internal",
}


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str


STACK_HEAD = {
    "target": "azure",
    "environment": "dev",
    "tags": {"owner": "ml-team", "application": "serving", "data-sensitivity": "internal"},
    "azure": {"resource_group": "rg-ml-dev", "workspace": "mlw-dev"},
}


def mlep(capsys: pytest.CaptureFixture[str], *args: str, project: Path = ROOT) -> Run:
    capsys.readouterr()
    code = main(["-C", str(project), *args])
    captured = capsys.readouterr()
    for text in (captured.out, captured.err):  # no key, token or secret in any output
        assert SECRET not in text
        assert DUMMY_TOKEN not in text
    return Run(code, captured.out, captured.err)


def project_with(tmp_path: Path, stacks: dict[str, str]) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path)
    for name, text in stacks.items():
        (tmp_path / f"Pulumi.{name}.yaml").write_text(text)
    return tmp_path


def stack_text(name: str) -> str:
    return (ROOT / f"Pulumi.{name}.yaml").read_text()


# --- offline ---------------------------------------------------------------------------------


def test_csv_lists_every_deployment_of_every_stack(capsys: pytest.CaptureFixture[str]) -> None:
    run = mlep(capsys, "inventory", "--format", "csv")
    assert run.code == 0, run.stderr
    assert run.stdout.endswith("\r\n")  # RFC 4180 line breaks
    header, *rows = csv.reader(io.StringIO(run.stdout))
    assert header == list(inventory.COLUMNS)
    records = [dict(zip(header, row, strict=True)) for row in rows]
    assert [tuple(r[k] for k in KEYS) for r in records] == EXPECTED
    assert {r["stack"]: r["network"] for r in records} == NETWORK
    assert {(r["stack"], r["target"], r["environment"], r["scope"]) for r in records} == {
        ("dev", "azure", "dev", "rg-ml-dev/mlw-dev"),
        ("prod", "azure", "prod", "rg-ml-prod/mlw-prod"),
        ("staging", "kubernetes", "staging", "ml-serving"),
    }


def test_markdown_rows_match_the_stack_files(capsys: pytest.CaptureFixture[str]) -> None:
    run = mlep(capsys, "inventory", "--format", "markdown")
    assert run.code == 0, run.stderr
    header, rule, *rows = run.stdout.splitlines()
    assert header == "| " + " | ".join(inventory.COLUMNS.values()) + " |"
    assert rule == "|" + "---|" * len(inventory.COLUMNS)
    cells = [[c.strip() for c in row.strip("|").split(" | ")] for row in rows]
    records = [dict(zip(inventory.COLUMNS, row, strict=True)) for row in cells]
    assert [tuple(r[k] for k in KEYS) for r in records] == EXPECTED


def test_json_nests_deployments_under_endpoints(capsys: pytest.CaptureFixture[str]) -> None:
    run = mlep(capsys, "inventory", "--format", "json", "--stack", "prod", "--stack", "staging")
    assert run.code == 0, run.stderr
    document = json.loads(run.stdout)
    assert document["stacks"] == ["prod", "staging"]
    churn = document["endpoints"][1]
    assert churn["endpoint"] == "churn-propensity"
    assert churn["tags"] == {
        "owner": "retention-analytics",
        "application": "customer-retention",
        "data-sensitivity": "confidential",
        "cost-center": "ml-platform",
    }
    assert (churn["auth_mode"], churn["public_network_access"]) == ("key", "disabled")
    assert churn["traffic"] == {"gbm-v3": 100, "gbm-v4": 0}
    assert churn["mirror_traffic"] == {"gbm-v4": 10}
    assert churn["deployments"][1] == {
        "name": "gbm-v4",
        "model_or_image": "azureml://registries/ml-shared/models/churn-gbm/versions/4",
        "size": "Standard_DS3_v2",
        "instances": 1,
        "autoscale": "",
    }
    staging = document["endpoints"][2]
    assert staging["network"] == NETWORK["staging"]
    assert staging["deployments"][0]["autoscale"] == "2-6"
    assert "live" not in staging


def test_table_shows_the_rows(capsys: pytest.CaptureFixture[str]) -> None:
    run = mlep(capsys, "inventory", "--stack", "dev")
    assert run.code == 0, run.stderr
    for value in ("fraud-scoring", "azureml:fraud-classifier:7", "Standard_DS2_v2", "internal"):
        assert value in run.stdout


def test_csv_cells_cannot_run_as_formulas(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    hostile = (
        stack_text("dev")
        .replace("owner: fraud-team", 'owner: \'=HYPERLINK("http://evil.example","x")\'')
        .replace("application: fraud-detection", "application: '@SUM(1+1)'")
        .replace("cost-center: ml-platform-dev", "cost-center: '+1, \"quoted\"'")
    )
    run = mlep(
        capsys, "inventory", "--format", "csv", project=project_with(tmp_path, {"x": hostile})
    )
    assert run.code == 0, run.stderr
    header, row = csv.reader(io.StringIO(run.stdout))
    record = dict(zip(header, row, strict=True))
    assert record["owner"] == '\'=HYPERLINK("http://evil.example","x")'
    assert record["application"] == "'@SUM(1+1)"
    # RFC 4180: quotes doubled inside a quoted field.
    assert '"\'=HYPERLINK(""http://evil.example"",""x"")"' in run.stdout
    markdown = mlep(capsys, "inventory", "--format", "markdown", project=tmp_path)
    assert "'@SUM" not in markdown.stdout  # the quote is for spreadsheets only


def test_markdown_escapes_pipes(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    piped = stack_text("dev").replace("owner: fraud-team", "owner: 'a|b'")
    run = mlep(
        capsys, "inventory", "--format", "markdown", project=project_with(tmp_path, {"x": piped})
    )
    assert run.code == 0, run.stderr
    row = run.stdout.splitlines()[2]
    assert "| a\\|b |" in row
    assert len(row.replace("\\|", "").strip("|").split("|")) == len(inventory.COLUMNS)


def test_an_invalid_stack_is_exit_2_and_no_report(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    broken = stack_text("dev").replace("traffic: {blue: 100}", "traffic: {blue: 90}")
    project = project_with(tmp_path, {"a": stack_text("dev"), "b": broken})
    for fmt in inventory.FORMATS:
        run = mlep(capsys, "inventory", "--format", fmt, project=project)
        assert (run.code, run.stdout) == (2, "")
        assert "Pulumi.b.yaml" in run.stderr
        assert "endpoints[0].traffic" in run.stderr
        assert "90" in run.stderr


def test_an_unknown_stack_is_exit_2_with_the_fix(capsys: pytest.CaptureFixture[str]) -> None:
    run = mlep(capsys, "inventory", "--stack", "nope")
    assert (run.code, run.stdout) == (2, "")
    assert "--stack nope: no stack file Pulumi.nope.yaml" in run.stderr
    assert "fix: name one of the stacks here (dev, prod, staging)" in run.stderr


def test_secrets_of_other_namespaces_never_show(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    text = stack_text("dev") + f"  azure-native:clientSecret:\n    secure: v1:{SECRET}\n"
    project = project_with(tmp_path, {"dev": text})
    for fmt in inventory.FORMATS:
        assert mlep(capsys, "inventory", "--format", fmt, project=project).code == 0


# --- live: Azure, recorded -------------------------------------------------------------------


class Azure(Answering):
    """Answers by host and path (and, for Log Analytics, by the endpoint the query names);
    keeps the requests."""

    def __init__(self, answer: Callable[[HttpRequest], tuple[int, Any]]) -> None:
        super().__init__(lambda request: (*answer(request), {}))


def traffic_log(rows: list[list[Any]]) -> dict[str, Any]:
    columns = [("DeploymentName", "string"), ("Requests", "long"), ("LastRequest", "datetime")]
    return {
        "tables": [
            {
                "name": "PrimaryResult",
                "columns": [{"name": n, "type": t} for n, t in columns],
                "rows": rows,
            }
        ]
    }


ONLINE_ENDPOINTS = {
    "fraud-scoring": {"properties": {"traffic": {"blue": 90, "green": 10}, "mirrorTraffic": {}}},
    "churn-propensity": {
        "properties": {"traffic": {"gbm-v3": 100, "gbm-v4": 0}, "mirrorTraffic": {"gbm-v4": 10}}
    },
}
LOGS = {
    "fraud-scoring": traffic_log(
        [["blue", 4100, "2026-12-05T09:58:12Z"], ["green", 410, "2026-12-05T09:57:40Z"]]
    ),
    "churn-propensity": traffic_log([]),
}


def prod_answers(request: HttpRequest) -> tuple[int, Any]:
    url = urlsplit(request.url)
    if url.hostname == "management.azure.com":
        return 200, ONLINE_ENDPOINTS[url.path.rsplit("/", 1)[-1]]
    assert (url.hostname, url.path) == ("api.loganalytics.io", f"/v1{LAW}/query")
    query = json.loads(request.content)["query"]
    (endpoint,) = [name for name in LOGS if f'EndpointName == "{name}"' in query]
    return 200, LOGS[endpoint]


@pytest.fixture(name="azure")
def azure_fixture(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Azure]:
    def install(answer: Callable[[HttpRequest], tuple[int, Any]], credential: Any = None) -> Azure:
        transport = Azure(answer)
        access = inventory.AzureAccess(
            credential or FakeCredential(), {"transport": transport, "retry_total": 0}
        )
        monkeypatch.setattr(inventory, "azure_access", lambda: access)
        return transport

    return install


def test_live_azure_reads_the_endpoint_and_the_traffic_log(
    capsys: pytest.CaptureFixture[str], azure: Callable[..., Azure]
) -> None:
    transport = azure(prod_answers)
    args = ("inventory", "--stack", "prod", "--live", "--subscription", SUBSCRIPTION)
    run = mlep(capsys, *args, "--format", "json")
    assert run.code == 0, run.stderr
    fraud, churn = json.loads(run.stdout)["endpoints"]
    assert fraud["live"] == {
        "source": "Azure ML workspace mlw-prod and its traffic log",
        "traffic": {"blue": 90, "green": 10},
        "mirror_traffic": {},
        "last_request": {"blue": "2026-12-05T09:58:12Z", "green": "2026-12-05T09:57:40Z"},
    }
    assert churn["live"]["mirror_traffic"] == {"gbm-v4": 10}
    assert churn["live"]["last_request"] == {}
    gets = [r for r in transport.requests if r.method == "GET"]
    assert [urlsplit(r.url).path for r in gets] == [
        f"{WORKSPACE}/onlineEndpoints/fraud-scoring",
        f"{WORKSPACE}/onlineEndpoints/churn-propensity",
    ]
    assert all("api-version=2025-12-01" in r.url for r in gets)
    assert all(r.headers["Authorization"].startswith("Bearer ") for r in transport.requests)
    posts = [json.loads(r.content) for r in transport.requests if r.method == "POST"]
    assert [p["query"] for p in posts] == [
        inventory.traffic_query(name, "mlw-prod") for name in ("fraud-scoring", "churn-propensity")
    ]
    csv_run = mlep(capsys, *args, "--format", "csv")
    header, *rows = csv.reader(io.StringIO(csv_run.stdout))
    assert header[-3:] == ["live_traffic", "live_mirror", "last_request"]
    assert [row[-3:] for row in rows] == [
        ["90", "", "2026-12-05T09:58:12Z"],
        ["10", "", "2026-12-05T09:57:40Z"],
        ["100", "", ""],
        ["0", "10", ""],
    ]


def test_live_azure_signed_out_is_exit_4_with_the_fix(
    capsys: pytest.CaptureFixture[str], azure: Callable[..., Azure]
) -> None:
    azure(prod_answers, SignedOutCredential())
    run = mlep(capsys, "inventory", "--stack", "dev", "--live", "--subscription", SUBSCRIPTION)
    assert (run.code, run.stdout) == (4, "")
    assert "not signed in to Azure" in run.stderr
    assert "fix: run `az login`" in run.stderr


def test_live_azure_denied_is_exit_4(
    capsys: pytest.CaptureFixture[str], azure: Callable[..., Azure]
) -> None:
    azure(lambda request: (403, {"error": {"code": "AuthorizationFailed", "message": "no"}}))
    run = mlep(capsys, "inventory", "--stack", "dev", "--live", "--subscription", SUBSCRIPTION)
    assert (run.code, run.stdout) == (4, "")
    assert "access denied (HTTP 403 AuthorizationFailed: no)" in run.stderr


def test_live_azure_without_a_subscription_is_exit_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AZURE_SUBSCRIPTION_ID", raising=False)
    run = mlep(capsys, "inventory", "--stack", "dev", "--live")
    assert run.code == 2
    assert "fix: pass --subscription ID" in run.stderr


def test_live_kubernetes_without_prometheus_is_exit_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLEP_PROMETHEUS_URL", raising=False)
    run = mlep(capsys, "inventory", "--stack", "staging", "--live")
    assert run.code == 2
    assert "fix: pass --prometheus-url URL" in run.stderr


def test_an_unreachable_prometheus_is_exit_4(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://user:{SECRET}@127.0.0.1:{free_loopback_port()}"
    for command in (("inventory", "--live"), ("idle",)):
        run = mlep(capsys, *command, "--stack", "staging", "--prometheus-url", url)
        assert (run.code, run.stdout) == (4, "")
        assert "Prometheus at http://127.0.0.1:" in run.stderr
        assert "did not answer" in run.stderr
        assert "fix: check --prometheus-url" in run.stderr


# --- live: Kubernetes, a real Prometheus scraping a real BentoML service ----------------------

NAMESPACE, ENDPOINT, SERVED = "ml-serving", "tabular-classifier", "lr-v1"
DEADLINE_SECONDS = 30
BODY = {
    "records": [
        dict(zip(FEATURES, (float(v) for v in load_breast_cancer().data[row]), strict=True))
        for row in range(3)
    ]
}


def send(bento: httpx.Client) -> None:
    for _ in range(5):
        assert bento.post("/predict", json=BODY).status_code == 200


@dataclass(frozen=True)
class Stage:
    bento: httpx.Client
    prometheus_url: str
    sent_at: datetime


@pytest.fixture(scope="module")
def stage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stage]:
    """One `bentoml serve` of the classifier, scraped every second as deployment lr-v1 of the
    staging endpoint (the labels the ServiceMonitor puts on its series; the operator's exact
    scrape is proven by tests/test_guardrails_prometheus.py), and one Prometheus."""
    port = free_loopback_port()
    labels = {"namespace": NAMESPACE, "mlep_endpoint": ENDPOINT, "mlep_deployment": SERVED}
    config = {
        "scrape_configs": [
            {
                "job_name": "bento",
                "scrape_interval": "1s",
                "static_configs": [{"targets": [f"127.0.0.1:{port}"], "labels": labels}],
            }
        ]
    }
    directory = tmp_path_factory.mktemp("prometheus")
    with (
        prometheus_server(json.dumps(config), directory) as prometheus,
        bento_servers(tmp_path_factory.mktemp("bentoml-home"), [port]) as (bento,),
    ):
        sent_at = datetime.now(UTC)
        send(bento)
        yield Stage(bento, str(prometheus.base_url).rstrip("/"), sent_at)


def test_live_kubernetes_reads_the_split_and_the_last_request(
    capsys: pytest.CaptureFixture[str], stage: Stage
) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        send(stage.bento)  # a counter's rate needs requests after its first sample
        run = mlep(
            capsys, "inventory", "--stack", "staging", "--live", "--format", "json",
            "--prometheus-url", stage.prometheus_url,
        )  # fmt: skip
        assert run.code == 0, run.stderr
        live = json.loads(run.stdout)["endpoints"][0]["live"]
        if live["traffic"] and SERVED in live["last_request"]:
            break
        assert time.monotonic() < deadline, f"Prometheus had no data after {DEADLINE_SECONDS} s"
        time.sleep(0.5)
    assert live["traffic"] == {SERVED: 100}
    assert set(live["last_request"]) == {SERVED}
    last = datetime.strptime(live["last_request"][SERVED], "%Y-%m-%dT%H:%M:%SZ")
    seconds = (last.replace(tzinfo=UTC) - stage.sent_at).total_seconds()
    assert -1 <= seconds <= DEADLINE_SECONDS + 5  # a health probe does not set it
    assert live["source"] == f"Prometheus at {stage.prometheus_url}, traffic over the last 1h"


def test_idle_with_prometheus_flags_the_endpoint_and_the_deployments_without_requests(
    capsys: pytest.CaptureFixture[str], stage: Stage, tmp_path: Path
) -> None:
    staging = stack_text("staging")
    renamed = staging.replace(f"name: {ENDPOINT}", "name: tabular-legacy")
    project = project_with(tmp_path, {"served": staging, "unused": renamed})
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        send(stage.bento)  # a counter's rate needs requests after its first sample
        run = mlep(
            capsys, "idle", "--days", "1", "--format", "json",
            "--prometheus-url", stage.prometheus_url, project=project,
        )  # fmt: skip
        assert run.code == 0, run.stderr
        document = json.loads(run.stdout)
        no_requests = [f for f in document["findings"] if f["kind"] == "no_requests"]
        served = {f["deployment"] for f in no_requests if f["stack"] == "served"}
        if (SERVED not in served and len(no_requests) == 3) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    unused = [f for f in no_requests if f["stack"] == "unused"]
    assert unused == [
        {
            "stack": "unused",
            "endpoint": "tabular-legacy",
            "deployment": None,
            "kind": "no_requests",
            "detail": "no requests in 1 days (Prometheus)",
            "since": None,
            "retire": "remove endpoint tabular-legacy from Pulumi.unused.yaml and run pulumi up",
        }
    ]
    # The used endpoint: each deployment that took none of its requests, by name.
    idle = {f["deployment"]: f for f in no_requests if f["stack"] == "served"}
    assert set(idle) == {"lr-v1", "lr-v2", "gbm-v3"} - {SERVED}
    for deployment, finding in idle.items():
        assert finding["endpoint"] == ENDPOINT
        assert finding["detail"].startswith(f"deployment {deployment} served no requests in 1 days")
        assert finding["retire"] == (
            f"remove deployment {deployment} of {ENDPOINT} from Pulumi.served.yaml (with its "
            "traffic key) and run pulumi up"
        )
    assert document["request_volume_checked"] == {"served": True, "unused": True}


def test_a_deployment_without_a_model_lists_the_image_that_serves_it() -> None:
    config = parse_stack_config(
        {
            **STACK_HEAD,
            "endpoints": [
                {
                    "name": "tfserving",
                    "deployments": [
                        {
                            "name": "baked",
                            "environment": {"image": "acr.example.io/with-model:1.2"},
                            "instance_type": "Standard_DS3_v2",
                        },
                        {
                            "name": "package",
                            "environment": "azureml:fraud-package:2",
                            "instance_type": "Standard_DS3_v2",
                        },
                    ],
                    "traffic": {"baked": 100, "package": 0},
                }
            ],
        },
        "Pulumi.x.yaml",
    )
    baked, package = config.endpoints[0].deployments
    assert inventory.deployment_fields(baked)["model_or_image"] == "acr.example.io/with-model:1.2"
    assert inventory.deployment_fields(package)["model_or_image"] == "azureml:fraud-package:2"
