"""Add an endpoint to a stack file as text, keeping every other byte as it was.

Stack files are reviewed in pull requests, so adding an endpoint must read as one inserted
block: comments, key order, quoting and the author's layout stay untouched. ruamel.yaml's
round-trip composer only locates things (where the `ml-endpoints:endpoints:` list starts and
where its last item's content ends, with line and column); the edit itself is done on the
text, and the result is parsed again to prove it says what was meant.

Where the new item goes:
- at the end of the `ml-endpoints:endpoints:` list, its dash in the column of the existing
  items (4 under `  ml-endpoints:endpoints:` as in our stacks, or 2 when the items sit
  directly under the key, as the Pulumi CLI writes them), after a blank line when the
  existing items are separated by blank lines;
- right after the last item's content. Comment lines that follow it and are indented deeper
  than the items' dashes belong to that last item (commented-out fields) and stay above the
  new item; comments at the dash column or to its left (a trailing note, the header of the
  next key) stay below it;
- `ml-endpoints:endpoints: []` and an empty `ml-endpoints:endpoints:` become a block list
  (the `[]` is the only text that changes);
- without `ml-endpoints:endpoints:`, the key is added at the end of `config:` with the indent
  of the other config keys.

A file that ends without a newline still does; CRLF files get CRLF lines.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from mlep.errors import UsageError
from models.fields import as_plain
from models.loader import NAMESPACE

ENDPOINTS_KEY = f"{NAMESPACE}:endpoints"
# Keys read_stack also takes as the namespace's `endpoints` (a key without a namespace).
_ENDPOINT_KEYS = (ENDPOINTS_KEY, "endpoints")
DEFAULT_SEQUENCE_OFFSET = 2  # `- ` items two columns right of their key, as in our stacks
# Line breaks YAML counts but Python's str.split("\n") does not: line numbers would disagree.
_ODD_BREAKS = re.compile("[\x85\u2028\u2029]|\r(?!\n)")


# --- rendering ----------------------------------------------------------------------------


def render_endpoint(
    spec: Mapping[str, Any], indent: int, *, sequence_offset: int = DEFAULT_SEQUENCE_OFFSET
) -> str:
    """``spec`` as one YAML list item whose dash is at column ``indent``, ending in a newline.

    The endpoint and its deployments are block mappings; small leaf mappings (traffic,
    resources, autoscale, probes, request_settings, alerts, rollout, tags) and lists of
    scalars are flow style, as in Pulumi.prod.yaml. ``sequence_offset`` is how far a nested
    block list's dashes sit right of its key (2 in our stacks, 0 in files the Pulumi CLI
    writes). Strings are quoted only when YAML 1.1 or 1.2 would read them as something else.
    """
    if indent < 0 or sequence_offset < 0:
        raise ValueError("indent and sequence_offset are column counts (>= 0)")
    lines = _sequence_lines([spec], indent, sequence_offset)
    text = "\n".join(lines) + "\n"
    loaded = YAML(typ="safe", pure=True).load(text)
    if loaded != [as_plain(dict(spec))]:
        raise AssertionError(f"render_endpoint does not read back as the spec:\n{text}")
    return text


def _sequence_lines(items: Sequence[Any], dash: int, offset: int) -> list[str]:
    lines: list[str] = []
    for item in items:
        if isinstance(item, Mapping) and item:
            body = _mapping_lines(item, dash + 2, offset)
            lines.append(" " * dash + "- " + body[0][dash + 2 :])
            lines.extend(body[1:])
        elif _is_leaf(item):
            lines.append(" " * dash + "- " + _inline(item, flow=False))
        else:  # a list of lists: rare enough to render one level down, in block style
            body = _sequence_lines(item, dash + 2, offset)
            lines.append(" " * dash + "- " + body[0][dash + 2 :])
            lines.extend(body[1:])
    return lines


def _mapping_lines(mapping: Mapping[str, Any], column: int, offset: int) -> list[str]:
    lines: list[str] = []
    pad = " " * column
    for key, value in mapping.items():
        name = _scalar(_key(key), flow=False)
        if _is_leaf(value):
            lines.append(f"{pad}{name}: {_inline(value, flow=False)}")
        elif isinstance(value, Mapping):
            lines.append(f"{pad}{name}:")
            lines.extend(_mapping_lines(value, column + 2, offset))
        else:
            lines.append(f"{pad}{name}:")
            lines.extend(_sequence_lines(value, column + offset, offset))
    return lines


def _key(key: Any) -> str:
    if not isinstance(key, str):
        raise TypeError(f"mapping keys in an endpoint spec are strings, not {key!r}")
    return key


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _is_scalar_list(value: Any) -> bool:
    return isinstance(value, list | tuple) and all(_is_scalar(item) for item in value)


def _is_leaf(value: Any) -> bool:
    """A scalar, a list of scalars, or a mapping of those: written on one line."""
    if _is_scalar(value) or _is_scalar_list(value):
        return True
    if isinstance(value, Mapping):
        return all(_is_scalar(item) or _is_scalar_list(item) for item in value.values())
    if isinstance(value, list | tuple):
        return False
    raise TypeError(f"an endpoint spec holds mappings, lists and scalars, not {value!r}")


def _inline(value: Any, *, flow: bool) -> str:
    if isinstance(value, Mapping):
        pairs = (
            f"{_scalar(_key(k), flow=True)}: {_inline(v, flow=True)}" for k, v in value.items()
        )
        return "{" + ", ".join(pairs) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_inline(item, flow=True) for item in value) + "]"
    return _scalar(value, flow=flow)


def _scalar(value: Any, *, flow: bool) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float(value)
    text = str(value)
    return text if _plain_is_safe(text, flow=flow) else _double_quoted(text)


def _float(value: float) -> str:
    if value != value:  # noqa: PLR0124 - NaN is the one value unequal to itself
        return ".nan"
    if value in (float("inf"), float("-inf")):
        return ".inf" if value > 0 else "-.inf"
    text = repr(value)
    # YAML 1.1 reads 1e-05 as a string: its floats need a dot.
    if "e" in text and "." not in text:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}.0e{exponent}"
    return text


# Characters that may start or appear in a plain scalar we write unquoted. Anything else
# (indicators, quotes, control characters) is double-quoted rather than reasoned about.
_PLAIN_CHARS = re.compile(r"[A-Za-z0-9_./~+=()$-][A-Za-z0-9_./~+=@()$: -]*")
_FLOW_UNSAFE = re.compile(r"[:,\[\]{}]")


def _plain_is_safe(text: str, *, flow: bool) -> bool:
    """Whether ``text`` written unquoted reads back as the same string in YAML 1.1 and 1.2.

    Both versions matter: ruamel reads stack files as 1.2, Go's yaml (the Pulumi CLI) still
    honours some 1.1 forms. The loaders decide booleans, nulls, numbers, dates and the like.
    """
    suspect = (
        not _PLAIN_CHARS.fullmatch(text)
        or text != text.strip()
        or ": " in text
        or text.endswith(":")
        or text.startswith("- ")
        or text == "-"
        or (flow and _FLOW_UNSAFE.search(text) is not None)
    )
    if suspect:
        return False
    document = f"{{k: {text}}}\n" if flow else f"k: {text}\n"
    try:
        with warnings.catch_warnings():
            # ruamel warns about YAML 1.1 floats such as 1e3: the answer (quote it) is the same.
            warnings.simplefilter("ignore")
            loaded = [
                YAML(typ="safe", pure=True).load(prefix + document)
                for prefix in ("", "%YAML 1.1\n---\n")
            ]
    except YAMLError:
        return False
    return all(isinstance(data, dict) and type(data.get("k")) is str for data in loaded) and all(
        data["k"] == text for data in loaded
    )


# Characters written as escapes: those YAML does not allow raw (outside c-printable), and NEL,
# LS and PS, which YAML 1.1 reads as line breaks inside a quoted string.
_NON_PRINTABLE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff]"
)
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _double_quoted(text: str) -> str:
    escaped = "".join(_ESCAPES.get(char, char) for char in text)
    return '"' + _NON_PRINTABLE.sub(lambda m: f"\\u{ord(m[0]):04x}", escaped) + '"'


# --- locating -----------------------------------------------------------------------------


@dataclass
class _Text:
    """The stack file as lines without their line breaks, and how to put it back together."""

    lines: list[str]
    newline: str
    final_newline: bool

    @classmethod
    def split(cls, text: str) -> _Text:
        newline = "\r\n" if "\r\n" in text else "\n"
        final_newline = text.endswith(newline) or not text
        lines = text.split(newline)
        if final_newline:
            lines.pop()  # the empty string after the last line break
        return cls(lines, newline, final_newline)

    def join(self) -> str:
        text = self.newline.join(self.lines)
        return text + self.newline if self.final_newline else text

    def is_blank(self, index: int) -> bool:
        return not self.lines[index].strip()

    def comment_column(self, index: int) -> int | None:
        """The column of ``#`` when line ``index`` is only a comment, else None."""
        stripped = self.lines[index].lstrip()
        return len(self.lines[index]) - len(stripped) if stripped.startswith("#") else None


def _compose(text: str) -> Node | None:
    try:
        return YAML(typ="rt").compose(text)  # type: ignore[no-any-return]
    except YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise UsageError(
            f"the stack file is not valid YAML{where}; fix it before adding an endpoint"
        ) from None


def _value_of(mapping: MappingNode, keys: Sequence[str]) -> tuple[ScalarNode, Node] | None:
    for key, value in mapping.value:
        if isinstance(key, ScalarNode) and key.value in keys:
            return key, value
    return None


def _is_empty_null(node: Node) -> bool:
    """`key:` with nothing after it (its mark is that of the next token, not of a value)."""
    return isinstance(node, ScalarNode) and node.value == "" and node.start_mark == node.end_mark


def _content_end(node: Node, text: _Text) -> int:
    """The last line (0-based) that holds part of ``node``'s content, not trailing comments."""
    if isinstance(node, MappingNode) and not node.flow_style and node.value:
        key, value = node.value[-1]
        return int(key.end_mark.line) if _is_empty_null(value) else _content_end(value, text)
    if isinstance(node, SequenceNode) and not node.flow_style and node.value:
        last = node.value[-1]
        return int(last.start_mark.line) if _is_empty_null(last) else _content_end(last, text)
    end: int = node.end_mark.line if node.end_mark.column > 0 else node.end_mark.line - 1
    if isinstance(node, ScalarNode) and node.style in ("|", ">"):
        # A block scalar's end mark lies past the blank lines it consumed.
        while end > node.start_mark.line and text.is_blank(end):
            end -= 1
    return end


def _insertion_line(after: int, column: int, text: _Text) -> int:
    """Where to insert a block that starts at ``column``, after content ending at ``after``.

    Comment lines right below, indented deeper than ``column``, belong to what is above.
    """
    line = after + 1
    while line < len(text.lines):
        comment = text.comment_column(line)
        if comment is None or comment <= column:
            break
        line += 1
    return line


def _sequence_offset(node: Node) -> int:
    """How far block lists sit right of their key in this file (0 or 2, usually)."""
    if isinstance(node, MappingNode):
        for key, value in node.value:
            if isinstance(value, SequenceNode) and not value.flow_style and value.value:
                return max(int(value.start_mark.column - key.start_mark.column), 0)
            found = _sequence_offset(value)
            if found >= 0:
                return found
    elif isinstance(node, SequenceNode):
        for item in node.value:
            found = _sequence_offset(item)
            if found >= 0:
                return found
    return -1


def _separated_by_blank_lines(items: list[Node], text: _Text) -> bool:
    if len(items) < 2:
        return False
    before, last = items[-2], items[-1]
    gap = range(_content_end(before, text) + 1, last.start_mark.line)
    return any(text.is_blank(line) for line in gap)


def _existing_names(items: list[Node]) -> dict[str, int]:
    names: dict[str, int] = {}
    for item in items:
        if isinstance(item, MappingNode):
            found = _value_of(item, ("name",))
            if found and isinstance(found[1], ScalarNode):
                names[str(found[1].value)] = found[1].start_mark.line + 1
    return names


# --- appending ----------------------------------------------------------------------------


def append_endpoint(stack_text: str, spec: Mapping[str, Any]) -> str:
    """``stack_text`` with ``spec`` added as the last item of `ml-endpoints:endpoints:`.

    Only lines are inserted (plus an empty `[]` or `null` after the key removed). Raises
    UsageError when the endpoint's name is already in the stack or the file cannot be edited
    safely.
    """
    name = spec.get("name")
    if not isinstance(name, str) or not name:
        raise UsageError("the endpoint spec has no name; give the endpoint a name")
    if _ODD_BREAKS.search(stack_text):
        raise UsageError(
            "the stack file uses line breaks other than LF or CRLF (CR, NEL, U+2028/9); "
            "convert it to LF line endings first"
        )
    text = _Text.split(stack_text)
    root = _compose(stack_text)
    config = None
    if root is not None:
        if not isinstance(root, MappingNode) or root.flow_style:
            raise UsageError("the stack file's top level must be a block mapping with `config:`")
        config = _value_of(root, ("config",))
    if config is None:
        # No `config:` yet (an empty file, or only comments and encryption settings).
        block = ["config:", *_new_key_block(spec, 2, DEFAULT_SEQUENCE_OFFSET)]
        _insert(text, len(text.lines), block)
    elif isinstance(config[1], MappingNode) and not config[1].flow_style and config[1].value:
        _append_to_config(text, config[1], spec)
    elif _is_empty(config[1]):
        row = _clear_value(text, config[0], config[1])
        _insert(text, row + 1, _new_key_block(spec, 2, DEFAULT_SEQUENCE_OFFSET))
    else:
        raise UsageError(
            "`config:` is not a block mapping; write it as `config:` followed by indented "
            "`namespace:key: value` lines"
        )
    return _checked(text.join(), spec)


def _append_to_config(text: _Text, config: MappingNode, spec: Mapping[str, Any]) -> None:
    offset = _sequence_offset(config)
    offset = DEFAULT_SEQUENCE_OFFSET if offset < 0 else offset
    found = _value_of(config, _ENDPOINT_KEYS)
    if found is None:
        column = config.value[0][0].start_mark.column
        line = _insertion_line(_content_end(config, text), column, text)
        _insert(text, line, _new_key_block(spec, column, offset))
        return
    key, value = found
    if isinstance(value, SequenceNode) and not value.flow_style and value.value:
        _append_item(text, value, spec, offset)
    elif _is_empty(value):
        row = _clear_value(text, key, value)
        item = render_endpoint(spec, key.start_mark.column + offset, sequence_offset=offset)
        _insert(text, row + 1, item.splitlines())
    else:
        raise UsageError(
            f"line {key.start_mark.line + 1}: `{key.value}` is not a block list of endpoints "
            "(`- name: ...` items); rewrite it in block style before adding an endpoint"
        )


def _is_empty(node: Node) -> bool:
    """Nothing, `null`/`~`, `[]` or `{}`: a value a block of items can replace."""
    if isinstance(node, ScalarNode):
        return _is_empty_null(node) or str(node.tag).endswith(":null")
    return isinstance(node, MappingNode | SequenceNode) and node.flow_style and not node.value


def _clear_value(text: _Text, key: ScalarNode, value: Node) -> int:
    """Remove an empty value written after its key (`[]`, `null`); returns the key's line."""
    row = int(key.end_mark.line)
    if _is_empty_null(value):
        return row
    if value.start_mark.line != row or value.end_mark.line != row:
        raise UsageError(f"line {row + 1}: write the empty value on the same line as its key")
    line = text.lines[row]
    text.lines[row] = line[: value.start_mark.column].rstrip() + line[value.end_mark.column :]
    return row


def _append_item(
    text: _Text, endpoints: SequenceNode, spec: Mapping[str, Any], offset: int
) -> None:
    items = list(endpoints.value)
    existing = _existing_names(items)
    name = str(spec["name"])
    if name in existing:
        raise UsageError(
            f"endpoint {name!r} is already in this stack (line {existing[name]}); "
            "choose another ENDPOINT name, or change the existing endpoint instead"
        )
    dash = endpoints.start_mark.column
    line = _insertion_line(_content_end(endpoints, text), dash, text)
    block = render_endpoint(spec, dash, sequence_offset=offset).splitlines()
    if _separated_by_blank_lines(items, text):
        block.insert(0, "")
    _insert(text, line, block)


def _new_key_block(spec: Mapping[str, Any], column: int, offset: int) -> list[str]:
    item = render_endpoint(spec, column + offset, sequence_offset=offset)
    return [" " * column + f"{ENDPOINTS_KEY}:", *item.splitlines()]


def _insert(text: _Text, index: int, block: list[str]) -> None:
    text.lines[index:index] = block


def _checked(result: str, spec: Mapping[str, Any]) -> str:
    """Parse the edited file: the endpoints list must end with exactly ``spec``."""
    data = YAML(typ="safe", pure=True).load(result)
    config = data.get("config") if isinstance(data, dict) else None
    endpoints = None
    if isinstance(config, dict):
        endpoints = next((config[key] for key in _ENDPOINT_KEYS if key in config), None)
    if not (isinstance(endpoints, list) and endpoints and endpoints[-1] == as_plain(dict(spec))):
        raise AssertionError("append_endpoint produced a file that does not end with the spec")
    return result


# --- a deployment beside the others, and one taken away --------------------------------------


def _endpoint_node(stack_text: str, endpoint: str) -> tuple[_Text, MappingNode, MappingNode]:
    """The text, the `config:` mapping and the endpoint's block mapping, or UsageError."""
    if _ODD_BREAKS.search(stack_text):
        raise UsageError(
            "the stack file uses line breaks other than LF or CRLF (CR, NEL, U+2028/9); "
            "convert it to LF line endings first"
        )
    root = _compose(stack_text)
    config = _value_of(root, ("config",)) if isinstance(root, MappingNode) else None
    found = (
        _value_of(config[1], _ENDPOINT_KEYS)
        if config and isinstance(config[1], MappingNode)
        else None
    )
    if found is not None and isinstance(found[1], SequenceNode):
        for item in found[1].value:
            if isinstance(item, MappingNode) and not item.flow_style:
                name = _value_of(item, ("name",))
                if name and isinstance(name[1], ScalarNode) and name[1].value == endpoint:
                    assert config is not None
                    return _Text.split(stack_text), config[1], item  # type: ignore[return-value]
    raise UsageError(
        f"endpoint {endpoint!r} is not a block mapping in a block list of endpoints; write it in "
        "block style (`- name: ...` with indented fields) before adding or removing deployments"
    )


def _deployments_node(endpoint: str, item: MappingNode) -> SequenceNode:
    found = _value_of(item, ("deployments",))
    if found is None or not isinstance(found[1], SequenceNode) or found[1].flow_style:
        raise UsageError(
            f"endpoint {endpoint!r}: `deployments` is not a block list; write it as `- name: ...` "
            "items before adding or removing deployments"
        )
    return found[1]


def append_deployment(stack_text: str, endpoint: str, spec: Mapping[str, Any]) -> str:
    """``stack_text`` with ``spec`` added as the last of ``endpoint``'s deployments: lines
    inserted, nothing else changed (checked by parsing the result)."""
    text, config, item = _endpoint_node(stack_text, endpoint)
    deployments = _deployments_node(endpoint, item)
    existing = _existing_names(list(deployments.value))
    if spec["name"] in existing:
        raise UsageError(
            f"endpoint {endpoint!r} already has a deployment {spec['name']!r} (line "
            f"{existing[spec['name']]}); fix: choose another name with --to"
        )
    offset = _sequence_offset(config)
    offset = DEFAULT_SEQUENCE_OFFSET if offset < 0 else offset
    dash = deployments.start_mark.column
    line = _insertion_line(_content_end(deployments, text), dash, text)
    block = _sequence_lines([spec], dash, offset)
    if _separated_by_blank_lines(list(deployments.value), text):
        block.insert(0, "")
    _insert(text, line, block)
    result = text.join()
    _same_but(stack_text, result, endpoint, lambda d: d.append(as_plain(dict(spec))))
    return result


def remove_deployment(stack_text: str, endpoint: str, name: str) -> str:
    """``stack_text`` without ``endpoint``'s deployment ``name`` (its lines removed)."""
    text, _, item = _endpoint_node(stack_text, endpoint)
    deployments = _deployments_node(endpoint, item)
    items = list(deployments.value)
    index = next(
        (i for i, node in enumerate(items) if _existing_names([node]).get(name) is not None),
        None,
    )
    if index is None:
        raise UsageError(f"endpoint {endpoint!r} has no deployment {name!r}")
    if len(items) == 1:
        raise UsageError(f"endpoint {endpoint!r}: {name!r} is its only deployment")
    node = items[index]
    first = int(node.start_mark.line)
    last = _content_end(node, text)
    del text.lines[first : last + 1]
    result = text.join()
    _same_but(stack_text, result, endpoint, lambda d: d.pop(index))
    return result


def _same_but(before: str, after: str, endpoint: str, change: Any) -> None:
    """The edited file parses to the original with ``change`` applied to the endpoint's
    deployments list, and nothing else: a bug of the edit is refused, never written."""
    expected = YAML(typ="safe", pure=True).load(before)
    for key in _ENDPOINT_KEYS:
        for item in (expected.get("config") or {}).get(key) or []:
            if isinstance(item, dict) and item.get("name") == endpoint:
                change(item["deployments"])
    if YAML(typ="safe", pure=True).load(after) != expected:
        raise UsageError(
            f"endpoint {endpoint!r}: mlep could not add or remove the deployment in this file's "
            "layout without changing something else; nothing was written"
        )
