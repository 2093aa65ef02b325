"""Environment variables: secrets never go there (they are stored and shown in plain text)."""

from __future__ import annotations

import re

from ruamel.yaml.comments import CommentedMap

from mlep.authoring.azml.files import AzmlFile
from models.secrets import holds_credential, is_key_vault_reference, looks_secret


def check_secrets(file: AzmlFile) -> None:
    """A problem for each variable named like a secret (unless its value is a Key Vault
    reference, which says where the secret is) or holding a credential; a note for each
    reference, which the endpoint's identity must be allowed to read.

    The rule is the stack's (models.secrets, also SEC-02's in the pack), checked here so the
    problem names the az ml file and the fix for it.
    """
    variables = file.data.get("environment_variables")
    if not isinstance(variables, CommentedMap):
        return
    for name, value in variables.items():
        if holds_credential(str(value)):
            why = "holds a value that looks like a credential"
        elif is_key_vault_reference(str(value)):
            _note_reader(file, str(name), str(value))
            continue
        elif looks_secret(str(name)):
            why = "is named like a secret"
        else:
            continue
        # The value is never echoed: it may be the secret itself.
        file.problem(
            ("environment_variables", name),
            f"{name!r} {why}; environment variables are stored and shown in plain text, "
            "so secrets never go here",
            "remove it from the file; keep the secret in Key Vault and read it at runtime "
            "with the endpoint's managed identity",
        )


_VAULT = re.compile(
    r"https://(?P<vault>[a-z0-9-]{3,24})\.vault\.azure\.net/|VaultName=(?P<named>[a-z0-9-]{3,24})",
    re.I,
)


def _note_reader(file: AzmlFile, name: str, value: str) -> None:
    """A reference is read with the endpoint's identity: the one this project creates, which
    the old identity's grants do not reach."""
    vault = _VAULT.search(value)
    if vault:
        store = f"vault {vault.group('vault') or vault.group('named')}"
        grant = "the Key Vault Secrets User role on that vault"
    else:
        store = "a workspace connection"
        grant = (
            "the Azure Machine Learning Workspace Connection Secrets Reader role on the workspace"
        )
    file.note(
        ("environment_variables", name),
        f"environment_variables.{name} is a reference to a secret in {store}, read with the "
        "endpoint's identity: grant the identity this project creates (stack output "
        f"endpoints.NAME.identity_principal_id) {grant}",
    )


# Variable names scoring code reads an identity from (UAI_CLIENT_ID in the az ml samples,
# AZURE_CLIENT_ID for azure-identity's DefaultAzureCredential, MSI_* of older SDKs).
_IDENTITY_NAME = re.compile(r"CLIENT_?ID|IDENTITY|PRINCIPAL|\bMSI_|^MSI|\bUAI\b|^UAI_", re.I)
_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)


def identity_dependents(endpoint: AzmlFile, deployments: list[AzmlFile]) -> None:
    """When the endpoint file's identity is dropped, a note for each deployment variable that
    seems to name it: called like a client id, or holding one of the identity's ids."""
    identity = endpoint.data.get("identity")
    if not isinstance(identity, CommentedMap):
        return
    ids = {str(value).lower() for value in _identity_values(identity)}
    for file in deployments:
        variables = file.data.get("environment_variables")
        if not isinstance(variables, CommentedMap):
            continue
        for name, value in variables.items():
            text = str(value)
            named = bool(_IDENTITY_NAME.search(str(name)))
            held = any(part in text.lower() for part in ids if part)
            if not (named or held or _GUID.fullmatch(text)):
                continue
            file.note(
                ("environment_variables", name),
                f"environment_variables.{name} seems to name the endpoint's identity, which was "
                "dropped: the deployment runs as the endpoint identity this project creates; "
                "set it to that identity's client id (stack output "
                "endpoints.NAME.identity_client_id) and grant that identity what the old one "
                "could reach",
            )


def _identity_values(node: object) -> list[object]:
    """Every scalar in an identity block (resource ids, client and principal ids)."""
    if isinstance(node, dict):
        return [v for item in node.values() for v in _identity_values(item)]
    if isinstance(node, list):
        return [v for item in node for v in _identity_values(item)]
    return [node] if isinstance(node, str) and len(node) > 8 else []
