"""An az ml deployment file: its fields in the spec, and what is refused, dropped or noted."""

from __future__ import annotations

from typing import Any

from ruamel.yaml.comments import CommentedMap

from mlep.authoring.azml.assets import convert_code, convert_environment, convert_model
from mlep.authoring.azml.fields import (
    DEPLOYMENT,
    DEPLOYMENT_FIELDS,
    PROBE_FIELDS,
    REQUEST_FIELDS,
    check_fields,
    drop,
    lower,
    note_defaults,
    texts,
)
from mlep.authoring.azml.files import AzmlFile
from mlep.authoring.azml.scale import convert_scale
from mlep.authoring.azml.spec import Spec
from mlep.authoring.azml.variables import check_secrets

# Fields taken over as they are (their names and values are the spec's).
_CARRIED = (
    "name",
    "model_mount_path",
    "instance_type",
    "instance_count",
    "liveness_probe",
    "readiness_probe",
    "egress_public_network_access",
    "app_insights_enabled",
)


def convert_deployment(spec: Spec, endpoint: Any) -> Spec:
    """The deployment's fields into ``spec``; ``endpoint`` is the endpoint file's name."""
    file, data = spec.file, spec.file.data
    check_fields(file, (), data, DEPLOYMENT_FIELDS, "a managed online deployment")
    if data.get("name") is None:
        file.problem(("name",), "the deployment has no name", "add `name: ...`, e.g. blue")
    owner = data.get("endpoint_name")
    if owner is not None and endpoint is not None and owner != endpoint:
        file.problem(
            ("endpoint_name",),
            f"this deployment belongs to endpoint {owner!r}, but the endpoint file is {endpoint!r}",
            f"pass only the deployment files of {endpoint!r}, or set endpoint_name: {endpoint}",
            owner,
        )
    _reject_unsupported(file)
    for key in _CARRIED:
        if data.get(key) is not None:
            spec.carry(key, data[key])
    if "egress_public_network_access" in spec.values:
        value = spec.values["egress_public_network_access"]
        spec.values["egress_public_network_access"] = lower(value)
    for probe in ("liveness_probe", "readiness_probe"):
        if isinstance(data.get(probe), CommentedMap):
            check_fields(file, (probe,), data[probe], PROBE_FIELDS, probe)
    convert_model(spec)
    convert_environment(spec)
    convert_code(spec)
    convert_scale(spec)
    _requests(spec)
    for key in ("environment_variables", "tags"):
        if data.get(key) is not None:
            spec.carry(key, data[key])
            spec.values[key] = texts(file, (key,), spec.values[key])
    check_secrets(file)
    drop(file, DEPLOYMENT)
    note_defaults(file, "deployment")
    return spec


def _reject_unsupported(file: AzmlFile) -> None:
    """Kubernetes online deployments: `type: kubernetes`, and `resources` (requests, limits)."""
    kind = file.data.get("type")
    if kind is not None and str(kind).lower() != "managed":
        file.problem(
            ("type",),
            "this is a Kubernetes online deployment (on an attached cluster); only managed "
            "online deployments are imported",
            "to import it as a managed online deployment, remove type (or set type: managed); "
            "to keep serving on your own cluster, use this project's kubernetes target "
            "(deployments with a bento image)",
            kind,
        )
    if file.data.get("resources") is not None:
        file.problem(
            ("resources",),
            "resources (requests and limits) size a Kubernetes online deployment; a managed "
            "one is sized by instance_type",
            "remove resources and set instance_type, e.g. Standard_DS3_v2 (4 cores, 14 GiB)",
            file.data["resources"],
        )


def _requests(spec: Spec) -> None:
    file, settings = spec.file, spec.file.data.get("request_settings")
    if settings is None:
        return
    spec.carry("request_settings", settings)
    if not isinstance(settings, CommentedMap):
        return
    check_fields(file, ("request_settings",), settings, REQUEST_FIELDS, "request_settings")
    if "max_queue_wait_ms" in settings:
        del spec.values["request_settings"]["max_queue_wait_ms"]
        file.note(
            ("request_settings", "max_queue_wait_ms"),
            "max_queue_wait_ms dropped: az ml deprecated it; requests wait at most "
            "request_timeout_ms",
        )
