"""Traffic-change safety (POLICY-RULES.md, TRF-*): what a traffic split may look like."""

from __future__ import annotations

from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from mlep_policies import tokens
from mlep_policies.reading import UNKNOWN, as_weight, get, traffic_settings

MANDATORY = EnforcementLevel.MANDATORY


def _weights(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for setting in traffic_settings(args.resource_type, args.props):
        if setting.traffic is None:
            continue
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


traffic_weights = ResourceValidationPolicy(
    name="trf-01-traffic-weights",
    description="Traffic weights are integers 0-100 that sum to 100 (TRF-01).",
    enforcement_level=MANDATORY,
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
            weight = as_weight(value)
            if weight is None or not 0 <= weight <= 50:
                report(
                    f"endpoint {setting.endpoint!r}: mirror traffic for {key!r} is {value!r}; "
                    "it must be a whole number 0-50 (TRF-02). Fix: mirror at most 50 %.",
                    None,
                )
            live = (setting.traffic or {}).get(key, 0)
            if weight and live is not UNKNOWN and (as_weight(live) or 0) > 0:
                report(
                    f"endpoint {setting.endpoint!r}: {key!r} gets {live}% live and {weight}% "
                    "mirror traffic (TRF-03). Fix: mirror only a deployment with 0 live traffic.",
                    None,
                )


mirror_traffic = ResourceValidationPolicy(
    name="trf-02-03-mirror-traffic",
    description="Mirror traffic: one deployment, at most 50 %, never one with live traffic "
    "(TRF-02, TRF-03).",
    enforcement_level=MANDATORY,
    validate=_mirror,
)


def _waits_for_deployments(args: StackValidationArgs, report: ReportViolation) -> None:
    deployments = [r for r in args.resources if r.resource_type == tokens.ONLINE_DEPLOYMENT]
    for resource in args.resources:
        for setting in traffic_settings(resource.resource_type, resource.props):
            # Every key, whatever its share: Azure rejects traffic that names a deployment
            # which does not exist (yet).
            named = set(setting.traffic or {}) | set(setting.mirror or {})
            waits_for = {d.urn for d in resource.dependencies}
            for name in sorted(named):
                candidates = {
                    d.urn
                    for d in deployments
                    if _matches(get(d.props, "endpointName"), setting.endpoint)
                    and _matches(get(d.props, "deploymentName"), name)
                }
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


def _matches(value: Any, name: str) -> bool:
    # A name unknown during preview may be any name: a deployment's endpointName is usually
    # the endpoint's output, unknown while the endpoint is being created.
    return value is UNKNOWN or value == name


traffic_waits_for_deployments = StackValidationPolicy(
    name="trf-05-traffic-waits-for-deployments",
    description="Traffic names only deployments in the stack and waits for each (TRF-01, TRF-05).",
    enforcement_level=MANDATORY,
    validate=_waits_for_deployments,
)


def _protected(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == tokens.ONLINE_ENDPOINT and not args.opts.protect:
        report(
            "prod endpoints are protected: deleting an endpoint deletes every deployment behind "
            "it (TRF-11). Fix: set protect on the endpoint.",
            None,
        )


endpoint_protected = ResourceValidationPolicy(
    name="trf-11-endpoint-protected",
    description="Prod endpoints are protected (TRF-11). Prod only: disabled for other stacks.",
    enforcement_level=MANDATORY,
    validate=_protected,
)

POLICIES = [traffic_weights, mirror_traffic, traffic_waits_for_deployments, endpoint_protected]
