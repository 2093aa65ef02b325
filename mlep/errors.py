"""The one error every room of mlep raises for bad usage or an unreadable file.

It sits outside the rooms because all of them raise it and the command line turns it into
exit code 2 with the message alone (no traceback).
"""

from __future__ import annotations


class UsageError(Exception):
    """Bad command-line usage or an unreadable file: exit code 2, message only."""
