"""The stack room: StackRef, the one git reader, the traffic before a change.

Real git repositories in temporary directories, under a C locale, so that what is decoded as
UTF-8 is decoded by mlep and not by the locale (git hands out bytes).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from mlep.engine import stack_policy_config
from mlep.errors import UsageError
from mlep.stack import EndpointTraffic, StackRef, git, load_previous
from mlep.stack.history import stable_deployments, traffic_history
from mlep.stack.previous import as_config, live_traffic, read_previous
from tests.conftest import ROOT
from tests.test_plan_cli import blue_green, stack_yaml

C_LOCALE = {"LC_ALL": "C", "LANG": "C"}


def _git(directory: Path, *args: str) -> None:
    subprocess.run(
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
        cwd=directory,
        check=True,
        capture_output=True,
        env={**os.environ, **C_LOCALE},
    )


def _commit(project: Path, stack: str, text: str, subject: str) -> None:
    (project / f"Pulumi.{stack}.yaml").write_text(text, encoding="utf-8")
    _git(project, "add", ".")
    _git(project, "commit", "-q", "-m", subject)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository whose project sits in a subdirectory (git paths differ from the cwd's)."""
    for key, value in C_LOCALE.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    _git(tmp_path, "init", "-q")
    project = tmp_path / "infra" / "ml"
    project.mkdir(parents=True)
    return project


def test_stack_ref_names_the_file_once(tmp_path: Path) -> None:
    stack = StackRef(tmp_path, "prod")
    assert stack.file_name == "Pulumi.prod.yaml"
    assert stack.path == tmp_path / "Pulumi.prod.yaml"


def test_a_missing_stack_file_lists_the_stacks_there(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.dev.yaml").write_text("config: {}\n")
    with pytest.raises(UsageError, match=r"no stack file Pulumi.prod.yaml .*stacks here: dev"):
        StackRef(tmp_path, "prod").read()


def test_read_at_reads_the_file_of_a_project_in_a_subdirectory(repo: Path) -> None:
    _commit(repo, "dev", stack_yaml(blue_green(100, 0)), "base")
    (repo / "Pulumi.dev.yaml").write_text(stack_yaml(blue_green(75, 25)))
    at_base = StackRef(repo, "dev").load("HEAD")[1]
    assert at_base.endpoints[0].traffic == {"blue": 100, "green": 0}
    assert StackRef(repo, "dev").load()[1].endpoints[0].traffic == {"blue": 75, "green": 25}


def test_read_at_an_unknown_revision_names_it_and_the_file(repo: Path) -> None:
    _commit(repo, "dev", stack_yaml(blue_green(100, 0)), "base")
    with pytest.raises(UsageError) as error:
        StackRef(repo, "dev").read_at("no-such-branch")
    assert str(error.value).startswith(
        "--base no-such-branch: cannot read Pulumi.dev.yaml at that revision ("
    )


def test_exists_at_tells_a_new_stack_from_an_old_one(repo: Path) -> None:
    _commit(repo, "dev", stack_yaml(blue_green(100, 0)), "base")
    (repo / "Pulumi.new.yaml").write_text(stack_yaml(blue_green(100, 0)))
    assert StackRef(repo, "dev").exists_at("HEAD")
    assert not StackRef(repo, "new").exists_at("HEAD")
    assert git.is_commit(repo, "HEAD")
    assert not git.is_commit(repo, "no-such-branch")


def test_history_decodes_utf8_whatever_the_locale(repo: Path) -> None:
    namespace = blue_green(100, 0)
    namespace["endpoints"][0]["description"] = "Betrugsprüfung ✓"
    _commit(repo, "dev", stack_yaml(namespace), "blue übernimmt alles ✓")
    (revision,) = traffic_history(StackRef(repo, "dev"), namespace["endpoints"][0]["name"])
    assert revision.subject == "blue übernimmt alles ✓"
    assert revision.full == "blue"


def test_stable_deployment_is_the_newest_other_than_the_current_full_one(repo: Path) -> None:
    endpoint = blue_green(100, 0)["endpoints"][0]["name"]
    _commit(repo, "dev", stack_yaml(blue_green(100, 0)), "blue")
    _commit(repo, "dev", stack_yaml(blue_green(0, 100)), "green")
    _commit(repo, "dev", stack_yaml(blue_green(75, 25)), "blue back in")
    assert stable_deployments(StackRef(repo, "dev"), "HEAD") == {endpoint: "green"}
    # After the completed rollout a rollback returns to blue; at the very first commit blue
    # carries everything and nothing came before it, so there is nothing to return to (the
    # pack and the review then fall back to the dominant deployment, blue).
    assert stable_deployments(StackRef(repo, "dev"), "HEAD~1") == {endpoint: "blue"}
    assert stable_deployments(StackRef(repo, "dev"), "HEAD~2") == {}


def test_previous_from_git_carries_the_stable_deployment(repo: Path) -> None:
    endpoint = blue_green(100, 0)["endpoints"][0]["name"]
    _commit(repo, "dev", stack_yaml(blue_green(100, 0)), "blue")
    _commit(repo, "dev", stack_yaml(blue_green(75, 25)), "step")
    previous = load_previous(StackRef(repo, "dev"), "HEAD")
    assert previous == {endpoint: EndpointTraffic({"blue": 75, "green": 25}, {}, "blue")}
    assert as_config(previous) == {
        endpoint: {"traffic": {"blue": 75, "green": 25}, "mirror_traffic": {}, "stable": "blue"}
    }


def test_history_outside_a_repository_is_empty(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    (tmp_path / "Pulumi.dev.yaml").write_text(stack_yaml(blue_green(100, 0)))
    assert stable_deployments(StackRef(tmp_path, "dev"), "HEAD") == {}
    assert StackRef(tmp_path, "dev").repository_path() is None


def test_without_git_a_base_is_a_usage_error(repo: Path, monkeypatch: Any) -> None:
    _commit(repo, "dev", stack_yaml(blue_green(100, 0)), "base")
    monkeypatch.setenv("PATH", str(repo))  # no git here
    with pytest.raises(UsageError, match="needs git on PATH"):
        StackRef(repo, "dev").read_at("HEAD")
    assert stable_deployments(StackRef(repo, "dev"), "HEAD") == {}


def test_an_entry_without_a_stable_deployment_has_no_stable_key() -> None:
    entry = EndpointTraffic({"blue": 100}, {"green": 10})
    assert entry.as_config() == {"traffic": {"blue": 100}, "mirror_traffic": {"green": 10}}


@pytest.mark.parametrize(
    "document",
    [
        {"outputs": {"endpoints": {"churn": {"traffic": {"blue": 60}, "mirror_traffic": None}}}},
        {"churn": {"traffic": {"blue": 60}}},
    ],
)
def test_previous_reads_a_plan_document_or_the_stack_output(
    tmp_path: Path, document: dict[str, Any]
) -> None:
    path = tmp_path / "previous.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    assert read_previous(path) == {"churn": EndpointTraffic({"blue": 60}, {})}


@pytest.mark.parametrize(
    "text", ["{", "[]", '{"churn": {"mirror_traffic": {}}}', '{"outputs": {}}']
)
def test_previous_refuses_what_has_no_traffic(tmp_path: Path, text: str) -> None:
    path = tmp_path / "previous.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UsageError, match="fix: pass"):
        read_previous(path)


class _OutputValue:
    def __init__(self, value: Any) -> None:
        self.value = value


def test_live_traffic_reads_the_endpoints_output() -> None:
    outputs = {"endpoints": _OutputValue({"churn": {"traffic": {"blue": 100}}, "odd": 3})}
    assert live_traffic(outputs) == {"churn": EndpointTraffic({"blue": 100}, {})}


@pytest.mark.parametrize("outputs", [{}, {"endpoints": {"churn": {"traffic": {}}}}])
def test_live_traffic_of_a_stack_never_deployed_is_none(outputs: dict[str, Any]) -> None:
    assert live_traffic(outputs) is None


def test_a_stack_is_a_value() -> None:
    assert {StackRef(Path("p"), "dev"): 1}[StackRef(Path("p"), "dev")] == 1
    with pytest.raises(AttributeError):
        StackRef(Path("p"), "dev").name = "prod"  # type: ignore[misc]


@pytest.mark.parametrize("name", ["previous", "previous.txt"])
def test_a_base_that_is_a_file_is_read_as_previous_traffic(repo: Path, name: str) -> None:
    path = repo / name
    path.write_text(json.dumps({"churn": {"traffic": {"blue": 60}}}), encoding="utf-8")
    assert load_previous(StackRef(repo, "dev"), str(path)) == {
        "churn": EndpointTraffic({"blue": 60}, {})
    }


def test_a_missing_json_base_is_named_as_a_previous_traffic_file(repo: Path) -> None:
    with pytest.raises(UsageError, match=r"missing\.json: cannot read previous traffic"):
        load_previous(StackRef(repo, "dev"), str(repo / "missing.json"))


@pytest.mark.parametrize(
    "endpoints",
    [
        "not: [a, list]",
        "[{name: 7, traffic: {blue: 100}}]",
        "[{traffic: {blue: 100}}]",
        "[just-a-name]",
        "[{name: churn, traffic: {blue: '100'}}]",
        "[{name: churn, traffic: {blue: true}}]",
        "[{name: churn, traffic: [blue]}]",
    ],
)
def test_history_skips_revisions_it_cannot_read(repo: Path, endpoints: str) -> None:
    _commit(repo, "dev", stack_yaml(blue_green(100, 0)), "good")
    churn = "config:\n  ml-endpoints:endpoints: " + endpoints + "\n"
    _commit(repo, "dev", churn, "unreadable")
    _commit(repo, "dev", "config: [not, a, mapping]\n", "not even a stack file")
    name = blue_green(100, 0)["endpoints"][0]["name"]
    assert [r.subject for r in traffic_history(StackRef(repo, "dev"), name)] == ["good"]
    assert [r.subject for r in traffic_history(StackRef(repo, "dev"), "churn")] == []


@pytest.mark.parametrize("content", [b"{", b"\xff\xfe", None])
def test_an_unreadable_policy_config_names_itself_and_the_fix(
    tmp_path: Path, content: bytes | None
) -> None:
    path = tmp_path / "policy.json"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(UsageError) as error:
        stack_policy_config(ROOT / "policies", StackRef(ROOT, "dev").load()[1], None, path)
    message = str(error.value)
    assert message.startswith(f"{path}: cannot read the policy config (")
    assert message.endswith(
        'fix: a JSON object of {"policy-name": "advisory" | {"enforcementLevel": ..., ...}}'
    )
