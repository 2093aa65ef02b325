"""The one seam between mlep and the private details of the Pulumi SDK (and of asyncio).

`mlep plan` runs the program under the SDK's mock runtime. The public way to do that
(`pulumi.runtime.set_mocks` with a recording monitor, the pack's own Analyzer server) is
correct but slow at fleet scale, so on the SDK versions mlep was proven on it takes some
shortcuts that reach below the public API. Every such shortcut lives in this module, each with
why it is here and what breaks if the SDK changes. Nothing else in mlep, and nothing in the
Pulumi program (`ml_endpoints.py`, `components/`), touches a private SDK detail.

On an SDK outside the proven range (or with `MLEP_PUBLIC_SDK=1`), mlep says so in one line
and takes the public path instead: the same plan document, more slowly. tests/test_sdk_seam.py
plans dev, prod and staging both ways and compares the documents byte for byte.
"""

from __future__ import annotations

import asyncio
import copy
import gc
import importlib.metadata
import os
import re
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pulumi
from google.protobuf import json_format
from pulumi.runtime import mocks as sdk_mocks
from pulumi.runtime import resource as runtime_resource
from pulumi.runtime.proto import provider_pb2, resource_pb2, source_pb2
from pulumi_policy import proxy as policy_proxy

# The versions every shortcut below was proven on (tests/test_sdk_seam.py,
# tests/test_mock_runtime.py, tests/test_policy_pack_process.py): major.minor, any patch.
PROVEN = {"pulumi": (3, 272), "pulumi-policy": (1, 21)}
PUBLIC_ENV = "MLEP_PUBLIC_SDK"

# Wire-protocol markers of the engine's property encoding (pulumi/sdk/go/common/resource/sig/
# sig.go; the Python SDK keeps them as `rpc._special_sig_key` and friends). They are part of
# the engine protocol, not of the SDK's API, so mlep names them itself; a test checks they
# equal the SDK's.
SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e"


@dataclass(frozen=True)
class Mode:
    """Which path a run takes: the proven shortcuts, or only the SDK's public API."""

    shortcuts: bool
    reason: str = ""


_MODE: list[Mode] = []  # decided once per process


def mode() -> Mode:
    """The path this process takes (decided on first use; a warning line when public)."""
    if not _MODE:
        _MODE.append(_decide(os.environ, _installed_versions()))
        if not _MODE[0].shortcuts:
            sys.stderr.write(f"mlep: warning: {_MODE[0].reason}\n")
    return _MODE[0]


def _installed_versions() -> dict[str, str]:
    found = {}
    for distribution in PROVEN:
        try:
            found[distribution] = importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            found[distribution] = "unknown"
    return found


def _decide(environ: os._Environ[str] | dict[str, str], versions: dict[str, str]) -> Mode:
    if environ.get(PUBLIC_ENV, "") not in ("", "0"):
        return Mode(False, f"{PUBLIC_ENV} is set: planning through the SDK's public API (slower)")
    for distribution, proven in PROVEN.items():
        installed = versions.get(distribution, "unknown")
        if _major_minor(installed) != proven:
            return Mode(
                False,
                f"{distribution} {installed} is not the {proven[0]}.{proven[1]}.x mlep was proven "
                "on: planning through the SDK's public API (slower, same plan)",
            )
    return Mode(True)


def _major_minor(version: str) -> tuple[int, int] | None:
    match = re.match(r"(\d+)\.(\d+)", version)
    return (int(match[1]), int(match[2])) if match else None


# Called with each RegisterResource request and the URN the monitor gave it.
Record = Callable[[Any, str], None]


# --- The recording monitor -------------------------------------------------------------------


class PublicMonitor(sdk_mocks.MockMonitor):
    """The SDK's mock monitor, recording every RegisterResource request before it answers.

    Public: `set_mocks(monitor=...)` takes a MockMonitor, and the NOTES of the SDK's testing
    guide record requests this way. The SDK deserialises each request for the mocks (Python
    values, secrets unwrapped) and serialises their answer again, on a nested event loop.
    """

    def __init__(self, mocks: pulumi.runtime.Mocks, record: Record) -> None:
        super().__init__(mocks)
        self._record = record

    def RegisterResource(self, request: Any) -> Any:
        self._record(request, self.make_urn(request.parent, request.type, request.name))
        return super().RegisterResource(request)  # type: ignore[no-untyped-call]


class WireMonitor(sdk_mocks.MockMonitor):
    """A shortcut: answers RegisterResource and Invoke in the engine's wire form.

    The SDK's MockMonitor deserialises each request into Python values and serialises the
    mock's answer back, on a nested event loop per resource; here the mocks read and write the
    wire form directly (secrets stay wrapped, resource references stay references), at a
    fraction of the cost. It relies on MockMonitor's internals: `make_urn`, the `resources`
    registry (read by the SDK's `getResource` invoke) and `ResourceRegistration`. If the SDK
    renames them, runs fail with an AttributeError on the first resource, and the public
    monitor above is the way out.
    """

    def __init__(self, mocks: pulumi.runtime.Mocks, record: Record) -> None:
        super().__init__(mocks)
        self._record = record
        self._lock = threading.Lock()

    def RegisterResource(self, request: Any) -> Any:
        urn = self.make_urn(request.parent, request.type, request.name)
        self._record(request, urn)
        if request.type == "pulumi:pulumi:Stack":
            return resource_pb2.RegisterResourceResponse(urn=urn)
        inputs = json_format.MessageToDict(request.object) if request.HasField("object") else {}
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
            self.resources[urn] = sdk_mocks.MockMonitor.ResourceRegistration(
                urn, resource_id, state
            )
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


def monitor(mocks: pulumi.runtime.Mocks, record: Record) -> sdk_mocks.MockMonitor:
    """The monitor of this process's mode."""
    return (WireMonitor if mode().shortcuts else PublicMonitor)(mocks, record)


# --- Running the program fast ----------------------------------------------------------------


class _InlineExecutor(ThreadPoolExecutor):
    """A shortcut: runs each monitor call at once, on the calling thread.

    The SDK hands every monitor call to the event loop's executor, as it must for a real engine
    over gRPC. The wire monitor answers in microseconds without blocking, so a thread hop only
    adds latency, and a queue: the loop prepares every request of the program (inputs
    serialised, stack traces captured) before the first answer, and holds them all. Relies on
    the SDK calling the monitor through `loop.run_in_executor(None, ...)`; if it stops doing
    so, the executor is simply not used (slower, still correct). Not for the public monitor,
    which runs its own event loop per call and needs a thread of its own.
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


class _Pump:
    """A shortcut: registers what the program has declared so far, every few resources.

    A Pulumi program declares all of its resources before the event loop runs any of their
    registrations, so every request waits, prepared, with a dozen Outputs and futures per
    property: over a gigabyte for a 500-endpoint stack. With inline monitor calls a
    registration completes as soon as the loop runs it, so running the loop now and then while
    the program declares keeps only the newest few alive. The engine's view is unchanged: the
    same requests, each once its dependencies are registered.

    It runs in a stack transformation (public), and pumps the loop the way the SDK's
    `_sync_await` does for a synchronous invoke in program code: through asyncio's private
    `loop._ready`, `loop._run_once` and `asyncio.tasks._enter_task/_leave_task`. The program
    runs inside one callback of the loop, so the pump steps out of the current task, runs the
    loop until nothing is ready, and leaves the ready queue no shorter than the running
    iteration expects. (`_sync_await` itself pads the queue to its length on entry, which grows
    with every resource declared since: called once per batch that makes a run quadratic.) If
    asyncio changes these, runs fail with an AttributeError or hang: take the public path.
    """

    EVERY = 50  # resources declared between two pumps

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop: Any = loop
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


# `azure-native:insights/v20180301:MetricAlert`, `.../v20240101preview:...`,
# `kubernetes:apps/v1beta2:Deployment`, `kubernetes:autoscaling/v2beta2:...`.
_UNUSED_VERSION = re.compile(r"^[^:]+:[^:]+/v(\d{8}\w*|\d+(alpha|beta)\d+):[^:]+$")


def _can_match(alias: object) -> bool:
    if isinstance(alias, pulumi.Alias) and isinstance(alias.type_, str):
        return not _UNUSED_VERSION.match(alias.type_)
    return True


def _drop_unused_version_aliases(
    args: pulumi.ResourceTransformationArgs,
) -> pulumi.ResourceTransformationResult | None:
    """A shortcut: drop the provider SDKs' aliases to API versions the program never registers.

    Every azure-native and Kubernetes resource class aliases its type to each older API version
    of its kind (an OnlineEndpoint carries about thirty), and the SDK turns each alias into a
    URN output as the resource is constructed, which costs more than registering it. The
    program declares only the providers' default (azure-native) and GA (Kubernetes) tokens, so
    aliases to dated or pre-release tokens can never match; aliases to other default tokens
    are kept (that is how a provider release carries today's tokens forward). Only the plan
    drops them (`pulumi up` keeps the SDK's behaviour), and aliases are not part of the plan
    document. Uses only public API (a stack transformation, `copy.copy` of the options).
    """
    aliases = args.opts.aliases
    if not aliases:
        return None
    kept = [alias for alias in aliases if _can_match(alias)]
    if len(kept) == len(aliases):
        return None
    opts = copy.copy(args.opts)  # shallow, as the SDK copies options; the caller's stay as is
    opts.aliases = kept or None
    return pulumi.ResourceTransformationResult(args.props, opts)


def drop_unused_version_aliases() -> None:
    """Apply to every resource declared from now on (call once, before declaring any)."""
    pulumi.runtime.register_stack_transformation(_drop_unused_version_aliases)


def before_program() -> None:
    """Called inside the run, just before the program starts declaring resources."""
    if mode().shortcuts:
        pulumi.runtime.register_stack_transformation(_Pump(asyncio.get_event_loop()).transformation)
        drop_unused_version_aliases()


@contextmanager
def tuned_run() -> Iterator[None]:
    """Around one run of the program: the shortcuts of the proven SDK, always undone after."""
    if not mode().shortcuts:
        yield
        return
    asyncio.get_event_loop().set_default_executor(_InlineExecutor())
    # A run allocates a dozen long-lived objects per resource (Outputs, futures, tasks) and
    # little cyclic garbage, so the cyclic collector would only rescan a growing heap, over and
    # over: a third of the time of a 500-endpoint plan. Reference counting still frees what the
    # run drops; the collector resumes afterwards.
    collecting = gc.isenabled()
    gc.disable()
    # The SDK sends the engine each resource's call stack, for diagnostics that point at source
    # lines; building it (every frame, its source line and its file URI) took a tenth of a run.
    # No engine reads it here, and the recorded requests never carried it. Private:
    # `pulumi.runtime.resource._get_stack_trace`; if it is renamed, the patch is a no-op.
    stack_trace = getattr(runtime_resource, "_get_stack_trace", None)
    runtime_resource._get_stack_trace = source_pb2.StackTrace
    try:
        yield
    finally:
        if stack_trace is None:
            del runtime_resource._get_stack_trace
        else:
            runtime_resource._get_stack_trace = stack_trace
        if collecting:
            _resume_collection()


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


# --- The policy SDK --------------------------------------------------------------------------


def is_not_applicable(error: Exception) -> bool:
    """Whether ``error`` is the policy SDK's "not applicable" signal (`args.not_applicable()`).

    Private: pulumi_policy raises its `_NotApplicableError`, matched here by class name. If it
    is renamed, a not-applicable policy surfaces as an error from the in-process evaluation;
    the public path (the pack's own process) is unaffected.
    """
    return type(error).__name__ == "_NotApplicableError"


# What reading an unknown value through the proxy below raises. From `pulumi_policy.proxy`, a
# module the SDK does not export; if it moves, importing this module fails at once.
UnknownValueError = policy_proxy.UnknownValueError


def unknown_checking_proxy(props: dict[str, Any]) -> Any:
    """The proxy the pack's server wraps inputs in: reading an unknown value raises."""
    return policy_proxy.unknown_checking_proxy(props)


def unknown_markers() -> tuple[bytes, ...]:
    """The string values that stand for an unknown value of each kind during a preview."""
    return tuple(
        value.encode()
        for value in (
            policy_proxy.UNKNOWN_BOOLEAN_VALUE,
            policy_proxy.UNKNOWN_NUMBER_VALUE,
            policy_proxy.UNKNOWN_STRING_VALUE,
            policy_proxy.UNKNOWN_ARRAY_VALUE,
            policy_proxy.UNKNOWN_ASSET_VALUE,
            policy_proxy.UNKNOWN_ARCHIVE_VALUE,
            policy_proxy.UNKNOWN_OBJECT_VALUE,
        )
    )
