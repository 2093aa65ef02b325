"""mlep/engine/runtime.py and its SDK seam (mlep/engine/sdk.py): a run leaves the SDK as it
found it."""

from __future__ import annotations

from pathlib import Path

import pytest
from pulumi.runtime import resource as runtime_resource

from mlep.engine.runtime import ProgramError, run_program
from tests.conftest import run_namespace
from tests.scenarios import scenario


def test_a_run_restores_the_sdk_stack_trace() -> None:
    """A run skips building each resource's call stack for the engine, and only for itself."""
    before = runtime_resource._get_stack_trace
    run = run_namespace(scenario("defaults"))
    assert run.resources
    assert runtime_resource._get_stack_trace is before


def test_a_failed_run_restores_the_sdk_stack_trace(tmp_path: Path) -> None:
    program = tmp_path / "__main__.py"
    program.write_text("import pulumi\nraise pulumi.RunError('the program failed')\n")
    before = runtime_resource._get_stack_trace
    with pytest.raises(ProgramError, match="the program failed"):
        run_program(program, "p", "s", {}, [])
    assert runtime_resource._get_stack_trace is before
