"""The README's config reference is generated from the models and must not drift."""

from __future__ import annotations

from mlep.authoring.azml.fields import DEPLOYMENT_FIELDS, ENDPOINT_FIELDS
from scripts import azml_reference
from scripts.config_reference import render, updated_readme
from scripts.policy_reference import DOC
from scripts.policy_reference import render as render_policies
from scripts.readme_block import README


def test_readme_config_reference_is_current() -> None:
    text = README.read_text()
    assert updated_readme(text) == text, "run: python -m scripts.config_reference --write"


def test_reference_lists_every_cross_field_rule() -> None:
    reference = render()
    for rule in ("traffic-sums-to-100", "mirror-is-single-shadow", "unique-deployment-names"):
        assert f"**{rule}**" in reference


def test_reference_documents_secure_defaults() -> None:
    reference = render()
    assert "| `auth_mode` | `key` \\| `aml_token` \\| `aad_token` | `aad_token` |" in reference
    assert "| `public_network_access` | `enabled` \\| `disabled` | `disabled` |" in reference


def test_policy_reference_is_current() -> None:
    assert DOC.read_text() == render_policies(), "run: python -m scripts.policy_reference --write"


def test_readme_azml_field_table_is_current() -> None:
    text = README.read_text()
    assert azml_reference.updated_readme(text) == text, (
        "run: python -m scripts.azml_reference --write"
    )


def test_azml_field_table_names_every_field_import_knows() -> None:
    table = azml_reference.render()
    for name in (*ENDPOINT_FIELDS, *DEPLOYMENT_FIELDS):
        assert f"`{name}`" in table, name
