"""Model, environment and code references: registered assets pinned to a version carry over;
inline assets (which the az ml CLI uploads) and labels are refused with the command to fix them."""

from __future__ import annotations

import os
import re
from typing import Any

from ruamel.yaml.comments import CommentedMap

from mlep.authoring.azml.fields import check_fields
from mlep.authoring.azml.files import AzmlFile, Loc
from mlep.authoring.azml.spec import Spec

# Asset references that name no exact version: azureml:NAME@LABEL, azureml:NAME and
# azureml://registries/REG/<kind>/NAME/labels/LABEL.
_LABELLED = re.compile(r"azureml:(?P<name>[^:/@]+)(@(?P<label>.+))?")
_REGISTRY_LABELLED = re.compile(r"(?P<base>azureml://registries/[^/]+/\w+/[^/]+)/labels/[^/]+")


def convert_model(spec: Spec) -> None:
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


def convert_environment(spec: Spec) -> None:
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


def convert_code(spec: Spec) -> None:
    file, code = spec.file, spec.file.data.get("code_configuration")
    if not isinstance(code, CommentedMap):
        if code is not None:
            spec.carry("code_configuration", code)  # not a mapping: validation says so
        return
    check_fields(
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


def _pinned(file: AzmlFile, loc: Loc, value: Any, kind: str) -> bool:
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


def _name(file: AzmlFile) -> str:
    return str(file.data.get("name") or "my-deployment")


def _local_path(file: AzmlFile, path: Any) -> str:
    """A path from an az ml file (relative to that file's folder), as seen from here."""
    return os.path.normpath(file.path.parent / str(path))
