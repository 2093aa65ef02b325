"""A generated block of README.md, between a start and an end marker: rewritten by a script's
`--write`, printed otherwise, and compared by a test so it cannot go stale."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


@dataclass(frozen=True)
class ReadmeBlock:
    name: str  # the markers are <!-- NAME:start --> and <!-- NAME:end -->
    render: Callable[[], str]

    @property
    def start(self) -> str:
        return f"<!-- {self.name}:start -->"

    @property
    def end(self) -> str:
        return f"<!-- {self.name}:end -->"

    def updated(self, text: str) -> str:
        """``text`` with the block rendered afresh; the rest unchanged."""
        head, rest = text.split(self.start, 1)
        _, tail = rest.split(self.end, 1)
        return f"{head}{self.start}\n{self.render()}{self.end}{tail}"

    def main(self, argv: list[str]) -> int:
        if "--write" in argv:
            README.write_text(self.updated(README.read_text()))
        else:
            sys.stdout.write(self.render())
        return 0
