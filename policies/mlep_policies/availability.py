"""Availability and scaling (POLICY-RULES.md, AV-01 to AV-04)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pulumi_policy import (
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    Severity,
    StackValidationArgs,
)

from mlep_policies import tokens
from mlep_policies.define import (
    ADVISORY,
    MANDATORY,
    integer,
    resource_policy,
    settings,
    stack_policy,
)
from mlep_policies.reading import (
    UNKNOWN,
    SelectorIndex,
    as_int,
    as_number,
    containers,
    elements,
    gateway_seconds,
    get,
    iso_seconds,
    kind,
    labels_of,
    namespace_of,
    pod_template,
    resource_id_parts,
    same,
    text,
)
from mlep_policies.routing import stack_traffic

AV01_TUNABLES = {
    "minInstances": integer(3, 1, 50, "Fewest instances of a deployment with live traffic."),
}


def _live(resources: Sequence[PolicyResource]) -> set[tuple[str, str]]:
    """(endpoint, deployment) of every deployment with a live share."""
    live = set()
    for found in stack_traffic(resources):
        for deployment, share in (found.traffic.shares() or {}).items():
            if share > 0:
                live.add((found.traffic.endpoint, deployment))
    return live


def _enough_instances(args: StackValidationArgs, report: ReportViolation) -> None:
    minimum = settings(args, AV01_TUNABLES)["minInstances"]
    resources = args.resources
    live = _live(resources)
    for (endpoint, deployment), count, urn in _instance_floors(resources):
        if count is UNKNOWN or (endpoint, deployment) not in live:
            continue
        whole = as_int(count)
        if whole is None or whole < minimum:
            report(
                f"deployment {endpoint}/{deployment} takes live traffic on "
                f"{count if whole is None else whole} instance(s); "
                f"prod runs at least {minimum} so one can fail or update (AV-01). Fix: "
                f"instance_count: {minimum} (or autoscale.min_instances: {minimum}).",
                urn,
            )


def _instance_floors(
    resources: list[PolicyResource],
) -> list[tuple[tuple[str, str], Any, str]]:
    """((endpoint, deployment), the fewest instances it can run as given (UNKNOWN during
    preview; possibly not a whole number), URN) of each deployment."""
    autoscale_min: dict[tuple[str, str], Any] = {}
    hpa_min: dict[tuple[str, str], Any] = {}
    for resource in resources:
        props = resource.props
        if tokens.is_type(resource.resource_type, tokens.AUTOSCALE_SETTING):
            parts = resource_id_parts(get(props, "targetResourceUri"))
            key = (parts.get("onlineendpoints", ""), parts.get("deployments", ""))
            minima = [get(p, "capacity", "minimum") for p in elements(get(props, "profiles"))]
            if UNKNOWN in minima or get(props, "profiles") is UNKNOWN:
                autoscale_min[key] = UNKNOWN
            else:
                numbers = [_number(m) for m in minima]
                known = [int(m) for m in numbers if m is not None]
                autoscale_min[key] = min(known) if known else (minima[0] if minima else None)
        elif tokens.is_type(resource.resource_type, tokens.HPA):
            target = text(get(props, "spec", "scaleTargetRef", "name"))
            minimum = get(props, "spec", "minReplicas")
            hpa_min[(namespace_of(props), target)] = 1 if minimum is None else minimum
    floors = []
    for resource in resources:
        props = resource.props
        if tokens.is_type(resource.resource_type, tokens.ONLINE_DEPLOYMENT):
            key = (text(get(props, "endpointName")), text(get(props, "deploymentName")))
            capacity = get(props, "sku", "capacity")
            count = autoscale_min.get(key, 1 if capacity is None else capacity)
        elif tokens.is_type(resource.resource_type, tokens.K8S_DEPLOYMENT):
            labels = labels_of(props)
            key = (
                text(labels.get(tokens.ENDPOINT_LABEL)),
                text(labels.get(tokens.DEPLOYMENT_LABEL)),
            )
            replicas = get(props, "spec", "replicas")
            hpa_key = (namespace_of(props), text(get(props, "metadata", "name")))
            count = hpa_min.get(hpa_key, 1 if replicas is None else replicas)
        else:
            continue
        if all(key):
            floors.append((key, count, resource.urn))
    return floors


def _number(value: Any) -> float | None:
    """An autoscale capacity: a whole number, as a string ("3", as ARM takes it) or a number."""
    if isinstance(value, str) and value.strip().isdigit():
        return float(value)
    whole = as_int(value)
    return None if whole is None else float(whole)


enough_instances = stack_policy(
    "av-01-enough-instances",
    description="Prod deployments with live traffic run at least 3 instances; the autoscale "
    "minimum counts (AV-01). Advisory in prod by default; mandatory with config.",
    level=ADVISORY,
    severity=Severity.MEDIUM,
    remediation="Set instance_count (or autoscale.min_instances) to at least 3 on deployments "
    "that take traffic.",
    validate=_enough_instances,
    tunables=AV01_TUNABLES,
)

AV02_TUNABLES = {
    "maxInstances": integer(50, 1, 1000, "Largest autoscale maximum."),
}


def _autoscale_sane(args: ResourceValidationArgs, report: ReportViolation) -> None:
    limit = settings(args, AV02_TUNABLES)["maxInstances"]
    props = args.props
    if tokens.is_type(args.resource_type, tokens.AUTOSCALE_SETTING):
        for profile in elements(get(props, "profiles")):
            _check_profile(profile, limit, report)
    elif tokens.is_type(args.resource_type, tokens.HPA):
        low, high = get(props, "spec", "minReplicas"), get(props, "spec", "maxReplicas")
        low = 1 if low is None else low
        if UNKNOWN in (low, high):
            return
        low_n, high_n = as_int(low), as_int(high)
        if low_n is None or high_n is None or not 1 <= low_n <= high_n <= limit:
            report(
                f"HPA {get(props, 'metadata', 'name')!r}: replicas {low!r}-{high!r}; need 1 <= "
                f"min <= max <= {limit} (AV-02). Fix: autoscale.min_instances <= max_instances "
                f"<= {limit}.",
                None,
            )


def _check_profile(profile: Any, limit: int, report: ReportViolation) -> None:
    name = get(profile, "name")
    capacity = get(profile, "capacity")
    low, default, high = (get(capacity, k) for k in ("minimum", "default", "maximum"))
    if UNKNOWN not in (low, default, high):
        low_n, default_n, high_n = _number(low), _number(default), _number(high)
        if low_n is None or high_n is None or not low_n < high_n:
            report(
                f"autoscale profile {name!r}: minimum {low!r} must be below maximum {high!r} "
                "(AV-02). Fix: max_instances above min_instances, or drop autoscale for a fixed "
                "instance_count.",
                None,
            )
        elif default_n is None or not low_n <= default_n <= high_n:
            report(
                f"autoscale profile {name!r}: default {default!r} is outside {low}-{high} "
                "(AV-02). Fix: start within the autoscale range.",
                None,
            )
        if high_n is not None and high_n > limit:
            report(
                f"autoscale profile {name!r}: maximum {high!r} is above {limit} (AV-02). Fix: "
                f"max_instances <= {limit}.",
                None,
            )
    out_thresholds, in_thresholds = [], []
    for rule in elements(get(profile, "rules")):
        direction = text(get(rule, "scaleAction", "direction"))
        threshold = as_number(get(rule, "metricTrigger", "threshold"))
        if direction == "Increase" and threshold is not None:
            out_thresholds.append(threshold)
        elif direction == "Decrease" and threshold is not None:
            in_thresholds.append(threshold)
        cooldown = get(rule, "scaleAction", "cooldown")
        if cooldown is not UNKNOWN and (iso_seconds(cooldown) or 0) < 60:
            report(
                f"autoscale profile {name!r}: a {direction or 'scale'} rule has cooldown "
                f"{cooldown!r}; set at least PT1M so scaling settles (AV-02). Fix: "
                "autoscale.cooldown_minutes >= 1.",
                None,
            )
    if out_thresholds and in_thresholds and max(in_thresholds) >= min(out_thresholds):
        report(
            f"autoscale profile {name!r}: scale-in threshold {max(in_thresholds)} is not below "
            f"scale-out threshold {min(out_thresholds)}, so it flaps (AV-02). Fix: "
            "scale_in_cpu_percent below target_cpu_percent.",
            None,
        )


autoscale_sane = resource_policy(
    "av-02-autoscale-sane",
    description="Autoscale: minimum below maximum, default within, maximum at most 50, "
    "scale-in threshold below scale-out, cooldown set; HPAs within 1 <= min <= max <= 50 "
    "(AV-02).",
    level=MANDATORY,
    severity=Severity.MEDIUM,
    remediation="Fix the deployment's autoscale block: min_instances < max_instances <= 50, "
    "scale_in_cpu_percent < target_cpu_percent, cooldown_minutes >= 1.",
    validate=_autoscale_sane,
    tunables=AV02_TUNABLES,
)

AV03_TUNABLES = {
    "maxRequestTimeoutMs": integer(180000, 1, 180000, "Longest request timeout."),
}
PROBE_FIELDS_ISO = ("initialDelay", "period", "timeout")
PROBE_FIELDS_COUNT = ("successThreshold", "failureThreshold")


def _limits_sane(args: ResourceValidationArgs, report: ReportViolation) -> None:
    limit_s = settings(args, AV03_TUNABLES)["maxRequestTimeoutMs"] / 1000
    props = args.props
    if tokens.is_type(args.resource_type, tokens.ONLINE_DEPLOYMENT):
        timeout = get(props, "properties", "requestSettings", "requestTimeout")
        if timeout is not None and timeout is not UNKNOWN:
            seconds = iso_seconds(timeout)
            if seconds is None or not 0 < seconds <= limit_s:
                report(
                    f"request timeout {timeout!r} must be between 1 ms and {limit_s:g} s "
                    "(AV-03). Fix: request_settings.request_timeout_ms <= "
                    f"{int(limit_s * 1000)}.",
                    None,
                )
        for probe_name in ("livenessProbe", "readinessProbe"):
            _check_azure_probe(probe_name, get(props, "properties", probe_name), report)
    elif tokens.is_type(args.resource_type, tokens.HTTP_ROUTE):
        for rule in elements(get(props, "spec", "rules")):
            for key in ("request", "backendRequest"):
                value = get(rule, "timeouts", key)
                if value is None or value is UNKNOWN:
                    continue
                seconds = gateway_seconds(value)
                if seconds is None or not 0 < seconds <= limit_s:
                    report(
                        f"route timeout {key} {value!r} must be between 1ms and {limit_s:g}s "
                        "(0s disables it) (AV-03). Fix: request_settings.request_timeout_ms.",
                        None,
                    )
    elif (workload := kind(args.resource_type)) in tokens.WORKLOAD_KINDS:
        for container in containers(pod_template(workload or "", props)[1]):
            for probe_name in ("livenessProbe", "readinessProbe", "startupProbe"):
                _check_pod_probe(container, probe_name, report)


def _check_azure_probe(name: str, probe: Any, report: ReportViolation) -> None:
    if not probe or probe is UNKNOWN:
        return  # Azure ML's defaults apply
    for field in PROBE_FIELDS_ISO:
        value = get(probe, field)
        if value is None or value is UNKNOWN:
            continue
        seconds = iso_seconds(value)
        if seconds is None or seconds < 1:
            report(
                f"{name}.{field} is {value!r}; Azure ML needs at least 1 second (AV-03). Fix: "
                "set it to 1 or more seconds.",
                None,
            )
    for field in PROBE_FIELDS_COUNT:
        value = get(probe, field)
        if value is None or value is UNKNOWN:
            continue
        count = as_int(value)
        if count is None or count < 1:
            report(
                f"{name}.{field} is {value!r}; it must be an integer >= 1 (AV-03). Fix: set "
                "the probe's threshold to 1 or more.",
                None,
            )
        elif field == "successThreshold" and name == "livenessProbe" and count != 1:
            report(
                f"livenessProbe.successThreshold is {count}; it must be 1 (AV-03). Fix: "
                "liveness_probe.success_threshold: 1.",
                None,
            )


def _check_pod_probe(container: Any, name: str, report: ReportViolation) -> None:
    probe = get(container, name)
    if not probe or probe is UNKNOWN:
        return
    where = f"container {get(container, 'name')!r} {name}"
    for field, low in (
        ("periodSeconds", 1),
        ("timeoutSeconds", 1),
        ("failureThreshold", 1),
        ("successThreshold", 1),
        ("initialDelaySeconds", 0),
    ):
        value = get(probe, field)
        if value is None or value is UNKNOWN:
            continue
        count = as_int(value)
        if count is None or count < low:
            report(
                f"{where}.{field} is {value!r}; it must be an integer >= {low} (AV-03). Fix: "
                f"set it to {low} or more.",
                None,
            )
        elif field == "successThreshold" and name != "readinessProbe" and count != 1:
            report(
                f"{where}.successThreshold is {count}; Kubernetes requires 1 for liveness and "
                "startup probes (AV-03). Fix: success_threshold: 1.",
                None,
            )


limits_sane = resource_policy(
    "av-03-timeouts-and-probes",
    description="Request timeouts are at most 180 s; probe values meet Azure ML's and "
    "Kubernetes' minima; liveness success threshold is 1 (AV-03).",
    level=MANDATORY,
    severity=Severity.MEDIUM,
    remediation="Keep request_settings.request_timeout_ms <= 180000 and probe values >= 1, "
    "with liveness_probe.success_threshold: 1.",
    validate=_limits_sane,
    tunables=AV03_TUNABLES,
)


def _disruption_ready(args: StackValidationArgs, report: ReportViolation) -> None:
    resources = list(args.resources)
    hpas = _HpaTargets([r for r in resources if tokens.is_type(r.resource_type, tokens.HPA)])
    pdbs = SelectorIndex(
        [
            (_namespace(r.props), get(r.props, "spec", "selector"), r)
            for r in resources
            if tokens.is_type(r.resource_type, tokens.PDB)
        ]
    )
    for resource in resources:
        if not tokens.is_type(resource.resource_type, tokens.K8S_DEPLOYMENT):
            continue
        props = resource.props
        name, namespace = text(get(props, "metadata", "name")), namespace_of(props)
        mine = hpas.of(namespace, name)
        if len(mine) != 1:
            report(
                f"Deployment {name!r} has {len(mine)} HorizontalPodAutoscalers; it needs "
                "exactly one (AV-04). Fix: keep the one the program declares.",
                resource.urn,
            )
        replicas = _most_replicas(props, mine)
        if replicas is None or replicas < 2:
            continue
        labels = get(pod_template("Deployment", props)[0], "labels")
        budgets = pdbs.selecting(namespace, labels)
        if not budgets:
            report(
                f"Deployment {name!r} can run {replicas} replicas but has no "
                "PodDisruptionBudget (AV-04). Fix: add one with maxUnavailable: 1.",
                resource.urn,
            )
        for budget in budgets:
            if not _allows_disruption(budget.props, _fewest_replicas(props, mine)):
                report(
                    f"PodDisruptionBudget {get(budget.props, 'metadata', 'name')!r} never allows "
                    f"a disruption of {name!r}, so node drains block (AV-04). Fix: "
                    "maxUnavailable: 1.",
                    budget.urn,
                )


class _HpaTargets:
    """The HPAs by the Deployment they scale, read once (a fleet has hundreds)."""

    def __init__(self, hpas: list[PolicyResource]) -> None:
        self._known: dict[tuple[Any, Any, Any], list[PolicyResource]] = {}
        self._unknown: list[tuple[Any, Any, Any, PolicyResource]] = []
        for hpa in hpas:
            target = (
                _namespace(hpa.props),
                get(hpa.props, "spec", "scaleTargetRef", "kind"),
                get(hpa.props, "spec", "scaleTargetRef", "name"),
            )
            if UNKNOWN in target:
                self._unknown.append((*target, hpa))
            else:
                self._known.setdefault(target, []).append(hpa)

    def of(self, namespace: str, name: str) -> list[PolicyResource]:
        mine = self._known.get((namespace, "Deployment", name), [])
        if mine:
            return mine
        # An HPA whose target is unknown during preview may be this Deployment's.
        maybe = [
            hpa
            for ns, kind, target, hpa in self._unknown
            if same(ns, namespace) and same(kind, "Deployment") and same(target, name)
        ]
        return maybe[:1]


def _namespace(props: Any) -> Any:
    """The object's namespace, UNKNOWN when unknown during preview."""
    value = get(props, "metadata", "namespace")
    return UNKNOWN if value is UNKNOWN else namespace_of(props)


def _most_replicas(props: Any, hpas: list[PolicyResource]) -> int | None:
    values = [as_int(get(h.props, "spec", "maxReplicas")) for h in hpas]
    replicas = get(props, "spec", "replicas")
    values.append(1 if replicas is None else as_int(replicas))
    known = [v for v in values if v is not None]
    return max(known) if known else None


def _fewest_replicas(props: Any, hpas: list[PolicyResource]) -> int | None:
    if hpas:
        minimum = get(hpas[0].props, "spec", "minReplicas")
        return 1 if minimum is None else as_int(minimum)
    replicas = get(props, "spec", "replicas")
    return 1 if replicas is None else as_int(replicas)


def _allows_disruption(props: Any, fewest: int | None) -> bool:
    unavailable = get(props, "spec", "maxUnavailable")
    available = get(props, "spec", "minAvailable")
    if UNKNOWN in (unavailable, available):
        return True
    if unavailable is not None:
        return _budget(unavailable, fewest) not in (0, None)
    if available is not None:
        needed = _budget(available, fewest)
        return fewest is None or needed is None or needed < fewest
    return True  # neither: the API server rejects it; nothing to judge


def _budget(value: Any, replicas: int | None) -> int | None:
    """An int or "N%" of replicas (rounded up, as the disruption controller does)."""
    if isinstance(value, str) and value.endswith("%") and value[:-1].isdigit():
        if replicas is None:
            return None if value != "0%" else 0
        return -(-int(value[:-1]) * replicas // 100)
    return as_int(value)


disruption_ready = stack_policy(
    "av-04-hpa-and-pdb",
    description="Kubernetes: each serving Deployment has exactly one HPA and, when it can run "
    "2 or more replicas, a PodDisruptionBudget that allows a disruption (AV-04).",
    level=MANDATORY,
    severity=Severity.MEDIUM,
    remediation="Keep the HPA and PDB the program declares (maxUnavailable: 1).",
    validate=_disruption_ready,
)

POLICIES = [enough_instances, autoscale_sane, limits_sane, disruption_ready]
