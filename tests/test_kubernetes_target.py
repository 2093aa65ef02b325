"""The Kubernetes target, run through the real program on the mock runtime.

Each test proves one behaviour of `components/kubernetes/` as the engine would see it: the
objects registered for the shared kubernetes scenarios (`defaults`, `waf_aligned`, `max`) and
the repo's `Pulumi.staging.yaml`, asserted value by value (the cdk8s-plus way: security-critical
settings one by one, not a snapshot). Expected values come from the validated stack config, so
a default changing in `models/` moves the expectation with it; the `max` literals pin the
scenario's own numbers.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

import pytest
from ruamel.yaml import YAML

from components.kubernetes import monitoring
from mlep.engine.runtime import ProgramRun, Registration, run_program
from mlep.stack import StackRef
from models.deployment import DeploymentSpec
from models.endpoint import EndpointSpec
from models.errors import ConfigError, Problem
from models.loader import parse_stack_config
from models.stack import KubernetesSettings, StackConfig
from tests.conftest import ROOT, run_namespace
from tests.scenarios import KUBERNETES_SCENARIOS, MAX_ALERTS, kubernetes_scenario

# The scenarios plus the example stack in the repo.
STACKS = (*KUBERNETES_SCENARIOS, "staging")
ENDPOINT_LABEL = "ml-endpoints/endpoint"
DEPLOYMENT_LABEL = "ml-endpoints/deployment"
BENTOML_HOME = "/home/bentoml/bentoml"
HTTP_PORT = 3000
MAX_DIGEST_IMAGE = "acr.example.io/fraud@sha256:" + "a" * 64


# --- program runs and lookups ------------------------------------------------------------


def namespace_of(stack: str) -> dict[str, Any]:
    """The `ml-endpoints:` namespace of a scenario, or of the repo's stack file."""
    if stack in KUBERNETES_SCENARIOS:
        return kubernetes_scenario(stack)
    return StackRef(ROOT, stack).read().namespace


@functools.cache
def stack_run(stack: str) -> ProgramRun:
    """The program's run for a scenario or repo stack (cached: tests only read it)."""
    if stack in KUBERNETES_SCENARIOS:
        return run_namespace(kubernetes_scenario(stack))
    stack_file = StackRef(ROOT, stack).read()
    return run_program(
        ROOT / "__main__.py",
        project="ml-endpoints",
        stack=stack,
        config=stack_file.engine_config,
        secret_keys=stack_file.secret_keys,
    )


@functools.cache
def stack_config(stack: str) -> StackConfig:
    return parse_stack_config(namespace_of(stack), f"Pulumi.{stack}.yaml")


def kubernetes_settings(stack: str) -> KubernetesSettings:
    settings = stack_config(stack).kubernetes
    assert settings is not None
    return settings


def registrations(stack: str, kind: str) -> list[Registration]:
    return [r for r in stack_run(stack).resources if r.custom and r.inputs.get("kind") == kind]


def objects(stack: str, kind: str) -> list[dict[str, Any]]:
    return [r.inputs for r in registrations(stack, kind)]


def registration(stack: str, kind: str, name: str) -> Registration:
    """The one object of ``kind`` whose metadata.name is ``name``."""
    found = [r for r in registrations(stack, kind) if r.inputs["metadata"]["name"] == name]
    assert len(found) == 1, f"{len(found)} {kind} objects named {name!r} in {stack}"
    return found[0]


def find(stack: str, kind: str, name: str) -> dict[str, Any]:
    return registration(stack, kind, name).inputs


def workloads(stack: str) -> list[tuple[EndpointSpec, DeploymentSpec]]:
    config = stack_config(stack)
    return [(e, d) for e in config.endpoints for d in e.deployments]


def workload_name(endpoint: EndpointSpec, deployment: DeploymentSpec) -> str:
    return f"{endpoint.name}-{deployment.name}"


# Parametrize ids for the per-deployment tests of `max` (read from the raw scenario, no run).
MAX_WORKLOADS = [
    f"{e['name']}-{d['name']}"
    for e in kubernetes_scenario("max")["endpoints"]
    for d in e["deployments"]
]


def max_spec(name: str) -> tuple[EndpointSpec, DeploymentSpec]:
    (found,) = [(e, d) for e, d in workloads("max") if workload_name(e, d) == name]
    return found


def deployment(name: str, stack: str = "max") -> dict[str, Any]:
    return find(stack, "Deployment", name)


def pod_spec(name: str, stack: str = "max") -> dict[str, Any]:
    return deployment(name, stack)["spec"]["template"]["spec"]  # type: ignore[no-any-return]


def pod_labels(name: str, stack: str = "max") -> dict[str, str]:
    return deployment(name, stack)["spec"]["template"]["metadata"]["labels"]  # type: ignore[no-any-return]


def container(name: str, stack: str = "max") -> dict[str, Any]:
    (only,) = pod_spec(name, stack)["containers"]
    return only  # type: ignore[no-any-return]


def env(name: str, stack: str = "max") -> dict[str, str]:
    return {item["name"]: item["value"] for item in container(name, stack)["env"]}


def _nulls(value: Any, path: str = "") -> list[str]:
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in _nulls(item, f"{path}.{key}")]
    if isinstance(value, list):
        return [p for i, item in enumerate(value) for p in _nulls(item, f"{path}[{i}]")]
    return [path] if value is None else []


@pytest.mark.parametrize("stack", sorted(KUBERNETES_SCENARIOS))
def test_no_object_carries_a_null_field(stack: str) -> None:
    # Components pass plain dicts (the SDK's ArgsDict types); an absent field must be left
    # out, not sent as null.
    found = {
        r.urn: nulls for r in stack_run(stack).resources if r.custom and (nulls := _nulls(r.inputs))
    }
    assert found == {}


# --- pod security: every Deployment of `max`, one setting per test ---------------------------


@pytest.mark.parametrize("name", MAX_WORKLOADS)
def test_pod_runs_as_non_root(name: str) -> None:
    assert pod_spec(name)["securityContext"]["runAsNonRoot"] is True


@pytest.mark.parametrize("name", MAX_WORKLOADS)
def test_container_runs_as_non_root(name: str) -> None:
    assert container(name)["securityContext"]["runAsNonRoot"] is True


@pytest.mark.parametrize("name", MAX_WORKLOADS)
def test_container_disallows_privilege_escalation(name: str) -> None:
    assert container(name)["securityContext"]["allowPrivilegeEscalation"] is False


@pytest.mark.parametrize("name", MAX_WORKLOADS)
def test_container_root_filesystem_is_read_only(name: str) -> None:
    assert container(name)["securityContext"]["readOnlyRootFilesystem"] is True


@pytest.mark.parametrize("name", MAX_WORKLOADS)
def test_container_drops_every_capability(name: str) -> None:
    capabilities = container(name)["securityContext"]["capabilities"]
    assert capabilities["drop"] == ["ALL"]
    assert not capabilities.get("add")


@pytest.mark.parametrize("name", MAX_WORKLOADS)
def test_pod_uses_the_runtime_default_seccomp_profile(name: str) -> None:
    assert pod_spec(name)["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}


@pytest.mark.parametrize("name", MAX_WORKLOADS)
def test_container_seccomp_profile_is_runtime_default_too(name: str) -> None:
    assert container(name)["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}


@pytest.mark.parametrize("name", MAX_WORKLOADS)
def test_container_is_not_privileged(name: str) -> None:
    assert container(name)["securityContext"]["privileged"] is False


@pytest.mark.parametrize("name", MAX_WORKLOADS)
def test_pod_does_not_mount_a_service_account_token(name: str) -> None:
    assert pod_spec(name)["automountServiceAccountToken"] is False


@pytest.mark.parametrize("name", MAX_WORKLOADS)
def test_pod_runs_as_a_dedicated_service_account_named_like_the_deployment(name: str) -> None:
    assert pod_spec(name)["serviceAccountName"] == name
    account = find("max", "ServiceAccount", name)
    assert account["metadata"]["namespace"] == deployment(name)["metadata"]["namespace"]


@pytest.mark.parametrize("name", MAX_WORKLOADS)
def test_service_account_does_not_automount_its_token(name: str) -> None:
    assert find("max", "ServiceAccount", name)["automountServiceAccountToken"] is False


@pytest.mark.parametrize("name", MAX_WORKLOADS)
@pytest.mark.parametrize("path", ["/tmp", BENTOML_HOME])
def test_writable_path_is_an_empty_dir(name: str, path: str) -> None:
    (mount,) = [m for m in container(name)["volumeMounts"] if m["mountPath"] == path]
    assert not mount.get("readOnly")
    (volume,) = [v for v in pod_spec(name)["volumes"] if v["name"] == mount["name"]]
    assert "emptyDir" in volume


@pytest.mark.parametrize("name", MAX_WORKLOADS)
def test_bentoml_home_env_points_at_the_empty_dir(name: str) -> None:
    assert env(name)["BENTOML_HOME"] == BENTOML_HOME


@pytest.mark.parametrize("name", MAX_WORKLOADS)
def test_liveness_probe_gets_livez_on_the_http_port(name: str) -> None:
    assert container(name)["livenessProbe"]["httpGet"] == {"path": "/livez", "port": "http"}


@pytest.mark.parametrize("name", MAX_WORKLOADS)
def test_readiness_probe_gets_readyz_on_the_http_port(name: str) -> None:
    assert container(name)["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}


@pytest.mark.parametrize("name", MAX_WORKLOADS)
def test_startup_probe_guards_the_model_load(name: str) -> None:
    probe = container(name)["startupProbe"]
    assert probe["httpGet"]["path"] == "/livez"
    # Liveness only starts after the startup probe passes: give a slow load minutes.
    assert probe["periodSeconds"] * probe["failureThreshold"] >= 60


def probe_numbers(probe: dict[str, Any]) -> dict[str, int]:
    keys = ("initialDelaySeconds", "periodSeconds", "timeoutSeconds")
    keys += ("successThreshold", "failureThreshold")
    return {key: probe[key] for key in keys}


def spec_probe_numbers(probe: Any) -> dict[str, int]:
    return {
        "initialDelaySeconds": probe.initial_delay,
        "periodSeconds": probe.period,
        "timeoutSeconds": probe.timeout,
        "successThreshold": probe.success_threshold,
        "failureThreshold": probe.failure_threshold,
    }


@pytest.mark.parametrize("name", MAX_WORKLOADS)
def test_liveness_probe_numbers_come_from_the_spec(name: str) -> None:
    _, spec = max_spec(name)
    assert probe_numbers(container(name)["livenessProbe"]) == spec_probe_numbers(
        spec.liveness_probe
    )


@pytest.mark.parametrize("name", MAX_WORKLOADS)
def test_readiness_probe_numbers_come_from_the_spec(name: str) -> None:
    _, spec = max_spec(name)
    assert probe_numbers(container(name)["readinessProbe"]) == spec_probe_numbers(
        spec.readiness_probe
    )


def test_max_probe_settings_reach_the_container() -> None:
    probes = container("fraud-scoring-blue")
    assert probes["livenessProbe"]["initialDelaySeconds"] == 30
    assert probes["livenessProbe"]["failureThreshold"] == 5
    assert probes["readinessProbe"]["initialDelaySeconds"] == 30
    assert probes["readinessProbe"]["failureThreshold"] == 5
    assert probes["readinessProbe"]["successThreshold"] == 2


@pytest.mark.parametrize("name", MAX_WORKLOADS)
def test_container_serves_on_port_3000_named_http(name: str) -> None:
    (port,) = container(name)["ports"]
    assert (port["name"], port["containerPort"]) == ("http", HTTP_PORT)
    assert port.get("protocol", "TCP") == "TCP"


@pytest.mark.parametrize("name", MAX_WORKLOADS)
def test_requests_equal_limits_from_the_spec_resources(name: str) -> None:
    _, spec = max_spec(name)
    resources = container(name)["resources"]
    assert resources["requests"] == resources["limits"]
    wanted = spec.resources_or_default
    assert resources["limits"]["cpu"] == wanted.cpu
    assert resources["limits"]["memory"] == wanted.memory


def test_gpu_becomes_an_nvidia_gpu_limit() -> None:
    # max: fraud-scoring deployments set resources.gpu: 1.
    assert container("fraud-scoring-blue")["resources"]["limits"]["nvidia.com/gpu"] == "1"


def test_no_gpu_limit_without_a_gpu() -> None:
    # max: churn-propensity sets no resources (gpu: 0).
    resources = container("churn-propensity-gbm-v3")["resources"]
    assert "nvidia.com/gpu" not in resources["limits"]
    assert "nvidia.com/gpu" not in resources.get("requests", {})


@pytest.mark.parametrize("stack", STACKS)
def test_no_gpu_anywhere_when_no_deployment_asks(stack: str) -> None:
    for endpoint, spec in workloads(stack):
        if spec.resources_or_default.gpu:
            continue
        limits = container(workload_name(endpoint, spec), stack)["resources"]["limits"]
        assert "nvidia.com/gpu" not in limits, workload_name(endpoint, spec)


@pytest.mark.parametrize("name", MAX_WORKLOADS)
def test_env_turns_bentoml_telemetry_off(name: str) -> None:
    assert env(name)["BENTOML_DO_NOT_TRACK"] == "True"


@pytest.mark.parametrize("name", MAX_WORKLOADS)
def test_env_holds_the_spec_environment_variables(name: str) -> None:
    _, spec = max_spec(name)
    assert spec.environment_variables.items() <= env(name).items()


def test_max_environment_variables_reach_the_container() -> None:
    assert {"LOG_LEVEL": "info", "MODEL_THRESHOLD": "0.7"}.items() <= env(
        "fraud-scoring-blue"
    ).items()


@pytest.mark.parametrize("name", MAX_WORKLOADS)
def test_image_is_exactly_the_spec_image(name: str) -> None:
    _, spec = max_spec(name)
    assert container(name)["image"] == spec.image


def test_digest_image_is_kept_in_digest_form() -> None:
    assert container("fraud-scoring-blue")["image"] == MAX_DIGEST_IMAGE


def recommended_labels(endpoint: EndpointSpec, spec: DeploymentSpec) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": endpoint.name,
        "app.kubernetes.io/instance": workload_name(endpoint, spec),
        "app.kubernetes.io/component": "inference",
        "app.kubernetes.io/managed-by": "ml-endpoints",
        "app.kubernetes.io/part-of": stack_config("max").tags["application"],
    }


@pytest.mark.parametrize("name", MAX_WORKLOADS)
def test_deployment_and_pods_carry_the_recommended_labels(name: str) -> None:
    wanted = recommended_labels(*max_spec(name))
    for labels in (deployment(name)["metadata"]["labels"], pod_labels(name)):
        assert wanted.items() <= labels.items()
        assert labels["app.kubernetes.io/version"]


@pytest.mark.parametrize("name", MAX_WORKLOADS)
def test_stack_endpoint_and_deployment_tags_become_labels(name: str) -> None:
    endpoint, spec = max_spec(name)
    tags = stack_config("max").endpoint_tags(endpoint) | spec.tags
    for labels in (deployment(name)["metadata"]["labels"], pod_labels(name)):
        assert tags.items() <= labels.items()


def test_max_tags_reach_the_labels_with_the_endpoint_winning() -> None:
    labels = deployment("fraud-scoring-blue")["metadata"]["labels"]
    assert labels["owner"] == "fraud-oncall"  # the endpoint's tag over the stack's
    assert labels["cost-center"] == "ml-platform"
    assert labels["model-family"] == "gbm"


@pytest.mark.parametrize("name", MAX_WORKLOADS)
def test_selector_is_only_the_two_ml_endpoints_labels(name: str) -> None:
    endpoint, spec = max_spec(name)
    selector = deployment(name)["spec"]["selector"]
    assert selector == {"matchLabels": {ENDPOINT_LABEL: endpoint.name, DEPLOYMENT_LABEL: spec.name}}
    assert selector["matchLabels"].items() <= pod_labels(name).items()


@pytest.mark.parametrize("stack", STACKS)
def test_no_object_lands_in_the_default_namespace(stack: str) -> None:
    configured = kubernetes_settings(stack)
    for r in stack_run(stack).resources:
        if r.custom:
            namespace = r.inputs["metadata"].get("namespace")
            assert namespace == configured.namespace != "default", r.name


# --- scaling: HPA, replicas, PDB ------------------------------------------------------------


def hpa(stack: str, name: str) -> dict[str, Any]:
    return find(stack, "HorizontalPodAutoscaler", name)


@pytest.mark.parametrize("stack", STACKS)
def test_every_deployment_has_one_autoscaling_v2_hpa(stack: str) -> None:
    names = sorted(workload_name(e, d) for e, d in workloads(stack))
    hpas = objects(stack, "HorizontalPodAutoscaler")
    assert sorted(h["metadata"]["name"] for h in hpas) == names
    for h in hpas:
        assert h["apiVersion"] == "autoscaling/v2"
        assert h["spec"]["scaleTargetRef"] == {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": h["metadata"]["name"],
        }


@pytest.mark.parametrize("stack", STACKS)
def test_hpa_bounds_are_the_autoscale_bounds(stack: str) -> None:
    scaled = [(e, d) for e, d in workloads(stack) if d.autoscale]
    for endpoint, spec in scaled:
        assert spec.autoscale is not None
        h = hpa(stack, workload_name(endpoint, spec))["spec"]
        assert (h["minReplicas"], h["maxReplicas"]) == (
            spec.autoscale.min_instances,
            spec.autoscale.max_instances,
        ), workload_name(endpoint, spec)


def test_max_hpa_scales_between_3_and_20() -> None:
    h = hpa("max", "fraud-scoring-blue")["spec"]
    assert (h["minReplicas"], h["maxReplicas"]) == (3, 20)


@pytest.mark.parametrize("stack", STACKS)
def test_hpa_is_pinned_to_instance_count_without_autoscale(stack: str) -> None:
    for endpoint, spec in workloads(stack):
        if spec.autoscale:
            continue
        h = hpa(stack, workload_name(endpoint, spec))["spec"]
        assert h["minReplicas"] == h["maxReplicas"] == spec.instance_count


def test_staging_pinned_hpa_keeps_two_replicas() -> None:
    h = hpa("staging", "tabular-classifier-lr-v2")["spec"]
    assert h["minReplicas"] == h["maxReplicas"] == 2


@pytest.mark.parametrize("stack", STACKS)
def test_hpa_targets_cpu_utilization(stack: str) -> None:
    for endpoint, spec in workloads(stack):
        target = spec.autoscale.target_cpu_percent if spec.autoscale else 70
        (metric,) = hpa(stack, workload_name(endpoint, spec))["spec"]["metrics"]
        assert metric == {
            "type": "Resource",
            "resource": {
                "name": "cpu",
                "target": {"type": "Utilization", "averageUtilization": target},
            },
        }


def test_max_hpa_targets_75_percent_cpu() -> None:
    (metric,) = hpa("max", "fraud-scoring-blue")["spec"]["metrics"]
    assert metric["resource"]["target"]["averageUtilization"] == 75


@pytest.mark.parametrize("stack", STACKS)
def test_hpa_scale_down_waits_for_the_cooldown(stack: str) -> None:
    for endpoint, spec in workloads(stack):
        if not spec.autoscale:
            continue
        behavior = hpa(stack, workload_name(endpoint, spec))["spec"]["behavior"]
        window = behavior["scaleDown"]["stabilizationWindowSeconds"]
        assert window == spec.autoscale.cooldown_minutes * 60


def test_max_scale_down_window_is_ten_minutes() -> None:
    behavior = hpa("max", "fraud-scoring-blue")["spec"]["behavior"]
    assert behavior["scaleDown"]["stabilizationWindowSeconds"] == 600


@pytest.mark.parametrize("stack", STACKS)
def test_deployment_starts_at_the_spec_replicas(stack: str) -> None:
    for endpoint, spec in workloads(stack):
        replicas = deployment(workload_name(endpoint, spec), stack)["spec"]["replicas"]
        assert replicas == spec.replicas


@pytest.mark.parametrize("stack", STACKS)
def test_deployment_leaves_replicas_to_the_hpa(stack: str) -> None:
    for r in registrations(stack, "Deployment"):
        assert "spec.replicas" in r.ignore_changes, r.name


def can_scale_out(spec: DeploymentSpec) -> bool:
    return spec.replicas > 1 or bool(spec.autoscale and spec.autoscale.max_instances > 1)


@pytest.mark.parametrize("stack", STACKS)
def test_pdb_exists_iff_more_than_one_replica_can_run(stack: str) -> None:
    wanted = sorted(workload_name(e, d) for e, d in workloads(stack) if can_scale_out(d))
    pdbs = objects(stack, "PodDisruptionBudget")
    assert sorted(p["metadata"]["name"] for p in pdbs) == wanted


def test_defaults_single_replica_gets_no_pdb() -> None:
    assert objects("defaults", "PodDisruptionBudget") == []


@pytest.mark.parametrize("stack", STACKS)
def test_pdb_lets_one_pod_of_the_deployment_go(stack: str) -> None:
    for pdb in objects(stack, "PodDisruptionBudget"):
        name = pdb["metadata"]["name"]
        assert pdb["apiVersion"] == "policy/v1"
        assert pdb["spec"]["maxUnavailable"] == 1
        assert "minAvailable" not in pdb["spec"]
        assert pdb["spec"]["selector"] == deployment(name, stack)["spec"]["selector"]


# --- services ---------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_one_service_per_deployment_named_like_it(stack: str) -> None:
    names = sorted(workload_name(e, d) for e, d in workloads(stack))
    assert sorted(s["metadata"]["name"] for s in objects(stack, "Service")) == names


@pytest.mark.parametrize("stack", STACKS)
def test_services_are_cluster_ip_only(stack: str) -> None:
    for service in objects(stack, "Service"):
        assert service["spec"]["type"] == "ClusterIP"
        assert "nodePort" not in json.dumps(service)


@pytest.mark.parametrize("stack", STACKS)
def test_services_have_no_external_ips(stack: str) -> None:
    for service in objects(stack, "Service"):
        assert "externalIPs" not in service["spec"]
        assert "loadBalancerIP" not in service["spec"]


@pytest.mark.parametrize("stack", STACKS)
def test_service_maps_port_3000_to_the_http_container_port(stack: str) -> None:
    for service in objects(stack, "Service"):
        (port,) = service["spec"]["ports"]
        assert (port["port"], port["targetPort"]) == (HTTP_PORT, "http")


@pytest.mark.parametrize("stack", STACKS)
def test_service_selects_its_deployments_pods(stack: str) -> None:
    for service in objects(stack, "Service"):
        name = service["metadata"]["name"]
        selector = service["spec"]["selector"]
        assert selector == deployment(name, stack)["spec"]["selector"]["matchLabels"]
        assert selector.items() <= pod_labels(name, stack).items()


# --- the HTTPRoute -----------------------------------------------------------------------------

ROUTE_STACKS = ("waf_aligned", "max", "staging")


def route_registration(stack: str, endpoint: str) -> Registration:
    return registration(stack, "HTTPRoute", endpoint)


def route(stack: str, endpoint: str) -> dict[str, Any]:
    return find(stack, "HTTPRoute", endpoint)


def route_rule(stack: str, endpoint: str) -> dict[str, Any]:
    (rule,) = route(stack, endpoint)["spec"]["rules"]
    return rule  # type: ignore[no-any-return]


def filters(stack: str, endpoint: str, kind: str) -> list[dict[str, Any]]:
    return [f for f in route_rule(stack, endpoint).get("filters", []) if f["type"] == kind]


@pytest.mark.parametrize("stack", ROUTE_STACKS)
def test_one_gateway_api_v1_route_per_endpoint(stack: str) -> None:
    routes = objects(stack, "HTTPRoute")
    assert sorted(r["metadata"]["name"] for r in routes) == sorted(
        e.name for e in stack_config(stack).endpoints
    )
    for r in routes:
        assert r["apiVersion"] == "gateway.networking.k8s.io/v1"


@pytest.mark.parametrize("stack", ROUTE_STACKS)
def test_route_attaches_to_the_configured_gateway(stack: str) -> None:
    settings = kubernetes_settings(stack)
    for endpoint in stack_config(stack).endpoints:
        (parent,) = route(stack, endpoint.name)["spec"]["parentRefs"]
        assert parent["name"] == settings.gateway.name
        assert parent["namespace"] == settings.gateway.namespace
        assert parent.get("kind", "Gateway") == "Gateway"


@pytest.mark.parametrize("stack", ROUTE_STACKS)
def test_route_serves_only_the_configured_hostname(stack: str) -> None:
    settings = kubernetes_settings(stack)
    for endpoint in stack_config(stack).endpoints:
        assert route(stack, endpoint.name)["spec"]["hostnames"] == [settings.hostname]


@pytest.mark.parametrize("stack", ROUTE_STACKS)
def test_route_matches_the_endpoint_path_prefix(stack: str) -> None:
    for endpoint in stack_config(stack).endpoints:
        assert route_rule(stack, endpoint.name)["matches"] == [
            {"path": {"type": "PathPrefix", "value": f"/{endpoint.name}"}}
        ]


@pytest.mark.parametrize("stack", ROUTE_STACKS)
def test_route_strips_the_endpoint_prefix(stack: str) -> None:
    for endpoint in stack_config(stack).endpoints:
        (rewrite,) = filters(stack, endpoint.name, "URLRewrite")
        assert rewrite["urlRewrite"] == {
            "path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/"}
        }


@pytest.mark.parametrize("stack", ROUTE_STACKS)
def test_route_has_one_backend_per_deployment_service_on_port_3000(stack: str) -> None:
    for endpoint in stack_config(stack).endpoints:
        backends = route_rule(stack, endpoint.name)["backendRefs"]
        assert [b["name"] for b in backends] == [
            workload_name(endpoint, d) for d in endpoint.deployments
        ]
        for backend in backends:
            assert backend["port"] == HTTP_PORT
            assert backend.get("kind", "Service") == "Service"
            assert backend.get("group", "") == ""


@pytest.mark.parametrize("stack", ROUTE_STACKS)
def test_route_weights_are_the_traffic_split(stack: str) -> None:
    for endpoint in stack_config(stack).endpoints:
        weights = {b["name"]: b["weight"] for b in route_rule(stack, endpoint.name)["backendRefs"]}
        assert weights == {
            workload_name(endpoint, d): endpoint.traffic.get(d.name, 0)
            for d in endpoint.deployments
        }


@pytest.mark.parametrize("stack", ROUTE_STACKS)
def test_route_weights_are_ints_summing_to_100(stack: str) -> None:
    for endpoint in stack_config(stack).endpoints:
        weights = [b["weight"] for b in route_rule(stack, endpoint.name)["backendRefs"]]
        assert all(type(w) is int for w in weights), weights
        assert sum(weights) == 100


def test_max_route_weights_are_75_25_0() -> None:
    weights = [b["weight"] for b in route_rule("max", "fraud-scoring")["backendRefs"]]
    assert weights == [75, 25, 0]


@functools.cache
def shadow_without_traffic_run() -> ProgramRun:
    """max, with the mirror-only shadow deployment left out of `traffic`."""
    namespace = kubernetes_scenario("max")
    del namespace["endpoints"][0]["traffic"]["shadow"]
    return run_namespace(namespace)


def test_route_weight_is_0_for_a_deployment_absent_from_traffic() -> None:
    (route_object,) = [
        r.inputs
        for r in shadow_without_traffic_run().resources
        if r.inputs.get("kind") == "HTTPRoute" and r.inputs["metadata"]["name"] == "fraud-scoring"
    ]
    (rule,) = route_object["spec"]["rules"]
    weights = {b["name"]: b["weight"] for b in rule["backendRefs"]}
    assert weights == {
        "fraud-scoring-blue": 75,
        "fraud-scoring-green": 25,
        "fraud-scoring-shadow": 0,
    }


MIRRORS = [
    ("max", "fraud-scoring", "fraud-scoring-shadow", 20),
    ("staging", "tabular-classifier", "tabular-classifier-gbm-v3", 20),
]


@pytest.mark.parametrize(("stack", "endpoint", "service", "percent"), MIRRORS)
def test_mirror_traffic_becomes_a_request_mirror_filter(
    stack: str, endpoint: str, service: str, percent: int
) -> None:
    (mirror,) = filters(stack, endpoint, "RequestMirror")
    backend = mirror["requestMirror"]["backendRef"]
    assert (backend["name"], backend["port"]) == (service, HTTP_PORT)
    assert mirror["requestMirror"]["percent"] == percent


@pytest.mark.parametrize(("stack", "endpoint", "service", "percent"), MIRRORS)
def test_request_mirror_uses_percent_never_fraction(
    stack: str, endpoint: str, service: str, percent: int
) -> None:
    (mirror,) = filters(stack, endpoint, "RequestMirror")
    assert type(mirror["requestMirror"]["percent"]) is int
    assert "fraction" not in mirror["requestMirror"]


@pytest.mark.parametrize(
    ("stack", "endpoint"), [("waf_aligned", "fraud-scoring"), ("max", "churn-propensity")]
)
def test_no_request_mirror_without_mirror_traffic(stack: str, endpoint: str) -> None:
    assert filters(stack, endpoint, "RequestMirror") == []


@pytest.mark.parametrize(
    ("stack", "endpoint", "timeout"),
    [
        ("max", "fraud-scoring", "2500ms"),  # request_timeout_ms: 2500
        ("max", "churn-propensity", "5s"),  # the 5000 ms default
        ("waf_aligned", "fraud-scoring", "5s"),
        # lr-v1/lr-v2 set 2000; gbm-v3 keeps the 5000 default, and the longest wins.
        ("staging", "tabular-classifier", "5s"),
    ],
)
def test_route_request_timeout_is_the_longest_deployment_timeout(
    stack: str, endpoint: str, timeout: str
) -> None:
    assert route_rule(stack, endpoint)["timeouts"] == {"request": timeout}


@pytest.mark.parametrize("stack", ROUTE_STACKS)
def test_route_waits_for_every_service(stack: str) -> None:
    for endpoint in stack_config(stack).endpoints:
        services = {
            registration(stack, "Service", workload_name(endpoint, d)).urn
            for d in endpoint.deployments
        }
        assert services <= set(route_registration(stack, endpoint.name).dependencies)


# --- auth at the gateway -------------------------------------------------------------------------


def security_policy(stack: str, endpoint: str) -> dict[str, Any]:
    return find(stack, "SecurityPolicy", f"{endpoint}-auth")


def endpoints_with_auth(stack: str, mode: str) -> list[EndpointSpec]:
    return [e for e in stack_config(stack).endpoints if e.auth_mode == mode]


@pytest.mark.parametrize("stack", STACKS)
def test_security_policy_targets_the_endpoint_route(stack: str) -> None:
    for endpoint in stack_config(stack).endpoints:
        policy = security_policy(stack, endpoint.name)
        assert policy["apiVersion"] == "gateway.envoyproxy.io/v1alpha1"
        assert policy["spec"]["targetRefs"] == [
            {"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": endpoint.name}
        ]


@pytest.mark.parametrize("stack", STACKS)
def test_security_policy_has_exactly_one_auth_method(stack: str) -> None:
    wanted = {"aad_token": "jwt", "key": "apiKeyAuth"}
    for endpoint in stack_config(stack).endpoints:
        spec = security_policy(stack, endpoint.name)["spec"]
        methods = {"jwt", "apiKeyAuth", "basicAuth", "oidc", "extAuth"} & set(spec)
        assert methods == {wanted[endpoint.auth_mode]}, endpoint.name


@pytest.mark.parametrize("stack", ["waf_aligned", "max", "staging"])
def test_aad_token_validates_entra_jwts(stack: str) -> None:
    settings = kubernetes_settings(stack)
    assert settings.entra is not None
    login = f"https://login.microsoftonline.com/{settings.entra.tenant_id}"
    aad = endpoints_with_auth(stack, "aad_token")
    assert aad
    for endpoint in aad:
        (provider,) = security_policy(stack, endpoint.name)["spec"]["jwt"]["providers"]
        assert provider["issuer"] == f"{login}/v2.0"
        assert provider["audiences"] == [settings.entra.audience]
        assert provider["remoteJWKS"] == {"uri": f"{login}/discovery/v2.0/keys"}


def test_staging_jwt_issuer_is_the_staging_tenant() -> None:
    (provider,) = security_policy("staging", "tabular-classifier")["spec"]["jwt"]["providers"]
    tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
    assert provider["issuer"] == f"https://login.microsoftonline.com/{tenant}/v2.0"
    assert provider["audiences"] == ["api://ml-endpoints-staging"]


def test_key_auth_reads_api_keys_from_the_synced_secret() -> None:
    auth = security_policy("max", "fraud-scoring")["spec"]["apiKeyAuth"]
    assert auth["credentialRefs"] == [
        {"group": "", "kind": "Secret", "name": "fraud-scoring-api-keys"}
    ]
    assert auth["extractFrom"] == [{"headers": ["x-api-key"]}]


def secret_provider_class(stack: str, endpoint: str) -> dict[str, Any]:
    return find(stack, "SecretProviderClass", f"{endpoint}-secrets")


def test_key_auth_endpoint_has_an_azure_secret_provider_class() -> None:
    settings = kubernetes_settings("max")
    assert settings.key_vault is not None
    spc = secret_provider_class("max", "fraud-scoring")
    assert spc["apiVersion"] == "secrets-store.csi.x-k8s.io/v1"
    assert spc["spec"]["provider"] == "azure"
    parameters = spc["spec"]["parameters"]
    assert parameters["keyvaultName"] == settings.key_vault.name
    assert parameters["tenantId"] == settings.key_vault.tenant_id
    assert parameters["clientID"] == settings.key_vault.client_id
    assert parameters["usePodIdentity"] == "false"


def test_secret_provider_class_names_the_endpoints_vault_secret() -> None:
    # The driver reads `objects` as a YAML document whose array items are YAML documents.
    yaml = YAML(typ="safe", pure=True)
    parameters = secret_provider_class("max", "fraud-scoring")["spec"]["parameters"]
    items = [yaml.load(item) for item in yaml.load(parameters["objects"])["array"]]
    assert items == [{"objectName": "fraud-scoring-api-key", "objectType": "secret"}]


def test_secret_provider_class_syncs_the_key_into_the_api_key_secret() -> None:
    (synced,) = secret_provider_class("max", "fraud-scoring")["spec"]["secretObjects"]
    assert synced["secretName"] == "fraud-scoring-api-keys"
    assert [d["objectName"] for d in synced["data"]] == ["fraud-scoring-api-key"]


KEY_WORKLOADS = [name for name in MAX_WORKLOADS if name.startswith("fraud-scoring-")]
AAD_WORKLOADS = [
    ("max", "churn-propensity-gbm-v3"),
    ("waf_aligned", "fraud-scoring-blue"),
    ("staging", "tabular-classifier-lr-v1"),
]


@pytest.mark.parametrize("name", KEY_WORKLOADS)
def test_key_auth_pods_mount_the_secret_provider_class_read_only(name: str) -> None:
    (volume,) = [v for v in pod_spec(name)["volumes"] if "csi" in v]
    assert volume["csi"]["driver"] == "secrets-store.csi.k8s.io"
    assert volume["csi"]["readOnly"] is True
    assert volume["csi"]["volumeAttributes"] == {"secretProviderClass": "fraud-scoring-secrets"}
    (mount,) = [m for m in container(name)["volumeMounts"] if m["name"] == volume["name"]]
    assert mount["readOnly"] is True


@pytest.mark.parametrize("name", KEY_WORKLOADS)
def test_key_auth_pods_use_workload_identity(name: str) -> None:
    assert pod_labels(name)["azure.workload.identity/use"] == "true"


@pytest.mark.parametrize("name", KEY_WORKLOADS)
def test_key_auth_service_account_names_the_identity_client_id(name: str) -> None:
    settings = kubernetes_settings("max")
    assert settings.key_vault is not None
    annotations = find("max", "ServiceAccount", name)["metadata"]["annotations"]
    assert annotations["azure.workload.identity/client-id"] == settings.key_vault.client_id


@pytest.mark.parametrize(("stack", "name"), AAD_WORKLOADS)
def test_aad_token_pods_have_no_key_vault_plumbing(stack: str, name: str) -> None:
    assert not [v for v in pod_spec(name, stack)["volumes"] if "csi" in v]
    assert "azure.workload.identity/use" not in pod_labels(name, stack)
    account = find(stack, "ServiceAccount", name)["metadata"]
    assert "azure.workload.identity/client-id" not in account.get("annotations", {})


@pytest.mark.parametrize("stack", STACKS)
def test_secret_provider_classes_only_for_key_auth_endpoints(stack: str) -> None:
    wanted = sorted(f"{e.name}-secrets" for e in endpoints_with_auth(stack, "key"))
    found = sorted(o["metadata"]["name"] for o in objects(stack, "SecretProviderClass"))
    assert found == wanted


# --- config rules of the target (models/) ----------------------------------------------------


def problems_for(namespace: dict[str, Any]) -> list[Problem]:
    with pytest.raises(ConfigError) as info:
        parse_stack_config(namespace, "Pulumi.test.yaml")
    return info.value.problems


def only_problem(namespace: dict[str, Any], path: str) -> Problem:
    problems = problems_for(namespace)
    assert [p.path for p in problems] == [path], [(p.path, p.message) for p in problems]
    assert problems[0].message.strip()
    assert problems[0].fix.strip()
    return problems[0]


def test_rejects_aml_token_on_kubernetes() -> None:
    namespace = kubernetes_scenario("defaults")
    namespace["endpoints"][0]["auth_mode"] = "aml_token"
    problem = only_problem(namespace, "endpoints[0].auth_mode")
    assert problem.value == "aml_token"


def test_rejects_aad_token_without_entra() -> None:
    namespace = kubernetes_scenario("defaults")
    namespace["endpoints"][0]["auth_mode"] = "aad_token"
    del namespace["kubernetes"]["entra"]
    problem = only_problem(namespace, "endpoints[0].auth_mode")
    assert "entra" in problem.message


def test_rejects_key_auth_without_key_vault() -> None:
    namespace = kubernetes_scenario("defaults")
    namespace["endpoints"][0]["auth_mode"] = "key"
    del namespace["kubernetes"]["key_vault"]
    problem = only_problem(namespace, "endpoints[0].auth_mode")
    assert "key_vault" in problem.message


def with_names(endpoint_name: str, deployment_name: str) -> dict[str, Any]:
    namespace = kubernetes_scenario("defaults")
    endpoint = namespace["endpoints"][0]
    endpoint["name"] = endpoint_name
    endpoint["deployments"][0]["name"] = deployment_name
    endpoint["traffic"] = {deployment_name: 100}
    return namespace


def test_rejects_an_endpoint_and_deployment_name_over_63_characters() -> None:
    namespace = with_names("e" * 32, "d" * 31)  # "<32>-<31>": 64 characters
    problem = only_problem(namespace, "endpoints[0].deployments[0].name")
    assert "64" in problem.message
    assert problem.value == "d" * 31


def test_accepts_an_endpoint_and_deployment_name_of_63_characters() -> None:
    config = parse_stack_config(with_names("e" * 32, "d" * 30), "Pulumi.test.yaml")
    assert len(f"{config.endpoints[0].name}-{config.endpoints[0].deployments[0].name}") == 63


# --- network policies ----------------------------------------------------------------------


def network_policies(stack: str) -> dict[str, dict[str, Any]]:
    return {p["metadata"]["name"]: p for p in objects(stack, "NetworkPolicy")}


def default_denies(stack: str) -> list[dict[str, Any]]:
    return [p for p in network_policies(stack).values() if "Egress" in p["spec"]["policyTypes"]]


@pytest.mark.parametrize("stack", STACKS)
def test_one_stack_wide_default_deny(stack: str) -> None:
    (deny,) = default_denies(stack)
    assert deny["spec"]["podSelector"] == {
        "matchExpressions": [{"key": ENDPOINT_LABEL, "operator": "Exists"}]
    }


@pytest.mark.parametrize("stack", STACKS)
def test_default_deny_blocks_ingress_and_egress(stack: str) -> None:
    (deny,) = default_denies(stack)
    assert sorted(deny["spec"]["policyTypes"]) == ["Egress", "Ingress"]
    assert not deny["spec"].get("ingress")
    assert not deny["spec"].get("egress")


@pytest.mark.parametrize("stack", STACKS)
def test_one_allow_policy_per_endpoint(stack: str) -> None:
    policies = network_policies(stack)
    for endpoint in stack_config(stack).endpoints:
        allow = policies[f"{endpoint.name}-allow-gateway"]
        assert allow["spec"]["podSelector"] == {"matchLabels": {ENDPOINT_LABEL: endpoint.name}}
        assert allow["spec"]["policyTypes"] == ["Ingress"]
    assert len(policies) == len(stack_config(stack).endpoints) + 1


@pytest.mark.parametrize("stack", STACKS)
def test_allow_admits_only_the_gateway_proxies_and_scraper_namespaces(stack: str) -> None:
    settings = kubernetes_settings(stack)
    # Envoy Gateway runs a Gateway's proxies in its own namespace by default: they are
    # selected by the labels naming the Gateway they serve, in any namespace ({}).
    gateway_proxies = {
        "namespaceSelector": {},
        "podSelector": {
            "matchLabels": {
                "gateway.envoyproxy.io/owning-gateway-name": settings.gateway.name,
                "gateway.envoyproxy.io/owning-gateway-namespace": settings.gateway.namespace,
            }
        },
    }
    scrapers = {"namespaceSelector": {"matchLabels": {"ml-endpoints/metrics-scraper": "true"}}}
    wanted = [gateway_proxies, scrapers]
    for endpoint in stack_config(stack).endpoints:
        rules = network_policies(stack)[f"{endpoint.name}-allow-gateway"]["spec"]["ingress"]
        peers = [peer for rule in rules for peer in rule["from"]]
        assert sorted(peers, key=json.dumps) == sorted(wanted, key=json.dumps)


@pytest.mark.parametrize("stack", STACKS)
def test_allow_admits_only_tcp_3000(stack: str) -> None:
    for endpoint in stack_config(stack).endpoints:
        rules = network_policies(stack)[f"{endpoint.name}-allow-gateway"]["spec"]["ingress"]
        for rule in rules:
            assert rule["ports"] == [{"port": HTTP_PORT, "protocol": "TCP"}]


# --- monitoring -------------------------------------------------------------------------------


def service_monitor(stack: str, endpoint: str) -> dict[str, Any]:
    return find(stack, "ServiceMonitor", endpoint)


def rules(stack: str, endpoint: str) -> list[dict[str, Any]]:
    groups = find(stack, "PrometheusRule", endpoint)["spec"]["groups"]
    return [rule for group in groups for rule in group["rules"]]


def all_rules(stack: str) -> list[dict[str, Any]]:
    return [rule for e in stack_config(stack).endpoints for rule in rules(stack, e.name)]


@pytest.mark.parametrize("stack", STACKS)
def test_service_monitor_selects_the_endpoints_services(stack: str) -> None:
    settings = kubernetes_settings(stack)
    for endpoint in stack_config(stack).endpoints:
        spec = service_monitor(stack, endpoint.name)["spec"]
        assert spec["namespaceSelector"] == {"matchNames": [settings.namespace]}
        selected = {
            s["metadata"]["name"]
            for s in objects(stack, "Service")
            if spec["selector"]["matchLabels"].items() <= s["metadata"]["labels"].items()
        }
        assert selected == {workload_name(endpoint, d) for d in endpoint.deployments}


@pytest.mark.parametrize("stack", STACKS)
def test_service_monitor_scrapes_metrics_on_the_http_port(stack: str) -> None:
    for endpoint in stack_config(stack).endpoints:
        (scrape,) = service_monitor(stack, endpoint.name)["spec"]["endpoints"]
        assert (scrape["port"], scrape["path"]) == ("http", "/metrics")


@pytest.mark.parametrize("stack", STACKS)
def test_service_monitor_labels_series_with_endpoint_and_deployment(stack: str) -> None:
    for endpoint in stack_config(stack).endpoints:
        (scrape,) = service_monitor(stack, endpoint.name)["spec"]["endpoints"]
        copied = {
            r["targetLabel"]: r["sourceLabels"]
            for r in scrape["relabelings"]
            if r.get("action", "replace") == "replace"
        }
        # Prometheus turns every character outside [a-zA-Z0-9_] of a pod label into `_`.
        assert copied == {
            "mlep_endpoint": ["__meta_kubernetes_pod_label_ml_endpoints_endpoint"],
            "mlep_deployment": ["__meta_kubernetes_pod_label_ml_endpoints_deployment"],
        }


@pytest.mark.parametrize("stack", STACKS)
def test_six_alerts_per_endpoint(stack: str) -> None:
    for endpoint in stack_config(stack).endpoints:
        names = [rule["alert"] for rule in rules(stack, endpoint.name)]
        assert len(names) == len(set(names)) == 6, names


# alert name suffix -> (threshold field, comparison, what the expression must read)
ALERTS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "LatencyP95High": (
        "latency_p95_ms",
        ">",
        (
            "histogram_quantile(0.95,",
            "bentoml_service_request_duration_seconds_bucket",
            "1000 *",  # seconds -> the threshold's milliseconds
        ),
    ),
    "SuccessRateLow": (
        "success_rate_min_percent",
        "<",
        ("bentoml_service_request_total", 'http_response_code=~"2.."', " / "),
    ),
    "ClientErrorRateHigh": (
        "client_error_rate_max_percent",
        ">",
        ("bentoml_service_request_total", 'http_response_code=~"4.."', " / "),
    ),
    "ServerErrorRateHigh": (
        "server_error_rate_max_percent",
        ">",
        ("bentoml_service_request_total", 'http_response_code=~"5.."', " / "),
    ),
    "CpuHigh": (
        "cpu_max_percent",
        ">",
        (
            "container_cpu_usage_seconds_total",
            "kube_pod_container_resource_limits",
            'resource="cpu"',
        ),
    ),
    "MemoryHigh": (
        "memory_max_percent",
        ">",
        (
            "container_memory_working_set_bytes",
            "kube_pod_container_resource_limits",
            'resource="memory"',
        ),
    ),
}
# The threshold comparison: last in the expression, or just before the share alerts' minimum
# volume (`and on (mlep_deployment) (... >= min_requests)`).
COMPARISON = re.compile(
    r"(>=|<=|==|!=|>|<)\s*(-?[0-9]+(?:\.[0-9]+)?)\)?(?: and on \(mlep_deployment\) \(.*\))?\s*$"
)


def alert(stack: str, endpoint: str, suffix: str) -> dict[str, Any]:
    (found,) = [r for r in rules(stack, endpoint) if r["alert"].endswith(suffix)]
    return found


def flat(expr: str) -> str:
    return " ".join(expr.split())


@pytest.mark.parametrize("stack", ["defaults", "max", "staging"])
@pytest.mark.parametrize("suffix", sorted(ALERTS))
def test_alert_reads_the_right_metrics(stack: str, suffix: str) -> None:
    for endpoint in stack_config(stack).endpoints:
        expr = flat(alert(stack, endpoint.name, suffix)["expr"])
        for needle in ALERTS[suffix][2]:
            assert needle in expr, (endpoint.name, needle, expr)
        assert f'mlep_endpoint="{endpoint.name}"' in expr or endpoint.name in expr


@pytest.mark.parametrize("stack", ["defaults", "max", "staging"])
@pytest.mark.parametrize("suffix", sorted(ALERTS))
def test_alert_threshold_comes_from_the_spec(stack: str, suffix: str) -> None:
    field, operator, _ = ALERTS[suffix]
    for endpoint in stack_config(stack).endpoints:
        match = COMPARISON.search(flat(alert(stack, endpoint.name, suffix)["expr"]))
        assert match, alert(stack, endpoint.name, suffix)["expr"]
        assert match.group(1) == operator
        assert float(match.group(2)) == float(getattr(endpoint.alerts, field))


def test_max_thresholds_are_the_scenario_numbers() -> None:
    thresholds = []
    for suffix in ALERTS:
        match = COMPARISON.search(flat(alert("max", "fraud-scoring", suffix)["expr"]))
        assert match
        thresholds.append(float(match.group(2)))
    assert thresholds == [300, 99.5, 2, 0.5, 75, 85]
    assert thresholds == [float(MAX_ALERTS[ALERTS[s][0]]) for s in ALERTS]


@pytest.mark.parametrize("stack", STACKS)
def test_every_alert_expression_has_a_comparison(stack: str) -> None:
    for rule in all_rules(stack):
        assert COMPARISON.search(flat(rule["expr"])), rule["alert"]


@pytest.mark.parametrize("stack", STACKS)
def test_every_alert_waits_before_firing(stack: str) -> None:
    for rule in all_rules(stack):
        assert re.fullmatch(r"[1-9][0-9]*[smh]", rule["for"]), rule["alert"]


@pytest.mark.parametrize("stack", STACKS)
def test_every_alert_has_a_severity_label(stack: str) -> None:
    for rule in all_rules(stack):
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}, rule["alert"]


@pytest.mark.parametrize("stack", STACKS)
def test_every_alert_has_summary_and_runbook_url(stack: str) -> None:
    for rule in all_rules(stack):
        assert rule["annotations"]["summary"].strip(), rule["alert"]
        assert rule["annotations"]["runbook_url"].startswith("https://"), rule["alert"]


def test_resource_alerts_select_only_this_endpoints_pods() -> None:
    # Endpoint `fraud` must not pick up the pods of endpoint `fraud-scoring`.
    namespace = kubernetes_scenario("defaults")
    namespace["endpoints"][0]["name"] = "fraud"
    config = parse_stack_config(namespace, "Pulumi.test.yaml")
    (cpu,) = [a for a in monitoring.alerts(config.endpoints[0], "ml-serving") if "Cpu" in a.name]
    (pattern,) = re.findall(r'pod=~"([^"]+)"', cpu.expr)[:1]
    assert re.fullmatch(pattern, "fraud-blue-5d9c8f7b6-x7k2p")
    assert not re.fullmatch(pattern, "fraud-scoring-blue-5d9c8f7b6-x7k2p")
