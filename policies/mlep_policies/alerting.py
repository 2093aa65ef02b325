"""What the stack's alerts watch: which signals, for which endpoint and deployment, routed where.

Shared by OBS-01 (every signal alerted) and TRF-09 (live deployments alerted). Alerts are read
the way Azure Monitor and Prometheus read them: a metric alert by its metric names and scopes,
a log alert by its KQL, a Prometheus alert by its PromQL. A scope or query unknown during
preview counts as covering any endpoint (the check runs again on `pulumi up`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pulumi_policy import PolicyResource

from mlep_policies import tokens
from mlep_policies.reading import (
    UNKNOWN,
    elements,
    entries,
    get,
    labels_of,
    resource_id_parts,
    text,
)

ANY = "*"
ENDPOINT_SIGNALS = ("latency", "success", "client_errors", "server_errors")
DEPLOYMENT_SIGNALS = ("cpu", "memory")
# What an alert whose metric, query or expression is unknown during preview may watch.
EVERY_SIGNAL = frozenset(ENDPOINT_SIGNALS + DEPLOYMENT_SIGNALS)

METRIC_SIGNALS = {
    "requestlatency": "latency",
    "requestlatency_p50": "latency",
    "requestlatency_p90": "latency",
    "requestlatency_p95": "latency",
    "requestlatency_p99": "latency",
    "cpuutilizationpercentage": "cpu",
    "cpumemoryutilizationpercentage": "memory",
    "memoryutilizationpercentage": "memory",
}
STATUS_CLASS_SIGNALS = {"2xx": "success", "4xx": "client_errors", "5xx": "server_errors"}
KQL_SIGNALS = (
    ("server_errors", re.compile(r"between\s*\(\s*500\b|>=?\s*(500|499)\b|\b5xx\b", re.I)),
    ("client_errors", re.compile(r"between\s*\(\s*400\b|\b4xx\b", re.I)),
    ("success", re.compile(r"between\s*\(\s*200\b|\b2xx\b|<\s*400\b", re.I)),
    ("latency", re.compile(r"percentiles?\s*\(\s*\w*(Duration|Latency)", re.I)),
)
PROMQL_SIGNALS = (
    ("latency", re.compile(r"histogram_quantile|_duration_seconds|latency", re.I)),
    ("success", re.compile(r"code[a-z_]*\s*=~?\s*\"2", re.I)),
    ("client_errors", re.compile(r"code[a-z_]*\s*=~?\s*\"4", re.I)),
    ("server_errors", re.compile(r"code[a-z_]*\s*=~?\s*\"5", re.I)),
    ("cpu", re.compile(r"container_cpu_usage_seconds_total", re.I)),
    ("memory", re.compile(r"container_memory_(working_set_bytes|rss)", re.I)),
)
KQL_ENDPOINT = re.compile(r"EndpointName\s*(?:==|=~)\s*\"([^\"]+)\"")
KQL_DEPLOYMENT = re.compile(r"DeploymentName\s*(?:==|=~)\s*\"([^\"]+)\"")
PROMQL_ENDPOINT = re.compile(r"mlep_endpoint\s*=\s*\"([^\"]+)\"")
PROMQL_DEPLOYMENT = re.compile(r"mlep_deployment\s*=\s*\"([^\"]+)\"")


@dataclass(frozen=True)
class Alert:
    """One alert rule. ``endpoint`` ANY: any endpoint; ``deployment`` None: all of them."""

    urn: str
    name: str
    endpoint: str
    deployment: str | None
    signals: frozenset[str]
    routed: bool


def stack_alerts(resources: list[PolicyResource]) -> list[Alert]:
    found: list[Alert] = []
    for resource in resources:
        if tokens.is_type(resource.resource_type, tokens.METRIC_ALERT):
            found += _metric_alerts(resource)
        elif tokens.is_type(resource.resource_type, tokens.SCHEDULED_QUERY_RULE):
            found += _log_alerts(resource)
        elif tokens.is_type(resource.resource_type, tokens.PROMETHEUS_RULE):
            found += _prometheus_alerts(resource)
    return found


class Coverage:
    """The signals alerted per endpoint and deployment, gathered once from the stack's alerts
    (a fleet has thousands; looking each endpoint up must not read them all)."""

    def __init__(self, alerts: list[Alert]) -> None:
        self._signals: dict[tuple[str, str | None], set[str]] = {}
        for alert in alerts:
            self._signals.setdefault((alert.endpoint, alert.deployment), set()).update(
                alert.signals
            )

    def of(self, endpoint: str, deployment: str | None = None) -> set[str]:
        """The signals alerted for an endpoint (or one of its deployments): its own alerts
        and those whose target is unknown during preview (ANY)."""
        keys: list[tuple[str, str | None]] = [(endpoint, None), (ANY, None)]
        if deployment is not None:
            keys += [(endpoint, deployment), (ANY, deployment)]
        return set().union(*(self._signals.get(key, set()) for key in keys))


def _metric_alerts(resource: PolicyResource) -> Iterator[Alert]:
    props = resource.props
    if get(props, "enabled") is False:
        return
    signals: set[str] = set()
    for criterion in elements(get(props, "criteria", "allOf")):
        if UNKNOWN in (criterion, get(criterion, "metricName")):
            signals |= EVERY_SIGNAL
            continue
        signal = METRIC_SIGNALS.get(text(get(criterion, "metricName")).lower())
        if signal:
            signals.add(signal)
        for dimension in elements(get(criterion, "dimensions")):
            if text(get(dimension, "name")).lower() == "statuscodeclass":
                for value in elements(get(dimension, "values")):
                    if text(value).lower() in STATUS_CLASS_SIGNALS:
                        signals.add(STATUS_CLASS_SIGNALS[text(value).lower()])
    actions = get(props, "actions")
    routed = actions is UNKNOWN or any(
        item is UNKNOWN or get(item, "actionGroupId") for item in elements(actions)
    )
    scopes = get(props, "scopes")
    targets = elements(scopes) if scopes is not UNKNOWN else [UNKNOWN]
    for scope in targets:
        parts = resource_id_parts(scope)
        endpoint = ANY if scope is UNKNOWN else parts.get("onlineendpoints")
        if endpoint:
            yield Alert(
                resource.urn,
                resource.name,
                endpoint,
                parts.get("deployments"),
                frozenset(signals),
                bool(routed),
            )


def _log_alerts(resource: PolicyResource) -> Iterator[Alert]:
    props = resource.props
    if get(props, "enabled") is False:
        return
    groups = get(props, "actions", "actionGroups")
    routed = groups is UNKNOWN or bool(elements(groups))
    for criterion in elements(get(props, "criteria", "allOf")):
        query = get(criterion, "query")
        if query is UNKNOWN:
            yield Alert(resource.urn, resource.name, ANY, None, EVERY_SIGNAL, routed)
            continue
        if not isinstance(query, str):
            continue
        signals = frozenset(signal for signal, pattern in KQL_SIGNALS if pattern.search(query))
        endpoint = KQL_ENDPOINT.search(query)
        deployment = KQL_DEPLOYMENT.search(query)
        yield Alert(
            resource.urn,
            resource.name,
            endpoint.group(1) if endpoint else ANY,
            deployment.group(1) if deployment else None,
            signals,
            routed,
        )


def _prometheus_alerts(resource: PolicyResource) -> Iterator[Alert]:
    owner = labels_of(resource.props).get(tokens.ENDPOINT_LABEL)
    for group in elements(get(resource.props, "spec", "groups")):
        for rule in elements(get(group, "rules")):
            expr = get(rule, "expr")
            if not get(rule, "alert") or not (isinstance(expr, str) or expr is UNKNOWN):
                continue
            rule_labels = entries(get(rule, "labels"))
            severity = rule_labels.get("severity")
            if expr is UNKNOWN:
                yield Alert(resource.urn, text(get(rule, "alert")), ANY, None, EVERY_SIGNAL, True)
                continue
            endpoint = PROMQL_ENDPOINT.search(expr)
            deployment = PROMQL_DEPLOYMENT.search(expr)
            yield Alert(
                resource.urn,
                text(get(rule, "alert")),
                endpoint.group(1)
                if endpoint
                else text(rule_labels.get("mlep_endpoint")) or text(owner) or ANY,
                deployment.group(1) if deployment else None,
                frozenset(s for s, pattern in PROMQL_SIGNALS if pattern.search(expr)),
                # Alertmanager routes on labels: an alert without severity reaches no receiver.
                severity is UNKNOWN or get(rule, "labels") is UNKNOWN or bool(text(severity)),
            )


def stack_endpoints(resources: list[PolicyResource]) -> dict[str, str]:
    """endpoint name -> URN of the resource that declares it (OnlineEndpoint or HTTPRoute)."""
    found: dict[str, str] = {}
    for resource in resources:
        if tokens.is_type(resource.resource_type, tokens.ONLINE_ENDPOINT):
            name = get(resource.props, "endpointName")
            if isinstance(name, str):
                found.setdefault(name, resource.urn)
        elif tokens.is_type(resource.resource_type, tokens.HTTP_ROUTE):
            name = text(labels_of(resource.props).get(tokens.ENDPOINT_LABEL)) or text(
                get(resource.props, "metadata", "name")
            )
            if name:
                found.setdefault(name, resource.urn)
    return found


def stack_deployments(resources: list[PolicyResource]) -> dict[tuple[str, str], str]:
    """(endpoint, deployment) -> URN, for Azure deployments and labelled Kubernetes ones."""
    found: dict[tuple[str, str], str] = {}
    for resource in resources:
        if tokens.is_type(resource.resource_type, tokens.ONLINE_DEPLOYMENT):
            endpoint = get(resource.props, "endpointName")
            deployment = get(resource.props, "deploymentName")
        elif tokens.is_type(resource.resource_type, tokens.K8S_DEPLOYMENT):
            labels = labels_of(resource.props)
            endpoint = labels.get(tokens.ENDPOINT_LABEL)
            deployment = labels.get(tokens.DEPLOYMENT_LABEL)
        else:
            continue
        if isinstance(endpoint, str) and isinstance(deployment, str):
            found[(endpoint, deployment)] = resource.urn
    return found


def describe(value: Any) -> str:
    return ", ".join(sorted(value)).replace("_", " ")
