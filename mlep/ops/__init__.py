"""Operating a fleet of endpoints: one command per runbook task of the seeds (status, invoke,
logs, inventory, idle review, key rotation), on both targets and on a whole stack.

Each command is a module of this room with ``NAME``, ``add_parser(commands)`` and
``run(args, out, err) -> int``; `mlep.cli` registers every module of ``MODULES``. The commands
read stack files and live sources; none edits a stack file.
"""

from __future__ import annotations

from types import ModuleType

MODULES: list[ModuleType] = []

from mlep.ops import idle, inventory  # noqa: E402 (they import this package's arm)

MODULES += [inventory, idle]

from mlep.ops import keys, logs  # noqa: E402

MODULES += [logs, keys]

from mlep.ops import invoke, status  # noqa: E402

MODULES += [status, invoke]
