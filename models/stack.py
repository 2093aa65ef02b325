"""The stack configuration: the `ml-endpoints:` namespace of a Pulumi stack file."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated, Literal, TypeAlias

from pydantic import AfterValidator, BeforeValidator, Field, StrictStr

from models.endpoint import AzureEndpointSpec, EndpointSpec, KubernetesEndpointSpec
from models.fields import (
    Guid,
    NonEmptyStr,
    ResourceId,
    Spec,
    Tags,
    check_guid,
    rule_error,
)

Target = Literal["azure", "kubernetes"]
Environment = Literal["dev", "test", "staging", "prod"]


def _check_email(value: str) -> str:
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
        raise rule_error("not an email address", "use an address such as oncall@example.com")
    return value


Email = Annotated[StrictStr, AfterValidator(_check_email)]


class KeyVaultRef(Spec):
    """An existing Key Vault (never created here: the Azure Verified Modules rule)."""

    name: Annotated[StrictStr, Field(pattern=r"^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$")]


class PrivateAccess(Spec):
    """Reach the workspace through a private endpoint in an existing subnet."""

    subnet_id: ResourceId
    private_dns_zone_ids: Annotated[list[ResourceId], Field(min_length=1)]


class ActionGroup(Spec):
    """Where alerts go: a new action group mailing these addresses, or an existing one by id."""

    emails: list[Email] = []
    id: ResourceId | None = None


PrincipalType = Literal["Group", "User", "ServicePrincipal"]


class Principal(Spec):
    """An Entra principal: a bare object id (a group), or `{id: <object id>, type: User}`."""

    id: Guid
    type: PrincipalType = "Group"


def _principal_ref(value: object) -> object:
    """A bare object id is a group (the usual way to grant roles); other principals say their
    type, because Azure rejects an assignment whose principal type does not match."""
    if isinstance(value, str):
        return {"id": check_guid(value)}
    return value


PrincipalRef = Annotated[Principal, BeforeValidator(_principal_ref)]


class Roles(Spec):
    """Entra principals for the least-privilege roles: group object ids, or
    `{id: ..., type: User | ServicePrincipal}` entries."""

    traffic_operators: list[PrincipalRef] = []
    deployment_developers: list[PrincipalRef] = []
    key_readers: list[PrincipalRef] = []


class AzureSettings(Spec):
    """The `ml-endpoints:azure` block: the workspace and what surrounds it."""

    resource_group: Annotated[StrictStr, Field(pattern=r"^[-\w._()]{1,90}$")]
    workspace: Annotated[StrictStr, Field(pattern=r"^[a-zA-Z0-9][\w-]{2,32}$")]
    key_vault: KeyVaultRef | None = None
    private_access: PrivateAccess | None = None
    log_analytics_workspace_id: ResourceId | None = None
    action_group: ActionGroup | None = None
    roles: Roles = Roles()


_DNS_LABEL = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
_HOSTNAME = r"^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"


class GatewayRef(Spec):
    """The Gateway API Gateway that routes attach to (never created here)."""

    name: Annotated[StrictStr, Field(pattern=_DNS_LABEL)]
    namespace: Annotated[StrictStr, Field(pattern=_DNS_LABEL)]


class Entra(Spec):
    """Microsoft Entra ID tenant and audience for JWT validation at the gateway."""

    tenant_id: Guid
    audience: NonEmptyStr


class KubernetesKeyVault(Spec):
    """Key Vault read through the Secrets Store CSI driver with workload identity."""

    name: Annotated[StrictStr, Field(pattern=r"^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$")]
    tenant_id: Guid
    client_id: Guid


class KubernetesSettings(Spec):
    """The `ml-endpoints:kubernetes` block."""

    namespace: Annotated[StrictStr, Field(pattern=_DNS_LABEL)]
    gateway: GatewayRef
    hostname: Annotated[StrictStr, Field(pattern=_HOSTNAME)]
    entra: Entra | None = None
    key_vault: KubernetesKeyVault | None = None


class BaseStackConfig(Spec):
    """What every stack has, whatever its target (see StackConfig)."""

    target: Target
    environment: Environment
    tags: Tags
    endpoints: Annotated[Sequence[EndpointSpec], Field(min_length=1)]

    @property
    def is_prod(self) -> bool:
        return self.environment == "prod"

    def endpoint_tags(self, endpoint: EndpointSpec) -> dict[str, str]:
        """Stack tags with the endpoint's tags merged over them (the endpoint wins)."""
        return {**self.tags, **endpoint.tags}


class AzureStackConfig(BaseStackConfig):
    """A stack with `target: azure`: the `ml-endpoints:azure` block and Azure ML endpoints."""

    target: Literal["azure"]
    azure: AzureSettings
    endpoints: Annotated[list[AzureEndpointSpec], Field(min_length=1)]


class KubernetesStackConfig(BaseStackConfig):
    """A stack with `target: kubernetes`: the `ml-endpoints:kubernetes` block and BentoML
    endpoints."""

    target: Literal["kubernetes"]
    kubernetes: KubernetesSettings
    endpoints: Annotated[list[KubernetesEndpointSpec], Field(min_length=1)]


# Everything in the `ml-endpoints:` namespace, built by `models.loader.parse_stack_config`:
# `target` picks the model, so the other target's block and fields cannot be set. Code that
# needs one target's settings narrows with isinstance.
StackConfig: TypeAlias = AzureStackConfig | KubernetesStackConfig
