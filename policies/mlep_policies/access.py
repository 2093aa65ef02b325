"""Private access and identity (POLICY-RULES.md, NET-01, ID-01)."""

from __future__ import annotations

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)

from mlep_policies import tokens
from mlep_policies.reading import UNKNOWN, endpoint_templates, get


def _private(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == tokens.ONLINE_ENDPOINT:
        endpoints = [args.props]
    elif args.resource_type == tokens.ARM_DEPLOYMENT:
        endpoints = endpoint_templates(args.props)
    else:
        return
    for endpoint in endpoints:
        value = get(endpoint, "properties", "publicNetworkAccess")
        # Azure ML enables public access when the property is absent.
        if value is not UNKNOWN and str(value).lower() != "disabled":
            report(
                f"online endpoint publicNetworkAccess is {value!r}; it must be 'Disabled' "
                "(absent counts as enabled) (NET-01). Fix: public_network_access: disabled.",
                None,
            )


endpoint_private = ResourceValidationPolicy(
    name="net-01-endpoint-private",
    description="Online endpoints disable public network access (NET-01). Mandatory in prod.",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_private,
)


def _token_auth(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == tokens.ONLINE_ENDPOINT:
        name = get(args.props, "endpointName")
        endpoints = [(name if isinstance(name, str) else args.name, args.props)]
    elif args.resource_type == tokens.ARM_DEPLOYMENT:
        # The traffic template PUTs the endpoint after creation: its authMode is the live one.
        endpoints = [
            (name.split("/")[-1], item)  # workspace/endpoint
            for item in endpoint_templates(args.props)
            if isinstance(name := get(item, "name"), str)
        ]
    else:
        return
    waivers = (args.get_config() or {}).get("keyAuthWaivers", [])
    for name, endpoint in endpoints:
        value = get(endpoint, "properties", "authMode")
        if value is UNKNOWN:
            continue
        mode = str(value or "")
        if mode.replace("_", "").lower() in ("aadtoken", "amltoken"):
            continue
        if mode.lower() == "key" and name in waivers:
            continue
        report(
            f"endpoint {name!r} uses auth mode {mode or 'unset'!r}; prod endpoints use AADToken "
            "or AMLToken (keys never expire) (ID-01). Fix: auth_mode: aad_token, or add the "
            "endpoint to this policy's keyAuthWaivers.",
            None,
        )


token_auth = ResourceValidationPolicy(
    name="id-01-token-auth",
    description="Prod endpoints use Entra (AADToken) or AMLToken auth; Key only with a waiver "
    "(ID-01). Prod only: disabled for other stacks.",
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=PolicyConfigSchema(
        properties={"keyAuthWaivers": {"type": "array", "items": {"type": "string"}}}
    ),
    validate=_token_auth,
)

POLICIES = [endpoint_private, token_auth]
