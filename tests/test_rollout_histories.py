"""Rollout histories as a state machine (issue 20, Tests): start, step, hold, explicit split,
mirror on and off, rollback at any point, revert commits, squashes, complete and finish, in any
order, against a real git repository. After every command that edits the stack file:

- it exits 0 and the file changed only in fraud-scoring's deployments, traffic or mirror;
- the edited file passes `mlep plan --base HEAD` (the pack with the committed traffic and the
  stable deployment from history), rollbacks included, wherever the rollout stood;
- `mlep review --base HEAD` classifies it as the command says (a rollout step is a start, step
  or completion; a rollback is a rollback) and never offers a rollback command for a rollback.

mlep runs in-process (`mlep.cli.main`) to keep each history under a few seconds; bounded to
well under a minute.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from ruamel.yaml import YAML

from mlep.cli import main
from mlep.stack import StackRef
from mlep.stack.history import stable_deployments
from tests.test_plan_cli import copy_project
from tests.test_rollout import PROD_START
from tests.test_rollout_loop import without_green

FRAUD = ["--stack", "prod", "--endpoint", "fraud-scoring"]
NAMES = ["green", "purple", "teal"]


def git(directory: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=directory,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


class Histories(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.project: Path = Path()
        self.capsys: Any = None
        self.counter = 0

    @initialize()
    def repository(self) -> None:
        self.project = Histories.root / f"history-{Histories.runs}"
        Histories.runs += 1
        copy_project(self.project)
        (self.project / "Pulumi.prod.yaml").write_text(without_green(PROD_START))
        git(self.project, "init", "-q")
        git(self.project, "add", ".")
        git(self.project, "commit", "-q", "-m", "blue alone")

    # ---- reading the state ----------------------------------------------------------------

    def endpoint(self) -> dict[str, Any]:
        text = (self.project / "Pulumi.prod.yaml").read_text()
        config = YAML(typ="safe", pure=True).load(text)["config"]
        (found,) = [e for e in config["ml-endpoints:endpoints"] if e["name"] == "fraud-scoring"]
        return found  # type: ignore[no-any-return]

    def live(self) -> dict[str, int]:
        endpoint = self.endpoint()
        return {
            d["name"]: endpoint.get("traffic", {}).get(d["name"], 0)
            for d in endpoint["deployments"]
        }

    def full(self) -> str | None:
        return next((d for d, share in self.live().items() if share == 100), None)

    def run(self, *args: str) -> tuple[int, str]:
        code = main(["-C", str(self.project), *args])
        out = Histories.capsys.readouterr()
        return code, out.out + out.err

    def edited(self, *args: str, kinds: set[str] | None) -> None:
        """Run an editing command; check the file, the pack and the review; commit."""
        before = self.endpoint()
        text_before = (self.project / "Pulumi.prod.yaml").read_text()
        code, output = self.run(*args)
        assert code == 0, (args, output)
        after = self.endpoint()
        text_after = (self.project / "Pulumi.prod.yaml").read_text()
        if text_after == text_before:
            return
        others = {
            k: v for k, v in after.items() if k not in ("deployments", "traffic", "mirror_traffic")
        }
        assert others == {
            k: v for k, v in before.items() if k not in ("deployments", "traffic", "mirror_traffic")
        }
        code, output = self.run("plan", "--stack", "prod", "--base", "HEAD")
        assert code == 0, (args, output)
        code, output = self.run("review", "--stack", "prod", "--base", "HEAD", "--format", "json")
        assert code == 0, (args, output)
        (reviewed,) = [e for e in json.loads(output)["endpoints"] if e["name"] == "fraud-scoring"]
        if kinds is not None:
            assert reviewed["kind"] in kinds, (args, reviewed)
        if reviewed["kind"] == "rollback":
            assert reviewed["rollback_command"] is None
        git(self.project, "add", ".")
        git(self.project, "commit", "-q", "-m", " ".join(args))

    # ---- the actions ------------------------------------------------------------------------

    @precondition(lambda self: self.full() is not None and len(self.live()) < 3)
    @rule(name=st.sampled_from(NAMES), mirror=st.booleans())
    def start(self, name: str, mirror: bool) -> None:
        if name in self.live():
            return
        self.counter += 1
        flags = ["--mirror", "10"] if mirror else []
        self.edited(
            "rollout",
            *FRAUD,
            "--to",
            name,
            "--model",
            f"azureml:fraud:{self.counter}",
            *flags,
            kinds=None,
        )

    @precondition(lambda self: self.full() is None or len(self.live()) > 1)
    @rule(data=st.data())
    def step(self, data: st.DataObject) -> None:
        live = self.live()
        candidates = [d for d, share in live.items() if share < 100]
        if not candidates:
            return
        target = data.draw(st.sampled_from(candidates))
        # Stepping the deployment a rollback returns to is moving traffic back to it.
        stable = stable_deployments(StackRef(self.project, "prod"), "HEAD").get("fraud-scoring")
        kinds = {"rollback"} if target == stable else {"start", "step", "completion"}
        self.edited("rollout", *FRAUD, "--to", target, "--skip-guardrails", kinds=kinds)

    @rule()
    def rollback(self) -> None:
        code, output = self.run("rollback", *FRAUD)
        if code == 2 and "stable deployment is unknown" in output:
            return  # nothing ever carried everything but the current one
        git(self.project, "checkout", "-q", ".")
        self.edited("rollback", *FRAUD, kinds={"rollback"})

    @precondition(lambda self: len(self.live()) == 2 and self.full() is None)
    @rule(points=st.integers(1, 5))
    def explicit_split(self, points: int) -> None:
        live = self.live()
        low, high = sorted(live, key=lambda d: live[d])
        if live[low] + points > 100 or live[high] - points < 0:
            return
        shares = {low: live[low] + points, high: live[high] - points}
        self.edited(
            "traffic", *FRAUD, "--set", ",".join(f"{d}={s}" for d, s in shares.items()), kinds=None
        )

    @rule(on=st.booleans())
    def mirror(self, on: bool) -> None:
        idle = [d for d, share in self.live().items() if share == 0]
        if on and not idle:
            return
        value = f"{idle[0]}=10" if on else "none"
        self.edited("traffic", *FRAUD, "--mirror", value, kinds=None)

    @precondition(lambda self: self.full() is not None and len(self.live()) > 1)
    @rule()
    def finish(self) -> None:
        self.edited("rollout", *FRAUD, "--finish", kinds=None)

    @rule()
    def revert(self) -> None:
        if int(git(self.project, "rev-list", "--count", "HEAD")) > 1:
            git(self.project, "revert", "--no-edit", "HEAD")

    @rule()
    def squash(self) -> None:
        if int(git(self.project, "rev-list", "--count", "HEAD")) > 2:
            git(self.project, "reset", "-q", "--soft", "HEAD~2")
            git(self.project, "commit", "-q", "--allow-empty", "-m", "squashed")

    @rule()
    def hold(self) -> None:
        pass

    @invariant()
    def always_plans(self) -> None:
        if self.project != Path():
            assert sum(self.live().values()) == 100


Histories.runs = 0  # type: ignore[attr-defined]


@pytest.mark.filterwarnings("ignore::ruamel.yaml.error.ReusedAnchorWarning")
def test_rollout_histories(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Histories.root = tmp_path  # type: ignore[attr-defined]
    Histories.capsys = capsys  # type: ignore[attr-defined]
    machine = Histories.TestCase
    machine.settings = settings(
        max_examples=4,
        stateful_step_count=10,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    machine().runTest()
