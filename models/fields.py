"""Small constrained types shared by the spec models, each with a message saying how to fix it."""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr
from pydantic_core import PydanticCustomError

RULE = "mlep_rule"  # error type of every hand-written rule; its context carries the fix


def rule_error(
    message: str, fix: str, field: str | None = None, value: Any = None
) -> PydanticCustomError:
    """A validation error whose message and fix are ours, not pydantic's.

    A model-level check names the offending sub-field in ``field`` (dotted, relative to the
    model) and its ``value``, so the reported path points at the field, not at its parent.
    """
    context: dict[str, Any] = {"fix": fix}
    if field is not None:
        context["field"] = field
        context["value"] = value
    return PydanticCustomError(RULE, message, context)


class Spec(BaseModel):
    """Base of every config model: immutable, and an unknown field is an error, never ignored."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


# Endpoint and deployment names: what Azure ML accepts for an online endpoint, and also a valid
# Kubernetes DNS label, so one name works on both targets.
_NAME = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")


def name_error(value: str) -> tuple[str, str] | None:
    """(what is wrong, the fix) for an endpoint or deployment name Azure ML would refuse."""
    if not 3 <= len(value) <= 32 or not _NAME.fullmatch(value):
        return (
            "names are 3-32 characters: lowercase letters, digits and single hyphens, "
            "starting with a letter and ending with a letter or digit",
            f"rename it, for example {_suggest_name(value)!r}",
        )
    return None


def _check_name(value: str) -> str:
    if (error := name_error(value)) is not None:
        raise rule_error(*error)
    return value


def _suggest_name(value: str) -> str:
    cleaned = re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")
    cleaned = re.sub(r"^[^a-z]+", "", cleaned)[:32].rstrip("-")
    if len(cleaned) < 3:
        cleaned = f"{cleaned or 'name'}-01"
    return cleaned


Name = Annotated[StrictStr, AfterValidator(_check_name)]

_GUID = re.compile(r"[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")


def check_guid(value: str) -> str:
    if not _GUID.fullmatch(value):
        raise rule_error(
            "expected a GUID (an Entra object, tenant or client id)",
            "copy the id from `az ad sp show` / `az ad group show`, e.g. "
            "'00000000-0000-0000-0000-000000000000'",
        )
    return value


Guid = Annotated[StrictStr, AfterValidator(check_guid)]


def _check_resource_id(value: str) -> str:
    if not re.fullmatch(r"/subscriptions/[^/]+/resourceGroups/[^/]+/providers/.+", value):
        raise rule_error(
            "expected an Azure resource id",
            "use the full id: /subscriptions/<sub>/resourceGroups/<rg>/providers/<type>/<name>",
        )
    return value


ResourceId = Annotated[StrictStr, AfterValidator(_check_resource_id)]

NonEmptyStr = Annotated[StrictStr, Field(min_length=1)]
Percent = Annotated[StrictInt, Field(ge=1, le=100)]
Weight = Annotated[StrictInt, Field(ge=0, le=100)]
MirrorWeight = Annotated[StrictInt, Field(ge=1, le=50)]
# Thresholds such as 0.1 % must accept fractions, but never bools or strings.
PercentThreshold = Annotated[float, Field(strict=True, ge=0, le=100)]
PositiveInt = Annotated[StrictInt, Field(ge=1)]
Bool = StrictBool

AuthMode = Literal["key", "aml_token", "aad_token"]
NetworkAccess = Literal["enabled", "disabled"]
DataSensitivity = Literal["public", "internal", "confidential", "restricted"]

# Azure tag limits: https://learn.microsoft.com/azure/azure-resource-manager/management/tag-resources
TAG_NAME_FORBIDDEN = set("<>%&\\?/")
MAX_TAGS = 50
REQUIRED_TAGS = ("owner", "application", "data-sensitivity")


# Characters that show nothing: whitespace, format characters (zero-width space U+200B,
# joiners U+200C/U+200D, word joiner U+2060, BOM U+FEFF) and control characters. The policy
# pack's GOV-01 judges tag values the same way (policies/mlep_policies/tagging.py).
_INVISIBLE_CATEGORIES = frozenset({"Cf", "Zs", "Cc"})


def visible(value: str) -> str:
    """``value`` without whitespace and invisible characters."""
    return "".join(
        c for c in value if not c.isspace() and unicodedata.category(c) not in _INVISIBLE_CATEGORIES
    )


def _check_tags(tags: dict[str, str]) -> dict[str, str]:
    for name, value in tags.items():
        if value and not visible(value):
            raise rule_error(
                f"tag {name!r} has a value {value!r} made only of whitespace or invisible "
                "characters (such as the zero-width space U+200B or a BOM), so it names nothing",
                f"give `{name}` a visible value (e.g. `{name}: data-science`), or drop the "
                "tag if it is optional",
                field=name,
                value=value,
            )
        bad = sorted(TAG_NAME_FORBIDDEN & set(name))
        if bad or not name or len(name) > 512:
            raise rule_error(
                f"tag name {name!r} is not allowed by Azure (1-512 characters, none of "
                "< > % & \\ ? /)",
                f"rename the tag without {' '.join(bad) or 'the extra characters'}",
                field=name,
                value=name,
            )
        if len(value) > 256:
            raise rule_error(
                f"tag {name!r} has a {len(value)}-character value; Azure allows 256",
                "shorten the value",
                field=name,
                value=value,
            )
    if len(tags) > MAX_TAGS:
        raise rule_error(
            f"{len(tags)} tags given; Azure allows {MAX_TAGS} per resource",
            "drop the tags nobody queries",
        )
    return tags


Tags = Annotated[dict[StrictStr, StrictStr], AfterValidator(_check_tags)]


def as_plain(value: Any) -> Any:
    """Strip YAML node types (ruamel's CommentedMap etc.) down to plain dicts and lists."""
    if isinstance(value, dict):
        return {key: as_plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [as_plain(item) for item in value]
    return value
