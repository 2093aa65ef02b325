"""The deployable pack as the Pulumi engine runs it: its own process, the Analyzer protocol.

`pulumi preview --policy-pack policies` starts `policies/__main__.py`, reads the port it
prints, sends Configure, one Analyze per resource and one AnalyzeStack. This module does the
same, through nothing but that public protocol. mlep evaluates the same policies in-process
(`policy.py`), a fast shortcut on the proven SDK; on any other SDK (see `sdk.py`) it evaluates
them here instead. tests/test_policy_pack_process.py proves both give the same findings.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from mlep.engine.policy import PackResult, Violation, load_policies, resolve_config
from mlep.engine.runtime import Registration

START_TIMEOUT_S = 60
WIRE_LEVELS = {
    "advisory": analyzer_pb2.ADVISORY,
    "mandatory": analyzer_pb2.MANDATORY,
    "disabled": analyzer_pb2.DISABLED,
    "remediate": analyzer_pb2.REMEDIATE,
}
LEVEL_NAMES = {value: name for name, value in WIRE_LEVELS.items()}


def run_pack(pack_dir: Path, resources: list[Registration], config: dict[str, Any]) -> PackResult:
    """Analyze every custom resource and the stack over gRPC; the result in mlep's shape."""
    with serving(pack_dir) as stub:
        stub.Configure(
            analyzer_pb2.ConfigureAnalyzerRequest(policyConfig=wire_config(pack_dir, config))
        )
        found: list[Violation] = []
        skipped: set[tuple[str, str]] = set()
        custom = [r for r in resources if r.custom]
        for resource in custom:
            reply = stub.Analyze(
                analyzer_pb2.AnalyzeRequest(
                    type=resource.type,
                    properties=struct(resource.inputs),
                    urn=resource.urn,
                    name=resource.name,
                    options=_options(resource),
                )
            )
            found += _violations(reply, resource.urn)
            skipped |= {(n.policy_name, n.reason) for n in reply.not_applicable}
        reply = stub.AnalyzeStack(
            analyzer_pb2.AnalyzeStackRequest(resources=[_stack_resource(r) for r in custom])
        )
        found += _violations(reply, "")
        skipped |= {(n.policy_name, n.reason) for n in reply.not_applicable}
    violations = sorted(
        set(found), key=lambda v: (v.enforcement != "mandatory", v.policy, v.urn, v.message)
    )
    return PackResult(violations, sorted(skipped))


def wire_config(pack_dir: Path, config: dict[str, Any]) -> dict[str, analyzer_pb2.PolicyConfig]:
    """mlep's resolved policy config, as the CLI sends it in Configure."""
    settings = resolve_config(load_policies(pack_dir), config)
    return {
        name: analyzer_pb2.PolicyConfig(
            enforcementLevel=WIRE_LEVELS[setting.level.value],
            properties=struct(setting.properties),
        )
        for name, setting in settings.items()
    }


@contextmanager
def serving(pack_dir: Path) -> Iterator[analyzer_pb2_grpc.AnalyzerStub]:
    pack_dir = pack_dir.resolve()
    process = subprocess.Popen(
        [sys.executable, "-u", str(pack_dir / "__main__.py")],
        cwd=pack_dir,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        if process.stdout is None:  # never: stdout is a pipe
            raise RuntimeError("the policy pack's output could not be read")
        line = process.stdout.readline().strip()
        if not line.isdigit():
            _, errors = process.communicate(timeout=START_TIMEOUT_S)
            raise RuntimeError(f"the policy pack did not start: {(errors or line).strip()[-500:]}")
        with grpc.insecure_channel(f"127.0.0.1:{line}") as channel:
            grpc.channel_ready_future(channel).result(timeout=START_TIMEOUT_S)
            yield analyzer_pb2_grpc.AnalyzerStub(channel)
    finally:
        process.kill()
        process.wait()


def analyzer_info(stub: analyzer_pb2_grpc.AnalyzerStub) -> Any:
    return stub.GetAnalyzerInfo(empty_pb2.Empty())


def struct(value: dict[str, Any]) -> struct_pb2.Struct:
    return json_format.ParseDict(value, struct_pb2.Struct())


def _options(resource: Registration) -> analyzer_pb2.AnalyzerResourceOptions:
    return analyzer_pb2.AnalyzerResourceOptions(
        protect=resource.protect,
        parent=resource.parent or "",
        ignoreChanges=resource.ignore_changes,
    )


def _stack_resource(resource: Registration) -> analyzer_pb2.AnalyzerResource:
    return analyzer_pb2.AnalyzerResource(
        type=resource.type,
        properties=struct(resource.inputs),
        urn=resource.urn,
        name=resource.name,
        options=_options(resource),
        parent=resource.parent or "",
        dependencies=resource.dependencies,
    )


def _violations(reply: analyzer_pb2.AnalyzeResponse, urn: str) -> list[Violation]:
    return [
        Violation(
            policy=d.policyName,
            enforcement=LEVEL_NAMES.get(d.enforcementLevel, "advisory"),
            urn=d.urn or urn,
            # The SDK prefixes each message with the policy's description; keep just the finding.
            message=d.message.removeprefix(f"{d.description}\n"),
        )
        for d in reply.diagnostics
    ]
