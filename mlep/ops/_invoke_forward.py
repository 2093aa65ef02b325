"""`mlep invoke --deployment D` on Kubernetes: one deployment, whatever its weight.

The route splits by weight only, so mlep does what `kubectl port-forward` does: it opens the
API server's `pods/portforward` subresource to a ready pod of the deployment (the kubernetes
client's `stream.portforward`) and relays a loopback port to it. A port-forward enters the pod's
network namespace, so the NetworkPolicy that admits only the gateway's proxies and the scrapers
does not stand in the way; the API server's service proxy would be refused by it. The pod
answers without the gateway's auth; the caller needs `pods/portforward` on the namespace, a
right stronger than calling the route (https://kubernetes.io/docs/reference/access-authn-authz/
rbac/#referring-to-resources).
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
from collections.abc import Iterator
from typing import Any

from mlep.errors import SourceUnavailable
from mlep.ops import _logs_stack as labels

# The BentoML container's port (components/kubernetes/labels.py PORT; a test holds them equal).
BENTO_PORT = 3000
IDLE_SECONDS = 120


@contextlib.contextmanager
def forwarded(api: Any, namespace: str, endpoint: str, deployment: str) -> Iterator[str]:
    """The base URL (http://127.0.0.1:PORT) of a relay to a ready pod of the deployment, open
    for the duration of the block."""
    from kubernetes.client import CoreV1Api  # noqa: PLC0415 (imported only when needed)

    core = CoreV1Api(api)
    pod = ready_pod(core, namespace, endpoint, deployment)
    remote = open_remote(core, namespace, pod)
    listener = socket.create_server(("127.0.0.1", 0))
    relay = threading.Thread(target=_relay_one, args=(listener, remote), daemon=True)
    relay.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.close()
        remote.close()
        relay.join(timeout=5)


def ready_pod(core: Any, namespace: str, endpoint: str, deployment: str) -> str:
    """The name of a running, ready pod of the deployment's workload."""
    from kubernetes.client.exceptions import ApiException  # noqa: PLC0415

    selector = f"{labels.ENDPOINT_LABEL}={endpoint},{labels.DEPLOYMENT_LABEL}={deployment}"
    try:
        pods = core.list_namespaced_pod(namespace, label_selector=selector).items
    except ApiException as error:
        raise SourceUnavailable(
            f"cannot list the pods of {endpoint}/{deployment} in {namespace} (HTTP "
            f"{error.status} {error.reason}); fix: the identity needs `list pods` in the namespace"
        ) from None
    for pod in pods:
        conditions = (pod.status and pod.status.conditions) or []
        ready = any(c.type == "Ready" and c.status == "True" for c in conditions)
        if pod.status and pod.status.phase == "Running" and ready:
            return str(pod.metadata.name)
    raise SourceUnavailable(
        f"{endpoint}/{deployment} has no ready pod in {namespace} ({len(pods)} pod(s) found); "
        f"fix: `mlep status --stack ... --endpoint {endpoint}` and the deployment's logs "
        f"(`mlep logs ... --deployment {deployment}`)"
    )


def open_remote(core: Any, namespace: str, pod: str) -> socket.socket:
    """A socket to the pod's BentoML port through the API server (tests replace it)."""
    from kubernetes.client.exceptions import ApiException  # noqa: PLC0415
    from kubernetes.stream import portforward  # noqa: PLC0415

    try:
        forward = portforward(
            core.connect_get_namespaced_pod_portforward, pod, namespace, ports=str(BENTO_PORT)
        )
        return forward.socket(BENTO_PORT)  # type: ignore[no-any-return]
    except ApiException as error:
        raise SourceUnavailable(
            f"cannot port-forward to pod {namespace}/{pod} (HTTP {error.status} {error.reason}); "
            "fix: the identity needs `create pods/portforward` in the namespace"
        ) from None


def _relay_one(listener: socket.socket, remote: socket.socket) -> None:
    """Accept one local connection and copy bytes both ways until either side closes."""
    try:
        local, _ = listener.accept()
    except OSError:  # closed before anyone connected
        return
    with local:
        ends = [local, remote]
        while True:
            readable, _, _ = select.select(ends, [], [], IDLE_SECONDS)
            if not readable:
                return
            for end in readable:
                try:
                    data = end.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                (remote if end is local else local).sendall(data)
