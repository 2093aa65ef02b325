"""Tagging and governance (POLICY-RULES.md, GOV-01)."""

from __future__ import annotations

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)

from mlep_policies import tokens
from mlep_policies.reading import get


def _required_tags(args: ResourceValidationArgs, report: ReportViolation) -> None:
    taggable = args.resource_type in tokens.TAGGABLE or (
        args.resource_type.startswith("azure-native:") and get(args.props, "tags") is not None
    )
    if not taggable:
        return
    config = args.get_config() or {}
    required = config.get("requiredTags", list(tokens.REQUIRED_TAGS))
    allowed = config.get("allowedSensitivity", list(tokens.SENSITIVITY_LEVELS))
    tags = get(args.props, "tags") or {}
    missing = [key for key in required if not str(tags.get(key) or "").strip()]
    if missing:
        report(
            f"missing governance tag(s) {', '.join(missing)} (GOV-01). "
            "Fix: set them under ml-endpoints:tags.",
            None,
        )
    level = tags.get("data-sensitivity")
    if level and level not in allowed:
        report(
            f"data-sensitivity is {level!r}; allowed: {', '.join(allowed)} (GOV-01). "
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
