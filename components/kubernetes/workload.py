"""One deployment of a BentoML service: ServiceAccount, Deployment, Service, HPA and PDB.

The pod is hardened the way the Pod Security Standards' "restricted" profile asks: non-root,
no privilege escalation, every capability dropped, RuntimeDefault seccomp, and a read-only
root filesystem with `emptyDir` volumes where BentoML writes at runtime. Requests equal
limits (Guaranteed QoS: inference latency does not suffer from CPU throttling surprises), and
alerts compare usage with those limits.
https://kubernetes.io/docs/concepts/security/pod-security-standards/
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components import naming
from components.kubernetes import labels as lbl
from models.deployment import KubernetesDeploymentSpec, Probe
from models.stack import KubernetesKeyVault

# BentoML container images run as this user, with BENTOML_HOME below its home
# (bentoml/_internal/container/frontend/dockerfile/templates/base.j2).
BENTO_UID = 1034
BENTOML_HOME = "/home/bentoml/bentoml"
# Where BentoML writes at runtime; each gets its own emptyDir on a read-only root filesystem.
WRITABLE_PATHS = {"tmp": "/tmp", "bentoml-home": BENTOML_HOME}  # noqa: S108
SECRETS_MOUNT = "/mnt/secrets-store"
# A slow model load gets this long before liveness checks start: period x failures.
STARTUP_PERIOD_SECONDS, STARTUP_FAILURES = 10, 30
TERMINATION_GRACE_SECONDS = 30


@dataclass(frozen=True)
class SecretProvider:
    """A SecretProviderClass the pods mount (by name), and its resource (to wait for)."""

    name: str
    resource: pulumi.Resource


@dataclass(frozen=True)
class Workload:
    deployment: k8s.apps.v1.Deployment
    service: k8s.core.v1.Service


@dataclass(frozen=True)
class _Shared:
    """What the objects of one deployment share: its workload name, labels and selector; the
    Deployment, Service, HPA and PDB also share one metadata (name, namespace, labels)."""

    name: str
    namespace: str
    labels: dict[str, str]
    selector: dict[str, str]
    metadata: k8s.meta.v1.ObjectMetaArgsDict
    parent: pulumi.Resource


def create_workload(
    spec: KubernetesDeploymentSpec,
    *,
    endpoint_name: str,
    namespace: str,
    tags: dict[str, str],
    key_vault: KubernetesKeyVault | None,
    secret_provider: SecretProvider | None,
    parent: pulumi.Resource,
) -> Workload:
    """Every object of one deployment; pods mount ``secret_provider``'s Key Vault secrets."""
    name = lbl.workload_name(endpoint_name, spec.name)
    labels = lbl.labels(tags, endpoint_name, spec.name, version=lbl.image_version(spec.image))
    shared = _Shared(
        name=name,
        namespace=namespace,
        labels=labels,
        selector=lbl.selector(endpoint_name, spec.name),
        metadata=k8s.meta.v1.ObjectMetaArgsDict(name=name, namespace=namespace, labels=labels),
        parent=parent,
    )
    account = _service_account(shared, key_vault)
    deployment = _deployment(
        spec, shared, key_vault=key_vault, account=account, secret_provider=secret_provider
    )
    service = _service(shared)
    _autoscaler(spec, shared, deployment)
    if max(spec.replicas, spec.autoscale.max_instances if spec.autoscale else 1) > 1:
        _disruption_budget(shared)
    return Workload(deployment=deployment, service=service)


def _service_account(
    shared: _Shared, key_vault: KubernetesKeyVault | None
) -> k8s.core.v1.ServiceAccount:
    # Plain dicts (the SDK's TypedDict inputs) cost less to serialise than Args objects, but
    # keep a None as null: leave out what is absent.
    metadata = k8s.meta.v1.ObjectMetaArgsDict(
        name=shared.name, namespace=shared.namespace, labels=shared.labels
    )
    if key_vault:
        metadata["annotations"] = {"azure.workload.identity/client-id": key_vault.client_id}
    return k8s.core.v1.ServiceAccount(
        naming.workload_object(shared.name, "serviceaccount"),
        metadata=metadata,
        automount_service_account_token=False,
        opts=pulumi.ResourceOptions(parent=shared.parent),
    )


def _deployment(
    spec: KubernetesDeploymentSpec,
    shared: _Shared,
    *,
    key_vault: KubernetesKeyVault | None,
    account: k8s.core.v1.ServiceAccount,
    secret_provider: SecretProvider | None,
) -> k8s.apps.v1.Deployment:
    pod_labels = dict(shared.labels)
    if key_vault:
        # The AKS workload identity webhook projects a token for the CSI driver.
        pod_labels["azure.workload.identity/use"] = "true"
    return k8s.apps.v1.Deployment(
        naming.workload_object(shared.name, "deployment"),
        metadata=shared.metadata,
        spec=k8s.apps.v1.DeploymentSpecArgsDict(
            replicas=spec.replicas,
            selector=k8s.meta.v1.LabelSelectorArgsDict(match_labels=shared.selector),
            strategy=k8s.apps.v1.DeploymentStrategyArgsDict(
                type="RollingUpdate",
                rolling_update=k8s.apps.v1.RollingUpdateDeploymentArgsDict(
                    max_surge=1, max_unavailable=0
                ),
            ),
            template=k8s.core.v1.PodTemplateSpecArgsDict(
                metadata=k8s.meta.v1.ObjectMetaArgsDict(labels=pod_labels),
                spec=_pod_spec(
                    spec,
                    shared.name,
                    shared.selector,
                    secret_provider.name if secret_provider else None,
                ),
            ),
        ),
        opts=pulumi.ResourceOptions(
            parent=shared.parent,
            depends_on=[account, *([secret_provider.resource] if secret_provider else [])],
            # The HPA owns the replica count once it runs; re-applying it would undo scaling.
            ignore_changes=["spec.replicas"],
        ),
    )


def _service(shared: _Shared) -> k8s.core.v1.Service:
    return k8s.core.v1.Service(
        naming.workload_object(shared.name, "service"),
        metadata=shared.metadata,
        spec=k8s.core.v1.ServiceSpecArgsDict(
            type="ClusterIP",
            selector=shared.selector,
            ports=[
                k8s.core.v1.ServicePortArgsDict(
                    name=lbl.PORT_NAME, port=lbl.HTTP_PORT, target_port=lbl.PORT_NAME
                )
            ],
        ),
        opts=pulumi.ResourceOptions(parent=shared.parent),
    )


def _disruption_budget(shared: _Shared) -> k8s.policy.v1.PodDisruptionBudget:
    return k8s.policy.v1.PodDisruptionBudget(
        naming.workload_object(shared.name, "pdb"),
        metadata=shared.metadata,
        spec=k8s.policy.v1.PodDisruptionBudgetSpecArgsDict(
            # One pod at a time may go (node drains proceed, capacity stays).
            max_unavailable=1,
            selector=k8s.meta.v1.LabelSelectorArgsDict(match_labels=shared.selector),
        ),
        opts=pulumi.ResourceOptions(parent=shared.parent),
    )


def _pod_spec(
    spec: KubernetesDeploymentSpec,
    name: str,
    selector: dict[str, str],
    secret_provider_class: str | None,
) -> k8s.core.v1.PodSpecArgsDict:
    volumes = [
        k8s.core.v1.VolumeArgsDict(
            name=volume, empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgsDict()
        )
        for volume in WRITABLE_PATHS
    ]
    mounts = [
        k8s.core.v1.VolumeMountArgsDict(name=volume, mount_path=path)
        for volume, path in WRITABLE_PATHS.items()
    ]
    if secret_provider_class:
        volumes.append(
            k8s.core.v1.VolumeArgsDict(
                name="secrets-store",
                csi=k8s.core.v1.CSIVolumeSourceArgsDict(
                    driver="secrets-store.csi.k8s.io",
                    read_only=True,
                    volume_attributes={"secretProviderClass": secret_provider_class},
                ),
            )
        )
        mounts.append(
            k8s.core.v1.VolumeMountArgsDict(
                name="secrets-store", mount_path=SECRETS_MOUNT, read_only=True
            )
        )
    return k8s.core.v1.PodSpecArgsDict(
        service_account_name=name,
        automount_service_account_token=False,
        enable_service_links=False,
        termination_grace_period_seconds=TERMINATION_GRACE_SECONDS,
        security_context=k8s.core.v1.PodSecurityContextArgsDict(
            run_as_non_root=True,
            run_as_user=BENTO_UID,
            run_as_group=BENTO_UID,
            fs_group=BENTO_UID,
            seccomp_profile=k8s.core.v1.SeccompProfileArgsDict(type="RuntimeDefault"),
        ),
        # Spread replicas over nodes, so one node failure never takes a deployment down.
        topology_spread_constraints=[
            k8s.core.v1.TopologySpreadConstraintArgsDict(
                max_skew=1,
                topology_key="kubernetes.io/hostname",
                when_unsatisfiable="ScheduleAnyway",
                label_selector=k8s.meta.v1.LabelSelectorArgsDict(match_labels=selector),
            )
        ],
        containers=[_container(spec, mounts)],
        volumes=volumes,
    )


def _container(
    spec: KubernetesDeploymentSpec, mounts: list[k8s.core.v1.VolumeMountArgsDict]
) -> k8s.core.v1.ContainerArgsDict:
    resources = spec.resources_or_default
    quantities = {"cpu": resources.cpu, "memory": resources.memory}
    if resources.gpu:
        quantities["nvidia.com/gpu"] = str(resources.gpu)
    env = {
        **spec.environment_variables,
        "BENTOML_DO_NOT_TRACK": "True",
        "BENTOML_HOME": BENTOML_HOME,
    }
    http_get = k8s.core.v1.HTTPGetActionArgsDict(path="/livez", port=lbl.PORT_NAME)
    return k8s.core.v1.ContainerArgsDict(
        name=lbl.CONTAINER_NAME,
        image=spec.image,
        image_pull_policy="IfNotPresent",
        ports=[
            k8s.core.v1.ContainerPortArgsDict(
                name=lbl.PORT_NAME, container_port=lbl.HTTP_PORT, protocol="TCP"
            )
        ],
        env=[
            k8s.core.v1.EnvVarArgsDict(name=key, value=value) for key, value in sorted(env.items())
        ],
        resources=k8s.core.v1.ResourceRequirementsArgsDict(requests=quantities, limits=quantities),
        startup_probe=k8s.core.v1.ProbeArgsDict(
            http_get=http_get,
            period_seconds=STARTUP_PERIOD_SECONDS,
            failure_threshold=STARTUP_FAILURES,
            timeout_seconds=spec.liveness_probe.timeout,
        ),
        liveness_probe=_probe(spec.liveness_probe, "/livez"),
        readiness_probe=_probe(spec.readiness_probe, "/readyz"),
        security_context=k8s.core.v1.SecurityContextArgsDict(
            allow_privilege_escalation=False,
            read_only_root_filesystem=True,
            run_as_non_root=True,
            privileged=False,
            capabilities=k8s.core.v1.CapabilitiesArgsDict(drop=["ALL"]),
            seccomp_profile=k8s.core.v1.SeccompProfileArgsDict(type="RuntimeDefault"),
        ),
        volume_mounts=mounts,
    )


def _probe(probe: Probe, path: str) -> k8s.core.v1.ProbeArgsDict:
    return k8s.core.v1.ProbeArgsDict(
        http_get=k8s.core.v1.HTTPGetActionArgsDict(path=path, port=lbl.PORT_NAME),
        initial_delay_seconds=probe.initial_delay,
        period_seconds=probe.period,
        timeout_seconds=probe.timeout,
        success_threshold=probe.success_threshold,
        failure_threshold=probe.failure_threshold,
    )


def _autoscaler(
    spec: KubernetesDeploymentSpec, shared: _Shared, deployment: k8s.apps.v1.Deployment
) -> k8s.autoscaling.v2.HorizontalPodAutoscaler:
    """Every deployment gets one HPA; without `autoscale` it pins min = max = instance_count."""
    scale = spec.autoscale
    minimum = scale.min_instances if scale else spec.replicas
    maximum = scale.max_instances if scale else spec.replicas
    target = scale.target_cpu_percent if scale else 70
    cooldown_seconds = (scale.cooldown_minutes if scale else 5) * 60
    return k8s.autoscaling.v2.HorizontalPodAutoscaler(
        naming.workload_object(shared.name, "hpa"),
        metadata=shared.metadata,
        spec=k8s.autoscaling.v2.HorizontalPodAutoscalerSpecArgsDict(
            scale_target_ref=k8s.autoscaling.v2.CrossVersionObjectReferenceArgsDict(
                api_version="apps/v1", kind="Deployment", name=shared.name
            ),
            min_replicas=minimum,
            max_replicas=maximum,
            metrics=[
                k8s.autoscaling.v2.MetricSpecArgsDict(
                    type="Resource",
                    resource=k8s.autoscaling.v2.ResourceMetricSourceArgsDict(
                        name="cpu",
                        target=k8s.autoscaling.v2.MetricTargetArgsDict(
                            type="Utilization", average_utilization=target
                        ),
                    ),
                )
            ],
            behavior=k8s.autoscaling.v2.HorizontalPodAutoscalerBehaviorArgsDict(
                scale_down=k8s.autoscaling.v2.HPAScalingRulesArgsDict(
                    stabilization_window_seconds=cooldown_seconds,
                    policies=[
                        k8s.autoscaling.v2.HPAScalingPolicyArgsDict(
                            type="Pods", value=1, period_seconds=60
                        )
                    ],
                ),
            ),
        ),
        opts=pulumi.ResourceOptions(parent=shared.parent, depends_on=[deployment]),
    )
