"""An az ml file read for import: its data, the line of every key, and what was found in it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from mlep.authoring.azml import placeholders
from mlep.errors import UsageError
from mlep.stack import limits
from mlep.stack.files import CONSTRUCTOR_FAILURES, node_line, vetted
from models.errors import MISSING, Problem, listing

Loc = tuple[str | int, ...]


class Findings:
    """The problems (listed in file order, then line order) and notes of one import."""

    def __init__(self) -> None:
        self.notes: list[str] = []
        self.used_values: set[str] = set()  # the --set names some placeholder took
        self._problems: list[tuple[tuple[int, int], Problem]] = []

    def add(self, index: int, problem: Problem) -> None:
        """A problem in the ``index``-th file (0 for the endpoint, then the deployments)."""
        self._problems.append(((index, problem.line or 0), problem))

    def raise_if_any(self) -> None:
        """UsageError listing every problem, each with file:line, field, value and fix."""
        if not self._problems:
            return
        count = len(self._problems)
        head = f"cannot import the az ml files: {count} problem{'s' if count != 1 else ''}"
        ordered = sorted(self._problems, key=lambda item: item[0])
        raise UsageError(listing(head, (problem for _, problem in ordered)))


class AzmlFile:
    """One parsed az ml file: its data, the line of every key, and what was found in it."""

    def __init__(self, path: Path, index: int, data: CommentedMap, findings: Findings) -> None:
        self.path = path
        self.index = index  # 0 for the endpoint file, then the deployment files in order
        self.data = data
        self._findings = findings

    def line(self, loc: Loc) -> int | None:
        """The line of the deepest key of ``loc`` the file has."""
        node: Any = self.data
        line = None
        for part in loc:
            in_map = isinstance(node, CommentedMap) and part in node
            in_seq = isinstance(node, CommentedSeq) and isinstance(part, int) and part < len(node)
            if not (in_map or in_seq):
                break
            line = node_line(node, part)
            node = node[part]
        return line

    def where(self, loc: Loc) -> str:
        line = self.line(loc)
        return f"{self.path}:{line}" if line else str(self.path)

    def problem(
        self, loc: Loc, message: str, fix: str, value: Any = MISSING, field: str | None = None
    ) -> None:
        """A problem at the az ml field ``loc`` (named ``field`` when given, else ``loc``)."""
        field = ".".join(str(part) for part in loc) if field is None else field
        problem = Problem(field, message, fix, plain(value), str(self.path), self.line(loc))
        self._findings.add(self.index, problem)

    def note(self, loc: Loc, text: str) -> None:
        self._findings.notes.append(f"{self.where(loc)}: {text}")


def read(path: Path) -> str:
    """The file's text, within the size limits (checked before any parser sees it,
    mlep/stack/limits.py); UsageError when it cannot be read."""
    try:
        text = path.read_text()
    except OSError as error:
        raise UsageError(f"{path}: cannot read the file ({error.strerror})") from None
    limits.check_text(text, str(path))
    return text


def load(
    path: Path,
    text: str,
    index: int,
    findings: Findings,
    values: dict[str, str],
    *,
    name_placeholder: str | None = None,
) -> AzmlFile | None:
    """The file's ``text`` parsed, its placeholders filled from ``values``; or None (and a
    problem) when it is not YAML, not a mapping, or keeps a placeholder (one problem for each).
    The endpoint's name, when a placeholder (``name_placeholder``), can also come from --name."""
    text, unfilled, used = placeholders.fill(text, values)
    findings.used_values |= used
    for left in unfilled:
        problem = Problem(
            left.name,
            f"{left.written} is a template placeholder, not a value",
            f"fill `{left.name}` first, or pass "
            + ("`--name NAME` (the endpoint's name) or " if left.name == name_placeholder else "")
            + f"`--set {left.name}=...`",
            source=str(path),
            line=left.line,
        )
        findings.add(index, problem)
    if unfilled:
        return None
    try:
        # The safe loaders first: they refuse what the round-trip loader takes exponential
        # time over (flow mappings nested as keys, `{{{{...}}}}`: 16 levels take 40 s).
        vetted(text)
        data = YAML(typ="rt").load(text)
    except YAMLError as error:
        findings.add(index, _syntax_problem(path, error))
        return None
    except CONSTRUCTOR_FAILURES as error:
        problem = Problem(
            "",
            f"not valid YAML: a tagged value cannot be built ({type(error).__name__}: {error})",
            "remove the tag (!!...) or correct the value",
            source=str(path),
        )
        findings.add(index, problem)
        return None
    limits.check_value(data, str(path), text)
    if not isinstance(data, CommentedMap):
        problem = Problem(
            "",
            "the top level must be a mapping of az ml fields",
            "pass an az ml online endpoint or deployment YAML file",
            plain(data),
            str(path),
        )
        findings.add(index, problem)
        return None
    return AzmlFile(path, index, data, findings)


def _syntax_problem(path: Path, error: YAMLError) -> Problem:
    mark = getattr(error, "problem_mark", None)
    reason = getattr(error, "problem", None) or str(error).splitlines()[0]
    opened = getattr(error, "context_mark", None)
    if opened is not None and (mark is None or opened.line != mark.line):
        reason += f"; {getattr(error, 'context', 'it started')} at line {opened.line + 1}"
    line = mark.line + 1 if mark is not None else None
    return Problem("", f"not valid YAML: {reason}", "fix the syntax", source=str(path), line=line)


def plain(value: Any) -> Any:
    """ruamel's round-trip types down to plain dicts, lists, str, int, float and bool."""
    if isinstance(value, dict):
        return {plain(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, bool) or value is None:
        return value
    for kind in (str, int, float):
        if isinstance(value, kind):
            return kind(value)
    return value
