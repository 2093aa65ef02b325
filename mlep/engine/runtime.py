"""Run the Pulumi program offline under the SDK's mock runtime and record what the engine would see.

No cloud, no credentials, no Pulumi CLI: `pulumi.runtime.set_mocks` stands in for the engine,
a recording monitor captures every RegisterResource request (type, name, parent, dependencies,
protect, inputs in engine wire form with secrets still marked), and the mocks (`mocks.py`)
answer with plausible ids and computed outputs (scoring URIs, workspace location) so the
program runs. How the monitor answers, and how fast, is the SDK seam's business (`sdk.py`).
"""

from __future__ import annotations

import asyncio
import runpy
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from google.protobuf import json_format

from mlep.engine import sdk
from mlep.engine.mocks import MOCK_LOCATION, MOCK_SUBSCRIPTION, PlanMocks

SECRET = "[secret]"
STACK_TYPE = "pulumi:pulumi:Stack"

__all__ = [
    "MOCK_LOCATION",
    "MOCK_SUBSCRIPTION",
    "SECRET",
    "STACK_TYPE",
    "ProgramError",
    "ProgramRun",
    "Registration",
    "one_shot_process",
    "run_program",
    "wire_to_plain",
]

one_shot_process = sdk.one_shot_process


@dataclass
class Registration:
    """One RegisterResource request, as the engine would have received it."""

    urn: str
    type: str
    name: str
    custom: bool
    parent: str | None
    dependencies: list[str]
    protect: bool
    inputs: dict[str, Any]
    # Recorded for tests; not part of the plan document (the contract fixes its keys).
    ignore_changes: list[str] = field(default_factory=list)
    deleted_with: str | None = None
    retain_on_delete: bool = False
    # The alias types (or URNs) the engine would match state against.
    aliases: list[str] = field(default_factory=list)


@dataclass
class ProgramRun:
    """Everything one run of the program declared."""

    resources: list[Registration] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)


class ProgramError(Exception):
    """The program failed for a reason that is not bad config (a bug, or a RunError)."""


class _Recorder:
    """Turns each RegisterResource request into a Registration, from any thread."""

    def __init__(self) -> None:
        self.registrations: list[Registration] = []
        self._lock = threading.Lock()

    def __call__(self, request: Any, urn: str) -> None:
        inputs = json_format.MessageToDict(request.object) if request.HasField("object") else {}
        dependencies = set(request.dependencies)
        for deps in request.propertyDependencies.values():
            dependencies.update(deps.urns)
        dependencies.discard(request.parent)
        registration = Registration(
            urn=urn,
            type=request.type,
            name=request.name,
            custom=bool(request.custom),
            parent=request.parent or None,
            dependencies=sorted(dependencies),
            protect=bool(request.protect),
            inputs=wire_to_plain(inputs),
            ignore_changes=list(request.ignoreChanges),
            deleted_with=request.deletedWith or None,
            retain_on_delete=bool(request.retainOnDelete),
            aliases=[alias.spec.type or alias.urn for alias in request.aliases],
        )
        with self._lock:
            self.registrations.append(registration)


def wire_to_plain(value: Any) -> Any:
    """Engine wire form -> plain JSON: secrets become "[secret]", integral floats become ints."""
    if isinstance(value, dict):
        signature = value.get(sdk.SIG_KEY)
        if signature == sdk.SECRET_SIG:
            return SECRET
        if signature == sdk.RESOURCE_SIG:
            return value.get("urn")
        return {key: wire_to_plain(item) for key, item in sorted(value.items())}
    if isinstance(value, list):
        return [wire_to_plain(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def run_program(
    program: Path,
    project: str,
    stack: str,
    config: dict[str, str],
    secret_keys: list[str],
) -> ProgramRun:
    """Run ``program`` (a Pulumi __main__.py) under mocks with the given engine config."""
    mocks = PlanMocks()
    recorder = _Recorder()
    # set_mocks keeps an existing root Stack; a second run in one process (tests, a review of
    # two revisions) would otherwise parent everything to the first run's stack.
    pulumi.runtime.reset_options(project=project, stack=stack)
    pulumi.runtime.set_mocks(
        mocks, project=project, stack=stack, preview=False, monitor=sdk.monitor(mocks, recorder)
    )
    pulumi.runtime.set_all_config(dict(config), list(secret_keys))
    run = ProgramRun()
    program_dir = str(program.parent)

    @pulumi.runtime.test  # type: ignore[untyped-decorator]
    def _execute() -> asyncio.Future[None]:
        if program_dir not in sys.path:
            sys.path.insert(0, program_dir)
        sdk.before_program()
        runpy.run_path(str(program), run_name="__main__")
        root = pulumi.runtime.get_root_resource()
        exported: dict[str, Any] = dict(getattr(root, "outputs", {}) or {})
        return asyncio.ensure_future(_record_outputs(exported, run.outputs))

    try:
        with sdk.tuned_run():
            _execute()
    except pulumi.RunError as error:
        raise ProgramError(str(error)) from None
    run.resources = sorted(recorder.registrations, key=lambda r: r.urn)
    return run


async def _record_outputs(exported: dict[str, Any], outputs: dict[str, Any]) -> None:
    for name in sorted(exported):
        outputs[name] = await _resolved(exported[name])


async def _resolved(value: Any) -> Any:
    """An exported value, fully resolved, with every secret replaced by the placeholder.

    It awaits each Output where it lies: no further Output per value (a stack of 500 endpoints
    exports thousands of them)."""
    if isinstance(value, dict):
        return {key: await _resolved(value[key]) for key in sorted(value)}
    if isinstance(value, list | tuple):
        return [await _resolved(item) for item in value]
    output = pulumi.Output.from_input(value)
    if await output.is_secret():
        return SECRET
    return wire_to_plain(await output.future())
