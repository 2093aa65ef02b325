"""The oldest cluster add-ons the Kubernetes target's objects work with, and why.

Each minimum is the later of: the first release whose CRD holds every field this program sets,
and the first release whose controller does what the objects ask. tests/test_crds.py validates
every scenario's custom resources against the CRDs of each minimum and of a current release
(stored, with their source, under tests/crds/).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

MINIMUM_VERSIONS: Final[Mapping[str, str]] = {
    "Gateway API": "1.3",
    "Envoy Gateway": "1.4",
    "Prometheus Operator": "0.39",
    "Secrets Store CSI Driver": "1.1",
    "Azure Key Vault Provider for Secrets Store CSI Driver": "1.1",
}

MINIMUM_VERSION_REASONS: Final[Mapping[str, str]] = {
    "Gateway API": "HTTPRoute RequestMirror `percent` is in the standard channel from 1.3",
    "Envoy Gateway": (
        "RequestMirror `percent` is implemented from 1.4 (SecurityPolicy `apiKeyAuth` from 1.3)"
    ),
    "Prometheus Operator": (
        "first release with apiextensions.k8s.io/v1 CRDs; every ServiceMonitor and "
        "PrometheusRule field we set is in them"
    ),
    "Secrets Store CSI Driver": (
        "token requests, which workload identity needs, from 1.1 "
        "(`secrets-store.csi.x-k8s.io/v1` from 1.0)"
    ),
    "Azure Key Vault Provider for Secrets Store CSI Driver": (
        "reads the workload identity `clientID` parameter from 1.1"
    ),
}
