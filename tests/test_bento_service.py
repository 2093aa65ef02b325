"""The tabular classifier as BentoML serves it (services/tabular_classifier).

One module-scoped server: the model is trained into a throwaway BentoML home by the same
command a developer runs, then `bentoml serve` runs as its own process on a free loopback port,
and the tests call it over HTTP the way the Kubernetes probes, Prometheus and clients do.
Training itself is checked in-process, without the model store.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import psutil  # a bentoml dependency; finds the workers, which circus starts in own sessions
import pytest
from sklearn.datasets import load_breast_cancer

from services.tabular_classifier.contract import CLASS_LABELS, FEATURES, MAX_BATCH
from services.tabular_classifier.train import train
from tests.conftest import ROOT

SERVICE = "services.tabular_classifier.service:TabularClassifier"
SERVE = [sys.executable, "-m", "bentoml", "serve"]
# About 15 s on a developer machine; a busy CI runner gets room before the test gives up.
READY_DEADLINE_SECONDS = 120
STOP_DEADLINE_SECONDS = 30
# Dataset rows the model classifies with probability above 0.99: two of each class.
KNOWN_ROWS = (0, 1, 20, 21)
DATASET = load_breast_cancer()


def predict(client: httpx.Client, body: bytes | dict[str, Any]) -> httpx.Response:
    if isinstance(body, bytes):
        return client.post("/predict", content=body, headers={"Content-Type": "application/json"})
    return client.post("/predict", json=body)


def record(row: int) -> dict[str, float]:
    """Dataset row ``row`` as a request record."""
    return dict(zip(FEATURES, (float(v) for v in DATASET.data[row]), strict=True))


def changed(**changes: Any) -> dict[str, Any]:
    """Row 0 with ``changes`` applied."""
    return record(0) | changes


def without(name: str) -> dict[str, Any]:
    """Row 0 without feature ``name``."""
    return {k: v for k, v in record(0).items() if k != name}


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _is_ready(client: httpx.Client) -> bool:
    try:
        return client.get("/readyz", timeout=2).status_code == 200
    except httpx.TransportError:  # not listening yet
        return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server's process group (the circus arbiter stops its workers), then kill
    whatever is left of the tree if it has not exited in time."""
    try:
        workers = psutil.Process(process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        workers = []
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=STOP_DEADLINE_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    for worker in workers:
        with contextlib.suppress(psutil.NoSuchProcess):
            worker.kill()  # psutil checks the pid still names the same process first


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    """A client of `bentoml serve` running the service on a model trained for this module."""
    home = tmp_path_factory.mktemp("bentoml-home")
    env = os.environ | {
        "BENTOML_DO_NOT_TRACK": "True",
        "BENTOML_HOME": str(home),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    trained = subprocess.run(
        [sys.executable, "-m", "services.tabular_classifier.train"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if trained.returncode != 0:
        pytest.fail(f"training failed ({trained.returncode}):\n{trained.stderr}")

    port = _free_loopback_port()
    stderr_path = home / "serve.stderr.log"
    with (home / "serve.stdout.log").open("wb") as stdout, stderr_path.open("wb") as stderr:
        process = subprocess.Popen(
            [*SERVE, SERVICE, "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,  # its own process group, so teardown can signal all of it
        )
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10)
    try:
        deadline = time.monotonic() + READY_DEADLINE_SECONDS
        while not _is_ready(client):
            exit_code = process.poll()
            if exit_code is not None or time.monotonic() > deadline:
                state = (
                    f"exited with {exit_code}"
                    if exit_code is not None
                    else f"was not ready after {READY_DEADLINE_SECONDS} s"
                )
                pytest.fail(
                    f"bentoml serve {SERVICE} {state}; its stderr:\n"
                    + stderr_path.read_text(errors="replace")[-5000:]
                )
            time.sleep(0.2)
        yield client
    finally:
        client.close()
        _stop(process)


# --- training, in-process -------------------------------------------------------------------


def test_training_scores_above_90_percent_on_held_out_rows() -> None:
    assert train().accuracy > 0.9


def test_training_is_deterministic() -> None:
    first, second = train(), train()
    assert first.accuracy == second.accuracy
    np.testing.assert_array_equal(
        first.pipeline[-1].coef_,  # the logistic regression, after the scaler
        second.pipeline[-1].coef_,
    )


# --- health and metrics --------------------------------------------------------------------


def test_livez_answers_200(server: httpx.Client) -> None:
    assert server.get("/livez").status_code == 200


def test_readyz_answers_200(server: httpx.Client) -> None:
    assert server.get("/readyz").status_code == 200


def test_metrics_count_predict_requests(server: httpx.Client) -> None:
    assert predict(server, {"records": [record(0)]}).status_code == 200
    metrics = server.get("/metrics")
    assert metrics.status_code == 200
    text = metrics.text
    total = re.search(
        r'^bentoml_service_request_total\{[^}]*endpoint="/predict"[^}]*'
        r'http_response_code="200"[^}]*\} (\S+)$',
        text,
        re.MULTILINE,
    )
    assert total is not None, text
    assert float(total.group(1)) >= 1
    assert re.search(
        r'^bentoml_service_request_duration_seconds_bucket\{[^}]*endpoint="/predict"',
        text,
        re.MULTILINE,
    ), text


# --- predictions ---------------------------------------------------------------------------


def test_predicts_a_label_and_probability_per_record(server: httpx.Client) -> None:
    rows = range(25)
    response = predict(server, {"records": [record(row) for row in rows]})
    assert response.status_code == 200
    assert len(response.json()) == len(rows)
    for prediction in response.json():
        assert set(prediction) == {"label", "probability"}
        assert prediction["label"] in CLASS_LABELS
        # The probability of the chosen class of two, so never below one half.
        assert 0.5 <= prediction["probability"] <= 1.0


def test_classifies_known_rows(server: httpx.Client) -> None:
    response = predict(server, {"records": [record(row) for row in KNOWN_ROWS]})
    assert [p["label"] for p in response.json()] == [
        CLASS_LABELS[DATASET.target[row]] for row in KNOWN_ROWS
    ]


def test_accepts_integers_for_features(server: httpx.Client) -> None:
    response = predict(server, {"records": [changed(mean_area=1001)]})
    assert response.status_code == 200


# --- rejected requests: BentoML answers pydantic's ValidationError with 400 ------------------
# (_bentoml_impl/server/app.py, api_endpoint_wrapper) and lists each error's type and location.


# 1e999 is valid JSON that overflows to infinity when parsed; json.dumps cannot write it.
INFINITE = json.dumps({"records": [changed(mean_radius="INF")]}).replace('"INF"', "1e999")
# NaN is not JSON, but Python's json module (and so many clients) writes it; pydantic reads it.
NAN_LITERAL = json.dumps({"records": [changed(mean_area=float("nan"))]})


@pytest.mark.parametrize(
    ("body", "error_type", "location"),
    [
        pytest.param(
            {"records": [without("mean_radius")]},
            "missing",
            ["records", 0, "mean_radius"],
            id="missing-feature",
        ),
        pytest.param(
            {"records": [changed(tumour_grade=2.0)]},
            "extra_forbidden",
            ["records", 0, "tumour_grade"],
            id="unknown-feature",
        ),
        pytest.param(
            {"records": [changed(mean_texture="high")]},
            "float_type",
            ["records", 0, "mean_texture"],
            id="string-feature",
        ),
        pytest.param(
            # Strict: a number in quotes is a client bug, not something to guess at.
            {"records": [changed(mean_texture="10.38")]},
            "float_type",
            ["records", 0, "mean_texture"],
            id="quoted-number",
        ),
        pytest.param(
            # JSON has no NaN; the string "NaN" is refused like any other string.
            {"records": [changed(mean_area="NaN")]},
            "float_type",
            ["records", 0, "mean_area"],
            id="nan-string",
        ),
        pytest.param(
            NAN_LITERAL.encode(),
            "finite_number",
            ["records", 0, "mean_area"],
            id="nan-literal",
        ),
        pytest.param(
            INFINITE.encode(),
            "finite_number",
            ["records", 0, "mean_radius"],
            id="infinite-number",
        ),
        pytest.param(
            {"records": [changed(mean_area=-1.0)]},
            "greater_than_equal",
            ["records", 0, "mean_area"],
            id="negative-measurement",
        ),
        pytest.param({"records": []}, "too_short", ["records"], id="empty-batch"),
        pytest.param(
            {"records": [record(0)] * (MAX_BATCH + 1)},
            "too_long",
            ["records"],
            id="oversized-batch",
        ),
        pytest.param({}, "missing", ["records"], id="no-records"),
    ],
)
def test_rejects_invalid_request_naming_the_field(
    server: httpx.Client, body: bytes | dict[str, Any], error_type: str, location: list[Any]
) -> None:
    response = predict(server, body)
    assert response.status_code == 400
    assert [(e["type"], e["loc"]) for e in response.json()["detail"]] == [(error_type, location)]


def test_rejects_malformed_json(server: httpx.Client) -> None:
    response = predict(server, b'{"records": [')
    assert response.status_code == 400
    assert response.json()["detail"][0]["type"] == "json_invalid"
