"""Problems in the files users write (stack files, az ml files, endpoint templates).

One type, Problem: the file and line where known, the field path, the value given and the fix.
A stack's problems are collected, never first-only, into a ConfigError.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

_MISSING = object()


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a file the user wrote: where, which field, what it gave, the fix.

    ``path`` is the field path, written the way users read it (``endpoints[0].traffic.green``;
    below the ``ml-endpoints:`` namespace in a stack file); ``value`` is what the file gave (or
    ``MISSING``, also when it must not be echoed, such as a suspected secret). ``source`` and
    ``line`` say which file and line, when the problem is found knowing them (`mlep import`
    reading az ml files, `mlep new` reading a template); a stack's problems get their file and
    lines when their ConfigError is rendered.
    """

    path: str
    message: str
    fix: str
    value: Any = _MISSING
    source: str = ""
    line: int | None = None

    @property
    def has_value(self) -> bool:
        return self.value is not _MISSING

    @property
    def where(self) -> str:
        """``file:line``, or ``file`` when the line is not known ("" without a file)."""
        return f"{self.source}:{self.line}" if self.source and self.line else self.source

    @property
    def given(self) -> str:
        """`` = value`` as the reports show it, or "" when there is no value to show."""
        return f" = {show_value(self.value)}" if self.has_value else ""

    def explained(self) -> list[str]:
        """The error and fix lines under the problem's heading in a report."""
        return [f"    error: {self.message}", f"    fix:   {self.fix}"]

    def one_line(self) -> str:
        """``file: message; fix``: the problem as the one line of a usage error."""
        text = f"{self.where}: {self.message}" if self.where else self.message
        return f"{text}; {self.fix}" if self.fix else text


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
            parts.append(f"  {field}{problem.given}" + (f"  ({where})" if where else ""))
            parts += problem.explained()
        return "\n".join(parts)


def listing(head: str, problems: Iterable[Problem]) -> str:
    """``head``, then each problem under its ``file:line`` and field (`mlep import`'s report)."""
    parts = [head]
    for problem in problems:
        field = f": {problem.path}{problem.given}" if problem.path else ""
        parts.append(f"  {problem.where}{field}")
        parts += problem.explained()
    return "\n".join(parts)
