"""Safe reading of engine-visible properties: unknown-at-preview values never crash a policy."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pulumi_policy.proxy import UnknownValueError

from mlep_policies import tokens


class _Unknown:
    """A value the engine cannot know during preview (it depends on another resource's
    output). A policy skips the check it would feed: the same check runs on `pulumi up`."""

    def __repr__(self) -> str:
        return "<unknown during preview>"


UNKNOWN: Any = _Unknown()
T = TypeVar("T")


def get(props: Any, *path: str | int) -> Any:
    """props[path[0]][path[1]]...: None when absent, UNKNOWN when unknown during preview."""
    node = props
    for key in path:
        if type(node) is dict:  # plain inputs (mlep): no proxy, nothing unknown
            node = node.get(key)
            continue
        if node is UNKNOWN:
            return UNKNOWN  # below an unknown value everything is unknown
        if isinstance(node, Mapping):
            if key not in _keys(node):
                return None
        elif not (isinstance(key, int) and _is_list(node) and 0 <= key < len(node)):
            return None
        try:
            node = node[key]
        except UnknownValueError:
            return UNKNOWN
    return node


def entries(value: Any) -> dict[str, Any]:
    """A mapping's items with each unknown value as UNKNOWN; {} for anything else."""
    if not isinstance(value, Mapping):
        return {}
    return {key: get(value, key) for key in _keys(value)}


def elements(value: Any) -> list[Any]:
    """A list's items with each unknown item as UNKNOWN; [] for anything else."""
    if not _is_list(value):
        return []
    return [get(value, index) for index in range(len(value))]


def _keys(mapping: Mapping[Any, Any]) -> list[Any]:
    # Iterating keys never reads a value, so it cannot hit the SDK proxy's unknown check
    # (`key in mapping` can: Mapping.__contains__ reads the value).
    return list(iter(mapping))


def _is_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str | bytes)


@dataclass(frozen=True)
class EndpointTraffic:
    """An endpoint's traffic as some resource in the stack sets it (unknown weights UNKNOWN).

    ``route`` is True for one rule of a Gateway API route, whose weights are relative: a
    deployment's share is its weight over the rule's total, ``other`` being the weight of the
    rule's backends that reach no deployment of this endpoint. Azure ML's weights are
    percentages that sum to 100. Deployment names are the endpoint's own (routing.py resolves
    a route's backends to them).
    """

    endpoint: str
    traffic: dict[str, Any] | None
    mirror: dict[str, Any] | None
    route: bool = False
    other: Any = 0.0

    def shares(self) -> dict[str, float] | None:
        """Each deployment's live share in percent; None when a weight is unknown or invalid."""
        weights = self.traffic or {}
        numbers = {k: as_number(v) for k, v in weights.items()}
        if any(v is None or v < 0 for v in numbers.values()):
            return None
        known = {k: float(v) for k, v in numbers.items() if v is not None}
        if not self.route:
            return known
        other = as_number(self.other)
        if other is None or other < 0:
            return None
        total = sum(known.values()) + other
        return {k: (100 * v / total if total else 0.0) for k, v in known.items()}

    def mirror_shares(self) -> dict[str, float] | None:
        numbers = {k: as_number(v) for k, v in (self.mirror or {}).items()}
        if any(v is None for v in numbers.values()):
            return None
        return {k: float(v) for k, v in numbers.items() if v is not None}


def endpoint_templates(props: Any) -> list[Any]:
    """The online endpoints an ARM template deployment PUTs (the program's traffic resource)."""
    return [
        item
        for item in elements(get(props, "properties", "template", "resources"))
        if str(get(item, "type")).lower() == tokens.ENDPOINT_ARM_TYPE.lower()
    ]


def endpoint_definitions(resource_type: str, props: Any) -> list[Any]:
    """The online endpoint definitions a resource carries: an OnlineEndpoint's own props, or
    each endpoint its ARM template PUTs (the program's traffic resource)."""
    if tokens.is_type(resource_type, tokens.ONLINE_ENDPOINT):
        return [props]
    if tokens.is_type(resource_type, tokens.ARM_DEPLOYMENT):
        return endpoint_templates(props)
    return []


def traffic_settings(resource_type: str, props: Any) -> Iterator[EndpointTraffic]:
    """Azure traffic, set by an OnlineEndpoint itself or by an ARM template that PUTs one (a
    route's traffic depends on the Services of the stack: routing.stack_traffic). An endpoint
    whose name is unknown during preview is skipped."""
    if tokens.is_type(resource_type, tokens.ONLINE_ENDPOINT):
        name = get(props, "endpointName")
        if isinstance(name, str):
            yield EndpointTraffic(
                name,
                _weights(get(props, "properties", "traffic")),
                _weights(get(props, "properties", "mirrorTraffic")),
            )
    elif tokens.is_type(resource_type, tokens.ARM_DEPLOYMENT):
        for item in endpoint_templates(props):
            name = get(item, "name")  # workspace/endpoint
            if isinstance(name, str):
                yield EndpointTraffic(
                    name.split("/")[-1],
                    _weights(get(item, "properties", "traffic")),
                    _weights(get(item, "properties", "mirrorTraffic")),
                )


def route_endpoint(props: Any) -> str | None:
    """The endpoint a Kubernetes object belongs to: its endpoint label, else its name."""
    label = labels_of(props).get(tokens.ENDPOINT_LABEL)
    if isinstance(label, str) and label:
        return label
    name = get(props, "metadata", "name")
    return name if isinstance(name, str) and name else None


def route_filters(rule: Any) -> list[Any]:
    """A route rule's filters and those of each of its backendRefs."""
    filters = elements(get(rule, "filters"))
    return filters + [
        f for b in elements(get(rule, "backendRefs")) for f in elements(get(b, "filters"))
    ]


def mirror_percent(mirror: Any) -> Any:
    """A RequestMirror's share in percent: `percent`, else `fraction`, else all requests."""
    percent, fraction = get(mirror, "percent"), get(mirror, "fraction")
    if percent is not None:
        return percent
    if fraction is None:
        return 100.0
    numerator, denominator = get(fraction, "numerator"), get(fraction, "denominator")
    if UNKNOWN in (numerator, denominator):
        return UNKNOWN
    top = as_number(numerator)
    bottom = 100.0 if denominator is None else as_number(denominator)
    if top is None or not bottom:
        return None
    return 100 * top / bottom


def _weights(value: Any) -> dict[str, Any] | None:
    return entries(value) if isinstance(value, Mapping) else None


def as_weight(value: Any) -> int | None:
    """A whole number 0-100, else None. The wire carries every number as a float, so 25.0 is a
    weight but 25.5, True and "25" are not."""
    whole = as_int(value)
    return whole if whole is not None and 0 <= whole <= 100 else None


def as_number(value: Any) -> float | None:
    """A number as the wire carries it (every number a float); None for bools, strings and
    anything else, so `"50"` and `True` never pass for numbers."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def as_int(value: Any) -> int | None:
    """A whole number (25.0 from the wire counts), else None."""
    number = as_number(value)
    return int(number) if number is not None and number.is_integer() else None


def text(value: Any) -> str:
    """A string value, or "" for anything else (absent, unknown, a number)."""
    return value if isinstance(value, str) else ""


_ISO_DURATION = re.compile(
    r"^P(?:(?P<d>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$",
    re.IGNORECASE,
)
# GEP-2257: one to four parts of at most five digits each.
_GATEWAY_DURATION = re.compile(r"^(?:\d{1,5}(?:h|ms|m|s)){1,4}$")
_GATEWAY_PART = re.compile(r"(\d+)(h|ms|m|s)")
_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def iso_seconds(value: Any) -> float | None:
    """An ISO 8601 duration as Azure takes it (`PT5S`, `PT0.5S`, `PT1M30S`) in seconds."""
    if not isinstance(value, str) or value.upper() in ("P", "PT"):
        return None
    match = _ISO_DURATION.match(value.strip())
    if not match:
        return None
    parts = {k: float(v) for k, v in match.groupdict().items() if v is not None}
    return (
        parts.get("d", 0) * 86400 + parts.get("h", 0) * 3600 + parts.get("m", 0) * 60
    ) + parts.get("s", 0)


def gateway_seconds(value: Any) -> float | None:
    """A Gateway API duration (GEP-2257: `5s`, `1m30s`, `500ms`) in seconds."""
    if not isinstance(value, str) or not _GATEWAY_DURATION.match(value):
        return None
    return sum(int(n) * _UNIT_SECONDS[unit] for n, unit in _GATEWAY_PART.findall(value))


# Kubernetes objects: the token is kubernetes:<group/version>:<Kind>.


def kind(resource_type: str) -> str | None:
    """The Kind of a Kubernetes resource token, else None."""
    if not resource_type.startswith("kubernetes:"):
        return None
    return resource_type.rsplit(":", 1)[-1]


def labels_of(props: Any) -> dict[str, Any]:
    return entries(get(props, "metadata", "labels"))


def same(a: Any, b: Any) -> bool:
    """Equal, or possibly equal: a value unknown during preview may be anything."""
    return a is UNKNOWN or b is UNKNOWN or a == b


def namespace_of(props: Any) -> str:
    """The object's namespace; an object without one lands in `default`."""
    value = get(props, "metadata", "namespace")
    return value if isinstance(value, str) and value else "default"


def pod_template(workload_kind: str, props: Any) -> tuple[Any, Any]:
    """(pod metadata, pod spec) of a workload, or (None, None) for other kinds."""
    if workload_kind == "Pod":
        return get(props, "metadata"), get(props, "spec")
    if workload_kind == "CronJob":
        template = get(props, "spec", "jobTemplate", "spec", "template")
    elif workload_kind in tokens.WORKLOAD_KINDS:
        template = get(props, "spec", "template")
    else:
        return None, None
    return get(template, "metadata"), get(template, "spec")


def containers(pod_spec: Any, *, init: bool = False) -> list[Any]:
    """The serving containers of a pod spec (init containers run to completion, so they serve
    nothing; ``init`` adds them, for rules about what any container may hold)."""
    fields = ("containers", "initContainers") if init else ("containers",)
    return [c for field in fields for c in elements(get(pod_spec, field)) if isinstance(c, Mapping)]


def selector_matches(selector: Any, labels: Mapping[str, Any]) -> bool:
    """Whether a Kubernetes label selector selects ``labels``. An empty selector selects all;
    an unknown selector counts as selecting (it is checked once known)."""
    if selector is UNKNOWN:
        return True
    if not isinstance(selector, Mapping):
        return False
    for key, value in entries(get(selector, "matchLabels")).items():
        if UNKNOWN not in (value, labels.get(key)) and labels.get(key) != value:
            return False
    return all(
        _expression_matches(expression, labels)
        for expression in elements(get(selector, "matchExpressions"))
    )


class SelectorIndex(Generic[T]):
    """Objects with a label selector (PodDisruptionBudgets, NetworkPolicies) by the labels they
    select. Each is filed under its selector's rarest known matchLabels entry (an endpoint's
    name, not `deployment: blue`), so finding the ones that select a pod reads a few candidates
    instead of every object in a fleet. Matching itself is `selector_matches`."""

    def __init__(self, objects: Sequence[tuple[Any, Any, T]]) -> None:
        """``objects``: (namespace, selector, the object), namespace possibly UNKNOWN."""
        self._filed: dict[tuple[Any, str, Any], list[tuple[Any, Any, T]]] = {}
        # Selectors that do not narrow down by a known entry (empty, unknown, expressions only).
        self._broad: list[tuple[Any, Any, T]] = []
        keyed = []
        for namespace, selector, item in objects:
            known = [
                (namespace, key, value)
                for key, value in entries(get(selector, "matchLabels")).items()
                if value is not UNKNOWN
            ]
            if known and namespace is not UNKNOWN:
                keyed.append((known, (namespace, selector, item)))
            else:
                self._broad.append((namespace, selector, item))
        counts = Counter(entry for known, _ in keyed for entry in known)
        for known, filed in keyed:
            rarest = min(known, key=lambda entry: (counts[entry], entry[1]))
            self._filed.setdefault(rarest, []).append(filed)

    def selecting(self, namespace: Any, labels: Any) -> list[T]:
        """The objects in ``namespace`` whose selector selects pods with ``labels``
        (labels UNKNOWN during preview: every object in the namespace may)."""
        known = entries(labels)
        if labels is UNKNOWN or UNKNOWN in known.values():
            candidates = [*self._broad, *(o for filed in self._filed.values() for o in filed)]
        else:
            candidates = [
                *self._broad,
                *(o for k, v in known.items() for o in self._filed.get((namespace, k, v), [])),
            ]
        return [
            item
            for item_namespace, selector, item in candidates
            if same(item_namespace, namespace)
            and (labels is UNKNOWN or selector_matches(selector, known))
        ]


def _expression_matches(expression: Any, labels: Mapping[str, Any]) -> bool:
    key, operator = get(expression, "key"), get(expression, "operator")
    if UNKNOWN in (expression, key, operator, labels.get(key)):
        return True  # decided once known
    values = [v for v in elements(get(expression, "values")) if isinstance(v, str)]
    present = key in labels
    return {
        "Exists": present,
        "DoesNotExist": not present,
        "In": present and labels.get(key) in values,
        "NotIn": not present or labels.get(key) not in values,
    }.get(text(operator), True)


def resource_id_parts(value: Any) -> dict[str, str]:
    """`/subscriptions/s/resourceGroups/rg/providers/P/workspaces/w/onlineEndpoints/e` as
    {"subscriptions": "s", ..., "onlineEndpoints": "e"} with lower-cased keys."""
    if not isinstance(value, str):
        return {}
    parts = [p for p in value.split("/") if p]
    return {parts[i].lower(): parts[i + 1] for i in range(0, len(parts) - 1, 2)}
