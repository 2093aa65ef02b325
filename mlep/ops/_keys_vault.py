"""Writing a key to Key Vault as a new version of a secret, without ever showing it.

azure-keyvault-secrets' SecretClient (its challenge authentication: the first request goes
without a token, the vault answers 401 with the tenant and resource to ask a token for). The
answer of a write carries the value back; only its version leaves this module. Errors become
mlep's, built from the status and the service's error code only, and any message that could
hold the value has it replaced.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from azure.core.credentials import TokenCredential
from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ServiceRequestError,
    ServiceResponseError,
)

from mlep.errors import SourceUnavailable
from mlep.ops.arm import SIGN_IN

# A GA version every vault serves (the SDK's default moves with each release).
KEY_VAULT_API_VERSION = "7.6"
# components/azure/keys.py: what the program writes with each key, so a rotated version looks
# like one `pulumi up` wrote (tests/test_ops_keys.py keeps these in step).
KEY_CONTENT_TYPE = "text/plain; purpose=azureml-online-endpoint-key"
EXPIRY_MONTHS_AHEAD = 4


def vault_url(name: str) -> str:
    """The data-plane URL of a vault in Azure's public cloud."""
    return f"https://{name}.vault.azure.net"


def key_expiry(today: date) -> datetime:
    """As components.azure.keys.key_expiry: the first day of the month four months ahead."""
    months = today.year * 12 + today.month - 1 + EXPIRY_MONTHS_AHEAD
    return datetime(months // 12, months % 12 + 1, 1, tzinfo=UTC)


class Vault:
    """One Key Vault, as ``credential``; ``client_kwargs`` go to the SecretClient (tests pass
    ``transport=``)."""

    def __init__(self, name: str, credential: TokenCredential, **client_kwargs: Any) -> None:
        # Imported here: only key rotation needs it.
        from azure.keyvault.secrets import SecretClient  # noqa: PLC0415

        self.name = name
        self._client = SecretClient(
            vault_url(name), credential, api_version=KEY_VAULT_API_VERSION, **client_kwargs
        )

    def store(
        self, secret: str, value: str, *, content_type: str | None, expires_on: datetime | None
    ) -> str:
        """Write ``value`` as a new version of ``secret``; returns the version id."""
        try:
            written = self._client.set_secret(
                secret, value, content_type=content_type, expires_on=expires_on
            )
        except AzureError as error:
            raise _translate(error, f"Key Vault {self.name}, secret {secret}", value) from None
        return str(written.properties.version or "")


def _translate(error: AzureError, what: str, value: str) -> SourceUnavailable:
    status = error.status_code if isinstance(error, HttpResponseError) else None
    if isinstance(error, HttpResponseError) and error.error is not None and error.error.code:
        # Key Vault's messages run on over several lines (caller, action, resource): the
        # first says what went wrong.
        first = (error.error.message or "").strip().splitlines()[:1]
        detail = f"HTTP {status} {error.error.code}: {' '.join(first)}"
    elif status is not None:
        detail = f"HTTP {status} {getattr(error, 'reason', '') or ''}".rstrip()
    else:
        detail = type(error).__name__
    detail = " ".join(detail.replace(value, "[secret]").split())[:400]
    if status == 401 or (status is None and isinstance(error, ClientAuthenticationError)):
        fix = SIGN_IN
        detail = f"not signed in to Azure ({detail})"
    elif status == 403:
        fix = (
            "the identity needs `Key Vault Secrets Officer` on the vault (or the secret) to "
            "write a new version"
        )
    elif isinstance(error, ServiceRequestError | ServiceResponseError):
        fix = "check the network path to the vault (private endpoint, firewall, HTTPS_PROXY)"
    else:
        fix = "check Azure's status"
    return SourceUnavailable(
        f"{what}: {detail}; fix: {fix}, then run the command again (it resumes at this step)"
    )
