"""Extract the Azure ML request-body schema our program must match, as facts, from azure-ai-ml.

pulumi-azure-native 3.29 sends machinelearningservices resources to the Azure REST API
2025-12-01. We have no Azure here, so the outside oracle is Microsoft's own generated client
for that API version: azure-ai-ml's `azure/ai/ml/_restclient/arm_ml_service` (its client
defaults to api_version "2025-12-01"). This script reads its `models/_models.py` and
`models/_enums.py` and writes, for every model reachable from the bodies of OnlineEndpoint,
OnlineDeployment and EnvironmentVersion (following property types and discriminated
subtypes), each wire property's name, type, whether it is required, whether it is read-only
(visibility only "read") and its visibility, plus the discriminator values and the known
values of every enum. Only facts: no docstring or prose is copied. The result is
`tests/fixtures/azure_rest/machinelearningservices-<api version>.json`, which
`tests/test_azure_rest_bodies.py` checks the program's request bodies against.

Why parse instead of import: importing `azure.ai.ml._restclient...` runs `azure/ai/ml/__init__.py`,
which needs the whole SDK's dependencies (azure-core, azure-mgmt-core, marshmallow,
azure-storage-*, opentelemetry, ...), and the generated base class builds its field table only
when a model is first instantiated. The generated files are regular (one
``rest_field``/``rest_discriminator`` per property, ``Optional[...]`` exactly when not
required), so the standard library's `ast` reads them on any Python with no dependency, and any
annotation form it does not know stops the script instead of guessing. Two facts are
cross-checked while reading: "required" (from the annotation) against the ``Required.`` the
generator appends to the property's docstring, and each subtype's ``discriminator=`` class
keyword against its ``Literal`` discriminator value.

Re-run (from the project root; any Python 3.11, no dependency):

    .venv/bin/python -m pip download azure-ai-ml==1.35.2 --no-deps -d /tmp/aiml
    unzip -q -o /tmp/aiml/azure_ai_ml-1.35.2-py3-none-any.whl -d /tmp/aiml/src
    .venv/bin/python scripts/azure_ml_rest_schema.py /tmp/aiml/src

`--check` writes nothing and exits 1 when the fixture differs from what the source gives.
`--cross-check` also imports the generated models (only them, as a top-level package) and
exits 1 where they disagree with the parse on property names, visibility, required,
discriminators or enum values; it needs azure-core, azure-mgmt-core, isodate and
typing-extensions, so run it from a throwaway venv, never the project's:

    python3.11 -m venv /tmp/oracle-venv
    /tmp/oracle-venv/bin/pip install azure-core azure-mgmt-core isodate typing-extensions
    /tmp/oracle-venv/bin/python scripts/azure_ml_rest_schema.py /tmp/aiml/src --cross-check
"""

from __future__ import annotations

import argparse
import ast
import importlib
import json
import re
import sys
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOTS = ("OnlineEndpoint", "OnlineDeployment", "EnvironmentVersion")
PACKAGE_DIR = Path("azure/ai/ml/_restclient/arm_ml_service")
MODULE = "azure.ai.ml._restclient.arm_ml_service.models"
FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "azure_rest"

# Annotations that name a JSON type outright.
SIMPLE: dict[str, dict[str, str]] = {
    "str": {"kind": "string"},
    "int": {"kind": "integer"},
    "float": {"kind": "number"},
    "bool": {"kind": "boolean"},
    "Any": {"kind": "any"},
    "datetime.timedelta": {"kind": "string", "format": "duration"},
    "datetime.datetime": {"kind": "string", "format": "date-time"},
}


class SchemaError(Exception):
    """The source has a shape this script does not understand: fix the script, never guess."""


@dataclass
class Field:
    wire: str
    annotation: ast.expr
    visibility: list[str]
    discriminator: bool
    line: int
    docstring: str


@dataclass
class ModelClass:
    name: str
    base: str | None
    line: int
    fields: list[Field] = field(default_factory=list)
    discriminator_value: str | None = None
    polymorphic: bool = False


def read_enums(source: str) -> dict[str, dict[str, str]]:
    """Every enum class: member name -> value, in declaration order."""
    enums: dict[str, dict[str, str]] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.ClassDef):
            members: dict[str, str] = {}
            for statement in node.body:
                if (
                    isinstance(statement, ast.Assign)
                    and isinstance(statement.value, ast.Constant)
                    and isinstance(statement.value.value, str)
                ):
                    (target,) = statement.targets
                    assert isinstance(target, ast.Name)
                    members[target.id] = statement.value.value
            enums[node.name] = members
    return enums


def read_models(source: str) -> dict[str, ModelClass]:
    """Every model class with its own rest fields (not its bases')."""
    models: dict[str, ModelClass] = {}
    for node in ast.parse(source).body:
        if not isinstance(node, ast.ClassDef):
            continue
        if len(node.bases) != 1 or not isinstance(node.bases[0], ast.Name):
            raise SchemaError(f"{node.name} (line {node.lineno}): not one plain base class")
        base = node.bases[0].id
        model = ModelClass(node.name, None if base == "_Model" else base, node.lineno)
        for keyword in node.keywords:
            if keyword.arg == "discriminator" and isinstance(keyword.value, ast.Constant):
                model.discriminator_value = str(keyword.value.value)
        for index, statement in enumerate(node.body):
            if (
                isinstance(statement, ast.AnnAssign)
                and isinstance(statement.target, ast.Name)
                and statement.target.id == "__mapping__"
            ):
                model.polymorphic = True
            parsed = _field(statement, node.body[index + 1 : index + 2])
            if parsed:
                model.fields.append(parsed)
        models[node.name] = model
    return models


def _field(statement: ast.stmt, following: list[ast.stmt]) -> Field | None:
    if not (
        isinstance(statement, ast.AnnAssign)
        and isinstance(statement.target, ast.Name)
        and isinstance(statement.value, ast.Call)
        and isinstance(statement.value.func, ast.Name)
        and statement.value.func.id in ("rest_field", "rest_discriminator")
    ):
        return None
    keywords = {k.arg: ast.literal_eval(k.value) for k in statement.value.keywords if k.arg}
    docstring = ""
    if following and isinstance(following[0], ast.Expr):
        value = following[0].value
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            docstring = value.value
    return Field(
        wire=keywords.get("name") or statement.target.id,
        annotation=statement.annotation,
        visibility=list(keywords.get("visibility") or []),
        discriminator=statement.value.func.id == "rest_discriminator",
        line=statement.lineno,
        docstring=docstring,
    )


class Extractor:
    """Turns the parsed classes into the fixture's plain facts, from the roots outwards."""

    def __init__(self, models: dict[str, ModelClass], enums: dict[str, dict[str, str]]) -> None:
        self.models = models
        self.enums = enums
        self.subtypes: dict[str, dict[str, str]] = {}
        for model in models.values():
            if model.discriminator_value is not None and model.base:
                self.subtypes.setdefault(model.base, {})[model.discriminator_value] = model.name
        self.used_enums: set[str] = set()

    def run(self, roots: tuple[str, ...]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        pending = list(roots)
        while pending:
            name = pending.pop()
            if name in out:
                continue
            entry = self.model(name)
            out[name] = entry
            pending.extend(_model_refs(entry))
        return dict(sorted(out.items()))

    def model(self, name: str) -> dict[str, Any]:
        chain = self._chain(name)
        properties: dict[str, Any] = {}
        for cls in reversed(chain):  # bases first, so a subclass's field overrides its base's
            for item in cls.fields:
                properties[item.wire] = self._property(cls, item)
        entry: dict[str, Any] = {"line": chain[0].line}
        if len(chain) > 1:
            entry["bases"] = [cls.name for cls in chain[1:]]
        own = self.models[name]
        if own.polymorphic:
            (discriminator,) = [wire for wire, p in properties.items() if p.get("discriminator")]
            entry["discriminator"] = {
                "property": discriminator,
                "subtypes": dict(sorted(self.subtypes.get(name, {}).items())),
            }
        if own.discriminator_value is not None:
            entry["discriminatorValue"] = own.discriminator_value
        entry["properties"] = dict(sorted(properties.items()))
        return entry

    def _chain(self, name: str) -> list[ModelClass]:
        if name not in self.models:
            raise SchemaError(f"model {name} is not defined in _models.py")
        chain = [self.models[name]]
        while chain[-1].base:
            chain.append(self.models[chain[-1].base])
        return chain

    def _property(self, cls: ModelClass, item: Field) -> dict[str, Any]:
        where = f"{cls.name}.{item.wire} (line {item.line})"
        annotation = item.annotation
        required = True
        if _subscript_of(annotation) == "Optional":
            assert isinstance(annotation, ast.Subscript)
            annotation, required = annotation.slice, False
        read_only = item.visibility == ["read"]
        says_required = bool(re.search(r"\bRequired\.(\s|$)", item.docstring))
        if required != says_required and not item.discriminator:
            raise SchemaError(f"{where}: annotation and docstring disagree on 'required'")
        result: dict[str, Any] = {"type": self._type(annotation, where, item)}
        result["required"] = required and not read_only
        result["readOnly"] = read_only
        result["visibility"] = item.visibility
        if item.discriminator:
            result["discriminator"] = True
        result["definedIn"] = cls.name
        result["line"] = item.line
        return result

    def _type(self, node: ast.expr, where: str, item: Field) -> dict[str, Any]:
        text = ast.unparse(node)
        if text in SIMPLE:
            return dict(SIMPLE[text])
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return self._named(node.value, where, extensible=False)
        kind = _subscript_of(node)
        assert kind is None or isinstance(node, ast.Subscript)
        if kind == "list" and isinstance(node, ast.Subscript):
            return {"kind": "array", "items": self._type(node.slice, where, item)}
        if kind == "dict" and isinstance(node, ast.Subscript):
            key, value = _pair(node.slice, where)
            if ast.unparse(key) != "str":
                raise SchemaError(f"{where}: a map keyed by {ast.unparse(key)}")
            return {"kind": "map", "values": self._type(value, where, item)}
        if kind == "Union" and isinstance(node, ast.Subscript):
            first, second = _pair(node.slice, where)
            if ast.unparse(first) == "str" and isinstance(second, ast.Constant):
                return self._named(str(second.value), where, extensible=True)
        if kind == "Literal" and item.discriminator and isinstance(node, ast.Subscript):
            return {"kind": "string", "const": self._literal(node.slice, where)}
        raise SchemaError(f"{where}: annotation {text!r} is not a form this script knows")

    def _named(self, reference: str, where: str, *, extensible: bool) -> dict[str, Any]:
        name = reference.removeprefix("_models.")
        if name in self.enums:
            self.used_enums.add(name)
            return {"kind": "enum", "enum": name, "extensible": extensible}
        if name in self.models and not extensible:
            return {"kind": "model", "model": name}
        raise SchemaError(f"{where}: {reference!r} is neither an enum nor a model")

    def _literal(self, node: ast.expr, where: str) -> str:
        if isinstance(node, ast.Constant):
            return str(node.value)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            return self.enums[node.value.id][node.attr]
        raise SchemaError(f"{where}: discriminator literal {ast.unparse(node)!r}")


def _subscript_of(node: ast.expr) -> str | None:
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
        return node.value.id
    return None


def _pair(node: ast.expr, where: str) -> tuple[ast.expr, ast.expr]:
    if isinstance(node, ast.Tuple) and len(node.elts) == 2:
        return node.elts[0], node.elts[1]
    raise SchemaError(f"{where}: expected two type arguments in {ast.unparse(node)!r}")


def _model_refs(entry: dict[str, Any]) -> list[str]:
    refs = list(entry.get("discriminator", {}).get("subtypes", {}).values())

    def walk(kind: dict[str, Any]) -> None:
        if kind["kind"] == "model":
            refs.append(kind["model"])
        for nested in ("items", "values"):
            if nested in kind:
                walk(kind[nested])

    for prop in entry["properties"].values():
        walk(prop["type"])
    return refs


def _check_discriminators(schema: dict[str, Any]) -> None:
    """Each subtype's `discriminator=` keyword is the value its Literal field holds."""
    for name, entry in schema.items():
        value = entry.get("discriminatorValue")
        for wire, prop in entry["properties"].items():
            const = prop["type"].get("const")
            if const is not None and const != value:
                raise SchemaError(f"{name}.{wire}: Literal {const!r} but discriminator {value!r}")


def source_facts(root: Path) -> dict[str, str]:
    """Package name and version (from the wheel's METADATA) and the client's API version."""
    (metadata,) = root.glob("azure_ai_ml-*.dist-info/METADATA")
    headers = dict(
        line.split(": ", 1) for line in metadata.read_text().splitlines() if ": " in line
    )
    configuration = (root / PACKAGE_DIR / "_configuration.py").read_text()
    match = re.search(r'kwargs\.pop\("api_version", "([0-9a-z-]+)"\)', configuration)
    if not match:
        raise SchemaError("no default api_version in _configuration.py")
    return {
        "package": headers["Name"],
        "version": headers["Version"],
        "module": MODULE,
        "files": f"{PACKAGE_DIR}/models/_models.py, {PACKAGE_DIR}/models/_enums.py",
        "apiVersion": match.group(1),
        "generatedBy": "scripts/azure_ml_rest_schema.py",
    }


def build(root: Path) -> dict[str, Any]:
    models_dir = root / PACKAGE_DIR / "models"
    enums = read_enums((models_dir / "_enums.py").read_text())
    extractor = Extractor(read_models((models_dir / "_models.py").read_text()), enums)
    schema = extractor.run(ROOTS)
    _check_discriminators(schema)
    return {
        "source": source_facts(root),
        "roots": list(ROOTS),
        "models": schema,
        "enums": {name: list(enums[name].values()) for name in sorted(extractor.used_enums)},
    }


def cross_check(root: Path, document: dict[str, Any]) -> list[str]:
    """Where the imported generated models disagree with ``document`` (the parse)."""
    sys.path.insert(0, str(root / PACKAGE_DIR.parent))
    models = importlib.import_module(f"{PACKAGE_DIR.name}.models")
    enums = importlib.import_module(f"{PACKAGE_DIR.name}.models._enums")
    found: list[str] = []
    for name, entry in document["models"].items():
        cls = getattr(models, name)
        cls({})  # the generated base builds _attr_to_rest_field on the first instance
        hints = typing.get_type_hints(cls, {**vars(models._models), "_models": models}, vars(enums))
        live = {rf._rest_name: (attr, rf) for attr, rf in cls._attr_to_rest_field.items()}
        if set(live) != set(entry["properties"]):
            found.append(f"{name}: properties {sorted(set(live) ^ set(entry['properties']))}")
        for wire, (attr, rf) in live.items():
            prop = entry["properties"].get(wire, {})
            optional = type(None) in typing.get_args(hints[attr])
            facts = (list(rf._visibility or []), bool(rf._is_discriminator), not optional)
            parsed = (prop.get("visibility"), bool(prop.get("discriminator")), prop.get("required"))
            if prop and facts != parsed and not (prop["readOnly"] and facts[:2] == parsed[:2]):
                found.append(f"{name}.{wire}: imported {facts}, parsed {parsed}")
        if "discriminator" in entry:
            mapping = {value: sub.__name__ for value, sub in cls.__mapping__.items()}
            if mapping != entry["discriminator"]["subtypes"]:
                found.append(f"{name}: subtypes {mapping}")
    for name, values in document["enums"].items():
        if [member.value for member in getattr(enums, name)] != values:
            found.append(f"enum {name}")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="the unzipped azure-ai-ml wheel (a folder)")
    parser.add_argument("--check", action="store_true", help="compare, write nothing")
    parser.add_argument("--cross-check", action="store_true", help="also import and compare")
    args = parser.parse_args(argv)
    try:
        document = build(args.source)
    except (SchemaError, OSError, ValueError) as error:
        print(f"azure_ml_rest_schema: {error}", file=sys.stderr)
        return 2
    if args.cross_check:
        disagreements = cross_check(args.source, document)
        print("\n".join(disagreements) or "import and parse agree", file=sys.stderr)
        if disagreements:
            return 1
    target = FIXTURES / f"machinelearningservices-{document['source']['apiVersion']}.json"
    text = json.dumps(document, indent=1) + "\n"
    if args.check:
        same = target.is_file() and target.read_text() == text
        print(f"{target}: {'up to date' if same else 'differs from the source'}")
        return 0 if same else 1
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    print(f"wrote {target}: {len(document['models'])} models, {len(document['enums'])} enums")
    return 0


if __name__ == "__main__":
    sys.exit(main())
