"""Fuzzing the files mlep reads (issue 19, Tests): stack files built from the example stacks,
and `az ml` files built from the import fixtures, with YAML features mixed in (anchors, aliases,
merge keys, tags, dates, deep nesting, huge scalars, control characters, broken indentation).

Whatever the file holds, mlep either plans it (exit 0 or 1) or refuses it with a message
(exit 2): never an internal error (exit 3), never a traceback, never a hang (each run is bounded
by an alarm), and never a ciphertext in what it prints. Bounded to run in well under a minute.
"""

from __future__ import annotations

import re
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlep.cli import main
from tests.conftest import ROOT
from tests.test_azml_corpus import CASES as CORPUS_CASES_BY_NAME
from tests.test_azml_corpus import CORPUS
from tests.test_plan_cli import copy_project

# A fuzzed file may define an anchor twice: ruamel warns (the later one wins), as it should.
pytestmark = pytest.mark.filterwarnings("ignore::ruamel.yaml.error.ReusedAnchorWarning")
AZML = ROOT / "tests" / "fixtures" / "azml"
RUN_LIMIT_S = 20  # one command's bound; a hostile file is refused in milliseconds
FUZZ = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,  # the same inputs on every run: CI failures reproduce
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
CIPHERTEXT = "v1:FUZZCIPHERTEXT"
STACKS = {
    name: (ROOT / f"Pulumi.{name}.yaml").read_text(encoding="utf-8")
    for name in ("dev", "prod", "staging")
}
# Values a line's value can become: each changes a type or a meaning, or is simply hostile.
HOSTILE_VALUES = [
    "2024-05-01",
    "2024-05-01T10:00:00Z",
    "!!binary aGVsbG8=",
    "!!set {a, b}",
    "!!timestamp 2024-05-01",
    "!!str 100",
    "!!int '100'",
    "!!float 1e400",
    "!!float abc",
    "!!int abc",
    "!!bool maybe",
    "<<: !!set {a, b}",
    "!!python/object:os.system 'echo pwned'",
    "!custom value",
    "&anchor value",
    "*anchor",
    "*undefined",
    "{<<: {a: 1}}",
    "[" * 70 + "]" * 70,
    "{" * 40 + "}" * 40,
    "'" + "x" * 200_000 + "'",
    '"\\x00\\x07\\x1b[31m\\u2028"',
    "\x07bell",
    "\ufeffbom",
    "~",
    "null",
    "yes",
    "0x1F",
    "0o17",
    ".inf",
    "-.nan",
    "1_000",
    "{secure: v1:FUZZCIPHERTEXT}",
    "{secure: [v1:FUZZCIPHERTEXT]}",
    "{secure: v1:FUZZCIPHERTEXT, extra: 1}",
    "|\n  multi\n  line",
    ">-\n  folded",
    "'unterminated",
    "- a\n- b",
    "",
]
BILLION_LAUGHS = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8)
)


@st.composite
def hostile_texts(draw: st.DrawFn, bases: list[str]) -> str:
    """One of ``bases`` with a few lines changed in hostile ways."""
    lines = draw(st.sampled_from(bases)).splitlines(keepends=True)
    for _ in range(draw(st.integers(1, 4))):
        index = draw(st.integers(0, len(lines) - 1))
        line = lines[index]
        kind = draw(
            st.sampled_from(["value", "value", "value", "merge", "indent", "drop", "dup", "raw"])
        )
        if kind == "value" and ":" in line:
            key, _, _ = line.partition(":")
            lines[index] = f"{key}: {draw(st.sampled_from(HOSTILE_VALUES))}\n"
        elif kind == "merge":
            indent = line[: len(line) - len(line.lstrip())]
            lines.insert(index, f"{indent}<<: {draw(st.sampled_from(['*anchor', '{x: 1}']))}\n")
        elif kind == "indent":
            lines[index] = " " * draw(st.integers(0, 9)) + line.lstrip(" ")
        elif kind == "drop":
            del lines[index]
        elif kind == "dup":
            lines.insert(index, line)
        else:
            lines.insert(
                index,
                draw(st.sampled_from([BILLION_LAUGHS, "\t\x00\n", "key: \x1b\n", "%TAG ! x\n"])),
            )
        if not lines:
            lines = ["config: {}\n"]
    text = "".join(lines)
    return text.replace("\n", "\r\n") if draw(st.booleans()) else text


@contextmanager
def bounded(seconds: int) -> Iterator[None]:
    def expire(signum: int, frame: object) -> None:
        raise TimeoutError(f"mlep ran longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    started = time.monotonic()
    with bounded(RUN_LIMIT_S):
        code = main(args)
    output = capsys.readouterr()
    assert time.monotonic() - started < RUN_LIMIT_S
    return code, output.out + output.err


def assert_clean(code: int, output: str, *, stack_file: bool = True) -> None:
    assert code in (0, 1, 2), output[-3000:]
    assert "Traceback" not in output, output[-3000:]
    assert "internal error" not in output, output[-3000:]
    if stack_file:  # `secure:` is Pulumi config's; in an az ml file it is a plain value
        assert "FUZZCIPHERTEXT" not in output, output[-3000:]
    if code == 2:
        assert re.search(r"\S", output), "exit 2 without a message"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_project(tmp_path_factory.mktemp("fuzz-project"))


@FUZZ
@given(hostile_texts(list(STACKS.values())))
def test_any_stack_file_plans_or_is_refused_plainly(
    project: Path, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    (project / "Pulumi.fuzz.yaml").write_bytes(text.encode("utf-8", "surrogatepass"))
    code, output = run(["-C", str(project), "plan", "--stack", "fuzz", "--json"], capsys)
    assert_clean(code, output)


AZML_FILES = {
    role: (AZML / "blue-green" / name).read_text(encoding="utf-8")
    for role, name in (
        ("endpoint", "endpoint.yml"),
        ("blue", "blue-deployment.yml"),
        ("green", "green-deployment.yml"),
    )
}


@FUZZ
@given(
    st.sampled_from(sorted(AZML_FILES)),
    st.data(),
)
def test_any_az_ml_file_imports_or_is_refused_plainly(
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
    role: str,
    data: st.DataObject,
) -> None:
    directory = tmp_path_factory.mktemp("azml")
    files = dict(AZML_FILES)
    files[role] = data.draw(hostile_texts([AZML_FILES[role]]))
    for name, text in files.items():
        (directory / f"{name}.yml").write_bytes(text.encode("utf-8", "surrogatepass"))
    args = ["import", *(str(directory / f"{name}.yml") for name in ("endpoint", "blue", "green"))]
    code, output = run(args, capsys)
    assert_clean(code, output, stack_file=False)


# The import corpus (tests/test_azml_corpus.py): custom containers, model packages, identities,
# Key Vault references, placeholders; each case run with its own --set values.
CORPUS_CASES = sorted(CORPUS_CASES_BY_NAME)


@FUZZ
@given(st.sampled_from(CORPUS_CASES), st.data())
def test_any_corpus_file_imports_or_is_refused_plainly(
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
    name: str,
    data: st.DataObject,
) -> None:
    case = CORPUS_CASES_BY_NAME[name]
    directory = tmp_path_factory.mktemp("corpus")
    texts = [(CORPUS / case.folder / f).read_text(encoding="utf-8") for f in case.files]
    fuzzed = data.draw(st.integers(0, len(texts) - 1))
    texts[fuzzed] = data.draw(hostile_texts([texts[fuzzed]]))
    paths = []
    for file, text in zip(case.files, texts, strict=True):
        (directory / file).write_bytes(text.encode("utf-8", "surrogatepass"))
        paths.append(str(directory / file))
    code, output = run(["import", *paths, *case.args()[1 + len(paths) :]], capsys)
    assert_clean(code, output, stack_file=False)
