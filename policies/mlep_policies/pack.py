"""Every policy of the pack, one module per concern (POLICY-RULES.md)."""

from __future__ import annotations

from pulumi_policy import Policy

from mlep_policies import access, availability, identity, observability, tagging, traffic, workload

POLICIES: list[Policy] = [
    *tagging.POLICIES,
    *access.POLICIES,
    *identity.POLICIES,
    *traffic.POLICIES,
    *availability.POLICIES,
    *workload.POLICIES,
    *observability.POLICIES,
]

# Levels for "M in prod" rules outside prod live in policies/config/non-prod.json, the same
# file `mlep` applies and `pulumi preview --policy-pack-config` takes.
