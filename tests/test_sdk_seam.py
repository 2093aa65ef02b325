"""The SDK seam (mlep/engine/sdk.py): the shortcuts and the public path plan the same stacks.

Every private detail of the Pulumi SDK that mlep relies on lives in the seam. On the proven
SDK versions mlep takes the shortcuts; elsewhere (or with MLEP_PUBLIC_SDK=1) it plans through
the SDK's public mock API and the pack's own Analyzer process, and says so in one line. Both
must give the very same plan document, byte for byte, for every stack of the repository.
"""

from __future__ import annotations

import ast
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from pulumi.runtime import rpc

from mlep.engine import sdk
from tests.conftest import ROOT
from tests.test_plan_cli import MLEP

STACKS = ("dev", "prod", "staging")
TIMEOUT_S = 300


def _plan_json(stack: str, public: bool) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if k != sdk.PUBLIC_ENV}
    if public:
        env[sdk.PUBLIC_ENV] = "1"
    return subprocess.run(
        [str(MLEP), "plan", "--stack", stack, "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=TIMEOUT_S,
        check=False,
    )


@pytest.fixture(scope="module")
def plans() -> dict[tuple[str, bool], subprocess.CompletedProcess[bytes]]:
    cases = [(stack, public) for stack in STACKS for public in (False, True)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        done = list(pool.map(lambda case: _plan_json(*case), cases))
    return dict(zip(cases, done, strict=True))


@pytest.mark.parametrize("stack", STACKS)
def test_public_path_plans_the_same_document_byte_for_byte(
    plans: dict[tuple[str, bool], subprocess.CompletedProcess[bytes]], stack: str
) -> None:
    shortcuts, public = plans[(stack, False)], plans[(stack, True)]
    assert shortcuts.returncode == public.returncode == 0, public.stderr.decode()
    assert b'"resources": [' in shortcuts.stdout
    assert public.stdout == shortcuts.stdout


@pytest.mark.parametrize("stack", STACKS)
def test_public_path_says_so_in_one_line_and_the_shortcuts_say_nothing(
    plans: dict[tuple[str, bool], subprocess.CompletedProcess[bytes]], stack: str
) -> None:
    warnings = plans[(stack, True)].stderr.decode().splitlines()
    assert warnings == [
        "mlep: warning: MLEP_PUBLIC_SDK is set: planning through the SDK's public API (slower)"
    ]
    assert plans[(stack, False)].stderr == b""


PROVEN_VERSIONS = {"pulumi": "3.272.0", "pulumi-policy": "1.21.0"}


def test_the_proven_versions_take_the_shortcuts() -> None:
    assert sdk._decide({}, PROVEN_VERSIONS) == sdk.Mode(True)
    assert sdk._decide({}, {"pulumi": "3.272.9", "pulumi-policy": "1.21.3"}).shortcuts


@pytest.mark.parametrize(
    ("distribution", "version"),
    [
        ("pulumi", "3.273.0"),
        ("pulumi", "3.271.2"),
        ("pulumi", "4.0.0"),
        ("pulumi-policy", "1.22.0"),
        ("pulumi-policy", "unknown"),
    ],
)
def test_any_other_version_takes_the_public_path_naming_it(distribution: str, version: str) -> None:
    decided = sdk._decide({}, {**PROVEN_VERSIONS, distribution: version})
    assert not decided.shortcuts
    assert f"{distribution} {version} is not the" in decided.reason
    assert "public API" in decided.reason


@pytest.mark.parametrize(("value", "shortcuts"), [("1", False), ("yes", False), ("0", True)])
def test_the_switch_forces_the_public_path(value: str, shortcuts: bool) -> None:
    assert sdk._decide({sdk.PUBLIC_ENV: value}, PROVEN_VERSIONS).shortcuts is shortcuts


def test_the_installed_sdk_is_the_proven_one() -> None:
    """If this fails the lock moved the SDK: prove the shortcuts again, then move PROVEN."""
    installed = sdk._installed_versions()
    assert {name: sdk._major_minor(v) for name, v in installed.items()} == sdk.PROVEN


def test_wire_markers_are_the_sdks() -> None:
    assert rpc._special_sig_key == sdk.SIG_KEY
    assert rpc._special_secret_sig == sdk.SECRET_SIG
    assert rpc._special_resource_sig == sdk.RESOURCE_SIG


def _private_uses(path: Path) -> list[str]:
    """`x._name` attribute reads (not self/cls, not dunders) and `from m import _name`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            owner = node.value.id if isinstance(node.value, ast.Name) else ""
            if owner not in ("self", "cls") and not node.attr.endswith("__"):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: .{node.attr}")
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("pulumi"):
            found += [
                f"{path.relative_to(ROOT)}:{node.lineno}: import {alias.name}"
                for alias in node.names
                if alias.name.startswith("_")
            ]
    return found


def test_the_program_pulumi_up_runs_touches_no_private_sdk_detail() -> None:
    program = [ROOT / "ml_endpoints.py", ROOT / "__main__.py", *(ROOT / "components").rglob("*.py")]
    assert [use for path in program for use in _private_uses(path)] == []


def test_the_private_detail_check_finds_one() -> None:
    assert _private_uses(ROOT / "mlep" / "engine" / "sdk.py")


def test_no_other_module_of_mlep_touches_a_private_sdk_detail() -> None:
    seam = ROOT / "mlep" / "engine" / "sdk.py"
    others = [p for p in (ROOT / "mlep").rglob("*.py") if p != seam]
    uses = [use for path in others for use in _private_uses(path)]
    # The standard library's documented underscore names are not the SDK's.
    stdlib = ("._exit", "._replace", "._asdict", "._SubParsersAction")
    assert [u for u in uses if not u.endswith(stdlib)] == []


def test_mode_is_decided_once_and_warns_once(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sdk, "_MODE", [])
    monkeypatch.setenv(sdk.PUBLIC_ENV, "1")
    assert not sdk.mode().shortcuts
    monkeypatch.delenv(sdk.PUBLIC_ENV)
    assert not sdk.mode().shortcuts  # decided once per process
    assert capsys.readouterr().err.count("mlep: warning: MLEP_PUBLIC_SDK is set") == 1
    monkeypatch.setattr(sdk, "_MODE", [])
    assert sdk.mode().shortcuts
    assert capsys.readouterr().err == ""
