"""StackRef: one stack of one project, and the ways to read it.

A stack is a project directory and a stack name; its file is `Pulumi.<name>.yaml` in that
directory. Every command names the stack this way, so the file name is built here only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mlep.errors import UsageError
from mlep.stack import git
from mlep.stack.files import StackFile, decoded_text, parse_stack
from models.errors import ConfigError
from models.loader import parse_stack_config
from models.stack import StackConfig


class StackConfigError(ConfigError):
    """A ConfigError with the line numbers of the stack file (or revision) it is about."""

    def __init__(self, error: ConfigError, lines: dict[str, int]) -> None:
        super().__init__(error.source, error.problems)
        self.lines = lines


def validated(stack_file: StackFile, source: str) -> StackConfig:
    """The stack file's validated config; ``source`` names it in messages.

    Raises StackConfigError (with the file's line numbers).
    """
    try:
        return parse_stack_config(stack_file.namespace, source)
    except ConfigError as error:
        raise StackConfigError(error, stack_file.lines) from None


@dataclass(frozen=True)
class StackRef:
    """A stack of the project in ``project_dir`` named ``name``."""

    project_dir: Path
    name: str

    @property
    def file_name(self) -> str:
        return f"Pulumi.{self.name}.yaml"

    @property
    def path(self) -> Path:
        return self.project_dir / self.file_name

    def read(self) -> StackFile:
        """The stack file in the working tree, parsed (not yet validated)."""
        if not self.path.exists():
            existing = sorted(
                p.name[len("Pulumi.") : -len(".yaml")]
                for p in self.project_dir.glob("Pulumi.*.yaml")
            )
            raise UsageError(
                f"no stack file {self.file_name} in {self.project_dir}; stacks here: "
                f"{', '.join(existing) or 'none'}"
            )
        return self.parse(self.text())

    def text(self) -> str:
        """The stack file's text in the working tree (UTF-8, line ends as they are)."""
        return decoded_text(self.path.read_bytes(), self.file_name)

    def parse(self, text: str) -> StackFile:
        """The stack file with ``text`` as its content (an edit not yet written, a revision)."""
        return parse_stack(self.name, self.path, text)

    def repository_path(self) -> str | None:
        """The stack file's path from the repository's root, or None outside a repository."""
        prefix = git.prefix(self.project_dir)
        return None if prefix is None else f"{prefix}{self.file_name}"

    def read_at(self, revision: str) -> StackFile:
        """The stack file as it was at a git revision (for --base)."""
        try:
            shown = git.show(self.project_dir, revision, self._repository_path(revision))
        except git.GitFailed as error:
            raise UsageError(
                f"--base {revision}: cannot read {self.file_name} at that revision ({error.reason})"
            ) from None
        return self.parse(decoded_text(shown, f"{self.file_name} at {revision}"))

    def exists_at(self, revision: str) -> bool:
        """Whether the stack file exists at ``revision``."""
        return git.exists(self.project_dir, revision, self._repository_path(revision))

    def load(self, revision: str | None = None) -> tuple[StackFile, StackConfig]:
        """The stack file (at ``revision`` when given) and its validated config.

        Raises StackConfigError (with the file's line numbers) or UsageError.
        """
        stack_file = self.read_at(revision) if revision else self.read()
        source = self.file_name + (f" at {revision}" if revision else "")
        return stack_file, validated(stack_file, source)

    def _repository_path(self, revision: str) -> str:
        try:
            prefix = git.run(self.project_dir, "rev-parse", "--show-prefix")
        except git.GitFailed as error:
            raise UsageError(
                f"--base {revision}: cannot read {self.file_name} at that revision ({error.reason})"
            ) from None
        return prefix.decode("utf-8").strip() + self.file_name
