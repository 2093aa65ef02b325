"""`mlep invoke`: send a sample request to an endpoint's stable scoring address, with its auth,
and say which layer failed when it does (the incident triage: authentication, routing, the
container, the model, the network).

Azure: the scoring URI and auth mode come from the live endpoint (GET online endpoint); the
credential from listKeys (key), the endpoint's token operation (aml_token) or Entra ID for
https://ml.azure.com (aad_token). `--deployment` sets the `azureml-model-deployment` header,
which reaches a deployment whatever its traffic share:
https://learn.microsoft.com/azure/machine-learning/how-to-safely-rollout-online-endpoints
Status codes and headers of the answer:
https://learn.microsoft.com/azure/machine-learning/how-to-troubleshoot-online-endpoints#http-status-codes

Kubernetes: `https://<hostname>/<endpoint>/predict` through the HTTPRoute, with `x-api-key`
(key) or an Entra ID token for the stack's audience (aad_token); `--deployment` reaches one
deployment's pod through a port-forward (mlep/ops/_invoke_forward.py), without the gateway;
`--url` calls a BentoML service directly (a local `bentoml serve`), without auth.

Exit codes: 0 a 2xx answer, 1 any other answer, 2 bad input, 4 no answer or not authenticated.
No credential is ever printed: only the status, latency, the answering deployment, the request
id and the (truncated) body.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from azure.core.credentials import TokenCredential
from azure.core.exceptions import AzureError
from rich.console import Console

from mlep.errors import SourceUnavailable, UsageError
from mlep.ops import _invoke_forward as forward
from mlep.ops import _status_stack as stacks
from mlep.ops._status_cluster import ClusterMissing
from mlep.ops._status_cluster import api_client as cluster_api_client
from mlep.ops.arm import SIGN_IN, Arm
from mlep.stack import limits
from models.endpoint import EndpointSpec
from models.stack import AzureStackConfig, KubernetesStackConfig

NAME = "invoke"
EXIT_OK, EXIT_ANSWERED, EXIT_UNAVAILABLE = 0, 1, 4
ML_SCOPE = "https://ml.azure.com/.default"
API_KEY_ENV = "MLEP_API_KEY"
API_KEY_HEADER = "x-api-key"
DEPLOYMENT_HEADER = "azureml-model-deployment"
# Response headers worth showing; nothing else of the answer's headers is printed.
SHOWN_HEADERS = (
    DEPLOYMENT_HEADER,
    "x-ms-request-id",
    "x-request-id",
    "ms-azureml-model-error-statuscode",
    "ms-azureml-model-error-reason",
)
BODY_LIMIT = 2000
AUTH_MODES = {"key": "key", "amltoken": "aml_token", "aadtoken": "aad_token"}


def kube_api_client() -> Any:
    """The cluster API client (tests replace it with one on recorded answers)."""
    try:
        return cluster_api_client()
    except ClusterMissing as error:
        raise SourceUnavailable(str(error)) from None


def arm_client() -> Arm:
    """The Resource Manager client (tests replace it with one on recorded answers)."""
    return Arm()


def azure_credential() -> TokenCredential:
    # Imported here: azure.identity pulls in MSAL and cryptography.
    from azure.identity import DefaultAzureCredential  # noqa: PLC0415

    return DefaultAzureCredential()


# The scoring call's transport: None is the network (tests pass an httpx.MockTransport).
scoring_transport: httpx.BaseTransport | None = None


@dataclass
class Target:
    """Where the request goes and with which headers; ``secrets`` are values never shown."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    secrets: list[str] = field(default_factory=list)
    azure: bool = False
    deployment: str | None = None


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        NAME,
        help="send a sample request to an endpoint with its auth; say which layer failed",
    )
    parser.add_argument("--stack", required=True, help="stack name: reads Pulumi.NAME.yaml")
    parser.add_argument("--endpoint", required=True, help="the endpoint to call")
    parser.add_argument(
        "--deployment",
        help="call this deployment even at 0 %% (azure: the azureml-model-deployment header; "
        "kubernetes: a port-forward to one of its ready pods, without the gateway)",
    )
    parser.add_argument(
        "--request-file", required=True, type=Path, metavar="FILE", help="the JSON request body"
    )
    parser.add_argument(
        "--url",
        help="kubernetes: call a BentoML service at this address (e.g. a local `bentoml "
        "serve` or a port-forward: http://127.0.0.1:3000), without auth",
    )
    parser.add_argument(
        "--subscription",
        metavar="ID",
        help="azure: the workspace's subscription (default: the stack's "
        "azure-native:subscriptionId, else $AZURE_SUBSCRIPTION_ID)",
    )
    parser.add_argument("--timeout", type=float, default=30.0, metavar="SECONDS", help="default 30")


def run(args: argparse.Namespace, out: Console, err: Console) -> int:
    body = _request_body(args.request_file)
    stack_file, config = stacks.load(args)
    spec = stacks.endpoint(config, args.stack, args.endpoint)
    deployment = stacks.deployment(spec, args.deployment) if args.deployment else None
    if args.url:
        if deployment:
            raise UsageError("--url calls one service already: give --deployment or --url")
        target = Target(_service_url(args.url))
    elif isinstance(config, KubernetesStackConfig):
        if deployment:
            # The route splits by weight only: reach the deployment's pod directly.
            api = kube_api_client()
            namespace = config.kubernetes.namespace
            with forward.forwarded(api, namespace, spec.name, deployment) as base:
                target = Target(base + stacks.API_PATH, deployment=deployment)
                return _call(target, body, spec, timeout=args.timeout, out=out, err=err)
        target = _kubernetes_target(config, spec)
    else:
        target = _azure_target(config, stack_file, args, spec, deployment)
    return _call(target, body, spec, timeout=args.timeout, out=out, err=err)


def _request_body(path: Path) -> Any:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise UsageError(
            f"--request-file {path}: cannot read it ({error.strerror}); fix: give a JSON file"
        ) from None
    if len(data) > limits.MAX_BYTES:
        raise UsageError(f"--request-file {path}: larger than {limits.MAX_BYTES:,} bytes")
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError) as error:
        raise UsageError(
            f"--request-file {path}: not valid JSON ({error}); fix: the file is the request "
            'body, e.g. {"records": [...]}'
        ) from None


def _service_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"--url {url}: give an http(s) address, e.g. http://127.0.0.1:3000")
    # A bare address is the service; a path is taken as the API itself.
    return url.rstrip("/") + stacks.API_PATH if parts.path in ("", "/") else url


def _kubernetes_target(config: KubernetesStackConfig, spec: EndpointSpec) -> Target:
    settings = config.kubernetes
    url = f"https://{settings.hostname}/{spec.name}{stacks.API_PATH}"
    if spec.auth_mode == "key":
        key = os.environ.get(API_KEY_ENV) or _key_vault_api_key(config, spec)
        return Target(url, {API_KEY_HEADER: key}, [key])
    assert settings.entra is not None  # models.rules.auth_mode_fits_target
    token = _entra_token(f"{settings.entra.audience}/.default")
    return Target(url, {"Authorization": f"Bearer {token}"}, [token])


def _key_vault_api_key(config: KubernetesStackConfig, spec: EndpointSpec) -> str:
    vault = config.kubernetes.key_vault
    assert vault is not None  # models.rules.auth_mode_fits_target
    secret = f"{spec.name}-api-key"  # components/kubernetes/labels.py api_key_vault_secret
    from azure.keyvault.secrets import SecretClient  # noqa: PLC0415

    try:
        value = (
            SecretClient(f"https://{vault.name}.vault.azure.net", azure_credential())
            .get_secret(secret)
            .value
        )
    except AzureError as error:
        raise SourceUnavailable(
            f"cannot read the API key {secret} from Key Vault {vault.name} "
            f"({type(error).__name__}); fix: set {API_KEY_ENV}, or {SIGN_IN} as an identity "
            "with Key Vault Secrets User on the vault"
        ) from None
    if not value:
        raise SourceUnavailable(f"Key Vault {vault.name} secret {secret} is empty")
    return value


def _entra_token(scope: str) -> str:
    try:
        return azure_credential().get_token(scope).token
    except AzureError as error:
        raise SourceUnavailable(
            f"no Entra ID token for {scope} ({type(error).__name__}: "
            f"{' '.join(str(error).split())[:300]}); fix: {SIGN_IN}"
        ) from None


def _azure_target(
    config: AzureStackConfig,
    stack_file: Any,
    args: argparse.Namespace,
    spec: EndpointSpec,
    deployment: str | None,
) -> Target:
    path = stacks.endpoint_path(config, stack_file, args.subscription, spec.name)
    arm = arm_client()
    what = f"online endpoint {spec.name}"
    live = arm.call("GET", path, what=what)
    properties = live.get("properties", {})
    url = properties.get("scoringUri")
    if not url:
        raise SourceUnavailable(
            f"{what} has no scoring URI yet (provisioning state "
            f"{properties.get('provisioningState', 'unknown')}); fix: wait for `pulumi up`"
        )
    mode = AUTH_MODES.get(str(properties.get("authMode", "")).lower(), spec.auth_mode)
    if mode == "key":
        keys = arm.call("POST", f"{path}/listKeys", what=f"the keys of {what}")
        secret = str(keys.get("primaryKey") or "")
    elif mode == "aml_token":
        answer = arm.call("POST", f"{path}/token", what=f"a token of {what}")
        secret = str(answer.get("accessToken") or "")
    else:
        secret = _entra_token(ML_SCOPE)
    if not secret:
        raise SourceUnavailable(f"{what}: Azure answered no {mode} credential")
    headers = {"Authorization": f"Bearer {secret}"}
    if deployment:
        headers[DEPLOYMENT_HEADER] = deployment
    return Target(url, headers, [secret], azure=True, deployment=deployment)


def _call(
    target: Target, body: Any, spec: EndpointSpec, *, timeout: float, out: Console, err: Console
) -> int:
    started = time.monotonic()
    try:
        with httpx.Client(transport=scoring_transport, timeout=timeout) as client:
            response = client.post(target.url, json=body, headers=target.headers)
    except httpx.HTTPError as error:
        layer, fix = _transport_failure(error, target, spec, timeout)
        raise SourceUnavailable(f"POST {target.url}: no answer: {layer}; fix: {fix}") from None
    milliseconds = (time.monotonic() - started) * 1000
    out.print(
        f"POST {target.url} -> {response.status_code} {response.reason_phrase} "
        f"in {milliseconds:.0f} ms",
        markup=False,
    )
    for header in SHOWN_HEADERS:
        if header in response.headers:
            out.print(f"{header}: {response.headers[header]}", markup=False)
    out.print(_shown_body(response.text, target.secrets), markup=False)
    if response.is_success:
        return EXIT_OK
    layer, fix = _answer_failure(response, target, spec)
    err.print(f"mlep invoke: {layer}; fix: {fix}", markup=False)
    return EXIT_UNAVAILABLE if response.status_code in (401, 403) else EXIT_ANSWERED


def _shown_body(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "[redacted]")
    text = " ".join(text.split())
    return text if len(text) <= BODY_LIMIT else f"{text[:BODY_LIMIT]}... ({len(text)} chars)"


def _answer_failure(  # noqa: PLR0911 (one return per layer of the triage)
    response: httpx.Response, target: Target, spec: EndpointSpec
) -> tuple[str, str]:
    """The layer an HTTP answer points at, and what to do about it."""
    status = response.status_code
    answered_by = response.headers.get(DEPLOYMENT_HEADER)
    if status in (401, 403):
        fix = _auth_fix(target, spec, status)
        return f"authentication failed (HTTP {status}: the endpoint refused the credential)", fix
    if status == 404 and not answered_by:
        if target.azure:
            return "routing: no deployment took the request (HTTP 404)", (
                "the endpoint's live traffic gives no deployment a positive weight, or "
                f"{target.deployment or 'the deployment'} does not exist yet; `mlep status "
                f"--endpoint {spec.name}` shows the live traffic"
            )
        return "routing: nothing serves this path (HTTP 404)", (
            "check the HTTPRoute's host and path (`kubectl get httproute`) or the --url path "
            f"(the API is {stacks.API_PATH})"
        )
    if status in (400, 422):
        return f"model input rejected (HTTP {status}: the request failed validation)", (
            "the body above names the field; compare the request file with the model's schema"
        )
    if status == 424 or status == 500:  # noqa: PLR1714 (two distinct documented causes)
        model = response.headers.get("ms-azureml-model-error-statuscode")
        detail = f", the scorer answered {model}" if model else ""
        return f"model error (HTTP {status}{detail})", (
            "the scoring code raised: read the body above and the deployment's logs "
            f"(`mlep logs --stack ... --endpoint {spec.name}`)"
        )
    if status in (502, 503):
        return f"container failure (HTTP {status}: no healthy instance answered)", (
            "the deployment's container is crashing, not ready or scaling; check its instance "
            "count (`mlep status`) and its logs"
        )
    if status == 504 or status == 408:  # noqa: PLR1714
        return f"timeout (HTTP {status}: the model took longer than the request timeout)", (
            "raise request_settings.request_timeout_ms or find what slows the scorer"
        )
    if status == 429:
        return "throttled (HTTP 429: too many concurrent requests)", (
            "raise max_concurrent_requests_per_instance or the instance count"
        )
    where = f" by deployment {answered_by}" if answered_by else ""
    return f"HTTP {status} {response.reason_phrase}{where}", "read the body above"


def _auth_fix(target: Target, spec: EndpointSpec, status: int) -> str:
    if not target.azure and not target.secrets:
        return "the service asked for credentials: call it through the route, without --url"
    fix = (
        f"the {spec.auth_mode} credential was refused: for key auth the keys may have been "
        "rotated (listKeys again); for tokens, the identity needs the score action "
        "(Microsoft.MachineLearningServices/workspaces/onlineEndpoints/score/action, e.g. "
        "AzureML Data Scientist) or, on Kubernetes, a token for the stack's entra.audience"
    )
    if status == 403 and spec.public_network_access == "disabled":
        fix += (
            "; or network isolation: public network access is disabled, so call from the "
            "virtual network (private endpoint)"
        )
    return fix


def _transport_failure(  # noqa: PLR0911 (one return per layer of the triage)
    error: httpx.HTTPError, target: Target, spec: EndpointSpec, timeout: float
) -> tuple[str, str]:
    host = urlsplit(target.url).hostname or target.url
    text = f"{error} {error.__cause__ or ''}".lower()
    private = target.azure and spec.public_network_access == "disabled"
    network_fix = (
        "call from the virtual network the workspace's private endpoint is in, with its "
        "private DNS zone linked"
        if private
        else f"check DNS, proxy (HTTPS_PROXY) and firewall on the path to {host}"
    )
    if isinstance(error, httpx.ConnectTimeout):
        return f"network: no connection to {host} within {timeout:g} s", network_fix
    if isinstance(error, httpx.TimeoutException):
        return f"timeout: connected to {host}, no answer within {timeout:g} s", (
            "the container is slow or hung (check its logs), or raise --timeout"
        )
    if any(word in text for word in ("name or service", "nodename", "getaddrinfo", "resolution")):
        return f"network: DNS cannot resolve {host}", network_fix
    if "ssl" in text or "certificate" in text or "tls" in text:
        return f"network: TLS handshake with {host} failed", (
            "check the certificate chain (a TLS-inspecting proxy needs SSL_CERT_FILE)"
        )
    if "refused" in text:
        return f"container: {host} refused the connection", (
            "nothing listens there: start the service (`bentoml serve`) or check the port"
            if not target.azure
            else network_fix
        )
    if isinstance(error, httpx.RemoteProtocolError | httpx.ReadError):
        return f"container: the connection to {host} was reset mid-request", (
            "the container crashed or restarted while answering; check its logs"
        )
    return f"network: {type(error).__name__} calling {host}", network_fix
