"""Traffic-change safety (POLICY-RULES.md, TRF-01 to TRF-11): every traffic policy of the
pack in rule order, from the modules that hold them."""

from __future__ import annotations

from mlep_policies.traffic_guards import (
    endpoint_protected,
    live_deployments_alerted,
    traffic_waits_for_deployments,
)
from mlep_policies.traffic_split import (
    managed_only_features,
    mirror_traffic,
    route_weights,
    traffic_weights,
)
from mlep_policies.traffic_steps import traffic_steps

POLICIES = [
    traffic_weights,
    mirror_traffic,
    managed_only_features,
    traffic_waits_for_deployments,
    traffic_steps,
    live_deployments_alerted,
    route_weights,
    endpoint_protected,
]
