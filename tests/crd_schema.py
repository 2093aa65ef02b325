"""Custom resources checked the way the API server checks them against their CRD (issue 21).

A stored CRD file (`tests/crds/<group>/<kind>-<project>-<version>.json`) holds the structural
`openAPIV3Schema` of one served version, its `x-kubernetes-validations`, and where it came from
(`source`). `validate(obj, crd)` does what the API server does on create, in its order:

1. defaulting (`default`): CEL rules see the defaulted object (HTTPRoute's `matches` default);
2. structural validation (jsonschema, OpenAPI 3.0 keywords as draft 4): an unknown field FAILS
   unless `x-kubernetes-preserve-unknown-fields` (the API server would prune it silently and
   the setting would be lost); `x-kubernetes-int-or-string`; `nullable` (a null elsewhere
   FAILS: the server would prune it too); `pattern` with RE2 like Go; the `int32`/`int64`
   ranges and `byte`; list-type `set`/`map` uniqueness; ObjectMeta as the server checks it
   for a custom resource (DNS subdomain name, label and annotation syntax);
3. every CEL rule of `x-kubernetes-validations` at the node it is attached to, `self` typed
   from the schema (object properties escaped as Kubernetes escapes them, e.g. `namespace` ->
   `__namespace__`; `number` as double). Rules reading `oldSelf` are transition rules: only
   an update evaluates them, so they are skipped and reported in `Report.transition`. A rule
   calling a function neither cel-python nor `EXTENSIONS` provides is not evaluated and is
   reported in `Report.unevaluated`, never passed silently.
https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/
"""

from __future__ import annotations

import base64
import binascii
import copy
import functools
import json
import re
import string
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import celpy
import jsonschema
import re2
from celpy import celtypes
from celpy.evaluation import CELEvalError, base_functions

CRDS = Path(__file__).resolve().parent / "crds"
Schema = dict[str, Any]

# --- CRD files -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Crd:
    """One served version of a CRD, as stored under tests/crds."""

    name: str  # the file's stem, e.g. httproute-gateway-api-v1.3.0-standard
    project: str  # e.g. "Gateway API"
    project_version: str  # e.g. "1.3.0"
    channel: str | None  # Gateway API's standard or experimental channel
    group: str
    kind: str
    version: str
    source: dict[str, str] = field(compare=False)
    schema: Schema = field(compare=False, repr=False)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}"


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


@functools.cache
def load_crds() -> tuple[Crd, ...]:
    """Every stored CRD, oldest project version first."""
    crds = []
    for path in sorted(CRDS.rglob("*.json")):
        doc = json.loads(path.read_text())
        crds.append(
            Crd(
                name=path.stem,
                project=doc["project"],
                project_version=doc["projectVersion"],
                channel=doc.get("channel"),
                group=doc["group"],
                kind=doc["kind"],
                version=doc["version"],
                source=doc["source"],
                schema=doc["openAPIV3Schema"],
            )
        )
    return tuple(sorted(crds, key=lambda c: (c.kind, _version_key(c.project_version), c.name)))


# --- reports ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """A CEL rule, where it sits in a CRD's schema (`spec.rules[].filters[]`)."""

    crd: str
    path: str
    rule: str


@dataclass
class Report:
    errors: list[str] = field(default_factory=list)
    evaluated: list[Rule] = field(default_factory=list)
    unevaluated: list[Rule] = field(default_factory=list)  # unsupported function: see module doc
    transition: list[Rule] = field(default_factory=list)  # reads oldSelf: update-only

    @property
    def ok(self) -> bool:
        return not self.errors


def validate(obj: dict[str, Any], crd: Crd) -> Report:
    """Check one custom resource against one CRD version."""
    report = Report()
    if obj.get("apiVersion") != crd.api_version or obj.get("kind") != crd.kind:
        report.errors.append(
            f"{obj.get('apiVersion')}/{obj.get('kind')} is not {crd.api_version}/{crd.kind}"
        )
        return report
    value = copy.deepcopy(obj)
    apply_defaults(value, crd.schema)
    report.errors.extend(_structural_errors(value, _validator(crd.name)))
    report.errors.extend(_metadata_errors(value.get("metadata")))
    _walk(value, crd.schema, crd=crd.name, path="", where="", report=report, root=True)
    return report


def check(value: Any, schema: Schema, *, name: str = "schema") -> Report:
    """Validate any value against a bare structural schema (for the validator's own tests)."""
    report = Report()
    value = copy.deepcopy(value)
    apply_defaults(value, schema)
    validator = _VALIDATOR_CLASS(_json_schema(schema, structural=True))
    report.errors.extend(_structural_errors(value, validator))
    _walk(value, schema, crd=name, path="", where="", report=report, root=False)
    return report


# --- 1. defaulting -------------------------------------------------------------------------


def apply_defaults(value: Any, schema: Schema) -> None:
    """Fill absent properties that have a `default`, at every depth (in place)."""
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        for name, sub in properties.items():
            if name not in value and "default" in sub:
                value[name] = copy.deepcopy(sub["default"])
        extra = schema.get("additionalProperties")
        for name, item in value.items():
            if name in properties:
                apply_defaults(item, properties[name])
            elif isinstance(extra, dict):
                apply_defaults(item, extra)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for item in value:
            apply_defaults(item, schema["items"])


# --- 2. structural validation ------------------------------------------------------------

_VALUE_KEYWORDS = (
    "enum",
    "pattern",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minProperties",
    "maxProperties",
    "required",
)
# The ranges the API server checks for these formats (kube-openapi's IsValueValidAgainstRange).
_INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}
# Formats the API server does not check: nothing to do.
_UNCHECKED_FORMATS = {"int32", "int64", "float", "double", "password"}
# ObjectMeta of a custom resource: the server validates it itself, whatever the CRD says.
_OBJECT_META: Schema = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name"],
    "properties": {
        "name": {"type": "string"},
        "generateName": {"type": "string"},
        "namespace": {"type": "string"},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
        "finalizers": {"type": "array", "items": {"type": "string"}},
        "ownerReferences": {"type": "array", "items": {"type": "object"}},
    },
}


def _json_schema(node: Schema, *, structural: bool) -> Schema:
    """A Kubernetes structural schema node as JSON Schema (draft 4, as OpenAPI 3.0 is).

    `structural` is off inside allOf/anyOf/oneOf/not, whose members only add value checks.
    """
    out: Schema = {key: node[key] for key in _VALUE_KEYWORDS if key in node}
    types = _types(node)
    if types:
        out["type"] = types if len(types) > 1 else types[0]
    if "null" in types and "enum" in out:
        out["enum"] = [*out["enum"], None]
    if node.get("format") in _INT_RANGES and node.get("type") == "integer":
        low, high = _INT_RANGES[node["format"]]
        out["allOf"] = [{"minimum": low, "maximum": high}]
    if "properties" in node:
        out["properties"] = {
            name: _json_schema(sub, structural=structural)
            for name, sub in node["properties"].items()
        }
    extra = node.get("additionalProperties")
    if isinstance(extra, dict):
        out["additionalProperties"] = _json_schema(extra, structural=structural)
    elif (
        structural
        and node.get("type") == "object"
        and not node.get("x-kubernetes-preserve-unknown-fields")
        and extra is None
    ):
        out["additionalProperties"] = False
    if isinstance(node.get("items"), dict):
        out["items"] = _json_schema(node["items"], structural=structural)
    for key in ("allOf", "anyOf", "oneOf"):
        if key in node:
            members = [_json_schema(sub, structural=False) for sub in node[key]]
            out[key] = [*out.get(key, []), *members]
    if "not" in node:
        out["not"] = _json_schema(node["not"], structural=False)
    return out


def _types(node: Schema) -> list[str]:
    """The JSON types a node takes: int-or-string is both, nullable adds null."""
    types: list[str] = []
    if node.get("x-kubernetes-int-or-string"):
        types = ["integer", "string"]
    elif "type" in node:
        types = [node["type"]]
    if types and node.get("nullable"):
        types.append("null")
    return types


def _re2_pattern(
    validator: Any, pattern: str, instance: Any, schema: Schema
) -> Iterator[jsonschema.ValidationError]:
    """`pattern` as Go's regexp (RE2) reads it; unanchored, like JSON Schema's."""
    if isinstance(instance, str) and not re2.search(pattern, instance):  # type: ignore[no-untyped-call]
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


_VALIDATOR_CLASS = jsonschema.validators.extend(  # type: ignore[no-untyped-call]
    jsonschema.Draft4Validator, {"pattern": _re2_pattern}
)


@functools.cache
def _validator(crd_name: str) -> Any:
    (crd,) = [c for c in load_crds() if c.name == crd_name]
    schema = _json_schema(crd.schema, structural=True)
    schema["properties"]["metadata"] = _OBJECT_META
    schema["required"] = sorted({*schema.get("required", []), "apiVersion", "kind", "metadata"})
    return _VALIDATOR_CLASS(schema)


def _structural_errors(value: Any, validator: Any) -> list[str]:
    errors = sorted(validator.iter_errors(value), key=lambda e: list(map(str, e.absolute_path)))
    return [f"{_path(e.absolute_path)}: {e.message}" for e in errors]


def _path(parts: Any) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out.lstrip(".") or "<root>"


_DNS_LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS_SUBDOMAIN = re.compile(rf"{_DNS_LABEL}(\.{_DNS_LABEL})*")
_QUALIFIED_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")


def _is_subdomain(text: str) -> bool:
    return len(text) <= 253 and _DNS_SUBDOMAIN.fullmatch(text) is not None


def _is_qualified_key(key: str) -> bool:
    prefix, slash, name = key.rpartition("/")
    if slash and not _is_subdomain(prefix):
        return False
    return len(name) <= 63 and _QUALIFIED_NAME.fullmatch(name) is not None


def _metadata_errors(metadata: Any) -> list[str]:
    """What apimachinery's ValidateObjectMeta checks on a namespaced custom resource."""
    if not isinstance(metadata, dict):
        return []
    errors = []
    name, namespace = metadata.get("name"), metadata.get("namespace")
    if isinstance(name, str) and not _is_subdomain(name):
        errors.append(f"metadata.name: {name!r} is not a DNS-1123 subdomain")
    if isinstance(namespace, str) and not (
        len(namespace) <= 63 and re.fullmatch(_DNS_LABEL, namespace)
    ):
        errors.append(f"metadata.namespace: {namespace!r} is not a DNS-1123 label")
    for key, label in (metadata.get("labels") or {}).items():
        if not _is_qualified_key(key):
            errors.append(f"metadata.labels: {key!r} is not a valid label key")
        if not (isinstance(label, str) and len(label) <= 63 and _LABEL_VALUE.fullmatch(label)):
            errors.append(f"metadata.labels.{key}: {label!r} is not a valid label value")
    annotations = metadata.get("annotations") or {}
    for key in annotations:
        if not _is_qualified_key(key):
            errors.append(f"metadata.annotations: {key!r} is not a valid annotation key")
    if len(json.dumps(annotations)) > 256 * 1024:
        errors.append("metadata.annotations: more than 256 KiB")
    return errors


def _format_errors(value: Any, node: Schema, where: str) -> list[str]:
    fmt = node.get("format")
    if fmt is None or fmt in _UNCHECKED_FORMATS or not isinstance(value, str):
        return []
    if fmt == "byte":
        try:
            base64.b64decode(value, validate=True)
        except binascii.Error:
            return [f"{where}: {value!r} is not base64 (format byte)"]
        return []
    # The server checks more formats (duration, date-time, uri, ...): none is on a field this
    # program sets today. Say so rather than pass it unchecked.
    return [f"{where}: format {fmt!r} is not checked by tests/crd_schema.py"]


def _list_type_errors(value: list[Any], node: Schema, where: str) -> list[str]:
    list_type = node.get("x-kubernetes-list-type")
    if list_type == "set":
        keys = [json.dumps(item, sort_keys=True) for item in value]
    elif list_type == "map":
        names = node.get("x-kubernetes-list-map-keys", [])
        keys = [
            json.dumps([item.get(n) for n in names]) for item in value if isinstance(item, dict)
        ]
    else:
        return []
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if not duplicates:
        return []
    return [f"{where}: duplicate entries {duplicates} in a list of type {list_type}"]


# --- 3. CEL rules --------------------------------------------------------------------------

_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
_ASCII_UPPER = str.maketrans(string.ascii_lowercase, string.ascii_uppercase)


def _lower_ascii(text: celtypes.StringType) -> celtypes.StringType:
    """cel-go ext.Strings `lowerAscii`: ASCII letters only, no Unicode case mapping."""
    return celtypes.StringType(str(text).translate(_ASCII_LOWER))


def _upper_ascii(text: celtypes.StringType) -> celtypes.StringType:
    """cel-go ext.Strings `upperAscii`: ASCII letters only, no Unicode case mapping."""
    return celtypes.StringType(str(text).translate(_ASCII_UPPER))


# Kubernetes CEL library functions the stored CRDs' rules use that cel-python lacks.
# https://kubernetes.io/docs/reference/using-api/cel/#kubernetes-cel-libraries
EXTENSIONS: dict[str, Callable[..., Any]] = {
    "lowerAscii": _lower_ascii,
    "upperAscii": _upper_ascii,
}
# The macros, which cel-python expands itself.
_MACROS = {"has", "all", "exists", "exists_one", "map", "filter", "dyn"}
SUPPORTED_FUNCTIONS = frozenset({*base_functions, *_MACROS, *EXTENSIONS})
_ENV = celpy.Environment()
# Property names Kubernetes escapes in CEL (the CEL reserved words).
_RESERVED = {
    *("true", "false", "null", "in", "as", "break", "const", "continue", "else", "for"),
    *("function", "if", "import", "let", "loop", "package", "namespace", "return", "var"),
    *("void", "while"),
}


@dataclass(frozen=True)
class _Compiled:
    program: Any | None
    unsupported: frozenset[str]
    transition: bool


def _called_functions(tree: Any) -> set[str]:
    names = set()
    for node in tree.iter_subtrees():
        if node.data in ("member_dot_arg", "ident_arg", "dot_ident_arg"):
            token = node.children[1] if node.data == "member_dot_arg" else node.children[0]
            names.add(str(token))
    return names


def _reads_old_self(tree: Any) -> bool:
    return any(
        node.data == "ident" and str(node.children[0]) == "oldSelf" for node in tree.iter_subtrees()
    )


@functools.cache
def _compile(rule: str) -> _Compiled:
    tree = _ENV.compile(rule)
    unsupported = frozenset(_called_functions(tree) - SUPPORTED_FUNCTIONS)
    transition = _reads_old_self(tree)
    program = None if unsupported or transition else _ENV.program(tree, functions=EXTENSIONS)
    return _Compiled(program, unsupported, transition)


def escape(name: str) -> str:
    """A property name as CEL sees it on a Kubernetes object."""
    if name in _RESERVED:
        return f"__{name}__"
    for raw, escaped in (("__", "__underscores__"), (".", "__dot__"), ("-", "__dash__")):
        name = name.replace(raw, escaped)
    return name.replace("/", "__slash__")


def to_cel(value: Any, node: Schema) -> Any:
    """A JSON value as the CEL value Kubernetes builds for it from its schema node."""
    if isinstance(value, list):
        items = node.get("items")
        return celtypes.ListType([to_cel(item, items or {}) for item in value])
    if isinstance(value, dict):
        properties = node.get("properties", {})
        extra = node.get("additionalProperties")
        if isinstance(extra, dict) and not properties:
            return celtypes.MapType(
                {celtypes.StringType(k): to_cel(v, extra) for k, v in value.items()}
            )
        return celtypes.MapType(
            {
                celtypes.StringType(escape(k) if k in properties else k): to_cel(
                    v, properties.get(k, {})
                )
                for k, v in value.items()
            }
        )
    return _scalar_to_cel(value, node)


def _scalar_to_cel(value: Any, node: Schema) -> Any:
    if value is None or isinstance(value, bool):
        return None if value is None else celtypes.BoolType(value)
    if isinstance(value, int) and node.get("type") != "number":
        return celtypes.IntType(value)
    if isinstance(value, int | float):
        return celtypes.DoubleType(float(value))
    if isinstance(value, str) and node.get("format") == "byte":
        return celtypes.BytesType(base64.b64decode(value))
    if isinstance(value, str):
        return celtypes.StringType(value)
    raise TypeError(f"not a JSON value: {value!r}")


def evaluate(rule: str, value: Any, node: Schema | None = None) -> bool:
    """Whether one CEL rule holds for ``value`` (raises on an evaluation error)."""
    compiled = _compile(rule)
    if compiled.program is None:
        raise ValueError(f"not evaluable here: {rule}")
    result = compiled.program.evaluate({"self": to_cel(value, node or {})})
    if isinstance(result, CELEvalError):
        raise result
    if not isinstance(result, celtypes.BoolType):
        raise TypeError(f"rule gives {type(result).__name__}, not bool: {rule}")
    return bool(result)


def _check_rules(
    value: Any, node: Schema, *, crd: str, path: str, where: str, report: Report
) -> None:
    for entry in node.get("x-kubernetes-validations", []):
        rule = Rule(crd, path or "<root>", entry["rule"])
        compiled = _compile(entry["rule"])
        if compiled.transition:
            report.transition.append(rule)
            continue
        if compiled.unsupported:
            report.unevaluated.append(rule)
            continue
        try:
            holds = evaluate(entry["rule"], value, node)
        except Exception as error:  # the API server rejects an object whose rule errors
            report.errors.append(f"{where or '<root>'}: rule {entry['rule']!r} errored: {error}")
            continue
        report.evaluated.append(rule)
        if not holds:
            message = entry.get("message") or f"failed rule: {entry['rule']}"
            report.errors.append(f"{where or '<root>'}: {message}")


def _walk(
    value: Any, node: Schema, *, crd: str, path: str, where: str, report: Report, root: bool
) -> None:
    if value is None:
        return
    report.errors.extend(_format_errors(value, node, where or "<root>"))
    if isinstance(value, list):
        report.errors.extend(_list_type_errors(value, node, where or "<root>"))
    # At the root, CEL sees only metadata.name and metadata.generateName.
    cel_value = value
    if root and isinstance(value, dict) and isinstance(value.get("metadata"), dict):
        meta = {k: v for k, v in value["metadata"].items() if k in ("name", "generateName")}
        cel_value = {**value, "metadata": meta}
    _check_rules(cel_value, node, crd=crd, path=path, where=where, report=report)
    if isinstance(value, dict):
        properties = node.get("properties", {})
        extra = node.get("additionalProperties")
        for name, item in value.items():
            if root and name == "metadata":
                continue
            if name in properties:
                sub, sub_path = properties[name], f"{path}.{name}".lstrip(".")
            elif isinstance(extra, dict):
                sub, sub_path = extra, f"{path}{{}}"
            else:
                continue  # an unknown field: a structural error already
            at = f"{where}.{name}".lstrip(".")
            _walk(item, sub, crd=crd, path=sub_path, where=at, report=report, root=False)
    elif isinstance(value, list) and isinstance(node.get("items"), dict):
        for index, item in enumerate(value):
            at = f"{where}[{index}]"
            _walk(
                item, node["items"], crd=crd, path=f"{path}[]", where=at, report=report, root=False
            )
