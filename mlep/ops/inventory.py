"""`mlep inventory`: the governance report of the fleet, one row per deployment of every
endpoint of every stack (owner, application, data sensitivity, target, environment, auth,
network access, model or image, size, instances, autoscale, traffic, mirror).

It reads the stack files through the same models as `mlep plan` and runs no program, so it is
offline and fast; one invalid stack file is exit 2 with the loader's message and no report at
all (a governance report missing a stack would read as complete). `--live` adds what runs:
on Kubernetes the traffic split observed by Prometheus over the last hour and each
deployment's last request (BentoML's `bentoml_service_last_request_timestamp_seconds` gauge,
which health probes do not set); on Azure the endpoint's traffic and mirror as Azure ML holds
them (ARM GET of the online endpoint) and the last request of the traffic log.

The live readers live here and `mlep idle` uses them too. They do not import
mlep.change.guardrails: the rooms are independent (pyproject.toml's import contracts).
"""

from __future__ import annotations

import argparse
import base64
import csv
import io
import json
import math
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from azure.core.credentials import TokenCredential
from azure.core.exceptions import AzureError, ClientAuthenticationError, HttpResponseError
from rich.console import Console
from rich.table import Table

from mlep.errors import SourceUnavailable, UsageError
from mlep.ops import arm
from mlep.ops.arm import SIGN_IN, Arm, workspace_path
from mlep.stack import StackFile, StackRef
from models import azure_queries, prometheus_queries
from models.endpoint import EndpointSpec
from models.stack import AzureStackConfig, KubernetesStackConfig, StackConfig

NAME = "inventory"
FORMATS = ("table", "json", "csv", "markdown")
LIVE_WINDOW = "1h"  # the window of the observed traffic split on Kubernetes
LAST_REQUEST = "bentoml_service_last_request_timestamp_seconds"
PROMETHEUS_FIX = "check --prometheus-url (or $MLEP_PROMETHEUS_URL) and that Prometheus is reachable"
MESSAGE_LIMIT = 600
# Column -> heading. Every format has these columns in this order (JSON nests them).
COLUMNS = {
    "stack": "stack",
    "target": "target",
    "environment": "env",
    "scope": "workspace / namespace",
    "endpoint": "endpoint",
    "owner": "owner",
    "application": "application",
    "data_sensitivity": "data sensitivity",
    "auth_mode": "auth",
    "network": "network access",
    "deployment": "deployment",
    "model_or_image": "model / image",
    "size": "SKU / resources",
    "instances": "instances",
    "autoscale": "autoscale",
    "traffic": "traffic %",
    "mirror": "mirror %",
}
LIVE_COLUMNS = {"live_traffic": "live traffic %", "live_mirror": "live mirror %"}
LIVE_COLUMNS |= {"last_request": "last request (UTC)"}
# A spreadsheet runs a cell that starts with one of these as a formula (OWASP, CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def add_parser(commands: argparse._SubParsersAction[Any]) -> None:
    parser = commands.add_parser(
        NAME, help="the governance report: every endpoint and deployment of the stacks"
    )
    stacks_argument(parser, "a stack to report (repeatable; default: every Pulumi.*.yaml)")
    parser.add_argument("--format", choices=FORMATS, default="table")
    parser.add_argument(
        "--live",
        action="store_true",
        help="add the live traffic and last request (Prometheus on kubernetes, Azure ML and "
        "the traffic log on azure)",
    )
    live_arguments(parser)


def stacks_argument(parser: argparse.ArgumentParser, help_text: str) -> None:
    parser.add_argument("--stack", action="append", dest="stacks", metavar="NAME", help=help_text)


def live_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--prometheus-url",
        default=os.environ.get("MLEP_PROMETHEUS_URL"),
        metavar="URL",
        help="kubernetes: the Prometheus scraping the endpoints (default: $MLEP_PROMETHEUS_URL)",
    )
    parser.add_argument(
        "--subscription",
        metavar="ID",
        help="azure: the workspace's subscription (default: the stack's "
        f"{arm.SUBSCRIPTION_KEY}, else ${arm.SUBSCRIPTION_ENV})",
    )


def run(args: argparse.Namespace, out: Console, err: Console) -> int:
    loaded = load_stacks(args.project_dir.resolve(), args.stacks)
    live = read_live(loaded, args) if args.live else None
    rows = [row for stack in loaded for row in stack_rows(stack, live)]
    columns = {**COLUMNS, **(LIVE_COLUMNS if args.live else {})}
    if args.format == "json":
        sys.stdout.write(json.dumps(to_document(loaded, live), indent=2) + "\n")
    elif args.format == "csv":
        sys.stdout.write(to_csv(rows, list(columns)))
    elif args.format == "markdown":
        sys.stdout.write(to_markdown(rows, columns))
    else:
        print_table(rows, columns, out)
    return 0


# --- the stacks ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Loaded:
    ref: StackRef
    file: StackFile
    config: StackConfig


def load_stacks(project_dir: Path, names: Sequence[str] | None) -> list[Loaded]:
    """Every named stack (default: every Pulumi.*.yaml of the project), validated; the first
    invalid one raises (StackConfigError, exit 2) before anything is printed."""
    if not names:
        names = sorted(
            p.name[len("Pulumi.") : -len(".yaml")] for p in project_dir.glob("Pulumi.*.yaml")
        )
        if not names:
            raise UsageError(
                f"no stack file (Pulumi.<stack>.yaml) in {project_dir}; fix: run mlep in the "
                "project directory, or pass -C PROJECT_DIR"
            )
    loaded = []
    for name in dict.fromkeys(names):  # a stack named twice is reported once
        ref = StackRef(project_dir, name)
        if not ref.path.exists():
            here = sorted(
                p.name[len("Pulumi.") : -len(".yaml")] for p in project_dir.glob("Pulumi.*.yaml")
            )
            raise UsageError(
                f"--stack {name}: no stack file {ref.file_name} in {project_dir}; fix: name one "
                f"of the stacks here ({', '.join(here) or 'none'}), or omit --stack for all"
            )
        stack_file, config = ref.load()
        loaded.append(Loaded(ref, stack_file, config))
    return loaded


def network(config: StackConfig, spec: EndpointSpec) -> str:
    if isinstance(config, AzureStackConfig):
        text = f"public {spec.public_network_access}"
        if config.azure.private_access is not None:
            text += ", private endpoint"
        return text
    k8s = config.kubernetes
    return (
        f"route {k8s.hostname}/{spec.name} via gateway {k8s.gateway.namespace}/{k8s.gateway.name}"
    )


def scope(config: StackConfig) -> str:
    if isinstance(config, AzureStackConfig):
        return f"{config.azure.resource_group}/{config.azure.workspace}"
    return config.kubernetes.namespace


def deployment_fields(deployment: Any) -> dict[str, Any]:
    """Model or image, size, instances and autoscale of one deployment, as report values."""
    if hasattr(deployment, "instance_type"):  # azure: the model, else the image serving it
        environment = deployment.environment
        image = getattr(environment, "image", environment)
        artefact, size = deployment.model or image or "", deployment.instance_type
    else:
        resources = deployment.resources
        artefact = deployment.image
        size = f"cpu {resources.cpu}, memory {resources.memory}, gpu {resources.gpu}"
    scale = deployment.autoscale
    return {
        "model_or_image": artefact,
        "size": size,
        "instances": deployment.replicas,
        "autoscale": f"{scale.min_instances}-{scale.max_instances}" if scale else "",
    }


def stack_rows(stack: Loaded, live: LiveFleet | None) -> Iterable[dict[str, Any]]:
    config = stack.config
    for spec in config.endpoints:
        tags = config.endpoint_tags(spec)
        seen = live.get(stack.ref.name, spec.name) if live else None
        for deployment in spec.deployments:
            row: dict[str, Any] = {
                "stack": stack.ref.name,
                "target": config.target,
                "environment": config.environment,
                "scope": scope(config),
                "endpoint": spec.name,
                "owner": tags.get("owner", ""),
                "application": tags.get("application", ""),
                "data_sensitivity": tags.get("data-sensitivity", ""),
                "auth_mode": spec.auth_mode,
                "network": network(config, spec),
                "deployment": deployment.name,
                **deployment_fields(deployment),
                "traffic": spec.traffic.get(deployment.name, 0),
                "mirror": spec.mirror_traffic.get(deployment.name, ""),
            }
            if live:
                row |= (seen or EndpointLive()).row(deployment.name)
            yield row


def to_document(loaded: list[Loaded], live: LiveFleet | None) -> dict[str, Any]:
    endpoints = []
    for stack in loaded:
        config = stack.config
        for spec in config.endpoints:
            tags = config.endpoint_tags(spec)
            item: dict[str, Any] = {
                "stack": stack.ref.name,
                "target": config.target,
                "environment": config.environment,
                "scope": scope(config),
                "endpoint": spec.name,
                "description": spec.description,
                "owner": tags.get("owner"),
                "application": tags.get("application"),
                "data_sensitivity": tags.get("data-sensitivity"),
                "tags": tags,
                "auth_mode": spec.auth_mode,
                "public_network_access": spec.public_network_access,
                "network": network(config, spec),
                "traffic": dict(spec.traffic),
                "mirror_traffic": dict(spec.mirror_traffic),
                "deployments": [{"name": d.name, **deployment_fields(d)} for d in spec.deployments],
            }
            if live:
                item["live"] = (live.get(stack.ref.name, spec.name) or EndpointLive()).document()
            endpoints.append(item)
    return {"stacks": [stack.ref.name for stack in loaded], "endpoints": endpoints}


# --- formats ---------------------------------------------------------------------------------


def cell(value: Any) -> str:
    return "" if value is None else str(value)


def csv_safe(value: Any) -> str:
    """The cell, with a leading quote when a spreadsheet would run it as a formula."""
    text = cell(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def to_csv(rows: list[dict[str, Any]], columns: list[str]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")  # RFC 4180
    writer.writerow(columns)
    for row in rows:
        writer.writerow([csv_safe(row.get(column)) for column in columns])
    return buffer.getvalue()


def markdown_cell(value: Any) -> str:
    return " ".join(cell(value).replace("\\", "\\\\").replace("|", "\\|").split())


def to_markdown(rows: list[dict[str, Any]], columns: dict[str, str]) -> str:
    lines = [
        "| " + " | ".join(columns.values()) + " |",
        "|" + "---|" * len(columns),
    ]
    lines += ["| " + " | ".join(markdown_cell(row.get(c)) for c in columns) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def print_table(rows: list[dict[str, Any]], columns: dict[str, str], out: Console) -> None:
    table = Table(show_lines=False)
    for heading in columns.values():
        table.add_column(heading, no_wrap=True)
    for row in rows:
        table.add_row(*(cell(row.get(column)) for column in columns))
    # Seventeen columns do not fit a terminal: print at the table's natural width rather than
    # squeeze every cell into a column of three characters (`--format csv` for spreadsheets).
    # (rich caps a print's width at the console's, hence a console of its own.)
    wide = Console(file=io.StringIO(), width=100_000, color_system=None, highlight=False)
    wide.print(table, markup=False)
    rendered = wide.file.getvalue()  # type: ignore[attr-defined]
    out.file.write("".join(line.rstrip() + "\n" for line in rendered.splitlines()))


# --- what runs -------------------------------------------------------------------------------


@dataclass
class EndpointLive:
    """What a live source says about one endpoint; None where it said nothing."""

    traffic: dict[str, float] | None = None
    mirror: dict[str, int] | None = None
    last_request: dict[str, datetime] = field(default_factory=dict)
    source: str = "not read"

    def row(self, deployment: str) -> dict[str, Any]:
        last = self.last_request.get(deployment)
        return {
            "live_traffic": _share(self.traffic.get(deployment, 0)) if self.traffic else "",
            "live_mirror": (self.mirror or {}).get(deployment, ""),
            "last_request": _time(last) if last else "",
        }

    def document(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "traffic": {d: _share(v) for d, v in self.traffic.items()} if self.traffic else None,
            "mirror_traffic": self.mirror,
            "last_request": {d: _time(t) for d, t in sorted(self.last_request.items())},
        }


def _share(value: float) -> float | int:
    rounded = round(float(value), 1)
    return int(rounded) if rounded.is_integer() else rounded


def _time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class LiveFleet:
    by_endpoint: dict[tuple[str, str], EndpointLive] = field(default_factory=dict)

    def get(self, stack: str, endpoint: str) -> EndpointLive | None:
        return self.by_endpoint.get((stack, endpoint))


def read_live(loaded: list[Loaded], args: argparse.Namespace) -> LiveFleet:
    fleet = LiveFleet()
    for stack in loaded:
        config = stack.config
        if isinstance(config, KubernetesStackConfig):
            prometheus = prometheus_for(args.prometheus_url, config, stack.ref.name)
            for name in (e.name for e in config.endpoints):
                fleet.by_endpoint[stack.ref.name, name] = prometheus.endpoint(name)
        else:
            reader = AzureReader.for_stack(stack, args.subscription)
            for name in (e.name for e in config.endpoints):
                fleet.by_endpoint[stack.ref.name, name] = reader.endpoint(name)
    return fleet


def prometheus_for(url: str | None, config: KubernetesStackConfig, stack: str) -> Prometheus:
    if not url:
        raise UsageError(
            f"stack {stack} is on kubernetes: its live data comes from Prometheus; fix: pass "
            "--prometheus-url URL or set $MLEP_PROMETHEUS_URL"
        )
    return Prometheus(url, config.kubernetes.namespace)


class Prometheus:
    """Instant queries of Prometheus's HTTP API (https://prometheus.io/docs/prometheus/latest/
    querying/api/) about the endpoints of ``namespace``. Credentials in the URL are sent as
    basic auth and never shown."""

    def __init__(self, url: str, namespace: str, timeout: float = 10.0) -> None:
        parts = urllib.parse.urlsplit(url.rstrip("/"))
        self._authorization = None
        if parts.username is not None:
            password = urllib.parse.unquote(parts.password or "")
            pair = f"{urllib.parse.unquote(parts.username)}:{password}"
            self._authorization = "Basic " + base64.b64encode(pair.encode()).decode()
        host = parts.hostname or ""
        host = f"[{host}]" if ":" in host else host
        netloc = f"{host}:{parts.port}" if parts.port else host
        self.url = urllib.parse.urlunsplit(parts._replace(netloc=netloc))
        self.namespace = namespace
        self._timeout = timeout

    def endpoint(self, endpoint: str) -> EndpointLive:
        split = self.by_deployment(
            prometheus_queries.traffic_split(endpoint, self.namespace, LIVE_WINDOW)
        )
        selector = f'namespace="{self.namespace}", mlep_endpoint="{endpoint}"'
        # One series per worker process: the newest of a deployment's workers is its last.
        stamps = self.by_deployment(f"max by (mlep_deployment) ({LAST_REQUEST}{{{selector}}})")
        return EndpointLive(
            traffic=split or None,
            last_request={d: datetime.fromtimestamp(v, UTC) for d, v in stamps.items() if v > 0},
            source=f"Prometheus at {self.url}, traffic over the last {LIVE_WINDOW}",
        )

    def requests(self, endpoint: str, days: int) -> dict[str, float]:
        """Requests per deployment over the last ``days`` days (no entry: no series)."""
        return self.by_deployment(
            prometheus_queries.request_count(endpoint, self.namespace, f"{days}d")
        )

    def by_deployment(self, expression: str) -> dict[str, float]:
        found = {}
        for sample in self._vector(expression):
            deployment = sample.get("metric", {}).get(prometheus_queries.GROUP_BY)
            try:
                value = float(sample["value"][1])
            except (KeyError, IndexError, TypeError, ValueError):
                raise self._unavailable("answered a sample without a value") from None
            if isinstance(deployment, str) and math.isfinite(value):
                found[deployment] = value
        return found

    def _vector(self, expression: str) -> list[dict[str, Any]]:
        if not self.url.startswith(("http://", "https://")):
            raise self._unavailable("is not an http(s) URL")
        query = urllib.parse.urlencode({"query": expression})
        request = urllib.request.Request(  # noqa: S310 (http(s) only, checked above)
            f"{self.url}/api/v1/query?{query}", headers={"Accept": "application/json"}
        )
        if self._authorization:
            request.add_header("Authorization", self._authorization)
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310
                status, text = response.status, response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as error:
            status, text = error.code, error.read().decode("utf-8", "replace")
        except (urllib.error.URLError, OSError) as error:
            raise self._unavailable(f"did not answer ({getattr(error, 'reason', error)})") from None
        try:
            body = json.loads(text)
        except ValueError:
            body = None
        if not isinstance(body, dict) or status != 200 or body.get("status") != "success":
            detail = body.get("error") if isinstance(body, dict) else "no JSON body"
            if status in (401, 403):
                raise self._unavailable(
                    f"refused the query (HTTP {status})", "give the URL's user and password"
                )
            raise self._unavailable(f"answered HTTP {status}: {_short(str(detail))}")
        data = body.get("data")
        if not isinstance(data, dict) or data.get("resultType") != "vector":
            raise self._unavailable("answered without a vector result")
        return [s for s in data.get("result", []) if isinstance(s, dict)]

    def _unavailable(self, what: str, fix: str = PROMETHEUS_FIX) -> SourceUnavailable:
        return SourceUnavailable(f"Prometheus at {self.url} {what}; fix: {fix}")


# --- Azure -----------------------------------------------------------------------------------


@dataclass
class AzureAccess:
    """How Azure is called: the credential (default DefaultAzureCredential) and the SDK
    clients' options (tests pass ``transport=``)."""

    credential: TokenCredential | None = None
    client_kwargs: dict[str, Any] = field(default_factory=dict)


def azure_access() -> AzureAccess:
    """The process's way to Azure; tests replace this function."""
    return AzureAccess()


def subscription_of(stack: Loaded, given: str | None) -> str:
    return arm.subscription(given, stack.file.engine_config, stack.ref.file_name)


def traffic_query(endpoint: str, workspace: str) -> str:
    """KQL: per deployment, its requests and the last one's time in the query's timespan.
    Names are validated ``Name`` values, which cannot close a KQL string literal."""
    return (
        f"{azure_queries.TRAFFIC_TABLE}\n"
        f'| where AzureMLWorkspaceName =~ "{workspace}"\n'
        f'| where EndpointName == "{endpoint}"\n'
        "| summarize Requests = count(), LastRequest = max(TimeGenerated) by DeploymentName"
    )


class AzureReader:
    """An Azure stack's endpoints as Azure ML and its traffic log see them."""

    def __init__(self, subscription: str, config: AzureStackConfig, access: AzureAccess) -> None:
        self.subscription = subscription
        self.settings = config.azure
        self.access = access

    @classmethod
    def for_stack(cls, stack: Loaded, given: str | None) -> AzureReader:
        assert isinstance(stack.config, AzureStackConfig)
        return cls(subscription_of(stack, given), stack.config, azure_access())

    def endpoint(self, endpoint: str) -> EndpointLive:
        workspace = workspace_path(
            self.subscription, self.settings.resource_group, self.settings.workspace
        )
        found = Arm(self._credential(), **self.access.client_kwargs).call(
            "GET", f"{workspace}/onlineEndpoints/{endpoint}", what=f"online endpoint {endpoint}"
        )
        properties = found.get("properties") or {}
        counts = self.requests(endpoint, None) if self.settings.log_analytics_workspace_id else {}
        source = f"Azure ML workspace {self.settings.workspace}"
        if self.settings.log_analytics_workspace_id:
            source += " and its traffic log"
        return EndpointLive(
            traffic={str(k): float(v) for k, v in (properties.get("traffic") or {}).items()},
            mirror={str(k): int(v) for k, v in (properties.get("mirrorTraffic") or {}).items()},
            last_request={d: last for d, (_, last) in counts.items() if last is not None},
            source=source,
        )

    def requests(
        self, endpoint: str, timespan: timedelta | None
    ) -> dict[str, tuple[int, datetime | None]]:
        """Deployment -> (requests, last request) in the traffic log over ``timespan`` (None:
        all it keeps). Requests answered before routing are under the deployment ``""``."""
        from azure.monitor.query import LogsQueryClient, LogsQueryPartialResult  # noqa: PLC0415

        law = self.settings.log_analytics_workspace_id
        assert law is not None
        query = traffic_query(endpoint, self.settings.workspace)
        try:
            with LogsQueryClient(self._credential(), **self.access.client_kwargs) as client:
                result = client.query_resource(law, query, timespan=timespan)
        except AzureError as error:
            raise _unavailable(error, law) from None
        if isinstance(result, LogsQueryPartialResult):
            raise SourceUnavailable(
                f"Log Analytics answered part of the traffic log query on {law}; fix: run the "
                "command again"
            )
        counts = {}
        for table in result.tables:
            for row in table.rows:
                last = row["LastRequest"]
                counts[str(row["DeploymentName"] or "")] = (
                    int(row["Requests"]),
                    last if isinstance(last, datetime) else None,
                )
        return counts

    def _credential(self) -> TokenCredential:
        if self.access.credential is None:
            from azure.identity import DefaultAzureCredential  # noqa: PLC0415

            self.access.credential = DefaultAzureCredential()
        return self.access.credential


def _unavailable(error: AzureError, law: str) -> SourceUnavailable:
    status = error.status_code if isinstance(error, HttpResponseError) else None
    name = law.rstrip("/").rsplit("/", 1)[-1]
    if status == 401 or (status is None and isinstance(error, ClientAuthenticationError)):
        fix = SIGN_IN
        what = "not signed in to Azure"
    elif status in (403, 404):
        fix = f"the identity needs Log Analytics Reader on workspace {name}, which must exist"
        what = f"HTTP {status}"
    else:
        fix = "check the network path to api.loganalytics.io (proxy: HTTPS_PROXY), then run again"
        what = f"no answer (HTTP {status})" if status else "no answer"
    detail = _short(str(error.message))
    return SourceUnavailable(
        f"cannot read the traffic log in Log Analytics workspace {name}: {what} ({detail}); "
        f"fix: {fix}"
    )


def _short(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= MESSAGE_LIMIT else f"{line[: MESSAGE_LIMIT - 3]}..."
