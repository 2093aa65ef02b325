"""Every policy of the pack, and which ones apply in prod only."""

from __future__ import annotations

from pulumi_policy import Policy

from mlep_policies import access, tagging, traffic

POLICIES: list[Policy] = [*tagging.POLICIES, *access.POLICIES, *traffic.POLICIES]

# Levels for "M in prod" rules outside prod live in policies/config/non-prod.json, the same
# file `mlep` applies and `pulumi preview --policy-pack-config` takes.
