"""An online endpoint: a stable name and address, its deployments and how traffic splits."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Self

from pydantic import Field, StrictInt, model_validator

from models.deployment import AzureDeploymentSpec, DeploymentSpec, KubernetesDeploymentSpec
from models.fields import (
    AuthMode,
    MirrorWeight,
    Name,
    NetworkAccess,
    PercentThreshold,
    Spec,
    Tags,
    Weight,
    rule_error,
)


class AlertThresholds(Spec):
    """The key metrics users watch, with the thresholds from the online endpoint guidance."""

    latency_p95_ms: Annotated[StrictInt, Field(ge=1, le=180_000)] = 500
    success_rate_min_percent: PercentThreshold = 99
    client_error_rate_max_percent: PercentThreshold = 1
    server_error_rate_max_percent: PercentThreshold = 0.1
    cpu_max_percent: PercentThreshold = 80
    memory_max_percent: PercentThreshold = 80
    # Requests a deployment must have served in an alert's window before its success and error
    # rates can fire: one failure out of three requests is noise, not an incident. Latency,
    # CPU and memory need no volume.
    min_requests: Annotated[StrictInt, Field(ge=1, le=1_000_000)] = 100


class RolloutPolicy(Spec):
    """How `mlep rollout` moves live traffic to a new deployment."""

    steps: Annotated[list[Annotated[StrictInt, Field(ge=1, le=100)]], Field(min_length=1)] = [
        5,
        25,
        60,
        100,
    ]
    max_step_percent: Annotated[StrictInt, Field(ge=1, le=100)] = 25
    bake_minutes: Annotated[StrictInt, Field(ge=0, le=1440)] = 30

    @model_validator(mode="after")
    def _steps_rise_to_100(self) -> Self:
        """Steps strictly increase and end at 100."""
        rising = all(a < b for a, b in zip(self.steps, self.steps[1:], strict=False))
        if not rising or self.steps[-1] != 100:
            raise rule_error(
                "rollout steps must strictly increase and end at 100",
                "use a list such as [5, 25, 60, 100]",
                field="steps",
                value=list(self.steps),
            )
        return self


class EndpointSpec(Spec):
    """One online endpoint. Secure by default: token auth, no public network access.

    What both targets have; a stack file's endpoints are AzureEndpointSpec or
    KubernetesEndpointSpec, whose deployments are of the stack's target."""

    name: Name
    description: str | None = None
    auth_mode: AuthMode = "aad_token"
    public_network_access: NetworkAccess = "disabled"
    tags: Tags = {}
    deployments: Annotated[Sequence[DeploymentSpec], Field(min_length=1, max_length=20)]
    traffic: dict[str, Weight] = {}
    mirror_traffic: dict[str, MirrorWeight] = {}
    alerts: AlertThresholds = AlertThresholds()
    rollout: RolloutPolicy = RolloutPolicy()

    @property
    def live_deployments(self) -> list[str]:
        """Deployments that receive live traffic, in spec order."""
        return [d.name for d in self.deployments if self.traffic.get(d.name, 0) > 0]


class AzureEndpointSpec(EndpointSpec):
    """An endpoint on the azure target: an Azure ML managed online endpoint."""

    deployments: Annotated[list[AzureDeploymentSpec], Field(min_length=1, max_length=20)]


class KubernetesEndpointSpec(EndpointSpec):
    """An endpoint on the kubernetes target: BentoML deployments behind a Gateway API route."""

    deployments: Annotated[list[KubernetesDeploymentSpec], Field(min_length=1, max_length=20)]
