"""The az ml endpoint file: its fields in the spec, and what is dropped or noted on the way."""

from __future__ import annotations

from mlep.authoring.azml.fields import (
    ENDPOINT,
    ENDPOINT_FIELDS,
    check_fields,
    drop,
    lower,
    note_defaults,
    snake,
    texts,
)
from mlep.authoring.azml.files import AzmlFile
from mlep.authoring.azml.spec import Origins, Spec


def convert_endpoint(file: AzmlFile, origins: Origins) -> Spec:
    """The endpoint's own fields (no deployments yet), with problems and notes on ``file``."""
    data = file.data
    spec = Spec(file, "", origins)
    check_fields(file, (), data, ENDPOINT_FIELDS, "a managed online endpoint")
    if data.get("name") is None:
        file.problem(("name",), "the endpoint has no name", "add `name: ...` to the endpoint file")
    _reject_kubernetes(file)
    for key in ("name", "description", "auth_mode", "public_network_access", "tags"):
        if data.get(key) is not None:
            spec.carry(key, data[key])
    for key in ("traffic", "mirror_traffic"):
        if data.get(key):
            spec.carry(key, data[key])
    _normalise(spec)
    drop(file, ENDPOINT)
    note_defaults(file, "endpoint")
    if not data.get("traffic"):
        file.note(
            (),
            "no traffic set: the endpoint takes no live traffic until `traffic:` gives its "
            "deployments weights summing to 100 (what `--all-traffic` or "
            "`az ml online-endpoint update --traffic` did with az ml)",
        )
    return spec


def check_traffic_files(endpoint: Spec) -> None:
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


def _reject_kubernetes(file: AzmlFile) -> None:
    data = file.data
    kind = str(data.get("kind", "")).lower()
    if "compute" in data or kind in ("k8s", "kubernetes"):
        key = "compute" if "compute" in data else "kind"
        file.problem(
            (key,),
            "a Kubernetes online endpoint (on an attached Kubernetes compute); only managed "
            "online endpoints are imported",
            f"to import it as a managed online endpoint, remove {key}; to keep serving on your "
            "own cluster, use this project's kubernetes target (ml-endpoints:target: "
            "kubernetes, deployments with a bento image)",
            data[key],
        )


def _normalise(spec: Spec) -> None:
    """Enum values in this project's spelling; tag values as strings."""
    file, values = spec.file, spec.values
    if "auth_mode" in values:
        values["auth_mode"] = snake(values["auth_mode"])
        if values["auth_mode"] == "key":
            file.note(
                ("auth_mode",),
                "auth_mode key kept: the keys go to the stack's Key Vault (azure.key_vault); "
                "prod stacks need aad_token or aml_token unless the endpoint has a reviewed "
                "waiver (policy ID-01)",
            )
    if "public_network_access" in values:
        values["public_network_access"] = lower(values["public_network_access"])
    if "tags" in values:
        values["tags"] = texts(file, ("tags",), values["tags"])
