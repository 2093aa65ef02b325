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
# A credential pasted as a value, whatever the variable is called: storage and service bus
# keys, SAS signatures, PEM private keys, JWTs, AWS and GitHub keys, Slack tokens, passwords
# in connection strings.
SECRET_VALUE = re.compile(
    r"AccountKey=|SharedAccessSignature=|SharedAccessKey=|[?&]sig=|-----BEGIN [A-Z ]*PRIVATE KEY|"
    r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ|\bAKIA[0-9A-Z]{16}\b|\bgh[pousr]_[A-Za-z0-9]{30,}|"
    r"\bxox[abprs]-|(password|pwd)=[^;&\s]+",
    re.IGNORECASE,
)


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
    `CACHE_KEY` no). A trailing number is not the last word: `API_KEY_2` is a key.

    Names are only half the check: a credential under an innocent name is caught by its
    value (SECRET_VALUE), where the value is known.
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
        or (before, last) == ("CONNECTION", "STRING")
        or (last == "KEY" and before in KEY_KINDS)
        or (last.endswith("KEY") and last[: -len("KEY")] in KEY_KINDS)
    )


def holds_credential(value: str) -> bool:
    """Whether ``value`` looks like a credential (a key, token or password in it)."""
    return SECRET_VALUE.search(value) is not None
