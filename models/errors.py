"""Configuration problems: collected, never first-only, each with path, value and fix."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

_MISSING = object()


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the stack configuration.

    ``path`` is the field path below the ``ml-endpoints:`` namespace, written the way users
    read it (``endpoints[0].traffic.green``); ``value`` is what the file gave (or ``MISSING``).
    """

    path: str
    message: str
    fix: str
    value: Any = _MISSING

    @property
    def has_value(self) -> bool:
        return self.value is not _MISSING


MISSING: Any = _MISSING


def format_path(loc: Sequence[str | int]) -> str:
    """``("endpoints", 0, "traffic", "green")`` -> ``endpoints[0].traffic.green``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def show_value(value: Any) -> str:
    """A short, unambiguous rendering of a user-supplied value (strings quoted, types visible)."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


class ConfigError(Exception):
    """The stack configuration is invalid. Holds every problem found, sorted by path."""

    def __init__(self, source: str, problems: Iterable[Problem]) -> None:
        self.source = source
        self.problems = sorted(problems, key=lambda p: (p.path, p.message))
        super().__init__(self.render())

    def render(self, lines: dict[str, int] | None = None) -> str:
        """Human-readable report; ``lines`` maps a field path to its line in the source file."""
        count = len(self.problems)
        head = f"{self.source}: {count} configuration error{'s' if count != 1 else ''}"
        parts = [head]
        for problem in self.problems:
            where = (
                f"{self.source}:{lines[problem.path]}" if lines and problem.path in lines else ""
            )
            field = f"ml-endpoints:{problem.path}" if problem.path else "ml-endpoints"
            given = f" = {show_value(problem.value)}" if problem.has_value else ""
            parts.append(f"  {field}{given}" + (f"  ({where})" if where else ""))
            parts.append(f"    error: {problem.message}")
            parts.append(f"    fix:   {problem.fix}")
        return "\n".join(parts)
