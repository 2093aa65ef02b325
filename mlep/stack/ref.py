"""StackRef: one stack of one project, and the ways to read it.

A stack is a project directory and a stack name; its file is `Pulumi.<name>.yaml` in that
directory. Every command names the stack this way, so the file name is built here only.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from mlep.errors import UsageError
from mlep.stack import git
from mlep.stack.files import StackFile, decoded_text, parse_stack
from mlep.stack.writing import open_regular, replace_file
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


# What the Pulumi CLI accepts as a stack name (`pulumi stack init`): letters, digits, `-`, `_`
# and `.`, at most 100 of them. Checked before any path is built from it.
_STACK_NAME = re.compile(r"[A-Za-z0-9_.-]{1,100}")


@dataclass(frozen=True)
class StackRef:
    """A stack of the project in ``project_dir`` named ``name`` (a checked stack name)."""

    project_dir: Path
    name: str

    def __post_init__(self) -> None:
        if not _STACK_NAME.fullmatch(self.name) or ".." in self.name or self.name == ".":
            raise UsageError(
                f"--stack {self.name!r} is not a stack name; fix: use letters, digits, '-', '_' "
                "and '.' (at most 100, no '/' and no '..'), the name of a Pulumi.<stack>.yaml "
                "in the project, e.g. --stack dev"
            )

    @property
    def file_name(self) -> str:
        return f"Pulumi.{self.name}.yaml"

    @property
    def path(self) -> Path:
        return self.project_dir / self.file_name

    def read(self) -> StackFile:
        """The stack file in the working tree, parsed (not yet validated)."""
        if not os.path.lexists(self.path):
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
        return decoded_text(_regular_file_bytes(self.path, self.file_name), self.file_name)

    def parse(self, text: str) -> StackFile:
        """The stack file with ``text`` as its content (an edit not yet written, a revision)."""
        return parse_stack(self.name, self.path, text)

    def repository_path(self) -> str | None:
        """The stack file's path from the repository's root, or None outside a repository."""
        prefix = git.prefix(self.project_dir)
        return None if prefix is None else f"{prefix}{self.file_name}"

    def committed_bytes(self) -> bytes | None:
        """The stack file's bytes at HEAD; None outside a repository (nothing to compare
        with), b"" when HEAD does not hold it (a new file, or a repository without commits)."""
        prefix = git.prefix(self.project_dir)
        if prefix is None:
            return None
        try:
            head = git.resolve(self.project_dir, "HEAD")
        except git.GitFailed:
            return b""
        path = f"{prefix}{self.file_name}"
        return (
            git.show(self.project_dir, head, path)
            if git.exists(self.project_dir, head, path)
            else b""
        )

    def write(self, before: str, after: str, *, allow_dirty: bool = False) -> None:
        """Replace the stack file's text ``before`` with ``after``: atomically, only if it
        still reads ``before``, and (unless ``allow_dirty``) only if ``before`` is what is
        committed, so the change this command makes is the only uncommitted one.

        Raises UsageError (exit 2); the file is then unchanged.
        """
        committed = None if allow_dirty else self.committed_bytes()
        if committed is not None and committed != before.encode("utf-8"):
            state = "is not committed yet" if not committed else "has uncommitted changes"
            raise UsageError(
                f"{self.file_name} {state}; mlep edits only a committed stack file, so that its "
                "change is the only one to review. Fix: commit (or discard) the changes first, "
                "or pass --allow-dirty to edit it anyway."
            )
        replace_file(self.path, after.encode("utf-8"), expected=before.encode("utf-8"))

    def read_at(self, revision: str) -> StackFile:
        """The stack file as it was at a git revision (for --base)."""
        commit = self._commit(revision)
        try:
            shown = git.show(self.project_dir, commit, self._repository_path(revision))
        except git.GitFailed as error:
            raise self._unreadable_at(revision, error.reason) from None
        return self.parse(decoded_text(shown, f"{self.file_name} at {revision}"))

    def project_file_at(self, revision: str, relative: str) -> bytes | None:
        """The bytes of ``relative`` (a path in the project directory) at ``revision``, or
        None when it did not exist there. The revision must name a commit (UsageError)."""
        commit = self._commit(revision)
        prefix = self._repository_path(revision)[: -len(self.file_name)]
        if not git.exists(self.project_dir, commit, f"{prefix}{relative}"):
            return None
        return git.show(self.project_dir, commit, f"{prefix}{relative}")

    def project_tree_at(self, revision: str, relative: str, into: Path) -> bool:
        """Write the directory ``relative`` of the project as it was at ``revision`` into
        ``into`` (which must exist); False when it did not exist there."""
        commit = self._commit(revision)
        prefix = self._repository_path(revision)[: -len(self.file_name)]
        if not git.exists(self.project_dir, commit, f"{prefix}{relative}"):
            return False
        git.extract(self.project_dir, commit, f"{prefix}{relative}", into, strip=prefix)
        return True

    def exists_at(self, revision: str) -> bool:
        """Whether ``revision`` is a commit holding the stack file."""
        try:
            commit = git.resolve(self.project_dir, revision)
        except git.GitFailed:
            return False
        return git.exists(self.project_dir, commit, self._repository_path(revision))

    def load(self, revision: str | None = None) -> tuple[StackFile, StackConfig]:
        """The stack file (at ``revision`` when given) and its validated config.

        Raises StackConfigError (with the file's line numbers) or UsageError.
        """
        stack_file = self.read_at(revision) if revision else self.read()
        source = self.file_name + (f" at {revision}" if revision else "")
        return stack_file, validated(stack_file, source)

    def _commit(self, revision: str) -> str:
        try:
            return git.resolve(self.project_dir, revision)
        except git.GitFailed:
            raise self._unreadable_at(
                revision,
                "not a commit of this repository; fix: name a branch, tag or commit, "
                "e.g. --base origin/main",
            ) from None

    def _repository_path(self, revision: str) -> str:
        try:
            prefix = git.run(self.project_dir, "rev-parse", "--show-prefix")
        except git.GitFailed as error:
            raise self._unreadable_at(revision, error.reason) from None
        return prefix.decode("utf-8").strip() + self.file_name

    def _unreadable_at(self, revision: str, reason: str) -> UsageError:
        return UsageError(
            f"--base {revision}: cannot read {self.file_name} at that revision ({reason})"
        )


def _regular_file_bytes(path: Path, name: str) -> bytes:
    """The bytes of ``path`` if it is a regular file; a symbolic link, a FIFO, a device or a
    directory is refused before it is read (reading a FIFO or /dev/zero would never end)."""
    try:
        descriptor = open_regular(path, name)
    except OSError as error:
        raise UsageError(f"{name}: cannot read it ({error.strerror})") from None
    with os.fdopen(descriptor, "rb") as file:
        return file.read()
