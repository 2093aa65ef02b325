"""Evaluate the policy pack over what the program declared.

`pulumi preview --policy-pack policies` runs the pack as its own process and sends it every
resource over gRPC (Analyze, then AnalyzeStack), where the SDK's analyzer server turns the
resource's properties back into Python once for every policy: 32 times per resource. mlep runs
the very same Policy objects (`policies/mlep_policies/pack.py`, `POLICIES`) in its own process,
with the SDK's argument types and the server's dispatch rules (levels, config, remediation-only
policies, not-applicable reasons), reading each resource once. At 500 endpoints that is seconds
instead of a minute. tests/test_policy_pack_process.py runs the pack process too and proves
both give the same findings.
"""

from __future__ import annotations

import asyncio
import difflib
import importlib
import sys
from dataclasses import dataclass
from inspect import isawaitable
from pathlib import Path
from typing import Any

import jsonschema
import orjson
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from mlep.engine import sdk
from mlep.engine.runtime import Registration
from mlep.errors import UsageError

LEVELS = {
    level.value: level
    for level in (
        EnforcementLevel.ADVISORY,
        EnforcementLevel.MANDATORY,
        EnforcementLevel.DISABLED,
        EnforcementLevel.REMEDIATE,
    )
}
# The module of a pack that lists its policies (policies/__main__.py serves exactly these).
POLICIES_MODULE = "mlep_policies.pack"


@dataclass(frozen=True)
class Violation:
    policy: str
    enforcement: str
    urn: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {
            "policy": self.policy,
            "enforcement": self.enforcement,
            "urn": self.urn,
            "message": self.message,
        }


@dataclass(frozen=True)
class PackResult:
    """What the pack found: violations, and the policies that did not apply (with why)."""

    violations: list[Violation]
    not_applicable: list[tuple[str, str]]


@dataclass(frozen=True)
class PolicySettings:
    """One policy's enforcement level and config, as the engine resolves them before Configure."""

    level: EnforcementLevel
    properties: dict[str, Any]


def load_policies(pack_dir: Path) -> list[Policy]:
    """The pack's policies, imported from ``pack_dir`` (the pack's own modules, not a copy)."""
    pack_dir = pack_dir.resolve()
    if not (pack_dir / "__main__.py").exists():
        raise UsageError(f"no policy pack at {pack_dir} (expected __main__.py)")
    package = POLICIES_MODULE.split(".", maxsplit=1)[0]
    loaded = sys.modules.get(package)
    if loaded is not None and not Path(str(loaded.__file__)).is_relative_to(pack_dir):
        # Another project's pack was evaluated in this process before; forget it.
        for name in [m for m in sys.modules if m == package or m.startswith(f"{package}.")]:
            del sys.modules[name]
    sys.path.insert(0, str(pack_dir))
    try:
        module = importlib.import_module(POLICIES_MODULE)
    except ImportError as error:
        raise UsageError(
            f"the policy pack at {pack_dir} has no {POLICIES_MODULE} listing POLICIES: {error}"
        ) from None
    finally:
        sys.path.remove(str(pack_dir))
    return list(module.POLICIES)


def evaluate(pack_dir: Path, resources: list[Registration], config: dict[str, Any]) -> PackResult:
    """Each enabled policy in the pack's order: a resource policy over every custom resource,
    a stack policy over all of them at once. Violations sorted for stable output."""
    policies = load_policies(pack_dir)
    settings = resolve_config(policies, config)
    enabled = [p for p in policies if settings[p.name].level != EnforcementLevel.DISABLED]
    custom = [r for r in resources if r.custom]
    # The SDK's server wraps every resource's inputs in a proxy that raises UnknownValueError
    # on a value unknown during preview. Without any unknown value (always so under mlep's
    # mocks) the plain inputs read the same and cost nothing to build; one look over all of
    # them (encoded by orjson, then a substring search) settles it.
    proxied = _mentions_unknown([r.inputs for r in custom])
    views = [
        (r, sdk.unknown_checking_proxy(r.inputs) if proxied else r.inputs, _options(r))
        for r in custom
    ]
    run = _Run()
    # Built once and shared: stack policies only read them (the SDK server builds a copy each).
    stack_resources: list[Any] | None = None
    for policy in enabled:
        setting = settings[policy.name]
        config_of = setting.properties or None
        if isinstance(policy, ResourceValidationPolicy):
            if not policy.has_validation():
                run.skipped.add((policy.name, "Policy does not implement validate"))
                continue
            for resource, props, opts in views:
                resource_args = ResourceValidationArgs(
                    resource.type, props, resource.urn, resource.name, opts, None, config_of, {}
                )
                run.validate(policy, setting.level, resource_args, resource.urn)
        elif isinstance(policy, StackValidationPolicy):
            if stack_resources is None:
                stack_resources = _stack_resources(views)
            stack_args = StackValidationArgs(stack_resources, config_of, {})
            run.validate(policy, setting.level, stack_args, "")
    violations = sorted(
        set(run.found), key=lambda v: (v.enforcement != "mandatory", v.policy, v.urn, v.message)
    )
    return PackResult(violations, sorted(run.skipped))


class _Run:
    """Findings of one evaluation, collected the way the SDK's analyzer server reports them."""

    def __init__(self) -> None:
        self.found: list[Violation] = []
        self.skipped: set[tuple[str, str]] = set()

    def validate(
        self,
        policy: ResourceValidationPolicy | StackValidationPolicy,
        level: EnforcementLevel,
        args: Any,
        default_urn: str,
    ) -> None:
        if level == EnforcementLevel.REMEDIATE:
            # A remediation that still violates is reported as mandatory.
            level = EnforcementLevel.MANDATORY

        def report(message: str, urn: str | None = None) -> None:
            self.found.append(Violation(policy.name, level.value, urn or default_urn, message))

        try:
            result = policy.validate(args, report)
            if result is not None and isawaitable(result):
                asyncio.run(_awaited(result))
        except sdk.UnknownValueError as error:
            # Only in a preview with unknown values; never under mlep's mocks.
            message = f"can't run policy '{policy.name}' during preview: {error.message}"
            self.found.append(Violation(policy.name, "advisory", "", message))
        except Exception as error:  # the SDK's not-applicable signal is a private class
            if not sdk.is_not_applicable(error):
                raise
            self.skipped.add((policy.name, getattr(error, "reason", None) or ""))


async def _awaited(result: Any) -> None:
    await result


_UNKNOWN_VALUES = sdk.unknown_markers()


def _mentions_unknown(values: Any) -> bool:
    """Whether any unknown value may be in ``values`` (JSON): false means none is."""
    encoded = orjson.dumps(values)
    return any(unknown in encoded for unknown in _UNKNOWN_VALUES)


def _options(resource: Registration) -> PolicyResourceOptions:
    return PolicyResourceOptions(
        resource.protect,
        list(resource.ignore_changes),
        None,
        [],
        PolicyCustomTimeouts(0, 0, 0),
        [],
        resource.parent,
    )


def _stack_resources(views: list[tuple[Registration, Any, PolicyResourceOptions]]) -> list[Any]:
    """The resources of AnalyzeStack, with parent and dependencies linked as the SDK links them."""
    by_urn: dict[str, PolicyResource] = {}
    for resource, props, opts in views:
        by_urn[resource.urn] = PolicyResource(
            resource.type, props, resource.urn, resource.name, opts, None, None, [], {}
        )
    for resource, _, _ in views:
        linked = by_urn[resource.urn]
        if resource.parent in by_urn:
            linked.parent = by_urn[resource.parent]
        linked.dependencies.extend(by_urn[d] for d in resource.dependencies if d in by_urn)
    return list(by_urn.values())


def resolve_config(policies: list[Policy], config: dict[str, Any]) -> dict[str, PolicySettings]:
    """Check the config and resolve `all` and per-policy entries the way the Pulumi CLI does
    before Configure: every policy gets a level (its own, else the pack's default: advisory),
    and its properties must match the policy's config schema.
    """
    names = [p.name for p in policies]
    for name in config:
        if name != "all" and name not in names:
            close = difflib.get_close_matches(name, names, n=1)
            hint = f"did you mean {close[0]!r}?" if close else "see policies/README or docs"
            raise UsageError(f"policy config names an unknown policy {name!r}; fix: {hint}")
    base = config.get("all")
    if base is not None and base not in LEVELS:
        raise UsageError(
            f"policy config `all`: unknown enforcement level {base!r}; fix: one "
            f"of {', '.join(LEVELS)}"
        )
    out: dict[str, PolicySettings] = {}
    for policy in policies:
        entry = config.get(policy.name, {})
        if isinstance(entry, str):
            entry = {"enforcementLevel": entry}
        if not isinstance(entry, dict):
            raise UsageError(
                f"policy config for {policy.name}: expected a level or an object, got {entry!r}"
            )
        level = entry.get("enforcementLevel", base)
        if level is not None and level not in LEVELS:
            raise UsageError(
                f"policy config for {policy.name}: unknown enforcement level {level!r}; fix: "
                f"one of {', '.join(LEVELS)}"
            )
        properties = {k: v for k, v in entry.items() if k != "enforcementLevel"}
        _check_schema(policy, properties)
        default = policy.enforcement_level or EnforcementLevel.ADVISORY
        out[policy.name] = PolicySettings(LEVELS[level] if level else default, properties)
    return out


def _check_schema(policy: Policy, properties: dict[str, Any]) -> None:
    schema = policy.config_schema
    declared = dict(schema.properties) if schema else {}
    errors = sorted(
        jsonschema.Draft7Validator(
            {
                "type": "object",
                "properties": declared,
                "required": list(schema.required or []) if schema else [],
                "additionalProperties": False,
            }
        ).iter_errors(properties),
        key=lambda e: list(e.path),
    )
    if errors:
        error = errors[0]
        where = ".".join(str(p) for p in error.path) or "(top level)"
        fix = f"this policy takes {', '.join(sorted(declared)) or 'no settings'}"
        unexpected = sorted(set(properties) - set(declared))
        if error.validator == "additionalProperties" and unexpected:
            close = difflib.get_close_matches(unexpected[0], list(declared), n=1)
            fix = f"did you mean {close[0]!r}? " + fix if close else fix
        raise UsageError(f"policy config for {policy.name}: {where}: {error.message}; fix: {fix}")
