"""A ServiceMonitor turned into Prometheus scrape configuration the way prometheus-operator
does it, and the target labels Prometheus's Kubernetes service discovery would give a pod.

So the real-Prometheus tests and the promtool cases see series with the labels production sees,
not labels we chose. Reproduced, for the fields our ServiceMonitor uses, from:
- prometheus-operator v0.93 (commit 6adcebc), pkg/prometheus/promcfg.go:
  `generateServiceMonitorConfig`, `initRelabelings`, `generateRunningFilter`,
  `generateRelabelConfig` (actions lower-cased), `appendShardingRelabelingWithLabel` (one
  shard: `$(SHARD)` is 0 once the config reloader substitutes it), `sanitizeLabelName`;
- Prometheus discovery/kubernetes/endpoints.go and endpointslice.go (`buildEndpoints`,
  `podLabels`, `serviceLabels`): the `__meta_kubernetes_*` labels of an endpoint's target.

Kubernetes service discovery itself needs an API server; the tests hand Prometheus the same
labels through `file_sd_configs`, which accepts any label, `__meta_*` included.
"""

from __future__ import annotations

import re
from typing import Any

ROLES = ("endpoints", "endpointslice")
_INVALID = re.compile(r"[^a-zA-Z0-9_]")


def sanitize(name: str) -> str:
    return _INVALID.sub("_", name)


def scrape_config(
    monitor: dict[str, Any], index: int, *, role: str, sd_file: str, interval: str | None = None
) -> dict[str, Any]:
    """The scrape job the operator generates for endpoint ``index`` of ``monitor`` (its
    manifest), with service discovery from ``sd_file`` in place of the API server, and
    ``interval`` in place of the endpoint's own when given (tests scrape every second)."""
    metadata, spec = monitor["metadata"], monitor["spec"]
    endpoint = spec["endpoints"][index]
    prefix = (
        "__meta_kubernetes_endpointslice"
        if role == "endpointslice"
        else "__meta_kubernetes_endpoint"
    )
    job = _job(metadata, endpoint, index, sd_file, interval)
    relabel: list[dict[str, Any]] = [
        {"source_labels": ["job"], "target_label": "__tmp_prometheus_job_name"}
    ]
    selector = spec.get("selector", {})
    for key in sorted(selector.get("matchLabels", {})):
        relabel.append(
            {
                "action": "keep",
                "source_labels": [
                    f"__meta_kubernetes_service_label_{sanitize(key)}",
                    f"__meta_kubernetes_service_labelpresent_{sanitize(key)}",
                ],
                "regex": f"({selector['matchLabels'][key]});true",
            }
        )
    if selector.get("matchExpressions"):
        raise NotImplementedError("matchExpressions: not used by our ServiceMonitors")
    if endpoint.get("port"):
        relabel.append(
            {"action": "keep", "source_labels": [f"{prefix}_port_name"], "regex": endpoint["port"]}
        )
    else:
        raise NotImplementedError("targetPort: not used by our ServiceMonitors")
    target = [f"{prefix}_address_target_kind", f"{prefix}_address_target_name"]
    relabel += [
        {
            "source_labels": target,
            "separator": ";",
            "regex": "Node;(.*)",
            "replacement": "${1}",
            "target_label": "node",
        },
        {
            "source_labels": target,
            "separator": ";",
            "regex": "Pod;(.*)",
            "replacement": "${1}",
            "target_label": "pod",
        },
        {"source_labels": ["__meta_kubernetes_namespace"], "target_label": "namespace"},
        {"source_labels": ["__meta_kubernetes_service_name"], "target_label": "service"},
        {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "pod"},
        {"source_labels": ["__meta_kubernetes_pod_container_name"], "target_label": "container"},
    ]
    if endpoint.get("filterRunning", True):
        relabel.append(
            {
                "action": "drop",
                "source_labels": ["__meta_kubernetes_pod_phase"],
                "regex": "(Failed|Succeeded)",
            }
        )
    for label in spec.get("targetLabels", []):
        relabel.append(_copy(f"__meta_kubernetes_service_label_{sanitize(label)}", label))
    for label in spec.get("podTargetLabels", []):
        relabel.append(_copy(f"__meta_kubernetes_pod_label_{sanitize(label)}", label))
    relabel.append(
        {
            "source_labels": ["__meta_kubernetes_service_name"],
            "target_label": "job",
            "replacement": "${1}",
        }
    )
    if spec.get("jobLabel"):
        relabel.append(
            _copy(f"__meta_kubernetes_service_label_{sanitize(spec['jobLabel'])}", "job")
        )
    relabel.append({"target_label": "endpoint", "replacement": endpoint["port"]})
    relabel += [_relabeling(r) for r in endpoint.get("relabelings", [])]
    relabel += [
        {
            "source_labels": ["__address__", "__tmp_hash"],
            "target_label": "__tmp_hash",
            "regex": "(.+);",
            "replacement": "$1",
            "action": "replace",
        },
        {
            "source_labels": ["__tmp_hash"],
            "target_label": "__tmp_hash",
            "modulus": 1,
            "action": "hashmod",
        },
        {
            "source_labels": ["__tmp_hash", "__tmp_disable_sharding"],
            "regex": "0;|.+;.+",
            "action": "keep",
        },
    ]
    job["relabel_configs"] = relabel
    if endpoint.get("metricRelabelings"):
        job["metric_relabel_configs"] = [_relabeling(r) for r in endpoint["metricRelabelings"]]
    return job


def _job(
    metadata: dict[str, Any],
    endpoint: dict[str, Any],
    index: int,
    sd_file: str,
    interval: str | None,
) -> dict[str, Any]:
    """The job's name, discovery and scrape settings, before its relabelings."""
    job: dict[str, Any] = {
        "job_name": f"serviceMonitor/{metadata['namespace']}/{metadata['name']}/{index}",
        "honor_labels": bool(endpoint.get("honorLabels", False)),
        "file_sd_configs": [{"files": [sd_file], "refresh_interval": "1s"}],
    }
    chosen = interval or endpoint.get("interval")
    if chosen:
        job["scrape_interval"] = chosen
        if interval:
            job["scrape_timeout"] = interval
    if endpoint.get("path"):
        job["metrics_path"] = endpoint["path"]
    if endpoint.get("scheme"):
        job["scheme"] = endpoint["scheme"]

    return job


def discovered(
    service: dict[str, Any], pod: dict[str, Any], pod_name: str, address: str, *, role: str
) -> dict[str, Any]:
    """The file_sd target group Kubernetes service discovery would produce for the pod
    ``pod_name`` (of the Deployment manifest's pod template ``pod``) behind ``service`` (its
    manifest), serving at ``address`` (host:port), with the role ``role``."""
    port = service["spec"]["ports"][0]
    metadata = service["metadata"]
    labels: dict[str, str] = {
        "__meta_kubernetes_namespace": metadata["namespace"],
        "__meta_kubernetes_service_name": metadata["name"],
    }
    for key, value in metadata.get("labels", {}).items():
        labels[f"__meta_kubernetes_service_label_{sanitize(key)}"] = value
        labels[f"__meta_kubernetes_service_labelpresent_{sanitize(key)}"] = "true"
    if role == "endpointslice":
        prefix = "__meta_kubernetes_endpointslice"
        labels["__meta_kubernetes_endpointslice_name"] = f"{metadata['name']}-abcde"
        labels[f"{prefix}_endpoint_conditions_ready"] = "true"
    else:
        prefix = "__meta_kubernetes_endpoint"
        labels["__meta_kubernetes_endpoints_name"] = metadata["name"]
        labels[f"{prefix}_ready"] = "true"
    labels[f"{prefix}_port_name"] = port["name"]
    labels[f"{prefix}_port_protocol"] = port.get("protocol", "TCP")
    labels[f"{prefix}_address_target_kind"] = "Pod"
    labels[f"{prefix}_address_target_name"] = pod_name
    labels["__meta_kubernetes_pod_name"] = pod_name
    labels["__meta_kubernetes_pod_phase"] = "Running"
    labels["__meta_kubernetes_pod_ready"] = "true"
    for key, value in pod["metadata"].get("labels", {}).items():
        labels[f"__meta_kubernetes_pod_label_{sanitize(key)}"] = value
        labels[f"__meta_kubernetes_pod_labelpresent_{sanitize(key)}"] = "true"
    for container in pod["spec"]["containers"]:
        for container_port in container.get("ports", []):
            if container_port.get("name") == port.get("targetPort") or (
                container_port["containerPort"] == port.get("targetPort")
            ):
                labels["__meta_kubernetes_pod_container_name"] = container["name"]
                labels["__meta_kubernetes_pod_container_port_name"] = container_port["name"]
                labels["__meta_kubernetes_pod_container_port_number"] = str(
                    container_port["containerPort"]
                )
    return {"targets": [address], "labels": labels}


def _copy(source: str, target: str) -> dict[str, Any]:
    return {
        "source_labels": [source],
        "target_label": sanitize(target),
        "regex": "(.+)",
        "replacement": "${1}",
    }


def _relabeling(rule: dict[str, Any]) -> dict[str, Any]:
    """A RelabelConfig of the CRD in Prometheus's own spelling, keys in the operator's order."""
    keys = (
        ("sourceLabels", "source_labels"),
        ("separator", "separator"),
        ("targetLabel", "target_label"),
        ("regex", "regex"),
        ("modulus", "modulus"),
        ("replacement", "replacement"),
    )
    out = {ours: rule[theirs] for theirs, ours in keys if rule.get(theirs) not in (None, "", [])}
    if rule.get("action"):
        out["action"] = str(rule["action"]).lower()
    return out
