"""The one way mlep reads git: a stack file at a revision, its history, the repository layout.

Every git call of mlep goes through `run`, which hands back git's bytes; text is decoded
here as UTF-8 (what git stores for paths and what stack files are), never with the locale.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from mlep.errors import UsageError


class GitFailed(Exception):
    """git ran and failed; ``reason`` is the last line it wrote to stderr."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def run(project_dir: Path, *args: str) -> bytes:
    """git's standard output for ``args`` run in ``project_dir``.

    Raises GitFailed when git exits non-zero, UsageError when git is not installed.
    """
    try:
        done = subprocess.run(
            ["git", "-C", str(project_dir), *args], capture_output=True, check=False
        )
    except FileNotFoundError:
        raise UsageError("this needs git on PATH; fix: install git") from None
    if done.returncode != 0:
        stderr = done.stderr.decode("utf-8", errors="replace").strip().splitlines()
        raise GitFailed(stderr[-1] if stderr else f"git exited with {done.returncode}")
    return done.stdout


def text(project_dir: Path, *args: str) -> str | None:
    """git's output as UTF-8 text, or None when git fails or is missing (a best-effort read:
    history that cannot be read is history that is not there)."""
    try:
        output = run(project_dir, *args)
    except (GitFailed, UsageError):
        return None
    return output.decode("utf-8", errors="replace")


def prefix(project_dir: Path) -> str | None:
    """``project_dir`` relative to the repository's root (`` for the root itself, with a
    trailing `/` otherwise), or None outside a repository.

    `git log -- PATH` takes PATH relative to the working directory, `git show REV:PATH`
    relative to the root: the project may sit in a subdirectory.
    """
    shown = text(project_dir, "rev-parse", "--show-prefix")
    return None if shown is None else shown.strip()


def show(project_dir: Path, revision: str, path: str) -> bytes:
    """The bytes of ``path`` (relative to the repository's root) at ``revision``."""
    return run(project_dir, "show", f"{revision}:{path}")


def exists(project_dir: Path, revision: str, path: str) -> bool:
    """Whether ``path`` (relative to the repository's root) exists at ``revision``."""
    return text(project_dir, "cat-file", "-e", f"{revision}:{path}") is not None


def is_commit(project_dir: Path, revision: str) -> bool:
    """Whether ``revision`` names a commit."""
    return (
        text(project_dir, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}") is not None
    )
