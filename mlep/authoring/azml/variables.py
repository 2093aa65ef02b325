"""Environment variables: secrets never go there (they are stored and shown in plain text)."""

from __future__ import annotations

from ruamel.yaml.comments import CommentedMap

from mlep.authoring.azml.files import AzmlFile
from models.secrets import holds_credential, is_key_vault_reference, looks_secret


def check_secrets(file: AzmlFile) -> None:
    """A problem for each variable named like a secret (unless its value is a Key Vault
    reference, which says where the secret is) or holding a credential.

    The rule is the stack's (models.secrets, also SEC-02's in the pack), checked here so the
    problem names the az ml file and the fix for it.
    """
    variables = file.data.get("environment_variables")
    if not isinstance(variables, CommentedMap):
        return
    for name, value in variables.items():
        if holds_credential(str(value)):
            why = "holds a value that looks like a credential"
        elif looks_secret(str(name)) and not is_key_vault_reference(str(value)):
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
