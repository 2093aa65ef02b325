"""`mlep traffic --set/--mirror` (issue 20, point 2): explicit splits as `az ml online-endpoint
update --traffic / --mirror-traffic` make them, judged by the same step rules as a pull request
(the committed stack file's traffic and history), written only when they pass.

The commands run as users run them, in a subprocess, in a fresh git repository per test.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_plan_cli import copy_project
from tests.test_review import mlep_env
from tests.test_rollout import FRAUD, PROD, PROD_START, PROD_TRAFFIC, Repo, changed_lines, prod

CHURN = ("--stack", "prod", "--endpoint", "churn-propensity")


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return mlep_env(tmp_path_factory, tmp_path_factory.getbasetemp())


@pytest.fixture
def repo(tmp_path: Path, env: dict[str, str]) -> Repo:
    repo = Repo(tmp_path / "repo", env)
    copy_project(repo.project)
    return prod(repo)  # fraud-scoring blue 75 / green 25 (max step 35); churn mirrors 10 %


def test_a_split_within_the_step_rules_is_written_as_the_one_line(repo: Repo) -> None:
    step = repo.mlep("prod", "traffic", *FRAUD, "--set", "blue=60,green=40")
    assert step.result.code == 0, step.result.output
    (change,) = changed_lines(step.before, step.after)
    assert change[2] == ["      traffic: {blue: 60, green: 40}\n"]
    assert "traffic blue 60%, green 40%" in step.result.stdout


def test_a_split_past_the_step_rules_is_exit_1_and_writes_nothing(repo: Repo) -> None:
    step = repo.mlep("prod", "traffic", *FRAUD, "--set", "blue=10 green=90")
    assert step.result.code == 1, step.result.output
    assert "(TRF-06)" in step.result.stderr
    assert "nothing was written" in step.result.stderr
    assert step.after == step.before


def test_a_split_back_to_the_stable_deployment_is_a_rollback_and_passes(
    repo: Repo,
) -> None:
    """blue carried everything, then green rose to 60: back to blue in one change is allowed."""
    repo.write("prod", PROD_START)
    repo.commit("blue carries everything")
    repo.write("prod", PROD.replace(PROD_TRAFFIC, "      traffic: {blue: 40, green: 60}"))
    repo.commit("green 60")
    step = repo.mlep("prod", "traffic", *FRAUD, "--set", "blue=100,green=0")
    assert step.result.code == 0, step.result.output
    assert "      traffic: {blue: 100, green: 0}\n" in step.after


def test_the_mirror_is_set_and_removed(repo: Repo) -> None:
    step = repo.mlep("prod", "traffic", *CHURN, "--mirror", "gbm-v4=20")
    assert step.result.code == 0, step.result.output
    assert "      mirror_traffic: {gbm-v4: 20}\n" in step.after
    repo.commit("mirror 20")
    step = repo.mlep("prod", "traffic", *CHURN, "--mirror", "none")
    assert step.result.code == 0, step.result.output
    assert "      mirror_traffic: {}\n" in step.after


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--set", "blue=70"], "the shares sum to 70"),
        (["--set", "blue=70,purple=30"], "has no such deployment"),
        (["--set", "blue=x,green=30"], "is not DEPLOYMENT=PERCENT"),
        (["--set", "blue=170,green=0"], "over 100 percent"),
        (["--set", "blue=50,blue=50"], "given twice"),
        ([], "nothing to set"),
    ],
)
def test_bad_splits_are_exit_2_naming_the_flag(repo: Repo, flags: list[str], expected: str) -> None:
    step = repo.mlep("prod", "traffic", *FRAUD, *flags)
    assert step.result.code == 2, step.result.output
    assert expected in step.result.stderr
    assert "Traceback" not in step.result.stderr
    assert step.after == step.before
