"""The one way mlep reads git: a stack file at a revision, its history, the repository layout.

Every git call of mlep goes through `run`, which hands back git's bytes; text is decoded
here as UTF-8 (what git stores for paths and what stack files are), never with the locale.
"""

from __future__ import annotations

import io
import re
import subprocess
import tarfile
from pathlib import Path

from mlep.errors import UsageError

_HEX_ID = re.compile(r"[0-9a-f]{40}([0-9a-f]{24})?")  # SHA-1 or SHA-256


_HEX_ID = re.compile(r"[0-9a-f]{40}([0-9a-f]{24})?")  # SHA-1 or SHA-256


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


def resolve(project_dir: Path, revision: str) -> str:
    """The commit (full hex id) that ``revision`` names. Raises GitFailed when it names none.

    A revision comes from the command line (`--base`): it is handed to git after
    `--end-of-options`, so one that looks like an option (`--output=FILE`, `-oX`) is a revision
    that does not exist, never an option. Every other git call takes the resolved id.
    """
    resolved = run(
        project_dir,
        "rev-parse",
        "--verify",
        "--quiet",
        "--end-of-options",
        f"{revision}^{{commit}}",
    )
    commit = resolved.decode("ascii", errors="replace").strip()
    if not _HEX_ID.fullmatch(commit):
        raise GitFailed(f"{revision!r} is not a commit")
    return commit


def is_commit(project_dir: Path, revision: str) -> bool:
    """Whether ``revision`` names a commit."""
    try:
        resolve(project_dir, revision)
    except (GitFailed, UsageError):
        return False
    return True


def show(project_dir: Path, commit: str, path: str) -> bytes:
    """The bytes of ``path`` (relative to the repository's root) at ``commit`` (resolved)."""
    return run(project_dir, "show", f"{_checked(commit)}:{path}")


def exists(project_dir: Path, commit: str, path: str) -> bool:
    """Whether ``path`` (relative to the repository's root) exists at ``commit`` (resolved)."""
    return text(project_dir, "cat-file", "-e", f"{_checked(commit)}:{path}") is not None


def extract(project_dir: Path, commit: str, path: str, into: Path, strip: str = "") -> None:
    """Write the tree ``path`` at ``commit`` (resolved) below ``into``, each file at its path
    without the leading ``strip``. Only regular files and directories are written, never
    outside ``into`` (a tar filter refuses links, devices and absolute or `..` paths)."""
    archive = run(project_dir, "archive", "--format=tar", _checked(commit), "--", path)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        members = []
        for member in tar.getmembers():
            if not (member.isfile() or member.isdir()) or not member.name.startswith(strip):
                continue
            member.name = member.name[len(strip) :]
            if member.name:
                members.append(member)
        tar.extractall(into, members=members, filter="data")


def _checked(commit: str) -> str:
    if not _HEX_ID.fullmatch(commit):
        raise ValueError(f"not a resolved commit id: {commit!r} (resolve it first)")
    return commit
