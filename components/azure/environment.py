"""The environment the program registers for a deployment whose spec gives an image.

`az ml online-deployment create` registers an inline environment (image and inference_config)
before it creates the deployment; this does the same, as an ``EnvironmentVersion`` of the
workspace. An environment version is immutable once registered, so its version is derived from
its definition: the same image and routes give the same version (no change), another image or
route gives a new version (a replacement), and the old version stays in the workspace, as
registered assets do with az ml (``retain_on_delete``): a deployment that still runs it, or one
rolled back to it, keeps working.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pulumi
from pulumi_azure_native import machinelearningservices as ml

from components import naming
from components.azure.workspace import Workspace
from models.deployment import ContainerEnvironment, Route


def register_environment(
    endpoint_name: str,
    deployment_name: str,
    environment: ContainerEnvironment,
    *,
    workspace: Workspace,
    tags: dict[str, str],
    parent: pulumi.Resource,
) -> ml.EnvironmentVersion:
    """The deployment's environment version: the image and, for a server of its own, the
    routes Azure ML probes and scores on."""
    config = environment.inference_config
    name = naming.environment(endpoint_name, deployment_name)
    return ml.EnvironmentVersion(
        name,
        name=name,
        version=environment_version(environment),
        resource_group_name=workspace.resource_group,
        workspace_name=workspace.name,
        properties=ml.EnvironmentVersionPropertiesArgs(
            image=environment.image,
            inference_config=(
                ml.InferenceContainerPropertiesArgs(
                    liveness_route=_route(config.liveness_route),
                    readiness_route=_route(config.readiness_route),
                    scoring_route=_route(config.scoring_route),
                )
                if config
                else None
            ),
            os_type="Linux",
            description=f"Registered by ml-endpoints for {endpoint_name}/{deployment_name}",
            tags=tags,
        ),
        opts=pulumi.ResourceOptions(parent=parent, retain_on_delete=True),
    )


def environment_version(environment: ContainerEnvironment) -> str:
    """The version of an environment: 12 hex digits of a hash of its image and routes, so a
    changed definition is a new version and an unchanged one the same version."""
    definition: dict[str, Any] = environment.model_dump(mode="json", exclude_none=True)
    digest = hashlib.sha256(json.dumps(definition, sort_keys=True).encode()).hexdigest()
    return digest[:12]


def _route(route: Route) -> ml.RouteArgs:
    return ml.RouteArgs(path=route.path, port=route.port)
