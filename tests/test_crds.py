"""Every custom resource the program emits is valid against the upstream CRDs (issue 21).

kubernetes-validate has no CRD schemas (NOTES.md), so `tests/crd_schema.py` checks the objects
`mlep plan --out` writes the way the API server would: defaults, the structural schema (an
unknown field fails: the server would prune it silently) and every CEL rule of
`x-kubernetes-validations`. Each kind is checked against the CRD of the minimum version we
support (`models.cluster_versions.MINIMUM_VERSIONS`) and of a current release, both
Gateway API channels for HTTPRoute. The CRDs are stored under tests/crds/, each with its
source (repository, path, tag, commit). Needs cel-python (`celpy`).
"""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from models.cluster_versions import MINIMUM_VERSION_REASONS, MINIMUM_VERSIONS
from tests.crd_schema import Crd, Report, Rule, check, evaluate, load_crds, validate
from tests.test_kubernetes_manifests import CUSTOM_KINDS, round_tripped
from tests.test_kubernetes_target import STACKS

# CEL rules met on our objects that the validator cannot evaluate (a function neither
# cel-python nor tests/crd_schema.EXTENSIONS provides). None today; one added here must say why.
UNEVALUATED_RULES: frozenset[Rule] = frozenset()
# Transition rules (they read `oldSelf`) met on our objects: only an update evaluates them, so
# a create-time check skips them. None of the stored CRDs has one on a field we set.
TRANSITION_RULES: frozenset[Rule] = frozenset()


def _minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def _key(crd: Crd) -> tuple[int, ...]:
    return tuple(int(part) for part in crd.project_version.split("."))


def minimum_crds() -> list[Crd]:
    return [
        crd
        for crd in load_crds()
        if _minor(crd.project_version) == MINIMUM_VERSIONS.get(crd.project)
    ]


def current_crds() -> list[Crd]:
    """The newest stored release of each kind (and Gateway API channel)."""
    newest: dict[tuple[str, str | None], Crd] = {}
    for crd in load_crds():
        key = (crd.kind, crd.channel)
        if key not in newest or _key(crd) > _key(newest[key]):
            newest[key] = crd
    return list(newest.values())


CHECKED = sorted({*minimum_crds(), *current_crds()}, key=lambda c: c.name)


def objects(kind: str) -> list[tuple[str, dict[str, Any]]]:
    """(stack/file, object) for every object of ``kind`` in every scenario and repo stack."""
    return [
        (f"{stack}/{name}", obj)
        for stack in STACKS
        for name, obj in round_tripped(stack)
        if obj["kind"] == kind
    ]


def crd(name: str) -> Crd:
    (found,) = [c for c in load_crds() if c.name == name]
    return found


# --- which CRDs ------------------------------------------------------------------------------


def test_every_custom_kind_has_a_minimum_and_a_current_crd() -> None:
    for kind in CUSTOM_KINDS:
        minimum = [c for c in minimum_crds() if c.kind == kind]
        current = [c for c in current_crds() if c.kind == kind]
        assert minimum, kind
        assert current, kind
        assert {_key(c) for c in minimum} != {_key(c) for c in current}, kind


def test_every_stored_crd_is_a_minimum_or_a_current_one() -> None:
    assert {c.name for c in load_crds()} == {c.name for c in CHECKED}


def test_every_stored_crd_names_its_source() -> None:
    for stored in load_crds():
        assert stored.source["repo"].count("/") == 1, stored.name
        assert stored.source["path"].endswith(".yaml"), stored.name
        assert stored.source["tag"] == f"v{stored.project_version}", stored.name
        assert re.fullmatch("[0-9a-f]{40}", stored.source["commit"]), stored.name


def test_every_minimum_version_has_a_reason() -> None:
    assert MINIMUM_VERSIONS.keys() == MINIMUM_VERSION_REASONS.keys()


def test_the_custom_kinds_are_every_kind_the_crds_cover() -> None:
    emitted = {obj["kind"] for stack in STACKS for _, obj in round_tripped(stack)}
    assert {c.kind for c in load_crds()} == CUSTOM_KINDS
    assert emitted >= CUSTOM_KINDS


# --- our objects validate ------------------------------------------------------------------


def reports(stored: Crd) -> dict[str, Report]:
    return {name: validate(obj, stored) for name, obj in objects(stored.kind)}


@pytest.mark.parametrize("stored", CHECKED, ids=lambda c: c.name)
def test_every_custom_resource_validates(stored: Crd) -> None:
    checked = reports(stored)
    assert checked
    failures = {name: report.errors for name, report in checked.items() if report.errors}
    assert failures == {}
    assert {r for report in checked.values() for r in report.unevaluated} <= UNEVALUATED_RULES
    assert {r for report in checked.values() for r in report.transition} <= TRANSITION_RULES


@pytest.mark.parametrize(
    "name",
    [
        "httproute-gateway-api-v1.3.0-standard",
        "httproute-gateway-api-v1.6.1-experimental",
        "securitypolicy-envoy-gateway-v1.4.0",
        "securitypolicy-envoy-gateway-v1.9.0",
    ],
)
def test_cel_rules_are_evaluated_on_every_route_and_policy(name: str) -> None:
    for object_name, report in reports(crd(name)).items():
        assert report.evaluated, object_name


def test_the_mirror_rules_are_evaluated() -> None:
    evaluated = {
        rule.path for report in reports(crd(MIRROR_CRD)).values() for rule in report.evaluated
    }
    assert "spec.rules[].filters[].requestMirror" in evaluated
    assert "spec.rules[].filters[]" in evaluated


# --- the validator bites ---------------------------------------------------------------------

MIRROR_CRD = "httproute-gateway-api-v1.3.0-standard"
ROUTE_CRDS = ["httproute-gateway-api-v1.3.0-standard", "httproute-gateway-api-v1.6.1-standard"]


def max_object(kind: str, name: str = "fraud-scoring") -> dict[str, Any]:
    """A copy of one `max` scenario object (fraud-scoring mirrors and uses key auth)."""
    (obj,) = [
        o
        for _, o in round_tripped("max")
        if o["kind"] == kind and o["metadata"]["name"].startswith(name)
    ]
    return copy.deepcopy(obj)


def errors(obj: dict[str, Any], name: str) -> list[str]:
    return validate(obj, crd(name)).errors


def a_route() -> dict[str, Any]:
    return max_object("HTTPRoute")


def the_mirror(route: dict[str, Any]) -> dict[str, Any]:
    (mirror,) = [f for f in route["spec"]["rules"][0]["filters"] if f["type"] == "RequestMirror"]
    return mirror  # type: ignore[no-any-return]


@pytest.mark.parametrize("name", ROUTE_CRDS)
def test_the_max_route_is_valid_before_it_is_broken(name: str) -> None:
    assert errors(a_route(), name) == []


@pytest.mark.parametrize("name", ROUTE_CRDS)
def test_rejects_an_unknown_field(name: str) -> None:
    route = a_route()
    route["spec"]["rules"][0]["backendRefs"][0]["wieght"] = 75
    (error,) = errors(route, name)
    assert error.startswith("spec.rules[0].backendRefs[0]:")
    assert "'wieght' was unexpected" in error


@pytest.mark.parametrize("name", ROUTE_CRDS)
def test_rejects_a_wrong_type(name: str) -> None:
    route = a_route()
    route["spec"]["rules"][0]["backendRefs"][0]["port"] = "3000"
    assert errors(route, name) == [
        "spec.rules[0].backendRefs[0].port: '3000' is not of type 'integer'"
    ]


@pytest.mark.parametrize("name", ROUTE_CRDS)
def test_rejects_a_mirror_percent_over_100(name: str) -> None:
    route = a_route()
    the_mirror(route)["requestMirror"]["percent"] = 101
    (error,) = errors(route, name)
    assert error.startswith("spec.rules[0].filters[1].requestMirror.percent: 101 is greater")


@pytest.mark.parametrize("name", ROUTE_CRDS)
def test_rejects_mirror_percent_and_fraction_together(name: str) -> None:
    route = a_route()
    the_mirror(route)["requestMirror"]["fraction"] = {"numerator": 1, "denominator": 5}
    assert errors(route, name) == [
        "spec.rules[0].filters[1].requestMirror: Only one of percent or fraction may be "
        "specified in HTTPRequestMirrorFilter"
    ]


@pytest.mark.parametrize("name", ROUTE_CRDS)
def test_rejects_a_prefix_rewrite_without_a_path_prefix_match(name: str) -> None:
    route = a_route()
    route["spec"]["rules"][0]["matches"][0]["path"]["type"] = "Exact"
    assert errors(route, name) == [
        "spec.rules[0]: When using URLRewrite filter with path.replacePrefixMatch, exactly one "
        "PathPrefix match must be specified"
    ]


@pytest.mark.parametrize("name", ROUTE_CRDS)
def test_rejects_a_filter_whose_type_does_not_match_its_field(name: str) -> None:
    route = a_route()
    route["spec"]["rules"][0]["filters"][0]["type"] = "RequestMirror"
    assert errors(route, name) == [
        "spec.rules[0].filters[0]: filter.requestMirror must be specified for RequestMirror "
        "filter.type",
        "spec.rules[0].filters[0]: filter.urlRewrite must be nil if the filter.type is not "
        "URLRewrite",
    ]


@pytest.mark.parametrize("name", ROUTE_CRDS)
def test_rejects_a_relative_path_match(name: str) -> None:
    route = a_route()
    route["spec"]["rules"][0]["matches"][0]["path"]["value"] = "fraud-scoring"
    (error,) = errors(route, name)
    assert error.startswith("spec.rules[0].matches[0].path: value must be an absolute path")


@pytest.mark.parametrize("name", ROUTE_CRDS)
def test_rejects_a_backend_timeout_longer_than_the_request_timeout(name: str) -> None:
    route = a_route()
    route["spec"]["rules"][0]["timeouts"]["backendRequest"] = "10s"  # request: 2500ms
    assert errors(route, name) == [
        "spec.rules[0].timeouts: backendRequest timeout cannot be longer than request timeout"
    ]


def test_rejects_the_same_parent_twice() -> None:
    route = a_route()
    route["spec"]["parentRefs"].append(dict(route["spec"]["parentRefs"][0]))
    (error,) = errors(route, MIRROR_CRD)
    assert error.startswith("spec.parentRefs: sectionName must be unique")


def test_a_missing_match_is_defaulted_before_the_rules_run() -> None:
    """Without the default `/` PathPrefix match, the prefix-rewrite rule could not hold."""
    route = a_route()
    del route["spec"]["rules"][0]["matches"]
    assert errors(route, MIRROR_CRD) == []


def test_rejects_an_invalid_label_value() -> None:
    route = a_route()
    route["metadata"]["labels"]["owner"] = "fraud on-call"
    assert errors(route, MIRROR_CRD) == [
        "metadata.labels.owner: 'fraud on-call' is not a valid label value"
    ]


def test_rejects_null_where_the_schema_is_not_nullable() -> None:
    route = a_route()
    route["spec"]["hostnames"] = None
    assert errors(route, MIRROR_CRD) == ["spec.hostnames: None is not of type 'array'"]


@pytest.mark.parametrize(
    "name", ["securitypolicy-envoy-gateway-v1.4.0", "securitypolicy-envoy-gateway-v1.9.0"]
)
def test_rejects_a_security_policy_aimed_at_a_service(name: str) -> None:
    policy = max_object("SecurityPolicy")
    policy["spec"]["targetRefs"][0].update(group="gateway.networking.k8s.io", kind="Service")
    (error,) = errors(policy, name)
    assert error.startswith("spec: this policy can only have a targetRefs[*].kind of Gateway")


def test_rejects_an_api_key_read_from_two_places() -> None:
    policy = max_object("SecurityPolicy")
    policy["spec"]["apiKeyAuth"]["extractFrom"][0]["params"] = ["key"]
    (error,) = errors(policy, "securitypolicy-envoy-gateway-v1.9.0")
    assert error.startswith("spec.apiKeyAuth.extractFrom[0]:")


def test_rejects_an_unknown_service_monitor_field() -> None:
    monitor = max_object("ServiceMonitor")
    monitor["spec"]["endpoints"][0]["scrapeIntervalSeconds"] = 30
    for name in (
        "servicemonitor-prometheus-operator-v0.39.0",
        "servicemonitor-prometheus-operator-v0.93.0",
    ):
        (error,) = errors(monitor, name)
        assert "'scrapeIntervalSeconds' was unexpected" in error


def test_rejects_a_secret_provider_parameter_that_is_not_a_string() -> None:
    provider = max_object("SecretProviderClass")
    provider["spec"]["parameters"]["usePodIdentity"] = False
    assert errors(provider, "secretproviderclass-secrets-store-csi-driver-v1.1.0") == [
        "spec.parameters.usePodIdentity: False is not of type 'string'"
    ]


def test_rejects_an_object_of_another_kind() -> None:
    assert errors(max_object("ServiceMonitor"), MIRROR_CRD) == [
        "monitoring.coreos.com/v1/ServiceMonitor is not gateway.networking.k8s.io/v1/HTTPRoute"
    ]


# --- the validator's own semantics -----------------------------------------------------------

OBJECT = {"type": "object", "properties": {"a": {"type": "string"}}}


def test_an_unknown_field_is_kept_where_the_schema_preserves_them() -> None:
    assert check({"a": "x", "b": 1}, OBJECT).errors != []
    preserving = {**OBJECT, "x-kubernetes-preserve-unknown-fields": True}
    assert check({"a": "x", "b": 1}, preserving).errors == []


def test_int_or_string_takes_either_and_nothing_else() -> None:
    schema = {"x-kubernetes-int-or-string": True}
    assert check(8080, schema).ok
    assert check("50%", schema).ok
    assert not check(1.5, schema).ok


def test_nullable_takes_null() -> None:
    assert not check(None, {"type": "string"}).ok
    assert check(None, {"type": "string", "nullable": True}).ok


def test_int32_is_range_checked() -> None:
    schema = {"type": "integer", "format": "int32"}
    assert check(2**31 - 1, schema).ok
    assert not check(2**31, schema).ok


def test_list_map_keys_are_unique() -> None:
    schema = {
        "type": "array",
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["name"],
        "items": OBJECT | {"properties": {"name": {"type": "string"}}},
    }
    assert check([{"name": "a"}, {"name": "b"}], schema).ok
    assert not check([{"name": "a"}, {"name": "a"}], schema).ok


def test_reserved_and_dashed_property_names_are_escaped_for_cel() -> None:
    schema = {
        "type": "object",
        "properties": {"namespace": {"type": "string"}, "x-y": {"type": "string"}},
        "x-kubernetes-validations": [
            {"rule": "self.__namespace__ == 'ns' && self.x__dash__y == 'v'", "message": "m"}
        ],
    }
    report = check({"namespace": "ns", "x-y": "v"}, schema)
    assert report.ok
    assert len(report.evaluated) == 1


def test_ascii_case_functions_leave_other_letters_alone() -> None:
    assert evaluate("self.lowerAscii() == 'host'", "HoST")
    assert evaluate("self.upperAscii() == 'POST'", "post")
    assert evaluate("self.lowerAscii() == 'ÄB'.lowerAscii() && self == 'Äb'", "Äb")


def test_a_failed_rule_reports_its_message() -> None:
    schema = {"type": "integer", "x-kubernetes-validations": [{"rule": "self < 5", "message": "m"}]}
    assert check(4, schema).ok
    assert check(5, schema).errors == ["<root>: m"]


def test_a_transition_rule_is_reported_not_evaluated() -> None:
    schema = {"type": "string", "x-kubernetes-validations": [{"rule": "self == oldSelf"}]}
    report = check("a", schema)
    assert report.ok
    assert report.evaluated == []
    assert [r.rule for r in report.transition] == ["self == oldSelf"]


def test_a_rule_with_an_unknown_function_is_reported_unevaluated() -> None:
    schema = {"type": "string", "x-kubernetes-validations": [{"rule": "self.isFancy()"}]}
    report = check("a", schema)
    assert report.evaluated == []
    assert [r.rule for r in report.unevaluated] == ["self.isFancy()"]


def test_a_rule_that_errors_rejects_the_object() -> None:
    schema = {"type": "object", "x-kubernetes-validations": [{"rule": "self.missing == 1"}]}
    (error,) = check({}, schema).errors
    assert "errored" in error
