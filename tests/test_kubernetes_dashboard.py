"""The Grafana dashboard of each Kubernetes endpoint: where the sidecar finds it, what it shows,
and what its queries compute, checked by promtool over series in the shapes production scrapes
(tests/test_alert_rules_promtool.py), not by reading our own strings back.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from components.kubernetes import dashboard
from components.kubernetes import labels as lbl
from tests.test_alert_rules_promtool import (
    ENDPOINT,
    NAMESPACE,
    SPEC,
    Traffic,
    _gauge,
    _requests,
    _resources,
    _target,
    promtool_path,
)
from tests.test_kubernetes_target import STACKS as KUBERNETES_STACKS
from tests.test_kubernetes_target import stack_config, stack_run

REQUIRED = (
    "Requests per second",
    "Latency p50 and p95",
    "Success rate (2xx)",
    "Client errors (4xx)",
    "Server errors (5xx)",
    "CPU, % of limit",
    "Memory, % of limit",
    "Instances (available replicas)",
    "Live traffic split (share of requests received)",
)


def boards(stack: str) -> dict[str, dict[str, Any]]:
    """Endpoint name -> (ConfigMap manifest, its dashboard) of a stack."""
    found = {}
    for resource in stack_run(stack).resources:
        if resource.inputs.get("kind") == "ConfigMap":
            (text,) = resource.inputs["data"].values()
            endpoint = resource.inputs["metadata"]["labels"][lbl.ENDPOINT_LABEL]
            found[endpoint] = {"map": resource.inputs, "board": json.loads(text)}
    return found


@pytest.mark.parametrize("stack", KUBERNETES_STACKS)
def test_every_endpoint_has_a_dashboard_the_sidecar_finds(stack: str) -> None:
    config = stack_config(stack)
    found = boards(stack)
    assert set(found) == {e.name for e in config.endpoints}
    assert config.kubernetes is not None
    for name, entry in found.items():
        metadata = entry["map"]["metadata"]
        assert metadata["namespace"] == config.kubernetes.namespace
        assert metadata["labels"]["grafana_dashboard"] == "1"
        assert entry["board"]["uid"] == f"mlep-{name}"
        assert list(entry["map"]["data"]) == [f"mlep-{name}.json"]


@pytest.mark.parametrize("stack", KUBERNETES_STACKS)
def test_each_dashboard_shows_what_the_seeds_list(stack: str) -> None:
    for spec in stack_config(stack).endpoints:
        board = boards(stack)[spec.name]["board"]
        titles = [p["title"] for p in board["panels"]]
        assert titles == list(REQUIRED)
        for panel in board["panels"]:
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
            assert panel["targets"], panel["title"]


def test_thresholds_are_the_alerts() -> None:
    board = boards("staging")[ENDPOINT]["board"]
    lines = {
        p["title"]: p["fieldConfig"]["defaults"]["thresholds"]["steps"][1]["value"]
        for p in board["panels"]
        if "thresholds" in p["fieldConfig"]["defaults"]
    }
    assert lines == {
        "Latency p50 and p95": SPEC.alerts.latency_p95_ms,
        "Success rate (2xx)": SPEC.alerts.success_rate_min_percent,
        "Client errors (4xx)": SPEC.alerts.client_error_rate_max_percent,
        "Server errors (5xx)": SPEC.alerts.server_error_rate_max_percent,
        "CPU, % of limit": SPEC.alerts.cpu_max_percent,
        "Memory, % of limit": SPEC.alerts.memory_max_percent,
    }


# --- what the queries compute -----------------------------------------------------------------


def _expressions() -> dict[str, list[str]]:
    """Each panel's expressions, with the rate window Grafana would fill in."""
    return {
        title: [e.replace(dashboard.RATE, "5m") for e in expressions]
        for title, _, _, expressions in dashboard.panels(SPEC, NAMESPACE)
    }


def _series() -> list[dict[str, str]]:
    """lr-v1 at 9 requests a second, lr-v2 at 1 (one in ten a 500), both behind probes; lr-v2's
    pod at half its CPU and memory limits; 3 and 1 replicas available."""
    pod = {"namespace": NAMESPACE}
    return [
        *Traffic("lr-v1", _requests(540) | {("/livez", 200): 120}).input_series(),
        *Traffic("lr-v2", _requests(54, server=6) | {("/livez", 200): 120}).input_series(),
        *_resources("lr-v2", 0.5, 0.5 * 2**30),
        _gauge(
            "kube_deployment_status_replicas_available",
            {**pod, "deployment": lbl.workload_name(ENDPOINT, "lr-v1")},
            3,
        ),
        _gauge(
            "kube_deployment_status_replicas_available",
            {**pod, "deployment": lbl.workload_name(ENDPOINT, "lr-v2")},
            1,
        ),
    ]


def _per(label: str, values: dict[str, float]) -> list[dict[str, Any]]:
    return [{"labels": f"{{{label}={json.dumps(k)}}}", "value": v} for k, v in values.items()]


# Panel -> the samples each of its expressions must return at 20 minutes.
EXPECTED: dict[str, list[list[dict[str, Any]]]] = {
    "Requests per second": [_per("mlep_deployment", {"lr-v1": 9, "lr-v2": 1})],
    # Every request of the path takes 20 ms: within the (10 ms, 25 ms] bucket, interpolated.
    "Latency p50 and p95": [
        _per("mlep_deployment", {"lr-v1": 17.5, "lr-v2": 17.5}),
        _per("mlep_deployment", {"lr-v1": 24.25, "lr-v2": 24.25}),
    ],
    "Success rate (2xx)": [_per("mlep_deployment", {"lr-v1": 100, "lr-v2": 90})],
    "Client errors (4xx)": [_per("mlep_deployment", {"lr-v1": 0, "lr-v2": 0})],
    "Server errors (5xx)": [_per("mlep_deployment", {"lr-v1": 0, "lr-v2": 10})],
    "CPU, % of limit": [_per("pod", {_target("lr-v2")["pod"]: 50})],
    "Memory, % of limit": [_per("pod", {_target("lr-v2")["pod"]: 50})],
    "Instances (available replicas)": [
        _per(
            "deployment",
            {lbl.workload_name(ENDPOINT, "lr-v1"): 3, lbl.workload_name(ENDPOINT, "lr-v2"): 1},
        )
    ],
    "Live traffic split (share of requests received)": [
        _per("mlep_deployment", {"lr-v1": 90, "lr-v2": 10})
    ],
}


def test_every_panel_query_computes_what_its_title_says(tmp_path: Path) -> None:

    expressions = _expressions()
    assert set(expressions) == set(EXPECTED)
    checks = [
        {"expr": expr, "eval_time": "20m", "exp_samples": samples}
        for title, exprs in expressions.items()
        for expr, samples in zip(exprs, EXPECTED[title], strict=True)
    ]
    (tmp_path / "rules.yml").write_text(json.dumps({"groups": []}))
    test = {
        "rule_files": ["rules.yml"],
        "evaluation_interval": "1m",
        "tests": [{"interval": "1m", "input_series": _series(), "promql_expr_test": checks}],
    }
    (tmp_path / "test.yml").write_text(json.dumps(test))
    done = subprocess.run(
        [promtool_path(), "test", "rules", "test.yml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
