"""The offline resource diff (issue 20, point 4): what `pulumi preview --diff` would list, from
the program's registrations for the base and for the change.

Which changes replace are facts of the providers' APIs: Kubernetes rejects an in-place change
of an object's name or namespace and of an apps/v1 Deployment's `spec.selector` ("field is
immutable"), and of a Service's `spec.clusterIP`; Azure Resource Manager addresses a resource
by its id (subscription, group, the parent and resource names) and location, so another id is
another resource.
"""

from __future__ import annotations

from typing import Any

from mlep.engine.diff import resource_diff
from mlep.engine.runtime import SECRET, Registration


def registration(
    name: str, inputs: dict[str, Any], kind: str = "kubernetes:apps/v1:Deployment"
) -> Registration:
    return Registration(
        urn=f"urn:pulumi:dev::ml-endpoints::{kind}::{name}",
        type=kind,
        name=name,
        custom=True,
        parent=None,
        dependencies=[],
        protect=False,
        inputs=inputs,
    )


def deployment(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "fraud-scoring-blue", "namespace": "ml"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "blue"}}, **spec},
    }


def ops(before: list[Registration], after: list[Registration]) -> dict[str, str]:
    return {c.name: c.op for c in resource_diff(before, after)}


def test_a_replica_count_is_an_update_a_selector_a_replacement() -> None:
    before = [registration("d", deployment())]
    assert ops(before, [registration("d", deployment(replicas=3))]) == {"d": "update"}
    changed = deployment(selector={"matchLabels": {"app": "green"}})
    (change,) = resource_diff(before, [registration("d", changed)])
    assert change.op == "replace"
    assert change.changes == (("spec.selector.matchLabels.app", "blue", "green"),)


def test_a_kubernetes_name_or_namespace_change_replaces() -> None:
    moved = deployment()
    moved["metadata"]["namespace"] = "other"
    assert ops([registration("d", deployment())], [registration("d", moved)]) == {"d": "replace"}


def test_azure_ids_and_location_replace_other_inputs_update() -> None:
    kind = "azure-native:machinelearningservices:OnlineDeployment"
    base = {"endpointName": "e", "location": "westeurope", "properties": {"description": "a"}}
    before = [registration("d", base, kind)]
    for changed, op in (
        ({**base, "endpointName": "f"}, "replace"),
        ({**base, "location": "northeurope"}, "replace"),
        ({**base, "properties": {"description": "b"}}, "update"),
    ):
        assert ops(before, [registration("d", changed, kind)]) == {"d": op}


def test_creates_deletes_and_unchanged_resources() -> None:
    same = registration("same", deployment())
    result = ops(
        [same, registration("old", deployment())], [same, registration("new", deployment())]
    )
    assert result == {"new": "create", "old": "delete"}


def test_a_secret_never_shows_its_value_and_an_unchanged_one_is_no_change() -> None:
    kind = "azure-native:keyvault:Secret"
    before = [registration("k", {"properties": {"value": SECRET}, "secretName": "key"}, kind)]
    after = [registration("k", {"properties": {"value": SECRET}, "secretName": "key"}, kind)]
    assert resource_diff(before, after) == []
    added = [
        registration(
            "k", {"properties": {"value": SECRET, "contentType": "x"}, "secretName": "key"}, kind
        )
    ]
    (change,) = resource_diff(before, added)
    assert change.changes == (("properties.contentType", None, "x"),)


def test_a_list_that_changes_length_is_one_change() -> None:
    before = [registration("d", deployment(args=["a"]))]
    (change,) = resource_diff(before, [registration("d", deployment(args=["a", "b"]))])
    assert change.changes == (("spec.args", ["a"], ["a", "b"]),)
