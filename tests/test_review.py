"""`mlep review` on fixture repositories: a stack committed, then changed in the working tree.

One git repository holds a stack file per case (`Pulumi.<case>.yaml`), each committed with its
own history and changed in the working tree; `--base HEAD` compares the two. Every command in
CASES runs once per module, all but the first at the same time (each plans a stack), and the
tests read the results.
"""

from __future__ import annotations

import json
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.scenarios import kubernetes_scenario, scenario
from tests.test_plan_cli import MLEP, Result, blue_green, copy_project, git, stack_yaml

TIMEOUT_S = 300
STEPS_POLICY = "trf-06-08-traffic-steps"
MARKER = "<!-- mlep-review -->"
TABLE_HEADER = "| deployment | live before | live after | change | mirror before | mirror after |"


# --- stack files --------------------------------------------------------------------------


def kubernetes_blue_green(blue: int, green: int) -> dict[str, Any]:
    """The kubernetes defaults scenario with a second deployment and the given split."""
    namespace = kubernetes_scenario("defaults")
    endpoint = namespace["endpoints"][0]
    endpoint["deployments"].append({"name": "green", "image": "acr.example.io/fraud:1.5.0"})
    endpoint["traffic"] = {"blue": blue, "green": green}
    return namespace


def mirrored(percent: int) -> dict[str, Any]:
    """Blue takes all live traffic; green shadow-tests on ``percent`` mirrored traffic."""
    namespace = blue_green(100, 0)
    namespace["endpoints"][0]["mirror_traffic"] = {"green": percent}
    return namespace


def endpoint(name: str, traffic: dict[str, int]) -> dict[str, Any]:
    """An azure endpoint with one deployment per key of ``traffic``."""
    model = scenario("defaults")["endpoints"][0]["deployments"][0]
    return {
        "name": name,
        "deployments": [model | {"name": deployment} for deployment in traffic],
        "traffic": traffic,
    }


def membership(after: bool) -> dict[str, Any]:
    """Before: fraud-scoring blue/green, churn-propensity gbm-v3/gbm-v4, risk-scoring.
    After: fraud-scoring gains `shadow` (0 traffic), churn-propensity loses gbm-v4,
    risk-scoring is removed and credit-scoring is new."""
    namespace = scenario("defaults")
    if not after:
        namespace["endpoints"] = [
            endpoint("fraud-scoring", {"blue": 90, "green": 10}),
            endpoint("churn-propensity", {"gbm-v3": 100, "gbm-v4": 0}),
            endpoint("risk-scoring", {"blue": 100}),
        ]
    else:
        namespace["endpoints"] = [
            endpoint("fraud-scoring", {"blue": 90, "green": 10, "shadow": 0}),
            endpoint("churn-propensity", {"gbm-v3": 100}),
            endpoint("credit-scoring", {"blue": 100}),
        ]
    return namespace


def green_changed() -> dict[str, Any]:
    namespace = blue_green(90, 10)
    green = namespace["endpoints"][0]["deployments"][1]
    green["model"] = "azureml:fraud-classifier:2"
    green["instance_type"] = "Standard_DS4_v2"
    return namespace


def new_stack() -> dict[str, Any]:
    namespace = scenario("defaults")
    namespace["endpoints"] = [
        endpoint("fraud-scoring", {"blue": 90, "green": 10}),
        endpoint("churn-propensity", {"gbm-v3": 100}),
    ]
    return namespace


# stack -> (the committed versions, oldest first; the working tree)
HISTORIES: dict[str, tuple[list[str], str]] = {
    "stepup": ([stack_yaml(blue_green(95, 5))], stack_yaml(blue_green(75, 25))),
    "k8s": (
        [stack_yaml(kubernetes_blue_green(95, 5))],
        stack_yaml(kubernetes_blue_green(75, 25)),
    ),
    # green from 0 to 60 in one change: TRF-06 (step) and TRF-07 (canary).
    "jump": ([stack_yaml(blue_green(100, 0))], stack_yaml(blue_green(40, 60))),
    # blue carried everything two commits ago: back to it is a rollback (TRF-08), though
    # blue is not the dominant deployment at the base and rises by 60.
    "rollback": (
        [
            stack_yaml(blue_green(100, 0)),
            stack_yaml(blue_green(95, 5)),
            stack_yaml(blue_green(40, 60)),
        ],
        stack_yaml(blue_green(100, 0)),
    ),
    # The last scheduled step: a completion, judged by the step rules, with its rollback.
    "completion": (
        [stack_yaml(blue_green(100, 0)), stack_yaml(blue_green(40, 60))],
        stack_yaml(blue_green(0, 100)),
    ),
    # green completed (100 % committed); back to blue, the deployment before it, is a rollback
    # and passes (our own pack used to refuse it: blue "rises from 0 % to 100 %").
    "aftercompletion": (
        [
            stack_yaml(blue_green(100, 0)),
            stack_yaml(blue_green(95, 5)),
            stack_yaml(blue_green(40, 60)),
            stack_yaml(blue_green(0, 100)),
        ],
        stack_yaml(blue_green(100, 0)),
    ),
    # 5 % to 20 %: within the step limit, not on the schedule (5, 25, 60, 100).
    "split": (
        [stack_yaml(blue_green(100, 0)), stack_yaml(blue_green(95, 5))],
        stack_yaml(blue_green(80, 20)),
    ),
    "mirror": ([stack_yaml(mirrored(10))], stack_yaml(mirrored(20))),
    # green gets a new model version and a bigger VM: updates, and the instances they cost.
    "modelchange": ([stack_yaml(blue_green(90, 10))], stack_yaml(green_changed())),
    "membership": ([stack_yaml(membership(after=False))], stack_yaml(membership(after=True))),
    # traffic sums to 90 in the working tree
    "invalid": ([stack_yaml(blue_green(90, 10))], stack_yaml(blue_green(80, 10))),
}
NEW_STACK = stack_yaml(new_stack())  # not in git at all


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = copy_project(tmp_path_factory.mktemp("review"))
    git(directory, "init", "-q")
    depth = max(len(committed) for committed, _ in HISTORIES.values())
    for index in range(depth):
        for stack, (committed, _) in HISTORIES.items():
            if index < len(committed):
                (directory / f"Pulumi.{stack}.yaml").write_text(committed[index])
        git(directory, "add", ".")
        git(directory, "commit", "-q", "-m", f"revision {index}")
    for stack, (_, working) in HISTORIES.items():
        (directory / f"Pulumi.{stack}.yaml").write_text(working)
    (directory / "Pulumi.newstack.yaml").write_text(NEW_STACK)
    return directory


def review(stack: str, *extra: str, fmt: str = "json") -> list[str]:
    return ["review", "--stack", stack, "--base", "HEAD", "--format", fmt, *extra]


CASES: dict[str, list[str]] = {
    "stepup": review("stepup"),
    "stepup_md": review("stepup", fmt="markdown"),
    "k8s": review("k8s"),
    "jump": review("jump"),
    "jump_md": review("jump", fmt="markdown"),
    "rollback": review("rollback"),
    "completion": review("completion"),
    "aftercompletion": review("aftercompletion"),
    "split": review("split"),
    "modelchange": review("modelchange"),
    "modelchange_md": review("modelchange", fmt="markdown"),
    "mirror": review("mirror"),
    "membership": review("membership"),
    "membership_md": review("membership", fmt="markdown"),
    "newstack": review("newstack"),
    "bad_ref": ["review", "--stack", "stepup", "--base", "no-such-ref"],
    "invalid": review("invalid"),
    "xml": review("stepup", fmt="xml"),
}


def mlep_env(tmp_path_factory: pytest.TempPathFactory, ceiling: Path) -> dict[str, str]:
    """The environment mlep runs in: no terminal size, debug switch or metrics source from
    the caller; git stops at ``ceiling``; and one bytecode cache for the test session, so
    that only the first run pays for compiling the SDKs (PYTHONDONTWRITEBYTECODE may be set)."""
    drop = ("COLUMNS", "LINES", "MLEP_DEBUG", "MLEP_PROMETHEUS_URL", "AZURE_SUBSCRIPTION_ID")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(tmp_path_factory.getbasetemp() / "pycache")
    env["BENTOML_DO_NOT_TRACK"] = "True"
    env["GIT_CEILING_DIRECTORIES"] = str(ceiling)
    return env


def run_mlep(args: list[str], cwd: Path, env: dict[str, str]) -> Result:
    done = subprocess.run(
        [str(MLEP), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    return Result(done.returncode, done.stdout, done.stderr)


@pytest.fixture(scope="module")
def runs(repo: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Result]:
    """Run the first case alone (it fills the bytecode cache), then the others at once."""
    env = mlep_env(tmp_path_factory, repo.parent)

    def run(name: str) -> Result:
        return run_mlep(["-C", str(repo), *CASES[name]], repo, env)

    first, *rest = CASES
    results = {first: run(first)}
    with ThreadPoolExecutor(max_workers=len(rest)) as pool:
        results |= dict(zip(rest, pool.map(run, rest), strict=True))
    return results


def document(runs: dict[str, Result], case: str) -> dict[str, Any]:
    result = runs[case]
    assert result.code in (0, 1), result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def only_endpoint(runs: dict[str, Result], case: str) -> dict[str, Any]:
    (found,) = document(runs, case)["endpoints"]
    return found  # type: ignore[no-any-return]


def endpoint_named(runs: dict[str, Result], case: str, name: str) -> dict[str, Any]:
    (found,) = [e for e in document(runs, case)["endpoints"] if e["name"] == name]
    return found


def row(
    name: str, live: tuple[int | None, int | None], mirror: tuple[int, int] = (0, 0)
) -> dict[str, Any]:
    return {
        "name": name,
        "live_before": live[0],
        "live_after": live[1],
        "mirror_before": mirror[0],
        "mirror_after": mirror[1],
    }


# --- step up ------------------------------------------------------------------------------


def test_step_up_within_the_schedule_passes_with_exit_0(runs: dict[str, Result]) -> None:
    assert runs["stepup"].code == 0, runs["stepup"].output
    assert document(runs, "stepup")["verdict"] == "pass"


def test_step_up_document_names_stack_base_and_target(runs: dict[str, Result]) -> None:
    found = document(runs, "stepup")
    assert (found["stack"], found["base"], found["target"]) == ("stepup", "HEAD", "azure")
    assert found["policy"] == {"violations": [], "not_applicable": []}


def test_step_up_reports_each_deployment_before_and_after(runs: dict[str, Result]) -> None:
    assert only_endpoint(runs, "stepup") == {
        "name": "fraud-scoring",
        "status": "changed",
        "summary": "step: green 5% -> 25% (+20)",
        "step_percent": 20,
        "deployments": [row("blue", (95, 75)), row("green", (5, 25))],
        "added": [],
        "removed": [],
        "rollback_command": "mlep rollback --stack stepup --endpoint fraud-scoring --to blue",
        "violations": [],
        "kind": "step",
    }


def test_step_up_on_kubernetes_reports_the_same_step(runs: dict[str, Result]) -> None:
    assert runs["k8s"].code == 0, runs["k8s"].output
    found = document(runs, "k8s")
    assert (found["target"], found["verdict"]) == ("kubernetes", "pass")
    reviewed = only_endpoint(runs, "k8s")
    assert reviewed["summary"].startswith("step: ")
    assert reviewed["step_percent"] == 20
    assert reviewed["deployments"] == [row("blue", (95, 75)), row("green", (5, 25))]
    assert reviewed["rollback_command"] == (
        "mlep rollback --stack k8s --endpoint fraud-scoring --to blue"
    )
    assert reviewed["violations"] == []


def test_markdown_starts_with_the_comment_marker(runs: dict[str, Result]) -> None:
    # CI finds its previous comment by this marker and updates it.
    assert runs["stepup_md"].code == 0, runs["stepup_md"].output
    assert runs["stepup_md"].stdout.splitlines()[0] == MARKER


def test_markdown_has_a_table_row_per_deployment(runs: dict[str, Result]) -> None:
    lines = runs["stepup_md"].stdout.splitlines()
    assert "### `fraud-scoring`: step: green 5% -> 25% (+20)" in lines
    assert TABLE_HEADER in lines
    assert "| blue | 95% | 75% | -20 | 0% | 0% |" in lines
    assert "| green | 5% | 25% | +20 | 0% | 0% |" in lines
    assert "No mandatory policy violation." in lines


def test_markdown_gives_the_rollback_command_in_a_sh_block(runs: dict[str, Result]) -> None:
    stdout = runs["stepup_md"].stdout
    block = "```sh\nmlep rollback --stack stepup --endpoint fraud-scoring --to blue\n```\n"
    assert block in stdout


# --- a jump that breaks the step rules ----------------------------------------------------


def test_jump_past_the_step_rules_fails_with_exit_1(runs: dict[str, Result]) -> None:
    assert runs["jump"].code == 1, runs["jump"].output
    assert document(runs, "jump")["verdict"] == "fail"


def test_jump_lists_the_step_violations_under_the_endpoint(runs: dict[str, Result]) -> None:
    reviewed = only_endpoint(runs, "jump")
    assert reviewed["summary"] == "start: green 0% -> 60% (+60)"
    assert reviewed["kind"] == "start"
    assert reviewed["step_percent"] == 60
    assert {v["policy"] for v in reviewed["violations"]} == {STEPS_POLICY}
    assert {v["enforcement"] for v in reviewed["violations"]} == {"mandatory"}
    messages = " ".join(v["message"] for v in reviewed["violations"])
    assert "'green' rises from 0% to 60%" in messages
    assert "(TRF-06)" in messages
    assert "(TRF-07)" in messages


def test_jump_endpoint_violations_are_also_in_the_policy_section(
    runs: dict[str, Result],
) -> None:
    found = document(runs, "jump")
    for violation in found["endpoints"][0]["violations"]:
        assert violation in found["policy"]["violations"]


def test_jump_markdown_says_it_must_not_merge(runs: dict[str, Result]) -> None:
    assert runs["jump_md"].code == 1, runs["jump_md"].output
    stdout = runs["jump_md"].stdout
    assert stdout.startswith(MARKER + "\n")
    assert "mandatory policy violation(s)**: this change must not merge" in stdout
    assert f"| mandatory | `{STEPS_POLICY}` |" in stdout


# --- rollback -----------------------------------------------------------------------------


def test_rollback_to_the_stable_deployment_passes_with_exit_0(runs: dict[str, Result]) -> None:
    # blue rises by 60 and is not dominant at the base, but it carried all traffic two
    # commits before it: TRF-08 allows the move back however large.
    assert runs["rollback"].code == 0, runs["rollback"].output
    assert document(runs, "rollback")["verdict"] == "pass"
    assert only_endpoint(runs, "rollback")["violations"] == []


def test_rollback_is_summarised_as_a_rollback(runs: dict[str, Result]) -> None:
    reviewed = only_endpoint(runs, "rollback")
    assert reviewed["summary"] == "rollback: blue 40% -> 100% (+60)"
    assert reviewed["kind"] == "rollback"
    assert reviewed["deployments"] == [row("blue", (40, 100)), row("green", (60, 0))]


def test_rollback_offers_no_rollback_command(runs: dict[str, Result]) -> None:
    assert only_endpoint(runs, "rollback")["rollback_command"] is None


# --- the loop's other moves, classified from history (issue 20, points 3 and 4) -----------


def test_the_last_step_is_a_completion_that_keeps_its_rollback(runs: dict[str, Result]) -> None:
    assert runs["completion"].code == 0, runs["completion"].output
    reviewed = only_endpoint(runs, "completion")
    assert reviewed["kind"] == "completion"
    assert reviewed["summary"] == "completion: green 60% -> 100% (+40)"
    assert reviewed["rollback_command"] == (
        "mlep rollback --stack completion --endpoint fraud-scoring --to blue"
    )


def test_a_rollback_after_a_completed_rollout_passes(runs: dict[str, Result]) -> None:
    result = runs["aftercompletion"]
    assert result.code == 0, result.output
    assert document(runs, "aftercompletion")["verdict"] == "pass"
    reviewed = only_endpoint(runs, "aftercompletion")
    assert reviewed["kind"] == "rollback"
    assert reviewed["violations"] == []
    assert reviewed["rollback_command"] is None


def test_a_rise_off_the_schedule_is_an_explicit_split(runs: dict[str, Result]) -> None:
    assert runs["split"].code == 0, runs["split"].output
    reviewed = only_endpoint(runs, "split")
    assert reviewed["kind"] == "explicit split"
    assert reviewed["summary"] == "explicit split: green 5% -> 20% (+15)"


# --- the resource diff (issue 20, point 4) -----------------------------------------------


def changes_of(runs: dict[str, Result], case: str) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in document(runs, case)["resources"]}


def test_a_model_and_sku_change_is_an_update_of_the_deployment_path_by_path(
    runs: dict[str, Result],
) -> None:
    assert runs["modelchange"].code == 0, runs["modelchange"].output
    changes = changes_of(runs, "modelchange")
    assert set(changes) == {"fraud-scoring-green"}  # blue, the endpoint, traffic: untouched
    green = changes["fraud-scoring-green"]
    assert green["op"] == "update"
    paths = {c["path"]: (c["old"], c["new"]) for c in green["changes"]}
    assert paths["properties.model"][0].endswith("/models/fraud-classifier/versions/1")
    assert paths["properties.model"][1].endswith("/models/fraud-classifier/versions/2")
    assert paths["properties.instanceType"] == ("Standard_DS3_v2", "Standard_DS4_v2")


def test_the_review_states_the_instances_before_and_after(runs: dict[str, Result]) -> None:
    assert document(runs, "modelchange")["instances"] == {
        "fraud-scoring": {
            "before": "2 x Standard_DS3_v2",
            "after": "1 x Standard_DS3_v2 + 1 x Standard_DS4_v2",
        }
    }
    markdown = runs["modelchange_md"].stdout
    assert "<summary>Resources: 1 to update</summary>" in markdown
    assert "Instances of `fraud-scoring`: 2 x Standard_DS3_v2 → 1 x Standard_DS3_v2" in markdown


def test_added_and_removed_endpoints_and_deployments_are_creates_and_deletes(
    runs: dict[str, Result],
) -> None:
    changes = changes_of(runs, "membership")
    ops = {name: change["op"] for name, change in changes.items()}
    assert ops["fraud-scoring-shadow"] == "create"
    assert ops["credit-scoring"] == "create"
    assert ops["risk-scoring"] == "delete"
    assert ops["churn-propensity-gbm-v4"] == "delete"
    assert all(not c["changes"] for c in changes.values() if c["op"] in ("create", "delete"))


def test_no_resource_change_is_listed_for_a_pure_traffic_step(runs: dict[str, Result]) -> None:
    changes = changes_of(runs, "stepup")
    assert set(changes) == {"fraud-scoring-traffic"}
    assert {c["path"] for c in changes["fraud-scoring-traffic"]["changes"]} == {
        "properties.template.resources[0].properties.traffic.blue",
        "properties.template.resources[0].properties.traffic.green",
    }


def test_a_kubernetes_traffic_step_changes_the_route_alone(runs: dict[str, Result]) -> None:
    """Traffic changes touch only the HTTPRoute (README): nothing else, the dashboard's
    ConfigMap included (a data change would replace it), depends on the split."""
    changes = changes_of(runs, "k8s")
    assert set(changes) == {"fraud-scoring-route"}, sorted(changes)
    assert {c["op"] for c in changes.values()} == {"update"}


# --- mirror -------------------------------------------------------------------------------


def test_mirror_change_reports_mirror_before_and_after(runs: dict[str, Result]) -> None:
    assert runs["mirror"].code == 0, runs["mirror"].output
    reviewed = only_endpoint(runs, "mirror")
    assert reviewed["deployments"] == [
        row("blue", (100, 100)),
        row("green", (0, 0), mirror=(10, 20)),
    ]
    assert reviewed["summary"] == "mirror: green 10% -> 20%"
    assert reviewed["status"] == "changed"


def test_mirror_change_is_no_live_step_and_has_no_rollback(runs: dict[str, Result]) -> None:
    reviewed = only_endpoint(runs, "mirror")
    assert reviewed["step_percent"] == 0
    assert reviewed["rollback_command"] is None


# --- deployments and endpoints added or removed -------------------------------------------


def test_membership_change_passes_with_exit_0(runs: dict[str, Result]) -> None:
    assert runs["membership"].code == 0, runs["membership"].output
    assert document(runs, "membership")["verdict"] == "pass"


def test_new_deployment_is_listed_as_added_and_absent_before(runs: dict[str, Result]) -> None:
    reviewed = endpoint_named(runs, "membership", "fraud-scoring")
    assert reviewed["added"] == ["shadow"]
    assert reviewed["removed"] == []
    assert reviewed["deployments"] == [
        row("blue", (90, 90)),
        row("green", (10, 10)),
        row("shadow", (None, 0)),
    ]
    assert reviewed["summary"] == "deployment shadow added"
    assert (reviewed["step_percent"], reviewed["rollback_command"]) == (0, None)


def test_removed_deployment_is_listed_as_removed_and_absent_after(
    runs: dict[str, Result],
) -> None:
    reviewed = endpoint_named(runs, "membership", "churn-propensity")
    assert reviewed["removed"] == ["gbm-v4"]
    assert reviewed["added"] == []
    assert reviewed["deployments"] == [row("gbm-v3", (100, 100)), row("gbm-v4", (0, None))]
    assert reviewed["summary"] == "deployment gbm-v4 removed"
    assert reviewed["status"] == "changed"


def test_new_endpoint_has_status_new(runs: dict[str, Result]) -> None:
    reviewed = endpoint_named(runs, "membership", "credit-scoring")
    assert reviewed["status"] == "new"
    assert reviewed["summary"] == "new endpoint: blue 100%"
    assert reviewed["deployments"] == [row("blue", (None, 100))]
    assert reviewed["rollback_command"] is None


def test_removed_endpoint_has_status_removed(runs: dict[str, Result]) -> None:
    reviewed = endpoint_named(runs, "membership", "risk-scoring")
    assert reviewed["status"] == "removed"
    assert reviewed["deployments"] == [row("blue", (100, None))]
    assert reviewed["removed"] == ["blue"]
    assert reviewed["rollback_command"] is None


def test_endpoints_are_listed_working_tree_first_then_removed(runs: dict[str, Result]) -> None:
    names = [e["name"] for e in document(runs, "membership")["endpoints"]]
    assert names == ["fraud-scoring", "churn-propensity", "credit-scoring", "risk-scoring"]


def test_new_endpoint_lists_its_deployments_as_added(runs: dict[str, Result]) -> None:
    assert endpoint_named(runs, "membership", "credit-scoring")["added"] == ["blue"]


def test_new_endpoint_is_no_traffic_step(runs: dict[str, Result]) -> None:
    assert endpoint_named(runs, "membership", "credit-scoring")["step_percent"] == 0


def test_markdown_shows_absent_for_a_deployment_that_does_not_exist(
    runs: dict[str, Result],
) -> None:
    lines = runs["membership_md"].stdout.splitlines()
    assert "| shadow | absent | 0% | 0 | 0% | 0% |" in lines
    assert "| gbm-v4 | 0% | absent | 0 | 0% | 0% |" in lines
    assert "| blue | 100% | absent | -100 | 0% | 0% |" in lines  # risk-scoring, removed


def test_markdown_names_new_and_removed_endpoints(runs: dict[str, Result]) -> None:
    stdout = runs["membership_md"].stdout
    assert "### `credit-scoring`: new endpoint: blue 100%" in stdout
    assert "### `risk-scoring`: endpoint removed" in stdout
    assert "```sh" not in stdout  # nothing here rises over an existing deployment


# --- a new stack --------------------------------------------------------------------------


def test_stack_new_since_the_base_passes_with_exit_0(runs: dict[str, Result]) -> None:
    assert runs["newstack"].code == 0, runs["newstack"].output
    assert document(runs, "newstack")["verdict"] == "pass"


def test_stack_new_since_the_base_has_only_new_endpoints(runs: dict[str, Result]) -> None:
    endpoints = document(runs, "newstack")["endpoints"]
    assert [(e["name"], e["status"]) for e in endpoints] == [
        ("fraud-scoring", "new"),
        ("churn-propensity", "new"),
    ]
    assert endpoints[0]["deployments"] == [row("blue", (None, 90)), row("green", (None, 10))]
    assert [e["rollback_command"] for e in endpoints] == [None, None]


def test_stack_new_since_the_base_has_no_previous_traffic(runs: dict[str, Result]) -> None:
    not_applicable = document(runs, "newstack")["policy"]["not_applicable"]
    assert [n["policy"] for n in not_applicable] == [STEPS_POLICY]


# --- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize("case", ["bad_ref", "invalid", "xml"])
def test_bad_input_exits_2_without_a_traceback(runs: dict[str, Result], case: str) -> None:
    result = runs[case]
    assert result.code == 2, result.output
    assert "Traceback" not in result.output
    assert result.stderr.strip(), "an error must say what is wrong"
    assert not result.stdout.strip(), "errors go to stderr"


def test_unknown_base_ref_is_named(runs: dict[str, Result]) -> None:
    stderr = runs["bad_ref"].stderr
    assert "--base no-such-ref" in stderr
    assert "Pulumi.stepup.yaml" in stderr


def test_invalid_working_tree_names_the_field_and_value(runs: dict[str, Result]) -> None:
    stderr = runs["invalid"].stderr
    assert "ml-endpoints:endpoints[0].traffic = {'blue': 80, 'green': 10}" in stderr
    assert "Pulumi.invalid.yaml" in stderr


def test_unknown_format_names_the_choices(runs: dict[str, Result]) -> None:
    stderr = runs["xml"].stderr
    assert "--format" in stderr
    assert "'xml'" in stderr
