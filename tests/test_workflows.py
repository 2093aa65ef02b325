"""The CI pipelines call mlep the way its parser accepts, and keep their promises: PRs plan
and review every stack, deploys use the policy pack, prod waits for a protected environment."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from mlep.cli import build_parser

WORKFLOWS = Path(__file__).resolve().parent.parent / ".github" / "workflows"


def load(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = YAML(typ="safe").load((WORKFLOWS / name).read_text())
    return loaded


def run_lines(workflow: dict[str, Any]) -> list[str]:
    """Every shell line of every step, continuation lines joined."""
    lines = []
    for job in workflow["jobs"].values():
        for step in job.get("steps", []):
            script = step.get("run", "").replace("\\\n", " ")
            lines += [line.strip() for line in script.splitlines() if line.strip()]
    return lines


def mlep_calls(name: str) -> list[list[str]]:
    """`bin/mlep ...` calls with ${{ }} expressions and shell variables made concrete."""
    calls = []
    for line in run_lines(load(name)):
        for match in re.finditer(r"bin/mlep ([^>|&;]+)", line):
            text = re.sub(r"\$\{\{[^}]*\}\}", "prod", match.group(1))
            text = re.sub(r'"?\$[A-Z_]+"?', "prod", text)
            calls.append(shlex.split(text))
    return calls


@pytest.mark.parametrize("name", ["pull-request.yml", "pulumi-up.yml"])
def test_every_mlep_call_in_ci_parses(name: str) -> None:
    calls = mlep_calls(name)
    assert calls
    for call in calls:
        build_parser().parse_args(call)  # exits 2 on a flag mlep does not have


def test_pull_requests_plan_and_review_every_stack_against_the_base() -> None:
    workflow = load("pull-request.yml")
    review = workflow["jobs"]["review"]
    stacks = {
        p.name[len("Pulumi.") : -len(".yaml")] for p in WORKFLOWS.parents[1].glob("Pulumi.*.yaml")
    }
    assert set(review["strategy"]["matrix"]["stack"]) == stacks
    commands = [call[0] for call in mlep_calls("pull-request.yml")]
    assert {"plan", "review", "policy-config"} <= set(commands)
    assert review["steps"][0]["with"]["fetch-depth"] == 0  # the review reads git history


def test_preview_runs_the_pack_only_with_credentials() -> None:
    preview = load("pull-request.yml")["jobs"]["preview"]
    assert "AZURE_CLIENT_ID" in preview["if"]
    assert any("--policy-pack policies" in line for line in run_lines({"jobs": {"p": preview}}))


def test_deploy_runs_pulumi_up_with_the_pack_and_prod_behind_a_protected_environment() -> None:
    deploy = load("deploy.yml")
    assert deploy["on"] == {"push": {"branches": ["main"]}}
    prod = deploy["jobs"]["prod"]
    assert prod["with"]["environment"] == "production"
    assert set(prod["needs"]) == {"dev", "staging"}
    up = load("pulumi-up.yml")
    assert up["jobs"]["up"]["environment"] == "${{ inputs.environment }}"
    assert any(
        line.startswith("pulumi up --yes") and "--policy-pack policies" in line
        for line in run_lines(up)
    )
