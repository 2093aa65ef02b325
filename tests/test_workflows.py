"""The CI pipelines call mlep the way its parser accepts, and keep their promises: PRs plan
and review every stack, deploys use the policy pack, prod waits for a protected environment.
And the contract that keeps them safe: every action pinned to a commit, every job with explicit
least permissions, and no job that runs a pull request's code holding a token that can write
or log in to the cloud."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from mlep.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
NAMES = sorted(p.name for p in WORKFLOWS.glob("*.yml"))
PR_TRIGGERS = {"pull_request", "pull_request_target"}
# Jobs that may hold `id-token: write`: each deploys with cloud credentials (dev, staging and
# prod call pulumi-up.yml, whose `up` job logs in to Azure).
OIDC_JOBS = {
    ("deploy.yml", "dev"),
    ("deploy.yml", "staging"),
    ("deploy.yml", "prod"),
    ("pulumi-up.yml", "up"),
}
# `uses: owner/repo[/path]@<40 hex> # vX.Y.Z`, or `$/path` (this repository, same commit).
PINNED_USES = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
USES_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>\S+)(?:\s+#\s*(?P<comment>.*))?$")
TAG = re.compile(r"^v\d+\.\d+\.\d+\b")


def load(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = YAML(typ="safe").load((WORKFLOWS / name).read_text())
    return loaded


def triggers(workflow: dict[str, Any]) -> set[str]:
    # YAML 1.1 reads the key `on` as True; ruamel's safe loader keeps "on".
    on = workflow.get("on", workflow.get(True))
    return {on} if isinstance(on, str) else set(on)


def jobs() -> list[tuple[str, str, dict[str, Any]]]:
    return [(name, job_id, job) for name in NAMES for job_id, job in load(name)["jobs"].items()]


def steps_using(job: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [s for s in job.get("steps", []) if s.get("uses", "").split("@")[0] == action]


def runs_pull_request_code(name: str, job: dict[str, Any]) -> bool:
    """Whether the job may run a pull request's code: every job with a step in a pull_request
    workflow does (its checkout is the PR's merge commit), and so does a called workflow's
    when such a job calls it; a workflow_run job would with a checkout or a shell step (its
    run's head is the PR's). Push-triggered workflows run the branch's own code."""
    on = triggers(load(name))
    steps = job.get("steps", [])
    if on & PR_TRIGGERS:
        return bool(steps) or "uses" in job
    if "workflow_run" in on:
        return any("run" in s or s.get("uses", "").startswith("actions/checkout@") for s in steps)
    if "workflow_call" in on:
        return any(
            caller.get("uses") == f"$/.github/workflows/{name}"
            and runs_pull_request_code(caller_name, caller)
            for caller_name, _, caller in jobs()
        )
    return False


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
    stacks = {p.name[len("Pulumi.") : -len(".yaml")] for p in ROOT.glob("Pulumi.*.yaml")}
    assert set(review["strategy"]["matrix"]["stack"]) == stacks
    commands = [call[0] for call in mlep_calls("pull-request.yml")]
    assert {"plan", "review"} <= set(commands)
    assert review["steps"][0]["with"]["fetch-depth"] == 0  # the review reads git history


def test_deploy_runs_pulumi_up_with_the_pack_and_prod_behind_a_protected_environment() -> None:
    deploy = load("deploy.yml")
    assert triggers(deploy) == {"push"}
    assert deploy["on"] == {"push": {"branches": ["main"]}}
    prod = deploy["jobs"]["prod"]
    assert prod["with"]["environment"] == "production"
    assert set(prod["needs"]) == {"dev", "staging"}
    up = load("pulumi-up.yml")
    assert up["jobs"]["up"]["environment"] == "${{ inputs.environment }}"
    assert any(
        line.startswith("pulumi up --yes") and "--policy-pack judge/policies" in line
        for line in run_lines(up)
    )


def test_pulumi_up_is_judged_by_the_pack_and_limits_of_the_commit_before_it() -> None:
    """README, "The base decides the rules": never the change's own pack."""
    deploy, up = load("deploy.yml"), load("pulumi-up.yml")
    for stack in ("dev", "staging", "prod"):
        assert deploy["jobs"][stack]["with"]["rules"] == "${{ github.event.before }}"
    lines = run_lines(up)
    assert any(
        'git archive --format=tar "$RULES" -- policies | tar -x -C judge' in line for line in lines
    )
    assert any("--rules" in line for line in lines)
    (pulumi_up,) = [line for line in lines if line.startswith("pulumi up")]
    assert "--policy-pack policies" not in pulumi_up


# --- the contract: pinned, least privilege, no credentials near a pull request's code --------


@pytest.mark.parametrize("name", NAMES)
def test_every_action_is_pinned_to_a_commit_with_its_release_in_a_comment(name: str) -> None:
    lines = [
        m for line in (WORKFLOWS / name).read_text().splitlines() if (m := USES_LINE.match(line))
    ]
    assert lines
    for match in lines:
        ref = match["ref"]
        if ref.startswith("$/"):
            continue  # this repository at the same commit
        assert PINNED_USES.match(ref), f"{name}: {ref} is not pinned to a full commit SHA"
        assert TAG.match(match["comment"] or ""), f"{name}: {ref} has no `# vX.Y.Z` comment"


def test_local_workflows_are_called_by_the_self_repository_form() -> None:
    for name, job_id, job in jobs():
        if "uses" in job:
            assert job["uses"].startswith("$/"), f"{name}: {job_id} calls {job['uses']}"
            assert (ROOT / job["uses"][2:]).is_file()


@pytest.mark.parametrize("name", NAMES)
def test_workflow_permissions_default_to_nothing(name: str) -> None:
    assert load(name).get("permissions") in ({}, {"contents": "read"})


def test_every_job_declares_its_permissions() -> None:
    for name, job_id, job in jobs():
        assert "permissions" in job, f"{name}: job {job_id} has no permissions of its own"
        assert isinstance(job["permissions"], dict), f"{name}: {job_id}: list them, no shorthand"


def test_id_token_only_in_the_jobs_that_deploy() -> None:
    holders = {(n, j) for n, j, job in jobs() if job["permissions"].get("id-token") == "write"}
    assert holders == OIDC_JOBS


def test_no_job_that_runs_pull_request_code_can_write_or_log_in() -> None:
    for name, job_id, job in jobs():
        if runs_pull_request_code(name, job):
            assert set(job["permissions"].values()) <= {"read"}, f"{name}: {job_id}"
            text = str(job)
            assert "secrets." not in text, f"{name}: {job_id} reads a secret"
            assert "AZURE_CLIENT_ID" not in text, f"{name}: {job_id} reads cloud credentials"


def test_pull_request_comments_are_posted_by_a_workflow_that_runs_no_pull_request_code() -> None:
    comment = load("pull-request-comment.yml")
    assert comment["on"]["workflow_run"]["workflows"] == [load("pull-request.yml")["name"]]
    (job,) = comment["jobs"].values()
    assert job["permissions"] == {"actions": "read", "pull-requests": "write"}
    assert not runs_pull_request_code("pull-request-comment.yml", job)
    assert "GITHUB_ENV" not in str(job)
    assert "GITHUB_PATH" not in str(job)
    holders = {(n, j) for n, j, job in jobs() if "pull-requests" in job["permissions"]}
    assert holders == {("pull-request-comment.yml", "comment")}


def test_no_workflow_uses_pull_request_target() -> None:
    for name in NAMES:
        assert "pull_request_target" not in triggers(load(name)), name


def test_the_comment_updated_is_only_the_bots_own() -> None:
    (job,) = load("pull-request-comment.yml")["jobs"].values()
    (script,) = [s["with"]["script"] for s in steps_using(job, "actions/github-script")]
    assert 'const BOT = "github-actions[bot]";' in script
    assert re.search(r"c\.user\?\.login === BOT && [^\n]*c\.body\?\.startsWith\(marker\)", script)
    # The pull request is found from the run's event, never from what the run uploaded.
    assert "p.head.sha === HEAD_SHA" in script


def test_the_review_is_uploaded_before_the_job_fails_on_it() -> None:
    steps = load("pull-request.yml")["jobs"]["review"]["steps"]
    names = [s.get("uses", "").split("@")[0] or s.get("id", s.get("name", "")) for s in steps]
    upload = names.index("actions/upload-artifact")
    assert names.index("plan") < names.index("review") < upload < len(steps) - 1
    assert steps[upload]["if"] == "${{ !cancelled() }}"
    assert steps[-1]["if"] == "${{ !cancelled() }}"
    for step in steps:
        if step.get("id") in {"plan", "review"}:  # their exit codes go to the verdict
            assert step["run"].startswith("set +e\n")
    verdict = steps[-1]["run"]
    for word in ("PLAN_EXIT", "REVIEW_EXIT", "exit 1"):
        assert word in verdict


def test_no_secrets_inherit() -> None:
    for name, job_id, job in jobs():
        assert job.get("secrets") != "inherit", f"{name}: {job_id}"


def test_every_checkout_drops_its_credentials() -> None:
    checkouts = [s for _, _, job in jobs() for s in steps_using(job, "actions/checkout")]
    assert checkouts
    for step in checkouts:
        assert step.get("with", {}).get("persist-credentials") is False


def test_the_pulumi_cli_is_the_version_of_the_locked_sdk() -> None:
    locked = re.search(r"^pulumi==(\S+)", (ROOT / "requirements.lock").read_text(), re.MULTILINE)
    assert locked
    installs = [s for _, _, job in jobs() for s in steps_using(job, "pulumi/actions")]
    assert installs
    for step in installs:
        assert str(step["with"]["pulumi-version"]) == locked.group(1)


def test_oidc_logins_name_their_audience() -> None:
    for name, job_id, job in jobs():
        if job.get("env", {}).get("ARM_USE_OIDC") == "true":
            assert job["env"]["ARM_OIDC_AUDIENCE"] == "api://AzureADTokenExchange", job_id
        for step in steps_using(job, "azure/login"):
            assert step["with"]["audience"], f"{name}: {job_id}"


def test_the_pack_runs_from_its_hash_locked_environment() -> None:
    lines = run_lines(load("pulumi-up.yml"))
    install = next(
        i for i, line in enumerate(lines) if "-r judge/policies/requirements.txt" in line
    )
    assert "--require-hashes" in lines[install]
    assert install < next(i for i, line in enumerate(lines) if line.startswith("pulumi up"))


def test_bin_test_audits_the_workflows_with_the_locked_zizmor() -> None:
    script = (ROOT / "bin" / "test").read_text()
    assert "zizmor --offline --no-progress --config .github/zizmor.yml .github/workflows" in script
    assert script.index("lint-imports") < script.index("zizmor") < script.index("pytest")
    assert re.search(r"^zizmor==\S+ \\$", (ROOT / "requirements.lock").read_text(), re.MULTILINE)


def _judge_step() -> dict[str, Any]:
    (step,) = [s for s in load("pulumi-up.yml")["jobs"]["up"]["steps"] if s.get("id") == "judge"]
    return step


def _run_judge(repo: Path, rules: str) -> tuple[str, str]:
    """The deploy job's judge step, run by bash against a real git repository."""
    output = repo / "github-output"
    output.write_text("")
    subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", _judge_step()["run"]],
        cwd=repo,
        env={**os.environ, "RULES": rules, "GITHUB_OUTPUT": str(output)},
        check=True,
        capture_output=True,
    )
    marker = (repo / "judge" / "policies" / "__main__.py").read_text()
    return marker, output.read_text()


_NO_SIGN = ("-c", "commit.gpgsign=false")


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        [
            "git",
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "-c",
            "commit.gpgsign=false",
            *args,
        ],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip()


@pytest.fixture
def pushed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    """A repository where a push changed the pack: (repo, the commit before the push)."""
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    repo = tmp_path / "repo"
    (repo / "policies").mkdir(parents=True)
    (repo / "policies" / "__main__.py").write_text("# the base's pack\n")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "base")
    before = _git(repo, "rev-parse", "HEAD")
    (repo / "policies" / "__main__.py").write_text("# the pushed change's pack\n")
    _git(repo, "commit", "-q", "-am", "the change")
    return repo, before


def test_the_deploy_judge_is_the_pack_of_the_commit_before_the_push(
    pushed: tuple[Path, str],
) -> None:
    repo, before = pushed
    marker, output = _run_judge(repo, before)
    assert marker == "# the base's pack\n"
    assert output == f"rules={before}\n"
    assert _judge_step()["env"]["RULES"] == "${{ inputs.rules }}"


def test_the_first_deploy_is_judged_by_its_own_pack(pushed: tuple[Path, str]) -> None:
    """GitHub sends forty zeros as `before` for the first push of a branch."""
    repo, _ = pushed
    marker, output = _run_judge(repo, "0" * 40)
    assert marker == "# the pushed change's pack\n"
    assert output == "rules=\n"
