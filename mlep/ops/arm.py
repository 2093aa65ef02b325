"""Azure Resource Manager calls of the fleet commands, on azure-core's ARM pipeline.

Azure ML's online endpoint operations (get, list keys, regenerate keys, get a deployment's
logs, get a token) are REST calls under the workspace
(https://learn.microsoft.com/rest/api/azureml/online-endpoints,
https://learn.microsoft.com/rest/api/azureml/online-deployments). No well-kept SDK covers them
without a cost: azure-mgmt-machinelearningservices stops at API 2020-08-01, and azure-ai-ml
brings 26 packages and usage telemetry. So they go through azure-mgmt-core's ARMPipelineClient
(the pipeline every azure-mgmt SDK uses: bearer token, retries with back-off, ARM's throttling
headers, long-running operations by ARMPolling) at the API version the program declares the
endpoints with (pulumi-azure-native 3.29: 2025-12-01).

Errors come out as mlep's: a missing resource is UsageError (exit 2: wrong name, or not deployed
yet); not signed in, access denied and no answer are SourceUnavailable (exit 4), each with its
fix. Messages never carry a response body beyond the service's error code and message.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from azure.core.configuration import Configuration
from azure.core.credentials import TokenCredential
from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.core.pipeline import policies
from azure.core.polling import LROPoller
from azure.core.rest import HttpRequest
from azure.mgmt.core import ARMPipelineClient
from azure.mgmt.core.policies import ARMChallengeAuthenticationPolicy, ARMHttpLoggingPolicy
from azure.mgmt.core.polling.arm_polling import ARMPolling

from mlep.errors import SourceUnavailable, UsageError

ARM_URL = "https://management.azure.com"
ARM_SCOPE = "https://management.azure.com/.default"
# pulumi-azure-native 3.29 declares online endpoints and deployments at this version.
ML_API_VERSION = "2025-12-01"
MESSAGE_LIMIT = 600
SIGN_IN = (
    "run `az login`, or set AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_FEDERATED_TOKEN_FILE for "
    "a workload identity"
)


# One paragraph for every command that finds no credential at all.
NOT_SIGNED_IN = (
    "not signed in to Azure: no credential of DefaultAzureCredential's chain (environment, "
    f"workload identity, managed identity, Azure CLI, ...) could get a token; fix: {SIGN_IN}"
)


SUBSCRIPTION_KEY = "azure-native:subscriptionId"
SUBSCRIPTION_ENV = "AZURE_SUBSCRIPTION_ID"


def subscription(given: str | None, engine_config: Mapping[str, str], file_name: str) -> str:
    """The workspace's subscription: ``given`` (--subscription), else the stack file's
    `azure-native:subscriptionId`, else $AZURE_SUBSCRIPTION_ID; UsageError naming all three."""
    found = given or engine_config.get(SUBSCRIPTION_KEY) or os.environ.get(SUBSCRIPTION_ENV)
    if not found:
        raise UsageError(
            f"{file_name} does not say which subscription the workspace is in; fix: pass "
            f"--subscription ID, set `{SUBSCRIPTION_KEY}` in the stack file, or export "
            f"{SUBSCRIPTION_ENV}"
        )
    return found


def workspace_path(subscription: str, resource_group: str, workspace: str) -> str:
    return (
        f"/subscriptions/{subscription}/resourceGroups/{resource_group}"
        f"/providers/Microsoft.MachineLearningServices/workspaces/{workspace}"
    )


class Arm:
    """Calls Azure Resource Manager as ``credential`` (default: DefaultAzureCredential, created
    at the first call). ``client_kwargs`` go to the pipeline (tests pass ``transport=``)."""

    def __init__(self, credential: TokenCredential | None = None, **client_kwargs: Any) -> None:
        self._credential = credential
        self._client_kwargs = client_kwargs
        self._client: ARMPipelineClient[Any, Any] | None = None

    def call(
        self,
        method: str,
        path: str,
        *,
        what: str,
        body: dict[str, Any] | None = None,
        api_version: str = ML_API_VERSION,
    ) -> dict[str, Any]:
        """One request; the JSON answer ({} for none). ``what`` names the object for messages
        ("online endpoint fraud-scoring")."""
        request = HttpRequest(
            method, f"{ARM_URL}{path}", params={"api-version": api_version}, json=body
        )
        client = self._pipeline()
        try:
            response = client.send_request(request)
            response.raise_for_status()
        except AzureError as error:
            raise _translate(error, what) from None
        if not response.content:
            return {}
        answer = response.json()
        return answer if isinstance(answer, dict) else {"value": answer}

    def long_running(
        self,
        method: str,
        path: str,
        *,
        what: str,
        body: dict[str, Any] | None = None,
        api_version: str = ML_API_VERSION,
        polling_interval: float = 5,
    ) -> None:
        """A request ARM answers 202 Accepted; waits until the operation ends (ARMPolling
        follows Azure-AsyncOperation or Location) and raises on failure."""
        request = HttpRequest(
            method, f"{ARM_URL}{path}", params={"api-version": api_version}, json=body
        )
        client = self._pipeline()
        try:
            response = client.send_request(request, stream=False, _return_pipeline_response=True)
            http = response.http_response
            if http.status_code not in (200, 202, 204):
                http.raise_for_status()
            poller: LROPoller[None] = LROPoller(
                client,
                response,
                lambda *_: None,
                ARMPolling(polling_interval),
            )
            poller.result()
        except AzureError as error:
            raise _translate(error, what) from None

    def _pipeline(self) -> ARMPipelineClient[Any, Any]:
        if self._client is None:
            if self._credential is None:
                # Imported here: azure.identity pulls in MSAL and cryptography.
                from azure.identity import DefaultAzureCredential  # noqa: PLC0415

                self._credential = DefaultAzureCredential()
            config: Configuration[Any, Any] = Configuration(**self._client_kwargs)
            config.user_agent_policy = policies.UserAgentPolicy("mlep", **self._client_kwargs)
            config.headers_policy = policies.HeadersPolicy(**self._client_kwargs)
            config.proxy_policy = policies.ProxyPolicy(**self._client_kwargs)
            config.logging_policy = policies.NetworkTraceLoggingPolicy(**self._client_kwargs)
            config.http_logging_policy = ARMHttpLoggingPolicy(**self._client_kwargs)
            config.retry_policy = policies.RetryPolicy(**self._client_kwargs)
            config.redirect_policy = policies.RedirectPolicy(**self._client_kwargs)
            config.authentication_policy = ARMChallengeAuthenticationPolicy(
                self._credential, ARM_SCOPE
            )
            self._client = ARMPipelineClient(ARM_URL, config=config, **self._client_kwargs)
        return self._client


def signed_out(error: AzureError) -> bool:
    """Whether no credential could get a token (as opposed to a service refusing one)."""
    # ClientAuthenticationError is an HttpResponseError: with no response, no service answered.
    return isinstance(error, ClientAuthenticationError) and error.status_code is None


def _translate(error: AzureError, what: str) -> Exception:
    status = error.status_code if isinstance(error, HttpResponseError) else None
    if signed_out(error):
        # DefaultAzureCredential explains each of its sources at length: the fix says it all.
        return SourceUnavailable(f"{what}: {NOT_SIGNED_IN}")
    detail = _short(_detail(error))
    if status == 404:
        return UsageError(
            f"{what} not found in Azure ({detail}); fix: check the stack's subscription, "
            "resource group and workspace, and that `pulumi up` has created it"
        )
    if status == 401:
        return SourceUnavailable(f"{what}: not signed in to Azure ({detail}); fix: {SIGN_IN}")
    if status == 403:
        return SourceUnavailable(
            f"{what}: access denied ({detail}); fix: the identity needs a role that allows this "
            "action on the workspace (README, role separation)"
        )
    if isinstance(error, ServiceRequestError | ServiceResponseError):
        return SourceUnavailable(
            f"{what}: Azure did not answer ({detail}); fix: check the network path to "
            "management.azure.com (proxy: HTTPS_PROXY)"
        )
    return SourceUnavailable(f"{what}: {detail}; fix: run it again, or check Azure's status")


def _detail(error: AzureError) -> str:
    if isinstance(error, HttpResponseError):
        odata = error.error
        if odata is not None and odata.code:
            return f"HTTP {error.status_code} {odata.code}: {odata.message}"
        if error.status_code is not None:
            return f"HTTP {error.status_code} {error.reason or ''}".rstrip()
    return str(error.message)


def _short(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= MESSAGE_LIMIT else f"{line[: MESSAGE_LIMIT - 3]}..."
