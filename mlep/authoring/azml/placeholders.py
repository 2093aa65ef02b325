"""Template placeholders in az ml files: `{{ENDPOINT_NAME}}`, `${VAR}`, `<KV_NAME>`, and the
snake-case tokens of Azure ML's documentation (`storage_place_holder`).

Published examples and team templates leave values to fill; unfilled, `{{X}}` is a YAML flow
mapping with a mapping as its key ("unhashable key"), and the others are values no check would
explain. So the text is scanned before any YAML parser sees it: each placeholder is filled from
`mlep import --set NAME=VALUE`, and every one left is named, with its line and the fix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mlep.errors import UsageError

# `{{ NAME }}` (Jinja, mustache), `${NAME}` (shell, envsubst), `<NAME>` (docs; upper case only, so
# HTML-like text in a description is not taken for one), and a snake-case word joined to
# `place_holder` or `placeholder` (`uai_client_id_place_holder`,
# `user_identity_ARM_id_place_holder`: the managed identity samples of Azure ML's docs, which
# their scripts replace with sed). The underscore is required, so the English word
# "placeholder" in a description is no placeholder.
PLACEHOLDER = re.compile(
    r"\{\{\s*(?P<braces>[A-Za-z_][A-Za-z0-9_]*)\s*\}\}"
    r"|\$\{(?P<dollar>[A-Za-z_][A-Za-z0-9_]*)\}"
    r"|<(?P<angle>[A-Z][A-Z0-9_]*)>"
    r"|(?<![A-Za-z0-9_.-])(?P<word>[A-Za-z0-9_]*"
    r"(?i:place_holder|_placeholder|placeholder_)[A-Za-z0-9_]*)(?![A-Za-z0-9_-])"
)
# What a filled value may hold: names, versions, URIs, image references. Nothing that changes
# the YAML around it (quotes, braces, `#`, new lines, a colon that ends it: `name: 0:` would be
# a mapping). Like any value typed into the file, `8` is then a number and `true` a boolean.
# A value may start with `/`: an Azure resource id (`/subscriptions/...`) or an absolute path.
VALUE = re.compile(r"[A-Za-z0-9/](?:[A-Za-z0-9._:/@+=-]*[A-Za-z0-9._/@+=-])?")


@dataclass(frozen=True)
class Unfilled:
    name: str
    written: str  # as the file writes it, e.g. {{ENDPOINT_NAME}}
    line: int


def parse_sets(items: list[str]) -> dict[str, str]:
    """`--set NAME=VALUE` arguments as a mapping; UsageError for a malformed one."""
    values: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise UsageError(
                f"--set {item}: give NAME=VALUE, NAME as the placeholder writes it "
                "(e.g. --set ENDPOINT_NAME=fraud-scoring)"
            )
        if not VALUE.fullmatch(value):
            raise UsageError(
                f"--set {name}={value}: a value is a name, version, URI or image reference "
                "(letters, digits and . _ : / @ + = -); fix: edit the file for anything else"
            )
        values[name] = value
    return values


def fill(text: str, values: dict[str, str]) -> tuple[str, list[Unfilled], set[str]]:
    """The text with each placeholder that ``values`` names replaced; the ones left, in order;
    and the names that were used."""
    unfilled: list[Unfilled] = []
    used: set[str] = set()

    def replace(match: re.Match[str]) -> str:
        if _in_comment(text, match.start()):
            return match.group(0)  # `# set <ENDPOINT_NAME> first` is prose, not a value
        name = next(group for group in match.groups() if group is not None)
        if name in values:
            used.add(name)
            return values[name]
        line = text.count("\n", 0, match.start()) + 1
        unfilled.append(Unfilled(name, match.group(0), line))
        return match.group(0)

    return PLACEHOLDER.sub(replace, text), unfilled, used


# The endpoint file's top-level `name:` line, its value optionally quoted and commented.
_NAME_LINE = re.compile(r"^name:[ \t]*(['\"]?)(?P<value>[^'\"#\n]*?)\1[ \t]*(?:#.*)?$", re.M)


def name_placeholder(text: str) -> str | None:
    """The placeholder that is the whole value of the file's top-level `name:`
    (`name: <ENDPOINT_NAME>` gives ENDPOINT_NAME), or None: `mlep import --name` fills it."""
    line = _NAME_LINE.search(text)
    found = PLACEHOLDER.fullmatch(line["value"]) if line else None
    return next(g for g in found.groups() if g is not None) if found else None


def _in_comment(text: str, at: int) -> bool:
    """Whether ``at`` lies in a YAML comment: after a `#` that starts the line or follows a
    blank, outside quotes (a `#` inside a quoted value or a URL fragment is no comment)."""
    start = text.rfind("\n", 0, at) + 1
    quote = None
    for index in range(start, at):
        char = text[index]
        if quote:
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char == "#" and (index == start or text[index - 1] in " \t"):
            return True
    return False
