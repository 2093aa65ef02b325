"""Where live traffic goes, read from the whole stack (POLICY-RULES.md TRF-02, TRF-03, TRF-06
to TRF-09, AV-01, NET-04).

A Gateway API route names Services, not deployments. Judging a route by its own label or name
would let a second, unlabelled route send every request to a canary, or split a mirror over two
filters to pass a cap. So the pack follows every backendRef of every route kind (HTTPRoute,
GRPCRoute, TLSRoute, TCPRoute, UDPRoute) to the Service it names and on to the pods that
Service selects: their `ml-endpoints/endpoint` and `ml-endpoints/deployment` labels say whose
traffic it is. A Service that is not in the stack is read by the program's naming
(`<endpoint>-<deployment>`, components/kubernetes/labels.py).

Gateway API facts used here (gateway-api apis/v1/httproute_types.go, shared_types.go): a
backendRef's `kind` defaults to Service in the core group, its `namespace` to the route's, its
`weight` to 1; a rule's requests go to its backends in proportion to their weights; a
RequestMirror filter on the rule or on one backend copies requests to its own backendRef.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from pulumi_policy import PolicyResource

from mlep_policies import tokens
from mlep_policies.reading import (
    UNKNOWN,
    EndpointTraffic,
    SelectorIndex,
    as_number,
    elements,
    entries,
    get,
    kind,
    labels_of,
    mirror_percent,
    namespace_of,
    pod_template,
    route_endpoint,
    route_filters,
    text,
    traffic_settings,
)


@dataclass(frozen=True, order=True)
class Target:
    """One deployment of one endpoint."""

    endpoint: str
    deployment: str


def _target(labels: dict[str, Any]) -> Target | None:
    endpoint, deployment = labels.get(tokens.ENDPOINT_LABEL), labels.get(tokens.DEPLOYMENT_LABEL)
    if isinstance(endpoint, str) and endpoint and isinstance(deployment, str) and deployment:
        return Target(endpoint, deployment)
    return None


class Services:
    """The stack's Services and the endpoint deployments whose pods each one selects."""

    def __init__(self, resources: Sequence[PolicyResource]) -> None:
        self.by_ref: dict[tuple[str, str], PolicyResource] = {}
        # Services whose reach is unknown during preview (selector or pod labels unknown).
        self._unknown: set[tuple[str, str]] = set()
        self._reach: dict[tuple[str, str], set[Target | None]] = defaultdict(set)
        selectors = []
        for resource in resources:
            if not tokens.is_type(resource.resource_type, tokens.K8S_SERVICE):
                continue
            name = get(resource.props, "metadata", "name")
            if not isinstance(name, str):
                continue
            ref = (namespace_of(resource.props), name)
            self.by_ref[ref] = resource
            selector = get(resource.props, "spec", "selector")
            if selector is UNKNOWN:
                self._unknown.add(ref)
            elif entries(selector):  # a Service without a selector selects no pods
                selectors.append((ref[0], {"matchLabels": selector}, ref))
        index = SelectorIndex(selectors)
        self.endpoints: set[str] = set()
        for resource in resources:
            workload = kind(resource.resource_type)
            if workload not in tokens.WORKLOAD_KINDS:
                continue
            labels = get(pod_template(workload, resource.props)[0], "labels")
            known = entries(labels)
            target = _target(known)
            if target is not None:
                self.endpoints.add(target.endpoint)
            unknown = labels is UNKNOWN or UNKNOWN in known.values()
            for ref in index.selecting(namespace_of(resource.props), labels):
                if unknown:
                    self._unknown.add(ref)
                else:
                    self._reach[ref].add(target)

    def reach(self, namespace: str, name: str, route_endpoint: str | None) -> set[Target] | None:
        """The deployments a Service sends to; an empty set when it reaches no endpoint's
        pods; None when unknown during preview."""
        ref = (namespace, name)
        if ref in self._unknown:
            return None
        service = self.by_ref.get(ref)
        if service is None:
            return {self._by_name(name, route_endpoint)}
        reached = self._reach.get(ref)
        if reached:
            return {t for t in reached if t is not None}
        # Selecting no pod of the stack (no selector, or pods declared elsewhere): its labels.
        own = _target(labels_of(service.props))
        return {own} if own else set()

    def _by_name(self, name: str, route_endpoint: str | None) -> Target:
        """A Service outside the stack, by the program's naming: the longest endpoint of the
        stack that prefixes it, else the route's own endpoint."""
        prefixes = [e for e in self.endpoints if name.startswith(f"{e}-")]
        endpoint = max(prefixes, key=len) if prefixes else route_endpoint or name
        return Target(endpoint, name.removeprefix(f"{endpoint}-"))


@dataclass
class _Rule:
    """What one route rule sends: (deployments reached, weight) per backend, and mirrors."""

    backends: list[tuple[set[Target], Any]] = field(default_factory=list)
    mirrors: list[tuple[set[Target], Any]] = field(default_factory=list)

    def settings(self) -> Iterator[EndpointTraffic]:
        endpoints = sorted(
            {t.endpoint for targets, _ in (*self.backends, *self.mirrors) for t in targets}
        )
        for endpoint in endpoints:
            live: dict[str, Any] = {}
            other: Any = 0.0
            for targets, weight in self.backends:
                own = [t.deployment for t in targets if t.endpoint == endpoint]
                if not own:
                    other = plus(other, weight)
                for deployment in own:
                    live[deployment] = plus(live.get(deployment, 0.0), weight)
            mirror: dict[str, Any] = {}
            for targets, share in self.mirrors:
                for t in targets:
                    if t.endpoint == endpoint:
                        mirror[t.deployment] = plus(mirror.get(t.deployment, 0.0), share)
            yield EndpointTraffic(endpoint, live, mirror, route=True, other=other)


def plus(a: Any, b: Any) -> float | None:
    """The sum of two weights; None, from which no share is computed, when either is unknown
    during preview or invalid (TRF-10 reports an invalid one)."""
    x, y = as_number(a), as_number(b)
    return None if x is None or y is None else x + y


def route_traffic(route: PolicyResource, services: Services) -> Iterator[EndpointTraffic]:
    """Each endpoint's traffic as each rule of ``route`` sets it."""
    namespace = namespace_of(route.props)
    hint = route_endpoint(route.props)
    for rule in elements(get(route.props, "spec", "rules")):
        found = _Rule()
        for backend in elements(get(rule, "backendRefs")):
            targets = _reached(backend, namespace, hint, services)
            weight = get(backend, "weight")
            if targets is None:  # unknown during preview: so is every share of the rule
                found.backends.append((set(), UNKNOWN))
            else:
                found.backends.append((targets, 1.0 if weight is None else weight))
        for filter_ in route_filters(rule):
            if get(filter_, "type") != "RequestMirror":
                continue
            mirror = get(filter_, "requestMirror")
            targets = _reached(get(mirror, "backendRef"), namespace, hint, services)
            if targets:
                found.mirrors.append((targets, mirror_percent(mirror)))
        yield from found.settings()


def route_endpoints(route: PolicyResource, services: Services) -> list[str]:
    """The endpoints a route reaches (its own label or name when it reaches none known)."""
    reached = sorted({s.endpoint for s in route_traffic(route, services)})
    return reached or [route_endpoint(route.props) or text(get(route.props, "metadata", "name"))]


def _reached(ref: Any, namespace: str, hint: str | None, services: Services) -> set[Target] | None:
    """The deployments a backendRef reaches; None when unknown during preview."""
    name, other_namespace = get(ref, "name"), get(ref, "namespace")
    ref_kind, group = get(ref, "kind"), get(ref, "group")
    if UNKNOWN in (ref, name, other_namespace, ref_kind, group) or not isinstance(name, str):
        return None
    if text(ref_kind) not in ("", "Service") or text(group) not in ("", "core"):
        return set()  # another kind of backend: no endpoint's Service
    return services.reach(text(other_namespace) or namespace, name, hint)


class Setting(NamedTuple):
    """An endpoint's traffic as one resource sets it (a route sets one per rule)."""

    resource: PolicyResource
    traffic: EndpointTraffic


def stack_traffic(resources: Sequence[PolicyResource]) -> tuple[Setting, ...]:
    """Every traffic setting of the stack: Azure endpoints and traffic templates, and every
    rule of every Gateway API route, by the endpoint whose deployments it reaches."""
    if _LAST.resources is not resources or _LAST.settings is None:
        found: list[Setting] = []
        for resource in resources:
            if tokens.is_route(resource.resource_type):
                routed = route_traffic(resource, services_of(resources))
                found.extend(Setting(resource, s) for s in routed)
            else:
                settings = traffic_settings(resource.resource_type, resource.props)
                found.extend(Setting(resource, s) for s in settings)
        _remember(resources).settings = tuple(found)
    assert _LAST.settings is not None
    return _LAST.settings


def services_of(resources: Sequence[PolicyResource]) -> Services:
    """The stack's Services index (built once per stack)."""
    if _LAST.resources is not resources or _LAST.services is None:
        _remember(resources).services = Services(resources)
    assert _LAST.services is not None
    return _LAST.services


@dataclass
class _Last:
    """What was read from the last stack, by identity. Several policies read the same stack
    (mlep's evaluation hands every stack policy one list), so the Services index and the
    traffic settings are built once per stack, not once per policy; a different list (the
    SDK's analyzer builds one per AnalyzeStack call) starts afresh. Holding the list keeps its
    identity from being reused."""

    resources: Sequence[PolicyResource] | None = None
    services: Services | None = None
    settings: tuple[Setting, ...] | None = None


_LAST = _Last()


def _remember(resources: Sequence[PolicyResource]) -> _Last:
    if _LAST.resources is not resources:
        _LAST.resources, _LAST.services, _LAST.settings = resources, None, None
    return _LAST


@dataclass
class MirrorTotal:
    """An endpoint's mirror traffic over all its routes: per deployment the summed share, and
    the routes that mirror (URNs)."""

    shares: dict[str, Any] = field(default_factory=dict)
    urns: list[str] = field(default_factory=list)

    def numbers(self) -> dict[str, float] | None:
        """Each deployment's total in percent; None when one is unknown or invalid."""
        numbers = {k: as_number(v) for k, v in self.shares.items()}
        if any(v is None for v in numbers.values()):
            return None
        return {k: float(v) for k, v in numbers.items() if v is not None}


def route_mirrors(settings: Sequence[Setting]) -> dict[str, MirrorTotal]:
    """Per endpoint, the mirror share each deployment gets summed over every RequestMirror
    filter of every route that reaches it. Summing is the bound: each filter copies the
    requests it sees, so two 30 % filters on one rule mirror 60 %."""
    totals: dict[str, MirrorTotal] = {}
    for setting in settings:
        traffic = setting.traffic
        if not traffic.route or not traffic.mirror:
            continue
        total = totals.setdefault(traffic.endpoint, MirrorTotal())
        for deployment, share in traffic.mirror.items():
            total.shares[deployment] = plus(total.shares.get(deployment, 0.0), share)
        if setting.resource.urn not in total.urns:
            total.urns.append(setting.resource.urn)
    return totals
