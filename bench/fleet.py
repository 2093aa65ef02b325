"""Fleet stacks for the benchmark: N endpoints x 2 deployments, every feature switched on.

Azure: private access (workspace private endpoint, endpoints without public access), key auth
with the keys in Key Vault, custom roles and key readers, autoscale, every alert with an action
group, diagnostics to Log Analytics. Kubernetes: the same endpoints as BentoML services with key
auth from Key Vault, Entra tokens at the gateway, HPA, PDB, NetworkPolicy, mirror traffic and
PrometheusRule alerts.
"""

from __future__ import annotations

from typing import Any

SUBSCRIPTION = "6f1c2b1e-93b8-4d3c-9a52-0c1e7a7d2f10"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
GROUPS = (
    "3b0f1a9e-7c2d-4e8a-9f61-2d4c5b6a7e81",
    "8e2d4c6b-1a3f-4b5e-8c7d-9f0a1b2c3d4e",
    "5c6d7e8f-9a0b-4c1d-8e2f-3a4b5c6d7e8f",
)
TAGS = {
    "owner": "ml-platform",
    "application": "fleet-benchmark",
    "data-sensitivity": "internal",
    "cost-center": "ml-platform",
}
ALERTS = {
    "latency_p95_ms": 300,
    "success_rate_min_percent": 99.5,
    "client_error_rate_max_percent": 2,
    "server_error_rate_max_percent": 0.5,
    "cpu_max_percent": 75,
    "memory_max_percent": 85,
}
AUTOSCALE = {
    "min_instances": 2,
    "max_instances": 10,
    "target_cpu_percent": 70,
    "scale_in_cpu_percent": 25,
    "cooldown_minutes": 5,
}
PROBE = {"initial_delay": 10, "period": 10, "timeout": 2, "failure_threshold": 3}


def _arm(group: str, path: str) -> str:
    return f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{group}/providers/{path}"


def endpoint_name(index: int) -> str:
    return f"fleet-{index:04d}"


def azure_fleet(size: int) -> dict[str, Any]:
    """The `ml-endpoints:` namespace of an azure stack with ``size`` endpoints."""

    def deployment(name: str, version: int) -> dict[str, Any]:
        return {
            "name": name,
            "model": f"azureml:fleet-model:{version}",
            "instance_type": "Standard_DS3_v2",
            "instance_count": 2,
            "autoscale": dict(AUTOSCALE),
            "request_settings": {"request_timeout_ms": 2000},
            "liveness_probe": dict(PROBE),
            "readiness_probe": dict(PROBE),
            "app_insights_enabled": True,
        }

    return {
        "target": "azure",
        "environment": "dev",
        "tags": dict(TAGS),
        "azure": {
            "resource_group": "rg-ml-fleet",
            "workspace": "mlw-fleet",
            "key_vault": {"name": "kv-ml-fleet"},
            "private_access": {
                "subnet_id": _arm(
                    "rg-net", "Microsoft.Network/virtualNetworks/vnet-ml/subnets/inference"
                ),
                "private_dns_zone_ids": [
                    _arm("rg-dns", "Microsoft.Network/privateDnsZones/privatelink.api.azureml.ms")
                ],
            },
            "log_analytics_workspace_id": _arm(
                "rg-mon", "Microsoft.OperationalInsights/workspaces/law-ml"
            ),
            "action_group": {"emails": ["oncall@example.com"]},
            "roles": {
                "traffic_operators": [GROUPS[0]],
                "deployment_developers": [GROUPS[1]],
                "key_readers": [GROUPS[2]],
            },
        },
        "endpoints": [
            {
                "name": endpoint_name(index),
                "auth_mode": "key",
                "public_network_access": "disabled",
                "deployments": [deployment("blue", 1), deployment("green", 2)],
                "traffic": {"blue": 90, "green": 10},
                "alerts": dict(ALERTS),
            }
            for index in range(size)
        ],
    }


def kubernetes_fleet(size: int) -> dict[str, Any]:
    """The `ml-endpoints:` namespace of a kubernetes stack with ``size`` endpoints."""

    def deployment(name: str, version: str) -> dict[str, Any]:
        return {
            "name": name,
            "image": f"acr.example.io/fleet-model:{version}",
            "resources": {"cpu": "1", "memory": "2Gi"},
            "instance_count": 2,
            "autoscale": dict(AUTOSCALE),
            "request_settings": {"request_timeout_ms": 2000},
            "liveness_probe": dict(PROBE),
            "readiness_probe": dict(PROBE),
        }

    return {
        "target": "kubernetes",
        "environment": "dev",
        "tags": dict(TAGS),
        "kubernetes": {
            "namespace": "ml-serving",
            "gateway": {"name": "internal", "namespace": "gateway-system"},
            "hostname": "ml.fleet.example.com",
            "entra": {"tenant_id": TENANT, "audience": "api://ml-endpoints"},
            "key_vault": {"name": "kv-ml-fleet", "tenant_id": TENANT, "client_id": GROUPS[1]},
        },
        "endpoints": [
            {
                "name": endpoint_name(index),
                "auth_mode": "key",
                "deployments": [deployment("blue", "1.0.0"), deployment("green", "1.1.0")],
                "traffic": {"blue": 100, "green": 0},
                "mirror_traffic": {"green": 20},
                "alerts": dict(ALERTS),
            }
            for index in range(size)
        ],
    }


FLEETS = {"azure": azure_fleet, "kubernetes": kubernetes_fleet}


def is_component(resource_type: str) -> bool:
    """ml-endpoints' own component types; every other type but the stack is a provider's."""
    return resource_type.startswith("ml-endpoints:")
