"""Values kept literal inside an ARM template.

ARM evaluates a JSON string that starts with ``[`` and ends with ``]`` as a template
expression, property names (object keys) as well as values. To keep such a string literal it
must start with ``[[``: ARM then drops the first bracket and reads the rest as text. A string
that starts with ``[`` but does not end with ``]`` is already literal and is left as it is
(escaping it would put a second bracket into the value). See Microsoft Learn, "Syntax and
expressions in ARM templates: Escape characters":
https://learn.microsoft.com/azure/azure-resource-manager/templates/template-expressions#escape-characters
"""

from __future__ import annotations

from typing import Any, TypeVar, cast

import pulumi

T = TypeVar("T")


def literal(value: T) -> T:
    """``value`` with every string in it, object keys included, escaped so ARM reads it as text.

    Walks dicts, lists and Outputs (through ``apply``); numbers, booleans and None pass as they
    are. Only strings ARM would evaluate change, so ordinary values come out identical.
    """
    return cast("T", _literal(value))


def _literal(value: Any) -> Any:
    if isinstance(value, str):
        return escape(value)
    if isinstance(value, dict):
        return {escape(key): _literal(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_literal(item) for item in value]
    if isinstance(value, pulumi.Output):
        return value.apply(_literal)
    return value


def escape(text: str) -> str:
    """``text`` as an ARM string literal: ``[x]`` becomes ``[[x]``, anything else is unchanged."""
    return f"[{text}" if text.startswith("[") and text.endswith("]") else text
