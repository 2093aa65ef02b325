"""`--apply`: run `pulumi up` for a stack through the Pulumi Automation API, with the pack.

The Automation API drives the Pulumi CLI, so the CLI must be installed and logged in (and
the cloud credentials present); without it mlep says so before changing anything.
The policy config is the one `mlep plan` uses, with the stack's live traffic (its
`endpoints` output, read before the update) as previous state for the step rules.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mlep.engine.policy_config import stack_policy_config
from mlep.errors import UsageError
from mlep.stack.previous import live_traffic
from mlep.stack.ref import StackRef
from models.stack import StackConfig

INSTALL_URL = "https://www.pulumi.com/docs/iac/download-install/"


def require_cli() -> Path:
    """The Pulumi CLI on PATH, or a UsageError saying how to get it."""
    found = shutil.which("pulumi")
    if found is None:
        raise UsageError(
            "--apply runs `pulumi up` through the Pulumi Automation API, which needs the Pulumi "
            f"CLI, and `pulumi` is not on PATH; fix: install it ({INSTALL_URL}), log in "
            "(`pulumi login`) and retry, or drop --apply: commit the change and let CI run "
            "`pulumi up`"
        )
    return Path(found)


def pulumi_up(stack: StackRef, config: StackConfig, on_output: Callable[[str], Any]) -> None:
    """`pulumi up --yes` on ``stack`` with the policy pack. Raises UsageError on failure."""
    from pulumi import automation as auto  # noqa: PLC0415 - only --apply needs it

    require_cli()
    try:
        workspace_stack = auto.select_stack(stack_name=stack.name, work_dir=str(stack.project_dir))
        previous = live_traffic(workspace_stack.outputs())
        pack = stack.project_dir / "policies"
        with tempfile.TemporaryDirectory(prefix="mlep-apply-") as scratch:
            config_file = Path(scratch) / "policy-config.json"
            config_file.write_text(json.dumps(stack_policy_config(pack, config, previous)))
            workspace_stack.up(
                on_output=on_output,
                policy_packs=[str(pack)],
                policy_pack_configs=[str(config_file)],
            )
    except auto.errors.CommandError as error:
        raise UsageError(f"pulumi up on stack {stack.name!r} failed:\n{error}") from None
