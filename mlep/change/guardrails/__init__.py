"""Guardrails between rollout steps: the endpoint's alert thresholds against live metrics.

Before `mlep rollout` moves a deployment to its next step, the deployment's own metrics over
the endpoint's bake window (``rollout.bake_minutes``) are read from the platform's monitoring
(Prometheus for Kubernetes, Azure Monitor for Azure) and compared with the thresholds of the
endpoint's ``alerts`` block, the same thresholds its alert rules fire on. A breach stops the
rollout; so does a window without requests, because a step nobody has called is not a step
that has been proven.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from models.endpoint import EndpointSpec

# Alert threshold field -> (what is measured, the unit, the side of the threshold that breaches)
SIGNALS: dict[str, tuple[str, str, Literal["above", "below"]]] = {
    "latency_p95_ms": ("p95 latency", "ms", "above"),
    "success_rate_min_percent": ("success rate (2xx)", "%", "below"),
    "client_error_rate_max_percent": ("client error rate (4xx)", "%", "above"),
    "server_error_rate_max_percent": ("server error rate (5xx)", "%", "above"),
    "cpu_max_percent": ("CPU utilisation", "%", "above"),
    "memory_max_percent": ("memory utilisation", "%", "above"),
}
# Without requests in the window these cannot be judged, and the step is not proven.
REQUEST_SIGNALS = frozenset(
    {"success_rate_min_percent", "client_error_rate_max_percent", "server_error_rate_max_percent"}
)

Status = Literal["pass", "breach", "no data"]


@dataclass(frozen=True)
class Reading:
    """One signal of one deployment over the window: ``value`` None when there was no data."""

    key: str  # a field of AlertThresholds, e.g. latency_p95_ms
    value: float | None
    threshold: float

    @property
    def status(self) -> Status:
        if self.value is None:
            return "no data"
        side = SIGNALS[self.key][2]
        breached = self.value > self.threshold if side == "above" else self.value < self.threshold
        return "breach" if breached else "pass"

    def describe(self) -> str:
        title, unit, side = SIGNALS[self.key]
        limit = f"{'max' if side == 'above' else 'min'} {_number(self.threshold)} {unit}"
        if self.value is None:
            return f"{title}: no data ({limit})"
        return f"{title}: {_number(self.value)} {unit} ({limit}) {self.status}"


class MetricsSource(Protocol):
    """Where live metrics come from (Prometheus, Azure Monitor)."""

    def describe(self) -> str:
        """Where the readings come from, for the report (e.g. the Prometheus URL)."""
        ...

    def read(self, spec: EndpointSpec, deployment: str, window_minutes: int) -> list[Reading]:
        """One Reading per key of SIGNALS for ``deployment`` of ``spec`` over the last
        ``window_minutes`` minutes, thresholds from ``spec.alerts``.

        Raises MetricsUnavailable when the source cannot be queried at all.
        """
        ...


class MetricsUnavailable(Exception):
    """The metrics source could not be queried (unreachable, unauthorised, bad answer)."""


Verdict = Literal["advance", "breach", "insufficient"]


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    readings: tuple[Reading, ...]

    @property
    def breaches(self) -> list[Reading]:
        return [r for r in self.readings if r.status == "breach"]


def decide(readings: list[Reading]) -> Decision:
    """Breach if any signal breaches; insufficient if the request signals have no data."""
    if any(r.status == "breach" for r in readings):
        return Decision("breach", tuple(readings))
    if any(r.status == "no data" for r in readings if r.key in REQUEST_SIGNALS):
        return Decision("insufficient", tuple(readings))
    return Decision("advance", tuple(readings))


def threshold(spec: EndpointSpec, key: str) -> float:
    return float(getattr(spec.alerts, key))


def _number(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")
