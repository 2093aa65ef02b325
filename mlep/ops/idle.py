"""`mlep idle`: the cleanup review, a list of what looks unused and how to retire it. It never
deletes anything: each finding names the command or stack edit that retires it, for a person
to run after the review (the case studies give owners a week to object).

What counts, over the last ``--days`` days:
- a deployment that carried 0 % live traffic for the whole window: at every commit of the stack
  file in the window, at the state before it (the deployment existed when the window began) and
  in the working tree; an endpoint whose deployments all did is one finding for the endpoint;
- a mirror left on (mirror_traffic in the working tree), with how long it has been on;
- with a live source, an endpoint that served no request in the window (Prometheus on
  Kubernetes, the traffic log on Azure). Without one, the report says request volume was not
  checked.
History is the stack file's git history by commit (committer) date, as `mlep rollback` reads it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from rich.console import Console

from mlep.errors import UsageError
from mlep.ops.inventory import (
    AzureReader,
    Loaded,
    live_arguments,
    load_stacks,
    markdown_cell,
    prometheus_for,
)
from mlep.stack import StackRef, git
from mlep.stack.history import MAX_REVISIONS
from models.stack import KubernetesStackConfig

NAME = "idle"
DEFAULT_DAYS = 30
MAX_DAYS = 3650


def add_parser(commands: argparse._SubParsersAction[Any]) -> None:
    parser = commands.add_parser(
        NAME,
        help="the cleanup review: deployments at 0 %% for the window, mirrors left on, "
        "endpoints without requests (deletes nothing)",
    )
    parser.add_argument(
        "--stack",
        action="append",
        dest="stacks",
        metavar="NAME",
        help="a stack to review (repeatable; default: every Pulumi.*.yaml)",
    )
    parser.add_argument("--days", type=int, default=DEFAULT_DAYS, help="the window (default 30)")
    parser.add_argument("--format", choices=("markdown", "json"), default="markdown")
    live_arguments(parser)


@dataclass(frozen=True)
class Finding:
    stack: str
    endpoint: str
    deployment: str | None
    kind: str  # idle_deployment | idle_endpoint | mirror_on | no_requests
    detail: str
    since: str | None
    retire: str


@dataclass(frozen=True)
class State:
    """The stack file at one commit (or the working tree): endpoint -> (deployments,
    traffic, mirror)."""

    time: datetime
    endpoints: dict[str, tuple[list[str], dict[str, int], dict[str, int]]]


def run(args: argparse.Namespace, out: Console, err: Console) -> int:
    if not 1 <= args.days <= MAX_DAYS:
        raise UsageError(
            f"--days {args.days}: the window is a whole number of days from 1 to {MAX_DAYS}; "
            f"fix: e.g. --days {DEFAULT_DAYS}"
        )
    loaded = load_stacks(args.project_dir.resolve(), args.stacks)
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(days=args.days)
    findings: list[Finding] = []
    notes: list[str] = []
    checked: dict[str, bool] = {}
    for stack in loaded:
        states, complete = read_states(stack, now)
        if len(states) == 1:
            notes.append(
                f"{stack.ref.file_name} has no committed history: idle deployments were not "
                "judged (commit the stack file), mirrors only from the working tree"
            )
        elif not complete and states[-1].time >= start:
            notes.append(
                f"{stack.ref.file_name}: only its last {MAX_REVISIONS} commits were read, all "
                "in the window; deployments were not judged idle"
            )
        findings += history_findings(stack, states, start, now)
        found, note = request_findings(stack, args, args.days)
        findings += found
        checked[stack.ref.name] = note is None
        if note:
            notes.append(note)
    if args.format == "json":
        document = {
            "window_days": args.days,
            "from": _date(start),
            "to": _date(now),
            "findings": [asdict(f) for f in findings],
            "request_volume_checked": checked,
            "notes": notes,
        }
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
    else:
        sys.stdout.write(to_markdown(findings, notes, args.days, start, now))
    return 0


# --- history ---------------------------------------------------------------------------------


def read_states(stack: Loaded, now: datetime) -> tuple[list[State], bool]:
    """The working tree's state, then each commit's, newest first; and whether the history
    was read to its first commit."""
    config = stack.config
    states = [
        State(
            now,
            {
                e.name: ([d.name for d in e.deployments], dict(e.traffic), dict(e.mirror_traffic))
                for e in config.endpoints
            },
        )
    ]
    commits = list(_commits(stack.ref))
    for commit, time in commits:
        endpoints = _endpoints_at(stack.ref, commit)
        if endpoints is not None:
            states.append(State(time, endpoints))
    return states, len(commits) < MAX_REVISIONS


def _commits(ref: StackRef) -> Iterator[tuple[str, datetime]]:
    if ref.repository_path() is None or not git.is_commit(ref.project_dir, "HEAD"):
        return
    log = git.text(
        ref.project_dir,
        "log",
        f"--max-count={MAX_REVISIONS}",
        "--format=%H%x09%ct",
        git.resolve(ref.project_dir, "HEAD"),
        "--",
        ref.file_name,
    )
    for line in (log or "").splitlines():
        commit, _, stamp = line.partition("\t")
        yield commit, datetime.fromtimestamp(int(stamp), UTC)


def _endpoints_at(
    ref: StackRef, commit: str
) -> dict[str, tuple[list[str], dict[str, int], dict[str, int]]] | None:
    """The endpoints at ``commit``, read leniently (an old revision may fail today's rules);
    None when the file cannot be read there."""
    path = ref.repository_path()
    try:
        namespace = ref.parse(git.show(ref.project_dir, commit, str(path)).decode()).namespace
    except (git.GitFailed, UnicodeDecodeError, UsageError):
        return None
    found = {}
    for item in namespace.get("endpoints") or []:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            continue
        names = [d["name"] for d in item.get("deployments") or [] if isinstance(d, dict)]
        found[item["name"]] = (
            [str(n) for n in names],
            _shares(item.get("traffic")),
            _shares(item.get("mirror_traffic")),
        )
    return found


def _shares(value: Any) -> dict[str, int]:
    if not isinstance(value, dict):
        return {}
    return {str(k): v for k, v in value.items() if isinstance(v, int) and not isinstance(v, bool)}


def history_findings(
    stack: Loaded, states: list[State], start: datetime, now: datetime
) -> list[Finding]:
    name = stack.ref.name
    window = [s for s in states if s.time >= start]
    before = next((s for s in states if s.time < start), None)
    findings = []
    for spec in stack.config.endpoints:
        mirrored = set(spec.mirror_traffic)
        idle = []
        if before is not None:
            for deployment in spec.deployments:
                if deployment.name not in mirrored and _idle(
                    spec.name, deployment.name, [*window, before]
                ):
                    idle.append(deployment.name)
        if idle and len(idle) == len(spec.deployments):
            findings.append(
                Finding(
                    name,
                    spec.name,
                    None,
                    "idle_endpoint",
                    "no deployment carried live traffic in the window",
                    _since(states, lambda s, e=spec.name: _zero(s, e, None), now),
                    f"remove endpoint {spec.name} from {stack.ref.file_name} and run pulumi up",
                )
            )
            continue
        completed = 100 in spec.traffic.values()
        for idle_name in idle:
            retire = (
                f"mlep rollout --stack {name} --endpoint {spec.name} --finish"
                if completed
                else f"remove deployment {idle_name} (its lines and its traffic key) from "
                f"endpoint {spec.name} in {stack.ref.file_name} and run pulumi up"
            )
            findings.append(
                Finding(
                    name,
                    spec.name,
                    idle_name,
                    "idle_deployment",
                    "0 % live traffic for the whole window",
                    _since(states, lambda s, e=spec.name, d=idle_name: _zero(s, e, d), now),
                    retire,
                )
            )
        for shadow, percent in spec.mirror_traffic.items():
            findings.append(
                Finding(
                    name,
                    spec.name,
                    shadow,
                    "mirror_on",
                    f"mirror on: {percent} % of requests copied to {shadow}",
                    _since(
                        states,
                        lambda s, e=spec.name, d=shadow: d in s.endpoints.get(e, ([], {}, {}))[2],
                        now,
                    ),
                    f"mlep traffic --stack {name} --endpoint {spec.name} --mirror none",
                )
            )
    return findings


def _zero(state: State, endpoint: str, deployment: str | None) -> bool:
    """Whether ``deployment`` (None: every deployment) of ``endpoint`` existed and carried no
    live traffic in ``state``."""
    if endpoint not in state.endpoints:
        return False
    names, traffic, _ = state.endpoints[endpoint]
    if deployment is None:
        return not any(traffic.values())
    return deployment in names and not traffic.get(deployment, 0)


def _idle(endpoint: str, deployment: str, states: list[State]) -> bool:
    return all(_zero(state, endpoint, deployment) for state in states)


def _since(states: list[State], holds: Any, now: datetime) -> str | None:
    """When the condition began: the oldest state of the unbroken run of states, from now
    back, in which it holds (None without committed history)."""
    oldest = None
    for state in states[1:]:
        if not holds(state):
            break
        oldest = state.time
    if oldest is None:
        return None
    return f"{_date(oldest)} ({(now - oldest).days} days)"


def _date(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC")


# increase() extrapolates: a fraction of a request is no request.
NO_REQUEST = 0.5


# --- request volume --------------------------------------------------------------------------


def request_findings(
    stack: Loaded, args: argparse.Namespace, days: int
) -> tuple[list[Finding], str | None]:
    """No-request findings from the stack's live source, and a note when none was given."""
    config = stack.config
    name = stack.ref.name
    counts: dict[str, dict[str, float]] = {}  # endpoint -> deployment -> requests
    found = []
    if isinstance(config, KubernetesStackConfig):
        if not args.prometheus_url:
            return [], (
                f"request volume of stack {name} (kubernetes) was not checked: pass "
                "--prometheus-url URL (or set $MLEP_PROMETHEUS_URL)"
            )
        prometheus = prometheus_for(args.prometheus_url, config, name)
        for endpoint in (e.name for e in config.endpoints):
            counts[endpoint] = prometheus.requests(endpoint, days)
        source = "Prometheus"
    else:
        if not args.subscription:
            return [], (
                f"request volume of stack {name} (azure) was not checked: pass --subscription "
                "ID to count the requests in the endpoints' traffic log"
            )
        if not config.azure.log_analytics_workspace_id:
            return [], (
                f"request volume of stack {name} (azure) was not checked: the stack sends no "
                "traffic log (set ml-endpoints:azure.log_analytics_workspace_id)"
            )
        reader = AzureReader.for_stack(stack, args.subscription)
        for endpoint in (e.name for e in config.endpoints):
            per_deployment = reader.requests(endpoint, timedelta(days=days))
            counts[endpoint] = {d: requests for d, (requests, _) in per_deployment.items()}
        source = "the traffic log"
    for spec in config.endpoints:
        endpoint, served = spec.name, counts.get(spec.name, {})
        if sum(served.values()) >= NO_REQUEST:
            # The endpoint is used: name each deployment that took none of it.
            found += [
                Finding(
                    name,
                    endpoint,
                    deployment.name,
                    "no_requests",
                    f"deployment {deployment.name} served no requests in {days} days ({source}) "
                    f"at {spec.traffic.get(deployment.name, 0)} % live traffic",
                    None,
                    f"remove deployment {deployment.name} of {endpoint} from "
                    f"{stack.ref.file_name} (with its traffic key) and run pulumi up",
                )
                for deployment in spec.deployments
                if served.get(deployment.name, 0) < NO_REQUEST
            ]
            continue
        found.append(
            Finding(
                name,
                endpoint,
                None,
                "no_requests",
                f"no requests in {days} days ({source})",
                None,
                f"remove endpoint {endpoint} from {stack.ref.file_name} and run pulumi up",
            )
        )
    return found, None


# --- the report ------------------------------------------------------------------------------


def to_markdown(
    findings: list[Finding], notes: list[str], days: int, start: datetime, now: datetime
) -> str:
    lines = [
        f"## Idle review: the last {days} days ({_date(start)} to {_date(now)})",
        "",
        "Nothing was deleted. Each finding names the change that retires it: review it with "
        "the owner, then run it.",
        "",
    ]
    if findings:
        lines += [
            "| stack | endpoint | deployment | finding | since | retire with |",
            "|---|---|---|---|---|---|",
        ]
        for f in findings:
            cells = [f.stack, f.endpoint, f.deployment or "(all)", f.detail, f.since or ""]
            lines.append(
                "| "
                + " | ".join(markdown_cell(c) for c in cells)
                + f" | `{markdown_cell(f.retire)}` |"
            )
    else:
        lines.append("No findings.")
    if notes:
        lines += ["", *(f"- {note}" for note in notes)]
    return "\n".join(lines) + "\n"
