"""Private access to the workspace: private endpoint and DNS zone group (issue 3)."""

from __future__ import annotations

from tests.scenarios import DNS_ZONE_ID, SUBNET_ID
from tests.test_azure_endpoint import named, of_type, scenario_run

PRIVATE_ENDPOINT = "azure-native:network:PrivateEndpoint"
DNS_ZONE_GROUP = "azure-native:network:PrivateDnsZoneGroup"
COMPONENT = "ml-endpoints:azure:WorkspacePrivateAccess"


def test_no_private_endpoint_without_private_access() -> None:
    run = scenario_run("defaults")
    assert of_type(run, PRIVATE_ENDPOINT) == []
    assert of_type(run, DNS_ZONE_GROUP) == []


def test_private_endpoint_connects_to_the_workspace_group() -> None:
    endpoint = named(scenario_run("waf_aligned"), PRIVATE_ENDPOINT, "mlw-prod-private-access")
    (connection,) = endpoint.inputs["privateLinkServiceConnections"]
    assert connection["groupIds"] == ["amlworkspace"]
    assert connection["privateLinkServiceId"].endswith("/workspaces/mlw-prod")


def test_private_endpoint_sits_in_the_given_subnet() -> None:
    endpoint = named(scenario_run("waf_aligned"), PRIVATE_ENDPOINT, "mlw-prod-private-access")
    assert endpoint.inputs["subnet"]["id"] == SUBNET_ID
    assert endpoint.inputs["privateEndpointName"] == "pe-mlw-prod-amlworkspace"


def test_dns_zone_group_registers_every_given_zone() -> None:
    group = named(scenario_run("waf_aligned"), DNS_ZONE_GROUP, "mlw-prod-private-access-dns")
    zones = [c["privateDnsZoneId"] for c in group.inputs["privateDnsZoneConfigs"]]
    assert zones == [DNS_ZONE_ID]
    assert group.inputs["privateEndpointName"] == "pe-mlw-prod-amlworkspace"


def test_dns_zone_group_waits_for_the_private_endpoint() -> None:
    run = scenario_run("waf_aligned")
    group = named(run, DNS_ZONE_GROUP, "mlw-prod-private-access-dns")
    endpoint = named(run, PRIVATE_ENDPOINT, "mlw-prod-private-access")
    assert endpoint.urn in group.dependencies


def test_private_access_is_one_component_per_stack() -> None:
    run = scenario_run("max")
    (component,) = of_type(run, COMPONENT)
    children = {r.type for r in run.resources if r.parent == component.urn}
    assert children == {PRIVATE_ENDPOINT, DNS_ZONE_GROUP}


def test_private_endpoint_carries_governance_tags() -> None:
    endpoint = named(scenario_run("waf_aligned"), PRIVATE_ENDPOINT, "mlw-prod-private-access")
    assert {"owner", "application", "data-sensitivity"} <= set(endpoint.inputs["tags"])
