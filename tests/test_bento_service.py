"""The tabular classifier as BentoML serves it (services/tabular_classifier).

One module-scoped server: the model is trained into a throwaway BentoML home by the same
command a developer runs, then `bentoml serve` runs as its own process on a free loopback port,
and the tests call it over HTTP the way the Kubernetes probes, Prometheus and clients do.
Training itself is checked in-process, without the model store.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer

from services.tabular_classifier.contract import CLASS_LABELS, FEATURES, MAX_BATCH
from services.tabular_classifier.train import train
from tests.servers import bento_servers

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


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    """A client of `bentoml serve` running the service on a model trained for this module."""
    with bento_servers(tmp_path_factory.mktemp("bentoml-home")) as (client,):
        yield client


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
