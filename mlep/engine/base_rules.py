"""The rules that judge a change come from its base, not from the change.

A pull request could otherwise relax the very limits its review applies: move traffic
25% -> 100% and, in the same commit, set `rollout: {steps: [25, 100], max_step_percent: 100}`.
So when a change is judged against a git revision (`mlep plan --base REV`, `mlep review`):

- the step limits (`rollout.steps`, `rollout.max_step_percent`; the stable deployment is
  already the base's, from its history), the environment's policy config
  (`policies/config/<env>.json`, waivers included) and the policy pack itself are the base's;
- the change is judged by the base's pack and config, and by its own: a finding under either
  counts, so rules the change tightens apply at once and rules it loosens do not;
- every loosening is its own finding (RULES_RELAXED): mandatory when the change also moves
  traffic, so a relaxation must merge on its own, reviewed as such, before the traffic
  change it would allow; advisory when it is all the change does.

A first deploy (no base revision, or a base without the stack file) is judged as before.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlep.engine.policy import Violation
from mlep.engine.policy_config import environment_file
from mlep.errors import UsageError
from mlep.stack.previous import is_file_base
from mlep.stack.ref import StackRef
from models.stack import StackConfig

RULES_RELAXED = "mlep-rules-relaxed"
PACK = "policies"
_PACK_SOURCES = ("__main__.py", "mlep_policies")
_LEVELS = {"disabled": 0, "advisory": 1, "mandatory": 2, "remediate": 2}


@dataclass(frozen=True)
class BaseRules:
    """What judges a change: the stack and the policy config files as they were at ``base``.

    ``configs`` holds each environment's policy config file at the base (by environment:
    `prod`, and `dev` for every other one), None where the base had none (then nothing judged
    with it, and the change's own file does).
    """

    base: str
    config: StackConfig
    configs: dict[str, dict[str, Any] | None]

    @property
    def environment_config(self) -> dict[str, Any] | None:
        """The policy config of the base's environment, as the base had it."""
        return self.configs[_file_key(self.config.environment)]


def rules_at(stack: StackRef, base: str) -> BaseRules | None:
    """The rules at git revision ``base``; None when ``base`` is a file (a plan document or a
    stack output) or the stack file did not exist there (a first deploy)."""
    if is_file_base(base) or not stack.exists_at(base):
        return None
    config = stack.load(base)[1]
    configs: dict[str, dict[str, Any] | None] = {}
    for environment in ("prod", "dev"):
        relative = environment_file(Path(PACK), environment).as_posix()
        shown = stack.project_file_at(base, relative)
        configs[environment] = _json(shown, f"{relative} at {base}") if shown else None
    return BaseRules(base, config, configs)


def _file_key(environment: str) -> str:
    """Which environment file judges ``environment``: prod's own, or the non-prod one."""
    return "prod" if environment == "prod" else "dev"


@contextmanager
def base_pack(stack: StackRef, base: str) -> Iterator[Path | None]:
    """The policy pack as it was at ``base``, checked out into a temporary directory (None
    when the base had no pack)."""
    with tempfile.TemporaryDirectory(prefix="mlep-base-pack-") as scratch:
        into = Path(scratch)
        if not stack.project_tree_at(base, PACK, into):
            yield None
        else:
            yield into / PACK


def pack_differs(pack: Path, base_pack_dir: Path | None) -> bool:
    """Whether the pack's code (not its config) differs from the base's."""
    if base_pack_dir is None:
        return False
    return _pack_files(pack) != _pack_files(base_pack_dir)


def _pack_files(pack: Path) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for source in _PACK_SOURCES:
        root = pack / source
        paths = [root] if root.is_file() else sorted(root.rglob("*.py"))
        for path in paths:
            files[path.relative_to(pack).as_posix()] = path.read_bytes()
    return files


def relaxations(
    rules: BaseRules, config: StackConfig, environment_config: dict[str, Any], pack_edited: bool
) -> list[str]:
    """Each way the change loosens the rules that judge it, in words."""
    found = []
    if rules.config.environment == "prod" and config.environment != "prod":
        found.append(
            f"environment prod -> {config.environment} (the non-prod policy config would judge it)"
        )
    before = {spec.name: spec.rollout for spec in rules.config.endpoints}
    for spec in config.endpoints:
        was = before.get(spec.name)
        if was is None:
            continue
        if spec.rollout.max_step_percent > was.max_step_percent:
            found.append(
                f"endpoint {spec.name!r}: rollout.max_step_percent {was.max_step_percent} -> "
                f"{spec.rollout.max_step_percent}"
            )
        dropped = sorted(set(was.steps) - set(spec.rollout.steps))
        if dropped:
            found.append(
                f"endpoint {spec.name!r}: rollout.steps {list(was.steps)} -> "
                f"{list(spec.rollout.steps)} (drops {', '.join(map(str, dropped))}, so a "
                "scheduled step may be larger)"
            )
    at_base = rules.configs[_file_key(config.environment)]
    if at_base is not None:  # a base without the file judged nothing with it
        found += _config_relaxations(at_base, environment_config)
    if pack_edited:
        found.append("the policy pack's code (policies/mlep_policies, policies/__main__.py)")
    return found


def _config_relaxations(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    found = []
    for name in sorted(set(before) | set(after)):
        was, now = _entry(before.get(name)), _entry(after.get(name))
        level_was, level_now = was.get("enforcementLevel"), now.get("enforcementLevel")
        # No level given is the policy's own default: count it as the strictest.
        if _LEVELS.get(str(level_now), 2) < _LEVELS.get(str(level_was), 2):
            found.append(f"policy {name}: {level_was or 'default level'} -> {level_now}")
        settings_was = {k: v for k, v in was.items() if k != "enforcementLevel"}
        settings_now = {k: v for k, v in now.items() if k != "enforcementLevel"}
        for key in sorted(set(settings_was) | set(settings_now)):
            old, new = settings_was.get(key), settings_now.get(key)
            if old == new:
                continue
            if isinstance(old, list | type(None)) and isinstance(new, list):
                added = [item for item in new if item not in (old or [])]
                if not added:
                    continue  # a list that only lost entries (a waiver removed) is stricter
                found.append(f"policy {name}: {key} gains {', '.join(map(str, added))}")
            else:
                found.append(f"policy {name}: {key} {old!r} -> {new!r}")
    return found


def _entry(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        return {"enforcementLevel": value}
    return dict(value) if isinstance(value, dict) else {}


def relaxed_finding(found: list[str], moves_traffic: bool) -> Violation:
    """The finding of its own kind for a change that loosens the rules that judge it."""
    if moves_traffic:
        message = (
            "this change relaxes the rules that judge it ("
            + "; ".join(found)
            + "); it must merge on its own, before the traffic change, so the relaxation gets "
            "its own review. Fix: split it into two pull requests, the relaxation first."
        )
    else:
        message = (
            "this change relaxes the rules that judge later changes ("
            + "; ".join(found)
            + "): review it as such. Traffic changes are judged by these rules once it merges."
        )
    return Violation(RULES_RELAXED, "mandatory" if moves_traffic else "advisory", "", message)


def moves_traffic(rules: BaseRules, config: StackConfig) -> bool:
    """Whether the change moves live or mirrored traffic of any endpoint the base had."""
    before = {spec.name: spec for spec in rules.config.endpoints}
    return any(
        spec.name in before
        and (
            dict(spec.traffic) != dict(before[spec.name].traffic)
            or dict(spec.mirror_traffic) != dict(before[spec.name].mirror_traffic)
        )
        for spec in config.endpoints
    )


def strictest(*results: list[Violation]) -> list[Violation]:
    """Every finding of any of ``results``, each once, at its most severe level."""
    best: dict[tuple[str, str, str], Violation] = {}
    for violation in (v for result in results for v in result):
        key = (violation.policy, violation.urn, violation.message)
        held = best.get(key)
        if held is None or _LEVELS[violation.enforcement] > _LEVELS[held.enforcement]:
            best[key] = violation
    return sorted(
        best.values(), key=lambda v: (v.enforcement != "mandatory", v.policy, v.urn, v.message)
    )


def _json(data: bytes, name: str) -> dict[str, Any]:
    try:
        loaded = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UsageError(f"{name}: cannot read the policy config ({error})") from None
    if not isinstance(loaded, dict):
        raise UsageError(f"{name}: the policy config must be a JSON object")
    return loaded
