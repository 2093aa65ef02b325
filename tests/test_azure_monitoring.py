"""Autoscale settings and diagnostic settings of the Azure endpoint component (issue 3)."""

from __future__ import annotations

from typing import Any

from mlep.engine.runtime import ProgramRun
from tests.conftest import run_namespace
from tests.scenarios import LAW_ID, scenario
from tests.test_azure_endpoint import DEPLOYMENT, named, of_type, scenario_run

AUTOSCALE = "azure-native:monitor:AutoscaleSetting"
DIAGNOSTICS = "azure-native:monitor:DiagnosticSetting"
ENDPOINT = "azure-native:machinelearningservices:OnlineEndpoint"


def autoscale_profile(run: ProgramRun, name: str) -> dict[str, Any]:
    (profile,) = named(run, AUTOSCALE, name).inputs["profiles"]
    return profile  # type: ignore[no-any-return]


def rule(run: ProgramRun, name: str, direction: str) -> dict[str, Any]:
    rules = autoscale_profile(run, name)["rules"]
    (found,) = [r for r in rules if r["scaleAction"]["direction"] == direction]
    return found  # type: ignore[no-any-return]


def test_no_autoscale_without_autoscale_spec() -> None:
    assert of_type(scenario_run("defaults"), AUTOSCALE) == []


def test_one_autoscale_setting_per_autoscaled_deployment() -> None:
    names = sorted(r.name for r in of_type(scenario_run("waf_aligned"), AUTOSCALE))
    assert names == ["fraud-scoring-blue-autoscale", "fraud-scoring-green-autoscale"]


def test_autoscale_targets_its_deployment() -> None:
    run = scenario_run("waf_aligned")
    setting = named(run, AUTOSCALE, "fraud-scoring-blue-autoscale")
    deployment = named(run, DEPLOYMENT, "fraud-scoring-blue")
    assert deployment.urn in setting.dependencies
    assert setting.inputs["targetResourceUri"].endswith("/deployments/blue")
    assert setting.inputs["enabled"] is True


def test_autoscale_capacity_is_min_default_max_as_strings() -> None:
    capacity = autoscale_profile(scenario_run("max"), "fraud-scoring-blue-autoscale")["capacity"]
    assert capacity == {"minimum": "3", "maximum": "20", "default": "3"}


def test_scale_out_rule_uses_target_cpu_and_cooldown() -> None:
    out = rule(scenario_run("max"), "fraud-scoring-blue-autoscale", "Increase")
    assert out["metricTrigger"]["metricName"] == "CpuUtilizationPercentage"
    assert out["metricTrigger"]["operator"] == "GreaterThan"
    assert out["metricTrigger"]["threshold"] == 75
    assert out["scaleAction"]["cooldown"] == "PT10M"
    assert out["scaleAction"]["type"] == "ChangeCount"


def test_scale_in_rule_uses_scale_in_threshold() -> None:
    scale_in = rule(scenario_run("max"), "fraud-scoring-blue-autoscale", "Decrease")
    assert scale_in["metricTrigger"]["operator"] == "LessThan"
    assert scale_in["metricTrigger"]["threshold"] == 25
    assert scale_in["scaleAction"]["cooldown"] == "PT10M"


def test_scale_rules_use_documented_defaults() -> None:
    run = scenario_run("waf_aligned")
    assert (
        rule(run, "fraud-scoring-green-autoscale", "Increase")["metricTrigger"]["threshold"] == 70
    )
    assert (
        rule(run, "fraud-scoring-green-autoscale", "Decrease")["metricTrigger"]["threshold"] == 30
    )
    assert (
        rule(run, "fraud-scoring-green-autoscale", "Increase")["scaleAction"]["cooldown"] == "PT5M"
    )


def test_autoscaled_deployment_ignores_sku_changes() -> None:
    run = scenario_run("waf_aligned")
    assert named(run, DEPLOYMENT, "fraud-scoring-blue").ignore_changes == ["sku"]


def test_fixed_size_deployment_keeps_its_sku_managed() -> None:
    run = scenario_run("defaults")
    assert named(run, DEPLOYMENT, "fraud-scoring-blue").ignore_changes == []


def test_autoscale_carries_governance_tags() -> None:
    tags = named(scenario_run("waf_aligned"), AUTOSCALE, "fraud-scoring-blue-autoscale").inputs[
        "tags"
    ]
    assert {"owner", "application", "data-sensitivity"} <= set(tags)


def test_no_diagnostics_without_log_analytics_workspace() -> None:
    assert of_type(scenario_run("defaults"), DIAGNOSTICS) == []


def test_diagnostics_send_traffic_console_and_event_logs() -> None:
    setting = named(scenario_run("waf_aligned"), DIAGNOSTICS, "fraud-scoring-diagnostics")
    categories = {log["category"] for log in setting.inputs["logs"] if log["enabled"]}
    assert categories == {
        "AmlOnlineEndpointTrafficLog",
        "AmlOnlineEndpointConsoleLog",
        "AmlOnlineEndpointEventLog",
    }
    assert setting.inputs["workspaceId"] == LAW_ID


def test_diagnostics_target_the_endpoint() -> None:
    run = scenario_run("waf_aligned")
    setting = named(run, DIAGNOSTICS, "fraud-scoring-diagnostics")
    endpoint = named(run, ENDPOINT, "fraud-scoring")
    assert endpoint.urn in setting.dependencies
    assert setting.inputs["resourceUri"].endswith("/onlineEndpoints/fraud-scoring")


def test_one_diagnostic_setting_per_endpoint() -> None:
    namespace = scenario("max")
    run = run_namespace(namespace)
    assert sorted(r.name for r in of_type(run, DIAGNOSTICS)) == [
        "churn-propensity-diagnostics",
        "fraud-scoring-diagnostics",
    ]


def test_only_what_azure_deletes_with_the_endpoint_is_deleted_with_it() -> None:
    # Azure deletes deployments with their endpoint, but keeps autoscale settings, diagnostic
    # settings, alert rules and Key Vault secrets: those must be deleted explicitly.
    run = scenario_run("max")
    deleted_with = {r.name for r in run.resources if r.deleted_with}
    expected = {r.name for r in of_type(run, DEPLOYMENT)}
    expected |= {f"{e.name}-traffic" for e in of_type(run, ENDPOINT)}
    expected.add("mlw-prod-private-access-dns")  # a child of the private endpoint
    assert deleted_with == expected
