"""Workload hardening on Kubernetes (POLICY-RULES.md, POD-01 to POD-05).

Each policy reads every serving container of a workload (Deployment, StatefulSet, DaemonSet,
ReplicaSet, Job, CronJob or Pod). Pod-level and container-level settings are read the way the
kubelet reads them: a container's securityContext overrides its pod's.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from mlep_policies import tokens
from mlep_policies.define import ADVISORY, MANDATORY, resource_policy, settings, string_list
from mlep_policies.reading import (
    UNKNOWN,
    as_int,
    containers,
    elements,
    entries,
    get,
    kind,
    labels_of,
    pod_template,
    text,
)

GPU = "nvidia.com/gpu"


def _each_container(
    check: Callable[[Any, Any, ReportViolation], None],
) -> Callable[[ResourceValidationArgs, ReportViolation], None]:
    """A validate function that runs ``check(container, pod_spec, report)`` per container."""

    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        workload = kind(args.resource_type)
        if workload not in tokens.WORKLOAD_KINDS:
            return
        pod = pod_template(workload, args.props)[1]
        if pod is UNKNOWN:
            return
        for container in containers(pod):
            check(container, pod, report)

    return validate


def _name(container: Any) -> str:
    return repr(get(container, "name"))


def _probes(container: Any, pod: Any, report: ReportViolation) -> None:
    for probe, path in (("livenessProbe", "/livez"), ("readinessProbe", "/readyz")):
        value = get(container, probe)
        if value is UNKNOWN:
            continue
        handlers = ("httpGet", "tcpSocket", "exec", "grpc")
        if not value or not any(get(value, h) is not None for h in handlers):
            report(
                f"container {_name(container)} has no {probe} (POD-01). Fix: probe BentoML's "
                f"{path} on the http port.",
                None,
            )


probes = resource_policy(
    "pod-01-probes",
    description="Every serving container has liveness and readiness probes (BentoML /livez, "
    "/readyz) (POD-01).",
    level=MANDATORY,
    severity=Severity.HIGH,
    remediation="Add livenessProbe (httpGet /livez) and readinessProbe (httpGet /readyz) on "
    "port 3000; the program does this for bento images.",
    validate=_each_container(_probes),
)


def _resources(container: Any, pod: Any, report: ReportViolation) -> None:
    requests = get(container, "resources", "requests")
    limits = get(container, "resources", "limits")
    if UNKNOWN in (requests, limits):
        return
    wanted = {
        "requests.cpu": entries(requests).get("cpu"),
        "requests.memory": entries(requests).get("memory"),
    }
    wanted["limits.memory"] = entries(limits).get("memory")
    missing = [key for key, value in wanted.items() if value is None]
    if GPU in entries(requests) and entries(limits).get(GPU) is None:
        missing.append(f"limits.{GPU}")
    if missing:
        report(
            f"container {_name(container)} has no {', '.join(missing)} (POD-02). Fix: set "
            "deployment resources {cpu, memory, gpu}; the program sets requests = limits.",
            None,
        )


resources = resource_policy(
    "pod-02-requests-and-limits",
    description="Serving containers request CPU and memory and limit memory (and GPUs when "
    "they request them) (POD-02).",
    level=MANDATORY,
    severity=Severity.MEDIUM,
    remediation="Set resources: {cpu, memory, gpu} on the deployment.",
    validate=_each_container(_resources),
)


def pinned_image(image: str) -> bool:
    """An image with a digest, or an explicit tag other than `latest`."""
    if "@" in image:
        return re.fullmatch(r"sha256:[0-9a-f]{64}", image.rsplit("@", 1)[-1]) is not None
    last = image.rsplit("/", 1)[-1]  # a registry host may carry a port: host:5000/name
    if ":" not in last:
        return False
    tag = last.rsplit(":", 1)[-1]
    return bool(tag) and tag.lower() != "latest"


def _image(container: Any, pod: Any, report: ReportViolation) -> None:
    image = get(container, "image")
    if image is UNKNOWN:
        return
    if not (isinstance(image, str) and pinned_image(image)):
        report(
            f"container {_name(container)} runs image {image!r} without an explicit tag or a "
            "digest, or with `latest` (POD-03). Fix: use REGISTRY/NAME:VERSION or "
            "REGISTRY/NAME@sha256:DIGEST.",
            None,
        )


image_pinned = resource_policy(
    "pod-03-image-pinned",
    description="Images have an explicit tag that is not `latest`, or a digest (POD-03).",
    level=MANDATORY,
    severity=Severity.HIGH,
    remediation="Set the deployment's image to a versioned tag or a sha256 digest.",
    validate=_each_container(_image),
)


def _effective(container: Any, pod: Any, *path: str) -> Any:
    """A security setting as the kubelet applies it: the container's, else the pod's."""
    value = get(container, "securityContext", *path)
    return value if value is not None else get(pod, "securityContext", *path)


def _hardening_gaps(container: Any, pod: Any) -> Iterator[str]:
    non_root = _effective(container, pod, "runAsNonRoot")
    user = _effective(container, pod, "runAsUser")
    if non_root is not UNKNOWN and non_root is not True:
        yield "runAsNonRoot is not true"
    if user is not UNKNOWN and user is not None and as_int(user) == 0:
        yield "runAsUser is 0 (root)"
    escalation = get(container, "securityContext", "allowPrivilegeEscalation")
    if escalation is not UNKNOWN and escalation is not False:
        yield "allowPrivilegeEscalation is not false"
    if get(container, "securityContext", "privileged") is True:
        yield "it is privileged"
    read_only = get(container, "securityContext", "readOnlyRootFilesystem")
    if read_only is not UNKNOWN and read_only is not True:
        yield "readOnlyRootFilesystem is not true"
    drop = get(container, "securityContext", "capabilities", "drop")
    dropped = elements(drop)
    if drop is not UNKNOWN and UNKNOWN not in dropped and "ALL" not in map(_upper, dropped):
        yield "capabilities do not drop ALL"
    added = [
        text(c).upper() for c in elements(get(container, "securityContext", "capabilities", "add"))
    ]
    # The restricted standard lets a container add back only NET_BIND_SERVICE.
    extra = sorted(set(added) - {"NET_BIND_SERVICE", ""})
    if extra:
        yield f"capabilities add {', '.join(extra)}"
    seccomp = _effective(container, pod, "seccompProfile", "type")
    if seccomp is not UNKNOWN and seccomp not in ("RuntimeDefault", "Localhost"):
        yield f"seccompProfile is {seccomp or 'unset'} (needs RuntimeDefault)"


def _upper(value: Any) -> str:
    return text(value).upper()


def _hardened(container: Any, pod: Any, report: ReportViolation) -> None:
    for gap in _hardening_gaps(container, pod):
        report(
            f"container {_name(container)}: {gap} (POD-04). Fix: run as non-root with a "
            "read-only root filesystem, no privilege escalation, all capabilities dropped and "
            "the RuntimeDefault seccomp profile.",
            None,
        )


hardened = resource_policy(
    "pod-04-restricted-security",
    description="Pods meet the restricted Pod Security Standard: runAsNonRoot, "
    "allowPrivilegeEscalation false, readOnlyRootFilesystem, capabilities drop ALL, seccomp "
    "RuntimeDefault (POD-04).",
    level=MANDATORY,
    severity=Severity.HIGH,
    remediation="Set the container securityContext as the program does: runAsNonRoot: true, "
    "allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities.drop [ALL], "
    "seccompProfile RuntimeDefault.",
    validate=_each_container(_hardened),
)

POD05_TUNABLES = {
    "requiredLabels": string_list(
        [
            "app.kubernetes.io/name",
            "app.kubernetes.io/instance",
            "app.kubernetes.io/component",
            "app.kubernetes.io/part-of",
            "app.kubernetes.io/managed-by",
        ],
        "Recommended labels every workload carries.",
    ),
}


def _conventions(args: ResourceValidationArgs, report: ReportViolation) -> None:
    workload = kind(args.resource_type)
    if workload not in tokens.WORKLOAD_KINDS:
        return
    props = args.props
    name = get(props, "metadata", "name")
    labels = labels_of(props)
    missing = [
        key for key in settings(args, POD05_TUNABLES)["requiredLabels"] if not labels.get(key)
    ]
    if get(props, "metadata", "labels") is not UNKNOWN and missing:
        report(
            f"{workload} {name!r} lacks the recommended label(s) {', '.join(missing)} (POD-05). "
            "Fix: label it as the program does (components/kubernetes/labels.py).",
            None,
        )
    namespace = get(props, "metadata", "namespace")
    if namespace is not UNKNOWN and (not namespace or namespace == "default"):
        report(
            f"{workload} {name!r} runs in the default namespace (POD-05). Fix: set "
            "ml-endpoints:kubernetes.namespace.",
            None,
        )
    pod = pod_template(workload or "", props)[1]
    account = get(pod, "serviceAccountName")
    if account is not UNKNOWN and pod is not UNKNOWN and (not account or account == "default"):
        report(
            f"{workload} {name!r} runs as the default ServiceAccount (POD-05). Fix: give it its "
            "own ServiceAccount.",
            None,
        )


conventions = resource_policy(
    "pod-05-labels-namespace-account",
    description="Workloads carry the recommended app.kubernetes.io labels, run outside the "
    "default namespace and use a dedicated ServiceAccount (POD-05).",
    level=ADVISORY,
    severity=Severity.LOW,
    remediation="Use the program's labels, a serving namespace and one ServiceAccount per "
    "deployment.",
    validate=_conventions,
    tunables=POD05_TUNABLES,
)

POLICIES = [probes, resources, image_pinned, hardened, conventions]
