"""What `mlep status` and `mlep invoke` take from the stack file: the endpoints asked about and,
for Azure, where they live in Resource Manager. Bad names are UsageError (exit 2)."""

from __future__ import annotations

import argparse

from mlep.errors import UsageError
from mlep.ops import arm
from mlep.ops.arm import workspace_path
from mlep.stack import StackRef
from mlep.stack.files import StackFile
from models.endpoint import EndpointSpec
from models.stack import AzureStackConfig, StackConfig

# The bento's API behind the route (`https://<hostname>/<endpoint>/predict`; the route strips
# the endpoint prefix: components/kubernetes/route.py).
API_PATH = "/predict"


# The Kubernetes target's workload name (components/kubernetes/labels.py; the command line does
# not import components, and tests/test_ops_status.py checks the two agree).
def workload_name(endpoint: str, deployment: str) -> str:
    return f"{endpoint}-{deployment}"


def load(args: argparse.Namespace) -> tuple[StackFile, StackConfig]:
    return StackRef(args.project_dir.resolve(), args.stack).load()


def endpoint(config: StackConfig, stack: str, name: str) -> EndpointSpec:
    for spec in config.endpoints:
        if spec.name == name:
            return spec
    known = ", ".join(spec.name for spec in config.endpoints)
    raise UsageError(
        f"--endpoint {name}: Pulumi.{stack}.yaml has no such endpoint; fix: use one of {known}"
    )


def deployment(spec: EndpointSpec, name: str) -> str:
    names = [d.name for d in spec.deployments]
    if name not in names:
        raise UsageError(
            f"--deployment {name}: endpoint {spec.name} has no such deployment in the stack "
            f"file; fix: use one of {', '.join(names)}"
        )
    return name


def endpoint_path(
    config: AzureStackConfig, stack_file: StackFile, subscription: str | None, name: str
) -> str:
    """The online endpoint's Resource Manager id."""
    found = arm.subscription(subscription, stack_file.engine_config, stack_file.path.name)
    azure = config.azure
    return f"{workspace_path(found, azure.resource_group, azure.workspace)}/onlineEndpoints/{name}"
