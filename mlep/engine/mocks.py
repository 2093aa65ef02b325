"""The mocks that stand in for Azure and Kubernetes while the program runs offline.

They answer the engine's questions with deterministic, clearly fake values: ids built from
the resource's inputs, computed outputs the program reads (scoring URIs, principal ids, the
workspace's registry and storage account), and recognisable fake endpoint keys that tests
prove never reach the plan, the outputs or the logs.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pulumi

from mlep.engine.sdk import SECRET_SIG, SIG_KEY

MOCK_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
MOCK_LOCATION = "westeurope"
MOCK_PRIMARY_KEY = "mock-primary-key-must-never-be-printed"
MOCK_SECONDARY_KEY = "mock-secondary-key-must-never-be-printed"
_MOCK_NAMESPACE = uuid.UUID("6d1f0c3e-2b8a-4f7e-9c55-1a0e6b3d9f42")


class PlanMocks(pulumi.runtime.Mocks):
    """Answers the engine's questions with deterministic, clearly fake values.

    ``new_resource`` sees a resource's inputs in the engine's wire form (sdk.WireMonitor), or
    as Python values on the public path (sdk.PublicMonitor): both read the same here, except a
    secret, which arrives wrapped in wire form and unwrapped in Python.
    """

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        state = dict(args.inputs)
        resource_id = _mock_id(args.typ, args.name, state)
        if args.typ == "azure-native:machinelearningservices:OnlineEndpoint":
            name = state.get("endpointName", args.name)
            location = state.get("location", MOCK_LOCATION)
            properties = dict(state.get("properties", {}))
            properties["scoringUri"] = f"https://{name}.{location}.inference.ml.azure.com/score"
            state["properties"] = properties
            state["name"] = name
            identity = dict(state.get("identity", {}))
            if isinstance(identity.get("userAssignedIdentities"), list):
                # Inputs list identity ids; the API answers with a map keyed by id.
                identity["userAssignedIdentities"] = {
                    identity_id: {} for identity_id in identity["userAssignedIdentities"]
                }
                state["identity"] = identity
        elif args.typ == "azure-native:managedidentity:UserAssignedIdentity":
            state["principalId"] = str(uuid.uuid5(_MOCK_NAMESPACE, f"principal/{resource_id}"))
            state["clientId"] = str(uuid.uuid5(_MOCK_NAMESPACE, f"client/{resource_id}"))
        elif args.typ == "azure-native:keyvault:Secret":
            uri = (
                f"https://{state.get('vaultName')}.vault.azure.net/secrets/"
                f"{state.get('secretName', args.name)}"
            )
            properties = state.get("properties", {})
            if properties.get(SIG_KEY) == SECRET_SIG:
                # The object holding a secret value arrives wrapped as a whole.
                properties = {**properties, "value": {**properties["value"], "secretUri": uri}}
            else:
                properties = {**properties, "secretUri": uri}
            state["properties"] = properties
        return resource_id, state

    def call(
        self, args: pulumi.runtime.MockCallArgs
    ) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        if args.token == "azure-native:machinelearningservices:getWorkspace":
            group, name = args.args["resourceGroupName"], args.args["workspaceName"]
            compact = name.replace("-", "")
            workspace = {
                "id": _arm_id(group, f"Microsoft.MachineLearningServices/workspaces/{name}"),
                "name": name,
                "location": MOCK_LOCATION,
                "containerRegistry": _arm_id(
                    group, f"Microsoft.ContainerRegistry/registries/cr{compact}"
                ),
                "storageAccount": _arm_id(group, f"Microsoft.Storage/storageAccounts/st{compact}"),
            }
            return workspace, []
        if args.token == "azure-native:machinelearningservices:listOnlineEndpointKeys":
            # Recognisable fakes: tests assert these never reach the plan, outputs or logs.
            return {"primaryKey": MOCK_PRIMARY_KEY, "secondaryKey": MOCK_SECONDARY_KEY}, []
        return {}, []


def _arm_id(group: str, provider_path: str) -> str:
    return f"/subscriptions/{MOCK_SUBSCRIPTION}/resourceGroups/{group}/providers/{provider_path}"


_ML_WORKSPACE = "Microsoft.MachineLearningServices/workspaces"

# ARM paths (below the resource group) of the resource types whose ids the program reads.
_ID_PATHS: dict[str, Callable[[dict[str, Any], str], str]] = {
    "azure-native:machinelearningservices:OnlineEndpoint": lambda s, n: (
        f"{_ML_WORKSPACE}/{s.get('workspaceName')}/onlineEndpoints/{s.get('endpointName', n)}"
    ),
    "azure-native:machinelearningservices:OnlineDeployment": lambda s, n: (
        f"{_ML_WORKSPACE}/{s.get('workspaceName')}/onlineEndpoints/{s.get('endpointName')}"
        f"/deployments/{s.get('deploymentName', n)}"
    ),
    "azure-native:machinelearningservices:EnvironmentVersion": lambda s, n: (
        f"{_ML_WORKSPACE}/{s.get('workspaceName')}/environments/{s.get('name', n)}"
        f"/versions/{s.get('version')}"
    ),
    "azure-native:resources:Deployment": lambda s, n: (
        f"Microsoft.Resources/deployments/{s.get('deploymentName', n)}"
    ),
    "azure-native:managedidentity:UserAssignedIdentity": lambda s, n: (
        f"Microsoft.ManagedIdentity/userAssignedIdentities/{s.get('resourceName', n)}"
    ),
    "azure-native:keyvault:Secret": lambda s, n: (
        f"Microsoft.KeyVault/vaults/{s.get('vaultName')}/secrets/{s.get('secretName', n)}"
    ),
    "azure-native:monitor:ActionGroup": lambda s, n: (
        f"microsoft.insights/actionGroups/{s.get('actionGroupName', n)}"
    ),
}


def _mock_id(token: str, name: str, state: dict[str, Any]) -> str:
    if token in _ID_PATHS:
        return _arm_id(state.get("resourceGroupName", "rg"), _ID_PATHS[token](state, name))
    if token == "azure-native:authorization:RoleDefinition":
        return (
            f"{state.get('scope')}/providers/Microsoft.Authorization/roleDefinitions/"
            f"{state.get('roleDefinitionId')}"
        )
    return f"{name}-id"
