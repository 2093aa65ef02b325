"""Identity and secrets (POLICY-RULES.md, ID-01 to ID-03, SEC-01, SEC-02)."""

from __future__ import annotations

import fnmatch
import functools
import re
from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import Any

from pulumi_policy import (
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    Secret,
    Severity,
    StackValidationArgs,
)

from mlep_policies import tokens
from mlep_policies.define import (
    ADVISORY,
    MANDATORY,
    boolean,
    resource_policy,
    settings,
    stack_policy,
    string_list,
)
from mlep_policies.reading import (
    UNKNOWN,
    containers,
    elements,
    endpoint_definitions,
    endpoint_templates,
    entries,
    get,
    kind,
    namespace_of,
    pod_template,
    text,
)
from mlep_policies.routing import route_endpoints, services_of

ID01_TUNABLES = {
    "keyAuthWaivers": string_list([], "Endpoints allowed to use key auth (a reviewed waiver)."),
}


def _auth_modes(resources: Sequence[PolicyResource]) -> Iterator[tuple[str, Any, str]]:
    """(endpoint, auth mode, urn) of every endpoint; "none" for a route nothing guards."""
    # (namespace, route name) -> the SecurityPolicies targeting it; a policy's targetRefs
    # reach its own namespace only. One whose targets are unknown during preview may guard any.
    guards: dict[tuple[str, str, str], list[PolicyResource]] = defaultdict(list)
    for resource in resources:
        if not tokens.is_type(resource.resource_type, tokens.SECURITY_POLICY):
            continue
        targets = get(resource.props, "spec", "targetRefs")
        namespace = namespace_of(resource.props)
        for target in elements(targets) if targets is not UNKNOWN else [UNKNOWN]:
            name = get(target, "name")
            if UNKNOWN in (target, name, get(target, "kind")):
                guards[(namespace, "*", "*")].append(resource)
            else:
                guards[(namespace, text(get(target, "kind")), text(name))].append(resource)
    for resource in resources:
        props = resource.props
        if tokens.is_type(resource.resource_type, tokens.ONLINE_ENDPOINT):
            name = text(get(props, "endpointName")) or resource.name
            yield (name, get(props, "properties", "authMode"), resource.urn)
        elif tokens.is_type(resource.resource_type, tokens.ARM_DEPLOYMENT):
            # The traffic template PUTs the endpoint after creation: its authMode is the live one.
            for item in endpoint_templates(props):
                name = text(get(item, "name")).split("/")[-1]
                yield (name, get(item, "properties", "authMode"), resource.urn)
        elif tokens.is_route(resource.resource_type):
            services = services_of(resources)
            yield from _route_auth(resource, guards, route_endpoints(resource, services))


def _route_auth(
    route: PolicyResource,
    guards: dict[tuple[str, str, str], list[PolicyResource]],
    endpoints: list[str],
) -> Iterator[tuple[str, Any, str]]:
    """A route's auth, from the Envoy Gateway SecurityPolicies that target it (by kind and
    name: an HTTPRoute and a GRPCRoute may share a name), for each endpoint it reaches."""
    name = text(get(route.props, "metadata", "name"))
    namespace = namespace_of(route.props)
    route_kind = kind(route.resource_type) or ""
    policies = guards.get((namespace, route_kind, name), [])
    if not policies and guards.get((namespace, "*", "*")):
        return  # a policy with targets unknown during preview may guard it
    for endpoint in endpoints:
        yield from _modes(endpoint, route, policies)


def _modes(
    endpoint: str, route: PolicyResource, policies: list[PolicyResource]
) -> Iterator[tuple[str, Any, str]]:
    if not policies:
        yield (endpoint, "none", route.urn)
    for policy in policies:
        spec = get(policy.props, "spec")
        if UNKNOWN in (spec, get(spec, "jwt"), get(spec, "apiKeyAuth")):
            mode = UNKNOWN
        elif get(spec, "jwt") is not None:
            mode = "AADToken"
        elif get(spec, "apiKeyAuth") is not None:
            mode = "Key"
        else:
            mode = "basic" if get(spec, "basicAuth") is not None else "none"
        yield (endpoint, mode, policy.urn)


def _token_auth(args: StackValidationArgs, report: ReportViolation) -> None:
    waivers = settings(args, ID01_TUNABLES)["keyAuthWaivers"]
    for name, value, urn in _auth_modes(args.resources):
        if value is UNKNOWN:
            continue
        mode = text(value)
        if mode.replace("_", "").lower() in ("aadtoken", "amltoken"):
            continue
        if mode.lower() == "key" and name in waivers:
            continue
        report(
            f"endpoint {name!r} uses auth mode {mode or 'unset'!r}; prod endpoints use AADToken "
            "or AMLToken (keys never expire) (ID-01). Fix: auth_mode: aad_token, or add the "
            "endpoint to this policy's keyAuthWaivers.",
            urn,
        )


token_auth = stack_policy(
    "id-01-token-auth",
    description="Prod endpoints use Entra (AADToken) or AMLToken auth, on Kubernetes a JWT "
    "SecurityPolicy on the route; Key only with a waiver naming the endpoint (ID-01). Prod only.",
    level=MANDATORY,
    severity=Severity.HIGH,
    remediation="Set auth_mode: aad_token, or add the endpoint to keyAuthWaivers in "
    "policies/config/prod.json after review.",
    validate=_token_auth,
    tunables=ID01_TUNABLES,
)


def _keys_in_vault(args: ResourceValidationArgs, report: ReportViolation) -> None:
    props = args.props
    if tokens.is_type(args.resource_type, tokens.K8S_SECRET) and (
        get(props, "data") or get(props, "stringData")
    ):
        report(
            f"Secret {get(props, 'metadata', 'name')!r} carries its values in the program "
            "(ID-02). Fix: keep the value in Key Vault and sync it with a SecretProviderClass "
            "(ml-endpoints:kubernetes.key_vault).",
            None,
        )
    for endpoint in endpoint_definitions(args.resource_type, props):
        keys = get(endpoint, "properties", "keys")
        if keys is not None and keys is not UNKNOWN:
            report(
                "the endpoint sets `keys`: endpoint keys never appear as plain values (ID-02). "
                "Fix: let Azure generate the keys; the program copies them into Key Vault from "
                "the secret output of listOnlineEndpointKeys.",
                None,
            )


keys_in_vault = resource_policy(
    "id-02-keys-in-key-vault",
    description="Endpoint keys never appear as plain values: no `keys` set on an endpoint and "
    "no Kubernetes Secret with literal data; keys live in Key Vault (ID-02).",
    level=MANDATORY,
    severity=Severity.CRITICAL,
    remediation="Remove `keys` from the endpoint and literal Secrets from the program; keys are "
    "copied to Key Vault from secret outputs and synced by the CSI driver on Kubernetes.",
    validate=_keys_in_vault,
)

ID03_TUNABLES = {
    "keyReaders": {
        "type": "array",
        "items": {"type": "string"},
        "description": "Principal object ids allowed to read key secrets (mlep fills it from "
        "ml-endpoints:azure.roles.key_readers). Absent: any principal, per-secret scope only.",
    },
}


def _separated_roles(args: StackValidationArgs, report: ReportViolation) -> None:
    configured = settings(args, ID03_TUNABLES).get("keyReaders")
    readers = None if configured is None else [text(r).lower() for r in configured]
    definitions = _check_definitions(list(args.resources), report)
    held: dict[str, set[str]] = defaultdict(set)
    for resource in args.resources:
        if not tokens.is_type(resource.resource_type, tokens.ROLE_ASSIGNMENT):
            continue
        principal = get(resource.props, "principalId")
        role = text(get(resource.props, "roleDefinitionId")).lower()
        if principal is UNKNOWN or not role:
            continue
        _check_assignment(resource, principal, role, readers, report)
        for definition_id, granted in definitions.items():
            if granted and role.endswith(definition_id):
                held[text(principal)] |= granted
    for principal, granted in sorted(held.items()):
        if {tokens.ENDPOINT_WRITE, tokens.DEPLOYMENT_WRITE} <= granted:
            report(
                f"principal {principal!r} holds roles that change both traffic and deployments "
                "(ID-03). Fix: make it a traffic operator or a deployment developer, not both.",
                None,
            )


def _check_definitions(
    resources: list[PolicyResource], report: ReportViolation
) -> dict[str, set[str] | None]:
    """Report custom roles that list keys or mix traffic and deployment changes; returns each
    definition's id (lower case) with the watched actions it grants."""
    definitions: dict[str, set[str] | None] = {}
    for resource in resources:
        if not tokens.is_type(resource.resource_type, tokens.ROLE_DEFINITION):
            continue
        granted = _granted(resource.props)
        definitions[text(get(resource.props, "roleDefinitionId")).lower()] = granted
        name = text(get(resource.props, "roleName")) or resource.name
        if granted and tokens.LIST_KEYS in granted:
            report(
                f"role {name!r} can list endpoint keys; only key readers read keys, from Key "
                "Vault (ID-03). Fix: remove listKeys (and wildcards that cover it).",
                resource.urn,
            )
        if granted and {tokens.ENDPOINT_WRITE, tokens.DEPLOYMENT_WRITE} <= granted:
            report(
                f"role {name!r} can change both traffic (onlineEndpoints/write) and deployments "
                "(deployments/write); traffic operators and deployment developers get separate "
                "roles (ID-03). Fix: split the role.",
                resource.urn,
            )
    definitions.pop("", None)
    return definitions


def _check_assignment(
    resource: PolicyResource,
    principal: Any,
    role: str,
    readers: list[str] | None,
    report: ReportViolation,
) -> None:
    role_guid = role.rstrip("/").split("/")[-1]
    if role_guid in tokens.BROAD_ROLES:
        report(
            f"principal {principal!r} gets a broad built-in role ({role_guid}) that can read "
            "endpoint keys and change anything (ID-03). Fix: assign the narrow traffic "
            "operator, deployment developer or key reader role.",
            resource.urn,
        )
    if role_guid not in tokens.KEY_VAULT_SECRET_READERS:
        return
    scope = get(resource.props, "scope")
    if scope is not UNKNOWN and "/secrets/" not in text(scope).lower():
        report(
            f"principal {principal!r} can read every secret of a vault or more (scope "
            f"{scope!r}) (ID-03). Fix: scope Key Vault Secrets User to each key secret.",
            resource.urn,
        )
    if readers is not None and text(principal).lower() not in readers:
        report(
            f"principal {principal!r} gets read access to a key secret but is not a "
            "configured key reader (ID-03). Fix: add it to ml-endpoints:azure.roles.key_readers, "
            "or remove the assignment.",
            resource.urn,
        )


def _granted(props: Any) -> set[str] | None:
    """Which of the actions ID-03 watches a role definition grants (Azure `*` wildcards, minus
    notActions); None when its permissions are unknown during preview."""
    watched = (tokens.ENDPOINT_WRITE, tokens.DEPLOYMENT_WRITE, tokens.LIST_KEYS)
    granted: set[str] = set()
    for permission in elements(get(props, "permissions")):
        actions, denied = get(permission, "actions"), get(permission, "notActions")
        if UNKNOWN in (actions, denied, permission):
            return None
        for action in watched:
            if _covers(elements(actions), action) and not _covers(elements(denied), action):
                granted.add(action)
    return granted


def _covers(patterns: list[Any], action: str) -> bool:
    return any(fnmatch.fnmatchcase(action.lower(), text(p).lower()) for p in patterns)


separated_roles = stack_policy(
    "id-03-separated-roles",
    description="Only key readers read key secrets (scoped to each secret); traffic operators "
    "and deployment developers get separate, narrow roles; no broad built-in roles (ID-03).",
    level=MANDATORY,
    severity=Severity.HIGH,
    remediation="List principals under ml-endpoints:azure.roles (traffic_operators, "
    "deployment_developers, key_readers); the program assigns narrow roles at the narrowest "
    "scope.",
    validate=_separated_roles,
    tunables=ID03_TUNABLES,
)

SEC01_TUNABLES = {
    "requireContentType": boolean(True, "Key Vault secrets set contentType."),
    "requireExpiry": boolean(True, "Key Vault secrets set an expiry (attributes.expires)."),
}


def _secret_hygiene(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not tokens.is_type(args.resource_type, tokens.KEY_VAULT_SECRET):
        return
    config = settings(args, SEC01_TUNABLES)
    name = get(args.props, "secretName")
    content_type = get(args.props, "properties", "contentType")
    if config["requireContentType"] and content_type is not UNKNOWN and not text(content_type):
        report(
            f"Key Vault secret {name!r} has no contentType (SEC-01). Fix: set "
            "properties.contentType (e.g. text/plain).",
            None,
        )
    expires = get(args.props, "properties", "attributes", "expires")
    if config["requireExpiry"] and expires is None:
        report(
            f"Key Vault secret {name!r} never expires (SEC-01). Fix: set "
            "properties.attributes.expires.",
            None,
        )


secret_hygiene = resource_policy(
    "sec-01-secret-expiry",
    description="Key Vault secrets have a contentType and an expiry (SEC-01).",
    level=ADVISORY,
    severity=Severity.LOW,
    remediation="Set properties.contentType and properties.attributes.expires on the secret.",
    validate=_secret_hygiene,
    tunables=SEC01_TUNABLES,
)

# SEC-02's secret rule: a copy of models/secrets.py (looks_secret, SECRET_WORDS, KEY_KINDS,
# SECRET_ABBREVIATIONS, CREDENTIAL_VALUES, credential_kind),
# since the pack imports only pulumi_policy and the standard library; a contract test
# (tests/test_contract_constants.py) keeps the two equal on a table of names. The last word of a
# name says what the value is: HF_TOKEN and API_KEY hold secrets, HF_TOKEN_PATH and
# PASSWORD_FILE the path of a mounted secret file (what the fix below recommends), CACHE_KEY no
# credential at all.
SECRET_WORDS = ("PASSWORD", "PASSWD", "SECRET", "TOKEN", "CREDENTIAL", "CREDENTIALS")
KEY_KINDS = frozenset(
    {
        *("API", "ACCESS", "ACCOUNT", "AUTH", "ENCRYPTION", "MASTER", "PRIMARY", "PRIVATE"),
        *("SECONDARY", "SECRET", "SHARED", "SIGNING", "SUBSCRIPTION"),
    }
)
SECRET_ABBREVIATIONS = ("PASS", "PWD")  # after another word only: MYSQL_PWD, not PWD or BYPASS
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


def looks_secret(name: str) -> bool:
    """Whether an environment variable called ``name`` holds a secret value (see
    models/secrets.py for the reasons)."""
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
# A `secure:` config value as the pack can see it: mlep's offline placeholder (its plan never
# decrypts), or a pulumi_policy Secret where the SDK keeps the mark. Under `pulumi preview` the
# analyzer unwraps secret inputs to their plain values (pulumi_policy/deserialize.py), so there
# the value is judged by its name and shape like any other.
SECURE_PLACEHOLDER = "[secret]"


@functools.lru_cache(maxsize=4096)  # the same tag values recur on every resource of a stack
def credential_kind(value: str) -> str | None:
    """The kind of credential ``value`` looks like, or None (models/secrets.py's rule)."""
    for found, pattern in _CREDENTIAL_VALUES:
        if pattern.search(value):
            return found
    return None


# A Key Vault reference is where a secret is, not the secret. Azure ML's secret injection
# resolves `${{keyvault:https://<vault>.vault.azure.net/secrets/<secret>/<version>}}` and a
# workspace connection's `${{azureml://connections/<name>/credentials/<key>}}` with the
# endpoint's identity before the container starts (learn.microsoft.com, "Secret injection in
# online endpoints"). Scoring scripts of azureml-examples resolve
# `name@https://<vault>.vault.azure.net/secrets/<secret>[/<version>]` themselves, and
# App Service-style `@Microsoft.KeyVault(SecretUri=...)` and
# `@Microsoft.KeyVault(VaultName=...;SecretName=...)` are references too. A variable named like
# a secret may hold one (models/secrets.py). Vault names are 3-24 characters, secret names 1-127
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


SEC02_TUNABLES = {
    "allowedNames": string_list([], "Variable names that look secret but are not."),
}


def _no_secret_env(args: ResourceValidationArgs, report: ReportViolation) -> None:
    allowed = {n.upper() for n in settings(args, SEC02_TUNABLES)["allowedNames"]}
    found: list[tuple[str, str]] = []  # (variable, why)
    if tokens.is_type(args.resource_type, tokens.ONLINE_DEPLOYMENT):
        for key, value in entries(get(args.props, "properties", "environmentVariables")).items():
            found += _judge(str(key), value)
    elif (workload := kind(args.resource_type)) in tokens.WORKLOAD_KINDS:
        for container in containers(pod_template(workload or "", args.props)[1], init=True):
            for variable in elements(get(container, "env")):
                name = text(get(variable, "name"))
                if get(variable, "valueFrom", "secretKeyRef") not in (None, UNKNOWN):
                    found.append((name, "reads a Secret into the environment"))
                else:
                    found += _judge(name, get(variable, "value"))
            for source in elements(get(container, "envFrom")):
                if get(source, "secretRef") not in (None, UNKNOWN):
                    found.append(("envFrom", "loads a whole Secret into the environment"))
    for message in _secrets_outside_env(args.resource_type, args.props):
        report(message, None)
    for name, why in found:
        if name.upper() in allowed:
            continue
        report(
            f"environment variable {name!r} {why} (SEC-02). Fix: keep secrets in Key Vault and "
            "pass a Key Vault reference, mount them as files (Secrets Store CSI driver), or "
            "read them with the workload's identity.",
            None,
        )


def _secrets_outside_env(resource_type: str, props: Any) -> list[str]:
    """Messages for credentials in tags (labels on Kubernetes) and in a deployment's model."""
    messages = []
    labels = ("metadata", "labels") if resource_type.startswith("kubernetes:") else ("tags",)
    for key, value in entries(get(props, *labels)).items():
        if isinstance(value, str) and (what := credential_kind(value)):
            messages.append(
                f"tag {str(key)!r} holds {what} (SEC-02). Fix: remove it; tags are readable by "
                "anyone who can read the resource, keep the secret in Key Vault."
            )
    model = get(props, "properties", "model")
    deployment = tokens.is_type(resource_type, tokens.ONLINE_DEPLOYMENT)
    if deployment and isinstance(model, str) and (what := credential_kind(model)):
        messages.append(
            f"the model reference holds {what} (SEC-02). Fix: reference a registered model "
            "(azureml:NAME:VERSION) and keep credentials in Key Vault."
        )
    return messages


def _judge(name: str, value: Any) -> list[tuple[str, str]]:
    if value == SECURE_PLACEHOLDER or isinstance(value, Secret):
        return [(name, "is a secret (`secure:`) config value that Pulumi decrypts into it")]
    if not isinstance(value, str) or not value:
        return []
    if what := credential_kind(value):
        return [(name, f"holds {what}")]
    if looks_secret(name) and not is_key_vault_reference(value):
        return [(name, "is named like a secret and set to a literal value")]
    return []


no_secret_env = resource_policy(
    "sec-02-no-secret-env",
    description="No secrets in environment variables of Azure deployments or Kubernetes "
    "containers, tags or model URLs, judged by name and by value (credential URLs, connection "
    "strings, token prefixes, SAS sig=), no secure: config values and no Secrets read into the "
    "environment; Key Vault references are allowed (SEC-02).",
    level=MANDATORY,
    severity=Severity.CRITICAL,
    remediation="Remove the value from environment_variables; store it in Key Vault and read "
    "it at runtime with the deployment's identity (or a CSI-mounted file on Kubernetes).",
    validate=_no_secret_env,
    tunables=SEC02_TUNABLES,
)

POLICIES = [token_auth, keys_in_vault, separated_roles, secret_hygiene, no_secret_env]
