"""Drop the provider SDKs' aliases to API versions this program never registers.

Every azure-native and Kubernetes resource class aliases its type to each older API version
of the same kind (an OnlineEndpoint carries about thirty: `machinelearningservices/v20230401`,
`.../v20240101preview`, ...), so that state written under a versioned token keeps its
identity. The Pulumi SDK turns each alias into a URN output when the resource is constructed,
which costs more than registering the resource itself. ml-endpoints only ever declares the
providers' default (azure-native) and GA (Kubernetes) tokens, so no stack of it can hold a
dated or pre-release token and those aliases can never match. Aliases to other default or GA
tokens are kept: that is how a future provider release carries today's tokens forward.
"""

from __future__ import annotations

import re

import pulumi

# `azure-native:insights/v20180301:MetricAlert`, `.../v20240101preview:...`,
# `kubernetes:apps/v1beta2:Deployment`, `kubernetes:autoscaling/v2beta2:...`.
_UNUSED_VERSION = re.compile(r"^[^:]+:[^:]+/v(\d{8}\w*|\d+(alpha|beta)\d+):[^:]+$")


def _can_match(alias: object) -> bool:
    if isinstance(alias, pulumi.Alias) and isinstance(alias.type_, str):
        return not _UNUSED_VERSION.match(alias.type_)
    return True


def _drop_unused_version_aliases(
    args: pulumi.ResourceTransformationArgs,
) -> pulumi.ResourceTransformationResult | None:
    aliases = args.opts.aliases
    if not aliases:
        return None
    kept = [alias for alias in aliases if _can_match(alias)]
    if len(kept) == len(aliases):
        return None
    opts = args.opts._copy()  # the SDK's own shallow copy; the caller's options stay as they are
    opts.aliases = kept or None
    return pulumi.ResourceTransformationResult(args.props, opts)


def drop_unused_version_aliases() -> None:
    """Apply to every resource declared from now on (call once, before declaring any)."""
    pulumi.runtime.register_stack_transformation(_drop_unused_version_aliases)
