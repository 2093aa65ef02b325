"""The ml-endpoints policy pack. Only assembles the pack: `PolicyPack(...)` serves the Analyzer
protocol and never returns, so the policies live in `mlep_policies` where tests import them."""

from pulumi_policy import PolicyPack

from mlep_policies.pack import POLICIES

PolicyPack(name="ml-endpoints", policies=POLICIES)
