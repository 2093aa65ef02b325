"""The request bodies the program sends for Azure ML resources, checked against the Azure REST API
2025-12-01, the version pulumi-azure-native 3.29 uses for machinelearningservices.

The oracle is Microsoft's generated client for that API version (azure-ai-ml 1.35.2,
`azure/ai/ml/_restclient/arm_ml_service`), reduced to facts by scripts/azure_ml_rest_schema.py
into tests/fixtures/azure_rest/machinelearningservices-2025-12-01.json: each model's wire
properties with type, required, read-only and visibility, discriminators, enum known values.

Azure drops a property it does not define without an error, so a typo'd one silently loses a
setting; it rejects a missing required one or an unknown enum value only at `pulumi up`. Each
body is the resource's inputs in engine wire form made into what azure-native PUTs:
without the URL's path parameters, and with its string sets as maps (`request_body`).
"""

from __future__ import annotations

import copy
import difflib
import functools
import importlib
import inspect
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pulumi.runtime import rpc

from components.azure.online_endpoint import ENDPOINT_API_VERSION, ENDPOINT_ARM_TYPE
from mlep.engine.runtime import SECRET, ProgramRun, Registration
from tests.conftest import run_namespace
from tests.scenarios import scenario, with_deployment_fields

API_VERSION = "2025-12-01"
FIXTURE = (
    Path(__file__).parent
    / "fixtures"
    / "azure_rest"
    / f"machinelearningservices-{API_VERSION}.json"
)
SCHEMA: dict[str, Any] = json.loads(FIXTURE.read_text())
MODELS: dict[str, Any] = SCHEMA["models"]
ENUMS: dict[str, list[str]] = SCHEMA["enums"]

ENDPOINT = "azure-native:machinelearningservices:OnlineEndpoint"
DEPLOYMENT = "azure-native:machinelearningservices:OnlineDeployment"
ENVIRONMENT = "azure-native:machinelearningservices:EnvironmentVersion"
# Each resource type and the REST model its PUT body is.
BODIES = {
    ENDPOINT: "OnlineEndpoint",
    DEPLOYMENT: "OnlineDeployment",
    ENVIRONMENT: "EnvironmentVersion",
}

# Values the mock runtime cannot show. Under mlep's mocks (preview=False) no value is unknown;
# a secret input would arrive as the placeholder. Either is skipped by name, never passed.
UNRESOLVED = {
    rpc.UNKNOWN: "unknown until the resource it comes from exists",
    SECRET: "a secret, its value not shown to the program's tests",
}
# The unresolved values the scenarios may send: "<type> <name>: <path>" (the start of a skipped
# entry) -> why. None today: every value of every body is checked.
EXPECTED_UNRESOLVED: dict[str, str] = {}

ISO_DURATION = re.compile(
    r"P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?", re.ASCII
)
RFC3339 = re.compile(
    r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", re.ASCII | re.IGNORECASE
)


# ---- The checker ---------------------------------------------------------------------------


@dataclass
class BodyCheck:
    """What checking one body found: each problem, and each value it could not check."""

    problems: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def check_body(resource: str, body: Any, model: str) -> BodyCheck:
    """Check ``body`` (a request body, named ``resource`` in messages) against REST ``model``:
    every property defined and writable, every required one present, types, enum values,
    discriminators and durations as the 2025-12-01 definitions say."""
    check = BodyCheck()
    _check(check, resource, "", body, {"kind": "model", "model": model})
    return check


def _check(check: BodyCheck, resource: str, path: str, value: Any, kind: dict[str, Any]) -> None:
    if isinstance(value, str) and value in UNRESOLVED:
        check.skipped.append(f"{resource}: {path}: {UNRESOLVED[value]}; expected {_show(kind)}")
    elif kind["kind"] == "model":
        _check_model(check, resource, path, value, kind["model"])
    elif kind["kind"] == "array" and isinstance(value, list):
        for index, item in enumerate(value):
            _check(check, resource, f"{path}[{index}]", item, kind["items"])
    elif kind["kind"] == "map" and isinstance(value, dict):
        for key, item in value.items():
            _check(check, resource, f"{path}[{key!r}]", item, kind["values"])
    elif expectation := _unmet(value, kind):
        check.problems.append(f"{resource}: {path} = {value!r}: {expectation}")


PYTHON_TYPES: dict[str, type | tuple[type, ...]] = {
    "string": str,
    "enum": str,
    "integer": int,
    "number": (int, float),
    "boolean": bool,
    "any": object,
}
FORMATS = {
    "duration": (ISO_DURATION, "not an ISO 8601 duration such as 'PT10S'"),
    "date-time": (RFC3339, "not an RFC 3339 date-time"),
}


def _unmet(value: Any, kind: dict[str, Any]) -> str | None:
    """What the oracle expects of a value that is no model, array or map, where ``value``
    falls short; None when it does not."""
    name = kind["kind"]
    numeric = name in ("integer", "number")
    if not isinstance(value, PYTHON_TYPES.get(name, ())) or (numeric and isinstance(value, bool)):
        return f"expected {_show(kind)}"
    text = str(value)
    if name == "enum":
        known = ENUMS[kind["enum"]]
        same_but_case = [v for v in known if v.lower() == text.lower() and v != text]
        if same_but_case:
            return f"differs only in case from {kind['enum']} value {same_but_case[0]!r}"
        return None if value in known else f"not a known value of {kind['enum']}: one of {known}"
    if kind.get("const") is not None and value != kind["const"]:
        return f"must be {kind['const']!r}"
    pattern, words = FORMATS.get(kind.get("format", ""), (None, ""))
    return words if pattern and not pattern.fullmatch(text) else None


def _check_model(check: BodyCheck, resource: str, path: str, value: Any, name: str) -> None:
    where = f"{resource}: {path or '(body)'}"
    if not isinstance(value, dict):
        check.problems.append(f"{where} = {value!r}: expected a {name} object")
        return
    model = MODELS[name]
    if "discriminator" in model:
        key, subtypes = model["discriminator"]["property"], model["discriminator"]["subtypes"]
        if value.get(key) in subtypes:
            name = subtypes[value[key]]
            model = MODELS[name]
        else:
            check.problems.append(
                f"{where}.{key} = {value.get(key)!r}: the discriminator of {name} must be one "
                f"of {sorted(subtypes)} (_models.py line {model['line']})"
            )
    properties = model["properties"]
    for key, item in value.items():
        inner = f"{path}.{key}" if path else key
        prop = properties.get(key)
        if prop is None:
            near = difflib.get_close_matches(key, properties, n=1)
            hint = f"did you mean {near[0]!r}? " if near else ""
            check.problems.append(
                f"{resource}: {inner} = {item!r}: {name} defines no such property, and Azure "
                f"ignores what it does not define; {hint}(_models.py line {model['line']})"
            )
        elif prop["readOnly"]:
            check.problems.append(
                f"{resource}: {inner} = {item!r}: read-only in {name}, Azure sets it (visibility "
                f"{prop['visibility']}; {_source(prop)})"
            )
        else:
            _check(check, resource, inner, item, prop["type"])
    for key, prop in properties.items():
        if prop["required"] and key not in value:
            inner = f"{path}.{key}" if path else key
            check.problems.append(
                f"{resource}: {inner} is missing: required by {name}, "
                f"{_show(prop['type'])} ({_source(prop)})"
            )


def _source(prop: dict[str, Any]) -> str:
    return f"{prop['definedIn']}, _models.py line {prop['line']}"


def _show(kind: dict[str, Any]) -> str:
    """The oracle's type, in words."""
    name = kind["kind"]
    if name in ("array", "map"):
        inner = kind["items"] if name == "array" else kind["values"]
        return f"{'an array' if name == 'array' else 'a map'} of {_show(inner)}"
    if name == "model":
        return f"a {kind['model']} object"
    if name == "enum":
        return f"one of {kind['enum']} {ENUMS[kind['enum']]}"
    if kind.get("const") is not None:
        return repr(kind["const"])
    return "an ISO 8601 duration string" if kind.get("format") == "duration" else name


# ---- From the program's registrations to request bodies ---------------------------------------


def _camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(word.title() for word in rest)


@functools.cache
def path_parameters(token: str) -> frozenset[str]:
    """The inputs that go into the request URL, not its body: pulumi_azure_native generates each
    type's get function with its GET path's parameters, and GET and PUT share the path."""
    _, module, name = token.split(":")
    package = importlib.import_module(f"pulumi_azure_native.{module}")
    snake = re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
    get = inspect.signature(getattr(package, f"get_{snake}")).parameters
    return frozenset(_camel(p) for p in get if p != "opts")


def request_body(resource: Registration) -> dict[str, Any]:
    """What azure-native PUTs for ``resource``: its inputs without the path parameters, and
    `identity.userAssignedIdentities`, a list of ids in the SDK, as the map {id: {}} the API
    takes (a string set: pulumi/pulumi-azure-native provider/pkg/convert/
    sdkInputsToRequestBody.go, IsStringSet)."""
    body = {k: v for k, v in resource.inputs.items() if k not in path_parameters(resource.type)}
    identity = body.get("identity")
    if isinstance(identity, dict) and isinstance(identity.get("userAssignedIdentities"), list):
        ids = identity["userAssignedIdentities"]
        body["identity"] = identity | {"userAssignedIdentities": {i: {} for i in ids}}
    return body


def ml_resources(run: ProgramRun) -> list[Registration]:
    return [r for r in run.resources if r.type in BODIES]


def check_resource(resource: Registration) -> BodyCheck:
    return check_body(
        f"{resource.type} {resource.name}", request_body(resource), BODIES[resource.type]
    )


def _shadow(**fields: Any) -> dict[str, Any]:
    """`max` with its shadow deployment (a TF Serving container) changed; None removes a field."""
    return with_deployment_fields(scenario("max"), 2, fields, name="shadow")


def _environment_only(environment: Any) -> dict[str, Any]:
    """`defaults` with a deployment that has no model: its environment's image serves one."""
    namespace = scenario("defaults")
    namespace["endpoints"][0]["deployments"][0] = {
        "name": "blue",
        "environment": environment,
        "instance_type": "Standard_DS3_v2",
    }
    return namespace


STACKS = {
    "defaults": lambda: scenario("defaults"),
    "waf_aligned": lambda: scenario("waf_aligned"),
    "max": lambda: scenario("max"),
    # The model baked into the custom container's image: no model, no mount path.
    "max-container-without-model": lambda: _shadow(model=None, model_mount_path=None),
    # An image alone, with no routes of its own: Azure ML's server in the image.
    "image-only-environment": lambda: _environment_only({"image": "acr.example.io/fraud:1.4.2"}),
    # A registered environment whose image holds the model.
    "registered-environment-without-model": lambda: _environment_only("azureml:fraud-serving:4"),
}


@functools.cache
def run_stack(name: str) -> ProgramRun:
    return run_namespace(STACKS[name]())


# ---- The program's bodies --------------------------------------------------------------------


@pytest.mark.parametrize("stack", list(STACKS))
def test_every_azure_ml_body_matches_the_api(stack: str) -> None:
    resources = ml_resources(run_stack(stack))
    assert {r.type for r in resources} >= {ENDPOINT, DEPLOYMENT}, "nothing to check"
    problems = [p for r in resources for p in check_resource(r).problems]
    assert not problems, f"{stack}: {len(problems)} problem(s):\n" + "\n".join(problems)


@pytest.mark.parametrize("stack", list(STACKS))
def test_no_body_value_goes_unchecked(stack: str) -> None:
    # A value the mocks cannot resolve is skipped by the checker, and only those listed here
    # may be: the check cannot pass by not looking.
    skipped = [s for r in ml_resources(run_stack(stack)) for s in check_resource(r).skipped]
    unexpected = [s for s in skipped if not any(s.startswith(k) for k in EXPECTED_UNRESOLVED)]
    assert not unexpected, "unchecked values:\n" + "\n".join(unexpected)


def test_the_scenarios_send_every_kind_of_body() -> None:
    # What the bodies above cover: scoring code, a mount path, a deployment without a model,
    # an environment version with routes and one without, and every auth mode.
    bodies = [(r.type, request_body(r)) for s in STACKS for r in ml_resources(run_stack(s))]
    deployments = [b["properties"] for kind, b in bodies if kind == DEPLOYMENT]
    assert any("codeConfiguration" in p for p in deployments)
    assert any("modelMountPath" in p for p in deployments)
    assert any("model" not in p for p in deployments)
    environments = [b["properties"] for kind, b in bodies if kind == ENVIRONMENT]
    assert any("inferenceConfig" in p for p in environments)
    assert any("inferenceConfig" not in p for p in environments)
    auth = {b["properties"]["authMode"] for kind, b in bodies if kind == ENDPOINT}
    assert auth == set(ENUMS["EndpointAuthMode"])


def test_every_deployment_is_a_managed_one_with_default_scaling() -> None:
    # The discriminators choose the subtype Azure validates against: ManagedOnlineDeployment
    # (not Kubernetes) and DefaultScaleSettings (Azure Monitor autoscale does the scaling).
    managed = MODELS["OnlineDeploymentProperties"]["discriminator"]["subtypes"]
    scale = MODELS["OnlineScaleSettings"]["discriminator"]["subtypes"]
    for stack in STACKS:
        for resource in ml_resources(run_stack(stack)):
            if resource.type == DEPLOYMENT:
                properties = resource.inputs["properties"]
                assert managed[properties["endpointComputeType"]] == "ManagedOnlineDeployment"
                assert scale[properties["scaleSettings"]["scaleType"]] == "DefaultScaleSettings"


def test_the_traffic_template_puts_a_valid_endpoint() -> None:
    # After creation the endpoint is written by the traffic resource's ARM template (see
    # components/azure/online_endpoint.py): its endpoint is the same body, ARM's envelope aside.
    envelope = {"type", "apiVersion", "name", "dependsOn", "condition", "comments", "scope"}
    checked = 0
    for stack in STACKS:
        for resource in run_stack(stack).resources:
            if resource.type != "azure-native:resources:Deployment":
                continue
            for item in resource.inputs["properties"]["template"]["resources"]:
                if item["type"] != ENDPOINT_ARM_TYPE:
                    continue
                assert item["apiVersion"] == SCHEMA["source"]["apiVersion"]
                body = {k: v for k, v in item.items() if k not in envelope}
                check = check_body(f"{resource.name} template", body, "OnlineEndpoint")
                assert not check.problems, "\n".join(check.problems)
                assert not check.skipped, "\n".join(check.skipped)
                checked += 1
    assert checked >= len(STACKS)


def test_the_create_only_properties_sent_are_these() -> None:
    # Azure takes these only when it creates the resource (visibility read and create, no
    # update). The environment version's are fixed by its version (a new definition is a new
    # version); location is a replacement in the offline diff. Yet the offline diff plans a
    # change of properties.instanceType or of the scoring code as an in-place update (nested,
    # so azure-native gives it no forceNew; tests/test_resource_diff.py), which Azure may
    # refuse: pinned here so that a new create-only input is a decision.
    sent: set[tuple[str, str]] = set()

    def walk(kind: str, path: str, value: Any, model: str) -> None:
        entry = MODELS[model]
        if "discriminator" in entry:
            subtypes = entry["discriminator"]["subtypes"]
            entry = MODELS[subtypes[value[entry["discriminator"]["property"]]]]
        for key, item in value.items():
            prop = entry["properties"][key]
            inner = f"{path}.{key}" if path else key
            if "create" in prop["visibility"] and "update" not in prop["visibility"]:
                sent.add((kind.rsplit(":", 1)[1], inner))
            if prop["type"]["kind"] == "model":
                walk(kind, inner, item, prop["type"]["model"])

    for stack in STACKS:
        for resource in ml_resources(run_stack(stack)):
            walk(resource.type, "", request_body(resource), BODIES[resource.type])
    assert sent == {
        ("OnlineEndpoint", "location"),
        ("OnlineDeployment", "location"),
        ("OnlineDeployment", "properties.instanceType"),
        ("OnlineDeployment", "properties.codeConfiguration.codeId"),
        ("OnlineDeployment", "properties.codeConfiguration.scoringScript"),
        ("EnvironmentVersion", "properties.autoRebuild"),
        ("EnvironmentVersion", "properties.image"),
        ("EnvironmentVersion", "properties.inferenceConfig"),
        ("EnvironmentVersion", "properties.isAnonymous"),
        ("EnvironmentVersion", "properties.osType"),
    }


# ---- What the bodies rest on: API version, path parameters --------------------------------------


@pytest.mark.parametrize("token", list(BODIES))
def test_the_fixture_is_the_api_version_the_sdk_sends(token: str) -> None:
    # A pulumi-azure-native upgrade that moves machinelearningservices to another API version
    # needs the fixture regenerated from that version (scripts/azure_ml_rest_schema.py).
    _, module, name = token.split(":")
    resource = getattr(importlib.import_module(f"pulumi_azure_native.{module}"), name)
    assert SCHEMA["source"]["apiVersion"] == API_VERSION == ENDPOINT_API_VERSION
    # The constructor's docstring says it (on its overloads, so read from the module's source).
    source = inspect.getsource(sys.modules[resource.__module__])
    assert f"Uses Azure REST API version {API_VERSION}." in source


def test_the_path_parameters_are_dropped_from_the_body() -> None:
    assert path_parameters(ENDPOINT) == {"resourceGroupName", "workspaceName", "endpointName"}
    assert path_parameters(DEPLOYMENT) == {
        "resourceGroupName",
        "workspaceName",
        "endpointName",
        "deploymentName",
    }
    assert path_parameters(ENVIRONMENT) == {"resourceGroupName", "workspaceName", "name", "version"}


# ---- The checker fails where it must (so the tests above cannot pass vacuously) ----------------


def _body(token: str) -> dict[str, Any]:
    """A body that passes: the first of its type in `max`, made a request body."""
    (resource, *_) = [r for r in ml_resources(run_stack("max")) if r.type == token]
    body = copy.deepcopy(request_body(resource))
    assert check_body("r", body, BODIES[token]).problems == []
    return body


def problems(token: str, change: Any) -> list[str]:
    body = _body(token)
    change(body)
    return check_body("r", body, BODIES[token]).problems


def test_a_typo_in_a_property_name_fails() -> None:
    def typo(body: dict[str, Any]) -> None:
        body["properties"]["instanceTyp"] = body["properties"].pop("instanceType")

    assert problems(DEPLOYMENT, typo) == [
        "r: properties.instanceTyp = 'Standard_DS3_v2': ManagedOnlineDeployment defines no such "
        "property, and Azure ignores what it does not define; did you mean 'instanceType'? "
        f"(_models.py line {MODELS['ManagedOnlineDeployment']['line']})"
    ]


def test_a_missing_required_property_fails() -> None:
    found = problems(ENDPOINT, lambda body: body["properties"].pop("authMode"))
    assert found == [
        "r: properties.authMode is missing: required by OnlineEndpointProperties, one of "
        "EndpointAuthMode ['AMLToken', 'Key', 'AADToken'] (EndpointPropertiesBase, _models.py "
        f"line {MODELS['OnlineEndpointProperties']['properties']['authMode']['line']})"
    ]
    routes = problems(
        ENVIRONMENT, lambda body: body["properties"]["inferenceConfig"]["scoringRoute"].pop("port")
    )
    assert len(routes) == 1
    assert routes[0].startswith("r: properties.inferenceConfig.scoringRoute.port is missing")


def test_a_read_only_property_fails() -> None:
    def send(body: dict[str, Any]) -> None:
        body["properties"]["scoringUri"] = "https://x.inference.ml.azure.com/score"

    (found,) = problems(ENDPOINT, send)
    assert found.startswith(
        "r: properties.scoringUri = 'https://x.inference.ml.azure.com/score': read-only in "
        "OnlineEndpointProperties, Azure sets it (visibility ['read']; EndpointPropertiesBase"
    )


def test_a_value_outside_the_enum_fails() -> None:
    found = problems(ENDPOINT, lambda body: body["properties"].update(authMode="Token"))
    assert found == [
        "r: properties.authMode = 'Token': not a known value of EndpointAuthMode: one of "
        "['AMLToken', 'Key', 'AADToken']"
    ]


def test_an_enum_value_in_another_case_is_reported() -> None:
    found = problems(
        DEPLOYMENT, lambda b: b["properties"].update(egressPublicNetworkAccess="disabled")
    )
    assert found == [
        "r: properties.egressPublicNetworkAccess = 'disabled': differs only in case from "
        "EgressPublicNetworkAccessType value 'Disabled'"
    ]


def test_a_wrong_discriminator_fails() -> None:
    found = problems(DEPLOYMENT, lambda b: b["properties"].update(endpointComputeType="Serverless"))
    assert found[0].startswith(
        "r: properties.endpointComputeType = 'Serverless': the discriminator of "
        "OnlineDeploymentProperties must be one of ['Kubernetes', 'Managed']"
    )


def test_a_wrong_type_or_duration_fails() -> None:
    def change(body: dict[str, Any]) -> None:
        body["properties"]["livenessProbe"]["period"] = "10s"
        body["properties"]["livenessProbe"]["failureThreshold"] = "5"
        body["sku"]["capacity"] = True

    assert problems(DEPLOYMENT, change) == [
        "r: properties.livenessProbe.failureThreshold = '5': expected integer",
        "r: properties.livenessProbe.period = '10s': not an ISO 8601 duration such as 'PT10S'",
        "r: sku.capacity = True: expected integer",
    ]


def test_an_unresolved_value_is_skipped_by_name_not_passed() -> None:
    body = _body(DEPLOYMENT)
    body["properties"]["environmentId"] = rpc.UNKNOWN
    body["properties"]["environmentVariables"] = {"TOKEN": SECRET}
    check = check_body("r", body, "OnlineDeployment")
    assert check.problems == []
    assert check.skipped == [
        "r: properties.environmentId: unknown until the resource it comes from exists; "
        "expected string",
        "r: properties.environmentVariables['TOKEN']: a secret, its value not shown to the "
        "program's tests; expected string",
    ]
