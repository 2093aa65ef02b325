"""Guardrail readings from Prometheus, for endpoints on the Kubernetes target.

Each signal is one instant query of the HTTP API (`/api/v1/query`) over the bake window,
with the expressions the endpoint's alert rules use (models/prometheus_queries.py), restricted
to the deployment being rolled out. https://prometheus.io/docs/prometheus/latest/querying/api/
"""

from __future__ import annotations

import base64
import json
import math
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from typing import Any

from mlep.change.guardrails import REQUEST_SIGNALS, SIGNALS, MetricsUnavailable, Reading, threshold
from models import prometheus_queries as queries
from models.endpoint import EndpointSpec

# The Kubernetes target's names of the serving container and of a deployment's workload
# (components/kubernetes/labels.py). The command line does not import components, so
# tests/test_guardrails_prometheus.py checks that these agree with it.
CONTAINER_NAME = "bento"
DEFAULT_TIMEOUT_SECONDS = 10.0
FIX = "check --prometheus-url and that Prometheus is reachable from here"


def workload_name(endpoint_name: str, deployment_name: str) -> str:
    return f"{endpoint_name}-{deployment_name}"


class PrometheusSource:
    """Reads a deployment's signals from the Prometheus at ``url`` (e.g. http://127.0.0.1:9090)
    that scrapes the endpoint's namespace ``namespace``; each query waits at most ``timeout``
    seconds (default 10).

    Credentials in the URL (https://user:password@host) are sent as basic auth and never
    appear in a message.
    """

    def __init__(
        self, url: str, namespace: str, *, timeout: float = DEFAULT_TIMEOUT_SECONDS
    ) -> None:
        parts = urllib.parse.urlsplit(url.rstrip("/"))
        self._authorization: str | None = None
        if parts.username is not None:
            user_password = f"{urllib.parse.unquote(parts.username)}:"
            user_password += urllib.parse.unquote(parts.password or "")
            token = base64.b64encode(user_password.encode()).decode()
            self._authorization = f"Basic {token}"
        host = parts.hostname or ""
        if ":" in host:  # an IPv6 address
            host = f"[{host}]"
        netloc = f"{host}:{parts.port}" if parts.port else host
        self._url = urllib.parse.urlunsplit(parts._replace(netloc=netloc))
        self._namespace = namespace
        self._timeout = timeout

    def describe(self) -> str:
        return f"Prometheus at {self._url}"

    def read(self, spec: EndpointSpec, deployment: str, window_minutes: int) -> list[Reading]:
        # rate() needs two samples inside its window; a bake of 0 minutes still reads the
        # last minute rather than nothing.
        window = f"{max(window_minutes, 1)}m"
        values = queries.signal_values(
            spec,
            self._namespace,
            window,
            container=CONTAINER_NAME,
            workload_name=workload_name,
            deployment=deployment,
        )
        served = sum(
            self._query(
                queries.request_count(spec.name, self._namespace, window, deployment=deployment)
            )
        )
        # As the alerts: a share of fewer than `alerts.min_requests` requests proves nothing.
        enough = served >= spec.alerts.min_requests
        readings = []
        for key, (_, _, side) in SIGNALS.items():
            if key in REQUEST_SIGNALS and not enough:
                readings.append(Reading(key, None, threshold(spec, key)))
                continue
            # Several series (one per pod for CPU and memory): the worst one decides.
            worst: Callable[[Iterable[float]], float] = max if side == "above" else min
            found = self._query(values[key])
            readings.append(Reading(key, worst(found) if found else None, threshold(spec, key)))
        return readings

    def _query(self, expression: str) -> list[float]:
        """The finite values of an instant query's vector (NaN is 0/0: no requests)."""
        body = self._get("/api/v1/query", {"query": expression})
        data = body.get("data")
        if not isinstance(data, dict) or data.get("resultType") != "vector":
            raise MetricsUnavailable(
                f"Prometheus at {self._url} answered without a vector result; {FIX}"
            )
        values = []
        for sample in data.get("result", []):
            try:
                value = float(sample["value"][1])
            except (KeyError, IndexError, TypeError, ValueError) as error:
                raise MetricsUnavailable(
                    f"Prometheus at {self._url} answered a sample without a value "
                    f"({error!r}); {FIX}"
                ) from error
            if math.isfinite(value):
                values.append(value)
        return values

    def _get(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        # urllib would also open file:// and ftp:// URLs.
        if not self._url.startswith(("http://", "https://")):
            raise MetricsUnavailable(f"Prometheus URL {self._url} is not http(s); {FIX}")
        url = f"{self._url}{path}?{urllib.parse.urlencode(params)}"
        request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
        if self._authorization:
            request.add_header("Authorization", self._authorization)
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310
                status, text = response.status, response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as error:  # Prometheus answers bad queries with 400/422
            status, text = error.code, error.read().decode("utf-8", "replace")
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise MetricsUnavailable(
                f"could not reach Prometheus at {self._url} ({reason}); {FIX}"
            ) from error
        try:
            body = json.loads(text)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise MetricsUnavailable(
                f"Prometheus at {self._url} answered {status} without a JSON body; {FIX}"
            )
        if status != 200 or body.get("status") != "success":
            error_text = body.get("error") or f"status {body.get('status')!r}"
            raise MetricsUnavailable(
                f"Prometheus at {self._url} answered {status}: "
                f"{body.get('errorType', 'error')}: {error_text}; {FIX}"
            )
        return body
