"""Tagging and governance (POLICY-RULES.md, GOV-01 to GOV-03)."""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from mlep_policies import tokens
from mlep_policies.define import (
    ADVISORY,
    MANDATORY,
    integer,
    resource_policy,
    settings,
    string_list,
)
from mlep_policies.reading import UNKNOWN, endpoint_templates, entries, get, kind, text


def _tagged(args: ResourceValidationArgs) -> list[tuple[str, Any]]:
    """(where, tags) of every tag set a resource carries: an Azure resource's tags and the tags
    of each endpoint its traffic template PUTs (they replace the endpoint's on every change)."""
    tags = get(args.props, "tags")
    taggable = tokens.kind_of(args.resource_type) in tokens.TAGGABLE_KINDS or (
        args.resource_type.startswith("azure-native:") and tags is not None
    )
    if not taggable:
        return []
    found = [("", tags)]
    for item in endpoint_templates(args.props):
        found.append((f" on the template's endpoint {get(item, 'name')!r}", get(item, "tags")))
    return found


# Characters that show nothing: whitespace, format characters (zero-width space U+200B,
# joiners U+200C/U+200D, word joiner U+2060, BOM U+FEFF) and control characters. A tag made of
# them alone looks set in a listing but names nobody (models/fields.py rejects it the same way).
_INVISIBLE_CATEGORIES = frozenset({"Cf", "Zs", "Cc"})


def visible(value: Any) -> str:
    """A tag value without whitespace and invisible characters ("" for a non-string)."""
    return _visible(text(value))


@functools.lru_cache(maxsize=4096)  # the stack's tags recur on every resource
def _visible(value: str) -> str:
    return "".join(
        c for c in value if not c.isspace() and unicodedata.category(c) not in _INVISIBLE_CATEGORIES
    )


GOV01_TUNABLES = {
    "requiredTags": string_list(
        list(tokens.REQUIRED_TAGS), "Tags (labels on Kubernetes) every resource carries."
    ),
    "allowedSensitivity": string_list(
        list(tokens.SENSITIVITY_LEVELS), "Allowed values of the data-sensitivity tag."
    ),
}


def _required_tags(args: ResourceValidationArgs, report: ReportViolation) -> None:
    config = settings(args, GOV01_TUNABLES)
    if kind(args.resource_type):
        where = [(" (labels)", get(args.props, "metadata", "labels"))]
        fix = "Fix: set them under ml-endpoints:tags; the program copies them to labels."
    else:
        where = _tagged(args)
        fix = "Fix: set them under ml-endpoints:tags."
    for place, tags in where:
        if tags is UNKNOWN:
            continue
        values = entries(tags)
        missing = [
            key
            for key in config["requiredTags"]
            if values.get(key) is not UNKNOWN and not visible(values.get(key))
        ]
        if missing:
            report(
                f"missing or blank governance tag(s) {', '.join(missing)}{place} (blank: only "
                f"whitespace or invisible characters such as U+200B) (GOV-01). {fix}",
                None,
            )
        level = values.get("data-sensitivity")
        if level and level is not UNKNOWN and level not in config["allowedSensitivity"]:
            report(
                f"data-sensitivity is {level!r}{place}; allowed: "
                f"{', '.join(config['allowedSensitivity'])} (GOV-01). "
                "Fix: use your data classification level.",
                None,
            )


required_tags = resource_policy(
    "gov-01-required-tags",
    description="Taggable Azure resources carry owner, application and data-sensitivity, each "
    "non-blank after removing whitespace and invisible characters; Kubernetes objects carry "
    "them as labels (GOV-01).",
    level=MANDATORY,
    severity=Severity.MEDIUM,
    remediation="Set owner, application and data-sensitivity under ml-endpoints:tags in the "
    "stack file; endpoint tags merge over them.",
    validate=_required_tags,
    tunables=GOV01_TUNABLES,
)


def registered_model(model: str) -> bool:
    """An `azureml:` asset (name:version, or a registry path) or a model's resource id."""
    lowered = model.lower()
    if lowered.startswith("azureml:"):
        return bool(lowered.removeprefix("azureml:").strip(":/"))
    return lowered.startswith("/subscriptions/") and "/models/" in lowered


def _registered_models(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not tokens.is_type(args.resource_type, tokens.ONLINE_DEPLOYMENT):
        return
    model = get(args.props, "properties", "model")
    if model is UNKNOWN:
        return
    if model is None and get(args.props, "properties", "environmentId") is not None:
        return  # the environment's image serves the model (a custom container, a package)
    if not (isinstance(model, str) and registered_model(model)):
        report(
            f"deployment {get(args.props, 'deploymentName')!r} uses model {model!r}; prod "
            "deployments use registered models (GOV-02). Fix: register the model and reference "
            "it as azureml:NAME:VERSION or azureml://registries/REGISTRY/models/NAME/versions/V.",
            None,
        )


registered_models = resource_policy(
    "gov-02-registered-models",
    description="Prod deployments reference registered models (an azureml: asset, a registry "
    "path or a model resource id), never inline paths; a deployment without a model runs an "
    "environment whose image serves it (GOV-02). Prod only.",
    level=ADVISORY,
    severity=Severity.MEDIUM,
    remediation="Register the model (`az ml model create`) and set the deployment's model to "
    "azureml:NAME:VERSION or a registry path.",
    validate=_registered_models,
)

# Azure tag limits: https://learn.microsoft.com/azure/azure-resource-manager/management/tag-resources
FORBIDDEN_TAG_CHARS = re.compile(r"[<>%&\\?/]")
GOV03_TUNABLES = {
    "maxTags": integer(50, 1, 50, "Most tags on one resource."),
    "maxNameLength": integer(512, 1, 512, "Longest tag name."),
    "maxValueLength": integer(256, 1, 256, "Longest tag value."),
}


def _tag_limits(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if kind(args.resource_type):
        return
    config = settings(args, GOV03_TUNABLES)
    for place, tags in _tagged(args):
        values = entries(tags)
        if len(values) > config["maxTags"]:
            report(
                f"{len(values)} tags{place}; Azure allows at most {config['maxTags']} (GOV-03). "
                "Fix: drop tags you do not use.",
                None,
            )
        for name, value in values.items():
            name_text = str(name)
            if len(name_text) > config["maxNameLength"] or FORBIDDEN_TAG_CHARS.search(name_text):
                report(
                    f"tag name {name_text[:60]!r}{place} is longer than "
                    f"{config['maxNameLength']} characters or contains one of < > % & \\ ? / "
                    "(GOV-03). Fix: rename the tag.",
                    None,
                )
            if isinstance(value, str) and len(value) > config["maxValueLength"]:
                report(
                    f"tag {name_text!r}{place} has a {len(value)}-character value; Azure allows "
                    f"{config['maxValueLength']} (GOV-03). Fix: shorten the value.",
                    None,
                )


tag_limits = resource_policy(
    "gov-03-tag-limits",
    description="Azure tag limits: at most 50 tags, names up to 512 characters without "
    "< > % & \\ ? /, values up to 256 characters (GOV-03).",
    level=MANDATORY,
    severity=Severity.MEDIUM,
    remediation="Shorten or rename the offending tags under ml-endpoints:tags or the "
    "endpoint's tags.",
    validate=_tag_limits,
    tunables=GOV03_TUNABLES,
)

POLICIES = [required_tags, registered_models, tag_limits]
