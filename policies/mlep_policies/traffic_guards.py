"""What live traffic stands on (POLICY-RULES.md, TRF-05, TRF-09, TRF-11): the deployments it
names exist first, alerts watch every deployment that takes it, prod endpoints are protected."""

from __future__ import annotations

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
from mlep_policies.define import MANDATORY, resource_policy, stack_policy
from mlep_policies.reading import (
    UNKNOWN,
    elements,
    get,
    namespace_of,
    route_filters,
    text,
    traffic_settings,
)
from mlep_policies.routing import Services, services_of, stack_traffic
from mlep_policies.traffic_split import percent_text


def _waits_for_deployments(args: StackValidationArgs, report: ReportViolation) -> None:
    deployments = _Deployments(
        [r for r in args.resources if tokens.is_type(r.resource_type, tokens.ONLINE_DEPLOYMENT)]
    )
    for resource in args.resources:
        if tokens.is_route(resource.resource_type):
            services = services_of(args.resources)
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
            key = (_endpoint_of(d), get(d.props, "deploymentName"))
            if UNKNOWN in key:
                self._unknown.append((*key, d.urn))
            else:
                self._known.setdefault(key, set()).add(d.urn)

    def named(self, endpoint: str, name: str) -> set[str]:
        # A name still unknown during preview (no endpoint among the deployment's
        # dependencies names it) may be any name: checked again on `pulumi up`.
        return self._known.get((endpoint, name), set()) | {
            urn
            for e, d, urn in self._unknown
            if (e is UNKNOWN or e == endpoint) and (d is UNKNOWN or d == name)
        }


def _endpoint_of(deployment: PolicyResource) -> Any:
    """A deployment's endpoint name. During preview of a new endpoint, `endpointName` is the
    endpoint's output and unknown; the endpoint it depends on still names it, so the lookup
    stays exact instead of matching every endpoint's traffic."""
    name = get(deployment.props, "endpointName")
    if name is not UNKNOWN:
        return name
    named = {
        get(d.props, "endpointName")
        for d in deployment.dependencies
        if tokens.is_type(d.resource_type, tokens.ONLINE_ENDPOINT)
    }
    return named.pop() if len(named) == 1 else UNKNOWN


def _route_waits_for_services(
    route: PolicyResource, services: Services, report: ReportViolation
) -> None:
    namespace = namespace_of(route.props)
    waits_for = {d.urn for d in route.dependencies}
    named: set[tuple[str, str]] = set()
    for rule in elements(get(route.props, "spec", "rules")):
        for backend in elements(get(rule, "backendRefs")):
            if text(get(backend, "kind")) in ("", "Service"):
                named.add(_service_ref(backend, namespace))
        for filter_ in route_filters(rule):
            if get(filter_, "type") == "RequestMirror":
                ref = get(filter_, "requestMirror", "backendRef")
                named.add(_service_ref(ref, namespace))
    route_name = get(route.props, "metadata", "name")
    for ref in sorted(n for n in named if n[1]):
        service = services.by_ref.get(ref)
        name = ref[1] if ref[0] == namespace else "/".join(ref)
        if service is None:
            report(
                f"route {route_name!r} sends traffic to Service {name!r}, which is not in this "
                "stack (TRF-05). Fix: declare the deployment or remove it from traffic.",
                route.urn,
            )
            continue
        if service.urn not in waits_for:
            report(
                f"route {route_name!r} does not wait for Service {name!r} (TRF-05). Fix: make "
                "the route depend on it.",
                route.urn,
            )
        reached = services.reach(*ref, None) or set()
        by_endpoint: dict[str, list[str]] = {}
        for target in sorted(reached):
            by_endpoint.setdefault(target.endpoint, []).append(target.deployment)
        for endpoint, deployments in sorted(by_endpoint.items()):
            if len(deployments) > 1:
                report(
                    f"route {route_name!r} sends traffic to Service {name!r}, which selects the "
                    f"pods of several deployments of endpoint {endpoint!r} "
                    f"({', '.join(deployments)}), so no weight controls their shares (TRF-01). "
                    "Fix: route to one Service per deployment (the program's "
                    f"{endpoint}-<deployment>).",
                    route.urn,
                )


def _service_ref(backend: Any, namespace: str) -> tuple[str, str]:
    """(namespace, name) of a Service backendRef (name "" when unknown or absent)."""
    name, other = get(backend, "name"), get(backend, "namespace")
    if not isinstance(name, str) or not name or other is UNKNOWN:
        return (namespace, "")
    return (other if isinstance(other, str) and other else namespace, name)


traffic_waits_for_deployments = stack_policy(
    "trf-05-traffic-waits-for-deployments",
    description="Traffic names only deployments in the stack and waits for each; a route's "
    "Service selects the pods of one deployment (TRF-01, TRF-05).",
    level=MANDATORY,
    severity=Severity.HIGH,
    remediation="Declare every deployment named in traffic and mirror_traffic; the program "
    "makes the traffic resource (or route) depend on each.",
    validate=_waits_for_deployments,
)


def _live_deployments_alerted(args: StackValidationArgs, report: ReportViolation) -> None:
    coverage = Coverage(stack_alerts(list(args.resources)))
    for found in stack_traffic(args.resources):
        setting = found.traffic
        for deployment, share in sorted((setting.shares() or {}).items()):
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
                    f"endpoint {setting.endpoint!r}: {deployment!r} takes "
                    f"{percent_text(share)}% of live traffic with no alert on "
                    f"{' or '.join(missing)} (TRF-09). Fix: configure the stack's alerts "
                    "(action_group and log_analytics_workspace_id on Azure) before sending "
                    "it traffic.",
                    found.resource.urn,
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


def _protected(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if tokens.is_type(args.resource_type, tokens.ONLINE_ENDPOINT) and not args.opts.protect:
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
