"""Safe reading of engine-visible properties: unknown-at-preview values never crash a policy."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pulumi_policy.proxy import UnknownValueError

from mlep_policies import tokens


def get(props: Any, *path: str) -> Any:
    """props[path[0]][path[1]]..., or None when absent or unknown during preview."""
    node = props
    try:
        for key in path:
            if not isinstance(node, Mapping) or key not in node:
                return None
            node = node[key]
    except UnknownValueError:
        return None
    return node


@dataclass(frozen=True)
class EndpointTraffic:
    """An endpoint's traffic as some resource in the stack sets it."""

    endpoint: str
    traffic: Mapping[str, Any] | None
    mirror: Mapping[str, Any] | None


def traffic_settings(resource_type: str, props: Any) -> Iterator[EndpointTraffic]:
    """Traffic set by an OnlineEndpoint itself or by an ARM template that PUTs one."""
    if resource_type == tokens.ONLINE_ENDPOINT:
        name = get(props, "endpointName")
        if isinstance(name, str):
            yield EndpointTraffic(
                name, get(props, "properties", "traffic"), get(props, "properties", "mirrorTraffic")
            )
    elif resource_type == tokens.ARM_DEPLOYMENT:
        for item in get(props, "properties", "template", "resources") or []:
            if str(get(item, "type")).lower() == tokens.ENDPOINT_ARM_TYPE.lower():
                name = str(get(item, "name") or "").split("/")[-1]
                yield EndpointTraffic(
                    name,
                    get(item, "properties", "traffic"),
                    get(item, "properties", "mirrorTraffic"),
                )


def as_weight(value: Any) -> int | None:
    """A whole number 0-100, else None. The wire carries every number as a float, so 25.0 is a
    weight but 25.5, True and "25" are not."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not float(value).is_integer() or not 0 <= value <= 100:
        return None
    return int(value)
