"""A deployment behind an endpoint: field names follow the `az ml` online deployment YAML."""

from __future__ import annotations

import re
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    Discriminator,
    Field,
    StrictInt,
    StrictStr,
    Tag,
    model_validator,
)

from models.errors import MISSING
from models.fields import (
    Bool,
    Name,
    NetworkAccess,
    NonEmptyStr,
    Percent,
    PositiveInt,
    Spec,
    Tags,
    rule_error,
)

# azureml:NAME:VERSION, azureml://registries/REG/models/NAME/versions/V, or a model resource id.
_MODEL_FORMS = (
    re.compile(r"azureml:[A-Za-z0-9][\w.-]{0,254}:[\w.-]{1,64}"),
    re.compile(r"azureml://registries/[\w-]+/models/[\w.-]+/versions/[\w.-]+"),
    re.compile(
        r"/subscriptions/[^/]+/resourceGroups/[^/]+/providers/"
        r"Microsoft\.MachineLearningServices/(workspaces|registries)/[^/]+/models/[^/]+/versions/[^/]+",
        re.IGNORECASE,
    ),
)


def _check_model(value: str) -> str:
    if not any(form.fullmatch(value) for form in _MODEL_FORMS):
        raise rule_error(
            "model must be a registered model: 'azureml:NAME:VERSION', "
            "'azureml://registries/REGISTRY/models/NAME/versions/VERSION' or a model resource id",
            "register the model (`az ml model create`) and reference it, "
            "e.g. 'azureml:fraud-model:3'",
        )
    return value


# registry/repository[:tag][@sha256:digest], as the OCI distribution spec names images.
_IMAGE = re.compile(
    r"(?P<repo>[a-z0-9]+([._-]+[a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-]+[a-z0-9]+)*)*)"
    r"(:(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?"
    r"(@(?P<digest>sha256:[a-f0-9]{64}))?"
)


def image_pinned(image: str) -> bool:
    """Whether an image reference names a digest, or a tag other than latest."""
    match = _IMAGE.fullmatch(image)
    return bool(match and (match["digest"] or match["tag"] not in (None, "latest")))


def _check_image(value: str) -> str:
    if not _IMAGE.fullmatch(value):
        raise rule_error(
            "not a valid image reference",
            "use REGISTRY/REPOSITORY:TAG or REGISTRY/REPOSITORY@sha256:DIGEST",
        )
    if not image_pinned(value):
        raise rule_error(
            "the image needs an explicit tag other than 'latest', or a digest, so a "
            "deployment always runs the bento it was reviewed with",
            "pin it, e.g. 'myregistry.azurecr.io/fraud-classifier:1.4.2'",
        )
    return value


Model = Annotated[StrictStr, AfterValidator(_check_model)]
Image = Annotated[StrictStr, AfterValidator(_check_image)]

# Kubernetes resource quantities: https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/quantity/
_QUANTITY = re.compile(r"[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?")


def _check_quantity(value: str) -> str:
    if not _QUANTITY.fullmatch(value) or float(re.sub(r"[^0-9.]", "", value)) <= 0:
        raise rule_error(
            "not a positive Kubernetes quantity",
            'write it as a quoted string such as "500m" or "1" (cpu), "2Gi" (memory)',
        )
    return value


Quantity = Annotated[StrictStr, AfterValidator(_check_quantity)]


def _check_asset(value: str) -> str:
    if not re.fullmatch(
        r"azureml:[A-Za-z0-9][\w.-]*:[\w.-]+|azureml://.+|/subscriptions/.+", value
    ):
        raise rule_error(
            "must reference a registered asset: 'azureml:NAME:VERSION', an azureml:// asset "
            "path or a resource id (local paths need the az ml CLI to upload them)",
            "register it first (`az ml code create` / `az ml environment create`) and use "
            "'azureml:NAME:VERSION'",
        )
    return value


Asset = Annotated[StrictStr, AfterValidator(_check_asset)]


def _check_route_path(value: str) -> str:
    if not value.startswith("/") or any(c.isspace() for c in value):
        raise rule_error(
            "a route path is the URL path the server answers on: it starts with / and has no "
            "spaces",
            "write it as the server documents it, e.g. /v1/models/half_plus_two",
        )
    return value


def _check_mount_path(value: str) -> str:
    if not value.startswith("/") or value.rstrip("/") == "" or "\0" in value:
        raise rule_error(
            "model_mount_path must be an absolute path inside the container, other than /",
            "write the folder the server reads its model from, e.g. /var/tfserving-model-mount",
        )
    return value


MountPath = Annotated[StrictStr, AfterValidator(_check_mount_path)]


class Route(Spec):
    """Where Azure ML calls an inference server of its own, for each of liveness_route,
    readiness_route and scoring_route: a path and a container port (az ml's inference_config
    routes; REST `Route` {path, port})."""

    path: Annotated[StrictStr, AfterValidator(_check_route_path)]
    port: Annotated[StrictInt, Field(ge=1, le=65535)]


class InferenceConfig(Spec):
    """The routes of a server that is not Azure ML's own (Triton, TF Serving, TorchServe,
    plumber...): Azure ML probes liveness and readiness there and sends scoring requests."""

    liveness_route: Route
    readiness_route: Route
    scoring_route: Route


class ContainerEnvironment(Spec):
    """An environment the program registers for this deployment (as az ml registers an inline
    one): a container image and, for a server of its own, its inference_config."""

    image: NonEmptyStr
    inference_config: InferenceConfig | None = None

    @model_validator(mode="after")
    def _image_reference(self) -> Self:
        """The image is an image reference (registry/repository[:tag][@digest])."""
        if not _IMAGE.fullmatch(self.image):
            raise rule_error(
                "not a valid image reference",
                "use REGISTRY/REPOSITORY:TAG or REGISTRY/REPOSITORY@sha256:DIGEST",
                field="image",
                value=self.image,
            )
        return self


# A registered environment ('azureml:NAME:VERSION', ...) or one the program registers.
ENVIRONMENT_TAGS = ("registered", "container")


def _environment_kind(value: Any) -> str:
    return "container" if isinstance(value, dict | ContainerEnvironment) else "registered"


Environment = Annotated[
    Annotated[Asset, Tag("registered")] | Annotated[ContainerEnvironment, Tag("container")],
    Discriminator(_environment_kind),
]


class CodeConfiguration(Spec):
    """Scoring code for a custom model: a registered code asset and the script to run."""

    code: Asset
    scoring_script: NonEmptyStr


class Resources(Spec):
    """Kubernetes container resources per replica; memory is also the memory limit."""

    cpu: Quantity = "1"
    memory: Quantity = "2Gi"
    gpu: Annotated[StrictInt, Field(ge=0, le=16)] = 0


class Autoscale(Spec):
    """Scale on CPU between min and max instances (Azure Monitor autoscale, or a Kubernetes HPA)."""

    min_instances: Annotated[StrictInt, Field(ge=1, le=50)]
    max_instances: Annotated[StrictInt, Field(ge=1, le=50)]
    target_cpu_percent: Percent = 70
    scale_in_cpu_percent: Percent = 30
    cooldown_minutes: Annotated[StrictInt, Field(ge=1, le=10080)] = 5

    @model_validator(mode="after")
    def _bounds(self) -> Self:
        """min_instances <= max_instances; scale_in_cpu_percent < target_cpu_percent."""
        if self.min_instances > self.max_instances:
            raise rule_error(
                f"min_instances ({self.min_instances}) is above max_instances "
                f"({self.max_instances})",
                "make min_instances <= max_instances",
                field="min_instances",
                value=self.min_instances,
            )
        if self.scale_in_cpu_percent >= self.target_cpu_percent:
            raise rule_error(
                f"scale_in_cpu_percent ({self.scale_in_cpu_percent}) must be below "
                f"target_cpu_percent ({self.target_cpu_percent}), or autoscale flaps",
                "lower scale_in_cpu_percent (30 is typical for a 70 target)",
                field="scale_in_cpu_percent",
                value=self.scale_in_cpu_percent,
            )
        return self


class RequestSettings(Spec):
    """Per-request limits; Azure ML caps the timeout at 180 s."""

    request_timeout_ms: Annotated[StrictInt, Field(ge=1, le=180_000)] = 5000
    max_concurrent_requests_per_instance: PositiveInt = 1


class Probe(Spec):
    """A liveness or readiness probe, in seconds (the `az ml` probe settings)."""

    initial_delay: PositiveInt = 10
    period: PositiveInt = 10
    timeout: PositiveInt = 2
    success_threshold: PositiveInt = 1
    failure_threshold: PositiveInt = 30


class DeploymentSpec(Spec):
    """What every deployment (blue, green, ...) of an endpoint has, on either target. A stack
    file's deployments are the target's own kind: AzureDeploymentSpec or
    KubernetesDeploymentSpec."""

    name: Name
    instance_count: Annotated[StrictInt, Field(ge=1, le=50)] = 1
    autoscale: Autoscale | None = None
    request_settings: RequestSettings = RequestSettings()
    liveness_probe: Probe = Probe()
    readiness_probe: Probe = Probe()
    environment_variables: dict[StrictStr, StrictStr] = {}
    tags: Tags = {}

    @model_validator(mode="after")
    def _liveness_success_is_one(self) -> Self:
        """liveness_probe.success_threshold is 1."""
        # Kubernetes (and so Azure ML) reject any other value for liveness probes.
        if self.liveness_probe.success_threshold != 1:
            raise rule_error(
                "liveness_probe.success_threshold must be 1 (Kubernetes requires it for "
                f"liveness probes); got {self.liveness_probe.success_threshold}",
                "remove liveness_probe.success_threshold or set it to 1",
                field="liveness_probe.success_threshold",
                value=self.liveness_probe.success_threshold,
            )
        return self

    @model_validator(mode="after")
    def _instance_count_within_autoscale(self) -> Self:
        """With autoscale, a given instance_count lies within [min_instances, max_instances];
        omitted, it starts at min_instances."""
        scale = self.autoscale
        # An omitted instance_count starts at the autoscale minimum (see `replicas`).
        given = "instance_count" in self.model_fields_set
        if (
            scale
            and given
            and not scale.min_instances <= self.instance_count <= scale.max_instances
        ):
            raise rule_error(
                f"instance_count ({self.instance_count}) is outside autoscale "
                f"[{scale.min_instances}, {scale.max_instances}]",
                "set instance_count between autoscale.min_instances and max_instances",
                field="instance_count",
                value=self.instance_count,
            )
        return self

    @property
    def replicas(self) -> int:
        """The instance count to start with: the autoscale minimum when it is higher."""
        if self.autoscale:
            return max(self.instance_count, self.autoscale.min_instances)
        return self.instance_count


class AzureDeploymentSpec(DeploymentSpec):
    """A deployment on the azure target: a registered model, an environment, or both, on a
    managed VM size. Without a model, the environment's image holds it (a custom container
    with the model baked in, or a model package's environment)."""

    model: Model | None = None
    model_mount_path: MountPath | None = None
    environment: Environment | None = None
    code_configuration: CodeConfiguration | None = None
    instance_type: NonEmptyStr
    egress_public_network_access: NetworkAccess = "disabled"
    app_insights_enabled: Bool = True

    @model_validator(mode="after")
    def _something_to_serve(self) -> Self:
        """A model, or an environment whose image serves one; scoring code runs in an
        environment; a mount path needs a model to mount and a custom container (an
        environment) that reads it there."""
        if self.model is None and self.environment is None:
            raise rule_error(
                "a deployment needs a model, or an environment whose image serves the model",
                "set model: azureml:NAME:VERSION (a registered model), or environment: a "
                "registered environment or {image: ...} with the model inside the image",
                field="model",
                value=MISSING,
            )
        if self.code_configuration is not None and self.environment is None:
            raise rule_error(
                "scoring code runs in an environment: code_configuration needs one",
                "set environment: azureml:NAME:VERSION, or {image: ...}",
                field="environment",
                value=MISSING,
            )
        if self.model_mount_path is not None and self.model is None:
            raise rule_error(
                "model_mount_path says where the model is mounted, but the deployment has no model",
                "set model, or remove model_mount_path",
                field="model_mount_path",
                value=self.model_mount_path,
            )
        if self.model_mount_path is not None and self.environment is None:
            # Azure ML: "model_mount_path is usable only in BYOC (bring your own container)",
            # an environment with inference_config (learn.microsoft.com, "Use a custom
            # container to deploy a model to an online endpoint"). Without an environment,
            # Azure ML's own server (MLflow, Triton) loads the model from its own path.
            raise rule_error(
                "model_mount_path places the model for a custom container, and the deployment "
                "has no environment: Azure ML's own server loads the model from its own path",
                "remove model_mount_path, or set environment: {image: ..., inference_config: "
                "...} (the container that reads the model there)",
                field="model_mount_path",
                value=self.model_mount_path,
            )
        return self


class KubernetesDeploymentSpec(DeploymentSpec):
    """A deployment on the kubernetes target: a pinned bento image and its pod resources."""

    image: Image
    resources: Resources | None = None

    @property
    def resources_or_default(self) -> Resources:
        return self.resources or Resources()
