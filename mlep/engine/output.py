"""Where `mlep plan --out DIR` writes, and how: only where it was asked to, only whole files.

A GitOps directory is read by whatever applies it (`kubectl apply -f DIR`, a CI job that
commits it), so a plan that failed, a killed process or a hostile path must never leave it
half-written or write elsewhere:

- DIR is accepted when it does not exist yet, is empty, or was written by mlep (it holds the
  marker file MARKER, or, from before the marker, nothing but generated manifests). A folder
  of other files, `/`, the project root or one of its ancestors, a symbolic link, and a path
  that is a file are refused (exit 2) before anything is written.
- The files are first written into a fresh temporary directory (fsynced). A new DIR is that
  directory renamed into place, in one step. In an existing DIR each file replaces its old
  version with one rename (a symbolic link planted in DIR is replaced, never followed), and
  only then are the generated files the plan no longer produces removed; files someone else
  put there (a kustomization.yaml) are kept.
- A write error (full disk, permissions) leaves DIR as it was and exits 2; a process killed
  midway leaves every file whole, old or new, and the next run completes it.

The marker has no `.yaml`/`.json` extension, so `kubectl apply -f DIR` never reads it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from mlep.errors import UsageError
from mlep.stack.writing import open_regular, sync_directory

MARKER = ".mlep-output"
_MARKER_TEXT = (
    "Written by `mlep plan --out`. mlep replaces the files it generated here (and removes those "
    "it no longer generates); other files are kept.\n"
)
_TEMPORARY_PREFIX = ".mlep-tmp-"


def check_out_dir(directory: Path, project_dir: Path, generated: Callable[[str], bool]) -> Path:
    """The absolute path of ``directory`` if mlep may write there; UsageError otherwise.

    ``generated`` tells, from a file's first bytes, whether mlep wrote it (for folders from
    before the marker file).
    """
    target = Path(os.path.abspath(directory))  # the last component is not resolved: checked
    shown = f"--out {directory}"
    real, project = os.path.realpath(target), os.path.realpath(project_dir)
    if real in (os.path.sep, project) or project.startswith(real.rstrip(os.sep) + os.sep):
        raise UsageError(
            f"{shown} is the project root, `/` or a folder above the project, which mlep never "
            "writes into; fix: pass a directory of its own (e.g. --out manifests/<stack>)"
        )
    try:
        info = os.lstat(target)
    except FileNotFoundError:
        return target
    except OSError as error:
        raise UsageError(
            f"{shown}: cannot read it ({error.strerror}); fix: its permissions"
        ) from None
    if stat.S_ISLNK(info.st_mode):
        raise UsageError(
            f"{shown} is a symbolic link, which mlep does not write through; fix: pass the "
            "directory it points to"
        )
    if not stat.S_ISDIR(info.st_mode):
        raise UsageError(f"{shown} is a file, not a directory; fix: pass a directory path")
    try:
        names = [n for n in os.listdir(target) if not n.startswith(_TEMPORARY_PREFIX)]
    except OSError as error:
        raise UsageError(
            f"{shown}: cannot list it ({error.strerror}); fix: its permissions"
        ) from None
    if MARKER in names:
        if not stat.S_ISREG(os.lstat(target / MARKER).st_mode):
            raise UsageError(f"{shown}: {MARKER} is not a regular file; fix: remove it")
        return target
    foreign = sorted(n for n in names if not _was_generated(target / n, shown, generated))
    if foreign:
        listed = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
        raise UsageError(
            f"{shown} holds files mlep did not write ({listed}); mlep writes only into a new or "
            f"empty directory or one it wrote before (it holds {MARKER}). Fix: pass such a "
            "directory"
        )
    return target


def write_out(
    directory: Path,
    files: Mapping[str, str],
    project_dir: Path,
    generated: Callable[[str], bool],
) -> None:
    """Put ``files`` (name -> text) into ``directory`` as the module docstring says, and
    remove the generated files (by ``generated``) that ``files`` no longer holds."""
    target = check_out_dir(directory, project_dir, generated)
    shown = f"--out {directory}"
    try:
        if not target.is_dir():
            target.parent.mkdir(parents=True, exist_ok=True)
            _create(target, files)
            return
        with _locked(target):  # two plans writing one folder take turns
            _remove_leftovers(target)
            _update(target, files, shown, generated)
    except OSError as error:
        raise _unwritable(shown, error) from None


def _create(target: Path, files: Mapping[str, str]) -> None:
    """A new output folder: written aside, then renamed into place in one step."""
    staging = _staged(target.parent, files)
    try:
        os.rename(staging, target)  # refused if someone made the directory meanwhile
        sync_directory(target.parent)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _update(
    target: Path, files: Mapping[str, str], shown: str, generated: Callable[[str], bool]
) -> None:
    """An existing output folder: each file renamed over its old version, then the stale
    generated files removed."""
    staging = _staged(target, files)
    try:
        for name in [*sorted(files), MARKER]:
            os.replace(staging / name, target / name)
        for stale in _stale(target, set(files), shown, generated):
            os.unlink(stale)
        sync_directory(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _staged(parent: Path, files: Mapping[str, str]) -> Path:
    """A fresh directory in ``parent`` holding ``files`` and the marker, all fsynced."""
    staging = Path(tempfile.mkdtemp(prefix=_TEMPORARY_PREFIX, dir=parent))
    try:
        for name, text in {**files, MARKER: _MARKER_TEXT}.items():
            _write_synced(staging / name, text)
        sync_directory(staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return staging


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def _stale(
    target: Path, keep: set[str], shown: str, generated: Callable[[str], bool]
) -> list[Path]:
    """Generated files in ``target`` that this plan does not write."""
    return [
        path
        for path in sorted(target.iterdir())
        if path.name not in keep
        and path.name != MARKER
        and not path.name.startswith(_TEMPORARY_PREFIX)
        and _was_generated(path, shown, generated)
    ]


def _was_generated(path: Path, shown: str, generated: Callable[[str], bool]) -> bool:
    """Whether ``path`` is a regular file mlep generated (by its first bytes)."""
    info = os.lstat(path)
    if not stat.S_ISREG(info.st_mode) or not path.name.endswith((".yaml", ".json")):
        return False
    try:
        descriptor = open_regular(path)
    except (OSError, UsageError) as error:
        reason = error.strerror if isinstance(error, OSError) else str(error)
        raise UsageError(
            f"{shown}: cannot read {path.name} ({reason}) to tell whether mlep wrote it; "
            "fix: its permissions, or remove it"
        ) from None
    try:
        head = os.read(descriptor, 4096)
    finally:
        os.close(descriptor)
    return generated(head.decode("utf-8", errors="replace"))


def _write_synced(path: Path, text: str) -> None:
    with open(path, "x", encoding="utf-8", newline="") as file:
        file.write(text)
        file.flush()
        os.fsync(file.fileno())


def _remove_leftovers(directory: Path) -> None:
    """Staging directories of runs that were killed (the caller holds the folder's lock)."""
    for path in directory.glob(f"{_TEMPORARY_PREFIX}*"):
        with contextlib.suppress(OSError):
            if stat.S_ISDIR(os.lstat(path).st_mode):
                shutil.rmtree(path)


def _unwritable(shown: str, error: OSError) -> UsageError:
    return UsageError(
        f"{shown}: could not write the plan's files ({error.strerror or error}); the directory "
        "is as it was. Fix: free disk space or fix its permissions, then run the command again."
    )
