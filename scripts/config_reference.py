"""Generate the README's configuration reference from the models, so it cannot drift.

python -m scripts.config_reference           # print it
python -m scripts.config_reference --write   # rewrite the block in README.md
"""

from __future__ import annotations

import sys
import types
import typing
from typing import Any

from annotated_types import Ge, Le, MaxLen, MinLen
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from models.rules import RULES
from models.stack import StackConfig, Target
from scripts.readme_block import ReadmeBlock


def render() -> str:
    """One table per model, breadth-first from each target's stack, then the cross-field rules.

    Where the two targets have a model of their own at the same place (the stack, an endpoint,
    a deployment), each table says which target it is for."""
    sections = _models()
    paths = [path for path, _ in sections]
    parts: list[str] = []
    for path, model in sections:
        title = f"`ml-endpoints:{path}`"
        if paths.count(path) > 1:
            title += f" (`target: {_target_of(model)}`)"
        parts.append(f"#### {title}\n\n{_doc(model)}\n")
        parts.append("| field | type | default | rule |\n|---|---|---|---|")
        for name, field in model.model_fields.items():
            key = field.alias or name
            parts.append(
                f"| `{key}` | {_type(field.annotation)} | {_default(field)} | {_rule(field)} |"
            )
        checks = model.__pydantic_decorators__.model_validators.values()
        parts += [f"\nAlso: {_doc_of(check.func)}" for check in checks]
        parts.append("")
    parts.append("#### Cross-field rules\n\nChecked after the fields above, all at once:\n")
    parts += [f"- **{name}**: {_doc_of(check)}" for name, check in RULES.items()]
    return "\n".join(parts).strip() + "\n"


def _models() -> list[tuple[str, type[BaseModel]]]:
    """(field path, model) of every model reachable from the stack models, breadth-first."""
    seen: set[type[BaseModel]] = set()
    queue: list[tuple[str, type[BaseModel]]] = [("", m) for m in typing.get_args(StackConfig)]
    found: list[tuple[str, type[BaseModel]]] = []
    while queue:
        path, model = queue.pop(0)
        if model in seen:
            continue
        seen.add(model)
        found.append((path, model))
        for name, field in model.model_fields.items():
            child = f"{path}.{field.alias or name}" if path else field.alias or name
            if typing.get_origin(_strip(field.annotation)) is list:
                child += "[]"
            queue += [(child, nested) for nested in _models_in(field.annotation)]
    return found


def _target_of(model: type[BaseModel]) -> str:
    """The target a model of one target belongs to, by the name it carries."""
    for target in typing.get_args(Target):
        if model.__name__.lower().startswith(target):
            return str(target)
    return "any"


def _strip(annotation: Any) -> Any:
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _doc_of(check: Any) -> str:
    return " ".join((check.__doc__ or "").split())


def _doc(model: type[BaseModel]) -> str:
    return " ".join((model.__doc__ or "").split())


def _type(annotation: Any) -> str:  # noqa: PLR0911 - one return per kind of annotation
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _type(args[0])
    if origin in (typing.Union, types.UnionType):
        shown = [_type(a) for a in args if a is not type(None)]
        optional = " (optional)" if type(None) in args else ""
        return " \\| ".join(shown) + optional
    if origin is typing.Literal:
        return " \\| ".join(f"`{a}`" for a in args)
    if origin is list:
        return f"list of {_type(args[0])}"
    if origin is dict:
        return f"map {_type(args[0])} -> {_type(args[1])}"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "object"
    return getattr(annotation, "__name__", str(annotation))


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "**required**"
    value = field.default if field.default is not PydanticUndefined else None
    if isinstance(value, BaseModel):
        return "(defaults below)"
    if value is None or value in ({}, []):
        return "-"
    return f"`{value}`"


def _rule(field: FieldInfo) -> str:
    own = _constraints(_metadata(field.annotation, list(field.metadata)))
    inner = _inner(field.annotation)
    each = _constraints(_metadata(inner, [])) if inner is not None else []
    label = "each" if typing.get_origin(_strip(field.annotation)) is list else "values"
    bits = own + ([f"{label}: {', '.join(each)}"] if each else [])
    return "; ".join(bits) or "-"


def _inner(annotation: Any) -> Any:
    """The item type of a list or the value type of a map, if any."""
    bare = _strip(annotation)
    args = typing.get_args(bare)
    if typing.get_origin(bare) is list:
        return args[0]
    if typing.get_origin(bare) is dict:
        return args[1]
    return None


def _constraints(metadata: list[Any]) -> list[str]:
    bits: list[str] = []
    for meta in metadata:
        if isinstance(meta, Ge):
            bits.append(f">= {meta.ge}")
        elif isinstance(meta, Le):
            bits.append(f"<= {meta.le}")
        elif isinstance(meta, MinLen):
            bits.append(f"at least {meta.min_length} items" if meta.min_length > 1 else "non-empty")
        elif isinstance(meta, MaxLen):
            bits.append(f"at most {meta.max_length}")
        elif getattr(meta, "pattern", None):
            bits.append(f"matches `{meta.pattern}`")
        elif hasattr(meta, "func"):
            bits.append(_validator_rule(meta.func.__name__))
    return [b for b in bits if b]


def _validator_rule(name: str) -> str:
    return {
        "_check_name": "3-32 chars: lowercase letters, digits, single hyphens; starts with a "
        "letter, ends alphanumeric",
        "check_guid": "a GUID",
        "_check_resource_id": "an Azure resource id",
        "_check_tags": "Azure tag limits: <= 50 tags, names <= 512 chars without `< > % & \\ ? /`,"
        " values <= 256 chars",
        "_check_model": "`azureml:NAME:VERSION`, `azureml://registries/...` or a resource id",
        "_check_image": "explicit tag other than `latest`, or a digest",
        "_check_quantity": "a positive Kubernetes quantity",
        "_check_asset": "`azureml:NAME:VERSION`, an `azureml://` path or a resource id",
        "_check_email": "an email address",
        "_check_route_path": "starts with `/`, no spaces",
        "_check_mount_path": "an absolute path other than `/`",
    }.get(name, "")


def _metadata(annotation: Any, found: list[Any]) -> list[Any]:
    found = list(found)
    stack = [annotation]
    for meta in list(found):
        if isinstance(meta, FieldInfo):
            found += meta.metadata
    while stack:
        annotation = stack.pop()
        if typing.get_origin(annotation) is typing.Annotated:
            for meta in annotation.__metadata__:
                found += [meta, *meta.metadata] if isinstance(meta, FieldInfo) else [meta]
            stack.append(typing.get_args(annotation)[0])
        elif typing.get_origin(annotation) in (typing.Union, types.UnionType):
            stack += list(typing.get_args(annotation))
    return found


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]


BLOCK = ReadmeBlock("config-reference", render)
updated_readme = BLOCK.updated


if __name__ == "__main__":
    raise SystemExit(BLOCK.main(sys.argv[1:]))
