"""The base decides the rules (issue 17, point 1): a change cannot loosen what judges it.

Fixture repositories: the base commit holds a stack mid-rollout (blue 75%, green 25%, the
default steps 5/25/60/100 and 25% per change); the working tree is the pull request. Each
test runs `mlep review` (and `mlep plan --base`) in-process and reads its verdict.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from mlep.cli import main
from mlep.engine.base_rules import RULES_RELAXED
from tests.conftest import ROOT
from tests.test_plan_cli import blue_green, copy_project, git, stack_yaml

STEPS = "trf-06-08-traffic-steps"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = copy_project(tmp_path / "project")
    (directory / "Pulumi.dev.yaml").write_text(stack_yaml(blue_green(75, 25)))
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    git(directory, "init", "-q")
    git(directory, "add", ".")
    git(directory, "commit", "-q", "-m", "base: green at 25%")
    return directory


def change(project: Path, blue: int, green: int, rollout: dict[str, Any] | None = None) -> None:
    namespace = blue_green(blue, green)
    if rollout is not None:
        namespace["endpoints"][0]["rollout"] = rollout
    (project / "Pulumi.dev.yaml").write_text(stack_yaml(namespace))


def review(project: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    code = main(
        ["-C", str(project), "review", "--stack", "dev", "--base", "HEAD", "--format", "json"]
    )
    captured = capsys.readouterr()
    assert code in (0, 1), captured.err
    return code, json.loads(captured.out)


def findings(document: dict[str, Any], policy: str) -> list[dict[str, str]]:
    return [v for v in document["policy"]["violations"] if v["policy"] == policy]


def commit(project: Path, message: str) -> None:
    git(project, "add", ".")
    git(project, "commit", "-q", "-m", message)


JUMP = (0, 100)  # green 25% -> 100% in one change


@pytest.mark.parametrize(
    ("rollout", "named"),
    [
        (
            {"steps": [25, 100], "max_step_percent": 100},
            ["max_step_percent 25 -> 100", "drops 5, 60"],
        ),
        ({"max_step_percent": 100}, ["rollout.max_step_percent 25 -> 100"]),
        ({"steps": [25, 100]}, ["rollout.steps [5, 25, 60, 100] -> [25, 100]"]),
    ],
)
def test_a_traffic_jump_that_relaxes_its_own_limits_fails_and_names_the_relaxation(
    project: Path, capsys: pytest.CaptureFixture[str], rollout: dict[str, Any], named: list[str]
) -> None:
    change(project, *JUMP, rollout=rollout)
    code, document = review(project, capsys)
    assert code == 1
    (relaxed,) = findings(document, RULES_RELAXED)
    assert relaxed["enforcement"] == "mandatory"
    assert "it must merge on its own, before the traffic change" in relaxed["message"]
    for words in named:
        assert words in relaxed["message"]
    steps = findings(document, STEPS)
    assert steps
    assert all(v["enforcement"] == "mandatory" for v in steps)
    assert "more than the 25% step allowed per change" in steps[0]["message"]


def test_the_same_jump_under_its_own_relaxed_limits_alone_would_have_passed(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without the base deciding, the pull request above is judged by its own limits: the
    comparison the fix exists for (the plan document as the pack sees it today)."""
    change(project, *JUMP, rollout={"steps": [25, 100], "max_step_percent": 100})
    out = project / "before.json"
    out.write_text(json.dumps({"fraud-scoring": {"traffic": {"blue": 75, "green": 25}}}))
    code = main(["-C", str(project), "plan", "--stack", "dev", "--base", str(out), "--json"])
    document = json.loads(capsys.readouterr().out)
    assert code == 0
    assert findings(document, STEPS) == []


def test_a_relaxation_alone_is_an_advisory_finding_and_passes(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    change(project, 75, 25, rollout={"steps": [25, 100], "max_step_percent": 100})
    code, document = review(project, capsys)
    assert code == 0
    (relaxed,) = findings(document, RULES_RELAXED)
    assert relaxed["enforcement"] == "advisory"
    assert "relaxes the rules that judge later changes" in relaxed["message"]


def test_once_the_relaxation_merged_the_jump_is_judged_by_the_new_base(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    relaxed = {"steps": [25, 100], "max_step_percent": 100}
    change(project, 75, 25, rollout=relaxed)
    commit(project, "relax the rollout of fraud-scoring")
    change(project, *JUMP, rollout=relaxed)
    code, document = review(project, capsys)
    assert code == 0, document["policy"]["violations"]
    assert findings(document, RULES_RELAXED) == []
    assert findings(document, STEPS) == []


def test_tighter_limits_in_the_change_apply_at_once(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    change(project, 50, 50, rollout={"max_step_percent": 10})  # +25: fine by the base's 25
    code, document = review(project, capsys)
    assert code == 1
    assert findings(document, RULES_RELAXED) == []
    (step,) = findings(document, STEPS)
    assert "more than the 10% step allowed per change" in step["message"]


def test_a_policy_switched_off_in_the_change_still_judges_it(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = project / "policies" / "config" / "non-prod.json"
    config.write_text(json.dumps({**json.loads(config.read_text()), STEPS: "disabled"}))
    change(project, *JUMP)
    code, document = review(project, capsys)
    assert code == 1
    (relaxed,) = findings(document, RULES_RELAXED)
    assert f"policy {STEPS}: default level -> disabled" in relaxed["message"]
    assert [v["enforcement"] for v in findings(document, STEPS)] == ["mandatory"]


def test_a_new_waiver_is_named_as_a_relaxation(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = project / "policies" / "config" / "non-prod.json"
    waived = {**json.loads(config.read_text()), "id-01-token-auth": {"keyAuthWaivers": ["x"]}}
    config.write_text(json.dumps(waived))
    change(project, 50, 50)
    code, document = review(project, capsys)
    assert code == 1
    (relaxed,) = findings(document, RULES_RELAXED)
    assert "policy id-01-token-auth: keyAuthWaivers gains x" in relaxed["message"]


def test_an_edited_pack_is_named_and_the_base_pack_still_judges(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    steps = project / "policies" / "mlep_policies" / "traffic_steps.py"
    source = steps.read_text()
    # The attack: the step rule of the change's own pack never reports anything.
    steps.write_text(
        source.replace("def _check_steps(", "def _unused(", 1)
        + ("\n\ndef _check_steps(*_args: object) -> None:\n    return None\n")
    )
    change(project, *JUMP)
    code, document = review(project, capsys)
    assert code == 1
    (relaxed,) = findings(document, RULES_RELAXED)
    assert "the policy pack's code" in relaxed["message"]
    assert [v["enforcement"] for v in findings(document, STEPS)] == ["mandatory"]


def test_a_base_from_a_file_is_judged_as_before(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    change(project, 50, 50, rollout={"max_step_percent": 100})
    out = project / "before.json"
    out.write_text(json.dumps({"fraud-scoring": {"traffic": {"blue": 75, "green": 25}}}))
    code = main(["-C", str(project), "plan", "--stack", "dev", "--base", str(out), "--json"])
    document = json.loads(capsys.readouterr().out)
    assert code == 0
    assert findings(document, RULES_RELAXED) == []


def test_policy_config_for_ci_carries_the_bases_limits(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = project / "policies" / "config" / "non-prod.json"
    config.write_text(json.dumps({**json.loads(config.read_text()), STEPS: "disabled"}))
    change(project, *JUMP, rollout={"steps": [25, 100], "max_step_percent": 100})
    assert main(["-C", str(project), "policy-config", "--stack", "dev", "--base", "HEAD"]) == 0
    merged = json.loads(capsys.readouterr().out)
    assert merged[STEPS]["endpoints"]["fraud-scoring"] == {
        "maxStepPercent": 25,
        "steps": [5, 25, 60, 100],
    }
    assert merged[STEPS].get("enforcementLevel") != "disabled"


def test_the_repository_pack_is_not_touched(project: Path) -> None:
    """The base's pack is checked out into a temporary directory, never over the project."""
    assert (ROOT / "policies" / "mlep_policies" / "traffic_steps.py").read_text() == (
        project / "policies" / "mlep_policies" / "traffic_steps.py"
    ).read_text()
    assert shutil.which("git")


@pytest.mark.parametrize(
    ("before", "after", "relaxed"), [("prod", "dev", True), ("dev", "prod", False)]
)
def test_leaving_prod_is_a_relaxation_and_entering_it_is_not(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    *,
    before: str,
    after: str,
    relaxed: bool,
) -> None:
    directory = copy_project(tmp_path / "project")
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    (directory / "Pulumi.dev.yaml").write_text(
        stack_yaml(blue_green(75, 25) | {"environment": before})
    )
    git(directory, "init", "-q")
    commit(directory, "base")
    (directory / "Pulumi.dev.yaml").write_text(
        stack_yaml(blue_green(75, 25) | {"environment": after})
    )
    document = review(directory, capsys)[1]
    named = [v["message"] for v in findings(document, RULES_RELAXED)]
    assert bool(named) is relaxed
    if relaxed:
        assert f"environment prod -> {after}" in named[0]


def test_a_base_without_a_pack_is_judged_by_the_changes_pack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = copy_project(tmp_path / "project")
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    (directory / "Pulumi.dev.yaml").write_text(stack_yaml(blue_green(75, 25)))
    git(directory, "init", "-q")
    git(directory, "add", "Pulumi.dev.yaml", "Pulumi.yaml", "__main__.py")
    git(directory, "commit", "-q", "-m", "before the pack")
    (directory / "Pulumi.dev.yaml").write_text(stack_yaml(blue_green(50, 50)))
    code, document = review(directory, capsys)
    assert code == 0, document["policy"]["violations"]
    assert findings(document, RULES_RELAXED) == []


def test_policy_config_takes_the_rules_of_a_named_commit_with_live_traffic(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """What the deploy workflow runs: live traffic as previous state, the rules of the commit
    before the push."""
    change(project, 75, 25, rollout={"max_step_percent": 100})
    live = project / "live.json"
    live.write_text(json.dumps({"fraud-scoring": {"traffic": {"blue": 75, "green": 25}}}))
    argv = ["policy-config", "--stack", "dev", "--base", str(live), "--rules", "HEAD"]
    assert main(["-C", str(project), *argv]) == 0
    merged = json.loads(capsys.readouterr().out)
    assert merged[STEPS]["endpoints"]["fraud-scoring"]["maxStepPercent"] == 25
    assert merged[STEPS]["previousTraffic"]["fraud-scoring"]["traffic"] == {"blue": 75, "green": 25}


def test_policy_config_refuses_rules_that_are_not_a_commit(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["policy-config", "--stack", "dev", "--rules=--output=x"]
    assert main(["-C", str(project), *argv]) == 2
    assert "--rules --output=x: not a commit of this repository" in capsys.readouterr().err
    assert not (project / "x").exists()


def _non_prod(project: Path, **entries: Any) -> None:
    config = project / "policies" / "config" / "non-prod.json"
    config.write_text(json.dumps({**json.loads(config.read_text()), **entries}))


def test_a_waiver_removed_is_stricter_not_a_relaxation(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _non_prod(project, **{"id-01-token-auth": {"keyAuthWaivers": ["x", "y"]}})
    commit(project, "waive x and y")
    _non_prod(project, **{"id-01-token-auth": {"keyAuthWaivers": ["y"]}})
    code, document = review(project, capsys)
    assert code == 0, document["policy"]["violations"]
    assert findings(document, RULES_RELAXED) == []


def test_any_other_setting_changed_is_named_with_both_values(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _non_prod(project, **{STEPS: {"maxCanaryPercent": 30}})
    commit(project, "canaries of at most 30%")
    _non_prod(project, **{STEPS: {"maxCanaryPercent": 50}})
    change(project, *JUMP)
    code, document = review(project, capsys)
    assert code == 1
    (relaxed,) = findings(document, RULES_RELAXED)
    assert f"policy {STEPS}: maxCanaryPercent 30 -> 50" in relaxed["message"]
    levels = [v["enforcement"] for v in document["policy"]["violations"]]
    assert levels == sorted(levels, key=lambda level: level != "mandatory")  # mandatory first
