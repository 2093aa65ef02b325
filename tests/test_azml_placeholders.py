"""Template placeholders in az ml files (issue 23, point 1): named as placeholders with their
line and the fix, never reported as broken YAML ("unhashable key") or a Python repr; filled by
`mlep import --set NAME=VALUE`; a `--set` no file uses is a typo, refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from mlep.authoring.azml import convert
from mlep.authoring.azml.placeholders import fill, name_placeholder, parse_sets
from mlep.cli import main
from mlep.errors import UsageError

ENDPOINT = """\
$schema: https://azuremlschemas.azureedge.net/latest/managedOnlineEndpoint.schema.json
name: {{ENDPOINT_NAME}}
auth_mode: aad_token
description: "Scores <b>card</b> payments # not a comment"
# Replace <ENDPOINT_NAME> and ${MODEL_VERSION} before `az ml online-endpoint create`.
"""
DEPLOYMENT = """\
$schema: https://azuremlschemas.azureedge.net/latest/managedOnlineDeployment.schema.json
name: blue
endpoint_name: <ENDPOINT_NAME>
model: azureml:fraud-classifier:${MODEL_VERSION}
instance_type: Standard_DS3_v2
instance_count: 1
"""


def write(tmp_path: Path) -> tuple[Path, Path]:
    endpoint, deployment = tmp_path / "endpoint.yml", tmp_path / "blue.yml"
    endpoint.write_text(ENDPOINT)
    deployment.write_text(DEPLOYMENT)
    return endpoint, deployment


def test_every_unfilled_placeholder_is_named_with_its_line_and_the_fix(tmp_path: Path) -> None:
    endpoint, deployment = write(tmp_path)
    with pytest.raises(UsageError) as raised:
        convert(endpoint, [deployment])
    message = str(raised.value)
    assert "3 problems" in message
    assert f"{endpoint}:2: ENDPOINT_NAME" in message
    assert "{{ENDPOINT_NAME}} is a template placeholder, not a value" in message
    assert f"{deployment}:3: ENDPOINT_NAME" in message
    assert f"{deployment}:4: MODEL_VERSION" in message
    assert "fill `MODEL_VERSION` first, or pass `--set MODEL_VERSION=...`" in message
    # The endpoint's name can also come from --name, in both files that write it.
    name_fix = "pass `--name NAME` (the endpoint's name) or `--set ENDPOINT_NAME=...`"
    assert message.count(name_fix) == 2
    assert message.count("--name") == 2
    for misleading in ("unhashable", "ordereddict", "not valid YAML"):
        assert misleading not in message


def test_set_fills_every_placeholder_and_the_files_import(tmp_path: Path) -> None:
    endpoint, deployment = write(tmp_path)
    converted = convert(
        endpoint, [deployment], {"ENDPOINT_NAME": "fraud-scoring", "MODEL_VERSION": "8"}
    )
    assert converted.spec["name"] == "fraud-scoring"
    (blue,) = converted.spec["deployments"]
    assert blue["model"] == "azureml:fraud-classifier:8"
    # Text that only looks like a placeholder stays as written: lower-case tags in a value.
    assert converted.spec["description"] == "Scores <b>card</b> payments # not a comment"


def test_name_fills_the_placeholder_the_endpoints_name_is(tmp_path: Path) -> None:
    endpoint, deployment = write(tmp_path)
    converted = convert(endpoint, [deployment], {"MODEL_VERSION": "8"}, rename="card-fraud")
    assert converted.spec["name"] == "card-fraud"  # and the deployment's endpoint_name agreed
    # An explicit --set of that placeholder still fills the files; --name then renames.
    both = {"ENDPOINT_NAME": "fraud-scoring", "MODEL_VERSION": "8"}
    assert convert(endpoint, [deployment], both, rename="card-fraud").spec["name"] == "card-fraud"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: <ENDPOINT_NAME>\n", "ENDPOINT_NAME"),
        ("auth_mode: key\nname: '{{ ENDPOINT_NAME }}'  # fill me\n", "ENDPOINT_NAME"),
        ('name: "${EP}"\n', "EP"),
        ("name: endpoint_place_holder\n", "endpoint_place_holder"),
        ("name: fraud-<ENV>\n", None),  # part of a name: --set only
        ("tags:\n  name: <ENDPOINT_NAME>\n", None),  # not the endpoint's name
        ("name: fraud-scoring\n", None),
        ("description: <ENDPOINT_NAME>\n", None),
    ],
)
def test_the_placeholder_an_endpoints_name_is(text: str, expected: str | None) -> None:
    assert name_placeholder(text) == expected
    if expected:  # and a YAML parser agrees: filled, the file's top-level name is the value
        filled, _, _ = fill(text, {expected: "card-fraud"})
        assert YAML(typ="safe").load(filled)["name"] == "card-fraud"


def test_the_cli_fills_with_set_and_refuses_a_set_no_file_uses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    endpoint, deployment = write(tmp_path)
    files = [str(endpoint), str(deployment)]
    sets = ["--set", "ENDPOINT_NAME=fraud-scoring", "--set", "MODEL_VERSION=8"]
    assert main(["import", *files, *sets]) == 0
    assert "- name: fraud-scoring" in capsys.readouterr().out
    assert main(["import", *files, *sets, "--set", "MODEL_VERSON=8"]) == 2
    error = capsys.readouterr().err
    assert "--set MODEL_VERSON: no file has such a placeholder (a typo?)" in error


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ("ENDPOINT_NAME", "give NAME=VALUE"),
        ("9LIVES=x", "give NAME=VALUE"),
        ("NAME=a: b", "a value is a name, version, URI or image reference"),
        ("NAME={x: 1}", "a value is a name, version, URI or image reference"),
        ("NAME=", "a value is a name, version, URI or image reference"),
        ("NAME=0:", "a value is a name, version, URI or image reference"),
        ("NAME=a\nb: c", "a value is a name, version, URI or image reference"),
    ],
)
def test_a_set_that_would_change_the_yaml_around_it_is_refused(item: str, expected: str) -> None:
    with pytest.raises(UsageError, match=expected):
        parse_sets([item])


def test_placeholders_in_comments_are_prose() -> None:
    text = (
        "name: blue  # was <OLD_NAME>\n# fill ${MODEL_VERSION}\nurl: 'a#<KEEP>'\n"
        "note: 'see #<QUOTED>'  # a ' #<PROSE>\n"
    )
    filled, unfilled, _ = fill(text, {})
    assert filled == text
    assert [(u.name, u.line) for u in unfilled] == [("KEEP", 3), ("QUOTED", 4)]


def test_snake_case_place_holder_words_of_the_azure_docs_are_placeholders() -> None:
    """The managed identity samples write `storage_place_holder` where a value goes; the word
    "placeholder" in prose, in a comment or inside a longer name is none."""
    text = (
        "resource_id: user_identity_ARM_id_place_holder\n"
        'FILE_NAME: "file_place_holder"\n'
        "IMAGE: my_placeholder_image:1\n"
        "description: a placeholder deployment, placeholder_free-text is not one\n"
        "note: pre-file_place_holder and x.y_placeholder stay\n"
        "# fill storage_place_holder first\n"
    )
    filled, unfilled, _ = fill(text, {})
    assert filled == text
    assert [(u.name, u.line) for u in unfilled] == [
        ("user_identity_ARM_id_place_holder", 1),
        ("file_place_holder", 2),
        ("my_placeholder_image", 3),
    ]
    resource = "/subscriptions/0/resourceGroups/rg/providers/x/uai"
    filled, unfilled, used = fill(
        text,
        parse_sets(
            [
                f"user_identity_ARM_id_place_holder={resource}",
                "file_place_holder=hello.txt",
                "my_placeholder_image=mlreg.azurecr.io/app",
            ]
        ),
    )
    assert unfilled == []
    assert YAML(typ="safe", pure=True).load(filled)["resource_id"] == resource
    assert 'FILE_NAME: "hello.txt"' in filled
    assert "IMAGE: mlreg.azurecr.io/app:1" in filled
    assert used == {
        "user_identity_ARM_id_place_holder",
        "file_place_holder",
        "my_placeholder_image",
    }


NAMES = st.from_regex(r"[A-Z][A-Z0-9_]{0,15}", fullmatch=True)
VALUES = st.from_regex(r"[A-Za-z0-9/][A-Za-z0-9._:/@+=-]{0,30}", fullmatch=True).filter(
    lambda value: not value.endswith(":")
)


@settings(max_examples=200, deadline=None)
@given(name=NAMES, value=VALUES, style=st.sampled_from(["{{%s}}", "{{ %s }}", "${%s}", "<%s>"]))
def test_any_filled_placeholder_reads_back_as_its_value(name: str, value: str, style: str) -> None:
    """The value arrives as the scalar, whatever the placeholder's spelling, and nothing else of
    the text changes."""
    text = f"name: {style % name}\nmodel: azureml:m:{style % name}\nkeep: <lower>\n"
    filled, unfilled, used = fill(text, parse_sets([f"{name}={value}"]))
    assert unfilled == []
    assert used == {name}
    loaded = YAML(typ="safe", pure=True).load(filled)
    assert str(loaded["name"]) == value or loaded["name"] == YAML(typ="safe").load(value)
    assert loaded["model"] == f"azureml:m:{value}"
    assert loaded["keep"] == "<lower>"


def test_a_key_vault_reference_under_a_secret_name_imports(tmp_path: Path) -> None:
    """Issue 23, point 4: where the secret is, not the secret; a literal is still refused."""
    endpoint, deployment = write(tmp_path)
    reference = "db@https://kv-ml-prod.vault.azure.net/secrets/db-password"
    deployment.write_text(DEPLOYMENT + f"environment_variables:\n  DB_PASSWORD: {reference}\n")
    values = {"ENDPOINT_NAME": "fraud-scoring", "MODEL_VERSION": "8"}
    (blue,) = convert(endpoint, [deployment], values).spec["deployments"]
    assert blue["environment_variables"] == {"DB_PASSWORD": reference}
    deployment.write_text(DEPLOYMENT + "environment_variables:\n  DB_PASSWORD: hunter2\n")
    with pytest.raises(UsageError, match="'DB_PASSWORD' is named like a secret"):
        convert(endpoint, [deployment], values)


# --- flags users need (issue 23, point 6) --------------------------------------------------------


def filled_files(tmp_path: Path) -> list[str]:
    endpoint, deployment = write(tmp_path)
    return [str(endpoint), str(deployment), "--set", "ENDPOINT_NAME=fraud-scoring",
            "--set", "MODEL_VERSION=8"]  # fmt: skip


def test_import_renames_and_tags_the_endpoint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tags = ["--owner", "fraud-team", "--application", "fraud-detection"]
    assert main(["import", *filled_files(tmp_path), "--name", "fraud-v2", *tags]) == 0
    captured = capsys.readouterr()
    loaded = YAML(typ="safe", pure=True).load(captured.out)
    assert loaded[0]["name"] == "fraud-v2"
    assert loaded[0]["tags"] == {"owner": "fraud-team", "application": "fraud-detection"}
    err = " ".join(captured.err.split())
    # The one governance tag left is not inherited silently; nor is the missing traffic.
    assert "has no data-sensitivity tag of its own" in err
    assert "pass --data-sensitivity VALUE" in err
    assert (
        "endpoint fraud-v2 takes no live traffic; once it is deployed, give it some with "
        "`mlep traffic --stack S --endpoint fraud-v2 --set blue=100`"
    ) in err


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--name", "Bad_Name!"], "--name Bad_Name!: names are 3-32 characters"),
        (["--data-sensitivity", "topsecret"], "data-sensitivity must be one of public"),
    ],
)
def test_bad_flag_values_are_exit_2_naming_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str], expected: str
) -> None:
    assert main(["import", *filled_files(tmp_path), *flags]) == 2
    assert expected in " ".join(capsys.readouterr().err.split())
