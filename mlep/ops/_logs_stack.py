"""What `mlep logs` and `mlep keys rotate` read from a stack file: the endpoint (and
deployment) named on the command line, the Azure workspace path, the Kubernetes namespace.

A name that is not in the stack file is refused here (UsageError, exit 2) before any call to
Azure or a cluster. The names below are the program's contracts (components/naming.py,
components/kubernetes/labels.py), copied because mlep never imports components;
tests/test_ops_keys.py keeps the copies in step.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mlep.errors import UsageError
from mlep.ops import arm
from mlep.ops.arm import workspace_path
from mlep.stack import StackFile, StackRef
from models.endpoint import EndpointSpec
from models.stack import AzureStackConfig, KubernetesStackConfig, StackConfig

# components/kubernetes/labels.py: the selector labels of a deployment's pods, its container.
ENDPOINT_LABEL = "ml-endpoints/endpoint"
DEPLOYMENT_LABEL = "ml-endpoints/deployment"
CONTAINER_NAME = "bento"


@dataclass(frozen=True)
class Target:
    """One endpoint of one stack, validated."""

    stack: StackRef
    stack_file: StackFile
    config: StackConfig
    endpoint: EndpointSpec


def find_endpoint(project_dir: Path, stack_name: str, endpoint_name: str) -> Target:
    """The endpoint ``endpoint_name`` of the stack; UsageError when the stack has none."""
    stack = StackRef(project_dir.resolve(), stack_name)
    stack_file, config = stack.load()
    for endpoint in config.endpoints:
        if endpoint.name == endpoint_name:
            return Target(stack, stack_file, config, endpoint)
    known = ", ".join(endpoint.name for endpoint in config.endpoints)
    raise UsageError(
        f"--endpoint {endpoint_name!r}: no such endpoint in {stack.file_name} (endpoints: "
        f"{known}); fix: name one of them"
    )


def check_deployment(target: Target, deployment_name: str) -> None:
    names = [deployment.name for deployment in target.endpoint.deployments]
    if deployment_name not in names:
        raise UsageError(
            f"--deployment {deployment_name!r}: endpoint {target.endpoint.name} in "
            f"{target.stack.file_name} has no such deployment (deployments: "
            f"{', '.join(names)}); fix: name one of them"
        )


def endpoint_path(target: Target, subscription: str | None) -> str:
    """The ARM path of the endpoint (Azure stacks only)."""
    assert isinstance(target.config, AzureStackConfig)
    found = arm.subscription(subscription, target.stack_file.engine_config, target.stack.file_name)
    azure = target.config.azure
    workspace = workspace_path(found, azure.resource_group, azure.workspace)
    return f"{workspace}/onlineEndpoints/{target.endpoint.name}"


def namespace(target: Target) -> str:
    assert isinstance(target.config, KubernetesStackConfig)
    return target.config.kubernetes.namespace
