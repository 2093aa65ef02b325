"""The az ml fields import knows: which carry over, in what order, which are dropped and why,
and the helpers that check, drop and note them."""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection
from typing import Any

from ruamel.yaml.comments import CommentedMap

from mlep.authoring.azml.files import AzmlFile, Loc

# The spec's field order (the contract's), for the endpoint and each deployment.
ENDPOINT_ORDER = (
    "name",
    "description",
    "auth_mode",
    "public_network_access",
    "tags",
    "deployments",
    "traffic",
    "mirror_traffic",
)
DEPLOYMENT_ORDER = (
    "name",
    "model",
    "environment",
    "code_configuration",
    "instance_type",
    "instance_count",
    "autoscale",
    "request_settings",
    "liveness_probe",
    "readiness_probe",
    "environment_variables",
    "egress_public_network_access",
    "app_insights_enabled",
    "tags",
)

# Fields `az ml ... show` writes back; they describe a live resource, not a wanted state.
OUTPUT_ONLY = ("id", "provisioning_state", "creation_context")
ENDPOINT_FIELDS = (
    *(f for f in ENDPOINT_ORDER if f != "deployments"),
    *OUTPUT_ONLY,
    *("$schema", "identity", "properties", "kind", "compute"),
    *("scoring_uri", "openapi_uri", "location"),
)
DEPLOYMENT_FIELDS = (
    *(f for f in DEPLOYMENT_ORDER if f != "autoscale"),
    *OUTPUT_ONLY,
    *("$schema", "endpoint_name", "scale_settings", "description", "properties"),
    *("data_collector", "private_network_connection", "model_mount_path", "type", "resources"),
)
PROBE_FIELDS = ("initial_delay", "period", "timeout", "success_threshold", "failure_threshold")
REQUEST_FIELDS = (
    "request_timeout_ms",
    "max_concurrent_requests_per_instance",
    "max_queue_wait_ms",
)
SCALE_FIELDS = (
    "type",
    "min_instances",
    "max_instances",
    "polling_interval",
    "target_utilization_percentage",
)

# Dropped fields, and why: nothing in the spec (or the project) corresponds to them.
_DROPPED = {
    "properties": "free-form resource properties have no equivalent in the spec",
    "description": "deployments carry no description in the spec (the endpoint does)",
    "data_collector": "model data collection is not managed by this project; set it up "
    "after deployment if you need it",
    "private_network_connection": "the legacy network isolation flag; egress is governed by "
    "egress_public_network_access (default disabled)",
}

# Where az ml and this project default differently, an omitted field changes meaning: say so.
# (field, az ml default, our default, what to write to keep the az ml behaviour)
_DEFAULTS_THAT_DIFFER = {
    "endpoint": (
        ("auth_mode", "key", "aad_token (clients send an Entra token)", "auth_mode: key"),
        ("public_network_access", "enabled", "disabled", "public_network_access: enabled"),
    ),
    "deployment": (
        (
            "egress_public_network_access",
            "enabled",
            "disabled",
            "egress_public_network_access: enabled",
        ),
        ("app_insights_enabled", "false", "true", "app_insights_enabled: false"),
    ),
}


def check_fields(
    file: AzmlFile, loc: Loc, node: CommentedMap, known: Collection[str], what: str
) -> None:
    """A problem for every key of ``node`` that ``what`` does not have (with did-you-mean)."""
    for key in node:
        if key in known:
            continue
        close = difflib.get_close_matches(str(key), list(known), n=1, cutoff=0.6)
        fix = (
            f"did you mean {close[0]!r}?"
            if close
            else f"remove it; {what} accepts: {', '.join(sorted(known))}"
        )
        file.problem((*loc, key), f"unknown field {key!r} in {what}", fix, node[key])


def drop(file: AzmlFile, keys: tuple[str, ...]) -> None:
    """A note for each of ``keys`` the file sets: it is dropped, and why."""
    for key in keys:
        if file.data.get(key) is None:
            continue
        if key in _DROPPED:
            file.note((key,), f"{key} dropped: {_DROPPED[key]}")
        else:
            file.note((key,), f"{key} dropped: an output of `az ml ... show`, not a setting")


def note_defaults(file: AzmlFile, level: str) -> None:
    """A note for each omitted field whose default differs between az ml and this project."""
    for key, theirs, ours, keep in _DEFAULTS_THAT_DIFFER[level]:
        if file.data.get(key) is None:
            file.note(
                (),
                f"{key} not set: az ml defaults to {theirs}, this project to {ours}; "
                f"write `{keep}` to keep the az ml behaviour",
            )


def texts(file: AzmlFile, loc: Loc, values: Any) -> Any:
    """Numbers and booleans in a string map become their YAML text ("4", "true")."""
    if not isinstance(values, dict):
        return values
    converted: dict[Any, Any] = {}
    for key, value in values.items():
        if isinstance(value, bool):
            converted[key] = "true" if value else "false"
        elif isinstance(value, int | float):
            converted[key] = str(value)
        else:
            converted[key] = value
            continue
        field = ".".join(str(part) for part in (*loc, key))
        file.note((*loc, key), f"{field}: {value} became the string {converted[key]!r}")
    return converted


def snake(value: Any) -> Any:
    """az ml accepts enum values in camel case too (AMLToken, TargetUtilization)."""
    if not isinstance(value, str):
        return value
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", value).lower()


def lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value
