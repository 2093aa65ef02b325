"""The floor: a Pulumi program with no components and no validation.

It registers the resources of a plan document (`mlep plan --json`) exactly as recorded (type,
name, parent, dependencies, protect, inputs) and nothing else, so running it under mlep's
mock runtime costs what registering those resources costs and no more. bench/run.py times it
beside `mlep plan` over the same stack, and checks that it registered the same requests.

Config `floor:classes` picks how it declares each resource:

- `provider` (the floor the targets are checked against): the provider SDK's class for the
  type (`pulumi_azure_native.monitor.MetricAlert`, `pulumi_kubernetes.apps.v1.Deployment`,
  `pulumi_kubernetes.apiextensions.CustomResource` for a custom resource kind), the way a
  hand-written program declares it (under mlep's runtime its aliases go through the same
  stack transformation as the plan's, `mlep.engine.sdk.drop_unused_version_aliases`);
- `generic`: `pulumi.CustomResource` with the type token, the engine's cheapest path, for
  reference.

Resources of ml-endpoints' own component types are declared as plain ComponentResources
either way, so parents, and with them URNs, match the plan's.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import json
import re
from pathlib import Path
from typing import Any

import pulumi

from bench.fleet import is_component
from mlep.engine.runtime import STACK_TYPE

_CAMEL_HUMP = re.compile(r"(?<!^)(?=[A-Z])")


@functools.cache
def provider_class(token: str) -> type[pulumi.CustomResource]:
    """The provider SDK class that declares resources of ``token`` (looked up once per type, as
    a hand-written program names it once in its source)."""
    package, module, kind = token.split(":")
    if package == "azure-native":
        return getattr(importlib.import_module(f"pulumi_azure_native.{module}"), kind)  # type: ignore[no-any-return]
    if package == "kubernetes":
        group, version = module.rsplit("/", 1)
        builtin = group.removesuffix(".k8s.io")
        if "." not in builtin:
            package_module = importlib.import_module(f"pulumi_kubernetes.{builtin}.{version}")
            return getattr(package_module, kind)  # type: ignore[no-any-return]
        # A custom resource kind (Gateway API, Prometheus Operator, ...).
        return importlib.import_module("pulumi_kubernetes.apiextensions").CustomResource  # type: ignore[no-any-return]
    raise SystemExit(f"floor: no provider class known for {token}")


@functools.cache
def _argument_name(key: str) -> str:
    argument = _CAMEL_HUMP.sub("_", key).lower()
    # The SDKs rename an input that clashes with the first parameter (`resourceName`).
    return argument + "_" if argument == "resource_name" else argument


@functools.cache
def _parameters(cls: type) -> tuple[frozenset[str], bool]:
    """The names the class takes, and whether it takes any keyword at all."""
    # azure-native and Kubernetes classes take their arguments in _internal_init.
    parameters = inspect.signature(getattr(cls, "_internal_init", cls)).parameters
    any_keyword = any(p.kind is p.VAR_KEYWORD for p in parameters.values())
    return frozenset(parameters), any_keyword


def keyword_arguments(cls: type, token: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """The class's keyword arguments for wire-form inputs: top-level names in snake_case,
    nested values as they are (the SDK maps nested camelCase keys unchanged). Names and
    signatures are worked out once each: the floor spends nothing per resource that a
    hand-written program would not."""
    arguments = {_argument_name(key): value for key, value in inputs.items()}
    names, any_keyword = _parameters(cls)
    unknown = sorted(set(arguments) - names)
    if unknown and not any_keyword:
        raise SystemExit(f"floor: {token} has no argument(s) {', '.join(unknown)}")
    return arguments


def main() -> None:
    config = pulumi.Config("floor")
    document = json.loads(Path(config.require("plan")).read_text())
    provider_classes = config.require("classes") == "provider"
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
        token, name, inputs = resource["type"], resource["name"], resource["inputs"]
        declared_resource: pulumi.Resource
        if is_component(token):
            declared_resource = pulumi.ComponentResource(token, name, inputs, opts)
        elif provider_classes:
            cls = provider_class(token)
            declared_resource = cls(name, opts=opts, **keyword_arguments(cls, token, inputs))
        else:
            declared_resource = pulumi.CustomResource(token, name, inputs, opts)
        declared[resource["urn"]] = declared_resource
        return declared_resource

    for resource in recorded.values():
        declare(resource)


main()
