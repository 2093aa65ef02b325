"""An Azure ML managed online endpoint, its deployments and its traffic, from one AzureEndpointSpec.

Why traffic is a separate resource
----------------------------------
Azure ML keeps traffic on the endpoint itself (azure-native has no traffic resource), yet it
rejects traffic that names a deployment which does not exist yet, and deployments can only be
created inside an existing endpoint. Declaring traffic on the OnlineEndpoint resource would
need the deployments before the endpoint and the endpoint before the deployments. So one
`pulumi up` runs in three steps:

1. ``OnlineEndpoint`` creates the endpoint once, without traffic. Every later change to it is
   ignored here (``ignore_changes``), because azure-native updates with a full PUT and a PUT
   without ``traffic`` would silently reset the live split.
2. One ``OnlineDeployment`` per deployment, each waiting for the endpoint.
3. The traffic resource: an incremental ARM template deployment that PUTs the endpoint with
   its complete definition *and* ``traffic``/``mirrorTraffic``, waiting for every deployment.
   It is the only writer of the endpoint after creation, so every endpoint update carries the
   traffic from the spec and none can reset it. Deleting this record never touches the
   endpoint (incremental mode keeps what it deployed).

Removing a deployment in the same change that moves its traffic away works in one `pulumi up`:
Pulumi runs creates and updates (the traffic PUT) before deletes, so Azure never sees a delete
of a deployment that still has traffic. Deployments and the traffic record are
``deleted_with`` the endpoint, because Azure deletes them with it.

Trade-offs: a preview shows endpoint setting changes on the traffic resource rather than on
the endpoint; `pulumi refresh` reports drift on the endpoint's ignored properties; each change
adds an entry to the resource group's deployment history (ARM prunes it at 800).
See https://learn.microsoft.com/azure/machine-learning/how-to-safely-rollout-online-endpoints
"""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi_azure_native import authorization, resources
from pulumi_azure_native import machinelearningservices as ml

from components import naming
from components.azure.alerts import create_endpoint_alerts
from components.azure.arm import literal
from components.azure.autoscale import create_autoscale
from components.azure.dashboard import create_dashboard
from components.azure.diagnostics import create_diagnostics
from components.azure.environment import register_environment
from components.azure.identity import create_identity
from components.azure.keys import store_endpoint_keys
from components.azure.workspace import Workspace
from models.deployment import AzureDeploymentSpec, ContainerEnvironment, Probe
from models.endpoint import AzureEndpointSpec
from models.stack import AzureSettings

# The API version azure-native 3.29 uses for OnlineEndpoint; the traffic PUT uses the same one.
ENDPOINT_API_VERSION = "2025-12-01"
ENDPOINT_ARM_TYPE = "Microsoft.MachineLearningServices/workspaces/onlineEndpoints"

AUTH_MODES = {"key": "Key", "aml_token": "AMLToken", "aad_token": "AADToken"}
NETWORK_ACCESS = {"enabled": "Enabled", "disabled": "Disabled"}


def iso_seconds(seconds: float) -> str:
    """Seconds as an ISO-8601 duration, the form Azure ML probe and timeout fields take."""
    whole = int(seconds)
    return f"PT{whole}S" if whole == seconds else f"PT{seconds:g}S"


def asset_id(reference: str, kind: str, workspace_id: pulumi.Output[str]) -> pulumi.Output[str]:
    """Resolve the CLI shorthand ``azureml:NAME:VERSION`` to the ARM id the API expects.

    Registry paths (``azureml://...``) and resource ids are passed through unchanged.
    """
    if reference.startswith("azureml:") and not reference.startswith("azureml://"):
        _, name, version = reference.split(":", 2)
        return workspace_id.apply(lambda ws: f"{ws}/{kind}/{name}/versions/{version}")
    return pulumi.Output.from_input(reference)


class AzureOnlineEndpoint(pulumi.ComponentResource):
    """An online endpoint with blue/green deployments and a traffic split that waits for them."""

    endpoint_name: pulumi.Output[str]
    endpoint_id: pulumi.Output[str]
    scoring_uri: pulumi.Output[str]
    principal_id: pulumi.Output[str]
    client_id: pulumi.Output[str]
    traffic: pulumi.Output[dict[str, int]]
    mirror_traffic: pulumi.Output[dict[str, int]]
    key_secret_uris: dict[str, pulumi.Output[str]]

    def __init__(
        self,
        spec: AzureEndpointSpec,
        *,
        workspace: Workspace,
        settings: AzureSettings,
        tags: dict[str, str],
        protect: bool,
        action_group_id: pulumi.Input[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(naming.AZURE_ENDPOINT_TYPE, naming.endpoint(spec.name), None, opts)
        self._spec = spec
        self._workspace = workspace
        self._tags = tags

        identity = create_identity(spec.name, workspace=workspace, tags=tags, parent=self)
        self._identity = identity.identity
        endpoint = self._create_endpoint(protect)
        deployments = [
            self._create_deployment(endpoint, d, identity.role_assignments)
            for d in spec.deployments
        ]
        self._create_traffic(endpoint, deployments)
        self._create_autoscale(deployments)
        self._create_monitoring(
            endpoint, deployments, settings.log_analytics_workspace_id, action_group_id
        )
        self.key_secret_uris = self._create_keys(endpoint, settings)

        self.endpoint_name = endpoint.name
        self.endpoint_id = endpoint.id
        self.scoring_uri = endpoint.properties.apply(lambda p: p.scoring_uri or "")
        self.principal_id = identity.identity.principal_id
        self.client_id = identity.identity.client_id
        self.traffic = pulumi.Output.from_input(dict(spec.traffic))
        self.mirror_traffic = pulumi.Output.from_input(dict(spec.mirror_traffic))
        self.register_outputs(
            {
                "endpoint_name": self.endpoint_name,
                "endpoint_id": self.endpoint_id,
                "scoring_uri": self.scoring_uri,
                "principal_id": self.principal_id,
                "client_id": self.client_id,
                "traffic": self.traffic,
                "mirror_traffic": self.mirror_traffic,
                "key_secret_uris": self.key_secret_uris,
            }
        )

    def _create_endpoint(self, protect: bool) -> ml.OnlineEndpoint:
        spec = self._spec
        return ml.OnlineEndpoint(
            naming.endpoint(spec.name),
            endpoint_name=spec.name,
            resource_group_name=self._workspace.resource_group,
            workspace_name=self._workspace.name,
            location=self._workspace.location,
            kind="Managed",
            identity=ml.ManagedServiceIdentityArgs(
                type="UserAssigned", user_assigned_identities=[self._identity.id]
            ),
            properties=ml.OnlineEndpointPropertiesArgs(
                auth_mode=AUTH_MODES[spec.auth_mode],
                public_network_access=NETWORK_ACCESS[spec.public_network_access],
                description=spec.description,
            ),
            tags=self._tags,
            opts=pulumi.ResourceOptions(
                parent=self,
                protect=protect,
                # The traffic resource applies every later change together with traffic
                # (see the module docstring); an update from here would reset traffic.
                ignore_changes=["properties", "identity", "tags"],
            ),
        )

    def _create_deployment(
        self,
        endpoint: ml.OnlineEndpoint,
        deployment: AzureDeploymentSpec,
        identity_roles: list[authorization.RoleAssignment],
    ) -> ml.OnlineDeployment:
        environment_id: pulumi.Input[str] | None = None
        if isinstance(deployment.environment, ContainerEnvironment):
            environment_id = register_environment(
                self._spec.name,
                deployment.name,
                deployment.environment,
                workspace=self._workspace,
                tags={**self._tags, **deployment.tags},
                parent=self,
            ).id
        elif deployment.environment:
            environment_id = asset_id(deployment.environment, "environments", self._workspace.id)
        return ml.OnlineDeployment(
            naming.deployment(self._spec.name, deployment.name),
            deployment_name=deployment.name,
            endpoint_name=endpoint.name,
            resource_group_name=self._workspace.resource_group,
            workspace_name=self._workspace.name,
            location=self._workspace.location,
            kind="Managed",
            sku=ml.SkuArgs(name="Default", capacity=deployment.replicas),
            properties=_deployment_properties(deployment, environment_id, self._workspace.id),
            tags={**self._tags, **deployment.tags},
            opts=pulumi.ResourceOptions(
                parent=self,
                deleted_with=endpoint,
                # The deployment pulls its image and model as the endpoint identity.
                depends_on=list(identity_roles),
                # Azure Monitor autoscale owns the instance count of an autoscaled deployment;
                # re-applying sku.capacity on every update would undo its scaling.
                ignore_changes=["sku"] if deployment.autoscale else None,
            ),
        )

    def _create_autoscale(self, deployments: list[ml.OnlineDeployment]) -> None:
        for spec, deployment in zip(self._spec.deployments, deployments, strict=True):
            if spec.autoscale:
                tags = {**self._tags, **spec.tags}
                create_autoscale(
                    endpoint_name=self._spec.name,
                    spec=spec,
                    scale=spec.autoscale,
                    deployment=deployment,
                    workspace=self._workspace,
                    tags=tags,
                    parent=self,
                )

    def _create_traffic(
        self, endpoint: ml.OnlineEndpoint, deployments: list[ml.OnlineDeployment]
    ) -> resources.Deployment:
        spec = self._spec
        return resources.Deployment(
            naming.traffic(spec.name),
            deployment_name=naming.traffic_arm_deployment(spec.name),
            resource_group_name=self._workspace.resource_group,
            properties=resources.DeploymentPropertiesArgs(
                mode=resources.DeploymentMode.INCREMENTAL,
                template=self._endpoint_template(),
            ),
            tags=self._tags,
            opts=pulumi.ResourceOptions(
                parent=self,
                # Azure rejects traffic naming a deployment that does not exist yet.
                depends_on=[endpoint, *deployments],
                deleted_with=endpoint,
            ),
        )

    def _create_monitoring(
        self,
        endpoint: ml.OnlineEndpoint,
        deployments: list[ml.OnlineDeployment],
        log_analytics_workspace_id: str | None,
        action_group_id: pulumi.Input[str] | None,
    ) -> None:
        """The dashboard (a workbook: metrics only without Log Analytics), diagnostics to Log
        Analytics, and the alerts (their rates are log queries)."""
        create_dashboard(
            self._spec,
            endpoint=endpoint,
            deployments=deployments,
            workspace=self._workspace,
            log_analytics_workspace_id=log_analytics_workspace_id,
            tags=self._tags,
            parent=self,
        )
        if not log_analytics_workspace_id:
            return
        create_diagnostics(self._spec.name, endpoint, log_analytics_workspace_id, parent=self)
        if action_group_id is not None:
            create_endpoint_alerts(
                self._spec,
                endpoint=endpoint,
                deployments=deployments,
                workspace=self._workspace,
                log_analytics_workspace_id=log_analytics_workspace_id,
                action_group_id=action_group_id,
                tags=self._tags,
                parent=self,
            )

    def _create_keys(
        self, endpoint: ml.OnlineEndpoint, settings: AzureSettings
    ) -> dict[str, pulumi.Output[str]]:
        """With key auth, the endpoint keys in Key Vault: their secret URIs by slot."""
        if self._spec.auth_mode != "key":
            return {}
        # Guaranteed by models.rules.auth_mode_fits_target.
        assert settings.key_vault is not None
        return store_endpoint_keys(
            endpoint_name=self._spec.name,
            endpoint=endpoint,
            workspace=self._workspace,
            vault_name=settings.key_vault.name,
            key_readers=list(settings.roles.key_readers),
            tags=self._tags,
            parent=self,
        )

    def _endpoint_template(self) -> dict[str, Any]:
        """An ARM template that PUTs the endpoint with its full definition and its traffic.

        Every string in it is data (description, tags, traffic keys, names), none an expression
        of ours, yet ARM evaluates any string, tag keys included, that starts with ``[`` and ends
        with ``]``. So the whole template goes through ``arm.literal``, which adds ARM's escape
        (a second ``[``) to exactly those strings: ``[reference('x')]`` arrives as text, and
        every ordinary value stays byte-identical. Passing user values as template parameter
        values instead (ARM never evaluates those) would change every recorded template, an
        update of every traffic resource, for the same guarantee. An expression added here one
        day must be set after ``literal``.
        """
        spec = self._spec
        properties: dict[str, Any] = {
            "authMode": AUTH_MODES[spec.auth_mode],
            "publicNetworkAccess": NETWORK_ACCESS[spec.public_network_access],
            "traffic": dict(spec.traffic),
            "mirrorTraffic": dict(spec.mirror_traffic),
        }
        if spec.description:
            properties["description"] = spec.description
        template: dict[str, Any] = {
            "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
            "contentVersion": "1.0.0.0",
            "resources": [
                {
                    "type": ENDPOINT_ARM_TYPE,
                    "apiVersion": ENDPOINT_API_VERSION,
                    "name": f"{self._workspace.name}/{spec.name}",
                    "location": self._workspace.location,
                    "kind": "Managed",
                    "identity": self._identity.id.apply(
                        lambda identity_id: {
                            "type": "UserAssigned",
                            "userAssignedIdentities": {identity_id: {}},
                        }
                    ),
                    "tags": dict(self._tags),
                    "properties": properties,
                }
            ],
        }
        return literal(template)


def _deployment_properties(
    deployment: AzureDeploymentSpec,
    environment_id: pulumi.Input[str] | None,
    workspace_id: pulumi.Output[str],
) -> ml.ManagedOnlineDeploymentArgs:
    """An OnlineDeployment's properties: the `az ml` deployment YAML in the API's words."""
    code = deployment.code_configuration
    return ml.ManagedOnlineDeploymentArgs(
        endpoint_compute_type="Managed",
        model=asset_id(deployment.model, "models", workspace_id) if deployment.model else None,
        model_mount_path=deployment.model_mount_path,
        instance_type=deployment.instance_type,
        environment_id=environment_id,
        code_configuration=(
            ml.CodeConfigurationArgs(
                code_id=asset_id(code.code, "codes", workspace_id),
                scoring_script=code.scoring_script,
            )
            if code
            else None
        ),
        scale_settings=ml.DefaultScaleSettingsArgs(scale_type="Default"),
        request_settings=ml.OnlineRequestSettingsArgs(
            request_timeout=iso_seconds(deployment.request_settings.request_timeout_ms / 1000),
            max_concurrent_requests_per_instance=(
                deployment.request_settings.max_concurrent_requests_per_instance
            ),
        ),
        liveness_probe=_probe(deployment.liveness_probe),
        readiness_probe=_probe(deployment.readiness_probe),
        environment_variables=dict(deployment.environment_variables) or None,
        egress_public_network_access=NETWORK_ACCESS[deployment.egress_public_network_access],
        app_insights_enabled=deployment.app_insights_enabled,
    )


def _probe(probe: Probe) -> ml.ProbeSettingsArgs:
    return ml.ProbeSettingsArgs(
        initial_delay=iso_seconds(probe.initial_delay),
        period=iso_seconds(probe.period),
        timeout=iso_seconds(probe.timeout),
        success_threshold=probe.success_threshold,
        failure_threshold=probe.failure_threshold,
    )
