"""Traffic-change safety (POLICY-RULES.md, TRF-*): what a traffic split may look like."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pulumi_policy import (
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    Severity,
    StackValidationArgs,
)

from mlep_policies import tokens
from mlep_policies.alerting import Coverage, stack_alerts
from mlep_policies.define import MANDATORY, integer, resource_policy, settings, stack_policy
from mlep_policies.reading import (
    UNKNOWN,
    EndpointTraffic,
    as_int,
    as_number,
    as_weight,
    elements,
    endpoint_definitions,
    entries,
    get,
    mirror_percent,
    namespace_of,
    route_filters,
    text,
    traffic_settings,
)


def _weights(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for setting in traffic_settings(args.resource_type, args.props):
        if setting.traffic is None or setting.route:
            continue  # Gateway API weights are relative: TRF-10
        known = {k: v for k, v in setting.traffic.items() if v is not UNKNOWN}
        bad = {k: v for k, v in known.items() if as_weight(v) is None}
        for key, value in bad.items():
            report(
                f"endpoint {setting.endpoint!r}: traffic weight for {key!r} is {value!r}; weights "
                "are whole numbers 0-100 (TRF-01). Fix: set an integer weight.",
                None,
            )
        total = sum(as_weight(v) or 0 for v in known.values())
        # 0 takes the endpoint out of service (models.rules.traffic_sums_to_100); a sum with
        # a weight unknown during preview is checked on `pulumi up`.
        if not bad and len(known) == len(setting.traffic) and total not in (0, 100):
            report(
                f"endpoint {setting.endpoint!r}: traffic sums to {total}; it must sum to 100, "
                "or 0 to take the endpoint out of service (TRF-01). Fix: adjust the weights so "
                "they add up to 100.",
                None,
            )


traffic_weights = resource_policy(
    "trf-01-traffic-weights",
    description="Azure ML traffic weights are integers 0-100 that sum to 100, or 0 to take the "
    "endpoint out of service (TRF-01).",
    level=MANDATORY,
    severity=Severity.HIGH,
    remediation="Give every deployment in `traffic` an integer share so that they add up to 100.",
    validate=_weights,
)


def _mirror(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for setting in traffic_settings(args.resource_type, args.props):
        mirror = setting.mirror or {}
        if len(mirror) > 1:
            report(
                f"endpoint {setting.endpoint!r}: mirror traffic goes to {len(mirror)} deployments; "
                "at most one may be mirrored (TRF-02). Fix: keep one shadow deployment.",
                None,
            )
        for key, value in mirror.items():
            if value is UNKNOWN:
                continue
            weight = as_weight(value) if not setting.route else _rounded(value)
            if weight is None or not 0 <= weight <= 50:
                report(
                    f"endpoint {setting.endpoint!r}: mirror traffic for {key!r} is {value!r}; "
                    "it must be a whole number 0-50 (TRF-02). Fix: mirror at most 50 %.",
                    None,
                )
            live = (setting.traffic or {}).get(key, 0)
            if weight and live is not UNKNOWN and (as_number(live) or 0) > 0:
                share = (setting.shares() or {}).get(key, live)
                report(
                    f"endpoint {setting.endpoint!r}: {key!r} gets {_pct(share)}% live and "
                    f"{weight}% "
                    "mirror traffic (TRF-03). Fix: mirror only a deployment with 0 live traffic.",
                    None,
                )


def _rounded(value: Any) -> int | None:
    """A route mirror share (a fraction may give 12.5 %): whole percent, rounded up."""
    number = as_number(value)
    return None if number is None else -int(-number // 1)


mirror_traffic = resource_policy(
    "trf-02-03-mirror-traffic",
    description="Mirror traffic: one deployment, at most 50 %, never one with live traffic "
    "(TRF-02, TRF-03).",
    level=MANDATORY,
    severity=Severity.HIGH,
    remediation="Mirror at most 50 % to a single deployment that gets 0 live traffic.",
    validate=_mirror,
)


def _waits_for_deployments(args: StackValidationArgs, report: ReportViolation) -> None:
    deployments = _Deployments(
        [r for r in args.resources if r.resource_type == tokens.ONLINE_DEPLOYMENT]
    )
    services = {
        f"{namespace_of(r.props)}/{text(get(r.props, 'metadata', 'name'))}": r.urn
        for r in args.resources
        if r.resource_type == tokens.K8S_SERVICE
    }
    for resource in args.resources:
        if resource.resource_type == tokens.HTTP_ROUTE:
            _route_waits_for_services(resource, services, report)
            continue
        for setting in traffic_settings(resource.resource_type, resource.props):
            # Every key, whatever its share: Azure rejects traffic that names a deployment
            # which does not exist (yet).
            named = set(setting.traffic or {}) | set(setting.mirror or {})
            waits_for = {d.urn for d in resource.dependencies}
            for name in sorted(named):
                candidates = deployments.named(setting.endpoint, name)
                if not candidates:
                    report(
                        f"endpoint {setting.endpoint!r}: traffic names {name!r}, which is not "
                        "a deployment of it in this stack (TRF-01). Fix: declare the deployment "
                        "or remove it from traffic.",
                        resource.urn,
                    )
                elif not candidates & waits_for:
                    report(
                        f"endpoint {setting.endpoint!r}: the traffic setting does not wait for "
                        f"deployment {name!r}; Azure rejects traffic to a deployment that does not "
                        "exist yet (TRF-05). Fix: make the traffic resource depend on it.",
                        resource.urn,
                    )


class _Deployments:
    """The stack's online deployments by (endpoint, deployment) name, read once."""

    def __init__(self, deployments: list[PolicyResource]) -> None:
        self._known: dict[tuple[Any, Any], set[str]] = {}
        self._unknown: list[tuple[Any, Any, str]] = []
        for d in deployments:
            key = (get(d.props, "endpointName"), get(d.props, "deploymentName"))
            if UNKNOWN in key:
                self._unknown.append((*key, d.urn))
            else:
                self._known.setdefault(key, set()).add(d.urn)

    def named(self, endpoint: str, name: str) -> set[str]:
        # A name unknown during preview may be any name: a deployment's endpointName is
        # usually the endpoint's output, unknown while the endpoint is being created.
        return self._known.get((endpoint, name), set()) | {
            urn
            for e, d, urn in self._unknown
            if (e is UNKNOWN or e == endpoint) and (d is UNKNOWN or d == name)
        }


def _route_waits_for_services(
    route: PolicyResource, services: dict[str, str], report: ReportViolation
) -> None:
    namespace = namespace_of(route.props)
    waits_for = {d.urn for d in route.dependencies}
    named: set[str] = set()
    for rule in elements(get(route.props, "spec", "rules")):
        for backend in elements(get(rule, "backendRefs")):
            if text(get(backend, "kind")) in ("", "Service"):
                named.add(_service_ref(backend, namespace))
        for filter_ in route_filters(rule):
            if get(filter_, "type") == "RequestMirror":
                ref = get(filter_, "requestMirror", "backendRef")
                named.add(_service_ref(ref, namespace))
    route_name = get(route.props, "metadata", "name")
    for ref in sorted(n for n in named if n):
        name = ref.removeprefix(f"{namespace}/")
        if ref not in services:
            report(
                f"route {route_name!r} sends traffic to Service {name!r}, which is not in this "
                "stack (TRF-05). Fix: declare the deployment or remove it from traffic.",
                route.urn,
            )
        elif services[ref] not in waits_for:
            report(
                f"route {route_name!r} does not wait for Service {name!r} (TRF-05). Fix: make "
                "the route depend on it.",
                route.urn,
            )


def _service_ref(backend: Any, namespace: str) -> str:
    """namespace/name of a Service backendRef ("" when its name is unknown or absent)."""
    name, other = get(backend, "name"), get(backend, "namespace")
    if not isinstance(name, str) or not name or other is UNKNOWN:
        return ""
    return f"{other if isinstance(other, str) and other else namespace}/{name}"


traffic_waits_for_deployments = stack_policy(
    "trf-05-traffic-waits-for-deployments",
    description="Traffic names only deployments in the stack and waits for each (TRF-01, TRF-05).",
    level=MANDATORY,
    severity=Severity.HIGH,
    remediation="Declare every deployment named in traffic and mirror_traffic; the program "
    "makes the traffic resource (or route) depend on each.",
    validate=_waits_for_deployments,
)


def _protected(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == tokens.ONLINE_ENDPOINT and not args.opts.protect:
        report(
            "prod endpoints are protected: deleting an endpoint deletes every deployment behind "
            "it (TRF-11). Fix: set protect on the endpoint.",
            None,
        )


endpoint_protected = resource_policy(
    "trf-11-endpoint-protected",
    description="Prod endpoints are protected: deleting an endpoint deletes all its deployments "
    "(TRF-11). Prod only.",
    level=MANDATORY,
    severity=Severity.HIGH,
    remediation="Keep environment: prod (the program protects prod endpoints); to delete one, "
    "`pulumi state unprotect` it first.",
    validate=_protected,
)


def _kubernetes_compute(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for endpoint in endpoint_definitions(args.resource_type, args.props):
        # Managed endpoints have no compute; a Kubernetes online endpoint names its
        # attached Kubernetes compute.
        if not get(endpoint, "properties", "compute"):
            continue
        if entries(get(endpoint, "properties", "mirrorTraffic")):
            report(
                "a Kubernetes online endpoint sets mirrorTraffic; Azure ML mirrors traffic on "
                "managed endpoints only (TRF-04). Fix: remove mirror_traffic, or use a managed "
                "endpoint.",
                None,
            )
        mode = get(endpoint, "properties", "authMode")
        if mode is not UNKNOWN and text(mode).replace("_", "").lower() == "aadtoken":
            report(
                "a Kubernetes online endpoint uses AADToken; Entra auth works on managed "
                "endpoints only (TRF-04). Fix: use aml_token or key on Kubernetes compute.",
                None,
            )


managed_only_features = resource_policy(
    "trf-04-managed-only-features",
    description="Azure ML Kubernetes online endpoints use neither mirror traffic nor AADToken, "
    "which only managed endpoints support (TRF-04).",
    level=MANDATORY,
    severity=Severity.HIGH,
    remediation="Remove mirror_traffic and use aml_token or key on Kubernetes online endpoints.",
    validate=_kubernetes_compute,
)

STEP_TUNABLES: dict[str, dict[str, Any]] = {
    "previousTraffic": {
        "type": "object",
        "description": "The live traffic before this change, per endpoint: {ENDPOINT: "
        "{traffic: {DEPLOYMENT: percent}, mirror_traffic: {...}, stable: DEPLOYMENT?}} - the "
        "shape of the stack output `endpoints`. Absent: the step rules do not apply.",
    },
    "maxStepPercent": integer(25, 1, 100, "Largest rise of one deployment's share per change."),
    "maxCanaryPercent": integer(
        50, 1, 100, "Largest first share of a deployment that had no live traffic."
    ),
    "endpoints": {
        "type": "object",
        "description": "Per-endpoint overrides: {ENDPOINT: {maxStepPercent, maxCanaryPercent, "
        "steps}}; a rise to the next of `steps` (the endpoint's rollout schedule) is allowed "
        "even when larger than maxStepPercent.",
        "additionalProperties": {
            "type": "object",
            "properties": {
                "maxStepPercent": {"type": "integer", "minimum": 1, "maximum": 100},
                "maxCanaryPercent": {"type": "integer", "minimum": 1, "maximum": 100},
                "steps": {"type": "array", "items": {"type": "integer"}},
            },
            "additionalProperties": False,
        },
    },
}


class Unreadable(ValueError):
    """Previous traffic that is given but cannot be read: the step rules fail closed."""


@dataclass(frozen=True)
class Previous:
    """One endpoint's traffic before the change; ``stable`` is the deployment a rollback
    returns to, when the caller knows it (mlep fills it from git history)."""

    traffic: dict[str, int]
    mirror: dict[str, int]
    stable: str | None = None


def previous_shares(entry: Any) -> Previous:
    """One endpoint's previous state; raises Unreadable."""
    if not isinstance(entry, Mapping):
        raise Unreadable(f"expected an object, got {entry!r}")
    values = entries(entry)
    traffic, mirror = values.get("traffic"), values.get("mirror_traffic", {})
    if not isinstance(traffic, Mapping):
        raise Unreadable(f"`traffic` must be an object of percentages, got {traffic!r}")
    if not isinstance(mirror, Mapping):
        raise Unreadable(f"`mirror_traffic` must be an object of percentages, got {mirror!r}")
    stable = values.get("stable")
    if stable is not None and not isinstance(stable, str):
        raise Unreadable(f"`stable` must be a deployment name, got {stable!r}")
    shares: list[dict[str, int]] = []
    for field, weights in (("traffic", traffic), ("mirror_traffic", mirror)):
        parsed = {}
        for key, value in entries(weights).items():
            weight = as_weight(value)
            if weight is None:
                raise Unreadable(f"{field}.{key} is {value!r}, not a whole number 0-100")
            parsed[str(key)] = weight
        shares.append(parsed)
    return Previous(shares[0], shares[1], stable)


def _steps(args: ResourceValidationArgs, report: ReportViolation) -> None:
    # An OnlineEndpoint created without traffic (the program's) sets none: only the
    # resource that sets traffic is compared with the previous traffic.
    settings_ = [
        s
        for s in traffic_settings(args.resource_type, args.props)
        if s.traffic is not None or s.mirror is not None
    ]
    if not settings_:
        return
    config = settings(args, STEP_TUNABLES)
    previous = config.get("previousTraffic")
    if previous is None:
        args.not_applicable(
            "no previous traffic given (a first deploy, or a plan without --base): TRF-06/07 "
            "compare against it"
        )
    for setting in settings_:
        if not isinstance(previous, Mapping):
            report(
                f"endpoint {setting.endpoint!r}: previousTraffic is given but is not an object "
                f"({previous!r}), so the step rules cannot pass (TRF-06). Fix: pass the stack "
                "output `endpoints` (pulumi stack output endpoints --json).",
                None,
            )
            continue
        entry = entries(previous).get(setting.endpoint)
        if entry is None:
            continue  # a new endpoint: its first traffic is free
        try:
            before = previous_shares(entry)
        except Unreadable as error:
            report(
                f"endpoint {setting.endpoint!r}: previous traffic is unreadable ({error}), so the "
                "step rules cannot pass (TRF-06). Fix: pass the stack output `endpoints` as "
                "previousTraffic.",
                None,
            )
            continue
        _check_steps(setting, before, config, report)


def _check_steps(
    setting: EndpointTraffic, previous: Previous, config: dict[str, Any], report: ReportViolation
) -> None:
    before, mirror_before = previous.traffic, previous.mirror
    overrides = entries(entries(config.get("endpoints")).get(setting.endpoint))
    max_step = as_int(overrides.get("maxStepPercent")) or config["maxStepPercent"]
    max_canary = as_int(overrides.get("maxCanaryPercent")) or config["maxCanaryPercent"]
    schedule = sorted(
        {w for w in (as_int(s) for s in elements(overrides.get("steps"))) if w is not None}
    )
    after, mirror_after = setting.shares(), setting.mirror_shares()
    where = f"endpoint {setting.endpoint!r}"
    if after is not None and sum(before.values()) > 0:
        gains = {d: share - before.get(d, 0) for d, share in after.items()}
        rising = {d: g for d, g in gains.items() if g > 0}
        top = max(before.values())
        # TRF-08: moving share back to the previously dominant (or stable) deployment.
        targets = {d for d, share in before.items() if share == top} | {previous.stable}
        if rising and not set(rising) <= targets:
            for deployment, gain in sorted(rising.items()):
                was, now = before.get(deployment, 0), after[deployment]
                scheduled = now == next((s for s in schedule if s > was), None)
                if gain > max_step and not scheduled:
                    report(
                        f"{where}: {deployment!r} rises from {was}% to {_pct(now)}%, more than "
                        f"the {max_step}% step allowed per change (TRF-06). Fix: raise it to at "
                        f"most {was + max_step}% now (mlep rollout moves one step at a time).",
                        None,
                    )
                if was == 0 and (now > max_canary or now >= 100):
                    report(
                        f"{where}: {deployment!r} goes from no traffic to {_pct(now)}% without "
                        f"a canary step of at most {max_canary}% (TRF-07). Fix: start it at a "
                        "canary share (e.g. 5%) and raise it in later changes.",
                        None,
                    )
    if mirror_after is not None:
        for deployment, share in sorted(mirror_after.items()):
            was = mirror_before.get(deployment, 0)
            if share - was > max_step:
                report(
                    f"{where}: mirror traffic to {deployment!r} rises from {was}% to "
                    f"{_pct(share)}%, more than {max_step}% per change (TRF-06). Fix: raise "
                    "it in steps; lowering it is always allowed.",
                    None,
                )


def _pct(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


traffic_steps = resource_policy(
    "trf-06-08-traffic-steps",
    description="Against the previous traffic (policy config previousTraffic): a deployment's "
    "share rises by at most maxStepPercent per change, or to the next step of its rollout "
    "schedule (TRF-06); a deployment without traffic starts with a canary share of at most "
    "maxCanaryPercent (TRF-07); moving share back to the previously dominant deployment and "
    "lowering mirror traffic are always allowed (TRF-08).",
    level=MANDATORY,
    severity=Severity.HIGH,
    remediation="Move traffic one rollout step per change (`mlep rollout`); to undo a step, "
    "move traffic back to the previous deployment (`mlep rollback`), which is always allowed.",
    validate=_steps,
    tunables=STEP_TUNABLES,
)


def _live_deployments_alerted(args: StackValidationArgs, report: ReportViolation) -> None:
    resources = list(args.resources)
    coverage = Coverage(stack_alerts(resources))
    for resource in resources:
        for setting in traffic_settings(resource.resource_type, resource.props):
            shares = setting.shares() or {}
            for deployment, share in sorted(shares.items()):
                if share <= 0:
                    continue
                signals = coverage.of(setting.endpoint, deployment)
                missing = []
                if "latency" not in signals:
                    missing.append("latency")
                if not {"server_errors", "success"} & signals:
                    missing.append("errors")
                if missing:
                    report(
                        f"endpoint {setting.endpoint!r}: {deployment!r} takes {_pct(share)}% of "
                        f"live traffic with no alert on {' or '.join(missing)} (TRF-09). Fix: "
                        "configure the stack's alerts (action_group and "
                        "log_analytics_workspace_id on Azure) before sending it traffic.",
                        resource.urn,
                    )


live_deployments_alerted = stack_policy(
    "trf-09-live-deployments-alerted",
    description="A deployment that receives live traffic has latency and error alerts in the "
    "stack (TRF-09). Prod only.",
    level=MANDATORY,
    severity=Severity.HIGH,
    remediation="Configure alerts (Azure: action_group and log_analytics_workspace_id; "
    "Kubernetes: the endpoint's PrometheusRule) before routing traffic.",
    validate=_live_deployments_alerted,
)

MAX_ROUTE_WEIGHT = 1_000_000


def _route_weights(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != tokens.HTTP_ROUTE:
        return
    route = get(args.props, "metadata", "name")
    for index, rule in enumerate(elements(get(args.props, "spec", "rules"))):
        where = f"route {route!r} rule {index}"
        backends = elements(get(rule, "backendRefs"))
        weights = []
        for backend in backends:
            value = get(backend, "weight")
            weight = 1 if value is None else value  # Gateway API default
            if weight is UNKNOWN:
                weights.append(UNKNOWN)
                continue
            number = as_int(weight)
            if number is None or not 0 <= number <= MAX_ROUTE_WEIGHT:
                report(
                    f"{where}: backend {get(backend, 'name')!r} has weight {value!r}; Gateway API "
                    f"weights are integers 0-{MAX_ROUTE_WEIGHT:,} (TRF-10). Fix: set an integer "
                    "weight.",
                    None,
                )
            weights.append(number)
        if backends and UNKNOWN not in weights and not any((w or 0) > 0 for w in weights):
            report(
                f"{where}: every backend has weight 0, so the route serves only errors "
                "(TRF-10). Fix: give at least one backend a positive weight.",
                None,
            )
        for filter_ in route_filters(rule):
            if get(filter_, "type") != "RequestMirror":
                continue
            mirror = get(filter_, "requestMirror")
            if get(mirror, "percent") is not None and get(mirror, "fraction") is not None:
                report(
                    f"{where}: RequestMirror sets both percent and fraction (TRF-10). Fix: set "
                    "one of them.",
                    None,
                )
                continue
            share = mirror_percent(mirror)
            if share is UNKNOWN:
                continue
            mirrored = as_number(share)
            percent = get(mirror, "percent")
            if (
                mirrored is None
                or not 0 <= mirrored <= 100
                or (percent is not None and as_int(percent) is None)
            ):
                report(
                    f"{where}: RequestMirror mirrors {share!r}; it must be percent 0-100 (an "
                    "integer) or a fraction with numerator <= denominator (TRF-10). Fix: set "
                    "percent.",
                    None,
                )


route_weights = resource_policy(
    "trf-10-route-weights",
    description="Gateway API HTTPRoutes: backend weights are integers 0-1,000,000 with at least "
    "one above 0 per rule; RequestMirror uses percent or fraction, never both (TRF-10).",
    level=MANDATORY,
    severity=Severity.HIGH,
    remediation="Set integer backend weights with at least one positive; mirror with percent.",
    validate=_route_weights,
)

POLICIES = [
    traffic_weights,
    mirror_traffic,
    managed_only_features,
    traffic_waits_for_deployments,
    traffic_steps,
    live_deployments_alerted,
    route_weights,
    endpoint_protected,
]
