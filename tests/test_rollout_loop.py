"""The whole loop with one command each (issue 20, point 1 and "Done when"): start a rollout
(the new deployment as a copy of the stable one, with a new model or image), step it 5 -> 25 ->
60 -> 100, finish it (the old deployment removed), and roll back from every point of it. Every
edit is insert-only or the one traffic line, and every state plans and passes the pack against
the commit before it (`mlep plan --base HEAD`), rollbacks included.

The commands run as users run them, in a subprocess, in a fresh git repository.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from mlep.engine.pack_process import run_pack
from mlep.engine.plan import plan_stack
from mlep.stack import StackRef
from tests.policy_helpers import POLICIES_DIR
from tests.test_plan_cli import copy_project
from tests.test_review import mlep_env
from tests.test_rollout import (
    FRAUD,
    PROD_START,
    STAGING,
    Repo,
    Step,
    changed_lines,
    prod,
    staging,
)

GREEN = "        - name: green\n"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return mlep_env(tmp_path_factory, tmp_path_factory.getbasetemp())


def without_green(text: str) -> str:
    """PROD_START without its green deployment: blue alone carries fraud-scoring."""
    start = text.index(GREEN)
    end = text.index("      traffic: {blue: 100, green: 0}")
    return text[:start] + text[end:].replace("{blue: 100, green: 0}", "{blue: 100}", 1)


@pytest.fixture
def repo(tmp_path: Path, env: dict[str, str]) -> Repo:
    repo = Repo(tmp_path / "repo", env)
    copy_project(repo.project)
    return prod(repo, without_green(PROD_START), "blue alone")


def pack_process_findings(repo: Repo) -> list[str]:
    """The mandatory findings of the deployable pack, run as its own process over the Analyzer
    protocol with the policy config CI hands `pulumi preview` (`mlep policy-config --base
    HEAD`), on the working tree's stack: what `pulumi up` would be told."""
    printed = repo.mlep("prod", "policy-config", "--stack", "prod", "--base", "HEAD")
    assert printed.result.code == 0, printed.result.output
    resources = plan_stack(StackRef(repo.project, "prod")).run.resources
    found = run_pack(POLICIES_DIR, resources, json.loads(printed.result.stdout))
    return [v.policy for v in found.violations if v.enforcement == "mandatory"]


def plan_and_pack_process_findings(repo: Repo) -> tuple[Step, list[str]]:
    """`mlep plan --base HEAD` and `pack_process_findings`, run at once: both only read the
    project and its git history (rev-parse, show, cat-file: no index lock), and each takes a
    second or two of one core."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        plan = pool.submit(repo.mlep, "prod", "plan", "--stack", "prod", "--base", "HEAD")
        findings = pack_process_findings(repo)
        return plan.result(), findings


def only_insertions(before: str, after: str) -> bool:
    return all(first == end for first, end, _ in changed_lines(before, after))


def test_start_adds_the_new_deployment_as_a_copy_of_the_stable_one(repo: Repo) -> None:
    step = repo.mlep("prod", "rollout", *FRAUD, "--to", "green", "--model", "azureml:fraud:9")
    assert step.result.code == 0, step.result.output
    assert only_insertions(step.before, step.after)
    assert GREEN + "          model: azureml:fraud:9\n" in step.after
    assert "green is a copy of blue with model azureml:fraud:9, at 0% live traffic" in (
        step.result.stdout
    )
    assert repo.mlep("prod", "plan", "--stack", "prod").result.code == 0


def test_start_as_a_shadow_mirrors_the_share(repo: Repo) -> None:
    step = repo.mlep(
        "prod", "rollout", *FRAUD, "--to", "green", "--model", "azureml:fraud:9", "--mirror", "10"
    )
    assert step.result.code == 0, step.result.output
    assert "      mirror_traffic: {green: 10}\n" in step.after


def test_start_on_kubernetes_takes_an_image(tmp_path: Path, env: dict[str, str]) -> None:
    repo = Repo(tmp_path / "repo", env)
    copy_project(repo.project)
    staging(repo)
    image = "mlstaging.azurecr.io/tabular-classifier:3.0.0"
    step = repo.mlep(
        "staging",
        "rollout",
        "--stack",
        "staging",
        "--endpoint",
        "tabular-classifier",
        "--to",
        "lr-v3",
        "--image",
        image,
    )
    assert step.result.code == 0, step.result.output
    assert only_insertions(step.before, step.after)
    assert f"image: {image}" in step.after
    assert step.before == STAGING


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--to", "blue", "--model", "azureml:fraud:9"], "already has a deployment 'blue'"),
        (["--to", "green", "--image", "repo:1"], "--image is not for a azure stack"),
        (["--to", "green"], "give its model: --model"),
        (["--to", "green", "--model", "m:1", "--mirror", "60"], "1 to 50 percent"),
        (["--finish", "--to", "green"], "--finish takes no --to"),
    ],
)
def test_bad_starts_are_exit_2(repo: Repo, flags: list[str], expected: str) -> None:
    step = repo.mlep("prod", "rollout", *FRAUD, *flags)
    assert step.result.code == 2, step.result.output
    assert expected in " ".join(step.result.stderr.split())
    assert step.after == step.before


def test_finish_before_the_rollout_is_complete_is_refused(repo: Repo) -> None:
    repo.mlep("prod", "rollout", *FRAUD, "--to", "green", "--model", "azureml:fraud:9")
    repo.commit("green added")
    repo.mlep("prod", "rollout", *FRAUD, "--to", "green")
    repo.commit("green 5")
    step = repo.mlep("prod", "rollout", *FRAUD, "--finish")
    assert step.result.code == 2, step.result.output
    assert "the rollout is not complete" in step.result.stderr


def test_the_whole_loop_and_a_rollback_from_every_point_of_it(repo: Repo) -> None:
    """start -> 5 -> 25 -> 60 -> 100 -> finish; at each point a rollback returns all live
    traffic to blue and passes the pack against the commit it starts from."""
    start = repo.mlep("prod", "rollout", *FRAUD, "--to", "green", "--model", "azureml:fraud:9")
    assert start.result.code == 0, start.result.output
    repo.commit("green added")
    for percent in (5, 25, 60, 100):
        step = repo.mlep("prod", "rollout", *FRAUD, "--to", "green", "--skip-guardrails")
        assert step.result.code == 0, step.result.output
        assert f"-> {percent}%" in step.result.stdout
        plan, findings = plan_and_pack_process_findings(repo)
        assert plan.result.code == 0, (percent, plan.result.output)
        assert findings == [], percent
        repo.commit(f"green {percent}")
        back = repo.mlep("prod", "rollback", *FRAUD)
        assert back.result.code == 0, (percent, back.result.output)
        assert "all live traffic of fraud-scoring back to blue" in back.result.stdout
        judged, findings = plan_and_pack_process_findings(repo)
        assert judged.result.code == 0, (percent, judged.result.output)
        assert findings == [], percent
        repo.write("prod", back.before)  # undo: the rollout goes on
    finish = repo.mlep("prod", "rollout", *FRAUD, "--finish")
    assert finish.result.code == 0, finish.result.output
    assert "deployment blue removed; green carries all live traffic" in finish.result.stdout
    assert "- name: blue" not in finish.after
    assert "      traffic: {green: 100}\n" in finish.after
    assert repo.mlep("prod", "plan", "--stack", "prod", "--base", "HEAD").result.code == 0


def test_the_pack_process_refuses_a_jump_the_loop_never_makes(repo: Repo) -> None:
    """The check above can fail: green from 0 straight to 60 is refused by the pack process
    under the same policy config."""
    repo.mlep("prod", "rollout", *FRAUD, "--to", "green", "--model", "azureml:fraud:9")
    repo.commit("green added")
    text = repo.read("prod")
    jump = "      traffic: {blue: 40, green: 60}\n"
    repo.write("prod", text.replace("      traffic: {blue: 100}\n", jump, 1))
    assert repo.read("prod") != text
    assert "trf-06-08-traffic-steps" in pack_process_findings(repo)
