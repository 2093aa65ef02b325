"""A stack file mlep edits is fully rewritten or untouched, and no edit a command reported as
done is lost (issue 19, points 1 and 2).

The guarantees are tested the way they break: a process killed at every call the write makes,
a file-size limit hit mid-write, a disk error, two commands racing on one file, a file edited
by hand between a command's read and its write, and an uncommitted file.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import resource
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from mlep.change.rollout import rollout_change
from mlep.errors import UsageError
from mlep.stack import StackRef, writing
from mlep.stack.writing import replace_file
from tests.test_plan_cli import copy_project
from tests.test_review import mlep_env, run_mlep
from tests.test_rollout import FRAUD, PROD, Repo, prod

ROOT = Path(__file__).resolve().parent.parent
CHURN = ("--stack", "prod", "--endpoint", "churn-propensity")
# A few hundred kilobytes of comments after the config: a write of many blocks.
PADDING = "".join(
    f"# padding line {i:05d}: a long stack file is written in many blocks\n" for i in range(6000)
)


# ---- replace_file ----------------------------------------------------------------------------


def test_replace_file_writes_the_new_bytes_and_keeps_the_mode(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_bytes(b"config: {}\r\n")
    path.chmod(0o640)
    replace_file(path, b"config:\r\n  a: 1\r\n", expected=b"config: {}\r\n")
    assert path.read_bytes() == b"config:\r\n  a: 1\r\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Pulumi.dev.yaml"]  # no temporary left


def test_replace_file_refuses_a_file_changed_since_it_was_read(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_bytes(b"config: {b: 2}\n")
    with pytest.raises(UsageError, match="changed while mlep was working on it"):
        replace_file(path, b"config: {a: 1}\n", expected=b"config: {}\n")
    assert path.read_bytes() == b"config: {b: 2}\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Pulumi.dev.yaml"]


@pytest.mark.parametrize("failing", ["fsync", "replace", "chmod"])
def test_a_failed_write_leaves_the_original_byte_identical(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_bytes(b"config: {}\n")

    def full_disk(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(writing.os, failing, full_disk)
    with pytest.raises(
        UsageError,
        match=r"could not write the change \(No space left on device\); the file is unchanged",
    ):
        replace_file(path, b"config: {a: 1}\n", expected=b"config: {}\n")
    monkeypatch.undo()
    assert path.read_bytes() == b"config: {}\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Pulumi.dev.yaml"]


def test_replace_file_never_writes_through_a_symbolic_link(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.yaml"
    target.write_bytes(b"config: {}\n")
    path = tmp_path / "Pulumi.dev.yaml"
    path.symlink_to(target)
    with pytest.raises(UsageError, match="is a symbolic link"):
        replace_file(path, b"config: {a: 1}\n", expected=b"config: {}\n")
    assert target.read_bytes() == b"config: {}\n"
    assert path.is_symlink()


def test_the_lock_follows_a_file_replaced_while_waiting(tmp_path: Path) -> None:
    """A writer that waited for the lock on the old inode locks (and reads) the new one."""
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_bytes(b"one\n")
    replace_file(path, b"two\n", expected=b"one\n")
    replace_file(path, b"three\n", expected=b"two\n")
    assert path.read_bytes() == b"three\n"


def test_a_held_lock_is_waited_for_then_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_bytes(b"one\n")
    monkeypatch.setattr(writing, "LOCK_WAIT_S", 0.2)
    holder = os.open(path, os.O_RDONLY)
    fcntl.flock(holder, fcntl.LOCK_EX)
    try:
        with pytest.raises(UsageError, match="locked by another command"):
            replace_file(path, b"two\n", expected=b"one\n")
    finally:
        os.close(holder)
    assert path.read_bytes() == b"one\n"
    replace_file(path, b"two\n", expected=b"one\n")  # released: it goes through
    assert path.read_bytes() == b"two\n"


# ---- the commands --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return mlep_env(tmp_path_factory, tmp_path_factory.getbasetemp())


def prod_repo(root: Path, env: dict[str, str], text: str = PROD) -> Repo:
    repo = Repo(root, env)
    copy_project(repo.project)
    return prod(repo, text)


def test_rollout_refuses_a_stack_file_with_uncommitted_changes(
    tmp_path: Path, env: dict[str, str]
) -> None:
    repo = prod_repo(tmp_path, env)
    repo.write("prod", PROD.replace("churn-propensity", "churn-propensity", 1) + "# a note\n")
    step = repo.mlep("prod", "rollout", *FRAUD, "--to", "green", "--skip-guardrails")
    assert step.result.code == 2, step.result.output
    assert "has uncommitted changes" in step.result.stderr
    assert "--allow-dirty" in step.result.stderr
    assert step.after == step.before
    allowed = repo.mlep(
        "prod", "rollout", *FRAUD, "--to", "green", "--skip-guardrails", "--allow-dirty"
    )
    assert allowed.result.code == 0, allowed.result.output
    assert "green: 60" in allowed.after
    assert allowed.after.endswith("# a note\n")


def test_a_second_rollout_step_without_a_commit_is_refused(
    tmp_path: Path, env: dict[str, str]
) -> None:
    """A rollout step is only ever the step: the next one waits for the first to be committed."""
    repo = prod_repo(tmp_path, env)
    first = repo.mlep("prod", "rollout", *FRAUD, "--to", "green", "--skip-guardrails")
    assert first.result.code == 0, first.result.output
    second = repo.mlep("prod", "rollout", *FRAUD, "--to", "green", "--skip-guardrails")
    assert second.result.code == 2
    assert second.after == first.after


def test_new_refuses_an_uncommitted_stack_file(tmp_path: Path, env: dict[str, str]) -> None:
    repo = Repo(tmp_path, env)
    copy_project(repo.project)
    repo.write("prod", PROD)  # never committed
    shutil.copytree(ROOT / "templates", repo.project / "templates")
    args = ("new", "churn-v2", "--stack", "prod", "--template", "cpu-tabular-classifier")
    args += ("--owner", "data-team", "--application", "churn", "--data-sensitivity", "internal")
    args += ("--model", "azureml:churn:3")
    step = repo.mlep("prod", *args)
    assert step.result.code == 2, step.result.output
    assert "is not committed yet" in step.result.stderr
    assert step.after == PROD


def test_outside_a_repository_there_is_nothing_to_compare_with(tmp_path: Path) -> None:
    stack = StackRef(tmp_path, "dev")
    stack.path.write_text("config: {}\n")
    assert stack.committed_bytes() is None
    stack.write("config: {}\n", "config: {a: 1}\n")
    assert stack.path.read_text() == "config: {a: 1}\n"


def test_an_edit_made_while_a_rollout_worked_is_never_overwritten(
    tmp_path: Path, env: dict[str, str]
) -> None:
    """The rollout reads the file, then (guardrails) works for a while: a hand edit in between
    wins, and the rollout says so."""
    repo = prod_repo(tmp_path, env)
    stack = StackRef(repo.project, "prod")
    config = stack.load()[1]
    change = rollout_change(stack, config, "fraud-scoring", "green")
    edited = PROD + "# edited by hand meanwhile\n"
    stack.path.write_text(edited)
    with pytest.raises(UsageError, match="changed while mlep was working on it"):
        change.write(allow_dirty=True)
    assert stack.path.read_text() == edited


def test_concurrent_rollouts_of_two_endpoints_lose_no_reported_edit(
    tmp_path: Path, env: dict[str, str]
) -> None:
    """Every command that exits 0 has its edit in the final file; one that loses the race says
    the file changed and writes nothing."""
    for attempt in range(3):
        repo = prod_repo(tmp_path / str(attempt), env)
        commands = [
            ("rollout", *FRAUD, "--to", "green", "--skip-guardrails", "--allow-dirty"),
            ("rollout", *CHURN, "--to", "gbm-v4", "--skip-guardrails", "--allow-dirty"),
        ]
        with ThreadPoolExecutor(max_workers=2) as pool:
            project = repo.project
            results = list(
                pool.map(lambda a, p=project: run_mlep(["-C", str(p), *a], p, env), commands)
            )
        final = repo.read("prod")
        edits = ["traffic: {blue: 40, green: 60}", "traffic: {gbm-v3: 95, gbm-v4: 5}"]
        assert any(r.code == 0 for r in results), [r.output for r in results]
        for result, edit in zip(results, edits, strict=True):
            if result.code == 0:
                assert edit in final, (result.output, final)
            else:
                assert result.code == 2, result.output
                assert (
                    "changed while mlep was working" in result.stderr
                    or "uncommitted" in result.stderr
                )
                assert edit not in final


# ---- killed mid-write, and out of file size ---------------------------------------------------

# A kill test runs the write once per kill point, dozens of times. Each run does the same
# work up to the write (start Python, import, read and parse the stack file, compute the
# change), so it is done once: the script below starts the work, and where the write begins
# it calls `forked()`, which forks one process per kill point the test sends (one a line),
# returns the kill point in that process, and answers the test how the process ended, as
# subprocess.run reports it (-9: SIGKILL). Everything the processes print goes to the log.
FORKING = """
import os, signal, sys

# The answers go to the test through the original stdout; what the work prints goes to
# stderr (the log), so it is never read as an answer.
answers = os.fdopen(os.dup(1), "w")
os.dup2(2, 1)
signal.alarm(120)  # the work up to the write is stopped (SIGALRM) if it hangs


def forked():
    signal.alarm(0)
    for line in sys.stdin:
        sys.stdout.flush()  # printed once, not again by every forked process
        sys.stderr.flush()
        child = os.fork()
        if child == 0:
            signal.alarm(120)  # a run that hangs is stopped (SIGALRM), not waited for
            return int(line)
        _, status = os.waitpid(child, 0)
        print(os.waitstatus_to_exitcode(status), file=answers, flush=True)
    os._exit(0)  # the test is done: this process never writes
"""


@contextlib.contextmanager
def kill_points(
    script: str, args: list[str], log: Path, **popen: Any
) -> Iterator[Callable[[int], tuple[int, str]]]:
    """Start FORKING + ``script`` once; yield a function that runs the write killed at its
    n-th call and returns how that run ended (-9: killed) and what it printed."""
    with log.open("ab") as output:
        process = subprocess.Popen(
            [sys.executable, "-c", FORKING + script, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=output,
            text=True,
            **popen,
        )
    assert process.stdin is not None
    assert process.stdout is not None

    def run(n: int) -> tuple[int, str]:
        start = log.stat().st_size
        process.stdin.write(f"{n}\n")
        process.stdin.flush()
        answer = process.stdout.readline()
        printed = log.read_bytes()[start:].decode(errors="replace")
        if not answer:
            pytest.fail(f"the forking process ended before the write: {log.read_text()}")
        return int(answer), printed

    try:
        yield run
    finally:
        process.stdin.close()
        process.stdout.close()
        process.wait(timeout=60)


_KILLER = """
import mlep.stack.ref as ref
from mlep.cli import entry_point

N = 0
calls = 0
original = ref.replace_file


def hook(frame, event, arg):
    global calls
    if event == "c_call" and frame.f_code.co_filename.endswith("writing.py"):
        calls += 1
        if calls == N:
            os.kill(os.getpid(), signal.SIGKILL)


def killing(*args, **kwargs):
    global N
    N = forked()
    sys.setprofile(hook)
    try:
        return original(*args, **kwargs)
    finally:
        sys.setprofile(None)


ref.replace_file = killing
sys.argv = ["mlep", *sys.argv[1:]]
entry_point()
"""


def test_a_rollout_killed_at_any_call_of_its_write_leaves_old_or_new_bytes(
    tmp_path: Path, env: dict[str, str]
) -> None:
    """SIGKILL at the 1st, 2nd, ... call the write makes (open, write, fsync, chmod, rename,
    directory fsync, unlink, ...), until one run completes: the stack file is always exactly
    the old or the new bytes, and always loads."""
    repo = prod_repo(tmp_path / "repo", env, PROD + PADDING)
    old = repo.read("prod")
    args = ["-C", str(repo.project), "rollout", *FRAUD, "--to", "green", "--skip-guardrails"]
    seen = set()
    log = tmp_path / "killed.log"
    with kill_points(_KILLER, args, log, cwd=repo.project, env=env) as killed_at:
        for n in range(1, 200):
            repo.write("prod", old)
            code, output = killed_at(n)
            now = repo.read("prod")
            if code == 0:
                new = now
                break
            assert code == -9, output
            seen.add(now)
            StackRef(repo.project, "prod").load()
        else:
            pytest.fail("the write never completed")
    assert n > 5, "the write made too few calls for this test to mean much"
    assert new != old
    assert "traffic: {blue: 40, green: 60}" in new
    assert seen <= {old, new}
    assert old in seen
    assert new in seen


def test_a_file_size_limit_hit_mid_write_leaves_the_original(
    tmp_path: Path, env: dict[str, str]
) -> None:
    repo = prod_repo(tmp_path / "repo", env, PROD + PADDING)
    old = repo.read("prod")
    limit = len(old.encode()) // 2

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    done = subprocess.run(
        [
            str(Path(sys.executable).with_name("mlep")),
            "-C",
            str(repo.project),
            "rollout",
            *FRAUD,
            "--to",
            "green",
            "--skip-guardrails",
        ],
        cwd=repo.project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        preexec_fn=limited,
    )
    assert done.returncode == 2, done.stderr
    assert "could not write the change (File too large); the file is unchanged" in " ".join(
        done.stderr.split()
    )
    assert repo.read("prod") == old
    assert sorted(p.name for p in repo.project.glob(".Pulumi.*")) == []


# ---- new and import keep the file's line endings (point 5) ----------------------------------

AZML = ROOT / "tests" / "fixtures" / "azml" / "mirror"
NEW_ARGS = (
    *("new", "churn-v2", "--stack", "prod", "--template", "cpu-tabular-classifier"),
    *("--owner", "data-team", "--application", "churn", "--data-sensitivity", "internal"),
    *("--model", "azureml:churn:3"),
)
IMPORT_ARGS = (
    "import",
    str(AZML / "endpoint.yml"),
    str(AZML / "blue-deployment.yml"),
    str(AZML / "green-deployment.yml"),
    *("--stack", "dev"),
)
# The imported sample is also called fraud-scoring: the stack's own one is renamed.
DEV = (ROOT / "Pulumi.dev.yaml").read_text().replace("fraud-scoring", "fraud-legacy")


@pytest.mark.parametrize(
    ("stack", "text", "args"),
    [("prod", PROD, NEW_ARGS), ("dev", DEV, IMPORT_ARGS)],
    ids=["new", "import"],
)
def test_new_and_import_keep_a_crlf_file_crlf(
    tmp_path: Path, env: dict[str, str], stack: str, text: str, args: tuple[str, ...]
) -> None:
    crlf = text.replace("\n", "\r\n")
    repo = Repo(tmp_path, env)
    copy_project(repo.project)
    shutil.copytree(ROOT / "templates", repo.project / "templates")
    repo.write(stack, crlf)
    repo.commit(stack)
    step = repo.mlep(stack, *args)
    assert step.result.code == 0, step.result.output
    assert step.after.startswith(crlf)
    assert len(step.after) > len(crlf)
    assert "\n" not in step.after.replace("\r\n", "")  # no bare LF anywhere
