"""Every alert of the Kubernetes target's PrometheusRule, judged by `promtool test rules`.

The rules are the staging stack's own PrometheusRule as the program declares it. The input
series carry the labels production gives them: BentoML's metric names, labels and duration
buckets (bentoml 1.4, bentoml/_internal/server/http/instruments.py and utils/metrics.py), as
prometheus-operator scrapes them (tests/operator_scrape.py: `endpoint` is the port name, the
request path is `exported_endpoint`, plus job, service, pod, container, namespace and our
mlep_endpoint/mlep_deployment). Probe series are included although the ServiceMonitor drops
them at scrape time, so these cases also prove the queries do not count them on their own.

Each case fires or stays quiet: probes beside real traffic, low and high traffic, a total
outage, one deployment bad and one good, a deployment with no traffic. promtool is Debian's,
beside the Prometheus that scripts/prometheus.sh fetches.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from components.kubernetes import labels as lbl
from mlep.engine.plan import plan_stack
from mlep.stack import StackRef
from tests.conftest import ROOT
from tests.servers import prometheus_binary

STACK = StackRef(ROOT, "staging")
CONFIG = STACK.load()[1]
SPEC = CONFIG.endpoints[0]  # tabular-classifier: p95 at most 250 ms, the other defaults
assert CONFIG.kubernetes is not None
NAMESPACE = CONFIG.kubernetes.namespace
ENDPOINT = SPEC.name
# bentoml/_internal/utils/metrics.py DEFAULT_BUCKET
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 180, "+Inf")
TITLE = "TabularClassifier"
EVAL = "20m"  # 30 one-minute samples; rate windows and `for:` are 5 minutes
MINUTES = 30


def _rules() -> list[dict[str, Any]]:
    run = plan_stack(STACK).run
    (rule,) = [
        r.inputs
        for r in run.resources
        if r.inputs.get("kind") == "PrometheusRule" and r.inputs["metadata"]["name"] == ENDPOINT
    ]
    return rule["spec"]["groups"]  # type: ignore[no-any-return]


GROUPS = _rules()
RULES = {r["alert"]: r for group in GROUPS for r in group["rules"]}


def _target(deployment: str) -> dict[str, str]:
    """The labels the operator's scrape gives a deployment's pod's series."""
    workload = lbl.workload_name(ENDPOINT, deployment)
    return {
        "namespace": NAMESPACE,
        "job": workload,
        "service": workload,
        "pod": f"{workload}-5d8f7c9b6d-q7k2p",
        "container": lbl.CONTAINER_NAME,
        "endpoint": lbl.PORT_NAME,
        "instance": "10.244.1.7:3000",
        "mlep_endpoint": ENDPOINT,
        "mlep_deployment": deployment,
    }


def _selector(name: str, labels: dict[str, str]) -> str:
    inner = ", ".join(f"{k}={json.dumps(v)}" for k, v in sorted(labels.items()))
    return f"{name}{{{inner}}}"


@dataclass
class Traffic:
    """One deployment's requests per minute, by path and status, and how long they take."""

    deployment: str
    per_minute: dict[tuple[str, int], int]
    seconds: float = 0.02  # every request of a path takes this long
    probe_seconds: float = 0.001
    series: list[dict[str, str]] = field(default_factory=list)

    def input_series(self) -> list[dict[str, str]]:
        out = []
        for (path, code), rate in self.per_minute.items():
            labels = {
                **_target(self.deployment),
                "exported_endpoint": path,
                "service_name": "tabular_classifier",
                "service_version": "1",
                "http_response_code": str(code),
            }
            out.append(_counter("bentoml_service_request_total", labels, rate))
            took = self.probe_seconds if path != "/predict" else self.seconds
            for bucket in BUCKETS:
                inside = bucket == "+Inf" or took <= float(bucket)
                out.append(
                    _counter(
                        "bentoml_service_request_duration_seconds_bucket",
                        {**labels, "le": str(bucket)},
                        rate if inside else 0,
                    )
                )
        return out


def _counter(name: str, labels: dict[str, str], per_minute: int) -> dict[str, str]:
    return {"series": _selector(name, labels), "values": f"0+{per_minute}x{MINUTES}"}


def _gauge(name: str, labels: dict[str, str], value: float) -> dict[str, str]:
    return {"series": _selector(name, labels), "values": f"{value}x{MINUTES}"}


PROBES = {("/livez", 200): 120, ("/readyz", 200): 120}


def _requests(ok: int, client: int = 0, server: int = 0) -> dict[tuple[str, int], int]:
    shares = {("/predict", 200): ok, ("/predict", 400): client, ("/predict", 500): server}
    return {key: rate for key, rate in shares.items() if rate}


def _fired(alert: str, deployment: str | None = None, pod: str | None = None) -> dict[str, Any]:
    """The alert promtool must see, with its labels and rendered annotations."""
    rule = RULES[alert]
    labels = {"severity": rule["labels"]["severity"], "mlep_endpoint": ENDPOINT}
    if deployment:
        labels["mlep_deployment"] = deployment
    if pod:
        labels["pod"] = pod
    annotations = dict(rule["annotations"])
    annotations["description"] = (
        annotations["description"]
        .replace("{{ $labels.mlep_deployment }}", deployment or "")
        .replace("{{ $labels.pod }}", pod or "")
    )
    return {"exp_labels": labels, "exp_annotations": annotations}


@dataclass(frozen=True)
class Case:
    """The deployments' traffic, other series, and for each alert what must fire."""

    traffic: tuple[Traffic, ...]
    fires: dict[str, list[dict[str, Any]]]
    extra: tuple[dict[str, str], ...] = ()


def _resources(
    deployment: str, cpu_cores: float, memory_bytes: float
) -> tuple[dict[str, str], ...]:
    """cAdvisor usage and kube-state-metrics limits of one pod (limits 1 core, 1 GiB)."""
    pod = _target(deployment)["pod"]
    container = {"namespace": NAMESPACE, "pod": pod, "container": lbl.CONTAINER_NAME}
    return (
        _counter("container_cpu_usage_seconds_total", container, round(cpu_cores * 60)),
        _gauge("container_memory_working_set_bytes", container, memory_bytes),
        _gauge("kube_pod_container_resource_limits", {**container, "resource": "cpu"}, 1),
        _gauge("kube_pod_container_resource_limits", {**container, "resource": "memory"}, 2**30),
    )


SUCCESS = f"{TITLE}SuccessRateLow"
CLIENT, SERVER = f"{TITLE}ClientErrorRateHigh", f"{TITLE}ServerErrorRateHigh"
LATENCY, CPU, MEMORY = f"{TITLE}LatencyP95High", f"{TITLE}CpuHigh", f"{TITLE}MemoryHigh"

CASES: dict[str, Case] = {
    # 98.5 % success among real requests, buried under fast probe 200s: fires.
    "probes beside failing traffic": Case(
        (Traffic("lr-v2", _requests(197, server=3) | PROBES),),
        {SUCCESS: [_fired(SUCCESS, "lr-v2")], SERVER: [_fired(SERVER, "lr-v2")]},
    ),
    # Healthy real traffic and probes: nothing fires.
    "probes beside healthy traffic": Case((Traffic("lr-v2", _requests(200) | PROBES),), {}),
    # One failure in three requests, 15 requests a window: below min_requests, quiet.
    "low traffic": Case((Traffic("lr-v2", _requests(2, server=1) | PROBES),), {}),
    # The same share at volume fires every share alert it crosses.
    "high traffic": Case(
        (Traffic("lr-v2", _requests(200, client=50, server=50)),),
        {
            SUCCESS: [_fired(SUCCESS, "lr-v2")],
            CLIENT: [_fired(CLIENT, "lr-v2")],
            SERVER: [_fired(SERVER, "lr-v2")],
        },
    ),
    # Only 5xx, no 2xx series at all (the probes still answer): the success rate is 0.
    "total outage": Case(
        (Traffic("lr-v2", _requests(0, server=100) | PROBES),),
        {SUCCESS: [_fired(SUCCESS, "lr-v2")], SERVER: [_fired(SERVER, "lr-v2")]},
    ),
    # 5xx under 0.1 %: quiet; 4xx under 1 %: quiet.
    "errors under the thresholds": Case(
        (Traffic("lr-v2", _requests(19_980, client=10, server=1)),), {}
    ),
    # The canary fails, the stable deployment is healthy: only the canary's alerts fire.
    "one deployment bad, one good": Case(
        (
            Traffic("lr-v1", _requests(2000)),
            Traffic("lr-v2", _requests(90, client=10) | PROBES),
        ),
        {SUCCESS: [_fired(SUCCESS, "lr-v2")], CLIENT: [_fired(CLIENT, "lr-v2")]},
    ),
    # A deployment at 0 % (series exist, nothing moves) beside a healthy one: quiet.
    "a deployment with no traffic": Case(
        (Traffic("lr-v1", _requests(500)), Traffic("gbm-v3", {("/predict", 200): 0})),
        {},
    ),
    # Slow real requests (0.4 s) at low traffic, 4 % of what BentoML counts beside the fast
    # probes: p95 above 250 ms fires (counting the probes, p95 would be a probe's).
    "slow requests beside fast probes": Case(
        (Traffic("lr-v2", _requests(10) | PROBES, seconds=0.4),),
        {LATENCY: [_fired(LATENCY, "lr-v2")]},
    ),
    "fast requests": Case((Traffic("lr-v2", _requests(100) | PROBES, seconds=0.04),), {}),
    # CPU at 90 % and memory at 90 % of their limits fire; 50 % does not.
    "a pod near its limits": Case(
        (Traffic("lr-v2", _requests(200)),),
        {
            CPU: [_fired(CPU, pod=_target("lr-v2")["pod"])],
            MEMORY: [_fired(MEMORY, pod=_target("lr-v2")["pod"])],
        },
        _resources("lr-v2", 0.9, 0.9 * 2**30),
    ),
    "a pod well within its limits": Case(
        (Traffic("lr-v2", _requests(200)),), {}, _resources("lr-v2", 0.5, 0.5 * 2**30)
    ),
}


def test_every_alert_fires_in_some_case_and_stays_quiet_in_another() -> None:
    assert set(RULES) == {SUCCESS, CLIENT, SERVER, LATENCY, CPU, MEMORY}
    for alert in RULES:
        assert any(alert in case.fires for case in CASES.values()), alert


def promtool_path() -> str:
    """Debian's promtool, installed beside the Prometheus scripts/prometheus.sh provides."""
    return str(Path(prometheus_binary()).with_name("promtool"))


@pytest.fixture(scope="module")
def promtool() -> str:
    return promtool_path()


@pytest.mark.parametrize("name", sorted(CASES))
def test_case(name: str, promtool: str, tmp_path: Path) -> None:
    case = CASES[name]
    (tmp_path / "rules.yml").write_text(json.dumps({"groups": GROUPS}))
    series = [s for traffic in case.traffic for s in traffic.input_series()] + list(case.extra)
    tests = {
        "rule_files": ["rules.yml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": series,
                "alert_rule_test": [
                    {"eval_time": EVAL, "alertname": alert, "exp_alerts": case.fires.get(alert, [])}
                    for alert in RULES
                ],
            }
        ],
    }
    (tmp_path / "test.yml").write_text(json.dumps(tests))
    done = subprocess.run(
        [promtool, "test", "rules", "test.yml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
