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
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from mlep.policy_config import PreviousTraffic, stack_policy_config
from mlep.stackfile import UsageError
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


def pulumi_up(
    project_dir: Path, stack: str, config: StackConfig, on_output: Callable[[str], Any]
) -> None:
    """`pulumi up --yes` on ``stack`` with the policy pack. Raises UsageError on failure."""
    from pulumi import automation as auto  # noqa: PLC0415 - only --apply needs it

    require_cli()
    try:
        workspace_stack = auto.select_stack(stack_name=stack, work_dir=str(project_dir))
        previous = _live_traffic(workspace_stack.outputs())
        pack = project_dir / "policies"
        with tempfile.TemporaryDirectory(prefix="mlep-apply-") as scratch:
            config_file = Path(scratch) / "policy-config.json"
            config_file.write_text(json.dumps(stack_policy_config(pack, config, previous)))
            workspace_stack.up(
                on_output=on_output,
                policy_packs=[str(pack)],
                policy_pack_configs=[str(config_file)],
            )
    except auto.errors.CommandError as error:
        raise UsageError(f"pulumi up on stack {stack!r} failed:\n{error}") from None


def _live_traffic(outputs: Mapping[str, Any]) -> PreviousTraffic | None:
    endpoints = outputs.get("endpoints")
    value = getattr(endpoints, "value", None)
    if not isinstance(value, dict):
        return None  # a first `pulumi up`: nothing is live yet
    return {
        name: {
            "traffic": entry.get("traffic") or {},
            "mirror_traffic": entry.get("mirror_traffic") or {},
        }
        for name, entry in value.items()
        if isinstance(entry, dict)
    }
