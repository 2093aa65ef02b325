"""Shared scenario fixtures: the `ml-endpoints:` namespace of a stack, as plain data.

`defaults` sets only what is required; `waf_aligned` is what a well-architected production
stack looks like; `max` switches every field on. Unit, component, policy and plan tests all
start from these and change one thing.
"""

from __future__ import annotations

import copy
import json
from typing import Any

SUB = "6f1c2b1e-93b8-4d3c-9a52-0c1e7a7d2f10"
SUBNET_ID = (
    f"/subscriptions/{SUB}/resourceGroups/rg-net/providers/Microsoft.Network/"
    "virtualNetworks/vnet-ml/subnets/inference"
)
DNS_ZONE_ID = (
    f"/subscriptions/{SUB}/resourceGroups/rg-dns/providers/Microsoft.Network/"
    "privateDnsZones/privatelink.api.azureml.ms"
)
LAW_ID = (
    f"/subscriptions/{SUB}/resourceGroups/rg-mon/providers/Microsoft.OperationalInsights/"
    "workspaces/law-ml"
)
GUID_A = "3b0f1a9e-7c2d-4e8a-9f61-2d4c5b6a7e81"
GUID_B = "8e2d4c6b-1a3f-4b5e-8c7d-9f0a1b2c3d4e"
GUID_C = "5c6d7e8f-9a0b-4c1d-8e2f-3a4b5c6d7e8f"

TAGS = {"owner": "fraud-team", "application": "fraud-detection", "data-sensitivity": "internal"}


# Every probe field set (non-default values), shared by both targets' `max` scenarios.
MAX_PROBE = {
    "initial_delay": 30,
    "period": 10,
    "timeout": 2,
    "success_threshold": 1,
    "failure_threshold": 5,
}
MAX_AUTOSCALE = {
    "min_instances": 3,
    "max_instances": 20,
    "target_cpu_percent": 75,
    "scale_in_cpu_percent": 25,
    "cooldown_minutes": 10,
}
MAX_ALERTS = {
    "latency_p95_ms": 300,
    "success_rate_min_percent": 99.5,
    "client_error_rate_max_percent": 2,
    "server_error_rate_max_percent": 0.5,
    "cpu_max_percent": 75,
    "memory_max_percent": 85,
}


# A custom container (TF Serving) with its routes, as a deployment's `environment`.
CONTAINER_ENVIRONMENT: dict[str, Any] = {
    "image": "docker.io/tensorflow/serving:2.14.1",
    "inference_config": {
        "liveness_route": {"path": "/v1/models/fraud", "port": 8501},
        "readiness_route": {"path": "/v1/models/fraud", "port": 8501},
        "scoring_route": {"path": "/v1/models/fraud:predict", "port": 8501},
    },
}


def _azure_deployment(name: str, version: int) -> dict[str, Any]:
    return {
        "name": name,
        "model": f"azureml:fraud-classifier:{version}",
        "instance_type": "Standard_DS3_v2",
    }


def defaults() -> dict[str, Any]:
    """The smallest valid azure stack: one endpoint, one deployment, everything else default."""
    return {
        "target": "azure",
        "environment": "dev",
        "tags": dict(TAGS),
        "azure": {"resource_group": "rg-ml-dev", "workspace": "mlw-dev"},
        "endpoints": [
            {
                "name": "fraud-scoring",
                "deployments": [_azure_deployment("blue", 1)],
                "traffic": {"blue": 100},
            }
        ],
    }


def waf_aligned() -> dict[str, Any]:
    """A production stack as the Well-Architected guidance would have it: blue/green at 90/10."""
    blue = _azure_deployment("blue", 7) | {
        "instance_count": 3,
        "autoscale": {"min_instances": 3, "max_instances": 10},
        "request_settings": {"request_timeout_ms": 2000},
    }
    green = _azure_deployment("green", 8) | {
        "instance_count": 3,
        "autoscale": {"min_instances": 3, "max_instances": 10},
    }
    return {
        "target": "azure",
        "environment": "prod",
        "tags": TAGS | {"data-sensitivity": "confidential"},
        "azure": {
            "resource_group": "rg-ml-prod",
            "workspace": "mlw-prod",
            "key_vault": {"name": "kv-ml-prod"},
            "private_access": {"subnet_id": SUBNET_ID, "private_dns_zone_ids": [DNS_ZONE_ID]},
            "log_analytics_workspace_id": LAW_ID,
            "action_group": {"emails": ["oncall@example.com"]},
        },
        "endpoints": [
            {
                "name": "fraud-scoring",
                "auth_mode": "aad_token",
                "deployments": [blue, green],
                "traffic": {"blue": 90, "green": 10},
            }
        ],
    }


def max() -> dict[str, Any]:
    """Every field set: two endpoints, key auth, mirror traffic, roles, all probe settings."""
    stack = waf_aligned()
    stack["tags"]["cost-center"] = "ml-platform"
    stack["azure"]["roles"] = {
        "traffic_operators": [GUID_A],
        "deployment_developers": [GUID_B],
        "key_readers": [GUID_C],
    }
    probe = dict(MAX_PROBE)
    full = {
        "name": "blue",
        "model": "azureml://registries/shared/models/fraud-classifier/versions/7",
        "environment": "azureml:sklearn-inference:3",
        "code_configuration": {"code": "azureml:fraud-code:7", "scoring_script": "score.py"},
        "instance_type": "Standard_DS3_v2",
        "instance_count": 3,
        "autoscale": dict(MAX_AUTOSCALE),
        "request_settings": {
            "request_timeout_ms": 180000,
            "max_concurrent_requests_per_instance": 8,
        },
        "liveness_probe": probe,
        "readiness_probe": probe | {"success_threshold": 2},
        "environment_variables": {"LOG_LEVEL": "info", "MODEL_THRESHOLD": "0.7"},
        "egress_public_network_access": "disabled",
        "app_insights_enabled": True,
        "tags": {"model-family": "gbm"},
    }
    # A custom container: the program registers its environment; the model is mounted where the
    # server reads it.
    container = {key: value for key, value in full.items() if key != "code_configuration"} | {
        "name": "shadow",
        "model_mount_path": "/var/tfserving-model-mount",
        "environment": copy.deepcopy(CONTAINER_ENVIRONMENT),
    }
    stack["endpoints"] = [
        {
            "name": "fraud-scoring",
            "description": "Card transaction fraud score",
            "auth_mode": "key",
            "public_network_access": "disabled",
            "tags": {"owner": "fraud-oncall"},
            "deployments": [full, full | {"name": "green"}, container],
            "traffic": {"blue": 75, "green": 25, "shadow": 0},
            "mirror_traffic": {"shadow": 20},
            "alerts": dict(MAX_ALERTS),
            "rollout": {"steps": [5, 25, 50, 100], "max_step_percent": 25, "bake_minutes": 15},
        },
        {
            "name": "churn-propensity",
            "auth_mode": "aml_token",
            "deployments": [_azure_deployment("gbm-v3", 3)],
            "traffic": {"gbm-v3": 100},
        },
    ]
    return stack


SCENARIOS = {"defaults": defaults, "waf_aligned": waf_aligned, "max": max}


def scenario(name: str) -> dict[str, Any]:
    """A fresh deep copy of a scenario, safe to mutate."""
    return copy.deepcopy(SCENARIOS[name]())


def with_deployment_fields(
    namespace: dict[str, Any], index: int, fields: dict[str, Any], name: str | None = None
) -> dict[str, Any]:
    """``namespace`` with its first endpoint's ``index``-th deployment (checked to be called
    ``name`` when given) changed: each field set, or removed where its value is None."""
    deployment = namespace["endpoints"][0]["deployments"][index]
    assert name is None or deployment["name"] == name
    for key, value in fields.items():
        if value is None:
            deployment.pop(key, None)
        else:
            deployment[key] = value
    return namespace


def engine_config(namespace: dict[str, Any]) -> dict[str, str]:
    """The namespace as the Pulumi engine passes config: `ml-endpoints:key` -> str or JSON."""
    return {
        f"ml-endpoints:{key}": value if isinstance(value, str) else json.dumps(value)
        for key, value in namespace.items()
    }


KUBERNETES_IMAGE = "acr.example.io/fraud:1.4.2"


def kubernetes_defaults() -> dict[str, Any]:
    """The smallest valid kubernetes stack, with both entra and key_vault so any auth_mode works."""
    return {
        "target": "kubernetes",
        "environment": "dev",
        "tags": dict(TAGS),
        "kubernetes": {
            "namespace": "ml-serving",
            "gateway": {"name": "internal", "namespace": "gateway-system"},
            "hostname": "ml.internal.example.com",
            "entra": {"tenant_id": GUID_A, "audience": "api://ml-endpoints"},
            "key_vault": {"name": "kv-ml-dev", "tenant_id": GUID_A, "client_id": GUID_B},
        },
        "endpoints": [
            {
                "name": "fraud-scoring",
                "deployments": [{"name": "blue", "image": KUBERNETES_IMAGE}],
                "traffic": {"blue": 100},
            }
        ],
    }


def kubernetes_waf_aligned() -> dict[str, Any]:
    """A production kubernetes stack: blue/green at 90/10, autoscaled, with resources."""
    stack = kubernetes_defaults()
    stack["environment"] = "prod"
    stack["tags"] = TAGS | {"data-sensitivity": "confidential"}
    base = {"resources": {"cpu": "1", "memory": "2Gi"}, "instance_count": 3}
    scale = {"autoscale": {"min_instances": 3, "max_instances": 10}}
    stack["endpoints"] = [
        {
            "name": "fraud-scoring",
            "auth_mode": "aad_token",
            "deployments": [
                {"name": "blue", "image": KUBERNETES_IMAGE} | base | scale,
                {"name": "green", "image": "acr.example.io/fraud:1.5.0"} | base | scale,
            ],
            "traffic": {"blue": 90, "green": 10},
        }
    ]
    return stack


def kubernetes_max() -> dict[str, Any]:
    """Every kubernetes field: key and token auth, a GPU, mirror traffic, all probe settings."""
    stack = kubernetes_waf_aligned()
    stack["tags"]["cost-center"] = "ml-platform"
    probe = dict(MAX_PROBE)
    full = {
        "name": "blue",
        "image": "acr.example.io/fraud@sha256:" + "a" * 64,
        "resources": {"cpu": "2", "memory": "4Gi", "gpu": 1},
        "instance_count": 3,
        "autoscale": dict(MAX_AUTOSCALE),
        "request_settings": {"request_timeout_ms": 2500, "max_concurrent_requests_per_instance": 8},
        "liveness_probe": probe,
        "readiness_probe": probe | {"success_threshold": 2},
        "environment_variables": {"LOG_LEVEL": "info", "MODEL_THRESHOLD": "0.7"},
        "tags": {"model-family": "gbm"},
    }
    stack["endpoints"] = [
        {
            "name": "fraud-scoring",
            "description": "Card transaction fraud score",
            "auth_mode": "key",
            "tags": {"owner": "fraud-oncall"},
            "deployments": [
                full,
                full | {"name": "green", "image": "acr.example.io/fraud:1.5.0"},
                full | {"name": "shadow", "image": "acr.example.io/fraud:2.0.0-rc1"},
            ],
            "traffic": {"blue": 75, "green": 25, "shadow": 0},
            "mirror_traffic": {"shadow": 20},
            "alerts": dict(MAX_ALERTS),
        },
        {
            "name": "churn-propensity",
            "auth_mode": "aad_token",
            "deployments": [{"name": "gbm-v3", "image": "acr.example.io/churn:3.0.0"}],
            "traffic": {"gbm-v3": 100},
        },
    ]
    return stack


KUBERNETES_SCENARIOS = {
    "defaults": kubernetes_defaults,
    "waf_aligned": kubernetes_waf_aligned,
    "max": kubernetes_max,
}


def kubernetes_scenario(name: str) -> dict[str, Any]:
    """A fresh deep copy of a kubernetes scenario, safe to mutate."""
    return copy.deepcopy(KUBERNETES_SCENARIOS[name]())
