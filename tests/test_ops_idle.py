"""`mlep idle` (issue 22, point 5) against real git repositories whose commits are dated in the
past (GIT_AUTHOR_DATE / GIT_COMMITTER_DATE): deployments at 0 % for the whole window, mirrors
left on and for how long, request volume from the traffic log (recorded Azure answers), and
bad input. (`--prometheus-url` against a real Prometheus: tests/test_ops_inventory.py.)"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from azure.core.rest import HttpRequest

from tests.test_ops_inventory import (
    LAW,
    SUBSCRIPTION,
    Run,
    azure_fixture,  # noqa: F401 (the `azure` fixture)
    mlep,
    project_with,
    stack_text,
    traffic_log,
)

PROD = stack_text("prod")
COMPLETED = PROD.replace("traffic: {blue: 75, green: 25}", "traffic: {blue: 0, green: 100}")
MID_ROLLOUT = PROD  # blue 75, green 25
DEV_UNUSED = stack_text("dev").replace("traffic: {blue: 100}", "traffic: {blue: 0}")


def commit(project: Path, message: str, days_ago: float) -> None:
    when = (datetime.now(UTC) - timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%S+0000")
    env = os.environ | {"GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}
    env |= {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com"}
    env |= {"GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    for args in (["add", "."], ["commit", "-q", "-m", message]):
        subprocess.run(["git", "-C", str(project), *args], env=env, check=True)


def repo(tmp_path: Path, history: list[tuple[float, str, str]]) -> Path:
    """A repository whose stack files had ``history``: (days ago, stack, text), oldest first."""
    project = project_with(tmp_path / "repo", {})
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    for days_ago, stack, text in history:
        (project / f"Pulumi.{stack}.yaml").write_text(text)
        commit(project, f"{stack} {days_ago}", days_ago)
    return project


def idle(capsys: pytest.CaptureFixture[str], project: Path, *args: str) -> tuple[Run, Any]:
    run = mlep(capsys, "idle", "--format", "json", *args, project=project)
    assert run.code == 0, run.stderr
    return run, json.loads(run.stdout)


def kinds(document: dict[str, Any]) -> list[tuple[str, str, str | None, str]]:
    return [(f["stack"], f["endpoint"], f["deployment"], f["kind"]) for f in document["findings"]]


def test_a_deployment_left_at_0_after_a_rollout_is_retired_by_finish(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    project = repo(
        tmp_path,
        [
            (60, "prod", MID_ROLLOUT),
            (50, "prod", COMPLETED),
            (10, "prod", COMPLETED.replace("Card transaction fraud score\n", "Fraud score\n")),
        ],
    )
    _, document = idle(capsys, project)
    assert kinds(document) == [
        ("prod", "fraud-scoring", "blue", "idle_deployment"),
        ("prod", "churn-propensity", "gbm-v4", "mirror_on"),
    ]
    blue, mirror = document["findings"]
    assert blue["retire"] == "mlep rollout --stack prod --endpoint fraud-scoring --finish"
    assert blue["since"].endswith("(50 days)")
    assert mirror["since"].endswith("(60 days)")
    assert mirror["detail"] == "mirror on: 10 % of requests copied to gbm-v4"
    assert mirror["retire"] == "mlep traffic --stack prod --endpoint churn-propensity --mirror none"
    assert document["window_days"] == 30


def test_traffic_inside_the_window_is_not_idle(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    project = repo(tmp_path, [(60, "prod", MID_ROLLOUT), (20, "prod", COMPLETED)])
    _, document = idle(capsys, project)
    assert ("prod", "fraud-scoring", "blue", "idle_deployment") not in kinds(document)
    # With a window that starts after blue's last traffic, it is idle.
    _, short = idle(capsys, project, "--days", "10")
    assert ("prod", "fraud-scoring", "blue", "idle_deployment") in kinds(short)


def test_a_deployment_added_inside_the_window_is_not_judged(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    project = repo(tmp_path, [(5, "dev", DEV_UNUSED)])
    _, document = idle(capsys, project)
    assert kinds(document) == []


def test_an_endpoint_without_traffic_is_one_finding(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    project = repo(tmp_path, [(45, "dev", DEV_UNUSED)])
    _, document = idle(capsys, project)
    (finding,) = document["findings"]
    assert finding == {
        "stack": "dev",
        "endpoint": "fraud-scoring",
        "deployment": None,
        "kind": "idle_endpoint",
        "detail": "no deployment carried live traffic in the window",
        "since": finding["since"],
        "retire": "remove endpoint fraud-scoring from Pulumi.dev.yaml and run pulumi up",
    }
    assert finding["since"].endswith("(45 days)")
    markdown = mlep(capsys, "idle", project=project).stdout
    assert "| dev | fraud-scoring | (all) |" in markdown
    assert "`remove endpoint fraud-scoring from Pulumi.dev.yaml and run pulumi up`" in markdown


def test_without_a_live_source_it_says_request_volume_was_not_checked(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    project = repo(tmp_path, [(45, "dev", DEV_UNUSED)])
    _, document = idle(capsys, project)
    assert document["request_volume_checked"] == {"dev": False}
    assert document["notes"] == [
        "request volume of stack dev (azure) was not checked: pass --subscription ID to count "
        "the requests in the endpoints' traffic log"
    ]
    markdown = mlep(capsys, "idle", project=project).stdout
    assert "request volume of stack dev (azure) was not checked" in markdown
    assert "Nothing was deleted." in markdown


def test_a_stack_file_outside_git_is_said_so(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    project = project_with(tmp_path / "plain", {"prod": PROD})
    _, document = idle(capsys, project)
    assert kinds(document) == [("prod", "churn-propensity", "gbm-v4", "mirror_on")]
    assert document["findings"][0]["since"] is None
    assert "Pulumi.prod.yaml has no committed history" in document["notes"][0]


def test_the_traffic_log_finds_an_endpoint_without_requests(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, azure: Callable[..., Any]
) -> None:
    def answer(request: HttpRequest) -> tuple[int, Any]:
        assert urlsplit(request.url).path == f"/v1{LAW}/query"
        query = json.loads(request.content)["query"]
        if 'EndpointName == "fraud-scoring"' in query:
            return 200, traffic_log([["green", 120000, "2026-12-05T09:00:00Z"]])
        return 200, traffic_log([])

    transport = azure(answer)
    project = repo(tmp_path, [(60, "prod", MID_ROLLOUT)])
    _, document = idle(capsys, project, "--days", "7", "--subscription", SUBSCRIPTION)
    assert ("prod", "churn-propensity", None, "no_requests") in kinds(document)
    assert ("prod", "fraud-scoring", None, "no_requests") not in kinds(document)
    assert document["request_volume_checked"] == {"prod": True}
    bodies = [json.loads(r.content) for r in transport.requests]
    assert [b["timespan"] for b in bodies] == ["PT604800.0S"] * 2  # 7 days, as the SDK writes it
    assert all(r.headers["Authorization"].startswith("Bearer ") for r in transport.requests)


@pytest.mark.parametrize("days", ["0", "-3"])
def test_a_window_under_one_day_is_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, days: str
) -> None:
    run = mlep(capsys, "idle", "--days", days)
    assert (run.code, run.stdout) == (2, "")
    assert f"--days {days}: the window is a whole number of days" in run.stderr
    assert "fix: e.g. --days 30" in run.stderr


def test_an_unknown_stack_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    run = mlep(capsys, "idle", "--stack", "nope")
    assert (run.code, run.stdout) == (2, "")
    assert "--stack nope: no stack file Pulumi.nope.yaml" in run.stderr
    assert "fix: name one of the stacks here" in run.stderr
