"""`mlep rollout` and `mlep rollback`: one traffic change, and only that change, in the file.

The text edit (`mlep.stack.traffic_edit.set_traffic`) is tested in-process on literal YAML texts.
The commands run as users run them, in a subprocess, on copies of the repository's stack files
(tests/fixtures/rollout/) committed to a fresh git repository per scenario. Every scenario in
`SCENARIOS` runs once per module, several at a time; the tests then read the outcomes.
"""

from __future__ import annotations

import difflib
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from mlep.errors import UsageError
from mlep.stack.traffic_edit import set_traffic
from tests.test_plan_cli import Result, copy_project, git
from tests.test_review import mlep_env, run_mlep

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "rollout"

Change = tuple[int, int, list[str]]


def changed_lines(before: str, after: str) -> list[Change]:
    """Every difference between two texts as (first, end, new lines): lines ``first:end`` of
    ``before`` (0-based; equal for an insertion) became ``new lines``. Lines keep their line
    endings, so a changed line ending is a changed line; everything not listed is identical."""
    old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    return [(i1, i2, new[j1:j2]) for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal"]


def index_of(text: str, line: str) -> int:
    """0-based index of the only line of ``text`` equal to ``line`` (without its ending)."""
    (found,) = [n for n, each in enumerate(text.splitlines()) if each == line]
    return found


def with_line(text: str, old: str, new: str) -> str:
    """``text`` with the one occurrence of ``old`` replaced by ``new``."""
    assert text.count(old) == 1, old
    return text.replace(old, new)


# --- set_traffic on literal texts ---------------------------------------------------------

FLOW = """\
config:
  ml-endpoints:target: azure
  ml-endpoints:endpoints:
    - name: fraud-scoring
      deployments: [{name: blue}, {name: green}]
      traffic: {blue: 75, green: 25}
      alerts: {latency_p95_ms: 300}
"""

PADDED = """\
config:
  ml-endpoints:endpoints:
    - name: fraud-scoring
      traffic: { blue: 75, green: 25 }  # green is the canary
      mirror_traffic: { }
"""

BLOCK = """\
config:
  ml-endpoints:endpoints:
    - name: fraud-scoring
      traffic:
        blue: 75    # v7, the stable one
        green: 25   # v8
      mirror_traffic:
        shadow: 10  # v9 in the shadows
      rollout: {steps: [5, 25, 60, 100]}
"""

NO_TRAFFIC = """\
config:
  ml-endpoints:endpoints:
    - name: fraud-scoring
      deployments:
        - name: blue
          model: azureml:fraud:1
    # churn comes next
    - name: churn-propensity
      traffic: {gbm-v3: 100}
"""

EMPTY_TRAFFIC = """\
config:
  ml-endpoints:endpoints:
    - name: fraud-scoring
      traffic:  # set by mlep rollout
      alerts: {latency_p95_ms: 300}
"""

MULTI_LINE_FLOW = """\
config:
  ml-endpoints:endpoints:
    - name: fraud-scoring
      traffic: {blue: 75,
                green: 25}  # mid-rollout
      alerts: {latency_p95_ms: 300}
"""

TWO_ENDPOINTS = """\
config:
  ml-endpoints:endpoints:
    - name: fraud-scoring
      traffic: {blue: 75, green: 25}
    - name: churn-propensity
      traffic: {blue: 75, green: 25}
"""

SECURE = """\
config:
  azure-native:clientSecret:
    secure: v1:AAABAHTrP3AeWQxKx1b5P9lJ1kY0dbvK+pl9QyW==
  ml-endpoints:endpoints:
    - name: fraud-scoring
      environment_variables:
        API_KEY:
          secure: v1:AAABAOq1Zz3s7R0c9Wq9v0c=
      traffic: {blue: 75, green: 25}
  datadog:apiKey:
    secure: v1:AAABAFvJk2nV8o0Q==
"""

MULTI_LINE_DESCRIPTION = """\
config:
  ml-endpoints:endpoints:
    - name: fraud-scoring
      description: >
        Card transaction fraud score,
        called by the payments gateway
    - name: churn-propensity
      traffic: {gbm-v3: 100}
"""

NO_FINAL_NEWLINE = "config:\n  ml-endpoints:endpoints:\n    - name: e\n      traffic: {blue: 75}"


def crlf(text: str) -> str:
    return text.replace("\n", "\r\n")


def test_flow_mapping_is_rewritten_on_its_own_line() -> None:
    after = set_traffic(FLOW, "fraud-scoring", "traffic", {"blue": 60, "green": 40})
    assert changed_lines(FLOW, after) == [(5, 6, ["      traffic: {blue: 60, green: 40}\n"])]


def test_flow_mapping_keeps_its_padding_and_trailing_comment() -> None:
    after = set_traffic(PADDED, "fraud-scoring", "traffic", {"blue": 60, "green": 40})
    expected = "      traffic: { blue: 60, green: 40 }  # green is the canary\n"
    assert changed_lines(PADDED, after) == [(3, 4, [expected])]


def test_flow_mapping_gains_a_new_key_at_its_end() -> None:
    shares = {"blue": 70, "green": 25, "red": 5}
    after = set_traffic(FLOW, "fraud-scoring", "traffic", shares)
    assert changed_lines(FLOW, after) == [
        (5, 6, ["      traffic: {blue: 70, green: 25, red: 5}\n"])
    ]


def test_flow_mapping_loses_a_removed_key() -> None:
    after = set_traffic(FLOW, "fraud-scoring", "traffic", {"green": 100})
    assert changed_lines(FLOW, after) == [(5, 6, ["      traffic: {green: 100}\n"])]


def test_block_mapping_keeps_the_comments_on_its_value_lines() -> None:
    after = set_traffic(BLOCK, "fraud-scoring", "traffic", {"blue": 40, "green": 60})
    assert changed_lines(BLOCK, after) == [
        (4, 6, ["        blue: 40    # v7, the stable one\n", "        green: 60   # v8\n"])
    ]


def test_block_mapping_gains_a_new_key_after_its_last_line() -> None:
    shares = {"blue": 70, "green": 25, "red": 5}
    after = set_traffic(BLOCK, "fraud-scoring", "traffic", shares)
    assert changed_lines(BLOCK, after) == [
        (4, 5, ["        blue: 70    # v7, the stable one\n"]),
        (6, 6, ["        red: 5\n"]),
    ]


def test_block_mapping_loses_the_line_of_a_removed_key() -> None:
    # blue's line goes; green's keeps its comment.
    after = set_traffic(BLOCK, "fraud-scoring", "traffic", {"green": 100})
    assert changed_lines(BLOCK, after) == [(4, 6, ["        green: 100   # v8\n"])]


def test_emptying_a_block_mirror_writes_an_empty_flow_mapping() -> None:
    after = set_traffic(BLOCK, "fraud-scoring", "mirror_traffic", {})
    assert changed_lines(BLOCK, after) == [(6, 8, ["      mirror_traffic: {}\n"])]


def test_emptying_a_flow_mirror_keeps_its_padding() -> None:
    after = set_traffic(PADDED, "fraud-scoring", "mirror_traffic", {})
    assert after == PADDED.replace("mirror_traffic: { }", "mirror_traffic: {}")


def test_emptying_an_absent_mirror_changes_nothing() -> None:
    assert set_traffic(FLOW, "fraud-scoring", "mirror_traffic", {}) == FLOW


def test_absent_traffic_is_inserted_after_the_endpoints_last_line() -> None:
    # After the last line of its deployments, before the comment that opens the next item.
    after = set_traffic(NO_TRAFFIC, "fraud-scoring", "traffic", {"blue": 100})
    assert changed_lines(NO_TRAFFIC, after) == [(6, 6, ["      traffic: {blue: 100}\n"])]


def test_absent_traffic_is_inserted_after_a_multi_line_description() -> None:
    after = set_traffic(MULTI_LINE_DESCRIPTION, "fraud-scoring", "traffic", {"blue": 100})
    assert changed_lines(MULTI_LINE_DESCRIPTION, after) == [
        (6, 6, ["      traffic: {blue: 100}\n"])
    ]


def test_traffic_key_without_a_value_is_filled_in_keeping_its_comment() -> None:
    after = set_traffic(EMPTY_TRAFFIC, "fraud-scoring", "traffic", {"blue": 100})
    expected = "      traffic: {blue: 100} # set by mlep rollout\n"
    assert changed_lines(EMPTY_TRAFFIC, after) == [(3, 4, [expected])]


def test_flow_mapping_over_two_lines_becomes_one_line() -> None:
    after = set_traffic(MULTI_LINE_FLOW, "fraud-scoring", "traffic", {"blue": 60, "green": 40})
    expected = "      traffic: {blue: 60, green: 40}  # mid-rollout\n"
    assert changed_lines(MULTI_LINE_FLOW, after) == [(3, 5, [expected])]


def test_only_the_named_endpoint_changes() -> None:
    after = set_traffic(TWO_ENDPOINTS, "churn-propensity", "traffic", {"blue": 0, "green": 100})
    assert changed_lines(TWO_ENDPOINTS, after) == [
        (5, 6, ["      traffic: {blue: 0, green: 100}\n"])
    ]


def test_secure_values_elsewhere_stay_byte_identical() -> None:
    after = set_traffic(SECURE, "fraud-scoring", "traffic", {"blue": 60, "green": 40})
    assert changed_lines(SECURE, after) == [(8, 9, ["      traffic: {blue: 60, green: 40}\n"])]


def test_crlf_file_keeps_crlf_on_an_edited_flow_line() -> None:
    after = set_traffic(crlf(FLOW), "fraud-scoring", "traffic", {"blue": 60, "green": 40})
    assert changed_lines(crlf(FLOW), after) == [
        (5, 6, ["      traffic: {blue: 60, green: 40}\r\n"])
    ]


def test_crlf_file_gets_crlf_on_an_added_block_line() -> None:
    shares = {"blue": 75, "green": 25, "red": 0}
    after = set_traffic(crlf(BLOCK), "fraud-scoring", "traffic", shares)
    assert changed_lines(crlf(BLOCK), after) == [(6, 6, ["        red: 0\r\n"])]


def test_crlf_file_gets_crlf_on_an_inserted_traffic_line() -> None:
    after = set_traffic(crlf(NO_TRAFFIC), "fraud-scoring", "traffic", {"blue": 100})
    assert changed_lines(crlf(NO_TRAFFIC), after) == [(6, 6, ["      traffic: {blue: 100}\r\n"])]


def test_crlf_file_keeps_crlf_when_filling_an_empty_traffic_key() -> None:
    after = set_traffic(crlf(EMPTY_TRAFFIC), "fraud-scoring", "traffic", {"blue": 100})
    expected = "      traffic: {blue: 100} # set by mlep rollout\r\n"
    assert changed_lines(crlf(EMPTY_TRAFFIC), after) == [(3, 4, [expected])]


def test_crlf_file_keeps_crlf_when_emptying_a_block_mirror() -> None:
    after = set_traffic(crlf(BLOCK), "fraud-scoring", "mirror_traffic", {})
    assert changed_lines(crlf(BLOCK), after) == [(6, 8, ["      mirror_traffic: {}\r\n"])]


def test_file_without_a_final_newline_stays_without_one() -> None:
    after = set_traffic(NO_FINAL_NEWLINE, "e", "traffic", {"blue": 100})
    assert after == NO_FINAL_NEWLINE.replace("{blue: 75}", "{blue: 100}")


LAST_BLOCK = "config:\n  ml-endpoints:endpoints:\n    - name: e\n      traffic:\n        blue: 75"


@pytest.mark.parametrize(
    ("field", "shares", "added"),
    [
        ("traffic", {"blue": 75, "green": 25}, "\n        green: 25"),
        ("mirror_traffic", {"green": 10}, "\n      mirror_traffic: {green: 10}"),
    ],
    ids=["key-of-the-last-mapping", "absent-key-of-the-last-endpoint"],
)
def test_inserting_at_the_end_keeps_a_missing_final_newline_missing(
    field: str, shares: dict[str, int], added: str
) -> None:
    assert set_traffic(LAST_BLOCK, "e", field, shares) == LAST_BLOCK + added


def test_unknown_endpoint_is_a_usage_error_naming_it() -> None:
    with pytest.raises(UsageError, match="no endpoint 'fraud' in the stack file"):
        set_traffic(FLOW, "fraud", "traffic", {"blue": 100})


def test_traffic_that_is_not_a_mapping_is_a_usage_error() -> None:
    text = FLOW.replace("{blue: 75, green: 25}", "[blue, green]")
    with pytest.raises(UsageError, match="`traffic` is not a mapping"):
        set_traffic(text, "fraud-scoring", "traffic", {"blue": 100})


# --- the commands, on copies of the repository's stack files ------------------------------

PROD = (FIXTURES / "Pulumi.prod.yaml").read_text()
STAGING = (FIXTURES / "Pulumi.staging.yaml").read_text()
PROD_TRAFFIC = "      traffic: {blue: 75, green: 25}"
# Before the rollout of green: green deployed, blue carries everything.
PROD_START = with_line(PROD, PROD_TRAFFIC, "      traffic: {blue: 100, green: 0}")
PROD_LINE = index_of(PROD, PROD_TRAFFIC)
STAGING_LINE = index_of(STAGING, "      traffic: {lr-v1: 90, lr-v2: 10, gbm-v3: 0}")
STAGING_MIRROR_LINE = index_of(STAGING, "      mirror_traffic: {gbm-v3: 20}")
FRAUD = ("--stack", "prod", "--endpoint", "fraud-scoring")
TABULAR = ("--stack", "staging", "--endpoint", "tabular-classifier")


def prod_traffic(blue: int, green: int) -> list[str]:
    return [f"      traffic: {{blue: {blue}, green: {green}}}\n"]


@dataclass(frozen=True)
class Step:
    """One mlep run and the stack file it worked on, read as bytes before and after."""

    result: Result
    before: str
    after: str


class Repo:
    """A git repository holding one project with stack files."""

    def __init__(self, root: Path, env: dict[str, str], project: str = "") -> None:
        self.root, self.env = root, env
        self.project = root / project
        self.project.mkdir(parents=True, exist_ok=True)
        git(root, "init", "-q")

    def write(self, stack: str, text: str) -> None:
        # bytes: no newline translation, so CRLF files stay CRLF.
        (self.project / f"Pulumi.{stack}.yaml").write_bytes(text.encode())

    def read(self, stack: str) -> str:
        return (self.project / f"Pulumi.{stack}.yaml").read_bytes().decode()

    def commit(self, message: str) -> None:
        git(self.root, "add", ".")
        git(self.root, "commit", "-q", "-m", message)

    def mlep(self, stack: str, *args: str, env: dict[str, str] | None = None) -> Step:
        before = self.read(stack)
        result = run_mlep(["-C", str(self.project), *args], self.project, env or self.env)
        return Step(result, before, self.read(stack))


def rollout_sequence(root: Path, env: dict[str, str]) -> dict[str, Step]:
    """green 0 -> 5 -> 25 -> 60 -> 100, each step committed; then once more; then a plan."""
    repo = Repo(root, env)
    copy_project(repo.project)
    prod(repo, PROD_START, "blue carries fraud-scoring")
    steps = {"step_5": repo.mlep("prod", "rollout", *FRAUD, "--to", "green")}
    repo.commit("fraud-scoring: green 5%")
    for percent in (25, 60, 100):
        steps[f"step_{percent}"] = repo.mlep(
            "prod", "rollout", *FRAUD, "--to", "green", "--skip-guardrails"
        )
        repo.commit(f"fraud-scoring: green {percent}%")
    steps["complete"] = repo.mlep("prod", "rollout", *FRAUD, "--to", "green")
    # The last step against the one before it: valid, and within the step rules.
    steps["plan"] = repo.mlep("prod", "plan", "--stack", "prod", "--base", "HEAD~1")
    return steps


def prod(repo: Repo, text: str = PROD, message: str = "prod") -> Repo:
    repo.write("prod", text)
    repo.commit(message)
    return repo


def staging(repo: Repo) -> Repo:
    repo.write("staging", STAGING)
    repo.commit("staging")
    return repo


def kubernetes_step_without_prometheus(root: Path, env: dict[str, str]) -> dict[str, Step]:
    repo = staging(Repo(root, env))
    return {"no_guardrails": repo.mlep("staging", "rollout", *TABULAR, "--to", "lr-v2")}


def rollout_of_the_mirrored_deployment(root: Path, env: dict[str, str]) -> dict[str, Step]:
    repo = staging(Repo(root, env))
    return {"mirror": repo.mlep("staging", "rollout", *TABULAR, "--to", "gbm-v3")}


def rollout_to_a_typo(root: Path, env: dict[str, str]) -> dict[str, Step]:
    repo = prod(Repo(root, env))
    return {"unknown": repo.mlep("prod", "rollout", *FRAUD, "--to", "gren")}


def apply_without_pulumi(root: Path, env: dict[str, str]) -> dict[str, Step]:
    """--apply with a PATH that has git and nothing else."""
    repo = prod(Repo(root, env))
    bin_dir = root / "bin"
    bin_dir.mkdir()
    (bin_dir / "git").symlink_to(shutil.which("git") or "/usr/bin/git")
    args = ("rollout", *FRAUD, "--to", "green", "--skip-guardrails", "--apply")
    return {"apply": repo.mlep("prod", *args, env=env | {"PATH": str(bin_dir)})}


def rollout_of_a_crlf_file(root: Path, env: dict[str, str]) -> dict[str, Step]:
    repo = prod(Repo(root, env), crlf(PROD_START))
    return {"crlf": repo.mlep("prod", "rollout", *FRAUD, "--to", "green")}


def rollback_after_two_steps(root: Path, env: dict[str, str]) -> dict[str, Step]:
    repo = prod(Repo(root, env), PROD_START, "blue carries fraud-scoring")
    repo.mlep("prod", "rollout", *FRAUD, "--to", "green")
    repo.commit("fraud-scoring: green 5%")
    repo.mlep("prod", "rollout", *FRAUD, "--to", "green", "--skip-guardrails")
    repo.commit("fraud-scoring: green 25%")
    return {"rollback": repo.mlep("prod", "rollback", *FRAUD)}


def rollback_to_a_named_deployment(root: Path, env: dict[str, str]) -> dict[str, Step]:
    repo = staging(Repo(root, env))
    return {"rollback_to": repo.mlep("staging", "rollback", *TABULAR, "--to", "lr-v1")}


def rollback_without_history(root: Path, env: dict[str, str]) -> dict[str, Step]:
    repo = prod(Repo(root, env))  # one commit, fraud-scoring at 75/25
    return {"no_history": repo.mlep("prod", "rollback", *FRAUD)}


def rollback_in_a_subdirectory(root: Path, env: dict[str, str]) -> dict[str, Step]:
    """The project in infra/ of a bigger repository, as in a monorepo."""
    repo = prod(Repo(root, env, project="infra"), PROD_START, "blue carries fraud-scoring")
    repo.write("prod", with_line(PROD_START, "{blue: 100, green: 0}", "{blue: 95, green: 5}"))
    repo.commit("fraud-scoring: green 5%")
    return {"rollback_subdir": repo.mlep("prod", "rollback", *FRAUD)}


SCENARIOS: list[Callable[[Path, dict[str, str]], dict[str, Step]]] = [
    rollout_to_a_typo,  # the shortest: it runs alone, then the others together
    rollout_sequence,  # the longest (it plans)
    rollback_after_two_steps,
    kubernetes_step_without_prometheus,
    rollout_of_the_mirrored_deployment,
    apply_without_pulumi,
    rollout_of_a_crlf_file,
    rollback_to_a_named_deployment,
    rollback_without_history,
    rollback_in_a_subdirectory,
]


@pytest.fixture(scope="module")
def steps(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Step]:
    """Run the first scenario alone (it fills the bytecode cache), then the others together,
    each in its own repository."""
    parent = tmp_path_factory.mktemp("rollout")
    env = mlep_env(tmp_path_factory, parent)
    first, *rest = SCENARIOS
    outcomes = [first(parent / first.__name__, env)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes += pool.map(lambda scenario: scenario(parent / scenario.__name__, env), rest)
    return {name: step for outcome in outcomes for name, step in outcome.items()}


def output(step: Step) -> str:
    """stdout and stderr with whitespace runs made one space (rich wraps long lines)."""
    return " ".join(step.result.output.split())


# --- rollout ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("step", "blue", "green"),
    [("step_5", 95, 5), ("step_25", 75, 25), ("step_60", 40, 60), ("step_100", 0, 100)],
)
def test_each_rollout_step_changes_only_the_traffic_line(
    steps: dict[str, Step], step: str, blue: int, green: int
) -> None:
    done = steps[step]
    assert done.result.code == 0, done.result.output
    assert changed_lines(done.before, done.after) == [
        (PROD_LINE, PROD_LINE + 1, prod_traffic(blue, green))
    ]


def test_rollout_ends_with_all_traffic_on_the_new_deployment(steps: dict[str, Step]) -> None:
    final = with_line(PROD, PROD_TRAFFIC, "      traffic: {blue: 0, green: 100}")
    assert steps["step_100"].after == final


def test_first_step_needs_no_guardrails(steps: dict[str, Step]) -> None:
    assert "green carries no live traffic yet" in output(steps["step_5"])
    assert "Pulumi.prod.yaml: green 0% -> 5%" in output(steps["step_5"])


def test_skip_guardrails_says_so_loudly(steps: dict[str, Step]) -> None:
    assert "WARNING: --skip-guardrails: advancing green" in steps["step_25"].result.stderr


def test_rollout_prints_the_diff_of_the_step(steps: dict[str, Step]) -> None:
    stdout = steps["step_60"].result.stdout
    assert (
        "-      traffic: {blue: 75, green: 25}\n+      traffic: {blue: 40, green: 60}\n" in stdout
    )


def test_rolled_out_stack_still_plans_within_the_step_rules(steps: dict[str, Step]) -> None:
    assert steps["plan"].result.code == 0, steps["plan"].result.output


def test_complete_rollout_exits_0_and_leaves_the_file_alone(steps: dict[str, Step]) -> None:
    done = steps["complete"]
    assert done.result.code == 0, done.result.output
    assert "green already carries all live traffic of fraud-scoring: the rollout is complete" in (
        output(done)
    )
    assert done.after == done.before


def test_kubernetes_step_without_prometheus_exits_2_naming_the_flag(
    steps: dict[str, Step],
) -> None:
    done = steps["no_guardrails"]
    assert done.result.code == 2, done.result.output
    assert "--prometheus-url" in done.result.stderr
    assert "Traceback" not in done.result.output
    assert done.after == done.before


def test_rollout_out_of_the_mirror_drops_the_mirror_entry(steps: dict[str, Step]) -> None:
    # lr-v1 and lr-v2 give up 5 points in proportion (85.5 / 9.5, largest remainder first).
    done = steps["mirror"]
    assert done.result.code == 0, done.result.output
    assert changed_lines(done.before, done.after) == [
        (
            STAGING_LINE,
            STAGING_MIRROR_LINE + 1,
            ["      traffic: {lr-v1: 86, lr-v2: 9, gbm-v3: 5}\n", "      mirror_traffic: {}\n"],
        )
    ]
    assert "note: gbm-v3 stops receiving mirrored traffic (20%)" in output(done)


def test_rollout_to_an_unknown_deployment_suggests_the_close_one(steps: dict[str, Step]) -> None:
    done = steps["unknown"]
    assert done.result.code == 2, done.result.output
    assert "did you mean 'green'?" in done.result.stderr
    assert "--to gren" in done.result.stderr
    assert done.after == done.before


def test_apply_without_the_pulumi_cli_exits_2_before_editing(steps: dict[str, Step]) -> None:
    done = steps["apply"]
    assert done.result.code == 2, done.result.output
    assert "needs the Pulumi CLI" in output(done)
    assert "install it (https://www.pulumi.com/docs/iac/download-install/)" in output(done)
    assert done.after == done.before


def test_rollout_keeps_a_crlf_file_crlf(steps: dict[str, Step]) -> None:
    done = steps["crlf"]
    assert done.result.code == 0, done.result.output
    assert changed_lines(done.before, done.after) == [
        (PROD_LINE, PROD_LINE + 1, ["      traffic: {blue: 95, green: 5}\r\n"])
    ]


# --- rollback -----------------------------------------------------------------------------


def test_rollback_returns_to_the_last_deployment_that_carried_everything(
    steps: dict[str, Step],
) -> None:
    done = steps["rollback"]
    assert done.result.code == 0, done.result.output
    assert changed_lines(done.before, done.after) == [
        (PROD_LINE, PROD_LINE + 1, prod_traffic(100, 0))
    ]
    assert done.after == PROD_START


def test_rollback_names_the_revision_it_returns_to(steps: dict[str, Step]) -> None:
    text = output(steps["rollback"])
    assert "stable deployment: blue carried all live traffic at" in text
    assert "(blue carries fraud-scoring)" in text  # that commit's subject


def test_rollback_to_a_named_deployment_changes_only_the_traffic_line(
    steps: dict[str, Step],
) -> None:
    done = steps["rollback_to"]
    assert done.result.code == 0, done.result.output
    assert changed_lines(done.before, done.after) == [
        (STAGING_LINE, STAGING_LINE + 1, ["      traffic: {lr-v1: 100, lr-v2: 0, gbm-v3: 0}\n"])
    ]


def test_rollback_without_history_exits_2_naming_to(steps: dict[str, Step]) -> None:
    done = steps["no_history"]
    assert done.result.code == 2, done.result.output
    assert "--to DEPLOYMENT" in output(done)
    assert "Traceback" not in done.result.output
    assert done.after == done.before


def test_rollback_finds_the_history_of_a_project_in_a_subdirectory(
    steps: dict[str, Step],
) -> None:
    done = steps["rollback_subdir"]
    assert done.result.code == 0, done.result.output
    assert done.after == PROD_START
