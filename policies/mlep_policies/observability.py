"""Observability (POLICY-RULES.md, OBS-01 to OBS-03)."""

from __future__ import annotations

import re
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity, StackValidationArgs

from mlep_policies import tokens
from mlep_policies.alerting import (
    DEPLOYMENT_SIGNALS,
    ENDPOINT_SIGNALS,
    Coverage,
    describe,
    stack_alerts,
    stack_deployments,
    stack_endpoints,
)
from mlep_policies.define import (
    ADVISORY,
    MANDATORY,
    boolean,
    resource_policy,
    settings,
    stack_policy,
    string_list,
)
from mlep_policies.reading import (
    UNKNOWN,
    elements,
    entries,
    get,
    resource_id_parts,
    text,
)


def _alerts_complete(args: StackValidationArgs, report: ReportViolation) -> None:
    resources = list(args.resources)
    alerts = stack_alerts(resources)
    coverage = Coverage(alerts)
    for endpoint, urn in sorted(stack_endpoints(resources).items()):
        missing = set(ENDPOINT_SIGNALS) - coverage.of(endpoint)
        if missing:
            report(
                f"endpoint {endpoint!r} has no alert on {describe(missing)} (OBS-01). Fix: set "
                "ml-endpoints:azure.action_group and log_analytics_workspace_id (Azure) or keep "
                "the endpoint's PrometheusRule (Kubernetes); thresholds come from `alerts`.",
                urn,
            )
    for (endpoint, deployment), urn in sorted(stack_deployments(resources).items()):
        missing = set(DEPLOYMENT_SIGNALS) - coverage.of(endpoint, deployment)
        if missing:
            report(
                f"deployment {endpoint}/{deployment} has no alert on {describe(missing)} "
                "(OBS-01). Fix: configure alerts for the stack (cpu_max_percent, "
                "memory_max_percent).",
                urn,
            )
    for alert in alerts:
        if not alert.routed:
            report(
                f"alert {alert.name!r} reaches nobody: no action group (Azure) or severity "
                "label for Alertmanager routing (Kubernetes) (OBS-01). Fix: wire it to the "
                "stack's action group / give it a severity label.",
                alert.urn,
            )


alerts_complete = stack_policy(
    "obs-01-alerts-complete",
    description="Each endpoint alerts on p95 latency, success rate, 4xx and 5xx rates; each "
    "deployment on CPU and memory; every alert reaches an action group or receiver (OBS-01). "
    "Prod only.",
    level=MANDATORY,
    severity=Severity.HIGH,
    remediation="Azure: set ml-endpoints:azure.action_group and log_analytics_workspace_id. "
    "Kubernetes: keep the PrometheusRule the program declares per endpoint.",
    validate=_alerts_complete,
)

ENDPOINT_LOGS = (
    "AmlOnlineEndpointTrafficLog",
    "AmlOnlineEndpointConsoleLog",
    "AmlOnlineEndpointEventLog",
)
OBS02_TUNABLES = {
    "requireWorkspace": boolean(
        False, "Require diagnostics even when no Log Analytics workspace appears in the stack."
    ),
    "categories": string_list(list(ENDPOINT_LOGS), "Log categories each endpoint sends."),
}


def _diagnostics(args: StackValidationArgs, report: ReportViolation) -> None:
    config = settings(args, OBS02_TUNABLES)
    settings_by_endpoint: dict[str, list[Any]] = {}
    workspace_seen = bool(config["requireWorkspace"])
    for resource in args.resources:
        props = resource.props
        if tokens.is_type(resource.resource_type, tokens.DIAGNOSTIC_SETTING):
            if get(props, "workspaceId"):
                workspace_seen = True
            target = get(props, "resourceUri")
            endpoint = (
                "*" if target is UNKNOWN else resource_id_parts(target).get("onlineendpoints")
            )
            if endpoint and "deployments" not in resource_id_parts(target):
                settings_by_endpoint.setdefault(endpoint, []).append(props)
        elif tokens.is_type(resource.resource_type, tokens.SCHEDULED_QUERY_RULE) and any(
            "microsoft.operationalinsights/workspaces" in text(s).lower()
            for s in elements(get(props, "scopes"))
        ):
            workspace_seen = True
    if not workspace_seen:
        return
    for resource in args.resources:
        if not tokens.is_type(resource.resource_type, tokens.ONLINE_ENDPOINT):
            continue
        name = text(get(resource.props, "endpointName"))
        candidates = settings_by_endpoint.get(name, []) + settings_by_endpoint.get("*", [])
        if not candidates:
            report(
                f"endpoint {name!r} sends no logs to Log Analytics (OBS-02). Fix: set "
                "ml-endpoints:azure.log_analytics_workspace_id.",
                resource.urn,
            )
            continue
        best = min((_missing(props, config["categories"]) for props in candidates), key=len)
        if best:
            report(
                f"endpoint {name!r}: diagnostics do not send {', '.join(best)} to a Log "
                "Analytics workspace (OBS-02). Fix: enable those categories with a workspaceId.",
                resource.urn,
            )


def _missing(props: Any, categories: list[str]) -> list[str]:
    """The categories a diagnostic setting does not send to a workspace (none when what it
    sends is unknown during preview)."""
    workspace, logs = get(props, "workspaceId"), get(props, "logs")
    if UNKNOWN in (workspace, logs):
        return []
    if not text(workspace):
        return list(categories)
    enabled = set()
    for log in elements(logs):
        if UNKNOWN in (log, get(log, "category"), get(log, "enabled")):
            return []
        if get(log, "enabled") is False:
            continue
        group = text(get(log, "categoryGroup")).lower()
        if group == "alllogs":
            return []
        enabled.add(text(get(log, "category")))
    return [c for c in categories if c not in enabled]


diagnostics = stack_policy(
    "obs-02-diagnostics",
    description="When a Log Analytics workspace is configured, every endpoint sends its "
    "traffic, console and event logs there (OBS-02).",
    level=ADVISORY,
    severity=Severity.MEDIUM,
    remediation="Set ml-endpoints:azure.log_analytics_workspace_id; the program adds a "
    "diagnostic setting per endpoint.",
    validate=_diagnostics,
    tunables=OBS02_TUNABLES,
)

OBS03_TUNABLES = {
    "requiredLabels": string_list(["severity"], "Labels every alert carries."),
    "requiredAnnotations": string_list(
        ["summary", "runbook_url"], "Annotations every alert carries."
    ),
}
_STRINGS = re.compile(r"\"(?:\\.|[^\"\\])*\"|'(?:\\.|[^'\\])*'|`[^`]*`")
_COMMENTS = re.compile(r"#[^\n]*")
_ZERO_DURATION = re.compile(r"^(?:0+(?:ms|s|m|h|d|w|y))+$|^0*$")
_BRACES = re.compile(r"\{[^{}]*\}")
_RANGES = re.compile(r"\[[^\[\]]*\]")
_COMPARISON = re.compile(r"==|!=|>=|<=|>|<")
_ABSENT = re.compile(r"\babsent(_over_time)?\s*\(")


def has_comparison(expr: str) -> bool:
    """Whether a PromQL expression compares (pint's alerts/comparison): label matchers, strings
    and range selectors do not count; `absent()` alerts need none."""
    if _ABSENT.search(expr):
        return True
    stripped = _COMMENTS.sub("", _STRINGS.sub('""', expr))
    stripped = _RANGES.sub("", _BRACES.sub("", stripped))
    return bool(_COMPARISON.search(stripped))


def _rule_hygiene(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not tokens.is_type(args.resource_type, tokens.PROMETHEUS_RULE):
        return
    config = settings(args, OBS03_TUNABLES)
    for group in elements(get(args.props, "spec", "groups")):
        for rule in elements(get(group, "rules")):
            name = get(rule, "alert")
            if not name or name is UNKNOWN:
                continue  # a recording rule
            problems = []
            expr = get(rule, "expr")
            if isinstance(expr, str) and not has_comparison(expr):
                problems.append("its expression has no comparison, so it fires on any value")
            duration = get(rule, "for")
            if duration is not UNKNOWN and _ZERO_DURATION.match(text(duration).strip()):
                problems.append("it has no `for:`, so one scrape fires it")
            for kind, keys in (
                ("label", config["requiredLabels"]),
                ("annotation", config["requiredAnnotations"]),
            ):
                given = get(rule, f"{kind}s")
                if given is UNKNOWN:
                    continue
                values = entries(given)
                problems += [
                    f"it has no {key!r} {kind}"
                    for key in keys
                    if values.get(key) is not UNKNOWN and not text(values.get(key))
                ]
            for problem in problems:
                report(
                    f"alert {name!r}: {problem} (OBS-03). Fix: give every alert a comparison, "
                    "a `for:`, a severity label and summary + runbook_url annotations.",
                    None,
                )


rule_hygiene = resource_policy(
    "obs-03-prometheus-rule-hygiene",
    description="PrometheusRule alerts have a comparison, a `for:`, a severity label and "
    "summary and runbook_url annotations (OBS-03).",
    level=MANDATORY,
    severity=Severity.MEDIUM,
    remediation="Complete each alerting rule: `expr` with a threshold comparison, `for: 5m`, "
    "labels.severity, annotations.summary and annotations.runbook_url.",
    validate=_rule_hygiene,
    tunables=OBS03_TUNABLES,
)

POLICIES = [alerts_complete, diagnostics, rule_hygiene]
