"""An endpoint on Kubernetes: BentoML deployments behind one stable Gateway API route.

Per deployment: ServiceAccount, Deployment, ClusterIP Service, HPA and (when it can run more
than one replica) a PDB (`workload.py`). Per endpoint: the HTTPRoute with weighted backends
and mirroring plus the gateway auth policy (`route.py`), the NetworkPolicy admitting the
gateway (`network.py`), Key Vault secrets through the CSI driver for key auth
(`secrets.py`), a ServiceMonitor and PrometheusRule (`monitoring.py`). The route waits for
every Service it sends traffic to.
"""

from __future__ import annotations

import pulumi

from components import naming
from components.kubernetes.dashboard import create_dashboard
from components.kubernetes.monitoring import create_monitoring
from components.kubernetes.network import create_gateway_allow
from components.kubernetes.route import create_route
from components.kubernetes.secrets import create_secret_provider_class
from components.kubernetes.workload import create_workload
from models.endpoint import KubernetesEndpointSpec
from models.stack import KubernetesSettings


class BentoEndpoint(pulumi.ComponentResource):
    """BentoML services for one endpoint spec, reachable at https://<hostname>/<endpoint>."""

    url: pulumi.Output[str]
    traffic: pulumi.Output[dict[str, int]]
    mirror_traffic: pulumi.Output[dict[str, int]]

    def __init__(
        self,
        spec: KubernetesEndpointSpec,
        *,
        settings: KubernetesSettings,
        tags: dict[str, str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(naming.KUBERNETES_ENDPOINT_TYPE, naming.endpoint(spec.name), None, opts)
        key_vault = settings.key_vault if spec.auth_mode == "key" else None
        secret_provider = (
            create_secret_provider_class(
                spec.name,
                namespace=settings.namespace,
                key_vault=key_vault,
                tags=tags,
                parent=self,
            )
            if key_vault
            else None
        )
        workloads = [
            create_workload(
                deployment,
                endpoint_name=spec.name,
                namespace=settings.namespace,
                tags={**tags, **deployment.tags},
                key_vault=key_vault,
                secret_provider=secret_provider,
                parent=self,
            )
            for deployment in spec.deployments
        ]
        create_route(
            spec,
            settings=settings,
            tags=tags,
            depends_on=[w.service for w in workloads],
            parent=self,
        )
        create_gateway_allow(spec.name, settings=settings, tags=tags, parent=self)
        create_monitoring(spec, namespace=settings.namespace, tags=tags, parent=self)
        create_dashboard(spec, namespace=settings.namespace, tags=tags, parent=self)

        self.url = pulumi.Output.from_input(f"https://{settings.hostname}/{spec.name}")
        self.traffic = pulumi.Output.from_input(dict(spec.traffic))
        self.mirror_traffic = pulumi.Output.from_input(dict(spec.mirror_traffic))
        self.register_outputs(
            {"url": self.url, "traffic": self.traffic, "mirror_traffic": self.mirror_traffic}
        )
