"""The traffic before a change: what the step rules (TRF-06/07/08) compare a change with.

It comes from the stack file at a git revision (with each endpoint's stable deployment from
the history before it), from a plan document (`mlep plan --json`), from the stack output
(`pulumi stack output endpoints --json`) or, for `--apply`, from the live stack's outputs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlep.errors import UsageError
from mlep.stack.files import read_json
from mlep.stack.history import stable_deployments
from mlep.stack.ref import StackRef
from models.stack import StackConfig


@dataclass(frozen=True)
class EndpointTraffic:
    """One endpoint's traffic before the change.

    ``stable`` is the deployment that last carried all of its traffic (known only from git
    history): moving traffic back to it is a rollback, however large the step (TRF-08).
    """

    traffic: dict[str, Any]
    mirror_traffic: dict[str, Any] = field(default_factory=dict)
    stable: str | None = None

    def as_config(self) -> dict[str, Any]:
        """The entry of the pack's `previousTraffic` config (its documented shape)."""
        entry: dict[str, Any] = {"traffic": self.traffic, "mirror_traffic": self.mirror_traffic}
        if self.stable is not None:
            entry["stable"] = self.stable
        return entry


# endpoint name -> its traffic before the change
PreviousTraffic = dict[str, EndpointTraffic]


def as_config(previous: PreviousTraffic) -> dict[str, Any]:
    """The pack's `previousTraffic` config for ``previous``."""
    return {name: entry.as_config() for name, entry in previous.items()}


def previous_from_config(config: StackConfig) -> PreviousTraffic:
    """The traffic a stack file declares (a --base revision), per endpoint."""
    return {
        spec.name: EndpointTraffic(dict(spec.traffic), dict(spec.mirror_traffic))
        for spec in config.endpoints
    }


def is_file_base(base: str) -> bool:
    """Whether ``base`` names a file (a plan document or stack output), not a git revision."""
    path = Path(base)
    return path.suffix == ".json" or path.is_file()


def load_previous(stack: StackRef, base: str) -> PreviousTraffic:
    """The traffic at ``base``: a plan document or stack output file, else a git revision
    (with each endpoint's stable deployment from the history before it)."""
    if is_file_base(base):
        return read_previous(Path(base))
    declared = previous_from_config(stack.load(base)[1])
    stable = stable_deployments(stack, base)
    return {
        name: EndpointTraffic(entry.traffic, entry.mirror_traffic, stable.get(name))
        for name, entry in declared.items()
    }


def read_previous(path: Path) -> PreviousTraffic:
    """Previous traffic from a plan document (`mlep plan --json`) or from the stack output
    (`pulumi stack output endpoints --json`)."""
    loaded = read_json(
        path,
        "previous traffic",
        "pass a plan document (`mlep plan --json`) or `pulumi stack output endpoints --json`",
    )
    if isinstance(loaded, dict) and "outputs" in loaded:
        loaded = (loaded.get("outputs") or {}).get("endpoints")
    if not isinstance(loaded, dict) or not all(
        isinstance(entry, dict) and isinstance(entry.get("traffic"), dict)
        for entry in loaded.values()
    ):
        raise UsageError(
            f"{path}: no endpoint traffic in it (expected outputs.endpoints.<endpoint>.traffic "
            "of a plan document, or {<endpoint>: {traffic: ..., mirror_traffic: ...}}); fix: "
            "pass a file written by `mlep plan --json` or `pulumi stack output endpoints --json`"
        )
    return {
        name: EndpointTraffic(entry["traffic"], entry.get("mirror_traffic") or {})
        for name, entry in loaded.items()
    }


def live_traffic(outputs: Mapping[str, Any]) -> PreviousTraffic | None:
    """The traffic of a deployed stack, from its `endpoints` output (None before its first
    `pulumi up`: nothing is live yet)."""
    endpoints = outputs.get("endpoints")
    value = getattr(endpoints, "value", None)
    if not isinstance(value, dict):
        return None
    return {
        name: EndpointTraffic(entry.get("traffic") or {}, entry.get("mirror_traffic") or {})
        for name, entry in value.items()
        if isinstance(entry, dict)
    }
