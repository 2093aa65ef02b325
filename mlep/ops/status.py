"""`mlep status`: each endpoint's live state beside its stack file.

Azure: the online endpoint (provisioning state, scoring URI, auth mode, live traffic and mirror)
and its deployments (state, instance count) from Resource Manager; the key metrics from Azure
Monitor. Kubernetes: the HTTPRoute's weights and mirror and each Deployment's replicas from the
cluster API; the key metrics and the observed split from Prometheus. Each metric is judged
against the endpoint's `alerts` thresholds (ok / breach). Live traffic that differs from the
stack file is drift, shown with the two commands that resolve it.

Partial answers are normal in an incident: whatever could be read is printed, and what could
not is named with its fix. Exit codes: 0 something live was read (whatever it shows), 2 bad
input, 4 nothing live could be read for any endpoint asked about.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from dataclasses import asdict, dataclass, field
from typing import Any

from rich.console import Console
from rich.table import Table

from mlep.errors import SourceUnavailable, UsageError
from mlep.ops import _status_cluster as cluster
from mlep.ops import _status_metrics as metrics
from mlep.ops import _status_stack as stacks
from mlep.ops.arm import NOT_SIGNED_IN, Arm
from models.endpoint import EndpointSpec
from models.stack import AzureStackConfig, KubernetesStackConfig

NAME = "status"
EXIT_OK, EXIT_UNAVAILABLE = 0, 4
WINDOW = re.compile(r"^([1-9][0-9]{0,4})([mhd])$")
UNIT_MINUTES = {"m": 1, "h": 60, "d": 1440}
MAX_WINDOW_MINUTES = 30 * 1440  # Azure Monitor keeps platform metrics 93 days; a month is plenty
STATUS_STYLE = {"ok": "green", "breach": "bold red", "no data": "yellow", "-": ""}


def arm_client() -> Arm:
    """The Resource Manager client (tests replace it with one on recorded answers)."""
    return Arm()


def kube_api_client() -> Any:
    """The cluster API client (tests replace it with one on recorded answers)."""
    return cluster.api_client()


@dataclass
class DeploymentState:
    name: str
    state: str | None = None  # Azure provisioning state, or Kubernetes "ready/desired"
    instances: int | None = None
    ready: int | None = None
    traffic_file: int = 0
    traffic_live: int | None = None
    observed_share: float | None = None
    signals: list[metrics.Signal] = field(default_factory=list)


@dataclass
class EndpointState:
    name: str
    target: str
    state: str | None = None
    scoring_uri: str | None = None
    auth_mode: str | None = None
    traffic_file: dict[str, int] = field(default_factory=dict)
    mirror_file: dict[str, int] = field(default_factory=dict)
    traffic_live: dict[str, int] | None = None
    mirror_live: dict[str, int] | None = None
    deployments: list[DeploymentState] = field(default_factory=list)
    drift: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    read_live: bool = False


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        NAME, help="each endpoint's live state, traffic and key metrics against its alerts"
    )
    parser.add_argument("--stack", required=True, help="stack name: reads Pulumi.NAME.yaml")
    parser.add_argument("--endpoint", help="only this endpoint (default: every one)")
    parser.add_argument(
        "--window", default="1h", help="the metrics window: 30m, 1h, 1d (default 1h)"
    )
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.add_argument(
        "--prometheus-url",
        default=os.environ.get("MLEP_PROMETHEUS_URL"),
        metavar="URL",
        help="kubernetes: the Prometheus to read metrics from (default: $MLEP_PROMETHEUS_URL)",
    )
    parser.add_argument(
        "--subscription",
        metavar="ID",
        help="azure: the workspace's subscription (default: the stack's "
        "azure-native:subscriptionId, else $AZURE_SUBSCRIPTION_ID)",
    )


def run(args: argparse.Namespace, out: Console, err: Console) -> int:
    minutes = window_minutes(args.window)
    stack_file, config = stacks.load(args)
    specs = (
        [stacks.endpoint(config, args.stack, args.endpoint)]
        if args.endpoint
        else list(config.endpoints)
    )
    if isinstance(config, AzureStackConfig):
        arm = arm_client()
        states = [
            _azure(
                arm, stacks.endpoint_path(config, stack_file, args.subscription, s.name), s, minutes
            )
            for s in specs
        ]
    else:
        states = _kubernetes(config, specs, args.prometheus_url, minutes)
    for state in states:
        state.drift = drift(state, args.stack)
    # Nothing live at all: one paragraph, no tables of the stack file alone.
    if not any(state.read_live for state in states):
        missing = [m for s in states for m in s.missing]
        if missing and all(m.endswith(NOT_SIGNED_IN) for m in missing):
            raise SourceUnavailable(f"status: nothing live could be read: {NOT_SIGNED_IN}")
        reasons = "; ".join(dict.fromkeys(missing))
        raise SourceUnavailable(f"status: nothing live could be read: {reasons}")
    if args.format == "json":
        document = {
            "stack": args.stack,
            "target": config.target,
            "window_minutes": minutes,
            "endpoints": [to_json(state) for state in states],
        }
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
    else:
        for state in states:
            print_state(state, minutes, out)
    return EXIT_OK


def window_minutes(text: str) -> int:
    match = WINDOW.match(text)
    minutes = int(match[1]) * UNIT_MINUTES[match[2]] if match else 0
    if not 1 <= minutes <= MAX_WINDOW_MINUTES:
        raise UsageError(
            f"--window {text}: give minutes, hours or days up to 30d, e.g. 30m, 1h, 1d"
        )
    return minutes


# --- reading -------------------------------------------------------------------------------


def _azure(arm: Arm, path: str, spec: EndpointSpec, minutes: int) -> EndpointState:
    state = _from_file(spec, "azure")
    what = f"online endpoint {spec.name}"
    try:
        live = arm.call("GET", path, what=what)
        listed = arm.call("GET", f"{path}/deployments", what=f"the deployments of {what}")
    except SourceUnavailable as error:
        state.missing.append(f"live state: {error}")
        live, listed = {}, {}
    if live:
        state.read_live = True
        properties = live.get("properties", {})
        state.state = properties.get("provisioningState")
        state.scoring_uri = properties.get("scoringUri")
        state.auth_mode = properties.get("authMode")
        state.traffic_live = _weights(properties.get("traffic"))
        state.mirror_live = _weights(properties.get("mirrorTraffic"))
        found = {d.get("name", "").lower(): d for d in listed.get("value", [])}
        for deployment in state.deployments:
            answer = found.get(deployment.name.lower())
            deployment.traffic_live = (state.traffic_live or {}).get(deployment.name, 0)
            if answer is None:
                deployment.state = "not deployed"
                continue
            deployment.state = answer.get("properties", {}).get("provisioningState")
            deployment.instances = answer.get("sku", {}).get("capacity")
    try:
        values = metrics.azure_values(arm, path, spec, minutes)
    except metrics.MetricsMissing as error:
        state.missing.append(f"metrics: {error}")
    else:
        state.read_live = True
        for deployment in state.deployments:
            deployment.signals = metrics.signals(spec, values.get(deployment.name, {}))
    return state


def _kubernetes(
    config: KubernetesStackConfig, specs: list[EndpointSpec], url: str | None, minutes: int
) -> list[EndpointState]:
    namespace = config.kubernetes.namespace
    api: Any = None
    cluster_missing = None
    try:
        api = kube_api_client()
    except cluster.ClusterMissing as error:
        cluster_missing = str(error)
    prometheus = metrics.Prometheus(url) if url else None
    states = []
    for spec in specs:
        state = _from_file(spec, "kubernetes")
        state.scoring_uri = f"https://{config.kubernetes.hostname}/{spec.name}{stacks.API_PATH}"
        state.auth_mode = spec.auth_mode
        if api is None:
            state.missing.append(f"cluster: {cluster_missing}")
        else:
            _read_cluster(api, namespace, spec, state)
        if prometheus is None:
            state.missing.append(
                "metrics: no Prometheus given; fix: pass --prometheus-url URL (or set "
                "MLEP_PROMETHEUS_URL)"
            )
        else:
            _read_prometheus(prometheus, namespace, spec, minutes, state)
        states.append(state)
    return states


def _read_cluster(api: Any, namespace: str, spec: EndpointSpec, state: EndpointState) -> None:
    try:
        route = cluster.read_route(api, namespace, spec.name)
    except cluster.ClusterMissing as error:
        state.missing.append(f"cluster: {error}")
    else:
        state.read_live = True
        state.state = route.state
        state.traffic_live = {k: v for k, v in route.traffic.items() if v}
        state.mirror_live = route.mirror
        for deployment in state.deployments:
            deployment.traffic_live = route.traffic.get(deployment.name, 0)
    for deployment in state.deployments:
        try:
            desired, ready = cluster.read_replicas(api, namespace, spec.name, deployment.name)
        except cluster.ClusterMissing as error:
            state.missing.append(f"cluster: {error}")
            continue
        state.read_live = True
        deployment.instances, deployment.ready = desired, ready
        deployment.state = f"{ready}/{desired} ready"


def _read_prometheus(
    prometheus: metrics.Prometheus,
    namespace: str,
    spec: EndpointSpec,
    minutes: int,
    state: EndpointState,
) -> None:
    try:
        values, split = metrics.prometheus_values(prometheus, namespace, spec, minutes)
    except metrics.MetricsMissing as error:
        state.missing.append(f"metrics: {error}")
        return
    state.read_live = True
    for deployment in state.deployments:
        deployment.signals = metrics.signals(spec, values.get(deployment.name, {}))
        deployment.observed_share = split.get(deployment.name)


def _from_file(spec: EndpointSpec, target: str) -> EndpointState:
    return EndpointState(
        spec.name,
        target,
        traffic_file={k: v for k, v in spec.traffic.items() if v},
        mirror_file=dict(spec.mirror_traffic),
        deployments=[
            DeploymentState(d.name, traffic_file=spec.traffic.get(d.name, 0))
            for d in spec.deployments
        ],
    )


def _weights(value: Any) -> dict[str, int]:
    return {str(k): int(v) for k, v in (value or {}).items() if int(v)}


# --- judging and showing -------------------------------------------------------------------


def drift(state: EndpointState, stack: str) -> list[str]:
    """What differs between the stack file's traffic and the live one, and the fixes."""
    if state.traffic_live is None:
        return []
    found = []
    if state.traffic_live != state.traffic_file:
        found.append(
            f"live traffic {_split(state.traffic_live)} differs from the stack file's "
            f"{_split(state.traffic_file)}"
        )
    if state.mirror_live is not None and state.mirror_live != state.mirror_file:
        found.append(
            f"live mirror {_split(state.mirror_live)} differs from the stack file's "
            f"{_split(state.mirror_file)}"
        )
    if not found:
        return []
    found.append(f"to apply the stack file: pulumi up --stack {stack}")
    if sum(state.traffic_live.values()) == 100:
        adopt = (
            f"mlep traffic --stack {stack} --endpoint {state.name} "
            f"--set {','.join(f'{k}={v}' for k, v in sorted(state.traffic_live.items()))}"
        )
        if state.mirror_live is not None and state.mirror_live != state.mirror_file:
            adopt += f" --mirror {_split(state.mirror_live, 'none')}"
        found.append(f"to adopt the live split: {adopt}")
    return found


def _split(weights: dict[str, int], empty: str = "none") -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(weights.items())) or empty


def to_json(state: EndpointState) -> dict[str, Any]:
    document = asdict(state)
    for deployment, source in zip(document["deployments"], state.deployments, strict=True):
        deployment["signals"] = {
            s.key: {"value": s.value, "threshold": s.threshold, "status": s.status}
            for s in source.signals
        }
    document.pop("read_live")
    return document


def print_state(state: EndpointState, minutes: int, out: Console) -> None:
    out.print(f"[bold]{state.name}[/] ({state.target})")
    for label, value in (
        ("state", state.state),
        ("scoring URI", state.scoring_uri),
        ("auth mode", state.auth_mode),
    ):
        out.print(f"  {label}: {value or 'unknown'}", markup=False)
    live = "unknown" if state.traffic_live is None else _split(state.traffic_live)
    out.print(f"  traffic: file {_split(state.traffic_file)}, live {live}", markup=False)
    live_mirror = "unknown" if state.mirror_live is None else _split(state.mirror_live)
    out.print(f"  mirror: file {_split(state.mirror_file)}, live {live_mirror}", markup=False)
    table = Table(title=f"last {_window(minutes)}", title_justify="left")
    table.add_column("deployment")
    table.add_column("state")
    table.add_column("instances", justify="right")
    table.add_column("traffic", justify="right")
    thresholds = state.deployments[0].signals if state.deployments else []
    for key, (title, _, side) in metrics.SIGNALS.items():
        limit = next((s.threshold for s in thresholds if s.key == key), None)
        bound = f" ({'<=' if side == 'above' else '>='} {limit:g})" if side and limit else ""
        table.add_column(f"{title}{bound}", justify="right")
    for deployment in state.deployments:
        traffic = f"{deployment.traffic_file}%"
        if (
            deployment.traffic_live is not None
            and deployment.traffic_live != deployment.traffic_file
        ):
            traffic += f" (live {deployment.traffic_live}%)"
        if deployment.observed_share is not None:
            traffic += f" seen {deployment.observed_share:.0f}%"
        cells = [_cell(s) for s in deployment.signals] or ["-"] * len(metrics.SIGNALS)
        table.add_row(
            deployment.name,
            deployment.state or "unknown",
            "-" if deployment.instances is None else str(deployment.instances),
            traffic,
            *cells,
        )
    out.print(table)
    for line in state.drift:
        out.print(f"  [bold yellow]drift[/]: {line}")
    for line in state.missing:
        out.print(f"  [yellow]missing[/] {line}")


def _cell(signal: metrics.Signal) -> str:
    if signal.value is None:
        return "[yellow]no data[/]"
    unit = metrics.SIGNALS[signal.key][1]
    text = f"{signal.value:.3g}{(' ' + unit) if unit == 'ms' else unit}"
    status = signal.status
    return text if status == "-" else f"{text} [{STATUS_STYLE[status]}]{status}[/]"


def _window(minutes: int) -> str:
    if minutes % 1440 == 0:
        return f"{minutes // 1440} d"
    return f"{minutes // 60} h" if minutes % 60 == 0 else f"{minutes} min"
