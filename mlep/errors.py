"""The errors every room of mlep raises for bad usage or an unreadable file (exit code 2) and
for a live source that cannot be reached (exit code 4).

They sit outside the rooms because all of them raise them and the command line turns them into
their exit codes with the message alone (no traceback).
"""

from __future__ import annotations


class UsageError(Exception):
    """Bad command-line usage or an unreadable file: exit code 2, message only."""


class SourceUnavailable(Exception):
    """A live source (metrics, a cloud API) could not be reached, authenticated or read: exit
    code 4, one paragraph with the fix. Not bad input and not a bug: the world outside."""
