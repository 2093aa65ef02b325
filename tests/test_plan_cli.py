"""`mlep plan` as users and CI run it: the installed command, in a subprocess.

Every command in CASES runs once per module, all at the same time (each takes a few seconds,
most of it start-up); the tests then read the results. Stack files are written into a
temporary copy of the project, from the shared scenarios.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from mlep.cli import main
from mlep.stack import StackRef
from tests.scenarios import scenario

ROOT = Path(__file__).resolve().parent.parent
MLEP = Path(sys.executable).with_name("mlep")
CIPHERTEXTS = ("SUPERSECRETVALUE", "ANOTHERSECRETVALUE")
TOP_LEVEL_KEYS = {"project", "stack", "target", "resources", "outputs", "policy"}
RESOURCE_KEYS = {"urn", "type", "name", "parent", "dependencies", "protect", "inputs"}
TIMEOUT_S = 180
ENDPOINT = "azure-native:machinelearningservices:OnlineEndpoint"
DEPLOYMENT = "azure-native:machinelearningservices:OnlineDeployment"
TRAFFIC = "azure-native:resources:Deployment"
IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"


@dataclass(frozen=True)
class Result:
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


# --- stack files --------------------------------------------------------------------------


def stack_yaml(namespace: dict[str, Any], other: dict[str, Any] | None = None) -> str:
    """A Pulumi.<stack>.yaml: the namespace under `ml-endpoints:`, plus keys of other namespaces."""
    config = {f"ml-endpoints:{key}": value for key, value in namespace.items()}
    yaml = YAML()
    yaml.default_flow_style = False
    text = io.StringIO()
    yaml.dump({"config": config | (other or {})}, text)
    return text.getvalue()


def blue_green(blue: int, green: int) -> dict[str, Any]:
    """The defaults scenario with a second deployment and the given split."""
    namespace = scenario("defaults")
    endpoint = namespace["endpoints"][0]
    green_deployment = endpoint["deployments"][0] | {"name": "green"}
    endpoint["deployments"].append(green_deployment)
    endpoint["traffic"] = {"blue": blue, "green": green}
    return namespace


def line_of(text: str, needle: str) -> int:
    """1-based line of the only line containing ``needle``."""
    (number,) = [n for n, line in enumerate(text.splitlines(), 1) if needle in line]
    return number


def copy_project(directory: Path) -> Path:
    """What `mlep plan` needs of the project: the program, Pulumi.yaml and the policy pack."""
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "__main__.py", directory)
    shutil.copy(ROOT / "Pulumi.yaml", directory)
    shutil.copytree(
        ROOT / "policies", directory / "policies", ignore=shutil.ignore_patterns("__pycache__")
    )
    return directory


TYPO = scenario("defaults")
TYPO["enviroment"] = TYPO.pop("environment")

SECURE_OTHER_NAMESPACES = {
    "azure-native:clientSecret": {"secure": "v1:SUPERSECRETVALUE"},
    "azure-native:clientId": "2f4a1c9e-0b7d-4e3a-9c55-7d1e2b3f4a60",
    "datadog:apiKey": {"secure": "v1:ANOTHERSECRETVALUE"},
}
SECURE_INVALID = scenario("defaults") | {"environment": {"secure": "v1:SUPERSECRETVALUE"}}
UNICODE_DESCRIPTION = "Betrugsprüfung für Zahlungen — café ✓"
UNICODE = scenario("defaults")
UNICODE["endpoints"][0]["description"] = UNICODE_DESCRIPTION

STACKS = {
    "valid": stack_yaml(blue_green(90, 10)),
    "traffic90": stack_yaml(blue_green(80, 10)),
    "typo": stack_yaml(TYPO),
    "badyaml": "config:\n  ml-endpoints:target: [azure\n",
    "secure": stack_yaml(blue_green(90, 10), SECURE_OTHER_NAMESPACES),
    "secureinvalid": stack_yaml(SECURE_INVALID),
    "unicode": stack_yaml(UNICODE),
}
# In git: committed at HEAD, then changed in the working tree.
GIT_STACKS = {
    "bluegreen": (stack_yaml(blue_green(90, 10)), stack_yaml(blue_green(75, 25))),
    # green jumps from 0 to 60 in one change: TRF-06 (step) and TRF-07 (canary).
    "jump": (stack_yaml(blue_green(100, 0)), stack_yaml(blue_green(40, 60))),
    # back to the previously dominant blue, 40 points in one change: a rollback (TRF-08).
    "rollback": (stack_yaml(blue_green(60, 40)), stack_yaml(blue_green(100, 0))),
    # Invalid at HEAD; the working tree fixes it and moves it down two lines.
    "fixed": (
        stack_yaml(blue_green(80, 10)),
        "# fixed\n# traffic\n" + stack_yaml(blue_green(90, 10)),
    ),
}


def git(directory: Path, *args: str) -> None:
    subprocess.run(
        [
            "git",
            "-c",
            "user.name=mlep tests",
            "-c",
            "user.email=tests@example.com",
            "-c",
            "commit.gpgsign=false",
            *args,
        ],
        cwd=directory,
        check=True,
        capture_output=True,
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = copy_project(tmp_path_factory.mktemp("project"))
    for name, text in STACKS.items():
        (directory / f"Pulumi.{name}.yaml").write_text(text, encoding="utf-8")
    return directory


# The traffic before the change as `pulumi stack output endpoints --json` prints it.
STACK_OUTPUT = {
    "fraud-scoring": {"name": "fraud-scoring", "traffic": {"blue": 100}, "mirror_traffic": {}}
}
POLICY_CONFIGS = {
    "typo.json": {"trf-06-traffic-steps": {"maxStepPercent": 50}},
    "badtype.json": {"trf-06-08-traffic-steps": {"maxStepPercent": "50"}},
    "badkey.json": {"trf-06-08-traffic-steps": {"maxStep": 50}},
    "badlevel.json": {"all": "warn"},
    "advisory.json": {"all": "advisory"},
    "bigsteps.json": {"trf-06-08-traffic-steps": {"maxCanaryPercent": 60}},
}


@pytest.fixture(scope="module")
def git_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = copy_project(tmp_path_factory.mktemp("git-project"))
    (directory / "stack-output.json").write_text(json.dumps(STACK_OUTPUT))
    (directory / "not-a-plan.json").write_text(json.dumps({"resources": []}))
    for name, config in POLICY_CONFIGS.items():
        (directory / name).write_text(json.dumps(config))
    for name, (committed, _) in GIT_STACKS.items():
        (directory / f"Pulumi.{name}.yaml").write_text(committed)
    git(directory, "init", "-q")
    git(directory, "add", ".")
    git(directory, "commit", "-q", "-m", "base")
    for name, (_, working) in GIT_STACKS.items():
        (directory / f"Pulumi.{name}.yaml").write_text(working)
    return directory


# --- the commands -------------------------------------------------------------------------


def cases(project: Path, git_project: Path, out: Path) -> dict[str, tuple[list[str], Path]]:
    """name -> (mlep arguments, working directory)."""
    repo, tmp = ["-C", str(ROOT)], ["-C", str(project)]
    return {
        "dev": ([*repo, "plan", "--stack", "dev"], ROOT),
        "prod": ([*repo, "plan", "--stack", "prod", "--out", str(out)], ROOT),
        "prod_json": ([*repo, "plan", "--stack", "prod", "--json"], ROOT),
        "prod_json_again": ([*repo, "plan", "--stack", "prod", "--json"], ROOT),
        # --out writes exactly the --json document (test_out_writes_the_plan_document).
        "secure": ([*tmp, "plan", "--stack", "secure", "--out", str(out.parent / "secure")], ROOT),
        "secure_invalid": ([*tmp, "plan", "--stack", "secureinvalid"], ROOT),
        "unicode_json": ([*tmp, "plan", "--stack", "unicode", "--json"], ROOT),
        "missing_stack": ([*tmp, "plan", "--stack", "nope"], ROOT),
        "invalid_yaml": ([*tmp, "plan", "--stack", "badyaml"], ROOT),
        "traffic_90": ([*tmp, "plan", "--stack", "traffic90"], ROOT),
        "typo": ([*tmp, "plan", "--stack", "typo"], ROOT),
        "unknown_command": ([*tmp, "deploy", "--stack", "valid"], ROOT),
        "unknown_flag": ([*tmp, "plan", "--stack", "valid", "--yes"], ROOT),
        "not_a_project": (["-C", str(out.parent), "plan", "--stack", "valid"], ROOT),
        "base": (["plan", "--stack", "bluegreen", "--base", "HEAD"], git_project),
        "base_bad_ref": (["plan", "--stack", "bluegreen", "--base", "no-such-ref"], git_project),
        "base_invalid": (["plan", "--stack", "fixed", "--base", "HEAD"], git_project),
        "no_base": (["plan", "--stack", "jump"], git_project),
        "jump": (["plan", "--stack", "jump", "--base", "HEAD"], git_project),
        "jump_json": (["plan", "--stack", "jump", "--base", "HEAD", "--json"], git_project),
        "rollback": (["plan", "--stack", "rollback", "--base", "HEAD"], git_project),
        "jump_from_output": (
            ["plan", "--stack", "jump", "--base", "stack-output.json"],
            git_project,
        ),
        "base_not_a_plan": (
            ["plan", "--stack", "jump", "--base", "not-a-plan.json"],
            git_project,
        ),
        "jump_all_advisory": (
            ["plan", "--stack", "jump", "--base", "HEAD", "--policy-config", "advisory.json"],
            git_project,
        ),
        "jump_bigger_canary": (
            ["plan", "--stack", "jump", "--base", "HEAD", "--policy-config", "bigsteps.json"],
            git_project,
        ),
        **{
            f"config_{name.removesuffix('.json')}": (
                ["plan", "--stack", "jump", "--policy-config", name],
                git_project,
            )
            for name in ("typo.json", "badtype.json", "badkey.json", "badlevel.json")
        },
        "policy_config": (["policy-config", "--stack", "jump", "--base", "HEAD"], git_project),
    }


@pytest.fixture(scope="module")
def out_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("out") / "artefacts"


@pytest.fixture(scope="module")
def runs(
    project: Path, git_project: Path, out_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Result]:
    """Run every case concurrently; output goes to files so no pipe ever blocks."""
    logs = tmp_path_factory.mktemp("logs")
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "MLEP_DEBUG")}
    # Keep git from finding a repository above the temporary directories.
    env["GIT_CEILING_DIRECTORIES"] = str(project.parent)
    started = {}
    for name, (args, cwd) in cases(project, git_project, out_dir).items():
        stdout = (logs / f"{name}.out").open("w")
        stderr = (logs / f"{name}.err").open("w")
        process = subprocess.Popen(
            [str(MLEP), *args], cwd=cwd, env=env, stdout=stdout, stderr=stderr
        )
        started[name] = (process, stdout, stderr)
    results = {}
    for name, (process, stdout, stderr) in started.items():
        code = process.wait(timeout=TIMEOUT_S)
        stdout.close()
        stderr.close()
        results[name] = Result(
            code,
            (logs / f"{name}.out").read_text(encoding="utf-8"),
            (logs / f"{name}.err").read_text(encoding="utf-8"),
        )
    return results


@pytest.fixture(scope="module")
def prod_document(runs: dict[str, Result]) -> dict[str, Any]:
    assert runs["prod_json"].code == 0, runs["prod_json"].stderr
    return json.loads(runs["prod_json"].stdout)  # type: ignore[no-any-return]


def row(*cells: str) -> re.Pattern[str]:
    """A table row with these cells, separated by whitespace."""
    return re.compile(r"^\s*" + r"\s+".join(re.escape(c) for c in cells) + r"\s*$", re.MULTILINE)


def repo_endpoints(stack: str) -> list[dict[str, Any]]:
    return StackRef(ROOT, stack).read().namespace["endpoints"]  # type: ignore[no-any-return]


# --- the readable plan --------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_plans_the_repo_stack_with_exit_0(runs: dict[str, Result], stack: str) -> None:
    assert runs[stack].code == 0, runs[stack].stderr


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_readable_plan_names_each_endpoint(runs: dict[str, Result], stack: str) -> None:
    for endpoint in repo_endpoints(stack):
        assert f"Endpoint {endpoint['name']}" in runs[stack].stdout


def test_readable_plan_names_every_resource_in_full(
    runs: dict[str, Result], prod_document: dict[str, Any]
) -> None:
    # A CI log is 80 columns wide; a shortened name cannot be told from its neighbour.
    for resource in prod_document["resources"]:
        if resource["type"] != "pulumi:pulumi:Stack":
            assert resource["name"] in runs["prod"].stdout
    assert "…" not in runs["prod"].stdout


def test_readable_plan_shows_the_traffic_table(runs: dict[str, Result]) -> None:
    dev, prod = runs["dev"].stdout, runs["prod"].stdout
    assert row("deployment", "live", "mirror").search(prod)
    assert row("blue", "100%", "-").search(dev)
    assert row("blue", "75%", "-").search(prod)
    assert row("green", "25%", "-").search(prod)


def test_readable_plan_shows_mirror_traffic(runs: dict[str, Result]) -> None:
    assert row("gbm-v3", "100%", "-").search(runs["prod"].stdout)
    assert row("gbm-v4", "0%", "10%").search(runs["prod"].stdout)


def test_readable_plan_shows_the_stack_outputs(runs: dict[str, Result]) -> None:
    stdout = runs["prod"].stdout
    assert "Stack outputs" in stdout
    for endpoint in repo_endpoints("prod"):
        name = endpoint["name"]
        assert f"endpoints.{name}.scoring_uri = https://{name}." in stdout
        assert f"endpoints.{name}.id = /subscriptions/" in stdout


def test_readable_plan_marks_protected_endpoints(runs: dict[str, Result]) -> None:
    assert row("+ fraud-scoring", "OnlineEndpoint", "protected").search(runs["prod"].stdout)


# --- the plan document --------------------------------------------------------------------


def test_json_is_the_contract_document(prod_document: dict[str, Any]) -> None:
    assert set(prod_document) == TOP_LEVEL_KEYS
    assert (prod_document["project"], prod_document["stack"], prod_document["target"]) == (
        "ml-endpoints",
        "prod",
        "azure",
    )


def test_json_resources_have_exactly_the_contract_keys(prod_document: dict[str, Any]) -> None:
    for resource in prod_document["resources"]:
        assert set(resource) == RESOURCE_KEYS, resource["urn"]


def test_json_references_resolve_to_resources_in_the_document(
    prod_document: dict[str, Any],
) -> None:
    urns = {r["urn"] for r in prod_document["resources"]}
    for resource in prod_document["resources"]:
        assert resource["parent"] is None or resource["parent"] in urns, resource["urn"]
        assert set(resource["dependencies"]) <= urns, resource["urn"]


def test_json_policy_violations_is_a_list(prod_document: dict[str, Any]) -> None:
    assert isinstance(prod_document["policy"]["violations"], list)


def test_json_lists_every_prod_endpoint_deployment_and_traffic(
    prod_document: dict[str, Any],
) -> None:
    by_name = {(r["type"], r["name"]): r for r in prod_document["resources"]}
    for endpoint in repo_endpoints("prod"):
        name = endpoint["name"]
        endpoint_urn = by_name[ENDPOINT, name]["urn"]
        deployment_urns = {
            by_name[DEPLOYMENT, f"{name}-{d['name']}"]["urn"] for d in endpoint["deployments"]
        }
        identity_urn = by_name[IDENTITY, f"{name}-identity"]["urn"]
        traffic = by_name[TRAFFIC, f"{name}-traffic"]
        # The identity because the template's endpoint definition names it.
        assert set(traffic["dependencies"]) == deployment_urns | {endpoint_urn, identity_urn}


def test_json_prod_has_every_piece_for_every_endpoint(prod_document: dict[str, Any]) -> None:
    # Issue 3's definition of done, read straight off the plan document.
    resources = prod_document["resources"]
    names = {(r["type"].rsplit(":", 1)[-1], r["name"]) for r in resources}
    for endpoint in repo_endpoints("prod"):
        name = endpoint["name"]
        expected = {
            ("UserAssignedIdentity", f"{name}-identity"),
            ("RoleAssignment", f"{name}-identity-acr-pull"),
            ("RoleAssignment", f"{name}-identity-storage-read"),
            ("DiagnosticSetting", f"{name}-diagnostics"),
            ("MetricAlert", f"mlep-{name}-latency-p95"),
            ("ScheduledQueryRule", f"mlep-{name}-success-rate"),
            ("ScheduledQueryRule", f"mlep-{name}-client-error-rate"),
            ("ScheduledQueryRule", f"mlep-{name}-server-error-rate"),
        }
        for deployment in endpoint["deployments"]:
            expected |= {
                ("MetricAlert", f"mlep-{name}-{deployment['name']}-cpu"),
                ("MetricAlert", f"mlep-{name}-{deployment['name']}-memory"),
            }
            if "autoscale" in deployment:
                expected.add(("AutoscaleSetting", f"{name}-{deployment['name']}-autoscale"))
        if endpoint.get("auth_mode") == "key":
            expected |= {
                ("Secret", f"mlep-{name}-primary-key"),
                ("Secret", f"mlep-{name}-secondary-key"),
            }
        assert expected <= names, expected - names
    assert {
        ("PrivateEndpoint", "mlw-prod-private-access"),
        ("PrivateDnsZoneGroup", "mlw-prod-private-access-dns"),
        ("ActionGroup", "ag-mlep-mlw-prod"),
        ("RoleDefinition", "mlw-prod-traffic-operator-role"),
        ("RoleDefinition", "mlw-prod-deployment-developer-role"),
    } <= names
    group = next(r["urn"] for r in resources if r["type"].endswith(":ActionGroup"))
    alerts = [r for r in resources if r["type"].endswith((":MetricAlert", ":ScheduledQueryRule"))]
    assert alerts
    assert all(group in alert["dependencies"] for alert in alerts)


def test_json_outputs_describe_each_endpoint(prod_document: dict[str, Any]) -> None:
    outputs = prod_document["outputs"]["endpoints"]
    for endpoint in repo_endpoints("prod"):
        assert set(outputs[endpoint["name"]]) == {
            "name",
            "id",
            "scoring_uri",
            "identity_principal_id",
            "identity_client_id",
            "traffic",
            "mirror_traffic",
            "key_secret_ids",
            "tags",
        }
        assert outputs[endpoint["name"]]["traffic"] == endpoint["traffic"]
        # The endpoint's tags merged over the stack's (issue 22: `pulumi stack output` carries
        # the governance tags).
        stack_tags = StackRef(ROOT, "prod").read().namespace.get("tags", {})
        assert outputs[endpoint["name"]]["tags"] == {**stack_tags, **endpoint.get("tags", {})}


def test_output_to_a_log_never_breaks_a_line_and_counts_in_the_singular(
    runs: dict[str, Result],
) -> None:
    """Issue 20, point 6: stdout is a pipe here, as in CI: each message is one line, however
    long (the not-applicable note is over 80 characters), and 1 endpoint is "1 endpoint"."""
    dev = runs["dev"].stdout
    assert dev.rstrip().endswith("8 cloud resources in 1 endpoint; policy: no violations.")
    assert "Cluster requirements" not in dev  # Azure stacks need no cluster add-ons
    assert "public network access disabled" in dev
    note = next(line for line in runs["no_base"].stdout.splitlines() if "not applicable" in line)
    assert len(note) > 80
    assert note.endswith("TRF-06/07 compare against it")


def test_json_is_byte_identical_across_runs(runs: dict[str, Result]) -> None:
    assert runs["prod_json"].stdout == runs["prod_json_again"].stdout


def test_out_writes_the_plan_document(runs: dict[str, Result], out_dir: Path) -> None:
    assert runs["prod"].code == 0, runs["prod"].stderr
    assert (out_dir / "plan.json").read_text() == runs["prod_json"].stdout


def test_plan_document_is_utf8_json(runs: dict[str, Result]) -> None:
    """Text beyond ASCII (a description) comes through the --json document unchanged."""
    result = runs["unicode_json"]
    assert result.code == 0, result.stderr
    document = json.loads(result.stdout)
    (endpoint,) = [r for r in document["resources"] if r["type"] == ENDPOINT]
    assert endpoint["inputs"]["properties"]["description"] == UNICODE_DESCRIPTION
    assert UNICODE_DESCRIPTION in result.stdout


# --- bad input: exit 2, a message, never a traceback --------------------------------------


@pytest.mark.parametrize(
    "case",
    [
        "missing_stack",
        "invalid_yaml",
        "traffic_90",
        "typo",
        "unknown_command",
        "unknown_flag",
        "not_a_project",
        "secure_invalid",
        "base_bad_ref",
        "base_invalid",
    ],
)
def test_bad_input_exits_2_without_a_traceback(runs: dict[str, Result], case: str) -> None:
    result = runs[case]
    assert result.code == 2, result.output
    assert "Traceback" not in result.output
    assert result.stderr.strip(), "an error must say what is wrong"
    assert not result.stdout.strip(), "errors go to stderr"


def test_missing_stack_names_the_file_and_the_stacks_there(runs: dict[str, Result]) -> None:
    stderr = runs["missing_stack"].stderr
    assert "Pulumi.nope.yaml" in stderr
    assert "valid" in stderr


def test_invalid_yaml_names_the_file_and_line(runs: dict[str, Result]) -> None:
    stderr = runs["invalid_yaml"].stderr
    assert "Pulumi.badyaml.yaml" in stderr
    assert "line 2" in stderr


def test_config_error_names_file_field_line_and_fix(runs: dict[str, Result]) -> None:
    stderr = runs["traffic_90"].stderr
    line = line_of(STACKS["traffic90"], "traffic:")
    assert "ml-endpoints:endpoints[0].traffic = {'blue': 80, 'green': 10}" in stderr
    assert f"(Pulumi.traffic90.yaml:{line})" in stderr
    assert re.search(r"^\s*fix:\s+\S", stderr, re.MULTILINE)


def test_unknown_field_suggests_the_known_one(runs: dict[str, Result]) -> None:
    stderr = runs["typo"].stderr
    assert "ml-endpoints:enviroment" in stderr
    assert "did you mean 'environment'?" in stderr


@pytest.mark.parametrize("case", ["unknown_command", "unknown_flag"])
def test_usage_error_shows_usage_and_help(runs: dict[str, Result], case: str) -> None:
    stderr = runs[case].stderr
    assert stderr.startswith("usage: mlep")
    assert re.search(r"^fix: run `mlep( plan)? --help`$", stderr, re.MULTILINE)


def test_not_a_project_says_where_it_looked(runs: dict[str, Result]) -> None:
    assert "Pulumi.yaml not found" in runs["not_a_project"].stderr


def test_a_project_without_the_program_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A directory with the project and stack files but not __main__.py (a copy of the stack
    files alone, -C pointing one level off): exit 2 naming the file, never an internal error."""
    for name in ("Pulumi.yaml", "Pulumi.dev.yaml"):
        shutil.copy(ROOT / name, tmp_path)
    assert main(["-C", str(tmp_path), "plan", "--stack", "dev"]) == 2
    error = capsys.readouterr().err
    assert f"{tmp_path / '__main__.py'} not found" in error
    assert "run mlep from the project directory (or pass -C PROJECT)" in error


# --- secrets ------------------------------------------------------------------------------


def test_secure_config_plans(runs: dict[str, Result]) -> None:
    assert runs["secure"].code == 0, runs["secure"].stderr


@pytest.mark.parametrize("case", ["secure", "secure_invalid"])
def test_ciphertext_never_printed(runs: dict[str, Result], case: str) -> None:
    for ciphertext in CIPHERTEXTS:
        assert ciphertext not in runs[case].output


def test_ciphertext_never_in_the_plan_document(runs: dict[str, Result], out_dir: Path) -> None:
    document = (out_dir.parent / "secure" / "plan.json").read_text()
    assert json.loads(document)["resources"]
    for ciphertext in CIPHERTEXTS:
        assert ciphertext not in document


def test_invalid_secure_value_is_reported_as_a_secret(runs: dict[str, Result]) -> None:
    assert "ml-endpoints:environment = '[secret]'" in runs["secure_invalid"].stderr


# --- --base: traffic before and after -----------------------------------------------------


def test_base_shows_the_traffic_at_the_revision(runs: dict[str, Result]) -> None:
    result = runs["base"]
    assert result.code == 0, result.stderr
    assert row("deployment", "live before", "live", "mirror").search(result.stdout)
    assert row("blue", "90%", "75%", "-").search(result.stdout)
    assert row("green", "10%", "25%", "-").search(result.stdout)


def test_base_bad_ref_names_the_ref_and_the_file(runs: dict[str, Result]) -> None:
    stderr = runs["base_bad_ref"].stderr
    assert "--base no-such-ref" in stderr
    assert "Pulumi.bluegreen.yaml" in stderr


def test_base_config_error_shows_lines_of_that_revision(runs: dict[str, Result]) -> None:
    committed, _ = GIT_STACKS["fixed"]
    line = line_of(committed, "traffic:")
    assert f"(Pulumi.fixed.yaml at HEAD:{line})" in runs["base_invalid"].stderr


# --- the policy pack: previous traffic, step rules, policy config ---------------------------

STEPS = "trf-06-08-traffic-steps"


def test_without_a_base_the_step_rules_do_not_apply(runs: dict[str, Result]) -> None:
    result = runs["no_base"]
    assert result.code == 0, result.output
    assert f"not applicable: {STEPS}: no previous traffic given" in result.stdout


def test_a_step_too_large_exits_1_naming_rule_resource_and_fix(runs: dict[str, Result]) -> None:
    result = runs["jump"]
    assert result.code == 1, result.output
    assert row("deployment", "live before", "live", "mirror").search(result.stdout)
    assert row("green", "0%", "60%", "-").search(result.stdout)
    assert "policy: 2 mandatory, 0 advisory violation(s)" in result.stdout
    table = result.stdout[result.stdout.index("Policy violations") :]
    for needle in (STEPS, "fraud-scoring-traffic", "(TRF-06)", "(TRF-07)", "at most 25%"):
        assert needle in table, needle


def test_the_plan_document_lists_the_step_violations(runs: dict[str, Result]) -> None:
    result = runs["jump_json"]
    assert result.code == 1, result.stderr
    violations = json.loads(result.stdout)["policy"]["violations"]
    assert [(v["policy"], v["enforcement"], v["urn"].rsplit("::", 1)[-1]) for v in violations] == [
        (STEPS, "mandatory", "fraud-scoring-traffic")
    ] * 2
    assert sorted(re.findall(r"\((TRF-0\d)\)", " ".join(v["message"] for v in violations))) == [
        "TRF-06",
        "TRF-07",
    ]


def test_moving_back_to_the_dominant_deployment_is_a_rollback(runs: dict[str, Result]) -> None:
    result = runs["rollback"]
    assert result.code == 0, result.output
    assert row("blue", "60%", "100%", "-").search(result.stdout)
    assert "policy: no violations" in result.stdout


def test_base_can_be_the_stack_output(runs: dict[str, Result]) -> None:
    result = runs["jump_from_output"]
    assert result.code == 1, result.output
    assert row("blue", "100%", "40%", "-").search(result.stdout)
    assert "(TRF-06)" in result.stdout


def test_base_file_without_traffic_exits_2(runs: dict[str, Result]) -> None:
    result = runs["base_not_a_plan"]
    assert result.code == 2, result.output
    assert "not-a-plan.json: no endpoint traffic in it" in result.stderr
    assert "pulumi stack output endpoints --json" in result.stderr
    assert "Traceback" not in result.output


def test_policy_config_all_sets_every_level(runs: dict[str, Result]) -> None:
    result = runs["jump_all_advisory"]
    assert result.code == 0, result.output
    assert "policy: 0 mandatory, 2 advisory violation(s)" in result.stdout


def test_policy_config_tunes_a_rule(runs: dict[str, Result]) -> None:
    """maxCanaryPercent 60 lets green start at 60 (TRF-07); the step is still too large."""
    result = runs["jump_bigger_canary"]
    assert result.code == 1, result.output
    assert "(TRF-06)" in result.stdout
    assert "(TRF-07)" not in result.stdout


@pytest.mark.parametrize(
    ("case", "needles"),
    [
        ("config_typo", ["unknown policy 'trf-06-traffic-steps'", f"did you mean '{STEPS}'"]),
        ("config_badtype", [STEPS, "maxStepPercent", "'50' is not of type 'integer'"]),
        (
            "config_badkey",
            [STEPS, "'maxStep' was unexpected", "did you mean 'maxStepPercent'?"],
        ),
        ("config_badlevel", ["`all`", "'warn'", "advisory, mandatory, disabled"]),
    ],
)
def test_bad_policy_config_exits_2_naming_policy_field_and_fix(
    runs: dict[str, Result], case: str, needles: list[str]
) -> None:
    result = runs[case]
    assert result.code == 2, result.output
    for needle in needles:
        assert needle in result.stderr, (needle, result.stderr)
    assert "fix:" in result.stderr
    assert "Traceback" not in result.output


def test_policy_config_prints_what_plan_checks(runs: dict[str, Result]) -> None:
    """The file `pulumi preview --policy-pack-config` takes: levels of the environment,
    the rollout schedule and the traffic at the base. No `stable`: blue carries everything at
    the base and no other deployment ever did, so a rollback has nowhere else to return to
    (the pack then falls back to the dominant deployment)."""
    result = runs["policy_config"]
    assert result.code == 0, result.stderr
    config = json.loads(result.stdout)
    assert config[STEPS] == {
        "endpoints": {"fraud-scoring": {"maxStepPercent": 25, "steps": [5, 25, 60, 100]}},
        "previousTraffic": {
            "fraud-scoring": {
                "traffic": {"blue": 100, "green": 0},
                "mirror_traffic": {},
            }
        },
    }
    assert config["id-01-token-auth"] == {"enforcementLevel": "disabled"}
