"""The deployable pack, run as its own process over the Analyzer protocol the way the engine runs
it (tests/pack_process.py). Slower than tests/test_policies.py, so kept to what only a real
process proves: the pack starts, lists its policies, takes policy config per environment, reads
properties as they come off the wire, and finds exactly what `mlep plan` finds in-process.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
from collections.abc import Iterator
from typing import Any

import pytest
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

from mlep.engine.pack_process import analyzer_info, run_pack, serving, struct, wire_config
from mlep.engine.plan import plan_stack
from mlep.engine.policy import PackResult, evaluate
from mlep.engine.policy_config import environment_config as policy_config
from mlep.engine.runtime import ProgramRun
from mlep.stack import StackRef
from tests.conftest import ROOT, run_namespace
from tests.policy_helpers import POLICIES, POLICIES_DIR, endpoint_props, tokens
from tests.scenarios import kubernetes_scenario, scenario

NET01 = "net-01-endpoint-private"
ID01 = "id-01-token-auth"
WAIVER = {ID01: {"keyAuthWaivers": ["fraud-scoring"]}}


@functools.cache
def max_run(environment: str, public_network_access: str = "disabled") -> ProgramRun:
    """The max scenario (two endpoints, key auth, mirror traffic) in ``environment``."""
    namespace = scenario("max")
    namespace["environment"] = environment
    namespace["endpoints"][0]["public_network_access"] = public_network_access
    return run_namespace(namespace)


def urn_of(run: ProgramRun, resource_type: str, name: str) -> str:
    (found,) = [r.urn for r in run.resources if r.type == resource_type and r.name == name]
    return found


def findings(result: PackResult) -> list[tuple[str, str, str]]:
    """The mandatory findings, and NET-01's advisory ones (AV-01 is advisory in prod: the max
    scenario runs one instance of a deployment)."""
    return [
        (v.policy, v.enforcement, v.urn)
        for v in result.violations
        if v.enforcement == "mandatory" or v.policy == NET01
    ]


def fraud_scoring_urns(run: ProgramRun) -> tuple[str, str]:
    """The endpoint and the traffic resource whose template PUTs it."""
    return (
        urn_of(run, tokens.ONLINE_ENDPOINT, "fraud-scoring"),
        urn_of(run, tokens.ARM_DEPLOYMENT, "fraud-scoring-traffic"),
    )


@pytest.mark.parametrize("stack", ["dev", "prod", "staging"])
def test_golden_stack_has_no_mandatory_violation(stack: str) -> None:
    plan = plan_stack(StackRef(ROOT, stack))
    assert plan.mandatory_violations == []


def test_staging_stack_has_no_finding_even_under_prod_levels() -> None:
    """The Kubernetes example passes every rule, advisory ones included, except AV-01 (it
    runs two replicas; prod wants three)."""
    plan = plan_stack(StackRef(ROOT, "staging"))
    run = plan.run
    prod = policy_config(POLICIES_DIR, "prod")
    found = run_pack(POLICIES_DIR, run.resources, prod).violations
    assert {v.policy for v in found} == {"av-01-enough-instances"}


def test_key_auth_is_mandatory_in_prod_unless_waived() -> None:
    run = max_run("prod")
    config = policy_config(POLICIES_DIR, "prod")
    assert findings(run_pack(POLICIES_DIR, run.resources, config)) == [
        (ID01, "mandatory", urn) for urn in fraud_scoring_urns(run)
    ]
    assert findings(run_pack(POLICIES_DIR, run.resources, config | WAIVER)) == []


def test_public_endpoint_is_mandatory_in_prod() -> None:
    run = max_run("prod", "enabled")
    config = policy_config(POLICIES_DIR, "prod") | WAIVER
    assert findings(run_pack(POLICIES_DIR, run.resources, config)) == [
        (NET01, "mandatory", urn) for urn in fraud_scoring_urns(run)
    ]


def test_public_endpoint_is_advisory_outside_prod() -> None:
    """policies/config/non-prod.json: NET-01 advisory, ID-01 and TRF-11 disabled."""
    run = max_run("dev", "enabled")
    found = run_pack(POLICIES_DIR, run.resources, policy_config(POLICIES_DIR, "dev"))
    assert findings(found) == [(NET01, "advisory", urn) for urn in fraud_scoring_urns(run)]


def kubernetes_max_run(environment: str) -> ProgramRun:
    namespace = kubernetes_scenario("max")
    namespace["environment"] = environment
    return run_namespace(namespace)


# A step of 75 for green (TRF-06/08) and a stable deployment that is not today's.
STEP = {
    "trf-06-08-traffic-steps": {
        "previousTraffic": {"fraud-scoring": {"traffic": {"blue": 100}, "stable": "blue"}}
    }
}


@pytest.mark.parametrize(
    ("case", "program", "config"),
    [
        (
            "azure max, dev",
            lambda: max_run("dev", "enabled"),
            lambda: policy_config(POLICIES_DIR, "dev"),
        ),
        (
            "azure max, prod",
            lambda: max_run("prod", "enabled"),
            lambda: policy_config(POLICIES_DIR, "prod"),
        ),
        (
            "azure max, prod, a step",
            lambda: max_run("prod"),
            lambda: policy_config(POLICIES_DIR, "prod") | STEP,
        ),
        ("azure max, all mandatory", lambda: max_run("dev"), lambda: {"all": "mandatory"}),
        (
            "kubernetes max, prod",
            lambda: kubernetes_max_run("prod"),
            lambda: policy_config(POLICIES_DIR, "prod"),
        ),
        (
            "kubernetes max, some disabled",
            lambda: kubernetes_max_run("dev"),
            lambda: {
                "all": "disabled",
                "av-04-hpa-and-pdb": "advisory",
                "pod-03-image-pinned": "remediate",
            },
        ),
    ],
)
def test_mlep_finds_what_the_pack_process_finds(case: str, program: Any, config: Any) -> None:
    """mlep evaluates the policies in-process (mlep/engine/policy.py); the engine runs the pack over
    gRPC. Same violations, levels, resources, messages and not-applicable reasons."""
    run, settings = program(), config()
    in_process = evaluate(POLICIES_DIR, run.resources, settings)
    assert in_process == run_pack(POLICIES_DIR, run.resources, settings), case
    assert in_process.violations or "disabled" in case, "a case that finds nothing proves little"


@pytest.fixture(scope="module")
def pack() -> Iterator[analyzer_pb2_grpc.AnalyzerStub]:
    """The pack process, configured for prod."""
    with serving(POLICIES_DIR) as stub:
        stub.Configure(
            analyzer_pb2.ConfigureAnalyzerRequest(
                policyConfig=wire_config(POLICIES_DIR, policy_config(POLICIES_DIR, "prod"))
            )
        )
        yield stub


def test_analyzer_info_lists_every_policy(pack: analyzer_pb2_grpc.AnalyzerStub) -> None:
    info = analyzer_info(pack)
    assert info.name == "ml-endpoints"
    levels = {"mandatory": analyzer_pb2.MANDATORY, "advisory": analyzer_pb2.ADVISORY}
    assert [(p.name, p.enforcementLevel) for p in info.policies] == [
        (p.name, levels[p.enforcement_level.value]) for p in POLICIES
    ]
    advisory = [p.name for p in info.policies if p.enforcementLevel == analyzer_pb2.ADVISORY]
    # The "A" rules of POLICY-RULES.md.
    assert advisory == [
        "gov-02-registered-models",
        "net-03-deployment-egress",
        "sec-01-secret-expiry",
        "av-01-enough-instances",
        "pod-05-labels-namespace-account",
        "obs-02-diagnostics",
    ]
    stack_policies = [
        p.name for p in info.policies if p.policy_type == analyzer_pb2.POLICY_TYPE_STACK
    ]
    assert stack_policies == [
        "net-02-workspace-private-link",
        "net-04-namespace-isolated",
        "id-01-token-auth",
        "id-03-separated-roles",
        "trf-02-03-mirror-traffic",
        "trf-05-traffic-waits-for-deployments",
        "trf-06-08-traffic-steps",
        "trf-09-live-deployments-alerted",
        "av-01-enough-instances",
        "av-04-hpa-and-pdb",
        "obs-01-alerts-complete",
        "obs-02-diagnostics",
    ]
    for policy in info.policies:
        assert policy.remediation_steps, policy.name
        assert policy.severity, policy.name


def analyze(stub: analyzer_pb2_grpc.AnalyzerStub, props: dict[str, Any]) -> list[str]:
    reply = stub.Analyze(
        analyzer_pb2.AnalyzeRequest(
            type=tokens.ONLINE_ENDPOINT,
            properties=struct(props),
            urn="urn:pulumi:prod::ml-endpoints::x::fraud-scoring",
            name="fraud-scoring",
            options=analyzer_pb2.AnalyzerResourceOptions(protect=True),
        )
    )
    return [f"{d.policyName}: {d.message}" for d in reply.diagnostics]


def test_analyze_reads_wire_properties(pack: analyzer_pb2_grpc.AnalyzerStub) -> None:
    assert analyze(pack, endpoint_props()) == []
    public = endpoint_props()
    public["properties"]["publicNetworkAccess"] = "Enabled"
    (diagnostic,) = analyze(pack, public)
    assert diagnostic.startswith(f"{NET01}: ")


def test_analyze_skips_values_unknown_at_preview(pack: analyzer_pb2_grpc.AnalyzerStub) -> None:
    """No violation and no "can't run policy during preview" advisory either."""
    props = endpoint_props()
    props["properties"] |= {
        "publicNetworkAccess": UNKNOWN_STRING_VALUE,
        "authMode": UNKNOWN_STRING_VALUE,
    }
    props["tags"]["owner"] = UNKNOWN_STRING_VALUE
    assert analyze(pack, props) == []


def test_mlep_reads_unknown_values_as_the_pack_process_does() -> None:
    """mlep hands policies plain inputs once it has seen that no value is unknown; a value
    unknown at preview (here: a public endpoint's access and its owner tag) must still read
    as the SDK's proxy reads it, so both find the same."""
    run = max_run("prod", public_network_access="enabled")
    endpoint_urn = urn_of(run, tokens.ONLINE_ENDPOINT, "fraud-scoring")
    (endpoint,) = [r for r in run.resources if r.urn == endpoint_urn]
    inputs = copy.deepcopy(endpoint.inputs)
    inputs["properties"]["publicNetworkAccess"] = UNKNOWN_STRING_VALUE
    inputs["tags"]["owner"] = UNKNOWN_STRING_VALUE
    unknown_endpoint = dataclasses.replace(endpoint, inputs=inputs)
    resources = [unknown_endpoint if r is endpoint else r for r in run.resources]
    settings = policy_config(POLICIES_DIR, "prod")
    known = evaluate(POLICIES_DIR, run.resources, settings)
    unknown = evaluate(POLICIES_DIR, resources, settings)
    assert unknown == run_pack(POLICIES_DIR, resources, settings)
    assert (NET01, endpoint_urn) in {(v.policy, v.urn) for v in known.violations}
    assert (NET01, endpoint_urn) not in {(v.policy, v.urn) for v in unknown.violations}
