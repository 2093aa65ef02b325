"""Cross-field rules of the contract, as a table of named checks over a parsed stack.

Field-level rules (types, ranges, name syntax) live on the models; these are the rules that
relate fields to each other. Each check yields every problem it finds, with the full path.
Which block and which deployment fields a target takes is no rule here: `target` picks the
model (models.stack.StackConfig), and the loader words what does not fit.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import get_args

from models.deployment import DeploymentSpec
from models.endpoint import EndpointSpec
from models.errors import Problem
from models.fields import MAX_TAGS, REQUIRED_TAGS, DataSensitivity
from models.secrets import (
    SECURE_PLACEHOLDER,
    credential_kind,
    is_key_vault_reference,
    looks_secret,
)
from models.stack import AzureStackConfig, KubernetesStackConfig, StackConfig

Check = Callable[[StackConfig], Iterator[Problem]]

SENSITIVITY_LEVELS: tuple[str, ...] = get_args(DataSensitivity)
# Tags become Kubernetes labels on that target: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/
_LABEL_VALUE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?")
_LABEL_NAME = re.compile(
    r"([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
)


def _endpoints(stack: StackConfig) -> Iterator[tuple[str, EndpointSpec]]:
    for i, endpoint in enumerate(stack.endpoints):
        yield f"endpoints[{i}]", endpoint


def _deployments(stack: StackConfig) -> Iterator[tuple[str, EndpointSpec, DeploymentSpec]]:
    for path, endpoint in _endpoints(stack):
        for j, deployment in enumerate(endpoint.deployments):
            yield f"{path}.deployments[{j}]", endpoint, deployment


def required_tags(stack: StackConfig) -> Iterator[Problem]:
    """The stack carries non-empty `owner`, `application` and `data-sensitivity` tags;
    `data-sensitivity` is public, internal, confidential or restricted wherever it is set
    (stack, endpoint or deployment tags)."""
    for key in REQUIRED_TAGS:
        if not stack.tags.get(key, "").strip():
            yield Problem(
                f"tags.{key}",
                f"the governance tag {key!r} is required on every stack",
                f"add `{key}: ...` under ml-endpoints:tags",
            )
    # Each level is checked where it is set, so a bad stack value is reported once, not again
    # under every endpoint that inherits it.
    for path, tags in [
        ("tags", stack.tags),
        *((f"{p}.tags", e.tags) for p, e in _endpoints(stack)),
        *((f"{p}.tags", d.tags) for p, _, d in _deployments(stack)),
    ]:
        level = tags.get("data-sensitivity")
        if level is not None and level not in SENSITIVITY_LEVELS:
            yield Problem(
                f"{path}.data-sensitivity",
                f"data-sensitivity must be one of {', '.join(SENSITIVITY_LEVELS)}",
                "pick the level your data classification policy assigns",
                level,
            )


def merged_tag_limits(stack: StackConfig) -> Iterator[Problem]:
    """Stack, endpoint and deployment tags merged stay within Azure's 50 tags."""
    for path, endpoint in _endpoints(stack):
        for j, deployment in enumerate(endpoint.deployments):
            merged = {**stack.tags, **endpoint.tags, **deployment.tags}
            if len(merged) > MAX_TAGS:
                yield Problem(
                    f"{path}.deployments[{j}].tags",
                    f"stack, endpoint and deployment tags merge to {len(merged)}; "
                    f"Azure allows {MAX_TAGS}",
                    "drop tags, or move them from the stack to the endpoints that need them",
                )


def unique_endpoint_names(stack: StackConfig) -> Iterator[Problem]:
    """Endpoint names are unique in the stack."""
    seen: dict[str, int] = {}
    for i, endpoint in enumerate(stack.endpoints):
        if endpoint.name in seen:
            yield Problem(
                f"endpoints[{i}].name",
                f"endpoint name already used by endpoints[{seen[endpoint.name]}]",
                "endpoint names are unique in a stack: rename one of them",
                endpoint.name,
            )
        seen.setdefault(endpoint.name, i)


def unique_deployment_names(stack: StackConfig) -> Iterator[Problem]:
    """Deployment names are unique within an endpoint, compared case-insensitively."""
    for path, endpoint in _endpoints(stack):
        seen: dict[str, int] = {}
        for j, deployment in enumerate(endpoint.deployments):
            key = deployment.name.casefold()
            if key in seen:
                yield Problem(
                    f"{path}.deployments[{j}].name",
                    f"deployment name clashes with deployments[{seen[key]}] "
                    "(names are compared case-insensitively)",
                    "give each deployment of an endpoint its own name (blue, green, ...)",
                    deployment.name,
                )
            seen.setdefault(key, j)


def traffic_names_deployments(stack: StackConfig) -> Iterator[Problem]:
    """Every key of `traffic` and `mirror_traffic` is a deployment of the same endpoint."""
    for path, endpoint in _endpoints(stack):
        names = [d.name for d in endpoint.deployments]
        for field in ("traffic", "mirror_traffic"):
            for key, value in getattr(endpoint, field).items():
                if key not in names:
                    yield Problem(
                        f"{path}.{field}.{key}",
                        f"{key!r} is not a deployment of endpoint {endpoint.name!r}",
                        f"use one of: {', '.join(names)}",
                        value,
                    )


def traffic_sums_to_100(stack: StackConfig) -> Iterator[Problem]:
    """Live traffic sums to 100, or to 0 (endpoint out of service)."""
    for path, endpoint in _endpoints(stack):
        total = sum(endpoint.traffic.values())
        if total not in (0, 100):
            yield Problem(
                f"{path}.traffic",
                f"live traffic sums to {total}; it must sum to 100 "
                "(or 0, which takes the endpoint out of service)",
                "adjust the weights so they add up to 100",
                dict(endpoint.traffic),
            )


def mirror_is_single_shadow(stack: StackConfig) -> Iterator[Problem]:
    """`mirror_traffic` names at most one deployment, and that deployment has 0 live
    traffic."""
    for path, endpoint in _endpoints(stack):
        if len(endpoint.mirror_traffic) > 1:
            yield Problem(
                f"{path}.mirror_traffic",
                "at most one deployment can receive mirror traffic",
                "keep one shadow deployment in mirror_traffic",
                dict(endpoint.mirror_traffic),
            )
        for key, value in endpoint.mirror_traffic.items():
            if endpoint.traffic.get(key, 0) > 0:
                yield Problem(
                    f"{path}.mirror_traffic.{key}",
                    f"{key!r} already receives {endpoint.traffic[key]}% live traffic; a "
                    "mirrored (shadow) deployment must have 0 live traffic",
                    f"set traffic.{key} to 0, or remove it from mirror_traffic",
                    value,
                )


def environment_variables_hold_no_secrets(stack: StackConfig) -> Iterator[Problem]:
    """`environment_variables` never hold secrets: a name such as `DB_PASSWORD`, `HF_TOKEN` or
    `API_KEY` is an error (secrets come from Key Vault)."""
    # Judged by name (models.secrets.looks_secret) and by value (credential_kind: a URL with a
    # password, a connection string, a known token prefix, a SAS `sig=`), in tags and model
    # references too. A `secure:` value reaches the models as the placeholder `[secret]` (mlep
    # never decrypts offline), and is an error of its own: Pulumi would decrypt it into a plain
    # environment variable. Under `pulumi up` it arrives decrypted and is judged by name and
    # value here; the pack's SEC-02 sees it as a secret input.
    # The value is never echoed back: it may be the secret itself.
    for name, value in stack.tags.items():
        yield from _secret_in(f"tags.{name}", f"tag {name!r}", value)
    for path, endpoint in _endpoints(stack):
        for name, value in endpoint.tags.items():
            yield from _secret_in(f"{path}.tags.{name}", f"tag {name!r}", value)
    for path, _, deployment in _deployments(stack):
        for name, value in deployment.tags.items():
            yield from _secret_in(f"{path}.tags.{name}", f"tag {name!r}", value)
        model = getattr(deployment, "model", None)
        if isinstance(model, str):
            yield from _secret_in(f"{path}.model", "the model reference", model)
        for name, value in deployment.environment_variables.items():
            where = f"{path}.environment_variables.{name}"
            if value == SECURE_PLACEHOLDER:
                yield Problem(
                    where,
                    f"{name!r} is a `secure:` config value; Pulumi would decrypt it into a "
                    "plain environment variable on the deployment",
                    "keep the secret in Key Vault and pass a Key Vault reference, or mount it "
                    "with the Secrets Store CSI driver on kubernetes",
                )
            elif looks_secret(name) and not is_key_vault_reference(value):
                yield Problem(
                    where,
                    f"{name!r} looks like a secret; environment variables are stored and "
                    "shown in plain text, so secrets never go here",
                    "keep the secret in Key Vault and read it from there at runtime",
                )
            else:
                yield from _secret_in(where, repr(name), value)


def _secret_in(where: str, what: str, value: str) -> Iterator[Problem]:
    """A problem naming ``what`` and the kind of credential when ``value`` holds one."""
    kind = credential_kind(value)
    if kind is not None:
        yield Problem(
            where,
            f"{what} holds {kind}; it is stored and shown in plain text, so secrets never go here",
            "keep the secret in Key Vault and read it from there at runtime",
        )


def auth_mode_fits_target(stack: StackConfig) -> Iterator[Problem]:
    """`aml_token` is azure-only; on kubernetes `aad_token` needs `kubernetes.entra` and
    `key` needs `kubernetes.key_vault`; on azure `key` needs `azure.key_vault`."""
    for path, endpoint in _endpoints(stack):
        mode = endpoint.auth_mode
        if isinstance(stack, KubernetesStackConfig):
            if mode == "aml_token":
                yield Problem(
                    f"{path}.auth_mode",
                    "aml_token is issued by Azure ML and only works on the azure target",
                    "use aad_token (JWT checked at the gateway) or key",
                    mode,
                )
            elif mode == "aad_token" and not stack.kubernetes.entra:
                yield Problem(
                    f"{path}.auth_mode",
                    "aad_token on kubernetes needs ml-endpoints:kubernetes.entra "
                    "(tenant and audience) for JWT validation at the gateway",
                    "add kubernetes.entra: {tenant_id: ..., audience: ...}",
                    mode,
                )
            elif mode == "key" and not stack.kubernetes.key_vault:
                yield Problem(
                    f"{path}.auth_mode",
                    "key auth on kubernetes needs ml-endpoints:kubernetes.key_vault "
                    "to hold the key",
                    "add kubernetes.key_vault: {name: ..., tenant_id: ..., client_id: ...}",
                    mode,
                )
        elif mode == "key" and not stack.azure.key_vault:
            yield Problem(
                f"{path}.auth_mode",
                "key auth keeps the endpoint keys in Key Vault; ml-endpoints:azure.key_vault "
                "is not set",
                "add azure.key_vault: {name: ...}, or use aad_token",
                mode,
            )


def tags_are_labels_on_kubernetes(stack: StackConfig) -> Iterator[Problem]:
    """On kubernetes, tag names and values are valid label names and values."""
    if stack.target != "kubernetes":
        return
    sources = [("tags", stack.tags)]
    for path, endpoint in _endpoints(stack):
        sources.append((f"{path}.tags", endpoint.tags))
        sources += [
            (f"{path}.deployments[{j}].tags", d.tags) for j, d in enumerate(endpoint.deployments)
        ]
    for path, tags in sources:
        for key, value in tags.items():
            if not _LABEL_NAME.fullmatch(key) or not _LABEL_VALUE.fullmatch(value):
                yield Problem(
                    f"{path}.{key}",
                    "on kubernetes, tags become labels: names and values are at most 63 "
                    "characters of letters, digits, '-', '_' and '.', starting and ending "
                    "alphanumeric",
                    "use a label-safe value, e.g. 'fraud-team' instead of 'Fraud Team'",
                    value,
                )


def action_group_has_one_source(stack: StackConfig) -> Iterator[Problem]:
    """`azure.action_group` gives either `emails` (a new action group) or the `id` of an
    existing one: exactly one of the two."""
    group = stack.azure.action_group if isinstance(stack, AzureStackConfig) else None
    if group is None:
        return
    if group.emails and group.id:
        yield Problem(
            "azure.action_group",
            "both emails and id are set; alerts go to one action group",
            "keep emails (a new action group is created) or id (an existing one), not both",
            {"emails": list(group.emails), "id": group.id},
        )
    elif not group.emails and not group.id:
        yield Problem(
            "azure.action_group",
            "the action group has no receivers",
            "set emails: [oncall@example.com] or id: <existing action group resource id>",
            {},
        )


def alerts_have_the_traffic_log(stack: StackConfig) -> Iterator[Problem]:
    """Alerts (`azure.action_group`) need `azure.log_analytics_workspace_id`: the success,
    4xx and 5xx rate alerts are log queries over the endpoints' traffic log."""
    if not isinstance(stack, AzureStackConfig):
        return
    azure = stack.azure
    if azure.action_group and not azure.log_analytics_workspace_id:
        yield Problem(
            "azure.action_group",
            "the success, 4xx and 5xx rate alerts are ratios computed from the endpoint "
            "traffic log, which only exists in Log Analytics; "
            "azure.log_analytics_workspace_id is not set",
            "add azure.log_analytics_workspace_id: <Log Analytics workspace resource id>",
        )


def key_readers_have_keys(stack: StackConfig) -> Iterator[Problem]:
    """`azure.roles.key_readers` is only meaningful when some endpoint uses `auth_mode: key`
    (otherwise there are no key secrets to read)."""
    if not isinstance(stack, AzureStackConfig) or not stack.azure.roles.key_readers:
        return
    azure = stack.azure
    if not any(endpoint.auth_mode == "key" for endpoint in stack.endpoints):
        yield Problem(
            "azure.roles.key_readers",
            "no endpoint uses auth_mode: key, so there are no key secrets to read",
            "remove roles.key_readers, or set auth_mode: key on the endpoint that needs it",
            [principal.id for principal in azure.roles.key_readers],
        )


def kubernetes_names_fit(stack: StackConfig) -> Iterator[Problem]:
    """On kubernetes, `<endpoint>-<deployment>` names a Service: at most 63 characters."""
    if stack.target != "kubernetes":
        return
    for path, endpoint in _endpoints(stack):
        for j, deployment in enumerate(endpoint.deployments):
            combined = f"{endpoint.name}-{deployment.name}"
            if len(combined) > 63:
                yield Problem(
                    f"{path}.deployments[{j}].name",
                    f"the Service for this deployment is named {combined!r} "
                    f"({len(combined)} characters); Kubernetes allows at most 63",
                    "shorten the endpoint or deployment name",
                    deployment.name,
                )


RULES: dict[str, Check] = {
    "required-tags": required_tags,
    "merged-tag-limits": merged_tag_limits,
    "unique-endpoint-names": unique_endpoint_names,
    "unique-deployment-names": unique_deployment_names,
    "traffic-names-deployments": traffic_names_deployments,
    "traffic-sums-to-100": traffic_sums_to_100,
    "mirror-is-single-shadow": mirror_is_single_shadow,
    "environment-variables-hold-no-secrets": environment_variables_hold_no_secrets,
    "auth-mode-fits-target": auth_mode_fits_target,
    "tags-are-labels-on-kubernetes": tags_are_labels_on_kubernetes,
    "action-group-has-one-source": action_group_has_one_source,
    "alerts-have-the-traffic-log": alerts_have_the_traffic_log,
    "key-readers-have-keys": key_readers_have_keys,
    "kubernetes-names-fit": kubernetes_names_fit,
}


def check_stack(stack: StackConfig) -> list[Problem]:
    """Run every rule; returns all problems (empty when the stack is valid)."""
    return [problem for check in RULES.values() for problem in check(stack)]
