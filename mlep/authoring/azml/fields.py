"""The az ml fields import knows: which carry over, in what order, which are dropped and why,
and the helpers that check, drop and note them."""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from ruamel.yaml.comments import CommentedMap

from mlep.authoring.azml.files import AzmlFile, Loc

# The spec's field order (the contract's), for the endpoint and each deployment.
ENDPOINT_ORDER = (
    "name",
    "description",
    "auth_mode",
    "public_network_access",
    "tags",
    "deployments",
    "traffic",
    "mirror_traffic",
)
DEPLOYMENT_ORDER = (
    "name",
    "model",
    "model_mount_path",
    "environment",
    "code_configuration",
    "instance_type",
    "instance_count",
    "autoscale",
    "request_settings",
    "liveness_probe",
    "readiness_probe",
    "environment_variables",
    "egress_public_network_access",
    "app_insights_enabled",
    "tags",
)


@dataclass(frozen=True)
class AzmlField:
    """An az ml field and what import does with it (the README's table says the same words).

    ``dropped``: import leaves it out with the note "<name> dropped: <does>"; ``silent``: it is
    left out without a note (it says nothing about the endpoint)."""

    name: str
    does: str
    dropped: bool = False
    silent: bool = False


_SHOWN = "an output of `az ml ... show`, not a setting"

# Every field of an az ml online endpoint file (managedOnlineEndpoint.schema.json, the
# Kubernetes one's `compute`, and what `az ml online-endpoint show` adds).
ENDPOINT = (
    AzmlField("$schema", "ignored: it names the schema the file follows", silent=True),
    AzmlField(
        "name",
        "kept; `--name NEW` imports the endpoint under another name (and fills a placeholder "
        "`name:` is)",
    ),
    AzmlField("description", "kept"),
    AzmlField(
        "tags",
        "kept, values as strings; `--owner`, `--application`, `--data-sensitivity` set the "
        "governance tags over them",
    ),
    AzmlField(
        "auth_mode",
        "kept (`AMLToken` becomes `aml_token`); omitted, a note says this project's default "
        "is `aad_token` where az ml's is `key`",
    ),
    AzmlField(
        "public_network_access",
        "kept; omitted, a note says this project's default is `disabled` where az ml's is "
        "`enabled`",
    ),
    AzmlField(
        "traffic",
        "kept; every deployment it names needs its file; omitted or empty, a warning gives "
        "the `mlep traffic` command",
    ),
    AzmlField("mirror_traffic", "kept"),
    AzmlField(
        "identity",
        "this project gives each endpoint its own user-assigned identity (AcrPull on the "
        "workspace registry, Storage Blob Data Reader on its storage); grant what the scoring "
        "code needs to that identity (its client id is the stack output "
        "`endpoints.NAME.identity_client_id`)",
        dropped=True,
    ),
    AzmlField(
        "compute",
        "refused: a Kubernetes online endpoint (attached compute); this project serves on "
        "Kubernetes with its kubernetes target",
    ),
    AzmlField("kind", "`kubernetes` refused as `compute` is; otherwise " + _SHOWN, dropped=True),
    AzmlField(
        "properties",
        "free-form resource properties have no equivalent in the spec",
        dropped=True,
    ),
    *(
        AzmlField(name, _SHOWN, dropped=True)
        for name in (
            "id",
            "provisioning_state",
            "creation_context",
            "scoring_uri",
            "openapi_uri",
            "location",
        )
    ),
)

# Every field of an az ml online deployment file (managedOnlineDeployment.schema.json, the
# Kubernetes one's `type` and `resources`, and what `az ml online-deployment show` adds).
DEPLOYMENT = (
    AzmlField("$schema", "ignored: it names the schema the file follows", silent=True),
    AzmlField("name", "kept"),
    AzmlField("endpoint_name", "checked: it names the endpoint file's endpoint", silent=True),
    AzmlField(
        "model",
        "a registered model (`azureml:NAME:VERSION`, a registry path, a resource id) kept as "
        "written; a label or no version refused (pin it); an inline model refused with the "
        "`az ml model create` command for it; omitted, the environment's image serves the "
        "model (a custom container, a model package)",
    ),
    AzmlField("model_mount_path", "kept: where a custom container finds the model"),
    AzmlField(
        "environment",
        "a registered environment kept as written; an inline `image` (with its "
        "`inference_config` routes) kept, and the program registers it as "
        "`ENDPOINT-DEPLOYMENT-env`, versioned by its definition; an inline `conda_file` or "
        "`build` refused with the `az ml environment create` command",
    ),
    AzmlField(
        "code_configuration",
        "a registered code asset kept; a local folder refused with the `az ml code create` command",
    ),
    AzmlField("instance_type", "kept"),
    AzmlField("instance_count", "kept"),
    AzmlField(
        "scale_settings",
        "`default`: the fixed instance_count; `target_utilization` becomes `autoscale` on CPU "
        "(Azure Monitor autoscale), `polling_interval` dropped with a note",
    ),
    AzmlField(
        "request_settings",
        "kept; `max_queue_wait_ms` (deprecated by az ml) dropped with a note",
    ),
    AzmlField("liveness_probe", "kept"),
    AzmlField("readiness_probe", "kept"),
    AzmlField(
        "environment_variables",
        "kept, numbers and booleans as strings; a value that is a credential, or a secret's "
        "name with a value that is not a Key Vault reference, refused",
    ),
    AzmlField(
        "egress_public_network_access",
        "kept; omitted, a note says this project's default is `disabled` where az ml's is "
        "`enabled`",
    ),
    AzmlField(
        "app_insights_enabled",
        "kept; omitted, a note says this project's default is `true` where az ml's is `false`",
    ),
    AzmlField("tags", "kept, values as strings"),
    AzmlField(
        "data_collector",
        "this project does not manage model data collection, and each `pulumi up` that "
        "changes the deployment sends its whole definition (a PUT) without a data collector: "
        "one set up by hand (az ml, the portal) would be switched off then",
        dropped=True,
    ),
    AzmlField(
        "description",
        "deployments carry no description in the spec (the endpoint does)",
        dropped=True,
    ),
    AzmlField(
        "properties",
        "free-form resource properties have no equivalent in the spec",
        dropped=True,
    ),
    AzmlField(
        "private_network_connection",
        "the legacy network isolation flag; egress is governed by "
        "egress_public_network_access (default disabled)",
        dropped=True,
    ),
    AzmlField(
        "type",
        "`managed` accepted; `kubernetes` refused (a Kubernetes online deployment)",
        silent=True,
    ),
    AzmlField("resources", "refused: Kubernetes online deployments only"),
    *(
        AzmlField(name, _SHOWN, dropped=True)
        for name in ("id", "provisioning_state", "creation_context")
    ),
)

# An inline environment in a deployment file (az ml's environment schema).
INLINE_ENVIRONMENT = (
    AzmlField("image", "kept: the image the program registers the environment with"),
    AzmlField(
        "inference_config",
        "kept: `liveness_route`, `readiness_route`, `scoring_route`, each `{path, port}`",
    ),
    AzmlField(
        "name",
        "the program names it `ENDPOINT-DEPLOYMENT-env` (register it yourself and reference "
        "it to keep a name)",
        dropped=True,
    ),
    AzmlField(
        "version",
        "the program versions it by its definition, so a changed image is a new version",
        dropped=True,
    ),
    AzmlField("description", "the program describes what registered it", dropped=True),
    AzmlField("tags", "the program tags it with the deployment's tags", dropped=True),
    AzmlField(
        "datastore",
        "where az ml uploads a build context or conda file; an image environment uploads none",
        dropped=True,
    ),
    AzmlField(
        "auto_delete_setting",
        "the program keeps every version it registers (a rollback may need an older one); "
        "auto-deletion of unused versions is not carried",
        dropped=True,
    ),
    AzmlField("os_type", "`linux` accepted (managed online deployments run Linux)", silent=True),
    AzmlField("conda_file", "refused: register the environment (`az ml environment create`)"),
    AzmlField("build", "refused: register the environment (`az ml environment create`)"),
)
ROUTE_FIELDS = ("path", "port")
INFERENCE_FIELDS = ("liveness_route", "readiness_route", "scoring_route")

ENDPOINT_FIELDS = tuple(field.name for field in ENDPOINT)
DEPLOYMENT_FIELDS = tuple(field.name for field in DEPLOYMENT)
INLINE_ENVIRONMENT_FIELDS = tuple(field.name for field in INLINE_ENVIRONMENT)

PROBE_FIELDS = ("initial_delay", "period", "timeout", "success_threshold", "failure_threshold")
REQUEST_FIELDS = (
    "request_timeout_ms",
    "max_concurrent_requests_per_instance",
    "max_queue_wait_ms",
)
SCALE_FIELDS = (
    "type",
    "min_instances",
    "max_instances",
    "polling_interval",
    "target_utilization_percentage",
)

# Where az ml and this project default differently, an omitted field changes meaning: say so.
# (field, az ml default, our default, what to write to keep the az ml behaviour)
_DEFAULTS_THAT_DIFFER = {
    "endpoint": (
        ("auth_mode", "key", "aad_token (clients send an Entra token)", "auth_mode: key"),
        ("public_network_access", "enabled", "disabled", "public_network_access: enabled"),
    ),
    "deployment": (
        (
            "egress_public_network_access",
            "enabled",
            "disabled",
            "egress_public_network_access: enabled",
        ),
        ("app_insights_enabled", "false", "true", "app_insights_enabled: false"),
    ),
}


def check_fields(
    file: AzmlFile, loc: Loc, node: CommentedMap, known: Collection[str], what: str
) -> None:
    """A problem for every key of ``node`` that ``what`` does not have (with did-you-mean)."""
    for key in node:
        if key in known:
            continue
        close = difflib.get_close_matches(str(key), list(known), n=1, cutoff=0.6)
        fix = (
            f"did you mean {close[0]!r}?"
            if close
            else f"remove it; {what} accepts: {', '.join(sorted(known))}"
        )
        file.problem((*loc, key), f"unknown field {key!r} in {what}", fix, node[key])


def drop(file: AzmlFile, fields: tuple[AzmlField, ...], loc: Loc = ()) -> None:
    """A note for each dropped field of ``fields`` the node at ``loc`` sets, and why."""
    node = file.data
    for part in loc:
        node = node[part]
    for field in fields:
        if field.dropped and node.get(field.name) is not None:
            dotted = ".".join(str(part) for part in (*loc, field.name))
            file.note((*loc, field.name), f"{dotted} dropped: {field.does}")


def note_defaults(file: AzmlFile, level: str) -> None:
    """A note for each omitted field whose default differs between az ml and this project."""
    for key, theirs, ours, keep in _DEFAULTS_THAT_DIFFER[level]:
        if file.data.get(key) is None:
            file.note(
                (),
                f"{key} not set: az ml defaults to {theirs}, this project to {ours}; "
                f"write `{keep}` to keep the az ml behaviour",
            )


def texts(file: AzmlFile, loc: Loc, values: Any) -> Any:
    """Numbers and booleans in a string map become their YAML text ("4", "true")."""
    if not isinstance(values, dict):
        return values
    converted: dict[Any, Any] = {}
    for key, value in values.items():
        if isinstance(value, bool):
            converted[key] = "true" if value else "false"
        elif isinstance(value, int | float):
            converted[key] = str(value)
        else:
            converted[key] = value
            continue
        field = ".".join(str(part) for part in (*loc, key))
        file.note((*loc, key), f"{field}: {value} became the string {converted[key]!r}")
    return converted


def snake(value: Any) -> Any:
    """az ml accepts enum values in camel case too (AMLToken, TargetUtilization)."""
    if not isinstance(value, str):
        return value
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", value).lower()


def lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value
