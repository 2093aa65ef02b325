"""`mlep invoke` on Azure: the management calls through azure-core's real ARM pipeline against
recorded answers (tests/fixtures/ops/status, their sources in its README), the scoring call
through httpx.MockTransport with Azure ML's answers (`azureml-model-deployment`,
`x-ms-request-id`). Every output is checked for the keys and tokens of the recordings.

The Kubernetes path (`--url` against a real `bentoml serve`) is in tests/test_ops_status.py,
which starts the one BentoML + Prometheus pair of these tests.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError
from azure.core.rest import HttpRequest

from mlep import cli
from mlep.ops import invoke
from mlep.ops.arm import ML_API_VERSION, Arm
from tests.azure_fakes import Answer, Answering, FakeCredential
from tests.conftest import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "ops" / "status"
SUBSCRIPTION = "6f1c2b1e-93b8-4d3c-9a52-0c1e7a7d2f10"
WORKSPACE = (
    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-ml-prod/providers"
    "/Microsoft.MachineLearningServices/workspaces/mlw-prod"
)
FRAUD = f"{WORKSPACE}/onlineEndpoints/fraud-scoring"
CHURN = f"{WORKSPACE}/onlineEndpoints/churn-propensity"
KEYS = json.loads((FIXTURES / "list_keys.json").read_text())
TOKEN = json.loads((FIXTURES / "token.json").read_text())["accessToken"]
ENTRA_TOKEN = "entra-token-for-ml-azure-com-never-shown"
SECRETS = (KEYS["primaryKey"], KEYS["secondaryKey"], TOKEN, ENTRA_TOKEN)
REQUEST_ID = "3f9c2d1e-7a4b-4c8d-9e0f-1a2b3c4d5e6f"
PREDICTION = {"predictions": [{"label": "legit", "probability": 0.987}]}


class RoutedArm(Answering):
    """Answers by (method, path) with a fixture; keeps every request."""

    def __init__(self, routes: dict[tuple[str, str], tuple[int, str]]) -> None:
        super().__init__(self._recorded)
        self.routes = routes

    def _recorded(self, request: HttpRequest) -> Answer:
        key = (request.method, urlsplit(request.url).path)
        if key not in self.routes:
            raise AssertionError(f"no recording for {key}")
        status, fixture = self.routes[key]
        return status, (FIXTURES / fixture).read_bytes(), {}


class EntraCredential(FakeCredential):
    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        super().get_token(*scopes, **kwargs)
        return AccessToken(ENTRA_TOKEN, 2_000_000_000)


class SignedOut:
    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        raise ClientAuthenticationError("DefaultAzureCredential failed to retrieve a token")


class Scoring:
    """The scoring endpoint: answers with ``respond(request)``; keeps the requests."""

    def __init__(self, respond: Callable[[httpx.Request], httpx.Response]) -> None:
        self.requests: list[httpx.Request] = []
        self.respond = respond

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.respond(request)


def answered(status: int, body: Any, deployment: str | None = "blue", **headers: str) -> Any:
    def respond(request: httpx.Request) -> httpx.Response:
        sent = {"x-ms-request-id": REQUEST_ID, **headers}
        if deployment:
            sent["azureml-model-deployment"] = deployment
        content = body if isinstance(body, str) else json.dumps(body)
        return httpx.Response(status, text=content, headers=sent)

    return respond


@pytest.fixture
def request_file(tmp_path: Path) -> Path:
    path = tmp_path / "request.json"
    path.write_text(json.dumps({"input_data": {"columns": ["amount"], "data": [[12.5]]}}))
    return path


def run(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    *,
    arm: RoutedArm | None = None,
    scoring: Scoring | None = None,
    credential: Any = None,
) -> tuple[int, str]:
    monkeypatch.setattr(
        invoke, "arm_client", lambda: Arm(FakeCredential(), transport=arm, retry_total=0)
    )
    monkeypatch.setattr(invoke, "azure_credential", lambda: credential or EntraCredential())
    monkeypatch.setattr(
        invoke, "scoring_transport", httpx.MockTransport(scoring) if scoring else None
    )
    code = cli.main(["-C", str(ROOT), "invoke", "--stack", "prod", *argv])
    captured = capsys.readouterr()
    output = captured.out + captured.err
    for secret in SECRETS:
        assert secret not in output
    assert "Traceback (most recent call last)" not in output
    return code, output


def argv(endpoint: str, request_file: Path, *more: str) -> list[str]:
    return [
        "--endpoint",
        endpoint,
        "--request-file",
        str(request_file),
        "--subscription",
        SUBSCRIPTION,
        *more,
    ]


def test_aad_endpoint_is_called_with_an_entra_token_for_azure_ml(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], request_file: Path
) -> None:
    arm = RoutedArm({("GET", FRAUD): (200, "endpoint_fraud_scoring.json")})
    scoring = Scoring(answered(200, PREDICTION))
    credential = EntraCredential()
    code, output = run(
        monkeypatch,
        capsys,
        argv("fraud-scoring", request_file),
        arm=arm,
        scoring=scoring,
        credential=credential,
    )

    assert code == 0
    (get,) = arm.requests
    assert parse_qs(urlsplit(get.url).query)["api-version"] == [ML_API_VERSION]
    assert credential.scopes == ["https://ml.azure.com/.default"]
    (sent,) = scoring.requests
    assert str(sent.url) == "https://fraud-scoring.westeurope.inference.ml.azure.com/score"
    assert sent.headers["authorization"] == f"Bearer {ENTRA_TOKEN}"
    assert "azureml-model-deployment" not in sent.headers
    assert json.loads(sent.content) == json.loads(request_file.read_text())
    assert "-> 200 OK in" in output
    assert f"x-ms-request-id: {REQUEST_ID}" in output
    assert '"label": "legit"' in output


def test_key_endpoint_lists_keys_and_never_prints_them(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], request_file: Path
) -> None:
    arm = RoutedArm(
        {
            ("GET", CHURN): (200, "endpoint_churn_propensity.json"),
            ("POST", f"{CHURN}/listKeys"): (200, "list_keys.json"),
        }
    )
    # A scorer that echoes the header back must not leak it either.
    scoring = Scoring(
        lambda r: httpx.Response(
            200, json={"seen": r.headers["authorization"]}, headers={"x-ms-request-id": "1"}
        )
    )
    code, output = run(
        monkeypatch, capsys, argv("churn-propensity", request_file), arm=arm, scoring=scoring
    )

    assert code == 0
    assert [(r.method, urlsplit(r.url).path) for r in arm.requests] == [
        ("GET", CHURN),
        ("POST", f"{CHURN}/listKeys"),
    ]
    assert scoring.requests[0].headers["authorization"] == f"Bearer {KEYS['primaryKey']}"
    assert "[redacted]" in output


def test_aml_token_endpoint_asks_the_token_operation(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], request_file: Path
) -> None:
    arm = RoutedArm(
        {
            ("GET", CHURN): (200, "endpoint_churn_propensity_amltoken.json"),
            ("POST", f"{CHURN}/token"): (200, "token.json"),
        }
    )
    scoring = Scoring(answered(200, PREDICTION, deployment="gbm-v3"))
    code, _ = run(
        monkeypatch, capsys, argv("churn-propensity", request_file), arm=arm, scoring=scoring
    )

    assert code == 0
    assert arm.requests[1].method == "POST"
    assert not arm.requests[1].content  # the token operation takes no body
    assert scoring.requests[0].headers["authorization"] == f"Bearer {TOKEN}"


def test_deployment_sets_the_routing_header_even_at_zero_percent(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], request_file: Path
) -> None:
    arm = RoutedArm({("GET", FRAUD): (200, "endpoint_fraud_scoring_rolled_back.json")})
    scoring = Scoring(answered(200, PREDICTION, deployment="green"))
    code, output = run(
        monkeypatch,
        capsys,
        argv("fraud-scoring", request_file, "--deployment", "green"),
        arm=arm,
        scoring=scoring,
    )

    assert code == 0
    assert scoring.requests[0].headers["azureml-model-deployment"] == "green"
    assert "azureml-model-deployment: green" in output


@pytest.mark.parametrize(
    ("status", "body", "deployment", "headers", "code", "layer"),
    [
        (401, "", None, {}, 4, "authentication failed"),
        (403, "", None, {}, 4, "network isolation"),
        (404, {"message": "No valid deployments to route to."}, None, {}, 1, "routing"),
        (400, {"error": "records.0.amount: field required"}, "blue", {}, 1, "model input"),
        (
            424,
            {"message": "An unexpected error occurred in scoring script."},
            "blue",
            {"ms-azureml-model-error-statuscode": "500"},
            1,
            "model error (HTTP 424, the scorer answered 500)",
        ),
        (500, "KeyError: 'amount' raised by run() in score.py", "blue", {}, 1, "model error"),
        (502, "", "green", {}, 1, "container failure"),
        (503, "", None, {}, 1, "container failure"),
        (504, "", "blue", {}, 1, "timeout"),
    ],
)
def test_failed_answers_name_the_layer(  # noqa: PLR0917 (pytest passes parameters by name)
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    request_file: Path,
    status: int,
    body: Any,
    deployment: str | None,
    headers: dict[str, str],
    code: int,
    layer: str,
) -> None:
    arm = RoutedArm({("GET", FRAUD): (200, "endpoint_fraud_scoring.json")})
    scoring = Scoring(answered(status, body, deployment, **headers))
    result, output = run(
        monkeypatch, capsys, argv("fraud-scoring", request_file), arm=arm, scoring=scoring
    )

    assert result == code
    assert layer in output
    assert f"-> {status}" in output


@pytest.mark.parametrize(
    ("error", "layer"),
    [
        (httpx.ConnectError("[Errno -2] Name or service not known"), "network: DNS"),
        (httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED]"), "network: TLS"),
        (httpx.ConnectTimeout("timed out"), "network: no connection"),
        (httpx.ReadTimeout("timed out"), "timeout: connected"),
        (httpx.RemoteProtocolError("Server disconnected"), "container: the connection"),
    ],
)
def test_no_answer_names_the_layer_and_exits_4(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    request_file: Path,
    error: Exception,
    layer: str,
) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise error

    arm = RoutedArm({("GET", FRAUD): (200, "endpoint_fraud_scoring.json")})
    code, output = run(
        monkeypatch, capsys, argv("fraud-scoring", request_file), arm=arm, scoring=Scoring(fail)
    )

    assert code == 4
    assert layer in output
    assert "private endpoint" in output or layer.startswith(
        ("timeout", "container", "network: TLS")
    )


def test_endpoint_missing_in_azure_is_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], request_file: Path
) -> None:
    arm = RoutedArm({("GET", FRAUD): (404, "error_endpoint_not_found.json")})
    code, output = run(monkeypatch, capsys, argv("fraud-scoring", request_file), arm=arm)
    assert code == 2
    assert "not found in Azure" in output


def test_no_entra_credentials_is_exit_4(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], request_file: Path
) -> None:
    arm = RoutedArm({("GET", FRAUD): (200, "endpoint_fraud_scoring.json")})
    code, output = run(
        monkeypatch, capsys, argv("fraud-scoring", request_file), arm=arm, credential=SignedOut()
    )
    assert code == 4
    assert "az login" in output


@pytest.mark.parametrize(
    ("more", "expected"),
    [
        (["--endpoint", "nope"], "has no such endpoint"),
        (["--endpoint", "fraud-scoring", "--deployment", "red"], "has no such deployment"),
    ],
)
def test_unknown_names_are_exit_2_before_any_call(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    request_file: Path,
    more: list[str],
    expected: str,
) -> None:
    code, output = run(
        monkeypatch, capsys, ["--request-file", str(request_file), *more], arm=RoutedArm({})
    )
    assert code == 2
    assert expected in output


def test_missing_request_file_is_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, output = run(monkeypatch, capsys, argv("fraud-scoring", tmp_path / "absent.json"))
    assert code == 2
    assert "cannot read it" in output


def test_malformed_json_is_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "request.json"
    path.write_text('{"records": [')
    code, output = run(monkeypatch, capsys, argv("fraud-scoring", path))
    assert code == 2
    assert "not valid JSON" in output
