"""Rewrite one endpoint's `traffic` / `mirror_traffic` in a stack file, and nothing else.

Each rollout step is a pull request, so the change must read as the step and only the step:
every byte outside the edited values stays as the author wrote it (comments, key order,
quoting, flow or block style). ruamel.yaml's round-trip loader finds the nodes and their
line/column; the edit itself is done on the text.
"""

from __future__ import annotations

import re
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq, merge_attrib
from ruamel.yaml.events import (
    MappingEndEvent,
    MappingStartEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)

from mlep.errors import UsageError
from mlep.stack.files import vetted
from models.loader import NAMESPACE

Shares = dict[str, int]
_SCALAR = re.compile(r"[^\s,#}\]]+")


def set_traffic(text: str, endpoint: str, field: str, shares: Shares) -> str:
    """``text`` with ``endpoint``'s ``field`` (traffic or mirror_traffic) set to ``shares``.

    Existing keys keep their place; new keys are appended; keys missing from ``shares`` are
    removed (an empty result is written as ``{}``).
    """
    lines = text.splitlines(keepends=True)
    item = _endpoint_item(text, endpoint)
    _refuse_shared(item, endpoint, field)
    edited = _edited(lines, item, endpoint, field, shares)
    _check_edit(text, edited, endpoint, field, shares)
    return edited


def _refuse_shared(item: CommentedMap, endpoint: str, field: str) -> None:
    """A field written through YAML's sharing (an anchor, an alias, a merge key) is not this
    endpoint's alone: an edit would change what else shares it, or find no text to change."""
    where = f"endpoint {endpoint!r}: `{field}`"
    fix = (
        f"Fix: write `{field}: {{...}}` out in full in this endpoint (no &anchor, *alias or "
        "<<: merge), then run the command again"
    )
    if field in item and field not in (item.lc.data or {}):
        raise UsageError(f"{where} comes from a merge key (<<:), not from the endpoint. {fix}")
    node = item.get(field)
    if isinstance(node, CommentedMap):
        if node.anchor.value:
            raise UsageError(f"{where} is shared through an anchor or alias (&/*). {fix}")
        if getattr(node, merge_attrib, None):
            raise UsageError(f"{where} merges another mapping (<<:). {fix}")


def _check_edit(before: str, after: str, endpoint: str, field: str, shares: Shares) -> None:
    """The edited text must parse to the original with only ``field`` of ``endpoint`` set to
    ``shares``: anything else is a bug of the edit, refused before anything is written."""
    expected = _safe_load(before)
    item = _plain_item(expected, endpoint)
    if shares or field in item:
        item[field] = dict(shares)
    if _safe_load(after) != expected:
        raise UsageError(
            f"endpoint {endpoint!r}: mlep could not edit `{field}` in this file's layout "
            "without changing something else; nothing was written. Fix: write the traffic "
            f"as `{field}: {{...}}` on one line, then run the command again"
        )


def _safe_load(text: str) -> Any:
    return YAML(typ="safe", pure=True).load(text)


def _plain_item(document: Any, endpoint: str) -> dict[str, Any]:
    """The endpoint's mapping in a document `_endpoint_item` found it in (the first match)."""
    config = document["config"]
    endpoints = config.get(f"{NAMESPACE}:endpoints", config.get("endpoints"))
    return next(e for e in endpoints if isinstance(e, dict) and e.get("name") == endpoint)


def _edited(lines: list[str], item: CommentedMap, endpoint: str, field: str, shares: Shares) -> str:
    text = "".join(lines)
    if field not in item:
        if not shares:
            return text
        indent = item.lc.key(next(iter(item)))[1]
        _insert_after(
            lines,
            _last_line(lines, item.lc.line, indent),
            [f"{' ' * indent}{field}: {_flow(shares)}"],
        )
        return "".join(lines)
    node = item[field]
    line, col = item.lc.value(field)
    if isinstance(node, CommentedMap) and lines[line][col:].startswith("{"):
        return _replace_flow(lines, line, col, shares)
    if isinstance(node, CommentedMap):
        return _replace_block(lines, item, field, node, shares)
    if node is None:  # `traffic:` with no value
        key_line = item.lc.key(field)[0]
        before, _, after = lines[key_line].partition(f"{field}:")
        comment = after[after.index("#") :] if "#" in after else ""
        end = _ending(lines[key_line])
        tail = f" {comment.rstrip()}" if comment else ""
        lines[key_line] = f"{before}{field}: {_flow(shares)}{tail}{end}"
        return "".join(lines)
    raise UsageError(f"endpoint {endpoint!r}: `{field}` is not a mapping; fix the stack file first")


def _endpoint_item(text: str, endpoint: str) -> CommentedMap:
    vetted(text)  # never hand the round-trip loader what takes it exponential time
    data = YAML(typ="rt").load(text)
    config = data.get("config") if isinstance(data, CommentedMap) else None
    endpoints: Any = None
    if isinstance(config, CommentedMap):
        endpoints = config.get(f"{NAMESPACE}:endpoints", config.get("endpoints"))
    if isinstance(endpoints, CommentedSeq):
        for item in endpoints:
            if isinstance(item, CommentedMap) and item.get("name") == endpoint:
                return item
    raise UsageError(f"no endpoint {endpoint!r} in the stack file")


def _replace_flow(lines: list[str], line: int, col: int, shares: Shares) -> str:
    """Replace a flow mapping ``{...}`` that starts at (line, col), possibly over lines."""
    end_line, end_col = _flow_end("".join(lines), line, col)
    original = "".join(lines[line : end_line + 1])[col:]
    padded = original.startswith("{ ")
    head, tail = lines[line][:col], lines[end_line][end_col + 1 :]
    lines[line : end_line + 1] = [head + _flow(shares, padded) + tail]
    return "".join(lines)


def _flow_end(text: str, line: int, col: int) -> tuple[int, int]:
    """(line, column) of the `}` that closes the flow mapping opened at (line, col), as the
    YAML parser sees it: braces inside quoted keys or comments do not count."""
    depth = 0
    for event in YAML(typ="safe").parse(text):
        mark = event.start_mark
        if depth == 0:
            if isinstance(event, MappingStartEvent) and (mark.line, mark.column) == (line, col):
                depth = 1
            continue
        if isinstance(event, MappingStartEvent | SequenceStartEvent):
            depth += 1
        elif isinstance(event, MappingEndEvent | SequenceEndEvent):
            depth -= 1
            if depth == 0:
                return mark.line, mark.column
    raise AssertionError(f"no flow mapping at line {line + 1}, column {col + 1}")


def _replace_block(
    lines: list[str], item: CommentedMap, field: str, node: CommentedMap, shares: Shares
) -> str:
    if not shares:
        # The whole block becomes `field: {}`.
        key_line, indent = item.lc.key(field)
        last = _last_line(lines, key_line, node.lc.key(next(iter(node)))[1])
        lines[key_line : last + 1] = [f"{' ' * indent}{field}: {{}}{_ending(lines[last])}"]
        return "".join(lines)
    edits: dict[int, str] = {}
    removed: set[int] = set()
    for key in node:
        key_line, _ = node.lc.key(key)
        if key not in shares:
            removed.add(key_line)
            continue
        value_line, value_col = node.lc.value(key)
        text = lines[value_line]
        match = _SCALAR.match(text, value_col)
        assert match is not None  # a percentage is a plain scalar
        edits[value_line] = text[: match.start()] + str(shares[key]) + text[match.end() :]
    for index, text in edits.items():
        lines[index] = text
    added = [key for key in shares if key not in node]
    if added:
        indent = node.lc.key(next(iter(node)))[1]
        last = _last_line(lines, node.lc.key(next(iter(node)))[0], indent)
        _insert_after(lines, last, [f"{' ' * indent}{key}: {shares[key]}" for key in added])
    for index in sorted(removed, reverse=True):
        del lines[index]
    return "".join(lines)


def _last_line(lines: list[str], start: int, column: int) -> int:
    """The last line (0-based) of the block whose keys start at ``column`` on line ``start``:
    it ends before the first content line indented less (blank and comment lines after it
    belong to what follows). Multi-line scalars and nested blocks are indented deeper."""
    last = start
    for index in range(start + 1, len(lines)):
        content = lines[index].strip()
        if not content or content.startswith("#"):
            continue
        if len(lines[index]) - len(lines[index].lstrip(" ")) < column:
            break
        last = index
    return last


def _insert_after(lines: list[str], last: int, new: list[str]) -> None:
    """Insert ``new`` lines after line ``last``, in the file's line ending; a file that did
    not end with a line break still does not."""
    newline = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
    ending = _ending(lines[last])
    if not ending:
        lines[last] += newline
    added = [line + newline for line in new]
    if not ending:
        added[-1] = new[-1]
    lines[last + 1 : last + 1] = added


def _ending(line: str) -> str:
    return line[len(line.rstrip("\r\n")) :]


def _flow(shares: Shares, padded: bool = False) -> str:
    body = ", ".join(f"{key}: {value}" for key, value in shares.items())
    if not body:
        return "{}"
    return f"{{ {body} }}" if padded else f"{{{body}}}"
