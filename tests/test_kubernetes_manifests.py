"""What `mlep plan --out DIR` writes for a kubernetes stack: schema-valid, stable manifests.

Built-in objects are validated with kubernetes-validate (strict: unknown fields are errors) as
written by `mlep.engine.manifests.render` and read back, so the test covers the rendering
too. Custom resources (Gateway API, Envoy Gateway, Secrets Store CSI, Prometheus Operator)
have no schema there: `test_crds.py` validates them against the upstream CRDs (schemas and
CEL rules) at the minimum and the current versions. The CLI runs
twice, at the same time, on a temporary copy of the project holding the repo's
`Pulumi.staging.yaml`.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
from ruamel.yaml import YAML

from mlep.engine.manifests import HEADER, ManifestError, manifests, render, write_manifests
from mlep.engine.output import MARKER
from mlep.engine.runtime import SECRET, Registration
from mlep.stack import StackRef
from models.cluster_versions import MINIMUM_VERSIONS
from tests.conftest import ROOT, run_namespace
from tests.scenarios import kubernetes_scenario
from tests.test_kubernetes_target import STACKS, stack_run
from tests.test_plan_cli import MLEP, TIMEOUT_S, copy_project

K8S_VERSION = "1.37.0"
# Kinds kubernetes-validate has no schema for (CRDs); checked field by field elsewhere.
CUSTOM_KINDS = {
    "HTTPRoute",
    "SecurityPolicy",
    "SecretProviderClass",
    "ServiceMonitor",
    "PrometheusRule",
}
BUILT_IN_KINDS = {
    "NetworkPolicy",
    "ServiceAccount",
    "Service",
    "Deployment",
    "HorizontalPodAutoscaler",
}
ROUTE_TYPE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"


def load(text: str) -> Any:
    return YAML(typ="safe", pure=True).load(text)


@functools.cache
def rendered(stack: str) -> dict[str, str]:
    """file name -> the text `mlep plan --out` writes for it."""
    return {name: render(obj, stack) for name, obj in manifests(stack_run(stack).resources)}


@functools.cache
def round_tripped(stack: str) -> list[tuple[str, dict[str, Any]]]:
    """Every object as written and read back (cached: tests copy before changing one)."""
    return [(name, load(text)) for name, text in rendered(stack).items()]


# --- schema validation ----------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_built_in_objects_validate_strictly(stack: str) -> None:
    failures = []
    validated = set()
    for name, obj in round_tripped(stack):
        if obj["kind"] in CUSTOM_KINDS:
            continue
        try:
            # A built-in kind with a wrong apiVersion has no schema: SchemaNotFoundError.
            kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            # Only the first error of each document is reported (NOTES.md).
            path = ".".join(str(part) for part in error.path)
            failures.append(f"{name}: {path}: {error.message}")
        validated.add(obj["kind"])
    assert failures == []
    assert validated >= BUILT_IN_KINDS


def a_deployment() -> dict[str, Any]:
    (obj,) = [o for _, o in round_tripped("defaults") if o["kind"] == "Deployment"]
    return copy.deepcopy(obj)


def test_validator_uses_the_1_37_schemas() -> None:
    assert kubernetes_validate.validate(a_deployment(), K8S_VERSION, strict=True) == "1.37"


def test_validator_rejects_an_unknown_field() -> None:
    broken = a_deployment()
    broken["spec"]["template"]["spec"]["containers"][0]["readOnlyRootFileSystem"] = True
    with pytest.raises(kubernetes_validate.ValidationError) as info:
        kubernetes_validate.validate(broken, K8S_VERSION, strict=True)
    assert "readOnlyRootFileSystem" in info.value.message


def test_validator_rejects_a_wrong_type() -> None:
    broken = a_deployment()
    broken["spec"]["replicas"] = "3"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, K8S_VERSION, strict=True)


# --- rendering ----------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_one_file_per_kubernetes_object(stack: str) -> None:
    kube = [r for r in stack_run(stack).resources if r.custom and r.type.startswith("kubernetes:")]
    assert len(rendered(stack)) == len(kube)


@pytest.mark.parametrize("stack", STACKS)
def test_deployments_an_hpa_scales_carry_no_replicas(stack: str) -> None:
    """Each `kubectl apply` of a manifest with spec.replicas would reset the HPA's scale
    (Kubernetes docs, "Migrating Deployments and StatefulSets to horizontal autoscaling");
    every deployment here has an HPA, whose minReplicas is the program's replica count."""
    objects = dict(manifests(stack_run(stack).resources))
    deployments = {o["metadata"]["name"]: o for o in objects.values() if o["kind"] == "Deployment"}
    hpas = [o for o in objects.values() if o["kind"] == "HorizontalPodAutoscaler"]
    assert deployments
    assert {h["spec"]["scaleTargetRef"]["name"] for h in hpas} == set(deployments)
    for name, deployment in deployments.items():
        assert "replicas" not in deployment["spec"], name
    program = {
        r.inputs["metadata"]["name"]: r.inputs["spec"]["replicas"]
        for r in stack_run(stack).resources
        if r.inputs.get("kind") == "Deployment"
    }
    for hpa in hpas:
        assert hpa["spec"]["minReplicas"] <= program[hpa["spec"]["scaleTargetRef"]["name"]]


def test_a_deployment_no_hpa_scales_keeps_its_replicas() -> None:
    run = stack_run("max")
    kept = [r for r in run.resources if r.inputs.get("kind") != "HorizontalPodAutoscaler"]
    deployments = [o for _, o in manifests(kept) if o["kind"] == "Deployment"]
    assert deployments
    assert all(isinstance(d["spec"]["replicas"], int) for d in deployments)


@pytest.mark.parametrize("stack", STACKS)
def test_every_manifest_starts_with_api_version_kind_and_metadata(stack: str) -> None:
    """As kubectl and people read them, whatever the keys after (a ConfigMap's `data` sorts
    before `kind`)."""
    for name, text in rendered(stack).items():
        keys = [line.split(":")[0] for line in text.splitlines()[1:] if not line.startswith(" ")]
        assert keys[:3] == ["apiVersion", "kind", "metadata"], name


def test_only_kubernetes_resources_become_manifests() -> None:
    """Components, providers and other clouds' resources are not objects to apply."""
    run = stack_run("max")
    kubernetes = [r for r in run.resources if r.custom and r.type.startswith("kubernetes:")]
    others = [
        Registration("urn:a", "pulumi:providers:kubernetes", "k8s", True, None, [], False, {}),
        Registration("urn:b", "kubernetes:ml:Component", "c", False, None, [], False, {}),
        Registration("urn:c", "azure-native:resources:ResourceGroup", "rg", True, None, [], False,
                     {"kind": "Deployment", "metadata": {"name": "x"}}),
    ]  # fmt: skip
    assert [n for n, _ in manifests([*others, *kubernetes])] == [
        n for n, _ in manifests(kubernetes)
    ]


def test_file_names_are_unique_across_every_object() -> None:
    for stack in STACKS:
        names = [name for name, _ in manifests(stack_run(stack).resources)]
        assert len(names) == len(set(names)), stack


def test_file_names_put_what_others_need_first() -> None:
    names = sorted(rendered("max"))
    first = {
        kind: min(i for i, n in enumerate(names) if f"-{kind}-" in n)
        for kind in ("serviceaccount", "secretproviderclass", "service", "deployment", "httproute")
    }
    assert first["serviceaccount"] < first["deployment"]
    assert first["secretproviderclass"] < first["deployment"]
    assert first["service"] < first["httproute"]


def test_integers_stay_integers() -> None:
    text = rendered("max")
    assert "\n  minReplicas: 3\n" in text["06-horizontalpodautoscaler-fraud-scoring-blue.yaml"]
    route = text["08-httproute-fraud-scoring.yaml"]
    assert "weight: 75\n" in route
    assert "percent: 20\n" in route
    assert "port: 3000\n" in route
    obj = load(route)
    weights = [b["weight"] for b in obj["spec"]["rules"][0]["backendRefs"]]
    assert all(type(w) is int for w in weights)


def test_quantities_stay_strings() -> None:
    text = rendered("max")["05-deployment-fraud-scoring-blue.yaml"]
    assert "cpu: '2'\n" in text
    assert "nvidia.com/gpu: '1'\n" in text
    (container,) = load(text)["spec"]["template"]["spec"]["containers"]
    assert container["resources"]["limits"] == {
        "cpu": "2",
        "memory": "4Gi",
        "nvidia.com/gpu": "1",
    }


def test_string_values_that_look_like_other_types_stay_strings() -> None:
    obj = load(rendered("max")["05-deployment-fraud-scoring-blue.yaml"])
    labels = obj["spec"]["template"]["metadata"]["labels"]
    assert labels["azure.workload.identity/use"] == "true"
    (container,) = obj["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["BENTOML_DO_NOT_TRACK"] == "True"
    assert env["MODEL_THRESHOLD"] == "0.7"


def test_rendering_the_same_plan_twice_gives_identical_bytes(tmp_path: Path) -> None:
    # A second, fresh run: registrations arrive from a thread pool in any order.
    again = run_namespace(kubernetes_scenario("max"))
    write_manifests(stack_run("max").resources, tmp_path / "first", "max", project_dir=ROOT)
    write_manifests(again.resources, tmp_path / "second", "max", project_dir=ROOT)
    first = {p.name: p.read_bytes() for p in (tmp_path / "first").iterdir()}
    second = {p.name: p.read_bytes() for p in (tmp_path / "second").iterdir()}
    assert MARKER in first
    assert first == second
    assert first


def test_written_files_are_exactly_the_rendered_objects(tmp_path: Path) -> None:
    written = write_manifests(stack_run("max").resources, tmp_path, "max", project_dir=ROOT)
    assert {p.name: p.read_text() for p in written} == rendered("max")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*rendered("max"), MARKER])


def rewritten_directory(tmp_path: Path) -> Path:
    """A directory written for `max`, with a user's file added, then written for `defaults`."""
    write_manifests(stack_run("max").resources, tmp_path, "test", project_dir=ROOT)
    (tmp_path / "kustomization.yaml").write_text("resources: []\n")
    write_manifests(stack_run("defaults").resources, tmp_path, "test", project_dir=ROOT)
    return tmp_path


def test_files_no_longer_produced_are_removed(tmp_path: Path) -> None:
    directory = rewritten_directory(tmp_path)
    assert (directory / "05-deployment-fraud-scoring-blue.yaml").exists()  # still planned
    assert not (directory / "05-deployment-fraud-scoring-green.yaml").exists()
    assert not (directory / "03-secretproviderclass-fraud-scoring-secrets.yaml").exists()
    generated = {p.name for p in directory.glob("*.yaml")} - {"kustomization.yaml"}
    assert generated == set(rendered("defaults"))


def test_a_users_file_in_the_directory_is_kept(tmp_path: Path) -> None:
    directory = rewritten_directory(tmp_path)
    assert (directory / "kustomization.yaml").read_text() == "resources: []\n"


def fake_registration(name: str, inputs: dict[str, Any]) -> Registration:
    return Registration(
        urn=f"urn:pulumi:test::ml-endpoints::kubernetes:core/v1:ConfigMap::{name}",
        type="kubernetes:core/v1:ConfigMap",
        name=name,
        custom=True,
        parent=None,
        dependencies=[],
        protect=False,
        inputs=inputs,
    )


LEAKY = fake_registration(
    "leaky",
    {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "leaky", "namespace": "ml-serving"},
        "data": {"api-key": SECRET},
    },
)


def test_a_secret_value_is_refused() -> None:
    with pytest.raises(ManifestError, match="leaky"):
        manifests([*stack_run("defaults").resources, LEAKY])


def test_a_secret_value_deep_in_a_list_is_refused() -> None:
    nested = fake_registration(
        "nested",
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "nested", "namespace": "ml-serving"},
            "data": {"items": [{"value": "plain"}, {"value": SECRET}]},
        },
    )
    with pytest.raises(ManifestError):
        manifests([nested])


def test_nothing_is_written_when_a_secret_would_be(tmp_path: Path) -> None:
    with pytest.raises(ManifestError):
        write_manifests(
            [*stack_run("defaults").resources, LEAKY], tmp_path / "out", "test", project_dir=ROOT
        )
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


@pytest.mark.parametrize("stack", STACKS)
def test_no_kubernetes_secret_object_is_written(stack: str) -> None:
    assert "Secret" not in {obj["kind"] for _, obj in round_tripped(stack)}


# --- the command line ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """`mlep plan --stack staging --out DIR` and `--json`, run at the same time."""
    project = copy_project(tmp_path_factory.mktemp("kubernetes-project"))
    shutil.copy(ROOT / "Pulumi.staging.yaml", project)
    out = tmp_path_factory.mktemp("kubernetes-out") / "manifests"
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "MLEP_DEBUG")}
    commands = {
        "out": ["plan", "--stack", "staging", "--out", str(out)],
        "json": ["plan", "--stack", "staging", "--json"],
    }
    started = {
        name: subprocess.Popen(
            [str(MLEP), "-C", str(project), *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, args in commands.items()
    }
    results: dict[str, Any] = {"project": project, "dir": out}
    for name, process in started.items():
        stdout, stderr = process.communicate(timeout=TIMEOUT_S)
        results[name] = (process.returncode, stdout, stderr)
    return results


def written(cli: dict[str, Any]) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(cli["dir"].iterdir()) if p.name != MARKER}


def test_plan_out_exits_0(cli: dict[str, Any]) -> None:
    code, _, stderr = cli["out"]
    assert code == 0, stderr


def test_plan_output_describes_the_kubernetes_route_not_azure_network_access(
    cli: dict[str, Any],
) -> None:
    """Issue 20, point 6: a route on a hostname is no "public access disabled"; counts agree."""
    _, stdout, _ = cli["out"]
    assert "route ml.staging.example.com on gateway gateway-system/internal" in stdout
    assert "public" not in stdout
    assert stdout.rstrip().endswith("21 Kubernetes objects in 1 endpoint; policy: no violations.")


def test_plan_output_states_the_cluster_add_ons_it_needs(cli: dict[str, Any]) -> None:
    """Issue 21, point 3: older add-ons accept the objects and drop what they do not know."""
    _, stdout, _ = cli["out"]
    lines = stdout.splitlines()
    start = lines.index("Cluster requirements")
    stated = [line for line in lines[start + 1 :] if line.startswith("  ")]
    assert [line.split(" >= ")[0].strip() for line in stated] == list(MINIMUM_VERSIONS)
    assert "  Gateway API >= 1.3: HTTPRoute RequestMirror `percent`" in stdout
    assert "  Envoy Gateway >= 1.4: " in stdout


def test_plan_out_writes_only_manifests(cli: dict[str, Any]) -> None:
    names = list(written(cli))
    assert names
    assert all(name.endswith(".yaml") for name in names), names
    assert "plan.json" not in names


def test_every_written_file_starts_with_the_generated_header(cli: dict[str, Any]) -> None:
    header = HEADER.format(stack="staging")
    for name, text in written(cli).items():
        assert text.splitlines()[0] == header, name


def test_plan_out_writes_what_render_produces(cli: dict[str, Any]) -> None:
    assert written(cli) == rendered("staging")


def written_route(cli: dict[str, Any]) -> dict[str, Any]:
    return load(written(cli)["08-httproute-tabular-classifier.yaml"])  # type: ignore[no-any-return]


def test_written_route_weights_are_the_staging_traffic(cli: dict[str, Any]) -> None:
    (rule,) = written_route(cli)["spec"]["rules"]
    weights = {b["name"]: b["weight"] for b in rule["backendRefs"]}
    assert weights == {
        "tabular-classifier-lr-v1": 90,
        "tabular-classifier-lr-v2": 10,
        "tabular-classifier-gbm-v3": 0,
    }
    (endpoint,) = StackRef(cli["project"], "staging").read().namespace["endpoints"]
    assert weights == {f"tabular-classifier-{d}": w for d, w in endpoint["traffic"].items()}


def test_written_route_mirrors_20_percent_to_gbm_v3(cli: dict[str, Any]) -> None:
    (rule,) = written_route(cli)["spec"]["rules"]
    (mirror,) = [f["requestMirror"] for f in rule["filters"] if f["type"] == "RequestMirror"]
    assert mirror["backendRef"]["name"] == "tabular-classifier-gbm-v3"
    assert mirror["percent"] == 20
    (endpoint,) = StackRef(cli["project"], "staging").read().namespace["endpoints"]
    assert endpoint["mirror_traffic"] == {"gbm-v3": 20}


def test_plan_json_lists_the_httproute(cli: dict[str, Any]) -> None:
    code, stdout, stderr = cli["json"]
    assert code == 0, stderr
    document = json.loads(stdout)
    assert document["target"] == "kubernetes"
    routes = [r for r in document["resources"] if r["type"] == ROUTE_TYPE]
    assert [r["name"] for r in routes] == ["tabular-classifier-route"]
