"""`mlep new` and `mlep import` from the command line: an endpoint is added to a stack file
only when the stack still plans with no mandatory violation, and nothing else in the file
changes."""

from __future__ import annotations

import difflib
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from mlep.authoring.adding import template_values
from mlep.authoring.templates import load_template
from mlep.errors import UsageError
from tests.test_plan_cli import Result, copy_project
from tests.test_review import mlep_env, run_mlep

ROOT = Path(__file__).resolve().parent.parent
AZML = ROOT / "tests" / "fixtures" / "azml"
TAGS = ["--owner", "data-team", "--application", "churn", "--data-sensitivity", "internal"]
# case -> (stack file copied from the repository, mlep arguments)
CASES: dict[str, tuple[str | None, list[str]]] = {
    "new-cpu-prod": (
        "prod",
        ["new", "churn-v2", "--template", "cpu-tabular-classifier", *TAGS,
         "--model", "azureml:churn:3"],
    ),
    "new-gpu-staging": (
        "staging",
        ["new", "triage-gpu", "--template", "gpu-model", *TAGS,
         "--image", "mlstaging.azurecr.io/triage:2.1.0"],
    ),
    "new-missing-flags": ("prod", ["new", "churn-v3", "--template", "cpu-tabular-classifier"]),
    "new-typo-flag": (
        "prod",
        ["new", "churn-v4", "--template", "cpu-tabular-classifier", *TAGS,
         "--model", "azureml:churn:3", "--instance-typo", "Standard_DS4_v2"],
    ),
    "new-duplicate": (
        "prod",
        ["new", "fraud-scoring", "--template", "cpu-tabular-classifier", *TAGS,
         "--model", "azureml:churn:3"],
    ),
    "new-list": (None, ["new", "--list"]),
    "import-print": (
        None,
        ["import", str(AZML / "blue-green" / "endpoint.yml"),
         str(AZML / "blue-green" / "blue-deployment.yml"),
         str(AZML / "blue-green" / "green-deployment.yml")],
    ),
    "import-dev": (
        "dev",
        ["import", str(AZML / "mirror" / "endpoint.yml"),
         str(AZML / "mirror" / "blue-deployment.yml"),
         str(AZML / "mirror" / "green-deployment.yml")],
    ),
    # Key auth without a waiver and public access: mandatory findings in prod.
    "import-prod-refused": (
        "prod",
        ["import", str(AZML / "blue-green" / "endpoint.yml"),
         str(AZML / "blue-green" / "blue-deployment.yml"),
         str(AZML / "blue-green" / "green-deployment.yml")],
    ),
}  # fmt: skip


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = copy_project(tmp_path_factory.mktemp("adding"))
    shutil.copytree(ROOT / "templates", directory / "templates")
    for case, (source, _) in CASES.items():
        if source:
            (directory / f"Pulumi.{case}.yaml").write_text(original(case, source))
    return directory


def original(case: str, source: str) -> str:
    """The stack file a case starts from: the repository's; for import-dev with its endpoint
    renamed, as the imported sample is also called fraud-scoring."""
    text = (ROOT / f"Pulumi.{source}.yaml").read_text()
    return text.replace("fraud-scoring", "fraud-legacy") if case == "import-dev" else text


@pytest.fixture(scope="module")
def runs(project: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Result]:
    env = mlep_env(tmp_path_factory, project)

    def run(case: str) -> Result:
        source, args = CASES[case]
        stack = ["--stack", case] if source else []
        return run_mlep([*args, *stack], project, env)

    names = list(CASES)
    first = run(names[0])  # fills the shared bytecode cache before the others start
    with ThreadPoolExecutor(max_workers=4) as pool:
        return {names[0]: first, **dict(zip(names[1:], pool.map(run, names[1:]), strict=True))}


def inserted_only(before: str, after: str) -> list[str]:
    """The lines ``after`` adds to ``before``; fails if anything else changed."""
    opcodes = difflib.SequenceMatcher(
        a=before.splitlines(), b=after.splitlines(), autojunk=False
    ).get_opcodes()
    changes = [op for op in opcodes if op[0] != "equal"]
    assert [op[0] for op in changes] == ["insert"], changes
    _, _, _, start, end = changes[0]
    return after.splitlines()[start:end]


@pytest.mark.parametrize(
    ("case", "source"), [("new-cpu-prod", "prod"), ("new-gpu-staging", "staging")]
)
def test_new_appends_the_endpoint_and_changes_nothing_else(
    runs: dict[str, Result], project: Path, case: str, source: str
) -> None:
    assert runs[case].code == 0, runs[case].output
    before = (ROOT / f"Pulumi.{source}.yaml").read_text()
    added = inserted_only(before, (project / f"Pulumi.{case}.yaml").read_text())
    assert any(line.strip().startswith("- name: ") for line in added)
    assert "no mandatory violation" in runs[case].stdout


def test_new_gives_the_endpoint_the_governance_tags(runs: dict[str, Result], project: Path) -> None:
    text = (project / "Pulumi.new-cpu-prod.yaml").read_text()
    assert "tags: {owner: data-team, application: churn, data-sensitivity: internal}" in text


def test_new_without_a_terminal_names_every_missing_flag_at_once(
    runs: dict[str, Result], project: Path
) -> None:
    """Issue 23, point 6: one more run is enough, with the command to make it."""
    result = runs["new-missing-flags"]
    assert result.code == 2
    stderr = " ".join(result.stderr.split())
    assert "template 'cpu-tabular-classifier' needs 4 more options:" in stderr
    for flag in ("--owner", "--application", "--data-sensitivity", "--model"):
        assert f"{flag}: " in stderr
    assert "(one of public, internal, confidential, restricted)" in stderr
    assert "fix: pass --owner fraud-team --application fraud-detection --data-sensitivity" in stderr
    assert "Traceback" not in result.output
    assert (project / "Pulumi.new-missing-flags.yaml").read_text() == (
        ROOT / "Pulumi.prod.yaml"
    ).read_text()


def test_new_rejects_an_unknown_template_option_with_a_suggestion(runs: dict[str, Result]) -> None:
    result = runs["new-typo-flag"]
    assert result.code == 2
    assert "--instance-typo" in result.stderr
    assert "did you mean --instance-type?" in result.stderr


def test_new_refuses_an_endpoint_name_already_in_the_stack(
    runs: dict[str, Result], project: Path
) -> None:
    result = runs["new-duplicate"]
    assert result.code == 2
    assert "fraud-scoring" in result.stderr
    assert "Pulumi.new-duplicate.yaml" in result.stderr
    assert (project / "Pulumi.new-duplicate.yaml").read_text() == (
        ROOT / "Pulumi.prod.yaml"
    ).read_text()


def test_new_list_shows_each_template_with_its_options(runs: dict[str, Result]) -> None:
    result = runs["new-list"]
    assert result.code == 0
    assert "cpu-tabular-classifier:" in result.stdout
    assert "gpu-model:" in result.stdout
    assert "--model" in result.stdout
    assert "--image" in result.stdout


def test_import_without_a_stack_prints_the_spec_and_the_notes(runs: dict[str, Result]) -> None:
    result = runs["import-print"]
    assert result.code == 0, result.output
    assert result.stdout.startswith("- name: credit-endpoint\n")
    assert "traffic: {blue: 90, green: 10}" in result.stdout
    assert "note: " in result.stderr


def test_import_adds_the_endpoint_to_a_stack_that_still_plans(
    runs: dict[str, Result], project: Path
) -> None:
    assert runs["import-dev"].code == 0, runs["import-dev"].output
    added = inserted_only(
        original("import-dev", "dev"), (project / "Pulumi.import-dev.yaml").read_text()
    )
    assert any("mirror_traffic:" in line for line in added)


def test_import_leaves_the_stack_unchanged_when_the_plan_would_violate_a_mandatory_policy(
    runs: dict[str, Result], project: Path
) -> None:
    result = runs["import-prod-refused"]
    assert result.code == 1
    assert "was not added" in result.stderr
    assert (project / "Pulumi.import-prod-refused.yaml").read_text() == (
        ROOT / "Pulumi.prod.yaml"
    ).read_text()


def test_missing_values_are_asked_for_on_a_terminal() -> None:
    template = load_template(ROOT, "cpu-tabular-classifier")
    answers = iter(["data-team", "churn", "secret-ish", "internal", "azureml:churn:3"])
    asked: list[str] = []

    def ask(prompt: str) -> str:
        asked.append(prompt)
        return next(answers)

    arguments, parameters = template_values(template, "azure", [], ask)
    assert arguments == {
        "owner": "data-team",
        "application": "churn",
        "data_sensitivity": "internal",
    }
    assert parameters == {"model": "azureml:churn:3"}
    # "secret-ish" is no sensitivity level: asked again, with the levels listed.
    assert sum("--data-sensitivity" in p for p in asked) == 2
    assert "[public/internal/confidential/restricted]" in asked[2]


def test_flags_given_as_name_equals_value_are_read() -> None:
    template = load_template(ROOT, "gpu-model")
    arguments, parameters = template_values(
        template,
        "kubernetes",
        ["--owner=a-team", "--application=x", "--data-sensitivity=public", "--image=r/i:1.0"],
        None,
    )
    assert arguments["owner"] == "a-team"
    assert parameters == {"image": "r/i:1.0"}


def test_a_flag_without_a_value_says_so() -> None:
    template = load_template(ROOT, "gpu-model")
    with pytest.raises(UsageError, match="--image needs a value"):
        template_values(template, "kubernetes", ["--image"], None)


def test_new_help_lists_each_template_and_its_options(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Issue 23, point 6: the options live in the templates, so --help reads them."""
    from mlep.cli import main  # noqa: PLC0415

    assert main(["-C", str(ROOT), "new", "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "usage: mlep new" in out
    for template in ("cpu-tabular-classifier", "gpu-model"):
        assert f"{template}: " in out
    assert "azure: --owner --application --data-sensitivity --description? --model" in out
    assert "kubernetes: --owner --application --data-sensitivity --description? --image" in out
