"""`mlep keys rotate`: rotate an endpoint's keys without an outage, and keep Key Vault current.

Azure (auth_mode: key): the dual-key rotation of mlep/ops/_keys_rotation.py, resumable at any
step. Kubernetes (auth_mode: key): a new random API key as a new version of the Key Vault
secret `<endpoint>-api-key`; the Secrets Store CSI driver syncs it into the Kubernetes Secret
the gateway reads at its next rotation poll. No key is ever printed.
"""

from __future__ import annotations

import argparse
import secrets
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rich.console import Console

from mlep.errors import UsageError
from mlep.ops import _keys_rotation as rotation
from mlep.ops import _keys_vault as kv
from mlep.ops import _logs_stack as stacks
from mlep.ops.arm import Arm
from models.stack import AzureStackConfig, KubernetesStackConfig

NAME = "keys"
# https://secrets-store-csi-driver.sigs.k8s.io/topics/secret-auto-rotation
CSI_ROTATION_DOC = "https://secrets-store-csi-driver.sigs.k8s.io/topics/secret-auto-rotation"
CSI_DEFAULT_POLL = "2m"


@dataclass(frozen=True)
class AzureClients:
    arm: Arm
    vault: Callable[[str], kv.Vault]  # a vault by name


def add_parser(commands: argparse._SubParsersAction[Any]) -> None:
    keys = commands.add_parser(NAME, help="endpoint keys: rotate")
    verbs = keys.add_subparsers(dest="keys_command", required=True, parser_class=type(keys))
    rotate = verbs.add_parser(
        "rotate",
        help="rotate a key-auth endpoint's keys (Azure: secondary, then primary, each stored "
        "in Key Vault; Kubernetes: the API key secret), resuming a rotation that stopped",
    )
    rotate.add_argument("--stack", required=True, help="stack name: reads Pulumi.NAME.yaml")
    rotate.add_argument("--endpoint", required=True, help="the endpoint (auth_mode: key)")
    rotate.add_argument(
        "--yes",
        action="store_true",
        help="go ahead without asking (Azure: clients already use the secondary key when the "
        "primary is regenerated; Kubernetes: replace the only API key)",
    )
    rotate.add_argument(
        "--wait-minutes",
        type=_minutes,
        metavar="N",
        help="azure: wait N minutes for clients to move to the new secondary key, then "
        "regenerate the primary",
    )
    rotate.add_argument(
        "--subscription",
        metavar="ID",
        help="azure: the workspace's subscription (default: the stack's "
        "azure-native:subscriptionId, else $AZURE_SUBSCRIPTION_ID)",
    )


def run(args: argparse.Namespace, out: Console, err: Console) -> int:
    target = stacks.find_endpoint(args.project_dir, args.stack, args.endpoint)
    mode = target.endpoint.auth_mode
    if mode != "key":
        raise UsageError(
            f"endpoint {args.endpoint} in {target.stack.file_name} uses auth_mode {mode}: it has "
            "no keys to rotate (Entra and Azure ML tokens expire on their own); fix: rotate a "
            "key-auth endpoint, or set `auth_mode: key` on this one and `pulumi up` first"
        )
    if isinstance(target.config, KubernetesStackConfig):
        if args.wait_minutes is not None:
            raise UsageError(
                "--wait-minutes: a Kubernetes endpoint has one API key, so there is no second "
                "key for clients to move to; fix: leave it out (and give --yes)"
            )
        return _rotate_kubernetes(target, args.yes, out, err)
    assert isinstance(target.config, AzureStackConfig)
    vault = target.config.azure.key_vault
    assert vault is not None  # the stack rules require it for key auth
    path = stacks.endpoint_path(target, args.subscription)
    clients = azure_clients()
    resume = f"mlep keys rotate --stack {args.stack} --endpoint {args.endpoint}"
    if args.subscription:
        resume += f" --subscription {args.subscription}"
    gate = rotation.Gate(
        yes=args.yes,
        wait_minutes=args.wait_minutes,
        interactive=stdin_is_terminal(),
        resume_command=resume,
    )
    job = rotation.Rotation(
        endpoint=args.endpoint,
        endpoint_path=path,
        vault=clients.vault(vault.name),
        state_file=rotation.state_path(target.stack.project_dir, args.stack, args.endpoint),
        today=datetime.now(UTC),
    )
    return rotation.rotate(job, clients.arm, gate, out, err)


def azure_clients() -> AzureClients:
    """ARM and Key Vault as the signed-in identity (tests replace this function)."""
    # Imported here: azure.identity pulls in MSAL and cryptography.
    from azure.identity import DefaultAzureCredential  # noqa: PLC0415

    credential = DefaultAzureCredential()
    return AzureClients(Arm(credential), lambda name: kv.Vault(name, credential))


def stdin_is_terminal() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


def _rotate_kubernetes(target: stacks.Target, yes: bool, out: Console, err: Console) -> int:
    assert isinstance(target.config, KubernetesStackConfig)
    vault_ref = target.config.kubernetes.key_vault
    assert vault_ref is not None  # the stack rules require it for key auth
    endpoint = target.endpoint.name
    secret = kubernetes_api_key_secret(endpoint)
    question = (
        f"Replace the API key of {endpoint} (Key Vault {vault_ref.name}, secret {secret})? "
        "Callers with the old key are refused once the cluster syncs the new one."
    )
    if not yes:
        if not stdin_is_terminal():
            raise UsageError(
                f"{question} Not on a terminal, so not asked; fix: pass --yes to go ahead"
            )
        if err.input(f"{question} [y/N] ").strip().lower() not in ("y", "yes"):
            out.print("Nothing changed.", markup=False)
            return 0
    version = (
        azure_clients()
        .vault(vault_ref.name)
        .store(secret, secrets.token_urlsafe(32), content_type=None, expires_on=None)
    )
    namespace = target.config.kubernetes.namespace
    out.print(
        f"Stored a new random API key for {endpoint} in Key Vault {vault_ref.name} as {secret} "
        f"(version {version}). The Secrets Store CSI driver copies it into the Secret "
        f"{namespace}/{endpoint}-api-keys at its next rotation poll (--enable-secret-rotation, "
        f"every --rotation-poll-interval, default {CSI_DEFAULT_POLL}; {CSI_ROTATION_DOC}), "
        "while a serving pod mounts it; the gateway then accepts only the new key. Give "
        f"callers the new key from Key Vault (`az keyvault secret show --vault-name "
        f"{vault_ref.name} --name {secret}`).",
        markup=False,
    )
    return 0


def kubernetes_api_key_secret(endpoint: str) -> str:
    """components.kubernetes.labels.api_key_vault_secret: the Key Vault secret of the key."""
    return f"{endpoint}-api-key"


def _minutes(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 7 * 24 * 60:
        raise argparse.ArgumentTypeError(f"{text!r}: give minutes, 0 to 10080 (a week)")
    return value
