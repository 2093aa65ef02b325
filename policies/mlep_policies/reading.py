"""Safe reading of engine-visible properties: unknown-at-preview values never crash a policy."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pulumi_policy.proxy import UnknownValueError

from mlep_policies import tokens


class _Unknown:
    """A value the engine cannot know during preview (it depends on another resource's
    output). A policy skips the check it would feed: the same check runs on `pulumi up`."""

    def __repr__(self) -> str:
        return "<unknown during preview>"


UNKNOWN: Any = _Unknown()


def get(props: Any, *path: str | int) -> Any:
    """props[path[0]][path[1]]...: None when absent, UNKNOWN when unknown during preview."""
    node = props
    for key in path:
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
    """An endpoint's traffic as some resource in the stack sets it (unknown weights UNKNOWN)."""

    endpoint: str
    traffic: dict[str, Any] | None
    mirror: dict[str, Any] | None


def endpoint_templates(props: Any) -> list[Any]:
    """The online endpoints an ARM template deployment PUTs (the program's traffic resource)."""
    return [
        item
        for item in elements(get(props, "properties", "template", "resources"))
        if str(get(item, "type")).lower() == tokens.ENDPOINT_ARM_TYPE.lower()
    ]


def traffic_settings(resource_type: str, props: Any) -> Iterator[EndpointTraffic]:
    """Traffic set by an OnlineEndpoint itself or by an ARM template that PUTs one. An
    endpoint whose name is unknown during preview is skipped."""
    if resource_type == tokens.ONLINE_ENDPOINT:
        name = get(props, "endpointName")
        if isinstance(name, str):
            yield EndpointTraffic(
                name,
                _weights(get(props, "properties", "traffic")),
                _weights(get(props, "properties", "mirrorTraffic")),
            )
    elif resource_type == tokens.ARM_DEPLOYMENT:
        for item in endpoint_templates(props):
            name = get(item, "name")  # workspace/endpoint
            if isinstance(name, str):
                yield EndpointTraffic(
                    name.split("/")[-1],
                    _weights(get(item, "properties", "traffic")),
                    _weights(get(item, "properties", "mirrorTraffic")),
                )


def _weights(value: Any) -> dict[str, Any] | None:
    return entries(value) if isinstance(value, Mapping) else None


def as_weight(value: Any) -> int | None:
    """A whole number 0-100, else None. The wire carries every number as a float, so 25.0 is a
    weight but 25.5, True and "25" are not."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not float(value).is_integer() or not 0 <= value <= 100:
        return None
    return int(value)
