"""Reading Pulumi.yaml and Pulumi.<stack>.yaml the way the Pulumi CLI does, with line numbers."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import SafeConstructor
from ruamel.yaml.error import YAMLError
from ruamel.yaml.resolver import VersionedResolver

from mlep.errors import UsageError
from mlep.stack import limits
from models.errors import format_path
from models.loader import NAMESPACE

SECRET_PLACEHOLDER = "[secret]"


@dataclass(frozen=True)
class StackFile:
    """One stack's configuration, split the way the program and the engine see it."""

    name: str
    path: Path
    namespace: dict[str, Any]  # ml-endpoints:* values, keys without the prefix
    engine_config: dict[str, str]  # every key as the engine passes it (objects as JSON)
    secret_keys: list[str]  # keys whose value was `secure:` (replaced by a placeholder)
    text: str = ""  # the YAML source

    @cached_property
    def lines(self) -> dict[str, int]:
        """Field path -> line number, for messages about the file (parsed only when asked:
        the round-trip parser that knows lines is several times slower than the values')."""
        document = _load_yaml(self.text, self.path, round_trip=True)
        config = document.get("config") if isinstance(document, dict) else None
        lines: dict[str, int] = {}
        if isinstance(config, CommentedMap):
            for raw_key, value in config.items():
                short = _namespace_field(_engine_key(raw_key))
                if short is not None:
                    lines[short] = node_line(config, raw_key)
                    _collect_lines(value, [short], lines)
        return lines


def read_project(project_dir: Path) -> str:
    path = project_dir / "Pulumi.yaml"
    data = _load_yaml(decoded_text(path.read_bytes(), path.name) if path.exists() else None, path)
    if not isinstance(data, dict) or "name" not in data:
        raise UsageError(f"{path}: not a Pulumi project file (no `name:`)")
    return str(data["name"])


def read_json(path: Path, what: str, fix: str) -> Any:
    """A JSON file mlep is handed (a plan document, a policy config), as UTF-8; a file that
    cannot be read or parsed is a UsageError naming ``what`` it should have been, and the fix."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UsageError(f"{path}: cannot read {what} ({error}); fix: {fix}") from None


def decoded_text(data: bytes, name: str) -> str:
    """A project or stack file's text: UTF-8, as the Pulumi CLI reads it, whatever the locale."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise UsageError(
            f"{name}:{line}: not UTF-8 text ({error.reason}); fix: save the file as UTF-8"
        ) from None


def parse_stack(name: str, path: Path, text: str) -> StackFile:
    """Parse the text of stack ``name``'s file (``path`` names it in messages)."""
    data = _load_yaml(text, path)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise UsageError(f"{path.name}: the top level must be a mapping with a `config:` key")
    unknown = sorted(
        set(data) - {"config", "secretsprovider", "encryptedkey", "encryptionsalt", "environment"}
    )
    if unknown:
        raise UsageError(
            f"{path.name}: unknown top-level key(s) {', '.join(unknown)}; expected `config:`"
        )
    config = data.get("config") or {}
    if not isinstance(config, dict):
        raise UsageError(f"{path.name}: `config:` must be a mapping of `namespace:key: value`")

    namespace: dict[str, Any] = {}
    engine: dict[str, str] = {}
    secret_keys: list[str] = []
    for raw_key, raw_value in config.items():
        key = _engine_key(raw_key)
        value = raw_value
        if _contains_secure(raw_value):
            # Never decrypted offline: the program sees a secret placeholder instead.
            secret_keys.append(key)
            value = _mask_secure(raw_value)
        engine[key] = value if isinstance(value, str) else json.dumps(_plain(value))
        short = _namespace_field(key)
        if short is not None:
            namespace[short] = _decoded(value)
    return StackFile(name, path, namespace, engine, secret_keys, text)


def _engine_key(raw_key: Any) -> str:
    """A stack file key as the engine names it: a bare key belongs to the project."""
    key = str(raw_key)
    return key if ":" in key else f"{NAMESPACE}:{key}"


def _namespace_field(key: str) -> str | None:
    """The ml-endpoints field an engine key sets (`ml-endpoints:endpoints` -> `endpoints`)."""
    prefix = f"{NAMESPACE}:"
    return key[len(prefix) :] if key.startswith(prefix) else None


class _Yaml12Resolver(VersionedResolver):
    """ruamel's resolver with the version fixed at YAML 1.2, which is what it settles on under
    the C parser (that parser gives it no `%YAML` directive to read): ruamel works the version
    out again for every scalar, a fifth of the time to load a large stack file."""

    @property
    def processing_version(self) -> Any:
        return (1, 2)


class _Constructor(SafeConstructor):
    """ruamel's safe constructor, except that a plain scalar that looks like a date or a
    timestamp (`created: 2024-05-01`) stays the string it was written as: YAML 1.2's core
    schema has no timestamps, a tag or a description wants the text, and a `date` object
    would reach JSON nowhere."""


_Constructor.add_constructor("tag:yaml.org,2002:timestamp", SafeConstructor.construct_yaml_str)


def _load_yaml(text: str | None, path: Path, round_trip: bool = False) -> Any:
    """The document's values (YAML 1.2, as the Pulumi CLI reads it); with ``round_trip``,
    as ruamel's CommentedMap/CommentedSeq, which know the line of every key and item.

    Values come from the C parser (ruamel.yaml.clib) when it can read the text; it is libyaml,
    whose syntax is YAML 1.1's, so what only YAML 1.2 allows (`{audience: api://x}`, a colon
    in a plain scalar inside a flow mapping) falls back to ruamel's own parser. Both build the
    values with the same YAML 1.2 resolver and constructor.
    """
    if text is None:
        raise UsageError(f"{path} not found; run mlep from the project directory")
    limits.check_text(text, path.name)  # before any parser sees it (mlep/stack/limits.py)
    loaded = _parsed(text, path, round_trip)
    limits.check_value(loaded, path.name, text)
    return loaded


# What ruamel's constructors raise, besides YAMLError, for a tagged value they cannot build
# (`!!int abc` ValueError, `!!bool maybe` KeyError, `<<: !!set {...}` AttributeError).
CONSTRUCTOR_FAILURES = (ValueError, KeyError, AttributeError, TypeError)


def vetted(text: str) -> None:
    """Parse ``text`` with the safe loaders (the C parser, then ruamel's own for YAML 1.2
    syntax); raises YAMLError or one of CONSTRUCTOR_FAILURES. Run before the round-trip loader,
    which takes exponential time over mapping keys that are flow mappings nested deep (the
    safe loaders refuse any mapping as a key at once)."""
    try:
        YAML(typ="safe").load(text)
    except (YAMLError, *CONSTRUCTOR_FAILURES):
        YAML(typ="safe", pure=True).load(text)


def _parsed(text: str, path: Path, round_trip: bool) -> Any:
    if not round_trip:
        try:
            yaml = YAML(typ="safe")
            yaml.Resolver = _Yaml12Resolver
            yaml.Constructor = _Constructor
            return yaml.load(text)
        except (YAMLError, *CONSTRUCTOR_FAILURES):
            pass  # ruamel's parser reads it, or reports the error with its position
    try:
        yaml = YAML(typ="rt" if round_trip else "safe", pure=True)
        if not round_trip:
            yaml.Constructor = _Constructor
        return yaml.load(text)
    except CONSTRUCTOR_FAILURES as error:
        raise UsageError(
            f"{path.name}: not valid YAML (a tagged value cannot be built: "
            f"{type(error).__name__}: {error}); fix: remove the tag (!!...) or correct the value"
        ) from None
    except YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        opened = getattr(error, "context_mark", None)
        if opened is not None and (mark is None or opened.line != mark.line):
            problem += f"; {getattr(error, 'context', 'it started')} at line {opened.line + 1}"
        raise UsageError(
            f"{path.name}{where}: not valid YAML ({problem}); fix the syntax"
        ) from None


def _decoded(value: Any) -> Any:
    """An object given as a JSON string (`pulumi config set KEY '{...}'`, or a `pulumi new`
    prompt's answer) is the object, as the program reads it (`ml_endpoints.read_namespace`)."""
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value  # validation reports the string, with its line
    return value


def _is_secure(value: Any) -> bool:
    """A `secure:` value, well-formed or not: its ciphertext is never shown."""
    return isinstance(value, dict) and "secure" in value


def _contains_secure(value: Any) -> bool:
    if _is_secure(value):
        return True
    if isinstance(value, dict):
        return any(_contains_secure(v) for v in value.values())
    if isinstance(value, list):
        return any(_contains_secure(v) for v in value)
    return False


def _mask_secure(value: Any) -> Any:
    if _is_secure(value):
        if set(value) == {"secure"}:
            return SECRET_PLACEHOLDER
        # Malformed (other keys beside `secure`): validation reports it, without the secret.
        return {
            k: SECRET_PLACEHOLDER if k == "secure" else _mask_secure(v) for k, v in value.items()
        }
    if isinstance(value, dict):
        return {k: _mask_secure(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_secure(v) for v in value]
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def node_line(node: CommentedMap | CommentedSeq, part: Any) -> int:
    """The 1-based line of key or index ``part`` of a round-trip loaded ``node``. A key merged
    in with `<<:` has no position of its own (and a mapping of merged keys alone, no position
    table): the mapping's line."""
    position = (node.lc.data or {}).get(part)
    return int(position[0] if position else node.lc.line or 0) + 1


def _collect_lines(node: Any, loc: list[str | int], lines: dict[str, int]) -> None:
    """Record the line of every nested key/item, keyed by its field path."""
    if isinstance(node, CommentedMap):
        for key, child in node.items():
            here = [*loc, str(key)]
            lines[format_path(here)] = node_line(node, key)
            _collect_lines(child, here, lines)
    elif isinstance(node, CommentedSeq):
        for index, child in enumerate(node):
            here = [*loc, index]
            lines[format_path(here)] = node_line(node, index)
            _collect_lines(child, here, lines)
