"""Shared helpers: run the real Pulumi program (__main__.py) on the mock runtime."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mlep.engine.runtime import ProgramRun, run_program
from tests.scenarios import engine_config

ROOT = Path(__file__).resolve().parent.parent


def run_namespace(namespace: dict[str, Any], stack: str = "test") -> ProgramRun:
    """Declare the stack described by ``namespace`` and return every registration."""
    return run_program(
        ROOT / "__main__.py",
        project="ml-endpoints",
        stack=stack,
        config=engine_config(namespace),
        secret_keys=[],
    )


@pytest.fixture
def project_root() -> Path:
    return ROOT
