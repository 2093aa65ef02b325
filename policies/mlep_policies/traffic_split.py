"""Traffic splits (POLICY-RULES.md, TRF-01 to TRF-04, TRF-10): what the weights and mirror
shares of an Azure ML endpoint or a Gateway API HTTPRoute may look like."""

from __future__ import annotations

from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity, StackValidationArgs

from mlep_policies import tokens
from mlep_policies.define import MANDATORY, resource_policy, stack_policy
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
    route_filters,
    text,
    traffic_settings,
)
from mlep_policies.routing import MirrorTotal, route_mirrors, stack_traffic


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


def _mirror(args: StackValidationArgs, report: ReportViolation) -> None:
    found = stack_traffic(args.resources)
    for setting in found:
        traffic = setting.traffic
        if not traffic.route:
            _check_mirror(traffic, traffic.mirror or {}, setting.resource.urn, report)
    # A route's mirror is the endpoint's total over every filter of every route (routing.py).
    totals = route_mirrors(found)
    for endpoint, total in sorted(totals.items()):
        _check_route_mirror(endpoint, total, report)
    for setting in found:
        traffic = setting.traffic
        if traffic.route and traffic.endpoint in totals:
            mirror = totals[traffic.endpoint].shares
            _check_live_and_mirror(traffic, mirror, setting.resource.urn, report)


def _check_mirror(
    setting: EndpointTraffic, mirror: dict[str, Any], urn: str, report: ReportViolation
) -> None:
    """Azure ML: one mirrored deployment, a whole 0-50 %, and none with live traffic."""
    if len(mirror) > 1:
        report(
            f"endpoint {setting.endpoint!r}: mirror traffic goes to {len(mirror)} deployments; "
            "at most one may be mirrored (TRF-02). Fix: keep one shadow deployment.",
            urn,
        )
    for key, value in mirror.items():
        if value is UNKNOWN:
            continue
        weight = as_weight(value)
        if weight is None or not 0 <= weight <= 50:
            report(
                f"endpoint {setting.endpoint!r}: mirror traffic for {key!r} is {value!r}; "
                "it must be a whole number 0-50 (TRF-02). Fix: mirror at most 50 %.",
                urn,
            )
    _check_live_and_mirror(setting, mirror, urn, report)


def _check_route_mirror(endpoint: str, total: MirrorTotal, report: ReportViolation) -> None:
    urn = total.urns[0]
    mirrored = [d for d, share in total.shares.items() if share is UNKNOWN or share]
    if len(mirrored) > 1:
        report(
            f"endpoint {endpoint!r}: routes mirror traffic to {len(mirrored)} deployments "
            f"({', '.join(sorted(mirrored))}); at most one may be mirrored (TRF-02). Fix: keep "
            "one shadow deployment.",
            urn,
        )
    for key, value in sorted(total.shares.items()):
        if value is UNKNOWN:
            continue
        weight = _rounded(value)
        if weight is None or not 0 <= weight <= 50:
            shown = f"{percent_text(value)}%" if weight is not None else repr(value)
            report(
                f"endpoint {endpoint!r}: mirror traffic for {key!r} is {shown} in total over "
                "every RequestMirror filter that reaches it; the total must be at most 50 % "
                "(TRF-02). Fix: mirror at most 50 % in all.",
                urn,
            )


def _check_live_and_mirror(
    setting: EndpointTraffic, mirror: dict[str, Any], urn: str, report: ReportViolation
) -> None:
    """TRF-03: a deployment with live traffic is not mirrored too."""
    for key, value in sorted(mirror.items()):
        number = as_number(value)
        live = (setting.traffic or {}).get(key, 0)
        if not number or live is UNKNOWN or (as_number(live) or 0) <= 0:
            continue
        share = (setting.shares() or {}).get(key, live)
        mirrored = _rounded(number) if setting.route else number
        report(
            f"endpoint {setting.endpoint!r}: {key!r} gets {percent_text(share)}% live and "
            f"{percent_text(mirrored or number)}% mirror traffic "
            "(TRF-03). Fix: mirror only a deployment with 0 live traffic.",
            urn,
        )


def _rounded(value: Any) -> int | None:
    """A route mirror share (a fraction may give 12.5 %): whole percent, rounded up."""
    number = as_number(value)
    return None if number is None else -int(-number // 1)


mirror_traffic = stack_policy(
    "trf-02-03-mirror-traffic",
    description="Mirror traffic: one deployment, at most 50 % in total over every mirror "
    "filter and route that reaches it, never one with live traffic (TRF-02, TRF-03).",
    level=MANDATORY,
    severity=Severity.HIGH,
    remediation="Mirror at most 50 % to a single deployment that gets 0 live traffic.",
    validate=_mirror,
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

MAX_ROUTE_WEIGHT = 1_000_000


def _route_weights(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not tokens.is_route(args.resource_type):
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
    description="Gateway API routes (every kind): backend weights are integers 0-1,000,000 with "
    "at least "
    "one above 0 per rule; RequestMirror uses percent or fraction, never both (TRF-10).",
    level=MANDATORY,
    severity=Severity.HIGH,
    remediation="Set integer backend weights with at least one positive; mirror with percent.",
    validate=_route_weights,
)


def percent_text(value: float) -> str:
    """A share in percent as messages quote it: 25, or 12.5."""
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"
