"""One way to declare a policy: its rule ids, level, severity, remediation and tunables.

Every policy's name starts with its rule id(s) from POLICY-RULES.md, its description says what
it enforces, and its remediation steps say how to fix a finding. Tunables are declared once as a
JSON schema (the Pulumi CLI validates `--policy-pack-config` against it; so does `mlep`) with
their defaults, and read through `settings`, so a default lives in exactly one place.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

MANDATORY = EnforcementLevel.MANDATORY
ADVISORY = EnforcementLevel.ADVISORY
RULES_URL = "https://github.com/ml-endpoints/ml-endpoints/blob/main/docs/policies.md"


def _schema(tunables: Mapping[str, dict[str, Any]] | None) -> PolicyConfigSchema | None:
    if not tunables:
        return None
    return PolicyConfigSchema(properties={k: dict(v) for k, v in tunables.items()})


def settings(
    args: ResourceValidationArgs | StackValidationArgs, schema: Mapping[str, dict[str, Any]]
) -> dict[str, Any]:
    """The policy's config with each absent tunable at its schema default."""
    given = {k: v for k, v in dict(args.get_config() or {}).items() if v is not None}
    defaults = {key: spec["default"] for key, spec in schema.items() if "default" in spec}
    return {**defaults, **given}


def _metadata(
    name: str,
    *,
    description: str,
    level: EnforcementLevel,
    severity: Severity,
    remediation: str,
    tunables: Mapping[str, dict[str, Any]] | None,
) -> dict[str, Any]:
    return {
        "name": name,
        "description": description,
        "enforcement_level": level,
        "config_schema": _schema(tunables),
        "severity": severity,
        "remediation_steps": remediation,
        "url": f"{RULES_URL}#{name}",
    }


def resource_policy(
    name: str,
    *,
    description: str,
    level: EnforcementLevel,
    severity: Severity,
    remediation: str,
    validate: Callable[[ResourceValidationArgs, ReportViolation], None],
    tunables: Mapping[str, dict[str, Any]] | None = None,
) -> ResourceValidationPolicy:
    metadata = _metadata(
        name,
        description=description,
        level=level,
        severity=severity,
        remediation=remediation,
        tunables=tunables,
    )
    return ResourceValidationPolicy(validate=validate, **metadata)


def stack_policy(
    name: str,
    *,
    description: str,
    level: EnforcementLevel,
    severity: Severity,
    remediation: str,
    validate: Callable[[StackValidationArgs, ReportViolation], None],
    tunables: Mapping[str, dict[str, Any]] | None = None,
) -> StackValidationPolicy:
    metadata = _metadata(
        name,
        description=description,
        level=level,
        severity=severity,
        remediation=remediation,
        tunables=tunables,
    )
    return StackValidationPolicy(validate=validate, **metadata)


def string_list(default: list[str], description: str) -> dict[str, Any]:
    return {
        "type": "array",
        "items": {"type": "string"},
        "default": default,
        "description": description,
    }


def integer(default: int, minimum: int, maximum: int, description: str) -> dict[str, Any]:
    return {
        "type": "integer",
        "minimum": minimum,
        "maximum": maximum,
        "default": default,
        "description": description,
    }


def boolean(default: bool, description: str) -> dict[str, Any]:
    return {"type": "boolean", "default": default, "description": description}
