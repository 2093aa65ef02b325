"""Tagging and governance (POLICY-RULES.md, GOV-01)."""

from __future__ import annotations

from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)

from mlep_policies import tokens
from mlep_policies.reading import UNKNOWN, endpoint_templates, entries, get


def _required_tags(args: ResourceValidationArgs, report: ReportViolation) -> None:
    tags = get(args.props, "tags")
    taggable = args.resource_type in tokens.TAGGABLE or (
        args.resource_type.startswith("azure-native:") and tags is not None
    )
    if not taggable:
        return
    config = args.get_config() or {}
    required = config.get("requiredTags", list(tokens.REQUIRED_TAGS))
    allowed = config.get("allowedSensitivity", list(tokens.SENSITIVITY_LEVELS))
    _check(tags, "", required, allowed, report)
    # The traffic template PUTs the endpoint with its full definition: its tags replace the
    # endpoint's on every change (components/azure/online_endpoint.py).
    for item in endpoint_templates(args.props):
        where = f" on the template's endpoint {get(item, 'name')!r}"
        _check(get(item, "tags"), where, required, allowed, report)


def _check(
    tags: Any, where: str, required: list[str], allowed: list[str], report: ReportViolation
) -> None:
    if tags is UNKNOWN:
        return
    values = entries(tags)
    missing = [
        key
        for key in required
        if values.get(key) is not UNKNOWN and not str(values.get(key) or "").strip()
    ]
    if missing:
        report(
            f"missing governance tag(s) {', '.join(missing)}{where} (GOV-01). "
            "Fix: set them under ml-endpoints:tags.",
            None,
        )
    level = values.get("data-sensitivity")
    if level and level is not UNKNOWN and level not in allowed:
        report(
            f"data-sensitivity is {level!r}{where}; allowed: {', '.join(allowed)} (GOV-01). "
            "Fix: use your data classification level.",
            None,
        )


required_tags = ResourceValidationPolicy(
    name="gov-01-required-tags",
    description="Taggable Azure resources carry owner, application and data-sensitivity (GOV-01).",
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=PolicyConfigSchema(
        properties={
            "requiredTags": {"type": "array", "items": {"type": "string"}},
            "allowedSensitivity": {"type": "array", "items": {"type": "string"}},
        }
    ),
    validate=_required_tags,
)

POLICIES = [required_tags]
