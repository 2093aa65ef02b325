"""`mlep logs`: the last lines of a deployment's container logs, on either target.

Azure: the online deployment's getLogs operation (what `az ml online-deployment get-logs`
calls; https://learn.microsoft.com/rest/api/azureml/online-deployments/get-logs), for the
inference server or the storage initializer (the container that downloads the model before
the server starts). Kubernetes: every pod of the deployment's workload, found by the selector
labels the program sets, through the kubernetes client; each line prefixed by its pod and
container as `kubectl logs --prefix` does. A BentoML image carries its model, so there is no
storage initializer on Kubernetes unless the pods have an init container.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from rich.console import Console

from mlep.errors import SourceUnavailable, UsageError
from mlep.ops import _logs_stack as stacks
from mlep.ops.arm import Arm

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

NAME = "logs"
CONTAINERS = {"inference-server": "InferenceServer", "storage-initializer": "StorageInitializer"}
DEFAULT_LINES = 100
# A pod list or a log read that takes longer than this is a cluster that does not answer.
KUBERNETES_TIMEOUT_S = 30
KUBECONFIG_FIX = (
    "point KUBECONFIG (or ~/.kube/config) at the cluster, e.g. `az aks get-credentials`, or "
    "pass --context"
)


def add_parser(commands: argparse._SubParsersAction[Any]) -> None:
    logs = commands.add_parser(
        NAME,
        help="the last lines of a deployment's container logs (az ml online-deployment "
        "get-logs; on Kubernetes every pod's, prefixed by its name)",
    )
    logs.add_argument("--stack", required=True, help="stack name: reads Pulumi.NAME.yaml")
    logs.add_argument("--endpoint", required=True, help="the endpoint")
    logs.add_argument("--deployment", required=True, help="the deployment whose logs to show")
    logs.add_argument(
        "--lines",
        type=_positive,
        default=DEFAULT_LINES,
        metavar="N",
        help=f"how many lines from the end (per pod on Kubernetes; default {DEFAULT_LINES})",
    )
    logs.add_argument(
        "--container",
        choices=tuple(CONTAINERS),
        default="inference-server",
        help="azure: the serving container (default) or the one that downloads the model",
    )
    logs.add_argument(
        "--subscription",
        metavar="ID",
        help="azure: the workspace's subscription (default: the stack's "
        "azure-native:subscriptionId, else $AZURE_SUBSCRIPTION_ID)",
    )
    logs.add_argument("--context", help="kubernetes: the kubeconfig context (default: current)")


def run(args: argparse.Namespace, out: Console, err: Console) -> int:
    target = stacks.find_endpoint(args.project_dir, args.stack, args.endpoint)
    stacks.check_deployment(target, args.deployment)
    if target.config.target == "azure":
        path = stacks.endpoint_path(target, args.subscription)
        return azure_logs(
            azure_client(),
            path,
            deployment=args.deployment,
            container=args.container,
            lines=args.lines,
            out=out,
            err=err,
        )
    client = kubernetes_client(args.context)
    return kubernetes_logs(
        client,
        target,
        deployment=args.deployment,
        container=args.container,
        lines=args.lines,
        out=out,
        err=err,
    )


def azure_client() -> Arm:
    """The ARM client (tests replace this function)."""
    return Arm()


def azure_logs(
    arm: Arm,
    endpoint_path: str,
    *,
    deployment: str,
    container: str,
    lines: int,
    out: Console,
    err: Console,
) -> int:
    endpoint = endpoint_path.rsplit("/", 1)[-1]
    answer = arm.call(
        "POST",
        f"{endpoint_path}/deployments/{deployment}/getLogs",
        what=f"online deployment {endpoint}/{deployment}",
        body={"containerType": CONTAINERS[container], "tail": lines},
    )
    content = answer.get("content")
    if not isinstance(content, str) or not content.strip():
        err.print(
            f"mlep: {endpoint}/{deployment} ({container}) has no log lines yet.", markup=False
        )
        return 0
    out.out(content.rstrip("\n"), highlight=False)
    return 0


def kubernetes_client(context: str | None) -> ApiClient:
    """A client for the kubeconfig's cluster (or the one this runs in); tests replace this."""
    # Imported here: the kubernetes client takes a while to import and only this target needs it.
    from kubernetes import client, config  # noqa: PLC0415

    try:
        api: ApiClient = config.new_client_from_config(context=context)  # type: ignore[no-untyped-call]
        return api
    except (config.ConfigException, OSError) as error:
        if context is None:
            try:
                config.load_incluster_config()  # type: ignore[no-untyped-call]
                return client.ApiClient()
            except config.ConfigException:
                pass
        raise SourceUnavailable(
            f"no Kubernetes cluster to read logs from ({error}); fix: {KUBECONFIG_FIX}"
        ) from None


def kubernetes_logs(
    api: ApiClient,
    target: stacks.Target,
    *,
    deployment: str,
    container: str,
    lines: int,
    out: Console,
    err: Console,
) -> int:
    from kubernetes.client import CoreV1Api  # noqa: PLC0415

    core = CoreV1Api(api)
    namespace = stacks.namespace(target)
    endpoint = target.endpoint.name
    selector = f"{stacks.ENDPOINT_LABEL}={endpoint},{stacks.DEPLOYMENT_LABEL}={deployment}"
    pods = _call(
        lambda: core.list_namespaced_pod(
            namespace, label_selector=selector, _request_timeout=KUBERNETES_TIMEOUT_S
        ),
        f"listing the pods of {endpoint}/{deployment} in namespace {namespace}",
    ).items
    if not pods:
        raise UsageError(
            f"no pods of {endpoint}/{deployment} in namespace {namespace} (selector {selector}); "
            "fix: check it is deployed (`pulumi up`, or `kubectl apply` of `mlep plan --out`) "
            "and scaled above zero"
        )
    wanted = {pod.metadata.name: _containers(pod, container) for pod in pods}
    if not any(wanted.values()):
        raise UsageError(
            "--container storage-initializer: the Kubernetes target has no storage "
            f"initializer (the pods of {endpoint}/{deployment} have no init container; a "
            "BentoML image carries its model); fix: use --container inference-server"
        )
    for pod_name, containers in sorted(wanted.items()):
        for name in containers:
            prefix = f"[pod/{pod_name}/{name}]"
            text, note = _pod_log(core, namespace, pod_name, name, lines)
            if note:
                err.print(f"{prefix} no logs: {note}", markup=False)
            for line in text.splitlines():
                out.out(f"{prefix} {line}", highlight=False)
    return 0


def _containers(pod: Any, container: str) -> list[str]:
    if container == "storage-initializer":
        return [c.name for c in pod.spec.init_containers or []]
    names = [c.name for c in pod.spec.containers]
    return [stacks.CONTAINER_NAME] if stacks.CONTAINER_NAME in names else names[:1]


def _pod_log(core: Any, namespace: str, pod: str, container: str, lines: int) -> tuple[str, str]:
    """The container's last lines, or "" and why it has none to give."""
    from kubernetes.client.exceptions import ApiException  # noqa: PLC0415

    try:
        text = core.read_namespaced_pod_log(
            pod,
            namespace,
            container=container,
            tail_lines=lines,
            _request_timeout=KUBERNETES_TIMEOUT_S,
        )
    except ApiException as error:
        if error.status in (400, 404):
            # A pod still starting (400: container waiting) or gone since the list (404).
            return "", _status_message(error)
        raise _unavailable(error, f"reading the logs of pod {pod}") from None
    except Exception as error:
        raise _unavailable(error, f"reading the logs of pod {pod}") from None
    return str(text or ""), ""


def _call(request: Any, doing: str) -> Any:
    try:
        return request()
    except Exception as error:
        raise _unavailable(error, doing) from None


def _unavailable(error: Exception, doing: str) -> SourceUnavailable:
    from kubernetes.client.exceptions import ApiException  # noqa: PLC0415

    if isinstance(error, ApiException):
        detail = f"HTTP {error.status} {_status_message(error)}"
        if error.status in (401, 403):
            return SourceUnavailable(
                f"{doing}: {detail}; fix: {KUBECONFIG_FIX}, as an identity allowed to list pods "
                "and read pods/log in the namespace"
            )
    else:
        detail = f"{type(error).__name__}: {error}"
    return SourceUnavailable(
        f"{doing}: the cluster did not answer ({' '.join(detail.split())[:400]}); fix: check "
        "the network path to the cluster's API server, or " + KUBECONFIG_FIX
    )


def _status_message(error: Any) -> str:
    """The message of a Kubernetes Status body, else the HTTP reason."""
    try:
        status = json.loads(error.body or "")
    except (TypeError, ValueError):
        status = None
    if isinstance(status, dict) and isinstance(status.get("message"), str):
        return str(status["message"])[:400]
    return str(error.reason or "")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give a whole number of lines, 1 or more")
    return value
