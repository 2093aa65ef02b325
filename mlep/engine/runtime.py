"""Run the Pulumi program offline under the SDK's mock runtime and record what the engine would see.

No cloud, no credentials, no Pulumi CLI: `pulumi.runtime.set_mocks` stands in for the engine,
a recording monitor captures every RegisterResource request (type, name, parent, dependencies,
protect, inputs in engine wire form with secrets still marked), and the mocks answer with
plausible ids and computed outputs (scoring URIs, workspace location) so the program runs.
"""

from __future__ import annotations

import asyncio
import gc
import runpy
import sys
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from google.protobuf import json_format
from pulumi.runtime import config as runtime_config
from pulumi.runtime import mocks, rpc
from pulumi.runtime import resource as runtime_resource
from pulumi.runtime import settings as runtime_settings
from pulumi.runtime.proto import provider_pb2, resource_pb2, source_pb2

SECRET = "[secret]"
MOCK_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
MOCK_LOCATION = "westeurope"
MOCK_PRIMARY_KEY = "mock-primary-key-must-never-be-printed"
MOCK_SECONDARY_KEY = "mock-secondary-key-must-never-be-printed"
_MOCK_NAMESPACE = uuid.UUID("6d1f0c3e-2b8a-4f7e-9c55-1a0e6b3d9f42")
_SIG = rpc._special_sig_key
_SECRET_SIG = rpc._special_secret_sig
_RESOURCE_SIG = rpc._special_resource_sig
STACK_TYPE = "pulumi:pulumi:Stack"


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
    # The alias types (or URNs) the engine would match state against.
    aliases: list[str] = field(default_factory=list)


@dataclass
class ProgramRun:
    """Everything one run of the program declared."""

    resources: list[Registration] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)


class ProgramError(Exception):
    """The program failed for a reason that is not bad config (a bug, or a RunError)."""


class _RecordingMonitor(mocks.MockMonitor):
    """The SDK's mock monitor, answering RegisterResource and Invoke in the engine's wire form.

    The SDK's own RegisterResource deserialises each request's inputs into Python values and
    serialises the mock's answer back on a nested event loop. PlanMocks reads and writes the
    wire form directly (secrets stay wrapped, resource references stay references), so this
    monitor hands it the request's inputs as they arrived and returns its state as is: the
    program sees the same outputs at a fraction of the cost per resource.
    """

    def __init__(self, mock: pulumi.runtime.Mocks) -> None:
        super().__init__(mock)
        self.registrations: list[Registration] = []
        self._lock = threading.Lock()

    def RegisterResource(self, request: Any) -> Any:
        urn = self.make_urn(request.parent, request.type, request.name)
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
            aliases=[alias.spec.type or alias.urn for alias in request.aliases],
        )
        if request.type == STACK_TYPE:
            with self._lock:
                self.registrations.append(registration)
            return resource_pb2.RegisterResourceResponse(urn=urn)
        given_id, state = self.mocks.new_resource(
            pulumi.runtime.MockResourceArgs(
                typ=request.type,
                name=request.name,
                inputs=inputs,
                provider=request.provider,
                resource_id=request.importId,
                custom=request.custom,
            )
        )
        resource_id = given_id or ""
        response = resource_pb2.RegisterResourceResponse(urn=urn, id=resource_id)
        response.object.update(state)
        with self._lock:
            self.registrations.append(registration)
            self.resources[urn] = mocks.MockMonitor.ResourceRegistration(urn, resource_id, state)
        return response

    def Invoke(self, request: Any) -> Any:
        """A function call (`get_workspace`, `list_online_endpoint_keys`), in wire form too."""
        args = json_format.MessageToDict(request.args)
        result, failures = self.mocks.call(
            pulumi.runtime.MockCallArgs(token=request.tok, args=args, provider=request.provider)
        )
        response = resource_pb2.ResourceInvokeResponse(
            failures=[
                provider_pb2.CheckFailure(property=name, reason=reason)
                for name, reason in failures or []
            ]
        )
        getattr(response, "return").update(result)  # `return` is a Python keyword
        return response


class _InlineExecutor(ThreadPoolExecutor):
    """Runs each call at once, on the calling thread.

    The SDK hands every monitor call to the event loop's executor, as it must for a real
    engine over gRPC. The recording monitor answers in microseconds without blocking, so a
    thread hop only adds latency, and a queue: the loop prepares every request of the program
    (inputs serialised, stack traces captured) before the first answer, and holds them all.
    Answered inline, each registration completes as soon as it is prepared.
    """

    def __init__(self) -> None:
        super().__init__(max_workers=1)

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as error:  # to the awaiting task, as from a thread
            future.set_exception(error)
        return future


class PlanMocks(pulumi.runtime.Mocks):
    """Answers the engine's questions with deterministic, clearly fake values.

    ``new_resource`` sees a resource's inputs in the engine's wire form (_RecordingMonitor).
    """

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        state = dict(args.inputs)
        resource_id = _mock_id(args.typ, args.name, state)
        if args.typ == "azure-native:machinelearningservices:OnlineEndpoint":
            name = state.get("endpointName", args.name)
            location = state.get("location", MOCK_LOCATION)
            properties = dict(state.get("properties", {}))
            properties["scoringUri"] = f"https://{name}.{location}.inference.ml.azure.com/score"
            state["properties"] = properties
            state["name"] = name
            identity = dict(state.get("identity", {}))
            if isinstance(identity.get("userAssignedIdentities"), list):
                # Inputs list identity ids; the API answers with a map keyed by id.
                identity["userAssignedIdentities"] = {
                    identity_id: {} for identity_id in identity["userAssignedIdentities"]
                }
                state["identity"] = identity
        elif args.typ == "azure-native:managedidentity:UserAssignedIdentity":
            state["principalId"] = str(uuid.uuid5(_MOCK_NAMESPACE, f"principal/{resource_id}"))
            state["clientId"] = str(uuid.uuid5(_MOCK_NAMESPACE, f"client/{resource_id}"))
        elif args.typ == "azure-native:keyvault:Secret":
            uri = (
                f"https://{state.get('vaultName')}.vault.azure.net/secrets/"
                f"{state.get('secretName', args.name)}"
            )
            properties = state.get("properties", {})
            if properties.get(_SIG) == _SECRET_SIG:
                # The object holding a secret value arrives wrapped as a whole.
                properties = {**properties, "value": {**properties["value"], "secretUri": uri}}
            else:
                properties = {**properties, "secretUri": uri}
            state["properties"] = properties
        return resource_id, state

    def call(
        self, args: pulumi.runtime.MockCallArgs
    ) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        if args.token == "azure-native:machinelearningservices:getWorkspace":
            group, name = args.args["resourceGroupName"], args.args["workspaceName"]
            compact = name.replace("-", "")
            workspace = {
                "id": _arm_id(group, f"Microsoft.MachineLearningServices/workspaces/{name}"),
                "name": name,
                "location": MOCK_LOCATION,
                "containerRegistry": _arm_id(
                    group, f"Microsoft.ContainerRegistry/registries/cr{compact}"
                ),
                "storageAccount": _arm_id(group, f"Microsoft.Storage/storageAccounts/st{compact}"),
            }
            return workspace, []
        if args.token == "azure-native:machinelearningservices:listOnlineEndpointKeys":
            # Recognisable fakes: tests assert these never reach the plan, outputs or logs.
            return {"primaryKey": MOCK_PRIMARY_KEY, "secondaryKey": MOCK_SECONDARY_KEY}, []
        return {}, []


def _arm_id(group: str, provider_path: str) -> str:
    return f"/subscriptions/{MOCK_SUBSCRIPTION}/resourceGroups/{group}/providers/{provider_path}"


_ML_WORKSPACE = "Microsoft.MachineLearningServices/workspaces"

# ARM paths (below the resource group) of the resource types whose ids the program reads.
_ID_PATHS: dict[str, Callable[[dict[str, Any], str], str]] = {
    "azure-native:machinelearningservices:OnlineEndpoint": lambda s, n: (
        f"{_ML_WORKSPACE}/{s.get('workspaceName')}/onlineEndpoints/{s.get('endpointName', n)}"
    ),
    "azure-native:machinelearningservices:OnlineDeployment": lambda s, n: (
        f"{_ML_WORKSPACE}/{s.get('workspaceName')}/onlineEndpoints/{s.get('endpointName')}"
        f"/deployments/{s.get('deploymentName', n)}"
    ),
    "azure-native:resources:Deployment": lambda s, n: (
        f"Microsoft.Resources/deployments/{s.get('deploymentName', n)}"
    ),
    "azure-native:managedidentity:UserAssignedIdentity": lambda s, n: (
        f"Microsoft.ManagedIdentity/userAssignedIdentities/{s.get('resourceName', n)}"
    ),
    "azure-native:keyvault:Secret": lambda s, n: (
        f"Microsoft.KeyVault/vaults/{s.get('vaultName')}/secrets/{s.get('secretName', n)}"
    ),
    "azure-native:monitor:ActionGroup": lambda s, n: (
        f"microsoft.insights/actionGroups/{s.get('actionGroupName', n)}"
    ),
}


def _mock_id(token: str, name: str, state: dict[str, Any]) -> str:
    if token in _ID_PATHS:
        return _arm_id(state.get("resourceGroupName", "rg"), _ID_PATHS[token](state, name))
    if token == "azure-native:authorization:RoleDefinition":
        return (
            f"{state.get('scope')}/providers/Microsoft.Authorization/roleDefinitions/"
            f"{state.get('roleDefinitionId')}"
        )
    return f"{name}-id"


def wire_to_plain(value: Any) -> Any:
    """Engine wire form -> plain JSON: secrets become "[secret]", integral floats become ints."""
    if isinstance(value, dict):
        signature = value.get(_SIG)
        if signature == _SECRET_SIG:
            return SECRET
        if signature == _RESOURCE_SIG:
            return value.get("urn")
        return {key: wire_to_plain(item) for key, item in sorted(value.items())}
    if isinstance(value, list):
        return [wire_to_plain(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


class _Pump:
    """Registers what the program has declared so far, every few resources, as it declares.

    A Pulumi program declares all of its resources before the event loop runs any of their
    registrations, so every request waits, prepared, with a dozen Outputs and futures per
    property: over a gigabyte for a 500-endpoint stack. Under the mocks a registration
    completes as soon as the loop runs it (_InlineExecutor), so running the loop now and then
    while the program declares keeps only the newest few alive. The engine's view is
    unchanged: the same requests, each once its dependencies are registered.

    It runs in a stack transformation, which the SDK calls as each resource is constructed,
    and pumps the loop the way the SDK's `_sync_await` does for a synchronous invoke in
    program code: the program runs inside one callback of the loop, so the pump steps out of
    the current task, runs the loop until nothing is ready, and leaves the ready queue no
    shorter than the running iteration expects. (`_sync_await` itself pads the queue to its
    length on entry, which grows with every resource declared since: called once per batch
    that makes a run quadratic.)
    """

    EVERY = 50  # resources declared between two pumps

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop: Any = loop  # asyncio's private _ready and _run_once, as in _sync_await
        self._declared = 0
        self._expected: int | None = None

    def transformation(self, args: pulumi.ResourceTransformationArgs) -> None:
        self._declared += 1
        if self._declared % self.EVERY == 0:
            self.run_ready()

    def run_ready(self) -> None:
        loop, ready = self._loop, self._loop._ready
        if self._expected is None:
            # At most what the running iteration still expects to run (it counted on entry).
            self._expected = len(ready)
        task = asyncio.current_task(loop)
        if task is not None:
            asyncio.tasks._leave_task(loop, task)
        while ready:
            loop._run_once()
        while len(ready) < self._expected:
            handle = asyncio.Handle(lambda: None, (), loop)
            handle.cancel()
            ready.append(handle)
        if task is not None:
            asyncio.tasks._enter_task(loop, task)


def run_program(
    program: Path,
    project: str,
    stack: str,
    config: dict[str, str],
    secret_keys: list[str],
) -> ProgramRun:
    """Run ``program`` (a Pulumi __main__.py) under mocks with the given engine config."""
    mocks = PlanMocks()
    monitor = _RecordingMonitor(mocks)
    # set_mocks keeps an existing root Stack; a second run in one process (tests, a review
    # of two revisions) would otherwise parent everything to the first run's stack.
    runtime_settings.ROOT.set(None)
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=False, monitor=monitor)
    runtime_config.set_all_config(dict(config), list(secret_keys))
    run = ProgramRun()
    program_dir = str(program.parent)

    @pulumi.runtime.test  # type: ignore[untyped-decorator]
    def _execute() -> asyncio.Future[None]:
        if program_dir not in sys.path:
            sys.path.insert(0, program_dir)
        pulumi.runtime.register_stack_transformation(_Pump(asyncio.get_event_loop()).transformation)
        runpy.run_path(str(program), run_name="__main__")
        root = pulumi.runtime.get_root_resource()
        exported: dict[str, Any] = dict(getattr(root, "outputs", {}) or {})
        return asyncio.ensure_future(_record_outputs(exported, run.outputs))

    asyncio.get_event_loop().set_default_executor(_InlineExecutor())
    # A run allocates a dozen long-lived objects per resource (Outputs, futures, tasks) and
    # little cyclic garbage, so the cyclic collector would only rescan a growing heap, over
    # and over: a third of the time of a 500-endpoint plan. Reference counting still frees
    # what the run drops; the collector resumes afterwards.
    collecting = gc.isenabled()
    gc.disable()
    # The SDK sends the engine each resource's call stack, for diagnostics that point at
    # source lines; building it (every frame, its source line and its file URI) took a tenth
    # of a run. No engine reads it here, and the recorded requests never carried it.
    stack_trace = runtime_resource._get_stack_trace
    runtime_resource._get_stack_trace = source_pb2.StackTrace
    try:
        _execute()
    except pulumi.RunError as error:
        raise ProgramError(str(error)) from None
    finally:
        runtime_resource._get_stack_trace = stack_trace
        if collecting:
            _resume_collection()
    run.resources = sorted(monitor.registrations, key=lambda r: r.urn)
    return run


def _resume_collection() -> None:
    if _PROCESS.one_shot:
        # What the run left is garbage (its Outputs, tasks, resources) or the result, which
        # lives until the process exits: collect the one in a single pass, and move the other
        # out of the collector's sight, so the policies and the output that follow scan only
        # their own objects (a 500-endpoint plan evaluates its policies in 2 s, not 3.4 s).
        gc.collect(1)
        gc.freeze()
    gc.enable()


@dataclass
class _ProcessKind:
    one_shot: bool = False


_PROCESS = _ProcessKind()


def one_shot_process() -> None:
    """Declare this process one command that exits when done (the `mlep` script): the results
    of each run are kept to the end and are never collected, so nothing rescans them. Not for
    a process that runs many programs (the tests), whose runs must be freed."""
    _PROCESS.one_shot = True


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
