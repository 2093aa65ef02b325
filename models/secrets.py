"""What a secret looks like: the one heuristic for environment variable names and values.

Used by the stack rule `environment-variables-hold-no-secrets` (models.rules) and by `mlep
import` (which refuses a secret in an az ml file before it reaches a stack). The policy pack
keeps a copy in policies/mlep_policies/identity.py (SEC-02), since it may import only
pulumi_policy and the standard library; tests/test_contract_constants.py keeps the two equal.
"""

from __future__ import annotations

import re

# A word that names a secret value; a word ending in one counts too (PGPASSWORD, AUTHTOKEN),
# a plural does not (MAX_TOKENS is a number, not tokens).
SECRET_WORDS = ("PASSWORD", "PASSWD", "SECRET", "TOKEN", "CREDENTIAL", "CREDENTIALS")
# What makes a KEY a credential: API_KEY, STORAGE_ACCOUNT_KEY, APIKEY. Any other key (CACHE_KEY,
# PARTITION_KEY, S3_KEY) names something in a data structure, not a secret.
KEY_KINDS = frozenset(
    {
        *("API", "ACCESS", "ACCOUNT", "AUTH", "ENCRYPTION", "MASTER", "PRIMARY", "PRIVATE"),
        *("SECONDARY", "SECRET", "SHARED", "SIGNING", "SUBSCRIPTION"),
    }
)
# Words of a name: UPPER, Capitalised, lower runs and numbers (HFToken -> HF, Token).
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
# Short forms that name a password when they end a longer name (DB_PASS, MYSQL_PWD); alone,
# PWD is the shell's working directory, and a word merely ending in PASS (BYPASS) is no secret.
SECRET_ABBREVIATIONS = ("PASS", "PWD")
# A credential pasted as a value, whatever the variable is called, and the kind of credential
# a message names (never the value). Token prefixes and AWS key ids are case-sensitive ((?-i:)),
# so `ASIA` inside a word or `sk` alone is nothing. A Key Vault reference
# (`name@https://kv.vault.azure.net/...`, `@Microsoft.KeyVault(...)`) and a URL without user
# info match none of these. Sources: gitleaks' default rules (aws-access-token, github-pat,
# slack-bot-token, huggingface-access-token, openai-api-key), Checkov CKV_SECRET_*.
CREDENTIAL_VALUES = (
    ("a URL with a password", r"\b[a-z][a-z0-9+.-]*://[^/\s:@]*:[^/\s@]+@"),
    ("a connection string key", r"AccountKey=|SharedAccessKey=|SharedAccessSignature="),
    ("a password in a connection string", r"(password|pwd)=[^;&\s]+"),
    ("a SAS signature", r"[?&]sig="),
    ("a private key", r"-----BEGIN [A-Z ]*PRIVATE KEY"),
    ("a JSON web token", r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ"),
    ("an AWS access key id", r"(?-i:\b(AKIA|ASIA)[0-9A-Z]{16}\b)"),
    ("a GitHub token", r"(?-i:\bgh[pousr]_[A-Za-z0-9]{30,}|\bgithub_pat_[A-Za-z0-9_]{22,})"),
    ("a Slack token", r"(?-i:\bxox[abprs]-[A-Za-z0-9-]+)"),
    ("a Hugging Face token", r"(?-i:\bhf_[A-Za-z0-9]{30,})"),
    ("an OpenAI-style API key", r"(?-i:\bsk-[A-Za-z0-9_-]{20,})"),
)
_CREDENTIAL_VALUES = [(kind, re.compile(p, re.IGNORECASE)) for kind, p in CREDENTIAL_VALUES]
# What the stack file reader (mlep.stack.files.SECRET_PLACEHOLDER) and the engine put in place
# of a `secure:` config value, which is never decrypted offline.
SECURE_PLACEHOLDER = "[secret]"


# A Key Vault reference is where a secret is, not the secret. Azure ML's secret injection
# resolves `${{keyvault:https://<vault>.vault.azure.net/secrets/<secret>/<version>}}` and a
# workspace connection's `${{azureml://connections/<name>/credentials/<key>}}` with the
# endpoint's identity before the container starts (learn.microsoft.com, "Secret injection in
# online endpoints"). Scoring scripts of azureml-examples resolve
# `name@https://<vault>.vault.azure.net/secrets/<secret>[/<version>]` themselves, and
# App Service-style `@Microsoft.KeyVault(SecretUri=...)` and
# `@Microsoft.KeyVault(VaultName=...;SecretName=...)` are references too. A variable named like
# a secret may hold one (issue 23, point 4). Vault names are 3-24 characters, secret names 1-127
# (Key Vault's naming rules).
_SECRET_URI = r"https://[a-z0-9-]{3,24}\.vault\.azure\.net/secrets/[A-Za-z0-9-]{1,127}"
KEY_VAULT_REFERENCE = re.compile(
    rf"[A-Za-z0-9_.-]*@{_SECRET_URI}(?:/[0-9a-f]{{32}})?/?"
    rf"|\$\{{\{{keyvault:{_SECRET_URI}(?:/[0-9a-f]{{32}})?\}}\}}"
    r"|\$\{\{azureml://connections/[A-Za-z0-9_-]{1,255}/(?:credentials|target|metadata)"
    r"(?:/[A-Za-z0-9_.-]{1,255})?\}\}"
    rf"|@Microsoft\.KeyVault\((?:SecretUri={_SECRET_URI}(?:/[0-9a-f]{{32}})?/?"
    r"|VaultName=[a-z0-9-]{3,24};\s*SecretName=[A-Za-z0-9-]{1,127}"
    r"(?:;\s*SecretVersion=[0-9a-f]{32})?)\)",
    re.IGNORECASE,
)


def is_key_vault_reference(value: str) -> bool:
    """Whether ``value`` is a Key Vault reference (and nothing else)."""
    return KEY_VAULT_REFERENCE.fullmatch(value.strip()) is not None


def looks_secret(name: str) -> bool:
    """Whether an environment variable called ``name`` holds a secret value.

    The last word of the name says what the value is, as in English compounds: `HF_TOKEN`,
    `DB_PASSWORD`, `CLIENT_SECRET`, `SAS_TOKEN`, `API_KEY` (and `apiKey`, `hf-token`),
    `STORAGE_CONNECTION_STRING` and `STORAGE_SAS` hold secrets. A name whose last word is
    something else holds that thing: `HF_TOKEN_PATH`, `DB_PASSWORD_FILE` and `PRIVATE_KEY_FILE`
    hold the path of a file with the secret in it (the Key Vault CSI driver's mount, which is
    what the fix for a secret recommends), `KEY_VAULT_SECRET_NAME` the name of a secret,
    `TOKEN_ENDPOINT` a URL, `TOKENIZER_NAME` and `KEYWORDS` nothing secret. A KEY is a
    secret only after a word that makes it a credential (KEY_KINDS: `ACCOUNT_KEY` yes,
    `CACHE_KEY` no). A trailing number is not the last word: `API_KEY_2` is a key. `PASS` and
    `PWD` count after another word (`DB_PASS`, `MYSQL_PWD`), not alone (`PWD` is a directory).

    Names are only half the check: a credential under an innocent name is caught by its
    value (credential_kind), where the value is known: `DATABASE_URL` (any `*_URL`) is a
    secret when its value carries user info with a password.
    """
    words = [word.upper() for word in _WORD.findall(name)]
    while words and words[-1].isdigit():
        words.pop()
    if not words:
        return False
    last, before = words[-1], words[-2] if len(words) > 1 else ""
    return (
        last.endswith(SECRET_WORDS)
        or last in ("SAS", "CONNECTIONSTRING")
        or (last in SECRET_ABBREVIATIONS and before != "")
        or (before, last) == ("CONNECTION", "STRING")
        or (last == "KEY" and before in KEY_KINDS)
        or (last.endswith("KEY") and last[: -len("KEY")] in KEY_KINDS)
    )


def credential_kind(value: str) -> str | None:
    """The kind of credential ``value`` looks like ("a URL with a password"), or None."""
    for kind, pattern in _CREDENTIAL_VALUES:
        if pattern.search(value):
            return kind
    return None


def holds_credential(value: str) -> bool:
    """Whether ``value`` looks like a credential (a key, token or password in it)."""
    return credential_kind(value) is not None
