"""mlep/stack/files.py: values as YAML 1.2 (what the Pulumi CLI reads), line numbers on demand."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from ruamel.yaml import main as ruamel_main

from mlep.errors import UsageError
from mlep.stack import StackRef

STACK = """\
config:
  ml-endpoints:target: azure
  # a comment shifts the lines below
  ml-endpoints:endpoints:
    - name: churn
      description: yes
      deployments:
        - name: blue
          replicas: 2
  aws:region: on
  ml-endpoints:public: true
"""


def test_values_follow_yaml_1_2(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.dev.yaml").write_text(STACK)
    stack = StackRef(tmp_path, "dev").read()
    (endpoint,) = stack.namespace["endpoints"]
    # YAML 1.1 would read `yes` and `on` as booleans; Pulumi and YAML 1.2 read strings.
    assert endpoint["description"] == "yes"
    assert stack.engine_config["aws:region"] == "on"
    assert stack.namespace["public"] is True
    assert endpoint["deployments"][0]["replicas"] == 2


def test_lines_name_every_field_of_the_namespace(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.dev.yaml").write_text(STACK)
    lines = StackRef(tmp_path, "dev").read().lines
    assert lines["target"] == 2
    assert lines["endpoints"] == 4
    assert lines["endpoints[0].description"] == 6
    assert lines["endpoints[0].deployments[0].replicas"] == 9
    assert "region" not in lines
    assert "aws:region" not in lines


def test_yaml_1_2_syntax_the_c_parser_rejects_still_loads(tmp_path: Path) -> None:
    # libyaml (YAML 1.1 syntax) rejects a colon in a plain scalar inside a flow mapping.
    (tmp_path / "Pulumi.dev.yaml").write_text(
        "config:\n  ml-endpoints:kubernetes:\n    entra: {audience: api://ml-endpoints}\n"
    )
    stack = StackRef(tmp_path, "dev").read()
    assert stack.namespace["kubernetes"] == {"entra": {"audience": "api://ml-endpoints"}}
    assert stack.lines["kubernetes.entra.audience"] == 3


def test_values_load_with_the_c_parser() -> None:
    # ruamel.yaml.clib is pinned: without it a 500-endpoint stack file loads 4x slower.
    assert ruamel_main.CParser is not None


def test_stack_files_are_read_as_utf8(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.dev.yaml").write_bytes(
        "config:\n  ml-endpoints:description: Betrugsprüfung ✓\n".encode()
    )
    assert StackRef(tmp_path, "dev").read().namespace["description"] == "Betrugsprüfung ✓"


def test_a_stack_file_that_is_not_utf8_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.dev.yaml").write_bytes(b"config:\n  ml-endpoints:target: caf\xe9\n")
    with pytest.raises(UsageError) as error:
        StackRef(tmp_path, "dev").read()
    assert str(error.value) == (
        "Pulumi.dev.yaml:2: not UTF-8 text (invalid continuation byte); fix: save the file as UTF-8"
    )


def test_a_base_revision_that_is_not_utf8_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.dev.yaml").write_bytes(b"config:\n  ml-endpoints:target: caf\xe9\n")
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    git += ["-c", "commit.gpgsign=false"]
    for args in (["init", "-q"], ["add", "."], ["commit", "-q", "-m", "base"]):
        subprocess.run([*git, *args], check=True, capture_output=True)
    with pytest.raises(UsageError) as error:
        StackRef(tmp_path, "dev").read_at("HEAD")
    assert str(error.value).startswith("Pulumi.dev.yaml at HEAD:2: not UTF-8 text (")
