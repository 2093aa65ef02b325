"""Run the policy pack the way the Pulumi engine does: as its own process, over gRPC.

`policies/__main__.py` starts the Analyzer server and prints its port; we configure it
(policy config for the stack's environment), send every resource to Analyze and the whole
stack to AnalyzeStack, and collect the diagnostics. What runs is the deployable pack itself.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from mlep.mock_runtime import Registration
from mlep.stackfile import UsageError

LEVELS = {
    "advisory": analyzer_pb2.ADVISORY,
    "mandatory": analyzer_pb2.MANDATORY,
    "disabled": analyzer_pb2.DISABLED,
    "remediate": analyzer_pb2.REMEDIATE,
}
LEVEL_NAMES: dict[int, str] = {value: name for name, value in LEVELS.items()}
START_TIMEOUT_S = 60


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


def policy_config(pack_dir: Path, environment: str) -> dict[str, Any]:
    """The pack's config for a stack: policies/config/<prod|non-prod>.json."""
    name = "prod" if environment == "prod" else "non-prod"
    path = pack_dir / "config" / f"{name}.json"
    try:
        loaded = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise UsageError(f"{path}: cannot read the policy config ({error})") from None
    return dict(loaded)


def run_pack(
    pack_dir: Path, resources: list[Registration], config: dict[str, Any]
) -> list[Violation]:
    """Analyze every resource and the stack; returns violations sorted for stable output."""
    with _serving(pack_dir) as stub:
        info = stub.GetAnalyzerInfo(empty_pb2.Empty())
        defaults = {p.name: p.enforcementLevel for p in info.policies}
        stub.Configure(
            analyzer_pb2.ConfigureAnalyzerRequest(policyConfig=_configs(defaults, config))
        )
        found: list[Violation] = []
        custom = [r for r in resources if r.custom]
        for resource in custom:
            reply = stub.Analyze(
                analyzer_pb2.AnalyzeRequest(
                    type=resource.type,
                    properties=_struct(resource.inputs),
                    urn=resource.urn,
                    name=resource.name,
                    options=_options(resource),
                )
            )
            found += _violations(reply, resource.urn)
        reply = stub.AnalyzeStack(
            analyzer_pb2.AnalyzeStackRequest(resources=[_stack_resource(r) for r in custom])
        )
        found += _violations(reply, "")
    return sorted(
        set(found), key=lambda v: (v.enforcement != "mandatory", v.policy, v.urn, v.message)
    )


@contextmanager
def _serving(pack_dir: Path) -> Iterator[analyzer_pb2_grpc.AnalyzerStub]:
    pack_dir = pack_dir.resolve()
    main = pack_dir / "__main__.py"
    if not main.exists():
        raise UsageError(f"no policy pack at {pack_dir} (expected __main__.py)")
    process = subprocess.Popen(
        [sys.executable, "-u", str(main)],
        cwd=pack_dir,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        if not line.isdigit():
            _, errors = process.communicate(timeout=START_TIMEOUT_S)
            raise UsageError(f"the policy pack did not start: {(errors or line).strip()[-500:]}")
        with grpc.insecure_channel(f"127.0.0.1:{line}") as channel:
            grpc.channel_ready_future(channel).result(timeout=START_TIMEOUT_S)
            yield analyzer_pb2_grpc.AnalyzerStub(channel)
    finally:
        process.kill()
        process.wait()


def _configs(
    defaults: dict[str, Any], config: dict[str, Any]
) -> dict[str, analyzer_pb2.PolicyConfig]:
    """Resolve `all` and per-policy entries the way the Pulumi CLI does before Configure.

    Every policy gets an explicit level: the wire default (0) would mean advisory.
    """
    base = config.get("all")
    out: dict[str, analyzer_pb2.PolicyConfig] = {}
    for name, default in defaults.items():
        entry = config.get(name, {})
        if isinstance(entry, str):
            entry = {"enforcementLevel": entry}
        level = entry.get("enforcementLevel", base)
        if level is not None and level not in LEVELS:
            raise UsageError(f"policy config for {name}: unknown enforcement level {level!r}")
        properties = {k: v for k, v in entry.items() if k != "enforcementLevel"}
        out[name] = analyzer_pb2.PolicyConfig(
            enforcementLevel=LEVELS[level] if level is not None else default,
            properties=_struct(properties),
        )
    return out


def _struct(value: dict[str, Any]) -> struct_pb2.Struct:
    return json_format.ParseDict(value, struct_pb2.Struct())


def _options(resource: Registration) -> analyzer_pb2.AnalyzerResourceOptions:
    return analyzer_pb2.AnalyzerResourceOptions(
        protect=resource.protect, parent=resource.parent or ""
    )


def _stack_resource(resource: Registration) -> analyzer_pb2.AnalyzerResource:
    return analyzer_pb2.AnalyzerResource(
        type=resource.type,
        properties=_struct(resource.inputs),
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
