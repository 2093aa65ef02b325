"""The policy pack's config for one stack, the same for `mlep plan` and `pulumi preview`.

Three layers, later ones winning per key:
1. what the stack's own config implies: each endpoint's rollout schedule (TRF-06/07), the key
   readers (ID-03) and, when known, the traffic before this change (`previousTraffic`);
2. the environment's file, `policies/config/prod.json` or `non-prod.json` (levels, waivers);
3. a file the user passes (`--policy-config`), the same shape `pulumi preview
   --policy-pack-config` takes, `all` included.

`mlep policy-config` prints the result, so CI can hand `pulumi preview` exactly what
`mlep plan` checked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from mlep.errors import UsageError
from mlep.stack.files import read_json
from mlep.stack.previous import PreviousTraffic, as_config
from models.stack import AzureStackConfig, StackConfig

STEPS_POLICY = "trf-06-08-traffic-steps"
ROLES_POLICY = "id-03-separated-roles"


def stack_policy_config(
    pack_dir: Path,
    config: StackConfig,
    previous: PreviousTraffic | None = None,
    extra: Path | None = None,
    *,
    judged_by: BaseRulesLike | None = None,
) -> dict[str, Any]:
    """The merged policy config for a stack (see the module docstring).

    With ``judged_by`` (the rules at a base revision: mlep/engine/base_rules.py), the step
    limits of every endpoint the base had and the environment's file are the base's.
    """
    limits = {spec.name: spec.rollout for spec in config.endpoints}
    if judged_by is not None:
        limits |= {
            spec.name: spec.rollout for spec in judged_by.config.endpoints if spec.name in limits
        }
    derived: dict[str, Any] = {
        STEPS_POLICY: {
            "endpoints": {
                name: {"maxStepPercent": rollout.max_step_percent, "steps": list(rollout.steps)}
                for name, rollout in limits.items()
            }
        }
    }
    if previous is not None:
        derived[STEPS_POLICY]["previousTraffic"] = as_config(previous)
    if isinstance(config, AzureStackConfig) and config.azure.roles.key_readers:
        derived[ROLES_POLICY] = {"keyReaders": [p.id for p in config.azure.roles.key_readers]}
    at_base = judged_by.environment_config if judged_by is not None else None
    environment = (
        at_base if at_base is not None else _read(environment_file(pack_dir, config.environment))
    )
    merged = _merge(derived, environment)
    return _merge(merged, _read(extra)) if extra is not None else merged


class BaseRulesLike(Protocol):
    """What the policy config takes of the rules at a base revision."""

    @property
    def config(self) -> StackConfig: ...

    @property
    def environment_config(self) -> dict[str, Any] | None: ...


def environment_file(pack_dir: Path, environment: str) -> Path:
    """policies/config/prod.json for prod, non-prod.json for every other environment."""
    return pack_dir / "config" / ("prod.json" if environment == "prod" else "non-prod.json")


def environment_config(pack_dir: Path, environment: str) -> dict[str, Any]:
    """The environment's policy config file, read."""
    return _read(environment_file(pack_dir, environment))


def _read(path: Path) -> dict[str, Any]:
    loaded = read_json(
        path,
        "the policy config",
        'a JSON object of {"policy-name": "advisory" | {"enforcementLevel": ..., ...}}',
    )
    if not isinstance(loaded, dict):
        raise UsageError(f"{path}: the policy config must be a JSON object, got {loaded!r}")
    return loaded


def _merge(base: dict[str, Any], layer: dict[str, Any]) -> dict[str, Any]:
    """Per policy: a bare level becomes {"enforcementLevel": level}; keys of ``layer`` win."""
    out = dict(base)
    for name, entry in layer.items():
        if name == "all":
            out[name] = entry
            continue
        before, after = _entry(out.get(name, {})), _entry(entry)
        # A malformed entry is kept as given: resolve_config rejects it with the policy's name.
        out[name] = {**before, **after} if isinstance(after, dict) else entry
    return out


def _entry(value: Any) -> Any:
    return {"enforcementLevel": value} if isinstance(value, str) else value
