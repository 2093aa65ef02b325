"""Run the policy pack the way the Pulumi engine does: as its own process, over gRPC.

`policies/__main__.py` starts the Analyzer server and prints its port; we configure it
(policy config for the stack's environment), send every resource to Analyze and the whole
stack to AnalyzeStack, and collect the diagnostics. What runs is the deployable pack itself.
"""

from __future__ import annotations

import difflib
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import jsonschema
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


@dataclass(frozen=True)
class PackResult:
    """What the pack found: violations, and the policies that did not apply (with why)."""

    violations: list[Violation]
    not_applicable: list[tuple[str, str]]


def run_pack(pack_dir: Path, resources: list[Registration], config: dict[str, Any]) -> PackResult:
    """Analyze every resource and the stack; violations sorted for stable output."""
    with _serving(pack_dir) as stub:
        info = stub.GetAnalyzerInfo(empty_pb2.Empty())
        stub.Configure(
            analyzer_pb2.ConfigureAnalyzerRequest(policyConfig=_configs(info.policies, config))
        )
        found: list[Violation] = []
        skipped: set[tuple[str, str]] = set()
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


def _configs(policies: Any, config: dict[str, Any]) -> dict[str, analyzer_pb2.PolicyConfig]:
    """Check the config and resolve `all` and per-policy entries the way the Pulumi CLI does
    before Configure: every policy gets an explicit level (the wire default 0 means advisory),
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
    out: dict[str, analyzer_pb2.PolicyConfig] = {}
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
        out[policy.name] = analyzer_pb2.PolicyConfig(
            enforcementLevel=LEVELS[level] if level is not None else policy.enforcementLevel,
            properties=_struct(properties),
        )
    return out


def _check_schema(policy: Any, properties: dict[str, Any]) -> None:
    declared = json_format.MessageToDict(policy.configSchema.properties)
    schema = {
        "type": "object",
        "properties": declared,
        "required": list(policy.configSchema.required),
        "additionalProperties": False,
    }
    errors = sorted(
        jsonschema.Draft7Validator(schema).iter_errors(properties), key=lambda e: list(e.path)
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
