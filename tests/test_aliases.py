"""mlep.engine.sdk: under mlep's runtime the SDKs' aliases to dated or pre-release API versions
are dropped (no ml-endpoints stack can hold those tokens), the others stay for future provider
releases. The program itself keeps the SDK's aliases: `pulumi up` sees them all."""

from __future__ import annotations

import re

import pulumi
import pytest

from mlep.engine import sdk
from mlep.engine.runtime import ProgramRun
from tests.conftest import run_namespace
from tests.scenarios import kubernetes_scenario, scenario

VERSIONED = re.compile(r"/v(\d{8}|\d+(alpha|beta)\d+)")


@pytest.fixture(scope="module", params=["azure", "kubernetes"])
def run(request: pytest.FixtureRequest) -> ProgramRun:
    namespace = scenario("max") if request.param == "azure" else kubernetes_scenario("max")
    return run_namespace(namespace)


def test_no_resource_keeps_an_alias_to_a_dated_or_prerelease_version(run: ProgramRun) -> None:
    kept = {alias for r in run.resources for alias in r.aliases}
    assert not [alias for alias in kept if VERSIONED.search(alias)]


def test_aliases_to_other_default_tokens_stay() -> None:
    """azure-native v2 kept alerts in `insights`; state from then still matches."""
    run = run_namespace(scenario("max"))
    (alert, *_) = [r for r in run.resources if r.type == "azure-native:monitor:MetricAlert"]
    assert alert.aliases == ["azure-native:insights:MetricAlert"]
    (endpoint,) = [
        r
        for r in run.resources
        if r.type == "azure-native:machinelearningservices:OnlineEndpoint"
        and r.name.startswith("fraud-scoring")
    ]
    assert endpoint.aliases == []


@pytest.mark.parametrize(
    ("alias", "kept"),
    [
        (pulumi.Alias(type_="azure-native:insights:MetricAlert"), True),
        (pulumi.Alias(type_="azure-native:insights/v20180301:MetricAlert"), False),
        (pulumi.Alias(type_="azure-native:machinelearningservices/v20240101preview:X"), False),
        (pulumi.Alias(type_="kubernetes:apps/v1beta2:Deployment"), False),
        (pulumi.Alias(type_="kubernetes:autoscaling/v2:HorizontalPodAutoscaler"), True),
        (pulumi.Alias(name="old-name"), True),
        ("urn:pulumi:dev::p::azure-native:insights/v20180301:MetricAlert::a", True),
    ],
)
def test_only_aliases_to_dated_or_prerelease_tokens_are_dropped(alias: object, kept: bool) -> None:
    """A URN alias, or one without a type, names state by other means: it stays."""
    assert sdk._can_match(alias) is kept
