"""The whole import: read every file, convert the endpoint and its deployments, validate."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlep.authoring.azml import placeholders
from mlep.authoring.azml.deployment import convert_deployment
from mlep.authoring.azml.endpoint import check_traffic_files, convert_endpoint
from mlep.authoring.azml.fields import DEPLOYMENT_ORDER, ENDPOINT_ORDER
from mlep.authoring.azml.files import Findings, load, read
from mlep.authoring.azml.spec import Origins, Spec, validate
from mlep.authoring.azml.variables import identity_dependents
from mlep.errors import UsageError


@dataclass(frozen=True)
class Converted:
    """The endpoint spec (plain data, contract field order) and what changed on the way."""

    spec: dict[str, Any]
    notes: list[str]


def convert(
    endpoint_file: Path,
    deployment_files: list[Path],
    values: dict[str, str] | None = None,
    *,
    rename: str | None = None,
    tags: dict[str, str] | None = None,
) -> Converted:
    """Convert an az ml endpoint file and its deployment files into one endpoint spec, their
    template placeholders filled from ``values`` (`--set NAME=VALUE`), named ``rename``
    (`--name`) and with ``tags`` over the file's own (`--owner`, ...) when given.

    Raises UsageError listing every problem found, each with file:line, field, value and fix.
    """
    if not deployment_files:
        raise UsageError(
            f"{endpoint_file}: no deployment files given; pass the files you give to "
            "`az ml online-deployment create --file` (at least one)"
        )
    found = Findings()
    files = (endpoint_file, *deployment_files)
    texts = [read(path) for path in files]
    # `--name` fills the placeholder the endpoint's `name:` is, in every file (a deployment's
    # `endpoint_name` too); a `--set` of the same placeholder still wins.
    named = placeholders.name_placeholder(texts[0])
    filled = {**({named: rename} if named and rename else {}), **(values or {})}
    loaded = [
        load(path, text, i, found, filled, name_placeholder=named)
        for i, (path, text) in enumerate(zip(files, texts, strict=True))
    ]
    # Every later check about a file that does not parse would mislead: stop here.
    found.raise_if_any()
    unused = sorted(set(values or {}) - found.used_values)
    if unused:
        raise UsageError(
            f"--set {', '.join(unused)}: no file has such a placeholder (a typo?); fix: "
            "name a placeholder as the files write it, e.g. {{ENDPOINT_NAME}} is ENDPOINT_NAME"
        )
    endpoint_source, *deployment_sources = (file for file in loaded if file is not None)
    origins: Origins = {}
    endpoint = convert_endpoint(endpoint_source, origins)
    name = endpoint.values.get("name")
    deployments = [
        convert_deployment(Spec(file, f"deployments[{j}].", origins), name)
        for j, file in enumerate(deployment_sources)
    ]
    endpoint.values["deployments"] = [d.ordered(DEPLOYMENT_ORDER) for d in deployments]
    check_traffic_files(endpoint)
    identity_dependents(endpoint_source, deployment_sources)
    found.raise_if_any()
    if rename:
        endpoint.values["name"] = rename
    if tags:
        endpoint.values["tags"] = {**(endpoint.values.get("tags") or {}), **tags}
    spec = endpoint.ordered(ENDPOINT_ORDER)
    validate(spec, endpoint_source, origins, found)
    return Converted(spec, found.notes)
