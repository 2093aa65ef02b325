"""Hostile YAML is refused before it is expanded (issue 19, point 4: sizes, aliases, depth).

Each file here hung mlep, overflowed Python's recursion limit or crashed the C parser with a
segmentation fault before `mlep/stack/limits.py`. The commands run in a subprocess, as users
run them: the only acceptable outcome is exit 2 with a message naming the file and the fix,
within the subprocess timeout (a hang fails the test instead of hanging the suite).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from mlep.errors import UsageError
from mlep.stack import limits
from tests.test_plan_cli import MLEP, copy_project
from tests.test_review import mlep_env

ROOT = Path(__file__).resolve().parent.parent
DEV = (ROOT / "Pulumi.dev.yaml").read_text()


def billion_laughs(indent: str = "  ", key: str = "ml-endpoints:") -> str:
    """Nine anchors, each a list of nine aliases of the one before: 9**9 values expanded."""
    lines = [f"{indent}{key}lol0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, 10):
        aliases = ", ".join([f"*a{i - 1}"] * 9)
        lines.append(f"{indent}{key}lol{i}: &a{i} [{aliases}]")
    return "\n".join(lines) + "\n"


HOSTILE = {
    "billion-laughs": "config:\n" + billion_laughs(),
    "flow-300-deep": "config:\n  ml-endpoints:deep: " + "[" * 300 + "]" * 300 + "\n",
    "flow-100000-deep": "config:\n  ml-endpoints:deep: " + "[" * 100_000 + "]" * 100_000 + "\n",
    "mapping-100000-deep": "config:\n  ml-endpoints:deep: "
    + "{a: " * 100_000
    + "1"
    + "}" * 100_000,
    "block-300-deep": "config:\n  ml-endpoints:deep:\n"
    + "".join(" " * (4 + level) + f"k{level}:\n" for level in range(300))
    + " " * 310
    + "v: 1\n",
    "dash-300-deep": "config:\n  ml-endpoints:deep:\n    " + "- " * 300 + "x\n",
    "self-reference": "config:\n  ml-endpoints:loop: &loop [1, *loop]\n",
}
EXPECTED = {
    "billion-laughs": "expand to more than 1,000,000 values",
    "self-reference": "refers to a collection that contains it",
}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = copy_project(tmp_path_factory.mktemp("hostile-yaml"))
    for name, text in HOSTILE.items():
        (directory / f"Pulumi.{name}.yaml").write_text(text)
    (directory / "Pulumi.dev.yaml").write_text(DEV)
    return directory


def mlep(project: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(MLEP), "-C", str(project), *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, project: Path) -> dict[str, str]:
    return mlep_env(tmp_path_factory, project)


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_hostile_stack_file_is_refused_with_exit_2(
    project: Path, env: dict[str, str], name: str
) -> None:
    done = mlep(project, env, "plan", "--stack", name)
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    message = " ".join(done.stderr.split())
    assert f"Pulumi.{name}.yaml" in message
    assert EXPECTED.get(name, "nested more than 64 levels deep") in message
    assert "Traceback" not in done.stderr


def test_a_file_over_the_size_limit_is_refused_and_the_flag_raises_it(
    project: Path, env: dict[str, str]
) -> None:
    small = mlep(project, env, "--max-file-size", "400", "plan", "--stack", "dev")
    assert small.returncode == 2
    assert "more than the 400 mlep reads" in small.stderr
    assert "--max-file-size" in small.stderr
    raised = mlep(project, env, "--max-file-size", str(10 * 1024 * 1024), "plan", "--stack", "dev")
    assert raised.returncode == 0, raised.stderr


def test_a_billion_laughs_az_ml_file_is_refused(project: Path, env: dict[str, str]) -> None:
    endpoint = project / "endpoint.yml"
    endpoint.write_text("name: lol\nauth_mode: aml_token\n" + billion_laughs("", ""))
    deployment = project / "blue.yml"
    deployment.write_text("name: blue\nendpoint_name: lol\n")
    done = mlep(project, env, "import", str(endpoint), str(deployment))
    assert done.returncode == 2, done.stderr
    assert "expand to more than 1,000,000 values" in " ".join(done.stderr.split())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # ruamel's round-trip loader takes exponential time over flow mappings nested as keys
        # (16 levels: 40 s); the safe loaders refuse a mapping as a key at once.
        ("name: e\n$schema: " + "{" * 40 + "}" * 40 + "\n", "not valid YAML"),
        ("name: e\nauth_mode: !!bool maybe\n", "a tagged value cannot be built"),
        ("name: e\ntags:\n  <<: !!set {a, b}\n", "not valid YAML"),
    ],
    ids=["nested-flow-keys", "bad-bool", "merged-set"],
)
def test_az_ml_files_the_round_trip_loader_cannot_take_are_refused_fast(
    project: Path, env: dict[str, str], text: str, expected: str
) -> None:
    endpoint = project / "endpoint.yml"
    endpoint.write_text(text)
    deployment = project / "blue.yml"
    deployment.write_text("name: blue\nendpoint_name: e\n")
    done = mlep(project, env, "import", str(endpoint), str(deployment))
    assert done.returncode == 2, done.stderr
    assert expected in " ".join(done.stderr.split())
    assert "Traceback" not in done.stderr


def test_a_rollout_through_merged_traffic_is_refused_and_writes_nothing(
    project: Path, env: dict[str, str]
) -> None:
    """It used to end in a KeyError (issue 19, point 4)."""
    text = DEV.replace(
        "      traffic: {blue: 100}\n", "      <<: {traffic: {blue: 100}}\n"
    ).replace(
        "          request_settings: {request_timeout_ms: 3000}\n",
        "          request_settings: {request_timeout_ms: 3000}\n"
        "        - name: green\n"
        "          model: azureml:fraud-classifier:8\n"
        "          environment: azureml:sklearn-inference:3\n"
        '          code_configuration: {code: "azureml:fraud-scoring-code:7", '
        "scoring_script: score.py}\n"
        "          instance_type: Standard_DS2_v2\n",
    )
    path = project / "Pulumi.merged.yaml"
    path.write_text(text)
    assert mlep(project, env, "plan", "--stack", "merged").returncode == 0
    done = mlep(
        project,
        env,
        "rollout",
        "--stack",
        "merged",
        "--endpoint",
        "fraud-scoring",
        "--to",
        "green",
        "--skip-guardrails",
        "--allow-dirty",
    )
    assert done.returncode == 2, done.stderr
    assert "`traffic` comes from a merge key (<<:)" in " ".join(done.stderr.split())
    assert path.read_text() == text


# ---- the checks themselves ------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "a: '[[[[' \n",
        'a: "[[[\\"[[" \n',
        "a: [x]  # " + "[" * 100 + "\n",
        "a: it's [fine]\n",
        "a: " + "[" * 64 + "]" * 64 + "\n",
    ],
    ids=["single-quoted", "double-quoted", "comment", "apostrophe", "64-deep"],
)
def test_brackets_in_scalars_and_comments_do_not_count(text: str) -> None:
    limits.check_text(text, "x.yaml")


def test_aliases_within_the_limit_are_fine() -> None:
    shared = ["x"] * 10
    limits.check_value({"a": shared, "b": shared, "c": [shared, shared]}, "x.yaml")


def test_expansion_counts_every_reference_of_a_shared_value() -> None:
    level: list[object] = ["lol"] * 10
    for _ in range(6):  # 10**7 values once expanded
        level = [level] * 10
    with pytest.raises(UsageError, match="expand to more than"):
        limits.check_value({"a": level}, "x.yaml")


def test_narrow_block_nesting_past_the_limit_is_refused_after_loading() -> None:
    """One column per level: the text's prescan (256 columns) lets 100 levels through, and the
    walk over the loaded value, which the text does not let the fast path skip, refuses them."""
    text = "".join(" " * i + f"k{i}:\n" for i in range(100)) + " " * 100 + "v: 1\n"
    limits.check_text(text, "x.yaml")
    with pytest.raises(UsageError, match="nested more than 64 levels deep"):
        limits.check_value(YAML(typ="safe").load(text), "x.yaml", text)


@pytest.mark.parametrize(
    "text",
    ["a: &x [1]\nb: *x\n", "a: !!binary aGk=\n", "a: [" * 40 + "]" * 40, "when: 2024-05-01\n"],
    ids=["alias", "tag", "flow", "date"],
)
def test_the_fast_path_never_skips_what_needs_the_walk(text: str) -> None:
    assert not limits._bounded_by_text(text)


def test_a_plain_block_file_skips_the_walk() -> None:
    assert limits._bounded_by_text(DEV)


def test_the_real_depth_is_checked_after_loading() -> None:
    deep: list[object] = []
    node = deep
    for _ in range(70):
        child: list[object] = []
        node.append(child)
        node = child
    with pytest.raises(UsageError, match="nested more than 64 levels deep"):
        limits.check_value(deep, "x.yaml")


# ---- YAML features that change a value's type or meaning -------------------------------------

TAGS_LINE = "    cost-center: ml-platform-dev\n"
FEATURES = {
    "date": (DEV.replace(TAGS_LINE, TAGS_LINE + "    created: 2024-05-01\n"), 0, ""),
    "timestamp": (DEV.replace(TAGS_LINE, TAGS_LINE + "    created: 2024-05-01T10:00:00Z\n"), 0, ""),
    "binary": (
        DEV.replace(TAGS_LINE, "    cost-center: !!binary aGVsbG8=\n"),
        2,
        f"Pulumi.binary.yaml:{DEV[: DEV.index(TAGS_LINE)].count(chr(10)) + 1}: a value tagged "
        "!!binary (bytes)",
    ),
    "set": (
        DEV.replace(TAGS_LINE, "    cost-center: !<tag:yaml.org,2002:set> {a, b}\n"),
        2,
        f"Pulumi.set.yaml:{DEV[: DEV.index(TAGS_LINE)].count(chr(10)) + 1}: a value tagged !!set",
    ),
    "merge": (DEV.replace(TAGS_LINE, "    <<: {cost-center: ml-platform-dev}\n"), 0, ""),
    # A validation error beside a merge key: the merged key has no line of its own.
    "merge-invalid": (
        DEV.replace("  ml-endpoints:tags:\n", "  ml-endpoints:tags:\n    <<: {extra: 1}\n"),
        2,
        "ml-endpoints:tags.extra = 1",
    ),
    "secure-malformed": (
        DEV.replace(TAGS_LINE, "    cost-center: {secure: v1:CIPHERTEXTabc123, extra: 1}\n"),
        2,
        "{'secure': '[secret]', 'extra': 1}",
    ),
}


@pytest.fixture(scope="module")
def features(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = copy_project(tmp_path_factory.mktemp("yaml-features"))
    for name, (text, _, _) in FEATURES.items():
        (directory / f"Pulumi.{name}.yaml").write_text(text)
    return directory


@pytest.mark.parametrize("name", sorted(FEATURES))
def test_yaml_features_are_accepted_as_strings_or_refused_plainly(
    features: Path, env: dict[str, str], name: str
) -> None:
    _, code, expected = FEATURES[name]
    done = mlep(features, env, "plan", "--stack", name, "--json")
    assert done.returncode == code, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert "internal error" not in done.stderr
    assert "CIPHERTEXT" not in done.stderr + done.stdout
    if expected:
        assert expected in " ".join(done.stderr.split())


def test_an_unquoted_date_stays_the_text_it_was_written_as(
    features: Path, env: dict[str, str]
) -> None:
    done = mlep(features, env, "plan", "--stack", "date", "--json")
    assert '"created": "2024-05-01"' in done.stdout
