"""`mlep import`: `az ml` managed online endpoint and deployment YAML -> one endpoint spec.

The input is what users pass to `az ml online-endpoint create --file` and
`az ml online-deployment create --file` (schemas: managedOnlineEndpoint.schema.json and
managedOnlineDeployment.schema.json at https://azuremlschemas.azureedge.net/latest/). Field names
mostly carry over as they are; what has no equivalent here is dropped with a note, and what would
change behaviour silently (local assets the az ml CLI uploads, unpinned versions, secrets,
Kubernetes endpoints) is an error that says how to fix it. The result is validated by the same
loader as `mlep plan`, so an import that succeeds always loads.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from mlep.errors import UsageError
from models.errors import MISSING, ConfigError, show_value
from models.loader import parse_stack_config
from models.secrets import holds_credential, looks_secret

Loc = tuple[str | int, ...]

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

# Fields `az ml ... show` writes back; they describe a live resource, not a wanted state.
_OUTPUT_ONLY = ("id", "provisioning_state", "creation_context")
_ENDPOINT_FIELDS = (
    *(f for f in ENDPOINT_ORDER if f != "deployments"),
    *_OUTPUT_ONLY,
    *("$schema", "identity", "properties", "kind", "compute"),
    *("scoring_uri", "openapi_uri", "location"),
)
_DEPLOYMENT_FIELDS = (
    *(f for f in DEPLOYMENT_ORDER if f != "autoscale"),
    *_OUTPUT_ONLY,
    *("$schema", "endpoint_name", "scale_settings", "description", "properties"),
    *("data_collector", "private_network_connection", "model_mount_path", "type", "resources"),
)
_PROBE_FIELDS = ("initial_delay", "period", "timeout", "success_threshold", "failure_threshold")
_REQUEST_FIELDS = (
    "request_timeout_ms",
    "max_concurrent_requests_per_instance",
    "max_queue_wait_ms",
)
_SCALE_FIELDS = (
    "type",
    "min_instances",
    "max_instances",
    "polling_interval",
    "target_utilization_percentage",
)

# Dropped fields, and why: nothing in the spec (or the project) corresponds to them.
_DROPPED = {
    "properties": "free-form resource properties have no equivalent in the spec",
    "description": "deployments carry no description in the spec (the endpoint does)",
    "data_collector": "model data collection is not managed by this project; set it up "
    "after deployment if you need it",
    "private_network_connection": "the legacy network isolation flag; egress is governed by "
    "egress_public_network_access (default disabled)",
}

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

# Asset references that name no exact version: azureml:NAME@LABEL, azureml:NAME and
# azureml://registries/REG/<kind>/NAME/labels/LABEL.
_LABELLED = re.compile(r"azureml:(?P<name>[^:/@]+)(@(?P<label>.+))?")
_REGISTRY_LABELLED = re.compile(r"(?P<base>azureml://registries/[^/]+/\w+/[^/]+)/labels/[^/]+")


@dataclass(frozen=True)
class Converted:
    """The endpoint spec (plain data, contract field order) and what changed on the way."""

    spec: dict[str, Any]
    notes: list[str]


@dataclass(frozen=True)
class _Problem:
    where: str  # file, or file:line
    field: str  # the az ml field, dotted; "" for the file as a whole
    message: str
    fix: str
    value: Any = MISSING
    order: tuple[int, int] = (0, 0)  # (file, line): problems are listed in file order


class _File:
    """One parsed az ml file: its data, the line of every key, and what was found in it."""

    def __init__(
        self,
        path: Path,
        index: int,
        data: CommentedMap,
        problems: list[_Problem],
        notes: list[str],
    ) -> None:
        self.path = path
        self.index = index  # 0 for the endpoint file, then the deployment files in order
        self.data = data
        self._problems = problems
        self._notes = notes

    def line(self, loc: Loc) -> int | None:
        """The line of the deepest key of ``loc`` the file has."""
        node: Any = self.data
        line = None
        for part in loc:
            if isinstance(node, CommentedMap) and part in node:
                line = node.lc.key(part)[0] + 1
            elif isinstance(node, CommentedSeq) and isinstance(part, int) and part < len(node):
                line = node.lc.item(part)[0] + 1
            else:
                break
            node = node[part]
        return line

    def where(self, loc: Loc) -> str:
        line = self.line(loc)
        return f"{self.path}:{line}" if line else str(self.path)

    def problem(
        self, loc: Loc, message: str, fix: str, value: Any = MISSING, field: str | None = None
    ) -> None:
        field = ".".join(str(part) for part in loc) if field is None else field
        order = (self.index, self.line(loc) or 0)
        self._problems.append(_Problem(self.where(loc), field, message, fix, _plain(value), order))

    def note(self, loc: Loc, text: str) -> None:
        self._notes.append(f"{self.where(loc)}: {text}")


class _Spec:
    """A spec being built, remembering the file and field each value came from, so that a
    validation problem found later points at the az ml file and line."""

    def __init__(self, file: _File, prefix: str, origins: dict[str, tuple[_File, Loc]]) -> None:
        self.file = file
        self.values: dict[str, Any] = {}
        self._prefix = prefix
        self._origins = origins
        if prefix:  # a deployment: a problem about a field it lacks points at its file
            origins[prefix.rstrip(".")] = (file, ())

    def carry(self, key: str, value: Any) -> None:
        """Take a field over as it is (field names follow the az ml YAML)."""
        self.values[key] = _plain(value)
        self.record(key, value, (key,))

    def record(self, path: str, value: Any, source: Loc) -> None:
        self._origins[self._prefix + path] = (self.file, source)
        if isinstance(value, dict):
            for key, item in value.items():
                self.record(f"{path}.{key}", item, (*source, key))

    def ordered(self, order: tuple[str, ...]) -> dict[str, Any]:
        return {key: self.values[key] for key in order if key in self.values}


def convert(endpoint_file: Path, deployment_files: list[Path]) -> Converted:
    """Convert an az ml endpoint file and its deployment files into one endpoint spec.

    Raises UsageError listing every problem found, each with file:line, field, value and fix.
    """
    if not deployment_files:
        raise UsageError(
            f"{endpoint_file}: no deployment files given; pass the files you give to "
            "`az ml online-deployment create --file` (at least one)"
        )
    problems: list[_Problem] = []
    notes: list[str] = []
    loaded = [
        _load(path, i, problems, notes) for i, path in enumerate((endpoint_file, *deployment_files))
    ]
    # Every later check about a file that does not parse would mislead: stop here.
    _raise_if(problems)
    endpoint_source, *deployment_sources = (file for file in loaded if file is not None)
    origins: dict[str, tuple[_File, Loc]] = {}
    endpoint = _endpoint(endpoint_source, origins)
    name = endpoint.values.get("name")
    deployments = [
        _deployment(_Spec(file, f"deployments[{j}].", origins), name)
        for j, file in enumerate(deployment_sources)
    ]
    endpoint.values["deployments"] = [d.ordered(DEPLOYMENT_ORDER) for d in deployments]
    _check_traffic_files(endpoint)
    _raise_if(problems)
    spec = endpoint.ordered(ENDPOINT_ORDER)
    _validate(spec, endpoint_source, origins, problems)
    return Converted(spec, notes)


def _load(path: Path, index: int, problems: list[_Problem], notes: list[str]) -> _File | None:
    try:
        text = path.read_text()
    except OSError as error:
        raise UsageError(f"{path}: cannot read the file ({error.strerror})") from None
    try:
        data = YAML(typ="rt").load(text)
    except YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        reason = getattr(error, "problem", None) or str(error).splitlines()[0]
        opened = getattr(error, "context_mark", None)
        if opened is not None and (mark is None or opened.line != mark.line):
            reason += f"; {getattr(error, 'context', 'it started')} at line {opened.line + 1}"
        problems.append(_Problem(where, "", f"not valid YAML: {reason}", "fix the syntax"))
        return None
    if not isinstance(data, CommentedMap):
        problems.append(
            _Problem(
                str(path),
                "",
                "the top level must be a mapping of az ml fields",
                "pass an az ml online endpoint or deployment YAML file",
                _plain(data),
            )
        )
        return None
    return _File(path, index, data, problems, notes)


def _endpoint(file: _File, origins: dict[str, tuple[_File, Loc]]) -> _Spec:
    data = file.data
    spec = _Spec(file, "", origins)
    _check_fields(file, (), data, _ENDPOINT_FIELDS, "a managed online endpoint")
    if data.get("name") is None:
        file.problem(("name",), "the endpoint has no name", "add `name: ...` to the endpoint file")
    kind = str(data.get("kind", "")).lower()
    if "compute" in data or kind in ("k8s", "kubernetes"):
        key = "compute" if "compute" in data else "kind"
        file.problem(
            (key,),
            "Kubernetes online endpoints (on an attached Kubernetes compute) are not "
            "supported by this import",
            "import managed online endpoints only; to serve on Kubernetes, use this project's "
            "kubernetes target (ml-endpoints:target: kubernetes, deployments with a bento image)",
            data[key],
        )
    if data.get("identity") is not None:
        file.note(
            ("identity",),
            "identity dropped: this project gives each endpoint its own user-assigned managed "
            "identity, with AcrPull on the workspace registry and Storage Blob Data Reader on "
            "its storage; grant anything else the scoring code needs to that identity",
        )
    for key in ("name", "description", "auth_mode", "public_network_access", "tags"):
        if data.get(key) is not None:
            spec.carry(key, data[key])
    for key in ("traffic", "mirror_traffic"):
        if data.get(key):
            spec.carry(key, data[key])
    if "auth_mode" in spec.values:
        spec.values["auth_mode"] = _snake(spec.values["auth_mode"])
        if spec.values["auth_mode"] == "key":
            file.note(
                ("auth_mode",),
                "auth_mode key kept: the keys go to the stack's Key Vault (azure.key_vault); "
                "prod stacks need aad_token or aml_token unless the endpoint has a reviewed "
                "waiver (policy ID-01)",
            )
    if "public_network_access" in spec.values:
        spec.values["public_network_access"] = _lower(spec.values["public_network_access"])
    if "tags" in spec.values:
        spec.values["tags"] = _texts(file, ("tags",), spec.values["tags"])
    _drop(file, ("properties", "kind", *_OUTPUT_ONLY, "scoring_uri", "openapi_uri", "location"))
    _note_defaults(file, "endpoint")
    if not data.get("traffic"):
        file.note(
            (),
            "no traffic set: the endpoint takes no live traffic until `traffic:` gives its "
            "deployments weights summing to 100 (what `--all-traffic` or "
            "`az ml online-endpoint update --traffic` did with az ml)",
        )
    return spec


def _deployment(spec: _Spec, endpoint: Any) -> _Spec:
    file, data = spec.file, spec.file.data
    _check_fields(file, (), data, _DEPLOYMENT_FIELDS, "a managed online deployment")
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
    carried = (
        "name",
        "instance_type",
        "instance_count",
        "liveness_probe",
        "readiness_probe",
        "egress_public_network_access",
        "app_insights_enabled",
    )
    for key in carried:
        if data.get(key) is not None:
            spec.carry(key, data[key])
    if "egress_public_network_access" in spec.values:
        value = spec.values["egress_public_network_access"]
        spec.values["egress_public_network_access"] = _lower(value)
    for probe in ("liveness_probe", "readiness_probe"):
        if isinstance(data.get(probe), CommentedMap):
            _check_fields(file, (probe,), data[probe], _PROBE_FIELDS, probe)
    _model(spec)
    _environment(spec)
    _code(spec)
    _scale(spec)
    _requests(spec)
    for key in ("environment_variables", "tags"):
        if data.get(key) is not None:
            spec.carry(key, data[key])
            spec.values[key] = _texts(file, (key,), spec.values[key])
    _check_secrets(file)
    _drop(file, ("description", "properties", "data_collector", "private_network_connection"))
    _drop(file, _OUTPUT_ONLY)
    _note_defaults(file, "deployment")
    return spec


def _reject_unsupported(file: _File) -> None:
    """Kubernetes online deployments, and a model mount path the scoring code may rely on."""
    if file.data.get("model_mount_path") is not None:
        file.problem(
            ("model_mount_path",),
            "a custom model mount path is not supported: the model is mounted at the default "
            "path, so scoring code that reads from model_mount_path would not find it",
            "remove model_mount_path and read the model from the AZUREML_MODEL_DIR "
            "environment variable in the scoring script",
            file.data["model_mount_path"],
        )
    for key in ("type", "resources"):
        value = file.data.get(key)
        if value is None or (key == "type" and str(value).lower() == "managed"):
            continue
        file.problem(
            (key,),
            "this is a Kubernetes online deployment; only managed online deployments are imported",
            "import managed online deployments only; to serve on Kubernetes, use this "
            "project's kubernetes target (deployments with a bento image and resources)",
            value,
        )


def _model(spec: _Spec) -> None:
    file, model = spec.file, spec.file.data.get("model")
    if isinstance(model, CommentedMap):
        asset = model.get("name") or f"{_name(file)}-model"
        options = f" --path {_local_path(file, model['path'])}" if model.get("path") else ""
        if model.get("type"):
            options += f" --type {model['type']}"
        file.problem(
            ("model",),
            "an inline model is uploaded by the az ml CLI when it creates the deployment; "
            "this project references registered models only",
            f"register it first (`az ml model create --name {asset} --version 1{options}`) "
            f"and set model: azureml:{asset}:1",
            model,
        )
    elif model is not None and _pinned(file, ("model",), model, "model"):
        spec.carry("model", model)


def _environment(spec: _Spec) -> None:
    file, environment = spec.file, spec.file.data.get("environment")
    if isinstance(environment, CommentedMap):
        asset = environment.get("name") or f"{_name(file)}-env"
        image, conda = environment.get("image"), environment.get("conda_file")
        options = f" --image {image}" if image else ""
        if conda:
            options += f" --conda-file {_local_path(file, conda)}"
        file.problem(
            ("environment",),
            "an inline environment is built by the az ml CLI when it creates the deployment; "
            "this project references registered environments only",
            f"register it first (`az ml environment create --name {asset} --version 1"
            f"{options or ' --file environment.yml'}`) and set "
            f"environment: azureml:{asset}:1",
            environment,
        )
    elif environment is not None and _pinned(file, ("environment",), environment, "environment"):
        spec.carry("environment", environment)


def _code(spec: _Spec) -> None:
    file, code = spec.file, spec.file.data.get("code_configuration")
    if not isinstance(code, CommentedMap):
        if code is not None:
            spec.carry("code_configuration", code)  # not a mapping: validation says so
        return
    _check_fields(
        file, ("code_configuration",), code, ("code", "scoring_script"), "code_configuration"
    )
    path = code.get("code")
    if isinstance(path, str) and not path.startswith(("azureml:", "/subscriptions/")):
        asset = f"{_name(file)}-code"
        file.problem(
            ("code_configuration", "code"),
            "a local code folder is uploaded by the az ml CLI when it creates the deployment; "
            "this project references registered code assets only",
            f"register it first (`az ml code create --name {asset} --version 1 --path "
            f"{_local_path(file, path)}`) and set code: azureml:{asset}:1",
            path,
        )
    elif path is None or _pinned(file, ("code_configuration", "code"), path, "code"):
        spec.carry("code_configuration", code)


def _pinned(file: _File, loc: Loc, value: Any, kind: str) -> bool:
    """False (and a problem) for a reference that names a label or no version at all."""
    if not isinstance(value, str):
        return True  # not a string: the validation reports the type
    labelled = _LABELLED.fullmatch(value)
    registry = _REGISTRY_LABELLED.fullmatch(value)
    if labelled:
        name = labelled["name"]
        what = f"the label @{labelled['label']}" if labelled["label"] else "no version"
        lookup = (
            f" (`az ml {kind} show --name {name} --label latest --query version` prints the newest)"
            if kind != "code"
            else ""
        )
        fix = f"pin the version: 'azureml:{name}:VERSION'{lookup}"
    elif registry:
        what, fix = "a label", f"pin the version: '{registry['base']}/versions/VERSION'"
    else:
        return True
    file.problem(
        loc,
        f"the {kind} reference has {what}; a deployment names an exact version, so it "
        "always runs what was reviewed",
        fix,
        value,
    )
    return False


def _scale(spec: _Spec) -> None:
    """scale_settings -> autoscale: target_utilization scales on CPU between min and max."""
    file, scale = spec.file, spec.file.data.get("scale_settings")
    if scale is None:
        return
    if not isinstance(scale, CommentedMap):
        file.problem(
            ("scale_settings",),
            "scale_settings must be a mapping",
            "write `type: default`, or `type: target_utilization` with min_instances and "
            "max_instances",
            scale,
        )
        return
    _check_fields(file, ("scale_settings",), scale, _SCALE_FIELDS, "scale_settings")
    kind = _snake(scale.get("type"))
    if kind == "default":
        for key in scale:
            if key != "type":
                file.problem(
                    ("scale_settings", key),
                    f"{key} only applies to scale_settings of type target_utilization",
                    "remove it, or set type: target_utilization",
                    scale[key],
                )
        return
    if kind != "target_utilization":
        file.problem(
            ("scale_settings", "type"),
            "scale_settings.type must be default or target_utilization",
            "use type: default (a fixed instance_count) or type: target_utilization",
            scale.get("type", MISSING),
        )
        return
    autoscale: dict[str, Any] = {}
    spec.record("autoscale", None, ("scale_settings",))
    renamed = (
        ("min_instances", "min_instances"),
        ("max_instances", "max_instances"),
        ("target_utilization_percentage", "target_cpu_percent"),
    )
    for source, target in renamed:
        if scale.get(source) is not None:
            autoscale[target] = _plain(scale[source])
            spec.record(f"autoscale.{target}", None, ("scale_settings", source))
    for key in ("min_instances", "max_instances"):
        if key not in autoscale:
            autoscale[key] = 1
            file.note(("scale_settings",), f"scale_settings.{key} not set: 1, as in az ml")
    percent = autoscale.get("target_cpu_percent")
    if isinstance(percent, int) and percent <= 30:
        # Our scale-in threshold (default 30) must stay below the scale-out one.
        autoscale["scale_in_cpu_percent"] = max(1, percent // 2)
        spec.record("autoscale.scale_in_cpu_percent", None, ("scale_settings",))
        file.note(
            ("scale_settings", "target_utilization_percentage"),
            f"autoscale.scale_in_cpu_percent set to {autoscale['scale_in_cpu_percent']}: it "
            "must stay below target_cpu_percent (the default, 30, does not)",
        )
    if scale.get("polling_interval") is not None:
        file.note(
            ("scale_settings", "polling_interval"),
            "polling_interval dropped: Azure Monitor autoscale evaluates CPU every minute; "
            "autoscale.cooldown_minutes (default 5) sets the wait between scale actions",
        )
    file.note(
        ("scale_settings",),
        "scale_settings (target_utilization) became autoscale on CPU (Azure Monitor "
        "autoscale); target_utilization_percentage is target_cpu_percent",
    )
    spec.values["autoscale"] = autoscale


def _requests(spec: _Spec) -> None:
    file, settings = spec.file, spec.file.data.get("request_settings")
    if settings is None:
        return
    spec.carry("request_settings", settings)
    if not isinstance(settings, CommentedMap):
        return
    _check_fields(file, ("request_settings",), settings, _REQUEST_FIELDS, "request_settings")
    if "max_queue_wait_ms" in settings:
        del spec.values["request_settings"]["max_queue_wait_ms"]
        file.note(
            ("request_settings", "max_queue_wait_ms"),
            "max_queue_wait_ms dropped: az ml deprecated it; requests wait at most "
            "request_timeout_ms",
        )


def _check_secrets(file: _File) -> None:
    variables = file.data.get("environment_variables")
    if not isinstance(variables, CommentedMap):
        return
    for name, value in variables.items():
        if holds_credential(str(value)):
            why = "holds a value that looks like a credential"
        elif looks_secret(str(name)):
            why = "is named like a secret"
        else:
            continue
        # The value is never echoed: it may be the secret itself.
        file.problem(
            ("environment_variables", name),
            f"{name!r} {why}; environment variables are stored and shown in plain text, "
            "so secrets never go here",
            "remove it from the file; keep the secret in Key Vault and read it at runtime "
            "with the endpoint's managed identity",
        )


def _check_traffic_files(endpoint: _Spec) -> None:
    """Every deployment that traffic or mirror_traffic names comes with its file."""
    given = [d.get("name") for d in endpoint.values["deployments"]]
    for key in ("traffic", "mirror_traffic"):
        weights = endpoint.values.get(key)
        if not isinstance(weights, dict):
            continue
        missing = [name for name in weights if name not in given]
        if missing:
            endpoint.file.problem(
                (key,),
                f"{key} names deployment(s) without a deployment file: {', '.join(missing)}",
                "pass their az ml deployment files too, or remove them from " + key,
                weights,
            )


def _check_fields(
    file: _File, loc: Loc, node: CommentedMap, known: Collection[str], what: str
) -> None:
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


def _drop(file: _File, keys: tuple[str, ...]) -> None:
    for key in keys:
        if file.data.get(key) is None:
            continue
        if key in _DROPPED:
            file.note((key,), f"{key} dropped: {_DROPPED[key]}")
        else:
            file.note((key,), f"{key} dropped: an output of `az ml ... show`, not a setting")


def _note_defaults(file: _File, level: str) -> None:
    for key, theirs, ours, keep in _DEFAULTS_THAT_DIFFER[level]:
        if file.data.get(key) is None:
            file.note(
                (),
                f"{key} not set: az ml defaults to {theirs}, this project to {ours}; "
                f"write `{keep}` to keep the az ml behaviour",
            )


def _texts(file: _File, loc: Loc, values: Any) -> Any:
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


def _validate(
    spec: dict[str, Any],
    endpoint: _File,
    origins: dict[str, tuple[_File, Loc]],
    problems: list[_Problem],
) -> None:
    """Load the spec the way `mlep plan` does, inside the smallest azure stack around it."""
    stack = {
        "target": "azure",
        "environment": "dev",
        "tags": {"owner": "import", "application": "import", "data-sensitivity": "internal"},
        # A key vault, so that auth_mode: key is judged on the endpoint alone.
        "azure": {
            "resource_group": "rg-import",
            "workspace": "mlw-import",
            "key_vault": {"name": "kv-import"},
        },
        "endpoints": [spec],
    }
    try:
        parse_stack_config(stack, str(endpoint.path))
    except ConfigError as error:
        for problem in error.problems:
            path = problem.path.removeprefix("endpoints[0]").lstrip(".")
            file, source, rest = _origin(path, origins, endpoint)
            field = ".".join(str(part) for part in (*source, *rest)).replace(".[", "[")
            file.problem(source, problem.message, problem.fix, problem.value, field)
        _raise_if(problems)


def _origin(
    path: str, origins: dict[str, tuple[_File, Loc]], endpoint: _File
) -> tuple[_File, Loc, list[str]]:
    """The file and field a spec path came from (its nearest recorded parent), and the rest."""
    rest: list[str] = []
    while path and path not in origins:
        head, _, tail = path.rpartition(".")
        if "[" in tail:  # deployments[1] -> deployments, [1]
            cut = path.rindex("[")
            head, tail = path[:cut], path[cut:]
        rest.insert(0, tail)
        path = head
    file, source = origins.get(path, (endpoint, ()))
    return file, source, rest


def _raise_if(problems: list[_Problem]) -> None:
    if not problems:
        return
    count = len(problems)
    lines = [f"cannot import the az ml files: {count} problem{'s' if count != 1 else ''}"]
    for problem in sorted(problems, key=lambda p: p.order):
        given = f" = {show_value(problem.value)}" if problem.value is not MISSING else ""
        field = f": {problem.field}{given}" if problem.field else ""
        lines.append(f"  {problem.where}{field}")
        lines.append(f"    error: {problem.message}")
        lines.append(f"    fix:   {problem.fix}")
    raise UsageError("\n".join(lines))


def _name(file: _File) -> str:
    return str(file.data.get("name") or "my-deployment")


def _local_path(file: _File, path: Any) -> str:
    """A path from an az ml file (relative to that file's folder), as seen from here."""
    return os.path.normpath(file.path.parent / str(path))


def _snake(value: Any) -> Any:
    """az ml accepts enum values in camel case too (AMLToken, TargetUtilization)."""
    if not isinstance(value, str):
        return value
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", value).lower()


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _plain(value: Any) -> Any:
    """ruamel's round-trip types down to plain dicts, lists, str, int, float and bool."""
    if isinstance(value, dict):
        return {_plain(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, bool) or value is None:
        return value
    for kind in (str, int, float):
        if isinstance(value, kind):
            return kind(value)
    return value
