"""The floor: a Pulumi program with no components and no validation.

It registers the resources of a plan document (`mlep plan --json`) exactly as recorded (type,
name, parent, dependencies, protect, inputs), with the SDK's generic resource classes and
nothing else, so running it under mlep's mock runtime costs what registering those resources
costs and no more. bench/run.py times it beside `mlep plan` over the same stack.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pulumi

from bench.fleet import STACK_TYPE, is_component


def main() -> None:
    document = json.loads(Path(pulumi.Config("floor").require("plan")).read_text())
    recorded = {r["urn"]: r for r in document["resources"] if r["type"] != STACK_TYPE}
    declared: dict[str, pulumi.Resource] = {}

    def declare(resource: dict[str, Any]) -> pulumi.Resource:
        # Parents and dependencies first: options take resource objects.
        if resource["urn"] in declared:
            return declared[resource["urn"]]
        parent = recorded.get(resource["parent"] or "")
        opts = pulumi.ResourceOptions(
            parent=declare(parent) if parent else None,
            depends_on=[declare(recorded[d]) for d in resource["dependencies"] if d in recorded],
            protect=resource["protect"],
        )
        kind = pulumi.ComponentResource if is_component(resource["type"]) else pulumi.CustomResource
        declared[resource["urn"]] = kind(
            resource["type"], resource["name"], resource["inputs"], opts
        )
        return declared[resource["urn"]]

    for resource in recorded.values():
        declare(resource)


main()
