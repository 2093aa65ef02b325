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
from mlep_policies.reading import get


def _private(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == tokens.ONLINE_ENDPOINT:
        values = [get(args.props, "properties", "publicNetworkAccess")]
    elif args.resource_type == tokens.ARM_DEPLOYMENT:
        values = [
            get(item, "properties", "publicNetworkAccess")
            for item in get(args.props, "properties", "template", "resources") or []
            if str(get(item, "type")).lower() == tokens.ENDPOINT_ARM_TYPE.lower()
        ]
    else:
        return
    for value in values:
        # Azure ML enables public access when the property is absent.
        if str(value).lower() != "disabled":
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
    if args.resource_type != tokens.ONLINE_ENDPOINT:
        return
    mode = str(get(args.props, "properties", "authMode") or "")
    name = str(get(args.props, "endpointName") or args.name)
    waivers = (args.get_config() or {}).get("keyAuthWaivers", [])
    if mode.replace("_", "").lower() in ("aadtoken", "amltoken"):
        return
    if mode.lower() == "key" and name in waivers:
        return
    report(
        f"endpoint {name!r} uses auth mode {mode or 'unset'!r}; prod endpoints use AADToken or "
        "AMLToken (keys never expire) (ID-01). Fix: auth_mode: aad_token, or add the endpoint "
        "to this policy's keyAuthWaivers.",
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
