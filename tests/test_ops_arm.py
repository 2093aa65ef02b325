"""mlep/ops/arm.py through azure-core's real ARM pipeline, against scripted HTTP answers in
ARM's wire shapes (error bodies as ARM sends them: {"error": {"code", "message"}}; a
long-running operation as 202 with Location, then 202, then 200)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mlep.errors import SourceUnavailable, UsageError
from mlep.ops.arm import ML_API_VERSION, Arm, workspace_path
from tests.azure_fakes import Answer, Answering, FakeCredential, SignedOutCredential

WORKSPACE = workspace_path("sub-1", "rg-ml", "mlw-prod")
ENDPOINT = f"{WORKSPACE}/onlineEndpoints/fraud-scoring"


class Scripted(Answering):
    """Answers requests in order with (status, body, headers); keeps the requests."""

    def __init__(self, answers: list[Answer]) -> None:
        self.answers = list(answers)
        super().__init__(lambda _request: self.answers.pop(0))


def arm(transport: Scripted, credential: Any = None) -> Arm:
    return Arm(credential or FakeCredential(), transport=transport, retry_total=0)


def test_a_get_sends_the_api_version_and_a_bearer_token() -> None:
    transport = Scripted([(200, {"name": "fraud-scoring"}, {})])
    assert arm(transport).call("GET", ENDPOINT, what="endpoint") == {"name": "fraud-scoring"}
    (request,) = transport.requests
    assert request.url.startswith(f"https://management.azure.com{ENDPOINT}?")
    assert f"api-version={ML_API_VERSION}" in request.url
    assert request.headers["Authorization"].startswith("Bearer ")


def test_not_found_is_usage_with_the_service_message() -> None:
    body = {"error": {"code": "ResourceNotFound", "message": "no such endpoint"}}
    transport = Scripted([(404, body, {})])
    with pytest.raises(
        UsageError, match=r"online endpoint x not found in Azure .*ResourceNotFound"
    ):
        arm(transport).call("GET", ENDPOINT, what="online endpoint x")


@pytest.mark.parametrize(
    ("status", "expected"), [(401, "not signed in"), (403, "access denied"), (500, "HTTP 500")]
)
def test_other_failures_are_unavailable(status: int, expected: str) -> None:
    body = {"error": {"code": "Code", "message": "message"}}
    with pytest.raises(SourceUnavailable, match=expected):
        arm(Scripted([(status, body, {})])).call("GET", ENDPOINT, what="endpoint")


def test_no_credentials_is_unavailable_with_the_fix() -> None:
    with pytest.raises(SourceUnavailable, match="az login"):
        arm(Scripted([]), SignedOutCredential()).call("GET", ENDPOINT, what="endpoint")


def test_a_long_running_operation_is_followed_to_its_end() -> None:
    status_url = "https://management.azure.com/operations/op-1?api-version=x"
    transport = Scripted(
        [
            (202, None, {"Location": status_url, "Retry-After": "0"}),
            (202, None, {"Location": status_url, "Retry-After": "0"}),
            (200, None, {}),
        ]
    )
    arm(transport).long_running(
        "POST",
        f"{ENDPOINT}/regenerateKeys",
        what="keys",
        body={"keyType": "Secondary"},
        polling_interval=0,
    )
    assert [r.method for r in transport.requests] == ["POST", "GET", "GET"]
    assert json.loads(transport.requests[0].content) == {"keyType": "Secondary"}


def test_a_failed_long_running_operation_raises() -> None:
    status_url = "https://management.azure.com/operations/op-2"
    body = {"error": {"code": "Conflict", "message": "busy"}}
    transport = Scripted([(202, None, {"Location": status_url}), (409, body, {})])
    with pytest.raises(SourceUnavailable, match="Conflict"):
        arm(transport).long_running("POST", ENDPOINT, what="keys", polling_interval=0)
