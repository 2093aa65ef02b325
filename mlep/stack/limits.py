"""Limits on the YAML mlep reads, checked before anything is expanded (issue 19, point 4).

A stack file or an `az ml` file is input like any other: a 700-byte "billion laughs" file
(nine anchors, each a list of nine aliases of the one before) is a billion values once
expanded, 300 nested brackets overflow Python's recursion limit, and 100,000 of them crash
the C parser (ruamel.yaml.clib, libyaml) outright. So, in this order:

1. the text's size (`--max-file-size` raises it);
2. its nesting, read from the text before any parser sees it: brackets of flow collections
   (outside quotes and comments) and the indentation and `- ` of block ones;
3. after loading, where aliases are shared objects that cost nothing yet, the number of
   values the document stands for once every alias is expanded, its real depth, and no
   alias that contains itself.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

from mlep.errors import UsageError

MAX_BYTES = 4 * 1024 * 1024  # a 500-endpoint stack file is about 0.6 MiB
MAX_DEPTH = 64  # our deepest field sits at about 8 levels
MAX_VALUES = 1_000_000
# A block collection one level deeper is indented at least one column more (or opens with
# another `- ` on the same line): this many columns means more than MAX_DEPTH levels.
_MAX_BLOCK_COLUMNS = 4 * MAX_DEPTH
_DEEP_BLOCK = re.compile(rf"^[ \t-]{{{_MAX_BLOCK_COLUMNS + 1}}}", re.MULTILINE)


def set_max_bytes(value: int) -> None:
    """`mlep --max-file-size`: raise (or lower) the size limit for this run."""
    global MAX_BYTES  # noqa: PLW0603 - one run, one limit, set once by the command line
    MAX_BYTES = value


def check_text(text: str, name: str) -> None:
    """Refuse a text too large or too deeply nested to parse safely (UsageError)."""
    size = len(text.encode("utf-8"))
    if size > MAX_BYTES:
        raise UsageError(
            f"{name} is {size:,} bytes, more than the {MAX_BYTES:,} mlep reads; fix: check "
            "that it is the right file, or raise the limit with mlep --max-file-size BYTES"
        )
    deep = _DEEP_BLOCK.search(text)
    if deep:
        raise _too_deep(name, text.count("\n", 0, deep.start()) + 1)
    depth = _flow_depth(text, name)
    if depth > MAX_DEPTH:
        raise _too_deep(name, None)


# What can hold a bracket that is no flow collection (a quoted scalar opened where a value
# starts, a comment), and the brackets themselves.
_FLOW_TOKENS = re.compile(
    r"(?:(?<=[\s\[{,:])|^)'(?:[^']|'')*'"
    r'|(?:(?<=[\s\[{,:])|^)"(?:[^"\\]|\\.)*"'
    r"|(?:(?<=\s)|^)#[^\n]*"
    r"|[\[{]|[\]}]",
    re.MULTILINE,
)


def _flow_depth(text: str, name: str) -> int:
    """The deepest nesting of `[`/`{` outside quoted scalars and comments."""
    openers = text.count("[") + text.count("{")
    if openers <= MAX_DEPTH:
        return openers  # a bound, found without the scan (block-style files have none)
    depth = deepest = 0
    for token in _FLOW_TOKENS.finditer(text):
        char = token.group()
        if char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise _too_deep(name, text.count("\n", 0, token.start()) + 1)
            deepest = max(deepest, depth)
        elif char in "]}":
            depth = max(depth - 1, 0)
    return deepest


def check_value(value: Any, name: str, text: str = "") -> None:
    """Refuse a loaded document whose aliases expand to too many values, that nests too deep
    once expanded, whose alias contains itself, or that holds a value only a type tag makes
    (UsageError; ``text`` locates the tag). Iterative: no recursion."""
    if text and _bounded_by_text(text):
        return
    counted: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[Any, int, bool]] = [(value, 1, False)]
    while stack:
        node, depth, done = stack.pop()
        if not isinstance(node, dict | list):
            continue
        key = id(node)
        if done:
            on_path.discard(key)
            children = node.values() if isinstance(node, dict) else node
            counted[key] = 1 + sum(
                counted.get(id(c), 1) if isinstance(c, dict | list) else 1 for c in children
            )
            if counted[key] > MAX_VALUES:
                raise UsageError(
                    f"{name}: its aliases (*name) expand to more than {MAX_VALUES:,} values; "
                    "fix: write the values out, or use fewer nested aliases"
                )
            continue
        if key in on_path:
            raise UsageError(
                f"{name}: an alias (*name) refers to a collection that contains it; fix: "
                "remove the self-reference"
            )
        if key in counted:
            continue
        if depth > MAX_DEPTH:
            raise _too_deep(name, None)
        on_path.add(key)
        stack.append((node, depth, True))
        children = node.values() if isinstance(node, dict) else node
        for child in children:
            if isinstance(child, _FOREIGN):
                raise _foreign(name, child, text)
            stack.append((child, depth + 1, False))


# Half the depth limit in columns of block indentation, or in flow brackets.
_HALF_INDENTED = re.compile(rf"^[ \t-]{{{MAX_DEPTH // 2},}}", re.MULTILINE)
# A YAML timestamp's start: the round-trip loader (az ml files) makes a date of it.
_DATE = re.compile(r"\d\d\d\d-\d\d?-\d\d?")


def _bounded_by_text(text: str) -> bool:
    """Whether the text alone shows the loaded value is within the limits, so the walk over it
    can be skipped: no alias (`*`: no expansion, no self-reference), no tag (`!`: no foreign
    type), and nesting below the limit (each level of block nesting takes a column or more, each
    of flow nesting a bracket), no date."""
    return (
        "*" not in text
        and "!" not in text
        and not _DATE.search(text)
        and text.count("[") + text.count("{") < MAX_DEPTH // 2
        and not _HALF_INDENTED.search(text)
    )


# What only an explicit tag (!!binary, !!set, !!timestamp) makes of a value: no field of a
# stack or az ml file takes one, and JSON (the plan, the engine's config) has none.
_FOREIGN = (bytes, set, frozenset, datetime.date)


def _foreign(name: str, value: Any, text: str) -> UsageError:
    if isinstance(value, bytes):
        kind = "binary"
    elif isinstance(value, set | frozenset):
        kind = "set"
    else:
        kind = "timestamp"
    # The value has no line of its own (the fast loader keeps none): the tag's first use has.
    tag = re.search(rf"!!{kind}\b|!<tag:yaml\.org,2002:{kind}>", text)
    where = f"{name}:{text.count(chr(10), 0, tag.start()) + 1}" if tag else name
    return UsageError(
        f"{where}: a value tagged !!{kind} ({type(value).__name__}); mlep reads strings, "
        "numbers, booleans, lists and mappings. Fix: remove the tag and write the value as a "
        "(quoted) string or a list"
    )


def _too_deep(name: str, line: int | None) -> UsageError:
    where = f"{name}:{line}" if line else name
    return UsageError(
        f"{where}: nested more than {MAX_DEPTH} levels deep; mlep reads stack and az ml files "
        "nested at most that deep. Fix: flatten the structure (no field of ours nests so deep)"
    )
