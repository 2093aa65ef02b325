"""`mlep keys rotate` against recorded answers in their wire shapes: Azure ML's regenerateKeys
(202 and a Location to poll) and listKeys through azure-core's ARM pipeline, and Key Vault's
set-secret through azure-keyvault-secrets' SecretClient, whose challenge authentication asks
first without a token and gets 401 with WWW-Authenticate. Every request is checked, a failed
Key Vault write is resumed without regenerating the key again, and no output or error ever
carries a key."""

from __future__ import annotations

import calendar
import json
import shutil
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from azure.core.rest import HttpRequest

from mlep.cli import main
from mlep.ops import _keys_rotation, _keys_vault, keys
from mlep.ops.arm import ML_API_VERSION, Arm, workspace_path
from tests.azure_fakes import FakeCredential, SignedOutCredential
from tests.test_ops_arm import Scripted

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures" / "ops"
SUBSCRIPTION = "6f1c2b1e-93b8-4d3c-9a52-0c1e7a7d2f10"
ENDPOINT = (
    f"{workspace_path(SUBSCRIPTION, 'rg-ml-prod', 'mlw-prod')}/onlineEndpoints/churn-propensity"
)
OPERATION = (
    f"https://management.azure.com/subscriptions/{SUBSCRIPTION}/providers/"
    "Microsoft.MachineLearningServices/locations/westeurope/mfeOperationResults/"
    "oe:6f1c2b1e-regeneratekeys?api-version=2025-12-01"
)
VAULT = "https://kv-ml-prod.vault.azure.net"
CHALLENGE = {
    "WWW-Authenticate": 'Bearer authorization="https://login.microsoftonline.com/'
    '72f988bf-86f1-41af-91ab-2d7cd011db47", resource="https://vault.azure.net"'
}
OLD_PRIMARY = "PRIMARYoldFixtureKey0d3f8a2c71b94e6aa5c2f0e19b7d4c38"
NEW_SECONDARY = "SECONDARYnewFixtureKey9e1b7c4a20d84f6b93a5e7c1d2f08b6"
NEW_PRIMARY = "PRIMARYnewFixtureKey5a7e2d9c14b34f8e86d1c0b7a3e9f250"
KEYS = (OLD_PRIMARY, NEW_SECONDARY, NEW_PRIMARY)

Answer = tuple[int, dict[str, Any] | None, dict[str, str]]


def recorded(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return loaded


def regenerate() -> list[Answer]:
    return [(202, None, {"Location": OPERATION, "Retry-After": "0"}), (200, None, {})]


def list_keys(after: str) -> Answer:
    return (200, recorded(f"azure/listkeys-after-{after}.json"), {})


def vault_challenge() -> Answer:
    return (401, recorded("keyvault/challenge-401.json"), CHALLENGE)


def vault_written(slot: str) -> Answer:
    return (200, recorded(f"keyvault/set-secret-{slot}.json"), {})


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path)
    shutil.copy(ROOT / "Pulumi.prod.yaml", tmp_path)
    shutil.copy(FIXTURES / "Pulumi.ops-kubernetes.yaml", tmp_path)
    return tmp_path


class Session:
    """One `mlep keys rotate` run on scripted ARM and Key Vault transports."""

    def __init__(self, arm: list[Answer], vault: list[Answer], credential: Any = None) -> None:
        self.arm = Scripted(arm)
        self.vault = Scripted(vault)
        self.credential = credential or FakeCredential()

    def clients(self) -> keys.AzureClients:
        return keys.AzureClients(
            Arm(self.credential, transport=self.arm, retry_total=0),
            lambda name: _keys_vault.Vault(
                name, self.credential, transport=self.vault, retry_total=0
            ),
        )


class Runs:
    """Runs the command as a user would, keeping everything it printed or raised."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
        self.monkeypatch = monkeypatch
        self.capsys = capsys
        self.printed: list[str] = []
        monkeypatch.setattr(keys, "stdin_is_terminal", lambda: False)

    def __call__(self, project: Path, session: Session | None, *argv: str) -> int:
        if session is not None:
            self.monkeypatch.setattr(keys, "azure_clients", session.clients)
        try:
            code = main(["-C", str(project), "keys", "rotate", *argv])
        except BaseException as error:  # keep its message for the leak check, then fail
            self.printed.append(str(error))
            raise
        captured = self.capsys.readouterr()
        self.printed += [captured.out, captured.err]
        return code

    def text(self) -> str:
        return "\n".join(self.printed)


@pytest.fixture
def rotate(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Runs:
    return Runs(monkeypatch, capsys)


AZURE = ["--stack", "prod", "--endpoint", "churn-propensity", "--subscription", SUBSCRIPTION]


def assert_arm(request: HttpRequest, method: str, path: str, body: Any = None) -> None:
    url = urlsplit(request.url)
    assert (request.method, url.path) == (method, path)
    assert parse_qs(url.query) == {"api-version": [ML_API_VERSION]}
    assert (json.loads(request.content) if request.content else None) == body


def assert_regenerate(requests: list[HttpRequest], key_type: str) -> None:
    post, poll = requests
    assert_arm(post, "POST", f"{ENDPOINT}/regenerateKeys", {"keyType": key_type})
    assert (poll.method, poll.url) == ("GET", OPERATION)


def assert_vault_write(request: HttpRequest, slot: str, value: str) -> None:
    url = urlsplit(request.url)
    assert request.method == "PUT"
    assert f"{url.scheme}://{url.netloc}" == VAULT
    assert url.path == f"/secrets/mlep-churn-propensity-{slot}-key"
    assert parse_qs(url.query) == {"api-version": ["7.6"]}
    assert request.headers["Authorization"].startswith("Bearer ")
    body = json.loads(request.content)
    expiry = calendar.timegm(_keys_vault.key_expiry(datetime.now(UTC).date()).timetuple())
    assert body == {
        "value": value,
        "contentType": "text/plain; purpose=azureml-online-endpoint-key",
        "attributes": {"exp": expiry},
    }


def assert_challenge(request: HttpRequest) -> None:
    assert request.method == "PUT"
    assert "Authorization" not in request.headers
    assert not request.content  # the challenge request carries no key


def state_file(project: Path) -> Path:
    return project / ".mlep" / "key-rotations" / "prod.churn-propensity.json"


def test_a_full_rotation_regenerates_and_stores_secondary_then_primary(
    project: Path, rotate: Runs
) -> None:
    session = Session(
        [*regenerate(), list_keys("secondary"), *regenerate(), list_keys("primary")],
        [vault_challenge(), vault_written("secondary"), vault_written("primary")],
    )
    assert rotate(project, session, *AZURE, "--yes") == 0
    arm = session.arm.requests
    assert_regenerate(arm[0:2], "Secondary")
    assert_arm(arm[2], "POST", f"{ENDPOINT}/listKeys")
    assert_regenerate(arm[3:5], "Primary")
    assert_arm(arm[5], "POST", f"{ENDPOINT}/listKeys")
    challenge, secondary, primary = session.vault.requests
    assert_challenge(challenge)
    assert_vault_write(secondary, "secondary", NEW_SECONDARY)
    assert_vault_write(primary, "primary", NEW_PRIMARY)
    out = rotate.text()
    for step in ("[1/5]", "[2/5]", "[3/5]", "[4/5]", "[5/5]"):
        assert step in out
    assert "version 4387e9f3d6e14c459867679a90fd0f79" in out
    assert not state_file(project).exists()
    assert not any(key in out for key in KEYS)


def test_without_a_terminal_it_stops_after_storing_the_secondary(
    project: Path, rotate: Runs
) -> None:
    first = Session(
        [*regenerate(), list_keys("secondary")], [vault_challenge(), vault_written("secondary")]
    )
    assert rotate(project, first, *AZURE) == 0
    assert len(first.arm.requests) == 3
    assert len(first.vault.requests) == 2
    assert "stopped before regenerating the primary key" in rotate.text()
    assert f"mlep keys rotate {' '.join(AZURE)} --yes" in rotate.text()
    assert json.loads(state_file(project).read_text())["next_step"] == "regenerate-primary"

    resumed = Session(
        [*regenerate(), list_keys("primary")], [vault_challenge(), vault_written("primary")]
    )
    assert rotate(project, resumed, *AZURE, "--yes") == 0
    assert_regenerate(resumed.arm.requests[0:2], "Primary")
    assert_vault_write(resumed.vault.requests[1], "primary", NEW_PRIMARY)
    assert "resuming the rotation of churn-propensity at step 4" in rotate.text()
    assert not state_file(project).exists()
    assert not any(key in rotate.text() for key in KEYS)


def test_a_failed_vault_write_resumes_there_without_regenerating_again(
    project: Path, rotate: Runs
) -> None:
    forbidden = (403, recorded("keyvault/forbidden-403.json"), {})
    failing = Session([*regenerate(), list_keys("secondary")], [vault_challenge(), forbidden])
    assert rotate(project, failing, *AZURE, "--yes") == 4
    assert "Key Vault kv-ml-prod, secret mlep-churn-propensity-secondary-key: HTTP 403" in (
        rotate.text()
    )
    assert "Key Vault Secrets Officer" in rotate.text()
    assert json.loads(state_file(project).read_text())["next_step"] == "store-secondary"

    resumed = Session(
        [list_keys("secondary"), *regenerate(), list_keys("primary")],
        [vault_challenge(), vault_written("secondary"), vault_written("primary")],
    )
    assert rotate(project, resumed, *AZURE, "--yes") == 0
    arm = resumed.arm.requests
    assert_arm(arm[0], "POST", f"{ENDPOINT}/listKeys")  # no regenerate of the secondary
    assert_regenerate(arm[1:3], "Primary")
    assert_vault_write(resumed.vault.requests[1], "secondary", NEW_SECONDARY)
    assert "resuming the rotation of churn-propensity at step 2" in rotate.text()
    assert not any(key in rotate.text() for key in KEYS)


def test_a_vault_error_that_echoes_the_key_is_scrubbed(project: Path, rotate: Runs) -> None:
    echo = {"error": {"code": "BadParameter", "message": f"Value '{NEW_SECONDARY}' rejected"}}
    session = Session([*regenerate(), list_keys("secondary")], [vault_challenge(), (400, echo, {})])
    assert rotate(project, session, *AZURE, "--yes") == 4
    assert "BadParameter: Value '[secret]' rejected" in rotate.text()
    assert not any(key in rotate.text() for key in KEYS)


def test_wait_minutes_waits_before_the_primary(
    project: Path, rotate: Runs, monkeypatch: pytest.MonkeyPatch
) -> None:
    slept: list[float] = []
    monkeypatch.setattr(_keys_rotation, "sleep", slept.append)
    session = Session(
        [*regenerate(), list_keys("secondary"), *regenerate(), list_keys("primary")],
        [vault_challenge(), vault_written("secondary"), vault_written("primary")],
    )
    assert rotate(project, session, *AZURE, "--wait-minutes", "15") == 0
    assert slept == [900]
    assert "waiting 15 min for clients" in rotate.text()


def test_an_interactive_no_stops_and_keeps_the_state(
    project: Path, rotate: Runs, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(keys, "stdin_is_terminal", lambda: True)
    monkeypatch.setattr("rich.console.Console.input", lambda self, prompt="": "n")
    session = Session(
        [*regenerate(), list_keys("secondary")], [vault_challenge(), vault_written("secondary")]
    )
    assert rotate(project, session, *AZURE) == 0
    assert json.loads(state_file(project).read_text())["next_step"] == "regenerate-primary"


def test_not_signed_in_is_exit_4_and_nothing_is_sent(project: Path, rotate: Runs) -> None:
    session = Session([], [], credential=SignedOutCredential())
    assert rotate(project, session, *AZURE, "--yes") == 4
    assert "not signed in to Azure" in rotate.text()
    assert "az login" in rotate.text()
    assert session.arm.requests == []
    assert session.vault.requests == []


def test_a_token_endpoint_is_exit_2_with_the_fix(project: Path, rotate: Runs) -> None:
    argv = ["--stack", "prod", "--endpoint", "fraud-scoring", "--subscription", SUBSCRIPTION]
    assert rotate(project, None, *argv, "--yes") == 2
    assert "uses auth_mode aad_token: it has no keys to rotate" in rotate.text()
    assert "fix:" in rotate.text()


def test_an_unknown_endpoint_is_exit_2(project: Path, rotate: Runs) -> None:
    assert rotate(project, None, "--stack", "prod", "--endpoint", "churn") == 2
    assert "--endpoint 'churn': no such endpoint in Pulumi.prod.yaml" in rotate.text()


def test_a_missing_subscription_is_exit_2(
    project: Path, rotate: Runs, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AZURE_SUBSCRIPTION_ID", raising=False)
    assert rotate(project, None, "--stack", "prod", "--endpoint", "churn-propensity") == 2
    assert "pass --subscription ID" in rotate.text()


def test_a_corrupt_state_file_is_exit_2_with_the_fix(project: Path, rotate: Runs) -> None:
    state_file(project).parent.mkdir(parents=True)
    state_file(project).write_text('{"next_step": "celebrate"}')
    assert rotate(project, Session([], []), *AZURE, "--yes") == 2
    assert "delete it to start the rotation over" in rotate.text()


KUBERNETES = ["--stack", "ops-kubernetes", "--endpoint", "tabular-classifier"]


def test_kubernetes_stores_a_new_random_api_key_and_says_when_it_syncs(
    project: Path, rotate: Runs
) -> None:
    session = Session([], [vault_challenge(), vault_written("api-key")])
    assert rotate(project, session, *KUBERNETES, "--yes") == 0
    challenge, write = session.vault.requests
    assert_challenge(challenge)
    url = urlsplit(write.url)
    assert (write.method, url.netloc, url.path) == (
        "PUT",
        "kv-ml-dev.vault.azure.net",
        "/secrets/tabular-classifier-api-key",
    )
    assert parse_qs(url.query) == {"api-version": ["7.6"]}
    body = json.loads(write.content)
    assert set(body) == {"value"}
    assert len(body["value"]) >= 43
    out = rotate.text()
    assert body["value"] not in out
    assert "ml-serving/tabular-classifier-api-keys" in out
    assert "--rotation-poll-interval, default 2m" in out
    assert keys.CSI_ROTATION_DOC in out


def test_kubernetes_without_yes_off_a_terminal_is_exit_2(project: Path, rotate: Runs) -> None:
    session = Session([], [])
    assert rotate(project, session, *KUBERNETES) == 2
    assert "pass --yes" in rotate.text()
    assert session.vault.requests == []


def test_kubernetes_refuses_wait_minutes(project: Path, rotate: Runs) -> None:
    assert rotate(project, Session([], []), *KUBERNETES, "--wait-minutes", "5") == 2
    assert "one API key" in rotate.text()


def test_the_names_and_expiry_are_the_programs() -> None:
    from components import naming  # noqa: PLC0415
    from components.azure import keys as program_keys  # noqa: PLC0415
    from components.kubernetes import labels  # noqa: PLC0415

    assert _keys_rotation.key_secret("e", "primary") == naming.key_secret("e", "primary")
    assert keys.kubernetes_api_key_secret("e") == labels.api_key_vault_secret("e")
    assert _keys_vault.KEY_CONTENT_TYPE == program_keys.KEY_CONTENT_TYPE
    for today in (date(2026, 3, 2), date(2026, 9, 30), date(2026, 12, 31)):
        expiry = calendar.timegm(_keys_vault.key_expiry(today).timetuple())
        assert expiry == program_keys.key_expiry(today)
