"""Writing a file mlep edits: all of it or none of it, and never over someone else's edit.

A stack file is what the next `pulumi up` deploys from: a file cut short by a killed process
or a full disk still parses, minus the endpoints it lost, and Pulumi deletes them. So every
edit is written the way a database writes a page:

1. the new bytes go to a temporary file in the same directory (same file system), are
   flushed and fsynced, and get the original's permission bits;
2. under an exclusive lock on the file (`fcntl.flock`, taken on the inode the path names
   now, re-taken if the file was replaced while waiting), its bytes are compared with what
   the command read before it worked out its change (a guardrail query in between can take
   minutes; another command may have edited the file meanwhile): a changed file is refused,
   never overwritten;
3. one `rename` replaces the file, and the directory is fsynced so the rename itself
   survives a crash.

A process killed at any point leaves the old bytes or the new ones (and at worst a stray
`.Pulumi.<stack>.yaml.*.tmp` beside them); a write error leaves the original untouched and
says why (exit 2). Line endings, the final newline and every other byte are the edit's
business: this module writes exactly the bytes it is given.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from mlep.errors import UsageError

# How long to wait for another mlep command's write to finish (its locked section is a
# compare, a rename and two fsyncs).
LOCK_WAIT_S = 30.0
_POLL_S = 0.05


def replace_file(path: Path, data: bytes, *, expected: bytes) -> None:
    """Replace the content of ``path`` with ``data`` if it still holds ``expected``.

    Raises UsageError (exit 2) when the file changed since it was read, when it cannot be
    written (the original is then byte-identical), or when another command holds it too long.
    """
    temporary = _write_temporary(path, data)
    try:
        with _locked(path) as (current, mode):
            if current != expected:
                raise UsageError(
                    f"{path.name} changed while mlep was working on it (another command or an "
                    "editor wrote it); nothing was written. Fix: look at the file and run the "
                    "command again."
                )
            os.chmod(temporary, stat.S_IMODE(mode))
            os.replace(temporary, path)
            sync_directory(path.parent)
    except OSError as error:
        raise _unwritable(path, error) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


def _write_temporary(path: Path, data: bytes) -> Path:
    """``data`` in a new, fsynced file beside ``path``."""
    try:
        descriptor, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as error:
        raise _unwritable(path, error) from None
    temporary = Path(name)
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
    except OSError as error:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise _unwritable(path, error) from None
    return temporary


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[tuple[bytes, int]]:
    """Hold an exclusive lock on the file ``path`` names; yields its bytes and mode.

    A writer replaces the file (a new inode), so a lock taken on the old inode after waiting
    guards nothing: when the path names another inode by then, lock that one instead.
    """
    deadline = time.monotonic() + LOCK_WAIT_S
    while True:
        descriptor = open_regular(path)
        try:
            _lock(descriptor, path, deadline)
            held = os.fstat(descriptor)
            now = os.stat(path, follow_symlinks=False)
            if (held.st_dev, held.st_ino) == (now.st_dev, now.st_ino):
                yield _read_all(descriptor), held.st_mode
                return
        finally:
            os.close(descriptor)  # releases the lock


def open_regular(path: Path, name: str | None = None) -> int:
    """A read-only descriptor of ``path`` if it is a regular file. A symbolic link fails to
    open instead of being followed (O_NOFOLLOW), a FIFO does not wait for a writer
    (O_NONBLOCK), and anything but a regular file is refused: UsageError. Other failures
    raise OSError."""
    name = name or path.name
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise UsageError(
                f"{name} is a symbolic link; fix: replace it with the file itself "
                "(mlep reads and writes only regular files in the project)"
            ) from None
        raise
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):
        os.close(descriptor)
        raise UsageError(
            f"{name} is not a regular file; fix: make it the file itself (a YAML file), not a "
            "directory, FIFO or device"
        )
    return descriptor


def _lock(descriptor: int, path: Path, deadline: float) -> None:
    while True:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise UsageError(
                    f"{path.name} is locked by another command that is writing it (waited "
                    f"{LOCK_WAIT_S:.0f} s); nothing was written. Fix: let it finish, then run "
                    "the command again."
                ) from None
            time.sleep(_POLL_S)


def _read_all(descriptor: int) -> bytes:
    chunks = []
    offset = 0
    while chunk := os.pread(descriptor, 1 << 20, offset):
        chunks.append(chunk)
        offset += len(chunk)
    return b"".join(chunks)


def sync_directory(directory: Path) -> None:
    """fsync a directory, so that a rename in it survives a crash."""
    descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _unwritable(path: Path, error: OSError) -> UsageError:
    return UsageError(
        f"{path.name}: could not write the change ({error.strerror or error}); the file is "
        "unchanged. Fix: free disk space or fix the directory's permissions, then run the "
        "command again."
    )
