"""Hostile or careless names and revisions never reach git or the file system as anything else.

A stack name is a Pulumi stack name, checked before a path is built from it; a stack file
that is a symbolic link, a FIFO, a device or a directory is refused before it is read; a
`--base` that looks like a git option is a revision that does not exist. Every command, exit
code 2, a message naming what was wrong, and nothing written anywhere.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from mlep.cli import main
from tests.conftest import ROOT
from tests.test_plan_cli import blue_green, copy_project, git, stack_yaml

AZML = ROOT / "tests" / "fixtures" / "azml" / "blue-green"


def commands(stack: str) -> dict[str, list[str]]:
    """Every command of mlep that names a stack, with ``stack`` as its name."""
    named = f"--stack={stack}"  # one argument, even for a name that starts with '-'
    return {
        "plan": ["plan", named],
        "review": ["review", named, "--base", "HEAD"],
        "policy-config": ["policy-config", named],
        "rollout": ["rollout", named, "--endpoint", "fraud-scoring", "--to", "green"],
        "rollback": ["rollback", named, "--endpoint", "fraud-scoring", "--to", "blue"],
        "new": ["new", "churn", named, "--template", "cpu-tabular-classifier"],
        "import": [
            "import",
            str(AZML / "endpoint.yml"),
            str(AZML / "blue-deployment.yml"),
            str(AZML / "green-deployment.yml"),
            named,
        ],
    }


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A committed project with a valid dev stack, the working directory of each command."""
    directory = copy_project(tmp_path / "project")
    shutil.copytree(ROOT / "templates", directory / "templates")
    (directory / "Pulumi.dev.yaml").write_text(stack_yaml(blue_green(75, 25)))
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    git(directory, "init", "-q")
    git(directory, "add", ".")
    git(directory, "commit", "-q", "-m", "base")
    monkeypatch.chdir(directory)
    return directory


def tree(directory: Path) -> set[str]:
    return {str(p.relative_to(directory)) for p in directory.rglob("*") if ".git" not in p.parts}


def run(argv: list[str], project: Path) -> int:
    return main(["-C", str(project), *argv])


HOSTILE_NAMES = ["../evil", "a/b", "..", ".", "x..y", "dev prod", "dev\n", "dev/", "", "d" * 101]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
@pytest.mark.parametrize("command", list(commands("dev")))
def test_a_name_that_is_not_a_stack_name_is_refused(
    project: Path, capsys: pytest.CaptureFixture[str], command: str, name: str
) -> None:
    before = tree(project.parent)
    assert run(commands(name)[command], project) == 2
    err = capsys.readouterr().err
    if name == "" and command == "new":
        assert "mlep new needs --stack" in err
    else:
        assert f"--stack {name!r} is not a stack name" in err
    assert tree(project.parent) == before


def _symlink_to_valid(stack_file: Path) -> None:
    real = stack_file.with_name("real-stack.yaml")
    real.write_text(stack_file.read_text())
    stack_file.unlink()
    stack_file.symlink_to(real)


def _fifo(stack_file: Path) -> None:
    stack_file.unlink()
    os.mkfifo(stack_file)


def _directory(stack_file: Path) -> None:
    stack_file.unlink()
    stack_file.mkdir()


def _device(stack_file: Path) -> None:
    stack_file.unlink()
    stack_file.symlink_to("/dev/zero")


NOT_REGULAR = {
    "symlink": (_symlink_to_valid, "is a symbolic link"),
    "fifo": (_fifo, "is not a regular file"),
    "directory": (_directory, "is not a regular file"),
    "device": (_device, "is a symbolic link"),
}


@pytest.mark.parametrize("kind", list(NOT_REGULAR))
@pytest.mark.parametrize("command", list(commands("dev")))
def test_a_stack_file_that_is_not_a_regular_file_is_refused(
    project: Path, capsys: pytest.CaptureFixture[str], command: str, kind: str
) -> None:
    make, message = NOT_REGULAR[kind]
    make(project / "Pulumi.dev.yaml")
    before = tree(project.parent)
    assert run(commands("dev")[command], project) == 2
    assert f"Pulumi.dev.yaml {message}" in capsys.readouterr().err
    assert tree(project.parent) == before


HOSTILE_BASES = ["--output=OUT", "-oOUT", "HEAD;touch OUT", "--exec=touch OUT", "-p"]


@pytest.mark.parametrize("base", HOSTILE_BASES)
@pytest.mark.parametrize("command", ["plan", "review", "policy-config"])
def test_a_base_that_looks_like_a_git_option_is_a_missing_revision(
    project: Path, capsys: pytest.CaptureFixture[str], command: str, base: str
) -> None:
    base = base.replace("OUT", str(project.parent / "written"))
    before = tree(project.parent)
    assert run([command, "--stack", "dev", f"--base={base}"], project) == 2
    err = capsys.readouterr().err
    assert f"--base {base}: cannot read Pulumi.dev.yaml at that revision" in err
    assert "not a commit of this repository" in err
    assert tree(project.parent) == before


def test_a_real_base_still_works(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["policy-config", "--stack", "dev", "--base=HEAD"], project) == 0
    assert '"previousTraffic"' in capsys.readouterr().out
