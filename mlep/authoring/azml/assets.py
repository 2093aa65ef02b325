"""Model, environment and code references: registered assets pinned to a version carry over;
inline assets (which the az ml CLI uploads) and labels are refused with the command to fix them."""

from __future__ import annotations

import os
import re
from typing import Any

from ruamel.yaml.comments import CommentedMap

from mlep.authoring.azml.fields import (
    INFERENCE_FIELDS,
    INLINE_ENVIRONMENT,
    INLINE_ENVIRONMENT_FIELDS,
    ROUTE_FIELDS,
    check_fields,
    drop,
)
from mlep.authoring.azml.files import AzmlFile, Loc, plain
from mlep.authoring.azml.spec import Spec
from models.deployment import image_pinned

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
            _register("model", asset, model.get("version"), options),
            model,
        )
    elif model is not None and _pinned(file, ("model",), model, "model"):
        spec.carry("model", model)


def convert_environment(spec: Spec) -> None:
    """A registered environment as written; an inline image (and its inference_config) for the
    program to register; an inline environment it cannot register refused."""
    file, environment = spec.file, spec.file.data.get("environment")
    if isinstance(environment, CommentedMap):
        check_fields(
            file, ("environment",), environment, INLINE_ENVIRONMENT_FIELDS, "an environment"
        )
        if (
            environment.get("conda_file")
            or environment.get("build")
            or not environment.get("image")
        ):
            _refuse_inline_environment(file, environment)
        else:
            _container(spec, environment)
    elif environment is not None and _pinned(file, ("environment",), environment, "environment"):
        spec.carry("environment", environment)


def _container(spec: Spec, environment: CommentedMap) -> None:
    """An image environment: its image and inference_config carried, the rest noted."""
    file = spec.file
    loc = ("environment",)
    config = environment.get("inference_config")
    if isinstance(config, CommentedMap):
        check_fields(file, (*loc, "inference_config"), config, INFERENCE_FIELDS, "inference_config")
        for route in INFERENCE_FIELDS:
            if isinstance(config.get(route), CommentedMap):
                check_fields(
                    file, (*loc, "inference_config", route), config[route], ROUTE_FIELDS, route
                )
    os_type = environment.get("os_type")
    if os_type is not None and str(os_type).lower() != "linux":
        file.problem(
            (*loc, "os_type"),
            "managed online deployments run Linux containers",
            "build a Linux image and remove os_type (or set it to linux)",
            os_type,
        )
    kept = {key: environment[key] for key in ("image", "inference_config") if key in environment}
    spec.values["environment"] = plain(kept)
    spec.record("environment", kept, loc)
    drop(file, INLINE_ENVIRONMENT, loc)
    image = environment.get("image")
    if isinstance(image, str) and not image_pinned(image):
        file.note(
            (*loc, "image"),
            f"environment.image {image!r} names no tag or the tag latest: the image it runs "
            "can change under the same name; pin a tag or a digest (REPOSITORY@sha256:...)",
        )


def _refuse_inline_environment(file: AzmlFile, environment: CommentedMap) -> None:
    asset = environment.get("name") or f"{_name(file)}-env"
    image, conda = environment.get("image"), environment.get("conda_file")
    options = f" --image {image}" if image else ""
    if conda:
        options += f" --conda-file {_local_path(file, conda)}"
    build = environment.get("build")
    if isinstance(build, CommentedMap) and build.get("path"):
        options += f" --build-context {_local_path(file, build['path'])}"
    file.problem(
        ("environment",),
        "an inline environment built from a conda file or a build context is built by the "
        "az ml CLI when it creates the deployment; this project registers image "
        "environments only, and references the others",
        _register("environment", asset, environment.get("version"), options or " --file ENV.yml"),
        environment,
    )


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
            _register("code", asset, None, f" --path {_local_path(file, path)}"),
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


def _register(kind: str, asset: Any, version: Any, options: str) -> str:
    """The fix for an inline asset: the command that registers it, and the reference to set.
    The version is the file's; without one, the one az ml registers (never invented here)."""
    if version is not None:
        return (
            f"register it first (`az ml {kind} create --name {asset} --version {version}"
            f"{options}`) and set {kind}: azureml:{asset}:{version}"
        )
    return (
        f"register it first (`az ml {kind} create --name {asset}{options}` prints the version "
        f"it registers) and set {kind}: azureml:{asset}:VERSION with that version"
    )


def _name(file: AzmlFile) -> str:
    return str(file.data.get("name") or "my-deployment")


def _local_path(file: AzmlFile, path: Any) -> str:
    """A path from an az ml file (relative to that file's folder), as seen from here."""
    return os.path.normpath(file.path.parent / str(path))
